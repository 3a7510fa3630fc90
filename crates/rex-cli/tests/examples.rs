#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Every shipped maintenance example runs under its learned policy (also with the kernel
//! backstop required) and is refused under its deny variant.

use std::path::{Path, PathBuf};
use std::process::Command;

const REX: &str = env!("CARGO_BIN_EXE_rex");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn setup() {
    let ok = Command::new("bash")
        .arg(repo().join("examples/setup.sh"))
        .status()
        .unwrap();
    assert!(ok.success());
}

fn run(example: &str, policy: &str, sandbox: &str) -> (Option<i32>, String, String) {
    let dir = repo().join("examples").join(example);
    let o = Command::new(REX)
        .args(["run", dir.join(format!("{example}.rhai")).to_str().unwrap()])
        .args(["-a", dir.join("args.json").to_str().unwrap()])
        .args(["-p", dir.join(policy).to_str().unwrap()])
        .args(["--principal", "ops", "--sandbox", sandbox])
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn maintenance_examples_run_under_their_policies_and_fail_under_deny_variants() {
    let cases = [
        (
            "log-errors",
            r#"{"errors":5,"last_error":"2026-11-21T10:00:50 ERROR request 50 failed","scanned":50}"#,
        ),
        (
            "cache-cleanup",
            r#"{"freed_bytes":10,"removed":["old-a.bin","old-b.bin"]}"#,
        ),
        ("support-bundle", "2"),
    ];
    for (example, expected) in cases {
        for sandbox in ["off", "required"] {
            setup();
            let (code, out, err) = run(example, "policy.cedar", sandbox);
            assert_eq!(code, Some(0), "{example} (sandbox {sandbox}): {err}");
            assert_eq!(out.trim_end(), expected, "{example}");
        }
        setup();
        let (code, _, err) = run(example, "policy-deny.cedar", "auto");
        assert_eq!(code, Some(3), "{example} deny variant: {err}");
        assert!(err.contains("to allow exactly this request, add:"), "{err}");
    }
    assert!(Path::new("/tmp/rex-examples/cache/new.bin").exists());
}

#[test]
fn quickstart_runs_with_the_kernel_backstop_required() {
    let q = repo().join("examples/quickstart");
    let o = Command::new(REX)
        .args([
            "run",
            q.join("hello.rhai").to_str().unwrap(),
            "-p",
            q.join("policy.cedar").to_str().unwrap(),
        ])
        .args([
            "-a",
            q.join("args.json").to_str().unwrap(),
            "--sandbox",
            "required",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["output"], "Hello from REX!");
    let logs = doc["logs"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l["attributes"]["rhai_api_name"] == "sandbox"),
        "{doc}"
    );
}

/// The policy load builds the Cedar schema on a second thread and joins it before the
/// sandbox; the sandbox counts threads, and refuses `required` when another one runs
/// (Landlock before ABI 8 would not restrict it). A joined thread can still be counted
/// for a moment, which the sandbox waits out: many runs, none refused, none with the
/// "threads were already running" note.
#[test]
fn the_schema_thread_is_gone_before_the_required_sandbox() {
    let q = repo().join("examples/quickstart");
    for i in 0..30 {
        let o = Command::new(REX)
            .args(["run", q.join("hello.rhai").to_str().unwrap()])
            .args(["-p", q.join("policy.cedar").to_str().unwrap()])
            .args(["-a", q.join("args.json").to_str().unwrap()])
            .args(["--sandbox", "required", "-o", "json"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "run {i}: {out}");
        assert!(!out.contains("already running"), "run {i}: {out}");
    }
}

#[test]
fn a_script_under_the_required_sandbox_sees_no_new_privs_and_seccomp() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.rhai");
    std::fs::write(&script, r#"cat("/proc/self/status")"#).unwrap();
    let policy = dir.path().join("p.cedar");
    std::fs::write(
        &policy,
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource in file_system::Dir::"/proc");"#,
    )
    .unwrap();
    let o = Command::new(REX)
        .args([
            "run",
            script.to_str().unwrap(),
            "-p",
            policy.to_str().unwrap(),
        ])
        .args(["--sandbox", "required"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let status = String::from_utf8_lossy(&o.stdout);
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
}

/// A loopback HTTP server answering every request with `status`; returns its port.
fn http_server(status: u16) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = if status == 200 { "ok" } else { "down" };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Copies an example into a temp dir with the ports of its args and policies replaced
/// (the shipped files name 8080 and 5432), and runs it with the fake systemd's bus.
struct Relocated {
    dir: tempfile::TempDir,
    example: &'static str,
    bus: String,
}

impl Relocated {
    fn new(example: &'static str, ports: &[(&str, u16)], bus: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = repo().join("examples").join(example);
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let mut text = std::fs::read_to_string(&path).unwrap();
            for (from, to) in ports {
                text = text.replace(&format!("127.0.0.1:{from}"), &format!("127.0.0.1:{to}"));
                text = text.replace(
                    &format!("\"integerValue\": {from}"),
                    &format!("\"integerValue\": {to}"),
                );
            }
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
        Self {
            dir,
            example,
            bus: bus.to_owned(),
        }
    }

    fn run(&self, policy: &str, sandbox: &str) -> (Option<i32>, serde_json::Value, String) {
        let d = self.dir.path();
        let o = Command::new(REX)
            .args([
                "run",
                d.join(format!("{}.rhai", self.example)).to_str().unwrap(),
            ])
            .args(["-a", d.join("args.json").to_str().unwrap()])
            .args(["-p", d.join(policy).to_str().unwrap()])
            .args(["--principal", "ops", "--sandbox", sandbox, "-o", "json"])
            .env("REX_SYSTEMD_BUS", &self.bus)
            .output()
            .unwrap();
        let doc = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
        (
            o.status.code(),
            doc,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

/// The script's result (a Rhai map, printed as `#{"k": v}`) as JSON.
fn output(doc: &serde_json::Value) -> serde_json::Value {
    let text = doc["output"].as_str().unwrap_or_else(|| panic!("{doc}"));
    serde_json::from_str(&text.replace("#{", "{")).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn systemd_and_network_examples_run_under_their_policies_and_fail_under_deny_variants() {
    let bus = rex_proc::testbus::TestBus::start(&["nginx.service"]).unwrap();
    let down = http_server(503);
    let up = http_server(200);
    let db = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let db_port = db.local_addr().unwrap().port();

    // maintenance: memory, disks, processes, then the restart the deny variant refuses.
    let m = Relocated::new("maintenance", &[], bus.address());
    for sandbox in ["off", "required"] {
        let (code, doc, err) = m.run("policy.cedar", sandbox);
        assert_eq!(code, Some(0), "maintenance (sandbox {sandbox}): {err}");
        let out = output(&doc);
        assert_eq!(out["unit"], "nginx.service", "{out}");
        assert_eq!(out["unit_state"], "active", "{out}");
        assert!(
            !out["top_processes"].as_array().unwrap().is_empty(),
            "{out}"
        );
    }
    let (code, doc, _) = m.run("policy-deny.cedar", "auto");
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(
        doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION",
        "{doc}"
    );

    // health-check: a healthy endpoint and an open database port; the deny variant has
    // no permit for the database port.
    let h = Relocated::new(
        "health-check",
        &[("8080", up), ("5432", db_port)],
        bus.address(),
    );
    for sandbox in ["off", "required"] {
        let (code, doc, err) = h.run("policy.cedar", sandbox);
        assert_eq!(
            code,
            Some(0),
            "health-check (sandbox {sandbox}): {err} {doc}"
        );
        assert_eq!(output(&doc)["healthy"], true, "{doc}");
    }
    let (code, doc, _) = h.run("policy-deny.cedar", "auto");
    assert_eq!(code, Some(3), "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{doc}"
    );

    // restart-on-failure: a healthy service is left alone, a failing one is restarted,
    // and the deny variant refuses the restart.
    let calls_before = bus.calls().len();
    let healthy = Relocated::new("restart-on-failure", &[("8080", up)], bus.address());
    let (code, doc, err) = healthy.run("policy.cedar", "required");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(output(&doc)["restarted"], false, "{doc}");
    assert_eq!(
        bus.calls().len(),
        calls_before,
        "a healthy service was touched"
    );
    let failing = Relocated::new("restart-on-failure", &[("8080", down)], bus.address());
    for sandbox in ["off", "required"] {
        let (code, doc, err) = failing.run("policy.cedar", sandbox);
        assert_eq!(
            code,
            Some(0),
            "restart-on-failure (sandbox {sandbox}): {err}"
        );
        let out = output(&doc);
        assert_eq!(out["restarted"], true, "{out}");
        assert_eq!(out["reason"], "status 503", "{out}");
    }
    assert!(
        bus.calls()
            .iter()
            .any(|c| c.starts_with("RestartUnit nginx.service")),
        "{:?}",
        bus.calls()
    );
    let (code, doc, _) = failing.run("policy-deny.cedar", "auto");
    assert_eq!(code, Some(3), "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restart"),
        "{doc}"
    );
}
