//! Thin wrappers over the few system calls everything else uses, with paths for errors.
//!
//! Every fd opened here is `O_CLOEXEC`; every lookup of a name is relative to a directory
//! fd and does not follow a symlink in that name.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::entry_type::EntryType;
use crate::error::FsError;

/// Flags of a path-only handle on one object: it can be `fstat`ed, used as a directory fd
/// for `*at` calls and re-opened through `/proc/self/fd`, but never reads or writes, so
/// taking one has no side effect (a FIFO does not block, a device is not opened).
pub(crate) const PATH_FLAGS: OFlags = OFlags::PATH.union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// The identity of an inode: device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub(crate) fn of(st: &Stat) -> Self {
        Self {
            dev: to_u64(st.st_dev),
            ino: to_u64(st.st_ino),
        }
    }

    pub(crate) fn ino(self) -> u64 {
        self.ino
    }
}

/// A stat field as `u64` (field types differ between architectures); negative is 0.
pub(crate) fn to_u64<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

/// A stat field as `i64`; out of range is `i64::MAX`.
pub(crate) fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

/// Retries a system call interrupted by a signal.
pub(crate) fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// `fstat` of any fd, including `O_PATH` ones.
pub(crate) fn fstat(fd: impl AsFd, path: &str) -> Result<Stat, FsError> {
    retry(|| rustix::fs::fstat(fd.as_fd())).map_err(|e| FsError::os("stat", path, e))
}

/// `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)`: the object the name refers to now.
pub(crate) fn stat_name(dirfd: impl AsFd, name: &str, path: &str) -> Result<Stat, FsError> {
    retry(|| rustix::fs::statat(dirfd.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW))
        .map_err(|e| FsError::os("stat", path, e))
}

/// The type in a stat.
pub(crate) fn entry_type(st: &Stat) -> EntryType {
    EntryType::from_mode(st.st_mode)
}

/// An `O_PATH` handle on `/`.
pub(crate) fn open_root() -> Result<OwnedFd, FsError> {
    retry(|| {
        rustix::fs::openat(
            rustix::fs::CWD,
            "/",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    })
    .map_err(|e| FsError::os("open", "/", e))
}

/// `openat(dirfd, name, O_PATH|O_NOFOLLOW|O_CLOEXEC)`: the raw result, for callers that
/// treat `ENOENT` specially.
pub(crate) fn open_path_at(dirfd: impl AsFd, name: &str) -> Result<OwnedFd, Errno> {
    retry(|| rustix::fs::openat(dirfd.as_fd(), name, PATH_FLAGS, Mode::empty()))
}

/// `openat(dirfd, ".", O_RDONLY|O_DIRECTORY|O_CLOEXEC)`: the same directory, readable (for
/// `getdents`). No name is looked up, so it is the same inode as `dirfd`.
pub(crate) fn open_dir_for_reading(dirfd: impl AsFd, path: &str) -> Result<OwnedFd, FsError> {
    retry(|| {
        rustix::fs::openat(
            dirfd.as_fd(),
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    })
    .map_err(|e| FsError::os("open directory", path, e))
}

/// `openat(dirfd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)`: a child directory,
/// readable, never through a symlink.
pub(crate) fn open_child_dir(dirfd: impl AsFd, name: &str, path: &str) -> Result<OwnedFd, FsError> {
    retry(|| {
        rustix::fs::openat(
            dirfd.as_fd(),
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
    })
    .map_err(|e| FsError::os("open directory", path, e))
}

/// Writes all of `buf` to `fd`.
pub(crate) fn write_all(fd: impl AsFd, mut buf: &[u8], path: &str) -> Result<(), FsError> {
    while !buf.is_empty() {
        let n = retry(|| rustix::io::write(fd.as_fd(), buf))
            .map_err(|e| FsError::os("write", path, e))?;
        if n == 0 {
            return Err(FsError::os("write", path, Errno::IO));
        }
        buf = buf.get(n..).unwrap_or_default();
    }
    Ok(())
}
