//! The rex schema cut down to the actions a policy set can name.
//!
//! Building Cedar's schema costs in proportion to its actions (40 in the rex schema) and
//! entity types (13), and so does validating a policy against it. A set whose every
//! policy names its actions explicitly (`action == A`, `action in [A, B]`, `action in G`)
//! is validated and decided against a schema with only these actions:
//!
//! - every action the policies name anywhere (scope and conditions);
//! - every action under a named one (`action in G` matches all of `G`'s members);
//! - every group above a kept action, so `action in G` evaluates as in the whole schema;
//!
//! and the entity types of the namespaces it needs, whole: the empty namespace (`User`),
//! the namespaces of kept actions, and every namespace one of whose type names appears as
//! a string in the policies or in what is kept (`appliesTo`, attribute and context types),
//! until nothing more is added. A namespace is kept or dropped whole, so every request
//! rex makes for a kept action (its resource is of that action's namespace) is checked
//! against the same types, with the same messages, as in the whole schema.
//!
//! Cedar's strict validation type-checks a policy once per request environment its scope
//! allows: for an explicit action scope these are environments of kept actions only, with
//! the same principal, resource and context types as in the whole schema, and every
//! action literal of a condition resolves to the same declaration; an entity type the
//! policy names that the cut dropped is an error there. A set is accepted on the cut only
//! when it validates there with neither errors nor warnings; anything else is validated
//! again against the whole schema (see [`crate::Policies`]). So a set loads, with the
//! same warnings, exactly when it does against the whole schema. Anything this does not
//! recognise takes the whole schema: a policy with an unconstrained `action`, an action
//! the whole schema lacks (its error message names the whole schema's actions), and the
//! text `Action` anywhere but in an action literal (`action is file_system::Action`, a
//! string, an attribute name). The unit tests and `tests/schema_subset.rs` compare the
//! two schemas on generated policies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::SCHEMA_JSON;

/// An action: its namespace (`file_system`, or empty) and id (`read`).
pub(crate) type ActionName = (String, String);

/// The embedded schema's JSON, taken apart once per process: each namespace's members as
/// raw JSON text, and the action hierarchy.
struct Index {
    namespaces: Vec<Namespace>,
    /// Every action with the groups it is directly a member of.
    parents: BTreeMap<ActionName, Vec<ActionName>>,
}

struct Namespace {
    name: &'static str,
    /// Members other than `actions` and `entityTypes` (`commonTypes`...), raw.
    others: Vec<(&'static str, &'static RawValue)>,
    /// The entity types, raw.
    entity_types: Vec<(&'static str, &'static RawValue)>,
    /// Each entity type's name as a JSON string, short (`"Dir"`) and, outside the empty
    /// namespace, qualified (`"file_system::Dir"`): what [`Namespace::named_in`] looks for.
    type_strings: Vec<String>,
    /// The actions, raw.
    actions: Vec<(&'static str, &'static RawValue)>,
}

impl Namespace {
    /// Whether `s` is the name of one of this namespace's entity types, short
    /// (`Dir`, whatever the namespace it is written in) or qualified (`file_system::Dir`).
    fn names_a_type(&self, s: &str) -> bool {
        self.entity_types.iter().any(|(t, _)| {
            s == *t
                || s.strip_suffix(t)
                    .and_then(|p| p.strip_suffix("::"))
                    .is_some_and(|ns| ns == self.name)
        })
    }

    /// Whether the JSON text `raw` has one of this namespace's entity type names as a
    /// string, short or qualified. An object key with that text counts as well (it errs
    /// on the side of keeping a namespace).
    fn named_in(&self, raw: &str) -> bool {
        self.type_strings.iter().any(|t| raw.contains(t.as_str()))
    }

    /// The raw declaration of action `name`.
    fn action(&self, name: &str) -> Option<&'static RawValue> {
        self.actions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, raw)| *raw)
    }
}

#[derive(Deserialize)]
struct ActionMeta {
    #[serde(default, rename = "memberOf")]
    member_of: Vec<Parent>,
}

