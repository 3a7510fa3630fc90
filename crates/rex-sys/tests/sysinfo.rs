#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! System information against the real kernel: each call works under a permitting policy
//! and is refused under one that lacks its check.

use rex_policy::{Gate, Policies};
use rex_sys::{DmesgOptions, SystemInfo, SysteminfoErrorKind};

fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

const LIST: &str = r#"permit(principal, action == sysinfo::Action::"list", resource == sysinfo::Sysinfo::"localhost");"#;

fn read(path: &str) -> String {
    format!(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"{path}");"#
    )
}

fn denied<T: std::fmt::Debug>(r: Result<T, rex_sys::SysError>) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::PermissionDenied, "{e}");
    assert!(e.denied().is_some());
}

#[test]
fn hostname_cpu_count_uname_need_list() {
    let si = SystemInfo::new();
    let g = gate(LIST);
    let host = si.hostname(&g).unwrap();
    assert_eq!(host, rustix::system::uname().nodename().to_str().unwrap());
    assert!(si.cpu_count(&g).unwrap() >= 1);
    let u = si.uname_info(&g).unwrap();
    assert_eq!(u.kernel_name, "Linux");
    assert_eq!(u.nodename, host);
    assert!(!u.kernel_release.is_empty());
    assert_eq!(u.operating_system, "GNU/Linux");

    let none = gate("");
    denied(si.hostname(&none));
    denied(si.cpu_count(&none));
    denied(si.uname_info(&none));
}

#[test]
fn memory_and_swap_come_from_the_checked_meminfo() {
    let si = SystemInfo::new();
    let g = gate(&read("/proc/meminfo"));
    let m = si.memory_info(&g).unwrap();
    assert!(m.total > 0);
    assert!(m.available <= m.total);
    assert_eq!(m.used, m.total - m.available);
    let s = si.swap_info(&g).unwrap();
    assert_eq!(s.used, s.total - s.free);
    denied(si.memory_info(&gate(LIST)));
    denied(si.swap_info(&gate(LIST)));
}

#[test]
fn kernel_stats_and_slab_info() {
    let si = SystemInfo::new();
    let k = si.kernel_stats(&gate(&read("/proc/stat"))).unwrap();
    assert!(!k.cpu_time.is_empty());
    assert!(k.boot_time > 1_000_000_000);
    assert!(k.forks > 0);
    denied(si.kernel_stats(&gate(LIST)));

    let slab = format!(
        "{}\npermit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"/proc\");",
        read("/proc/slabinfo")
    );
    let s = si.slab_info(&gate(&slab)).unwrap();
    assert!(!s.slabs.is_empty());
    assert!(s.summary.total_objs >= s.summary.active_objs);
    denied(si.slab_info(&gate(&read("/proc/slabinfo"))));
}

#[test]
fn dmesg_reads_dev_kmsg_when_permitted() {
    let si = SystemInfo::new();
    let g = gate(&read("/dev/kmsg"));
    let entries = si
        .dmesg_info(
            &g,
            DmesgOptions {
                human_readable_time: true,
            },
            64 * 1024 * 1024,
        )
        .unwrap();
    assert!(!entries.is_empty());
    assert!(entries[0].timestamp.ends_with('Z'));
    assert!(entries.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let err = si.dmesg_info(&g, DmesgOptions::default(), 16).unwrap_err();
    assert_eq!(err.kind(), SysteminfoErrorKind::IoError);
    denied(si.dmesg_info(&gate(LIST), DmesgOptions::default(), 1 << 20));
}
