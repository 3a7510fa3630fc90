#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The sandbox choice in the decision log: one `run` record, before the script's first
//! decision, from the real `rex` and `rex-runner` binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const REX: &str = env!("CARGO_BIN_EXE_rex");
const RUNNER: &str = env!("CARGO_BIN_EXE_rex-runner");

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = std::fs::canonicalize(dir.path()).unwrap();
        Self { _dir: dir, path }
    }
    fn p(&self, rel: &str) -> String {
        self.path.join(rel).to_str().unwrap().to_owned()
    }
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.p(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// A script reading `data.txt` and a policy permitting exactly that.
    fn read_one_file(&self) -> (String, String) {
        let data = self.write("data.txt", "hello");
        let script = self.write("s.rhai", &format!("cat(\"{data}\")"));
        let policy = self.write(
            "p.cedar",
            &format!(
                "permit (principal, action in [file_system::Action::\"open\", \
                 file_system::Action::\"read\"], resource in file_system::Dir::\"{}\");",
                self.path.display()
            ),
        );
        (script, policy)
    }
}

fn log_lines(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run_rex(args: &[&str]) -> Value {
    let out = Command::new(REX).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn required_sandbox_is_recorded_before_the_first_decision() {
    let f = Fixture::new();
    let (script, policy) = f.read_one_file();
    let log = f.p("audit.jsonl");
    let doc = run_rex(&[
        "run",
        &script,
        "-p",
        &policy,
        "-o",
        "json",
        "--sandbox",
        "required",
        "--audit-log",
        &log,
        "--principal",
        "dora",
    ]);
    assert_eq!(doc["status"], "SUCCESS", "{doc}");
    assert_eq!(doc["output"], "hello");
    let lines = log_lines(&log);
    let run = &lines[0];
    assert_eq!(run["v"], 1);
    assert_eq!(run["event"], "run");
    assert_eq!(run["principal"], "dora");
    assert_eq!(run["mode"], "enforce");
    assert_eq!(run["script"], script.as_str());
    assert!(run["time"].as_str().unwrap().ends_with('Z'));
    let sandbox = &run["sandbox"];
    assert_eq!(sandbox["mode"], "required");
    assert_eq!(
        sandbox["landlock_abi"].as_i64(),
        rex_sandbox::landlock_abi().map(i64::from)
    );
    let enforced: Vec<&str> = sandbox["enforced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        enforced.iter().any(|e| e.starts_with("landlock full: ")),
        "{enforced:?}"
    );
    assert!(
        enforced.contains(&"landlock: TCP connect refused"),
        "{enforced:?}"
    );
    assert!(
        enforced
            .iter()
            .any(|e| e.starts_with("seccomp: ") && e.contains("ptrace") && e.contains("mount")),
        "{enforced:?}"
    );
    assert!(enforced.contains(&"no_new_privs"), "{enforced:?}");
    // The runner applies the sandbox while its schema thread may still run (a listed
    // helper): `required` accepted it, and nothing is reported as left outside Landlock.
    assert!(
        !sandbox["left_out"].to_string().contains("threads"),
        "{}",
        sandbox["left_out"]
    );
    assert!(
        enforced.iter().any(|e| e.starts_with("limits: ")),
        "{enforced:?}"
    );
    assert!(sandbox["left_out"].is_array());
    // The decisions follow, unchanged: no `event` field.
    assert!(lines.len() >= 3, "{lines:?}");
    for d in &lines[1..] {
        assert!(d.get("event").is_none(), "{d}");
        assert_eq!(d["decision"], "allow", "{d}");
        assert_eq!(d["principal"], "dora");
    }
    assert_eq!(lines.iter().filter(|l| l["event"] == "run").count(), 1);
}

#[test]
fn auto_records_what_was_left_out_and_off_records_that_nothing_was_enforced() {
    let f = Fixture::new();
    let data = f.write("data.txt", "x");
    let script = f.write("s.rhai", &format!("cat(\"{data}\")"));
    // No resource constraint: reading is left unrestricted by Landlock, and noted.
    let policy = f.write(
        "p.cedar",
        "@id(\"read-all\")\npermit (principal, action in [file_system::Action::\"open\", \
         file_system::Action::\"read\"], resource);",
    );
    let log = f.p("auto.jsonl");
    let doc = run_rex(&[
        "run",
        &script,
        "-p",
        &policy,
        "-o",
        "json",
        "--sandbox",
        "auto",
        "--audit-log",
        &log,
    ]);
    assert_eq!(doc["status"], "SUCCESS", "{doc}");
    let run = &log_lines(&log)[0];
    assert_eq!(run["sandbox"]["mode"], "auto");
    let left_out = run["sandbox"]["left_out"].as_array().unwrap();
    assert!(
        left_out.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.contains("read-all") && n.contains("left unrestricted")
        }),
        "{left_out:?}"
    );

    let log = f.p("off.jsonl");
    run_rex(&[
        "run",
        &script,
        "-p",
        &policy,
        "-o",
        "json",
        "--sandbox",
        "off",
        "--audit-log",
        &log,
    ]);
    let lines = log_lines(&log);
    let run = &lines[0];
    assert_eq!(run["event"], "run");
    assert_eq!(run["sandbox"]["mode"], "off");
    assert!(run["sandbox"].get("landlock_abi").is_none());
    assert_eq!(run["sandbox"]["enforced"], Value::Array(vec![]));
    assert_eq!(
        lines.len(),
        4,
        "run record, open dir, open file, read: {lines:?}"
    );
}

