#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "fs")]
//! `execute` from Rhai with capabilities, another user and another process's namespaces:
//! what the child gets, and what a policy or rex's own privileges refuse. Needs root (as
//! the CI runs).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rex_engine::{ErrorType, RunOutcome, RunRequest, Status, run};
use rex_policy::{Gate, Policies};

struct Fx {
    _tmp: tempfile::TempDir,
    root: String,
}

impl Fx {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        std::fs::copy("/usr/bin/grep", format!("{root}/grep")).unwrap();
        std::fs::copy("/usr/bin/readlink", format!("{root}/readlink")).unwrap();
        Self { _tmp: tmp, root }
    }

    fn run_with(&self, extra: &str, script: &str) -> RunOutcome {
        let r = &self.root;
        let g = Gate::builder()
            .principal("tester")
            .build(
                Policies::from_text(
                    "t.cedar",
                    &format!(
                        "permit(principal, action, resource in file_system::Dir::\"{r}\");\n{extra}"
                    ),
                )
                .unwrap(),
            )
            .unwrap();
        let prelude = format!(
            "let d = DirConfig().path(\"{r}\").build().open(OpenDirOptions().build());\n\
             let ro = OpenFileOptions().read(true).build();\n"
        );
        run(
            Arc::new(g),
            RunRequest::new("t.rhai", format!("{prelude}{script}")),
        )
    }

    #[track_caller]
    fn ok(&self, script: &str) -> String {
        let o = self.run_with("", script);
        assert_eq!(
            o.document.status,
            Status::Success,
            "{script}: {:?}",
            o.document.error
        );
        o.document.output
    }
}

fn cap_line(out: &str, name: &str) -> u64 {
    let v = out
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"));
    u64::from_str_radix(v.trim(), 16).unwrap()
}

#[test]
fn a_script_passes_a_capability_to_a_non_root_child() {
    let fx = Fx::new();
    let script = |caps: &str| {
        format!(
            r#"let r = d.open_file("grep", ro).execute(ExecuteOptions().args(["-E", "^Cap(Amb|Eff)", "/proc/self/status"]).user("65534").capabilities([{caps}]).build()); r.stdout"#
        )
    };
    let out = fx.ok(&script(r#""net_bind_service""#));
    assert_eq!(cap_line(&out, "CapAmb"), 1 << 10, "{out}");
    assert_eq!(cap_line(&out, "CapEff"), 1 << 10, "{out}");
    let out = fx.ok(&script(""));
    assert_eq!(cap_line(&out, "CapAmb"), 0, "{out}");
    assert_eq!(cap_line(&out, "CapEff"), 0, "{out}");

    // A policy refusing the capability, however the script spells it.
    let o = fx.run_with(
        r#"forbid(principal, action == file_system::Action::"execute", resource) when { context has capabilities && context.capabilities.contains("CAP_NET_BIND_SERVICE") };"#,
        &script(r#""Net_Bind_Service""#),
    );
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    // An unknown capability is a catchable IoErrorKind error.
    let out = fx.ok(
        r#"let out = "ran"; try { d.open_file("grep", ro).execute(ExecuteOptions().capabilities(["CAP_FLY"]).build()); } catch (e) { out = e.kind == IoErrorKind::InvalidArguments && e.message.contains("CAP_FLY"); } out"#,
    );
    assert_eq!(out, "true");
}

struct Target(Child);

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn target(flag: &str, kind: &str) -> Target {
    let t = Target(
        Command::new("unshare")
            .args([flag, "sleep", "30"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
    let started = Instant::now();
    while std::fs::read_link(format!("/proc/{}/ns/{kind}", t.0.id())).unwrap_or_default() == ours {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "unshare never ran"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    t
}

#[test]
fn a_script_runs_a_child_in_the_network_namespace_of_a_process() {
    let fx = Fx::new();
    let t = target("-n", "net");
    let pid = t.0.id();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let out = fx.ok(&format!(
        r#"let r = d.open_file("readlink", ro).execute(ExecuteOptions().args(["/proc/self/ns/net"]).namespace(ChildNamespaceOptions().target_process({pid}).build()).build()); let o = r.stdout; o.trim(); o"#
    ));
    assert_eq!(out, theirs.to_str().unwrap(), "{out}");
    assert_ne!(theirs, ours);

    // The target process is in the context a policy can refuse on.
    let o = fx.run_with(
        &format!(
            r#"forbid(principal, action == file_system::Action::"execute", resource) when {{ context has namespace && context.namespace.target_process_id == {pid} }};"#
        ),
        &format!(
            r#"d.open_file("readlink", ro).execute(ExecuteOptions().namespace(ChildNamespaceOptions().target_process({pid}).build()).build())"#
        ),
    );
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
}

#[test]
fn a_script_cannot_enter_another_user_namespace() {
    let fx = Fx::new();
    let t = target("-U", "user");
    let pid = t.0.id();
    let out = fx.ok(&format!(
        r#"let out = "ran"; try {{ d.open_file("readlink", ro).execute(ExecuteOptions().namespace(ChildNamespaceOptions().target_process({pid}).build()).build()); }} catch (e) {{ out = e.kind + "|" + e.message; }} out"#
    ));
    assert!(out.contains("UnsupportedOperationError"), "{out}");
    assert!(out.contains("user namespace"), "{out}");
}
