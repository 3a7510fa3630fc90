#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! A set that names its actions is validated against the rex schema cut to them (see
//! `rex_policy::schema`); it must load exactly when Cedar, validating against the whole
//! schema, finds no error, and keep a warning exactly when Cedar warns. Compared on
//! randomly generated sets across namespaces, with attributes and context fields that
//! exist for some actions and types only, action literals and groups in conditions, and
//! type errors.

use std::str::FromStr;

use cedar_policy::{PolicySet, ValidationMode, Validator};
use rex_policy::{Policies, schema::schema};

mod common;
use common::Rng;

/// Per namespace: actions (and groups), resource scopes and conditions that fit them.
struct Family {
    actions: &'static [&'static str],
    resources: &'static [&'static str],
    conditions: &'static [&'static str],
}

const FAMILIES: &[Family] = &[
    Family {
        actions: &[
            r#"file_system::Action::"read""#,
            r#"file_system::Action::"open""#,
            r#"file_system::Action::"write""#,
            r#"file_system::Action::"move""#,
            r#"file_system::Action::"set_x_attr""#,
            r#"file_system::Action::"execute""#,
            r#"file_system::Action::"unmount""#,
            r#"file_system::Action::"SafeIO""#,
        ],
        resources: &[
            "resource",
            r#"resource == file_system::File::"/a""#,
            r#"resource in file_system::Dir::"/a""#,
            "resource is file_system::Dir",
        ],
        conditions: &[
            r#" when { resource.path like "/a/*" }"#,
            r#" when { context.destination.path == "/b" }"#,
            r#" when { context.xattr.name == "user.x" }"#,
            r#" when { context.arguments.keys.contains("-f") }"#,
            r#" when { context has capabilities }"#,
        ],
    },
    Family {
        actions: &[
            r#"network::Action::"GET""#,
            r#"network::Action::"connect""#,
            r#"network::Action::"NetworkAction""#,
        ],
        resources: &["resource", r#"resource == network::url::"http://x/""#],
        conditions: &[r#" when { resource.host == "x" && resource.port == 80 }"#],
    },
    Family {
        actions: &[
            r#"process_system::Action::"kill""#,
            r#"process_system::Action::"list""#,
            r#"process_system::Action::"ProcessAction""#,
        ],
        resources: &["resource", "resource is process_system::Process"],
        conditions: &[r#" when { resource.username == "root" }"#],
    },
    Family {
        actions: &[
            r#"systemd::Action::"restart""#,
            r#"systemd::Action::"daemon_reload""#,
            r#"systemd::Action::"SystemdAction""#,
        ],
        resources: &[
            "resource",
            r#"resource == systemd::Service::"nginx""#,
            "resource is systemd::Systemd",
        ],
        conditions: &[r#" when { resource.name == "nginx" }"#],
    },
    Family {
        actions: &[r#"sysinfo::Action::"list""#, r#"sysctl::Action::"load""#],
        resources: &["resource", "resource is sysinfo::Uname"],
        conditions: &[" unless { principal == User::\"bob\" }"],
    },
];

/// Conditions that fit any request, or none.
const ANY_CONDITIONS: &[&str] = &[
    "",
    "",
    " unless { principal == User::\"bob\" }",
    " when { 1 + \"a\" == 2 }",
    " when { false }",
];

fn policy(rng: &mut Rng) -> String {
    let effect = *rng.pick(&["permit", "forbid"]);
    // Mostly one namespace's actions, resources and conditions; sometimes mixed (mostly
    // type errors or policies that can never apply).
    let mixed = rng.next().is_multiple_of(5);
    let family = rng.pick(FAMILIES);
    let from = |rng: &mut Rng, pick: fn(&Family) -> &'static [&'static str]| -> &'static str {
        let f = if mixed { rng.pick(FAMILIES) } else { family };
        let options: &'static [&'static str] = pick(f);
        rng.pick::<&'static str>(options)
    };
    let action = match rng.next() % 3 {
        0 => format!("action == {}", from(rng, |f| f.actions)),
        1 => format!(
            "action in [{}, {}]",
            from(rng, |f| f.actions),
            from(rng, |f| f.actions)
        ),
        _ => format!("action in {}", from(rng, |f| f.actions)),
    };
    let resource = from(rng, |f| f.resources);
    let mut condition = if rng.next().is_multiple_of(2) {
        (*rng.pick(ANY_CONDITIONS)).to_owned()
    } else {
        from(rng, |f| f.conditions).to_owned()
    };
    // An action literal or group in a condition, of an action the scope may not name.
    let other = rng.pick(FAMILIES);
    match rng.next() % 4 {
        0 => condition.push_str(&format!(
            " when {{ action != {} }}",
            rng.pick(other.actions)
        )),
        1 => condition.push_str(&format!(
            " unless {{ action in {} }}",
            rng.pick(other.actions)
        )),
        _ => {}
    }
    format!("{effect}(principal, {action}, {resource}){condition};")
}

/// Cedar on the whole text and the whole schema: (has errors, has warnings).
fn reference(text: &str) -> (bool, bool) {
    let set = PolicySet::from_str(text).unwrap();
    let validator = Validator::new(schema().unwrap().clone());
    let result = validator.validate(&set, ValidationMode::Strict);
    (
        result.validation_errors().next().is_some(),
        result.validation_warnings().next().is_some(),
    )
}

#[test]
fn the_cut_schema_validates_as_the_whole_schema() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut valid, mut invalid, mut warned, mut cut) = (0, 0, 0, 0);
    for _ in 0..600 {
        let n = 1 + (rng.next() % 3) as usize;
        let text: String = (0..n).map(|_| policy(&mut rng) + "\n").collect();
        let (errors, warnings) = reference(&text);
        match Policies::from_text("s.cedar", &text) {
            Ok(policies) => {
                assert!(!errors, "loaded, but Cedar finds errors:\n{text}");
                assert_eq!(
                    !policies.warnings().is_empty(),
                    warnings,
                    "warnings differ:\n{text}"
                );
                if warnings {
                    warned += 1;
                } else {
                    valid += 1;
                }
                if policies.cut_actions().is_some() {
                    cut += 1;
                }
            }
            Err(e) => {
                assert!(errors, "refused, but Cedar finds no error:\n{text}\n{e}");
                invalid += 1;
            }
        }
    }
    eprintln!("valid {valid}, invalid {invalid}, warned {warned}, cut {cut}");
    // Every outcome is exercised, and most valid sets went through a cut schema.
    assert!(
        valid >= 60 && invalid >= 60 && warned >= 10,
        "valid {valid}, invalid {invalid}, warned {warned}"
    );
    assert!(
        cut * 2 >= valid,
        "only {cut} of {valid} valid sets were cut"
    );
}
