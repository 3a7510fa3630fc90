#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The engine's sandbox and output contract, independent of any SDK domain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rex_engine::{ErrorType, Limits, RunClass, RunOutcome, RunRequest, ScriptArgs, Status, run};
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

#[test]
fn infinite_loop_ends_at_the_deadline_even_inside_try() {
    let started = Instant::now();
    let o = run_with("try { loop {} } catch (e) { 1 }", |r| {
        r.limits.timeout = Duration::from_millis(300)
    });
    assert!(started.elapsed() < Duration::from_secs(10));
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(
        m.starts_with("Script terminated: wall-clock deadline"),
        "{m}"
    );
    assert_eq!(o.class, RunClass::ScriptError);
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

#[test]
fn string_and_array_bombs_end_with_an_error() {
    for bomb in [
        r#"let s = "x"; loop { s += s; }"#,
        "let a = [1]; loop { a += a; }",
        r#"let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }"#,
        r#"let a = []; loop { a.push("0123456789".pad(1000, "x")); }"#,
    ] {
        let started = Instant::now();
        let o = run_with(bomb, |r| {
            r.limits.max_memory_bytes = 256 * 1024 * 1024;
            r.limits.timeout = Duration::from_secs(60);
        });
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{bomb} took {:?}",
            started.elapsed()
        );
        let (t, m) = error(&o);
        assert_eq!(t, ErrorType::ScriptException, "{bomb}: {m}");
        assert!(
            m.contains("too large") || m.contains("Length of") || m.contains("memory limit"),
            "{bomb}: {m}"
        );
    }
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let o = run_script("fn f(n) { f(n + 1) } f(0)");
    let (t, m) = error(&o);
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("Stack overflow"), "{m}");
    // The limit is the same in every build profile: 64 levels are fine, not 65.
    assert_eq!(
        output("fn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } } f(60)"),
        "60"
    );
    let deep_expr = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let (t, _) = error(&run_script(&deep_expr));
    assert_eq!(t, ErrorType::ScriptException);
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