#[derive(Deserialize)]
struct Parent {
    id: String,
    #[serde(default, rename = "type")]
    ty: Option<String>,
}

/// `None` when the schema JSON does not have the expected form (then every set uses the
/// whole schema).
fn index() -> Option<&'static Index> {
    static INDEX: OnceLock<Option<Index>> = OnceLock::new();
    INDEX.get_or_init(build_index).as_ref()
}

fn build_index() -> Option<Index> {
    let top: Vec<(&'static str, BTreeMap<&'static str, &'static RawValue>)> =
        serde_json::from_str::<BTreeMap<&'static str, BTreeMap<&'static str, &'static RawValue>>>(
            SCHEMA_JSON,
        )
        .ok()?
        .into_iter()
        .collect();
    let mut namespaces = Vec::with_capacity(top.len());
    let mut parents = BTreeMap::new();
    for (ns, members) in top {
        let mut others = Vec::new();
        let mut entity_types = Vec::new();
        let mut actions = Vec::new();
        for (key, raw) in members {
            if key == "entityTypes" {
                let declared: BTreeMap<&'static str, &'static RawValue> =
                    serde_json::from_str(raw.get()).ok()?;
                entity_types.extend(declared);
                continue;
            }
            if key != "actions" {
                others.push((key, raw));
                continue;
            }
            let declared: BTreeMap<&'static str, &'static RawValue> =
                serde_json::from_str(raw.get()).ok()?;
            for (name, raw) in declared {
                let meta: ActionMeta = serde_json::from_str(raw.get()).ok()?;
                let up = meta
                    .member_of
                    .into_iter()
                    .map(|p| {
                        let group_ns = match p.ty.as_deref() {
                            None | Some("Action") => Some(ns.to_owned()),
                            Some(ty) => action_namespace(ty),
                        };
                        group_ns.map(|g| (g, p.id))
                    })
                    .collect::<Option<Vec<_>>>()?;
                parents.insert((ns.to_owned(), name.to_owned()), up);
                actions.push((name, raw));
            }
        }
        let type_strings = entity_types
            .iter()
            .flat_map(|(t, _)| {
                let qualified = (!ns.is_empty()).then(|| format!("\"{ns}::{t}\""));
                std::iter::once(format!("\"{t}\"")).chain(qualified)
            })
            .collect();
        namespaces.push(Namespace {
            name: ns,
            others,
            entity_types,
            type_strings,
            actions,
        });
    }
    Some(Index {
        namespaces,
        parents,
    })
}

/// Takes the embedded schema apart ahead of the first [`cut`] (on a thread that waits
/// anyway). `false` when it does not have the expected form.
pub(crate) fn warm_up() -> bool {
    index().is_some()
}

/// The namespace of an action entity type (`file_system::Action` -> `file_system`,
/// `Action` -> the empty namespace), or `None` for another type.
fn action_namespace(ty: &str) -> Option<String> {
    if ty == "Action" {
        return Some(String::new());
    }
    ty.strip_suffix("::Action").map(str::to_owned)
}

/// What policies name: the action literals, and every string (entity types among them).
#[derive(Debug, Default)]
pub(crate) struct Named {
    pub(crate) actions: BTreeSet<ActionName>,
    pub(crate) strings: BTreeSet<String>,
}

