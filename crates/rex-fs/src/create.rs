//! Creating files and directories relative to a directory fd, only with a `create` permit
//! for exactly the object created.

use rex_policy::action::fs::CREATE;
use rex_policy::{CanonicalPath, Permit};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::authorize::ensure;
use crate::error::FsError;
use crate::sys;

/// Permission bits of directories created by `rex-fs` (before the process umask).
pub const DIR_MODE: u32 = 0o755;

/// Permission bits of files created without explicit permissions (before the umask).
pub const FILE_MODE: u32 = 0o644;

/// Creates the regular file `name` in `dirfd` with `mode & 0o777`, exclusively
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`: an existing name or a dangling symlink is `EEXIST`, never
/// followed), and returns it open write-only.
pub(crate) fn file_excl(
    dirfd: impl AsFd,
    name: &str,
    mode: u32,
    path: &CanonicalPath,
    permit: &Permit,
) -> Result<OwnedFd, FsError> {
    ensure(permit, CREATE, path)?;
    sys::retry(|| {
        rustix::fs::openat(
            dirfd.as_fd(),
            name,
            OFlags::WRONLY
                | OFlags::CREATE
                | OFlags::EXCL
                | OFlags::NOFOLLOW
                | OFlags::NOCTTY
                | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode & 0o777),
        )
    })
    .map_err(|e| FsError::os("create", path.as_str(), e))
}

/// `mkdirat(dirfd, name, 0o755)`. Returns `Ok(false)` when the name already exists (the
/// caller then opens it without following links and checks that it is a directory).
pub(crate) fn dir(
    dirfd: impl AsFd,
    name: &str,
    path: &CanonicalPath,
    permit: &Permit,
) -> Result<bool, FsError> {
    ensure(permit, CREATE, path)?;
    match sys::retry(|| rustix::fs::mkdirat(dirfd.as_fd(), name, Mode::from_raw_mode(DIR_MODE))) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(FsError::os("create directory", path.as_str(), e)),
    }
}
