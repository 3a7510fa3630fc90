//! The fd-anchored tree walk behind `find`, `du`, `find_files`, recursive `chmod` and
//! `chown`: each directory is listed through its own fd and each entry opened
//! `O_PATH|O_NOFOLLOW` relative to it, so the walk never leaves the tree by a renamed
//! directory or a planted symlink. The walk authorizes nothing itself: its visitor asks
//! the gate about every directory before it is listed and every entry it reports.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use rex_policy::CanonicalPath;
use rustix::fd::OwnedFd;
use rustix::fs::Stat;
use rustix::io::Errno;

use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::list;
use crate::resolve::{Lookup, lookup};
use crate::sys::{self, FileId};

/// The most entries one walk visits; more is an error (`DirectoryError`).
pub const MAX_WALK_ENTRIES: usize = 200_000;

/// The deepest level a walk descends (one fd is held per level).
pub const MAX_WALK_DEPTH: usize = 128;

/// One entry met by the walk.
pub(crate) struct Entry<'a> {
    /// `O_PATH` fd of the directory the entry is listed in.
    pub parent: &'a Arc<OwnedFd>,
    /// Canonical path of that directory.
    pub parent_path: &'a CanonicalPath,
    /// The name in that directory.
    pub name: &'a str,
    /// Canonical path of the object (of a followed symlink's target).
    pub path: &'a CanonicalPath,
    /// `O_PATH` fd on the object (on a followed symlink's target).
    pub fd: &'a OwnedFd,
    /// Its `fstat`.
    pub stat: &'a Stat,
    /// 1 for entries of the top directory.
    pub depth: usize,
}

impl Entry<'_> {
    pub(crate) fn entry_type(&self) -> EntryType {
        sys::entry_type(self.stat)
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.entry_type() == EntryType::Dir
    }
}

/// What the walk asks its visitor.
pub(crate) trait Visitor {
    /// Before listing a directory (`depth` 0 for the top): `Ok(false)` skips it.
    fn list(&mut self, path: &CanonicalPath, depth: usize) -> Result<bool, FsError>;
    /// One entry: `Ok(true)` descends into it (directories only).
    fn entry(&mut self, e: &Entry<'_>) -> Result<bool, FsError>;
    /// After the entries of a directory that was listed.
    fn leave(&mut self, _path: &CanonicalPath, _depth: usize) -> Result<(), FsError> {
        Ok(())
    }
}

/// Walk settings.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WalkOptions {
    /// Follow symlinks met as entries (each target reached is reported by its canonical
    /// path; a directory is never entered twice).
    pub follow_symlinks: bool,
    /// Do not descend below this depth.
    pub max_depth: Option<usize>,
    /// Stay on the device of the top directory.
    pub one_file_system: bool,
    /// Stop with an error past this instant.
    pub deadline: Option<Instant>,
}

struct Walk<'v> {
    visitor: &'v mut dyn Visitor,
    opts: WalkOptions,
    count: usize,
    seen: HashSet<FileId>,
    top_dev: u64,
}

/// Walks the tree below the directory `fd` (any fd on it) at `path`.
pub(crate) fn walk(
    fd: Arc<OwnedFd>,
    path: &CanonicalPath,
    opts: WalkOptions,
    visitor: &mut dyn Visitor,
) -> Result<(), FsError> {
    let st = sys::fstat(&fd, path.as_str())?;
    let mut w = Walk {
        visitor,
        opts,
        count: 0,
        seen: HashSet::from([FileId::of(&st)]),
        top_dev: sys::to_u64(st.st_dev),
    };
    w.dir(&fd, path, 0)
}

impl Walk<'_> {
    fn dir(
        &mut self,
        fd: &Arc<OwnedFd>,
        path: &CanonicalPath,
        depth: usize,
    ) -> Result<(), FsError> {
        if depth >= MAX_WALK_DEPTH {
            return Err(FsError::Budget {
                path: path.to_string(),
                limit: MAX_WALK_DEPTH,
                what: "levels",
            });
        }
        if !self.visitor.list(path, depth)? {
            return Ok(());
        }
        let listed = list::read_dir(fd, path.as_str(), MAX_WALK_ENTRIES)?;
        for l in listed {
            self.count += 1;
            if self.count > MAX_WALK_ENTRIES {
                return Err(FsError::Budget {
                    path: path.to_string(),
                    limit: MAX_WALK_ENTRIES,
                    what: "entries",
                });
            }
            if self.opts.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(FsError::Budget {
                    path: path.to_string(),
                    limit: self.count,
                    what: "entries before the deadline",
                });
            }
            let child = path.join(&l.name)?;
            let ofd = match sys::open_path_at(fd, &l.name) {
                Ok(f) => f,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(FsError::os("open", child.as_str(), e)),
            };
            let st = sys::fstat(&ofd, child.as_str())?;
            let (ofd, st, child) =
                if self.opts.follow_symlinks && sys::entry_type(&st) == EntryType::Symlink {
                    match lookup(child.as_str(), true) {
                        Ok(Lookup::Found(r)) => {
                            let p = r.path().clone();
                            let s = sys::fstat(r.fd(), p.as_str())?;
                            (r.into_fd(), s, p)
                        }
                        // Dangling or looping: reported as the link itself.
                        Ok(Lookup::Missing(_)) | Err(_) => (ofd, st, child),
                    }
                } else {
                    (ofd, st, child)
                };
            let entry = Entry {
                parent: fd,
                parent_path: path,
                name: &l.name,
                path: &child,
                fd: &ofd,
                stat: &st,
                depth: depth + 1,
            };
            let descend = self.visitor.entry(&entry)?;
            let is_dir = entry.is_dir();
            if !(descend && is_dir) {
                continue;
            }
            if self.opts.max_depth.is_some_and(|m| depth + 1 >= m) {
                continue;
            }
            if self.opts.one_file_system && sys::to_u64(st.st_dev) != self.top_dev {
                continue;
            }
            if !self.seen.insert(FileId::of(&st)) {
                continue;
            }
            self.dir(&Arc::new(ofd), &child, depth + 1)?;
        }
        self.visitor.leave(path, depth)
    }
}
