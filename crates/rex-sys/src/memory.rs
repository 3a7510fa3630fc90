//! Memory and swap (`free`), read from `/proc/meminfo` after `read` on that file is
//! authorized, through the fd opened right after the check.

use std::collections::HashMap;

use rex_policy::Gate;
use serde::Serialize;

use crate::checked::{PROC_FILE_LIMIT, read_checked};
use crate::error::SysError;
use crate::sysinfo::SystemInfo;

/// Memory in bytes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Meminfo {
    /// `MemTotal`.
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `MemAvailable`.
    pub available: u64,
    /// `total - available`, as `free` reports it.
    pub used: u64,
    /// `Buffers`.
    pub buffers: u64,
    /// `Cached` plus `SReclaimable`, as `free` reports it.
    pub cached: u64,
    /// `Shmem`.
    pub shared_mem: u64,
}

/// Swap in bytes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Swapinfo {
    /// `SwapTotal`.
    pub total: u64,
    /// `SwapFree`.
    pub free: u64,
    /// `total - free`.
    pub used: u64,
}

/// `/proc/meminfo` as key → bytes.
pub(crate) fn parse_meminfo(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let mut parts = v.split_whitespace();
            let n: u64 = parts.next()?.parse().ok()?;
            let factor = if parts.next() == Some("kB") { 1024 } else { 1 };
            Some((k.trim().to_owned(), n.saturating_mul(factor)))
        })
        .collect()
}

fn meminfo(gate: &Gate) -> Result<HashMap<String, u64>, SysError> {
    let text = read_checked(gate, "/proc/meminfo", PROC_FILE_LIMIT)?;
    let map = parse_meminfo(&text);
    if !map.contains_key("MemTotal") {
        return Err(SysError::Parse {
            what: "/proc/meminfo".into(),
            reason: "no `MemTotal`".into(),
        });
    }
    Ok(map)
}

impl SystemInfo {
    /// Memory use. Needs `file_system::Action::"read"` on `File::"/proc/meminfo"`.
    pub fn memory_info(&self, gate: &Gate) -> Result<Meminfo, SysError> {
        let m = meminfo(gate)?;
        let g = |k: &str| m.get(k).copied().unwrap_or(0);
        let total = g("MemTotal");
        let free = g("MemFree");
        let available = m.get("MemAvailable").copied().unwrap_or(free);
        Ok(Meminfo {
            total,
            free,
            available,
            used: total.saturating_sub(available),
            buffers: g("Buffers"),
            cached: g("Cached") + g("SReclaimable"),
            shared_mem: g("Shmem"),
        })
    }

    /// Swap use. Needs `read` on `File::"/proc/meminfo"`.
    pub fn swap_info(&self, gate: &Gate) -> Result<Swapinfo, SysError> {
        let m = meminfo(gate)?;
        let total = m.get("SwapTotal").copied().unwrap_or(0);
        let free = m.get("SwapFree").copied().unwrap_or(0);
        Ok(Swapinfo {
            total,
            free,
            used: total.saturating_sub(free),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kb_lines() {
        let m = parse_meminfo("MemTotal:       16384 kB\nHugePages_Total:       2\n");
        assert_eq!(m["MemTotal"], 16384 * 1024);
        assert_eq!(m["HugePages_Total"], 2);
    }
}
