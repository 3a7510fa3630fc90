//! A job's denials, read back from its decision log records (typed JSON, never the error
//! message text) and explained against the agent's policy.

use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;

use rex_policy::{Action, DenyReason, Resource, Verdict};
use serde::{Deserialize, Serialize};

use crate::explain::PolicySource;
use crate::identity::AgentIdentity;

/// Denied requests kept per job (the first ones, and always the last).
const MAX_DENIALS: usize = 20;

/// One decision record of the log (format v1), the fields read here.
#[derive(Debug, Deserialize)]
struct Record {
    job: Option<String>,
    decision: Option<String>,
    #[serde(default)]
    enforced: bool,
    action: Option<String>,
    resource: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    errors: Vec<String>,
    script: Option<Position>,
}

#[derive(Debug, Deserialize)]
struct Position {
    line: u32,
    column: u32,
}

/// A refused request of a job, explained.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DenialInfo {
    /// The principal.
    pub principal: String,
    /// Action uid.
    pub action: String,
    /// Resource uid (canonical path for files and directories).
    pub resource: String,
    /// `no_permit`, `forbid` or `error`.
    pub reason: String,
    /// The forbids that matched (for `forbid`).
    pub policies: Vec<PolicySource>,
    /// The minimal permit that would allow exactly this request (for `no_permit`); only
    /// the operator can add it.
    pub suggested_permit: Option<String>,
    /// The explanation in words.
    pub explanation: String,
    /// Script line of the call that asked (0 unknown).
    pub line: u32,
    /// Script column of the call that asked (0 unknown).
    pub column: u32,
}

/// The enforced denials of job `job_id` in the log at `path`, reading from byte `offset`
/// on, in order (at most [`MAX_DENIALS`], always including the last). A missing or
/// unreadable log gives none.
pub(crate) fn job_denials(
    path: &Path,
    offset: u64,
    job_id: &str,
    identity: &AgentIdentity,
) -> Vec<DenialInfo> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return Vec::new();
    }
    let mut found: Vec<Record> = Vec::new();
    let mut last: Option<Record> = None;
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            continue;
        };
        if record.job.as_deref() != Some(job_id)
            || record.decision.as_deref() != Some("deny")
            || !record.enforced
        {
            continue;
        }
        if found.len() < MAX_DENIALS - 1 {
            found.push(record);
        } else {
            last = Some(record);
        }
    }
    found.extend(last);
    found.iter().map(|r| explain_record(r, identity)).collect()
}

/// Explains one record: with the policy's own explanation when re-deciding the request
/// agrees with the record (files and directories carry everything needed), otherwise
/// from the record alone (the child's decision is the truth).
fn explain_record(r: &Record, identity: &AgentIdentity) -> DenialInfo {
    let action = r.action.clone().unwrap_or_default();
    let resource = r.resource.clone().unwrap_or_default();
    let reason = r.reason.clone().unwrap_or_else(|| "no_permit".to_owned());
    let (line, column) = r.script.as_ref().map_or((0, 0), |p| (p.line, p.column));
    let principal = identity.principal().to_owned();
    let policies: Vec<PolicySource> = r
        .policies
        .iter()
        .map(|id| match identity.policies().origin(id) {
            Some(o) => PolicySource {
                id: id.clone(),
                file: o.file.clone(),
                line: o.line,
                column: o.column,
            },
            None => PolicySource {
                id: id.clone(),
                file: String::new(),
                line: 0,
                column: 0,
            },
        })
        .collect();
    if let (Some(a), Ok(res), Ok(gate)) = (
        Action::parse(&action),
        Resource::parse_uid(&resource, Vec::new()),
        identity.explaining_gate(),
    ) && let Verdict::Denied(d) = gate.explain(a, &res, serde_json::json!({}))
    {
        let same = matches!(
            (d.reason(), reason.as_str()),
            (DenyReason::NoPermit, "no_permit")
                | (DenyReason::Forbidden(_), "forbid")
                | (DenyReason::EvaluationError(_), "error")
        );
        if same {
            return DenialInfo {
                principal,
                action,
                resource,
                reason,
                policies,
                suggested_permit: d.suggested_permit(),
                explanation: d.explain(),
                line,
                column,
            };
        }
    }
    let suggested_permit = (reason == "no_permit").then(|| {
        format!(
            "permit (principal == User::\"{}\", action == {action}, resource == {resource});",
            principal.escape_debug()
        )
    });
    let why = match reason.as_str() {
        "no_permit" => "no permit policy matched".to_owned(),
        "forbid" => format!(
            "forbidden by {}",
            policies
                .iter()
                .map(|p| format!("`{}` ({}:{}:{})", p.id, p.file, p.line, p.column))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "error" => format!("policy evaluation failed: {}", r.errors.join("; ")),
        other => other.to_owned(),
    };
    let mut explanation = format!(
        "denied: {principal} unauthorized to perform {action} for {resource}\n  reason:    {why}\n"
    );
    match (&suggested_permit, reason.as_str()) {
        (Some(p), _) => {
            explanation.push_str("  to allow exactly this request, add:\n    ");
            explanation.push_str(p);
            explanation.push('\n');
        }
        (None, "forbid") => explanation.push_str(
            "  a forbid overrides every permit: narrow or remove the forbid to allow it\n",
        ),
        _ => {}
    }
    DenialInfo {
        principal,
        action,
        resource,
        reason,
        policies,
        suggested_permit,
        explanation,
        line,
        column,
    }
}
