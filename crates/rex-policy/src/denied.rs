//! `Denied`: a refused request that explains itself and suggests the permit that would allow it.

use std::fmt;

use crate::action::Action;
use crate::resource::Resource;

/// A policy that took part in a decision, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// File it came from.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({}:{}:{})",
            self.id, self.file, self.line, self.column
        )
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// No `permit` policy matched the request.
    NoPermit,
    /// These `forbid` policies matched; a forbid overrides any permit.
    Forbidden(Vec<PolicyRef>),
    /// Evaluating the policies failed (the request is refused: fail closed).
    EvaluationError(Vec<String>),
    /// Read-only learning refuses every mutating action, whatever the policy says.
    ReadOnlyLearning,
}

/// A refused request. Its one-line form (`Display`) keeps the original REX words
/// `<principal> unauthorized to perform <action> for <resource>` and adds the reason and,
/// when a permit can help, the minimal permit that would allow exactly this request.
///
/// The data is boxed so `Result<_, Denied>` stays small on the allowed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(Box<DeniedData>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct DeniedData {
    principal: String,
    action: Action,
    resource: Resource,
    reason: DenyReason,
}

impl Denied {
    pub(crate) fn new(
        principal: String,
        action: Action,
        resource: Resource,
        reason: DenyReason,
    ) -> Self {
        Self(Box::new(DeniedData {
            principal,
            action,
            resource,
            reason,
        }))
    }

    /// The principal's name (the id of `User::"<name>"`).
    pub fn principal(&self) -> &str {
        &self.0.principal
    }

    /// The refused action.
    pub fn action(&self) -> Action {
        self.0.action
    }

    /// The resource the request was about.
    pub fn resource(&self) -> &Resource {
        &self.0.resource
    }

    /// Why it was refused.
    pub fn reason(&self) -> &DenyReason {
        &self.0.reason
    }

    /// The minimal `permit` that would allow exactly this request, unless a `forbid`
    /// matched (no permit can override a forbid) or evaluation failed.
    pub fn suggested_permit(&self) -> Option<String> {
        match self.0.reason {
            DenyReason::NoPermit => Some(format!(
                "permit (principal == User::\"{}\", action == {}, resource == {});",
                self.0.principal.escape_debug(),
                self.0.action,
                self.0.resource
            )),
            _ => None,
        }
    }

    /// The reason in words, without the request.
    pub fn reason_text(&self) -> String {
        match &self.0.reason {
            DenyReason::NoPermit => "no permit policy matched".to_owned(),
            DenyReason::Forbidden(p) => format!(
                "forbidden by {}",
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DenyReason::EvaluationError(e) => format!("policy evaluation failed: {}", e.join("; ")),
            DenyReason::ReadOnlyLearning => {
                "read-only learning refuses mutating actions".to_owned()
            }
        }
    }

    /// A multi-line explanation for people: the request, the reason, and what to do.
    pub fn explain(&self) -> String {
        let mut out = format!(
            "denied: {} unauthorized to perform {} for {}\n  principal: User::\"{}\"\n  action:    {}\n  resource:  {}\n  reason:    {}\n",
            self.0.principal,
            self.0.action,
            self.0.resource,
            self.0.principal.escape_debug(),
            self.0.action,
            self.0.resource,
            self.reason_text()
        );
        match (&self.0.reason, self.suggested_permit()) {
            (_, Some(permit)) => {
                out.push_str("  to allow exactly this request, add:\n    ");
                out.push_str(&permit);
                out.push('\n');
            }
            (DenyReason::Forbidden(_), None) => {
                out.push_str(
                    "  a forbid overrides every permit: narrow or remove the forbid to allow it\n",
                );
            }
            _ => {}
        }
        out
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Permission denied: {} unauthorized to perform {} for {}: {}",
            self.0.principal,
            self.0.action,
            self.0.resource,
            self.reason_text()
        )?;
        if let Some(permit) = self.suggested_permit() {
            write!(f, "; to allow it: {permit}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Denied {}
