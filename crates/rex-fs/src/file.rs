//! File handles: an `O_PATH` fd on one authorized regular file, and the options to get one.

use std::sync::Arc;

use rex_policy::action::fs::{OPEN, READ, STAT};
use rex_policy::{CanonicalPath, Gate, Permit};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::authorize::{self, ensure};
use crate::content;
use crate::create::FILE_MODE;
use crate::error::FsError;
use crate::metadata::Metadata;
use crate::sys;

/// Options of [`crate::DirHandle::open_file`] (the original `OpenFileOptions()` builder).
///
/// All false by default. At least one of `read`, `write`, `create` must be set; `create`
/// implies `write`. `permissions` is the mode of a newly created file, masked to `0o777`
/// (default `0o644`, before the umask). Options authorize nothing by themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenFileOptions {
    /// The handle may be read (`read` is still checked at each read).
    pub read: bool,
    /// The handle may be written (`write` is still checked at each write).
    pub write: bool,
    /// Create the file if it does not exist (checked as `open` + `create` first).
    pub create: bool,
    /// Mode of a created file.
    pub permissions: Option<u32>,
    /// Follow a symlink in the name to its target (which is what gets authorized).
    pub follow_symlinks: bool,
}

/// The access a handle was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl OpenFileOptions {
    /// The access asked for, whether to create, and the creation mode; `InvalidArguments`
    /// when neither read nor write (nor create) is asked.
    pub(crate) fn validated(&self) -> Result<(Access, bool, u32), FsError> {
        let write = self.write || self.create;
        if !self.read && !write {
            return Err(FsError::InvalidArguments(
                "a file must be opened for `read` or `write` (or `create`)".to_owned(),
            ));
        }
        Ok((
            Access {
                read: self.read,
                write,
            },
            self.create,
            self.permissions.unwrap_or(FILE_MODE) & 0o777,
        ))
    }
}

/// An open regular file: an `O_PATH` fd on the inode that was authorized, its canonical
/// path, and whether it was opened for reading and/or writing.
///
/// Holding a `FileHandle` proves only that `open` was allowed on its path when it was
/// made; every operation on it asks the gate again (`read`, `stat`, ...) and acts on the
/// same inode, never on the name. Clones share the fd.
#[derive(Debug, Clone)]
pub struct FileHandle {
    fd: Arc<OwnedFd>,
    path: CanonicalPath,
    access: Access,
}

impl FileHandle {
    /// A handle on `fd` (an `O_PATH` fd on a regular file at `path`), made only with the
    /// `open` permit for `path`.
    pub(crate) fn authorized(
        fd: OwnedFd,
        path: CanonicalPath,
        access: Access,
        permit: &Permit,
    ) -> Result<Self, FsError> {
        ensure(permit, OPEN, &path)?;
        Ok(Self {
            fd: Arc::new(fd),
            path,
            access,
        })
    }

    /// The canonical path the handle was authorized on (it is not updated if the file is
    /// renamed later).
    pub fn path(&self) -> &CanonicalPath {
        &self.path
    }

    /// Whether the handle was opened for reading.
    pub fn readable(&self) -> bool {
        self.access.read
    }

    /// Whether the handle was opened for writing.
    pub fn writable(&self) -> bool {
        self.access.write
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads the whole file as UTF-8. Needs a handle opened for reading and `read` on
    /// `File(path)`. The same inode is re-opened read-only through `/proc/self/fd` (no path
    /// lookup); more than `max_bytes` is `FileContentTooLargeError` (nothing beyond the
    /// budget is read or allocated); invalid UTF-8 is `Utf8Error`. Authorizes nothing else.
    pub fn read(&self, gate: &Gate, max_bytes: usize) -> Result<String, FsError> {
        if !self.access.read {
            return Err(FsError::HandleAccess {
                path: self.path.to_string(),
                access: "read",
            });
        }
        let permit = authorize::file(gate, READ, &self.path)?;
        content::read_to_string(self.fd(), &self.path, max_bytes, &permit)
    }

    /// The file's metadata. Needs `stat` on `File(path)`; reads the inode the handle holds.
    pub fn metadata(&self, gate: &Gate) -> Result<Metadata, FsError> {
        let _permit = authorize::file(gate, STAT, &self.path)?;
        let st = sys::fstat(self.fd(), self.path.as_str())?;
        Ok(Metadata::from_stat(&st, None))
    }
}
