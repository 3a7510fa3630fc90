//! A policy set, read as what the planner needs: for each policy its effect, id, the
//! concrete actions it can match, its resource scope and its conditions in JSON form.
//! Read through [`rex_policy::PolicyView`], so no policy is parsed for it, and borrowed
//! from the loaded set: scanning 10,000 policies allocates per shape, not per policy.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use cedar_policy::{ActionConstraint, Effect, ResourceConstraint};
use rex_policy::{Action, Policies, PolicyView};
use serde_json::Value;

/// The resource scope of a policy, as (entity type, id) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope<'a> {
    /// `resource`.
    Any,
    /// `resource is T`.
    Is(Cow<'a, str>),
    /// `resource == T::"id"`.
    Eq(Cow<'a, str>, Cow<'a, str>),
    /// `resource in T::"id"` (or `is T2 in T::"id"`; the `is` only narrows).
    In(Cow<'a, str>, Cow<'a, str>),
}

/// What every policy of one shape shares.
#[derive(Debug)]
pub(crate) struct Shape {
    /// Its number among the shapes [`scan`] gives (0, 1, ... in order of appearance).
    pub slot: usize,
    permit: bool,
    actions: Vec<Action>,
    /// The actions named one by one (not through `action` alone or a group).
    explicit: Vec<Action>,
    resource: ShapeScope,
}

impl Shape {
    /// Whether its policies are `permit`s.
    pub fn permit(&self) -> bool {
        self.permit
    }

    /// Whether its policies can match `action`.
    pub fn has(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Whether its policies name `action` themselves.
    pub fn names_explicitly(&self, action: Action) -> bool {
        self.explicit.contains(&action)
    }

    /// The concrete actions its policies can match.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }
}

/// The kind of a shape's resource constraint (the entity id is each policy's own).
#[derive(Debug)]
enum ShapeScope {
    Any,
    Is(String),
    Eq,
    In,
}

/// One policy, scanned: its shape, and the policy to read its own ids from (small: a
/// scan of 10,000 policies is 10,000 times two words and a count).
#[derive(Debug, Clone)]
pub(crate) struct Scanned<'a> {
    shape: Rc<Shape>,
    view: PolicyView<'a>,
}

impl<'a> Scanned<'a> {
    /// Its position in load order (as in [`Policies::views`]).
    pub fn index(&self) -> usize {
        self.view.index()
    }

    /// Its id.
    pub fn id(&self) -> &'a str {
        self.view.id()
    }

    /// Its shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Its resource scope, read from the loaded set without copying when it can be.
    pub fn scope(&self) -> Scope<'a> {
        let p = &self.view;
        match &self.shape.resource {
            // `resource) when { resource == E }` can match `E` only.
            ShapeScope::Any => match p.resource_entity() {
                Some((t, id)) => Scope::Eq(Cow::Borrowed(t), Cow::Borrowed(id)),
                None => Scope::Any,
            },
            ShapeScope::Is(t) => Scope::Is(Cow::Owned(t.clone())),
            // The entity the policy can only match is its scope's entity.
            ShapeScope::Eq => match p.resource_entity() {
                Some((t, id)) => Scope::Eq(Cow::Borrowed(t), Cow::Borrowed(id)),
                None => owned_scope(p),
            },
            ShapeScope::In => match p.resource_entity() {
                Some((t, id)) => Scope::In(Cow::Borrowed(t), Cow::Borrowed(id)),
                None => owned_scope(p),
            },
        }
    }

    /// Whether this is a `permit`.
    pub fn permit(&self) -> bool {
        self.shape.permit
    }

    /// The policy's `conditions` in Cedar's JSON form (built when asked: most policies
    /// never need them).
    pub fn conditions(&self) -> Cow<'a, Value> {
        self.view.conditions_json()
    }

    /// Whether this policy can match `action`.
    pub fn has(&self, action: Action) -> bool {
        self.shape.actions.contains(&action)
    }
}

