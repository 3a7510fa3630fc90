//! `cat`: a whole file as text.

use rex_policy::action::fs::OPEN;
use rex_policy::{Gate, Resource};
use rustix::fd::AsFd;

use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::read_text_at;
use crate::resolve::{self, Direct};
use crate::sys::{self, FileId};

use super::open_file_at;

/// The content of the file at `path` (symlinks followed), as UTF-8, at most `max_bytes`.
///
/// Needs `open` on `Dir(parent)`, `open` and `read` on `File(canonical path)` — or, when
/// `read` is refused, `redacted_read` (the text then comes back redacted). The object
/// must be a regular file (`EntryTypeMismatchError` otherwise, found from the `O_PATH` fd,
/// so a FIFO or device is never opened); the inode reached is the one read. Larger than
/// `max_bytes` is `FileContentTooLargeError`.
///
/// A path spelled canonically is opened with one `openat2` that refuses every symlink
/// (see [`crate::resolve`]); the requests, their order and the errors are those of the
/// component walk, which handles every other spelling and every case the fast path sends
/// back (symlinks, missing objects, old kernels).
pub fn cat(gate: &Gate, path: &str, max_bytes: usize) -> Result<String, FsError> {
    resolve::check_input(path)?;
    if let Some(found) = resolve::direct(path) {
        return cat_direct(gate, found, max_bytes);
    }
    open_file_at(gate, path, false)?.read(gate, max_bytes)
}

/// `cat` of an object [`resolve::direct`] reached: the same requests in the same order as
/// `open_file_at` + `FileHandle::read` (`open` on the parent directory, the type, `open`
/// on the file, then `read`), without the directory fd and handle they need for other
/// operations. The `File` resource is built once for both requests.
fn cat_direct(gate: &Gate, found: Direct, max_bytes: usize) -> Result<String, FsError> {
    let Direct { fd, stat, path } = found;
    let Some(parent) = Resource::parent_dir_of(&path) else {
        return Err(FsError::mismatch(
            path.as_str(),
            EntryType::File,
            EntryType::Dir,
        ));
    };
    gate.check(OPEN, &parent)?;
    let t = sys::entry_type(&stat);
    if t != EntryType::File {
        return Err(FsError::mismatch(path.as_str(), EntryType::File, t));
    }
    let file = Resource::file(&path);
    gate.check(OPEN, &file)?;
    let id = FileId::of(&stat);
    Ok(read_text_at(gate, fd.as_fd(), Some(id), &path, &file, max_bytes)?.0)
}
