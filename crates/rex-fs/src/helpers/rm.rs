//! `rm`, `rm -r`, `rm -f`: remove a name, never following a symlink in it.

use rex_policy::action::fs::{DELETE, OPEN};
use rex_policy::{CanonicalPath, Gate, Permit};
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::list;
use crate::resolve::{Lookup, lookup};
use crate::sys::{self, FileId};
use crate::unlink::remove_verified;

/// The most entries `rm -r` removes in one call; a larger tree is refused before anything
/// is removed.
pub const MAX_RM_ENTRIES: usize = 100_000;

/// The deepest nesting `rm -r` descends (one fd is held per level).
pub const MAX_RM_DEPTH: usize = 128;

/// Removes the object at `path`. The final component is never followed: removing a
/// symlink removes the link, not its target. `/` and paths ending in `.` or `..` are
/// refused (`InvalidPath`).
///
/// - Anything but a directory: `open` on `Dir(parent)` and `delete` on
///   `File(canonical path)`, then `unlinkat` relative to the parent fd after checking that
///   the name still refers to the inode that was authorized.
/// - A directory: `open` and `delete` on `Dir(canonical path)`. Without `recursive` it must
///   be empty (`DirectoryNotEmpty`). With `recursive`, the whole tree is walked first over
///   fds and *every* entry authorized (`delete` on its `File`/`Dir` canonical path); one
///   refusal and nothing is removed. Then the tree is removed depth-first, each name
///   checked against the inode that was authorized; an entry that appeared meanwhile makes
///   its directory non-empty and stops the removal there.
/// - `force`: a missing path is not an error. It does not override any refusal.
pub fn rm(gate: &Gate, path: &str, recursive: bool, force: bool) -> Result<(), FsError> {
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if last == "." || last == ".." {
        return Err(FsError::invalid_path(
            path,
            "refusing to remove `.` or `..`",
        ));
    }
    let r = match lookup(path, false)? {
        Lookup::Found(r) => r,
        Lookup::Missing(_) if force => return Ok(()),
        Lookup::Missing(_) => {
            return Err(FsError::NotFound {
                path: path.to_owned(),
            });
        }
    };
    let (Some(parent), Some(name)) = (r.parent(), r.path().file_name()) else {
        return Err(FsError::invalid_path(path, "refusing to remove `/`"));
    };
    let id = r.id();
    if r.entry_type() != EntryType::Dir {
        authorize::dir(gate, OPEN, parent.path())?;
        let permit = authorize::file(gate, DELETE, r.path())?;
        return remove_verified(parent.fd(), name, r.path(), id, false, &permit);
    }
    authorize::dir(gate, OPEN, r.path())?;
    remove_dir(gate, r.fd(), parent.fd(), name, r.path(), id, recursive)
}

/// Removes the directory `name` of `parent` (the inode `id`, whose fd is `fd`) after
/// `delete` on `Dir(path)`; with `recursive`, every entry below is authorized first
/// (`delete` on each) and removed depth-first, each name checked against the inode
/// authorized.
pub(crate) fn remove_dir(
    gate: &Gate,
    fd: impl AsFd,
    parent: impl AsFd,
    name: &str,
    path: &CanonicalPath,
    id: FileId,
    recursive: bool,
) -> Result<(), FsError> {
    let permit = authorize::dir(gate, DELETE, path)?;
    if recursive {
        let top = sys::open_dir_for_reading(fd, path.as_str())?;
        let mut count = 0usize;
        let plan = plan(gate, &top, path, 1, &mut count)?;
        remove_tree(&top, path, &plan)?;
    }
    remove_verified(parent, name, path, id, true, &permit)
}

/// One entry to remove, with the inode and the `delete` permit it was authorized with.
struct Node {
    name: String,
    id: FileId,
    permit: Permit,
    /// For a directory, its entries.
    children: Option<Vec<Node>>,
}

/// Authorizes every entry below `dir` (a readable fd on the directory at `path`).
fn plan(
    gate: &Gate,
    dir: &OwnedFd,
    path: &CanonicalPath,
    depth: usize,
    count: &mut usize,
) -> Result<Vec<Node>, FsError> {
    if depth > MAX_RM_DEPTH {
        return Err(FsError::Budget {
            path: path.to_string(),
            limit: MAX_RM_DEPTH,
            what: "levels",
        });
    }
    let listed = list::read_dir(dir, path.as_str(), MAX_RM_ENTRIES)?;
    let mut nodes = Vec::with_capacity(listed.len());
    for entry in listed {
        *count += 1;
        if *count > MAX_RM_ENTRIES {
            return Err(FsError::Budget {
                path: path.to_string(),
                limit: MAX_RM_ENTRIES,
                what: "entries",
            });
        }
        let child = path.join(&entry.name)?;
        let st = match sys::stat_name(dir, &entry.name, child.as_str()) {
            Ok(st) => st,
            Err(FsError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let id = FileId::of(&st);
        if sys::entry_type(&st) == EntryType::Dir {
            let permit = authorize::dir(gate, DELETE, &child)?;
            let fd = open_verified(dir, &entry.name, &child, id)?;
            let children = plan(gate, &fd, &child, depth + 1, count)?;
            nodes.push(Node {
                name: entry.name,
                id,
                permit,
                children: Some(children),
            });
        } else {
            let permit = authorize::file(gate, DELETE, &child)?;
            nodes.push(Node {
                name: entry.name,
                id,
                permit,
                children: None,
            });
        }
    }
    Ok(nodes)
}

/// The child directory `name` of `dir`, opened without following links, if it is still
/// the inode `id`.
pub(crate) fn open_verified(
    dir: impl AsFd,
    name: &str,
    path: &CanonicalPath,
    id: FileId,
) -> Result<OwnedFd, FsError> {
    let fd = sys::open_child_dir(dir, name, path.as_str()).map_err(|e| match e {
        FsError::Os {
            source: Errno::NOTDIR | Errno::LOOP,
            ..
        } => FsError::Changed {
            path: path.to_string(),
        },
        e => e,
    })?;
    if FileId::of(&sys::fstat(&fd, path.as_str())?) != id {
        return Err(FsError::Changed {
            path: path.to_string(),
        });
    }
    Ok(fd)
}

/// Removes the planned entries of `dir`, deepest first. An entry that is already gone is
/// skipped; one that is now a different object stops the removal.
fn remove_tree(dir: &OwnedFd, path: &CanonicalPath, nodes: &[Node]) -> Result<(), FsError> {
    for node in nodes {
        let child = path.join(&node.name)?;
        let removed = match &node.children {
            Some(children) => open_verified(dir, &node.name, &child, node.id).and_then(|fd| {
                remove_tree(&fd, &child, children)?;
                drop(fd);
                remove_verified(dir, &node.name, &child, node.id, true, &node.permit)
            }),
            None => remove_verified(dir, &node.name, &child, node.id, false, &node.permit),
        };
        match removed {
            Ok(()) | Err(FsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
