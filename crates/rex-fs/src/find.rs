//! `dir.find`: walk a tree and hand matching entries to a callback, authorizing every
//! directory listed or entered and every entry whose metadata a filter reads.

use std::collections::HashMap;

use glob::{MatchOptions, Pattern};
use regex::Regex;
use rex_policy::action::fs::{OPEN, READ, STAT};
use rex_policy::{CanonicalPath, Gate};

use crate::authorize;
use crate::dir::DirHandle;
use crate::entry::DirEntry;
use crate::error::FsError;
use crate::size::SizeRange;
use crate::sys;
use crate::text;
use crate::walk::{self, Entry, Visitor, WalkOptions};

/// Options of [`DirHandle::find`] (the original `FindOptions()` builder). Times are
/// seconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindOptions {
    /// Glob on the entry name.
    pub name: Option<String>,
    /// Case-insensitive glob on the entry name.
    pub iname: Option<String>,
    /// Regex on the entry's full canonical path.
    pub regex: Option<String>,
    /// Select entries whose name does *not* match `name`/`iname`.
    pub negate_name: bool,
    /// File size range (`stat` on each entry tested).
    pub size_range: Option<SizeRange>,
    /// Smallest depth reported (entries of the top directory are depth 1).
    pub min_depth: Option<i64>,
    /// Largest depth reported and descended.
    pub max_depth: Option<i64>,
    /// Status-change time (`ctime`, as the original) at least this.
    pub min_creation_time: Option<i64>,
    /// Status-change time at most this.
    pub max_creation_time: Option<i64>,
    /// Modification time at least this.
    pub min_modification_time: Option<i64>,
    /// Modification time at most this.
    pub max_modification_time: Option<i64>,
    /// Follow symlinks (targets authorized by their canonical paths; no directory is
    /// entered twice).
    pub follow_symlinks: bool,
    /// Skip (and report) entries whose check is refused instead of failing. rex addition.
    pub skip_denied: bool,
    /// Stop with a `Budget` error once this instant has passed (the run's deadline: the
    /// engine sets it, scripts cannot). rex addition.
    pub deadline: Option<std::time::Instant>,
}

impl FindOptions {
    fn needs_stat(&self) -> bool {
        self.size_range.is_some()
            || self.min_creation_time.is_some()
            || self.max_creation_time.is_some()
            || self.min_modification_time.is_some()
            || self.max_modification_time.is_some()
    }
}

enum NameMatch {
    Any,
    Glob(Pattern, MatchOptions),
}

struct Find<'a> {
    gate: &'a Gate,
    opts: &'a FindOptions,
    name: NameMatch,
    regex: Option<Regex>,
    handles: HashMap<String, DirHandle>,
    callback: &'a mut dyn FnMut(DirEntry) -> Result<(), FsError>,
    skipped: Vec<String>,
}

impl Find<'_> {
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

    fn name_ok(&self, name: &str) -> bool {
        let m = match &self.name {
            NameMatch::Any => return true,
            NameMatch::Glob(p, o) => p.matches_with(name, *o),
        };
        m != self.opts.negate_name
    }

    fn stat_ok(&self, st: &rustix::fs::Stat) -> bool {
        let o = self.opts;
        let size = sys::to_u64(st.st_size);
        let ctime = sys::to_i64(st.st_ctime);
        let mtime = sys::to_i64(st.st_mtime);
        o.size_range.is_none_or(|r| r.contains(size))
            && o.min_creation_time.is_none_or(|t| ctime >= t)
            && o.max_creation_time.is_none_or(|t| ctime <= t)
            && o.min_modification_time.is_none_or(|t| mtime >= t)
            && o.max_modification_time.is_none_or(|t| mtime <= t)
    }

    fn parent_handle(&mut self, e: &Entry<'_>) -> Result<DirHandle, FsError> {
        if let Some(h) = self.handles.get(e.parent_path.as_str()) {
            return Ok(h.clone());
        }
        let permit = authorize::dir(self.gate, OPEN, e.parent_path)?;
        let h = DirHandle::authorized(
            std::sync::Arc::clone(e.parent),
            e.parent_path.clone(),
            None,
            &permit,
        )?;
        self.handles.insert(e.parent_path.to_string(), h.clone());
        Ok(h)
    }
}

