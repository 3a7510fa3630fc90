//! `cp`: copy a file to a path (or into a directory).

use rex_policy::Gate;
use rex_policy::action::fs::{OPEN, WRITE};

use crate::authorize;
use crate::copy::CopyFileOptions;
use crate::create::FILE_MODE;
use crate::dir::{DirHandle, create_file};
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::{Access, FileHandle, OpenFileOptions};
use crate::resolve::{Lookup, lookup};

use super::{open_file_at, open_parent};

/// Copies the regular file at `src` to `dst` (a file path, or an existing directory to
/// copy into under the source's name). Checks: `open` on `Dir(src parent)` and
/// `File(src)`, `read` on `File(src)`; for the destination `open` on its directory and
/// on `File(dst)`, `write` on it, and when it does not exist `create` — all made before
/// the destination is created. An existing destination with content needs `force`;
/// `preserve` copies mode and times and needs `chmod` on the destination.
pub fn cp(gate: &Gate, src: &str, dst: &str, force: bool, preserve: bool) -> Result<(), FsError> {
    let from = open_file_at(gate, src, false)?;
    let name = from.path().file_name().unwrap_or_default().to_owned();
    let to = destination(gate, dst, &name)?;
    from.copy(gate, &to, &CopyFileOptions { force, preserve })?;
    Ok(())
}

fn destination(gate: &Gate, dst: &str, src_name: &str) -> Result<FileHandle, FsError> {
    let write = Access {
        read: false,
        write: true,
    };
    match lookup(dst, true)? {
        Lookup::Found(r) => match r.entry_type() {
            EntryType::Dir => {
                let dir = DirHandle::from_resolved(gate, r)?;
                let path = dir.path().join(src_name)?;
                authorize::file(gate, WRITE, &path)?;
                let opts = OpenFileOptions {
                    write: true,
                    create: true,
                    ..OpenFileOptions::default()
                };
                dir.open_file(gate, src_name, &opts)
            }
            EntryType::File => {
                let (parent, _) = open_parent(gate, &r)?;
                let parent = parent.shared_fd();
                let permit = authorize::file(gate, OPEN, r.path())?;
                let path = r.path().clone();
                FileHandle::authorized(r.into_fd(), path, write, parent, &permit)
            }
            other => Err(FsError::mismatch(r.path().as_str(), EntryType::File, other)),
        },
        Lookup::Missing(m) => {
            let (parent, names, dir_only) = m.into_parts();
            let [name] = names.as_slice() else {
                return Err(FsError::NotFound {
                    path: dst.to_owned(),
                });
            };
            if dir_only {
                return Err(FsError::NotFound {
                    path: dst.to_owned(),
                });
            }
            authorize::dir(gate, OPEN, parent.path())?;
            authorize::file(gate, WRITE, &parent.path().join(name)?)?;
            create_file(gate, &parent, name, write, FILE_MODE)
        }
    }
}
