//! Directory handles: an `O_PATH` fd on one authorized directory, and the options to get
//! one. Children are opened relative to that fd by single names.

use std::collections::BTreeMap;
use std::sync::Arc;

use rex_policy::action::fs::{CREATE, OPEN, READ, STAT};
use rex_policy::path::validate_name;
use rex_policy::{CanonicalPath, Gate, Permit};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;

use crate::authorize::{self, ensure};
use crate::create;
use crate::entry::DirEntry;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::{Access, FileHandle, OpenFileOptions};
use crate::list::{self, MAX_LIST_ENTRIES};
use crate::make_dirs::make_dirs;
use crate::metadata::Metadata;
use crate::reopen;
use crate::resolve::{Lookup, Resolved, ResolvedDir, lookup};
use crate::sys;

/// Options of [`DirHandle::open`] (the original `OpenDirOptions()` builder). All false by
/// default. Options authorize nothing by themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenDirOptions {
    /// Create the directory if it is missing (`create` on it is checked first).
    pub create: bool,
    /// With `create`, also create missing ancestors (each level checked).
    pub recursive: bool,
    /// Follow a symlink in the final component (its target is what gets authorized).
    pub follow_symlinks: bool,
}

/// An open directory: an `O_PATH` fd on the inode that was authorized and its canonical
/// path.
///
/// Holding a `DirHandle` proves only that `open` was allowed on its path when it was made;
/// listing, `stat` and opening children each ask the gate again. Children are looked up
/// relative to the fd, never by re-resolving the directory's path. The path label is the
/// one from open time (not updated if the directory is renamed). Clones share the fd.
#[derive(Debug, Clone)]
pub struct DirHandle {
    fd: Arc<OwnedFd>,
    path: CanonicalPath,
    /// `O_PATH` fd on the directory holding this one (`None` for `/`).
    parent: Option<Arc<OwnedFd>>,
}

impl DirHandle {
    /// A handle on `fd` (an `O_PATH` fd on the directory at `path`), made only with the
    /// `open` permit for `path`.
    pub(crate) fn authorized(
        fd: Arc<OwnedFd>,
        path: CanonicalPath,
        parent: Option<Arc<OwnedFd>>,
        permit: &Permit,
    ) -> Result<Self, FsError> {
        ensure(permit, OPEN, &path)?;
        Ok(Self { fd, path, parent })
    }