/// Adds to `named` every action literal and every string in `est` (a policy in Cedar's
/// JSON form). `false` when the policy mentions `Action` other than in an action literal
/// (then only the whole schema is known to validate it alike).
pub(crate) fn scan(est: &Value, named: &mut Named) -> bool {
    match est {
        Value::Object(map) => {
            if let (2, Some(Value::String(ty)), Some(Value::String(id))) =
                (map.len(), map.get("type"), map.get("id"))
            {
                named.strings.insert(ty.clone());
                return match action_namespace(ty) {
                    Some(ns) => {
                        named.actions.insert((ns, id.clone()));
                        true
                    }
                    None => !ty.contains("Action"),
                };
            }
            map.iter()
                .all(|(k, v)| !k.contains("Action") && scan(v, named))
        }
        Value::Array(items) => items.iter().all(|v| scan(v, named)),
        Value::String(s) => {
            named.strings.insert(s.clone());
            !s.contains("Action")
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The schema for a set that names `named` (and no action in any other way): its JSON
/// text and the actions it keeps. `None` when the whole schema is needed: an action the
/// schema does not declare, or a cut that keeps every action.
pub(crate) fn cut(named: &Named) -> Option<(String, BTreeSet<ActionName>)> {
    let index = index()?;
    let named_strings = &named.strings;
    let named = &named.actions;
    if !named.iter().all(|a| index.parents.contains_key(a)) {
        return None;
    }
    let mut keep = BTreeSet::new();
    for action in index.parents.keys() {
        let up = ancestors(index, action);
        if named.contains(action) || up.iter().any(|g| named.contains(g)) {
            keep.insert(action.clone());
            keep.extend(up);
        }
    }
    if keep.len() == index.parents.len() {
        return None;
    }
    let types = namespaces_of_types(index, &keep, named_strings)?;
    let mut json = String::from("{");
    for (n, ns) in index.namespaces.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        push_key(&mut json, ns.name);
        json.push('{');
        for (key, raw) in &ns.others {
            push_key(&mut json, key);
            json.push_str(raw.get());
            json.push(',');
        }
        push_key(&mut json, "entityTypes");
        json.push('{');
        if types.contains(ns.name) {
            for (t, (name, raw)) in ns.entity_types.iter().enumerate() {
                if t > 0 {
                    json.push(',');
                }
                push_key(&mut json, name);
                json.push_str(raw.get());
            }
        }
        json.push_str("},");
        push_key(&mut json, "actions");
        json.push('{');
        let mut first = true;
        for (name, raw) in &ns.actions {
            if !keep.contains(&(ns.name.to_owned(), (*name).to_owned())) {
                continue;
            }
            if !first {
                json.push(',');
            }
            first = false;
            push_key(&mut json, name);
            json.push_str(raw.get());
        }
        json.push_str("}}");
    }
    json.push('}');
    Some((json, keep))
}

/// The namespaces whose entity types a cut keeping the actions `keep` for policies naming
/// `strings` keeps: see the module docs.
fn namespaces_of_types(
    index: &Index,
    keep: &BTreeSet<ActionName>,
    strings: &BTreeSet<String>,
) -> Option<BTreeSet<&'static str>> {
    let mut kept = BTreeSet::from([""]);
    // What the kept declarations name: the kept actions, and the members kept whole
    // (common types).
    let mut texts: Vec<&'static str> = Vec::new();
    for (ns, name) in keep {
        let declared = index.namespaces.iter().find(|n| n.name == ns)?;
        kept.insert(declared.name);
        texts.push(declared.action(name)?.get());
    }
    for ns in &index.namespaces {
        texts.extend(ns.others.iter().map(|(_, raw)| raw.get()));
        if strings.iter().any(|s| ns.names_a_type(s)) {
            kept.insert(ns.name);
        }
    }
    // Then the entity types of every kept namespace, until nothing more is added.
    let mut scanned = BTreeSet::new();
    loop {
        for ns in &index.namespaces {
            if texts.iter().any(|raw| ns.named_in(raw)) {
                kept.insert(ns.name);
            }
        }
        texts.clear();
        for ns in &index.namespaces {
            if kept.contains(ns.name) && scanned.insert(ns.name) {
                texts.extend(ns.entity_types.iter().map(|(_, raw)| raw.get()));
            }
        }
        if texts.is_empty() {
            return Some(kept);
        }
    }
}

/// Every group `action` is in, directly or through other groups.
fn ancestors(index: &Index, action: &ActionName) -> BTreeSet<ActionName> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&ActionName> = vec![action];
    while let Some(a) = todo.pop() {
        for p in index.parents.get(a).into_iter().flatten() {
            if seen.insert(p.clone()) {
                todo.push(p);
            }
        }
    }
    seen
}

