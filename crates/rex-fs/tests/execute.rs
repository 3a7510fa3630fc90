#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `execute` with capabilities, another user and another process's namespaces: what the
//! child really gets (read from its own `/proc/self`), what is refused, and that rex's
//! own threads keep their credentials. These tests need root (as the CI runs).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fx, assert_denied_on, assert_kind, file_uid};
use rex_fs::{DirHandle, ExecArg, ExecuteOptions, FileHandle, IoErrorKind, OpenDirOptions};
use rex_fs::{OpenFileOptions, execute_context};

/// A copy of the system program `prog` in the fixture (the policy covers the fixture).
fn program(fx: &Fx, prog: &str) -> FileHandle {
    let name = prog.rsplit('/').next().unwrap();
    std::fs::copy(prog, fx.p(name)).unwrap();
    let d = DirHandle::open(&fx.gate(), &fx.root, &OpenDirOptions::default()).unwrap();
    d.open_file(
        &fx.gate(),
        name,
        &OpenFileOptions {
            read: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn words(args: &[&str]) -> Vec<ExecArg> {
    args.iter()
        .map(|a| ExecArg::Word((*a).to_owned()))
        .collect()
}

/// The `Name:\tvalue` lines of a status file.
fn field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
        .to_owned()
}

fn caps_hex(status: &str, name: &str) -> u64 {
    u64::from_str_radix(&field(status, name), 16).unwrap()
}

/// Credentials of the process's main thread and of the calling thread.
fn own_credentials() -> String {
    let mut out = String::new();
    for f in ["/proc/self/status", "/proc/thread-self/status"] {
        let s = std::fs::read_to_string(f).unwrap();
        for k in [
            "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
        ] {
            out.push_str(&format!("{f} {k}: {}\n", field(&s, k)));
        }
    }
    for ns in ["net", "mnt", "uts", "ipc", "pid_for_children"] {
        let l = std::fs::read_link(format!("/proc/thread-self/ns/{ns}")).unwrap();
        out.push_str(&format!("{}\n", l.display()));
    }
    out.push_str(&format!("{}\n", std::env::current_dir().unwrap().display()));
    out
}

const NET_BIND_SERVICE: u64 = 1 << 10;

#[test]
fn a_capability_reaches_a_non_root_child_and_rex_keeps_its_credentials() {
    let fx = Fx::new();
    let grep = program(&fx, "/usr/bin/grep");
    let before = own_credentials();
    let opts = ExecuteOptions {
        args: words(&["-E", "^(Uid|Gid|Groups|Cap[A-Za-z]+):", "/proc/self/status"]),
        user: Some("65534".into()),
        group: Some("65534".into()),
        capabilities: vec!["CAP_NET_BIND_SERVICE".into()],
        ..Default::default()
    };
    let r = grep.execute(&fx.gate(), &opts).unwrap();
    assert_eq!(r.exit_code, 0, "{r:?}");
    let st = &r.stdout;
    assert!(
        field(st, "Uid").split_whitespace().all(|u| u == "65534"),
        "{st}"
    );
    assert!(
        field(st, "Gid").split_whitespace().all(|g| g == "65534"),
        "{st}"
    );
    assert_eq!(
        field(st, "Groups"),
        "",
        "supplementary groups cleared: {st}"
    );
    for set in ["CapAmb", "CapEff", "CapPrm"] {
        assert_eq!(caps_hex(st, set), NET_BIND_SERVICE, "{set}: {st}");
    }
    assert_eq!(own_credentials(), before, "rex's own threads changed");

    // The lowercase spelling is the same capability.
    let opts = ExecuteOptions {
        capabilities: vec!["net_bind_service".into()],
        ..opts
    };
    let r = grep.execute(&fx.gate(), &opts).unwrap();
    assert_eq!(caps_hex(&r.stdout, "CapAmb"), NET_BIND_SERVICE, "{r:?}");

    // Without it, the same user has none.
    let opts = ExecuteOptions {
        capabilities: vec![],
        ..opts
    };
    let r = grep.execute(&fx.gate(), &opts).unwrap();
    for set in ["CapAmb", "CapEff", "CapPrm"] {
        assert_eq!(caps_hex(&r.stdout, set), 0, "{set}: {r:?}");
    }
    assert_eq!(own_credentials(), before, "rex's own threads changed");
}

#[test]
fn an_unknown_capability_is_invalid_and_names_are_canonical_in_the_context() {
    let fx = Fx::new();
    let grep = program(&fx, "/usr/bin/grep");
    let opts = ExecuteOptions {
        capabilities: vec!["CAP_TELEPORT".into()],
        ..Default::default()
    };
    let e = grep.execute(&fx.gate(), &opts).unwrap_err();
    assert_eq!(e.kind(), IoErrorKind::InvalidArguments, "{e}");
    assert!(e.to_string().contains("`CAP_TELEPORT`"), "{e}");
    let ctx = execute_context(&ExecuteOptions {
        capabilities: vec!["sys_admin".into(), "CAP_KILL".into(), "SYS_ADMIN".into()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        ctx["capabilities"],
        serde_json::json!(["CAP_KILL", "CAP_SYS_ADMIN"])
    );
}

#[test]
fn a_policy_refuses_a_capability_however_it_is_spelled() {
    let fx = Fx::new();
    fx.file("ran.sh", "#!/bin/sh\ntouch \"$1\"\n");
    std::fs::set_permissions(
        fx.p("ran.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let g = fx.gate_with(
        r#"forbid(principal, action == file_system::Action::"execute", resource)
           when { context has capabilities && context.capabilities.contains("CAP_SYS_ADMIN") };"#,
    );
    let d = DirHandle::open(&g, &fx.root, &OpenDirOptions::default()).unwrap();
    let f = d
        .open_file(
            &g,
            "ran.sh",
            &OpenFileOptions {
                read: true,
                ..Default::default()
            },
        )
        .unwrap();
    let marker = fx.p("marker");
    for spelling in ["CAP_SYS_ADMIN", "sys_admin", "Cap_Sys_Admin"] {
        let opts = ExecuteOptions {
            args: words(&[&marker]),
            capabilities: vec!["CAP_NET_RAW".into(), spelling.into()],
            ..Default::default()
        };
        assert_denied_on(f.execute(&g, &opts), &file_uid(&fx.p("ran.sh")), spelling);
        assert!(!fx.exists("marker"), "{spelling}: the program ran");
    }
    // Another capability is allowed, and the program runs.
    let opts = ExecuteOptions {
        args: words(&[&marker]),
        capabilities: vec!["CAP_NET_RAW".into()],
        ..Default::default()
    };
    assert_eq!(f.execute(&g, &opts).unwrap().exit_code, 0);
    assert!(fx.exists("marker"));
}

#[test]
fn a_capability_rex_does_not_hold_is_refused_before_anything_runs() {
    let fx = Fx::new();
    fx.file("ran.sh", "#!/bin/sh\ntouch \"$1\"\n");
    std::fs::set_permissions(
        fx.p("ran.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let marker = fx.p("marker");
    let g = fx.gate();
    let d = DirHandle::open(&g, &fx.root, &OpenDirOptions::default()).unwrap();
    let f = d
        .open_file(
            &g,
            "ran.sh",
            &OpenFileOptions {
                read: true,
                ..Default::default()
            },
        )
        .unwrap();
    // Capabilities are per thread: drop CAP_SYS_BOOT from a throwaway thread's permitted
    // set, and CAP_WAKE_ALARM from its bounding set, and execute from there.
    std::thread::scope(|s| {
        s.spawn(|| {
            use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
            let mut c = capabilities(None).unwrap();
            c.permitted.remove(CapabilitySet::SYS_BOOT);
            c.effective.remove(CapabilitySet::SYS_BOOT);
            c.inheritable.remove(CapabilitySet::SYS_BOOT);
            set_capabilities(None, c).unwrap();
            rustix::thread::remove_capability_from_bounding_set(CapabilitySet::WAKE_ALARM).unwrap();
            for (cap, set) in [("sys_boot", "permitted"), ("CAP_WAKE_ALARM", "bounding")] {
                let opts = ExecuteOptions {
                    args: words(&[&marker]),
                    capabilities: vec!["CAP_NET_RAW".into(), cap.into()],
                    ..Default::default()
                };
                let e = f.execute(&g, &opts).unwrap_err();
                assert_eq!(e.kind(), IoErrorKind::PrivilegeError, "{e}");
                let name = format!("`CAP_{}`", cap.to_uppercase().trim_start_matches("CAP_"));
                assert!(e.to_string().contains(&name), "{e}");
                assert!(e.to_string().contains(set), "{e}");
            }
        });
    });
    assert!(!fx.exists("marker"), "the program ran");
}

/// A `sleep 30` started by util-linux `unshare` with `flags`, once it is in its new
/// namespaces (`kind` differs from ours); killed on drop.
struct Target(Child);

impl Target {
    fn start(flags: &[&str], kind: &str) -> Self {
        let child = Command::new("unshare")
            .args(flags)
            .args(["sleep", "30"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let t = Self(child);
        let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        let started = Instant::now();
        while t.ns(kind) == ours {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "unshare never ran"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        t
    }

    fn pid(&self) -> i64 {
        i64::from(self.0.id())
    }

    fn ns(&self, kind: &str) -> std::path::PathBuf {
        std::fs::read_link(format!("/proc/{}/ns/{kind}", self.0.id())).unwrap_or_default()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_child_runs_in_the_network_namespace_of_a_target() {
    let fx = Fx::new();
    let readlink = program(&fx, "/usr/bin/readlink");
    let target = Target::start(&["-n"], "net");
    let before = own_credentials();
    let opts = ExecuteOptions {
        args: words(&["/proc/self/ns/net", "/proc/self/ns/mnt"]),
        namespace_pid: Some(target.pid()),
        ..Default::default()
    };
    let r = readlink.execute(&fx.gate(), &opts).unwrap();
    assert_eq!(r.exit_code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(lines[0], target.ns("net").to_str().unwrap(), "{r:?}");
    assert_ne!(lines[0], ours.to_str().unwrap(), "{r:?}");
    // The mount namespace is the same, so it is not entered.
    let our_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_eq!(lines[1], our_mnt.to_str().unwrap(), "{r:?}");
    assert_eq!(own_credentials(), before, "rex's own threads changed");

    // Without a namespace, the child is in ours.
    let r = readlink
        .execute(
            &fx.gate(),
            &ExecuteOptions {
                args: words(&["/proc/self/ns/net"]),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.stdout.trim(), ours.to_str().unwrap());
}

#[test]
fn a_child_runs_in_the_mount_uts_and_net_namespaces_of_a_target_as_another_user() {
    let fx = Fx::new();
    fx.file(
        "show.sh",
        "#!/bin/sh\nreadlink /proc/self/ns/mnt /proc/self/ns/uts /proc/self/ns/net\nid -u\nhostname\n",
    );
    std::fs::set_permissions(
        fx.p("show.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let target = Target::start(&["-m", "-u", "-n", "--propagation", "private"], "mnt");
    let before = own_credentials();
    let g = fx.gate();
    let d = DirHandle::open(&g, &fx.root, &OpenDirOptions::default()).unwrap();
    let f = d
        .open_file(
            &g,
            "show.sh",
            &OpenFileOptions {
                read: true,
                ..Default::default()
            },
        )
        .unwrap();
    let opts = ExecuteOptions {
        namespace_pid: Some(target.pid()),
        user: Some("65534".into()),
        env: [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into(),
        capabilities: vec!["CAP_NET_BIND_SERVICE".into()],
        ..Default::default()
    };
    let r = f.execute(&g, &opts).unwrap();
    assert_eq!(r.exit_code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    for (i, kind) in ["mnt", "uts", "net"].iter().enumerate() {
        assert_eq!(lines[i], target.ns(kind).to_str().unwrap(), "{kind}: {r:?}");
        let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        assert_ne!(lines[i], ours.to_str().unwrap(), "{kind}: {r:?}");
    }
    assert_eq!(lines[3], "65534", "{r:?}");
    assert_eq!(own_credentials(), before, "rex's own threads changed");
}

#[test]
fn a_target_in_another_user_namespace_is_refused() {
    let fx = Fx::new();
    fx.file("ran.sh", "#!/bin/sh\ntouch \"$1\"\n");
    std::fs::set_permissions(
        fx.p("ran.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let target = Target::start(&["-U"], "user");
    let g = fx.gate();
    let d = DirHandle::open(&g, &fx.root, &OpenDirOptions::default()).unwrap();
    let f = d
        .open_file(
            &g,
            "ran.sh",
            &OpenFileOptions {
                read: true,
                ..Default::default()
            },
        )
        .unwrap();
    let opts = ExecuteOptions {
        args: words(&[&fx.p("marker")]),
        namespace_pid: Some(target.pid()),
        ..Default::default()
    };
    let e = f.execute(&g, &opts).unwrap_err();
    assert_eq!(e.kind(), IoErrorKind::UnsupportedOperationError, "{e}");
    assert!(e.to_string().contains("user namespace"), "{e}");
    assert!(
        e.to_string().contains(&format!("`{}`", target.pid())),
        "{e}"
    );
    assert!(!fx.exists("marker"), "the program ran");
}

#[test]
fn a_namespace_request_is_checked_with_the_target_in_the_context() {
    let fx = Fx::new();
    let readlink = program(&fx, "/usr/bin/readlink");
    let target = Target::start(&["-n"], "net");
    let g = fx.gate_with(&format!(
        r#"forbid(principal, action == file_system::Action::"execute", resource)
           when {{ context has namespace && context.namespace.target_process_id == {} }};"#,
        target.pid()
    ));
    let opts = ExecuteOptions {
        args: words(&["/proc/self/ns/net"]),
        namespace_pid: Some(target.pid()),
        ..Default::default()
    };
    assert_denied_on(
        readlink.execute(&g, &opts),
        &file_uid(&fx.p("readlink")),
        "namespace of a forbidden target",
    );
    // A process that does not exist: checked first, then not found.
    let opts = ExecuteOptions {
        namespace_pid: Some(i64::from(i32::MAX)),
        ..Default::default()
    };
    assert_kind(
        readlink.execute(&fx.gate(), &opts),
        IoErrorKind::NotFound,
        "no such process",
    );
}
