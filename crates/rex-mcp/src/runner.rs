//! `run_script`: one `rex run` child process per call, with the operator's caps, through
//! the shared runner [`rex_server::child::run_child`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rex_server::child::{ChildJob, run_child};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::denial::{DenialInfo, job_denials};
use crate::identity::AgentIdentity;

/// Bytes of the child's stderr returned to the agent.
const MAX_STDERR: usize = 4096;

/// The operator's settings for running agents' scripts. None of them can be changed by a
/// tool call; the agent may only ask for a shorter timeout.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The `rex` binary started as `rex run` for each script.
    pub rex_bin: PathBuf,
    /// Kernel backstop for every child: `off`, `auto` or `required`.
    pub sandbox: String,
    /// The longest wall-clock time a script may run (and the default).
    pub max_timeout: Duration,
    /// Resident memory limit of a child.
    pub max_memory_bytes: u64,
    /// Bytes of output (the document, and stderr) kept; a child printing more is killed.
    pub max_output_bytes: usize,
    /// The operator's decision log: every decision of every script, with the job id and
    /// the principal. When absent, each job gets a private log that is deleted afterwards
    /// (it is still read, to explain denials).
    pub audit_log: Option<PathBuf>,
    /// Scripts running at once; further calls wait.
    pub max_concurrent: usize,
}

impl RunnerConfig {
    /// Defaults: sandbox `auto`, 60 s, 512 MiB, 1 MiB of output, no decision log, 4
    /// scripts at once.
    pub fn new(rex_bin: impl Into<PathBuf>) -> Self {
        Self {
            rex_bin: rex_bin.into(),
            sandbox: "auto".to_owned(),
            max_timeout: Duration::from_secs(60),
            max_memory_bytes: 512 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            audit_log: None,
            max_concurrent: 4,
        }
    }
}

/// What a `run_script` call produced.
#[derive(Debug, Clone)]
pub struct ScriptResult {
    /// The REX output document with `job_id`, `job_state`, and for denials `denial` (the
    /// uncaught one) and `denied_requests` (every enforced denial, caught ones too).
    pub structured: Value,
    /// A short text for the model: the output, or the error and explanation.
    pub summary: String,
    /// True when the document's status is `ERROR`.
    pub is_error: bool,
}

/// Runs scripts for agents, at most `max_concurrent` at once.
#[derive(Debug)]
pub struct Runner {
    config: RunnerConfig,
    slots: Arc<Semaphore>,
    counter: AtomicU64,
}

impl Runner {
    /// A runner with the operator's `config`. Relative paths in it are made absolute
    /// (children run in their own directory).
    pub fn new(mut config: RunnerConfig) -> Self {
        if let Ok(p) = std::path::absolute(&config.rex_bin) {
            config.rex_bin = p;
        }
        if let Some(log) = &config.audit_log
            && let Ok(p) = std::path::absolute(log)
        {
            config.audit_log = Some(p);
        }
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Self {
            config,
            slots,
            counter: AtomicU64::new(0),
        }
    }

