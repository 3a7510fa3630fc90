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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// `chmod` of the inode behind any fd (`O_PATH` included), through its
/// `/proc/self/fd/<n>` magic link, which the kernel resolves to that very inode. Never
/// applied to a symlink (the magic link of an `O_PATH|O_NOFOLLOW` fd on a link resolves
/// to the link, and Linux refuses `chmod` of links).
pub(crate) fn chmod_fd(fd: impl AsFd, mode: u32, path: &str) -> Result<(), FsError> {
    let proc_fd = crate::proc_fd::proc_self_fd()
        .map_err(|e| FsError::os("open /proc/self/fd to chmod", path, e))?;
    let name = rustix::path::DecInt::from_fd(fd.as_fd());
    retry(|| {
        rustix::fs::chmodat(
            proc_fd,
            name.as_c_str(),
            Mode::from_raw_mode(mode),
            AtFlags::empty(),
        )
    })
    .map_err(|e| FsError::os("chmod", path, e))
}

/// `fchownat(fd, "", AT_EMPTY_PATH)`: ownership of the inode behind any fd, a symlink's
/// own `O_PATH` fd included (the link itself changes, not its target).
pub(crate) fn chown_fd(
    fd: impl AsFd,
    uid: Option<u32>,
    gid: Option<u32>,
    path: &str,
) -> Result<(), FsError> {
    retry(|| {
        rustix::fs::chownat(
            fd.as_fd(),
            "",
            uid.map(rustix::fs::Uid::from_raw),
            gid.map(rustix::fs::Gid::from_raw),
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
        )
    })
    .map_err(|e| FsError::os("chown", path, e))
}

/// Checks that `name` in `dirfd` still refers to `expected` (else `Changed`).
pub(crate) fn verify_name(
    dirfd: impl AsFd,
    name: &str,
    expected: FileId,
    path: &str,
) -> Result<(), FsError> {
    if FileId::of(&stat_name(dirfd, name, path)?) == expected {
        Ok(())
    } else {
        Err(FsError::Changed {
            path: path.to_owned(),
        })
    }
}

/// A fresh name for a temporary file (`O_EXCL` decides whether it is free).
pub(crate) fn temp_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        ".rex-{tag}-{}-{n}-{nanos:x}",
        rustix::process::getpid().as_raw_nonzero()
    )
}

/// Creates a temporary regular file in `dirfd` (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600),
/// open read-write, and returns it with its name.
pub(crate) fn create_temp(
    dirfd: impl AsFd,
    tag: &str,
    path: &str,
) -> Result<(OwnedFd, String), FsError> {
    for _ in 0..16 {
        let name = temp_name(tag);
        match retry(|| {
            rustix::fs::openat(
                dirfd.as_fd(),
                name.as_str(),
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
        }) {
            Ok(fd) => return Ok((fd, name)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(FsError::os("create temporary file next to", path, e)),
        }
    }
    Err(FsError::os(
        "create temporary file next to",
        path,
        Errno::EXIST,
    ))
}
