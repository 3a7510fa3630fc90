//! `ProcessManager`: listing processes (denied ones filtered and counted) and sending
//! signals through pidfds.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use rex_policy::Gate;
use rex_policy::action::process;
use serde::Serialize;

use crate::error::ProcessError;
use crate::handle::{ProcessHandle, ProcessSnapshot};
use crate::info::{Machine, ProcessInfo, info_of};
use crate::procfs::{list_pids, open_dir, open_dir_at};
use crate::signal::Signal;

/// Most processes (and threads) one listing reads.
pub const MAX_PROCESSES: usize = 100_000;

/// Options of a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessOptions {
    /// Fill `pid_namespace`.
    pub load_namespace_info: bool,
    /// Also list each process's threads (each one authorized as its own `Process`).
    pub include_threads: bool,
}

/// A listing: the processes the policy lets the principal see, and how many it hid.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// Visible processes, by pid.
    pub processes: Vec<ProcessInfo>,
    /// How many processes `process_system::Action::"list"` denied (they are not in
    /// `processes`).
    pub filtered: usize,
}

/// What `kill` targets: one pid, or every process matching name/user/command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KillOptions {
    /// One process by pid.
    pub pid: Option<i64>,
    /// Match on the process name.
    pub process_name: Option<String>,
    /// Match on the effective user's name.
    pub username: Option<String>,
    /// Match on the command line.
    pub command: Option<String>,
    /// Match exactly (default: substring).
    pub exact_match: bool,
    /// The signal (default SIGTERM).
    pub signal: Signal,
}

impl KillOptions {
    /// Checks that exactly one kind of target is set.
    pub fn validate(&self) -> Result<(), ProcessError> {
        let by_match =
            self.process_name.is_some() || self.username.is_some() || self.command.is_some();
        match (self.pid, by_match) {
            (Some(_), true) => Err(ProcessError::Invalid(
                "give either `pid` or `process_name`/`username`/`command`, not both".into(),
            )),
            (None, false) => Err(ProcessError::Invalid(
                "no target: set `pid`, `process_name`, `username` or `command`".into(),
            )),
            _ => Ok(()),
        }
    }

    fn matches(&self, snap: &ProcessSnapshot) -> bool {
        let m = |want: &Option<String>, have: &str| match want {
            None => true,
            Some(w) if self.exact_match => w == have,
            Some(w) => have.contains(w.as_str()),
        };
        m(&self.process_name, snap.name())
            && m(&self.username, snap.username())
            && m(&self.command, snap.command())
    }
}

/// A process a signal was sent to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Killed {
    /// Its name.
    pub name: String,
    /// Its pid.
    pub pid: i64,
}

/// Lists processes and signals them. Every listed process is authorized with
/// `process_system::Action::"list"`, every signalled one with `"kill"` (or `"interrupt"`
/// for SIGHUP) on `process_system::Process::"<pid>"`. A manager remembers the identity
/// (pid and start time) of what it listed, so a pid that was listed and then reused is
/// never signalled by a later `kill` of that pid.
#[derive(Debug, Default)]
pub struct ProcessManager {
    seen: HashMap<i32, u64>,
    samples: HashMap<(i32, u64), u64>,
    sampled_at: Option<Instant>,
}

