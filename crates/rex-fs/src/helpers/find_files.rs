//! `find_files` (and its alias `glob`): names matching a glob in a directory.

use rex_policy::Gate;

use crate::dir::{DirHandle, OpenDirOptions};
use crate::error::FsError;
use crate::find::FindOptions;

/// Names (not paths) of the entries matching `glob` in the directory `dir` (symlinks in
/// it followed), in directory-read order; with `recursive`, in every directory below
/// too. Checks: `open` on `Dir(dir)` (canonical), then those of [`DirHandle::find`]
/// (`read` on every directory listed, `open` on every directory descended); a refusal
/// is an error.
pub fn find_files(
    gate: &Gate,
    glob: &str,
    dir: &str,
    recursive: bool,
) -> Result<Vec<String>, FsError> {
    let opts = OpenDirOptions {
        follow_symlinks: true,
        ..OpenDirOptions::default()
    };
    let d = DirHandle::open(gate, dir, &opts)?;
    let find = FindOptions {
        name: Some(glob.to_owned()),
        max_depth: if recursive { None } else { Some(1) },
        ..FindOptions::default()
    };
    let mut names = Vec::new();
    d.find(gate, &find, &mut |e| {
        names.push(e.name);
        Ok(())
    })?;
    Ok(names)
}
