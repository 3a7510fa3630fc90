//! Core-dump analysis through gdb: `CoreDump(exe, core)`, `backtrace`,
//! `get_variables`. gdb is a program like any other: it needs `execute` (fix 11 of the
//! spec README; the original ran it unchecked), and the executable and the core each
//! need `open` and `read`. gdb gets them as `/proc/self/fd/<n>` of fds opened on the
//! authorized inodes, so it reads exactly what was checked.

use std::collections::BTreeMap;
use std::time::Instant;

use regex::Regex;
use rex_policy::Gate;
use rex_policy::action::fs::READ;
use rustix::fd::{AsFd, OwnedFd};

use crate::authorize;
use crate::error::FsError;
use crate::execute::{ExecArg, ExecuteOptions, raw};
use crate::file::FileHandle;
use crate::helpers::open_file_at;
use crate::reopen;

/// Where gdb is looked for (symlinks followed; the target's canonical path is what
/// `open` and `execute` are checked on).
pub const GDB_PATH: &str = "/usr/bin/gdb";

/// One stack frame.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    /// 0 for the innermost.
    pub frame_number: i64,
    /// Function name (`??` when unknown).
    pub function_name: String,
    /// Instruction pointer, when gdb printed one.
    pub instruction_ptr: Option<String>,
    /// Source file, when known.
    pub source: Option<String>,
    /// Source line, when known.
    pub line_number: Option<i64>,
}

/// One thread of the dumped process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TracedThread {
    /// gdb's thread number.
    pub id: i64,
    /// The kernel thread id (LWP).
    pub tid: i64,
    /// Its frames, innermost first.
    pub frames: Vec<Frame>,
}

/// The dumped process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TracedProcess {
    /// Process id (the first thread's LWP).
    pub pid: i64,
    /// Its threads.
    pub threads: Vec<TracedThread>,
}

/// An executable and its core dump, opened after `open` on each (and on gdb).
#[derive(Debug, Clone)]
pub struct CoreDump {
    exe: FileHandle,
    core: FileHandle,
    gdb: FileHandle,
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.[]->".contains(c))
}

impl CoreDump {
    /// Opens the executable and the core (`open` on each `Dir(parent)` and `File`) and
    /// gdb at [`GDB_PATH`].
    pub fn open(gate: &Gate, exe_path: &str, core_path: &str) -> Result<Self, FsError> {
        Ok(Self {
            exe: open_file_at(gate, exe_path, false)?,
            core: open_file_at(gate, core_path, false)?,
            gdb: open_file_at(gate, GDB_PATH, false)?,
        })
    }

    fn readable(&self, gate: &Gate, f: &FileHandle) -> Result<OwnedFd, FsError> {
        let permit = authorize::file(gate, READ, f.path())?;
        authorize::ensure(&permit, READ, f.path())?;
        let fd = reopen::for_reading(f.fd(), f.path().as_str())?;
        // Not close-on-exec: gdb inherits exactly these two.
        rustix::io::dup(&fd).map_err(|e| FsError::os("dup", f.path().as_str(), e))
    }

    fn gdb(
        &self,
        gate: &Gate,
        commands: &[String],
        deadline: Option<Instant>,
    ) -> Result<String, FsError> {
        let exe = self.readable(gate, &self.exe)?;
        let core = self.readable(gate, &self.core)?;
        let (e, c) = (raw(exe.as_fd()), raw(core.as_fd()));
        let mut args = vec![
            ExecArg::Word("-nx".into()),
            ExecArg::Word("-q".into()),
            ExecArg::Word("-batch".into()),
            ExecArg::Pair("-iex".into(), "set auto-load off".into()),
        ];
        args.extend(
            commands
                .iter()
                .map(|c| ExecArg::Pair("-ex".into(), c.clone())),
        );
        args.push(ExecArg::Word(format!("/proc/self/fd/{e}")));
        args.push(ExecArg::Word(format!("/proc/self/fd/{c}")));
        let opts = ExecuteOptions {
            args,
            max_output_bytes: 4 << 20,
            deadline,
            ..ExecuteOptions::default()
        };
        let r = self
            .gdb
            .execute_with(gate, &opts, &[exe.as_fd(), core.as_fd()])?;
        drop((exe, core));
        if r.exit_code != 0 && r.stdout.is_empty() {
            return Err(FsError::Format {
                path: self.core.path().to_string(),
                format: "a core dump gdb can read",
                reason: r.stderr.lines().last().unwrap_or_default().to_owned(),
            });
        }
        Ok(r.stdout)
    }

