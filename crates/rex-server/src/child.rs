//! The shared job runner: one `rex run` child process per job.
//!
//! Used by `rex serve` (HTTP jobs) and `rex mcp` (agent tool calls). A job's script and
//! arguments are written to a private temporary directory (mode 0700), and
//! `<rex> run SCRIPT -p POLICY -a ARGS --principal P --job-id ID --sandbox S --timeout T
//! --max-memory M -o json` is started with a cleared environment, in its own process group,
//! so the whole group can be killed. What this module authorizes: nothing by itself. The
//! child's Gate decides every host operation with the operator's policy and principal that
//! the caller put in [`ChildJob`]; this module never lets a job choose them.
//!
//! Whatever happens to the child, [`run_child`] returns a REX output document: a child that
//! crashes, is killed at its deadline or output cap, or prints something that is not a
//! document yields an `ERROR` document saying so.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rex_engine::{ErrorType, OutputDocument};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// Time the child gets past its own deadline (the engine stops a script at `timeout` and
/// prints its document) before the whole process group is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// The only environment variable a child gets: a fixed `PATH` for the commands a policy
/// may let a script run. Nothing of the server's environment (tokens, cloud credentials)
/// reaches a job.
pub const CHILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One job to run. The server or MCP front door fills `policy` and `principal` from the
/// operator's configuration for the authenticated caller; they never come from the
/// request.
#[derive(Debug, Clone)]
pub struct ChildJob {
    /// Job id, written into every decision record (`job`). Letters, digits, `-` and `_`.
    pub job_id: String,
    /// The Rhai script source.
    pub script: String,
    /// Script arguments in the REX JSON format (an object), if any.
    pub arguments: Option<serde_json::Value>,
    /// The operator's Cedar policy file for this caller.
    pub policy: PathBuf,
    /// The Cedar principal name (`User::"<principal>"`).
    pub principal: String,
    /// Wall-clock limit; the engine stops the script at it, and the process group is
    /// killed at `timeout + KILL_GRACE`.
    pub timeout: Duration,
    /// Resident memory limit passed to the engine (`--max-memory`).
    pub max_memory_bytes: u64,
    /// Bytes of stdout (the document) and of stderr kept; a child printing more is killed.
    pub max_output_bytes: usize,
    /// Decision log (JSON Lines) the child appends to.
    pub audit_log: Option<PathBuf>,
    /// Kernel backstop: `off`, `auto` or `required`.
    pub sandbox: String,
}

impl ChildJob {
    /// A job with the defaults of `rex serve`: 30 s, 512 MiB, 1 MiB of output, no audit
    /// log, sandbox `auto`.
    pub fn new(
        job_id: impl Into<String>,
        script: impl Into<String>,
        policy: impl Into<PathBuf>,
        principal: impl Into<String>,
    ) -> Self {
        Self {
            job_id: job_id.into(),
            script: script.into(),
            arguments: None,
            policy: policy.into(),
            principal: principal.into(),
            timeout: Duration::from_secs(30),
            max_memory_bytes: 512 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            audit_log: None,
            sandbox: "auto".to_owned(),
        }
    }
}

/// How a job ended (or where it is, for the server's store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for a slot.
    Queued,
    /// Its child is running.
    Running,
    /// The script completed (`status: SUCCESS`).
    Succeeded,
    /// The script failed: runtime error, limit, deadline (exit 1).
    ScriptError,
    /// A policy refused a request the script did not catch (exit 3).
    Denied,
    /// The script, arguments or policy could not be loaded (exit 4).
    Invalid,
    /// The runner killed the child's process group.
    Killed {
        /// Why: deadline or output cap.
        reason: String,
    },
    /// The child died or misbehaved: a signal, an unexpected exit code, no document.
    Crashed {
        /// What happened.
        message: String,
    },
}

impl JobStatus {
    /// True once the job has ended.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }

    /// A short lowercase name (`succeeded`, `killed`, ...), for metrics and listings.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::ScriptError => "script_error",
            Self::Denied => "denied",
            Self::Invalid => "invalid",
            Self::Killed { .. } => "killed",
            Self::Crashed { .. } => "crashed",
        }
    }
}

/// What a finished job produced.
#[derive(Debug, Clone)]
pub struct ChildOutcome {
    /// The REX output document: the child's own, or an `ERROR` document made here.
    pub document: serde_json::Value,
    /// The child's stderr (sandbox notes, diagnostics), capped at `max_output_bytes`.
    pub logs: String,
    /// How it ended.
    pub status: JobStatus,
}

/// Runs `job` in a `rex run` child of `rex_bin` and waits for it. Never fails: every
/// failure becomes an `ERROR` document in the outcome.
pub async fn run_child(rex_bin: &Path, job: &ChildJob) -> ChildOutcome {
    run_child_streaming(rex_bin, job, None).await
}

