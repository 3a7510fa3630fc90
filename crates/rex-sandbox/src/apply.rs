//! Applying a plan to the current process.

use crate::error::SandboxError;
use crate::landlock_rules;
use crate::limits;
use crate::mode::SandboxMode;
use crate::plan::SandboxPlan;
use crate::report::{Enforcement, SandboxReport};
use crate::seccomp_filter;

/// Restricts the **current process** according to `plan`: resource limits, then
/// `no_new_privs`, then the Landlock ruleset (on the calling thread and every thread it
/// creates afterwards), then the seccomp filter (on every thread).
///
/// Call it once, from the thread that will start the script thread, after everything the
/// runner needs has been opened (policy files, audit log, script, arguments) and before
/// the script runs. It cannot be undone.
///
/// `off` does nothing. `auto` never fails: what cannot be enforced becomes a note.
/// `required` returns [`SandboxError::Unsupported`] (or the failing step's error) when any
/// part cannot be enforced; the caller must then not run the script.
pub fn apply(plan: &SandboxPlan) -> Result<SandboxReport, SandboxError> {
    let mut report = SandboxReport::new(plan.mode);
    if plan.mode == SandboxMode::Off {
        return Ok(report);
    }
    let required = plan.mode == SandboxMode::Required;
    report.notes.extend(plan.notes.iter().cloned());

    let threads = settled_thread_count(&plan.helper_threads).unwrap_or(1);

    match limits::apply(&plan.limits) {
        Ok(()) => report.resource_limits = Some(plan.limits.describe()),
        Err(e) if required => return Err(e),
        Err(e) => report.notes.push(e.to_string()),
    }

    match rustix::thread::set_no_new_privs(true).and_then(|()| rustix::thread::no_new_privs()) {
        Ok(true) => report.no_new_privs = true,
        Ok(false) if required => {
            return Err(SandboxError::NoNewPrivs("still off after prctl".to_owned()));
        }
        Err(e) if required => return Err(SandboxError::NoNewPrivs(e.to_string())),
        Ok(false) => report
            .notes
            .push("no_new_privs: still off after prctl".to_owned()),
        Err(e) => report.notes.push(format!("no_new_privs: {e}")),
    }

    let landlock = if plan.landlock {
        landlock_rules::enforce(plan, required, threads)
    } else {
        Ok(landlock_rules::Outcome {
            abi: landlock_rules::landlock_abi(),
            enforcement: Enforcement::None,
            rules: 0,
            connect_ports: None,
            notes: Vec::new(),
        })
    };
    match landlock {
        Ok(o) => {
            report.landlock_abi = o.abi;
            report.landlock = o.enforcement;
            report.landlock_rules = o.rules;
            report.connect_ports = o.connect_ports;
            report.notes.extend(o.notes);
        }
        Err(e) if required => return Err(e),
        Err(e) => {
            report.landlock = Enforcement::None;
            report.landlock_abi = landlock_rules::landlock_abi();
            report.notes.push(format!("landlock not applied: {e}"));
        }
    }

    match install_seccomp(plan) {
        Ok(()) => {
            report.seccomp = true;
            report.refused_syscalls = plan.refused.iter().map(|s| s.name).collect();
        }
        Err(e) if required => {
            return Err(SandboxError::Unsupported {
                part: "seccomp",
                reason: e.to_string(),
            });
        }
        Err(e) => report.notes.push(e.to_string()),
    }
    Ok(report)
}

fn install_seccomp(plan: &SandboxPlan) -> Result<(), SandboxError> {
    let arch = seccomp_filter::native_arch().ok_or_else(|| {
        SandboxError::Seccomp(format!(
            "no filter for architecture {}",
            std::env::consts::ARCH
        ))
    })?;
    let program = seccomp_filter::program(arch, &plan.refused, plan.namespaces)
        .map_err(SandboxError::Seccomp)?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| SandboxError::Seccomp(e.to_string()))
}

/// Threads of this process once the threads it has just joined are gone, not counting
/// running `helpers` (threads named so). `join` returns when a thread has released its
/// memory, a moment before the kernel removes it from the process. A thread that still
/// runs after 10 ms is counted.
fn settled_thread_count(helpers: &[String]) -> Option<usize> {
    let mut threads = thread_count(helpers)?;
    for _ in 0..20 {
        if threads <= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(500));
        threads = thread_count(helpers)?;
    }
    Some(threads)
}

/// Threads of this process not named in `helpers`: from `/proc/self/status` when there
/// are no helpers, else by reading every thread's name in `/proc/self/task`.
fn thread_count(helpers: &[String]) -> Option<usize> {
    if helpers.is_empty() {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        return status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok());
    }
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let comm = std::fs::read_to_string(task.ok()?.path().join("comm")).unwrap_or_default();
        if !helpers.iter().any(|h| h == comm.trim_end_matches('\n')) {
            count += 1;
        }
    }
    Some(count)
}
