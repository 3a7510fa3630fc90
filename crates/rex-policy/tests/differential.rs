#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The gate's policy index, its decision memo and the schema cut to the actions a set
//! names never change a decision: compared with plain Cedar (whole policy set, the whole
//! schema, entities validated against it) on randomly generated policies and requests.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use rex_policy::{
    Action, CanonicalPath, Gate, Policies, Resource, Verdict, action::fs, schema::schema,
};

mod common;
use common::Rng;

const PATHS: &[&str] = &[
    "/",
    "/a",
    "/a/b",
    "/a/b/c.txt",
    "/a/b/d.txt",
    "/a/e",
    "/a/e/f.log",
    "/g",
    "/g/h.txt",
];
const ACTIONS: &[Action] = &[fs::OPEN, fs::READ, fs::WRITE, fs::DELETE, fs::STAT];

/// A random policy; with `explicit`, its action scope always names actions (so the set is
/// validated and decided against the schema cut to them).
fn policy(rng: &mut Rng, explicit: bool) -> String {
    let effect = if rng.next().is_multiple_of(4) {
        "forbid"
    } else {
        "permit"
    };
    let action = match rng.next() % 4 {
        0 if !explicit => "action".to_owned(),
        0 => format!("action == {}", rng.pick(ACTIONS)),
        1 => format!("action == {}", rng.pick(ACTIONS)),
        2 => format!("action in [{}, {}]", rng.pick(ACTIONS), rng.pick(ACTIONS)),
        _ => "action in file_system::Action::\"SafeIO\"".to_owned(),
    };
    let path = rng.pick(PATHS);
    let is_file = path.ends_with(".txt") || path.ends_with(".log");
    let resource = match rng.next() % 8 {
        0 => "resource".to_owned(),
        1 if is_file => format!("resource == file_system::File::\"{path}\""),
        1 | 2 if !is_file => format!("resource in file_system::Dir::\"{path}\""),
        2 => format!("resource == file_system::File::\"{path}\""),
        3 => "resource is file_system::File".to_owned(),
        // The index reads a lone `when { resource == E }` as a scope.
        5 | 6 => {
            let ty = if is_file { "File" } else { "Dir" };
            let cond = if rng.next().is_multiple_of(2) {
                format!("resource == file_system::{ty}::\"{path}\"")
            } else {
                format!("file_system::{ty}::\"{path}\" == resource")
            };
            return format!("{effect}(principal, {action}, resource) when {{ {cond} }};");
        }
        7 if !is_file => format!("resource is file_system::File in file_system::Dir::\"{path}\""),
        _ => format!(
            "resource == file_system::Dir::\"{}\"",
            rng.pick(&["/a", "/a/b", "/g", "/"])
        ),
    };
    let condition = match rng.next() % 4 {
        0 => format!(
            " when {{ resource.path like \"*{}*\" }}",
            rng.pick(&["b", "txt", "e", "/"])
        ),
        1 => " unless { resource.path == \"/a/b/d.txt\" }".to_owned(),
        // An action literal in a condition (of an action the scope may not name).
        2 if explicit => format!(" when {{ action != {} }}", rng.pick(ACTIONS)),
        _ => String::new(),
    };
    format!("{effect}(principal, {action}, {resource}){condition};")
}

