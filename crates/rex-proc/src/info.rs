//! `ProcessInfo`: one row of a process listing.

use std::fmt;

use serde::Serialize;

use crate::handle::ProcessSnapshot;

/// One process (or thread) in a listing, as `ps` would show it. Reading it grants nothing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessInfo {
    /// Process name (`comm`).
    pub name: String,
    /// Effective user's name.
    pub username: String,
    /// Resident memory as a percentage of RAM.
    pub memory_percent: f64,
    /// Scheduler state (`Running`, `Sleeping`, `Idle`, `Zombie`, ...).
    pub state: String,
    /// Command line.
    pub command: String,
    /// Inode of the pid namespace, when namespace information was asked for.
    pub pid_namespace: Option<u64>,
    /// Resident memory in bytes.
    pub memory_usage: u64,
    /// Pid (thread id for threads).
    pub pid: i64,
    /// Parent pid.
    pub ppid: i64,
    /// Effective uid.
    pub uid: u32,
    /// CPU use in percent of one CPU since the previous listing of the same manager
    /// (0 on the first).
    pub recent_cpu_usage: f64,
    /// CPU use in percent of one CPU averaged over the process's life.
    pub historical_cpu_usage: f64,
    /// Start time in clock ticks after boot (rex addition).
    pub start_time: u64,
    /// Whether this row is a thread rather than a process (rex addition).
    pub is_thread: bool,
}

impl fmt::Display for ProcessInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {:.1}% cpu {:.1}% mem {}",
            self.pid,
            self.username,
            self.state,
            self.recent_cpu_usage,
            self.memory_percent,
            self.command
        )
    }
}

/// The `ps` state name of a `/proc/<pid>/stat` state letter.
pub fn state_name(c: char) -> &'static str {
    match c {
        'R' => "Running",
        'S' => "Sleeping",
        'D' => "UninterruptibleDiskSleep",
        'Z' => "Zombie",
        'T' => "Stopped",
        't' => "Tracing",
        'X' | 'x' => "Dead",
        'K' => "Wakekill",
        'W' => "Waking",
        'P' => "Parked",
        'I' => "Idle",
        _ => "Unknown",
    }
}

/// Machine facts needed to turn `/proc` numbers into bytes and percentages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Machine {
    pub page_size: u64,
    pub ticks: f64,
    pub total_ram: u64,
    pub uptime: f64,
}

impl Machine {
    pub fn now() -> Self {
        let si = rustix::system::sysinfo();
        let uptime = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Self {
            page_size: rustix::param::page_size() as u64,
            ticks: rustix::param::clock_ticks_per_second().max(1) as f64,
            total_ram: (si.totalram as u64).saturating_mul(u64::from(si.mem_unit.max(1))),
            uptime: uptime.tv_sec as f64 + uptime.tv_nsec as f64 / 1e9,
        }
    }
}

/// Builds the listing row of `snap`. `recent` is the CPU percentage since the previous
/// sample (computed by the caller).
pub(crate) fn info_of(
    snap: &ProcessSnapshot,
    machine: &Machine,
    recent: f64,
    namespace: bool,
    is_thread: bool,
) -> ProcessInfo {
    let memory_usage = snap.stat.rss_pages.saturating_mul(machine.page_size);
    let memory_percent = if machine.total_ram > 0 {
        memory_usage as f64 * 100.0 / machine.total_ram as f64
    } else {
        0.0
    };
    let cpu_secs = (snap.stat.utime + snap.stat.stime) as f64 / machine.ticks;
    let alive = machine.uptime - snap.stat.start_time as f64 / machine.ticks;
    let historical = if alive > 0.0 {
        cpu_secs * 100.0 / alive
    } else {
        0.0
    };
    ProcessInfo {
        name: snap.stat.comm.clone(),
        username: snap.username.clone(),
        memory_percent,
        state: state_name(snap.stat.state).to_owned(),
        command: snap.command.clone(),
        pid_namespace: namespace.then(|| pid_namespace(snap)).flatten(),
        memory_usage,
        pid: snap.pid(),
        ppid: snap.stat.ppid,
        uid: snap.uid,
        recent_cpu_usage: recent,
        historical_cpu_usage: historical,
        start_time: snap.stat.start_time,
        is_thread,
    }
}

/// The pid namespace inode from the `ns/pid` link (`pid:[4026531836]`).
fn pid_namespace(snap: &ProcessSnapshot) -> Option<u64> {
    let target = rustix::fs::readlinkat(snap.dir(), "ns/pid", Vec::new()).ok()?;
    let text = target.to_str().ok()?;
    text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}
