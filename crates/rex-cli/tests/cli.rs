#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The real `rex-runner` and `rex` binaries: contract, exit codes, quick start, denials.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const RUNNER: &str = env!("CARGO_BIN_EXE_rex-runner");
const REX: &str = env!("CARGO_BIN_EXE_rex");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quickstart(file: &str) -> String {
    repo()
        .join("examples/quickstart")
        .join(file)
        .to_str()
        .unwrap()
        .to_owned()
}

fn exec(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A temp dir with canonical path (so policies can name it) and helpers to write files.
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
        if let Some(parent) = Path::new(&p).parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

#[test]
fn quickstart_prints_hello_and_json_reports_success() {
    let (s, p, a) = (
        quickstart("hello.rhai"),
        quickstart("policy.cedar"),
        quickstart("args.json"),
    );
    let out = exec(RUNNER, &["-s", &s, "-p", &p, "-a", &a, "-o", "human"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello from REX!\n");

    let out = exec(RUNNER, &["-s", &s, "-p", &p, "-a", &a, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.ends_with(b"\n"), "no trailing newline");
    let doc = json(&out);
    assert_eq!(doc["status"], "SUCCESS");
    assert_eq!(doc["output"], "Hello from REX!");
    assert!(doc.get("error").is_none());
    assert_eq!(doc["logs"][0]["attributes"]["level"], "INFO");
}

#[test]
fn quickstart_denial_keeps_runner_contract_and_rex_run_exits_3() {
    let (s, p, a) = (
        quickstart("hello.rhai"),
        quickstart("policy-no-read.cedar"),
        quickstart("args.json"),
    );
    let out = exec(RUNNER, &["-s", &s, "-p", &p, "-a", &a, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["status"], "ERROR");
    assert_eq!(doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION");
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(msg.contains(r#"unauthorized to perform file_system::Action::"read" for file_system::File::"/tmp/rex-quickstart.txt""#), "{msg}");
    assert!(
        doc["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alarm_type"] == "RexRunnerPrivilegeEscalation")
    );

    let out = exec(REX, &["run", &s, "-p", &p, "-a", &a]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("to allow exactly this request, add:"), "{err}");
    assert!(err.contains(r#"action == file_system::Action::"read", resource == file_system::File::"/tmp/rex-quickstart.txt");"#), "{err}");
}

#[test]
fn forbid_is_not_sidestepped_by_spelling_or_symlinks() {
    let f = Fixture::new();
    f.write("d/secret", "top secret");
    f.write("d/x/keep", "");
    std::os::unix::fs::symlink(f.p("d/secret"), f.p("d/link")).unwrap();
    std::os::unix::fs::symlink(f.p("d"), f.p("alias")).unwrap();
    let policy = f.write(
        "p.cedar",
        &format!(
            "permit(principal, action, resource in file_system::Dir::\"{root}\");\nforbid(principal, action, resource == file_system::File::\"{root}/d/secret\");",
            root = f.path.display()
        ),
    );
    let root = f.path.display().to_string();
    for spelling in [
        "d/secret",
        "d//secret",
        "d/./secret",
        "d/x/../secret",
        "d/link",
        "alias/secret",
    ] {
        let script = f.write("s.rhai", &format!(r#"cat("{root}/{spelling}")"#));
        let out = exec(RUNNER, &["-s", &script, "-p", &policy]);
        let doc = json(&out);
        assert_eq!(
            doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION",
            "{spelling}: {doc}"
        );
        let msg = doc["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!(r#"file_system::File::"{root}/d/secret""#)),
            "{spelling}: {msg}"
        );
        assert!(
            msg.contains("forbidden by `policy1` (p.cedar:2:1)")
                || msg.contains("forbidden by `policy1`"),
            "{msg}"
        );
    }
    // The object API with a non-canonical directory path is stopped too.
    let script = f.write(
        "s.rhai",
        &format!(r#"DirConfig().path("{root}/d//").build().open(OpenDirOptions().build()).open_file("secret", OpenFileOptions().read(true).build()).read()"#),
    );
    let doc = json(&exec(RUNNER, &["-s", &script, "-p", &policy]));
    assert_eq!(
        doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION",
        "{doc}"
    );
}

#[test]
fn caught_denial_is_counted_and_audited() {
    let f = Fixture::new();
    let log = f.p("audit.jsonl");
    let script = f.write(
        "s.rhai",
        "let r = \"\";\ntry { cat(\"/etc/hostname\"); } catch (e) { r = e.kind; }\nr",
    );
    let policy = f.write("p.cedar", "");
    let out = exec(
        REX,
        &[
            "run",
            &script,
            "-p",
            &policy,
            "-o",
            "json",
            "--audit-log",
            &log,
            "--principal",
            "carol",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["status"], "SUCCESS");
    assert_eq!(doc["output"], "PermissionDenied");
    let denied = doc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric_name"] == "RexRunnerAuthorizationDeniedCount")
        .expect("denied metric");
    assert_eq!(denied["metric_value"], 1.0);
    // The run record (tested in sandbox_audit.rs) first, then the one decision.
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event"], "run");
    let lines = &lines[1..];
    assert!(lines[0].get("event").is_none());
    assert_eq!(lines[0]["decision"], "deny");
    assert_eq!(lines[0]["principal"], "carol");
    assert_eq!(lines[0]["resource"], r#"file_system::Dir::"/etc""#);
    assert_eq!(lines[0]["script"]["line"], 2);
}

#[test]
fn misspelled_action_is_rejected_at_load_with_position() {
    let f = Fixture::new();
    let policy = f.write(
        "bad.cedar",
        "permit(principal, action, resource);\npermit(\n  principal,\n  action == file_system::Action::\"opne\",\n  resource\n);",
    );
    let script = f.write("s.rhai", "1");
    let out = exec(RUNNER, &["-s", &script, "-p", &policy, "-o", "human"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out); // fatal paths are compact JSON whatever the format
    assert_eq!(doc["error"]["error_type"], "INTERNAL_EXCEPTION");
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(msg.contains("bad.cedar:4:"), "{msg}");
    assert!(msg.contains("opne"), "{msg}");
    assert!(doc.get("logs").is_none());

    let out = exec(REX, &["run", &script, "-p", &policy]);
    assert_eq!(out.status.code(), Some(4));
    let out = exec(REX, &["check", &script, "-p", &policy]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.cedar:4:"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn check_reports_script_and_policy_problems_without_running() {
    let f = Fixture::new();
    let marker = f.p("ran");
    let good = f.write("ok.rhai", &format!(r#"touch("{marker}")"#));
    let policy = f.write("p.cedar", "permit(principal, action, resource);");
    let out = exec(REX, &["check", &good, "-p", &policy]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    assert!(
        !Path::new(&marker).exists(),
        "check must not run the script"
    );

    let bad = f.write("bad.rhai", "let x = ;");
    let bad_policy = f.write(
        "bad.cedar",
        "permit(principal, action == sysinfo::Action::\"lst\", resource);",
    );
    let out = exec(REX, &["check", &bad, "-p", &bad_policy]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.cedar:1:") && err.contains("bad.rhai:1:"),
        "{err}"
    );
    assert!(err.contains("2 problems found"), "{err}");
}

#[test]
fn runner_exit_codes_for_inputs_and_usage() {
    let f = Fixture::new();
    let script = f.write("s.rhai", "name");
    let policy = f.write("p.cedar", "");
    // Missing flags / unknown flag / bad enum: clap usage, exit 2.
    assert_eq!(exec(RUNNER, &["-s", &script]).status.code(), Some(2));
    assert_eq!(
        exec(RUNNER, &["-s", &script, "-p", &policy, "--bogus"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        exec(RUNNER, &["-s", &script, "-p", &policy, "-o", "xml"])
            .status
            .code(),
        Some(2)
    );
    // Unreadable or malformed input: exit 1, COMMUNICATION_EXCEPTION.
    for args in [
        "[]",
        r#"{"name":"plain"}"#,
        r#"{"n":{"integerValue":3000000000}}"#,
    ] {
        let a = f.write("a.json", args);
        let out = exec(RUNNER, &["-s", &script, "-p", &policy, "-a", &a]);
        assert_eq!(out.status.code(), Some(1), "{args}");
        let doc = json(&out);
        assert_eq!(
            doc["error"]["error_type"], "COMMUNICATION_EXCEPTION",
            "{args}"
        );
        assert!(
            doc["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Failed to load input files: Failed to parse script arguments JSON: ")
        );
    }
    let missing = f.p("missing.rhai");
    assert_eq!(
        json(&exec(RUNNER, &["-s", &missing, "-p", &policy]))["error"]["error_type"],
        "COMMUNICATION_EXCEPTION"
    );
    // Too deep: exit 1, VALIDATION_EXCEPTION with alarm.
    let a = f.write(
        "a.json",
        r#"{"deep":{"listValue":[{"listValue":[{"longValue":1}]}]}}"#,
    );
    let out = exec(RUNNER, &["-s", &script, "-p", &policy, "-a", &a]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["error"]["error_type"], "VALIDATION_EXCEPTION");
    assert_eq!(
        doc["alarms"][0]["alarm_type"],
        "RexRunnerScriptArgumentValidationFailure"
    );
    // Arguments echo; a script error is exit 0 with SCRIPT_EXCEPTION.
    let a = f.write("a.json", r#"{"name":{"stringValue":"Alice"}}"#);
    assert_eq!(
        json(&exec(RUNNER, &["-s", &script, "-p", &policy, "-a", &a]))["output"],
        "Alice"
    );
    let out = exec(RUNNER, &["-s", &script, "-p", &policy]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["error"]["error_type"], "SCRIPT_EXCEPTION");
    // rex run: script error 1, usage 2, invalid input 4.
    assert_eq!(
        exec(REX, &["run", &script, "-p", &policy]).status.code(),
        Some(1)
    );
    assert_eq!(
        exec(REX, &["run", &script, "--mode", "sideways"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(exec(REX, &["run", &missing]).status.code(), Some(4));
}

#[test]
fn human_format_prints_errors_on_stderr_and_verbose_logs() {
    let f = Fixture::new();
    let policy = f.write("p.cedar", "");
    let script = f.write("s.rhai", "info(\"hi\");\nthrow \"boom\";");
    let out = exec(RUNNER, &["-s", &script, "-p", &policy, "-o", "human", "-v"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The kernel backstop's report (default `--sandbox auto`) comes first, then the script's.
    assert!(
        stdout.starts_with("[INFO] sandbox: mode auto\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\n[INFO] hi\n"), "{stdout}");
    assert!(stdout.contains("--- metrics ---\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: Runtime error: boom"));
    let out = exec(RUNNER, &["-s", &script, "-p", &policy, "-o", "pretty-json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n  \"status\": \"ERROR\""));
}

#[test]
fn timeout_flag_stops_an_endless_script() {
    let f = Fixture::new();
    let script = f.write("s.rhai", "loop {}");
    let started = std::time::Instant::now();
    let out = exec(REX, &["run", &script, "--timeout", "0.5", "-o", "json"]);
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Script terminated: wall-clock deadline")
    );
}

#[test]
fn version_and_function_listing() {
    let out = exec(RUNNER, &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = exec(RUNNER, &["--print-functions"]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("| `cat` |")
            && table.contains(r#"`file_system::Action::"read"` → `file_system::File`"#),
        "{table}"
    );
    let out = exec(REX, &["functions", "--format", "json"]);
    let list = json(&out);
    let cat = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "cat")
        .unwrap();
    assert!(
        cat["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["action"] == r#"file_system::Action::"read""#)
    );
}
