//! Errors of `rex-sys` and the two classifications scripts compare against:
//! `SysteminfoErrorKind` (system information and sysctl) and `DiskinfoErrorKind` (disks).

use std::fmt;

use rex_policy::{Denied, DenyReason, PathError};
use rustix::io::Errno;

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $v),* }
        impl $name {
            /// Every kind, in declaration order.
            pub const ALL: &'static [$name] = &[$(Self::$v),*];
            /// The variant name, e.g. `"PermissionDenied"`.
            pub const fn name(&self) -> &'static str {
                match self { $(Self::$v => stringify!($v)),* }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kinds!(
    /// The original `SysteminfoErrorKind` constants (plus `NotFound`, a rex addition).
    /// `PermissionDenied`/`AuthorizationError` are Cedar refusals only; an OS `EACCES` is
    /// a `PrivilegeError`. Classifying grants nothing.
    SysteminfoErrorKind {
        /// Evaluating the policy failed (refused).
        AuthorizationError,
        /// The policy refused the request.
        PermissionDenied,
        /// Reading or writing failed.
        IoError,
        /// A capability problem.
        CapsError,
        /// An argument is invalid (unknown key, bad regex, bad options).
        InvalidParameter,
        /// A value was refused by the kernel.
        InvalidValue,
        /// The OS refused the operation (`EPERM`/`EACCES`): the runner lacks the rights.
        PrivilegeError,
        /// A `/proc` file could not be parsed.
        ProcFsError,
        /// Anything else.
        Other,
        /// rex addition: a helper program (e.g. `sysctl`) is not installed.
        NotFound,
    }
);

kinds!(
    /// The original `DiskinfoErrorKind` constants. `PermissionDenied`/`AuthorizationError`
    /// are Cedar refusals only. Classifying grants nothing.
    DiskinfoErrorKind {
        /// The path is not canonical, has a symlink, or is not a mount point.
        InvalidPath,
        /// The policy refused the request.
        PermissionDenied,
        /// Evaluating the policy failed (refused).
        AuthorizationError,
        /// A system call failed.
        SystemError,
        /// A number did not fit.
        TryFromIntError,
        /// Reading failed.
        IoError,
        /// Anything else.
        Other,
    }
);

/// Why a system-information, sysctl or disk operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SysError {
    /// The policy refused a request. Boxed: a `Denied` is large.
    #[error(transparent)]
    Denied(Box<Denied>),
    /// An argument is invalid.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A path cannot be used.
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// No such sysctl key.
    #[error("unknown sysctl key `{0}`")]
    UnknownKey(String),
    /// The kernel refused a sysctl value.
    #[error("invalid value `{value}` for `{key}`")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A system call failed.
    #[error("cannot {op} `{target}`: {source}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// What it was done to.
        target: String,
        /// The error number.
        #[source]
        source: Errno,
    },
    /// A file is larger than the read budget.
    #[error("`{path}` is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The budget.
        limit: usize,
    },
    /// A `/proc` file could not be parsed.
    #[error("cannot parse `{what}`: {reason}")]
    Parse {
        /// The file.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A helper program is missing.
    #[error("program not found: `{0}`")]
    ProgramNotFound(String),
    /// A helper program ran and failed.
    #[error("`{program}` failed: {message}")]
    Program {
        /// The program.
        program: String,
        /// Status and stderr.
        message: String,
    },
}

impl SysError {
    /// The `SysteminfoErrorKind` of this error.
    pub fn kind(&self) -> SysteminfoErrorKind {
        use SysteminfoErrorKind as K;
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => K::AuthorizationError,
                _ => K::PermissionDenied,
            },
            Self::Invalid(_) | Self::InvalidPath { .. } | Self::UnknownKey(_) => {
                K::InvalidParameter
            }
            Self::InvalidValue { .. } => K::InvalidValue,
            Self::Os { source, .. } => match *source {
                Errno::PERM | Errno::ACCESS => K::PrivilegeError,
                _ => K::IoError,
            },
            Self::TooLarge { .. } => K::IoError,
            Self::Parse { .. } => K::ProcFsError,
            Self::ProgramNotFound(_) => K::NotFound,
            Self::Program { .. } => K::Other,
        }
    }

    /// The `DiskinfoErrorKind` of this error.
    pub fn disk_kind(&self) -> DiskinfoErrorKind {
        use DiskinfoErrorKind as K;
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => K::AuthorizationError,
                _ => K::PermissionDenied,
            },
            Self::InvalidPath { .. } => K::InvalidPath,
            Self::Invalid(_) | Self::UnknownKey(_) | Self::InvalidValue { .. } => K::Other,
            Self::Os { .. } => K::SystemError,
            Self::TooLarge { .. } | Self::Parse { .. } => K::IoError,
            Self::ProgramNotFound(_) | Self::Program { .. } => K::Other,
        }
    }

    /// The policy refusal, when this error is one.
    pub fn denied(&self) -> Option<&Denied> {
        match self {
            Self::Denied(d) => Some(d),
            _ => None,
        }
    }

    pub(crate) fn os(op: &'static str, target: impl fmt::Display, source: Errno) -> Self {
        Self::Os {
            op,
            target: target.to_string(),
            source,
        }
    }
}

impl From<Denied> for SysError {
    fn from(d: Denied) -> Self {
        Self::Denied(Box::new(d))
    }
}

impl From<PathError> for SysError {
    fn from(e: PathError) -> Self {
        Self::Invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names() {
        for k in SysteminfoErrorKind::ALL {
            assert_eq!(k.name(), format!("{k:?}"));
        }
        for k in DiskinfoErrorKind::ALL {
            assert_eq!(k.name(), format!("{k:?}"));
        }
        assert_eq!(
            SysError::os("open", "/x", Errno::ACCESS).kind(),
            SysteminfoErrorKind::PrivilegeError
        );
    }
}
