//! Shell-style helpers (`cat`, `ls`, `write`, `touch`, `mkdir`, `rm`): one call per
//! command, taking absolute paths in any spelling. Every Cedar request is about the
//! canonical path of the object reached, and every check happens right before the side
//! effect it guards, on the object that is then acted on.

mod cat;
mod ls;
mod mkdir;
mod rm;
mod touch;
mod write;

pub use cat::cat;
pub use ls::ls;
pub use mkdir::mkdir;
pub use rm::{MAX_RM_DEPTH, MAX_RM_ENTRIES, rm};
pub use touch::touch;
pub use write::write;

use rex_policy::action::fs::OPEN;
use rex_policy::{Gate, Permit};

use crate::authorize;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::resolve::{Resolved, ResolvedDir};

/// `open` on `Dir(parent of r)`; `/` has no parent and is not a file.
fn open_parent<'a>(gate: &Gate, r: &'a Resolved) -> Result<(&'a ResolvedDir, Permit), FsError> {
    let Some(parent) = r.parent() else {
        return Err(FsError::mismatch(
            r.path().as_str(),
            EntryType::File,
            EntryType::Dir,
        ));
    };
    let permit = authorize::dir(gate, OPEN, parent.path())?;
    Ok((parent, permit))
}
