//! HTTP/1.1 client: `Client`, `Request`, `Response`.
//!
//! rex speaks HTTP itself over a socket it connected to an authorized address, so that
//! (1) every redirect hop is a new check, (2) the address connected is the address
//! authorized, and (3) the run's deadline and byte budget bound every read.

mod conn;
mod send;
mod tls;
mod wire;

use std::fmt;
use std::time::Duration;

use rex_policy::{Action, Gate, action};
use serde::Serialize;

use crate::budget::Budget;
use crate::error::NetError;
use crate::resolve::Resolver;

/// The most redirects one `send` follows.
pub const MAX_REDIRECTS: usize = 10;
/// The time one `send` may take (all hops), unless the client sets another; always
/// bounded by the run's deadline too.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP method rex can send; each is its own Cedar action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Method {
    /// `network::Action::"GET"`.
    Get,
    /// `network::Action::"POST"` (rex addition).
    Post,
    /// `network::Action::"PUT"` (rex addition).
    Put,
    /// `network::Action::"DELETE"` (rex addition).
    Delete,
}

impl Method {
    /// The Cedar action that authorizes a request with this method.
    pub fn action(&self) -> Action {
        match self {
            Self::Get => action::net::GET,
            Self::Post => action::net::POST,
            Self::Put => action::net::PUT,
            Self::Delete => action::net::DELETE,
        }
    }

    /// The method on the request line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// The original's display name (`Get`, ...), as `request.method` returns it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Get => "Get",
            Self::Post => "Post",
            Self::Put => "Put",
            Self::Delete => "Delete",
        }
    }
}

/// Client settings. Building a client authorizes nothing; every request is checked when
/// it is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    max_text_bytes: Option<u64>,
    resolver: Resolver,
    timeout: Option<Duration>,
}

impl Client {
    /// A client with no body cap of its own (the run's byte budget still applies), the
    /// system resolver and the default timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy that keeps at most `n` bytes of each response body (the rest is not read).
    #[must_use]
    pub fn max_text_bytes(&self, n: u64) -> Self {
        Self {
            max_text_bytes: Some(n),
            ..self.clone()
        }
    }

    /// A copy that resolves names with `resolver` (a DNS server is authorized with
    /// `connect` at each lookup).
    #[must_use]
    pub fn resolver(&self, resolver: Resolver) -> Self {
        Self {
            resolver,
            ..self.clone()
        }
    }

    /// A copy whose requests (all hops) take at most `timeout`.
    #[must_use]
    pub fn timeout(&self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// The body cap, if set.
    pub fn max_text_size(&self) -> Option<u64> {
        self.max_text_bytes
    }

    /// The resolver.
    pub fn resolver_config(&self) -> &Resolver {
        &self.resolver
    }

    /// A `GET` request for `url` (parsed when sent).
    pub fn get(&self, url: &str) -> Request {
        self.request(Method::Get, url)
    }

    /// A request with `method` for `url`.
    pub fn request(&self, method: Method, url: &str) -> Request {
        Request {
            client: self.clone(),
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// A request not yet sent. Holding one authorizes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    client: Client,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Headers rex writes itself; a script cannot set them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "trailer",
    "expect",
    "keep-alive",
    "proxy-connection",
];

impl Request {
    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The client's body cap, if set.
    pub fn max_text_size(&self) -> Option<u64> {
        self.client.max_text_bytes
    }

    /// The extra headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// A copy with one more header. The name must be an HTTP token and not one rex
    /// writes itself (`Host`, `Content-Length`, `Transfer-Encoding`, `Connection`, ...);
    /// the value must not contain CR, LF or NUL (no header injection).
    pub fn with_header(&self, name: &str, value: &str) -> Result<Self, NetError> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(NetError::InvalidArgument(format!(
                "header name `{}` is not a valid token",
                name.escape_debug()
            )));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(NetError::InvalidArgument(format!(
                "header `{name}` is set by rex"
            )));
        }
        if value.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
            return Err(NetError::InvalidArgument(format!(
                "value of header `{name}` contains a line break or NUL"
            )));
        }
        let mut r = self.clone();
        r.headers.push((name.to_owned(), value.to_owned()));
        Ok(r)
    }

    /// A copy with `body` as the request body.
    #[must_use]
    pub fn with_body(&self, body: impl Into<Vec<u8>>) -> Self {
        let mut r = self.clone();
        r.body = Some(body.into());
        r
    }

    /// Sends the request and follows redirects.
    ///
    /// Each hop: the URL is parsed and normalized; the method's action is checked on
    /// `network::url::"<url>"`; the host is resolved once and each address is checked
    /// against `forbid`s (see [`crate::address`]); the connection goes to a checked
    /// address. The body read is cut at the client's `max_text_bytes` and at
    /// `budget.max_bytes`; the whole exchange ends by `budget.deadline` and the client's
    /// timeout. At most [`MAX_REDIRECTS`] redirects are followed.
    pub fn send(&self, gate: &Gate, budget: &Budget) -> Result<Response, NetError> {
        send::send(self, gate, budget)
    }
}

/// A response. `text` holds at most the body cap; `truncated` says whether more was
/// there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body as text (invalid UTF-8 replaced).
    pub text: String,
    /// The headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The URL of the last hop (after redirects), normalized.
    pub url: String,
    /// Whether the body was cut at the byte cap.
    pub truncated: bool,
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response({} {}, {} bytes{})",
            self.status,
            self.url,
            self.text.len(),
            if self.truncated { ", truncated" } else { "" }
        )
    }
}
