//! `iostat`: CPU and device I/O averages since boot, from `/proc/stat` and
//! `/proc/diskstats`, each read through the fd opened after its `read` check.

use rex_policy::Gate;
use serde::Serialize;

use crate::checked::{PROC_FILE_LIMIT, read_checked, uptime};
use crate::error::SysError;
use crate::kernel_stats::parse_stat;

/// CPU time shares since boot, in percent.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
#[allow(missing_docs)]
pub struct CpuStats {
    pub user_percent: f64,
    pub nice_percent: f64,
    pub system_percent: f64,
    pub iowait_percent: f64,
    pub steal_percent: f64,
    pub idle_percent: f64,
}

/// One block device's averages since boot (as `iostat -x` without an interval).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[allow(missing_docs)]
pub struct DeviceStats {
    pub device_name: String,
    pub rrqm_per_sec: f64,
    pub wrqm_per_sec: f64,
    pub read_requests_per_sec: f64,
    pub write_requests_per_sec: f64,
    pub rkb_per_sec: f64,
    pub wkb_per_sec: f64,
    /// Average request size in KiB.
    pub avg_request_size: f64,
    pub avg_queue_size: f64,
    /// Average wait in ms.
    pub avg_wait: f64,
    pub r_await: f64,
    pub w_await: f64,
    pub svctm: f64,
    pub util_percent: f64,
}

/// The result of `iostat`.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct IoStatSnapshot {
    /// CPU shares.
    pub cpu_stats: CpuStats,
    /// Devices with any I/O.
    pub device_stats: Vec<DeviceStats>,
}

pub(crate) fn parse_diskstats(text: &str, seconds: f64) -> Vec<DeviceStats> {
    let secs = if seconds > 0.0 { seconds } else { 1.0 };
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            let name = (*f.get(2)?).to_owned();
            let (reads, rmerged, rsect, rms) = (n(3), n(4), n(5), n(6));
            let (writes, wmerged, wsect, wms) = (n(7), n(8), n(9), n(10));
            let (io_ms, weighted_ms) = (n(12), n(13));
            if reads + writes == 0.0 {
                return None;
            }
            let ios = reads + writes;
            Some(DeviceStats {
                device_name: name,
                rrqm_per_sec: rmerged / secs,
                wrqm_per_sec: wmerged / secs,
                read_requests_per_sec: reads / secs,
                write_requests_per_sec: writes / secs,
                rkb_per_sec: rsect / 2.0 / secs,
                wkb_per_sec: wsect / 2.0 / secs,
                avg_request_size: (rsect + wsect) / 2.0 / ios,
                avg_queue_size: weighted_ms / 1000.0 / secs,
                avg_wait: (rms + wms) / ios,
                r_await: if reads > 0.0 { rms / reads } else { 0.0 },
                w_await: if writes > 0.0 { wms / writes } else { 0.0 },
                svctm: io_ms / ios,
                util_percent: (io_ms / 10.0 / secs).min(100.0),
            })
        })
        .collect()
}

/// CPU and device statistics since boot. Needs `read` on `File::"/proc/stat"` and on
/// `File::"/proc/diskstats"`.
pub fn iostat(gate: &Gate) -> Result<IoStatSnapshot, SysError> {
    let stat = parse_stat(&read_checked(gate, "/proc/stat", PROC_FILE_LIMIT)?);
    let disks = read_checked(gate, "/proc/diskstats", PROC_FILE_LIMIT)?;
    let c = stat.total_cpu_time;
    let total = c.total_ticks().max(1) as f64;
    let pct = |t: u64| t as f64 * 100.0 / total;
    Ok(IoStatSnapshot {
        cpu_stats: CpuStats {
            user_percent: pct(c.user_ticks),
            nice_percent: pct(c.nice_ticks),
            system_percent: pct(c.system_ticks + c.irq_ticks + c.softirq_ticks),
            iowait_percent: pct(c.iowait_ticks),
            steal_percent: pct(c.stolen_ticks),
            idle_percent: pct(c.idle_ticks),
        },
        device_stats: parse_diskstats(&disks, uptime()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_rates() {
        let d = parse_diskstats(
            "   8       0 sda 100 10 2000 50 200 20 4000 150 0 300 400 0 0 0 0\n   7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n",
            10.0,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].device_name, "sda");
        assert_eq!(d[0].read_requests_per_sec, 10.0);
        assert_eq!(d[0].rkb_per_sec, 100.0);
        assert_eq!(d[0].avg_wait, 200.0 / 300.0);
        assert_eq!(d[0].util_percent, 3.0);
    }
}
