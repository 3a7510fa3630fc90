//! `cat`: a whole file as text.

use rex_policy::action::fs::{OPEN, READ};
use rex_policy::{CanonicalPath, Gate, Previewed, Resource};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags, Stat};

use crate::content::{self, Offset};
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::read_text_at;
use crate::held_reads;
use crate::known_files::{self, Known};
use crate::resolve::{self, Direct};
use crate::sys::{self, FileId};

use super::open_file_at;

/// The content of the file at `path` (symlinks followed), as UTF-8, at most `max_bytes`.
///
/// Needs `open` on `Dir(parent)`, `open` and `read` on `File(canonical path)` — or, when
/// `read` is refused, `redacted_read` (the text then comes back redacted). The object
/// must be a regular file (`EntryTypeMismatchError` otherwise); the inode reached is the
/// one read. Larger than `max_bytes` is `FileContentTooLargeError`. A FIFO or device is
/// typed through an `O_PATH` fd and never opened for reading, unless a path this process
/// already found to be a regular file was replaced by one (and the policy allows opening
/// it); even then it is opened non-blocking and closed unread.
///
/// Three routes, each with the same requests in the same order and the same errors (but
/// one: a known file removed since, under a policy that refuses it, is refused rather
/// than reported missing):
/// - a canonical spelling already known to name a regular file (`known_files`)
///   whose three requests the policy allows outright is opened for reading at once
///   (`cat_allowed`: four syscalls), and the fd is kept (`held_reads`); the next `cat` of
///   it by the same run on the same thread resolves the path `O_PATH` and reads the kept
///   fd with `pread` when the path still names its inode (four syscalls, no real open);
/// - else a canonical spelling is opened `O_PATH` with one `openat2` that refuses every
///   symlink (see [`crate::resolve`]), typed, authorized, then re-opened for reading
///   through `/proc/self/fd` (seven syscalls);
/// - the component walk handles every other spelling and every case the first two send
///   back (symlinks, missing objects, old kernels).
pub fn cat(gate: &Gate, path: &str, max_bytes: usize) -> Result<String, FsError> {
    resolve::check_input(path)?;
    if let Some(known) = known_files::get(path)
        && let Some(done) = cat_allowed(gate, &known, max_bytes)
    {
        return done;
    }
    if let Some(found) = resolve::direct(path) {
        return cat_direct(gate, found, max_bytes);
    }
    open_file_at(gate, path, false)?.read(gate, max_bytes)
}

