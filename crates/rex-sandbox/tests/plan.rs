#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Deriving plans from policies (pure: nothing is applied here).

use rex_policy::Policies;
use rex_sandbox::{AccessFs, BitFlags, RuleOrigin, SandboxConfig, SandboxPlan, plan};

fn plan_of(policy: &str) -> SandboxPlan {
    plan(
        &Policies::from_text("t.cedar", policy).unwrap(),
        &SandboxConfig::default(),
    )
}

fn rule(p: &SandboxPlan, path: &str) -> Option<BitFlags<AccessFs>> {
    p.fs()
        .unwrap()
        .rules
        .iter()
        .find(|r| r.path == path)
        .map(|r| r.access)
}

fn has_note(p: &SandboxPlan, needle: &str) -> bool {
    p.notes().iter().any(|n| n.contains(needle))
}

#[test]
fn quickstart_policy_gives_file_and_parent_rules() {
    let p = plan_of(include_str!("../../../examples/quickstart/policy.cedar"));
    let fs = p.fs().unwrap();
    assert!(
        fs.handled
            .contains(AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Execute)
    );
    // open + read on the file, write in place on it
    let f = rule(&p, "/tmp/rex-quickstart.txt").unwrap();
    assert!(f.contains(AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate));
    // `open` on Dir::"/tmp" lists it; create/write of the file need the parent
    let tmp = rule(&p, "/tmp").unwrap();
    assert!(tmp.contains(AccessFs::ReadDir | AccessFs::MakeReg | AccessFs::RemoveFile));
    assert!(!tmp.contains(AccessFs::Execute) && !tmp.contains(AccessFs::MakeDir));
    let origin = &fs.rules.iter().find(|r| r.path == "/tmp").unwrap().origin;
    assert!(
        matches!(origin, RuleOrigin::Policy(ids) if p.permit_names(ids).contains(&"write-greeting") && p.permit_names(ids).contains(&"open-tmp"))
    );
    // nothing in the policy executes, so nothing may be executed
    assert!(
        fs.rules
            .iter()
            .all(|r| !r.access.contains(AccessFs::Execute))
    );
    // no network permit: connect refused everywhere
    assert!(p.connect_ports().unwrap().is_empty());
    assert!(p.scopes_signals() && p.scopes_abstract_unix_sockets());
    let refused: Vec<&str> = p.refused_syscalls().iter().map(|s| s.name).collect();
    for s in [
        "ptrace",
        "mount",
        "umount2",
        "setns",
        "unshare",
        "bpf",
        "kexec_load",
        "keyctl",
    ] {
        assert!(refused.contains(&s), "{s}");
    }
    assert!(!p.allows_namespaces());
}

#[test]
fn a_permit_without_resource_leaves_its_rights_unrestricted_and_says_so() {
    let p = plan_of(
        r#"@id("read-all") permit(principal, action == file_system::Action::"read", resource);
           @id("w") permit(principal, action == file_system::Action::"write", resource == file_system::File::"/srv/a");"#,
    );
    let fs = p.fs().unwrap();
    assert!(!fs.handled.contains(AccessFs::ReadFile));
    assert!(!fs.handled.contains(AccessFs::ReadDir));
    assert!(fs.handled.contains(AccessFs::WriteFile));
    assert!(has_note(
        &p,
        "permit `read-all` has no resource constraint on file_system::Action::\"read\": ReadFile, ReadDir left unrestricted"
    ));
}

#[test]
fn when_conditions_on_the_path_bound_the_rights() {
    let p = plan_of(
        r#"@id("logs") permit(principal, action == file_system::Action::"read", resource)
             when { resource.path like "/var/log/app*" || resource in file_system::Dir::"/srv/x" };"#,
    );
    let fs = p.fs().unwrap();
    assert!(fs.handled.contains(AccessFs::ReadFile));
    assert_eq!(
        rule(&p, "/var/log").unwrap(),
        AccessFs::ReadFile | AccessFs::ReadDir
    );
    assert_eq!(
        rule(&p, "/srv/x").unwrap(),
        AccessFs::ReadFile | AccessFs::ReadDir
    );
}

