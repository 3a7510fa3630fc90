//! Re-opening the inode an `O_PATH` fd already holds, without looking its name up again.
//!
//! A file is re-opened through its magic link `/proc/self/fd/<n>` (the directory is
//! opened once and checked to be this process's, on a real, unobstructed procfs, by
//! [`crate::proc_fd`]): the kernel follows that link to the very inode the fd refers
//! to, whatever has since been renamed, replaced or symlinked at the path. The new fd is
//! then checked to be the same device and inode. Re-opening authorizes nothing; callers
//! re-open only after the gate allowed the access the new fd gives.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, Stat};
use rustix::path::DecInt;

use crate::error::FsError;
use crate::sys::{self, FileId};

fn reopen(fd: BorrowedFd<'_>, flags: OFlags, path: &str) -> Result<OwnedFd, FsError> {
    Ok(reopen_checked(fd, flags, path, None)?.0)
}

/// Re-opens `fd` and checks that the new fd is on the same inode: `expected` when the
/// caller already knows the identity of `fd` (from the `fstat` it made on this very fd,
/// which cannot change), else from a fresh `fstat`. Returns the new fd and its `fstat`.
fn reopen_checked(
    fd: BorrowedFd<'_>,
    flags: OFlags,
    path: &str,
    expected: Option<FileId>,
) -> Result<(OwnedFd, Stat), FsError> {
    let proc_fd = crate::proc_fd::proc_self_fd()
        .map_err(|e| FsError::os("open /proc/self/fd to re-open", path, e))?;
    let name = DecInt::from_fd(fd);
    let new = sys::retry(|| {
        rustix::fs::openat(
            proc_fd,
            name.as_c_str(),
            flags | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
    })
    .map_err(|e| FsError::os("re-open", path, e))?;
    let before = match expected {
        Some(id) => id,
        None => FileId::of(&sys::fstat(fd, path)?),
    };
    let stat = sys::fstat(&new, path)?;
    if before != FileId::of(&stat) {
        return Err(FsError::Changed {
            path: path.to_owned(),
        });
    }
    Ok((new, stat))
}

/// The same inode, open read-only (`O_NONBLOCK`, so even a special file could not block
/// the open; callers only re-open regular files).
pub(crate) fn for_reading(fd: impl AsFd, path: &str) -> Result<OwnedFd, FsError> {
    reopen(fd.as_fd(), OFlags::RDONLY | OFlags::NONBLOCK, path)
}

/// As [`for_reading`], for an `fd` whose identity the caller already took with `fstat`
/// (`expected`); also returns the `fstat` of the new fd.
pub(crate) fn for_reading_checked(
    fd: impl AsFd,
    expected: Option<FileId>,
    path: &str,
) -> Result<(OwnedFd, Stat), FsError> {
    reopen_checked(
        fd.as_fd(),
        OFlags::RDONLY | OFlags::NONBLOCK,
        path,
        expected,
    )
}

/// The same inode, open write-only; with `append`, every write goes to the end.
pub(crate) fn for_writing(fd: impl AsFd, append: bool, path: &str) -> Result<OwnedFd, FsError> {
    let mut flags = OFlags::WRONLY | OFlags::NONBLOCK;
    if append {
        flags |= OFlags::APPEND;
    }
    reopen(fd.as_fd(), flags, path)
}

/// An `O_PATH` fd on the same inode (e.g. for a file just created write-only).
pub(crate) fn as_path(fd: impl AsFd, path: &str) -> Result<OwnedFd, FsError> {
    reopen(fd.as_fd(), OFlags::PATH, path)
}
