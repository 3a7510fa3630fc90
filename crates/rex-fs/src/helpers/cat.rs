//! `cat`: a whole file as text.

use rex_policy::Gate;
use rex_policy::action::fs::OPEN;

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::{Access, FileHandle};
use crate::resolve::resolve;

use super::open_parent;

/// The content of the file at `path` (symlinks followed), as UTF-8, at most `max_bytes`.
///
/// Needs `open` on `Dir(parent)`, `open` and `read` on `File(canonical path)`. The object
/// must be a regular file (`EntryTypeMismatchError` otherwise, found from the `O_PATH` fd,
/// so a FIFO or device is never opened); the inode reached is the one read. Larger than
/// `max_bytes` is `FileContentTooLargeError`.
pub fn cat(gate: &Gate, path: &str, max_bytes: usize) -> Result<String, FsError> {
    let r = resolve(path, true)?;
    open_parent(gate, &r)?;
    let t = r.entry_type();
    if t != EntryType::File {
        return Err(FsError::mismatch(r.path().as_str(), EntryType::File, t));
    }
    let permit = authorize::file(gate, OPEN, r.path())?;
    let canonical = r.path().clone();
    let access = Access {
        read: true,
        write: false,
    };
    FileHandle::authorized(r.into_fd(), canonical, access, &permit)?.read(gate, max_bytes)
}
