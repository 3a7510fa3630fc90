#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Processes against the real kernel: listing filtered by the policy, signals through
//! pidfds (and never to a reused pid), fuser, lsof, ipcs, CPU monitoring, namespaces
//! and traces.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rex_policy::{Gate, Policies};
use rex_proc::{
    KillOptions, LsofOptions, MonitorProcessesCpuOptions, NamespaceOptions, ProcessErrorKind,
    ProcessHandle, ProcessManager, ProcessOptions, Signal, TraceOptions,
};

fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

/// A `sleep` child with a unique argument, killed on drop.
struct Sleeper(Child);

impl Sleeper {
    fn new(arg: &str) -> Self {
        let child = Command::new("sleep")
            .arg(arg)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it has exec'd (its command line is the sleep's).
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.starts_with(b"sleep\0") {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Self(child)
    }

    fn pid(&self) -> i64 {
        i64::from(self.0.id())
    }

    fn running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    fn wait_signal(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.signal();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn permit_cmd(action: &str, cmd: &str) -> String {
    format!(
        "permit(principal, action == process_system::Action::\"{action}\", resource) when {{ resource.command == \"{cmd}\" }};\n"
    )
}

#[test]
fn listing_shows_only_permitted_processes_and_counts_the_rest() {
    let child = Sleeper::new("31.101");
    let g = gate(&permit_cmd("list", "sleep 31.101"));
    let mut pm = ProcessManager::new();
    let listing = pm.processes(&g, ProcessOptions::default()).unwrap();
    assert_eq!(listing.processes.len(), 1, "{:?}", listing.processes);
    let p = &listing.processes[0];
    assert_eq!(p.pid, child.pid());
    assert_eq!(p.name, "sleep");
    assert_eq!(p.command, "sleep 31.101");
    assert_eq!(p.username, "root");
    assert_eq!(p.ppid, i64::from(std::process::id()));
    assert!(listing.filtered > 0);

    // Namespace info and threads on request.
    let listing = pm
        .processes(
            &g,
            ProcessOptions {
                load_namespace_info: true,
                include_threads: true,
            },
        )
        .unwrap();
    assert!(listing.processes[0].pid_namespace.is_some());

    // Denied everything: nothing visible, every process counted.
    let none = pm.processes(&gate(""), ProcessOptions::default()).unwrap();
    assert!(none.processes.is_empty());
    assert!(none.filtered > 1);
}

#[test]
fn kill_by_pid_goes_through_the_pidfd_and_is_denied_for_others() {
    let mut allowed = Sleeper::new("31.201");
    let mut other = Sleeper::new("31.202");
    let g = gate(&permit_cmd("kill", "sleep 31.201"));
    let mut pm = ProcessManager::new();
    let killed = pm
        .kill(
            &g,
            &KillOptions {
                pid: Some(allowed.pid()),
                ..KillOptions::default()
            },
        )
        .unwrap();
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0].name, "sleep");
    assert_eq!(allowed.wait_signal(), Some(15));