#[test]
fn scoped_directory_permits_grant_beneath() {
    let p = plan_of(
        r#"@id("work") permit(principal, action in [file_system::Action::"read", file_system::Action::"write", file_system::Action::"create", file_system::Action::"delete"], resource in file_system::Dir::"/srv/work");
           @id("run") permit(principal, action == file_system::Action::"execute", resource == file_system::File::"/usr/bin/true");"#,
    );
    let w = rule(&p, "/srv/work").unwrap();
    assert!(w.contains(
        AccessFs::ReadFile
            | AccessFs::ReadDir
            | AccessFs::WriteFile
            | AccessFs::MakeReg
            | AccessFs::MakeDir
            | AccessFs::RemoveFile
            | AccessFs::RemoveDir
    ));
    // create/delete of the scope root itself
    assert!(
        rule(&p, "/srv")
            .unwrap()
            .contains(AccessFs::MakeDir | AccessFs::RemoveDir)
    );
    assert_eq!(
        rule(&p, "/usr/bin/true").unwrap(),
        AccessFs::Execute | AccessFs::ReadFile
    );
    assert!(rule(&p, "/lib64/ld-linux-x86-64.so.2").is_some());
    assert!(has_note(&p, "inherit the sandbox"));
}

#[test]
fn forbids_and_unmediated_actions_are_noted() {
    let p = plan_of(
        r#"permit(principal, action in [file_system::Action::"read", file_system::Action::"chmod"], resource in file_system::Dir::"/srv");
           @id("no-secrets") forbid(principal, action, resource in file_system::Dir::"/srv/secret");"#,
    );
    assert!(has_note(
        &p,
        "forbid `no-secrets` not representable in Landlock"
    ));
    assert!(has_note(&p, "`chmod` has no Landlock right"));
}

#[test]
fn explicit_unmount_turns_filesystem_rules_off_and_allows_umount2() {
    let p = plan_of(
        r#"permit(principal, action == file_system::Action::"unmount", resource == file_system::Dir::"/mnt/x");"#,
    );
    assert!(p.fs().is_none());
    assert!(has_note(&p, "Landlock refuses every unmount"));
    assert!(!p.refused_syscalls().iter().any(|s| s.name == "umount2"));
    assert!(p.refused_syscalls().iter().any(|s| s.name == "mount"));
}

#[test]
fn network_ports_come_from_conditions_and_url_literals() {
    let p = plan_of(
        r#"permit(principal, action == network::Action::"connect", resource) when { resource has port && resource.port == 8080 };
           permit(principal, action == network::Action::"GET", resource == network::url::"https://example.com/x");
           permit(principal, action == network::Action::"GET", resource) when { resource has port && [80, 8443].contains(resource.port) };
           permit(principal, action == network::Action::"connect", resource == network::url::"127.0.0.1") when { resource.scheme == "tcp" && resource.port == 5432 };"#,
    );
    let ports: Vec<u16> = p.connect_ports().unwrap().iter().copied().collect();
    assert_eq!(ports, vec![53, 80, 443, 5432, 8080, 8443]);
    assert!(rule(&p, "/etc/resolv.conf").is_some());
}

#[test]
fn a_network_permit_without_port_leaves_connect_unrestricted() {
    let p = plan_of(
        r#"@id("web") permit(principal, action == network::Action::"GET", resource) when { resource has host && resource.host == "example.com" };"#,
    );
    assert!(p.connect_ports().is_none());
    assert!(has_note(
        &p,
        "permit `web` allows network::Action::\"GET\" with no readable port"
    ));
}

#[test]
fn trace_kill_and_namespace_permits_relax_seccomp_and_scopes() {
    let p = plan_of(
        r#"permit(principal, action in [process_system::Action::"trace", process_system::Action::"kill", process_system::Action::"network_namespace"], resource);"#,
    );
    let refused: Vec<&str> = p.refused_syscalls().iter().map(|s| s.name).collect();
    assert!(!refused.contains(&"ptrace") && !refused.contains(&"setns"));
    assert!(refused.contains(&"mount"));
    assert!(p.allows_namespaces());
    assert!(!p.scopes_signals());
    // trace and process namespaces need ptrace access to other processes: no Landlock
    assert!(!p.uses_landlock());
    let q = plan_of(r#"permit(principal, action == process_system::Action::"list", resource);"#);
    assert!(
        rule(&q, "/proc")
            .unwrap()
            .contains(AccessFs::ReadFile | AccessFs::ReadDir)
    );
}

#[test]
fn move_destination_from_context() {
    let p = plan_of(
        r#"@id("mv") permit(principal, action == file_system::Action::"move", resource in file_system::Dir::"/srv/in")
             when { context.destination.parent_path == "/srv/out" };"#,
    );
    assert!(
        rule(&p, "/srv/in")
            .unwrap()
            .contains(AccessFs::RemoveFile | AccessFs::Refer)
    );
    assert!(
        rule(&p, "/srv/out")
            .unwrap()
            .contains(AccessFs::MakeReg | AccessFs::Refer)
    );
    let q = plan_of(
        r#"@id("mv") permit(principal, action == file_system::Action::"move", resource in file_system::Dir::"/srv/in");"#,
    );
    assert!(!q.fs().unwrap().handled.contains(AccessFs::MakeReg));
    assert_eq!(rule(&q, "/").unwrap(), BitFlags::from(AccessFs::Refer));
    assert!(has_note(&q, "no readable `context.destination`"));
}

#[test]
fn plan_lines_list_rules_and_notes() {
    let p = plan_of(include_str!("../../../examples/quickstart/policy.cedar"));
    let lines = p.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  /tmp/rex-quickstart.txt: ")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("seccomp: refuses ptrace")),
        "{lines:#?}"
    );
}

