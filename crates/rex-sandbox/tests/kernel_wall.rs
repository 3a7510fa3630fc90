#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The second wall on its own: a child process applies a plan derived from a policy, then
//! tries operations *directly* (std/rustix, no SDK, no policy check) and the kernel must
//! refuse what the policy does not cover: `EACCES` from Landlock, `EPERM` from seccomp.
//!
//! The sandbox is irreversible, so every scenario runs in a fresh child: this test binary
//! (harness = false, single-threaded) re-executes itself with `REX_SANDBOX_CHILD=<name>`.
//! A control child runs the same probes with the sandbox off, to show that each refusal
//! comes from the sandbox and not from the environment.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use rex_policy::Policies;
use rex_sandbox::{SandboxConfig, SandboxMode, apply, landlock_abi, plan};

const EACCES: &str = "err:13";
const EPERM: &str = "err:1";

fn main() {
    if let Ok(name) = std::env::var("REX_SANDBOX_CHILD") {
        child(&name);
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "landlock_is_available_and_abi_is_queried",
            landlock_available,
        ),
        (
            "landlock_refuses_reads_outside_the_permitted_directory",
            wall,
        ),
        (
            "writes_are_confined_to_what_create_and_write_permit",
            write_create,
        ),
        ("tcp_connect_only_to_the_permitted_port", network),
        ("execute_runs_the_permitted_program_only", execute),
        (
            "other_processes_under_landlock_and_when_inspection_is_permitted",
            other_processes,
        ),
        (
            "required_refuses_when_threads_already_run",
            required_threads,
        ),
        ("auto_reports_unrestricted_threads", auto_threads),
        (
            "thousands_of_file_rules_added_on_several_threads_are_each_enforced",
            many_rules,
        ),
        (
            "named_helper_threads_do_not_count_and_later_threads_are_restricted",
            helper_threads,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        CHILD_LOG.with(|l| l.borrow_mut().clear());
        let ok = std::panic::catch_unwind(f).is_ok();
        if !ok || std::env::var_os("REX_SANDBOX_VERBOSE").is_some() {
            CHILD_LOG.with(|l| eprintln!("{}", l.borrow()));
        }
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------- parent side

thread_local! {
    /// What the children of the current test printed on stderr (plan, report), shown when
    /// the test fails or with `REX_SANDBOX_VERBOSE=1`.
    static CHILD_LOG: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

struct Run {
    out: BTreeMap<String, String>,
    stderr: String,
    success: bool,
}

impl Run {
    fn get(&self, k: &str) -> &str {
        self.out.get(k).map_or_else(
            || panic!("child printed no `{k}`; stderr:\n{}", self.stderr),
            String::as_str,
        )
    }
}

fn run_child(name: &str, env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("REX_SANDBOX_CHILD", name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    CHILD_LOG.with(|l| {
        l.borrow_mut()
            .push_str(&format!("--- child {name} {env:?}\n{stderr}\n"))
    });
    let out = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Run {
        out,
        stderr,
        success: o.status.success(),
    }
}

/// Runs the child scenario `name` with `ROOT=root` and the sandbox `required`; it must
/// succeed.
fn run_required_under(name: &str, root: &Path) -> Run {
    let r = run_child(
        name,
        &[
            ("ROOT", root.display().to_string()),
            ("MODE", "required".into()),
        ],
    );
    assert!(r.success, "{}", r.stderr);
    r
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = std::fs::canonicalize(t.path()).unwrap();
    (t, p)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn landlock_available() {
    let abi = landlock_abi();
    eprintln!("landlock ABI of this kernel: {abi:?}");
    if let Ok(lsm) = std::fs::read_to_string("/sys/kernel/security/lsm") {
        eprintln!("active LSMs: {lsm}");
        assert_eq!(
            lsm.contains("landlock"),
            abi.is_some(),
            "lsm list vs ABI probe"
        );
    }
    // This machine runs Landlock (issue 8: ABI 7); the wall tests below rely on it.
    assert!(
        abi.unwrap_or(0) >= 6,
        "Landlock ABI {abi:?} too old for the kernel-refusal tests"
    );
}

fn wall() {
    let (_t, root) = tmp();
    std::fs::create_dir(root.join("allowed")).unwrap();
    std::fs::create_dir(root.join("forbidden")).unwrap();
    std::fs::write(root.join("allowed/x"), "allowed content").unwrap();
    std::fs::write(root.join("forbidden/x"), "secret").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let env = [("ROOT", root.display().to_string()), ("PORT", port)];

    let control = run_child(
        "wall",
        &[env[0].clone(), env[1].clone(), ("MODE", "off".into())],
    );
    assert!(control.success);
    assert_eq!(control.get("read_forbidden"), "ok:secret");
    assert_eq!(control.get("list_forbidden"), "ok");
    assert_eq!(control.get("write_allowed"), "ok");
    assert_eq!(control.get("read_etc"), "ok");
    assert_eq!(control.get("tcp_connect"), "ok");
    assert_eq!(control.get("tcp_bind"), "ok");
    assert_eq!(control.get("no_new_privs"), "NoNewPrivs:\t0");
    assert_eq!(control.get("seccomp"), "Seccomp:\t0");
    if is_root() {
        assert_eq!(control.get("chroot"), "ok");
        assert_eq!(control.get("unshare_uts"), "ok");
    }

    let r = run_child(
        "wall",
        &[env[0].clone(), env[1].clone(), ("MODE", "required".into())],
    );
    assert!(r.success, "child failed:\n{}", r.stderr);
    assert_eq!(r.get("report_landlock"), "Full");
    assert_eq!(r.get("report_abi"), format!("{:?}", landlock_abi()));
    assert_eq!(r.get("report_seccomp"), "true");
    assert_eq!(r.get("report_nnp"), "true");
    assert_eq!(r.get("read_allowed"), "ok:allowed content");
    assert_eq!(r.get("read_forbidden"), EACCES);
    assert_eq!(r.get("list_forbidden"), EACCES);
    assert_eq!(r.get("thread_read_forbidden"), EACCES);
    assert_eq!(r.get("write_allowed"), EACCES);
    assert_eq!(r.get("read_etc"), EACCES);
    assert_eq!(r.get("tcp_connect"), EACCES);
    assert_eq!(r.get("tcp_bind"), EACCES);
    assert_eq!(r.get("chroot"), EPERM);
    assert_eq!(r.get("unshare_uts"), EPERM);
    assert_eq!(r.get("no_new_privs"), "NoNewPrivs:\t1");
    assert_eq!(r.get("seccomp"), "Seccomp:\t2");
    assert_eq!(r.get("rlimit_nofile"), "1024");
    assert_eq!(r.get("rlimit_core"), "0");
    assert_eq!(r.get("rlimit_as"), (4u64 << 30).to_string());
    assert!(
        r.stderr.contains("sandbox: landlock full (ABI"),
        "{}",
        r.stderr
    );
    drop(listener);
}

/// Files `many/f0000` to `many/f1519` under `root`; the policy permits reading the first
/// 1,500 (one rule each, added by several threads on a machine with several processors).
const MANY_PERMITTED: usize = 1500;
const MANY_FILES: usize = 1520;

fn many_rules() {
    let (_t, root) = tmp();
    std::fs::create_dir(root.join("many")).unwrap();
    for i in 0..MANY_FILES {
        std::fs::write(root.join(format!("many/f{i:04}")), i.to_string()).unwrap();
    }
    let r = run_required_under("many_rules", &root);
    assert_eq!(r.get("report_landlock"), "Full");
    assert!(
        r.get("report_rules").parse::<usize>().unwrap() >= MANY_PERMITTED,
        "{}",
        r.stderr
    );
    assert_eq!(r.get("permitted_read"), MANY_PERMITTED.to_string());
    assert_eq!(
        r.get("others_refused"),
        (MANY_FILES - MANY_PERMITTED).to_string()
    );
    assert_eq!(r.get("list_refused"), EACCES);
}

fn write_create() {
    let (_t, root) = tmp();
    std::fs::create_dir(root.join("out")).unwrap();
    std::fs::create_dir(root.join("elsewhere")).unwrap();
    let r = run_required_under("write_create", &root);
    assert_eq!(r.get("write_permitted"), "ok");
    assert_eq!(r.get("rewrite_permitted"), "ok");
    assert_eq!(r.get("write_elsewhere"), EACCES);
    assert_eq!(r.get("mkdir_in_out"), EACCES);
    assert_eq!(r.get("symlink_elsewhere"), EACCES);
    assert_eq!(
        std::fs::read_to_string(root.join("out/result.txt")).unwrap(),
        "second"
    );
    assert!(!root.join("elsewhere/x").exists());
}

fn network() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let r = run_child(
        "network",
        &[
            ("ALLOWED", allowed.local_addr().unwrap().port().to_string()),
            ("OTHER", other.local_addr().unwrap().port().to_string()),
            ("MODE", "required".into()),
        ],
    );
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.get("connect_allowed"), "ok");
    assert_eq!(r.get("connect_other"), EACCES);
}

fn execute() {
    let true_bin = std::fs::canonicalize("/usr/bin/true").unwrap();
    let r = run_child(
        "execute",
        &[
            ("TRUE_BIN", true_bin.display().to_string()),
            ("MODE", "required".into()),
        ],
    );
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.get("run_true"), "ok:0");
    assert_eq!(r.get("run_id"), EACCES);
    assert_eq!(r.get("thread_after_apply"), "ok");
}

fn other_processes() {
    // `list` only: Landlock on. /proc/<pid>/status of a process outside the sandbox stays
    // readable; ptrace-mode access (exe, ns/*) is refused by Landlock, and a signal by the
    // signal scope (kill not permitted).
    let list = run_child(
        "probe_ptrace",
        &[
            (
                "POLICY",
                r#"permit(principal, action == process_system::Action::"list", resource);"#.into(),
            ),
            ("MODE", "required".into()),
        ],
    );
    assert!(list.success, "{}", list.stderr);
    assert_eq!(list.get("report_landlock"), "Full");
    assert_eq!(list.get("status"), "ok");
    assert_eq!(list.get("exe"), EACCES);
    assert_eq!(list.get("ns"), EACCES);
    assert_eq!(list.get("kill"), EPERM);
    // `list_fds` and `kill` named explicitly: no Landlock domain (so inspection and signals
    // work), seccomp and no_new_privs still on, and the report says why.
    let inspect = run_child(
        "probe_ptrace",
        &[
            (
                "POLICY",
                r#"permit(principal, action in [process_system::Action::"list_fds", process_system::Action::"kill"], resource);"#.into(),
            ),
            ("MODE", "required".into()),
        ],
    );
    assert!(inspect.success, "{}", inspect.stderr);
    assert_eq!(inspect.get("report_landlock"), "None");
    assert_eq!(inspect.get("report_seccomp"), "true");
    assert_eq!(inspect.get("exe"), "ok");
    assert_eq!(inspect.get("ns"), "ok");
    assert_eq!(inspect.get("kill"), "ok");
    assert!(
        inspect
            .stderr
            .contains("so no Landlock rule (filesystem, network, scope) is applied"),
        "{}",
        inspect.stderr
    );
}

fn required_threads() {
    let r = run_child("threads", &[("MODE", "required".into())]);
    if landlock_abi().unwrap_or(0) >= 8 {
        assert_eq!(r.get("apply"), "ok");
    } else {
        assert!(
            r.get("apply")
                .starts_with("err:sandbox required but `threads` cannot be enforced"),
            "{}",
            r.get("apply")
        );
    }
}

fn auto_threads() {
    let r = run_child("threads", &[("MODE", "auto".into())]);
    assert_eq!(r.get("apply"), "ok");
    if landlock_abi().unwrap_or(0) < 8 {
        assert!(
            r.stderr
                .contains("threads were already running and are not under Landlock"),
            "{}",
            r.stderr
        );
    }
}

fn helper_threads() {
    for mode in ["required", "auto"] {
        let r = run_child("threads", &[("MODE", mode.into()), ("HELPER", "1".into())]);
        assert_eq!(r.get("apply"), "ok", "{mode}");
        assert!(
            !r.stderr.contains("threads were already running"),
            "{}",
            r.stderr
        );
        // A thread started after the sandbox is under Landlock: the empty policy permits
        // no read of this test binary.
        assert_eq!(r.get("read_in_new_thread"), EACCES, "{mode}");
    }
    // The same thread unnamed still counts.
    let r = run_child(
        "threads",
        &[("MODE", "auto".into()), ("HELPER", "0".into())],
    );
    if landlock_abi().unwrap_or(0) < 8 {
        assert!(
            r.stderr.contains("threads were already running"),
            "{}",
            r.stderr
        );
    }
}

// ---------------------------------------------------------------- child side

fn child(name: &str) {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let root = PathBuf::from(var("ROOT"));
    let mode: SandboxMode = var("MODE").parse().unwrap();
    match name {
        "wall" => {
            let policy = format!(
                r#"@id("read-allowed") permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource in file_system::Dir::"{}");"#,
                root.join("allowed").display()
            );
            sandbox(&policy, mode);
            let port = var("PORT");
            say("read_allowed", read(&root.join("allowed/x")));
            say("read_forbidden", read(&root.join("forbidden/x")));
            say(
                "list_forbidden",
                res(std::fs::read_dir(root.join("forbidden")).map(|_| ())),
            );
            let forbidden = root.join("forbidden/x");
            say(
                "thread_read_forbidden",
                std::thread::spawn(move || read(&forbidden)).join().unwrap(),
            );
            say(
                "write_allowed",
                res(std::fs::write(root.join("allowed/new"), "x")),
            );
            let etc = if Path::new("/etc/shadow").exists() {
                "/etc/shadow"
            } else {
                "/etc/hostname"
            };
            say(
                "read_etc",
                if read(Path::new(etc)).starts_with("ok:") {
                    "ok".to_owned()
                } else {
                    read(Path::new(etc))
                },
            );
            say(
                "tcp_connect",
                res(TcpStream::connect(format!("127.0.0.1:{port}")).map(|_| ())),
            );
            say(
                "tcp_bind",
                res(TcpListener::bind("127.0.0.1:0").map(|_| ())),
            );
            say("chroot", errno(rustix::process::chroot("/")));
            #[allow(deprecated)]
            say(
                "unshare_uts",
                errno(rustix::thread::unshare(
                    rustix::thread::UnshareFlags::NEWUTS,
                )),
            );
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            for key in ["NoNewPrivs:", "Seccomp:"] {
                let line = status
                    .lines()
                    .find(|l| l.starts_with(key))
                    .unwrap()
                    .to_owned();
                say(
                    if key == "Seccomp:" {
                        "seccomp"
                    } else {
                        "no_new_privs"
                    },
                    line,
                );
            }
            use rustix::process::{Resource, getrlimit};
            let lim = |r| {
                getrlimit(r)
                    .current
                    .map_or("unlimited".to_owned(), |v| v.to_string())
            };
            say("rlimit_nofile", lim(Resource::Nofile));
            say("rlimit_core", lim(Resource::Core));
            say("rlimit_as", lim(Resource::As));
        }
        "write_create" => {
            let out = root.join("out");
            let policy = format!(
                r#"@id("out-dir") permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"{d}");
                   @id("result") permit(principal, action in [file_system::Action::"open", file_system::Action::"create", file_system::Action::"write"], resource == file_system::File::"{d}/result.txt");"#,
                d = out.display()
            );
            sandbox(&policy, mode);
            say(
                "write_permitted",
                res(std::fs::write(out.join("result.txt"), "first")),
            );
            say(
                "rewrite_permitted",
                res(std::fs::write(out.join("result.txt"), "second")),
            );
            say(
                "write_elsewhere",
                res(std::fs::write(root.join("elsewhere/x"), "x")),
            );
            say("mkdir_in_out", res(std::fs::create_dir(out.join("sub"))));
            say(
                "symlink_elsewhere",
                res(std::os::unix::fs::symlink(
                    "/etc/passwd",
                    root.join("elsewhere/l"),
                )),
            );
        }
        "network" => {
            let allowed = var("ALLOWED");
            let policy = format!(
                r#"@id("svc") permit(principal, action == network::Action::"connect", resource) when {{ resource has port && resource.port == {allowed} }};"#
            );
            sandbox(&policy, mode);
            say(
                "connect_allowed",
                res(TcpStream::connect(format!("127.0.0.1:{allowed}")).map(|_| ())),
            );
            say(
                "connect_other",
                res(TcpStream::connect(format!("127.0.0.1:{}", var("OTHER"))).map(|_| ())),
            );
        }
        "execute" => {
            let bin = var("TRUE_BIN");
            let policy = format!(
                r#"@id("run-true") permit(principal, action == file_system::Action::"execute", resource == file_system::File::"{bin}");"#
            );
            sandbox(&policy, mode);
            say(
                "run_true",
                match Command::new(&bin).status() {
                    Ok(s) => format!("ok:{}", s.code().unwrap_or(-1)),
                    Err(e) => format!("err:{}", e.raw_os_error().unwrap_or(-1)),
                },
            );
            say(
                "run_id",
                res(Command::new("/usr/bin/id").status().map(|_| ())),
            );
            say(
                "thread_after_apply",
                res(std::thread::spawn(|| ())
                    .join()
                    .map_err(|_| io::Error::other("panic"))),
            );
        }
        "threads" => {
            // HELPER=1: the other thread is named `helper` and listed as a helper thread.
            let helper = std::env::var("HELPER").is_ok_and(|h| h == "1");
            let (named, seen) = std::sync::mpsc::channel();
            let _sleeper = std::thread::Builder::new()
                .name("helper".into())
                .spawn(move || {
                    let _ = named.send(());
                    std::thread::sleep(std::time::Duration::from_secs(30));
                })
                .unwrap();
            seen.recv().unwrap();
            let policies = Policies::from_text("t.cedar", "").unwrap();
            let cfg = SandboxConfig {
                mode,
                helper_threads: if helper {
                    vec!["helper".to_owned()]
                } else {
                    Vec::new()
                },
                ..SandboxConfig::default()
            };
            match apply(&plan(&policies, &cfg)) {
                Ok(report) => {
                    for l in report.lines() {
                        eprintln!("{l}");
                    }
                    say("apply", "ok".to_owned());
                }
                Err(e) => say("apply", format!("err:{e}")),
            }
            let exe = std::env::current_exe().unwrap();
            let read = std::thread::spawn(move || std::fs::read(exe).map(|_| ()));
            say("read_in_new_thread", res(read.join().unwrap()));
            std::process::exit(0);
        }
        "probe_ptrace" => {
            let mut sleeper = Command::new("/usr/bin/sleep").arg("5").spawn().unwrap();
            let pid = sleeper.id();
            let policy = var("POLICY");
            sandbox(&policy, mode);
            say(
                "fd_dir",
                res(std::fs::read_dir(format!("/proc/{pid}/fd")).map(|_| ())),
            );
            say(
                "exe",
                res(std::fs::read_link(format!("/proc/{pid}/exe")).map(|_| ())),
            );
            say(
                "status",
                res(std::fs::read_to_string(format!("/proc/{pid}/status")).map(|_| ())),
            );
            say(
                "ns",
                res(std::fs::File::open(format!("/proc/{pid}/ns/net")).map(|_| ())),
            );
            say(
                "kill",
                errno(rustix::process::kill_process(
                    rustix::process::Pid::from_raw(pid as i32).unwrap(),
                    rustix::process::Signal::TERM,
                )),
            );
            let _ = sleeper.wait();
        }
        "many_rules" => {
            let file = |i: usize| root.join(format!("many/f{i:04}"));
            let policy: String = (0..MANY_PERMITTED)
                .map(|i| {
                    format!(
                        r#"permit(principal, action == file_system::Action::"read", resource == file_system::File::"{}");"#,
                        file(i).display()
                    )
                })
                .collect();
            let report = sandbox(&policy, mode);
            say("report_rules", report.landlock_rules.to_string());
            let permitted = (0..MANY_PERMITTED)
                .filter(|i| read(&file(*i)) == format!("ok:{i}"))
                .count();
            say("permitted_read", permitted.to_string());
            let refused = (MANY_PERMITTED..MANY_FILES)
                .filter(|i| read(&file(*i)) == EACCES)
                .count();
            say("others_refused", refused.to_string());
            say(
                "list_refused",
                res(std::fs::read_dir(root.join("many")).map(|_| ())),
            );
        }
        other => panic!("unknown child scenario {other}"),
    }
}

fn sandbox(policy: &str, mode: SandboxMode) -> rex_sandbox::SandboxReport {
    let policies = Policies::from_text("t.cedar", policy).unwrap();
    let cfg = SandboxConfig {
        mode,
        ..SandboxConfig::default()
    };
    let plan = plan(&policies, &cfg);
    for l in plan.lines() {
        eprintln!("{l}");
    }
    let report = apply(&plan).unwrap();
    for l in report.lines() {
        eprintln!("{l}");
    }
    say("report_landlock", format!("{:?}", report.landlock));
    say("report_abi", format!("{:?}", report.landlock_abi));
    say("report_seccomp", report.seccomp.to_string());
    say("report_nnp", report.no_new_privs.to_string());
    report
}

fn say(k: &str, v: String) {
    let mut out = io::stdout().lock();
    writeln!(out, "{k}={}", v.replace('\n', "\\n")).unwrap();
}

fn read(p: &Path) -> String {
    match std::fs::read_to_string(p) {
        Ok(s) => format!("ok:{s}"),
        Err(e) => format!("err:{}", e.raw_os_error().unwrap_or(-1)),
    }
}

fn res(r: io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("err:{}", e.raw_os_error().unwrap_or(-1)),
    }
}

fn errno(r: rustix::io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("err:{}", e.raw_os_error()),
    }
}
