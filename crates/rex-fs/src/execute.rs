//! `file.execute`: run the very inode a handle holds, with a clean environment, no
//! inherited fds, bounded output and a deadline, after an `execute` check whose context
//! says what will run and how.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rex_policy::action::fs::EXECUTE;
use rex_policy::{AttrValue, ContextEntity, Gate, Resource};
use rustix::fd::{AsFd, BorrowedFd};

use crate::attrs::{resolve_group, resolve_user};
use crate::error::FsError;
use crate::file::FileHandle;
use crate::launcher::{Launch, TargetNamespaces, canonical_capabilities};
use crate::sys;

/// Default cap on each of stdout and stderr (1 MiB); the rest is read and dropped.
pub const MAX_EXECUTE_OUTPUT: usize = 1 << 20;

/// Held from marking the process's fds close-on-exec until the child has exec'd.
static SPAWN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One argument: a bare word (flag or positional) or a `key value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecArg {
    /// Passed as is (`-v`, `file.txt`).
    Word(String),
    /// Passed as two arguments, `key` then `value`.
    Pair(String, String),
}

/// Options of [`FileHandle::execute`] (the original `ExecuteOptions()` builder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Arguments after `argv[0]`.
    pub args: Vec<ExecArg>,
    /// The whole environment of the child (nothing is inherited).
    pub env: BTreeMap<String, String>,
    /// Linux capabilities to pass on (`CAP_NET_ADMIN`, `net_admin`, ...): in the check's
    /// context as canonical `CAP_*` names; the child gets them in its ambient (so
    /// permitted and effective) set, also as a non-root `user`. One rex does not hold is
    /// refused before anything runs (`PrivilegeError`).
    pub capabilities: Vec<String>,
    /// Run as this user (name or uid); needs the privilege to switch.
    pub user: Option<String>,
    /// Run as this group (name or gid).
    pub group: Option<String>,
    /// Run the child in the pid, net, uts, ipc, cgroup and mount namespaces of this
    /// process (`ChildNamespaceOptions`); in the context as `namespace.target_process_id`.
    /// The process is pinned (its `/proc/<pid>` and namespace fds opened) before the
    /// check. A process in another user namespace is refused.
    pub namespace_pid: Option<i64>,
    /// Cap on each of stdout and stderr (0 = [`MAX_EXECUTE_OUTPUT`]).
    pub max_output_bytes: usize,
    /// Kill the child (its whole process group) at this instant.
    pub deadline: Option<Instant>,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExecuteResult {
    /// Standard output (lossy UTF-8), at most the cap.
    pub stdout: String,
    /// Standard error, at most the cap.
    pub stderr: String,
    /// Exit status; `128 + signal` when killed by a signal.
    pub exit_code: i64,
    /// Whether stdout or stderr went over the cap (the rest was dropped).
    pub truncated: bool,
}

fn identity_name(uid: Option<u32>, gid: Option<u32>) -> (String, u32, String, u32) {
    let uid = uid.unwrap_or_else(|| rustix::process::getuid().as_raw());
    let gid = gid.unwrap_or_else(|| rustix::process::getgid().as_raw());
    let o = crate::attrs::Ownership::of(uid, gid);
    (o.user, uid, o.group, gid)
}

/// The `Arguments` and `Environment` entities the `execute` context refers to (§3.4 of the
/// original): `Arguments` has a tag per `key → value` pair, `$ARG<n> → value` per
/// positional word and `word → "true"` per word, and attributes `keys`, `flags` (words
/// starting with `-`) and `positional_values`; `Environment` has a tag per variable and
/// attribute `names`. So a policy can say `context.arguments.hasTag("--force")` or
/// `context.environment.getTag("LANG") == "C"`.
pub fn execute_entities(opts: &ExecuteOptions) -> Vec<ContextEntity> {
    let mut tags = Vec::new();
    let (mut keys, mut flags, mut positional) = (Vec::new(), Vec::new(), Vec::new());
    for a in &opts.args {
        match a {
            ExecArg::Pair(k, v) => {
                tags.push((k.clone(), v.clone()));
                keys.push(k.clone());
            }
            ExecArg::Word(w) => {
                tags.push((format!("$ARG{}", flags.len() + positional.len()), w.clone()));
                tags.push((w.clone(), "true".to_owned()));
                if w.starts_with('-') {
                    flags.push(w.clone());
                } else {
                    positional.push(w.clone());
                }
            }
        }
    }
    let arguments = ContextEntity {
        type_name: "file_system::Arguments",
        id: "arguments".to_owned(),
        attrs: vec![
            ("keys", AttrValue::StringSet(keys)),
            ("flags", AttrValue::StringSet(flags)),
            ("positional_values", AttrValue::StringSet(positional)),
        ],
        tags,
    };
    let environment = ContextEntity {
        type_name: "file_system::Environment",
        id: "environment".to_owned(),
        attrs: vec![(
            "names",
            AttrValue::StringSet(opts.env.keys().cloned().collect()),
        )],
        tags: opts
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    vec![arguments, environment]
}

/// The `execute` request's context (§3.4 of the original, plus `capabilities`: the
/// canonical `CAP_*` names, sorted, whatever the spelling asked for); its `arguments` and
/// `environment` members refer to the entities of [`execute_entities`]. An unknown
/// capability name is `InvalidArguments`.
pub fn execute_context(opts: &ExecuteOptions) -> Result<serde_json::Value, FsError> {
    let uid = opts.user.as_deref().map(resolve_user).transpose()?;
    let gid = opts.group.as_deref().map(resolve_group).transpose()?;
    let (username, uid, groupname, gid) = identity_name(uid, gid);
    let mut ctx = serde_json::json!({
        "arguments": {"__entity": {"type": "file_system::Arguments", "id": "arguments"}},
        "environment": {"__entity": {"type": "file_system::Environment", "id": "environment"}},
        "user": {"username": username, "uid": uid},
        "group": {"groupname": groupname, "gid": gid},
        "capabilities": canonical_capabilities(&opts.capabilities)?,
    });
    if let (Some(pid), Some(obj)) = (opts.namespace_pid, ctx.as_object_mut()) {
        obj.insert(
            "namespace".to_owned(),
            serde_json::json!({"target_process_id": pid}),
        );
    }
    Ok(ctx)
}

fn validate(opts: &ExecuteOptions) -> Result<(), FsError> {
    let bad = |what: &str, v: &str| {
        Err(FsError::InvalidArguments(format!(
            "execute: {what} `{}` must be non-empty and free of NUL",
            v.escape_debug()
        )))
    };
    for a in &opts.args {
        match a {
            ExecArg::Word(w) if w.is_empty() || w.contains('\0') => return bad("argument", w),
            ExecArg::Pair(k, v)
                if k.is_empty() || v.is_empty() || k.contains('\0') || v.contains('\0') =>
            {
                return bad("argument pair", &format!("{k} {v}"));
            }
            _ => {}
        }
    }
    for (k, v) in &opts.env {
        if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
            return bad("environment variable", k);
        }
    }
    Ok(())
}

fn drain(
    mut r: impl Read + Send + 'static,
    cap: usize,
) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        let mut truncated = false;
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(out.len());
                    if n > room {
                        truncated = true;
                    }
                    out.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                }
            }
        }
        (out, truncated)
    })
}

impl FileHandle {
    /// Runs the file the handle holds and waits for it.
    ///
    /// Needs a handle opened read-only (not for writing) on a regular file, and
    /// `execute` on `File(path)` with the context of [`execute_context`]. The child
    /// runs the inode through `/proc/self/fd/<n>` (no path lookup: a renamed or
    /// replaced path does not matter), with `argv[0]` the file name, stdin from
    /// `/dev/null`, only the environment given, every fd of this process above 2 marked
    /// close-on-exec first, in its own process group. Output beyond the cap is dropped;
    /// at the deadline the whole group is killed and the call fails. Linux only.
    pub fn execute(&self, gate: &Gate, opts: &ExecuteOptions) -> Result<ExecuteResult, FsError> {
        self.execute_with(gate, opts, &[])
    }

    /// [`FileHandle::execute`], letting the child inherit `inherit` (fds this crate
    /// opened on objects already authorized for it, passed as `/proc/self/fd/<n>`).
    pub(crate) fn execute_with(
        &self,
        gate: &Gate,
        opts: &ExecuteOptions,
        inherit: &[BorrowedFd<'_>],
    ) -> Result<ExecuteResult, FsError> {
        if self.writable() {
            return Err(FsError::InvalidArguments(format!(
                "execute: `{}` must be opened read-only",
                self.path()
            )));
        }
        validate(opts)?;
        let ctx = execute_context(opts)?;
        // Pin the target process before the check, so the namespaces entered are those
        // of the process the check was about, even if its pid is reused meanwhile. An
        // error opening it is reported after the check (which comes first).
        let target = opts.namespace_pid.map(TargetNamespaces::open);
        gate.check_with_entities(
            EXECUTE,
            &Resource::file(self.path()),
            ctx,
            &execute_entities(opts),
        )?;
        let target = target.transpose()?;
        let uid = opts.user.as_deref().map(resolve_user).transpose()?;
        let gid = opts.group.as_deref().map(resolve_group).transpose()?;
        let launch = Launch::new(&opts.capabilities, uid, gid, target)?;
        let path = self.path().as_str();
        let st = sys::fstat(self.fd(), path)?;
        if sys::entry_type(&st) != crate::EntryType::File {
            return Err(FsError::mismatch(
                path,
                crate::EntryType::File,
                sys::entry_type(&st),
            ));
        }
        // An interpreter script is opened by its interpreter through the same magic
        // link, so that one fd (an O_PATH fd on the file being run) must survive exec.
        let script_fd = if self.starts_with_shebang() {
            Some(rustix::io::dup(self.fd()).map_err(|e| FsError::os("dup", path, e))?)
        } else {
            None
        };
        let program_fd = script_fd.as_ref().map_or_else(|| self.fd(), AsFd::as_fd);
        let fd_num = raw(program_fd);
        let kept: Vec<BorrowedFd<'_>> = inherit
            .iter()
            .copied()
            .chain(std::iter::once(program_fd))
            .collect();
        let keep: Vec<i32> = kept.iter().map(|f| raw(*f)).collect();
        // Marking fds close-on-exec and spawning is one step for the whole process: a
        // concurrent `execute` would otherwise mark this call's script fd (or the other
        // way round) between the marking and the spawn.
        let spawning = SPAWN_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        close_fds::CloseFdsBuilder::new()
            .keep_fds(&keep)
            .threadsafe(true)
            .cloexecfrom(3);
        // A concurrent call holding the lock before us marked every fd but its own,
        // ours included (the dup above happened outside the lock): the fds the child
        // must inherit are cleared explicitly, and marked again right after the spawn.
        set_cloexec(&kept, false, path)?;
        // In another mount namespace the program is `self/fd/<n>` relative to rex's own
        // procfs (the launcher's working directory), never the target's `/proc`.
        let program = if launch.target.as_ref().is_some_and(|t| t.enters_mount()) {
            format!("self/fd/{fd_num}")
        } else {
            format!("/proc/self/fd/{fd_num}")
        };
        let mut cmd = Command::new(program);
        cmd.arg0(self.name());
        for a in &opts.args {
            match a {
                ExecArg::Word(w) => {
                    cmd.arg(w);
                }
                ExecArg::Pair(k, v) => {
                    cmd.arg(k).arg(v);
                }
            }
        }
        cmd.env_clear()
            .envs(&opts.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let spawned = if launch.needed() {
            launch.spawn(&mut cmd)
        } else {
            if let Some(u) = uid {
                cmd.uid(u);
            }
            if let Some(g) = gid {
                cmd.gid(g);
            }
            cmd.spawn()
                .map_err(|e| FsError::Internal(format!("execute `{path}`: {e}")))
        };
        let restored = set_cloexec(&kept, true, path);
        drop(spawning);
        drop(kept);
        drop(script_fd);
        restored?;
        let mut child = spawned?;
        let cap = if opts.max_output_bytes == 0 {
            MAX_EXECUTE_OUTPUT
        } else {
            opts.max_output_bytes
        };
        let out = child.stdout.take().map(|o| drain(o, cap));
        let err = child.stderr.take().map(|e| drain(e, cap));
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => return Err(FsError::Internal(format!("wait for `{path}`: {e}"))),
            }
            if opts.deadline.is_some_and(|d| Instant::now() >= d) {
                if let Some(pid) =
                    rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0))
                {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(FsError::Budget {
                    path: path.to_owned(),
                    limit: 0,
                    what: "seconds: the run's deadline passed while it ran",
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let (stdout, t1) = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let (stderr, t2) = err.and_then(|h| h.join().ok()).unwrap_or_default();
        let exit_code = status
            .code()
            .map_or_else(|| 128 + i64::from(status.signal().unwrap_or(0)), i64::from);
        Ok(ExecuteResult {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            exit_code,
            truncated: t1 || t2,
        })
    }

    fn starts_with_shebang(&self) -> bool {
        let Ok(f) = crate::reopen::for_reading(self.fd(), self.path().as_str()) else {
            return false;
        };
        let mut b = [0u8; 2];
        matches!(rustix::io::read(&f, &mut b), Ok(2)) && &b == b"#!"
    }
}

/// Sets or clears `FD_CLOEXEC` on each of `fds`.
fn set_cloexec(fds: &[BorrowedFd<'_>], on: bool, path: &str) -> Result<(), FsError> {
    let flags = if on {
        rustix::io::FdFlags::CLOEXEC
    } else {
        rustix::io::FdFlags::empty()
    };
    for fd in fds {
        rustix::io::fcntl_setfd(fd, flags).map_err(|e| FsError::os("fcntl", path, e))?;
    }
    Ok(())
}

pub(crate) fn raw(fd: rustix::fd::BorrowedFd<'_>) -> i32 {
    use rustix::fd::AsRawFd;
    fd.as_raw_fd()
}
