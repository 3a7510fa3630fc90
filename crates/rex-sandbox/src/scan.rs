//! A policy set, read as what the planner needs: for each policy its effect, id, the
//! concrete actions it can match, its resource scope and its conditions in JSON form.
//! Read through [`rex_policy::PolicyView`], so no policy is parsed for it.

use std::borrow::Cow;
use std::collections::HashMap;

use cedar_policy::{ActionConstraint, Effect, ResourceConstraint};
use rex_policy::{Action, Policies, PolicyView};
use serde_json::Value;

/// The resource scope of a policy, as (entity type, id) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `resource`.
    Any,
    /// `resource is T`.
    Is(String),
    /// `resource == T::"id"`.
    Eq(String, String),
    /// `resource in T::"id"` (or `is T2 in T::"id"`; the `is` only narrows).
    In(String, String),
}

/// One policy, scanned.
#[derive(Debug, Clone)]
pub(crate) struct Scanned<'a> {
    pub id: String,
    pub permit: bool,
    pub actions: Vec<Action>,
    /// The actions named one by one (not through `action` alone or a group).
    pub explicit: Vec<Action>,
    pub scope: Scope,
    view: PolicyView<'a>,
}

impl<'a> Scanned<'a> {
    /// The policy's `conditions` in Cedar's JSON form (built when asked: most policies
    /// never need them).
    pub fn conditions(&self) -> Cow<'a, Value> {
        self.view.conditions_json()
    }

    /// Whether this policy can match `action`.
    pub fn has(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Whether this policy names `action` itself (not through `action` alone or a group).
    pub fn names_explicitly(&self, action: Action) -> bool {
        self.explicit.contains(&action)
    }
}

/// Scans every policy.
pub(crate) fn scan(policies: &Policies) -> Vec<Scanned<'_>> {
    // The action constraint is the same for every policy of a shape: expanded once.
    let mut expanded: HashMap<usize, (Vec<Action>, Vec<Action>)> = HashMap::new();
    policies
        .views()
        .map(|p| {
            let (actions, explicit) = expanded
                .entry(p.shape())
                .or_insert_with(|| match p.action_constraint() {
                    ActionConstraint::Any => (rex_policy::action::ALL.to_vec(), Vec::new()),
                    ActionConstraint::Eq(uid) => expand(&[uid.to_string()]),
                    ActionConstraint::In(uids) => {
                        expand(&uids.iter().map(ToString::to_string).collect::<Vec<_>>())
                    }
                })
                .clone();
            let scope = match p.resource_constraint() {
                // `resource) when { resource == E }` can match `E` only.
                ResourceConstraint::Any => match p.resource_entity() {
                    Some((t, id)) => Scope::Eq(t.to_owned(), id.to_owned()),
                    None => Scope::Any,
                },
                ResourceConstraint::Is(t) => Scope::Is(t.to_string()),
                ResourceConstraint::Eq(uid) => {
                    Scope::Eq(uid.type_name().to_string(), uid.id().unescaped().to_owned())
                }
                ResourceConstraint::In(uid) | ResourceConstraint::IsIn(_, uid) => {
                    Scope::In(uid.type_name().to_string(), uid.id().unescaped().to_owned())
                }
            };
            Scanned {
                id: p.id().to_string(),
                permit: p.effect() == Effect::Permit,
                actions,
                explicit,
                scope,
                view: p,
            }
        })
        .collect()
}

/// Concrete actions named by action uids (groups expanded), and those named one by one.
fn expand(uids: &[String]) -> (Vec<Action>, Vec<Action>) {
    let mut all = Vec::new();
    let mut explicit = Vec::new();
    for uid in uids {
        if let Some(ns) = Action::group_namespace(uid) {
            all.extend(
                rex_policy::action::ALL
                    .iter()
                    .copied()
                    .filter(|a| a.namespace() == ns),
            );
        } else if let Some(a) = Action::parse(uid) {
            all.push(a);
            explicit.push(a);
        }
    }
    all.sort();
    all.dedup();
    (all, explicit)
}
