#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Disks against the real kernel: df, iostat, lsblk, format_bytes, and unmounting a tmpfs
//! the test mounts (as root).

use rex_policy::{Gate, Policies};
use rex_sys::{
    DiskinfoErrorKind, FilesystemOptions, Filesystems, Unit, UnmountOptions, format_bytes,
};
use rustix::mount::{MountFlags, mount};

fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

fn read(paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| format!("permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"{p}\");\n"))
        .collect()
}

fn is_mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(path))
}

fn disk_denied<T: std::fmt::Debug>(r: Result<T, rex_sys::SysError>) {
    let e = r.unwrap_err();
    assert_eq!(e.disk_kind(), DiskinfoErrorKind::PermissionDenied, "{e}");
}

#[test]
fn df_lists_filesystems_with_the_original_checks() {
    let g = gate(&read(&["/proc/mounts", "/proc/diskstats"]));
    let all = Filesystems::new(FilesystemOptions::default())
        .filesystems(&g)
        .unwrap();
    let root = all
        .iter()
        .find(|f| f.mounted_on == "/")
        .expect("/ is mounted");
    assert!(root.size > 0);
    assert_eq!(root.kb_blocks, root.size / 1024);
    assert!(root.block_use_percent >= 0.0 && root.block_use_percent <= 100.0);
    let only_root = Filesystems::new(FilesystemOptions {
        targets: vec!["/proc".into()],
        local: true,
    })
    .filesystems(&g)
    .unwrap();
    assert!(only_root.iter().all(|f| f.mounted_on.starts_with("/proc")));
    disk_denied(
        Filesystems::new(FilesystemOptions::default()).filesystems(&gate(&read(&["/proc/mounts"]))),
    );
}

#[test]
fn iostat_and_lsblk() {
    let io = rex_sys::iostat(&gate(&read(&["/proc/stat", "/proc/diskstats"]))).unwrap();
    let c = io.cpu_stats;
    let sum = c.user_percent
        + c.nice_percent
        + c.system_percent
        + c.iowait_percent
        + c.steal_percent
        + c.idle_percent;
    assert!((99.0..=101.0).contains(&sum), "{c:?}");
    disk_denied(rex_sys::iostat(&gate(&read(&["/proc/stat"]))));

    let lsblk_policy = format!(
        "{}permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::Dir::\"/sys/class/block\");",
        read(&["/proc/partitions", "/proc/mounts", "/proc/swaps"])
    );
    let devices = rex_sys::lsblk(&gate(&lsblk_policy)).unwrap();
    let partitions = std::fs::read_to_string("/proc/partitions").unwrap();
    if partitions.lines().count() > 2 {
        assert!(!devices.is_empty());
        let (name, d) = devices.iter().next().unwrap();
        assert_eq!(&d.name, name);
        assert!(d.size_kib > 0 || d.kind == "loop");
    }
    disk_denied(rex_sys::lsblk(&gate(&read(&[
        "/proc/partitions",
        "/proc/mounts",
        "/proc/swaps",
    ]))));
}

#[test]
fn format_bytes_takes_signed_sizes() {
    assert_eq!(format_bytes(3 * 1024 * 1024, Unit::Megabytes), 3);
    assert_eq!(format_bytes(4096, Unit::Kilobytes), 4);
    assert_eq!(format_bytes(1, Unit::Bytes), 1);
}

#[test]
fn unmount_a_tmpfs_by_canonical_path_only_when_permitted() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = std::fs::canonicalize(dir.path()).unwrap();
    let target = canonical.join("mnt");
    std::fs::create_dir(&target).unwrap();
    let t = target.to_str().unwrap().to_owned();
    mount(
        "rex-test",
        target.as_path(),
        "tmpfs",
        MountFlags::empty(),
        None::<&std::ffi::CStr>,
    )
    .expect("mount tmpfs (root)");
    assert!(is_mounted(&t));

    let permit = format!(
        "permit(principal, action == file_system::Action::\"unmount\", resource == file_system::Dir::\"{t}\");"
    );
    // Another policy: denied, still mounted.
    let other = "permit(principal, action == file_system::Action::\"unmount\", resource == file_system::Dir::\"/mnt\");";
    disk_denied(rex_sys::unmount(
        &gate(other),
        &UnmountOptions { path: t.clone() },
    ));
    assert!(is_mounted(&t));

    // A symlink to the mount point is refused (the walk follows none).
    let link = canonical.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = rex_sys::unmount(
        &gate(&permit),
        &UnmountOptions {
            path: link.to_str().unwrap().to_owned(),
        },
    )
    .unwrap_err();
    assert_eq!(e.disk_kind(), DiskinfoErrorKind::InvalidPath, "{e}");
    assert!(is_mounted(&t));

    // Another spelling of the same directory is the same Cedar id.
    let spelled = format!("{}//./mnt/", canonical.display());
    rex_sys::unmount(&gate(&permit), &UnmountOptions { path: spelled }).unwrap();
    assert!(!is_mounted(&t));

    // Not a mount point any more.
    let e = rex_sys::unmount(&gate(&permit), &UnmountOptions { path: t.clone() }).unwrap_err();
    assert_eq!(e.disk_kind(), DiskinfoErrorKind::InvalidPath, "{e}");
    let e = rex_sys::unmount(
        &gate(&permit),
        &UnmountOptions {
            path: format!("{t}/../mnt"),
        },
    )
    .unwrap_err();
    assert_eq!(e.disk_kind(), DiskinfoErrorKind::InvalidPath, "{e}");
}
