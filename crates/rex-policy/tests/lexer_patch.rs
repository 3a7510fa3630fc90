#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The vendored lalrpop-util (`vendor/lalrpop-util`, see its `REX-PATCH.md`) shares one
//! compiled lexer among Cedar's parsers, hands lazy-DFA caches from one parse to the
//! next, and ships the policy grammar's lexer precompiled. These tests check that a parse
//! gives the same result whatever the parses before it and beside it (the same policies,
//! the same names, the same errors at the same places, from many threads at once), and
//! that the precompiled lexer is used and lexes as the one compiled at run time.

use std::str::FromStr;

mod common;
use common::Rng;

use cedar_policy::{EntityTypeName, Policy, PolicySet, SchemaFragment};

/// Texts that go through different parsers of Cedar's grammar and visit different lexer
/// states: policies (with strings, comments, Unicode, extension calls) and broken ones.
const POLICIES: &[&str] = &[
    r#"permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/tmp");"#,
    r#"// a comment with ünïcödé and "quotes"
forbid(principal == User::"älice", action in [file_system::Action::"read"], resource)
when { resource.path like "/etc/*" && context has size };"#,
    r#"permit(principal, action, resource) when { ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) };"#,
    r#"permit(principal, action, resource) unless { decimal("1.5").lessThan(decimal("2.0")) };"#,
    r#"permit(principal, action, resource) when { "emoji 🦀 \" escaped" == "x" };"#,
    r#"permit(principal, action, resource) when { 1 + };"#,
    r#"permit(principal, action, resource) when { "unterminated };"#,
    r#"permit(principal, action, resource) when { resource.path ` 1 };"#,
];

const NAMES: &[&str] = &[
    "Action",
    "file_system::File",
    "process_system::Process",
    "a::b::c::D",
    "bad name",
    "9starts_with_digit",
    "trailing::",
];

/// What a parse gave: the policy as Cedar prints it, or the error with its offsets.
fn policy_outcome(text: &str) -> String {
    match Policy::parse(None, text) {
        Ok(p) => format!("ok {p}"),
        Err(e) => format!("err {e} {:?}", miette_offsets(&e)),
    }
}

fn set_outcome(text: &str) -> String {
    match PolicySet::from_str(text) {
        Ok(set) => format!("ok {set}"),
        Err(e) => format!("err {e}"),
    }
}

/// Cedar's schema syntax is a second grammar, so a second compiled lexer.
fn schema_outcome(text: &str) -> String {
    match SchemaFragment::from_cedarschema_str(text) {
        Ok((fragment, _)) => format!("ok {}", fragment.to_json_string().unwrap_or_default()),
        Err(e) => format!("err {e}"),
    }
}

const SCHEMAS: &[&str] = &[
    "namespace n { entity User; entity File in [User] { path: String }; action read appliesTo { principal: User, resource: File }; }",
    "entity Thing { \"quoted attr\": Long }; action \"do it\";",
    "namespace broken { entity ; }",
];

fn name_outcome(text: &str) -> String {
    match EntityTypeName::from_str(text) {
        Ok(n) => format!("ok {n}"),
        Err(e) => format!("err {e}"),
    }
}

fn miette_offsets(e: &cedar_policy::ParseErrors) -> Vec<(usize, usize)> {
    use miette::Diagnostic;
    e.labels()
        .into_iter()
        .flatten()
        .map(|l| (l.offset(), l.len()))
        .collect()
}

/// Every outcome, in a fixed order, after `rounds` passes that mix the parsers.
fn all_outcomes(rounds: usize, skew: usize) -> Vec<String> {
    let mut out = Vec::new();
    for round in 0..rounds {
        for i in 0..POLICIES.len() {
            let p = POLICIES[(i + skew + round) % POLICIES.len()];
            let n = NAMES[(i + skew * 3 + round) % NAMES.len()];
            out.push(policy_outcome(p));
            out.push(name_outcome(n));
            out.push(set_outcome(&POLICIES[..=i % 4].join("\n")));
            out.push(schema_outcome(SCHEMAS[(i + skew) % SCHEMAS.len()]));
        }
    }
    out
}

#[test]
fn results_do_not_depend_on_earlier_parses() {
    // Each text parsed alone, first thing of a fresh cache is impossible to arrange in one
    // process, so compare against the same texts parsed in other orders: an outcome that
    // depended on leftover cache state would differ between orders.
    let expected_policy: Vec<String> = POLICIES.iter().map(|p| policy_outcome(p)).collect();
    let expected_name: Vec<String> = NAMES.iter().map(|n| name_outcome(n)).collect();
    for _ in 0..3 {
        for (i, p) in POLICIES.iter().enumerate().rev() {
            assert_eq!(policy_outcome(p), expected_policy[i], "policy {i}");
        }
        for (i, n) in NAMES.iter().enumerate().rev() {
            assert_eq!(name_outcome(n), expected_name[i], "name {n}");
        }
    }
    // The broken texts are refused, the good ones parse.
    assert!(expected_policy[..5].iter().all(|o| o.starts_with("ok ")));
    assert!(expected_policy[5..].iter().all(|o| o.starts_with("err ")));
    assert!(expected_name[..4].iter().all(|o| o.starts_with("ok ")));
    assert!(expected_name[4..].iter().all(|o| o.starts_with("err ")));
    let schemas: Vec<String> = SCHEMAS.iter().map(|s| schema_outcome(s)).collect();
    assert!(
        schemas[0].starts_with("ok ") && schemas[1].starts_with("ok "),
        "{schemas:?}"
    );
    assert!(schemas[2].starts_with("err "));
}

