#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The engine's sandbox and output contract, independent of any SDK domain.

use std::sync::Arc;
use std::time::Duration;

use rex_engine::{
    ErrorType, Limits, RunClass, RunOutcome, RunRequest, ScriptArgs, ScriptThread, Status,
    Watchdog, run, run_then, run_then_on,
};
use rex_policy::{Gate, Policies};

fn gate() -> Arc<Gate> {
    Arc::new(
        Gate::builder()
            .principal("tester")
            .build(Policies::empty())
            .unwrap(),
    )
}

fn run_script(script: &str) -> RunOutcome {
    run(gate(), RunRequest::new("t.rhai", script))
}

fn run_with(script: &str, f: impl FnOnce(&mut RunRequest)) -> RunOutcome {
    let mut r = RunRequest::new("t.rhai", script);
    f(&mut r);
    run(gate(), r)
}

fn output(script: &str) -> String {
    let o = run_script(script);
    assert_eq!(o.document.status, Status::Success, "{:?}", o.document.error);
    o.document.output
}

fn error(o: &RunOutcome) -> (ErrorType, String) {
    let e = o.document.error.as_ref().expect("an error");
    (e.error_type, e.message.clone())
}

#[test]
fn output_text_follows_the_original() {
    assert_eq!(output(r#"[1, "a", 2.5, true]"#), r#"[1, "a", 2.5, true]"#);
    assert_eq!(output(r#"#{a: 1, b: "x"}"#), r#"#{"a": 1, "b": "x"}"#);
    assert_eq!(output("let x = 1;"), "");
    assert_eq!(output("3.0"), "3.0");
    assert_eq!(output("fn f(x) { x + 1 } f(41)"), "42");
    assert_eq!(output(r#""result value""#), "result value");
    assert_eq!(output(r#"#{a: 1}.to_json()"#), r#"{"a":1}"#);
}

/// A loop that outlives a short deadline but ends by itself (so the script thread a
/// `Watchdog::ExitProcess` run leaves behind does not spin for the rest of the tests).
const LONG_LOOP: &str = r#"print("before"); publish(MetricBuilder().name("m").value(1.0)); let t = 0; for i in 0..30000000 { t += 1; } t"#;

#[test]
fn deadline_in_process_stops_the_script_with_the_clear_error() {
    let started = std::time::Instant::now();
    let o = run_with(LONG_LOOP, |r| r.limits.timeout = Duration::from_millis(300));
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert_eq!(o.class, RunClass::ScriptError);
    assert!(
        m.starts_with("Script terminated: wall-clock deadline of 0.3s exceeded (line 1"),
        "{m}"
    );
    let logs = o.document.logs.as_ref().unwrap();
    assert!(logs.iter().any(|l| l.attributes.message == "before"));
}

/// `Watchdog::ExitProcess` (rex run, rex-runner): no progress callback; the calling thread
/// returns the same ERROR document at the deadline, with the logs, metrics and alarms of
/// the run so far.
#[test]
fn deadline_by_the_watchdog_gives_the_same_document() {
    let started = std::time::Instant::now();
    let o = run_with(LONG_LOOP, |r| {
        r.limits.timeout = Duration::from_millis(300);
        r.watchdog = Watchdog::ExitProcess;
    });
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert_eq!(o.class, RunClass::ScriptError);
    assert_eq!(m, "Script terminated: wall-clock deadline of 0.3s exceeded");
    assert_eq!(o.document.status, Status::Error);
    let logs = o.document.logs.as_ref().unwrap();
    assert!(logs.iter().any(|l| l.attributes.message == "before"));
    let names: Vec<&str> = o
        .document
        .metrics
        .iter()
        .map(|m| m.metric_name.as_str())
        .collect();
    for expected in [
        "RexRunnerScriptExecutionTime",
        "RexRunnerScriptExecutionFailureCount",
        "RexRunnerTotalExecutionTime",
        "m",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        o.document
            .alarms
            .iter()
            .any(|a| a.alarm_type == "RexRunnerScriptExecutionFailure")
    );
    // Scripts that end in time are not affected.
    let o = run_with("40 + 2", |r| r.watchdog = Watchdog::ExitProcess);
    assert_eq!(o.document.output, "42");
    // Nor are the other limits.
    let o = run_with("let i = 0; loop { i += 1; }", |r| {
        r.limits.max_operations = 10_000;
        r.watchdog = Watchdog::ExitProcess;
    });
    assert!(error(&o).1.contains("Too many operations"));
}

/// `run_then` hands the outcome to `finish` on the script thread as soon as the script
/// ends, with its decisions already in the decision log (a runner exits the process
/// there), and returns the same outcome; a run the watchdog ends never calls it.
#[test]
fn run_then_finishes_on_the_script_thread_with_the_log_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_owned();
    std::fs::write(format!("{dir}/f.txt"), "hello").unwrap();
    let log = format!("{dir}/decisions.jsonl");
    let policy = format!("permit(principal, action, resource in file_system::Dir::\"{dir}\");");
    let logged = Arc::new(
        Gate::builder()
            .principal("tester")
            .audit_log(log.clone())
            .build(Policies::from_text("t.cedar", &policy).unwrap())
            .unwrap(),
    );
    let (seen, finished) = std::sync::mpsc::channel();
    let mut request = RunRequest::new("t.rhai", format!("cat(\"{dir}/f.txt\")"));
    request.watchdog = Watchdog::ExitProcess;
    let o = run_then(logged, request, move |outcome| {
        let thread = std::thread::current().name().map(str::to_owned);
        let lines = std::fs::read_to_string(&log).unwrap_or_default();
        seen.send((thread, outcome.document.output.clone(), lines))
            .unwrap();
    });
    assert_eq!(o.document.output, "hello");
    let (thread, output, lines) = finished.try_recv().expect("finish was called");
    assert_eq!(thread.as_deref(), Some("rex-script"));
    assert_eq!(output, "hello");
    let read = r#""action":"file_system::Action::\"read\"""#;
    assert_eq!(
        lines.lines().filter(|l| l.contains(read)).count(),
        1,
        "{lines}"
    );

    // Ended by the watchdog at the deadline: the watchdog's document, no `finish`.
    let (seen, finished) = std::sync::mpsc::channel::<()>();
    let mut request = RunRequest::new("t.rhai", LONG_LOOP);
    request.limits.timeout = Duration::from_millis(200);
    request.watchdog = Watchdog::ExitProcess;
    let o = run_then(gate(), request, move |_| seen.send(()).unwrap());
    assert!(error(&o).1.contains("wall-clock deadline"));
    assert!(finished.try_recv().is_err());
}

/// A script thread started before its run takes the run's limits, gate and arguments
/// (none of them is fixed when it starts) and runs the script on itself.
#[test]
fn a_thread_started_ahead_runs_with_the_run_it_is_given() {
    let thread = ScriptThread::start().unwrap();
    let started_on = format!("{thread:?}");
    let (seen, finished) = std::sync::mpsc::channel();
    let mut request = RunRequest::new("t.rhai", "let n = 0; loop { n += 1; }");
    request.limits.max_operations = 1_000;
    let o = run_then_on(Some(thread), gate(), request, move |_| {
        seen.send(format!("{:?}", std::thread::current().id()))
            .unwrap();
    });
    let (kind, message) = error(&o);
    assert_eq!(kind, ErrorType::ScriptException, "{message}");
    assert!(message.contains("operations"), "{message}");
    assert!(
        started_on.contains(&finished.try_recv().unwrap()),
        "{started_on}"
    );

    // The gate comes with the run: denied without a policy.
    let o = run_then_on(
        Some(ScriptThread::start().unwrap()),
        gate(),
        RunRequest::new("t.rhai", "cat(\"/etc/hostname\")"),
        |_| {},
    );
    assert_eq!(o.document.status, Status::Error);
}

/// The memory limit holds without the progress callback: the watchdog polls resident
/// memory.
#[test]
fn memory_limit_by_the_watchdog() {
    let o = run_with(LONG_LOOP, |r| {
        r.limits.max_memory_bytes = 1;
        r.watchdog = Watchdog::ExitProcess;
    });
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(
        m.starts_with("Script terminated: memory limit of 1 bytes exceeded (resident "),
        "{m}"
    );
}

/// Type names are the same wherever rex registers them (its types live in a global module
/// of their own, the standard names in the global namespace).
#[test]
fn type_names_are_the_display_names() {
    assert_eq!(
        output(
            r#"[type_of(MetricBuilder()), type_of("s"), type_of(1), type_of(1.5), type_of([]), type_of(#{}), type_of(()), type_of('c'), type_of(true), type_of(Fn("f")), type_of(blob()), type_of(0..1), type_of(0..=1)]"#
        ),
        r#"["MetricBuilder", "string", "i64", "f64", "array", "map", "()", "char", "bool", "Fn", "blob", "range", "range="]"#
    );
    let o = run_script("MetricBuilder().no_such_method()");
    assert!(
        error(&o).1.contains("no_such_method (MetricBuilder)"),
        "{}",
        error(&o).1
    );
    // A script-defined method on a standard type still takes precedence.
    assert_eq!(output(r#"fn len() { 7 } "abc".len()"#), "7");
    assert_eq!(
        output(r#"fn twice() { this * 2 } let x = 21; x.twice()"#),
        "42"
    );
}

#[test]
fn operation_limit_stops_loops() {
    let o = run_with("let i = 0; loop { i += 1; }", |r| {
        r.limits.max_operations = 10_000
    });
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("Too many operations"), "{m}");
}

// Exhaustion (infinite loops, deep recursion, deep nesting, huge values, ...) is tested
// in one place, against the real binary: crates/rex-cli/tests/exhaustion.rs.

#[test]
fn call_depth_limit_is_the_same_in_every_profile() {
    // 64 levels: 60 are fine in debug and release builds alike.
    assert_eq!(
        output("fn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } } f(60)"),
        "60"
    );
}

#[test]
fn import_and_eval_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m.rhai");
    std::fs::write(&module, "export const X = 1;").unwrap();
    let script = format!(r#"import "{}" as m; m::X"#, dir.path().join("m").display());
    let (t, m) = error(&run_script(&script));
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("import"), "{m}");
    let (_, m) = error(&run_script(r#"eval("1")"#));
    assert!(m.contains("eval"), "{m}");
}

#[test]
fn strict_variables_and_syntax_errors() {
    let o = run_script("let y = x + 1;");
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(
        m.starts_with("Syntax error: ") && m.contains("x") && m.contains("line 1"),
        "{m}"
    );
    assert!(
        o.document
            .alarms
            .iter()
            .any(|a| a.alarm_type == "RexRunnerScriptCompilationFailure")
    );
}

#[test]
fn a_thrown_string_is_never_an_access_denial() {
    let o = run_script(r#"throw "Permission denied by me";"#);
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert_eq!(m.matches("(line 1, position 1)").count(), 1, "{m}");
    // Nor is a forged SDK error map.
    let o =
        run_script(r#"throw #{kind: "PermissionDenied", source: "IoErrorKind", message: "x"};"#);
    assert_eq!(error(&o).0, ErrorType::ScriptException);
}

#[test]
fn logs_capture_levels_and_lines() {
    let o = run_script(
        "info(\"a\");\nwarn(\"b\");\ndebug(\"c\");\nprint(\"d\");\nerror(1);\ntrace(\"t\");",
    );
    let logs = o.document.logs.unwrap();
    let got: Vec<(String, String, String)> = logs
        .iter()
        .map(|l| {
            (
                l.attributes.level.clone(),
                l.attributes.message.clone(),
                l.attributes.line_number.clone(),
            )
        })
        .collect();
    assert_eq!(got[0], ("INFO".into(), "a".into(), "1".into()));
    assert_eq!(got[1], ("WARN".into(), "b".into(), "2".into()));
    assert_eq!(got[2].1, "d");
    assert_eq!(got[3], ("ERROR".into(), "1".into(), "5".into()));
    assert_eq!(
        got.len(),
        4,
        "debug and trace are below the default INFO threshold"
    );
}

#[test]
fn long_multibyte_log_message_does_not_panic() {
    let o = run_script(r#"info("é".pad(1100, "é")); "ok""#);
    assert_eq!(o.document.output, "ok");
}

#[test]
fn arguments_become_variables() {
    let args = ScriptArgs::parse(
        "a.json",
        r#"{"name":{"stringValue":"Alice"},"n":{"integerValue":2},"l":{"listValue":[{"booleanValue":true}]}}"#,
    )
    .unwrap();
    let o = run_with(r#"`${name} ${n + 1} ${type_of(l)} ${l[0]}`"#, |r| {
        r.args = args
    });
    assert_eq!(o.document.output, "Alice 3 array true");
}

#[test]
fn script_metrics_and_alarms_are_published_but_rex_names_are_fatal() {
    let o = run_script(
        r#"MetricBuilder().name("Files").value(3).unit(MetricUnitType::COUNT).publish();
           AlarmBuilder().type("Disk").details("full").publish(); 1"#,
    );
    assert!(
        o.document
            .metrics
            .iter()
            .any(|m| m.metric_name == "Files" && m.metric_value == 3.0)
    );
    assert!(o.document.alarms.iter().any(|a| a.alarm_type == "Disk"));
    let o = run_script(r#"MetricBuilder().name("RexFoo").value(1.0).publish();"#);
    assert_eq!(o.class, RunClass::Fatal);
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("Invalid metric name 'RexFoo'"), "{m}");
}

#[test]
fn runner_metrics_are_present() {
    let o = run_script("1");
    let names: Vec<&str> = o
        .document
        .metrics
        .iter()
        .map(|m| m.metric_name.as_str())
        .collect();
    for n in [
        "RexRunnerScriptExecutionTime",
        "RexRunnerTotalExecutionTime",
        "RexRunnerScriptExecutionSuccessCount",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
}

#[test]
fn default_limits_match_in_every_profile() {
    let l = Limits::default();
    assert_eq!(l.max_call_levels, 64);
    assert_eq!(l.timeout, Duration::from_secs(300));
}

#[test]
fn date_time_functions_follow_the_original() {
    assert_eq!(
        output(
            r#"let d = DateTime(2026, 11, 21, 10, 30, 5, 7); [d.year, d.month, d.day, d.hour, d.minute, d.second, d.nanosecond, d.epoch_seconds(), d.month_str(), d.month_str_short()]"#
        ),
        r#"[2026, 11, 21, 10, 30, 5, 7, 1795257005, "November", "Nov"]"#
    );
    assert_eq!(
        output(
            r#"let d = from_epoch_nanos(1795257005, 9); [d.to_string(DateTimeFormat::RFC3339), d.nanos(), (d + 60) - d, (d - 3600).hour]"#
        ),
        r#"["2026-11-21T10:30:05.000000009Z", 9, 60, 9]"#
    );
    assert_eq!(
        output(
            r#"let a = parse_datetime("Sat, 21 Nov 2026 10:30:05 +0000", DateTimeFormat::RFC2822); let b = parse_datetime("2026-11-21T11:30:05+01:00", DateTimeFormat::RFC3339); [a == b, a.to_string(DateTimeFormat::RFC2822), now() > a - 86400 * 365 * 10, now_nanos() >= from_epoch_seconds(0)]"#
        ),
        r#"[true, "Sat, 21 Nov 2026 10:30:05 +0000", true, true]"#
    );
    // Bad input is a catchable CommonUtilsErrorKind map naming the input.
    assert_eq!(
        output(
            r#"let r = (); try { parse_datetime("yesterday", DateTimeFormat::RFC3339); } catch (e) { r = [e.kind, e.source, e.message.contains("`yesterday`")]; } r"#
        ),
        r#"["ParseError", "CommonUtilsErrorKind", true]"#
    );
    assert_eq!(
        output(
            r#"let r = (); try { DateTime(2026, 13, 1, 0, 0, 0, 0); } catch (e) { r = [e.kind == CommonUtilsErrorKind::InvalidArguments, e.message]; } r"#
        ),
        r#"[true, "invalid date and time `2026-13-1 0:0:0.0`"]"#
    );
}

/// Only the SDK domains a script names are registered; a function reached through a
/// computed name is still there (the empty policy then denies it: the call got as far as
/// the gate, it was not "function not found").
#[test]
fn functions_reached_by_a_computed_name_are_registered() {
    for script in [
        r#"let f = Fn("c" + "at"); f.call("/etc/hostname")"#,
        r#"["/etc/hostname"].map("c" + "at")"#,
        r#"cat("/etc/hostname")"#,
    ] {
        let o = run_script(script);
        assert_eq!(
            o.class,
            RunClass::AccessDenied,
            "{script}: {:?}",
            o.document.error
        );
    }
    let o = run_script(r#"let f = "c" + "at"; f"#);
    assert_eq!(o.document.output, "cat");
}