/// Whether the embedded schema declares `action` (its namespace and id).
pub(crate) fn declares(namespace: &str, id: &str) -> bool {
    index().is_some_and(|i| {
        i.parents
            .contains_key(&(namespace.to_owned(), id.to_owned()))
    })
}

/// `"key":` with `key` escaped as JSON.
fn push_key(json: &mut String, key: &str) {
    json.push_str(&Value::String(key.to_owned()).to_string());
    json.push(':');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;

    use cedar_policy::{Policy, Schema};

    use super::{ActionName, Named, cut, scan};

    fn named(policy: &str) -> Option<BTreeSet<ActionName>> {
        let est = Policy::parse(None, policy).unwrap().to_json().unwrap();
        let mut out = Named::default();
        scan(&est, &mut out).then_some(out.actions)
    }

    fn actions(list: &[ActionName]) -> Named {
        Named {
            actions: list.iter().cloned().collect(),
            strings: BTreeSet::new(),
        }
    }

    fn a(ns: &str, id: &str) -> ActionName {
        (ns.to_owned(), id.to_owned())
    }

    #[test]
    fn literals_in_scope_and_conditions_are_found() {
        let found = named(
            r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource)
               when { action != network::Action::"GET" || context has x };"#,
        )
        .unwrap();
        assert_eq!(
            found,
            BTreeSet::from([
                a("file_system", "open"),
                a("file_system", "read"),
                a("network", "GET")
            ])
        );
    }

    #[test]
    fn action_mentioned_otherwise_needs_the_whole_schema() {
        for policy in [
            r#"permit(principal, action == file_system::Action::"read", resource) when { action is network::Action };"#,
            r#"permit(principal, action == file_system::Action::"read", resource) when { resource.path == "Action" };"#,
            r#"permit(principal, action == file_system::Action::"read", resource) when { context has Action };"#,
        ] {
            assert_eq!(named(policy), None, "{policy}");
        }
    }

    #[test]
    fn the_cut_keeps_members_of_named_groups_and_groups_of_kept_actions() {
        let (json, keep) = cut(&actions(&[a("file_system", "read")])).unwrap();
        assert_eq!(
            keep,
            BTreeSet::from([a("file_system", "read"), a("file_system", "SafeIO")])
        );
        let schema = Schema::from_json_str(&json).unwrap();
        assert_eq!(schema.actions().count(), 2);
        // The entity types of the empty namespace and of `file_system`, whole.
        let mut types: Vec<String> = schema.entity_types().map(ToString::to_string).collect();
        types.sort();
        assert_eq!(
            types,
            [
                "User",
                "file_system::Arguments",
                "file_system::Dir",
                "file_system::Environment",
                "file_system::File"
            ]
        );
        // A type of another namespace named in a policy keeps that namespace's types.
        let mut named = actions(&[a("file_system", "read")]);
        named.strings.insert("systemd::Service".to_owned());
        let (json, _) = cut(&named).unwrap();
        let schema = Schema::from_json_str(&json).unwrap();
        assert!(
            schema
                .entity_types()
                .any(|t| t.to_string() == "systemd::Systemd")
        );

        let (_, keep) = cut(&actions(&[a("network", "NetworkAction")])).unwrap();
        for id in ["NetworkAction", "GET", "POST", "PUT", "DELETE", "connect"] {
            assert!(keep.contains(&a("network", id)), "{id} in {keep:?}");
        }
        assert!(keep.iter().all(|(ns, _)| ns == "network"));
    }

    #[test]
    fn unknown_actions_and_the_whole_set_are_not_cut() {
        assert_eq!(cut(&actions(&[a("file_system", "raed")])), None);
        let all: Vec<ActionName> = super::index().unwrap().parents.keys().cloned().collect();
        assert_eq!(cut(&actions(&all)), None);
    }
}
