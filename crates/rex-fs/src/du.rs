//! Disk usage (`du`): sizes of a tree, every directory listed and every entry counted
//! authorized.

use std::collections::{HashMap, HashSet};

use rex_policy::action::fs::{OPEN, READ, STAT};
use rex_policy::{CanonicalPath, Gate};
use rustix::fs::Stat;

use crate::authorize;
use crate::dir::{DirHandle, OpenDirOptions};
use crate::error::FsError;
use crate::file::FileHandle;
use crate::sys::{self, FileId};
use crate::walk::{self, Entry, Visitor, WalkOptions};

/// Options of `disk_usage` (the original `DiskUsageOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct DiskUsageOptions {
    /// Only the total of the top directory.
    pub summarize: bool,
    /// Report files too, not only directories (not with `summarize`).
    pub all_files: bool,
    /// Do not count directories on other filesystems.
    pub one_file_system: bool,
    /// Count every hard link of a file (default: each inode once).
    pub count_hard_links: bool,
    /// Sizes in bytes of content (`st_size`) instead of allocated blocks.
    pub apparent_size: bool,
    /// Report entries at most this deep (the top is depth 0); totals still count all.
    pub max_depth: Option<i64>,
    /// Also return a handle on the largest immediate subdirectory.
    pub track_largest_subdir: bool,
    /// Skip (and report) refused entries instead of failing. rex addition.
    pub skip_denied: bool,
}

/// One line of a disk usage report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiskUsageEntry {
    /// Canonical path.
    pub path: String,
    /// Bytes (allocated, or apparent with `apparent_size`), subtree included.
    pub size_bytes: u64,
    /// Inodes counted, subtree included.
    pub inode_count: u64,
}

/// A disk usage report.
#[derive(Debug, Clone)]
pub struct DiskUsageResult {
    /// Directories (and files with `all_files`), deepest first, the top last.
    pub entries: Vec<DiskUsageEntry>,
    /// The largest immediate subdirectory, with `track_largest_subdir`.
    pub largest_subdir_handle: Option<DirHandle>,
    /// Paths left out because a check was refused (`skip_denied`).
    pub skipped: Vec<String>,
}

fn size_of(st: &Stat, apparent: bool) -> u64 {
    if apparent {
        sys::to_u64(st.st_size)
    } else {
        sys::to_u64(st.st_blocks).saturating_mul(512)
    }
}

struct Frame {
    path: CanonicalPath,
    depth: usize,
    size: u64,
    inodes: u64,
}

struct Du<'a> {
    gate: &'a Gate,
    opts: DiskUsageOptions,
    max_depth: usize,
    top_dev: u64,
    stack: Vec<Frame>,
    pending: HashMap<String, u64>,
    seen: HashSet<FileId>,
    entries: Vec<DiskUsageEntry>,
    largest: Option<(u64, String)>,
    skipped: Vec<String>,
}

