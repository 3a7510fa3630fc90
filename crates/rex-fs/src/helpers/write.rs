//! `write`: append to or replace a file's content, creating it if needed.

use rex_policy::Gate;
use rex_policy::action::fs::{CREATE, OPEN, READ, WRITE};
use rustix::io::Errno;

use crate::authorize;
use crate::content::{self, WriteMode};
use crate::create::{self, FILE_MODE};
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::{Lookup, lookup};

use super::open_parent;

/// Writes `content` to the file at `path`.
///
/// A symlink at `path` is followed: its canonical target is what is authorized and
/// written, and the link stays a link. Needs `open` on `Dir(parent)` first.
///
/// - Existing file (must be regular, else `EntryTypeMismatchError` before any real open):
///   `open`, for `Append` also `read` (kept from the original, whose append read the
///   file), and `write` on `File(canonical path)`; then the same inode is re-opened
///   through `/proc/self/fd`. `Append` writes only the new bytes with `O_APPEND` (nothing
///   is read back or rewritten, so a refusal leaves the file unchanged); `Replace`
///   truncates and writes.
/// - Missing file: `open`, `create` and `write` on `File(canonical path)` are all checked
///   before it is created with `O_CREAT|O_EXCL|O_NOFOLLOW` (mode `0o644` before umask).
///   A missing parent is `NotFound`.
pub fn write(gate: &Gate, path: &str, content: &str, mode: WriteMode) -> Result<(), FsError> {
    match lookup(path, true)? {
        Lookup::Found(r) => {
            open_parent(gate, &r)?;
            let t = r.entry_type();
            if t != EntryType::File {
                return Err(FsError::mismatch(r.path().as_str(), EntryType::File, t));
            }
            authorize::file(gate, OPEN, r.path())?;
            if mode == WriteMode::Append {
                authorize::file(gate, READ, r.path())?;
            }
            let permit = authorize::file(gate, WRITE, r.path())?;
            content::write_existing(r.fd(), r.path(), content.as_bytes(), mode, &permit)
        }
        Lookup::Missing(m) => {
            let (parent, names, dir_only) = m.into_parts();
            let [name] = names.as_slice() else {
                return Err(FsError::NotFound {
                    path: path.to_owned(),
                });
            };
            if dir_only {
                return Err(FsError::os("create", path, Errno::ISDIR));
            }
            authorize::dir(gate, OPEN, parent.path())?;
            let file = parent.path().join(name)?;
            authorize::file(gate, OPEN, &file)?;
            let create = authorize::file(gate, CREATE, &file)?;
            let permit = authorize::file(gate, WRITE, &file)?;
            let fd = create::file_excl(parent.fd(), name, FILE_MODE, &file, &create)?;
            content::write_new(&fd, &file, content.as_bytes(), &permit)
        }
    }
}
