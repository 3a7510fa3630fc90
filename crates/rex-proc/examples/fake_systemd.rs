//! A private D-Bus with a fake systemd, for trying systemd scripts on a machine without
//! systemd (or without touching the real one).
//!
//! ```sh
//! cargo run -q -p rex-proc --example fake_systemd -- nginx.service
//! # prints REX_SYSTEMD_BUS=unix:path=...; export it in another shell, then run rex there.
//! # Each call the fake systemd receives is printed; it stops at end of input (Ctrl-D).
//! ```
#![forbid(unsafe_code)]

use std::io::Read;
use std::process::ExitCode;

use rex_proc::testbus::TestBus;

fn main() -> ExitCode {
    let units: Vec<String> = std::env::args().skip(1).collect();
    if units.is_empty() {
        eprintln!("usage: fake_systemd UNIT.service...");
        return ExitCode::from(2);
    }
    let names: Vec<&str> = units.iter().map(String::as_str).collect();
    let bus = match TestBus::start(&names) {
        Ok(bus) => bus,
        Err(e) => {
            eprintln!("fake_systemd: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("REX_SYSTEMD_BUS={}", bus.address());
    // Serve until stdin closes, then report what systemd was asked to do.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    for call in bus.calls() {
        println!("call: {call}");
    }
    ExitCode::SUCCESS
}
