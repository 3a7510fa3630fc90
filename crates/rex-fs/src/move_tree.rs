//! A directory moved to another filesystem: copy the tree, then delete the source.
//!
//! Every entry is authorized before anything is written, as a recursive copy and a
//! recursive delete would be: for each directory below the source, `read` and `delete` on
//! `Dir(source)` and `create` on `Dir(destination)`; for each file, `read` and `delete` on
//! `File(source)`, `create` and `write` on `File(destination)`; for each symlink, `read`
//! and `delete` on `File(source)` and `create` on `File(destination)` (the link is
//! recreated with the same target text, never followed). One refusal and nothing is done.
//! The copy is built under a temporary name in the destination directory and renamed into
//! place only once complete; a failure midway removes the partial copy and leaves the
//! source untouched. The source is removed only after the copy is in place, each name
//! checked against the inode authorized. FIFOs, sockets, devices and mount points inside
//! the tree are refused (`UnsupportedOperationError`). Ownership is kept when rex may
//! (as root), permission bits (`0o777`) always; timestamps are not kept.

use rex_policy::action::fs::{CREATE, DELETE, READ, WRITE};
use rex_policy::{CanonicalPath, Gate, Permit};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::helpers::open_verified;
use crate::helpers::{MAX_RM_DEPTH, MAX_RM_ENTRIES};
use crate::list;
use crate::reopen;
use crate::sys::{self, FileId};
use crate::unlink::remove_verified;

/// One authorized entry of the source tree.
struct Node {
    name: String,
    id: FileId,
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
    /// `delete` on the source entry.
    delete: Permit,
}

enum Kind {
    File,
    Symlink,
    Dir(Vec<Node>),
}

/// What is moved: the source directory (an fd on it, its parent fd and name, path,
/// inode) and where to.
pub(crate) struct TreeMove<'a> {
    pub src_fd: BorrowedFd<'a>,
    pub src_parent: BorrowedFd<'a>,
    pub src_name: &'a str,
    pub src_path: &'a CanonicalPath,
    pub src_id: FileId,
    pub dest_dir: BorrowedFd<'a>,
    pub dest: &'a CanonicalPath,
    pub new_name: &'a str,
    /// Replace an (empty) directory at the destination.
    pub replace: bool,
}

/// Copies the tree to its destination, then removes the source (see the module docs).
pub(crate) fn move_across(gate: &Gate, m: &TreeMove<'_>) -> Result<(), FsError> {
    if m.dest.starts_with(m.src_path) {
        return Err(FsError::InvalidArguments(format!(
            "cannot move `{}` into itself (`{}`)",
            m.src_path, m.dest
        )));
    }
    // The whole plan (every check) before anything is written.
    let top_delete = authorize::dir(gate, DELETE, m.src_path)?;
    authorize::dir(gate, READ, m.src_path)?;
    let top = sys::fstat(m.src_fd, m.src_path.as_str())?;
    if FileId::of(&top) != m.src_id {
        return Err(FsError::Changed {
            path: m.src_path.to_string(),
        });
    }
    let mut count = 0usize;
    let nodes = plan(
        gate,
        m.src_fd,
        m.src_path,
        m.dest,
        sys::to_u64(top.st_dev),
        1,
        &mut count,
    )?;

    // Copy under a temporary name, then rename into place.
    let tmp = make_temp_dir(m.dest_dir, m.dest)?;
    let copied = (|| {
        let fd = sys::open_child_dir(m.dest_dir, &tmp, m.dest.as_str())?;
        copy_nodes(m.src_fd, m.src_path, &fd, m.dest, &nodes)?;
        set_attrs(&fd, top.st_mode & 0o777, top.st_uid, top.st_gid, m.dest)?;
        let flags = if m.replace {
            RenameFlags::empty()
        } else {
            RenameFlags::NOREPLACE
        };
        sys::retry(|| {
            rustix::fs::renameat_with(m.dest_dir, tmp.as_str(), m.dest_dir, m.new_name, flags)
        })
        .map_err(|e| FsError::os("move", m.dest.as_str(), e))
    })();
    if let Err(e) = copied {
        remove_partial(m.dest_dir, &tmp);
        return Err(e);
    }

    // Only now remove the source, deepest first, each name checked.
    let src = sys::open_dir_for_reading(m.src_fd, m.src_path.as_str())?;
    remove_nodes(&src, m.src_path, &nodes)?;
    drop(src);
    remove_verified(
        m.src_parent,
        m.src_name,
        m.src_path,
        m.src_id,
        true,
        &top_delete,
    )
}

