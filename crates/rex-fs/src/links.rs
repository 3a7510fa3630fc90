//! Symbolic links in a directory: create one, read one's target, open one as a handle.

use rex_policy::Gate;
use rex_policy::action::fs::{CREATE, DELETE, OPEN, READ};
use rex_policy::path::validate_name;
use rustix::fs::AtFlags;

use crate::attrs::SymlinkHandle;
use crate::authorize;
use crate::dir::DirHandle;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::read_link;
use crate::sys::{self, FileId};

/// Options of [`DirHandle::create_symlink`] (the original `CreateSymlinkOptions()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateSymlinkOptions {
    /// Replace an existing non-directory at the name (needs `delete` on it).
    pub force: bool,
}

impl DirHandle {
    /// Creates the symlink `link_name` → `target` in this directory (`create` on
    /// `File(dir/link_name)`). The target text is not checked: it grants nothing, since
    /// whatever is later reached through the link is authorized by its own canonical
    /// path. With `force`, an existing non-directory there is first removed after
    /// `delete` on it (the name checked to still be the inode authorized).
    pub fn create_symlink(
        &self,
        gate: &Gate,
        target: &str,
        link_name: &str,
        opts: &CreateSymlinkOptions,
    ) -> Result<(), FsError> {
        validate_name(link_name)?;
        if target.is_empty() || target.contains('\0') {
            return Err(FsError::InvalidArguments(
                "create_symlink: the target must be non-empty text without NUL".to_owned(),
            ));
        }
        let path = self.path().join(link_name)?;
        let permit = authorize::file(gate, CREATE, &path)?;
        if opts.force {
            match sys::stat_name(self.fd(), link_name, path.as_str()) {
                Ok(st) => {
                    let t = sys::entry_type(&st);
                    if t == EntryType::Dir {
                        return Err(FsError::mismatch(path.as_str(), EntryType::File, t));
                    }
                    let del = authorize::file(gate, DELETE, &path)?;
                    crate::unlink::remove_verified(
                        self.fd(),
                        link_name,
                        &path,
                        FileId::of(&st),
                        false,
                        &del,
                    )?;
                }
                Err(FsError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        authorize::ensure(&permit, CREATE, &path)?;
        sys::retry(|| rustix::fs::symlinkat(target, self.fd(), link_name))
            .map_err(|e| FsError::os("create symlink", path.as_str(), e))
    }

    /// The target text of the symlink `name` in this directory (`read` on
    /// `File(dir/name)`, the link's own path; the original's check).
    pub fn read_link_target(&self, gate: &Gate, name: &str) -> Result<String, FsError> {
        validate_name(name)?;
        let path = self.path().join(name)?;
        let fd = sys::open_path_at(self.fd(), name)
            .map_err(|e| FsError::os("open", path.as_str(), e))?;
        let t = sys::entry_type(&sys::fstat(&fd, path.as_str())?);
        if t != EntryType::Symlink {
            return Err(FsError::mismatch(path.as_str(), EntryType::Symlink, t));
        }
        authorize::file(gate, READ, &path)?;
        read_link(&fd, path.as_str())
    }

    /// Opens the symlink `name` itself (`O_PATH|O_NOFOLLOW`) after `open` on
    /// `File(dir/name)`; anything else is `EntryTypeMismatchError`.
    pub fn open_symlink(&self, gate: &Gate, name: &str) -> Result<SymlinkHandle, FsError> {
        validate_name(name)?;
        let path = self.path().join(name)?;
        let fd = sys::open_path_at(self.fd(), name)
            .map_err(|e| FsError::os("open", path.as_str(), e))?;
        let t = sys::entry_type(&sys::fstat(&fd, path.as_str())?);
        if t != EntryType::Symlink {
            return Err(FsError::mismatch(path.as_str(), EntryType::Symlink, t));
        }
        authorize::file(gate, OPEN, &path)?;
        Ok(SymlinkHandle::new(fd, path))
    }
}

/// Best-effort `unlinkat` of a temporary name this crate created.
pub(crate) fn unlink_quiet(dirfd: impl rustix::fd::AsFd, name: &str) {
    let _ = rustix::fs::unlinkat(dirfd, name, AtFlags::empty());
}
