//! Kernel parameters (`sysctl`): each key is the file `/proc/sys/<key with . → />`,
//! authorized as a `File`, opened beneath `/proc/sys` without following any symlink, and
//! read or written through that fd.

use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::RegexBuilder;
use rex_policy::action::{fs, sysctl};
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
use rustix::io::Errno;
use serde::Serialize;

use crate::checked::{HOST_ID, read_all};
use crate::error::SysError;

/// Cedar type of the sysctl configuration singleton.
pub const SYSCTL_TYPE: &str = "sysctl::Sysctl";
/// Where `sysctl` is looked for by `load_system`.
pub const SYSCTL_PROGRAM: &str = "/usr/sbin/sysctl";
/// Most entries `find` walks.
pub const MAX_FIND_ENTRIES: usize = 50_000;
/// Deepest directory level `find` walks.
const MAX_DEPTH: usize = 16;
/// Budget of one value.
const VALUE_LIMIT: usize = 1024 * 1024;
/// Largest compiled regex `find` accepts.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One parameter.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SysctlEntry {
    /// The key (`net.ipv4.ip_forward`).
    pub key: String,
    /// Its value, trailing newline removed.
    pub value: String,
}

/// Reads and writes kernel parameters. The process's credentials never change: a write
/// the runner has no right to fails with the OS error (`PrivilegeError`).
#[derive(Debug, Clone)]
pub struct SysctlManager {
    program: String,
}

impl Default for SysctlManager {
    fn default() -> Self {
        Self {
            program: SYSCTL_PROGRAM.to_owned(),
        }
    }
}

/// The path below `/proc/sys` of `key` (`.` separates levels; a `/` in a key stands for a
/// `.` in a name, as in `net.ipv4.conf.eth0/1.rp_filter`).
pub fn key_to_relative(key: &str) -> Result<String, SysError> {
    let bad = |why: &str| {
        SysError::Invalid(format!(
            "invalid sysctl key `{}`: {why}",
            key.escape_debug()
        ))
    };
    if key.is_empty() {
        return Err(bad("empty"));
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains whitespace or control characters"));
    }
    let components: Vec<String> = key.split('.').map(|c| c.replace('/', ".")).collect();
    if components
        .iter()
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("empty, `.` or `..` component"));
    }
    Ok(components.join("/"))
}

fn relative_to_key(rel: &str) -> String {
    rel.split('/')
        .map(|c| c.replace('.', "/"))
        .collect::<Vec<_>>()
        .join(".")
}

fn proc_sys() -> Result<OwnedFd, SysError> {
    rustix::fs::open(
        "/proc/sys",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| SysError::os("open", "/proc/sys", e))
}

