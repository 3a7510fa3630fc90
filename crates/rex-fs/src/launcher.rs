//! The launcher of `execute` children that get capabilities, another identity or another
//! process's namespaces, without `unsafe` code (no `pre_exec`). Linux only.
//!
//! On Linux, credentials (uids, gids, groups, capability sets, keep-caps) and namespaces
//! belong to a *thread*, and a child inherits those of the thread that spawned it. So the
//! child is spawned from a fresh thread made for it and never reused: that thread enters
//! the target's namespaces (`setns`, after `unshare(CLONE_FS)` for the mount namespace),
//! switches its own uid/gid/groups with raw per-thread system calls (keeping its
//! capabilities across the switch with `PR_SET_KEEPCAPS`), narrows its capability sets to
//! the ones asked for and raises them in its ambient set, spawns the `Command`, hands the
//! `Child` back and ends. No other thread of rex, and no later operation, ever runs with
//! what that thread took on.
//!
//! What this grants: the child gets the capabilities asked for in its ambient (so
//! permitted and effective) set even as a non-root user. It does not grant anything rex
//! does not hold: a capability missing from rex's permitted or bounding set is refused
//! before anything runs ([`FsError::Privilege`]). A target in another *user* namespace is
//! refused: a multithreaded process cannot join a user namespace.

use std::process::{Child, Command};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::thread::{CapabilitySet, CapabilitySets, LinkNameSpaceType};

use crate::error::FsError;

/// The Linux capabilities by number (`CAP_<NAME>` with the number as index).
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// One capability: its number and canonical name (`CAP_NET_ADMIN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Capability {
    bit: u32,
    name: String,
}

/// Parses `CAP_NET_ADMIN`, `cap_net_admin`, `NET_ADMIN` or `net_admin`. An unknown name
/// is `InvalidArguments`.
pub(crate) fn parse_capability(name: &str) -> Result<Capability, FsError> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .position(|c| *c == bare)
        .and_then(|i| u32::try_from(i).ok())
        .map(|bit| Capability {
            bit,
            name: format!("CAP_{bare}"),
        })
        .ok_or_else(|| {
            FsError::InvalidArguments(format!(
                "execute: unknown capability `{}`",
                name.escape_debug()
            ))
        })
}

/// The canonical names (`CAP_*`, sorted, without duplicates) of `names`, as they go into
/// the `execute` context, so `sys_admin` cannot slip past a policy about `CAP_SYS_ADMIN`.
pub(crate) fn canonical_capabilities(names: &[String]) -> Result<Vec<String>, FsError> {
    let mut caps = names
        .iter()
        .map(|n| parse_capability(n))
        .collect::<Result<Vec<_>, _>>()?;
    caps.sort_by_key(|c| c.bit);
    caps.dedup();
    Ok(caps.into_iter().map(|c| c.name).collect())
}

fn capability_set(names: &[String]) -> Result<CapabilitySet, FsError> {
    let mut set = CapabilitySet::empty();
    for n in names {
        let c = parse_capability(n)?;
        set |= CapabilitySet::from_bits_retain(1u64 << c.bit);
    }
    Ok(set)
}

fn cap_name(bit: u32) -> String {
    let i = usize::try_from(bit).unwrap_or(usize::MAX);
    CAPABILITIES
        .get(i)
        .map_or_else(|| format!("CAP_{bit}"), |n| format!("CAP_{n}"))
}

fn single_caps(set: CapabilitySet) -> impl Iterator<Item = (u32, CapabilitySet)> {
    (0..64u32).filter_map(move |bit| {
        let one = CapabilitySet::from_bits_retain(1u64 << bit);
        set.contains(one).then_some((bit, one))
    })
}

fn privilege(what: impl std::fmt::Display, e: Errno) -> FsError {
    FsError::Privilege(format!("execute: cannot {what}: {e}"))
}

/// The namespaces of one process, pinned: `/proc/<pid>` is opened once and every
/// `ns/<kind>` link is opened relative to that directory fd, so a pid reused by another
/// process after the open cannot be entered instead (lookups through the directory of
/// an exited process fail). Only the namespaces that differ from rex's are kept.
#[derive(Debug)]
pub(crate) struct TargetNamespaces {
    pid: i64,
    enter: Vec<(OwnedFd, LinkNameSpaceType, &'static str)>,
    proc_root: OwnedFd,
    mount: bool,
}

/// The kinds entered, in the order entered (mount last: it changes root and cwd).
const KINDS: [(&str, LinkNameSpaceType); 6] = [
    ("pid", LinkNameSpaceType::ProcessID),
    ("net", LinkNameSpaceType::Network),
    ("uts", LinkNameSpaceType::HostNameAndNISDomainName),
    ("ipc", LinkNameSpaceType::InterProcessCommunication),
    ("cgroup", LinkNameSpaceType::ControlGroup),
    ("mnt", LinkNameSpaceType::Mount),
];

/// procfs's `f_type` (`PROC_SUPER_MAGIC`) and the inode of its root.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const PROC_ROOT_INO: u64 = 1;

fn open_proc_root() -> Result<OwnedFd, FsError> {
    let fd = rustix::fs::open(
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| FsError::os("open", "/proc", e))?;
    let fs = rustix::fs::fstatfs(&fd).map_err(|e| FsError::os("statfs", "/proc", e))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| FsError::os("stat", "/proc", e))?;
    #[allow(clippy::useless_conversion, trivial_numeric_casts)]
    let f_type = i64::from(fs.f_type);
    if f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO {
        return Err(FsError::Unsupported(
            "execute: `/proc` is not the root of a procfs".to_owned(),
        ));
    }
    Ok(fd)
}

