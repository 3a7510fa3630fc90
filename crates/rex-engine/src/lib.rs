//! rex-engine: runs a Rhai script under a [`rex_policy::Gate`] and produces the REX output
//! document.
//!
//! The engine has no module resolver (`import` is a syntax error), no `eval`, strict
//! variables, and explicit [`Limits`] identical in every build profile, including a
//! wall-clock deadline and a memory limit, enforced either by the interpreter's progress
//! callback or, at no per-operation cost, by a watchdog when the caller exits the process
//! after the run ([`Watchdog`]). Scripts reach the host only through the SDK bindings in
//! [`bindings`], each of which asks the gate first. A run registers only the SDK domains
//! its script names ([`Domains::named_by`]; a script that can call a function by a
//! computed name gets every domain), which is most of what building an engine costs.
//! Errors are classified by their Rust type: only an uncaught policy denial is an
//! `ACCESS_DENIED_EXCEPTION`.
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "fs"), allow(dead_code))]

pub mod args;
pub mod bindings;
mod domains;
mod engine;
pub mod limits;
pub mod log;
pub mod output;
mod run;
mod sdk_error;
mod state;
mod usage;

pub use args::{ArgsError, ScriptArgs};
pub use domains::Domains;
pub use limits::{Limits, Watchdog};
pub use output::{ErrorType, OutputDocument, Status};
pub use run::{
    CompileProblem, RunClass, RunOutcome, RunRequest, ScriptThread, compile_check,
    registered_function_names, run, run_then, run_then_on,
};
