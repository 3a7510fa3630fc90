//! rex-mcp: rex offered to AI agents as [MCP](https://modelcontextprotocol.io) tools, with
//! the official Rust SDK (`rmcp`).
//!
//! Tools:
//!
//! - `run_script`: runs a Rhai script in its own `rex run` child process
//!   ([`rex_server::child::run_child`]) under the operator's policy and principal, and returns
//!   the REX output document as structured content. A policy denial is a normal tool result
//!   (`error.error_type` = `ACCESS_DENIED_EXCEPTION`) with the explanation and the minimal
//!   permit that would allow it, so the agent can adapt its script.
//! - `check_script`: compiles without running; reports compile errors with line and
//!   column, the SDK functions the script calls with the Cedar actions each may ask for,
//!   and, for literal paths and URLs, whether the operator's policy would allow them.
//! - `list_functions`: the script API reference (what `rex functions` prints).
//! - `explain_denial`: decides one request against the operator's policy for the fixed
//!   principal and says why (what `rex policy explain` prints).
//!
//! What this crate authorizes: nothing by itself. The principal and policy come from
//! [`AgentIdentity`], which only the operator's side builds (the `rex mcp` command line, or
//! `rex serve`'s token table through [`http::router`]); no tool parameter can name a
//! principal, a policy, a mode or a sandbox level. Every host operation of a script is
//! decided by the child's `Gate` with that identity, under the kernel backstop the operator
//! chose.
//!
//! Transports: [`serve_stdio`] (for `rex mcp`) and [`http::router`] (streamable HTTP, an
//! `axum::Router` that `rex serve` nests under `/mcp`).
#![forbid(unsafe_code)]

mod calls;
pub mod check;
mod denial;
pub mod descriptions;
mod error;
pub mod explain;
pub mod http;
mod identity;
pub mod reference;
pub mod runner;
mod server;

pub use error::McpError;
pub use identity::AgentIdentity;
pub use runner::RunnerConfig;
pub use server::{RexMcp, serve_stdio};