/// [`run_child`], also sending each stderr line of the child to `lines` as it arrives
/// (for live log streaming).
pub async fn run_child_streaming(
    rex_bin: &Path,
    job: &ChildJob,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> ChildOutcome {
    if !valid_job_id(&job.job_id) {
        return error_outcome(
            ErrorType::ValidationException,
            format!("invalid job id `{}`", job.job_id),
            JobStatus::Invalid,
            String::new(),
        );
    }
    let dir = match tempfile::Builder::new().prefix("rex-job-").tempdir() {
        Ok(d) => d,
        Err(e) => return internal(format!("cannot create a job directory: {e}")),
    };
    let script_path = dir.path().join("script.rhai");
    if let Err(e) = tokio::fs::write(&script_path, job.script.as_bytes()).await {
        return internal(format!("cannot write `{}`: {e}", script_path.display()));
    }
    let mut cmd = Command::new(rex_bin);
    cmd.arg("run")
        .arg(&script_path)
        .arg("-p")
        .arg(&job.policy)
        .arg("--principal")
        .arg(&job.principal)
        .arg("--job-id")
        .arg(&job.job_id)
        .arg("--sandbox")
        .arg(&job.sandbox)
        .arg("--timeout")
        .arg(format!("{}", job.timeout.as_secs_f64().max(0.001)))
        .arg("--max-memory")
        .arg(job.max_memory_bytes.to_string())
        .arg("-o")
        .arg("json");
    if let Some(args) = &job.arguments {
        let args_path = dir.path().join("args.json");
        let text = serde_json::to_vec(args).unwrap_or_default();
        if let Err(e) = tokio::fs::write(&args_path, text).await {
            return internal(format!("cannot write `{}`: {e}", args_path.display()));
        }
        cmd.arg("-a").arg(args_path);
    }
    if let Some(log) = &job.audit_log {
        cmd.arg("--audit-log").arg(log);
    }
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return crashed(
                format!("cannot start `{}`: {e}", rex_bin.display()),
                String::new(),
            );
        }
    };
    let pgid = child.id().and_then(|id| {
        i32::try_from(id)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
    });
    let cap = job.max_output_bytes;
    let (overflow_tx, mut overflow_rx) = mpsc::channel::<&'static str>(2);
    let stdout = child.stdout.take().map(|out| {
        let tx = overflow_tx.clone();
        tokio::spawn(read_capped(out, cap, tx, "stdout"))
    });
    let stderr = child.stderr.take().map(|err| {
        let tx = overflow_tx.clone();
        tokio::spawn(read_lines_capped(err, cap, tx, lines))
    });
    drop(overflow_tx);
    let deadline = tokio::time::sleep(job.timeout + KILL_GRACE);
    tokio::pin!(deadline);
    let mut killed: Option<String> = None;
    let exit = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = &mut deadline, if killed.is_none() => {
                killed = Some(format!(
                    "exceeded its time limit of {}s",
                    job.timeout.as_secs_f64()
                ));
                kill_group(pgid);
            }
            Some(stream) = overflow_rx.recv(), if killed.is_none() => {
                killed = Some(format!("printed more than {cap} bytes on {stream}"));
                kill_group(pgid);
            }
        }
    };
    // Processes the script left behind in the group would hold the pipes open.
    kill_group(pgid);
    let stdout = join_reader(stdout).await;
    let logs = String::from_utf8_lossy(&join_reader(stderr).await).into_owned();
    drop(dir);
    if let Some(reason) = killed {
        return error_outcome(
            ErrorType::ScriptException,
            format!("job `{}` killed: {reason}", job.job_id),
            JobStatus::Killed { reason },
            logs,
        );
    }
    match exit {
        Ok(status) => classify(status, &stdout, logs),
        Err(e) => crashed(format!("cannot wait for the job's process: {e}"), logs),
    }
}

/// Sorts a finished child by exit code, keeping its document when it printed one.
fn classify(exit: ExitStatus, stdout: &[u8], logs: String) -> ChildOutcome {
    let document = parse_document(stdout);
    let Some(code) = exit.code() else {
        use std::os::unix::process::ExitStatusExt;
        let signal = exit.signal().unwrap_or(0);
        return crashed(format!("job process died from signal {signal}"), logs);
    };
    let status = match code {
        0 => JobStatus::Succeeded,
        1 => JobStatus::ScriptError,
        3 => JobStatus::Denied,
        4 => JobStatus::Invalid,
        other => {
            let first = logs.lines().next().unwrap_or("").to_owned();
            return crashed(
                format!("job process exited with code {other}: {first}"),
                logs,
            );
        }
    };
    match document {
        Some(document) => {
            let success = document.get("status").and_then(|s| s.as_str()) == Some("SUCCESS");
            let status = match (status, success) {
                (JobStatus::Succeeded, false) => JobStatus::ScriptError,
                (s, _) => s,
            };
            ChildOutcome {
                document,
                logs,
                status,
            }
        }
        None => crashed(
            format!("job process exited with code {code} without printing a REX document"),
            logs,
        ),
    }
}

