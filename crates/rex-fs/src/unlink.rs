//! Removing a name relative to its directory fd, only with a `delete` permit for exactly
//! that object, and only while the name still refers to the inode that was authorized.

use rex_policy::action::fs::DELETE;
use rex_policy::{CanonicalPath, Permit};
use rustix::fd::AsFd;
use rustix::fs::AtFlags;

use crate::authorize::ensure;
use crate::error::FsError;
use crate::sys::{self, FileId};

/// Checks (`fstatat` without following) that `name` in `dirfd` is still `expected`, then
/// `unlinkat`s it (`AT_REMOVEDIR` for a directory). Linux has no unlink-by-fd, so a
/// rename in the instant between the two calls is the one window left, and only a racer
/// with write access to that directory (who could remove the object anyway) can use it.
pub(crate) fn remove_verified(
    dirfd: impl AsFd,
    name: &str,
    path: &CanonicalPath,
    expected: FileId,
    is_dir: bool,
    permit: &Permit,
) -> Result<(), FsError> {
    ensure(permit, DELETE, path)?;
    let now = FileId::of(&sys::stat_name(dirfd.as_fd(), name, path.as_str())?);
    if now != expected {
        return Err(FsError::Changed {
            path: path.to_string(),
        });
    }
    let flags = if is_dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    sys::retry(|| rustix::fs::unlinkat(dirfd.as_fd(), name, flags))
        .map_err(|e| FsError::os("remove", path.as_str(), e))
}
