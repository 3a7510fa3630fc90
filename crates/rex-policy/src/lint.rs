//! Warnings for policies that load but are probably not what their author meant.

use cedar_policy::{ActionConstraint, Effect, ResourceConstraint};

use crate::action::Action;
use crate::error::SourceDiagnostic;
use crate::policies::Policies;

/// Warnings: every `permit` with no resource constraint that can allow a mutating action
/// (write, create, delete, chmod, kill, start, POST, ...), and the validator's own warnings.
pub fn lint(policies: &Policies) -> Vec<SourceDiagnostic> {
    let mut out: Vec<SourceDiagnostic> = policies.warnings().to_vec();
    for policy in policies.views() {
        if policy.effect() != Effect::Permit
            || !matches!(policy.resource_constraint(), ResourceConstraint::Any)
        {
            continue;
        }
        let mutating: Vec<String> = match policy.action_constraint() {
            ActionConstraint::Any => vec!["every action".to_owned()],
            ActionConstraint::Eq(uid) => mutating_names(&[uid.to_string()]),
            ActionConstraint::In(uids) => {
                mutating_names(&uids.iter().map(ToString::to_string).collect::<Vec<_>>())
            }
        };
        if mutating.is_empty() {
            continue;
        }
        let id = policy.id().to_owned();
        let Some(origin) = policies.origin(&id) else {
            continue;
        };
        let has_when = policy
            .conditions_json()
            .as_array()
            .is_some_and(|c| !c.is_empty());
        out.push(policies.diagnostic_at(
            origin,
            format!(
                "permit `{id}` has no resource constraint and allows {}{}",
                mutating.join(", "),
                if has_when { " (a `when`/`unless` condition may narrow it)" } else { " on every resource" }
            ),
            Some("name the resources: `resource == ...` or `resource in file_system::Dir::\"...\"`".to_owned()),
        ));
    }
    out
}

fn mutating_names(uids: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for uid in uids {
        if let Some(ns) = Action::group_namespace(uid) {
            if crate::action::ALL
                .iter()
                .any(|a| a.namespace() == ns && a.is_mutating())
            {
                names.push(format!("the mutating actions of {uid}"));
            }
        } else if let Some(a) = Action::parse(uid)
            && a.is_mutating()
        {
            names.push(a.to_string());
        }
    }
    names
}
