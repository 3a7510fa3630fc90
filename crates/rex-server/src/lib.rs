//! `rex serve`: an authenticated HTTP API that runs scripts on this host, each job in its
//! own `rex run` child process under the operator's Cedar policy, with the operator's caps.
//!
//! - [`config`]: `rex-server.toml` (listen address, TLS, tokens → principal + policy, caps).
//! - [`auth`]: bearer token → SHA-256 → constant-time match → [`auth::Caller`]. The caller
//!   can never choose its principal or policy: both come from the token's configuration.
//! - [`child`]: the job runner shared with `rex mcp`: one child per job, cleared
//!   environment, own process group killed past the deadline, capped output, and always a
//!   REX output document (an `ERROR` one when the child crashed or was killed).
//! - [`store`]: accepted jobs and their results in a redb file that survives restarts.
//! - [`queue`]: `max_concurrent` running, `max_queue` waiting, 429 beyond.
//! - [`http`]: the axum routes (`docs/openapi.json`); [`tls`]: rustls when configured.
//! - [`server`]: binding, recovery after a restart, job tasks, result expiry.
//!
//! What this crate authorizes: which principal and policy a job runs under (the token's),
//! and which jobs a caller may read (its principal's). Every host operation of a job is
//! decided by the child's Cedar `Gate`, with every decision in the audit log carrying the
//! job id and principal; this crate performs no host operation on a job's behalf.
//!
//! # Dependencies and why
//! - `tokio`: child processes with async wait/kill and pipes, timers, the server runtime.
//! - `axum` (hyper underneath): the HTTP server and routing; well kept, small surface with
//!   default features off (`http1`, `json`, `query`).
//! - `rustls` + `tokio-rustls`: TLS without OpenSSL; same rustls 0.23 + `ring` provider as
//!   `rex-net`, so no second crypto stack. Certificates are read with rustls' own PEM
//!   parser (`pki-types`).
//! - `redb`: an embedded, pure-Rust, crash-safe (copy-on-write, fsync on commit) key-value
//!   store; no C build as `rusqlite`'s bundled SQLite would need, and we only need
//!   get/put/scan by job id.
//! - `toml`: the configuration file format.
//! - `ring`: SHA-256 of tokens and the OS random generator for job ids and new tokens
//!   (already in the tree through rustls). `subtle`: constant-time comparison of hashes.
//! - `futures-util`: `stream::unfold` for the streamed logs body.
//! - `rex-engine`: the REX output document type, so error documents made here have the
//!   exact shape of the engine's. `rex-policy`: validating each token's policy at start.
#![forbid(unsafe_code)]

pub mod auth;
pub mod child;
pub mod config;
pub mod http;
pub mod metrics;
pub mod queue;
pub mod server;
pub mod store;
pub mod tls;

pub use auth::Caller;
/// The router type [`Server::mount`] takes.
pub use axum::Router;
pub use child::{ChildJob, ChildOutcome, JobStatus, run_child, run_child_streaming};
pub use config::Config;
pub use http::CallerHook;
pub use server::{Server, ServerError};
