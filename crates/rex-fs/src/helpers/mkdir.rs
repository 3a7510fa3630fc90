//! `mkdir` and `mkdir -p`.

use rex_policy::Gate;
use rex_policy::action::fs::OPEN;

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::make_dirs::make_dirs;
use crate::resolve::{Lookup, lookup, resolve};

/// Creates the directory at `path`; with `parents`, missing ancestors too.
///
/// Needs `open` on `Dir(deepest existing ancestor)`, then `create` on `Dir(level)` for
/// each new level, checked right before its `mkdirat` relative to the parent's fd (mode
/// `0o755` before umask). An existing directory (or a symlink to one) is not an error and
/// needs only `open` on it. Without `parents` a missing parent is `NotFound`; an existing
/// non-directory is `EntryTypeMismatchError`.
pub fn mkdir(gate: &Gate, path: &str, parents: bool) -> Result<(), FsError> {
    match lookup(path, false)? {
        Lookup::Found(r) => {
            let r = match r.entry_type() {
                EntryType::Symlink => match resolve(path, true) {
                    Ok(target) => target,
                    Err(FsError::NotFound { .. }) => {
                        return Err(FsError::mismatch(path, EntryType::Dir, EntryType::Symlink));
                    }
                    Err(e) => return Err(e),
                },
                _ => r,
            };
            match r.entry_type() {
                EntryType::Dir => {
                    authorize::dir(gate, OPEN, r.path())?;
                    Ok(())
                }
                other => Err(FsError::mismatch(r.path().as_str(), EntryType::Dir, other)),
            }
        }
        Lookup::Missing(m) => {
            let (parent, names, _) = m.into_parts();
            if names.len() > 1 && !parents {
                let first = names.first().map_or("", String::as_str);
                return Err(FsError::NotFound {
                    path: parent.path().join(first)?.to_string(),
                });
            }
            make_dirs(gate, parent, &names)?;
            Ok(())
        }
    }
}
