#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The kernel backstop without trusting the SDK: the whole runner path (`prepare`-like
//! gate, `rex_cli::apply_sandbox`, `rex_cli::run`, the real Rhai bindings and SDK), with a
//! gate that SKIPS the check of one named action (`GateBuilder::skip_check_for_tests`,
//! cargo feature `test-hooks`, enabled only as this crate's dev-dependency), as an SDK bug
//! would. The kernel must then refuse what the policy does not cover:
//!
//! - skipping `file_system::create`: creating a file in a directory the policy only lets
//!   the script open reaches the kernel, and Landlock answers `EACCES` (control: with the
//!   sandbox off the file is created, so the hole is real; without the hook the SDK
//!   refuses as usual);
//! - skipping `process_system::network_namespace`: `nsenter` reaches `setns`, and the
//!   seccomp filter answers `EPERM` (control: with the sandbox off, as root, it enters).
//!
//! The sandbox is irreversible and Landlock covers only the calling thread and those it
//! starts (ABI < 8), so each run is a fresh child: this binary (harness = false, single
//! threaded) re-executes itself with `REX_BYPASS_CHILD=1`, and the child prints the output
//! document as JSON.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use rex_cli::{Inputs, Prepared, apply_sandbox, run};
use rex_engine::RunRequest;
use rex_policy::action::{fs, process};
use rex_policy::{Action, Gate, Policies};
use rex_sandbox::SandboxMode;
use serde_json::Value;

const EACCES: &str = "(os error 13)";
const EPERM: &str = "(os error 1)";

