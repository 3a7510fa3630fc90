//! Running a closure inside another process's mount and/or network namespace, or inside a
//! named network namespace (`/run/netns/<name>`), with the caller's namespaces restored
//! afterwards whatever happens.

use std::os::fd::{AsFd, OwnedFd};

use rex_policy::action::{fs, process};
use rex_policy::path::validate_name;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::thread::{LinkNameSpaceType, ThreadNameSpaceType};

use crate::error::ProcessError;
use crate::handle::ProcessHandle;

/// Which namespaces to enter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceOptions {
    /// Enter the mount namespace of `pid`.
    pub mount: bool,
    /// Enter the network namespace of `pid` (or of `net_ns_name`).
    pub net: bool,
    /// The process whose namespaces to enter.
    pub pid: Option<i64>,
    /// A named network namespace (`/run/netns/<name>`, as `ip netns` creates).
    pub net_ns_name: Option<String>,
}

/// The calling thread's namespaces (and working directory), restored on drop once
/// [`Restore::arm`]ed, i.e. after `setns` succeeded. A failed restore aborts the process:
/// continuing in the wrong namespace would make later checks and actions concern other
/// objects than the policy was asked about. Unarmed (the `setns` was refused: by the
/// kernel, the seccomp filter, a missing capability) nothing changed and nothing is
/// restored: the same refusal would hit the restore and abort the process.
struct Restore {
    net: Option<OwnedFd>,
    mnt: Option<OwnedFd>,
    cwd: Option<OwnedFd>,
    armed: bool,
}

impl Restore {
    fn save(net: bool, mnt: bool) -> Result<Self, ProcessError> {
        let open = |p: &str| {
            rustix::fs::open(p, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| ProcessError::os("open", p, e))
        };
        Ok(Self {
            net: if net {
                Some(open("/proc/thread-self/ns/net")?)
            } else {
                None
            },
            mnt: if mnt {
                Some(open("/proc/thread-self/ns/mnt")?)
            } else {
                None
            },
            cwd: if mnt {
                Some(
                    rustix::fs::open(
                        ".",
                        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| ProcessError::os("open", ".", e))?,
                )
            } else {
                None
            },
            armed: false,
        })
    }

    /// The namespaces were changed: restore them on drop.
    fn arm(&mut self) {
        self.armed = true;
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut ok = true;
        if let Some(fd) = &self.mnt {
            ok &= rustix::thread::move_into_link_name_space(
                fd.as_fd(),
                Some(LinkNameSpaceType::Mount),
            )
            .is_ok();
        }
        if let Some(fd) = &self.cwd {
            ok &= rustix::process::fchdir(fd).is_ok();
        }
        if let Some(fd) = &self.net {
            ok &= rustix::thread::move_into_link_name_space(
                fd.as_fd(),
                Some(LinkNameSpaceType::Network),
            )
            .is_ok();
        }
        if !ok {
            eprintln!("rex: cannot restore the namespaces after nsenter; aborting");
            std::process::abort();
        }
    }
}

fn ns_error(what: &str, e: Errno) -> ProcessError {
    match e {
        Errno::PERM | Errno::ACCESS => ProcessError::os("enter namespace of", what, e),
        Errno::INVAL | Errno::NOSYS => ProcessError::Unsupported(format!(
            "entering namespaces of `{what}`: {e} (needs Linux 5.8+ and CAP_SYS_ADMIN)"
        )),
        e => ProcessError::Namespace(format!("entering namespaces of `{what}`: {e}")),
    }
}

/// Runs `f` inside the namespaces `options` names, on the calling thread, and restores
/// the thread's namespaces and working directory afterwards (also if `f` panics; if the
/// restore itself fails the process aborts).
///
/// Authorizes `process_system::Action::"mount_namespace"` and/or `"network_namespace"` on
/// the target process (pinned by a pidfd, which is also what `setns` enters), or
/// `file_system::Action::"network_namespace"` on `File::"/run/netns/<name>"`. Needs
/// CAP_SYS_ADMIN: without it the OS refuses (`PrivilegeError`). Entering a mount
/// namespace gives this thread its own filesystem context (`unshare(CLONE_FS)`).
pub fn nsenter<T>(
    gate: &Gate,
    options: &NamespaceOptions,
    f: impl FnOnce() -> T,
) -> Result<T, ProcessError> {
    match (&options.net_ns_name, options.pid) {
        (Some(name), None) => {
            if options.mount {
                return Err(ProcessError::Invalid(
                    "a named namespace is a network namespace; `mount` needs `pid`".into(),
                ));
            }
            validate_name(name).map_err(|e| ProcessError::Invalid(e.to_string()))?;
            let path = CanonicalPath::new(&format!("/run/netns/{name}"))
                .map_err(|e| ProcessError::Invalid(e.to_string()))?;
            gate.check(fs::NETWORK_NAMESPACE, &Resource::file(&path))?;
            let fd = rustix::fs::open(
                path.as_str(),
                OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .map_err(|e| ProcessError::os("open", &path, e))?;
            let mut restore = Restore::save(true, false)?;
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))
                .map_err(|e| ns_error(path.as_str(), e))?;
            restore.arm();
            let out = f();
            drop(restore);
            Ok(out)
        }
        (None, Some(pid)) => {
            if !options.mount && !options.net {
                return Err(ProcessError::Invalid(
                    "nothing to enter: set `mount` and/or `net`".into(),
                ));
            }
            let handle = ProcessHandle::open(pid)?;
            let resource = handle.snapshot().resource();
            let mut kinds = ThreadNameSpaceType::empty();
            if options.mount {
                gate.check(process::MOUNT_NAMESPACE, &resource)?;
                kinds |= ThreadNameSpaceType::MOUNT;
            }
            if options.net {
                gate.check(process::NETWORK_NAMESPACE, &resource)?;
                kinds |= ThreadNameSpaceType::NETWORK;
            }
            let mut restore = Restore::save(options.net, options.mount)?;
            if options.mount {
                // setns(CLONE_NEWNS) refuses a thread that shares its fs context with
                // other threads; give this thread its own (cwd and root are restored by
                // `Restore`).
                #[allow(deprecated)]
                rustix::thread::unshare(rustix::thread::UnshareFlags::FS)
                    .map_err(|e| ns_error(&pid.to_string(), e))?;
            }
            if !handle.is_running() {
                return Err(ProcessError::NotFound(pid));
            }
            rustix::thread::move_into_thread_name_spaces(handle.pidfd(), kinds)
                .map_err(|e| ns_error(&pid.to_string(), e))?;
            restore.arm();
            let out = f();
            drop(restore);
            Ok(out)
        }
        _ => Err(ProcessError::Invalid(
            "give either `pid` (with `mount`/`net`) or `net_ns_name`".into(),
        )),
    }
}
