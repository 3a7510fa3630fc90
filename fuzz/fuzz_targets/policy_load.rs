//! Policy loading: any text either loads (validated against the schema) or is refused
//! with diagnostics, never a panic. A policy that loads also goes through the sandbox
//! plan (pure: reads neither files nor the kernel) and a gate decision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rex_policy::{CanonicalPath, Gate, Policies, Resource};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let policies = match Policies::from_text("fuzz.cedar", text) {
        Ok(p) => p,
        Err(e) => {
            // The diagnostics render without panicking.
            let _ = e.to_string();
            return;
        }
    };
    let cfg = rex_sandbox::SandboxConfig {
        mode: rex_sandbox::SandboxMode::Required,
        ..Default::default()
    };
    let plan = rex_sandbox::plan(&policies, &cfg);
    let _ = plan.lines();
    let Ok(gate) = Gate::builder().principal("fuzz").build(policies) else {
        return;
    };
    // Every action on a file and a directory: allowed or denied, never a panic.
    let (Ok(file), Ok(dir)) = (
        CanonicalPath::new("/tmp/fuzz/x"),
        CanonicalPath::new("/tmp"),
    ) else {
        return;
    };
    for resource in [Resource::file(&file), Resource::dir(&dir)] {
        for action in rex_policy::action::ALL {
            let _ = gate.check(*action, &resource);
        }
    }
});
