//! rex-policy: the Cedar side of rex.
//!
//! - the embedded schema ([`schema::SCHEMA_TEXT`]), compatible with the original REX schema;
//! - [`Policies`]: policy files parsed and validated strictly against it at load, every
//!   problem located by file, line and column (one Cedar parse and validation per policy
//!   *shape* at load, each policy itself parsed when a request first needs it: 10,000
//!   policies load in tens of milliseconds; a set that names its actions is validated
//!   against the schema cut to them, which finds a set valid exactly when the whole schema
//!   does and is cheaper to build, see [`schema`]);
//! - [`Gate`]: the principal fixed for the run, the policies and the mode; its
//!   [`Gate::check`] is the only way to obtain a [`Permit`], and a refusal is a [`Denied`]
//!   that explains itself and suggests the minimal permit;
//! - the decision log ([`audit`]), one JSON line per decision;
//! - [`CanonicalPath`] and [`Resource`]: what requests are about;
//! - [`cpu::leave_this_cpu`]: how a thread that starts a helper lets it run at once (used
//!   by the schema's helpers and the sandbox's rule threads).
#![forbid(unsafe_code)]

pub mod action;
pub mod audit;
pub mod context;
pub mod cpu;
mod denied;
mod error;
mod gate;
mod index;
pub mod learn;
pub mod lint;
pub mod path;
mod policies;
mod principal;
mod resource;
pub mod schema;
mod statements;

pub use action::Action;
pub use denied::{Denied, DenyReason, PolicyRef};
pub use error::{GateError, PathError, PolicyError, SourceDiagnostic};
pub use gate::{
    DecisionCounts, Gate, GateBuilder, Mode, Permit, Previewed, RecordedRequest, Verdict,
};
pub use path::CanonicalPath;
pub use policies::{Policies, PolicyOrigin, PolicyView};
pub use principal::effective_user_name;
pub use resource::{AttrValue, ContextEntity, DIR_TYPE, FILE_TYPE, Resource, TYPES};
