//! What the caller chooses: the mode, resource limits, and the paths the runner itself
//! needs besides what the policy names.

use std::path::PathBuf;

use serde::Serialize;

use crate::mode::SandboxMode;

/// Default address-space limit: 4 GiB.
pub const DEFAULT_ADDRESS_SPACE: u64 = 4 << 30;
/// Default open-file limit.
pub const DEFAULT_OPEN_FILES: u64 = 1024;
/// Default process limit (`RLIMIT_NPROC`, counted per real user id across the system;
/// root is exempt).
pub const DEFAULT_PROCESSES: u64 = 1024;

/// Resource limits set with `setrlimit` (soft and hard limit alike, never above the
/// current hard limit, so neither the script nor a program it runs can raise them back).
/// `None` leaves a limit as the runner inherited it.
///
/// Limits authorize nothing; they bound what an authorized operation can consume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceLimits {
    /// `RLIMIT_AS` in bytes (default [`DEFAULT_ADDRESS_SPACE`], 4 GiB).
    pub address_space: Option<u64>,
    /// `RLIMIT_NOFILE` (default [`DEFAULT_OPEN_FILES`], 1024).
    pub open_files: Option<u64>,
    /// `RLIMIT_NPROC` (default [`DEFAULT_PROCESSES`], 1024).
    pub processes: Option<u64>,
    /// Whether core dumps may be written (`RLIMIT_CORE`; default `false`, i.e. 0).
    pub core_dumps: bool,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            address_space: Some(DEFAULT_ADDRESS_SPACE),
            open_files: Some(DEFAULT_OPEN_FILES),
            processes: Some(DEFAULT_PROCESSES),
            core_dumps: false,
        }
    }
}

impl ResourceLimits {
    /// No limit changed at all.
    pub fn unchanged() -> Self {
        Self {
            address_space: None,
            open_files: None,
            processes: None,
            core_dumps: true,
        }
    }

    /// One line for the report, e.g. `address space 4 GiB, open files 1024, ...`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(b) = self.address_space {
            parts.push(format!("address space {}", bytes(b)));
        }
        if let Some(n) = self.open_files {
            parts.push(format!("open files {n}"));
        }
        if let Some(n) = self.processes {
            parts.push(format!("processes {n}"));
        }
        if !self.core_dumps {
            parts.push("core dumps off".to_owned());
        }
        if parts.is_empty() {
            "unchanged".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn bytes(b: u64) -> String {
    if b.is_multiple_of(1 << 30) {
        format!("{} GiB", b >> 30)
    } else if b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else {
        format!("{b} bytes")
    }
}

/// Everything [`crate::plan`] needs besides the policy.
///
/// Holding a config authorizes nothing: paths listed here are opened to the *kernel*
/// backstop only; every script operation on them still needs a Cedar permit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SandboxConfig {
    /// Off, auto (default) or required.
    pub mode: SandboxMode,
    /// Resource limits (defaults: 4 GiB address space, 1024 open files, 1024 processes,
    /// no core dumps).
    pub limits: ResourceLimits,
    /// Files or directories the runner itself reads after the sandbox is applied (beyond
    /// the built-in runtime set: `/proc/self`, `/dev/null`, ...). Read access only
    /// (Landlock `ReadFile`, `ReadDir`).
    pub extra_read_paths: Vec<PathBuf>,
    /// Directories or files the runner itself writes after the sandbox is applied, e.g. the
    /// directory of an audit log it opens lazily (Landlock `ReadFile`, `ReadDir`,
    /// `WriteFile`, `Truncate`, `MakeReg`). A log file already open before [`crate::apply`]
    /// needs nothing: Landlock checks access when a file is opened.
    pub extra_write_paths: Vec<PathBuf>,
    /// Names of this process's own threads that may still run when the sandbox is
    /// applied and are not counted as threads Landlock leaves out: threads that run no
    /// script code, act on nothing outside the process, and end before the script starts.
    /// The runner lists its schema thread (`rex-schema`), which builds the Cedar schema
    /// from text compiled into the binary while the sandbox is applied. Any other thread
    /// still counts (a note in `auto`, an error in `required` on kernels before Landlock
    /// ABI 8, which can restrict every thread).
    pub helper_threads: Vec<String>,
}