/// Opens `rel` beneath `/proc/sys` with no symlink (or magic link) followed anywhere.
fn open_beneath(dir: &OwnedFd, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    openat2(
        dir.as_fd(),
        rel,
        flags | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
}

/// `File::"/proc/sys/<rel>"` and its parent `Dir`.
fn resources(rel: &str) -> Result<(Resource, Resource), SysError> {
    let path = CanonicalPath::new(&format!("/proc/sys/{rel}"))?;
    let parent = path
        .parent()
        .ok_or_else(|| SysError::Invalid(format!("no parent of `{path}`")))?;
    Ok((Resource::file(&path), Resource::dir(&parent)))
}

fn key_error(key: &str, op: &'static str, e: Errno) -> SysError {
    match e {
        Errno::NOENT => SysError::UnknownKey(key.to_owned()),
        Errno::ISDIR => SysError::Invalid(format!("`{key}` is a group of keys, not a key")),
        e => SysError::os(op, key, e),
    }
}

impl SysctlManager {
    /// A manager. Authorizes nothing and changes no credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager whose `load_system` runs `program` instead of [`SYSCTL_PROGRAM`] (for
    /// hosts where it lives elsewhere, and tests). It still needs `execute` on it.
    pub fn with_program(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// The value of `key`. Needs `open` on the parent `Dir`, then `open` and `read` on
    /// `File::"/proc/sys/<path>"`.
    pub fn read(&self, gate: &Gate, key: &str) -> Result<String, SysError> {
        let rel = key_to_relative(key)?;
        let (file, dir) = resources(&rel)?;
        gate.check(fs::OPEN, &dir)?;
        gate.check(fs::OPEN, &file)?;
        gate.check(fs::READ, &file)?;
        let base = proc_sys()?;
        let fd =
            open_beneath(&base, &rel, OFlags::RDONLY).map_err(|e| key_error(key, "open", e))?;
        let value = read_all(fd.as_fd(), &format!("/proc/sys/{rel}"), VALUE_LIMIT).map_err(
            |e| match e {
                SysError::Os { source, .. } => key_error(key, "read", source),
                e => e,
            },
        )?;
        Ok(value.trim_end_matches('\n').to_owned())
    }

    /// Sets `key` to `value`. Needs `open` on the parent `Dir`, then `open` and `write` on
    /// the `File`. A value the kernel refuses is `InvalidValue`.
    pub fn write(&self, gate: &Gate, key: &str, value: &str) -> Result<(), SysError> {
        let rel = key_to_relative(key)?;
        let (file, dir) = resources(&rel)?;
        gate.check(fs::OPEN, &dir)?;
        gate.check(fs::OPEN, &file)?;
        gate.check(fs::WRITE, &file)?;
        let base = proc_sys()?;
        let fd =
            open_beneath(&base, &rel, OFlags::WRONLY).map_err(|e| key_error(key, "open", e))?;
        let bytes = value.as_bytes();
        let written = rustix::io::write(fd.as_fd(), bytes).map_err(|e| match e {
            Errno::INVAL | Errno::RANGE => SysError::InvalidValue {
                key: key.to_owned(),
                value: value.to_owned(),
            },
            e => key_error(key, "write", e),
        })?;
        if written != bytes.len() {
            return Err(SysError::InvalidValue {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
        Ok(())
    }

    /// Every readable key matching `pattern` (a regex), sorted. Each match is authorized
    /// with `open` and `read` on its `File` before it is read; denied and unreadable keys
    /// are skipped (their number is the second value). Walks at most
    /// [`MAX_FIND_ENTRIES`] entries.
    pub fn find(&self, gate: &Gate, pattern: &str) -> Result<(Vec<SysctlEntry>, usize), SysError> {
        let re = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| SysError::Invalid(format!("invalid regex `{pattern}`: {e}")))?;
        let base = proc_sys()?;
        let mut keys = Vec::new();
        let mut walked = 0usize;
        walk(&base, "", 0, &mut walked, &mut keys)?;
        keys.sort();
        let mut out = Vec::new();
        let mut skipped = 0;
        for rel in keys {
            let key = relative_to_key(&rel);
            if !re.is_match(&key) {
                continue;
            }
            let Ok((file, _)) = resources(&rel) else {
                skipped += 1;
                continue;
            };
            if gate.check(fs::OPEN, &file).is_err() || gate.check(fs::READ, &file).is_err() {
                skipped += 1;
                continue;
            }
            let Ok(fd) = open_beneath(&base, &rel, OFlags::RDONLY) else {
                skipped += 1;
                continue;
            };
            match read_all(fd.as_fd(), &rel, VALUE_LIMIT) {
                Ok(v) => out.push(SysctlEntry {
                    key,
                    value: v.trim_end_matches('\n').to_owned(),
                }),
                Err(_) => skipped += 1,
            }
        }
        Ok((out, skipped))
    }

    /// Runs `sysctl --system` (the program resolved to its canonical path) to apply the host's sysctl configuration files. Needs
    /// `sysctl::Action::"load"` on `sysctl::Sysctl::"localhost"` and
    /// `file_system::Action::"execute"` on the canonical path of `sysctl` (context:
    /// arguments `--system`, a clean environment, the runner's own user and group). The
    /// program gets no stdin, no inherited fds and an environment of `PATH` only; it is
    /// killed at `deadline`.
    pub fn load_system(&self, gate: &Gate, deadline: Option<Instant>) -> Result<String, SysError> {
        gate.check(sysctl::LOAD, &Resource::new(SYSCTL_TYPE, HOST_ID))?;
        let program = std::fs::canonicalize(&self.program)
            .map_err(|_| SysError::ProgramNotFound(self.program.clone()))?;
        let program = program
            .to_str()
            .ok_or_else(|| SysError::ProgramNotFound(self.program.clone()))?
            .to_owned();
        let args = ["--system".to_owned()];
        let env = [("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")];
        gate.check_with_context(
            fs::EXECUTE,
            &Resource::file(&CanonicalPath::new(&program)?),
            rex_policy::context::helper_execute(&program, &args, &env),
        )?;
        run(
            &program,
            &args,
            &env,
            deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(60)),
        )
    }
}

fn walk(
    base: &OwnedFd,
    rel: &str,
    depth: usize,
    walked: &mut usize,
    out: &mut Vec<String>,
) -> Result<(), SysError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let dir_fd = if rel.is_empty() {
        rustix::io::dup(base.as_fd()).map_err(|e| SysError::os("open", "/proc/sys", e))?
    } else {
        match open_beneath(base, rel, OFlags::RDONLY | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(_) => return Ok(()),
        }
    };
    let Ok(mut dir) = rustix::fs::Dir::read_from(dir_fd.as_fd()) else {
        return Ok(());
    };
    let mut subdirs = Vec::new();
    while let Some(Ok(entry)) = dir.read() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        *walked += 1;
        if *walked > MAX_FIND_ENTRIES {
            return Err(SysError::Invalid(format!(
                "`/proc/sys` has more than {MAX_FIND_ENTRIES} entries"
            )));
        }
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        match entry.file_type() {
            rustix::fs::FileType::Directory => subdirs.push(child),
            rustix::fs::FileType::RegularFile => out.push(child),
            _ => {}
        }
    }
    for d in subdirs {
        walk(base, &d, depth + 1, walked, out)?;
    }
    Ok(())
}

/// Runs a program with a clean environment, no stdin and no inherited fds, killing it at
/// `deadline`; its stdout on success.
pub(crate) fn run(
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
    deadline: Instant,
) -> Result<String, SysError> {
    let fail = |message: String| SysError::Program {
        program: program.to_owned(),
        message,
    };
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let read = |r: Option<Box<dyn std::io::Read + Send>>| {
        r.map(|mut r| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ =
                    std::io::Read::read_to_end(&mut std::io::Read::take(&mut r, 1 << 20), &mut buf);
                let _ = std::io::copy(&mut r, &mut std::io::sink());
                buf
            })
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail("killed at the run's deadline".into()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(e.to_string())),
        }
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        return Err(fail(format!(
            "{status}: {}",
            String::from_utf8_lossy(&stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_paths() {
        assert_eq!(
            key_to_relative("net.ipv4.ip_forward").unwrap(),
            "net/ipv4/ip_forward"
        );
        assert_eq!(
            key_to_relative("net.ipv4.conf.eth0/1.rp_filter").unwrap(),
            "net/ipv4/conf/eth0.1/rp_filter"
        );
        assert_eq!(
            relative_to_key("net/ipv4/conf/eth0.1/rp_filter"),
            "net.ipv4.conf.eth0/1.rp_filter"
        );
        for bad in ["", "a..b", ".a", "a.", "a b", "a.\n", "a./..", "kernel./"] {
            assert!(key_to_relative(bad).is_err(), "{bad:?} accepted");
        }
    }
}
