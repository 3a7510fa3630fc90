//! The fd-anchored resolver: from a path string in any spelling to an `O_PATH` fd on the
//! object it names and that object's canonical path.
//!
//! The walk starts from an `O_PATH` fd on `/` and opens one component at a time with
//! `O_PATH|O_NOFOLLOW|O_CLOEXEC` relative to the previous fd, so the kernel never follows a
//! symlink for us. `.` and empty components are skipped; `..` returns to the previous
//! directory on the walk's stack, which is the kernel's meaning once symlinks are taken
//! into account (`/a/link/..` is the parent of the link's *target*). A symlink met in an
//! intermediate component (or in the final one when asked) is read with
//! `readlinkat(link_fd, "")` and its text spliced into the remaining path; an absolute
//! target restarts from `/`. At most [`MAX_SYMLINK_HOPS`] links are followed.
//!
//! The canonical path is built from the names actually opened, so it has no `.`, `..`,
//! `//`, trailing `/` or symlink in it: one inode reached this way has one Cedar id however
//! the caller spelled it.
//!
//! When the path has no `..`, a fast path opens the parent with one
//! `openat2(RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)` (the kernel refuses any symlink, so
//! the spelling minus `.` and `//` *is* canonical) and the final name with `openat`; on any
//! error, or a final symlink to follow, the component walk decides. `cat` goes one step
//! further (`direct`): a path already spelled canonically is opened whole with one
//! `openat2(O_PATH|O_NOFOLLOW, RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)` and typed with
//! one `fstat`, with no fd on its directory (cat needs none); its parent's canonical path
//! is the spelling's parent, since the kernel refused every symlink on the way. Anything
//! else it meets (a symlink anywhere, a directory, any error) is left to the walk.
//!
//! Resolution authorizes nothing: it only finds out which object a request is about. It
//! does reveal, before any policy check, whether a path exists (as the kernel's own
//! `stat` does to anyone with search permission).

use std::collections::VecDeque;
use std::sync::Arc;

use rex_policy::CanonicalPath;
use rex_policy::path::validate_name;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::sys::{self, FileId};

/// The most symlinks one resolution follows (the kernel's own limit); more is an error.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// The longest path accepted, in bytes (the kernel's `PATH_MAX` less the NUL).
pub const MAX_PATH_BYTES: usize = 4095;

/// A directory reached by the resolver: an `O_PATH` fd and its canonical path.
///
/// Holding one authorizes nothing; it is what a `Dir` request is asked about.
#[derive(Debug, Clone)]
pub struct ResolvedDir {
    fd: Arc<OwnedFd>,
    path: CanonicalPath,
}

impl ResolvedDir {
    pub(crate) fn new(fd: Arc<OwnedFd>, path: CanonicalPath) -> Self {
        Self { fd, path }
    }

    /// The directory's canonical path.
    pub fn path(&self) -> &CanonicalPath {
        &self.path
    }

    /// The directory's `O_PATH` fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn shared_fd(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.fd)
    }
}

/// An existing object reached by the resolver: its `O_PATH` fd, canonical path, type and
/// the directory it was found in.
///
/// Holding one authorizes nothing; it is what a `File` or `Dir` request is asked about.
#[derive(Debug)]
pub struct Resolved {
    fd: OwnedFd,
    path: CanonicalPath,
    stat: Stat,
    parent: Option<ResolvedDir>,
}

impl Resolved {
    /// The object's `O_PATH` fd (for a symlink that was not followed: the link itself).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The canonical path of the object reached.
    pub fn path(&self) -> &CanonicalPath {
        &self.path
    }

    /// The object's type, from `fstat` of its `O_PATH` fd.
    pub fn entry_type(&self) -> EntryType {
        sys::entry_type(&self.stat)
    }

    /// The directory holding the object (`None` for `/`).
    pub fn parent(&self) -> Option<&ResolvedDir> {
        self.parent.as_ref()
    }

    pub(crate) fn id(&self) -> FileId {
        FileId::of(&self.stat)
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// This object as a directory; the caller has checked that it is one.
    pub(crate) fn into_dir(self) -> ResolvedDir {
        ResolvedDir::new(Arc::new(self.fd), self.path)
    }
}

/// The end of a walk that ran out of existing objects.
#[derive(Debug)]
pub struct Missing {
    parent: ResolvedDir,
    names: Vec<String>,
    dir_only: bool,
}

impl Missing {
    /// The deepest existing directory reached.
    pub fn parent(&self) -> &ResolvedDir {
        &self.parent
    }

