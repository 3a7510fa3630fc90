//! `unmount`: unmounting the filesystem mounted on a directory reached without symlinks,
//! authorized on its canonical path, and unmounted through the parent directory's fd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rex_policy::action::fs;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags, openat, statx};
use rustix::io::Errno;
use rustix::mount::UnmountFlags;

use crate::error::SysError;

/// What to unmount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnmountOptions {
    /// The mount point.
    pub path: String,
}

fn mount_id(fd: BorrowedFd<'_>, path: &str) -> Result<u64, SysError> {
    statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
        .map(|s| s.stx_mnt_id)
        .map_err(|e| SysError::os("stat", path, e))
}

/// Walks `path` from `/` one component at a time with `O_PATH|O_NOFOLLOW`: a symlink
/// anywhere, or a `..`, is refused. Returns the parent's fd, the last name and the
/// canonical path.
fn walk(path: &str) -> Result<(OwnedFd, String, CanonicalPath), SysError> {
    let invalid = |reason: &str| SysError::InvalidPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if !path.starts_with('/') {
        return Err(invalid("not absolute"));
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(invalid("contains `..`"));
    }
    let Some((last, dirs)) = parts.split_last() else {
        return Err(invalid("cannot unmount `/`"));
    };
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut cur =
        rustix::fs::open("/", flags, Mode::empty()).map_err(|e| SysError::os("open", "/", e))?;
    for c in dirs {
        cur = openat(cur.as_fd(), *c, flags, Mode::empty()).map_err(|e| match e {
            Errno::LOOP | Errno::NOTDIR => invalid("a component is a symlink or not a directory"),
            e => SysError::os("open", path, e),
        })?;
    }
    let canonical = CanonicalPath::new(&format!("/{}", parts.join("/")))?;
    Ok((cur, (*last).to_owned(), canonical))
}

/// Unmounts the filesystem mounted on `options.path`. The path is walked without
/// following symlinks, must be a mount point, and is authorized with
/// `file_system::Action::"unmount"` on `Dir::"<canonical path>"`; the unmount then names
/// the mount point relative to the parent directory fd that walk holds
/// (`/proc/self/fd/<parent>/<name>`, final component not followed), so a directory
/// swapped in above it after the check is not what gets unmounted. The OS refuses
/// without CAP_SYS_ADMIN (`SystemError`).
pub fn unmount(gate: &Gate, options: &UnmountOptions) -> Result<(), SysError> {
    let (parent, name, canonical) = walk(&options.path)?;
    let target = openat(
        parent.as_fd(),
        name.as_str(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::LOOP | Errno::NOTDIR => SysError::InvalidPath {
            path: options.path.clone(),
            reason: "is a symlink or not a directory".into(),
        },
        e => SysError::os("open", &options.path, e),
    })?;
    if mount_id(target.as_fd(), &options.path)? == mount_id(parent.as_fd(), &options.path)? {
        return Err(SysError::InvalidPath {
            path: options.path.clone(),
            reason: "not a mount point".into(),
        });
    }
    // Our own reference would make the mount busy.
    drop(target);
    gate.check(fs::UNMOUNT, &Resource::dir(&canonical))?;
    let anchored = format!(
        "/proc/self/fd/{}/{name}",
        std::os::fd::AsRawFd::as_raw_fd(&parent)
    );
    rustix::mount::unmount(anchored.as_str(), UnmountFlags::NOFOLLOW)
        .map_err(|e| SysError::os("unmount", canonical.as_str(), e))
}
