//! Kernel statistics (`/proc/stat`), read through the fd opened after `read` on
//! `File::"/proc/stat"` is authorized.

use rex_policy::Gate;
use serde::Serialize;

use crate::checked::{PROC_FILE_LIMIT, read_checked};
use crate::error::SysError;
use crate::sysinfo::SystemInfo;

/// Time one CPU (or all) spent in each mode, in clock ticks and milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct CpuTime {
    pub user_ticks: u64,
    pub nice_ticks: u64,
    pub system_ticks: u64,
    pub idle_ticks: u64,
    pub iowait_ticks: u64,
    pub irq_ticks: u64,
    pub softirq_ticks: u64,
    pub stolen_ticks: u64,
    pub guest_ticks: u64,
    pub guest_nice_ticks: u64,
    pub user_ms: u64,
    pub nice_ms: u64,
    pub system_ms: u64,
    pub idle_ms: u64,
    pub iowait_ms: u64,
    pub irq_ms: u64,
    pub softirq_ms: u64,
    pub stolen_ms: u64,
    pub guest_ms: u64,
    pub guest_nice_ms: u64,
}

impl CpuTime {
    fn from_fields(fields: &[u64], ticks_per_sec: u64) -> Self {
        let t = |i: usize| fields.get(i).copied().unwrap_or(0);
        let ms = |i: usize| t(i).saturating_mul(1000) / ticks_per_sec.max(1);
        Self {
            user_ticks: t(0),
            nice_ticks: t(1),
            system_ticks: t(2),
            idle_ticks: t(3),
            iowait_ticks: t(4),
            irq_ticks: t(5),
            softirq_ticks: t(6),
            stolen_ticks: t(7),
            guest_ticks: t(8),
            guest_nice_ticks: t(9),
            user_ms: ms(0),
            nice_ms: ms(1),
            system_ms: ms(2),
            idle_ms: ms(3),
            iowait_ms: ms(4),
            irq_ms: ms(5),
            softirq_ms: ms(6),
            stolen_ms: ms(7),
            guest_ms: ms(8),
            guest_nice_ms: ms(9),
        }
    }

    /// Sum of all ticks except guest time (already counted in user/nice).
    pub fn total_ticks(&self) -> u64 {
        self.user_ticks
            + self.nice_ticks
            + self.system_ticks
            + self.idle_ticks
            + self.iowait_ticks
            + self.irq_ticks
            + self.softirq_ticks
            + self.stolen_ticks
    }
}

/// `/proc/stat`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct KernelStats {
    /// All CPUs together.
    pub total_cpu_time: CpuTime,
    /// Each CPU.
    pub cpu_time: Vec<CpuTime>,
    /// Runnable tasks.
    pub procs_running: u64,
    /// Tasks blocked on I/O.
    pub procs_blocked: u64,
    /// Context switches since boot.
    pub context_switches: u64,
    /// Boot time, seconds since the epoch.
    pub boot_time: u64,
    /// Forks since boot.
    pub forks: u64,
}

/// Parses `/proc/stat`.
pub(crate) fn parse_stat(text: &str) -> KernelStats {
    let ticks = rustix::param::clock_ticks_per_second();
    let mut s = KernelStats::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(key) = parts.next() else { continue };
        let nums: Vec<u64> = parts.filter_map(|p| p.parse().ok()).collect();
        let first = nums.first().copied().unwrap_or(0);
        match key {
            "cpu" => s.total_cpu_time = CpuTime::from_fields(&nums, ticks),
            k if k.starts_with("cpu") => s.cpu_time.push(CpuTime::from_fields(&nums, ticks)),
            "ctxt" => s.context_switches = first,
            "btime" => s.boot_time = first,
            "processes" => s.forks = first,
            "procs_running" => s.procs_running = first,
            "procs_blocked" => s.procs_blocked = first,
            _ => {}
        }
    }
    s
}

impl SystemInfo {
    /// Kernel statistics. Needs `read` on `File::"/proc/stat"`.
    pub fn kernel_stats(&self, gate: &Gate) -> Result<KernelStats, SysError> {
        let text = read_checked(gate, "/proc/stat", PROC_FILE_LIMIT)?;
        let s = parse_stat(&text);
        if s.cpu_time.is_empty() {
            return Err(SysError::Parse {
                what: "/proc/stat".into(),
                reason: "no cpu lines".into(),
            });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let s = parse_stat(
            "cpu  10 0 5 100 1 0 0 0 0 0\ncpu0 10 0 5 100 1 0 0 0 0 0\nctxt 99\nbtime 1700000000\nprocesses 321\nprocs_running 2\nprocs_blocked 0\n",
        );
        assert_eq!(s.total_cpu_time.user_ticks, 10);
        assert_eq!(s.cpu_time.len(), 1);
        assert_eq!(s.context_switches, 99);
        assert_eq!(s.boot_time, 1_700_000_000);
        assert_eq!(s.forks, 321);
        assert_eq!(s.procs_running, 2);
        assert_eq!(s.total_cpu_time.total_ticks(), 116);
    }
}
