//! Replacing a file's content: atomically (`write`) or in place (`write_in_place`).

use rex_policy::Gate;
use rex_policy::action::fs::WRITE;
use rustix::fs::AtFlags;

use crate::authorize;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::reopen;
use crate::sys::{self, FileId};

/// Options of [`FileHandle::write`] (the original `WriteOptions()` builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Give the new file the old one's owner and group (default true).
    pub preserve_ownership: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            preserve_ownership: true,
        }
    }
}

impl FileHandle {
    /// Replaces the file's content atomically and returns a handle on the new file.
    ///
    /// Needs a handle opened for writing and `write` on `File(path)`. A temporary file is
    /// created next to the file through the parent directory's fd, filled, given the old
    /// mode (and owner with `preserve_ownership`) and `fsync`ed; then, after checking that
    /// the name still refers to the inode that was authorized, it is renamed over that
    /// name. A handle opened through a symlink holds the link's canonical target, so the
    /// target is replaced and the link stays. No other check is made: the temporary name
    /// is an implementation detail, not a `create`.
    pub fn write(
        &self,
        gate: &Gate,
        content: &str,
        opts: &WriteOptions,
    ) -> Result<FileHandle, FsError> {
        self.need_write()?;
        let permit = authorize::file(gate, WRITE, self.path())?;
        authorize::ensure(&permit, WRITE, self.path())?;
        let path = self.path().as_str();
        let st = sys::fstat(self.fd(), path)?;
        let id = FileId::of(&st);
        let parent = self.parent_fd();
        let name = self.name();
        sys::verify_name(parent, name, id, path)?;
        let (tmp, tmp_name) = sys::create_temp(parent, "write", path)?;
        let cleanup = |e: FsError| {
            let _ = rustix::fs::unlinkat(parent, tmp_name.as_str(), AtFlags::empty());
            e
        };
        let filled = (|| {
            sys::write_all(&tmp, content.as_bytes(), path)?;
            sys::retry(|| {
                rustix::fs::fchmod(&tmp, rustix::fs::Mode::from_raw_mode(st.st_mode & 0o7777))
            })
            .map_err(|e| FsError::os("chmod", path, e))?;
            if opts.preserve_ownership {
                let now = sys::fstat(&tmp, path)?;
                if now.st_uid != st.st_uid || now.st_gid != st.st_gid {
                    sys::chown_fd(&tmp, Some(st.st_uid), Some(st.st_gid), path)?;
                    // chown may clear setuid/setgid bits; put the mode back.
                    sys::retry(|| {
                        rustix::fs::fchmod(
                            &tmp,
                            rustix::fs::Mode::from_raw_mode(st.st_mode & 0o7777),
                        )
                    })
                    .map_err(|e| FsError::os("chmod", path, e))?;
                }
            }
            sys::retry(|| rustix::fs::fsync(&tmp)).map_err(|e| FsError::os("sync", path, e))?;
            sys::verify_name(parent, name, id, path)?;
            sys::retry(|| rustix::fs::renameat(parent, tmp_name.as_str(), parent, name))
                .map_err(|e| FsError::os("rename over", path, e))
        })();
        filled.map_err(cleanup)?;
        let fd = reopen::as_path(&tmp, path)?;
        Ok(self.replaced(fd))
    }

    /// Overwrites the file's content in place: writes `content` from offset 0, truncates
    /// to its length and `fsync`s, on the inode that was authorized. Needs a handle opened
    /// for writing and `write` on `File(path)`. Not atomic (readers may see a mix).
    pub fn write_in_place(&self, gate: &Gate, content: &str) -> Result<(), FsError> {
        self.need_write()?;
        let permit = authorize::file(gate, WRITE, self.path())?;
        authorize::ensure(&permit, WRITE, self.path())?;
        let path = self.path().as_str();
        let file = reopen::for_writing(self.fd(), false, path)?;
        let mut buf = content.as_bytes();
        let mut at = 0u64;
        while !buf.is_empty() {
            let n = sys::retry(|| rustix::io::pwrite(&file, buf, at))
                .map_err(|e| FsError::os("write", path, e))?;
            if n == 0 {
                return Err(FsError::os("write", path, rustix::io::Errno::IO));
            }
            at += n as u64;
            buf = buf.get(n..).unwrap_or_default();
        }
        sys::retry(|| rustix::fs::ftruncate(&file, at))
            .map_err(|e| FsError::os("truncate", path, e))?;
        sys::retry(|| rustix::fs::fsync(&file)).map_err(|e| FsError::os("sync", path, e))
    }
}
