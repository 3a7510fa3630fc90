//! Extracting a gzip-compressed tar archive into a directory handle, every entry
//! authorized and created relative to directory fds, never through a link.

use std::io::{BufReader, Read};
use std::sync::Arc;

use flate2::read::GzDecoder;
use rex_policy::action::fs::{CHMOD, CHOWN, CREATE, READ, WRITE};
use rex_policy::path::validate_name;
use rex_policy::{CanonicalPath, Gate};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use tar::EntryType as TarType;

use crate::authorize;
use crate::create;
use crate::dir::DirHandle;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::gzip::Bounded;
use crate::reopen;
use crate::sys;

/// The most entries one archive may have.
pub const MAX_ARCHIVE_ENTRIES: usize = 100_000;

/// Options of [`FileHandle::extract_archive`] (the original `ExtractArchiveOptions()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractArchiveOptions {
    /// Apply the archive's permission bits (setuid/setgid bits need `chmod` on the
    /// entry). Default true.
    pub preserve_permissions: bool,
    /// Apply the archive's owner and group (needs `chown` on each entry). Default false.
    pub preserve_ownership: bool,
    /// Apply the archive's modification times. Default true.
    pub preserve_timestamps: bool,
}

impl Default for ExtractArchiveOptions {
    fn default() -> Self {
        Self {
            preserve_permissions: true,
            preserve_ownership: false,
            preserve_timestamps: true,
        }
    }
}

fn bad(path: &str, reason: impl Into<String>) -> FsError {
    FsError::Format {
        path: path.to_owned(),
        format: "tar.gz",
        reason: reason.into(),
    }
}

/// The components of an entry path, refusing absolute paths, `..`, and anything that
/// is not a plain name.
fn components(archive: &str, name: &str) -> Result<Vec<String>, FsError> {
    if name.starts_with('/') {
        return Err(bad(archive, format!("entry `{name}` is absolute")));
    }
    let mut out = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad(archive, format!("entry `{name}` contains `..`"))),
            c => {
                validate_name(c).map_err(|e| bad(archive, format!("entry `{name}`: {e}")))?;
                out.push(c.to_owned());
            }
        }
    }
    Ok(out)
}

/// Whether a symlink at `entry` (components) with `target` stays inside the
/// destination, judged lexically (absolute targets never do).
fn link_stays_inside(entry: &[String], target: &str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return false;
    }
    let mut depth = entry.len().saturating_sub(1) as i64;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

struct Extract<'a> {
    gate: &'a Gate,
    opts: ExtractArchiveOptions,
    archive: String,
}

impl Extract<'_> {
    /// The directory holding `comps` (all but the last), created level by level after
    /// `create` on each new level; an existing level must be a real directory.
    fn parent(
        &self,
        top: &Arc<OwnedFd>,
        top_path: &CanonicalPath,
        comps: &[String],
    ) -> Result<(Arc<OwnedFd>, CanonicalPath), FsError> {
        let mut fd = Arc::clone(top);
        let mut path = top_path.clone();
        for name in comps.iter().take(comps.len().saturating_sub(1)) {
            let (next, next_path) = self.dir_level(&fd, &path, name)?;
            fd = next;
            path = next_path;
        }
        Ok((fd, path))
    }

    fn dir_level(
        &self,
        fd: &Arc<OwnedFd>,
        path: &CanonicalPath,
        name: &str,
    ) -> Result<(Arc<OwnedFd>, CanonicalPath), FsError> {
        let child = path.join(name)?;
        match sys::open_path_at(&**fd, name) {
            Ok(f) => {
                let t = sys::entry_type(&sys::fstat(&f, child.as_str())?);
                if t != EntryType::Dir {
                    return Err(bad(
                        &self.archive,
                        format!("`{child}` exists and is a {t}, not a directory"),
                    ));
                }
                Ok((Arc::new(f), child))
            }
            Err(Errno::NOENT) => {
                let permit = authorize::dir(self.gate, CREATE, &child)?;
                create::dir(&**fd, name, &child, &permit)?;
                let f = sys::retry(|| {
                    rustix::fs::openat(
                        &**fd,
                        name,
                        sys::PATH_FLAGS | OFlags::DIRECTORY,
                        Mode::empty(),
                    )
                })
                .map_err(|e| FsError::os("open directory", child.as_str(), e))?;
                Ok((Arc::new(f), child))
            }
            Err(e) => Err(FsError::os("open", child.as_str(), e)),
        }
    }

    /// Applies mode, owner and times from the header to `fd` (an fd of the created
    /// object, writable for files).
    fn finish(
        &self,
        fd: impl AsFd,
        path: &CanonicalPath,
        header: &tar::Header,
        is_dir: bool,
    ) -> Result<(), FsError> {
        if self.opts.preserve_ownership {
            let (uid, gid) = (header.uid().ok(), header.gid().ok());
            authorize::entry(self.gate, CHOWN, path, is_dir)?;
            let uid = uid.and_then(|u| u32::try_from(u).ok());
            let gid = gid.and_then(|g| u32::try_from(g).ok());
            sys::chown_fd(fd.as_fd(), uid, gid, path.as_str())?;
        }
        if self.opts.preserve_permissions {
            let mode = header
                .mode()
                .map_err(|e| bad(&self.archive, e.to_string()))?
                & 0o7777;
            if mode & 0o6000 != 0 {
                // setuid/setgid bits only when `chmod` on the entry is permitted.
                authorize::entry(self.gate, CHMOD, path, is_dir)?;
            }
            sys::chmod_fd(fd.as_fd(), mode, path.as_str())?;
        }
        if self.opts.preserve_timestamps
            && !is_dir
            && let Ok(mtime) = header.mtime()
        {
            let t = Timespec {
                tv_sec: i64::try_from(mtime).unwrap_or(0) as _,
                tv_nsec: 0,
            };
            let times = Timestamps {
                last_access: t,
                last_modification: t,
            };
            let w = reopen::for_writing(fd.as_fd(), false, path.as_str())?;
            sys::retry(|| rustix::fs::futimens(&w, &times))
                .map_err(|e| FsError::os("set times of", path.as_str(), e))?;
        }
        Ok(())
    }
}

