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
