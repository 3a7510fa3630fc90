#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! `run_script`'s runner with real child processes: a stand-in `rex` (a shell script that
//! behaves like `rex run -o json`: writes decision records for its `--job-id` to its
//! `--audit-log` and prints a document) checks what the runner passes and how it reads a
//! job's denials back. The real binary is driven end to end in rex-cli's `tests/mcp.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rex_mcp::AgentIdentity;
use rex_mcp::runner::{Runner, RunnerConfig};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    identity: AgentIdentity,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let policy = root.join("agent.cedar");
    std::fs::write(
        &policy,
        format!(
            "permit (principal == User::\"agent\", action == file_system::Action::\"open\", resource == file_system::Dir::\"{}\");\n",
            root.display()
        ),
    )
    .unwrap();
    let identity = AgentIdentity::load("agent", &policy).unwrap();
    Fixture {
        _dir: dir,
        root,
        identity,
    }
}

/// A stand-in `rex`: records its arguments in `args.txt`, appends to its `--audit-log` a
/// caught denial, an uncaught one (line 3) and a record of another job, and prints an
/// ACCESS_DENIED document (exit 3).
fn denying_rex(root: &Path) -> PathBuf {
    let secret = root.join("secret.txt");
    let body = format!(
        r#"#!/bin/sh
echo "$@" > {root}/args.txt
job=""; log=""
while [ $# -gt 0 ]; do
  case "$1" in
    --job-id) job="$2"; shift ;;
    --audit-log) log="$2"; shift ;;
  esac
  shift
done
rec() {{
  printf '{{"v":1,"time":"t","principal":"agent","action":"file_system::Action::\\"%s\\"","resource":"file_system::File::\\"%s\\"","decision":"%s","enforced":true,"reason":"%s","policies":[],"script":{{"file":"s","line":%s,"column":9}},"job":"%s"}}\n' "$1" "$2" "$3" "$4" "$5" "$6" >> "$log"
}}
rec open {root}/caught.txt deny no_permit 1 "$job"
rec open {root}/other-job.txt deny no_permit 2 other-job
rec open {secret} deny no_permit 3 "$job"
printf '{{"output":"","status":"ERROR","error":{{"error_type":"ACCESS_DENIED_EXCEPTION","message":"denied"}},"logs":[]}}'
exit 3
"#,
        root = root.display(),
        secret = secret.display()
    );
    let path = root.join("fake-rex");
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn config(bin: PathBuf) -> RunnerConfig {
    let mut c = RunnerConfig::new(bin);
    c.sandbox = "off".into();
    c.max_timeout = Duration::from_secs(10);
    c
}

#[tokio::test]
async fn an_uncaught_denial_is_explained_from_the_jobs_own_records() {
    let f = fixture();
    let runner = Runner::new(config(denying_rex(&f.root)));
    let result = runner.run(&f.identity, "cat(x)", None, None).await;
    let doc = &result.structured;
    assert!(result.is_error);
    assert_eq!(doc["error"]["error_type"], "ACCESS_DENIED_EXCEPTION");
    assert_eq!(doc["job_state"], "denied");
    let secret = f.root.join("secret.txt");
    let denial = &doc["denial"];
    assert_eq!(
        denial["resource"],
        format!("file_system::File::\"{}\"", secret.display())
    );
    assert_eq!(denial["reason"], "no_permit");
    assert_eq!(denial["line"], 3);
    assert_eq!(denial["principal"], "agent");
    assert_eq!(
        denial["suggested_permit"],
        format!(
            "permit (principal == User::\"agent\", action == file_system::Action::\"open\", resource == file_system::File::\"{}\");",
            secret.display()
        )
    );
    assert!(
        denial["explanation"]
            .as_str()
            .unwrap()
            .contains("to allow exactly this request")
    );
    // The caught denial is listed too; the other job's record is not.
    let listed: Vec<&str> = doc["denied_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["resource"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].ends_with("caught.txt\""));
    assert!(result.summary.contains("to allow exactly this request"));
    // The child was given the fixed identity, never anything from the call.
    let args = std::fs::read_to_string(f.root.join("args.txt")).unwrap();
    assert!(args.contains("--principal agent"), "{args}");
    assert!(args.contains(&format!("-p {}", f.root.join("agent.cedar").display())));
    assert!(args.contains("--sandbox off"), "{args}");
}

#[tokio::test]
async fn the_operators_log_keeps_every_record_and_old_lines_are_not_reread() {
    let f = fixture();
    let log = f.root.join("operator.jsonl");
    // An earlier denial with the same shape (another job) is already in the log.
    std::fs::write(
        &log,
        "{\"v\":1,\"principal\":\"agent\",\"action\":\"file_system::Action::\\\"open\\\"\",\"resource\":\"file_system::File::\\\"/old\\\"\",\"decision\":\"deny\",\"enforced\":true,\"reason\":\"no_permit\",\"policies\":[],\"job\":\"mcp-old\"}\n",
    )
    .unwrap();
    let mut c = config(denying_rex(&f.root));
    c.audit_log = Some(log.clone());
    let runner = Runner::new(c);
    let result = runner.run(&f.identity, "cat(x)", None, None).await;
    let job = result.structured["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        result.structured["denied_requests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(text.matches(&format!("\"job\":\"{job}\"")).count(), 2);
    // Two runs get two job ids.
    let again = runner.run(&f.identity, "cat(x)", None, None).await;
    assert_ne!(again.structured["job_id"].as_str().unwrap(), job);
}

#[tokio::test]
async fn the_timeout_is_capped_and_bad_requests_run_nothing() {
    let f = fixture();
    let mut c = config(denying_rex(&f.root));
    c.max_timeout = Duration::from_secs(2);
    let runner = Runner::new(c);
    runner.run(&f.identity, "1", None, Some(1000.0)).await;
    let args = std::fs::read_to_string(f.root.join("args.txt")).unwrap();
    assert!(args.contains("--timeout 2 "), "{args}");
    runner.run(&f.identity, "1", None, Some(0.5)).await;
    let args = std::fs::read_to_string(f.root.join("args.txt")).unwrap();
    assert!(args.contains("--timeout 0.5 "), "{args}");

    std::fs::remove_file(f.root.join("args.txt")).unwrap();
    for (timeout, args) in [
        (Some(-1.0), None),
        (Some(f64::NAN), None),
        (None, Some(serde_json::json!(["not", "an", "object"]))),
    ] {
        let r = runner.run(&f.identity, "1", args, timeout).await;
        assert!(r.is_error);
        assert_eq!(r.structured["error"]["error_type"], "VALIDATION_EXCEPTION");
    }
    assert!(
        !f.root.join("args.txt").exists(),
        "a refused request started a child"
    );
}

#[tokio::test]
async fn a_successful_document_is_returned_as_is() {
    let f = fixture();
    let bin = f.root.join("ok-rex");
    std::fs::write(
        &bin,
        "#!/bin/sh\nprintf '{\"output\":\"42\",\"status\":\"SUCCESS\",\"logs\":[]}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runner = Runner::new(config(bin));
    let r = runner
        .run(
            &f.identity,
            "40 + 2",
            Some(serde_json::json!({"n": {"longValue": 1}})),
            None,
        )
        .await;
    assert!(!r.is_error);
    assert_eq!(r.structured["output"], "42");
    assert_eq!(r.structured["job_state"], "succeeded");
    assert!(r.structured.get("denial").is_none());
    assert_eq!(r.summary, "SUCCESS\noutput:\n42");
}