    let err = pm
        .kill(
            &g,
            &KillOptions {
                pid: Some(other.pid()),
                signal: Signal::Sigkill,
                ..KillOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied, "{err}");
    assert!(err.denied().is_some());
    std::thread::sleep(Duration::from_millis(50));
    assert!(other.running());

    let err = pm
        .kill(
            &g,
            &KillOptions {
                pid: Some(999_999_999),
                ..KillOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::ProcessNotFound);
}

#[test]
fn sighup_needs_interrupt_not_kill() {
    let mut child = Sleeper::new("31.301");
    let handle = ProcessHandle::open(child.pid()).unwrap();
    let kill_only = gate(&permit_cmd("kill", "sleep 31.301"));
    let err = handle.signal(&kill_only, Signal::Sighup).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    assert!(child.running());
    let interrupt = gate(&permit_cmd("interrupt", "sleep 31.301"));
    handle.signal(&interrupt, Signal::Sighup).unwrap();
    assert_eq!(child.wait_signal(), Some(1));
}

#[test]
fn kill_by_name_signals_only_permitted_matches() {
    let mut a = Sleeper::new("31.401");
    let mut b = Sleeper::new("31.401");
    let mut c = Sleeper::new("31.402");
    let g = gate(&permit_cmd("kill", "sleep 31.401"));
    let killed = ProcessManager::new()
        .kill(
            &g,
            &KillOptions {
                process_name: Some("sleep".into()),
                command: Some("31.40".into()),
                signal: Signal::Sigkill,
                ..KillOptions::default()
            },
        )
        .unwrap();
    let mut pids: Vec<i64> = killed.iter().map(|k| k.pid).collect();
    pids.sort_unstable();
    let mut want = vec![a.pid(), b.pid()];
    want.sort_unstable();
    assert_eq!(pids, want);
    assert_eq!(a.wait_signal(), Some(9));
    assert_eq!(b.wait_signal(), Some(9));
    assert!(c.running());

    // Exact match does not match a substring.
    let none = ProcessManager::new()
        .kill(
            &g,
            &KillOptions {
                command: Some("31.402".into()),
                exact_match: true,
                ..KillOptions::default()
            },
        )
        .unwrap();
    assert!(none.is_empty());
    assert!(c.running());

    let bad = KillOptions {
        pid: Some(1),
        process_name: Some("x".into()),
        ..KillOptions::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().kind(),
        ProcessErrorKind::ValidationError
    );
}

/// Makes the next forked process likely get `pid` by setting `ns_last_pid` (root only),
/// retrying while other processes on the machine race for it.
fn spawn_with_pid(pid: i64, arg: &str) -> Sleeper {
    for _ in 0..500 {
        let _ = std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string());
        let s = Sleeper::new(arg);
        if s.pid() == pid {
            return s;
        }
    }
    panic!("could not get pid {pid} reused");
}

#[test]
fn a_stale_handle_never_signals_a_process_that_reuses_the_pid() {
    // Any `sleep` may be killed: the old and the new process both match.
    let g = gate(
        "permit(principal, action == process_system::Action::\"kill\", resource) when { resource.name == \"sleep\" };",
    );
    let mut first = Sleeper::new("31.501");
    let pid = first.pid();
    let handle = ProcessHandle::open(pid).unwrap();
    let mut pm = ProcessManager::new();
    let seen = pm
        .processes(
            &gate("permit(principal, action == process_system::Action::\"list\", resource);"),
            ProcessOptions::default(),
        )
        .unwrap();
    assert!(seen.processes.iter().any(|p| p.pid == pid));

    // The process exits and is reaped; a new process gets the same pid.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let mut second = spawn_with_pid(pid, "31.502");
    assert_eq!(second.pid(), pid);

    // The old handle refuses, and nothing reaches the new process.
    assert!(!handle.is_running());
    let err = handle.signal(&g, Signal::Sigkill).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::ProcessNotFound, "{err}");
    // The manager that listed the old process refuses the pid too.
    let err = pm
        .kill(
            &g,
            &KillOptions {
                pid: Some(pid),
                signal: Signal::Sigkill,
                ..KillOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::ProcessNotFound, "{err}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(second.running(), "the new process was signalled");

    // A fresh handle pins the new process and can signal it.
    ProcessHandle::open(pid)
        .unwrap()
        .signal(&g, Signal::Sigkill)
        .unwrap();
    assert_eq!(second.wait_signal(), Some(9));
}

fn fd_policy(pid: u32) -> String {
    format!(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::Dir::\"/proc\");\n\
         permit(principal, action == process_system::Action::\"list_fds\", resource == process_system::Process::\"{pid}\");\n"
    )
}

#[test]
fn fuser_and_lsof_see_this_process_files_only_when_permitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.txt");
    std::fs::write(&path, "x").unwrap();
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let me = std::process::id();
    let path_s = path.to_str().unwrap();
    let g = gate(&fd_policy(me));
    let pm = ProcessManager::new();

    let users = pm.processes_using_inode(&g, path_s).unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].pid, i64::from(me));
    assert!(users[0].access.contains('f'));

    let files = pm
        .list_open_files(
            &g,
            &LsofOptions {
                path: Some(path_s.to_owned()),
                ..LsofOptions::default()
            },
        )
        .unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_type, "REG");
    assert_eq!(files[0].access, "u");
    let under = pm
        .list_open_files(
            &g,
            &LsofOptions {
                path: Some(dir.path().to_str().unwrap().to_owned()),
                include_subdir: true,
                pid: Some(i64::from(me)),
            },
        )
        .unwrap();
    assert_eq!(under.len(), 1);

    // Without list_fds on this process: skipped, not an error.
    let no_fds = gate(fd_policy(me).lines().next().unwrap());
    assert!(
        pm.processes_using_inode(&no_fds, path_s)
            .unwrap()
            .is_empty()
    );
    // With a pid, the denial is an error.
    let err = pm
        .list_open_files(
            &no_fds,
            &LsofOptions {
                pid: Some(i64::from(me)),
                ..LsofOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    // Without /proc: denied outright.
    let err = pm.processes_using_inode(&gate(""), path_s).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    drop(held);
}

#[test]
fn ipcs_reads_the_three_tables_when_permitted() {
    let g = gate(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource in file_system::Dir::\"/proc/sysvipc\");",
    );
    let info = rex_proc::ipcs_info(&g).unwrap();
    // Tables may be empty; what matters is that all three were read.
    let _ = (info.shared_memory, info.queues, info.semaphores);
    let only_shm = gate(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"/proc/sysvipc/shm\");",
    );
    let err = rex_proc::ipcs_info(&only_shm).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
}

#[test]
fn monitor_samples_cpu_in_batches() {
    let child = Sleeper::new("31.601");
    let g = gate(&permit_cmd("list", "sleep 31.601"));
    let mut pm = ProcessManager::new();
    let batches = pm
        .monitor_processes_cpu(
            &g,
            &MonitorProcessesCpuOptions {
                pids_to_monitor: vec![child.pid()],
                batches: 2,
                delay: Duration::from_millis(100),
                include_threads: false,
            },
            None,
        )
        .unwrap();
    assert_eq!(batches.len(), 2);
    for b in &batches {
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].pid, child.pid());
        assert!(b[0].recent_cpu_usage >= 0.0);
    }
    // Denied: the process is not in the samples.
    let batches = pm
        .monitor_processes_cpu(
            &gate(""),
            &MonitorProcessesCpuOptions {
                pids_to_monitor: vec![child.pid()],
                batches: 1,
                delay: Duration::from_millis(10),
                include_threads: false,
            },
            None,
        )
        .unwrap();
    assert!(batches[0].is_empty());
    // Past the deadline: refused up front.
    let err = pm
        .monitor_processes_cpu(
            &g,
            &MonitorProcessesCpuOptions {
                batches: 3,
                delay: Duration::from_secs(10),
                ..MonitorProcessesCpuOptions::default()
            },
            Some(Instant::now() + Duration::from_secs(1)),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::ValidationError);
}

