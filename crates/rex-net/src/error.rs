//! Errors of `rex-net` and the `NetworkErrorKind` classification scripts compare against.

use std::fmt;
use std::io;

use rex_policy::{Denied, DenyReason};

/// The error classes of the original REX `NetworkErrorKind` module, so a script's
/// `e.kind == NetworkErrorKind::PermissionDenied` keeps working. Classifying an error
/// grants nothing.
///
/// `PermissionDenied` and `AuthorizationError` are used only for Cedar refusals; a
/// refused TCP connection or an HTTP 403 is a `RequestError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkErrorKind {
    /// Evaluating the Cedar policy failed (the request was refused).
    AuthorizationError,
    /// The Cedar policy refused the request.
    PermissionDenied,
    /// The request could not be made or completed: bad URL, name not found, connection
    /// refused, timeout, TLS failure, malformed response, too many redirects.
    RequestError,
    /// Anything else (including internal errors).
    Other,
}

impl NetworkErrorKind {
    /// Every kind, in the order of the original module constants.
    pub const ALL: &'static [NetworkErrorKind] = &[
        Self::AuthorizationError,
        Self::PermissionDenied,
        Self::RequestError,
        Self::Other,
    ];

    /// The variant name, e.g. `"PermissionDenied"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::AuthorizationError => "AuthorizationError",
            Self::PermissionDenied => "PermissionDenied",
            Self::RequestError => "RequestError",
            Self::Other => "Other",
        }
    }
}

impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a network operation failed. An error never carries a partial result.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The policy refused a request (kind `PermissionDenied`, or `AuthorizationError` when
    /// evaluating the policy failed). Boxed: a `Denied` is large.
    #[error(transparent)]
    Denied(Box<Denied>),
    /// The URL cannot be used: unparsable, not http(s), credentials in it, no host.
    #[error("invalid url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument is out of range or malformed (port, endpoint, header, resolver).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A name could not be resolved.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        reason: String,
    },
    /// No connection could be made to any authorized address.
    #[error("cannot connect to `{target}`: {source}")]
    Connect {
        /// The address or endpoint.
        target: String,
        /// The last OS error.
        #[source]
        source: io::Error,
    },
    /// The operation did not finish before its timeout or the run's deadline.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The TLS handshake or session failed.
    #[error("tls error with `{host}`: {reason}")]
    Tls {
        /// The server name.
        host: String,
        /// Why.
        reason: String,
    },
    /// The server's answer is not valid HTTP/1.x (or not a valid DNS message).
    #[error("malformed response from `{target}`: {reason}")]
    Protocol {
        /// The URL or server.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// The redirect chain is longer than the limit.
    #[error("more than {limit} redirects, last to `{url}`")]
    TooManyRedirects {
        /// The URL the last redirect pointed to.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing a socket or file failed.
    #[error("cannot {op} `{target}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The peer or file.
        target: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A bug in `rex-net` (e.g. a permit used for another resource); nothing was done.
    #[error("internal error: {0}")]
    Internal(String),
}

impl NetError {
    /// The `NetworkErrorKind` scripts compare against.
    pub fn kind(&self) -> NetworkErrorKind {
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => NetworkErrorKind::AuthorizationError,
                _ => NetworkErrorKind::PermissionDenied,
            },
            Self::InvalidUrl { .. }
            | Self::InvalidArgument(_)
            | Self::Resolve { .. }
            | Self::Connect { .. }
            | Self::Timeout(_)
            | Self::Tls { .. }
            | Self::Protocol { .. }
            | Self::TooManyRedirects { .. } => NetworkErrorKind::RequestError,
            Self::Io { .. } | Self::Internal(_) => NetworkErrorKind::Other,
        }
    }

    /// The kind name in the original `SysteminfoErrorKind` module, for the DNS and
    /// interface functions the original placed in its system-information SDK.
    pub fn sysinfo_kind(&self) -> &'static str {
        match self {
            Self::Denied(d) => match d.reason() {
                DenyReason::EvaluationError(_) => "AuthorizationError",
                _ => "PermissionDenied",
            },
            Self::InvalidUrl { .. } | Self::InvalidArgument(_) => "InvalidParameter",
            Self::Resolve { .. }
            | Self::Connect { .. }
            | Self::Timeout(_)
            | Self::Tls { .. }
            | Self::Protocol { .. }
            | Self::TooManyRedirects { .. }
            | Self::Io { .. } => "IoError",
            Self::Internal(_) => "Other",
        }
    }

    /// The policy refusal, when this error is one.
    pub fn denied(&self) -> Option<&Denied> {
        match self {
            Self::Denied(d) => Some(d),
            _ => None,
        }
    }

    pub(crate) fn invalid_url(url: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidUrl {
            url: url.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn protocol(target: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Protocol {
            target: target.into(),
            reason: reason.into(),
        }
    }

    /// An I/O error on `target`; a socket timeout becomes [`NetError::Timeout`].
    pub(crate) fn io(op: &'static str, target: impl Into<String>, source: io::Error) -> Self {
        let target = target.into();
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Self::Timeout(format!("{op} `{target}`"))
            }
            _ => Self::Io { op, target, source },
        }
    }
}

impl From<Denied> for NetError {
    fn from(d: Denied) -> Self {
        Self::Denied(Box::new(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_variant_names() {
        for k in NetworkErrorKind::ALL {
            assert_eq!(k.name(), format!("{k:?}"));
            assert_eq!(k.to_string(), format!("{k:?}"));
        }
    }

    #[test]
    fn socket_timeouts_are_timeouts() {
        let e = NetError::io("read", "x", io::Error::from(io::ErrorKind::WouldBlock));
        assert!(matches!(e, NetError::Timeout(_)));
        assert_eq!(e.kind(), NetworkErrorKind::RequestError);
        let e = NetError::io("read", "x", io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind(), NetworkErrorKind::Other);
        assert!(e.to_string().contains("`x`"));
    }
}
