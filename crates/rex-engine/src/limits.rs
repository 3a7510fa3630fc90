//! Engine limits: the same in every build profile.

use std::time::Duration;

/// Every bound a script runs under. The defaults are the same in debug and release
/// builds (the original's depended on the build profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations before the script is stopped.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Expression nesting at global level.
    pub max_expr_depth: usize,
    /// Expression nesting inside functions.
    pub max_fn_expr_depth: usize,
    /// Bytes in one string (and in all strings held by one array or map).
    pub max_string_size: usize,
    /// Elements in one array (counting nested arrays).
    pub max_array_size: usize,
    /// Entries in one object map (counting nested maps).
    pub max_map_size: usize,
    /// Variables in scope at once.
    pub max_variables: usize,
    /// Script-defined functions.
    pub max_functions: usize,
    /// Resident memory of the whole process, checked every 65,536 operations
    /// ([`Watchdog::InProcess`]) or every 10 ms ([`Watchdog::ExitProcess`]). Catches
    /// growth Rhai's per-value size checks miss (e.g. map inserts by index in a `loop`).
    pub max_memory_bytes: u64,
    /// Wall-clock time for the whole run; SDK calls honour it too.
    pub timeout: Duration,
    /// Bytes one SDK read may return.
    pub max_read_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000_000,
            max_call_levels: 64,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 1_000_000,
            max_map_size: 100_000,
            max_variables: 4096,
            max_functions: 1024,
            max_memory_bytes: 1024 * 1024 * 1024,
            timeout: Duration::from_secs(300),
            max_read_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Who stops a script that runs past its deadline or its memory limit.
///
/// Both end the run with the same ERROR document (`SCRIPT_EXCEPTION`, "Script terminated:
/// wall-clock deadline of ...s exceeded" or "Script terminated: memory limit of ... bytes
/// exceeded ..."). They differ in what happens to the script thread, and in cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Watchdog {
    /// The interpreter checks the clock every 256 operations and resident memory every
    /// 65,536, from Rhai's progress callback; the script thread stops by itself and `run`
    /// returns after it has ended. Any progress callback costs every Rhai operation
    /// (about 4% of a pure compute loop in instructions, more in time). For embedders
    /// that keep running after the run (tests, a long-lived process calling `run`).
    #[default]
    InProcess,
    /// No per-operation callback: the thread that called `run` watches the clock (and
    /// polls resident memory every 10 ms) and returns the ERROR document at the deadline,
    /// leaving the script thread running. The caller must end the process right after it
    /// has written the document, which ends the script thread: `rex run`, `rex-runner`
    /// and server jobs (each a `rex run` child process) do. SDK calls that wait (execute,
    /// HTTP, trace, ...) still end at the deadline by themselves; until the process exits,
    /// anything the script thread does is still checked by the policy. `run` does not
    /// wait for the script thread to end after it has sent its document either.
    ExitProcess,
}
