//! `df`: mounted filesystems and their usage.

use std::os::fd::AsFd;

use rex_policy::Gate;
use rex_policy::action::fs;
use serde::Serialize;

use super::parse_mounts;
use crate::checked::{PROC_FILE_LIMIT, open_checked, read_all};
use crate::error::SysError;

/// Remote filesystem types, left out by `local`.
const REMOTE: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "sshfs",
    "fuse.sshfs",
    "ceph",
    "glusterfs",
    "9p",
    "afs",
    "lustre",
    "fuse.glusterfs",
    "davfs",
    "fuse.s3fs",
];

/// Which filesystems to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesystemOptions {
    /// Only mount points starting with one of these prefixes (empty: all).
    pub targets: Vec<String>,
    /// Leave out network filesystems.
    pub local: bool,
}

/// One mounted filesystem, as `df` shows it. Sizes in bytes unless the name says.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Filesystem {
    /// Total size in bytes.
    pub size: u64,
    /// Used, in 1 KiB blocks.
    pub block_used: u64,
    /// Available to unprivileged users, in 1 KiB blocks.
    pub block_available: u64,
    /// Total inodes.
    pub inodes: u64,
    /// Total size in 1 KiB blocks.
    pub kb_blocks: u64,
    /// Total size in 1 MiB blocks.
    pub mb_blocks: u64,
    /// Inodes used.
    pub iused: u64,
    /// Inodes free.
    pub ifree: u64,
    /// Used blocks in percent of used + available (as `df`).
    pub block_use_percent: f64,
    /// Used inodes in percent.
    pub iuse_percent: f64,
    /// Device (`/dev/sda1`, `tmpfs`).
    pub fs_device: String,
    /// Type (`ext4`, `tmpfs`).
    pub fs_kind: String,
    /// Mount point.
    pub mounted_on: String,
    /// Mount options.
    pub mount_options: String,
}

/// Lists filesystems with the options it was made with. Holding one authorizes nothing.
#[derive(Debug, Clone, Default)]
pub struct Filesystems {
    options: FilesystemOptions,
}

impl Filesystems {
    /// A lister with `options`.
    pub fn new(options: FilesystemOptions) -> Self {
        Self { options }
    }

    /// The filesystems with blocks (pseudo filesystems of size 0 are left out, as `df`
    /// does). Needs `read` on `File::"/proc/mounts"` and on `File::"/proc/diskstats"` (the
    /// original's checks; `/proc/mounts` is the kernel's link to the caller's mount table
    /// and keeps its original Cedar id). Usage comes from `statvfs` of each mount point.
    pub fn filesystems(&self, gate: &Gate) -> Result<Vec<Filesystem>, SysError> {
        let fd = open_checked(gate, "/proc/mounts", &[fs::READ], true)?;
        gate.check(
            fs::READ,
            &rex_policy::Resource::file(&rex_policy::CanonicalPath::new("/proc/diskstats")?),
        )?;
        let text = read_all(fd.as_fd(), "/proc/mounts", PROC_FILE_LIMIT)?;
        let mut out = Vec::new();
        for m in parse_mounts(&text) {
            if self.options.local && REMOTE.contains(&m.fs_type.as_str()) {
                continue;
            }
            if !self.options.targets.is_empty()
                && !self
                    .options
                    .targets
                    .iter()
                    .any(|t| m.mount_point.starts_with(t.as_str()))
            {
                continue;
            }
            let Ok(st) = rustix::fs::statvfs(m.mount_point.as_str()) else {
                continue;
            };
            if st.f_blocks == 0 {
                continue;
            }
            let frsize = if st.f_frsize > 0 {
                st.f_frsize
            } else {
                st.f_bsize
            };
            let size = st.f_blocks.saturating_mul(frsize);
            let used = st
                .f_blocks
                .saturating_sub(st.f_bfree)
                .saturating_mul(frsize)
                / 1024;
            let avail = st.f_bavail.saturating_mul(frsize) / 1024;
            let iused = st.f_files.saturating_sub(st.f_ffree);
            let pct = |a: u64, b: u64| {
                if a + b == 0 {
                    0.0
                } else {
                    (a as f64 * 100.0 / (a + b) as f64 * 10.0).ceil() / 10.0
                }
            };
            out.push(Filesystem {
                size,
                block_used: used,
                block_available: avail,
                inodes: st.f_files,
                kb_blocks: size / 1024,
                mb_blocks: size / (1024 * 1024),
                iused,
                ifree: st.f_ffree,
                block_use_percent: pct(used, avail),
                iuse_percent: pct(iused, st.f_ffree),
                fs_device: m.device,
                fs_kind: m.fs_type,
                mounted_on: m.mount_point,
                mount_options: m.options,
            });
        }
        Ok(out)
    }
}
