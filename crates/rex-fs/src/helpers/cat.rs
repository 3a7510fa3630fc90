//! `cat`: a whole file as text.

use rex_policy::Gate;

use crate::error::FsError;

use super::open_file_at;

/// The content of the file at `path` (symlinks followed), as UTF-8, at most `max_bytes`.
///
/// Needs `open` on `Dir(parent)`, `open` and `read` on `File(canonical path)` — or, when
/// `read` is refused, `redacted_read` (the text then comes back redacted). The object
/// must be a regular file (`EntryTypeMismatchError` otherwise, found from the `O_PATH` fd,
/// so a FIFO or device is never opened); the inode reached is the one read. Larger than
/// `max_bytes` is `FileContentTooLargeError`.
pub fn cat(gate: &Gate, path: &str, max_bytes: usize) -> Result<String, FsError> {
    open_file_at(gate, path, false)?.read(gate, max_bytes)
}
