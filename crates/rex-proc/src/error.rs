//! Errors of `rex-proc` and the `ProcessErrorKind` classification scripts compare against.

use std::fmt;

use rex_policy::{Denied, DenyReason};
use rustix::io::Errno;

/// The error classes of the original REX `ProcessErrorKind` module (plus three rex
/// additions at the end), so `e.kind == ProcessErrorKind::PermissionDenied` keeps working.
/// Classifying an error grants nothing.
///
/// `PermissionDenied` and `AuthorizationError` are used only for Cedar refusals; an OS
/// `EPERM` is a `PrivilegeError`, so an OS error can never pass for a policy denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessErrorKind {
    /// No process with that pid exists (or it exited since it was listed).
    ProcessNotFound,
    /// A pid namespace operation failed.
    PidNamespaceOperationError,
    /// Entering or leaving a namespace failed.
    NamespaceOperationError,
    /// The Cedar policy refused the request.
    PermissionDenied,
    /// Evaluating the Cedar policy failed (the request was refused).
    AuthorizationError,
    /// An argument is invalid (a unit name, a key, an option).
    ValidationError,
    /// A callback run inside a namespace failed.
    CallbackExecutionError,
    /// Reading the process table failed.
    ProcessEnumerationError,
    /// A D-Bus call failed.
    DBusError,
    /// The operating system refused the operation (`EPERM`/`EACCES`): the runner lacks
    /// the rights. Never a policy denial.
    PrivilegeError,
    /// systemd does not know the unit.
    ServiceNotFound,
    /// Anything else.
    Other,
    /// rex addition: a helper program (e.g. `gstack`) is not installed.
    NotFound,
    /// rex addition: the operation is not supported here (e.g. kernel too old).
    UnsupportedOperation,
    /// rex addition: an I/O error reading `/proc` or running a helper.
    IoError,
}

impl ProcessErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ProcessErrorKind] = &[
        Self::ProcessNotFound,
        Self::PidNamespaceOperationError,
        Self::NamespaceOperationError,
        Self::PermissionDenied,
        Self::AuthorizationError,
        Self::ValidationError,
        Self::CallbackExecutionError,
        Self::ProcessEnumerationError,
        Self::DBusError,
        Self::PrivilegeError,
        Self::ServiceNotFound,
        Self::Other,
        Self::NotFound,
        Self::UnsupportedOperation,
        Self::IoError,
    ];

    /// The variant name, e.g. `"PermissionDenied"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::ProcessNotFound => "ProcessNotFound",
            Self::PidNamespaceOperationError => "PidNamespaceOperationError",
            Self::NamespaceOperationError => "NamespaceOperationError",
            Self::PermissionDenied => "PermissionDenied",
            Self::AuthorizationError => "AuthorizationError",
            Self::ValidationError => "ValidationError",
            Self::CallbackExecutionError => "CallbackExecutionError",
            Self::ProcessEnumerationError => "ProcessEnumerationError",
            Self::DBusError => "DBusError",
            Self::PrivilegeError => "PrivilegeError",
            Self::ServiceNotFound => "ServiceNotFound",
            Self::Other => "Other",
            Self::NotFound => "NotFound",
            Self::UnsupportedOperation => "UnsupportedOperation",
            Self::IoError => "IoError",
        }
    }
}

impl fmt::Display for ProcessErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a process or service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The policy refused a request. Boxed: a `Denied` is large.
    #[error(transparent)]
    Denied(Box<Denied>),
    /// No such process, or it exited (and its pid may have been reused) since it was seen.
    #[error("process not found: pid `{0}`")]
    NotFound(i64),
    /// An argument is invalid.
    #[error("invalid argument: {0}")]
    Invalid(String),
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
    /// Entering or restoring a namespace failed.
    #[error("namespace operation failed: {0}")]
    Namespace(String),
    /// A D-Bus call failed.
    #[error("d-bus call `{method}` failed: {message}")]
    DBus {
        /// The method or property.
        method: String,
        /// The error text.
        message: String,
    },
    /// The bus or systemd refused the call (e.g. `AccessDenied`): the runner lacks the
    /// rights. Never a policy denial.
    #[error("d-bus call `{method}` refused: {message}")]
    DBusRefused {
        /// The method.
        method: String,
        /// The error text.
        message: String,
    },
    /// systemd does not know the unit.
    #[error("service not found: `{0}`")]
    ServiceNotFound(String),
    /// A helper program is missing.
    #[error("program not found: `{0}`")]
    ProgramNotFound(String),
    /// A helper program ran and failed.
    #[error("`{program}` failed: {message}")]
    Program {
        /// The program.
        program: String,
        /// Its status and stderr.
        message: String,
    },
    /// The operation is not supported here.
    #[error("unsupported operation: {0}")]
    Unsupported(String),
    /// Content read from `/proc` could not be parsed.
    #[error("cannot parse `{what}`: {reason}")]
    Parse {
        /// The file.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

impl ProcessError {
    /// The `ProcessErrorKind` scripts compare against.
    pub fn kind(&self) -> ProcessErrorKind {
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => ProcessErrorKind::AuthorizationError,
                _ => ProcessErrorKind::PermissionDenied,
            },
            Self::NotFound(_) => ProcessErrorKind::ProcessNotFound,
            Self::Invalid(_) => ProcessErrorKind::ValidationError,
            Self::Os { source, .. } => match *source {
                Errno::SRCH => ProcessErrorKind::ProcessNotFound,
                Errno::PERM | Errno::ACCESS => ProcessErrorKind::PrivilegeError,
                Errno::NOSYS | Errno::OPNOTSUPP => ProcessErrorKind::UnsupportedOperation,
                _ => ProcessErrorKind::IoError,
            },
            Self::Namespace(_) => ProcessErrorKind::NamespaceOperationError,
            Self::DBus { .. } => ProcessErrorKind::DBusError,
            Self::DBusRefused { .. } => ProcessErrorKind::PrivilegeError,
            Self::ServiceNotFound(_) => ProcessErrorKind::ServiceNotFound,
            Self::ProgramNotFound(_) => ProcessErrorKind::NotFound,
            Self::Program { .. } => ProcessErrorKind::Other,
            Self::Unsupported(_) => ProcessErrorKind::UnsupportedOperation,
            Self::Parse { .. } => ProcessErrorKind::ProcessEnumerationError,
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

impl From<Denied> for ProcessError {
    fn from(d: Denied) -> Self {
        Self::Denied(Box::new(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_variant_names() {
        for k in ProcessErrorKind::ALL {
            assert_eq!(k.name(), format!("{k:?}"));
        }
        assert_eq!(
            ProcessError::os("kill", 1, Errno::SRCH).kind(),
            ProcessErrorKind::ProcessNotFound
        );
        assert_eq!(
            ProcessError::os("kill", 1, Errno::PERM).kind(),
            ProcessErrorKind::PrivilegeError
        );
    }
}
