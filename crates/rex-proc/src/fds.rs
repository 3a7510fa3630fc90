//! Open files of processes: `fuser` ([`ProcessManager::processes_using_inode`]) and
//! `lsof` ([`ProcessManager::list_open_files`]). Both authorize `open`+`read` on
//! `Dir::"/proc"` once and `process_system::Action::"list_fds"` on every process whose
//! files they look at; processes denied are skipped.

use std::os::fd::AsFd;

use rex_policy::action::{fs, process};
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{AtFlags, FileType, statat};
use serde::Serialize;

use crate::error::ProcessError;
use crate::handle::ProcessSnapshot;
use crate::manager::{MAX_PROCESSES, ProcessManager, open_proc};
use crate::procfs::{SMALL_FILE_LIMIT, list_pids, open_dir_at, read_at};

/// Most fds looked at per process.
const MAX_FDS: usize = 65_536;

/// A process using a file (`fuser`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FuserInfo {
    /// Effective user's name.
    pub user: String,
    /// Process name.
    pub command: String,
    /// Pid.
    pub pid: i64,
    /// How it uses the file, `fuser` letters: `c` cwd, `r` root, `e` executable, `f` open
    /// file, `m` mapped.
    pub access: String,
}

/// Options of `lsof`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LsofOptions {
    /// Only files at this path (or below it with `include_subdir`).
    pub path: Option<String>,
    /// With `path`: also files below it.
    pub include_subdir: bool,
    /// Only this process.
    pub pid: Option<i64>,
}

/// One open file of one process (`lsof`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OpenFileInfo {
    /// Process name.
    pub process_name: String,
    /// Effective user's name.
    pub user: String,
    /// Command line.
    pub command: String,
    /// What the fd refers to (`/var/log/syslog`, `socket:[1234]`, `pipe:[42]`).
    pub file_path: String,
    /// Pid.
    pub pid: i64,
    /// `REG`, `DIR`, `CHR`, `BLK`, `FIFO`, `SOCK`, `LNK` or `unknown`.
    pub file_type: String,
    /// `r`, `w` or `u` (read and write).
    pub access: String,
    /// The fd number (rex addition).
    pub fd: i64,
}

fn authorize_proc(gate: &Gate) -> Result<(), ProcessError> {
    let proc_path =
        CanonicalPath::new("/proc").map_err(|e| ProcessError::Invalid(e.to_string()))?;
    gate.check(fs::OPEN, &Resource::dir(&proc_path))?;
    gate.check(fs::READ, &Resource::dir(&proc_path))?;
    Ok(())
}

/// The snapshots of the processes whose fds the policy lets the principal see.
fn visible(gate: &Gate, only: Option<i64>) -> Result<Vec<ProcessSnapshot>, ProcessError> {
    authorize_proc(gate)?;
    let proc_dir = open_proc()?;
    let pids = match only {
        Some(pid) => vec![i32::try_from(pid).map_err(|_| ProcessError::NotFound(pid))?],
        None => list_pids(proc_dir.as_fd(), MAX_PROCESSES)
            .map_err(|e| ProcessError::os("list", "/proc", e))?,
    };
    let mut out = Vec::new();
    for pid in pids {
        let snap = match ProcessSnapshot::read(proc_dir.as_fd(), &pid.to_string(), pid) {
            Ok(s) => s,
            Err(e) if only.is_some() => return Err(e),
            Err(_) => continue,
        };
        match gate.check(process::LIST_FDS, &snap.resource()) {
            Ok(_) => out.push(snap),
            Err(d) if only.is_some() => return Err(d.into()),
            Err(_) => {}
        }
    }
    Ok(out)
}

fn file_type_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "REG",
        FileType::Directory => "DIR",
        FileType::CharacterDevice => "CHR",
        FileType::BlockDevice => "BLK",
        FileType::Fifo => "FIFO",
        FileType::Socket => "SOCK",
        FileType::Symlink => "LNK",
        _ => "unknown",
    }
}

/// The fd numbers of a process (names in its `fd` directory).
fn fd_names(snap: &ProcessSnapshot) -> Vec<String> {
    let Ok(fd_dir) = open_dir_at(snap.dir(), "fd") else {
        return Vec::new();
    };
    let Ok(mut dir) = rustix::fs::Dir::read_from(fd_dir.as_fd()) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Some(Ok(entry)) = dir.read() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() {
            names.push(name);
        }
        if names.len() >= MAX_FDS {
            break;
        }
    }
    names
}

