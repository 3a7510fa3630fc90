//! One process as rex sees it: a snapshot read from its `/proc/<pid>` directory fd, and a
//! handle that pins that directory to a pidfd, so the process that was authorized is the
//! process that receives the signal.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rex_policy::{AttrValue, Gate, Permit, Resource};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, pidfd_open, pidfd_send_signal};

use crate::error::ProcessError;
use crate::procfs::{
    SMALL_FILE_LIMIT, Stat, join_cmdline, open_dir, open_dir_at, parse_effective_uid, parse_stat,
    read_at, user_name,
};
use crate::signal::Signal;

/// Cedar entity type of processes.
pub const PROCESS_TYPE: &str = "process_system::Process";

/// What rex read about one process from its `/proc/<pid>` directory: the attributes a
/// policy sees (`name`, `username`, `command`) and the numbers a listing shows. Holding a
/// snapshot authorizes nothing.
#[derive(Debug)]
pub struct ProcessSnapshot {
    pub(crate) pid: i32,
    pub(crate) dir: OwnedFd,
    pub(crate) stat: Stat,
    pub(crate) uid: u32,
    pub(crate) username: String,
    pub(crate) command: String,
}

impl ProcessSnapshot {
    /// Reads the process whose directory is `name` below the open directory `parent`
    /// (`/proc`, or `/proc/<pid>/task` for threads). Every field comes from that one
    /// directory fd.
    pub(crate) fn read(parent: BorrowedFd<'_>, name: &str, pid: i32) -> Result<Self, ProcessError> {
        let dir = open_dir_at(parent, name).map_err(|e| not_found_or(pid, "open", e))?;
        Self::from_dir(dir, pid)
    }

    pub(crate) fn from_dir(dir: OwnedFd, pid: i32) -> Result<Self, ProcessError> {
        let stat_raw = read_at(dir.as_fd(), "stat", SMALL_FILE_LIMIT)
            .map_err(|e| not_found_or(pid, "read stat of", e))?;
        let stat =
            parse_stat(&String::from_utf8_lossy(&stat_raw)).ok_or_else(|| ProcessError::Parse {
                what: format!("/proc/{pid}/stat"),
                reason: "unexpected format".to_owned(),
            })?;
        let status = read_at(dir.as_fd(), "status", SMALL_FILE_LIMIT)
            .map_err(|e| not_found_or(pid, "read status of", e))?;
        let uid = parse_effective_uid(&String::from_utf8_lossy(&status)).ok_or_else(|| {
            ProcessError::Parse {
                what: format!("/proc/{pid}/status"),
                reason: "no `Uid:` line".to_owned(),
            }
        })?;
        // A kernel thread or a zombie has an empty command line; it is then its name,
        // so a policy on `command` still sees something meaningful.
        let cmdline = read_at(dir.as_fd(), "cmdline", SMALL_FILE_LIMIT).unwrap_or_default();
        let mut command = join_cmdline(&cmdline);
        if command.is_empty() {
            command = format!("[{}]", stat.comm);
        }
        Ok(Self {
            pid,
            dir,
            username: user_name(uid),
            uid,
            stat,
            command,
        })
    }

    /// The pid.
    pub fn pid(&self) -> i64 {
        i64::from(self.pid)
    }

    /// The process name (`comm`, at most 15 bytes).
    pub fn name(&self) -> &str {
        &self.stat.comm
    }

    /// The effective user's name (or the uid as text when it has no name).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The command line, arguments joined with spaces (`[name]` when empty).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Start time in clock ticks after boot; with the pid it identifies the process.
    pub fn start_time(&self) -> u64 {
        self.stat.start_time
    }

    /// The Cedar resource `process_system::Process::"<pid>"` with `name`, `username` and
    /// `command`, as a policy sees it.
    pub fn resource(&self) -> Resource {
        Resource::new(PROCESS_TYPE, self.pid.to_string())
            .attr("name", AttrValue::String(self.stat.comm.clone()))
            .attr("username", AttrValue::String(self.username.clone()))
            .attr("command", AttrValue::String(self.command.clone()))
    }

