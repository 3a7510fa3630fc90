//! Errors of `rex-sandbox` and their `SandboxErrorKind` classification.

use std::fmt;

/// The classes of sandbox errors (rex addition: the original REX had no kernel backstop,
/// so there are no original constant names to keep). Classifying an error grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxErrorKind {
    /// `--sandbox required` and the kernel cannot enforce part of the plan.
    Unsupported,
    /// Building or applying the Landlock ruleset failed.
    Landlock,
    /// Building or installing the seccomp filter failed.
    Seccomp,
    /// `prctl(PR_SET_NO_NEW_PRIVS)` failed.
    NoNewPrivs,
    /// `setrlimit` failed.
    ResourceLimit,
    /// A malformed argument (e.g. an unknown mode).
    InvalidArgument,
}

impl SandboxErrorKind {
    /// Every kind.
    pub const ALL: &'static [SandboxErrorKind] = &[
        Self::Unsupported,
        Self::Landlock,
        Self::Seccomp,
        Self::NoNewPrivs,
        Self::ResourceLimit,
        Self::InvalidArgument,
    ];

    /// The variant name, e.g. `"Unsupported"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Unsupported => "Unsupported",
            Self::Landlock => "Landlock",
            Self::Seccomp => "Seccomp",
            Self::NoNewPrivs => "NoNewPrivs",
            Self::ResourceLimit => "ResourceLimit",
            Self::InvalidArgument => "InvalidArgument",
        }
    }
}

impl fmt::Display for SandboxErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the sandbox could not be set up. In `auto` mode only [`SandboxError::InvalidMode`]
/// is ever returned: every other failure becomes a note in the report.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `required` mode and a part of the plan cannot be enforced on this kernel/process.
    #[error("sandbox required but `{part}` cannot be enforced: {reason}")]
    Unsupported {
        /// `landlock`, `seccomp`, `no_new_privs`, `resource limits` or `threads`.
        part: &'static str,
        /// What the kernel said, or what is missing.
        reason: String,
    },
    /// The Landlock ruleset could not be built or applied.
    #[error("landlock failed at `{what}`: {reason}")]
    Landlock {
        /// The step (`create ruleset`, `add rule for /path`, `restrict_self`).
        what: String,
        /// The crate's or kernel's message.
        reason: String,
    },
    /// The seccomp filter could not be installed.
    #[error("seccomp failed: `{0}`")]
    Seccomp(String),
    /// `no_new_privs` could not be set.
    #[error("no_new_privs failed: `{0}`")]
    NoNewPrivs(String),
    /// A resource limit could not be set.
    #[error("cannot set resource limit `{resource}`: {reason}")]
    ResourceLimit {
        /// `address space`, `open files`, `processes` or `core dumps`.
        resource: &'static str,
        /// The OS error.
        reason: String,
    },
    /// An unknown `--sandbox` value.
    #[error("invalid sandbox mode `{0}` (expected off, auto or required)")]
    InvalidMode(String),
}

impl SandboxError {
    /// The class of this error.
    pub fn kind(&self) -> SandboxErrorKind {
        match self {
            Self::Unsupported { .. } => SandboxErrorKind::Unsupported,
            Self::Landlock { .. } => SandboxErrorKind::Landlock,
            Self::Seccomp(_) => SandboxErrorKind::Seccomp,
            Self::NoNewPrivs(_) => SandboxErrorKind::NoNewPrivs,
            Self::ResourceLimit { .. } => SandboxErrorKind::ResourceLimit,
            Self::InvalidMode(_) => SandboxErrorKind::InvalidArgument,
        }
    }

    /// Always `None`: the sandbox makes no policy decision of its own (kept for the same
    /// shape as the SDK crates' errors).
    pub fn denied(&self) -> Option<&rex_policy::Denied> {
        None
    }
}
