//! Errors of setting up the MCP front door (tool failures are tool results, not these).

use std::path::PathBuf;

/// A failure to set up or serve the MCP front door.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// A policy file did not load or validate.
    #[error("policy `{path}`: {message}")]
    Policy {
        /// The file (or files, joined).
        path: String,
        /// The loader's message with every diagnostic.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// No policy file was given.
    #[error("no policy file given: the operator must choose the agent's policy (`-p POLICY`)")]
    NoPolicy,
    /// The principal name is not usable.
    #[error("invalid principal `{0}`")]
    Principal(String),
    /// The MCP transport failed.
    #[error("mcp transport: {0}")]
    Transport(String),
}
