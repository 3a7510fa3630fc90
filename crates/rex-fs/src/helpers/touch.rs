//! `touch`: make sure a file exists.

use rex_policy::Gate;
use rex_policy::action::fs::{CREATE, OPEN};
use rustix::io::Errno;

use crate::authorize;
use crate::create::{self, FILE_MODE};
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::{Lookup, lookup};

/// Creates an empty file at `path` if nothing is there (a dangling symlink's target is
/// created, after its own checks). Needs `open` on `Dir(parent)`; an existing object
/// additionally needs `open` on it (`Dir` or `File` by its type) and is left unchanged
/// (timestamps included, as in the original). A missing one needs `open` and `create` on
/// `File(canonical path)` before it is created with `O_CREAT|O_EXCL|O_NOFOLLOW`, mode
/// `0o644` before umask.
pub fn touch(gate: &Gate, path: &str) -> Result<(), FsError> {
    match lookup(path, true)? {
        Lookup::Found(r) => {
            if let Some(parent) = r.parent() {
                authorize::dir(gate, OPEN, parent.path())?;
            }
            authorize::entry(gate, OPEN, r.path(), r.entry_type() == EntryType::Dir)?;
            Ok(())
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
            let permit = authorize::file(gate, CREATE, &file)?;
            create::file_excl(parent.fd(), name, FILE_MODE, &file, &permit)?;
            Ok(())
        }
    }
}
