//! File handles: an `O_PATH` fd on one authorized regular file, and the options to get one.

use std::sync::{Arc, Mutex};

use rex_policy::action::fs::{OPEN, READ, REDACTED_READ, STAT};
use rex_policy::{CanonicalPath, Gate, Permit, Resource};
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
    /// `O_PATH` fd on the directory holding the file (for name-based operations).
    parent: Arc<OwnedFd>,
    /// Where the next `read_page` starts (shared by clones).
    page_offset: Arc<Mutex<u64>>,
    /// The inode `fd` is on, when the maker already took its `fstat` (saves one when
    /// re-opening; an `O_PATH` fd never changes inode).
    id: Option<sys::FileId>,
}

impl FileHandle {
    /// A handle on `fd` (an `O_PATH` fd on a regular file at `path`), made only with the
    /// `open` permit for `path`.
    pub(crate) fn authorized(
        fd: OwnedFd,
        path: CanonicalPath,
        access: Access,
        parent: Arc<OwnedFd>,
        permit: &Permit,
    ) -> Result<Self, FsError> {
        ensure(permit, OPEN, &path)?;
        Ok(Self {
            fd: Arc::new(fd),
            path,
            access,
            parent,
            page_offset: Arc::new(Mutex::new(0)),
            id: None,
        })
    }

    /// This handle, knowing that its fd is on inode `id` (from the resolver's `fstat` of
    /// that same fd).
    pub(crate) fn with_id(mut self, id: sys::FileId) -> Self {
        self.id = Some(id);
        self
    }

    /// The same handle data for a new inode at the same name (after an atomic write).
    pub(crate) fn replaced(&self, fd: OwnedFd) -> Self {
        Self {
            fd: Arc::new(fd),
            path: self.path.clone(),
            access: self.access,
            parent: Arc::clone(&self.parent),
            page_offset: Arc::new(Mutex::new(0)),
            id: None,
        }
    }

    pub(crate) fn parent_fd(&self) -> BorrowedFd<'_> {
        self.parent.as_fd()
    }

    pub(crate) fn access(&self) -> Access {
        self.access
    }

    pub(crate) fn page_offset(&self) -> &Mutex<u64> {
        &self.page_offset
    }

    /// The file's name in its directory.
    pub(crate) fn name(&self) -> &str {
        self.path.file_name().unwrap_or_default()
    }

    /// `HandleAccess` unless the handle was opened for reading.
    pub(crate) fn need_read(&self) -> Result<(), FsError> {
        if self.access.read {
            Ok(())
        } else {
            Err(FsError::HandleAccess {
                path: self.path.to_string(),
                access: "read",
            })
        }
    }

    /// `HandleAccess` unless the handle was opened for writing.
    pub(crate) fn need_write(&self) -> Result<(), FsError> {
        if self.access.write {
            Ok(())
        } else {
            Err(FsError::HandleAccess {
                path: self.path.to_string(),
                access: "write",
            })
        }
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
    ///
    /// When `read` is refused but `redacted_read` is permitted, the content comes back
    /// redacted (§6 of the original): every line that matches no template of the
    /// redaction dictionary ([`crate::redaction_dictionary`]) becomes `[REDACTED]`. When
    /// the dictionary does not exist, the refusal of `read` is returned.
    pub fn read(&self, gate: &Gate, max_bytes: usize) -> Result<String, FsError> {
        Ok(self.read_text(gate, max_bytes)?.0)
    }

    /// Like [`FileHandle::read`], also saying whether the text was redacted.
    pub(crate) fn read_text(
        &self,
        gate: &Gate,
        max_bytes: usize,
    ) -> Result<(String, bool), FsError> {
        self.need_read()?;
        read_text_at(
            gate,
            self.fd(),
            self.id,
            &self.path,
            &Resource::file(&self.path),
            max_bytes,
        )
    }

    /// The whole file as UTF-8 after a full `read` permit (no redacted fallback): for
    /// operations whose result is written back or must be exact.
    pub fn read_full(&self, gate: &Gate, max_bytes: usize) -> Result<String, FsError> {
        self.need_read()?;
        let permit = authorize::file(gate, READ, &self.path)?;
        content::read_to_string(self.fd(), self.id, &self.path, max_bytes, &permit)
    }

    /// The whole file as bytes after a full `read` permit.
    pub(crate) fn read_bytes(&self, gate: &Gate, max_bytes: usize) -> Result<Vec<u8>, FsError> {
        self.need_read()?;
        let permit = authorize::file(gate, READ, &self.path)?;
        content::read_bytes(self.fd(), &self.path, max_bytes, &permit)
    }

    /// The file's metadata. Needs `stat` on `File(path)`; reads the inode the handle holds.
    pub fn metadata(&self, gate: &Gate) -> Result<Metadata, FsError> {
        let _permit = authorize::file(gate, STAT, &self.path)?;
        let st = sys::fstat(self.fd(), self.path.as_str())?;
        Ok(Metadata::from_stat(&st, None))
    }
}

/// The text of the regular file behind `fd` (an `O_PATH` fd on inode `id` when known, at
/// `path`, whose request resource is `file`): `read` on it, or when `read` is refused and
/// `redacted_read` is permitted, the redacted text (see [`FileHandle::read`]). Says
/// whether the text was redacted.
pub(crate) fn read_text_at(
    gate: &Gate,
    fd: BorrowedFd<'_>,
    id: Option<sys::FileId>,
    path: &CanonicalPath,
    file: &Resource,
    max_bytes: usize,
) -> Result<(String, bool), FsError> {
    match gate.check(READ, file) {
        Ok(permit) => Ok((
            content::read_to_string(fd, id, path, max_bytes, &permit)?,
            false,
        )),
        Err(denied) => {
            let Ok(permit) = gate.check(REDACTED_READ, file) else {
                return Err(denied.into());
            };
            let text = content::read_redactable(fd, path, max_bytes, &permit)?;
            match crate::redact::redact(gate, &text, max_bytes) {
                Ok(redacted) => Ok((redacted, true)),
                // No dictionary on this host: nothing can be shown, the refusal of
                // `read` stands.
                Err(FsError::NotFound { .. }) => Err(denied.into()),
                Err(e) => Err(e),
            }
        }
    }
}