fn ns_ino(dir: impl AsFd, kind: &str, what: &str) -> Result<(OwnedFd, (u64, u64)), FsError> {
    let rel = format!("ns/{kind}");
    let fd = rustix::fs::openat(
        dir,
        rel.as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::NOENT | Errno::SRCH => FsError::NotFound {
            path: format!("{what}/{rel}"),
        },
        Errno::ACCESS | Errno::PERM => privilege(format_args!("open `{what}/{rel}`"), e),
        e => FsError::os("open", format!("{what}/{rel}"), e),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| FsError::os("stat", format!("{what}/{rel}"), e))?;
    Ok((fd, (st.st_dev, st.st_ino)))
}

impl TargetNamespaces {
    /// Opens and pins the namespaces of process `pid` (nothing is entered yet). A target
    /// in another user namespace is refused (`UnsupportedOperationError`).
    pub(crate) fn open(pid: i64) -> Result<Self, FsError> {
        let not_found = || FsError::NotFound {
            path: format!("/proc/{pid}"),
        };
        if pid <= 0 || i32::try_from(pid).is_err() {
            return Err(not_found());
        }
        let proc_root = open_proc_root()?;
        let dir = rustix::fs::openat(
            &proc_root,
            pid.to_string().as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|_| not_found())?;
        let own = rustix::fs::openat(
            &proc_root,
            "thread-self",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FsError::os("open", "/proc/thread-self", e))?;
        let what = format!("/proc/{pid}");
        let (_, their_user) = ns_ino(&dir, "user", &what)?;
        let (_, our_user) = ns_ino(&own, "user", "/proc/thread-self")?;
        if their_user != our_user {
            return Err(FsError::Unsupported(format!(
                "execute: process `{pid}` is in another user namespace, and a multithreaded \
                 process such as rex cannot enter a user namespace"
            )));
        }
        let mut enter = Vec::new();
        let mut mount = false;
        for (kind, ty) in KINDS {
            let (fd, theirs) = ns_ino(&dir, kind, &what)?;
            let (_, ours) = ns_ino(&own, kind, "/proc/thread-self")?;
            if theirs != ours {
                mount |= ty == LinkNameSpaceType::Mount;
                enter.push((fd, ty, kind));
            }
        }
        Ok(Self {
            pid,
            enter,
            proc_root,
            mount,
        })
    }

    /// Whether the child will be in another mount namespace: its program is then run as
    /// `self/fd/<n>` relative to rex's procfs (the working directory the child starts
    /// in), never through the `/proc` of the target's mount namespace, which the target
    /// may control.
    pub(crate) fn enters_mount(&self) -> bool {
        self.mount
    }

    fn enter(&self) -> Result<(), FsError> {
        if self.mount {
            // setns(CLONE_NEWNS) refuses a thread sharing its fs context (root, cwd) with
            // other threads: give the launcher its own.
            #[expect(
                deprecated,
                reason = "only FS is unshared, which `unshare_unsafe` does not concern"
            )]
            rustix::thread::unshare(rustix::thread::UnshareFlags::FS)
                .map_err(|e| privilege("unshare the filesystem context", e))?;
        }
        for (fd, ty, kind) in &self.enter {
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(*ty)).map_err(|e| {
                privilege(
                    format_args!("enter the {kind} namespace of process `{}`", self.pid),
                    e,
                )
            })?;
        }
        if self.mount {
            rustix::process::fchdir(&self.proc_root)
                .map_err(|e| FsError::os("change directory to", "/proc", e))?;
        }
        Ok(())
    }
}

/// What the launcher thread takes on before it spawns.
#[derive(Debug)]
pub(crate) struct Launch {
    /// Switch the thread's real/effective/saved uid (and clear its groups, as root).
    pub uid: Option<u32>,
    /// Switch the thread's real/effective/saved gid.
    pub gid: Option<u32>,
    /// Capabilities to pass on (inheritable + ambient).
    pub caps: CapabilitySet,
    /// Namespaces to enter.
    pub target: Option<TargetNamespaces>,
}

impl Launch {
    /// A launch passing on `names` (checked to be held by rex), as `uid`/`gid`, into
    /// `target`'s namespaces.
    pub(crate) fn new(
        names: &[String],
        uid: Option<u32>,
        gid: Option<u32>,
        target: Option<TargetNamespaces>,
    ) -> Result<Self, FsError> {
        let caps = capability_set(names)?;
        ensure_held(caps)?;
        Ok(Self {
            uid,
            gid,
            caps,
            target,
        })
    }

