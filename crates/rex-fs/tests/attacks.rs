#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The attack suite: one row per attack, each run against every entry point that takes
//! a path, on the real kernel in a temp dir. The policy permits everything below
//! `<root>/allowed` and nothing else; `<root>/outside` holds a secret. Whatever an
//! entry point returns, no output may contain the secret and nothing outside may
//! change.
//!
//! Hard-link rule (documented in `docs/filesystem.md`): rex authorizes the *name*
//! reached. A hard link to a file, placed in an allowed directory, is that file under an
//! allowed name, so it is readable there — exactly as a copy would be. rex never creates
//! hard links itself (archive extraction refuses them), and the kernel's
//! `fs.protected_hardlinks` stops a user from linking a file it cannot already write.
//! A `forbid` on the link's own name applies.

mod common;

use std::collections::BTreeMap;

use common::{Fx, gate, within};
use rex_fs::{
    DirHandle, DiskUsageOptions, FsError, GrepOptions, OpenDirOptions, OpenFileOptions,
    ReplacementOptions, TailSelect, WriteMode,
};
use rex_policy::Gate;
use rustix::fs::Mode;

const SECRET: &str = "SECRET-0xdeadbeef";
const MAX: usize = 1 << 20;

type Entry = fn(&Gate, &str, &str) -> Result<String, FsError>;

/// Every entry point that takes a path: (name, call). The second argument is a path in
/// the allowed tree for two-path calls.
fn entry_points() -> Vec<(&'static str, Entry)> {
    vec![
        ("cat", |g, p, _| rex_fs::cat(g, p, MAX)),
        ("ls", |g, p, _| {
            rex_fs::ls(g, p, true).map(|m| m.keys().cloned().collect::<Vec<_>>().join(","))
        }),
        ("grep", |g, p, _| {
            rex_fs::grep(g, ".", p, &GrepOptions::default(), MAX).map(|v| v.join("\n"))
        }),
        ("tail", |g, p, _| {
            rex_fs::tail(g, p, TailSelect::default(), MAX).map(|v| v.join("\n"))
        }),
        ("sed", |g, p, _| {
            rex_fs::sed(g, "x", "y", p, &ReplacementOptions::default(), false, MAX)
        }),
        ("wc", |g, p, _| rex_fs::wc(g, p).map(|c| format!("{c:?}"))),
        ("awk_field", |g, p, _| {
            rex_fs::awk_field(g, 1, " ", p, MAX).map(|v| v.join("\n"))
        }),
        ("write", |g, p, _| {
            rex_fs::write(g, p, "pwned", WriteMode::Append).map(|()| String::new())
        }),
        ("write_replace", |g, p, _| {
            rex_fs::write(g, p, "pwned", WriteMode::Replace).map(|()| String::new())
        }),
        ("touch", |g, p, _| {
            rex_fs::touch(g, p).map(|()| String::new())
        }),
        ("mkdir", |g, p, _| {
            rex_fs::mkdir(g, p, true).map(|()| String::new())
        }),
        ("rm", |g, p, _| {
            rex_fs::rm(g, p, true, false).map(|()| String::new())
        }),
        ("cp_from", |g, p, a| {
            rex_fs::cp(g, p, &format!("{a}/copied"), true, false).map(|()| String::new())
        }),
        ("cp_to", |g, p, a| {
            rex_fs::cp(g, &format!("{a}/plain.txt"), p, true, false).map(|()| String::new())
        }),
        ("mv_from", |g, p, a| {
            rex_fs::mv(g, p, &format!("{a}/moved"), false)
        }),
        ("mv_to", |g, p, a| {
            std::fs::write(format!("{a}/tomove"), "m").ok();
            rex_fs::mv(g, &format!("{a}/tomove"), p, false)
        }),
        ("find_files", |g, p, _| {
            rex_fs::find_files(g, "*", p, true).map(|v| v.join(","))
        }),
        ("du", |g, p, _| {
            rex_fs::du(g, p, &DiskUsageOptions::default()).map(|r| format!("{:?}", r.entries))
        }),
        ("DirConfig.open", |g, p, _| {
            DirHandle::open(g, p, &OpenDirOptions::default()).map(|d| d.path().to_string())
        }),
        ("DirConfig.open+follow", |g, p, _| {
            let o = OpenDirOptions {
                follow_symlinks: true,
                ..Default::default()
            };
            DirHandle::open(g, p, &o).map(|d| d.path().to_string())
        }),
        ("open_file+read", |g, p, _| {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("/", p));
            let d = DirHandle::open(
                g,
                if dir.is_empty() { "/" } else { dir },
                &OpenDirOptions::default(),
            )?;
            let o = OpenFileOptions {
                read: true,
                follow_symlinks: true,
                ..Default::default()
            };
            d.open_file(g, name, &o)?.read(g, MAX)
        }),
        ("open_file+create", |g, p, _| {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("/", p));
            let d = DirHandle::open(
                g,
                if dir.is_empty() { "/" } else { dir },
                &OpenDirOptions::default(),
            )?;
            let o = OpenFileOptions {
                create: true,
                follow_symlinks: true,
                ..Default::default()
            };
            d.open_file(g, name, &o).map(|f| f.path().to_string())
        }),
    ]
}

