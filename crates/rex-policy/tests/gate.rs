#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Gate decisions, explanations and the decision log against real policies.

use rex_policy::{
    CanonicalPath, DenyReason, Gate, Mode, Policies, PolicyError, Resource, action::fs,
};

fn file(p: &str) -> Resource {
    Resource::file(&CanonicalPath::new(p).unwrap())
}

fn gate(text: &str) -> Gate {
    Gate::builder()
        .principal("alice")
        .build(Policies::from_text("p.cedar", text).unwrap())
        .unwrap()
}

#[test]
fn original_policy_loads_and_in_dir_matches_at_any_depth() {
    let g = gate(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource in file_system::Dir::"/var/log");"#,
    );
    assert!(g.check(fs::READ, &file("/var/log/a/b/c/d/syslog")).is_ok());
    assert!(
        g.check(
            fs::READ,
            &Resource::dir(&CanonicalPath::new("/var/log").unwrap())
        )
        .is_ok()
    );
    assert!(g.check(fs::READ, &file("/var/logs/x")).is_err());
    assert!(g.check(fs::WRITE, &file("/var/log/x")).is_err());
}

#[test]
fn action_group_and_principal_match() {
    let g = gate(
        r#"permit(principal == User::"alice", action in file_system::Action::"SafeIO", resource);"#,
    );
    assert!(g.check(fs::DELETE, &file("/x")).is_ok());
    let bob = Gate::builder()
        .principal("bob")
        .build(
            Policies::from_text(
                "p",
                r#"permit(principal == User::"alice", action, resource);"#,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        bob.check(fs::READ, &file("/x")).unwrap_err().reason(),
        &DenyReason::NoPermit
    );
}

#[test]
fn denial_explains_and_suggests_a_permit_that_works() {
    let g = gate(r#"permit(principal, action == file_system::Action::"open", resource);"#);
    let denied = g.check(fs::READ, &file("/tmp/x")).unwrap_err();
    let text = denied.to_string();
    assert!(
        text.contains(r#"alice unauthorized to perform file_system::Action::"read" for file_system::File::"/tmp/x""#),
        "{text}"
    );
    assert!(text.contains("no permit policy matched"), "{text}");
    let permit = denied.suggested_permit().unwrap();
    // The suggestion is itself a valid policy that allows exactly this request.
    let fixed = gate(&permit);
    assert!(fixed.check(fs::READ, &file("/tmp/x")).is_ok());
    assert!(fixed.check(fs::READ, &file("/tmp/y")).is_err());
    assert!(fixed.check(fs::WRITE, &file("/tmp/x")).is_err());
    assert!(denied.explain().contains("to allow exactly this request"));
}

#[test]
fn forbid_names_the_policy_and_its_position() {
    let g = gate(
        "permit(principal, action, resource);\n\n  @id(\"no-secret\")\n  forbid(principal, action, resource == file_system::File::\"/d/secret\");",
    );
    let denied = g.check(fs::READ, &file("/d/secret")).unwrap_err();
    match denied.reason() {
        DenyReason::Forbidden(p) => {
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].id, "no-secret");
            assert_eq!(
                (p[0].file.as_str(), p[0].line, p[0].column),
                ("p.cedar", 3, 3)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(denied.suggested_permit().is_none());
    assert!(
        denied
            .to_string()
            .contains("forbidden by `no-secret` (p.cedar:3:3)")
    );
}

fn diag(text: &str) -> (PolicyError, String) {
    let e = Policies::from_text("bad.cedar", text).unwrap_err();
    let s = e.to_string();
    (e, s)
}

#[test]
fn misspelled_action_is_rejected_with_line_and_column() {
    let (e, s) = diag(
        "permit(principal, action, resource);\npermit(principal, action == file_system::Action::\"opne\", resource);",
    );
    assert!(matches!(e, PolicyError::Invalid(_)), "{s}");
    let d = &e.diagnostics()[0];
    assert_eq!((d.file.as_str(), d.line), ("bad.cedar", 2), "{s}");
    assert!(d.column > 1);
    assert!(s.contains("opne"), "{s}");
    assert!(s.contains("bad.cedar:2:"), "{s}");
}

#[test]
fn unknown_entity_type_and_string_comparison_are_rejected() {
    let (e, s) =
        diag(r#"permit(principal, action, resource) when { resource == Rex::File::"/x" };"#);
    assert!(matches!(e, PolicyError::Invalid(_)), "{s}");
    let (e, s) = diag(
        "permit(principal, action == file_system::Action::\"read\", resource)\n  when { resource == \"/x\" };",
    );
    assert!(matches!(e, PolicyError::Invalid(_)), "{s}");
    assert_eq!(e.diagnostics()[0].line, 2, "{s}");
    let (e, s) = diag(r#"permit(principal, action, resource == "/proc/meminfo");"#);
    assert!(matches!(e, PolicyError::Parse(_)), "{s}");
    assert_eq!(e.diagnostics()[0].line, 1);
}

#[test]
fn every_error_of_every_file_is_reported() {
    let e = Policies::from_sources(&[
        (
            "a.cedar".into(),
            "permit(principal, action == file_system::Action::\"opne\", resource);".into(),
        ),
        (
            "b.cedar".into(),
            "permit(principal, action == sysinfo::Action::\"lst\", resource);".into(),
        ),
    ])
    .unwrap_err();
    let files: Vec<&str> = e.diagnostics().iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["a.cedar", "b.cedar"]);
}

#[test]
fn empty_policy_denies_everything() {
    let g = gate("");
    assert!(
        g.check(fs::OPEN, &Resource::dir(&CanonicalPath::root()))
            .is_err()
    );
    assert_eq!(g.counts().denied, 1);
}

#[test]
fn audit_mode_allows_and_logs_what_would_be_denied() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let g = Gate::builder()
        .principal("alice")
        .mode(Mode::Audit)
        .audit_log(log.to_str().unwrap())
        .script("s.rhai")
        .build(
            Policies::from_text(
                "p",
                r#"permit(principal, action == file_system::Action::"open", resource);"#,
            )
            .unwrap(),
        )
        .unwrap();
    g.set_position(3, 7);
    assert!(!g.check(fs::OPEN, &file("/a")).unwrap().audited());
    assert!(g.check(fs::READ, &file("/a")).unwrap().audited());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["policies"][0], "policy0");
    assert_eq!(lines[1]["decision"], "deny");
    assert_eq!(lines[1]["enforced"], false);
    assert_eq!(lines[1]["reason"], "no_permit");
    assert_eq!(lines[1]["action"], r#"file_system::Action::"read""#);
    assert_eq!(lines[1]["resource"], r#"file_system::File::"/a""#);
    assert_eq!(lines[1]["principal"], "alice");
    assert_eq!(lines[1]["v"], 1);
    assert_eq!(lines[1]["script"]["line"], 3);
    assert_eq!(lines[1]["script"]["file"], "s.rhai");
    assert_eq!(g.counts().audited, 1);
}

#[test]
fn bad_context_is_an_evaluation_error_not_an_allow() {
    let g = gate("permit(principal, action, resource);");
    let d = g
        .check_with_context(fs::MOVE, &file("/a"), serde_json::json!({"destination": 5}))
        .unwrap_err();
    assert!(matches!(d.reason(), DenyReason::EvaluationError(_)), "{d}");
    assert_eq!(g.counts().errors, 1);
    let ok = g.check_with_context(
        fs::MOVE,
        &file("/a"),
        serde_json::json!({"destination": {"path": "/b/a", "name": "a", "parent_path": "/b"}}),
    );
    assert!(ok.is_ok());
}

#[test]
fn default_principal_is_the_effective_user() {
    let g = Gate::builder().build(Policies::empty()).unwrap();
    assert_eq!(g.principal(), rex_policy::effective_user_name());
    assert!(!g.principal().is_empty());
}

#[test]
fn execute_context_entities_carry_tags_and_attributes() {
    use rex_policy::{AttrValue, ContextEntity};
    let g = gate(
        r#"permit(principal, action == file_system::Action::"execute", resource)
           when { context.arguments.hasTag("--dry-run") && context.environment.hasTag("LANG") && context.environment.getTag("LANG") == "C"
                  && !(context.arguments.flags.contains("--force")) };"#,
    );
    let ctx = |args: &[&str]| {
        let tags: Vec<(String, String)> = args
            .iter()
            .map(|a| ((*a).to_owned(), "true".to_owned()))
            .collect();
        let flags: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        vec![
            ContextEntity {
                type_name: "file_system::Arguments",
                id: "arguments".into(),
                attrs: vec![
                    ("keys", AttrValue::StringSet(vec![])),
                    ("flags", AttrValue::StringSet(flags)),
                    ("positional_values", AttrValue::StringSet(vec![])),
                ],
                tags,
            },
            ContextEntity {
                type_name: "file_system::Environment",
                id: "environment".into(),
                attrs: vec![("names", AttrValue::StringSet(vec!["LANG".into()]))],
                tags: vec![("LANG".into(), "C".into())],
            },
        ]
    };
    let json = serde_json::json!({
        "arguments": {"__entity": {"type": "file_system::Arguments", "id": "arguments"}},
        "environment": {"__entity": {"type": "file_system::Environment", "id": "environment"}},
        "user": {"username": "root", "uid": 0},
        "group": {"groupname": "root", "gid": 0},
    });
    let prog = file("/usr/bin/tool");
    assert!(
        g.check_with_entities(fs::EXECUTE, &prog, json.clone(), &ctx(&["--dry-run"]))
            .is_ok()
    );
    assert!(
        g.check_with_entities(
            fs::EXECUTE,
            &prog,
            json.clone(),
            &ctx(&["--dry-run", "--force"])
        )
        .is_err()
    );
    assert!(
        g.check_with_entities(fs::EXECUTE, &prog, json, &ctx(&[]))
            .is_err()
    );
}

#[test]
fn decision_log_holds_allowed_lines_until_flush_and_writes_every_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let read_log = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let g = Gate::builder()
        .principal("alice")
        .audit_log(log.to_str().unwrap())
        .build(
            Policies::from_text(
                "p",
                r#"permit(principal, action == file_system::Action::"open", resource);"#,
            )
            .unwrap(),
        )
        .unwrap();
    for i in 0..100 {
        assert!(g.check(fs::OPEN, &file(&format!("/f{i}"))).is_ok());
    }
    g.flush_audit_log().unwrap();
    assert_eq!(read_log().len(), 100);
    // A denial is written at once, after the allowed lines held before it.
    assert!(g.check(fs::OPEN, &file("/g")).is_ok());
    assert!(g.check(fs::READ, &file("/g")).is_err());
    let lines = read_log();
    assert_eq!(lines.len(), 102);
    assert_eq!(lines[100]["decision"], "allow");
    assert_eq!(lines[101]["decision"], "deny");
    // Dropping the gate writes what is held.
    for i in 0..5 {
        assert!(g.check(fs::OPEN, &file(&format!("/h{i}"))).is_ok());
    }
    drop(g);
    let lines = read_log();
    assert_eq!(lines.len(), 107);
    assert_eq!(lines[106]["resource"], r#"file_system::File::"/h4""#);
}

#[test]
fn a_preview_counts_and_logs_nothing_until_confirmed_as_check_would() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let text = r#"permit(principal, action == file_system::Action::"open", resource);"#;
    let build = |mode: Mode, log: Option<&str>| {
        let mut b = Gate::builder().principal("alice").mode(mode).record(true);
        if let Some(l) = log {
            b = b.audit_log(l);
        }
        b.build(Policies::from_text("p", text).unwrap()).unwrap()
    };
    let g = build(Mode::Enforce, Some(log.to_str().unwrap()));
    let a = file("/a");
    // Denied: no preview, nothing counted or recorded.
    assert!(g.preview(fs::READ, &a).is_none());
    // Allowed: a preview, still nothing counted, recorded or logged.
    let previewed = g.preview(fs::OPEN, &a).unwrap();
    assert_eq!(g.counts().allowed, 0);
    assert!(g.recorded().is_empty());
    g.flush_audit_log().unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "");
    // Confirmed: the same permit, count, record and log line as `check`.
    let permit = g.confirm(previewed).unwrap();
    let checked = g.check(fs::OPEN, &a).unwrap();
    assert_eq!(
        (permit.action(), permit.resource_id(), permit.audited()),
        (checked.action(), checked.resource_id(), checked.audited())
    );
    assert_eq!(g.counts().allowed, 2);
    let rec = g.recorded();
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0], rec[1]);
    g.flush_audit_log().unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("time");
            v
        })
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], lines[1]);
    // Audit mode: a denied request has no preview (the caller asks `check`, which lets it
    // through as audited).
    let audit = build(Mode::Audit, None);
    assert!(audit.preview(fs::READ, &a).is_none());
    assert!(audit.check(fs::READ, &a).unwrap().audited());
    // `refuses`: exactly when `check` would return a denial; nothing counted either way.
    let before = g.counts();
    assert!(g.refuses(fs::READ, &a));
    assert!(!g.refuses(fs::OPEN, &a));
    assert!(!audit.refuses(fs::READ, &a));
    assert_eq!(g.counts(), before);
    assert!(g.check(fs::READ, &a).is_err());
}