    /// The operator's settings.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Runs `script` with `arguments` (REX JSON format) as `identity`, for at most
    /// `timeout_seconds` (capped by the operator's limit). Always yields a document: a
    /// bad request, a crash or a kill is an `ERROR` document too.
    pub async fn run(
        &self,
        identity: &AgentIdentity,
        script: &str,
        arguments: Option<Value>,
        timeout_seconds: Option<f64>,
    ) -> ScriptResult {
        let timeout = match timeout_seconds {
            None => self.config.max_timeout,
            Some(s) if s.is_finite() && s > 0.0 => {
                Duration::from_secs_f64(s).min(self.config.max_timeout)
            }
            Some(s) => {
                return bad_request(&format!(
                    "timeout_seconds must be a positive number of seconds, got `{s}`"
                ));
            }
        };
        let arguments = match arguments {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(other) => {
                return bad_request(&format!(
                    "arguments must be a JSON object in the REX format, got `{other}`"
                ));
            }
        };
        let Ok(_slot) = self.slots.acquire().await else {
            return bad_request("the runner is shutting down");
        };
        let job_id = self.next_job_id();
        // The decision log the child writes: the operator's (read from its current end),
        // or a private one for this job.
        let private_dir = if self.config.audit_log.is_none() {
            match tempfile::Builder::new().prefix("rex-mcp-job-").tempdir() {
                Ok(d) => Some(d),
                Err(e) => return bad_request(&format!("cannot create a job directory: {e}")),
            }
        } else {
            None
        };
        let log_path = match (&self.config.audit_log, &private_dir) {
            (Some(p), _) => p.clone(),
            (None, Some(d)) => d.path().join("decisions.jsonl"),
            (None, None) => return bad_request("no decision log"),
        };
        let offset = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let mut job = ChildJob::new(
            job_id.clone(),
            script,
            identity.policy_file(),
            identity.principal(),
        );
        job.arguments = arguments;
        job.timeout = timeout;
        job.max_memory_bytes = self.config.max_memory_bytes;
        job.max_output_bytes = self.config.max_output_bytes;
        job.audit_log = Some(log_path.clone());
        job.sandbox = self.config.sandbox.clone();
        let outcome = run_child(&self.config.rex_bin, &job).await;
        let denials = {
            let identity = identity.clone();
            let job_id = job_id.clone();
            tokio::task::spawn_blocking(move || job_denials(&log_path, offset, &job_id, &identity))
                .await
                .unwrap_or_default()
        };
        drop(private_dir);
        let mut structured = match outcome.document {
            Value::Object(map) => Value::Object(map),
            other => json!({"output": "", "status": "ERROR", "error": {
                "error_type": "INTERNAL_EXCEPTION",
                "message": format!("the job printed `{other}` instead of a document")}}),
        };
        let is_error = structured.get("status").and_then(Value::as_str) != Some("SUCCESS");
        let denied_uncaught = structured
            .pointer("/error/error_type")
            .and_then(Value::as_str)
            == Some("ACCESS_DENIED_EXCEPTION");
        if let Value::Object(map) = &mut structured {
            map.insert("job_id".into(), Value::String(job_id));
            map.insert(
                "job_state".into(),
                Value::String(outcome.status.name().to_owned()),
            );
            if denied_uncaught && let Some(last) = denials.last() {
                map.insert("denial".into(), to_value(last));
            }
            if !denials.is_empty() {
                map.insert(
                    "denied_requests".into(),
                    Value::Array(denials.iter().map(to_value).collect()),
                );
            }
            let stderr = outcome.logs.trim();
            if !stderr.is_empty() {
                let cut: String = stderr.chars().take(MAX_STDERR).collect();
                map.insert("stderr".into(), Value::String(cut));
            }
        }
        let summary = summarize(
            &structured,
            denied_uncaught.then(|| denials.last()).flatten(),
        );
        ScriptResult {
            structured,
            summary,
            is_error,
        }
    }

    fn next_job_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("mcp-{}-{ms}-{n}", std::process::id())
    }
}

fn to_value(d: &DenialInfo) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

/// An `ERROR` document for a request refused before any child started.
fn bad_request(message: &str) -> ScriptResult {
    let structured =
        rex_server::child::error_document(rex_engine::ErrorType::ValidationException, message);
    ScriptResult {
        summary: format!("ERROR VALIDATION_EXCEPTION: {message}"),
        structured,
        is_error: true,
    }
}

/// One paragraph for the model.
fn summarize(doc: &Value, denial: Option<&DenialInfo>) -> String {
    let status = doc.get("status").and_then(Value::as_str).unwrap_or("ERROR");
    if status == "SUCCESS" {
        let output = doc.get("output").and_then(Value::as_str).unwrap_or("");
        return format!("SUCCESS\noutput:\n{output}");
    }
    let error_type = doc
        .pointer("/error/error_type")
        .and_then(Value::as_str)
        .unwrap_or("INTERNAL_EXCEPTION");
    let message = doc
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = format!("ERROR {error_type}: {message}");
    if let Some(d) = denial {
        out.push_str("\n\n");
        out.push_str(&d.explanation);
        out.push_str(
            "The policy is fixed by the operator: change the script to stay within it (use \
             explain_denial or check_script to test requests), or report the suggested \
             permit to the user.",
        );
    }
    out
}
