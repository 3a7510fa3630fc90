//! Errors of `rex-fs` and the `IoErrorKind` classification scripts compare against.

use std::fmt;

use rex_policy::{Denied, DenyReason, PathError};
use rustix::io::Errno;

use crate::entry_type::EntryType;

/// The error classes of the original REX `IoErrorKind` module, so a script's
/// `e.kind == IoErrorKind::PermissionDenied` keeps working. Classifying an error grants
/// nothing.
///
/// `PermissionDenied` and `AuthorizationError` are used only for Cedar refusals; an OS
/// `EACCES`/`EPERM` is a `RustixError`, so a script cannot pass an OS error (or its own
/// text) off as a policy denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoErrorKind {
    /// The path cannot name an object (relative, NUL, bad name, link loop, not UTF-8).
    InvalidPath,
    /// The options or the handle do not allow the operation.
    InvalidArguments,
    /// A permission mode out of range.
    InvalidFileMode,
    /// An object changed between its check and the action; nothing more was done.
    ValidationError,
    /// A directory could not be opened.
    DirectoryOpenError,
    /// A directory operation failed or exceeded its budget.
    DirectoryError,
    /// A file operation failed (e.g. the name appeared between check and create).
    FileError,
    /// A copy destination is not empty.
    DestinationFileNotEmptyError,
    /// Nothing exists at the path.
    NotFound,
    /// A directory to remove without `recursive` has entries.
    DirectoryNotEmpty,
    /// The Cedar policy refused the request.
    PermissionDenied,
    /// Evaluating the Cedar policy failed (the request was refused).
    AuthorizationError,
    /// A user or group could not be resolved.
    IdentityResolutionError,
    /// The operation is not supported here.
    UnsupportedOperationError,
    /// A file is larger than the read budget.
    FileContentTooLargeError,
    /// A copy failed.
    FileCopyError,
    /// A read failed.
    FileReadError,
    /// The object is not of the type the operation needs.
    EntryTypeMismatchError,
    /// Another I/O error.
    IoError,
    /// A number did not fit.
    TryFromIntError,
    /// A system call failed (including an OS `EACCES`, which is not a policy denial).
    RustixError,
    /// Content is not UTF-8.
    Utf8Error,
    /// Anything else (including internal errors).
    Other,
    /// rex itself lacks a privilege the operation needs (a capability to pass on, the
    /// right to enter a namespace or switch user); a rex addition.
    PrivilegeError,
}

impl IoErrorKind {
    /// Every kind, in declaration order (the order of the original module constants).
    pub const ALL: &'static [IoErrorKind] = &[
        Self::InvalidPath,
        Self::InvalidArguments,
        Self::InvalidFileMode,
        Self::ValidationError,
        Self::DirectoryOpenError,
        Self::DirectoryError,
        Self::FileError,
        Self::DestinationFileNotEmptyError,
        Self::NotFound,
        Self::DirectoryNotEmpty,
        Self::PermissionDenied,
        Self::AuthorizationError,
        Self::IdentityResolutionError,
        Self::UnsupportedOperationError,
        Self::FileContentTooLargeError,
        Self::FileCopyError,
        Self::FileReadError,
        Self::EntryTypeMismatchError,
        Self::IoError,
        Self::TryFromIntError,
        Self::RustixError,
        Self::Utf8Error,
        Self::Other,
        Self::PrivilegeError,
    ];

    /// The variant name, e.g. `"PermissionDenied"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::InvalidPath => "InvalidPath",
            Self::InvalidArguments => "InvalidArguments",
            Self::InvalidFileMode => "InvalidFileMode",
            Self::ValidationError => "ValidationError",
            Self::DirectoryOpenError => "DirectoryOpenError",
            Self::DirectoryError => "DirectoryError",
            Self::FileError => "FileError",
            Self::DestinationFileNotEmptyError => "DestinationFileNotEmptyError",
            Self::NotFound => "NotFound",
            Self::DirectoryNotEmpty => "DirectoryNotEmpty",
            Self::PermissionDenied => "PermissionDenied",
            Self::AuthorizationError => "AuthorizationError",
            Self::IdentityResolutionError => "IdentityResolutionError",
            Self::UnsupportedOperationError => "UnsupportedOperationError",
            Self::FileContentTooLargeError => "FileContentTooLargeError",
            Self::FileCopyError => "FileCopyError",
            Self::FileReadError => "FileReadError",
            Self::EntryTypeMismatchError => "EntryTypeMismatchError",
            Self::IoError => "IoError",
            Self::TryFromIntError => "TryFromIntError",
            Self::RustixError => "RustixError",
            Self::Utf8Error => "Utf8Error",
            Self::Other => "Other",
            Self::PrivilegeError => "PrivilegeError",
        }
    }
}