fn depth(v: Option<i64>) -> Option<usize> {
    v.map(|d| usize::try_from(d).unwrap_or(0))
}

impl Visitor for Find<'_> {
    fn list(&mut self, path: &CanonicalPath, _depth: usize) -> Result<bool, FsError> {
        let r = authorize::dir(self.gate, READ, path).map(|_| ());
        self.allowed(path, r)
    }

    fn entry(&mut self, e: &Entry<'_>) -> Result<bool, FsError> {
        let is_dir = e.is_dir();
        let in_depth = depth(self.opts.min_depth).is_none_or(|m| e.depth >= m)
            && depth(self.opts.max_depth).is_none_or(|m| e.depth <= m);
        let mut selected = in_depth
            && self.name_ok(e.name)
            && self
                .regex
                .as_ref()
                .is_none_or(|r| r.is_match(e.path.as_str()));
        if selected && self.opts.needs_stat() {
            let r = authorize::entry(self.gate, STAT, e.path, is_dir).map(|_| ());
            selected = self.allowed(e.path, r)? && self.stat_ok(e.stat);
        }
        if selected {
            let parent = self.parent_handle(e)?;
            let t = sys::entry_type(e.stat);
            let entry = DirEntry::new(e.name.to_owned(), sys::to_u64(e.stat.st_ino), t, parent);
            (self.callback)(entry)?;
        }
        if is_dir && depth(self.opts.max_depth).is_none_or(|m| e.depth < m) {
            let r = authorize::dir(self.gate, OPEN, e.path).map(|_| ());
            return self.allowed(e.path, r);
        }
        Ok(false)
    }
}

impl DirHandle {
    /// Walks the tree below this directory and calls `callback` with each matching
    /// entry (a [`DirEntry`] whose parent handle is the directory it was found in).
    ///
    /// Checks: `read` on `Dir` of every directory listed (this one included), `open` on
    /// `Dir` of every directory descended, `stat` on each entry tested by a size or time
    /// filter. A refusal is an error, unless `skip_denied`: then the refused entry (or
    /// subtree) is left out and its path returned. Symlinks are not followed unless
    /// `follow_symlinks`; the walk holds the fds of the directories it is in, so renames
    /// during the walk cannot lead it outside the tree. At most
    /// [`walk::MAX_WALK_ENTRIES`] entries.
    pub fn find(
        &self,
        gate: &Gate,
        opts: &FindOptions,
        callback: &mut dyn FnMut(DirEntry) -> Result<(), FsError>,
    ) -> Result<Vec<String>, FsError> {
        let set = [
            opts.name.is_some(),
            opts.iname.is_some(),
            opts.regex.is_some(),
        ];
        if set.iter().filter(|b| **b).count() > 1 {
            return Err(FsError::InvalidArguments(
                "find: set at most one of name, iname and regex".to_owned(),
            ));
        }
        if opts.negate_name && opts.name.is_none() && opts.iname.is_none() {
            return Err(FsError::InvalidArguments(
                "find: negate_name needs name or iname".to_owned(),
            ));
        }
        let name = match (&opts.name, &opts.iname) {
            (Some(g), _) => NameMatch::Glob(pattern(g)?, MatchOptions::new()),
            (_, Some(g)) => NameMatch::Glob(
                pattern(g)?,
                MatchOptions {
                    case_sensitive: false,
                    ..MatchOptions::new()
                },
            ),
            _ => NameMatch::Any,
        };
        let regex = opts
            .regex
            .as_deref()
            .map(|r| text::regex(r, false))
            .transpose()?;
        let mut v = Find {
            gate,
            opts,
            name,
            regex,
            handles: HashMap::from([(self.path().to_string(), self.clone())]),
            callback,
            skipped: Vec::new(),
        };
        let wo = WalkOptions {
            follow_symlinks: opts.follow_symlinks,
            deadline: opts.deadline,
            ..WalkOptions::default()
        };
        walk::walk(self.shared_fd(), self.path(), wo, &mut v)?;
        Ok(v.skipped)
    }
}

/// A glob pattern, or `InvalidArguments`.
pub(crate) fn pattern(glob: &str) -> Result<Pattern, FsError> {
    Pattern::new(glob).map_err(|e| FsError::InvalidArguments(format!("invalid glob `{glob}`: {e}")))
}
