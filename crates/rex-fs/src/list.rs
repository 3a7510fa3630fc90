//! Reading a directory's entries (`getdents`) through the directory fd, with a budget.

use rustix::fd::AsFd;

use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::sys;

/// The most entries one listing returns; a larger directory is an error rather than an
/// unbounded allocation.
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// One listed name.
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) inode: u64,
    pub(crate) entry_type: EntryType,
}

/// The entries of the directory `dirfd` (any fd on it, `O_PATH` included), without `.`
/// and `..`. The directory is re-opened readable through `"."`, which names the directory
/// itself, never another inode. A type the filesystem does not report is filled in with
/// `fstatat(AT_SYMLINK_NOFOLLOW)`. A name that is not UTF-8 is an error (it could not be
/// authorized exactly).
pub(crate) fn read_dir(dirfd: impl AsFd, path: &str, max: usize) -> Result<Vec<Listed>, FsError> {
    let fd = sys::open_dir_for_reading(dirfd, path)?;
    let mut dir = rustix::fs::Dir::new(fd).map_err(|e| FsError::os("list", path, e))?;
    let mut out = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| FsError::os("list", path, e))?;
        let raw = entry.file_name().to_bytes();
        if raw == b"." || raw == b".." {
            continue;
        }
        let Ok(name) = std::str::from_utf8(raw) else {
            return Err(FsError::invalid_path(
                path,
                format!(
                    "it has an entry whose name is not UTF-8 (`{}`)",
                    String::from_utf8_lossy(raw)
                ),
            ));
        };
        if out.len() >= max {
            return Err(FsError::Budget {
                path: path.to_owned(),
                limit: max,
                what: "entries",
            });
        }
        let mut entry_type = EntryType::from_file_type(entry.file_type());
        if entry_type == EntryType::Unknown {
            let dfd = dir.fd().map_err(|e| FsError::os("list", path, e))?;
            if let Ok(st) = rustix::fs::statat(dfd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
                entry_type = sys::entry_type(&st);
            }
        }
        out.push(Listed {
            name: name.to_owned(),
            inode: entry.ino(),
            entry_type,
        });
    }
    Ok(out)
}
