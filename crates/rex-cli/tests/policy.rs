#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! `rex policy check | fmt | explain | learn` against the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const REX: &str = env!("CARGO_BIN_EXE_rex");

fn rex(args: &[&str]) -> Output {
    Command::new(REX).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Dir {
    _t: tempfile::TempDir,
    path: PathBuf,
}

impl Dir {
    fn new() -> Self {
        let t = tempfile::tempdir().unwrap();
        let path = std::fs::canonicalize(t.path()).unwrap();
        Self { _t: t, path }
    }
    fn p(&self, rel: &str) -> String {
        self.path.join(rel).to_str().unwrap().to_owned()
    }
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.p(rel);
        std::fs::create_dir_all(Path::new(&p).parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// Splits learned policy text into its permits (each `permit (...);` with its comments).
fn permits(text: &str) -> Vec<String> {
    text.split("\npermit")
        .skip(1)
        .map(|p| format!("permit{}", p.split(");").next().unwrap()) + ");")
        .collect()
}

#[test]
fn learned_policy_runs_the_script_and_every_permit_is_needed() {
    let d = Dir::new();
    let root = d.path.display().to_string();
    d.write("data/app.log", "ok\nERROR disk\nok\nERROR net\n");
    // A script the learner has never seen: read, count, write a report, list, make a dir.
    let script = d.write(
        "s.rhai",
        &format!(
            r#"let log = cat("{root}/data/app.log");
let errors = log.split("\n").filter(|l| l.starts_with("ERROR")).len();
mkdir([mkdir::parents], "{root}/out/reports");
write([write::replace], "{root}/out/reports/summary.txt", `errors=${{errors}}`);
let n = ls("{root}/data").len();
`${{errors}} ${{n}}`"#
        ),
    );
    let learned = d.p("learned.cedar");
    let o = rex(&[
        "policy",
        "learn",
        &script,
        "-o",
        &learned,
        "--principal",
        "alice",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&learned).unwrap();
    assert!(text.contains("// needed by script line"), "{text}");
    assert!(!text.contains('*'), "no wildcards invented");

    // Fresh state, then the learned policy alone lets the script succeed.
    std::fs::remove_dir_all(d.p("out")).unwrap();
    let o = rex(&["run", &script, "-p", &learned, "--principal", "alice"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2 1\n");

    // Removing any one permit makes it fail with ACCESS_DENIED.
    let all = permits(&text);
    assert!(all.len() >= 4, "{text}");
    for (i, _) in all.iter().enumerate() {
        let _ = std::fs::remove_dir_all(d.p("out"));
        let without: String = all
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| format!("{p}\n"))
            .collect();
        let p = d.write("without.cedar", &without);
        let o = rex(&[
            "run",
            &script,
            "-p",
            &p,
            "--principal",
            "alice",
            "-o",
            "json",
        ]);
        assert_eq!(
            o.status.code(),
            Some(3),
            "permit {i} removed:\n{}\n{}",
            all[i],
            stdout(&o)
        );
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION");
    }
}

#[test]
fn read_only_learning_changes_nothing_and_lists_what_it_refused() {
    let d = Dir::new();
    let target = d.p("new.txt");
    let script = d.write(
        "s.rhai",
        &format!(
            "let x = ls(\"{}\").len();\nwrite(\"{target}\", \"hi\");\nx",
            d.path.display()
        ),
    );
    let o = rex(&[
        "policy",
        "learn",
        &script,
        "--read-only",
        "--principal",
        "bob",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !Path::new(&target).exists(),
        "read-only learning must not create files"
    );
    let text = stdout(&o);
    assert!(text.contains("Read-only learning refused"), "{text}");
    assert!(
        text.contains(&format!(
            r#"file_system::Action::"create" on file_system::File::"{target}" (line 2)"#
        )),
        "{text}"
    );
    assert!(stderr(&o).contains("refused while learning read-only"));
}

#[test]
fn learning_from_an_audit_log_matches_the_requests() {
    let d = Dir::new();
    let f = d.write("a.txt", "x");
    let script = d.write("s.rhai", &format!("cat(\"{f}\")"));
    let log = d.p("audit.jsonl");
    let broad = d.write("p.cedar", "permit(principal, action, resource);");
    let o = rex(&[
        "run",
        &script,
        "-p",
        &broad,
        "--audit-log",
        &log,
        "--principal",
        "carol",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let learned = d.p("learned.cedar");
    let o = rex(&[
        "policy",
        "learn",
        "--from",
        &log,
        "-o",
        &learned,
        "--principal",
        "carol",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = rex(&["run", &script, "-p", &learned, "--principal", "carol"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "x\n");
    let bad = d.write("bad.jsonl", "{\"v\":1}\n");
    assert_eq!(
        rex(&["policy", "learn", "--from", &bad]).status.code(),
        Some(4)
    );
}

/// Equivalents of the original REX's shipped example policies (spec §7).
#[test]
fn check_reports_what_a_reviewer_would_in_the_originals_policies() {
    let d = Dir::new();
    // The registrar's policy: a `Rex::` namespace that does not exist (parses, never matched).
    let registrar = d.write(
        "registrar.cedar",
        "permit(\n  principal,\n  action == Rex::Action::\"read\",\n  resource\n);",
    );
    let o = rex(&["policy", "check", &registrar]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("registrar.cedar:3:"), "{}", stderr(&o));
    // Entity compared with a string inside `when` (parses, never matched in the original).
    let when = d.write(
        "sysinfo.cedar",
        "permit(principal, action == file_system::Action::\"read\", resource)\nwhen { resource == \"/proc/meminfo\" };",
    );
    let o = rex(&["policy", "check", &when]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("sysinfo.cedar:2:"), "{}", stderr(&o));
    // A string literal in the scope, and the `{{username}}` placeholder: syntax errors.
    let scope = d.write(
        "disk.cedar",
        "permit(principal, action, resource == \"/proc/mounts\");",
    );
    assert_eq!(rex(&["policy", "check", &scope]).status.code(), Some(4));
    let placeholder = d.write(
        "dev.cedar",
        "permit(principal == User::\"{{username}}\", action, resource)\n  when { {{username}} };",
    );
    assert_eq!(
        rex(&["policy", "check", &placeholder]).status.code(),
        Some(4)
    );
    // The demo's readonly/readwrite policies are valid; readwrite's broad `chmod`... is fine
    // (it is scoped); a permit with no resource constraint on a mutating action warns.
    let readonly = d.write(
        "readonly.cedar",
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\", file_system::Action::\"stat\"], resource in file_system::Dir::\"/tmp/rex_example\");",
    );
    let o = rex(&["policy", "check", &readonly]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("1 policy valid against the rex schema, 0 warnings"),
        "{}",
        stdout(&o)
    );
    let broad = d.write(
        "broad.cedar",
        "permit(principal, action == file_system::Action::\"read\", resource);\npermit(principal, action in file_system::Action::\"SafeIO\", resource);",
    );
    let o = rex(&["policy", "check", &broad]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("broad.cedar:2:1: permit `policy1` has no resource constraint"),
        "{err}"
    );
    assert!(
        !err.contains("policy0"),
        "read-only permits are not flagged: {err}"
    );
    assert_eq!(
        rex(&["policy", "check", "--deny-warnings", &broad])
            .status
            .code(),
        Some(4)
    );
}

#[test]
fn explain_allow_deny_and_forbid() {
    let d = Dir::new();
    let p = d.write(
        "p.cedar",
        "@id(\"logs\")\npermit(principal, action == file_system::Action::\"read\", resource in file_system::Dir::\"/var/log\");\n@id(\"no-auth\")\nforbid(principal, action, resource == file_system::File::\"/var/log/auth.log\");",
    );
    let o = rex(&[
        "policy",
        "explain",
        "-p",
        &p,
        "--principal",
        "alice",
        "--action",
        "file_system::read",
        "--resource",
        r#"file_system::File::"/var/log/app/x.log""#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("permitted by `logs`"), "{}", stdout(&o));
    let o = rex(&[
        "policy",
        "explain",
        "-p",
        &p,
        "--principal",
        "alice",
        "--action",
        r#"file_system::Action::"write""#,
        "--resource",
        r#"file_system::File::"/var/log/x""#,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stdout(&o).contains(r#"permit (principal == User::"alice", action == file_system::Action::"write", resource == file_system::File::"/var/log/x");"#), "{}", stdout(&o));
    let o = rex(&[
        "policy",
        "explain",
        "-p",
        &p,
        "--principal",
        "alice",
        "--action",
        "file_system::read",
        "--resource",
        r#"file_system::File::"/var/log/auth.log""#,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stdout(&o).contains("forbidden by `no-auth`"),
        "{}",
        stdout(&o)
    );
    let o = rex(&[
        "policy",
        "explain",
        "-p",
        &p,
        "--principal",
        "alice",
        "--action",
        "file_system::opne",
        "--resource",
        r#"file_system::File::"/x""#,
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("unknown action `file_system::opne`"));
    let o = rex(&[
        "policy",
        "explain",
        "-p",
        &p,
        "--principal",
        "alice",
        "--action",
        "file_system::read",
        "--resource",
        r#"file_system::File::"/var/log/../x""#,
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "non-canonical paths are refused: {}",
        stderr(&o)
    );
}

#[test]
fn fmt_formats_and_check_reports() {
    let d = Dir::new();
    let p = d.write("p.cedar", "permit(principal,action==file_system::Action::\"read\",resource in file_system::Dir::\"/tmp\");");
    assert_eq!(
        rex(&["policy", "fmt", "--check", &p]).status.code(),
        Some(1)
    );
    assert_eq!(rex(&["policy", "fmt", &p]).status.code(), Some(0));
    let formatted = std::fs::read_to_string(&p).unwrap();
    assert!(
        formatted.contains("action == file_system::Action::\"read\""),
        "{formatted}"
    );
    assert_eq!(
        rex(&["policy", "fmt", "--check", &p]).status.code(),
        Some(0)
    );
    assert_eq!(rex(&["policy", "check", &p]).status.code(), Some(0));
}
