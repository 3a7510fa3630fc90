//! The decision log: one JSON object per line for every authorization decision.
//!
//! Format version 1. Each line is an object with:
//! `v` (1), `time` (RFC 3339 UTC), `principal` (name), `action` and `resource` (Cedar uids),
//! `decision` (`allow` | `deny`), `enforced` (false when audit mode let a deny through),
//! `reason` (`permit` | `no_permit` | `forbid` | `error` | `read_only`), `policies` (determining policy
//! ids), `errors` (evaluation errors), and when known `script` (`{file, line, column}`)
//! and `job` (an id given by the caller). Fields are only ever added, never renamed.
//!
//! Besides decisions, a run may write one [`RunRecord`] (`"event": "run"`) before its
//! first operation: who runs, which script, and what the kernel backstop enforces. Decision
//! lines have no `event` field; readers skip records whose `event` they do not know.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use serde::Serialize;

use crate::error::GateError;

/// Where the script was when it made a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScriptPosition {
    /// The script file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One decision, as written to the log.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord<'a> {
    /// Format version.
    pub v: u32,
    /// RFC 3339 time.
    pub time: String,
    /// Principal name.
    pub principal: &'a str,
    /// Action uid.
    pub action: String,
    /// Resource uid.
    pub resource: String,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when audit mode allowed a request the policy denies.
    pub enforced: bool,
    /// `permit`, `no_permit`, `forbid` or `error`.
    pub reason: &'static str,
    /// Determining policy ids.
    pub policies: Vec<String>,
    /// Evaluation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Where the script was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptPosition>,
    /// The job id, when running under a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<&'a str>,
}

/// The kernel backstop chosen for a run, as the `sandbox` of its [`RunRecord`]. It only
/// describes restrictions; it authorizes nothing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SandboxSummary {
    /// `off`, `auto` or `required`, as asked.
    pub mode: String,
    /// The kernel's Landlock ABI, when Landlock is available and the mode is not `off`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock_abi: Option<i32>,
    /// What the kernel enforces, one short line each (e.g. `seccomp`, `no_new_privs`).
    pub enforced: Vec<String>,
    /// What was left out and why (the sandbox report's notes).
    pub left_out: Vec<String>,
}

/// The record written once per run, before the script's first operation.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord<'a> {
    /// Format version (1).
    pub v: u32,
    /// Always `run`.
    pub event: &'static str,
    /// RFC 3339 time.
    pub time: String,
    /// Principal name.
    pub principal: &'a str,
    /// The gate's mode: `enforce` or `audit`.
    pub mode: &'static str,
    /// The script file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<&'a str>,
    /// The kernel backstop.
    pub sandbox: &'a SandboxSummary,
    /// The job id, when running under a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<&'a str>,
}

/// Most bytes of allowed decisions held before they are written.
const FLUSH_BYTES: usize = 32 * 1024;

/// Longest time a line of an allowed decision is held before it is written.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// An append-only JSON Lines file on an `O_APPEND` file descriptor.
///
/// Lines are written whole, several at a time with one `write`, so concurrent runs sharing
/// a log do not interleave within a line. A denial (and the run record) is written at
/// once, together with every line before it; lines of allowed decisions are held for at
/// most [`FLUSH_INTERVAL`] (a background thread writes them) or 32 KiB, and whatever is held
/// is written when the log is dropped or [`AuditLog::flush`]ed. A failed write is returned
/// by the call that made it and by every later call, so the caller fails closed from then
/// on; a failure of the background write is returned by the next call.
#[derive(Debug)]
pub struct AuditLog {
    path: String,
    pending: Arc<Mutex<Pending>>,
    /// Whether the background writer started. It starts with the first held line, not at
    /// open: the kernel sandbox (rex-sandbox), applied between opening the log and the
    /// script's first request, needs a single-threaded process, and a thread started after
    /// it inherits its restrictions.
    flusher: std::sync::OnceLock<bool>,
}

#[derive(Debug)]
struct Pending {
    file: File,
    buf: Vec<u8>,
    /// When the oldest held line was added.
    since: Option<Instant>,
    /// The first write error; every later write fails with it.
    failed: Option<String>,
}

impl Pending {
    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        self.since = None;
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn push(&mut self, record: &impl Serialize, now: bool) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        let mark = self.buf.len();
        if let Err(e) = serde_json::to_writer(&mut self.buf, record) {
            self.buf.truncate(mark);
            return Err(std::io::Error::other(e));
        }
        self.buf.push(b'\n');
        self.since.get_or_insert_with(Instant::now);
        if now || self.buf.len() >= FLUSH_BYTES {
            self.flush()
        } else {
            Ok(())
        }
    }
}

impl AuditLog {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &str) -> Result<Self, GateError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| GateError::AuditLog {
                path: path.to_owned(),
                source,
            })?;
        let pending = Arc::new(Mutex::new(Pending {
            file,
            buf: Vec::with_capacity(FLUSH_BYTES + 1024),
            since: None,
            failed: None,
        }));
        Ok(Self {
            path: path.to_owned(),
            pending,
            flusher: std::sync::OnceLock::new(),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Pending>> {
        self.pending
            .lock()
            .map_err(|_| std::io::Error::other("audit log lock poisoned"))
    }

    /// Appends one record: a denial at once, an allowed decision within [`FLUSH_INTERVAL`].
    /// A failed write is returned so the caller can fail closed.
    pub fn write(&self, record: &DecisionRecord<'_>) -> std::io::Result<()> {
        let now = record.decision != "allow" || !self.flusher_running();
        self.lock()?.push(record, now)
    }

    /// Starts the background writer once; false if it could not start (lines are then
    /// written at once).
    fn flusher_running(&self) -> bool {
        *self.flusher.get_or_init(|| {
            let weak = Arc::downgrade(&self.pending);
            std::thread::Builder::new()
                .name("rex-audit-flush".to_owned())
                .spawn(move || flush_held_lines(&weak))
                .is_ok()
        })
    }

    /// Appends the run record, at once. A failed write is returned so the caller can
    /// refuse to run.
    pub fn write_run(&self, record: &RunRecord<'_>) -> std::io::Result<()> {
        self.lock()?.push(record, true)
    }

    /// Writes every held line now.
    pub fn flush(&self) -> std::io::Result<()> {
        self.lock()?.flush()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.pending.lock() {
            let _ = pending.flush();
        }
    }
}

/// The background writer: every [`FLUSH_INTERVAL`], writes the lines held longer than
/// that; ends when the log is dropped.
fn flush_held_lines(pending: &Weak<Mutex<Pending>>) {
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        let Some(pending) = pending.upgrade() else {
            return;
        };
        let Ok(mut p) = pending.lock() else {
            return;
        };
        if p.since.is_some_and(|t| t.elapsed() >= FLUSH_INTERVAL) {
            let _ = p.flush();
        }
    }
}
