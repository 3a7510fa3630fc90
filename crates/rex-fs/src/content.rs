//! Reading and writing a file's bytes through the inode that was authorized: the
//! `O_PATH` fd is re-opened via `/proc/self/fd` (never by name), and only with a `read` or
//! `write` permit for that file.

use rex_policy::action::fs::{READ, REDACTED_READ, WRITE};
use rex_policy::{CanonicalPath, Permit};
use rustix::fd::AsFd;

use crate::authorize::ensure;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::reopen;
use crate::sys;

/// Most bytes asked of one `read` call.
const CHUNK: usize = 64 * 1024;

/// Fewest bytes asked of the first `read` (a `/proc` file reports size 0).
const MIN_READ: usize = 1024;

/// How new content is put into an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Add the new bytes at the end (`O_APPEND`); the existing bytes are never read or
    /// rewritten. The default, as in the original `write(path, content)`.
    #[default]
    Append,
    /// Truncate to zero length, then write the new bytes.
    Replace,
}

/// Reads the whole regular file behind `fd` (an `O_PATH` fd) as UTF-8, failing with
/// `TooLarge` instead of reading or allocating more than `max_bytes`.
pub(crate) fn read_to_string(
    fd: impl AsFd,
    id: Option<sys::FileId>,
    path: &CanonicalPath,
    max_bytes: usize,
    permit: &Permit,
) -> Result<String, FsError> {
    ensure(permit, READ, path)?;
    let (file, stat) = reopen::for_reading_checked(fd, id, path.as_str())?;
    read_opened_to_string(&file, &stat, path, max_bytes, Offset::Current, permit)
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offset {
    /// At the fd's offset, moving it (`read`).
    Current,
    /// At the start of the file, whatever the fd's offset (`pread`; the offset stays).
    Start,
}

/// Reads the whole regular file behind `file`, an fd already open for reading whose
/// inode's `fstat` is `stat`, as UTF-8 (a `read` permit for `path`), at most `max_bytes`,
/// from `from`.
pub(crate) fn read_opened_to_string(
    file: impl AsFd,
    stat: &rustix::fs::Stat,
    path: &CanonicalPath,
    max_bytes: usize,
    from: Offset,
    permit: &Permit,
) -> Result<String, FsError> {
    ensure(permit, READ, path)?;
    let bytes = read_bounded_sized(file, path.as_str(), max_bytes, stat, from)?;
    String::from_utf8(bytes).map_err(|_| FsError::NotUtf8 {
        path: path.to_string(),
    })
}

/// Reads the whole file behind `fd` as bytes (a `read` permit), at most `max_bytes`.
pub(crate) fn read_bytes(
    fd: impl AsFd,
    path: &CanonicalPath,
    max_bytes: usize,
    permit: &Permit,
) -> Result<Vec<u8>, FsError> {
    ensure(permit, READ, path)?;
    let file = reopen::for_reading(fd, path.as_str())?;
    read_bounded(&file, path.as_str(), max_bytes)
}

/// Reads the file for redaction (a `redacted_read` permit): the text is redacted before
/// anything else sees it.
pub(crate) fn read_redactable(
    fd: impl AsFd,
    path: &CanonicalPath,
    max_bytes: usize,
    permit: &Permit,
) -> Result<String, FsError> {
    ensure(permit, REDACTED_READ, path)?;
    let file = reopen::for_reading(fd, path.as_str())?;
    let bytes = read_bounded(&file, path.as_str(), max_bytes)?;
    String::from_utf8(bytes).map_err(|_| FsError::NotUtf8 {
        path: path.to_string(),
    })
}

/// Reads at most `max_bytes` from `fd`; one byte more is `TooLarge`. The buffer grows with
/// what is actually read and never beyond `max_bytes + 1`.
pub(crate) fn read_bounded(
    fd: impl AsFd,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, FsError> {
    let stat = sys::fstat(fd.as_fd(), path)?;
    read_bounded_sized(fd, path, max_bytes, &stat, Offset::Current)
}

/// [`read_bounded`] with the `fstat` of `fd` already taken (its size only sizes the
/// buffer, rejects early, and tells when a regular file was read to its end; the bound is
/// enforced on what is actually read).
///
/// Bytes are read straight into the returned buffer (no separate read buffer: zeroing a
/// fixed 64 KiB one was 57% of the instructions of a 16-byte `cat` loop). The first
/// `read` asks for one byte more than the size `fstat` reported; when a regular file
/// returns exactly that size, short of what was asked, that read met the end of the file
/// (a short read of a regular file is its end) and no further `read` is made. Otherwise
/// (a file that changed size, or a `/proc` or `/sys` file whose `fstat` size is not its
/// length) reading goes on until a `read` returns 0. With [`Offset::Start`] the reads are
/// `pread`s from offset 0 on, and the fd's own offset is left where it was.
pub(crate) fn read_bounded_sized(
    fd: impl AsFd,
    path: &str,
    max_bytes: usize,
    stat: &rustix::fs::Stat,
    from: Offset,
) -> Result<Vec<u8>, FsError> {
    let too_large = || FsError::TooLarge {
        path: path.to_owned(),
        limit: max_bytes,
    };
    let size = sys::to_u64(stat.st_size);
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > max_bytes {
        return Err(too_large());
    }
    let sized = size > 0 && sys::entry_type(stat) == EntryType::File;
    let limit = max_bytes.saturating_add(1);
    let first = if size > 0 {
        size.saturating_add(1)
    } else {
        MIN_READ
    };
    let mut out: Vec<u8> = Vec::with_capacity(first.min(limit));
    while out.len() < limit {
        if out.len() == out.capacity() {
            let target = out.capacity().saturating_mul(2).min(limit);
            out.reserve_exact(target - out.len());
        }
        let start = out.len();
        let want = (out.capacity() - start).min(limit - start).min(CHUNK);
        out.resize(start + want, 0);
        let buf = out.get_mut(start..).unwrap_or_default();
        let n = match from {
            Offset::Current => sys::retry(|| rustix::io::read(fd.as_fd(), &mut *buf)),
            Offset::Start => {
                sys::retry(|| rustix::io::pread(fd.as_fd(), &mut *buf, sys::to_u64(start)))
            }
        }
        .map_err(|e| FsError::os("read", path, e))?;
        out.truncate(start + n.min(want));
        if n == 0 || (sized && n < want && out.len() == size) {
            break;
        }
    }
    if out.len() > max_bytes {
        return Err(too_large());
    }
    Ok(out)
}

/// Writes `content` into the existing regular file behind `fd` (an `O_PATH` fd), by
/// `mode`.
pub(crate) fn write_existing(
    fd: impl AsFd,
    path: &CanonicalPath,
    content: &[u8],
    mode: WriteMode,
    permit: &Permit,
) -> Result<(), FsError> {
    ensure(permit, WRITE, path)?;
    let file = reopen::for_writing(fd, mode == WriteMode::Append, path.as_str())?;
    if mode == WriteMode::Replace {
        sys::retry(|| rustix::fs::ftruncate(&file, 0))
            .map_err(|e| FsError::os("truncate", path.as_str(), e))?;
    }
    sys::write_all(&file, content, path.as_str())
}

/// Writes `content` into a file this process just created and holds open for writing.
pub(crate) fn write_new(
    file: impl AsFd,
    path: &CanonicalPath,
    content: &[u8],
    permit: &Permit,
) -> Result<(), FsError> {
    ensure(permit, WRITE, path)?;
    sys::write_all(file, content, path.as_str())
}