/// The child's stdout as a REX document: one JSON object with a string `status`.
fn parse_document(stdout: &[u8]) -> Option<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    let status = value.get("status")?.as_str()?;
    (status == "SUCCESS" || status == "ERROR").then_some(value)
}

/// True for ids made of ASCII letters, digits, `-` and `_` (1 to 128 of them).
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An `ERROR` document of `error_type` with `message`, as JSON.
pub fn error_document(error_type: ErrorType, message: &str) -> serde_json::Value {
    serde_json::to_value(OutputDocument::fatal(error_type, message))
        .unwrap_or_else(|_| serde_json::json!({"output": "", "status": "ERROR"}))
}

fn error_outcome(
    error_type: ErrorType,
    message: String,
    status: JobStatus,
    logs: String,
) -> ChildOutcome {
    ChildOutcome {
        document: error_document(error_type, &message),
        logs,
        status,
    }
}

fn internal(message: String) -> ChildOutcome {
    crashed(message, String::new())
}

fn crashed(message: String, logs: String) -> ChildOutcome {
    error_outcome(
        ErrorType::InternalException,
        message.clone(),
        JobStatus::Crashed { message },
        logs,
    )
}

/// SIGKILL to the child's whole process group; a group already gone is fine.
fn kill_group(pgid: Option<rustix::process::Pid>) {
    if let Some(pgid) = pgid {
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
    }
}

async fn join_reader(task: Option<tokio::task::JoinHandle<Vec<u8>>>) -> Vec<u8> {
    let Some(task) = task else {
        return Vec::new();
    };
    // The group is dead, so the pipe closes; the timeout only guards against a grandchild
    // that escaped the group and kept the pipe.
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(bytes)) => bytes,
        _ => Vec::new(),
    }
}

/// Reads all of `r`, keeping at most `cap` bytes; reports once on `overflow` past it.
async fn read_capped<R: AsyncRead + Unpin>(
    mut r: R,
    cap: usize,
    overflow: mpsc::Sender<&'static str>,
    name: &'static str,
) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut reported = false;
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                if n > room && !reported {
                    reported = true;
                    let _ = overflow.send(name).await;
                }
            }
        }
    }
    kept
}

