//! Script arguments in the REX JSON format: parsing never panics, a value that parses
//! and passes the depth check converts to Rhai values, and parsing is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rex_engine::ScriptArgs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(args) = ScriptArgs::parse("fuzz.json", text) else {
        return;
    };
    let again = ScriptArgs::parse("fuzz.json", text);
    assert_eq!(
        again.as_ref().ok(),
        Some(&args),
        "parsing is not deterministic"
    );
    if args.validate_depth().is_ok() {
        for (name, value) in args.to_dynamics() {
            assert!(!value.type_name().is_empty(), "{name}");
        }
    }
});