/// Allowed decisions are queued for the background writer; a writer thread swapping in
/// denials and a second gate on the same log must still see every line, in the order each
/// gate decided, with the time and script position of the moment it decided. The
/// writer is woken early (at 4,096 queued) several times, and lines reach the file without
/// any flush.
#[test]
fn queued_allowed_lines_keep_their_order_time_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let policy = r#"permit(principal, action == file_system::Action::"open", resource);"#;
    let build = |who: &str| {
        Gate::builder()
            .principal(who)
            .script("s.rhai")
            .audit_log(log.to_str().unwrap())
            .build(Policies::from_text("p", policy).unwrap())
            .unwrap()
    };
    let g = build("alice");
    let other = build("bob");
    let before = jiff::Timestamp::now();
    let n = 30_000;
    for i in 0..n {
        g.set_position(i + 1, 3);
        let f = file(&format!("/f{}", i % 100));
        assert!(g.check(fs::OPEN, &f).is_ok());
        if i % 997 == 0 {
            assert!(g.check(fs::READ, &f).is_err());
            assert!(other.check(fs::OPEN, &file("/other")).is_ok());
        }
    }
    let after = jiff::Timestamp::now();
    // No flush: the background writer writes within a few intervals.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let denials = (n as usize).div_ceil(997);
        if lines.len() >= n as usize + 2 * denials || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let alice: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["principal"] == "alice").collect();
    let mut next = 0;
    for l in &alice {
        let want = format!(r#"file_system::File::"/f{}""#, next % 100);
        assert_eq!(l["resource"], want.as_str(), "{l}");
        assert_eq!(l["script"]["line"], next + 1);
        assert_eq!(l["script"]["file"], "s.rhai");
        let t: jiff::Timestamp = l["time"].as_str().unwrap().parse().unwrap();
        assert!(before <= t && t <= after, "{t}");
        if l["decision"] == "allow" {
            assert_eq!(l["policies"][0], "policy0");
            if next % 997 != 0 {
                next += 1;
            }
        } else {
            assert_eq!(l["action"], r#"file_system::Action::"read""#);
            next += 1;
        }
    }
    assert_eq!(next, n);
    assert_eq!(
        lines.iter().filter(|l| l["principal"] == "bob").count(),
        (n as usize).div_ceil(997)
    );
}
