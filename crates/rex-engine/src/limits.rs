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
    /// Resident memory of the whole process, checked every 65,536 operations. Catches
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
