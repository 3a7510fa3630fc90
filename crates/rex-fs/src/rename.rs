//! Moving (renaming) files and directories relative to directory fds, with the `move`
//! check carrying the destination in its context, and `create` on the destination.

use std::sync::Arc;

use rex_policy::action::fs::{CREATE, DELETE, MOVE};
use rex_policy::path::validate_name;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::RenameFlags;
use rustix::io::Errno;

use crate::authorize;
use crate::dir::DirHandle;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::links::unlink_quiet;
use crate::reopen;
use crate::sys::{self, FileId};
use crate::unlink::remove_verified;

/// Options of a move (the original `MoveOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveOptions {
    /// An existing destination is first renamed to `<name>~` (checked as a move of it,
    /// plus `create` of the backup name) instead of being replaced.
    pub backup: bool,
    /// Report the move (the bindings log `Moved from 'a' to 'b'`).
    pub verbose: bool,
}

/// The `move` request's context: where the object goes.
pub fn move_context(dest: &CanonicalPath) -> serde_json::Value {
    let parent = dest.parent().unwrap_or_else(CanonicalPath::root);
    serde_json::json!({
        "destination": {
            "path": dest.as_str(),
            "name": dest.file_name().unwrap_or_default(),
            "parent_path": parent.as_str(),
        }
    })
}

fn resource(path: &CanonicalPath, is_dir: bool) -> Resource {
    if is_dir {
        Resource::dir(path)
    } else {
        Resource::file(path)
    }
}

/// One object to move: its directory fd, name, canonical path, inode and type.
pub(crate) struct Source<'a> {
    pub parent: BorrowedFd<'a>,
    pub name: &'a str,
    pub path: &'a CanonicalPath,
    pub id: FileId,
    pub is_dir: bool,
}

