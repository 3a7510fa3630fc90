//! System V IPC objects (`ipcs`), read from `/proc/sysvipc/{shm,msg,sem}`.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use rex_policy::action::fs;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags};
use serde::Serialize;

use crate::error::ProcessError;
use crate::procfs::read_fd;

/// Budget for one `/proc/sysvipc` table.
const TABLE_LIMIT: usize = 16 * 1024 * 1024;

/// One IPC object: column name (from the table header, e.g. `key`, `shmid`, `perms`,
/// `size`, `uid`) to value.
pub type IpcEntry = BTreeMap<String, String>;

/// The System V IPC objects of the host (its IPC namespace).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct IpcsInfo {
    /// Shared memory segments (`/proc/sysvipc/shm`).
    pub shared_memory: Vec<IpcEntry>,
    /// Message queues (`/proc/sysvipc/msg`).
    pub queues: Vec<IpcEntry>,
    /// Semaphore arrays (`/proc/sysvipc/sem`).
    pub semaphores: Vec<IpcEntry>,
}

/// Reads the three tables. Each file is authorized with `file_system::Action::"open"` and
/// `"read"` on its `File` resource, then opened and read through that one fd.
pub fn ipcs_info(gate: &Gate) -> Result<IpcsInfo, ProcessError> {
    Ok(IpcsInfo {
        shared_memory: table(gate, "/proc/sysvipc/shm")?,
        queues: table(gate, "/proc/sysvipc/msg")?,
        semaphores: table(gate, "/proc/sysvipc/sem")?,
    })
}

fn table(gate: &Gate, path: &str) -> Result<Vec<IpcEntry>, ProcessError> {
    let canonical = CanonicalPath::new(path).map_err(|e| ProcessError::Invalid(e.to_string()))?;
    let resource = Resource::file(&canonical);
    gate.check(fs::OPEN, &resource)?;
    gate.check(fs::READ, &resource)?;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| ProcessError::os("open", path, e))?;
    let raw = read_fd(fd.as_fd(), TABLE_LIMIT).map_err(|e| ProcessError::os("read", path, e))?;
    Ok(parse_table(&String::from_utf8_lossy(&raw)))
}

/// Parses a `/proc/sysvipc` table: a header line of column names, then one row per
/// object.
pub(crate) fn parse_table(text: &str) -> Vec<IpcEntry> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.split_whitespace().collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            columns
                .iter()
                .zip(l.split_whitespace())
                .map(|(c, v)| ((*c).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_rows() {
        let t = "       key      shmid perms       size  cpid  lpid\n         0          5   600    4096  10  11\n";
        let rows = parse_table(t);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["shmid"], "5");
        assert_eq!(rows[0]["size"], "4096");
        assert!(parse_table("").is_empty());
    }
}
