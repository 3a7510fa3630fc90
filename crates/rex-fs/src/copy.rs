//! Copying one file's content into another handle's file.

use rex_policy::Gate;
use rex_policy::action::fs::{CHMOD, READ, WRITE};
use rustix::fs::{Timespec, Timestamps};

use crate::authorize;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::reopen;
use crate::sys::{self, FileId};

/// Options of [`FileHandle::copy`] (the original `CopyFileOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyFileOptions {
    /// Overwrite a destination that already has content.
    pub force: bool,
    /// Copy the mode (needs `chmod` on the destination) and the access/modification
    /// times.
    pub preserve: bool,
}

impl FileHandle {
    /// Copies this file's bytes into `dest` and returns `dest`. Needs this handle opened
    /// for reading and `read` on `File(src)`, `dest` opened for writing and `write` on
    /// `File(dest)`, and with `preserve` also `chmod` on `File(dest)` (the original copied
    /// the mode, setuid bits included, without one). A non-empty destination needs
    /// `force` (`DestinationFileNotEmptyError`). Both inodes are re-opened through their
    /// fds; the bytes are copied by the kernel (`copy_file_range` where possible).
    pub fn copy(
        &self,
        gate: &Gate,
        dest: &FileHandle,
        opts: &CopyFileOptions,
    ) -> Result<FileHandle, FsError> {
        self.need_read()?;
        dest.need_write()?;
        let rp = authorize::file(gate, READ, self.path())?;
        let wp = authorize::file(gate, WRITE, dest.path())?;
        if opts.preserve {
            authorize::file(gate, CHMOD, dest.path())?;
        }
        authorize::ensure(&rp, READ, self.path())?;
        authorize::ensure(&wp, WRITE, dest.path())?;
        let src_st = sys::fstat(self.fd(), self.path().as_str())?;
        let dst_st = sys::fstat(dest.fd(), dest.path().as_str())?;
        if FileId::of(&src_st) == FileId::of(&dst_st) {
            return Err(FsError::InvalidArguments(format!(
                "`{}` and `{}` are the same file",
                self.path(),
                dest.path()
            )));
        }
        if dst_st.st_size > 0 && !opts.force {
            return Err(FsError::DestinationNotEmpty {
                path: dest.path().to_string(),
            });
        }
        let mut from = std::fs::File::from(reopen::for_reading(self.fd(), self.path().as_str())?);
        let to_fd = reopen::for_writing(dest.fd(), false, dest.path().as_str())?;
        sys::retry(|| rustix::fs::ftruncate(&to_fd, 0))
            .map_err(|e| FsError::os("truncate", dest.path().as_str(), e))?;
        let mut to = std::fs::File::from(to_fd);
        std::io::copy(&mut from, &mut to).map_err(|e| {
            FsError::Internal(format!("copy `{}` to `{}`: {e}", self.path(), dest.path()))
        })?;
        if opts.preserve {
            sys::retry(|| {
                rustix::fs::fchmod(
                    &to,
                    rustix::fs::Mode::from_raw_mode(src_st.st_mode & 0o7777),
                )
            })
            .map_err(|e| FsError::os("chmod", dest.path().as_str(), e))?;
            let times = Timestamps {
                last_access: Timespec {
                    tv_sec: src_st.st_atime as _,
                    tv_nsec: src_st.st_atime_nsec as _,
                },
                last_modification: Timespec {
                    tv_sec: src_st.st_mtime as _,
                    tv_nsec: src_st.st_mtime_nsec as _,
                },
            };
            sys::retry(|| rustix::fs::futimens(&to, &times))
                .map_err(|e| FsError::os("set times of", dest.path().as_str(), e))?;
        }
        Ok(dest.clone())
    }
}