/// Scans every policy; also gives the distinct shapes.
pub(crate) fn scan(policies: &Policies) -> (Vec<Scanned<'_>>, Vec<Rc<Shape>>) {
    // Effect, action constraint and constraint kinds are the same for every policy of a
    // shape: worked out once.
    let mut shapes: HashMap<usize, Rc<Shape>> = HashMap::new();
    let mut distinct: Vec<Rc<Shape>> = Vec::new();
    let mut out = Vec::with_capacity(policies.len());
    // Policies of one shape mostly come one after the other.
    let mut last: Option<(usize, Rc<Shape>)> = None;
    for p in policies.views() {
        let shape = match &last {
            Some((k, shape)) if *k == p.shape() => Rc::clone(shape),
            _ => {
                let shape = Rc::clone(shapes.entry(p.shape()).or_insert_with(|| {
                    let shape = Rc::new(shape_of(&p, distinct.len()));
                    distinct.push(Rc::clone(&shape));
                    shape
                }));
                last = Some((p.shape(), Rc::clone(&shape)));
                shape
            }
        };
        out.push(Scanned { shape, view: p });
    }
    (out, distinct)
}

fn shape_of(p: &PolicyView<'_>, slot: usize) -> Shape {
    let (actions, explicit) = match p.action_constraint() {
        ActionConstraint::Any => (rex_policy::action::ALL.to_vec(), Vec::new()),
        ActionConstraint::Eq(uid) => expand(&[uid.to_string()]),
        ActionConstraint::In(uids) => {
            expand(&uids.iter().map(ToString::to_string).collect::<Vec<_>>())
        }
    };
    let resource = match p.resource_constraint() {
        ResourceConstraint::Any => ShapeScope::Any,
        ResourceConstraint::Is(t) => ShapeScope::Is(t.to_string()),
        ResourceConstraint::Eq(_) => ShapeScope::Eq,
        ResourceConstraint::In(_) | ResourceConstraint::IsIn(..) => ShapeScope::In,
    };
    Shape {
        slot,
        permit: p.effect() == Effect::Permit,
        actions,
        explicit,
        resource,
    }
}

/// The scope read from the policy's own resource constraint (owned): what
/// [`PolicyView::resource_entity`] gives without allocating, when it gives nothing.
fn owned_scope(p: &PolicyView<'_>) -> Scope<'static> {
    match p.resource_constraint() {
        ResourceConstraint::Any => Scope::Any,
        ResourceConstraint::Is(t) => Scope::Is(Cow::Owned(t.to_string())),
        ResourceConstraint::Eq(uid) => Scope::Eq(
            Cow::Owned(uid.type_name().to_string()),
            Cow::Owned(uid.id().unescaped().to_owned()),
        ),
        ResourceConstraint::In(uid) | ResourceConstraint::IsIn(_, uid) => Scope::In(
            Cow::Owned(uid.type_name().to_string()),
            Cow::Owned(uid.id().unescaped().to_owned()),
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The borrowed scope of each policy is the one its own resource constraint gives.
    #[test]
    fn borrowed_scopes_equal_the_policies_own_constraints() {
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&format!(
                "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/a/f{i}\");\n\
                 permit(principal, action == file_system::Action::\"read\", resource in file_system::Dir::\"/d{i}\");\n\
                 permit(principal, action == file_system::Action::\"read\", resource is file_system::File in file_system::Dir::\"/e{i}\");\n\
                 permit(principal, action == file_system::Action::\"read\", resource) when {{ resource == file_system::File::\"/w{i}\" }};\n\
                 forbid(principal, action, resource is file_system::Dir);\n"
            ));
        }
        text.push_str(
            "@id(\"one\") permit(principal, action, resource == file_system::Dir::\"/only\");\n",
        );
        let policies = Policies::from_text("t.cedar", &text).unwrap();
        let (scanned, shapes) = scan(&policies);
        assert_eq!(shapes.len(), 6);
        assert_eq!(scanned.len(), policies.len());
        for (s, view) in scanned.iter().zip(policies.views()) {
            assert_eq!(s.id(), view.id());
            assert_eq!(s.index(), view.index());
            let own = match owned_scope(&view) {
                Scope::Any => match view.resource_entity() {
                    Some((t, id)) => Scope::Eq(Cow::Borrowed(t), Cow::Borrowed(id)),
                    None => Scope::Any,
                },
                other => other,
            };
            assert_eq!(s.scope(), own, "{}", s.id());
        }
        let ids: Vec<&str> = scanned.iter().map(|s| s.id()).collect();
        let slots: Vec<usize> = shapes.iter().map(|s| s.slot).collect();
        assert_eq!(slots, [0, 1, 2, 3, 4, 5]);
        assert_eq!(ids.last(), Some(&"one"));
        assert!(!scanned[4].permit() && scanned[0].permit());
    }
}