impl FileHandle {
    /// Extracts this gzip-compressed tar archive into `dest` and returns the entries it
    /// skipped (devices, FIFOs, hard links; as `"<path> (<type>)"`).
    ///
    /// Checks: `read` on `File(archive)`; per directory created `create` on its `Dir`;
    /// per regular file `create` and `write` on its `File` (an existing file is refused);
    /// per symlink `create` on its `File`; `chmod` for setuid/setgid bits and `chown`
    /// with `preserve_ownership`. A refusal stops the extraction with an error (entries
    /// already extracted stay). Refused outright: absolute entry names, names with `..`,
    /// symlinks whose target is absolute or leaves the destination, and any path through
    /// an existing symlink (every level is opened `O_NOFOLLOW` relative to its parent's
    /// fd). At most [`MAX_ARCHIVE_ENTRIES`] entries and `budget` decompressed bytes.
    /// Linux only.
    pub fn extract_archive(
        &self,
        gate: &Gate,
        dest: &DirHandle,
        opts: &ExtractArchiveOptions,
        budget: u64,
    ) -> Result<Vec<String>, FsError> {
        self.need_read()?;
        let permit = authorize::file(gate, READ, self.path())?;
        authorize::ensure(&permit, READ, self.path())?;
        let archive = self.path().to_string();
        let f = std::fs::File::from(reopen::for_reading(self.fd(), self.path().as_str())?);
        let reader = Bounded::new(GzDecoder::new(BufReader::new(f)), budget);
        let mut tar = tar::Archive::new(reader);
        let x = Extract {
            gate,
            opts: *opts,
            archive: archive.clone(),
        };
        let top = dest.shared_fd();
        let mut skipped = Vec::new();
        let entries = tar.entries().map_err(|e| bad(&archive, e.to_string()))?;
        for (i, entry) in entries.enumerate() {
            if i >= MAX_ARCHIVE_ENTRIES {
                return Err(FsError::Budget {
                    path: archive,
                    limit: MAX_ARCHIVE_ENTRIES,
                    what: "archive entries",
                });
            }
            let mut entry = entry.map_err(|e| bad(&archive, e.to_string()))?;
            let raw = entry.path_bytes().into_owned();
            let name =
                String::from_utf8(raw).map_err(|_| bad(&archive, "an entry name is not UTF-8"))?;
            let comps = components(&archive, &name)?;
            let Some(last) = comps.last().cloned() else {
                continue;
            };
            let header = entry.header().clone();
            let kind = header.entry_type();
            let (pfd, ppath) = x.parent(&top, dest.path(), &comps)?;
            let path = ppath.join(&last)?;
            match kind {
                TarType::Directory => {
                    let (fd, p) = x.dir_level(&pfd, &ppath, &last)?;
                    x.finish(&*fd, &p, &header, true)?;
                }
                TarType::Regular | TarType::Continuous | TarType::GNUSparse => {
                    let create = authorize::file(gate, CREATE, &path)?;
                    let write = authorize::file(gate, WRITE, &path)?;
                    let fd = create::file_excl(&*pfd, &last, 0o600, &path, &create)?;
                    authorize::ensure(&write, WRITE, &path)?;
                    let mut out = std::fs::File::from(fd);
                    std::io::copy(&mut (&mut entry).take(u64::MAX), &mut out)
                        .map_err(|e| bad(&archive, e.to_string()))?;
                    let pfd_path = reopen::as_path(&out, path.as_str())?;
                    if !x.opts.preserve_permissions {
                        sys::chmod_fd(&pfd_path, crate::create::FILE_MODE, path.as_str())?;
                    }
                    x.finish(&pfd_path, &path, &header, false)?;
                }
                TarType::Symlink => {
                    let target = entry
                        .link_name()
                        .ok()
                        .flatten()
                        .and_then(|t| t.to_str().map(str::to_owned))
                        .ok_or_else(|| {
                            bad(&archive, format!("symlink `{name}` has no UTF-8 target"))
                        })?;
                    if !link_stays_inside(&comps, &target) {
                        return Err(bad(
                            &archive,
                            format!("symlink `{name}` -> `{target}` leaves the destination"),
                        ));
                    }
                    authorize::file(gate, CREATE, &path)?;
                    sys::retry(|| rustix::fs::symlinkat(target.as_str(), &*pfd, last.as_str()))
                        .map_err(|e| FsError::os("create symlink", path.as_str(), e))?;
                }
                other => skipped.push(format!("{path} ({other:?})")),
            }
        }
        Ok(skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_links_are_checked_lexically() {
        assert!(components("a", "/etc/passwd").is_err());
        assert!(components("a", "x/../../y").is_err());
        assert_eq!(components("a", "./x//y/").unwrap(), ["x", "y"]);
        let e = components("a", "d/l").unwrap();
        assert!(link_stays_inside(&e, "../f"));
        assert!(!link_stays_inside(&e, "../../f"));
        assert!(!link_stays_inside(&e, "/etc"));
    }
}