    /// The `/proc/<pid>` directory fd.
    pub(crate) fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

/// A process pinned by a pidfd. Opening it reads `/proc/<pid>` and then checks that the
/// pidfd's process is still running, so the directory (and the attributes authorized from
/// it) belong to the pidfd's process. Signals go through the pidfd: once the process has
/// exited, the handle can never signal another process that was given the same pid.
#[derive(Debug)]
pub struct ProcessHandle {
    pidfd: OwnedFd,
    snapshot: ProcessSnapshot,
}

impl ProcessHandle {
    /// Pins process `pid` (a thread-group leader). `ProcessNotFound` when it does not
    /// exist or exits while being opened. Authorizes nothing.
    pub fn open(pid: i64) -> Result<Self, ProcessError> {
        let raw = i32::try_from(pid)
            .ok()
            .filter(|p| *p > 0)
            .ok_or(ProcessError::NotFound(pid))?;
        let pid_t = Pid::from_raw(raw).ok_or(ProcessError::NotFound(pid))?;
        let pidfd = pidfd_open(pid_t, PidfdFlags::empty()).map_err(|e| match e {
            Errno::SRCH | Errno::INVAL => ProcessError::NotFound(pid),
            e => ProcessError::os("pidfd_open", pid, e),
        })?;
        let dir = open_dir(&format!("/proc/{raw}")).map_err(|e| not_found_or(raw, "open", e))?;
        let snapshot = ProcessSnapshot::from_dir(dir, raw)?;
        let handle = Self { pidfd, snapshot };
        // Still running after /proc/<pid> was opened and read: the pid could not have been
        // reused in between, so the directory is the pidfd's process.
        if !handle.is_running() {
            return Err(ProcessError::NotFound(pid));
        }
        Ok(handle)
    }

    /// Whether the process has not exited (its pidfd is not readable yet).
    pub fn is_running(&self) -> bool {
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&zero)) {
            Ok(0) => true,
            Ok(_) => false,
            Err(_) => false,
        }
    }

    /// What was read about the process when the handle was opened.
    pub fn snapshot(&self) -> &ProcessSnapshot {
        &self.snapshot
    }

    /// The pid.
    pub fn pid(&self) -> i64 {
        self.snapshot.pid()
    }

    /// The pidfd.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Authorizes and sends `signal`: `process_system::Action::"interrupt"` for SIGHUP,
    /// `"kill"` for the others, on this process's resource. The signal goes through the
    /// pidfd; a process that has exited is `ProcessNotFound` and nothing is sent.
    pub fn signal(&self, gate: &Gate, signal: Signal) -> Result<(), ProcessError> {
        let permit = gate.check(signal.action(), &self.snapshot.resource())?;
        self.send(&permit, signal)
    }

    /// Sends `signal` under a permit issued for this process.
    pub(crate) fn send(&self, permit: &Permit, signal: Signal) -> Result<(), ProcessError> {
        if permit.resource_id() != self.snapshot.pid.to_string()
            || permit.action() != signal.action()
        {
            return Err(ProcessError::Invalid(format!(
                "permit for `{}` does not cover process `{}`",
                permit.resource_id(),
                self.snapshot.pid
            )));
        }
        if !self.is_running() {
            return Err(ProcessError::NotFound(self.pid()));
        }
        pidfd_send_signal(&self.pidfd, signal.to_rustix()).map_err(|e| match e {
            Errno::SRCH => ProcessError::NotFound(self.pid()),
            e => ProcessError::os("signal", self.pid(), e),
        })
    }
}

/// `ENOENT`/`ESRCH` on a process's files mean it is gone.
pub(crate) fn not_found_or(pid: i32, op: &'static str, e: Errno) -> ProcessError {
    match e {
        Errno::NOENT | Errno::SRCH => ProcessError::NotFound(i64::from(pid)),
        e => ProcessError::os(op, format!("/proc/{pid}"), e),
    }
}
