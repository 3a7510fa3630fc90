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

/// CPU seconds used and wall seconds since the process started: the CPU time from the
/// kernel's process clock (nanoseconds, where `/proc/self/stat` counts 10 ms ticks), the
/// wall time from the boot-time clock against the start in `/proc/self/stat`.
fn cpu_and_wall_seconds() -> Option<(f64, f64)> {
    use rustix::time::{ClockId, Timespec, clock_gettime};
    let seconds =
        |t: Timespec| Some(t.tv_sec as f64 + f64::from(u32::try_from(t.tv_nsec).ok()?) / 1e9);
    let cpu = seconds(clock_gettime(ClockId::ProcessCPUTime))?;
    let since_boot = seconds(clock_gettime(ClockId::Boottime))?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    (ticks > 0.0).then(|| (cpu, since_boot - start_ticks / ticks))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU figure is the process clock's: it grows with any work (the 10 ms ticks of
    /// `/proc/self/stat` would not), and the wall time since start is positive and at
    /// least the CPU time spent by this one-threaded stretch.
    #[test]
    fn cpu_time_grows_with_work_and_wall_time_covers_it() {
        let (cpu0, wall0) = cpu_and_wall_seconds().unwrap();
        let mut x = 0u64;
        for i in 0..200_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let (cpu1, wall1) = cpu_and_wall_seconds().unwrap();
        assert!(cpu1 > cpu0, "{cpu0} -> {cpu1}");
        assert!(wall0 > 0.0 && wall1 >= wall0, "{wall0} -> {wall1}");
    }

    /// Both metrics are reported, under their original names, with plausible values.
    #[test]
    fn process_metrics_report_cpu_percent_and_peak_rss() {
        let metrics = serde_json::to_value(process_metrics()).unwrap();
        let names: Vec<_> = metrics
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["metric_name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "RexRunnerProcessCpuUsage",
                "RexRunnerProcessPeakRssMemoryUsage"
            ]
        );
        let rss = metrics[1]["metric_value"].as_f64().unwrap();
        assert!(rss > 1.0, "peak RSS {rss} MB");
        assert!(metrics[0]["metric_value"].as_f64().unwrap() >= 0.0);
    }
}
