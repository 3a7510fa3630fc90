//! Ownership and permission bits: `get_ownership`, `chmod`, `set_ownership` on files,
//! directories (optionally recursive) and symlinks, and `get_last_modified_time`.
//! Every change is made through the fd of the object authorized, never by name.

use std::sync::Arc;

use rex_policy::action::fs::{CHMOD, CHOWN, OPEN, READ, STAT};
use rex_policy::{CanonicalPath, Gate};
use rustix::fd::{AsFd, OwnedFd};

use crate::authorize;
use crate::dir::DirHandle;
use crate::entry_type::EntryType;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::sys;
use crate::walk::{self, Entry, Visitor, WalkOptions};

/// Owner and group of an object, by name (the id as text when it has no name).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ownership {
    /// Owner user name.
    pub user: String,
    /// Owner group name.
    pub group: String,
}

impl Ownership {
    pub(crate) fn of(uid: u32, gid: u32) -> Self {
        Self {
            user: uzers::get_user_by_uid(uid).map_or_else(
                || uid.to_string(),
                |u| u.name().to_string_lossy().into_owned(),
            ),
            group: uzers::get_group_by_gid(gid).map_or_else(
                || gid.to_string(),
                |g| g.name().to_string_lossy().into_owned(),
            ),
        }
    }
}

/// Options of `set_ownership` (the original `SetOwnershipOptions()` builder). At least
/// one of `user` and `group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetOwnershipOptions {
    /// New owner: a user name or a numeric uid.
    pub user: Option<String>,
    /// New group: a group name or a numeric gid.
    pub group: Option<String>,
    /// Directories: every entry below too (each authorized).
    pub recursive: bool,
    /// Recursive: skip entries whose check is refused (and report them) instead of
    /// failing. rex addition.
    pub skip_denied: bool,
}

/// Options of a directory's `chmod` (the original `ChmodDirOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChmodDirOptions {
    /// The mode (at most `0o7777`; setuid/setgid/sticky included).
    pub permissions: u32,
    /// Every entry below too (each authorized; symlinks are left alone).
    pub recursive: bool,
    /// Recursive: skip entries whose check is refused (and report them). rex addition.
    pub skip_denied: bool,
}

/// Resolves a user name or numeric id.
pub(crate) fn resolve_user(name: &str) -> Result<u32, FsError> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    uzers::get_user_by_name(name)
        .map(|u| u.uid())
        .ok_or_else(|| FsError::Identity {
            what: "user",
            name: name.to_owned(),
        })
}

/// Resolves a group name or numeric id.
pub(crate) fn resolve_group(name: &str) -> Result<u32, FsError> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    uzers::get_group_by_name(name)
        .map(|g| g.gid())
        .ok_or_else(|| FsError::Identity {
            what: "group",
            name: name.to_owned(),
        })
}

fn ids(opts: &SetOwnershipOptions) -> Result<(Option<u32>, Option<u32>), FsError> {
    if opts.user.is_none() && opts.group.is_none() {
        return Err(FsError::InvalidArguments(
            "set_ownership: set user or group".to_owned(),
        ));
    }
    Ok((
        opts.user.as_deref().map(resolve_user).transpose()?,
        opts.group.as_deref().map(resolve_group).transpose()?,
    ))
}

fn check_mode(mode: u32, max: u32) -> Result<(), FsError> {
    if mode > max {
        return Err(FsError::InvalidMode {
            mode,
            reason: if max == 0o777 {
                "must be at most 0o777"
            } else {
                "must be at most 0o7777"
            },
        });
    }
    Ok(())
}

impl FileHandle {
    /// Owner and group names (`stat` on `File(path)`).
    pub fn get_ownership(&self, gate: &Gate) -> Result<Ownership, FsError> {
        authorize::file(gate, STAT, self.path())?;
        let st = sys::fstat(self.fd(), self.path().as_str())?;
        Ok(Ownership::of(st.st_uid, st.st_gid))
    }

    /// Last modification time, seconds since the epoch (`stat` on `File(path)`).
    pub fn get_last_modified_time(&self, gate: &Gate) -> Result<i64, FsError> {
        authorize::file(gate, STAT, self.path())?;
        let st = sys::fstat(self.fd(), self.path().as_str())?;
        Ok(sys::to_i64(st.st_mtime))
    }