fn reference(set: &PolicySet, action: Action, resource: &Resource) -> (bool, BTreeSet<String>) {
    let schema = schema().unwrap();
    let mut entities = vec![Entity::new_no_attrs(
        EntityUid::from_str(r#"User::"alice""#).unwrap(),
        HashSet::new(),
    )];
    let path = CanonicalPath::new(resource.id()).unwrap();
    let mut parents = HashSet::new();
    if let Some(p) = path.parent() {
        parents.insert(EntityUid::from_str(&format!("file_system::Dir::\"{p}\"")).unwrap());
    }
    for dir in path.ancestors() {
        let up: HashSet<EntityUid> = dir
            .parent()
            .into_iter()
            .map(|u| EntityUid::from_str(&format!("file_system::Dir::\"{u}\"")).unwrap())
            .collect();
        let attrs = HashMap::from([(
            "path".to_owned(),
            RestrictedExpression::new_string(dir.to_string()),
        )]);
        entities.push(
            Entity::new(
                EntityUid::from_str(&format!("file_system::Dir::\"{dir}\"")).unwrap(),
                attrs,
                up,
            )
            .unwrap(),
        );
    }
    let uid = EntityUid::from_str(&resource.to_string()).unwrap();
    let attrs = HashMap::from([(
        "path".to_owned(),
        RestrictedExpression::new_string(resource.id().to_owned()),
    )]);
    entities.push(Entity::new(uid.clone(), attrs, parents).unwrap());
    let entities = Entities::from_entities(entities, Some(schema)).unwrap();
    let action_uid = EntityUid::from_str(&action.to_string()).unwrap();
    // An action that does not apply to the resource type (e.g. `write` on a Dir) is an
    // invalid request: refused, with no determining policy.
    let Ok(request) = Request::new(
        EntityUid::from_str(r#"User::"alice""#).unwrap(),
        action_uid,
        uid,
        Context::empty(),
        Some(schema),
    ) else {
        return (false, BTreeSet::new());
    };
    let response = Authorizer::new().is_authorized(&request, set, &entities);
    (
        response.decision() == Decision::Allow,
        response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect(),
    )
}

#[test]
fn indexed_and_memoized_gate_matches_plain_cedar() {
    let (compared, _) = compare(&mut Rng(0x9E37_79B9_7F4A_7C15), false);
    assert!(compared > 2000, "only {compared} comparisons");
}

/// Sets that name their actions are decided with the schema cut to them; a request for an
/// action none of them names is denied without Cedar, as Cedar denies it.
#[test]
fn gate_over_a_cut_schema_matches_plain_cedar() {
    let (compared, cut) = compare(&mut Rng(0x2545_F491_4F6C_DD1D), true);
    assert!(compared > 2000, "only {compared} comparisons");
    assert!(cut >= 20, "only {cut} sets were cut");
}

/// Random sets and requests, each decided by the gate (twice: the second from the memo)
/// and by plain Cedar. Returns the number of comparisons and of sets the gate decided
/// with a cut schema.
fn compare(rng: &mut Rng, explicit: bool) -> (usize, usize) {
    let mut compared = 0;
    let mut cut = 0;
    for _round in 0..40 {
        let n = 1 + (rng.next() % 30) as usize;
        let text: String = (0..n).map(|_| policy(rng, explicit) + "\n").collect();
        let Ok(policies) = Policies::from_text("r.cedar", &text) else {
            continue;
        };
        if policies.cut_actions().is_some() {
            cut += 1;
        }
        // The reference is Cedar's own parse of the whole text (the gate parses one policy
        // per shape at load and the others on demand; its ids are Cedar's `policy<N>`).
        let set = PolicySet::from_str(&text).unwrap();
        let gate = Gate::builder().principal("alice").build(policies).unwrap();
        for _ in 0..60 {
            let picked: &&str = rng.pick(PATHS);
            let path = CanonicalPath::new(picked).unwrap();
            let resource = if rng.next().is_multiple_of(2) {
                Resource::file(&path)
            } else {
                Resource::dir(&path)
            };
            let action = *rng.pick(ACTIONS);
            let (allow, reasons) = reference(&set, action, &resource);
            // Twice: the second answer comes from the memo.
            for _ in 0..2 {
                let got = match gate.explain(action, &resource, serde_json::json!({})) {
                    Verdict::Allowed(refs) => (
                        true,
                        refs.into_iter().map(|r| r.id).collect::<BTreeSet<_>>(),
                    ),
                    Verdict::Denied(d) => match d.reason() {
                        rex_policy::DenyReason::Forbidden(refs) => {
                            (false, refs.iter().map(|r| r.id.clone()).collect())
                        }
                        _ => (false, BTreeSet::new()),
                    },
                };
                let checked = gate.check(action, &resource).is_ok();
                assert_eq!(
                    got,
                    (allow, reasons.clone()),
                    "policies:\n{text}\nrequest: {action} {resource}"
                );
                assert_eq!(checked, allow);
                compared += 1;
            }
        }
    }
    (compared, cut)
}
