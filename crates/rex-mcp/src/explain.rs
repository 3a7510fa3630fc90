//! `explain_denial`: decide one request against the operator's policy for the agent's fixed
//! principal and say why, like `rex policy explain`.

use rex_policy::{Action, AttrValue, PolicyRef, Resource, Verdict};
use serde::Serialize;

use crate::identity::AgentIdentity;

/// Attribute names a non-file resource may carry (as in `rex policy explain --attrs`).
const ATTRIBUTE_NAMES: &[&str] = &[
    "path", "url", "scheme", "host", "port", "name", "username", "command", "hostname",
];

/// A policy that took part in a decision, with where it is written.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicySource {
    /// Policy id.
    pub id: String,
    /// File it came from.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl From<&PolicyRef> for PolicySource {
    fn from(r: &PolicyRef) -> Self {
        Self {
            id: r.id.clone(),
            file: r.file.clone(),
            line: r.line,
            column: r.column,
        }
    }
}

/// The decision on one request, for the agent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explanation {
    /// `ALLOW` or `DENY`.
    pub decision: &'static str,
    /// The principal's name.
    pub principal: String,
    /// The action uid.
    pub action: String,
    /// The resource uid.
    pub resource: String,
    /// `permit`, `no_permit`, `forbid` or `error`.
    pub reason: &'static str,
    /// The permits that allowed it, or the forbids that denied it.
    pub policies: Vec<PolicySource>,
    /// The minimal permit that would allow exactly this request (only for `no_permit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_permit: Option<String>,
    /// The explanation in words.
    pub explanation: String,
}

/// A request that could not be decided because it was malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Decides `action` on `resource` (with `context` and, for non-file resources,
/// `attributes`) for the agent. Runs no operation and makes no `Permit`.
pub fn explain(
    identity: &AgentIdentity,
    action: &str,
    resource: &str,
    context: Option<&serde_json::Value>,
    attributes: Option<&serde_json::Value>,
) -> Result<Explanation, BadRequest> {
    let parsed = Action::parse(action).ok_or_else(|| {
        let known: Vec<String> = rex_policy::action::ALL
            .iter()
            .map(ToString::to_string)
            .collect();
        BadRequest(format!(
            "unknown action `{action}`; known actions: {}",
            known.join(", ")
        ))
    })?;
    let attrs = attributes.map(parse_attributes).transpose()?;
    let resource = Resource::parse_uid(resource, attrs.unwrap_or_default()).map_err(BadRequest)?;
    let context = match context {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(v @ serde_json::Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(BadRequest(format!(
                "`context` must be a JSON object, got `{other}`"
            )));
        }
    };
    let gate = identity.explaining_gate().map_err(BadRequest)?;
    Ok(match gate.explain(parsed, &resource, context) {
        Verdict::Allowed(refs) => Explanation {
            decision: "ALLOW",
            principal: identity.principal().to_owned(),
            action: parsed.to_string(),
            resource: resource.to_string(),
            reason: "permit",
            policies: refs.iter().map(PolicySource::from).collect(),
            suggested_permit: None,
            explanation: format!(
                "allowed: {} may perform {parsed} on {resource}, permitted by {}",
                identity.principal(),
                refs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        Verdict::Denied(denied) => {
            let (reason, policies) = match denied.reason() {
                rex_policy::DenyReason::Forbidden(p) => {
                    ("forbid", p.iter().map(PolicySource::from).collect())
                }
                rex_policy::DenyReason::EvaluationError(_) => ("error", Vec::new()),
                _ => ("no_permit", Vec::new()),
            };
            Explanation {
                decision: "DENY",
                principal: identity.principal().to_owned(),
                action: parsed.to_string(),
                resource: resource.to_string(),
                reason,
                policies,
                suggested_permit: denied.suggested_permit(),
                explanation: denied.explain(),
            }
        }
    })
}

/// Resource attributes from a JSON object of known names.
fn parse_attributes(v: &serde_json::Value) -> Result<Vec<(&'static str, AttrValue)>, BadRequest> {
    let obj = v
        .as_object()
        .ok_or_else(|| BadRequest(format!("`attributes` must be a JSON object, got `{v}`")))?;
    obj.iter()
        .map(|(k, v)| {
            let name = ATTRIBUTE_NAMES
                .iter()
                .copied()
                .find(|n| n == k)
                .ok_or_else(|| {
                    BadRequest(format!(
                        "unknown attribute `{k}` (known: {})",
                        ATTRIBUTE_NAMES.join(", ")
                    ))
                })?;
            let value = match v {
                serde_json::Value::String(s) => AttrValue::String(s.clone()),
                serde_json::Value::Bool(b) => AttrValue::Bool(*b),
                serde_json::Value::Number(n) => AttrValue::Long(n.as_i64().ok_or_else(|| {
                    BadRequest(format!("attribute `{k}` is not an integer: `{n}`"))
                })?),
                other => {
                    return Err(BadRequest(format!(
                        "attribute `{k}` has unsupported value `{other}`"
                    )));
                }
            };
            Ok((name, value))
        })
        .collect()
}
