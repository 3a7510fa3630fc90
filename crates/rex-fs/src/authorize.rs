//! Asking the gate about files and directories by canonical path, and making sure a
//! `Permit` is used only for the request it answered.

use rex_policy::{Action, CanonicalPath, Gate, Permit, Resource};

use crate::error::FsError;

/// `gate.check(action, File(path))`.
pub(crate) fn file(gate: &Gate, action: Action, path: &CanonicalPath) -> Result<Permit, FsError> {
    Ok(gate.check(action, &Resource::file(path))?)
}

/// `gate.check(action, Dir(path))`.
pub(crate) fn dir(gate: &Gate, action: Action, path: &CanonicalPath) -> Result<Permit, FsError> {
    Ok(gate.check(action, &Resource::dir(path))?)
}

/// `Dir(path)` when `is_dir`, else `File(path)`.
pub(crate) fn entry(
    gate: &Gate,
    action: Action,
    path: &CanonicalPath,
    is_dir: bool,
) -> Result<Permit, FsError> {
    if is_dir {
        dir(gate, action, path)
    } else {
        file(gate, action, path)
    }
}

/// Fails unless `permit` allows `action` on `path`: the primitives that act take the
/// permit and call this first, so a permit for one object cannot be spent on another.
pub(crate) fn ensure(permit: &Permit, action: Action, path: &CanonicalPath) -> Result<(), FsError> {
    if permit.action() == action && permit.resource_id() == path.as_str() {
        Ok(())
    } else {
        Err(FsError::Internal(format!(
            "a permit for {} on `{}` was used for {action} on `{path}`",
            permit.action(),
            permit.resource_id()
        )))
    }
}