    /// Whether anything needs the launcher (otherwise `Command::spawn` on the calling
    /// thread does the same).
    pub(crate) fn needed(&self) -> bool {
        !self.caps.is_empty() || self.target.is_some()
    }

    /// Spawns `cmd` from a fresh thread that takes on this launch's namespaces, identity
    /// and capabilities first, and ends right after. The calling thread is unchanged.
    pub(crate) fn spawn(&self, cmd: &mut Command) -> Result<Child, FsError> {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("rex-launcher".to_owned())
                .spawn_scoped(s, || {
                    self.take_on()?;
                    cmd.spawn()
                        .map_err(|e| FsError::Internal(format!("execute: spawn: {e}")))
                })
                .map_err(|e| FsError::Internal(format!("execute: launcher thread: {e}")))?
                .join()
                .map_err(|_| {
                    FsError::Internal("execute: the launcher thread panicked".to_owned())
                })?
        })
    }

    /// Runs on the launcher thread only.
    fn take_on(&self) -> Result<(), FsError> {
        if let Some(t) = &self.target {
            t.enter()?;
        }
        let switching_uid = self
            .uid
            .is_some_and(|u| u != rustix::process::getuid().as_raw());
        if switching_uid && !self.caps.is_empty() {
            rustix::thread::set_keep_capabilities(true)
                .map_err(|e| privilege("keep capabilities across the user switch", e))?;
        }
        if let Some(g) = self.gid {
            let g = rustix::process::Gid::from_raw(g);
            rustix::thread::set_thread_res_gid(g, g, g)
                .map_err(|e| privilege(format_args!("switch to group `{}`", g.as_raw()), e))?;
        }
        if let Some(u) = self.uid {
            if rustix::process::getuid().is_root() {
                rustix::thread::set_thread_groups(&[])
                    .map_err(|e| privilege("clear the supplementary groups", e))?;
            }
            let u = rustix::process::Uid::from_raw(u);
            rustix::thread::set_thread_res_uid(u, u, u)
                .map_err(|e| privilege(format_args!("switch to user `{}`", u.as_raw()), e))?;
        }
        if !self.caps.is_empty() {
            rustix::thread::set_capabilities(
                None,
                CapabilitySets {
                    effective: self.caps,
                    permitted: self.caps,
                    inheritable: self.caps,
                },
            )
            .map_err(|e| privilege("set the launcher's capabilities", e))?;
            for (bit, one) in single_caps(self.caps) {
                rustix::thread::configure_capability_in_ambient_set(one, true).map_err(|e| {
                    privilege(
                        format_args!("raise `{}` in the ambient set", cap_name(bit)),
                        e,
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// Refuses (`PrivilegeError`, naming the first one) capabilities rex cannot pass on: not
/// in the calling thread's permitted set or not in its bounding set.
fn ensure_held(caps: CapabilitySet) -> Result<(), FsError> {
    if caps.is_empty() {
        return Ok(());
    }
    let held =
        rustix::thread::capabilities(None).map_err(|e| privilege("read rex's capabilities", e))?;
    for (bit, one) in single_caps(caps) {
        let bounded = rustix::thread::capability_is_in_bounding_set(one).unwrap_or(false);
        if !held.permitted.contains(one) || !bounded {
            return Err(FsError::Privilege(format!(
                "execute: capability `{}` is not in rex's permitted {} set, so it cannot be \
                 passed on",
                cap_name(bit),
                if bounded { "capability" } else { "bounding" }
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn capability_names_parse_in_every_spelling() {
        for n in ["CAP_NET_ADMIN", "cap_net_admin", "NET_ADMIN", "net_admin"] {
            let c = parse_capability(n).unwrap();
            assert_eq!(c.bit, 12, "{n}");
            assert_eq!(c.name, "CAP_NET_ADMIN");
        }
        assert_eq!(parse_capability("checkpoint_restore").unwrap().bit, 40);
        assert_eq!(parse_capability("CAP_CHOWN").unwrap().bit, 0);
        let e = parse_capability("CAP_FLY").unwrap_err();
        assert!(e.to_string().contains("`CAP_FLY`"), "{e}");
        assert_eq!(
            canonical_capabilities(&["sys_admin".into(), "CAP_SYS_ADMIN".into(), "kill".into()])
                .unwrap(),
            ["CAP_KILL", "CAP_SYS_ADMIN"]
        );
    }

    #[test]
    fn rustix_bits_match_the_table() {
        assert_eq!(
            capability_set(&["NET_BIND_SERVICE".into()]).unwrap(),
            CapabilitySet::NET_BIND_SERVICE
        );
        assert_eq!(
            capability_set(&["CHECKPOINT_RESTORE".into()]).unwrap(),
            CapabilitySet::CHECKPOINT_RESTORE
        );
        assert_eq!(
            capability_set(&["SYS_ADMIN".into()]).unwrap(),
            CapabilitySet::SYS_ADMIN
        );
    }
}
