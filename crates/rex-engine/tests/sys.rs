#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "sys")]
//! System information, sysctl and disk functions from Rhai: each registered, working
//! under a policy that permits it, and denied under one that does not.

use std::sync::Arc;

use rex_engine::{ErrorType, RunOutcome, RunRequest, Status, registered_function_names, run};
use rex_policy::{Gate, Policies};

fn exec(policy: &str, script: &str) -> RunOutcome {
    let g = Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap();
    run(Arc::new(g), RunRequest::new("t.rhai", script))
}

fn ok(policy: &str, script: &str) -> String {
    let o = exec(policy, script);
    assert_eq!(
        o.document.status,
        Status::Success,
        "{script}: {:?}",
        o.document.error
    );
    o.document.output
}

fn denied(policy: &str, script: &str) {
    let o = exec(policy, script);
    let e = o
        .document
        .error
        .unwrap_or_else(|| panic!("{script} succeeded"));
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{script}: {}",
        e.message
    );
}

const LIST: &str = r#"permit(principal, action == sysinfo::Action::"list", resource == sysinfo::Sysinfo::"localhost");"#;

fn read(paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| format!("permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"{p}\");\n"))
        .collect()
}

#[test]
fn every_system_and_disk_name_is_registered() {
    let names = registered_function_names();
    for n in [
        "SystemInfo",
        "hostname",
        "cpu_count",
        "uname_info",
        "memory_info",
        "swap_info",
        "dmesg_info",
        "kernel_stats",
        "slab_info",
        "nproc",
        "uname",
        "free",
        "dmesg",
        "DmesgOptions",
        "human_readable_time",
        "SysctlManager",
        "read",
        "write",
        "find",
        "load_system",
        "sysctl_read",
        "sysctl_write",
        "sysctl_find",
        "FilesystemOptions",
        "targets",
        "local",
        "Filesystems",
        "filesystems",
        "df",
        "iostat",
        "lsblk",
        "format_bytes",
        "UnmountOptions",
        "unmount",
    ] {
        assert!(names.iter().any(|r| r == n), "`{n}` not registered");
    }
    assert_eq!(
        ok(
            "",
            "[SysteminfoErrorKind::PermissionDenied, SysteminfoErrorKind::ProcFsError, DiskinfoErrorKind::InvalidPath, DiskinfoErrorKind::SystemError]"
        ),
        r#"["PermissionDenied", "ProcFsError", "InvalidPath", "SystemError"]"#
    );
    assert_eq!(
        ok(
            "",
            "[format_bytes(3145728, Unit::MEGABYTES), format_bytes(2048, Unit::KILOBYTES), format_bytes(5, Unit::BYTES)]"
        ),
        "[3, 2, 5]"
    );
}

#[test]
fn system_information() {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    assert_eq!(ok(LIST, "SystemInfo().hostname()"), host);
    assert_eq!(ok(LIST, "hostname()"), host);
    assert_eq!(
        ok(LIST, "nproc() == SystemInfo().cpu_count() && nproc() > 0"),
        "true"
    );
    assert_eq!(
        ok(
            LIST,
            "let u = uname(); [u.kernel_name, u.operating_system, u.nodename == SystemInfo().uname_info().nodename]"
        ),
        "[\"Linux\", \"GNU/Linux\", true]"
    );
    for s in [
        "hostname()",
        "nproc()",
        "uname()",
        "SystemInfo().hostname()",
        "SystemInfo().cpu_count()",
        "SystemInfo().uname_info()",
    ] {
        denied("", s);
    }
    assert_eq!(
        ok(
            "",
            "let r = \"no error\"; try { hostname(); } catch (e) { r = `${e.source}/${e.kind}`; } r"
        ),
        "SysteminfoErrorKind/PermissionDenied"
    );

    let mem = read(&["/proc/meminfo"]);
    assert_eq!(
        ok(
            &mem,
            "let m = SystemInfo().memory_info(); let s = SystemInfo().swap_info(); let f = free(); [m.total > 0, m.used == m.total - m.available, s.used == s.total - s.free, f.memory.total == m.total, type_of(f.swap), m.to_map().total == m.total]"
        ),
        "[true, true, true, true, \"Swapinfo\", true]"
    );
    for s in [
        "free()",
        "SystemInfo().memory_info()",
        "SystemInfo().swap_info()",
    ] {
        denied(LIST, s);
    }

    let stat = read(&["/proc/stat"]);
    assert_eq!(
        ok(
            &stat,
            "let k = SystemInfo().kernel_stats(); [k.cpu_time.len() > 0, k.boot_time > 0, k.total_cpu_time.user_ticks >= 0]"
        ),
        "[true, true, true]"
    );
    denied(LIST, "SystemInfo().kernel_stats()");

    let slab = format!(
        "{}permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"/proc\");",
        read(&["/proc/slabinfo"])
    );
    assert_eq!(
        ok(&slab, "SystemInfo().slab_info().slabs.len() > 0"),
        "true"
    );
    denied(&read(&["/proc/slabinfo"]), "SystemInfo().slab_info()");

    let kmsg = read(&["/dev/kmsg"]);
    assert_eq!(
        ok(
            &kmsg,
            "let d = SystemInfo().dmesg_info(DmesgOptions().human_readable_time(true).build()); [d.len() > 0, d[0].timestamp.ends_with(\"Z\"), dmesg().len() > 0, type_of(d[0].message)]"
        ),
        "[true, true, true, \"string\"]"
    );
    denied(LIST, "dmesg()");
    denied(LIST, "SystemInfo().dmesg_info(DmesgOptions().build())");
}

