//! `du`: disk usage of a directory.

use rex_policy::Gate;

use crate::dir::{DirHandle, OpenDirOptions};
use crate::du::{DiskUsageOptions, DiskUsageResult};
use crate::error::FsError;

/// Disk usage of the directory at `path` (symlinks followed to it): `open` on
/// `Dir(canonical path)`, then the checks of [`DirHandle::disk_usage`].
pub fn du(gate: &Gate, path: &str, opts: &DiskUsageOptions) -> Result<DiskUsageResult, FsError> {
    let o = OpenDirOptions {
        follow_symlinks: true,
        ..OpenDirOptions::default()
    };
    DirHandle::open(gate, path, &o)?.disk_usage(gate, opts)
}
