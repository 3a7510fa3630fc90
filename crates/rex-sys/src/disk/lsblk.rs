//! `lsblk`: block devices, their partitions, sizes and mount points.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use rex_policy::action::fs;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags, openat};
use serde::Serialize;

use super::parse_mounts;
use crate::checked::{PROC_FILE_LIMIT, open_checked, read_all, read_checked};
use crate::error::SysError;

/// The directory whose per-device entries `lsblk` reads.
const SYS_BLOCK: &str = "/sys/class/block";

/// One block device.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockDevice {
    /// Kernel name (`sda1`).
    pub name: String,
    /// `disk`, `part`, `loop` or `rom`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Major number.
    pub maj: u32,
    /// Minor number.
    pub min: u32,
    /// Size in KiB.
    pub size_kib: u64,
    /// Removable medium.
    pub removable: bool,
    /// Read-only.
    pub read_only: bool,
    /// Where it is mounted (or `[SWAP]`), empty when not.
    pub mount_point: String,
    /// Partitions of a disk.
    pub children: Vec<BlockDevice>,
}

fn sys_attr(dir: &std::os::fd::OwnedFd, rel: &str) -> Option<String> {
    // The per-device entries are the kernel's own links into /sys/devices.
    let fd = openat(
        dir.as_fd(),
        rel,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    read_all(fd.as_fd(), rel, 64 * 1024)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Block devices by kernel name (disks at the top, partitions in `children`).
///
/// Needs `read` on `File::"/proc/partitions"`, `File::"/proc/mounts"`,
/// `File::"/proc/swaps"`, and `open` + `read` on `Dir::"/sys/class/block"` (the
/// per-device attributes `size`, `ro`, `removable`, `partition` are read below that
/// directory fd, through the kernel's links to each device).
pub fn lsblk(gate: &Gate) -> Result<BTreeMap<String, BlockDevice>, SysError> {
    let partitions = read_checked(gate, "/proc/partitions", PROC_FILE_LIMIT)?;
    let mounts_fd = open_checked(gate, "/proc/mounts", &[fs::READ], true)?;
    let mounts = parse_mounts(&read_all(
        mounts_fd.as_fd(),
        "/proc/mounts",
        PROC_FILE_LIMIT,
    )?);
    let swaps = read_checked(gate, "/proc/swaps", PROC_FILE_LIMIT)?;
    let block_dir = Resource::dir(&CanonicalPath::new(SYS_BLOCK)?);
    gate.check(fs::OPEN, &block_dir)?;
    gate.check(fs::READ, &block_dir)?;
    let dir = rustix::fs::open(
        SYS_BLOCK,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| SysError::os("open", SYS_BLOCK, e))?;

    let mut devices: Vec<BlockDevice> = Vec::new();
    for line in partitions.lines().skip(2) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(maj), Some(min), Some(blocks), Some(name)) =
            (f.first(), f.get(1), f.get(2), f.get(3))
        else {
            continue;
        };
        if name.contains('/') || name.starts_with('.') {
            continue;
        }
        let dev_path = format!("/dev/{name}");
        let mount_point = mounts
            .iter()
            .find(|m| m.device == dev_path)
            .map(|m| m.mount_point.clone())
            .or_else(|| {
                swaps
                    .lines()
                    .skip(1)
                    .any(|l| l.split_whitespace().next() == Some(dev_path.as_str()))
                    .then(|| "[SWAP]".to_owned())
            })
            .unwrap_or_default();
        let is_part = sys_attr(&dir, &format!("{name}/partition")).is_some();
        let kind = if is_part {
            "part"
        } else if name.starts_with("loop") {
            "loop"
        } else if name.starts_with("sr") {
            "rom"
        } else {
            "disk"
        };
        devices.push(BlockDevice {
            name: (*name).to_owned(),
            kind: kind.to_owned(),
            maj: maj.parse().unwrap_or(0),
            min: min.parse().unwrap_or(0),
            size_kib: blocks.parse().unwrap_or(0),
            removable: sys_attr(&dir, &format!("{name}/removable")).as_deref() == Some("1"),
            read_only: sys_attr(&dir, &format!("{name}/ro")).as_deref() == Some("1"),
            mount_point,
            children: Vec::new(),
        });
    }
    let (parts, disks): (Vec<_>, Vec<_>) = devices.into_iter().partition(|d| d.kind == "part");
    let mut out: BTreeMap<String, BlockDevice> =
        disks.into_iter().map(|d| (d.name.clone(), d)).collect();
    for p in parts {
        // A partition's directory sits inside its disk's: /sys/class/block/<disk>/<part>.
        let parent = out
            .keys()
            .find(|disk| sys_attr(&dir, &format!("{disk}/{}/partition", p.name)).is_some())
            .cloned();
        match parent.and_then(|k| out.get_mut(&k)) {
            Some(disk) => disk.children.push(p),
            None => {
                out.insert(p.name.clone(), p);
            }
        }
    }
    Ok(out)
}