fn budget(path: &CanonicalPath, limit: usize, what: &'static str) -> FsError {
    FsError::Budget {
        path: path.to_string(),
        limit,
        what,
    }
}

/// Authorizes every entry below `dir` (at `path`, to be copied to `dest`).
fn plan(
    gate: &Gate,
    dir: impl AsFd,
    path: &CanonicalPath,
    dest: &CanonicalPath,
    dev: u64,
    depth: usize,
    count: &mut usize,
) -> Result<Vec<Node>, FsError> {
    if depth > MAX_RM_DEPTH {
        return Err(budget(path, MAX_RM_DEPTH, "levels"));
    }
    let listed = list::read_dir(dir.as_fd(), path.as_str(), MAX_RM_ENTRIES)?;
    let mut nodes = Vec::with_capacity(listed.len());
    for entry in listed {
        *count += 1;
        if *count > MAX_RM_ENTRIES {
            return Err(budget(path, MAX_RM_ENTRIES, "entries"));
        }
        let from = path.join(&entry.name)?;
        let to = dest.join(&entry.name)?;
        let st = sys::stat_name(dir.as_fd(), &entry.name, from.as_str())?;
        let id = FileId::of(&st);
        let kind = match sys::entry_type(&st) {
            EntryType::Dir => {
                if sys::to_u64(st.st_dev) != dev {
                    return Err(FsError::Unsupported(format!(
                        "moving `{path}` across filesystems: `{from}` is a mount point"
                    )));
                }
                authorize::dir(gate, READ, &from)?;
                authorize::dir(gate, CREATE, &to)?;
                let fd = open_verified(dir.as_fd(), &entry.name, &from, id)?;
                Kind::Dir(plan(gate, &fd, &from, &to, dev, depth + 1, count)?)
            }
            EntryType::File => {
                authorize::file(gate, READ, &from)?;
                authorize::file(gate, CREATE, &to)?;
                authorize::file(gate, WRITE, &to)?;
                Kind::File
            }
            EntryType::Symlink => {
                authorize::file(gate, READ, &from)?;
                authorize::file(gate, CREATE, &to)?;
                Kind::Symlink
            }
            other => {
                return Err(FsError::Unsupported(format!(
                    "moving `{path}` across filesystems: `{from}` is a {other}"
                )));
            }
        };
        let delete = authorize::entry(gate, DELETE, &from, matches!(kind, Kind::Dir(_)))?;
        nodes.push(Node {
            name: entry.name,
            id,
            kind,
            mode: st.st_mode & 0o777,
            uid: st.st_uid,
            gid: st.st_gid,
            delete,
        });
    }
    Ok(nodes)
}

fn make_temp_dir(dest_dir: BorrowedFd<'_>, dest: &CanonicalPath) -> Result<String, FsError> {
    for _ in 0..16 {
        let name = sys::temp_name("move");
        match sys::retry(|| {
            rustix::fs::mkdirat(dest_dir, name.as_str(), Mode::from_raw_mode(0o700))
        }) {
            Ok(()) => return Ok(name),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(FsError::os("create a directory next to", dest.as_str(), e)),
        }
    }
    Err(FsError::os(
        "create a directory next to",
        dest.as_str(),
        Errno::EXIST,
    ))
}

/// Mode, then owner (kept only where rex may: `EPERM` leaves rex's own).
fn set_attrs(
    fd: impl AsFd,
    mode: u32,
    uid: u32,
    gid: u32,
    path: &CanonicalPath,
) -> Result<(), FsError> {
    match sys::chown_fd(fd.as_fd(), Some(uid), Some(gid), path.as_str()) {
        Ok(())
        | Err(FsError::Os {
            source: Errno::PERM,
            ..
        }) => {}
        Err(e) => return Err(e),
    }
    sys::chmod_fd(fd, mode, path.as_str())
}

