//! The run's principal.

/// The login name of the process's effective uid, or the uid in decimal when it has no
/// passwd entry. Called once per run; the principal never changes afterwards.
pub fn effective_user_name() -> String {
    let uid = uzers::get_effective_uid();
    uzers::get_user_by_uid(uid)
        .and_then(|u| u.name().to_str().map(str::to_owned))
        .unwrap_or_else(|| uid.to_string())
}
