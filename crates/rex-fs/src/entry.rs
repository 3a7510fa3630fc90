//! `DirEntry`: one name listed in a directory, with the directory handle it came from.

use rex_policy::action::fs::STAT;
use rex_policy::{CanonicalPath, Gate};

use crate::authorize;
use crate::dir::{DirHandle, OpenDirOptions};
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::{FileHandle, OpenFileOptions};
use crate::metadata::Metadata;
use crate::sys;

/// One entry of a directory listing: its name, inode number and type as listed, and the
/// handle of the directory it is in.
///
/// An entry authorizes nothing: its methods act relative to the parent directory's fd and
/// ask the gate again on every call (nothing is memoised).
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The entry's name in its directory.
    pub name: String,
    /// The inode number, as listed.
    pub inode: u64,
    entry_type: EntryType,
    parent: DirHandle,
}

impl DirEntry {
    pub(crate) fn new(name: String, inode: u64, entry_type: EntryType, parent: DirHandle) -> Self {
        Self {
            name,
            inode,
            entry_type,
            parent,
        }
    }

    /// The type as listed (a symlink is `Symlink`, not its target's type).
    pub fn entry_type(&self) -> EntryType {
        self.entry_type
    }

    /// The directory the entry was listed in.
    pub fn parent(&self) -> &DirHandle {
        &self.parent
    }

    /// The entry's canonical path (parent's path + name).
    pub fn path(&self) -> Result<CanonicalPath, FsError> {
        Ok(self.parent.path().join(&self.name)?)
    }

    /// The entry's own metadata (a symlink is not followed; its target text is included).
    /// Needs `stat` on `Dir(path)` if the name is now a directory, else on `File(path)`;
    /// the type is taken from an `fstat` of the object the name refers to now (opened
    /// `O_PATH|O_NOFOLLOW` relative to the parent fd), and the result comes from that
    /// same object.
    pub fn metadata(&self, gate: &Gate) -> Result<Metadata, FsError> {
        let path = self.path()?;
        let fd = sys::open_path_at(self.parent.fd(), &self.name)
            .map_err(|e| FsError::os("open", path.as_str(), e))?;
        let st = sys::fstat(&fd, path.as_str())?;
        let t = sys::entry_type(&st);
        let _permit = authorize::entry(gate, STAT, &path, t == EntryType::Dir)?;
        let target = if t == EntryType::Symlink {
            let text = sys::retry(|| rustix::fs::readlinkat(&fd, "", Vec::new()))
                .map_err(|e| FsError::os("read link", path.as_str(), e))?;
            Some(text.to_string_lossy().into_owned())
        } else {
            None
        };
        Ok(Metadata::from_stat(&st, target))
    }

    /// Opens the entry as a file, exactly as `parent.open_file(gate, name, opts)`.
    pub fn open_as_file(&self, gate: &Gate, opts: &OpenFileOptions) -> Result<FileHandle, FsError> {
        self.parent.open_file(gate, &self.name, opts)
    }

    /// Opens the entry as a directory relative to the parent's fd: `open` on `Dir(path)`
    /// (on the target's canonical path when a symlink is followed); with `opts.create`, a
    /// vanished entry is re-created after `create` on `Dir(path)`.
    pub fn open_as_dir(&self, gate: &Gate, opts: &OpenDirOptions) -> Result<DirHandle, FsError> {
        self.parent.open_child_dir(gate, &self.name, opts)
    }
}