    /// The `O_PATH` fd of the directory holding this one (`None` for `/`).
    pub(crate) fn parent_fd(&self) -> Option<BorrowedFd<'_>> {
        self.parent.as_ref().map(|p| p.as_fd())
    }

    pub(crate) fn shared_fd(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.fd)
    }

    /// This directory as a resolver result (for walks and creation below it).
    pub(crate) fn as_resolved(&self) -> ResolvedDir {
        ResolvedDir::new(Arc::clone(&self.fd), self.path.clone())
    }

    /// A handle on a resolved directory after `open` on `Dir(its canonical path)`; any
    /// other type is `EntryTypeMismatchError`.
    pub(crate) fn from_resolved(gate: &Gate, r: Resolved) -> Result<Self, FsError> {
        match r.entry_type() {
            EntryType::Dir => {
                let permit = authorize::dir(gate, OPEN, r.path())?;
                let parent = r.parent().map(ResolvedDir::shared_fd);
                let dir = r.into_dir();
                Self::authorized(dir.shared_fd(), dir.path().clone(), parent, &permit)
            }
            other => Err(FsError::mismatch(r.path().as_str(), EntryType::Dir, other)),
        }
    }

    /// The canonical path the handle was authorized on.
    pub fn path(&self) -> &CanonicalPath {
        &self.path
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens the directory at the absolute `path` (any spelling). Intermediate symlinks are
    /// followed; a symlink in the final component only with `follow_symlinks` (otherwise
    /// `EntryTypeMismatchError`). Needs `open` on `Dir(canonical path of the directory
    /// reached)`.
    ///
    /// If it is missing and `create` is set: `open` on the deepest existing ancestor, then
    /// `create` on each new level right before its `mkdirat` (relative to the parent fd),
    /// then `open` on the new directory. More than one missing level needs `recursive`,
    /// else `NotFound`. Nothing is created before its check.
    pub fn open(gate: &Gate, path: &str, opts: &OpenDirOptions) -> Result<DirHandle, FsError> {
        match lookup(path, opts.follow_symlinks)? {
            Lookup::Found(r) => Self::from_resolved(gate, r),
            Lookup::Missing(m) => {
                if !opts.create {
                    return Err(FsError::NotFound {
                        path: path.to_owned(),
                    });
                }
                let (parent, names, _) = m.into_parts();
                if names.len() > 1 && !opts.recursive {
                    let first = names.first().map_or("", String::as_str);
                    return Err(FsError::NotFound {
                        path: parent.path().join(first)?.to_string(),
                    });
                }
                let (dir, above) = make_dirs(gate, parent, &names)?;
                let permit = authorize::dir(gate, OPEN, dir.path())?;
                Self::authorized(dir.shared_fd(), dir.path().clone(), Some(above), &permit)
            }
        }
    }

    /// Opens the file `name` (one component) in this directory.
    ///
    /// The name is opened `O_PATH|O_NOFOLLOW` relative to this directory's fd and `fstat`ed
    /// before anything else, so a FIFO or device is never really opened. A symlink is
    /// followed only with `follow_symlinks` (fd-anchored, to its canonical target), else
    /// `EntryTypeMismatchError`; the object must be a regular file. Needs `open` on
    /// `File(canonical path)`.
    ///
    /// If it does not exist and `create` is set: `open` and `create` on `File(dir/name)`
    /// (or on the target of a dangling symlink being followed) are checked first, then the
    /// file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` and `permissions`. Nothing is
    /// created before the checks. `read`/`write` are not checked here but at each use.
    pub fn open_file(
        &self,
        gate: &Gate,
        name: &str,
        opts: &OpenFileOptions,
    ) -> Result<FileHandle, FsError> {
        let (access, create, mode) = opts.validated()?;
        validate_name(name)?;
        let path = self.path.join(name)?;
        match sys::open_path_at(self.fd(), name) {
            Ok(fd) => {
                let t = sys::entry_type(&sys::fstat(&fd, path.as_str())?);
                match t {
                    EntryType::File => {
                        let permit = authorize::file(gate, OPEN, &path)?;
                        FileHandle::authorized(fd, path, access, self.shared_fd(), &permit)
                    }
                    EntryType::Symlink if opts.follow_symlinks => {
                        open_file_following(gate, path.as_str(), access, create, mode)
                    }
                    other => Err(FsError::mismatch(path.as_str(), EntryType::File, other)),
                }
            }
            Err(Errno::NOENT) if create => {
                create_file(gate, &self.as_resolved(), name, access, mode)
            }
            Err(e) => Err(FsError::os("open", path.as_str(), e)),
        }
    }

    /// Opens the child directory `name` relative to this directory's fd (used by
    /// [`DirEntry::open_as_dir`]).
    pub(crate) fn open_child_dir(
        &self,
        gate: &Gate,
        name: &str,
        opts: &OpenDirOptions,
    ) -> Result<DirHandle, FsError> {
        validate_name(name)?;
        let path = self.path.join(name)?;
        match sys::open_path_at(self.fd(), name) {
            Ok(fd) => {
                let t = sys::entry_type(&sys::fstat(&fd, path.as_str())?);
                match t {
                    EntryType::Dir => {
                        let permit = authorize::dir(gate, OPEN, &path)?;
                        Self::authorized(Arc::new(fd), path, Some(self.shared_fd()), &permit)
                    }
                    EntryType::Symlink if opts.follow_symlinks => {
                        Self::open(gate, path.as_str(), opts)
                    }
                    other => Err(FsError::mismatch(path.as_str(), EntryType::Dir, other)),
                }
            }
            Err(Errno::NOENT) if opts.create => {
                let (dir, above) = make_dirs(gate, self.as_resolved(), &[name.to_owned()])?;
                let permit = authorize::dir(gate, OPEN, dir.path())?;
                Self::authorized(dir.shared_fd(), dir.path().clone(), Some(above), &permit)
            }
            Err(e) => Err(FsError::os("open", path.as_str(), e)),
        }
    }

    /// The directory's entries by name (`.` and `..` omitted). Needs `read` on
    /// `Dir(path)`. The same inode is re-opened readable (through `"."` relative to the
    /// handle's fd) and read with `getdents`. At most [`MAX_LIST_ENTRIES`] entries. The
    /// entries authorize nothing; each of their methods asks again.
    pub fn list_entries(&self, gate: &Gate) -> Result<BTreeMap<String, DirEntry>, FsError> {
        let permit = authorize::dir(gate, READ, &self.path)?;
        self.list(&permit)
    }

    fn list(&self, permit: &Permit) -> Result<BTreeMap<String, DirEntry>, FsError> {
        ensure(permit, READ, &self.path)?;
        let listed = list::read_dir(self.fd(), self.path.as_str(), MAX_LIST_ENTRIES)?;
        Ok(listed
            .into_iter()
            .map(|l| {
                let entry = DirEntry::new(l.name.clone(), l.inode, l.entry_type, self.clone());
                (l.name, entry)
            })
            .collect())
    }

    /// The directory's metadata. Needs `stat` on `Dir(path)`; reads the inode the handle
    /// holds.
    pub fn metadata(&self, gate: &Gate) -> Result<Metadata, FsError> {
        let _permit = authorize::dir(gate, STAT, &self.path)?;
        let st = sys::fstat(self.fd(), self.path.as_str())?;
        Ok(Metadata::from_stat(&st, None))
    }
}

