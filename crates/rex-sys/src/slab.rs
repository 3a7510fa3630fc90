//! Kernel slab caches (`/proc/slabinfo`, readable by root only).

use rex_policy::action::fs;
use rex_policy::{CanonicalPath, Gate, Resource};
use serde::Serialize;

use crate::checked::{PROC_FILE_LIMIT, open_checked, read_all};
use crate::error::SysError;
use crate::sysinfo::SystemInfo;
use std::os::fd::AsFd;

/// One slab cache.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Slab {
    pub name: String,
    pub active_objs: u64,
    pub num_objs: u64,
    pub objsize: u64,
    pub objperslab: u64,
    pub pagesperslab: u64,
    pub active_slabs: u64,
    pub num_slabs: u64,
}

/// Totals over every cache (as `slabtop` prints them).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct SlabSummary {
    pub active_objs: u64,
    pub total_objs: u64,
    pub active_slabs: u64,
    pub total_slabs: u64,
    pub active_size: u64,
    pub total_size: u64,
}

/// `/proc/slabinfo`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct SlabInfo {
    /// Every cache.
    pub slabs: Vec<Slab>,
    /// Totals.
    pub summary: SlabSummary,
}

/// Parses `/proc/slabinfo` (version 2.1).
pub(crate) fn parse_slabinfo(text: &str) -> SlabInfo {
    let mut info = SlabInfo::default();
    for line in text
        .lines()
        .filter(|l| !l.starts_with("slabinfo") && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let Some(name) = f.first() else { continue };
        // name active num objsize objperslab pagesperslab : tunables l b s : slabdata active num shared
        let slab = Slab {
            name: (*name).to_owned(),
            active_objs: n(1),
            num_objs: n(2),
            objsize: n(3),
            objperslab: n(4),
            pagesperslab: n(5),
            active_slabs: n(13),
            num_slabs: n(14),
        };
        let s = &mut info.summary;
        s.active_objs += slab.active_objs;
        s.total_objs += slab.num_objs;
        s.active_slabs += slab.active_slabs;
        s.total_slabs += slab.num_slabs;
        s.active_size += slab.active_objs * slab.objsize;
        s.total_size += slab.num_objs * slab.objsize;
        info.slabs.push(slab);
    }
    info
}

impl SystemInfo {
    /// Slab caches. Needs `open` on `Dir::"/proc"`, then `open` and `read` on
    /// `File::"/proc/slabinfo"` (and root, which the kernel demands).
    pub fn slab_info(&self, gate: &Gate) -> Result<SlabInfo, SysError> {
        gate.check(fs::OPEN, &Resource::dir(&CanonicalPath::new("/proc")?))?;
        let fd = open_checked(gate, "/proc/slabinfo", &[fs::OPEN, fs::READ], false)?;
        let text = read_all(fd.as_fd(), "/proc/slabinfo", PROC_FILE_LIMIT)?;
        Ok(parse_slabinfo(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slabinfo() {
        let t = "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\nkmalloc-64 100 128 64 64 1 : tunables 0 0 0 : slabdata 2 2 0\n";
        let s = parse_slabinfo(t);
        assert_eq!(s.slabs.len(), 1);
        assert_eq!(s.slabs[0].name, "kmalloc-64");
        assert_eq!(s.slabs[0].num_slabs, 2);
        assert_eq!(s.summary.total_size, 128 * 64);
    }
}