impl ProcessManager {
    /// A manager with nothing listed yet. Authorizes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists the processes the policy lets the principal see; denied ones are counted in
    /// [`Listing::filtered`]. Processes that exit while being read are skipped.
    pub fn processes(
        &mut self,
        gate: &Gate,
        options: ProcessOptions,
    ) -> Result<Listing, ProcessError> {
        let proc_dir = open_proc()?;
        let pids = list_pids(proc_dir.as_fd(), MAX_PROCESSES)
            .map_err(|e| ProcessError::os("list", "/proc", e))?;
        let machine = Machine::now();
        let now = Instant::now();
        let elapsed = self
            .sampled_at
            .map(|t| now.duration_since(t).as_secs_f64())
            .unwrap_or(0.0);
        let mut samples = HashMap::new();
        let mut out = Vec::new();
        let mut filtered = 0usize;
        let mut seen = HashMap::new();
        for pid in pids {
            let Ok(snap) = ProcessSnapshot::read(proc_dir.as_fd(), &pid.to_string(), pid) else {
                continue;
            };
            if gate.check(process::LIST, &snap.resource()).is_err() {
                filtered += 1;
                continue;
            }
            seen.insert(pid, snap.start_time());
            out.push(self.row(&snap, &machine, elapsed, options, false, &mut samples));
            if options.include_threads {
                filtered += self.threads(
                    gate,
                    &snap,
                    &machine,
                    elapsed,
                    options,
                    &mut samples,
                    &mut out,
                );
            }
            if out.len() > MAX_PROCESSES {
                return Err(ProcessError::Invalid(format!(
                    "more than {MAX_PROCESSES} processes"
                )));
            }
        }
        self.samples = samples;
        self.sampled_at = Some(now);
        self.seen = seen;
        Ok(Listing {
            processes: out,
            filtered,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn threads(
        &self,
        gate: &Gate,
        leader: &ProcessSnapshot,
        machine: &Machine,
        elapsed: f64,
        options: ProcessOptions,
        samples: &mut HashMap<(i32, u64), u64>,
        out: &mut Vec<ProcessInfo>,
    ) -> usize {
        let Ok(task) = open_dir_at(leader.dir(), "task") else {
            return 0;
        };
        let Ok(tids) = list_pids(task.as_fd(), MAX_PROCESSES) else {
            return 0;
        };
        let mut filtered = 0;
        for tid in tids.into_iter().filter(|t| *t != leader.pid) {
            let Ok(snap) = ProcessSnapshot::read(task.as_fd(), &tid.to_string(), tid) else {
                continue;
            };
            if gate.check(process::LIST, &snap.resource()).is_err() {
                filtered += 1;
                continue;
            }
            out.push(self.row(&snap, machine, elapsed, options, true, samples));
        }
        filtered
    }

    fn row(
        &self,
        snap: &ProcessSnapshot,
        machine: &Machine,
        elapsed: f64,
        options: ProcessOptions,
        is_thread: bool,
        samples: &mut HashMap<(i32, u64), u64>,
    ) -> ProcessInfo {
        let key = (snap.pid, snap.start_time());
        let ticks = snap.stat.utime + snap.stat.stime;
        let recent = match self.samples.get(&key) {
            Some(prev) if elapsed > 0.0 => {
                ticks.saturating_sub(*prev) as f64 / machine.ticks * 100.0 / elapsed
            }
            _ => 0.0,
        };
        samples.insert(key, ticks);
        info_of(
            snap,
            machine,
            recent,
            options.load_namespace_info,
            is_thread,
        )
    }

    /// Sends `options.signal` to the target(s). By pid: the process is pinned with a
    /// pidfd, authorized, and signalled through the pidfd (`ProcessNotFound` if it does
    /// not exist, or if this manager listed that pid earlier and it is now a different
    /// process). By name/user/command: every matching process except this one is
    /// authorized separately; denied ones are skipped. Returns the processes signalled.
    pub fn kill(
        &mut self,
        gate: &Gate,
        options: &KillOptions,
    ) -> Result<Vec<Killed>, ProcessError> {
        options.validate()?;
        if let Some(pid) = options.pid {
            let handle = ProcessHandle::open(pid)?;
            if let Some(start) = i32::try_from(pid).ok().and_then(|p| self.seen.get(&p))
                && *start != handle.snapshot().start_time()
            {
                return Err(ProcessError::NotFound(pid));
            }
            handle.signal(gate, options.signal)?;
            return Ok(vec![Killed {
                name: handle.snapshot().name().to_owned(),
                pid,
            }]);
        }
        let proc_dir = open_proc()?;
        let pids = list_pids(proc_dir.as_fd(), MAX_PROCESSES)
            .map_err(|e| ProcessError::os("list", "/proc", e))?;
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let mut killed = Vec::new();
        for pid in pids.into_iter().filter(|p| *p != me) {
            let Ok(snap) = ProcessSnapshot::read(proc_dir.as_fd(), &pid.to_string(), pid) else {
                continue;
            };
            if !options.matches(&snap) {
                continue;
            }
            let Ok(handle) = ProcessHandle::open(i64::from(pid)) else {
                continue;
            };
            // The pinned process must be the one that matched.
            if handle.snapshot().start_time() != snap.start_time()
                || !options.matches(handle.snapshot())
            {
                continue;
            }
            match handle.signal(gate, options.signal) {
                Ok(()) => killed.push(Killed {
                    name: snap.name().to_owned(),
                    pid: i64::from(pid),
                }),
                Err(ProcessError::Denied(_) | ProcessError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(killed)
    }
}

pub(crate) fn open_proc() -> Result<OwnedFd, ProcessError> {
    open_dir("/proc").map_err(|e| ProcessError::os("open", "/proc", e))
}