#[test]
fn sysctl_from_a_script() {
    let kernel = "permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"/proc/sys/kernel\");\n\
                  permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"/proc/sys/kernel/ostype\");";
    assert_eq!(
        ok(
            kernel,
            "[sysctl_read(\"kernel.ostype\"), SysctlManager().read(\"kernel.ostype\")]"
        ),
        "[\"Linux\", \"Linux\"]"
    );
    denied(kernel, "sysctl_read(\"kernel.osrelease\")");
    assert_eq!(
        ok(
            kernel,
            "let f = sysctl_find(\"^kernel\\\\.os\"); let g = SysctlManager().find(\"^kernel\\\\.os\"); [f.len(), f[0].key, f[0].value, g[0].key]"
        ),
        "[1, \"kernel.ostype\", \"Linux\", \"kernel.ostype\"]"
    );
    assert_eq!(ok("", "sysctl_find(\"^kernel\\\\.ostype$\").len()"), "0");
    assert_eq!(
        ok(
            kernel,
            "let r = \"no error\"; try { sysctl_read(\"a..b\"); } catch (e) { r = e.kind; } r"
        ),
        "InvalidParameter"
    );

    let swappiness = std::fs::read_to_string("/proc/sys/vm/swappiness")
        .unwrap()
        .trim()
        .to_owned();
    let write = "permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"/proc/sys/vm\");\n\
                 permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"write\"], resource == file_system::File::\"/proc/sys/vm/swappiness\");";
    ok(
        write,
        &format!(
            "sysctl_write(\"vm.swappiness\", \"{swappiness}\"); SysctlManager().write(\"vm.swappiness\", \"{swappiness}\")"
        ),
    );
    denied(
        kernel,
        &format!("sysctl_write(\"vm.swappiness\", \"{swappiness}\")"),
    );
    denied(
        kernel,
        &format!("SysctlManager().write(\"vm.swappiness\", \"{swappiness}\")"),
    );
    // load_system needs both sysctl:load and execute (its success path is tested in rex-sys
    // with a stand-in program, so the host's configuration is not applied here).
    denied(
        "permit(principal, action == sysctl::Action::\"load\", resource == sysctl::Sysctl::\"localhost\");",
        "SysctlManager().load_system()",
    );
    denied(
        "permit(principal, action == file_system::Action::\"execute\", resource);",
        "SysctlManager().load_system()",
    );
}

#[test]
fn disks_from_a_script() {
    let mounts = read(&["/proc/mounts", "/proc/diskstats"]);
    assert_eq!(
        ok(
            &mounts,
            "let d = df(); let f = Filesystems(FilesystemOptions().targets([\"/\"]).local(true).build()).filesystems(); [d.filter(|x| x.mounted_on == \"/\").len(), f.len() > 0, d[0].to_map().size == d[0].size]"
        ),
        "[1, true, true]"
    );
    denied(&read(&["/proc/mounts"]), "df()");
    denied("", "Filesystems(FilesystemOptions().build()).filesystems()");
    let io = read(&["/proc/stat", "/proc/diskstats"]);
    assert_eq!(
        ok(
            &io,
            "let s = iostat(); let t = Filesystems(FilesystemOptions().build()).iostat(); [s.cpu_stats.idle_percent >= 0.0, type_of(t.device_stats)]"
        ),
        "[true, \"array\"]"
    );
    denied(&read(&["/proc/stat"]), "iostat()");
    let blk = format!(
        "{}permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::Dir::\"/sys/class/block\");",
        read(&["/proc/partitions", "/proc/mounts", "/proc/swaps"])
    );
    assert_eq!(ok(&blk, "type_of(lsblk())"), "map");
    denied(
        &read(&["/proc/partitions", "/proc/mounts", "/proc/swaps"]),
        "lsblk()",
    );

    // unmount a tmpfs this test mounts (root).
    let dir = tempfile::tempdir().unwrap();
    let target = std::fs::canonicalize(dir.path()).unwrap().join("m");
    std::fs::create_dir(&target).unwrap();
    rustix::mount::mount(
        "rex-test",
        target.as_path(),
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None::<&std::ffi::CStr>,
    )
    .expect("mount tmpfs (root)");
    let t = target.to_str().unwrap();
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some(t))
    };
    assert!(mounted());
    denied(
        "permit(principal, action == file_system::Action::\"unmount\", resource == file_system::Dir::\"/mnt\");",
        &format!("unmount(UnmountOptions().path(\"{t}\").build())"),
    );
    assert!(mounted());
    ok(
        &format!(
            "permit(principal, action == file_system::Action::\"unmount\", resource == file_system::Dir::\"{t}\");"
        ),
        &format!("unmount(UnmountOptions().path(\"{t}/\").build())"),
    );
    assert!(!mounted());
    assert_eq!(
        ok(
            "",
            "let r = \"no error\"; try { unmount(UnmountOptions().build()); } catch (e) { r = e.kind; } r"
        ),
        "InvalidPath"
    );
}
