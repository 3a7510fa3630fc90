#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The function reference (`rex functions`) and the engine's registrations agree.

use std::collections::BTreeSet;

use rex_engine::bindings::all_docs;
use rex_engine::registered_function_names;

/// Generic conversions and operators every type gets; documented once in the README.
const GENERIC: &[&str] = &[
    "to_string",
    "to_debug",
    "to_map",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    // DateTime arithmetic (documented in the `DateTime` entry).
    "+",
    "-",
    "build",
    "publish",
];

fn documented() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for d in all_docs() {
        let bare = d.name.rsplit(['.', ':']).next().unwrap_or(d.name);
        if !bare.is_empty() {
            names.insert(bare.to_owned());
        }
        // Functions in static modules (`tail::n`) are registered under their full name.
        names.insert(d.name.to_owned());
        // Builder setters and accessors are documented in the summary/signature as `.name(`.
        for text in [d.summary, d.signature] {
            for part in text.split('.').skip(1) {
                let word: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !word.is_empty() && part[word.len()..].starts_with('(') {
                    names.insert(word);
                }
            }
        }
    }
    names
}

#[test]
fn every_registered_function_is_documented() {
    let docs = documented();
    let missing: Vec<String> = registered_function_names()
        .into_iter()
        .filter(|n| {
            !n.starts_with("get$") && !n.starts_with("set$") && !GENERIC.contains(&n.as_str())
        })
        .filter(|n| !docs.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "registered but not in `rex functions`: {missing:?}"
    );
}

#[test]
fn every_documented_function_is_registered() {
    let registered: BTreeSet<String> = registered_function_names().into_iter().collect();
    let missing: Vec<&str> = all_docs()
        .iter()
        // `print` and `debug` are Rhai built-ins the engine routes to the script log.
        .filter(|d| !d.signature.contains("::{") && !d.name.ends_with("::"))
        .filter(|d| !matches!(d.name, "print" | "debug"))
        .map(|d| d.name.rsplit(['.', ':']).next().unwrap_or(d.name))
        .filter(|n| !registered.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "documented but not registered: {missing:?}"
    );
}
