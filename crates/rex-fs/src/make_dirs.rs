//! Creating missing directory levels below an existing directory, each level authorized
//! (`create` on its canonical path) right before its `mkdirat`.

use std::sync::Arc;

use rex_policy::Gate;
use rex_policy::action::fs::{CREATE, OPEN};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::authorize;
use crate::create;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::ResolvedDir;
use crate::sys;

/// Creates `names` one below the other under `parent`: `open` on `Dir(parent)` first, then
/// for each level `create` on `Dir(level)` and `mkdirat` relative to the previous level's
/// fd. A level that appeared meanwhile is accepted only if it is a real directory (not a
/// symlink). Returns the deepest level and the fd of the directory holding it.
pub(crate) fn make_dirs(
    gate: &Gate,
    parent: ResolvedDir,
    names: &[String],
) -> Result<(ResolvedDir, Arc<OwnedFd>), FsError> {
    authorize::dir(gate, OPEN, parent.path())?;
    let mut above = parent.shared_fd();
    let mut current = parent;
    for name in names {
        let path = current.path().join(name)?;
        let permit = authorize::dir(gate, CREATE, &path)?;
        create::dir(current.fd(), name, &path, &permit)?;
        let fd = sys::retry(|| {
            rustix::fs::openat(
                current.fd().as_fd(),
                name.as_str(),
                sys::PATH_FLAGS | OFlags::DIRECTORY,
                Mode::empty(),
            )
        })
        .map_err(|e| match e {
            Errno::NOTDIR => FsError::mismatch(path.as_str(), EntryType::Dir, EntryType::Unknown),
            e => FsError::os("open directory", path.as_str(), e),
        })?;
        above = current.shared_fd();
        current = ResolvedDir::new(Arc::new(fd), path);
    }
    Ok((current, above))
}
