//! `mv`: move a file, link or directory to a path or into a directory.

use rex_policy::Gate;
use rex_policy::action::fs::OPEN;

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::rename::{Source, move_entry};
use crate::resolve::{Lookup, ResolvedDir, lookup, resolve};

/// Moves the object at `src` (a final symlink is moved itself, not followed) to `dst`:
/// into `dst` under the same name when `dst` is a directory (or a link to one), else to
/// the path `dst`, replacing a non-directory there (which needs `delete` on it, or with
/// `backup` a move of it to `<name>~`). Checks: `open` on `Dir(src parent)` and on the
/// source (`File` or `Dir`), `open` on `Dir(destination directory)`, then those of
/// `move_entry` (`move` with the destination context, `create` on the
/// destination). Returns `Moved from '<src>' to '<dest>'` (canonical paths).
pub fn mv(gate: &Gate, src: &str, dst: &str, backup: bool) -> Result<String, FsError> {
    let r = match lookup(src, false)? {
        Lookup::Found(r) => r,
        Lookup::Missing(_) => {
            return Err(FsError::NotFound {
                path: src.to_owned(),
            });
        }
    };
    let (Some(parent), Some(name)) = (r.parent(), r.path().file_name()) else {
        return Err(FsError::invalid_path(src, "refusing to move `/`"));
    };
    authorize::dir(gate, OPEN, parent.path())?;
    let is_dir = r.entry_type() == EntryType::Dir;
    authorize::entry(gate, OPEN, r.path(), is_dir)?;
    let (dest_dir, new_name) = destination(dst, name)?;
    authorize::dir(gate, OPEN, dest_dir.path())?;
    let source = Source {
        parent: parent.fd(),
        name,
        path: r.path(),
        id: r.id(),
        is_dir,
    };
    let (_, dest) = move_entry(
        gate,
        &source,
        dest_dir.fd(),
        dest_dir.path(),
        &new_name,
        backup,
    )?;
    Ok(format!("Moved from '{}' to '{dest}'", r.path()))
}

fn destination(dst: &str, src_name: &str) -> Result<(ResolvedDir, String), FsError> {
    match lookup(dst, false)? {
        Lookup::Found(d) => match d.entry_type() {
            EntryType::Dir => Ok((d.into_dir(), src_name.to_owned())),
            t => {
                if t == EntryType::Symlink
                    && let Ok(target) = resolve(dst, true)
                    && target.entry_type() == EntryType::Dir
                {
                    return Ok((target.into_dir(), src_name.to_owned()));
                }
                let name = d.path().file_name().unwrap_or_default().to_owned();
                let Some(parent) = d.parent().cloned() else {
                    return Err(FsError::invalid_path(dst, "no parent directory"));
                };
                Ok((parent, name))
            }
        },
        Lookup::Missing(m) => {
            let (parent, names, _) = m.into_parts();
            match names.as_slice() {
                [name] => Ok((parent, name.clone())),
                _ => Err(FsError::NotFound {
                    path: dst.to_owned(),
                }),
            }
        }
    }
}
