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
    let stat = read_proc("/proc/self/stat")?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    (ticks > 0.0).then(|| (cpu, since_boot - start_ticks / ticks))
}

fn status_kib(key: &str) -> Option<f64> {
    let status = read_proc("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The text of a small `/proc` file, read into a buffer of a page (which holds any of the
/// files read here): one `read` and the one that finds the end. Through `take`, so the
/// standard library does not first ask for the size (which `/proc` gives as 0) and then
/// read 32 bytes and double from there: eight system calls for `status`, where this
/// makes four.
fn read_proc(path: &str) -> Option<String> {
    use std::io::Read;
    let mut text = String::with_capacity(4096);
    std::fs::File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Resident set size of this process, from `/proc/self/statm`.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = read_proc("/proc/self/statm")?;
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

    /// `/proc` files read whole, as `read_to_string` reads them, whatever their size.
    #[test]
    fn proc_files_are_read_whole() {
        for path in [
            "/proc/self/stat",
            "/proc/self/status",
            "/proc/self/statm",
            "/proc/self/smaps",
        ] {
            let here = read_proc(path).unwrap();
            let std = std::fs::read_to_string(path).unwrap();
            // The figures change between two reads (the buffers here fault pages in), so
            // compare what does not: the words of each line that hold no digit.
            let shape = |t: &str| -> Vec<String> {
                t.lines()
                    .map(|l| {
                        l.split_whitespace()
                            .filter(|w| !w.bytes().any(|b| b.is_ascii_digit()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect()
            };
            let (a, b) = (shape(&here), shape(&std));
            assert_eq!(a.first(), b.first(), "{path}");
            assert!(here.ends_with('\n'), "{path}");
            assert!(
                here.lines().count().abs_diff(std.lines().count()) <= 2,
                "{path}"
            );
        }
        let big = read_proc("/proc/self/smaps").unwrap();
        assert!(
            big.len() > 4096,
            "smaps is {} bytes: the path past a page is not tested",
            big.len()
        );
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
