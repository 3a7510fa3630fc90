#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "proc")]
//! The process and systemd functions from Rhai: each registered, working under a policy
//! that permits it, and denied under one that does not. The systemd part (and the
//! maintenance example) runs against a private dbus-daemon with a fake systemd.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rex_engine::{
    ErrorType, RunOutcome, RunRequest, ScriptArgs, Status, registered_function_names, run,
};
use rex_policy::{Gate, Policies};

fn gate(policy: &str) -> Arc<Gate> {
    Arc::new(
        Gate::builder()
            .principal("tester")
            .build(Policies::from_text("t.cedar", policy).unwrap())
            .unwrap(),
    )
}

fn exec(policy: &str, script: &str) -> RunOutcome {
    run(gate(policy), RunRequest::new("t.rhai", script))
}

fn ok(policy: &str, script: &str) -> String {
    let o = exec(policy, script);
    assert_eq!(
        o.document.status,
        Status::Success,
        "{script}: {:?}",
        o.document.error
    );
    o.document.output
}

fn denied(policy: &str, script: &str) -> String {
    let o = exec(policy, script);
    let e = o
        .document
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("{script} succeeded"));
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{script}: {}",
        e.message
    );
    e.message.clone()
}

struct Sleeper(Child);

impl Sleeper {
    fn new(arg: &str) -> Self {
        let child = Command::new("sleep")
            .arg(arg)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && !std::fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .starts_with(b"sleep\0")
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Self(child)
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
    fn wait_signal(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s.signal();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn permit_cmd(action: &str, cmd: &str) -> String {
    format!(
        "permit(principal, action == process_system::Action::\"{action}\", resource) when {{ resource.command == \"{cmd}\" }};\n"
    )
}

#[test]
fn every_process_and_systemd_name_is_registered() {
    let names = registered_function_names();
    for n in [
        "ProcessManager",
        "processes",
        "ps",
        "kill",
        "KillOptions",
        "ProcessOptions",
        "processes_using_inode",
        "list_open_files",
        "LsofOptions",
        "ipcs_info",
        "trace",
        "TraceOptions",
        "nsenter",
        "NamespaceOptions",
        "monitor_processes_cpu",
        "MonitorProcessesCpuOptions",
        "SystemctlManager",
        "start",
        "stop",
        "restart",
        "try_restart",
        "status",
        "daemon_reload",
        "pid",
        "process_name",
        "username",
        "command",
        "exact_match",
        "signal",
        "load_namespace_info",
        "include_threads",
        "path",
        "include_subdir",
        "ns_pid",
        "mount",
        "net",
        "net_ns_name",
        "pids_to_monitor",
        "batches",
        "delay_in_seconds",
    ] {
        assert!(names.iter().any(|r| r == n), "`{n}` not registered");
    }
    assert_eq!(
        ok(
            "",
            "[Signal::SIGTERM, Signal::SIGQUIT, Signal::SIGHUP, Signal::SIGKILL, kill::SIGKILL, kill::HUP].map(|s| s.to_string())"
        ),
        r#"["SIGTERM", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGKILL", "SIGHUP"]"#
    );
    assert_eq!(
        ok("", "[State::ACTIVE, State::FAILED, State::UNKNOWN]"),
        r#"["active", "failed", "unknown"]"#
    );
    assert_eq!(
        ok(
            "",
            "[ProcessErrorKind::ProcessNotFound, ProcessErrorKind::PermissionDenied, ProcessErrorKind::DBusError, ProcessErrorKind::ServiceNotFound]"
        ),
        r#"["ProcessNotFound", "PermissionDenied", "DBusError", "ServiceNotFound"]"#
    );
}

#[test]
fn kill_a_child_by_pid_and_be_denied_for_another() {
    let mut mine = Sleeper::new("32.101");
    let mut other = Sleeper::new("32.102");
    let policy = permit_cmd("kill", "sleep 32.101");
    let out = ok(
        &policy,
        &format!("let r = kill({}); r[0].name + \":\" + r[0].pid", mine.pid()),
    );
    assert_eq!(out, format!("sleep:{}", mine.pid()));
    assert_eq!(mine.wait_signal(), Some(15));

    // The same script for a process the policy does not cover.
    let msg = denied(&policy, &format!("kill({})", other.pid()));
    assert!(msg.contains("process_system::Action::\"kill\""), "{msg}");
    assert!(other.running());
    // Caught, the denial is the usual map.
    assert_eq!(
        ok(
            &policy,
            &format!(
                "let r = \"traced\"; try {{ kill({}); \"no\"; }} catch (e) {{ r = `${{e.source}}/${{e.kind}}`; }} r",
                other.pid()
            )
        ),
        "ProcessErrorKind/PermissionDenied"
    );
    assert_eq!(
        ok(
            &policy,
            "let r = \"no error\"; try { kill(999999999); \"no\"; } catch (e) { r = e.kind; } r"
        ),
        "ProcessNotFound"
    );
}

#[test]
fn kill_flags_and_kill_options() {
    let mut a = Sleeper::new("32.201");
    let policy = format!(
        "{}{}",
        permit_cmd("kill", "sleep 32.201"),
        permit_cmd("interrupt", "sleep 32.202")
    );
    ok(&policy, &format!("kill([kill::SIGKILL], {})", a.pid()));
    assert_eq!(a.wait_signal(), Some(9));

    let mut b = Sleeper::new("32.202");
    // SIGHUP needs `interrupt`, which the policy grants for this one.
    let out = ok(
        &policy,
        &format!(
            "ProcessManager().kill(KillOptions().pid({}).signal(Signal::SIGHUP).build()).len()",
            b.pid()
        ),
    );
    assert_eq!(out, "1");
    assert_eq!(b.wait_signal(), Some(1));

    let mut c = Sleeper::new("32.203");
    denied(&policy, &format!("kill([kill::SIGHUP], {})", c.pid()));
    // By name: denied matches are skipped, not errors.
    assert_eq!(
        ok(
            &policy,
            "ProcessManager().kill(KillOptions().command(\"32.203\").build()).len()"
        ),
        "0"
    );
    assert!(c.running());
    let o = exec(&policy, "KillOptions().build()");
    assert_eq!(o.document.status, Status::Error);
    assert_eq!(
        ok(
            &policy,
            "let r = \"no error\"; try { kill([\"x\"], 1); } catch (e) { r = e.kind; } r"
        ),
        "ValidationError"
    );
}

#[test]
fn processes_are_filtered_and_the_count_is_visible() {
    let child = Sleeper::new("32.301");
    let policy = permit_cmd("list", "sleep 32.301");
    let o = exec(
        &policy,
        "let pm = ProcessManager(); let p = pm.processes(); [p.len(), p[0].command, pm.filtered > 0, p[0].to_map().pid]",
    );
    assert_eq!(o.document.status, Status::Success, "{:?}", o.document.error);
    assert_eq!(
        o.document.output,
        format!("[1, \"sleep 32.301\", true, {}]", child.pid())
    );
    let logs = o.document.logs.clone().unwrap_or_default();
    assert!(
        logs.iter().any(|l| l.attributes.level == "WARN"
            && l.attributes.message.contains("hidden by the policy")),
        "{logs:?}"
    );
    assert_eq!(
        ok(&policy, "ps().map(|p| p.name + \" \" + p.state)"),
        "[\"sleep Sleeping\"]"
    );
    assert_eq!(
        ok(
            &policy,
            "ProcessManager().processes(ProcessOptions().load_namespace_info(true).include_threads(true).build())[0].pid_namespace > 0"
        ),
        "true"
    );
    assert_eq!(ok("", "ps().len()"), "0");
    let batches = ok(
        &policy,
        &format!(
            "ProcessManager().monitor_processes_cpu(MonitorProcessesCpuOptions().pids_to_monitor([{}]).batches(2).delay_in_seconds(0).build()).map(|b| b.len())",
            child.pid()
        ),
    );
    assert_eq!(batches, "[1, 1]");
    assert_eq!(
        ok(
            "",
            "ProcessManager().monitor_processes_cpu(MonitorProcessesCpuOptions().batches(1).delay_in_seconds(0).build())[0].len()"
        ),
        "0"
    );
}

#[test]
fn fuser_lsof_ipcs_need_their_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::fs::canonicalize(dir.path()).unwrap().join("held");
    std::fs::write(&path, "x").unwrap();
    let _held = std::fs::File::open(&path).unwrap();
    let me = std::process::id();
    let p = path.to_str().unwrap();
    let policy = format!(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::Dir::\"/proc\");\n\
         permit(principal, action == process_system::Action::\"list_fds\", resource == process_system::Process::\"{me}\");\n\
         permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource in file_system::Dir::\"/proc/sysvipc\");\n"
    );
    assert_eq!(
        ok(
            &policy,
            &format!(
                "let u = ProcessManager().processes_using_inode(\"{p}\"); [u.len(), u[0].pid, u[0].access]"
            )
        ),
        format!("[1, {me}, \"f\"]")
    );
    assert_eq!(
        ok(
            &policy,
            &format!(
                "let f = ProcessManager().list_open_files(LsofOptions().path(\"{p}\").pid({me}).build()); [f.len(), f[0].file_type, f[0].access]"
            )
        ),
        "[1, \"REG\", \"r\"]"
    );
    assert_eq!(
        ok(
            &policy,
            "type_of(ProcessManager().ipcs_info().shared_memory)"
        ),
        "array"
    );
    denied(
        "",
        &format!("ProcessManager().processes_using_inode(\"{p}\")"),
    );
    denied(
        "",
        "ProcessManager().list_open_files(LsofOptions().build())",
    );
    denied("", "ProcessManager().ipcs_info()");
}

#[test]
fn nsenter_and_trace_from_a_script() {
    let mut child = Command::new("unshare")
        .args(["--net", "sleep", "32.401"])
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare (util-linux)");
    let pid = child.id();
    let link = |p: String| {
        std::fs::read_link(p)
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while link(format!("/proc/{pid}/ns/net")) == link("/proc/self/ns/net".into()) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let policy = format!(
        "permit(principal, action == process_system::Action::\"network_namespace\", resource == process_system::Process::\"{pid}\");"
    );
    assert_eq!(
        ok(
            &policy,
            &format!(
                "ProcessManager().nsenter(NamespaceOptions().net(true).pid({pid}).build(), || 40 + 2)"
            )
        ),
        "42"
    );
    // The callback's own error comes through unchanged, and the namespace is restored.
    assert_eq!(
        ok(
            &policy,
            &format!(
                "let r = \"traced\"; try {{ ProcessManager().nsenter(NamespaceOptions().net(true).pid({pid}).build(), || throw \"inner\"); }} catch (e) {{ r = e; }} r"
            )
        ),
        "inner"
    );
    denied(
        "",
        &format!("ProcessManager().nsenter(NamespaceOptions().net(true).pid({pid}).build(), || 1)"),
    );
    denied(
        &policy,
        &format!(
            "ProcessManager().nsenter(NamespaceOptions().mount(true).pid({pid}).build(), || 1)"
        ),
    );
    let _ = child.kill();
    let _ = child.wait();

    let target = Sleeper::new("32.402");
    denied("", &format!("ProcessManager().trace({})", target.pid()));
    let trace_only = permit_cmd("trace", "sleep 32.402");
    let kind = ok(
        &format!(
            "{trace_only}permit(principal, action == file_system::Action::\"execute\", resource);"
        ),
        &format!(
            "let r = \"traced\"; try {{ ProcessManager().trace({}, TraceOptions().ns_pid(1).build()); \"traced\"; }} catch (e) {{ r = e.kind; }} r",
            target.pid()
        ),
    );
    if std::path::Path::new(rex_proc::GSTACK).exists() {
        assert_eq!(kind, "traced");
        denied(
            &trace_only,
            &format!("ProcessManager().trace({})", target.pid()),
        );
    } else {
        assert_eq!(kind, "NotFound");
    }
}

const UNITS: &[&str] = &["nginx.service", "getty@tty1.service"];

/// Runs the systemd scripts in a child test process whose environment points
/// `REX_SYSTEMD_BUS` at a private bus (the SDK reads the bus address from the
/// environment; a script cannot choose it).
#[test]
fn systemd_and_the_maintenance_example_against_a_test_bus() {
    if std::env::var_os("REX_PROC_TEST_CHILD").is_some() {
        systemd_scripts();
        return;
    }
    let bus = rex_proc::testbus::TestBus::start(UNITS)
        .expect("dbus-daemon must be installed (see .ci/install-deps)");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "systemd_and_the_maintenance_example_against_a_test_bus",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REX_PROC_TEST_CHILD", "1")
        .env("REX_SYSTEMD_BUS", bus.address())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    let calls = bus.calls();
    assert!(
        calls.contains(&"RestartUnit nginx.service".to_owned()),
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("getty@tty1") && c.starts_with("Stop")),
        "{calls:?}"
    );
}

fn systemd_scripts() {
    let policy = r#"
permit(principal, action in systemd::Action::"SystemdAction", resource == systemd::Service::"nginx.service");
permit(principal, action == systemd::Action::"daemon_reload", resource == systemd::Systemd::"localhost");
"#;
    let out = ok(
        policy,
        r#"let sm = SystemctlManager();
           sm.start("nginx");
           let a = sm.status("nginx.service");
           sm.stop("nginx.service");
           let b = sm.status("nginx");
           sm.try_restart("nginx");
           let c = sm.status("nginx").active_state;
           sm.restart("nginx");
           sm.daemon_reload();
           let d = sm.status("nginx");
           [a.active_state == State::ACTIVE, a.main_pid, b.active_state, c, d.sub_state, d.to_map().name, d.to_string().contains("load_state")]"#,
    );
    assert_eq!(
        out,
        r#"[true, 4242, "inactive", "inactive", "running", "nginx.service", true]"#
    );
    for op in ["start", "stop", "restart", "try_restart", "status"] {
        let msg = denied(policy, &format!("SystemctlManager().{op}(\"getty@tty1\")"));
        assert!(
            msg.contains("systemd::Service::\\\"getty@tty1.service\\\"")
                || msg.contains("getty@tty1.service"),
            "{msg}"
        );
    }
    denied("", "SystemctlManager().daemon_reload()");
    assert_eq!(
        ok(
            policy,
            "let r = \"no error\"; try { SystemctlManager().start(\"../nginx\"); } catch (e) { r = e.kind; } r"
        ),
        "ValidationError"
    );
    let all = "permit(principal, action in systemd::Action::\"SystemdAction\", resource);";
    assert_eq!(
        ok(
            all,
            "let r = \"no error\"; try { SystemctlManager().status(\"ghost\"); } catch (e) { r = e.kind; } r"
        ),
        "ServiceNotFound"
    );

    // The maintenance example with its own least-privilege policy and arguments.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/maintenance");
    let script = std::fs::read_to_string(dir.join("maintenance.rhai")).unwrap();
    let policy = std::fs::read_to_string(dir.join("policy.cedar")).unwrap();
    let args = std::fs::read_to_string(dir.join("args.json")).unwrap();
    let mut req = RunRequest::new("maintenance.rhai", script.clone());
    req.args = ScriptArgs::parse("args.json", &args).unwrap();
    let g = Arc::new(
        Gate::builder()
            .principal("ops")
            .build(Policies::from_text("policy.cedar", &policy).unwrap())
            .unwrap(),
    );
    let o = run(g, req);
    assert_eq!(o.document.status, Status::Success, "{:?}", o.document.error);
    let out = &o.document.output;
    assert!(out.contains("\"unit\": \"nginx.service\""), "{out}");
    assert!(out.contains("\"unit_state\": \"active\""), "{out}");
    assert!(out.contains("top_processes"), "{out}");
    // The policy is least privilege: stopping the unit is not in it.
    let mut req = RunRequest::new("stop.rhai", "SystemctlManager().stop(\"nginx\")");
    req.args = ScriptArgs::parse("args.json", &args).unwrap();
    let g = Arc::new(
        Gate::builder()
            .principal("ops")
            .build(Policies::from_text("policy.cedar", &policy).unwrap())
            .unwrap(),
    );
    let o = run(g, req);
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
}
