//! Stack traces of a running process through `gstack`, which needs `execute` like any
//! other program (fix 11: helper programs are not exempt).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rex_policy::action::{fs, process};
use rex_policy::{CanonicalPath, Gate, Resource};
use serde::Serialize;

use crate::error::ProcessError;
use crate::handle::ProcessHandle;

/// Where `gstack` is looked for.
pub const GSTACK: &str = "/usr/bin/gstack";
/// Most bytes of `gstack` output read.
const OUTPUT_LIMIT: usize = 4 * 1024 * 1024;
/// Longest a trace may take when the caller gives no deadline.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of [`trace`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceOptions {
    /// The pid as seen inside the target's pid namespace, reported as the trace's `pid`
    /// (the host pid is what is authorized and traced).
    pub ns_pid: Option<i64>,
}

/// One stack frame.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Frame {
    /// Frame number (0 is innermost).
    pub frame_number: u32,
    /// Function name (`??` when unknown).
    pub function_name: String,
    /// Instruction pointer, as printed (`0x...`), empty when not printed.
    pub instruction_ptr: String,
    /// Source file or library, when known.
    pub source: String,
    /// Line number, when known.
    pub line_number: Option<u32>,
}

/// One thread's stack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TracedThread {
    /// gdb's thread number.
    pub id: u32,
    /// Kernel thread id (LWP).
    pub tid: i64,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
}

/// The stacks of a process's threads.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TracedProcess {
    /// Pid (the namespace pid when `ns_pid` was given).
    pub pid: i64,
    /// Threads.
    pub threads: Vec<TracedThread>,
}

/// Traces process `pid`: authorizes `process_system::Action::"trace"` on it (pinned by a
/// pidfd), then `file_system::Action::"execute"` on the canonical path of `gstack` with
/// the execute context (arguments, environment, user, group), then runs it with a clean
/// environment, no stdin and no inherited fds. `NotFound` when `gstack` is not installed.
/// Stops (killing gstack) at `deadline`.
pub fn trace(
    gate: &Gate,
    pid: i64,
    options: TraceOptions,
    deadline: Option<Instant>,
) -> Result<TracedProcess, ProcessError> {
    let handle = ProcessHandle::open(pid)?;
    gate.check(process::TRACE, &handle.snapshot().resource())?;
    let program = std::fs::canonicalize(GSTACK)
        .map_err(|_| ProcessError::ProgramNotFound(GSTACK.to_owned()))?;
    let program = program
        .to_str()
        .ok_or_else(|| ProcessError::ProgramNotFound(GSTACK.to_owned()))?
        .to_owned();
    let canonical =
        CanonicalPath::new(&program).map_err(|e| ProcessError::Invalid(e.to_string()))?;
    let args = vec![pid.to_string()];
    let env = [("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")];
    gate.check_with_context(
        fs::EXECUTE,
        &Resource::file(&canonical),
        rex_policy::context::helper_execute(&program, &args, &env),
    )?;
    if !handle.is_running() {
        return Err(ProcessError::NotFound(pid));
    }
    let output = run(
        &program,
        &args,
        &env,
        deadline.unwrap_or_else(|| Instant::now() + DEFAULT_TIMEOUT),
    )?;
    Ok(TracedProcess {
        pid: options.ns_pid.unwrap_or(pid),
        threads: parse_gstack(&output),
    })
}

/// Runs a program with a clean environment and no stdin, reading at most
/// [`OUTPUT_LIMIT`] bytes of stdout, killing it at `deadline`.
pub(crate) fn run(
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
    deadline: Instant,
) -> Result<String, ProcessError> {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProcessError::Program {
            program: program.to_owned(),
            message: e.to_string(),
        })?;
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.by_ref().take(OUTPUT_LIMIT as u64).read_to_end(&mut buf);
            // Drain the rest so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut r, &mut std::io::sink());
            buf
        })
    };
    let out = child.stdout.take().map(|s| reader(Box::new(s)));
    let err = child.stderr.take().map(|s| reader(Box::new(s)));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcessError::Program {
                    program: program.to_owned(),
                    message: "killed at the run's deadline".into(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(ProcessError::Program {
                    program: program.to_owned(),
                    message: e.to_string(),
                });
            }
        }
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        return Err(ProcessError::Program {
            program: program.to_owned(),
            message: format!("{status}: {}", String::from_utf8_lossy(&stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// Parses gdb backtrace output (`Thread N (Thread 0x... (LWP tid)):` headers and
/// `#k  0xADDR in func (args) at file:line` / `from lib` frames).
pub(crate) fn parse_gstack(text: &str) -> Vec<TracedThread> {
    let mut threads: Vec<TracedThread> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Thread ") {
            let id = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let tid = rest
                .split("LWP ")
                .nth(1)
                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            threads.push(TracedThread {
                id,
                tid,
                frames: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix('#') {
            let (num, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let rest = rest.trim();
            let (ip, rest) = match rest.strip_prefix("0x") {
                Some(_) => match rest.split_once(" in ") {
                    Some((ip, r)) => (ip.trim().to_owned(), r),
                    None => (rest.to_owned(), ""),
                },
                None => (String::new(), rest),
            };
            let function_name = rest.split(" (").next().unwrap_or("??").trim().to_owned();
            let (source, line_number) = if let Some((_, at)) = rest.rsplit_once(" at ") {
                match at.rsplit_once(':') {
                    Some((f, l)) => (f.to_owned(), l.trim().parse().ok()),
                    None => (at.to_owned(), None),
                }
            } else if let Some((_, from)) = rest.rsplit_once(" from ") {
                (from.to_owned(), None)
            } else {
                (String::new(), None)
            };
            if threads.is_empty() {
                threads.push(TracedThread {
                    id: 1,
                    tid: 0,
                    frames: Vec::new(),
                });
            }
            if let Some(t) = threads.last_mut() {
                t.frames.push(Frame {
                    frame_number: num.parse().unwrap_or(0),
                    function_name,
                    instruction_ptr: ip,
                    source,
                    line_number,
                });
            }
        }
    }
    threads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gdb_backtraces() {
        let t = "Thread 2 (Thread 0x7f00 (LWP 4243) \"worker\"):\n#0  0x00007f12 in poll () from /lib/libc.so.6\n#1  0x0000555 in main (argc=1) at main.c:12\n\nThread 1 (Thread 0x7f01 (LWP 4242)):\n#0  sleep () at s.c:3\n";
        let th = parse_gstack(t);
        assert_eq!(th.len(), 2);
        assert_eq!((th[0].id, th[0].tid), (2, 4243));
        assert_eq!(th[0].frames[0].function_name, "poll");
        assert_eq!(th[0].frames[0].source, "/lib/libc.so.6");
        assert_eq!(th[0].frames[1].line_number, Some(12));
        assert_eq!(th[0].frames[1].instruction_ptr, "0x0000555");
        assert_eq!(th[1].frames[0].function_name, "sleep");
        assert_eq!(th[1].frames[0].source, "s.c");
    }
}
