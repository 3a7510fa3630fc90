//! rex-fs: filesystem operations for untrusted scripts, authorized by Cedar and free of
//! path races.
//!
//! Every operation follows the same order:
//!
//! 1. **Resolve** the path from an fd on `/`, one component at a time with
//!    `O_PATH|O_NOFOLLOW` ([`resolve`]), reading symlinks relative to the fd that holds
//!    them (a path with no `..` is first tried with one `openat2` that refuses every
//!    symlink, which finds the same object when it succeeds). The result is an `O_PATH` fd on the object and its canonical path (no `.`,
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
//! One shortcut, for [`cat`] in a loop: a canonical path this process already typed as a
//! regular file in step 2, whose requests the gate allows outright
//! ([`rex_policy::Gate::preview`]), is opened for reading at once with `openat2` refusing
//! every symlink, typed with `fstat` of that fd, and read only if it is still a regular
//! file (the permits are confirmed first). Authorization still comes before the open;
//! what it skips is the `O_PATH` round trip. Anything else takes the steps above.
//!
//! Every fd is `O_CLOEXEC`; reads have byte budgets and walks entry budgets. Linux only.
//!
//! The surface (the original REX safe-io §4.1/§4.2, with the fixes of the spec README):
//! [`DirHandle`] (open, list, find, chmod/chown -R, disk usage, symlinks, move, delete),
//! [`FileHandle`] (read, lines, pages, search, atomic and in-place writes, copy, move,
//! delete, counts, strings, gzip, truncate/fallocate, xattrs, archive extraction, ELF,
//! certificates, [`FileHandle::execute`]), [`SymlinkHandle`], [`CoreDump`] (gdb, itself
//! checked with `execute`), the shell helpers ([`cat`], [`grep`], [`tail`], [`sed`],
//! [`cp`], [`mv`], [`find_files`], [`du`], [`wc`], `awk_*`, ...), pure text functions in
//! [`text`], and redaction ([`set_redaction_dictionary`]). Every recursive operation
//! authorizes every entry it touches; a refusal is an error unless the caller asked to
//! skip refused entries (then they are reported). See `docs/filesystem.md`.
#![forbid(unsafe_code)]

mod archive;
mod attrs;
mod authorize;
mod certs;
mod content;
mod copy;
mod coredump;
mod create;
mod delete;
mod dir;
mod du;
mod elf;
mod entry;
mod entry_type;
mod error;
mod execute;
mod file;
mod find;
mod gzip;
mod held_reads;
mod helpers;
mod known_files;
mod launcher;
mod lines;
mod links;
mod list;
mod make_dirs;
mod metadata;
mod move_tree;
pub mod proc_fd;
mod redact;
mod rename;
mod reopen;
pub mod resolve;
mod size;
mod sys;
pub mod text;
mod unlink;
mod walk;
mod write_file;
mod xattr;

pub use archive::{ExtractArchiveOptions, MAX_ARCHIVE_ENTRIES};
pub use attrs::{ChmodDirOptions, Ownership, SetOwnershipOptions, SymlinkHandle};
pub use content::WriteMode;
pub use copy::CopyFileOptions;
pub use coredump::{CoreDump, Frame, GDB_PATH, TracedProcess, TracedThread, parse_backtrace};
pub use create::{DIR_MODE, FILE_MODE};
pub use delete::{DeleteDirOptions, DeleteFileOptions};
pub use dir::{DirHandle, OpenDirOptions};
pub use du::{DiskUsageEntry, DiskUsageOptions, DiskUsageResult};
pub use elf::ElfInfo;
pub use entry::DirEntry;
pub use entry_type::EntryType;
pub use error::{FsError, IoErrorKind};
pub use execute::{ExecArg, ExecuteOptions, ExecuteResult, MAX_EXECUTE_OUTPUT, execute_context};
pub use file::{FileHandle, OpenFileOptions};
pub use find::FindOptions;
pub use gzip::{CompressGzipOptions, GzipInfo, MAX_DECOMPRESSED_BYTES, SearchGzipOptions};
pub use helpers::{
    MAX_RM_DEPTH, MAX_RM_ENTRIES, awk_count_unique, awk_field, awk_filter, awk_filter_field,
    awk_filter_range, awk_sum, cat, cp, du, find_files, grep, ls, mkdir, mv, rm, sed, tail, touch,
    wc, write,
};
pub use lines::{ReadLinesOptions, ReadPageOptions};
pub use links::CreateSymlinkOptions;
pub use list::MAX_LIST_ENTRIES;
pub use metadata::Metadata;
pub use redact::{
    DEFAULT_REDACTION_DICTIONARY, REDACTED, redaction_dictionary, set_redaction_dictionary,
};
pub use rename::{MoveOptions, move_context};
pub use resolve::{Lookup, Missing, Resolved, ResolvedDir, lookup, resolve, resolve_parent};
pub use size::{FallocateOptions, SizeRange, SizeUnit, TruncateOptions};
pub use text::{GrepOptions, Match, ReplacementOptions, TailSelect, WordCount};
pub use walk::{MAX_WALK_DEPTH, MAX_WALK_ENTRIES};
pub use write_file::WriteOptions;
pub use xattr::SetXAttrOptions;