#[test]
fn a_rule_names_every_permit_granting_there_sorted_once() {
    let p = plan_of(
        r#"@id("zeta") permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/srv/f");
           @id("alpha") permit(principal, action == file_system::Action::"read", resource) when { resource == file_system::File::"/srv/f" };
           @id("mid") permit(principal, action == file_system::Action::"write", resource == file_system::File::"/srv/f");
           @id("dir") permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/srv");"#,
    );
    let lines = p.lines();
    assert!(
        lines.contains(
            &"  /srv/f: WriteFile, ReadFile, Truncate (permit alpha, mid, zeta)".to_owned()
        ),
        "{lines:#?}"
    );
    // `write` also needs the parent, which `dir` opens.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  /srv: ") && l.ends_with("(permit dir, mid)")),
        "{lines:#?}"
    );
    let f = p
        .fs()
        .unwrap()
        .rules
        .iter()
        .find(|r| r.path == "/srv/f")
        .unwrap();
    let RuleOrigin::Policy(ids) = &f.origin else {
        panic!("{:?}", f.origin);
    };
    assert_eq!(ids.len(), 3);
    assert_eq!(ids.indices().collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn explicitly_permitted_process_inspection_turns_landlock_off() {
    let p = plan_of(
        r#"@id("fds") permit(principal, action == process_system::Action::"list_fds", resource);
           permit(principal, action == file_system::Action::"read", resource in file_system::Dir::"/srv");"#,
    );
    assert!(!p.uses_landlock());
    assert!(p.fs().is_none() && p.connect_ports().is_none());
    assert!(!p.scopes_signals());
    assert!(has_note(
        &p,
        "the policy permits process_system::Action::\"list_fds\""
    ));
    // seccomp still refuses ptrace: only `trace` allows it
    assert!(p.refused_syscalls().iter().any(|s| s.name == "ptrace"));
    let q = plan_of(r#"permit(principal, action == process_system::Action::"list", resource);"#);
    assert!(q.uses_landlock());
    assert!(has_note(
        &q,
        "unavailable for processes outside the sandbox"
    ));
}

#[test]
fn a_lone_when_equality_is_read_as_the_resource_and_many_unbounded_permits_make_one_note() {
    // 50 permits of one shape (parsed once), each pinning its file in a `when`.
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "permit(principal, action == file_system::Action::\"read\", resource) when {{ resource == file_system::File::\"/srv/f{i}.txt\" }};\n"
        ));
    }
    for i in 0..5 {
        text.push_str(&format!(
            "@id(\"all{i}\") permit(principal, action == file_system::Action::\"delete\", resource);\n"
        ));
    }
    let p = plan_of(&text);
    for i in [0, 17, 49] {
        let f = rule(&p, &format!("/srv/f{i}.txt")).unwrap();
        assert!(f.contains(AccessFs::ReadFile), "{f:?}");
    }
    assert!(!has_note(
        &p,
        "no resource constraint on file_system::Action::\"read\""
    ));
    let open_notes: Vec<&String> = p
        .notes()
        .iter()
        .filter(|n| n.contains("no resource constraint on file_system::Action::\"delete\""))
        .collect();
    assert_eq!(open_notes.len(), 1, "{open_notes:?}");
    assert!(
        open_notes[0].starts_with("permits `all0`, `all1`, `all2` and 2 more have"),
        "{open_notes:?}"
    );
}