    /// Sets the permission bits (at most `0o777`, as in the original): `chmod` on
    /// `File(path)`, applied to the inode the handle holds.
    pub fn chmod(&self, gate: &Gate, mode: u32) -> Result<(), FsError> {
        check_mode(mode, 0o777)?;
        let permit = authorize::file(gate, CHMOD, self.path())?;
        authorize::ensure(&permit, CHMOD, self.path())?;
        sys::chmod_fd(self.fd(), mode, self.path().as_str())
    }

    /// Changes owner and/or group (`chown` on `File(path)`), on the inode the handle
    /// holds. Changing the owner needs the privilege the kernel asks for.
    pub fn set_ownership(&self, gate: &Gate, opts: &SetOwnershipOptions) -> Result<(), FsError> {
        let (uid, gid) = ids(opts)?;
        let permit = authorize::file(gate, CHOWN, self.path())?;
        authorize::ensure(&permit, CHOWN, self.path())?;
        sys::chown_fd(self.fd(), uid, gid, self.path().as_str())
    }
}

/// What a recursive change does to each object.
#[derive(Clone, Copy)]
enum Change {
    Mode(u32),
    Owner(Option<u32>, Option<u32>),
}

/// Authorizes (and in the second pass applies) a change on every entry below a
/// directory. Directories need `open` and `read` to be walked and the change's action;
/// other entries the change's action (`File`); `chmod` leaves symlinks alone, `chown`
/// changes the links themselves.
struct Recursive<'g> {
    gate: &'g Gate,
    change: Change,
    apply: bool,
    skip_denied: bool,
    skipped: Vec<String>,
}