impl Du<'_> {
    fn allowed(&mut self, path: &CanonicalPath, r: Result<(), FsError>) -> Result<bool, FsError> {
        match r {
            Ok(()) => Ok(true),
            Err(FsError::Denied(_)) if self.opts.skip_denied => {
                self.skipped.push(path.to_string());
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn add(&mut self, size: u64, inodes: u64) {
        if let Some(top) = self.stack.last_mut() {
            top.size = top.size.saturating_add(size);
            top.inodes += inodes;
        }
    }
}

impl Visitor for Du<'_> {
    fn list(&mut self, path: &CanonicalPath, depth: usize) -> Result<bool, FsError> {
        let own = self.pending.remove(path.as_str()).unwrap_or(0);
        let r = authorize::dir(self.gate, READ, path).map(|_| ());
        if !self.allowed(path, r)? {
            self.add(own, 1);
            return Ok(false);
        }
        self.stack.push(Frame {
            path: path.clone(),
            depth,
            size: own,
            inodes: 1,
        });
        Ok(true)
    }

    fn entry(&mut self, e: &Entry<'_>) -> Result<bool, FsError> {
        let is_dir = e.is_dir();
        let r = authorize::entry(self.gate, STAT, e.path, is_dir).map(|_| ());
        if !self.allowed(e.path, r)? {
            return Ok(false);
        }
        let size = size_of(e.stat, self.opts.apparent_size);
        if is_dir {
            let other_fs = self.opts.one_file_system && sys::to_u64(e.stat.st_dev) != self.top_dev;
            let descend = !other_fs && {
                let r = authorize::dir(self.gate, OPEN, e.path).map(|_| ());
                self.allowed(e.path, r)?
            };
            if descend {
                self.pending.insert(e.path.to_string(), size);
            } else if !other_fs {
                self.add(size, 1);
            }
            return Ok(descend);
        }
        let counted = self.opts.count_hard_links
            || e.stat.st_nlink <= 1
            || self.seen.insert(FileId::of(e.stat));
        if counted {
            self.add(size, 1);
            if self.opts.all_files && e.depth <= self.max_depth {
                self.entries.push(DiskUsageEntry {
                    path: e.path.to_string(),
                    size_bytes: size,
                    inode_count: 1,
                });
            }
        }
        Ok(false)
    }

    fn leave(&mut self, _path: &CanonicalPath, _depth: usize) -> Result<(), FsError> {
        let Some(f) = self.stack.pop() else {
            return Ok(());
        };
        if f.depth <= self.max_depth {
            self.entries.push(DiskUsageEntry {
                path: f.path.to_string(),
                size_bytes: f.size,
                inode_count: f.inodes,
            });
        }
        if f.depth == 1 && self.largest.as_ref().is_none_or(|(s, _)| f.size > *s) {
            self.largest = Some((f.size, f.path.file_name().unwrap_or_default().to_owned()));
        }
        self.add(f.size, f.inodes);
        Ok(())
    }
}

impl DirHandle {
    /// Disk usage of the tree below this directory, as `du`. Checks: `stat` on
    /// `Dir(path)`, `read` on every directory listed, `stat` on every entry counted,
    /// `open` on every directory descended; a refusal is an error unless `skip_denied`
    /// (the refused entries are then left out of the totals and reported). The walk is
    /// fd-anchored and never follows symlinks.
    pub fn disk_usage(
        &self,
        gate: &Gate,
        opts: &DiskUsageOptions,
    ) -> Result<DiskUsageResult, FsError> {
        if opts.summarize && opts.all_files {
            return Err(FsError::InvalidArguments(
                "disk_usage: summarize and all_files cannot be combined".to_owned(),
            ));
        }
        authorize::dir(gate, STAT, self.path())?;
        let st = sys::fstat(self.fd(), self.path().as_str())?;
        let max_depth = if opts.summarize {
            0
        } else {
            opts.max_depth
                .map_or(usize::MAX, |d| usize::try_from(d).unwrap_or(0))
        };
        let mut v = Du {
            gate,
            opts: *opts,
            max_depth,
            top_dev: sys::to_u64(st.st_dev),
            stack: Vec::new(),
            pending: HashMap::from([(self.path().to_string(), size_of(&st, opts.apparent_size))]),
            seen: HashSet::new(),
            entries: Vec::new(),
            largest: None,
            skipped: Vec::new(),
        };
        walk::walk(
            self.shared_fd(),
            self.path(),
            WalkOptions::default(),
            &mut v,
        )?;
        let largest_subdir_handle = match (&v.largest, opts.track_largest_subdir) {
            (Some((_, name)), true) => {
                Some(self.open_child_dir(gate, name, &OpenDirOptions::default())?)
            }
            _ => None,
        };
        Ok(DiskUsageResult {
            entries: v.entries,
            largest_subdir_handle,
            skipped: v.skipped,
        })
    }
}

impl FileHandle {
    /// The file's own usage (`stat` on `File(path)`).
    pub fn disk_usage(
        &self,
        gate: &Gate,
        opts: &DiskUsageOptions,
    ) -> Result<DiskUsageEntry, FsError> {
        authorize::file(gate, STAT, self.path())?;
        let st = sys::fstat(self.fd(), self.path().as_str())?;
        Ok(DiskUsageEntry {
            path: self.path().to_string(),
            size_bytes: size_of(&st, opts.apparent_size),
            inode_count: 1,
        })
    }
}