    /// The names that do not exist below it, outermost first (at least one). Only the
    /// first one was looked up; the rest are what the path (after links) still asked for.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the path ended with `/` (or `/.`): only a directory may be created there.
    pub fn dir_only(&self) -> bool {
        self.dir_only
    }

    pub(crate) fn into_parts(self) -> (ResolvedDir, Vec<String>, bool) {
        (self.parent, self.names, self.dir_only)
    }
}

/// What a path names: an existing object, or the place where it would be created.
#[derive(Debug)]
pub enum Lookup {
    /// The object exists.
    Found(Resolved),
    /// It does not; `Missing` says from where it would be created.
    Missing(Missing),
}

/// Resolves an absolute `path` to the existing object it names.
///
/// Intermediate symlinks are always followed; a symlink in the final component only when
/// `follow_final_symlink` (a trailing `/` also follows it, as in the kernel). Relative
/// paths, NUL bytes, non-UTF-8 link targets and more than [`MAX_SYMLINK_HOPS`] links are
/// `InvalidPath`; a missing object is `NotFound`.
///
/// Authorizes nothing.
pub fn resolve(path: &str, follow_final_symlink: bool) -> Result<Resolved, FsError> {
    match lookup(path, follow_final_symlink)? {
        Lookup::Found(r) => Ok(r),
        Lookup::Missing(_) => Err(FsError::NotFound {
            path: path.to_owned(),
        }),
    }
}

/// Resolves the directory that would hold `path` (following symlinks) and returns it with
/// the final name, which must be one valid component (not `.` or `..`). The final object
/// need not exist and is not looked up. `/` has no final name (`InvalidPath`).
///
/// Authorizes nothing.
pub fn resolve_parent(path: &str) -> Result<(ResolvedDir, String), FsError> {
    check_input(path)?;
    let trimmed = path.trim_end_matches('/');
    let Some((parent, name)) = trimmed.rsplit_once('/') else {
        return Err(FsError::invalid_path(path, "it has no final name"));
    };
    validate_name(name)?;
    let parent = if parent.is_empty() { "/" } else { parent };
    let dir = resolve(parent, true)?;
    match dir.entry_type() {
        EntryType::Dir => Ok((dir.into_dir(), name.to_owned())),
        other => Err(FsError::mismatch(
            dir.path().as_str(),
            EntryType::Dir,
            other,
        )),
    }
}

/// An existing object other than a directory or symlink, opened by [`direct`] in one
/// `openat2`: its `O_PATH` fd, the `fstat` of that fd, and its canonical path.
#[derive(Debug)]
pub(crate) struct Direct {
    pub(crate) fd: OwnedFd,
    pub(crate) stat: Stat,
    pub(crate) path: CanonicalPath,
}

/// The fast path for an operation that needs the object itself but no fd on its
/// directory (`cat`): when `path` is already spelled canonically (absolute, no `.`, `..`,
/// `//` or trailing `/`), one `openat2(path, O_PATH|O_NOFOLLOW|O_CLOEXEC,
/// RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)` opens the object and `fstat` types it.
///
/// The kernel refuses a symlink in any directory component (`ELOOP`) and the path has no
/// `..`, so the object reached is the one whose canonical path is the spelling, and its
/// parent directory is the spelling's parent: exactly what the component walk would have
/// found, with the same request ids. A final symlink is opened as the link itself
/// (`O_NOFOLLOW`) and sent back to the walk, as is a directory (its callers need the
/// parent fd) and every error of any kind (`ENOENT`, `ELOOP`, `EXDEV`, `ENOSYS` on old
/// kernels or under valgrind, `EAGAIN`, ...): the walk then decides and reports.
///
/// The caller has run [`check_input`]. Authorizes nothing.
pub(crate) fn direct(path: &str) -> Option<Direct> {
    // `CanonicalPath::new` rejects (does not repair) any other spelling.
    let canonical = CanonicalPath::new(path).ok().filter(|p| !p.is_root())?;
    let fd = rustix::fs::openat2(
        rustix::fs::CWD,
        path,
        sys::PATH_FLAGS,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    match sys::entry_type(&stat) {
        EntryType::Dir | EntryType::Symlink => None,
        _ => Some(Direct {
            fd,
            stat,
            path: canonical,
        }),
    }
}

/// Like [`resolve`], but a missing object is not an error: the answer says from which
/// existing directory, and with which names, it would be created. A dangling final symlink
/// that is followed gives the place of its target.
///
/// Authorizes nothing.
pub fn lookup(path: &str, follow_final_symlink: bool) -> Result<Lookup, FsError> {
    check_input(path)?;
    if let Some(found) = fast_path(path, follow_final_symlink) {
        return Ok(found);
    }
    walk(path, follow_final_symlink)
}

pub(crate) fn check_input(path: &str) -> Result<(), FsError> {
    if !path.starts_with('/') {
        return Err(FsError::invalid_path(path, "it is not absolute"));
    }
    if path.contains('\0') {
        return Err(FsError::invalid_path(
            path.escape_debug().to_string(),
            "it contains a NUL byte",
        ));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(FsError::invalid_path(
            path,
            format!("it is longer than {MAX_PATH_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// One meaningful component (not empty, not `.`) and whether a `/` follows it in the text
/// it came from (then it must be a directory, and a symlink there is followed).
struct Component {
    name: String,
    slash: bool,
}

fn split(text: &str) -> VecDeque<Component> {
    let segments: Vec<&str> = text.split('/').collect();
    let count = segments.len();
    segments
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty() && *s != ".")
        .map(|(i, s)| Component {
            name: s.to_owned(),
            slash: i + 1 < count,
        })
        .collect()
}

fn fast_path(path: &str, follow_final: bool) -> Option<Lookup> {
    let comps = split(path);
    if comps.iter().any(|c| c.name == "..") {
        return None;
    }
    let (last, dirs) = {
        let mut comps = comps;
        let last = comps.pop_back()?;
        (last, comps)
    };
    let mut parent_text = String::with_capacity(path.len());
    for c in &dirs {
        parent_text.push('/');
        parent_text.push_str(&c.name);
    }
    if parent_text.is_empty() {
        parent_text.push('/');
    }
    let parent_path = CanonicalPath::new(&parent_text).ok()?;
    let parent_fd = sys::retry(|| {
        rustix::fs::openat2(
            rustix::fs::CWD,
            parent_text.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
    })
    .ok()?;
    let parent = ResolvedDir::new(Arc::new(parent_fd), parent_path);
    match sys::open_path_at(parent.fd(), &last.name) {
        Err(Errno::NOENT) => Some(Lookup::Missing(Missing {
            parent,
            names: vec![last.name],
            dir_only: last.slash,
        })),
        Err(_) => None,
        Ok(fd) => {
            let stat = rustix::fs::fstat(&fd).ok()?;
            let t = sys::entry_type(&stat);
            if t == EntryType::Symlink && (follow_final || last.slash) {
                return None;
            }
            if t != EntryType::Dir && t != EntryType::Symlink && last.slash {
                return None;
            }
            let path = parent.path().join(&last.name).ok()?;
            Some(Lookup::Found(Resolved {
                fd,
                path,
                stat,
                parent: Some(parent),
            }))
        }
    }
}

/// One directory (or, last, the object) on the walk's stack.
struct Level {
    fd: OwnedFd,
    name: String,
    stat: Stat,
}

fn canonical(stack: &[Level], path: &str) -> Result<CanonicalPath, FsError> {
    if stack.is_empty() {
        return Ok(CanonicalPath::root());
    }
    let mut text = String::new();
    for level in stack {
        text.push('/');
        text.push_str(&level.name);
    }
    CanonicalPath::new(&text).map_err(|e| FsError::invalid_path(path, e.to_string()))
}

fn walk(path: &str, follow_final: bool) -> Result<Lookup, FsError> {
    let root = sys::open_root()?;
    let mut stack: Vec<Level> = Vec::new();
    let mut queue = split(path);
    let mut hops = 0usize;
    while let Some(comp) = queue.pop_front() {
        if comp.name == ".." {
            stack.pop();
            continue;
        }
        let last = queue.is_empty();
        let dirfd = stack.last().map_or(root.as_fd(), |l| l.fd.as_fd());
        let fd = match sys::open_path_at(dirfd, &comp.name) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return missing(root, stack, comp, queue, path),
            Err(e) => return Err(FsError::os("resolve", path, e)),
        };
        let stat = sys::fstat(&fd, path)?;
        let t = sys::entry_type(&stat);
        if t == EntryType::Symlink && (!last || follow_final || comp.slash) {
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(FsError::os("resolve", path, Errno::LOOP));
            }
            let target = read_link(&fd, path)?;
            if target.is_empty() {
                return Err(FsError::NotFound {
                    path: path.to_owned(),
                });
            }
            let mut spliced = split(&target);
            if let Some(c) = spliced.back_mut() {
                c.slash |= comp.slash;
            }
            if target.starts_with('/') {
                stack.clear();
            }
            while let Some(c) = spliced.pop_back() {
                queue.push_front(c);
            }
            continue;
        }
        if t != EntryType::Dir && (!last || comp.slash) {
            return Err(FsError::os("resolve", path, Errno::NOTDIR));
        }
        stack.push(Level {
            fd,
            name: comp.name,
            stat,
        });
    }
    let canonical = canonical(&stack, path)?;
    match stack.pop() {
        None => {
            let stat = sys::fstat(&root, "/")?;
            Ok(Lookup::Found(Resolved {
                fd: root,
                path: canonical,
                stat,
                parent: None,
            }))
        }
        Some(object) => {
            let parent_path = canonical.parent().unwrap_or_else(CanonicalPath::root);
            let parent_fd = stack.pop().map_or(root, |l| l.fd);
            Ok(Lookup::Found(Resolved {
                fd: object.fd,
                path: canonical,
                stat: object.stat,
                parent: Some(ResolvedDir::new(Arc::new(parent_fd), parent_path)),
            }))
        }
    }
}

fn missing(
    root: OwnedFd,
    mut stack: Vec<Level>,
    first: Component,
    rest: VecDeque<Component>,
    path: &str,
) -> Result<Lookup, FsError> {
    let mut dir_only = first.slash;
    let mut names = vec![first.name];
    for c in rest {
        if c.name == ".." {
            return Err(FsError::NotFound {
                path: path.to_owned(),
            });
        }
        dir_only = c.slash;
        names.push(c.name);
    }
    let parent_path = canonical(&stack, path)?;
    let parent_fd = stack.pop().map_or(root, |l| l.fd);
    Ok(Lookup::Missing(Missing {
        parent: ResolvedDir::new(Arc::new(parent_fd), parent_path),
        names,
        dir_only,
    }))
}

/// The target of the symlink `fd` (an `O_PATH|O_NOFOLLOW` fd on the link itself).
pub(crate) fn read_link(fd: impl AsFd, path: &str) -> Result<String, FsError> {
    let target = sys::retry(|| rustix::fs::readlinkat(fd.as_fd(), "", Vec::new()))
        .map_err(|e| FsError::os("read link", path, e))?;
    target
        .into_string()
        .map_err(|_| FsError::invalid_path(path, "a symbolic link target is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_trailing_slash_information() {
        let c: Vec<(String, bool)> = split("/a//b/./c/")
            .into_iter()
            .map(|c| (c.name, c.slash))
            .collect();
        assert_eq!(
            c,
            [
                ("a".to_owned(), true),
                ("b".to_owned(), true),
                ("c".to_owned(), true)
            ]
        );
        let c: Vec<bool> = split("x/y").into_iter().map(|c| c.slash).collect();
        assert_eq!(c, [true, false]);
        assert!(split("/").is_empty());
    }

    #[test]
    fn direct_opens_only_canonical_spellings_without_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let root = root.to_str().unwrap();
        std::fs::create_dir(format!("{root}/d")).unwrap();
        std::fs::write(format!("{root}/d/f"), "x").unwrap();
        std::os::unix::fs::symlink("d", format!("{root}/dl")).unwrap();
        std::os::unix::fs::symlink("f", format!("{root}/d/fl")).unwrap();
        let found = direct(&format!("{root}/d/f")).unwrap();
        assert_eq!(found.path.as_str(), format!("{root}/d/f"));
        assert_eq!(sys::entry_type(&found.stat), EntryType::File);
        for p in [
            format!("{root}/dl/f"),     // intermediate symlink: ELOOP
            format!("{root}/d/fl"),     // final symlink: sent back
            format!("{root}/d"),        // directory: sent back
            format!("{root}/d/./f"),    // not canonical
            format!("{root}//d/f"),     // not canonical
            format!("{root}/d/../d/f"), // `..`
            format!("{root}/d/f/"),     // trailing slash
            format!("{root}/d/missing"),
            "/".to_owned(),
        ] {
            assert!(direct(&p).is_none(), "{p}");
        }
    }

    #[test]
    fn root_and_relative() {
        let r = resolve("/", false).unwrap();
        assert!(r.path().is_root());
        assert!(r.parent().is_none());
        assert_eq!(r.entry_type(), EntryType::Dir);
        let r = resolve("//./..//", false).unwrap();
        assert!(r.path().is_root());
        assert!(matches!(
            resolve("etc", false),
            Err(FsError::InvalidPath { .. })
        ));
        assert!(matches!(
            resolve_parent("/"),
            Err(FsError::InvalidPath { .. })
        ));
        assert!(matches!(
            resolve_parent("/tmp/.."),
            Err(FsError::InvalidPath { .. })
        ));
    }
}
