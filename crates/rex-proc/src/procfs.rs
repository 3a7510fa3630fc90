//! Reading `/proc/<pid>/*` through a directory fd, so everything read about a process
//! comes from the one `/proc/<pid>` directory that was opened (and, for signals, pinned to
//! a pidfd). Reads have byte budgets.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, openat};
use rustix::io::Errno;

/// Budget for one small `/proc` file (`stat`, `status`, `cmdline`, `fdinfo/N`).
pub(crate) const SMALL_FILE_LIMIT: usize = 256 * 1024;

/// Opens `path` (absolute) as a directory, not following a final symlink, close-on-exec.
pub(crate) fn open_dir(path: &str) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
}

/// Opens `name` below `dir` as a directory.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, Errno> {
    openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
}

/// Reads a whole file from an fd, up to `limit` bytes (more is an `EFBIG` error).
pub(crate) fn read_fd(fd: BorrowedFd<'_>, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match rustix::io::read(fd, &mut buf) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limit {
            return Err(Errno::FBIG);
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

/// Reads `name` below `dir` (no symlink following), up to `limit` bytes.
pub(crate) fn read_at(dir: BorrowedFd<'_>, name: &str, limit: usize) -> Result<Vec<u8>, Errno> {
    let fd = openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )?;
    read_fd(fd.as_fd(), limit)
}

/// The fields of `/proc/<pid>/stat` rex uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i64,
    pub utime: u64,
    pub stime: u64,
    pub num_threads: i64,
    pub start_time: u64,
    pub rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name is between the first `(` and the last `)`
/// (it may itself contain spaces and parentheses).
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let field = |i: usize| rest.get(i).copied();
    let num = |i: usize| field(i).and_then(|s| s.parse::<u64>().ok());
    Some(Stat {
        comm,
        state: field(0)?.chars().next()?,
        ppid: field(1)?.parse().ok()?,
        utime: num(11)?,
        stime: num(12)?,
        num_threads: field(17)?.parse().ok()?,
        start_time: num(19)?,
        rss_pages: num(21)?,
    })
}

/// The effective uid from `/proc/<pid>/status` (`Uid:` real, effective, saved, fs).
pub(crate) fn parse_effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
}

/// `cmdline` (NUL-separated) joined with spaces.
pub(crate) fn join_cmdline(raw: &[u8]) -> String {
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name of a uid from the user database, or the number as text.
pub(crate) fn user_name(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| uid.to_string())
}

/// Whether a directory entry name is a pid.
pub(crate) fn as_pid(name: &[u8]) -> Option<i32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// The pids in an open `/proc` (or `/proc/<pid>/task`) directory, ascending.
pub(crate) fn list_pids(dir: BorrowedFd<'_>, limit: usize) -> Result<Vec<i32>, Errno> {
    let mut d = rustix::fs::Dir::read_from(dir)?;
    let mut pids = Vec::new();
    while let Some(entry) = d.read() {
        let entry = entry?;
        if let Some(pid) = as_pid(entry.file_name().to_bytes()) {
            pids.push(pid);
            if pids.len() > limit {
                return Err(Errno::FBIG);
            }
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let s = parse_stat(
            "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 2 0 1234 1000 55 18446744073709551615",
        )
        .unwrap();
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!((s.utime, s.stime), (7, 3));
        assert_eq!(s.num_threads, 2);
        assert_eq!(s.start_time, 1234);
        assert_eq!(s.rss_pages, 55);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn status_uid_and_cmdline() {
        assert_eq!(parse_effective_uid("Name:\tx\nUid:\t1\t2\t3\t4\n"), Some(2));
        assert_eq!(join_cmdline(b"sleep\x0030\x00"), "sleep 30");
        assert_eq!(as_pid(b"123"), Some(123));
        assert_eq!(as_pid(b"self"), None);
    }
}