fn ns_link(path: &str) -> String {
    std::fs::read_link(path)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn nsenter_runs_inside_the_target_namespace_and_restores() {
    // A process in a network namespace of its own.
    let mut child = Command::new("unshare")
        .args(["--net", "--mount", "sleep", "31.701"])
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare (util-linux) is needed");
    let pid = i64::from(child.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    while ns_link(&format!("/proc/{pid}/ns/net")) == ns_link("/proc/self/ns/net") {
        assert!(
            Instant::now() < deadline,
            "child never entered its namespace"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let theirs_net = ns_link(&format!("/proc/{pid}/ns/net"));
    let theirs_mnt = ns_link(&format!("/proc/{pid}/ns/mnt"));
    let ours_net = ns_link("/proc/thread-self/ns/net");
    let ours_mnt = ns_link("/proc/thread-self/ns/mnt");
    let cwd = std::env::current_dir().unwrap();
    let g = gate(&format!(
        "permit(principal, action in [process_system::Action::\"network_namespace\", process_system::Action::\"mount_namespace\"], resource == process_system::Process::\"{pid}\");"
    ));
    let opts = NamespaceOptions {
        mount: true,
        net: true,
        pid: Some(pid),
        net_ns_name: None,
    };
    let inside = rex_proc::nsenter(&g, &opts, || {
        (
            ns_link("/proc/thread-self/ns/net"),
            ns_link("/proc/thread-self/ns/mnt"),
        )
    })
    .unwrap();
    assert_eq!(inside, (theirs_net.clone(), theirs_mnt));
    assert_eq!(ns_link("/proc/thread-self/ns/net"), ours_net);
    assert_eq!(ns_link("/proc/thread-self/ns/mnt"), ours_mnt);
    assert_eq!(std::env::current_dir().unwrap(), cwd);

    // Network only, under a policy that allows only that.
    let net_only = gate(&format!(
        "permit(principal, action == process_system::Action::\"network_namespace\", resource == process_system::Process::\"{pid}\");"
    ));
    let opts_net = NamespaceOptions {
        mount: false,
        ..opts.clone()
    };
    let inside =
        rex_proc::nsenter(&net_only, &opts_net, || ns_link("/proc/thread-self/ns/net")).unwrap();
    assert_eq!(inside, theirs_net);
    // Mount needs its own permit; the closure never runs.
    let mut ran = false;
    let err = rex_proc::nsenter(&net_only, &opts, || ran = true).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    assert!(!ran);
    assert_eq!(ns_link("/proc/thread-self/ns/net"), ours_net);
    // A named namespace needs fs:network_namespace on /run/netns/<name>.
    let err = rex_proc::nsenter(
        &net_only,
        &NamespaceOptions {
            net: true,
            net_ns_name: Some("rex-none".into()),
            ..NamespaceOptions::default()
        },
        || (),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn trace_needs_trace_and_execute_on_gstack() {
    let child = Sleeper::new("31.801");
    let err = rex_proc::trace(&gate(""), child.pid(), TraceOptions::default(), None).unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
    let trace_only = gate(&permit_cmd("trace", "sleep 31.801"));
    let both = format!(
        "{}permit(principal, action == file_system::Action::\"execute\", resource);",
        permit_cmd("trace", "sleep 31.801")
    );
    let result = rex_proc::trace(&gate(&both), child.pid(), TraceOptions::default(), None);
    if std::path::Path::new(rex_proc::GSTACK).exists() {
        let err =
            rex_proc::trace(&trace_only, child.pid(), TraceOptions::default(), None).unwrap_err();
        assert_eq!(
            err.kind(),
            ProcessErrorKind::PermissionDenied,
            "execute was not checked"
        );
        assert!(result.is_ok(), "{result:?}");
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ProcessErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("gstack"));
    }
}