/// Everything under `<root>/outside`: path -> content (or `<dir>`, `<link:target>`).
fn snapshot(dir: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path().to_str().unwrap().to_owned();
            let ft = e.file_type().unwrap();
            let v = if ft.is_symlink() {
                format!("<link:{}>", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                stack.push(p.clone());
                "<dir>".to_owned()
            } else {
                std::fs::read_to_string(&p).unwrap_or_default()
            };
            out.insert(p, v);
        }
    }
    out
}

struct Suite {
    fx: Fx,
    gate: Gate,
}

impl Suite {
    fn new() -> Self {
        let fx = Fx::new();
        fx.mkdir("allowed/sub");
        fx.mkdir("outside/dir");
        fx.file("outside/secret.txt", SECRET);
        fx.file("outside/dir/secret2.txt", SECRET);
        let root = fx.root.clone();
        let gate = gate(&format!(
            r#"permit(principal, action, resource in file_system::Dir::"{root}/allowed");"#
        ));
        Self { fx, gate }
    }

    fn reset_allowed(&self) {
        let a = self.fx.p("allowed");
        let _ = std::fs::remove_dir_all(&a);
        self.fx.mkdir("allowed/sub");
        self.fx.file("allowed/plain.txt", "plain\n");
        self.fx.file("allowed/sub/inner.txt", "inner\n");
    }

    /// Runs every entry point on `path`; checks the oracle after each.
    fn attack(&self, attack: &str, path: &str, setup: &dyn Fn(&Fx)) {
        let before = snapshot(&self.fx.p("outside"));
        let allowed = self.fx.p("allowed");
        for (name, call) in entry_points() {
            self.reset_allowed();
            setup(&self.fx);
            let r = call(&self.gate, path, &allowed);
            if let Ok(out) = &r {
                assert!(!out.contains(SECRET), "{attack} via {name}: leaked: {out}");
            }
            let after = snapshot(&self.fx.p("outside"));
            assert_eq!(
                before, after,
                "{attack} via {name} ({path}) changed the outside: {r:?}"
            );
        }
    }
}

#[test]
fn lexical_tricks() {
    let s = Suite::new();
    let r = s.fx.root.clone();
    let long = format!("{r}/allowed/{}", "a/".repeat(3000));
    for (attack, path) in [
        ("dotdot", format!("{r}/allowed/../outside/secret.txt")),
        (
            "dot and double slash",
            format!("{r}/allowed/./..//outside/secret.txt"),
        ),
        ("trailing slash", format!("{r}/allowed/../outside/dir/")),
        (
            "dotdot past root",
            format!("{r}/allowed/../../../../../..{r}/outside/secret.txt"),
        ),
        (
            "nul byte",
            format!("{r}/allowed/plain.txt\0/../../outside/secret.txt"),
        ),
        ("control characters", format!("{r}/allowed/\x01\x1b[2J")),
        ("overlong", long),
        ("relative", "allowed/../outside/secret.txt".to_owned()),
        ("empty", String::new()),
    ] {
        s.attack(attack, &path, &|_| {});
    }
}

#[test]
fn non_utf8_names_are_refused_not_guessed() {
    let s = Suite::new();
    s.reset_allowed();
    // A non-UTF-8 name in an allowed directory: listing and walking it is an error (it
    // could not be authorized exactly), never a guess.
    let name: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(b"bad\xff.txt");
    std::fs::write(std::path::Path::new(&s.fx.p("allowed")).join(name), SECRET).unwrap();
    let allowed = s.fx.p("allowed");
    assert!(rex_fs::ls(&s.gate, &allowed, true).is_err());
    assert!(rex_fs::find_files(&s.gate, "*", &allowed, true).is_err());
    assert!(rex_fs::du(&s.gate, &allowed, &DiskUsageOptions::default()).is_err());
    assert!(rex_fs::rm(&s.gate, &allowed, true, false).is_err());
    assert!(std::path::Path::new(&allowed).join(name).exists());
}