impl Recursive<'_> {
    fn action(&self) -> rex_policy::Action {
        match self.change {
            Change::Mode(_) => CHMOD,
            Change::Owner(..) => CHOWN,
        }
    }

    fn denied(&mut self, path: &CanonicalPath, r: Result<(), FsError>) -> Result<bool, FsError> {
        match r {
            Ok(()) => Ok(true),
            Err(FsError::Denied(_)) if self.skip_denied => {
                if !self.skipped.iter().any(|p| p == path.as_str()) {
                    self.skipped.push(path.to_string());
                }
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn act(&self, fd: impl AsFd, path: &CanonicalPath) -> Result<(), FsError> {
        if !self.apply {
            return Ok(());
        }
        match self.change {
            Change::Mode(m) => sys::chmod_fd(fd, m, path.as_str()),
            Change::Owner(u, g) => sys::chown_fd(fd, u, g, path.as_str()),
        }
    }
}

impl Visitor for Recursive<'_> {
    fn list(&mut self, path: &CanonicalPath, depth: usize) -> Result<bool, FsError> {
        if depth == 0 {
            return Ok(true);
        }
        let r = authorize::dir(self.gate, READ, path).map(|_| ());
        self.denied(path, r)
    }

    fn entry(&mut self, e: &Entry<'_>) -> Result<bool, FsError> {
        let t = e.entry_type();
        if t == EntryType::Symlink && matches!(self.change, Change::Mode(_)) {
            return Ok(false);
        }
        let action = self.action();
        let r = authorize::entry(self.gate, action, e.path, t == EntryType::Dir).map(|_| ());
        let allowed = self.denied(e.path, r)?;
        if allowed {
            self.act(e.fd, e.path)?;
        }
        if t == EntryType::Dir {
            let r = authorize::dir(self.gate, OPEN, e.path).map(|_| ());
            return self.denied(e.path, r);
        }
        Ok(false)
    }
}

fn recursive(
    gate: &Gate,
    top: &DirHandle,
    change: Change,
    skip_denied: bool,
) -> Result<Vec<String>, FsError> {
    let mut skipped = Vec::new();
    for apply in [false, true] {
        let mut v = Recursive {
            gate,
            change,
            apply,
            skip_denied,
            skipped: Vec::new(),
        };
        walk::walk(top.shared_fd(), top.path(), WalkOptions::default(), &mut v)?;
        skipped = v.skipped;
    }
    Ok(skipped)
}

impl DirHandle {
    /// Owner and group names (`stat` on `Dir(path)`).
    pub fn get_ownership(&self, gate: &Gate) -> Result<Ownership, FsError> {
        authorize::dir(gate, STAT, self.path())?;
        let st = sys::fstat(self.fd(), self.path().as_str())?;
        Ok(Ownership::of(st.st_uid, st.st_gid))
    }

    /// Sets the directory's mode (`chmod` on `Dir(path)`). With `recursive`, every
    /// entry below is authorized first (`read` on each directory listed, `chmod` on each
    /// entry, `open` on each directory descended; symlinks are skipped): one refusal and
    /// nothing is changed, unless `skip_denied`, which leaves the refused entries alone
    /// and returns their paths. Then the walk runs again, checking and changing each
    /// entry through its own fd.
    pub fn chmod(&self, gate: &Gate, opts: &ChmodDirOptions) -> Result<Vec<String>, FsError> {
        check_mode(opts.permissions, 0o7777)?;
        let permit = authorize::dir(gate, CHMOD, self.path())?;
        let skipped = if opts.recursive {
            recursive(gate, self, Change::Mode(opts.permissions), opts.skip_denied)?
        } else {
            Vec::new()
        };
        authorize::ensure(&permit, CHMOD, self.path())?;
        sys::chmod_fd(self.fd(), opts.permissions, self.path().as_str())?;
        Ok(skipped)
    }

    /// Changes the directory's owner/group (`chown` on `Dir(path)`); `recursive` as
    /// [`DirHandle::chmod`], with `chown` on every entry (symlinks themselves changed,
    /// never followed).
    pub fn set_ownership(
        &self,
        gate: &Gate,
        opts: &SetOwnershipOptions,
    ) -> Result<Vec<String>, FsError> {
        let (uid, gid) = ids(opts)?;
        let permit = authorize::dir(gate, CHOWN, self.path())?;
        let skipped = if opts.recursive {
            recursive(gate, self, Change::Owner(uid, gid), opts.skip_denied)?
        } else {
            Vec::new()
        };
        authorize::ensure(&permit, CHOWN, self.path())?;
        sys::chown_fd(self.fd(), uid, gid, self.path().as_str())?;
        Ok(skipped)
    }
}

/// A symbolic link itself (not its target), opened `O_PATH|O_NOFOLLOW` by
/// [`DirHandle::open_symlink`] after `open` on `File(link path)`.
#[derive(Debug, Clone)]
pub struct SymlinkHandle {
    fd: Arc<OwnedFd>,
    path: CanonicalPath,
}

impl SymlinkHandle {
    pub(crate) fn new(fd: OwnedFd, path: CanonicalPath) -> Self {
        Self {
            fd: Arc::new(fd),
            path,
        }
    }

    /// The link's canonical path.
    pub fn path(&self) -> &CanonicalPath {
        &self.path
    }

    /// The link's own metadata, target text included (`stat` on `File(link path)`).
    pub fn metadata(&self, gate: &Gate) -> Result<crate::Metadata, FsError> {
        authorize::file(gate, STAT, &self.path)?;
        let st = sys::fstat(&*self.fd, self.path.as_str())?;
        let target = crate::resolve::read_link(&*self.fd, self.path.as_str()).ok();
        Ok(crate::Metadata::from_stat(&st, target))
    }

    /// Changes the link's own owner/group (`chown` on `File(link path)`), never the
    /// target's.
    pub fn set_ownership(&self, gate: &Gate, opts: &SetOwnershipOptions) -> Result<(), FsError> {
        let (uid, gid) = ids(opts)?;
        let permit = authorize::file(gate, CHOWN, &self.path)?;
        authorize::ensure(&permit, CHOWN, &self.path)?;
        let st = sys::fstat(&*self.fd, self.path.as_str())?;
        if sys::entry_type(&st) != EntryType::Symlink {
            return Err(FsError::mismatch(
                self.path.as_str(),
                EntryType::Symlink,
                sys::entry_type(&st),
            ));
        }
        sys::chown_fd(&*self.fd, uid, gid, self.path.as_str())
    }
}