fn copy_nodes(
    src: impl AsFd,
    src_path: &CanonicalPath,
    dst: &OwnedFd,
    dst_path: &CanonicalPath,
    nodes: &[Node],
) -> Result<(), FsError> {
    for n in nodes {
        let from = src_path.join(&n.name)?;
        let to = dst_path.join(&n.name)?;
        match &n.kind {
            Kind::Dir(children) => {
                let sfd = open_verified(src.as_fd(), &n.name, &from, n.id)?;
                sys::retry(|| {
                    rustix::fs::mkdirat(dst, n.name.as_str(), Mode::from_raw_mode(0o700))
                })
                .map_err(|e| FsError::os("create", to.as_str(), e))?;
                let dfd = sys::open_child_dir(dst, &n.name, to.as_str())?;
                copy_nodes(&sfd, &from, &dfd, &to, children)?;
                set_attrs(&dfd, n.mode, n.uid, n.gid, &to)?;
            }
            Kind::File => {
                let pfd = sys::open_path_at(src.as_fd(), &n.name)
                    .map_err(|e| FsError::os("open", from.as_str(), e))?;
                let st = sys::fstat(&pfd, from.as_str())?;
                if FileId::of(&st) != n.id || sys::entry_type(&st) != EntryType::File {
                    return Err(FsError::Changed {
                        path: from.to_string(),
                    });
                }
                let mut r = std::fs::File::from(reopen::for_reading(&pfd, from.as_str())?);
                let out = sys::retry(|| {
                    rustix::fs::openat(
                        dst,
                        n.name.as_str(),
                        OFlags::WRONLY
                            | OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                })
                .map_err(|e| FsError::os("create", to.as_str(), e))?;
                let mut w = std::fs::File::from(out);
                std::io::copy(&mut r, &mut w)
                    .map_err(|e| FsError::Internal(format!("copy `{from}` to `{to}`: {e}")))?;
                set_attrs(&w, n.mode, n.uid, n.gid, &to)?;
            }
            Kind::Symlink => {
                let target =
                    sys::retry(|| rustix::fs::readlinkat(src.as_fd(), n.name.as_str(), Vec::new()))
                        .map_err(|e| FsError::os("read link", from.as_str(), e))?;
                sys::verify_name(src.as_fd(), &n.name, n.id, from.as_str())?;
                sys::retry(|| rustix::fs::symlinkat(target.as_c_str(), dst, n.name.as_str()))
                    .map_err(|e| FsError::os("create", to.as_str(), e))?;
                let lfd = sys::open_path_at(dst, &n.name)
                    .map_err(|e| FsError::os("open", to.as_str(), e))?;
                match sys::chown_fd(&lfd, Some(n.uid), Some(n.gid), to.as_str()) {
                    Ok(())
                    | Err(FsError::Os {
                        source: Errno::PERM,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Removes the source entries, deepest first; an entry already gone is skipped, one that
/// is now another object stops the removal.
fn remove_nodes(dir: &OwnedFd, path: &CanonicalPath, nodes: &[Node]) -> Result<(), FsError> {
    for n in nodes {
        let child = path.join(&n.name)?;
        let removed = match &n.kind {
            Kind::Dir(children) => {
                open_verified(dir.as_fd(), &n.name, &child, n.id).and_then(|fd| {
                    let fd = sys::open_dir_for_reading(&fd, child.as_str())?;
                    remove_nodes(&fd, &child, children)?;
                    drop(fd);
                    remove_verified(dir, &n.name, &child, n.id, true, &n.delete)
                })
            }
            _ => remove_verified(dir, &n.name, &child, n.id, false, &n.delete),
        };
        match removed {
            Ok(()) | Err(FsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes the partial copy `name` of `dir` (rex created every entry in it). Best effort.
fn remove_partial(dir: BorrowedFd<'_>, name: &str) {
    fn clear(dir: BorrowedFd<'_>, depth: usize) {
        if depth > MAX_RM_DEPTH {
            return;
        }
        let Ok(listed) = list::read_dir(dir, "", MAX_RM_ENTRIES) else {
            return;
        };
        for e in listed {
            if e.entry_type == EntryType::Dir
                && let Ok(fd) = sys::open_child_dir(dir, &e.name, "")
            {
                clear(fd.as_fd(), depth + 1);
                let _ = rustix::fs::unlinkat(dir, e.name.as_str(), AtFlags::REMOVEDIR);
            } else {
                let _ = rustix::fs::unlinkat(dir, e.name.as_str(), AtFlags::empty());
            }
        }
    }
    if let Ok(fd) = sys::open_child_dir(dir, name, "") {
        clear(fd.as_fd(), 1);
    }
    let _ = rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR);
}