impl ProcessManager {
    /// `fuser`: the processes that use the file at `path` (as cwd, root, executable,
    /// open file or mapping). Checks `open`+`read` on `Dir::"/proc"` and `list_fds` per
    /// process (denied processes are skipped). As in the original, `path` itself is not
    /// authorized: only its device and inode number are compared.
    pub fn processes_using_inode(
        &self,
        gate: &Gate,
        path: &str,
    ) -> Result<Vec<FuserInfo>, ProcessError> {
        let target = rustix::fs::stat(path).map_err(|e| ProcessError::os("stat", path, e))?;
        let want = (target.st_dev, target.st_ino);
        let mut out = Vec::new();
        for snap in visible(gate, None)? {
            let same = |dir: std::os::fd::BorrowedFd<'_>, name: &str| {
                statat(dir, name, AtFlags::empty())
                    .map(|s| (s.st_dev, s.st_ino) == want)
                    .unwrap_or(false)
            };
            let mut access = String::new();
            if same(snap.dir(), "cwd") {
                access.push('c');
            }
            if same(snap.dir(), "root") {
                access.push('r');
            }
            if same(snap.dir(), "exe") {
                access.push('e');
            }
            if let Ok(fd_dir) = open_dir_at(snap.dir(), "fd") {
                let names = fd_names(&snap);
                if names.iter().any(|n| same(fd_dir.as_fd(), n)) {
                    access.push('f');
                }
            }
            if mapped(&snap, want) {
                access.push('m');
            }
            if !access.is_empty() {
                out.push(FuserInfo {
                    user: snap.username().to_owned(),
                    command: snap.name().to_owned(),
                    pid: snap.pid(),
                    access,
                });
            }
        }
        Ok(out)
    }

    /// `lsof`: open files of the processes the policy lets the principal inspect
    /// (`list_fds`; with `pid`, a denial is an error, otherwise denied processes are
    /// skipped). Checks `open`+`read` on `Dir::"/proc"` first.
    pub fn list_open_files(
        &self,
        gate: &Gate,
        options: &LsofOptions,
    ) -> Result<Vec<OpenFileInfo>, ProcessError> {
        let prefix = options.path.as_deref().map(|p| {
            if p.len() > 1 {
                p.trim_end_matches('/')
            } else {
                p
            }
        });
        let mut out = Vec::new();
        for snap in visible(gate, options.pid)? {
            let Ok(fd_dir) = open_dir_at(snap.dir(), "fd") else {
                continue;
            };
            let fdinfo = open_dir_at(snap.dir(), "fdinfo").ok();
            for name in fd_names(&snap) {
                let Ok(target) = rustix::fs::readlinkat(fd_dir.as_fd(), name.as_str(), Vec::new())
                else {
                    continue;
                };
                let file_path = target.to_string_lossy().into_owned();
                if let Some(p) = prefix {
                    let under = options.include_subdir
                        && (p == "/" || file_path.starts_with(&format!("{p}/")));
                    if file_path != p && !under {
                        continue;
                    }
                }
                let file_type = statat(fd_dir.as_fd(), name.as_str(), AtFlags::empty())
                    .map(|s| file_type_name(FileType::from_raw_mode(s.st_mode)))
                    .unwrap_or("unknown");
                let access = fdinfo
                    .as_ref()
                    .and_then(|d| read_at(d.as_fd(), &name, SMALL_FILE_LIMIT).ok())
                    .and_then(|raw| access_of(&String::from_utf8_lossy(&raw)))
                    .unwrap_or("u");
                out.push(OpenFileInfo {
                    process_name: snap.name().to_owned(),
                    user: snap.username().to_owned(),
                    command: snap.command().to_owned(),
                    file_path,
                    pid: snap.pid(),
                    file_type: file_type.to_owned(),
                    access: access.to_owned(),
                    fd: name.parse().unwrap_or(-1),
                });
            }
        }
        Ok(out)
    }
}

/// Whether `/proc/<pid>/maps` maps the file `(dev, ino)`.
fn mapped(snap: &ProcessSnapshot, want: (u64, u64)) -> bool {
    let Ok(raw) = read_at(snap.dir(), "maps", 16 * 1024 * 1024) else {
        return false;
    };
    String::from_utf8_lossy(&raw).lines().any(|line| {
        let mut f = line.split_whitespace();
        let (Some(_), Some(_), Some(_), Some(dev), Some(ino)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return false;
        };
        let Some((maj, min)) = dev.split_once(':') else {
            return false;
        };
        let (Ok(maj), Ok(min), Ok(ino)) = (
            u32::from_str_radix(maj, 16),
            u32::from_str_radix(min, 16),
            ino.parse::<u64>(),
        ) else {
            return false;
        };
        ino != 0 && ino == want.1 && rustix::fs::makedev(maj, min) == want.0
    })
}

/// `r`/`w`/`u` from the octal `flags:` of an fdinfo file.
fn access_of(fdinfo: &str) -> Option<&'static str> {
    let flags = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())?;
    Some(match flags & 3 {
        0 => "r",
        1 => "w",
        _ => "u",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_access() {
        assert_eq!(access_of("pos:\t0\nflags:\t0100002\n"), Some("u"));
        assert_eq!(access_of("flags:\t02000000\n"), Some("r"));
        assert_eq!(access_of("flags:\t01\n"), Some("w"));
        assert_eq!(access_of("pos: 0"), None);
    }
}