/// Moves `src` to `dest_dir/new_name`. Checks, in order: `move` on the source (context
/// `destination{path,name,parent_path}`), `create` on the destination; an existing
/// destination needs `delete` on it (or, with `backup`, a `move` of it to `<name>~` and
/// `create` of that). Right before `renameat`, the source name (and an existing
/// destination's) is checked to still refer to the inode authorized. Across filesystems
/// a file is copied (to a temporary name in the destination, then renamed into place)
/// and its source name removed after `delete` on it; a directory's tree is copied the
/// same way and then removed, every entry authorized first as a recursive copy and a
/// recursive delete (see `move_tree`; a failure leaves the source intact). Returns an
/// `O_PATH` fd on the moved object and its new canonical path.
pub(crate) fn move_entry(
    gate: &Gate,
    src: &Source<'_>,
    dest_dir: BorrowedFd<'_>,
    dest_dir_path: &CanonicalPath,
    new_name: &str,
    backup: bool,
) -> Result<(OwnedFd, CanonicalPath), FsError> {
    validate_name(new_name)?;
    let dest = dest_dir_path.join(new_name)?;
    let permit =
        gate.check_with_context(MOVE, &resource(src.path, src.is_dir), move_context(&dest))?;
    authorize::ensure(&permit, MOVE, src.path)?;
    authorize::entry(gate, CREATE, &dest, src.is_dir)?;
    let mut replace = false;
    match sys::stat_name(dest_dir, new_name, dest.as_str()) {
        Ok(st) => {
            let existing = FileId::of(&st);
            if existing == src.id {
                return Err(FsError::InvalidArguments(format!(
                    "`{}` and `{dest}` are the same object",
                    src.path
                )));
            }
            let existing_dir = sys::entry_type(&st) == EntryType::Dir;
            if backup {
                let backup_name = format!("{new_name}~");
                let backup_path = dest_dir_path.join(&backup_name)?;
                gate.check_with_context(
                    MOVE,
                    &resource(&dest, existing_dir),
                    move_context(&backup_path),
                )?;
                authorize::entry(gate, CREATE, &backup_path, existing_dir)?;
                if let Ok(old) = sys::stat_name(dest_dir, &backup_name, backup_path.as_str()) {
                    let old_dir = sys::entry_type(&old) == EntryType::Dir;
                    let del = authorize::entry(gate, DELETE, &backup_path, old_dir)?;
                    remove_verified(
                        dest_dir,
                        &backup_name,
                        &backup_path,
                        FileId::of(&old),
                        old_dir,
                        &del,
                    )?;
                }
                sys::verify_name(dest_dir, new_name, existing, dest.as_str())?;
                sys::retry(|| {
                    rustix::fs::renameat_with(
                        dest_dir,
                        new_name,
                        dest_dir,
                        backup_name.as_str(),
                        RenameFlags::NOREPLACE,
                    )
                })
                .map_err(|e| FsError::os("back up", dest.as_str(), e))?;
            } else {
                authorize::entry(gate, DELETE, &dest, existing_dir)?;
                sys::verify_name(dest_dir, new_name, existing, dest.as_str())?;
                replace = true;
            }
        }
        Err(FsError::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    sys::verify_name(src.parent, src.name, src.id, src.path.as_str())?;
    let flags = if replace {
        RenameFlags::empty()
    } else {
        RenameFlags::NOREPLACE
    };
    match sys::retry(|| rustix::fs::renameat_with(src.parent, src.name, dest_dir, new_name, flags))
    {
        Ok(()) => {}
        Err(Errno::XDEV) if !src.is_dir => {
            copy_across(gate, src, dest_dir, &dest, new_name, replace)?;
        }
        Err(Errno::XDEV) => {
            let src_fd = sys::open_path_at(src.parent, src.name)
                .map_err(|e| FsError::os("open", src.path.as_str(), e))?;
            crate::move_tree::move_across(
                gate,
                &crate::move_tree::TreeMove {
                    src_fd: src_fd.as_fd(),
                    src_parent: src.parent,
                    src_name: src.name,
                    src_path: src.path,
                    src_id: src.id,
                    dest_dir,
                    dest: &dest,
                    new_name,
                    replace,
                },
            )?;
        }
        Err(e) => return Err(FsError::os("move", src.path.as_str(), e)),
    }
    let fd =
        sys::open_path_at(dest_dir, new_name).map_err(|e| FsError::os("open", dest.as_str(), e))?;
    Ok((fd, dest))
}

/// A file moved across filesystems: copied into a temporary file in the destination
/// directory, renamed into place, then the source name removed (`delete` on it).
fn copy_across(
    gate: &Gate,
    src: &Source<'_>,
    dest_dir: BorrowedFd<'_>,
    dest: &CanonicalPath,
    new_name: &str,
    replace: bool,
) -> Result<(), FsError> {
    let del = authorize::file(gate, DELETE, src.path)?;
    let sfd = sys::open_path_at(src.parent, src.name)
        .map_err(|e| FsError::os("open", src.path.as_str(), e))?;
    let st = sys::fstat(&sfd, src.path.as_str())?;
    if FileId::of(&st) != src.id || sys::entry_type(&st) != EntryType::File {
        return Err(FsError::Changed {
            path: src.path.to_string(),
        });
    }
    let from = std::fs::File::from(reopen::for_reading(&sfd, src.path.as_str())?);
    let (tmp, tmp_name) = sys::create_temp(dest_dir, "move", dest.as_str())?;
    let result = (|| {
        let mut to = std::fs::File::from(tmp);
        let mut from = from;
        std::io::copy(&mut from, &mut to)
            .map_err(|e| FsError::Internal(format!("copy `{}` to `{dest}`: {e}", src.path)))?;
        sys::retry(|| rustix::fs::fchmod(&to, rustix::fs::Mode::from_raw_mode(st.st_mode & 0o777)))
            .map_err(|e| FsError::os("chmod", dest.as_str(), e))?;
        let flags = if replace {
            RenameFlags::empty()
        } else {
            RenameFlags::NOREPLACE
        };
        sys::retry(|| {
            rustix::fs::renameat_with(dest_dir, tmp_name.as_str(), dest_dir, new_name, flags)
        })
        .map_err(|e| FsError::os("move", dest.as_str(), e))
    })();
    if let Err(e) = result {
        unlink_quiet(dest_dir, &tmp_name);
        return Err(e);
    }
    remove_verified(src.parent, src.name, src.path, src.id, false, &del)
}

impl FileHandle {
    /// Moves the file to `dest_dir/new_name` and returns a handle on it there (see
    /// `move_entry` for the checks: `move` on `File(path)` with the destination
    /// context, `create` on `File(dest)`, ...). The name moved is the handle's, relative
    /// to its parent fd, checked to still be the inode the handle holds.
    pub fn move_to(
        &self,
        gate: &Gate,
        dest_dir: &DirHandle,
        new_name: &str,
        opts: &MoveOptions,
    ) -> Result<FileHandle, FsError> {
        let id = FileId::of(&sys::fstat(self.fd(), self.path().as_str())?);
        let src = Source {
            parent: self.parent_fd(),
            name: self.name(),
            path: self.path(),
            id,
            is_dir: false,
        };
        let (fd, path) = move_entry(
            gate,
            &src,
            dest_dir.fd(),
            dest_dir.path(),
            new_name,
            opts.backup,
        )?;
        let permit = authorize::file(gate, rex_policy::action::fs::OPEN, &path)?;
        FileHandle::authorized(fd, path, self.access(), dest_dir.shared_fd(), &permit)
    }
}

impl DirHandle {
    /// Moves `src_dir` (which must be an entry of this directory) to
    /// `dest_parent/new_name` and returns a handle on it there. Checks as
    /// `move_entry`, on `Dir` resources; then `open` on the new path.
    pub fn move_dir(
        &self,
        gate: &Gate,
        src_dir: &DirHandle,
        dest_parent: &DirHandle,
        new_name: &str,
        opts: &MoveOptions,
    ) -> Result<DirHandle, FsError> {
        let name = src_dir.path().file_name().unwrap_or_default();
        if src_dir.path().parent().as_ref() != Some(self.path()) {
            return Err(FsError::InvalidArguments(format!(
                "`{}` is not in `{}`",
                src_dir.path(),
                self.path()
            )));
        }
        let id = FileId::of(&sys::fstat(src_dir.fd(), src_dir.path().as_str())?);
        let src = Source {
            parent: self.fd(),
            name,
            path: src_dir.path(),
            id,
            is_dir: true,
        };
        let (fd, path) = move_entry(
            gate,
            &src,
            dest_parent.fd(),
            dest_parent.path(),
            new_name,
            opts.backup,
        )?;
        let permit = authorize::dir(gate, rex_policy::action::fs::OPEN, &path)?;
        DirHandle::authorized(Arc::new(fd), path, Some(dest_parent.shared_fd()), &permit)
    }
}
