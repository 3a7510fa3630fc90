//! Script compile + run under a deny-all policy with tight limits: any text ends with a
//! document (success or a classified error), never a panic, a hang or a granted request.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rex_engine::{Limits, RunRequest, run};
use rex_policy::{Gate, Policies};

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(gate) = Gate::builder().principal("fuzz").build(Policies::empty()) else {
        return;
    };
    let gate = Arc::new(gate);
    let mut request = RunRequest::new("fuzz.rhai", script);
    request.limits = Limits {
        max_operations: 20_000,
        max_string_size: 64 * 1024,
        max_array_size: 10_000,
        max_map_size: 10_000,
        max_variables: 256,
        max_functions: 64,
        // The whole process (libFuzzer and the sanitizer included): only a backstop here.
        max_memory_bytes: 1536 * 1024 * 1024,
        timeout: Duration::from_secs(2),
        max_read_bytes: 64 * 1024,
        ..Limits::default()
    };
    let outcome = run(Arc::clone(&gate), request);
    let _ = outcome.document.to_json();
    // Deny-all: nothing was ever allowed.
    assert_eq!(
        gate.counts().allowed,
        0,
        "a deny-all gate allowed a request"
    );
});