fn main() {
    if std::env::var_os("REX_BYPASS_CHILD").is_some() {
        child();
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "landlock_refuses_a_create_the_sdk_failed_to_check",
            landlock_create,
        ),
        (
            "seccomp_refuses_a_setns_the_sdk_failed_to_check",
            seccomp_setns,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    let mut passed = 0;
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        let ok = std::panic::catch_unwind(f).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------- parent side

/// One child run: the policy, the action whose check is skipped (if any), the sandbox
/// mode and the script; returns the output document.
fn run_child(policy: &str, skip: Option<&str>, mode: &str, script: &str) -> Value {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("REX_BYPASS_CHILD", "1")
        .env("POLICY", policy)
        .env("MODE", mode)
        .env("SCRIPT", script);
    if let Some(s) = skip {
        cmd.env("SKIP", s);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child ({mode}, skip {skip:?}) failed: {stdout}\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

fn output(doc: &Value) -> &str {
    assert_eq!(doc["status"], "SUCCESS", "{doc}");
    doc["output"].as_str().unwrap()
}

fn logs(doc: &Value) -> String {
    doc["logs"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| e["attributes"]["message"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = std::fs::canonicalize(t.path()).unwrap();
    (t, p)
}

fn landlock_create() {
    let (_t, root) = tmp();
    std::fs::create_dir(root.join("allowed")).unwrap();
    std::fs::create_dir(root.join("forbidden")).unwrap();
    std::fs::write(root.join("allowed/x"), "allowed content").unwrap();
    let r = root.display();
    // Creating is permitted in `allowed` only; in `forbidden` the policy permits opening
    // the directory and the would-be file, not creating it.
    let policy = format!(
        "permit (principal, action in [file_system::Action::\"open\", \
         file_system::Action::\"read\", file_system::Action::\"create\", \
         file_system::Action::\"write\"], resource in file_system::Dir::\"{r}/allowed\");\n\
         permit (principal, action == file_system::Action::\"open\", \
         resource == file_system::Dir::\"{r}/forbidden\");\n\
         permit (principal, action == file_system::Action::\"open\", \
         resource == file_system::File::\"{r}/forbidden/new\");"
    );
    let script = format!(
        r#"let rw = OpenFileOptions().read(true).write(true).create(true).build();
let a = DirConfig().path("{r}/allowed").build().open(OpenDirOptions().build());
a.open_file("made", rw);
let got = "";
try {{
    let d = DirConfig().path("{r}/forbidden").build().open(OpenDirOptions().build());
    d.open_file("new", rw);
    got = "created";
}} catch (e) {{
    got = `${{e.kind}}: ${{e.message}}`;
}}
`${{cat("{r}/allowed/x")}} | ${{got}}`"#
    );
    let new = root.join("forbidden/new");

    // Control 1: the hook really opens a hole in the SDK (no kernel wall).
    let doc = run_child(&policy, Some("create"), "off", &script);
    assert_eq!(output(&doc), "allowed content | created");
    assert!(new.exists());
    std::fs::remove_file(&new).unwrap();
    std::fs::remove_file(root.join("allowed/made")).unwrap();

    // Control 2: without the hook, the SDK refuses (the policy's own wall).
    let doc = run_child(&policy, None, "required", &script);
    let out = output(&doc);
    assert!(
        out.starts_with("allowed content | PermissionDenied: ")
            && out.contains("file_system::Action::\"create\"")
            && !out.contains(EACCES),
        "{out}"
    );
    assert!(!new.exists());
    std::fs::remove_file(root.join("allowed/made")).unwrap();

    // The kernel alone: the SDK lets the create through, Landlock refuses it, while what
    // the policy permits (create in `allowed`, read there) still works.
    let doc = run_child(&policy, Some("create"), "required", &script);
    let out = output(&doc);
    assert!(out.starts_with("allowed content | "), "{out}");
    assert!(out.contains(EACCES), "not refused by the kernel: {out}");
    assert!(!new.exists(), "the kernel let the file be created");
    assert!(root.join("allowed/made").exists());
    assert!(
        logs(&doc).contains("sandbox: landlock full"),
        "{}",
        logs(&doc)
    );
}

fn seccomp_setns() {
    let policy = "permit (principal, action == process_system::Action::\"list\", resource);";
    // Enter this very process's network namespace (inside the Landlock domain, so only
    // seccomp can refuse), then report what /proc/self/status says.
    let script = r#"let pm = ProcessManager();
let o = NamespaceOptions().net(true).pid(PID).build();
let got = "";
try {
    got = pm.nsenter(o, || "entered");
} catch (e) {
    got = `${e.kind}: ${e.message}`;
}
got"#;
    // `/proc/self` belongs to the process's effective user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    if root {
        let doc = run_child(policy, Some("network_namespace"), "off", script);
        assert_eq!(output(&doc), "entered", "the hook opens no hole");
    }
    let doc = run_child(policy, None, "required", script);
    let out = output(&doc);
    assert!(
        out.contains("process_system::Action::\"network_namespace\"") && !out.contains(EPERM),
        "the SDK should refuse on its own: {out}"
    );
    let doc = run_child(policy, Some("network_namespace"), "required", script);
    let out = output(&doc);
    assert!(out.contains(EPERM), "not refused by seccomp: {out}");
    let logs = logs(&doc);
    assert!(
        logs.contains("sandbox: seccomp on") && logs.contains("setns"),
        "{logs}"
    );
}

// ---------------------------------------------------------------- child side

fn child() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let policies = Policies::from_text("bypass.cedar", &var("POLICY")).unwrap();
    let mut builder = Gate::builder().principal("bypass");
    if let Ok(skip) = std::env::var("SKIP") {
        let action: Action = match skip.as_str() {
            "create" => fs::CREATE,
            "network_namespace" => process::NETWORK_NAMESPACE,
            other => panic!("unknown action `{other}`"),
        };
        builder = builder.skip_check_for_tests(action);
    }
    let gate = builder.build(policies).unwrap();
    let script = var("SCRIPT").replace("PID", &std::process::id().to_string());
    let mut prepared = Prepared {
        gate: Arc::new(gate),
        request: RunRequest::new("bypass.rhai", script),
        script_thread: None,
    };
    let inputs = Inputs {
        sandbox: var("MODE").parse::<SandboxMode>().unwrap(),
        ..Inputs::new("bypass.rhai")
    };
    if let Err(fatal) = apply_sandbox(&mut prepared, &inputs) {
        panic!("sandbox: {}", fatal.message);
    }
    let outcome = run(prepared);
    print!("{}", outcome.document.to_json());
}