    /// Every thread's stack. Checks: `read` on the executable and the core, `execute`
    /// on gdb (with the gdb arguments in the context).
    pub fn backtrace(
        &self,
        gate: &Gate,
        deadline: Option<Instant>,
    ) -> Result<TracedProcess, FsError> {
        let out = self.gdb(gate, &["thread apply all bt".to_owned()], deadline)?;
        Ok(parse_backtrace(&out))
    }

    /// Values of `names` (C expressions made of identifiers, `.`, `->` and `[n]` only)
    /// in `frame` of `thread` (default: the current thread), as gdb prints them. Checks
    /// as [`CoreDump::backtrace`].
    pub fn get_variables(
        &self,
        gate: &Gate,
        thread: Option<i64>,
        frame: i64,
        names: &[String],
        deadline: Option<Instant>,
    ) -> Result<BTreeMap<String, String>, FsError> {
        if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
            return Err(FsError::InvalidArguments(format!(
                "get_variables: `{}` is not a variable name",
                bad.escape_debug()
            )));
        }
        let mut cmds = Vec::new();
        if let Some(t) = thread {
            cmds.push(format!("thread {t}"));
        }
        cmds.push(format!("frame {frame}"));
        for n in names {
            cmds.push(format!("echo @@rex:{n}\\n"));
            cmds.push(format!("print {n}"));
        }
        let out = self.gdb(gate, &cmds, deadline)?;
        let mut vars = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in out.lines() {
            if let Some(n) = line.strip_prefix("@@rex:") {
                current = Some(n.to_owned());
            } else if let Some(n) = current.take() {
                let v = line.split_once(" = ").map_or(line, |(_, v)| v);
                vars.insert(n, v.to_owned());
            }
        }
        Ok(vars)
    }
}

/// Parses `thread apply all bt` output.
pub fn parse_backtrace(out: &str) -> TracedProcess {
    let thread_re = Regex::new(r"^Thread (\d+) \(.*?LWP (\d+)").ok();
    let frame_re =
        Regex::new(r"^#(\d+)\s+(?:(0x[0-9a-fA-F]+) in )?(\S+) \(.*?\)(?: at (\S+):(\d+))?").ok();
    let mut threads: Vec<TracedThread> = Vec::new();
    // Frames printed before any `Thread N` header (gdb shows the current frame when it
    // loads a core) are used only when no header follows.
    let mut loose = TracedThread {
        id: 1,
        tid: 0,
        frames: Vec::new(),
    };
    for line in out.lines() {
        if let Some(c) = thread_re.as_ref().and_then(|r| r.captures(line)) {
            let num = |i| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
            threads.push(TracedThread {
                id: num(1),
                tid: num(2),
                frames: Vec::new(),
            });
        } else if let Some(c) = frame_re.as_ref().and_then(|r| r.captures(line)) {
            let s = |i| c.get(i).map(|m| m.as_str().to_owned());
            let frame = Frame {
                frame_number: s(1).and_then(|v| v.parse().ok()).unwrap_or(0),
                instruction_ptr: s(2),
                function_name: s(3).unwrap_or_default(),
                source: s(4),
                line_number: s(5).and_then(|v| v.parse().ok()),
            };
            match threads.last_mut() {
                Some(t) => t.frames.push(frame),
                None => loose.frames.push(frame),
            }
        }
    }
    if threads.is_empty() && !loose.frames.is_empty() {
        threads.push(loose);
    }
    let pid = threads.iter().map(|t| t.tid).min().unwrap_or(0);
    TracedProcess { pid, threads }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdb_output_is_parsed() {
        let out = "#0  main () at m.c:3\n\nThread 2 (Thread 0x7f00 (LWP 101)):\n#0  0x00007f in nanosleep () from /lib/libc.so.6\n#1  0x0000 in worker (arg=0x0) at w.c:12\n\nThread 1 (LWP 100):\n#0  main () at m.c:3\n";
        let p = parse_backtrace(out);
        assert_eq!(p.pid, 100);
        assert_eq!(p.threads.len(), 2);
        assert_eq!(p.threads[0].frames[1].function_name, "worker");
        assert_eq!(p.threads[0].frames[1].line_number, Some(12));
        assert_eq!(p.threads[1].frames[0].source.as_deref(), Some("m.c"));
        assert!(valid_name("a.b->c[2]"));
        assert!(!valid_name("x\nshell id"));
        assert!(!valid_name("$rip"));
    }
}
