//! Reading a kernel file under a check: authorize the exact `File` resource, then open
//! that path (close-on-exec) and read through that one fd, within a byte budget.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rex_policy::action::fs;
use rex_policy::{Action, CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::SysError;

/// Default budget of one `/proc` or `/sys` file.
pub const PROC_FILE_LIMIT: usize = 16 * 1024 * 1024;

/// Cedar type of the host's system-information singleton.
pub const SYSINFO_TYPE: &str = "sysinfo::Sysinfo";
/// The one id of the singletons `sysinfo::Sysinfo` and `sysctl::Sysctl`: this host.
pub const HOST_ID: &str = "localhost";

/// `sysinfo::Sysinfo::"localhost"`.
pub fn sysinfo_resource() -> Resource {
    Resource::new(SYSINFO_TYPE, HOST_ID)
}

/// Authorizes each of `actions` on `File::"<path>"` and opens the path read-only.
/// `follow` allows a final symlink: only for kernel-owned links such as `/proc/mounts`
/// whose original Cedar id is kept.
pub(crate) fn open_checked(
    gate: &Gate,
    path: &str,
    actions: &[Action],
    follow: bool,
) -> Result<OwnedFd, SysError> {
    let canonical = CanonicalPath::new(path)?;
    let resource = Resource::file(&canonical);
    for a in actions {
        gate.check(*a, &resource)?;
    }
    let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    rustix::fs::open(path, flags, Mode::empty()).map_err(|e| SysError::os("open", path, e))
}

/// Authorizes `read` on `File::"<path>"`, then reads it through the fd opened after the
/// check.
pub(crate) fn read_checked(gate: &Gate, path: &str, limit: usize) -> Result<String, SysError> {
    let fd = open_checked(gate, path, &[fs::READ], false)?;
    read_all(fd.as_fd(), path, limit)
}

/// Reads a whole fd as (lossy) UTF-8 within `limit` bytes.
pub(crate) fn read_all(fd: BorrowedFd<'_>, path: &str, limit: usize) -> Result<String, SysError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match rustix::io::read(fd, &mut buf) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(SysError::os("read", path, e)),
        };
        if n == 0 {
            break;
        }
        if out.len() + n > limit {
            return Err(SysError::TooLarge {
                path: path.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Seconds since boot (`CLOCK_BOOTTIME`).
pub(crate) fn uptime() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}
