//! rex-engine: runs a Rhai script under a [`rex_policy::Gate`] and produces the REX output
//! document.
//!
//! The engine has no module resolver (`import` is a syntax error), no `eval`, strict
//! variables, and explicit [`Limits`] identical in every build profile, including a
//! wall-clock deadline and a memory limit, enforced either by the interpreter's progress
//! callback or, at no per-operation cost, by a watchdog when the caller exits the process
//! after the run ([`Watchdog`]). Scripts reach the host only through the SDK bindings in
//! [`bindings`], each of which asks the gate first. Errors are classified by their Rust
//! type: only an uncaught policy denial is an `ACCESS_DENIED_EXCEPTION`.
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "fs"), allow(dead_code))]

pub mod args;
pub mod bindings;
mod engine;
pub mod limits;
pub mod log;
pub mod output;
mod run;
mod sdk_error;
mod state;
mod usage;

pub use args::{ArgsError, ScriptArgs};
pub use engine::Domains;
pub use limits::{Limits, Watchdog};
pub use output::{ErrorType, OutputDocument, Status};
pub use run::{
    CompileProblem, RunClass, RunOutcome, RunRequest, compile_check, registered_function_names, run,
};
