//! Who the agent is: the operator's fixed principal and policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rex_policy::{Gate, Policies};

use crate::error::McpError;

/// The Cedar principal and the policy an agent's scripts run under, fixed by the operator.
///
/// Holding one authorizes nothing by itself: it is what every tool hands to the `rex run`
/// child (and to a local `Gate` for `check_script` and `explain_denial`). It is built only
/// from the operator's configuration (the `rex mcp` flags, or `rex serve`'s token table);
/// no tool parameter can change it.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    principal: String,
    policy_file: PathBuf,
    policies: Arc<Policies>,
}

impl AgentIdentity {
    /// Loads and validates `policy_file` (strictly, against the rex schema) for `principal`.
    /// A relative path is made absolute (children run in their own directory).
    pub fn load(
        principal: impl Into<String>,
        policy_file: impl Into<PathBuf>,
    ) -> Result<Self, McpError> {
        let principal = principal.into();
        let policy_file = policy_file.into();
        let policy_file = std::path::absolute(&policy_file).map_err(|source| McpError::Io {
            path: policy_file.clone(),
            source,
        })?;
        let text = policy_file.to_string_lossy().into_owned();
        let policies = Policies::load_file(&text).map_err(|e| McpError::Policy {
            path: text.clone(),
            message: e.to_string(),
        })?;
        Self::from_parts(principal, policy_file, policies)
    }

    /// Like [`AgentIdentity::load`] for several policy files: the `rex run` child takes one
    /// policy file, so they are concatenated (each after a comment naming its source) into
    /// `dir/policy.cedar`, which must stay in place while the identity is used. One file
    /// is used as is.
    pub fn load_combined(
        principal: impl Into<String>,
        files: &[PathBuf],
        dir: &Path,
    ) -> Result<Self, McpError> {
        match files {
            [] => Err(McpError::NoPolicy),
            [one] => Self::load(principal, one.clone()),
            many => {
                let mut combined = String::new();
                for file in many {
                    let text = std::fs::read_to_string(file).map_err(|source| McpError::Io {
                        path: file.clone(),
                        source,
                    })?;
                    combined.push_str(&format!("// ---- from {} ----\n", file.display()));
                    combined.push_str(&text);
                    if !text.ends_with('\n') {
                        combined.push('\n');
                    }
                }
                let path = dir.join("policy.cedar");
                std::fs::write(&path, combined).map_err(|source| McpError::Io {
                    path: path.clone(),
                    source,
                })?;
                Self::load(principal, path)
            }
        }
    }

    /// An identity from already validated policies that were loaded from `policy_file`
    /// (the file the `rex run` child will load).
    pub fn from_parts(
        principal: impl Into<String>,
        policy_file: impl Into<PathBuf>,
        policies: Policies,
    ) -> Result<Self, McpError> {
        let principal = principal.into();
        if principal.is_empty() || principal.chars().any(char::is_control) {
            return Err(McpError::Principal(principal));
        }
        Ok(Self {
            principal,
            policy_file: policy_file.into(),
            policies: Arc::new(policies),
        })
    }

    /// The principal's name (`User::"<name>"`).
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The policy file the child loads.
    pub fn policy_file(&self) -> &Path {
        &self.policy_file
    }

    /// The validated policies.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// A gate deciding with these policies for this principal, in enforce mode, with no
    /// decision log: for explaining, never for acting (`check_script` and
    /// `explain_denial` run no operation).
    pub(crate) fn explaining_gate(&self) -> Result<Gate, String> {
        Gate::builder()
            .principal(self.principal.clone())
            .build(Policies::clone(&self.policies))
            .map_err(|e| e.to_string())
    }
}