/// `open_file` through a symlink: the whole path is looked up again with the final link
/// followed, and what is reached (or, for a dangling link, the place of its target) is
/// what gets authorized.
fn open_file_following(
    gate: &Gate,
    link_path: &str,
    access: Access,
    create: bool,
    mode: u32,
) -> Result<FileHandle, FsError> {
    match lookup(link_path, true)? {
        Lookup::Found(r) => match r.entry_type() {
            EntryType::File => {
                let permit = authorize::file(gate, OPEN, r.path())?;
                let path = r.path().clone();
                let parent = r.parent().map(ResolvedDir::shared_fd);
                let Some(parent) = parent else {
                    return Err(FsError::mismatch(
                        path.as_str(),
                        EntryType::File,
                        EntryType::Dir,
                    ));
                };
                FileHandle::authorized(r.into_fd(), path, access, parent, &permit)
            }
            other => Err(FsError::mismatch(r.path().as_str(), EntryType::File, other)),
        },
        Lookup::Missing(m) => {
            let (parent, names, dir_only) = m.into_parts();
            match names.as_slice() {
                [name] if create && !dir_only => create_file(gate, &parent, name, access, mode),
                _ => Err(FsError::NotFound {
                    path: link_path.to_owned(),
                }),
            }
        }
    }
}

/// Creates the regular file `name` in `dirfd` after `open` and `create` on
/// `File(dir_path/name)`, and returns a handle on it.
pub(crate) fn create_file(
    gate: &Gate,
    dir: &ResolvedDir,
    name: &str,
    access: Access,
    mode: u32,
) -> Result<FileHandle, FsError> {
    let path = dir.path().join(name)?;
    let open = authorize::file(gate, OPEN, &path)?;
    let permit = authorize::file(gate, CREATE, &path)?;
    let created = create::file_excl(dir.fd(), name, mode, &path, &permit)?;
    let fd = reopen::as_path(&created, path.as_str())?;
    FileHandle::authorized(fd, path, access, dir.shared_fd(), &open)
}
