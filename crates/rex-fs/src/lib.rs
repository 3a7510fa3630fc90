//! rex-fs: filesystem operations for untrusted scripts, authorized by Cedar and free of
//! path races.
//!
//! Every operation follows the same order:
//!
//! 1. **Resolve** the path from an fd on `/`, one component at a time with
//!    `O_PATH|O_NOFOLLOW` ([`resolve`]), reading symlinks relative to the fd that holds
//!    them. The result is an `O_PATH` fd on the object and its canonical path (no `.`,
//!    `..`, `//` or symlinks), so a `forbid` on one file cannot be sidestepped by
//!    spelling.
//! 2. **Look** at the object through that fd (`fstat`): a FIFO or device is never really
//!    opened by mistake.
//! 3. **Authorize** with [`rex_policy::Gate::check`] on `File`/`Dir` of the canonical path,
//!    right before the side effect. The primitives that act (create, write, delete, read)
//!    take the returned `Permit` and refuse one issued for another object.
//! 4. **Act on the same inode**: re-open it through `/proc/self/fd` for reading or writing,
//!    create with `O_CREAT|O_EXCL|O_NOFOLLOW` relative to the parent fd, and remove a name
//!    only after checking it still refers to the inode authorized.
//!
//! Every fd is `O_CLOEXEC`; reads have byte budgets and walks entry budgets. Linux only.
#![forbid(unsafe_code)]

mod authorize;
mod content;
mod create;
mod dir;
mod entry;
mod entry_type;
mod error;
mod file;
mod helpers;
mod list;
mod make_dirs;
mod metadata;
mod reopen;
pub mod resolve;
mod sys;
mod unlink;

pub use content::WriteMode;
pub use create::{DIR_MODE, FILE_MODE};
pub use dir::{DirHandle, OpenDirOptions};
pub use entry::DirEntry;
pub use entry_type::EntryType;
pub use error::{FsError, IoErrorKind};
pub use file::{FileHandle, OpenFileOptions};
pub use helpers::{MAX_RM_DEPTH, MAX_RM_ENTRIES, cat, ls, mkdir, rm, touch, write};
pub use list::MAX_LIST_ENTRIES;
pub use metadata::Metadata;
pub use resolve::{Lookup, Missing, Resolved, ResolvedDir, lookup, resolve, resolve_parent};
