//! The decision log: one JSON object per line for every authorization decision.
//!
//! Format version 1. Each line is an object with:
//! `v` (1), `time` (RFC 3339 UTC), `principal` (name), `action` and `resource` (Cedar uids),
//! `decision` (`allow` | `deny`), `enforced` (false when audit mode let a deny through),
//! `reason` (`permit` | `no_permit` | `forbid` | `error` | `read_only`), `policies` (determining policy
//! ids), `errors` (evaluation errors), and when known `script` (`{file, line, column}`)
//! and `job` (an id given by the caller). Fields are only ever added, never renamed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

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

/// An append-only JSON Lines file. Each record is written with one `write` on an
/// `O_APPEND` file, so concurrent runs sharing a log do not interleave within a line.
#[derive(Debug)]
pub struct AuditLog {
    path: String,
    file: Mutex<File>,
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
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends one record. A failed write is returned so the caller can fail closed.
    pub fn write(&self, record: &DecisionRecord<'_>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("audit log lock poisoned"))?;
        file.write_all(&line)
    }
}