/// `cat` of a canonical spelling that names a known regular file, when the gate already
/// allows all of it: the three requests (`open` on `Dir(parent)`, `open` and `read` on
/// `File(path)`) are previewed ([`Gate::preview`]: decided, nothing logged yet), then the
/// file is opened for reading with one `openat2(O_RDONLY|O_NONBLOCK|O_NOCTTY|O_NOFOLLOW,
/// RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)` and typed with one `fstat` of that fd.
/// After a successful read the fd is held for this run's thread (`held_reads`). When one
/// is held for the path already, the path is resolved `O_PATH` with the same `openat2`
/// flags instead (nothing opened) and typed; if it is the held inode, that fd is read
/// from offset 0 (`pread`); another regular file there drops the held fd and opens the
/// path anew; anything else goes on as below.
///
/// Nothing is opened before the policy allowed opening exactly this path: the kernel
/// refuses any symlink and the spelling has no `..`, so the object opened is the one
/// whose canonical path was asked about. If it is a regular file, the previews are
/// confirmed (counted and logged in the order the other routes ask them) and it is read.
/// A file whose `open` the gate refuses is refused at once (`refused`). Everything else
/// returns `None` and goes to the `O_PATH` route, which decides and reports: a request
/// the policy does not allow outright (including every `redacted_read` case), an
/// `openat2` error (missing, a symlink on the way, `ENOSYS`), or an object that is no
/// longer a regular file (closed unread, and forgotten).
fn cat_allowed(gate: &Gate, known: &Known, max_bytes: usize) -> Option<Result<String, FsError>> {
    let Known { path, parent, file } = known;
    let open_parent = gate.preview(OPEN, parent)?;
    let Some(open_file) = gate.preview(OPEN, file) else {
        return refused(gate, open_parent, file);
    };
    let read_file = gate.preview(READ, file)?;
    let previews = [open_parent, open_file, read_file];
    if let Some(held) = held_reads::take(gate, path.as_str()) {
        match still_named(path, held.id) {
            Named::Same(stat) => {
                let done = read_confirmed(
                    gate,
                    previews,
                    &held.fd,
                    &stat,
                    path,
                    max_bytes,
                    Offset::Start,
                );
                held_reads::keep(gate, path.as_str(), held.fd, held.id);
                return Some(done);
            }
            // Something else is there now: the held fd is closed, and the path opened anew.
            Named::Other => {}
            Named::NotAFile => {
                known_files::forget(path.as_str());
                return None;
            }
            Named::Unresolved => return None,
        }
    }
    let fd = rustix::fs::openat2(
        rustix::fs::CWD,
        path.as_str(),
        READ_FLAGS,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    if sys::entry_type(&stat) != EntryType::File {
        known_files::forget(path.as_str());
        return None;
    }
    let done = read_confirmed(gate, previews, &fd, &stat, path, max_bytes, Offset::Current);
    if done.is_ok() {
        held_reads::keep(gate, path.as_str(), fd, FileId::of(&stat));
    }
    Some(done)
}

/// Confirms the three previews of [`cat_allowed`] (counted and logged in the order the
/// other routes ask them), then reads `fd`, a regular file whose `fstat` is `stat`.
fn read_confirmed(
    gate: &Gate,
    [open_parent, open_file, read_file]: [Previewed<'_>; 3],
    fd: &OwnedFd,
    stat: &Stat,
    path: &CanonicalPath,
    max_bytes: usize,
    from: Offset,
) -> Result<String, FsError> {
    gate.confirm(open_parent)?;
    gate.confirm(open_file)?;
    let permit = gate.confirm(read_file)?;
    content::read_opened_to_string(fd, stat, path, max_bytes, from, &permit)
}

/// What a canonical path names now, compared with a held inode.
enum Named {
    /// The held inode, a regular file; its `fstat` now.
    Same(Stat),
    /// Another regular file.
    Other,
    /// Something that is not a regular file.
    NotAFile,
    /// Nothing `openat2` reaches without a symlink (missing, a symlink on the way,
    /// `ENOSYS`): the other routes decide.
    Unresolved,
}

/// Resolves `path` `O_PATH` (nothing is opened: no hook, no side effect) with one `openat2`
/// that refuses every symlink, as the open for reading does, and types what it reached.
fn still_named(path: &CanonicalPath, held: FileId) -> Named {
    let Ok(fd) = rustix::fs::openat2(
        rustix::fs::CWD,
        path.as_str(),
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) else {
        return Named::Unresolved;
    };
    let Ok(stat) = rustix::fs::fstat(&fd) else {
        return Named::Unresolved;
    };
    if sys::entry_type(&stat) != EntryType::File {
        Named::NotAFile
    } else if FileId::of(&stat) == held {
        Named::Same(stat)
    } else {
        Named::Other
    }
}

/// The answer for a known file whose `open` the gate refuses: the two requests the other
/// routes ask (the parent's `open`, confirmed, then the file's, denied and logged by
/// [`Gate::check`]), without looking at the path again. What the policy says about
/// `File(path)` does not depend on what is there now, so a file removed since it was
/// known is refused rather than reported missing (which reveals less). `None` (the other
/// routes decide) when the gate would not refuse it: audit mode, or a test hook.
fn refused(
    gate: &Gate,
    open_parent: Previewed<'_>,
    file: &Resource,
) -> Option<Result<String, FsError>> {
    if !gate.refuses(OPEN, file) {
        return None;
    }
    if let Err(denied) = gate.confirm(open_parent) {
        return Some(Err(denied.into()));
    }
    match gate.check(OPEN, file) {
        Err(denied) => Some(Err(denied.into())),
        // Not reached: `refuses` said this check fails.
        Ok(_) => Some(Err(FsError::Internal(format!(
            "the gate refused and then allowed `open` on `{}`",
            file.id()
        )))),
    }
}

/// Flags of the fast path's open for reading: never follows a final symlink, never blocks
/// on a FIFO, never makes a terminal the controlling one.
const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// `cat` of an object [`resolve::direct`] reached: the same requests in the same order as
/// `open_file_at` + `FileHandle::read` (`open` on the parent directory, the type, `open`
/// on the file, then `read`), without the directory fd and handle they need for other
/// operations. The `File` resource is built once for both requests.
fn cat_direct(gate: &Gate, found: Direct, max_bytes: usize) -> Result<String, FsError> {
    let Direct { fd, stat, path } = found;
    let Some(parent) = Resource::parent_dir_of(&path) else {
        return Err(FsError::mismatch(
            path.as_str(),
            EntryType::File,
            EntryType::Dir,
        ));
    };
    gate.check(OPEN, &parent)?;
    let t = sys::entry_type(&stat);
    if t != EntryType::File {
        return Err(FsError::mismatch(path.as_str(), EntryType::File, t));
    }
    known_files::remember(&path);
    let file = Resource::file(&path);
    gate.check(OPEN, &file)?;
    let id = FileId::of(&stat);
    Ok(read_text_at(gate, fd.as_fd(), Some(id), &path, &file, max_bytes)?.0)
}