/// Reads `r` line by line, forwarding lines to `lines`, keeping at most `cap` bytes.
async fn read_lines_capped<R: AsyncRead + Unpin>(
    r: R,
    cap: usize,
    overflow: mpsc::Sender<&'static str>,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> Vec<u8> {
    let mut reader = BufReader::new(r);
    let mut kept = Vec::new();
    let mut line = Vec::new();
    let mut reported = false;
    loop {
        line.clear();
        // A line longer than the cap is cut by `take`, so memory stays bounded.
        let limit = u64::try_from(cap.saturating_add(1)).unwrap_or(u64::MAX);
        match (&mut reader).take(limit).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let room = cap.saturating_sub(kept.len());
                if line.len() > room {
                    kept.extend_from_slice(line.get(..room).unwrap_or_default());
                    if !reported {
                        reported = true;
                        let _ = overflow.send("stderr").await;
                    }
                } else {
                    kept.extend_from_slice(&line);
                    if let Some(tx) = &lines {
                        let text = String::from_utf8_lossy(&line);
                        let _ = tx.send(text.trim_end_matches('\n').to_owned());
                    }
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake `rex` binary: a shell script that ignores its arguments and runs `body`.
    fn fake_rex(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("fake-rex");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn job(timeout_ms: u64) -> ChildJob {
        let mut j = ChildJob::new("job-1", "42", "/nonexistent.cedar", "alice");
        j.timeout = Duration::from_millis(timeout_ms);
        j.max_output_bytes = 4096;
        j
    }

    fn error_type(doc: &serde_json::Value) -> &str {
        doc["error"]["error_type"].as_str().unwrap_or("")
    }

    #[tokio::test]
    async fn child_document_is_returned_with_its_exit_class() {
        let dir = tempfile::tempdir().unwrap();
        let bin = fake_rex(
            dir.path(),
            r#"printf '{"output":"","status":"ERROR","error":{"error_type":"ACCESS_DENIED_EXCEPTION","message":"no"}}'; exit 3"#,
        );
        let out = run_child(&bin, &job(5000)).await;
        assert_eq!(out.status, JobStatus::Denied);
        assert_eq!(error_type(&out.document), "ACCESS_DENIED_EXCEPTION");
    }

    #[tokio::test]
    async fn garbage_output_yields_an_error_document() {
        let dir = tempfile::tempdir().unwrap();
        let bin = fake_rex(dir.path(), "echo 'not json'; exit 0");
        let out = run_child(&bin, &job(5000)).await;
        assert!(matches!(out.status, JobStatus::Crashed { .. }), "{out:?}");
        assert_eq!(out.document["status"], "ERROR");
        assert_eq!(error_type(&out.document), "INTERNAL_EXCEPTION");
    }

    #[tokio::test]
    async fn a_signal_death_yields_an_error_document() {
        let dir = tempfile::tempdir().unwrap();
        let bin = fake_rex(dir.path(), "kill -SEGV $$");
        let out = run_child(&bin, &job(5000)).await;
        let JobStatus::Crashed { message } = &out.status else {
            panic!("{out:?}")
        };
        assert!(message.contains("signal 11"), "{message}");
        assert_eq!(out.document["status"], "ERROR");
    }

    #[tokio::test]
    async fn a_child_past_its_deadline_is_killed_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-alive");
        // The grandchild would touch the marker after the kill if it survived.
        let bin = fake_rex(
            dir.path(),
            &format!("(sleep 4; touch {}) & sleep 60", marker.display()),
        );
        let started = std::time::Instant::now();
        let out = run_child(&bin, &job(100)).await;
        assert!(started.elapsed() < Duration::from_secs(4));
        let JobStatus::Killed { reason } = &out.status else {
            panic!("{out:?}")
        };
        assert!(reason.contains("time limit"), "{reason}");
        assert_eq!(error_type(&out.document), "SCRIPT_EXCEPTION");
        tokio::time::sleep(Duration::from_millis(4500).saturating_sub(started.elapsed())).await;
        assert!(!marker.exists(), "a process of the job's group survived");
    }

    #[tokio::test]
    async fn a_child_printing_past_the_cap_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let bin = fake_rex(dir.path(), "yes 'aaaaaaaaaaaaaaaa'");
        let out = run_child(&bin, &job(20_000)).await;
        let JobStatus::Killed { reason } = &out.status else {
            panic!("{out:?}")
        };
        assert!(reason.contains("4096 bytes on stdout"), "{reason}");
    }

    #[tokio::test]
    async fn the_environment_is_cleared_and_arguments_are_passed() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let bin = fake_rex(
            dir.path(),
            &format!(
                "env > {0}.env; echo \"$@\" > {0}.args; cat \"$(dirname \"$2\")/args.json\" > {0}.json; printf '{{\"output\":\"ok\",\"status\":\"SUCCESS\",\"logs\":[]}}'",
                seen.display()
            ),
        );
        let mut j = job(5000);
        j.arguments = Some(serde_json::json!({"name": {"type": "String", "value": "x"}}));
        j.audit_log = Some(dir.path().join("audit.jsonl"));
        let out = run_child(&bin, &j).await;
        assert_eq!(out.status, JobStatus::Succeeded, "{out:?}");
        assert_eq!(out.document["output"], "ok");
        let env = std::fs::read_to_string(seen.with_extension("env")).unwrap();
        let names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split('=').next())
            .filter(|n| !matches!(*n, "PWD" | "SHLVL" | "_" | "OLDPWD"))
            .collect();
        assert_eq!(names, ["PATH"], "{env}");
        let args = std::fs::read_to_string(seen.with_extension("args")).unwrap();
        for want in [
            "--principal alice",
            "--job-id job-1",
            "--sandbox auto",
            "-o json",
            "--max-memory 536870912",
            "--audit-log",
        ] {
            assert!(args.contains(want), "missing `{want}` in {args}");
        }
        let json = std::fs::read_to_string(seen.with_extension("json")).unwrap();
        assert!(json.contains("\"String\""), "{json}");
    }

    #[tokio::test]
    async fn a_missing_binary_or_bad_job_id_yields_an_error_document() {
        let out = run_child(Path::new("/nonexistent/rex"), &job(1000)).await;
        assert!(matches!(out.status, JobStatus::Crashed { .. }));
        assert_eq!(out.document["status"], "ERROR");
        let mut j = job(1000);
        j.job_id = "../x".into();
        let out = run_child(Path::new("/bin/true"), &j).await;
        assert_eq!(out.status, JobStatus::Invalid);
        assert_eq!(error_type(&out.document), "VALIDATION_EXCEPTION");
    }
}
