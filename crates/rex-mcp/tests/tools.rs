#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The tools' logic against real policy files: check_script, explain_denial,
//! list_functions.

use rex_mcp::AgentIdentity;
use rex_mcp::check::check;
use rex_mcp::explain::explain;
use rex_mcp::reference::reference;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    identity: AgentIdentity,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let r = root.display();
    let policy = root.join("agent.cedar");
    std::fs::write(
        &policy,
        format!(
            r#"@id("open-root")
permit (principal == User::"agent", action == file_system::Action::"open", resource == file_system::Dir::"{r}");
@id("read-data")
permit (principal == User::"agent", action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"{r}/data.txt");
@id("no-secret")
forbid (principal, action, resource == file_system::File::"{r}/secret.txt");
"#
        ),
    )
    .unwrap();
    let identity = AgentIdentity::load("agent", &policy).unwrap();
    Fixture {
        _dir: dir,
        root,
        identity,
    }
}

#[test]
fn check_reports_a_syntax_error_with_its_position() {
    let f = fixture();
    let report = check(&f.identity, "let a = 1;\nlet b = (a + ;\n", None);
    assert!(!report.compiles);
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert_eq!(report.errors[0].line, 2, "{report:?}");
    assert!(report.errors[0].column > 0, "{report:?}");
    assert!(report.calls.is_empty());
}

#[test]
fn check_knows_argument_names_and_rejects_bad_arguments() {
    let f = fixture();
    let args = serde_json::json!({"path": {"stringValue": "/x"}});
    let report = check(&f.identity, "cat(path)", Some(&args));
    assert!(report.compiles, "{report:?}");
    // Without the argument, `path` is an undefined variable (strict variables).
    let report = check(&f.identity, "cat(path)", None);
    assert!(!report.compiles, "{report:?}");
    let bad = serde_json::json!({"path": {"noSuchType": 1}});
    let report = check(&f.identity, "cat(path)", Some(&bad));
    assert!(!report.compiles);
    assert!(
        report.errors[0].message.starts_with("arguments:"),
        "{report:?}"
    );
}

#[test]
fn check_lists_calls_actions_and_decides_literal_requests() {
    let f = fixture();
    let r = f.root.display();
    let script = format!(
        "let a = cat(\"{r}/data.txt\");\nlet b = cat(\"{r}/secret.txt\");\nlet c = cat(\"{r}/other.txt\");\nlet p = ps();\na + b + c"
    );
    let report = check(&f.identity, &script, None);
    assert!(report.compiles, "{report:?}");
    assert_eq!(report.principal, "agent");
    let functions: Vec<&str> = report.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["cat", "cat", "cat", "ps"], "{report:?}");
    assert_eq!(report.calls[1].line, 2);
    for want in [
        r#"file_system::Action::"open""#,
        r#"file_system::Action::"read""#,
        r#"process_system::Action::"list""#,
    ] {
        assert!(
            report.actions.iter().any(|a| a == want),
            "{want} in {:?}",
            report.actions
        );
    }
    let decision = |line: usize, action: &str| {
        report
            .literal_requests
            .iter()
            .find(|l| {
                l.line == line
                    && l.action == format!("file_system::Action::\"{action}\"")
                    && l.resource.starts_with("file_system::File::")
            })
            .unwrap_or_else(|| panic!("no {action} request on line {line}: {report:?}"))
    };
    assert_eq!(decision(1, "read").decision, "ALLOW");
    let secret = decision(2, "read");
    assert_eq!(
        (secret.decision, secret.reason),
        ("DENY", "forbid"),
        "{secret:?}"
    );
    assert_eq!(
        secret.suggested_permit, None,
        "a forbid cannot be permitted"
    );
    let other = decision(3, "read");
    assert_eq!((other.decision, other.reason), ("DENY", "no_permit"));
    assert_eq!(
        other.suggested_permit.as_deref(),
        Some(
            format!(
                "permit (principal == User::\"agent\", action == file_system::Action::\"read\", resource == file_system::File::\"{r}/other.txt\");"
            )
            .as_str()
        )
    );
    // The parent directory's `open` is previewed too, and allowed.
    assert!(report.literal_requests.iter().any(|l| l.line == 1
        && l.resource == format!("file_system::Dir::\"{r}\"")
        && l.decision == "ALLOW"));
}

