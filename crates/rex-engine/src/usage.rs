//! The runner's own resource use, reported as metrics (replaces the original's sampling
//! thread with two reads of `/proc/self` at the end of the run).

use crate::output::{Metric, MetricUnit};

/// CPU percent over the process's life and peak resident memory, when `/proc/self` is
/// readable.
pub(crate) fn process_metrics() -> Vec<Metric> {
    let mut out = Vec::new();
    if let Some((cpu, wall)) = cpu_and_wall_seconds()
        && wall > 0.0
    {
        out.push(Metric::new(
            "RexRunnerProcessCpuUsage",
            100.0 * cpu / wall,
            MetricUnit::Percent,
            "ProcessMonitoring",
        ));
    }
    if let Some(kib) = status_kib("VmHWM:") {
        out.push(Metric::new(
            "RexRunnerProcessPeakRssMemoryUsage",
            kib / 1024.0,
            MetricUnit::Megabytes,
            "ProcessMonitoring",
        ));
    }
    out
}

/// CPU seconds used and wall seconds since the process started.
fn cpu_and_wall_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let start_ticks: f64 = fields.get(19)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    (ticks > 0.0).then(|| ((utime + stime) / ticks, uptime - start_ticks / ticks))
}

fn status_kib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident set size of this process, from `/proc/self/statm`.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64)
}
