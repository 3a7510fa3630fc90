//! Shell-style helpers (`cat`, `ls`, `write`, `touch`, `mkdir`, `rm`): one call per
//! command, taking absolute paths in any spelling. Every Cedar request is about the
//! canonical path of the object reached, and every check happens right before the side
//! effect it guards, on the object that is then acted on.

mod cat;
mod cp;
mod du;
mod find_files;
mod ls;
mod mkdir;
mod mv;
mod rm;
mod text_cmds;
mod touch;

pub(crate) use rm::open_verified;
mod write;

pub use cat::cat;
pub use cp::cp;
pub use du::du;
pub use find_files::find_files;
pub use ls::ls;
pub use mkdir::mkdir;
pub use mv::mv;
pub(crate) use rm::remove_dir;
pub use rm::{MAX_RM_DEPTH, MAX_RM_ENTRIES, rm};
pub use text_cmds::{
    awk_count_unique, awk_field, awk_filter, awk_filter_field, awk_filter_range, awk_sum, grep,
    sed, tail, wc,
};
pub use touch::touch;
pub use write::write;

use rex_policy::action::fs::OPEN;
use rex_policy::{Gate, Permit};

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::{Access, FileHandle};
use crate::resolve::{Resolved, ResolvedDir, resolve};

/// The regular file at `path` (symlinks followed to their canonical target), as a handle
/// opened for reading (and writing with `write`): `open` on `Dir(parent)` and `open` on
/// `File(canonical path)`. Anything but a regular file is `EntryTypeMismatchError`,
/// decided from the `O_PATH` fd (a FIFO or device is never really opened).
pub(crate) fn open_file_at(gate: &Gate, path: &str, write: bool) -> Result<FileHandle, FsError> {
    let r = resolve(path, true)?;
    let (parent, _) = open_parent(gate, &r)?;
    let parent = parent.shared_fd();
    let t = r.entry_type();
    if t != EntryType::File {
        return Err(FsError::mismatch(r.path().as_str(), EntryType::File, t));
    }
    let permit = authorize::file(gate, OPEN, r.path())?;
    let canonical = r.path().clone();
    let access = Access { read: true, write };
    let id = r.id();
    Ok(FileHandle::authorized(r.into_fd(), canonical, access, parent, &permit)?.with_id(id))
}

/// `open` on `Dir(parent of r)`; `/` has no parent and is not a file.
fn open_parent<'a>(gate: &Gate, r: &'a Resolved) -> Result<(&'a ResolvedDir, Permit), FsError> {
    let Some(parent) = r.parent() else {
        return Err(FsError::mismatch(
            r.path().as_str(),
            EntryType::File,
            EntryType::Dir,
        ));
    };
    let permit = authorize::dir(gate, OPEN, parent.path())?;
    Ok((parent, permit))
}