#[test]
fn symlinks_final_intermediate_dangling_loops() {
    let s = Suite::new();
    let r = s.fx.root.clone();
    let link = |target: String, name: &'static str| {
        move |fx: &Fx| std::os::unix::fs::symlink(&target, fx.p(name)).unwrap()
    };
    s.attack(
        "final symlink out",
        &format!("{r}/allowed/l"),
        &link("../outside/secret.txt".into(), "allowed/l"),
    );
    s.attack(
        "absolute symlink out",
        &format!("{r}/allowed/l"),
        &link(format!("{r}/outside/secret.txt"), "allowed/l"),
    );
    s.attack(
        "intermediate symlink out",
        &format!("{r}/allowed/l/secret.txt"),
        &link("../outside".into(), "allowed/l"),
    );
    s.attack(
        "intermediate symlink dir",
        &format!("{r}/allowed/l/"),
        &link("../outside/dir".into(), "allowed/l"),
    );
    s.attack(
        "dangling symlink out (create through)",
        &format!("{r}/allowed/l"),
        &link("../outside/new.txt".into(), "allowed/l"),
    );
    s.attack(
        "dangling into new dir",
        &format!("{r}/allowed/l/x"),
        &link("../outside/newdir".into(), "allowed/l"),
    );
    s.attack("symlink loop", &format!("{r}/allowed/l1"), &|fx: &Fx| {
        std::os::unix::fs::symlink("l2", fx.p("allowed/l1")).unwrap();
        std::os::unix::fs::symlink("l1", fx.p("allowed/l2")).unwrap();
    });
    s.attack(
        "symlink inside, then out",
        &format!("{r}/allowed/in/../outside/secret.txt"),
        &link("sub".into(), "allowed/in"),
    );
    s.attack(
        "proc magic link root",
        &format!("{r}/allowed/l"),
        &link(
            format!("/proc/self/root{r}/outside/secret.txt"),
            "allowed/l",
        ),
    );
    s.attack(
        "proc magic link cwd",
        &format!("{r}/allowed/l"),
        &link("/proc/self/cwd".into(), "allowed/l"),
    );
    s.attack(
        "symlink inside the allowed tree still works",
        &format!("{r}/allowed/l"),
        &link("plain.txt".into(), "allowed/l"),
    );
}

#[test]
fn proc_magic_links_under_a_permissive_proc_policy() {
    // Even when all of /proc is permitted, a magic link resolves to the real object,
    // whose canonical path is what the policy sees.
    let s = Suite::new();
    let r = s.fx.root.clone();
    let g = gate(&format!(
        r#"permit(principal, action, resource in file_system::Dir::"{r}/allowed");
permit(principal, action, resource in file_system::Dir::"/proc");"#
    ));
    let me = std::process::id();
    let f = std::fs::File::open(s.fx.p("outside/secret.txt")).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    for path in [
        format!("/proc/self/root{r}/outside/secret.txt"),
        format!("/proc/{me}/root{r}/outside/secret.txt"),
        format!("/proc/self/fd/{fd}"),
        format!("/proc/{me}/fd/{fd}"),
        format!("/proc/thread-self/root{r}/outside/secret.txt"),
        "/proc/self/cwd/../outside/secret.txt".to_owned(),
    ] {
        let out = rex_fs::cat(&g, &path, MAX);
        assert!(
            out.as_ref().is_err() || !out.as_ref().unwrap().contains(SECRET),
            "{path}: {out:?}"
        );
    }
    // exe, environ and mem: exe is outside the policy; environ and mem are procfs files
    // (allowed by the /proc permit) but never the secret, and mem cannot be read whole.
    assert!(rex_fs::cat(&g, "/proc/self/exe", MAX).is_err());
    assert!(rex_fs::cat(&g, "/proc/self/mem", MAX).is_err());
    let env = rex_fs::cat(&g, "/proc/self/environ", MAX);
    assert!(env.is_err() || !env.unwrap().contains(SECRET));
}