/// `rex-runner` on `script` under `policy` with the decision log `log` and the sandbox
/// required.
fn runner_required(script: &str, policy: &str, log: &str) -> Command {
    let mut cmd = Command::new(RUNNER);
    cmd.args([
        "--script-file",
        script,
        "--policy-file",
        policy,
        "--audit-log",
        log,
        "--sandbox",
        "required",
    ]);
    cmd
}

#[test]
fn rex_runner_writes_the_run_record_and_learning_skips_it() {
    let f = Fixture::new();
    let (script, policy) = f.read_one_file();
    let log = f.p("runner.jsonl");
    let out = runner_required(&script, &policy, &log).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines = log_lines(&log);
    assert_eq!(lines[0]["event"], "run");
    assert_eq!(lines[0]["sandbox"]["mode"], "required");
    // `rex policy learn --from` reads the decisions and ignores the run record.
    let learned = f.p("learned.cedar");
    let out = Command::new(REX)
        .args(["policy", "learn", "--from", &log, "-o", &learned])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&learned).unwrap();
    assert!(text.contains("file_system::Action::\"read\""), "{text}");
    assert!(Path::new(&learned).exists());
}

#[test]
fn a_run_record_that_cannot_be_written_refuses_the_run() {
    // `/dev/full` opens for appending but every write fails (ENOSPC): the script, which
    // makes no request at all, must not start without its run record.
    let f = Fixture::new();
    let script = f.write("s.rhai", "40 + 2");
    let out = Command::new(REX)
        .args([
            "run",
            &script,
            "--sandbox",
            "off",
            "--audit-log",
            "/dev/full",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    // 4: invalid input (the run could not start).
    assert_eq!(out.status.code(), Some(4));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "ERROR");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("run record") && message.contains("/dev/full"),
        "{message}"
    );
    assert_ne!(doc["output"], "42");
}

/// The runner opens the decision log after applying the sandbox: a log named relative to
/// the working directory (`audit.jsonl`, whose parent is the empty path) and one in a
/// subdirectory are both writable under `required`, and get the run record and decisions.
#[test]
fn relative_audit_log_paths_open_under_the_sandbox() {
    let f = Fixture::new();
    let (script, policy) = f.read_one_file();
    std::fs::create_dir(f.p("logs")).unwrap();
    for log in ["audit.jsonl", "logs/audit.jsonl", "./logs/../audit2.jsonl"] {
        let out = runner_required(&script, &policy, log)
            .current_dir(&f.path)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["status"], "SUCCESS", "{log}: {doc}");
        let lines = log_lines(&f.p(log));
        assert_eq!(lines[0]["event"], "run", "{log}");
        assert!(lines.len() >= 3, "{log}: {lines:?}");
    }
}