impl fmt::Display for IoErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a filesystem operation failed. An error never carries a partial result.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The policy refused a request (kind `PermissionDenied`, or `AuthorizationError` when
    /// evaluating the policy failed). Boxed: a `Denied` is large and errors travel a lot.
    #[error(transparent)]
    Denied(Box<Denied>),
    /// The path cannot name an object: relative, not UTF-8, a bad name, too many links.
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The options do not make sense together.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// Nothing exists at the path.
    #[error("no such file or directory `{path}`")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The object is not of the type the operation needs.
    #[error("`{path}` is a {found}, expected {expected}")]
    EntryTypeMismatch {
        /// The path.
        path: String,
        /// The type needed.
        expected: EntryType,
        /// The type found.
        found: EntryType,
    },
    /// A non-recursive removal of a directory that has entries.
    #[error("directory `{path}` is not empty")]
    DirectoryNotEmpty {
        /// The directory.
        path: String,
    },
    /// A file is larger than the byte budget of a read.
    #[error("content of `{path}` is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The budget.
        limit: usize,
    },
    /// A file's content is not UTF-8.
    #[error("content of `{path}` is not valid utf-8")]
    NotUtf8 {
        /// The file.
        path: String,
    },
    /// A name stopped referring to the object that was authorized; nothing more was done.
    #[error("`{path}` changed while it was being acted on; stopped")]
    Changed {
        /// The path.
        path: String,
    },
    /// A walk or listing exceeded its entry or depth budget.
    #[error("`{path}` exceeds the limit of {limit} {what}")]
    Budget {
        /// Where.
        path: String,
        /// The limit.
        limit: usize,
        /// What is counted (`entries`, `levels`).
        what: &'static str,
    },
    /// The handle was not opened with the access the operation needs.
    #[error("handle for `{path}` was not opened for {access}")]
    HandleAccess {
        /// The file.
        path: String,
        /// `read` or `write`.
        access: &'static str,
    },
    /// A system call failed.
    #[error("cannot {op} `{path}`: {source}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// The path involved.
        path: String,
        /// The error number.
        #[source]
        source: Errno,
    },
    /// A copy destination already has content and `force` was not set.
    #[error("destination `{path}` is not empty (use force to overwrite)")]
    DestinationNotEmpty {
        /// The destination.
        path: String,
    },
    /// A permission mode out of range.
    #[error("invalid file mode `{mode:o}`: {reason}")]
    InvalidMode {
        /// The mode given.
        mode: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A user or group name (or id) that does not exist.
    #[error("cannot resolve {what} `{name}`")]
    Identity {
        /// `user` or `group`.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// rex lacks a privilege the operation needs (e.g. a capability `execute` is to pass
    /// on that rex does not hold); nothing was run.
    #[error("insufficient privilege: {0}")]
    Privilege(String),
    /// The operation is not supported (on this object, kernel or build).
    #[error("unsupported operation: {0}")]
    Unsupported(String),
    /// Content is malformed for the format the operation expects (gzip, tar, ELF, PEM).
    #[error("cannot read `{path}` as {format}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// The format expected.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A script callback failed; the walk stopped.
    #[error("callback failed: {0}")]
    Callback(String),
    /// A bug in `rex-fs` (e.g. a permit used for another resource); nothing was done.
    #[error("internal error: {0}")]
    Internal(String),
}

impl FsError {
    /// The `IoErrorKind` scripts compare against.
    pub fn kind(&self) -> IoErrorKind {
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => IoErrorKind::AuthorizationError,
                _ => IoErrorKind::PermissionDenied,
            },
            Self::InvalidPath { .. } => IoErrorKind::InvalidPath,
            Self::InvalidArguments(_) | Self::HandleAccess { .. } => IoErrorKind::InvalidArguments,
            Self::NotFound { .. } => IoErrorKind::NotFound,
            Self::EntryTypeMismatch { .. } => IoErrorKind::EntryTypeMismatchError,
            Self::DirectoryNotEmpty { .. } => IoErrorKind::DirectoryNotEmpty,
            Self::TooLarge { .. } => IoErrorKind::FileContentTooLargeError,
            Self::NotUtf8 { .. } => IoErrorKind::Utf8Error,
            Self::Changed { .. } => IoErrorKind::ValidationError,
            Self::Budget { .. } => IoErrorKind::DirectoryError,
            Self::Os { source, .. } => match *source {
                Errno::NOENT => IoErrorKind::NotFound,
                Errno::NOTEMPTY => IoErrorKind::DirectoryNotEmpty,
                Errno::NOTDIR | Errno::ISDIR => IoErrorKind::EntryTypeMismatchError,
                Errno::EXIST => IoErrorKind::FileError,
                _ => IoErrorKind::RustixError,
            },
            Self::DestinationNotEmpty { .. } => IoErrorKind::DestinationFileNotEmptyError,
            Self::InvalidMode { .. } => IoErrorKind::InvalidFileMode,
            Self::Identity { .. } => IoErrorKind::IdentityResolutionError,
            Self::Unsupported(_) => IoErrorKind::UnsupportedOperationError,
            Self::Privilege(_) => IoErrorKind::PrivilegeError,
            Self::Format { .. } => IoErrorKind::FileReadError,
            Self::Callback(_) | Self::Internal(_) => IoErrorKind::Other,
        }
    }

    /// The policy refusal, when this error is one.
    pub fn denied(&self) -> Option<&Denied> {
        match self {
            Self::Denied(d) => Some(d),
            _ => None,
        }
    }

    /// A failed system call on `path`, classified: `ENOENT` becomes [`FsError::NotFound`],
    /// `ENOTEMPTY` [`FsError::DirectoryNotEmpty`], `ELOOP` an invalid path.
    pub(crate) fn os(op: &'static str, path: impl Into<String>, errno: Errno) -> Self {
        let path = path.into();
        match errno {
            Errno::NOENT => Self::NotFound { path },
            Errno::NOTEMPTY => Self::DirectoryNotEmpty { path },
            Errno::LOOP => Self::InvalidPath {
                path,
                reason: "too many levels of symbolic links".to_owned(),
            },
            source => Self::Os { op, path, source },
        }
    }

    /// An invalid path.
    pub(crate) fn invalid_path(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidPath {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A type mismatch.
    pub(crate) fn mismatch(path: impl Into<String>, expected: EntryType, found: EntryType) -> Self {
        Self::EntryTypeMismatch {
            path: path.into(),
            expected,
            found,
        }
    }
}

impl From<Denied> for FsError {
    fn from(d: Denied) -> Self {
        Self::Denied(Box::new(d))
    }
}

impl From<PathError> for FsError {
    fn from(e: PathError) -> Self {
        let path = match &e {
            PathError::NotAbsolute(p)
            | PathError::NotCanonical(p)
            | PathError::Nul(p)
            | PathError::BadName(p) => p.clone(),
        };
        Self::InvalidPath {
            path,
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_variant_names() {
        for k in IoErrorKind::ALL {
            assert_eq!(k.to_string(), format!("{k:?}"));
            assert_eq!(k.name(), format!("{k:?}"));
        }
        assert_eq!(IoErrorKind::ALL.len(), 24);
    }

    #[test]
    fn os_errors_are_classified_by_errno() {
        assert_eq!(
            FsError::os("open", "/x", Errno::NOENT).kind(),
            IoErrorKind::NotFound
        );
        assert_eq!(
            FsError::os("open", "/x", Errno::ACCESS).kind(),
            IoErrorKind::RustixError
        );
        assert_eq!(
            FsError::os("open", "/x", Errno::LOOP).kind(),
            IoErrorKind::InvalidPath
        );
        assert!(
            FsError::os("open", "/x", Errno::ACCESS)
                .to_string()
                .contains("`/x`")
        );
    }
}