#[test]
fn fifo_and_device_opens_never_block() {
    let s = Suite::new();
    let r = s.fx.root.clone();
    s.attack("fifo", &format!("{r}/allowed/fifo"), &|fx: &Fx| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            fx.p("allowed/fifo").as_str(),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
    });
    // Each entry point must come back (a FIFO open would block forever).
    let p = s.fx.p("allowed/fifo");
    within(20, move || {
        for (_, call) in entry_points()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("mv") && *n != "rm")
        {
            let _ = call(
                &Gate::builder()
                    .principal("t")
                    .build(rex_policy::Policies::empty())
                    .unwrap(),
                &p,
                "/",
            );
        }
    });
    s.attack(
        "symlink to /dev/zero",
        &format!("{r}/allowed/z"),
        &|fx: &Fx| {
            std::os::unix::fs::symlink("/dev/zero", fx.p("allowed/z")).unwrap();
        },
    );
    // A device node inside the allowed tree (needs CAP_MKNOD): never read as a file.
    s.reset_allowed();
    let dev = s.fx.p("allowed/zero");
    if rustix::fs::mknodat(
        rustix::fs::CWD,
        dev.as_str(),
        rustix::fs::FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 5),
    )
    .is_ok()
    {
        let g = &s.gate;
        let d = dev.clone();
        let started = std::time::Instant::now();
        assert!(rex_fs::cat(g, &d, MAX).is_err());
        assert!(rex_fs::wc(g, &d).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}

#[test]
fn hardlinks_are_authorized_by_the_name_used() {
    let s = Suite::new();
    s.reset_allowed();
    let r = s.fx.root.clone();
    // Placed by someone who could write both directories (the kernel's
    // protected_hardlinks stops anyone else).
    std::fs::hard_link(s.fx.p("outside/secret.txt"), s.fx.p("allowed/hard")).unwrap();
    // The rule: the name reached is what is authorized.
    assert!(rex_fs::cat(&s.gate, &format!("{r}/allowed/hard"), MAX).is_ok());
    let g = gate(&format!(
        r#"permit(principal, action, resource in file_system::Dir::"{r}/allowed");
forbid(principal, action, resource == file_system::File::"{r}/allowed/hard");"#
    ));
    assert!(rex_fs::cat(&g, &format!("{r}/allowed/hard"), MAX).is_err());
    // The original's path stays refused.
    assert!(rex_fs::cat(&s.gate, &format!("{r}/outside/secret.txt"), MAX).is_err());
}

#[test]
fn rename_exchange_race_never_reads_outside() {
    let s = Suite::new();
    s.reset_allowed();
    let fx = &s.fx;
    fx.mkdir("allowed/real");
    fx.file("allowed/real/x", "ALLOWED\n");
    fx.file("outside/x", &format!("{SECRET}\n"));
    std::os::unix::fs::symlink(fx.p("outside"), fx.p("allowed/swap")).unwrap();
    let racer = common::Exchanger::start(fx.p("allowed/real"), vec![fx.p("allowed/swap")]);
    let mut ok = 0;
    let reads: Vec<(&str, Entry)> = entry_points()
        .into_iter()
        .filter(|(n, _)| {
            [
                "cat",
                "grep",
                "tail",
                "sed",
                "wc",
                "awk_field",
                "open_file+read",
            ]
            .contains(n)
        })
        .collect();
    let path = fx.p("allowed/real/x");
    for i in 0..3000 {
        let (name, call) = &reads[i % reads.len()];
        if let Ok(out) = call(&s.gate, &path, "") {
            assert!(
                !out.contains(SECRET),
                "{name} read outside during the race: {out}"
            );
            ok += 1;
        }
    }
    assert!(racer.stop() > 1000, "the race barely ran");
    assert!(ok > 0, "no read ever succeeded");
}

#[test]
fn execute_children_inherit_no_fds() {
    let s = Suite::new();
    s.reset_allowed();
    let fx = &s.fx;
    fx.file("allowed/fds.sh", "#!/bin/sh\nls /proc/self/fd\n");
    std::fs::set_permissions(
        fx.p("allowed/fds.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // Plenty of fds open in this process, some without CLOEXEC.
    let held: Vec<std::fs::File> = (0..20)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    let leaky = rustix::io::dup(&held[0]).unwrap();
    let d = DirHandle::open(&s.gate, &fx.p("allowed"), &OpenDirOptions::default()).unwrap();
    let f = d
        .open_file(
            &s.gate,
            "fds.sh",
            &OpenFileOptions {
                read: true,
                ..Default::default()
            },
        )
        .unwrap();
    let r = f
        .execute(&s.gate, &rex_fs::ExecuteOptions::default())
        .unwrap();
    let fds: Vec<&str> = r.stdout.split_whitespace().collect();
    // 0, 1, 2, the script itself (opened by the interpreter through its magic link, an
    // O_PATH fd), and the directory fd `ls` opens.
    assert!(fds.len() <= 5, "child saw fds {fds:?}");
    drop(leaky);
    drop(held);
}
