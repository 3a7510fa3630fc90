//! Release builds of `rex-runner` and `rex` on x86_64 Linux lay out the functions a short
//! run executes (`startup.order`, made by `bench/startup-order.sh`) next to each other.
//!
//! The kernel maps code 64 KiB at a time around each page a process faults in. A start-up
//! executes about 3 MB of code spread over all 16 MB of the binary, so without the order
//! every 64 KiB block is touched and counted in peak RSS (10 MB of the runner's 17 MB);
//! with it they fill 3 MB. The order changes where functions sit, not what they do.
//!
//! Only rust-lld (the default linker of Rust 1.90+ on `x86_64-unknown-linux-gnu`) reads
//! the list, so the flag is added only there, and never when a linker is configured
//! (`RUSTC_LINKER`, `-C linker` in the flags) or `REX_NO_STARTUP_ORDER` is set. A name
//! not in the binary is skipped silently.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=startup.order");
    println!("cargo::rerun-if-env-changed=REX_NO_STARTUP_ORDER");
    if !wanted() {
        return;
    }
    let Ok(dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&dir).join("startup.order");
    if !order.is_file() {
        return;
    }
    println!(
        "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

fn wanted() -> bool {
    let var = |k: &str| env::var(k).unwrap_or_default();
    var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("PROFILE") == "release"
        && env::var_os("REX_NO_STARTUP_ORDER").is_none()
        && env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("linker")
        && rustc_minor().is_some_and(|minor| minor >= 90)
}

/// The minor version of the compiler cargo uses (`rustc 1.95.0 (...)` gives 95).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}
