//! The process's own `/proc/<pid>/fd` directory, opened once and checked.
//!
//! rex-fs re-opens and changes files through the magic links in it
//! (`/proc/self/fd/<n>` resolves to the very inode descriptor `n` holds). The handle is
//! opened before the kernel backstop is applied (Landlock then refuses to open the
//! directory) and kept for the process.
//!
//! `rustix-linux-procfs` checks the same things, but finds `/proc/self` by reading every
//! entry of `/proc` (one per process on the host): 0.13 ms with 65 processes here, and
//! milliseconds on a host with thousands. Here the checks are:
//!
//! - `/proc` is the root of a procfs mount (`fstatfs` magic, root inode 1);
//! - the pid is read from its `self` link (so a `/proc` of another pid namespace
//!   names this process the way that namespace numbers it);
//! - `<pid>/fd` is opened with `openat2` refusing symlinks and mount crossings
//!   (`RESOLVE_NO_XDEV`): nothing mounted over `/proc/<pid>` or its `fd` can stand in;
//! - the directory is on procfs and is this process's table: the magic link of the
//!   `/proc` descriptor held at that moment resolves, through it, to that `/proc`.
//!
//! Where `openat2` is missing (Linux before 5.6), `rustix-linux-procfs` opens it.

use std::sync::OnceLock;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// The handle, once opened (an error is not kept: the next call tries again).
static PROC_SELF_FD: OnceLock<OwnedFd> = OnceLock::new();

/// procfs's root inode number.
const PROC_ROOT_INO: u64 = 1;

/// This process's `/proc/<pid>/fd` directory, opened (and checked, see the module) at the
/// first call. Authorizes nothing: what is opened through it is the caller's business.
pub fn proc_self_fd() -> Result<BorrowedFd<'static>, Errno> {
    if let Some(fd) = PROC_SELF_FD.get() {
        return Ok(fd.as_fd());
    }
    let opened = match open_checked() {
        Err(Errno::NOSYS) => return rustix_linux_procfs::proc_self_fd(),
        other => other?,
    };
    // Two threads may race here; the first handle stays, the other is closed.
    Ok(PROC_SELF_FD.get_or_init(|| opened).as_fd())
}

fn open_checked() -> Result<OwnedFd, Errno> {
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let proc = rustix::fs::openat(CWD, "/proc", dir, Mode::empty())?;
    is_procfs(&proc)?;
    let held = rustix::fs::fstat(&proc)?;
    if held.st_ino != PROC_ROOT_INO {
        return Err(Errno::NOTSUP);
    }
    let pid = rustix::fs::readlinkat(&proc, "self", Vec::new())?;
    let pid = pid.to_str().map_err(|_| Errno::NOTSUP)?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Errno::NOTSUP);
    }
    let fds = rustix::fs::openat2(
        &proc,
        format!("{pid}/fd"),
        dir,
        Mode::empty(),
        ResolveFlags::NO_XDEV | ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH,
    )?;
    is_procfs(&fds)?;
    // Our own table: the entry of the descriptor `proc` leads back to `proc`.
    let through = rustix::fs::statat(
        &fds,
        rustix::path::DecInt::from_fd(proc.as_fd()).as_c_str(),
        AtFlags::empty(),
    )?;
    if (through.st_dev, through.st_ino) != (held.st_dev, held.st_ino) {
        return Err(Errno::NOTSUP);
    }
    Ok(fds)
}

fn is_procfs(fd: &OwnedFd) -> Result<(), Errno> {
    if rustix::fs::fstatfs(fd)?.f_type == rustix::fs::PROC_SUPER_MAGIC {
        Ok(())
    } else {
        Err(Errno::NOTSUP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handle is this process's table: a file opened here is found through it.
    #[test]
    fn the_handle_is_this_process_fd_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let fds = proc_self_fd().unwrap();
        let name = rustix::path::DecInt::from_fd(file.as_fd());
        let through = rustix::fs::statat(fds, name.as_c_str(), AtFlags::empty()).unwrap();
        let direct = rustix::fs::fstat(&file).unwrap();
        assert_eq!(
            (through.st_dev, through.st_ino),
            (direct.st_dev, direct.st_ino)
        );
        // Opened once: the same descriptor every time.
        assert_eq!(
            rustix::fd::AsRawFd::as_raw_fd(&proc_self_fd().unwrap()),
            rustix::fd::AsRawFd::as_raw_fd(&fds)
        );
    }

    /// The checks pass on the real `/proc` and name the same directory as
    /// `/proc/self/fd`.
    #[test]
    fn the_checked_open_is_proc_self_fd() {
        let ours = open_checked().unwrap();
        let a = rustix::fs::fstat(&ours).unwrap();
        let b = rustix::fs::stat("/proc/self/fd").unwrap();
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
    }

    /// Attack: a directory bind-mounted over `/proc/<pid>/fd` (in a mount namespace of
    /// its own, by `unshare`, as root) would make every re-open land elsewhere: in the
    /// attacker's files (a plain directory), or in another process's descriptors (its
    /// `/proc/1/fd`, which is procfs too). The child below sees the mount and the checked
    /// open refuses it. Skipped when not root or without `unshare`.
    #[test]
    fn a_directory_mounted_over_the_fd_directory_is_refused() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("not root: cannot mount");
            return;
        }
        let fake = tempfile::tempdir().unwrap();
        std::fs::write(fake.path().join("marker"), b"").unwrap();
        let exe = std::env::current_exe().unwrap();
        let script = r#"mount --bind "$1" /proc/$$/fd && exec "$2" --exact proc_fd::tests::mounted_over_child --nocapture --test-threads 1"#;
        for (source, kind) in [
            (fake.path(), "plain"),
            (std::path::Path::new("/proc/1/fd"), "procfs"),
        ] {
            let out = match std::process::Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
                .arg(source)
                .arg(&exe)
                .env("REX_PROC_FD_CHILD", kind)
                .output()
            {
                Ok(out) => out,
                Err(e) => {
                    eprintln!("no unshare: {e}");
                    return;
                }
            };
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{kind}: {text}");
            assert!(text.contains("refused with"), "{kind}: {text}");
        }
    }

    /// The child of the test above (does nothing unless started by it).
    #[test]
    fn mounted_over_child() {
        let Some(kind) = std::env::var_os("REX_PROC_FD_CHILD") else {
            return;
        };
        let listed: Vec<_> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if kind == "plain" {
            assert_eq!(listed, ["marker"], "the mount is not in place");
        } else {
            let seen = rustix::fs::stat("/proc/self/fd").unwrap();
            let other = rustix::fs::stat("/proc/1/fd").unwrap();
            assert_eq!(
                (seen.st_dev, seen.st_ino),
                (other.st_dev, other.st_ino),
                "the mount is not in place"
            );
        }
        let err = open_checked().unwrap_err();
        println!("refused with {err:?}");
    }
}