#[test]
fn threads_parsing_at_once_get_the_single_thread_results() {
    let skews = [0usize, 1, 2, 3, 5, 7];
    let expected: Vec<Vec<String>> = skews.iter().map(|&s| all_outcomes(4, s)).collect();
    for _ in 0..5 {
        let handles: Vec<_> = skews
            .iter()
            .map(|&s| std::thread::spawn(move || all_outcomes(4, s)))
            .collect();
        for (h, want) in handles.into_iter().zip(&expected) {
            assert_eq!(&h.join().unwrap(), want);
        }
    }
}

/// The token set of Cedar's policy grammar (the one with `permit`), registered by a parse.
fn policy_token_set() -> Vec<(String, bool)> {
    let _ = Policy::parse(None, POLICIES[0]);
    lalrpop_util::lexer::token_sets()
        .into_iter()
        .find(|set| set.iter().any(|(regex, _)| regex == "(?:permit)"))
        .expect("a policy parse registered the policy grammar's token set")
}

/// Cedar's policy grammar lexes with the precompiled DFA (so no run compiles it). After a
/// Cedar upgrade that changes the grammar's tokens this fails: regenerate the DFA with
/// `REX_BLESS_LEXER=1 cargo test -p rex-policy --test lexer_patch`.
#[test]
fn the_policy_grammar_uses_the_precompiled_lexer() {
    let set = policy_token_set();
    if std::env::var_os("REX_BLESS_LEXER").is_some() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vendor/lalrpop-util/src/lexer"
        );
        let bytes = lalrpop_util::lexer::precompile(&set).unwrap();
        std::fs::write(format!("{dir}/cedar-policy.dfa"), bytes).unwrap();
        let source = std::fs::read_to_string(format!("{dir}/precompiled.rs")).unwrap();
        let start = source.find("pub(crate) const TOKENS").unwrap();
        let end = start + source[start..].find("];").unwrap() + 2;
        let mut tokens = String::from("pub(crate) const TOKENS: &[(&str, bool)] = &[\n");
        for (regex, skip) in &set {
            tokens.push_str(&format!("    ({regex:?}, {skip}),\n"));
        }
        tokens.push_str("];");
        std::fs::write(
            format!("{dir}/precompiled.rs"),
            format!("{}{tokens}{}", &source[..start], &source[end..]),
        )
        .unwrap();
        return;
    }
    let builder =
        lalrpop_util::lexer::MatcherBuilder::new(set.iter().map(|(r, s)| (r.as_str(), *s)))
            .unwrap();
    assert!(
        builder.is_precompiled(),
        "Cedar's policy tokens differ from the precompiled lexer's: regenerate it with \
         `REX_BLESS_LEXER=1 cargo test -p rex-policy --test lexer_patch`"
    );
}

/// The precompiled DFA lexes every text exactly as the DFA compiled at run time from the
/// same token set: the same tokens at the same offsets, the same errors at the same places.
#[test]
fn the_precompiled_lexer_lexes_as_the_compiled_one() {
    use lalrpop_util::lexer::MatcherBuilder;
    let set = policy_token_set();
    let pairs = || set.iter().map(|(r, s)| (r.as_str(), *s));
    let precompiled = MatcherBuilder::new(pairs()).unwrap();
    let compiled = MatcherBuilder::compiled(pairs()).unwrap();
    assert!(precompiled.is_precompiled() && !compiled.is_precompiled());
    // Up to the first error, as a parser stops there (after an empty skipped match the
    // lexer reports the same error forever).
    let lex = |builder: &MatcherBuilder, text: &str| -> Vec<String> {
        let mut out = Vec::new();
        for token in builder.matcher::<()>(text) {
            out.push(format!("{token:?}"));
            if token.is_err() {
                break;
            }
        }
        out
    };
    let mut texts: Vec<String> = POLICIES
        .iter()
        .chain(NAMES)
        .chain(SCHEMAS)
        .map(|t| (*t).to_owned())
        .collect();
    texts.push(rex_policy::schema::SCHEMA_TEXT.to_owned());
    let pieces = [
        "a",
        "Z",
        "_",
        "0",
        "9",
        " ",
        "\t",
        "\n",
        "\r",
        "\u{a0}",
        "\u{85}",
        "\u{2028}",
        "\u{3000}",
        "\"",
        "\\",
        "/",
        "//",
        "*",
        "!",
        "=",
        "==",
        "<",
        ">",
        "&",
        "&&",
        "|",
        "?",
        "@",
        ":",
        "::",
        ";",
        ",",
        ".",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "+",
        "-",
        "%",
        "é",
        "🦀",
        "permit",
        "action",
        "in",
        "is",
        "?principal",
        "like",
        "true",
    ];
    let mut rng = Rng(0x853C_49E6_748F_EA9B);
    for _ in 0..5000 {
        let mut text = String::new();
        for _ in 0..rng.next() % 24 {
            text.push_str(rng.pick::<&str>(&pieces));
        }
        texts.push(text);
    }
    for text in &texts {
        assert_eq!(lex(&precompiled, text), lex(&compiled, text), "{text:?}");
    }
}
