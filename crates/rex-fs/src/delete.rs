//! Deleting what a handle holds: by name relative to the parent fd, only while the name
//! still refers to the inode the handle holds.

use rex_policy::Gate;
use rex_policy::action::fs::DELETE;

use crate::authorize;
use crate::dir::DirHandle;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::helpers::remove_dir;
use crate::sys::{self, FileId};
use crate::unlink::remove_verified;

/// Options of [`FileHandle::delete`] (the original `DeleteFileOptions()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteFileOptions {
    /// A file already gone is not an error.
    pub force: bool,
}

/// Options of [`DirHandle::delete`] (the original `DeleteDirOptions()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteDirOptions {
    /// A directory already gone is not an error.
    pub force: bool,
    /// Remove the contents too; every entry is authorized (`delete`) before anything is
    /// removed.
    pub recursive: bool,
}

impl FileHandle {
    /// Removes the file's name (`delete` on `File(path)`), relative to the parent fd,
    /// after checking the name still refers to the inode the handle holds (else
    /// `ValidationError`, nothing removed).
    pub fn delete(&self, gate: &Gate, opts: &DeleteFileOptions) -> Result<(), FsError> {
        let permit = authorize::file(gate, DELETE, self.path())?;
        let id = FileId::of(&sys::fstat(self.fd(), self.path().as_str())?);
        match remove_verified(
            self.parent_fd(),
            self.name(),
            self.path(),
            id,
            false,
            &permit,
        ) {
            Err(FsError::NotFound { .. }) if opts.force => Ok(()),
            r => r,
        }
    }
}

impl DirHandle {
    /// Removes the directory (`delete` on `Dir(path)`); with `recursive`, its contents,
    /// each entry authorized with `delete` first (one refusal and nothing is removed),
    /// each name checked against the inode authorized right before its removal.
    pub fn delete(&self, gate: &Gate, opts: &DeleteDirOptions) -> Result<(), FsError> {
        let (Some(parent), Some(name)) = (self.parent_fd(), self.path().file_name()) else {
            return Err(FsError::invalid_path(
                self.path().as_str(),
                "refusing to remove `/` (or a directory whose parent is unknown)",
            ));
        };
        let id = FileId::of(&sys::fstat(self.fd(), self.path().as_str())?);
        let r = remove_dir(
            gate,
            self.fd(),
            parent,
            name,
            self.path(),
            id,
            opts.recursive,
        );
        match r {
            Err(FsError::NotFound { .. }) if opts.force => Ok(()),
            r => r,
        }
    }
}
