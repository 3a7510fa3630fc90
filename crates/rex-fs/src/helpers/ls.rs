//! `ls`: a directory's entries, or one entry for a non-directory.

use std::collections::BTreeMap;

use rex_policy::Gate;
use rex_policy::action::fs::OPEN;

use crate::authorize;
use crate::dir::DirHandle;
use crate::entry::DirEntry;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::resolve;

use super::open_parent;

/// The entries at `path` by name.
///
/// A directory (intermediate symlinks followed, including one in the final component
/// when it ends with `/`): `open` and `read` on `Dir(canonical path)`; names starting with
/// `.` are left out unless `all`. Anything else, including a symlink in the final
/// component (not followed): a one-entry map for it, after `open` on `Dir(parent)` and
/// `open` on `File(canonical path)`.
pub fn ls(gate: &Gate, path: &str, all: bool) -> Result<BTreeMap<String, DirEntry>, FsError> {
    let r = resolve(path, false)?;
    let t = r.entry_type();
    if t == EntryType::Dir {
        let dir = DirHandle::from_resolved(gate, r)?;
        let mut entries = dir.list_entries(gate)?;
        if !all {
            entries.retain(|name, _| !name.starts_with('.'));
        }
        return Ok(entries);
    }
    let (parent, permit) = open_parent(gate, &r)?;
    let parent = DirHandle::authorized(parent.shared_fd(), parent.path().clone(), None, &permit)?;
    authorize::file(gate, OPEN, r.path())?;
    let name = r.path().file_name().unwrap_or_default().to_owned();
    let entry = DirEntry::new(name.clone(), r.id().ino(), t, parent);
    Ok(BTreeMap::from([(name, entry)]))
}
