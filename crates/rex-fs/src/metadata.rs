//! `Metadata`: what `stat` says about one object, with owner names resolved.

use rustix::fs::Stat;

use crate::entry_type::EntryType;
use crate::sys::{self, to_i64, to_u64};

/// What `stat` reported about one object, at the moment of the call.
///
/// A `Metadata` is plain data: it authorizes nothing and is not refreshed. It is produced
/// only after a `stat` permit for the object's canonical path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    /// The object's type (a symlink's own metadata reports `SYMLINK`).
    pub entry_type: EntryType,
    /// Size in bytes (`st_size`).
    pub file_size: u64,
    /// Last modification, seconds since the epoch.
    pub last_modified_time: i64,
    /// The nanoseconds part of the last modification time.
    pub last_modified_time_nanos: i64,
    /// Number of hard links.
    pub num_hardlinks: u64,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Bytes allocated on disk (`blocks * 512`).
    pub allocated_size: u64,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub permissions: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Owner user name, or the uid as text when it has no name.
    pub owner_user: String,
    /// Owner group name, or the gid as text when it has no name.
    pub owner_group: String,
    /// For a symlink, its target text (lossily decoded if not UTF-8).
    pub symlink_target: Option<String>,
}

impl Metadata {
    pub(crate) fn from_stat(st: &Stat, symlink_target: Option<String>) -> Self {
        let blocks = to_u64(st.st_blocks);
        let uid = st.st_uid;
        let gid = st.st_gid;
        Self {
            entry_type: sys::entry_type(st),
            file_size: to_u64(st.st_size),
            last_modified_time: to_i64(st.st_mtime),
            last_modified_time_nanos: to_i64(st.st_mtime_nsec),
            num_hardlinks: to_u64(st.st_nlink),
            blocks,
            allocated_size: blocks.saturating_mul(512),
            permissions: st.st_mode & 0o7777,
            uid,
            gid,
            owner_user: uzers::get_user_by_uid(uid).map_or_else(
                || uid.to_string(),
                |u| u.name().to_string_lossy().into_owned(),
            ),
            owner_group: uzers::get_group_by_gid(gid).map_or_else(
                || gid.to_string(),
                |g| g.name().to_string_lossy().into_owned(),
            ),
            symlink_target,
        }
    }
}