#[test]
fn check_matches_methods_and_urls() {
    let f = fixture();
    let script =
        "let c = Client();\nlet r = c.get(\"https://example.com/health\").send();\nr.status";
    let report = check(&f.identity, script, None);
    assert!(report.compiles, "{report:?}");
    let send = report.calls.iter().find(|c| c.function == ".send").unwrap();
    assert_eq!(send.matches, ["Request.send"]);
    let get = report
        .literal_requests
        .iter()
        .find(|l| l.action == r#"network::Action::"GET""#)
        .unwrap_or_else(|| panic!("{report:?}"));
    assert!(
        get.resource.contains("https://example.com/health"),
        "{get:?}"
    );
    assert_eq!(get.decision, "DENY");
}

#[test]
fn explain_allows_denies_and_cites_policies() {
    let f = fixture();
    let r = f.root.display();
    let allowed = explain(
        &f.identity,
        "file_system::read",
        &format!("file_system::File::\"{r}/data.txt\""),
        None,
        None,
    )
    .unwrap();
    assert_eq!(allowed.decision, "ALLOW");
    assert_eq!(allowed.policies[0].id, "read-data");
    assert_eq!(
        allowed.policies[0].line, 3,
        "the line of its `@id` annotation"
    );

    let forbidden = explain(
        &f.identity,
        r#"file_system::Action::"read""#,
        &format!("file_system::File::\"{r}/secret.txt\""),
        None,
        None,
    )
    .unwrap();
    assert_eq!((forbidden.decision, forbidden.reason), ("DENY", "forbid"));
    assert_eq!(forbidden.policies[0].id, "no-secret");
    assert!(forbidden.explanation.contains("forbid overrides"));

    let unknown = explain(
        &f.identity,
        "file_system::write",
        &format!("file_system::File::\"{r}/data.txt\""),
        None,
        None,
    )
    .unwrap();
    assert_eq!((unknown.decision, unknown.reason), ("DENY", "no_permit"));
    assert!(
        unknown
            .suggested_permit
            .unwrap()
            .contains(r#"action == file_system::Action::"write""#)
    );
}

#[test]
fn explain_rejects_malformed_requests_with_the_value() {
    let f = fixture();
    let err = explain(
        &f.identity,
        "file_system::opne",
        "file_system::File::\"/x\"",
        None,
        None,
    )
    .unwrap_err();
    assert!(err.0.contains("`file_system::opne`"), "{err}");
    let err = explain(
        &f.identity,
        "file_system::read",
        "file_system::File::\"/x\"",
        Some(&serde_json::json!([1])),
        None,
    )
    .unwrap_err();
    assert!(err.0.contains("context"), "{err}");
    let err = explain(
        &f.identity,
        "network::GET",
        "network::url::\"https://example.com/\"",
        None,
        Some(&serde_json::json!({"colour": "blue"})),
    )
    .unwrap_err();
    assert!(err.0.contains("`colour`"), "{err}");
}

#[test]
fn reference_filters_by_domain_and_query() {
    let all = reference(None, None);
    assert_eq!(all.count, rex_engine::bindings::all_docs().len());
    assert!(all.domains.contains(&"fs") && all.domains.contains(&"net"));
    let fs = reference(Some("fs"), Some("CAT"));
    assert!(fs.functions.iter().any(|f| f.name == "cat"));
    assert!(fs.functions.iter().all(|f| f.domain == "fs"));
    assert!(fs.count < all.count);
    assert_eq!(reference(Some("nope"), None).count, 0);
}

#[test]
fn identity_requires_a_valid_policy_and_principal() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.cedar");
    std::fs::write(
        &bad,
        "permit (principal, action == file_system::Action::\"opne\", resource);",
    )
    .unwrap();
    let err = AgentIdentity::load("agent", &bad).unwrap_err().to_string();
    assert!(err.contains("opne"), "{err}");
    let good = dir.path().join("good.cedar");
    std::fs::write(&good, "").unwrap();
    assert!(AgentIdentity::load("", &good).is_err());
    let combined =
        AgentIdentity::load_combined("agent", &[good.clone(), good.clone()], dir.path()).unwrap();
    assert_eq!(combined.policy_file(), dir.path().join("policy.cedar"));
}
