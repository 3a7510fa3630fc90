//! HTTP/1.1 on the wire: the request rex writes, and the response head and body it
//! reads, with every read bounded by the deadline and the body by a byte cap.

use std::io::{Read, Write};

use super::Method;
use super::conn::Conn;
use crate::budget::Budget;
use crate::error::NetError;
use crate::target::HttpTarget;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers accepted.
const MAX_HEADERS: usize = 128;
/// Longest chunk-size line accepted.
const MAX_LINE: usize = 4096;

/// Writes the request (`Connection: close`, identity encoding).
pub(crate) fn write_request(
    conn: &mut Conn,
    target: &HttpTarget,
    method: Method,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    budget: &Budget,
) -> Result<(), NetError> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept-Encoding: identity\r\n",
        method.as_str(),
        target.request_target(),
        target.host_header()
    );
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("user-agent") {
        head.push_str(concat!(
            "User-Agent: rex/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    } else if matches!(method, Method::Post | Method::Put) {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    conn.bound(budget, target.as_str())?;
    conn.write_all(&out)
        .and_then(|()| conn.flush())
        .map_err(|e| NetError::io("send request to", target.as_str(), e))
}

/// A response head.
pub(crate) struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads bytes from the connection into a buffer, each read bounded by the deadline.
pub(crate) struct Reader<'a> {
    conn: &'a mut Conn,
    buf: Vec<u8>,
    pos: usize,
    target: &'a str,
    budget: Budget,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(conn: &'a mut Conn, target: &'a str, budget: Budget) -> Self {
        Self {
            conn,
            buf: Vec::with_capacity(8192),
            pos: 0,
            target,
            budget,
        }
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Reads more; false at end of stream.
    fn fill(&mut self) -> Result<bool, NetError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.conn.bound(&self.budget, self.target)?;
        let mut chunk = [0u8; 16 * 1024];
        let n = self
            .conn
            .read(&mut chunk)
            .map_err(|e| NetError::io("read response from", self.target, e))?;
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n > 0)
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Reads a response head, skipping interim (1xx) responses.
    pub(crate) fn head(&mut self) -> Result<Head, NetError> {
        loop {
            let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut storage);
            let parsed = resp
                .parse(self.pending())
                .map_err(|e| NetError::protocol(self.target, format!("bad response head: {e}")))?;
            match parsed {
                httparse::Status::Complete(n) => {
                    let status = resp.code.unwrap_or(0);
                    let headers = resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    self.consume(n);
                    if (100..200).contains(&status) && status != 101 {
                        continue;
                    }
                    if status == 101 {
                        return Err(NetError::protocol(
                            self.target,
                            "unexpected protocol switch",
                        ));
                    }
                    return Ok(Head { status, headers });
                }
                httparse::Status::Partial => {
                    if self.pending().len() > MAX_HEAD {
                        return Err(NetError::protocol(
                            self.target,
                            format!("response head larger than {MAX_HEAD} bytes"),
                        ));
                    }
                    if !self.fill()? {
                        return Err(NetError::protocol(
                            self.target,
                            "connection closed before the response head ended",
                        ));
                    }
                }
            }
        }
    }

    /// Reads the body that `head` announces, keeping at most `cap` bytes. Returns the
    /// bytes and whether the body was longer.
    pub(crate) fn body(&mut self, head: &Head, cap: usize) -> Result<(Vec<u8>, bool), NetError> {
        let mut sink = Sink {
            data: Vec::new(),
            cap,
            truncated: false,
        };
        if head.status == 204 || head.status == 304 {
            return Ok((sink.data, false));
        }
        if let Some(te) = head.get("transfer-encoding") {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            if last.eq_ignore_ascii_case("chunked") {
                self.chunked(&mut sink)?;
            } else {
                self.until_close(&mut sink)?;
            }
        } else if let Some(len) = content_length(head, self.target)? {
            self.exact(len, &mut sink)?;
        } else {
            self.until_close(&mut sink)?;
        }
        Ok((sink.data, sink.truncated))
    }

    fn exact(&mut self, mut len: u64, sink: &mut Sink) -> Result<(), NetError> {
        while len > 0 {
            if self.pending().is_empty() && !self.fill()? {
                return Err(NetError::protocol(
                    self.target,
                    format!("connection closed with {len} body bytes missing"),
                ));
            }
            let avail = self.pending();
            let n = usize::try_from(len).unwrap_or(usize::MAX).min(avail.len());
            let full = sink.push(avail.get(..n).unwrap_or_default());
            self.consume(n);
            len -= n as u64;
            if full {
                return Ok(());
            }
        }
        Ok(())
    }

    fn until_close(&mut self, sink: &mut Sink) -> Result<(), NetError> {
        loop {
            let full = sink.push(self.pending());
            let n = self.pending().len();
            self.consume(n);
            if full || !self.fill()? {
                return Ok(());
            }
        }
    }

    fn line(&mut self) -> Result<Vec<u8>, NetError> {
        loop {
            if let Some(i) = self.pending().windows(2).position(|w| w == b"\r\n") {
                let line = self.pending().get(..i).unwrap_or_default().to_vec();
                self.consume(i + 2);
                return Ok(line);
            }
            if self.pending().len() > MAX_LINE {
                return Err(NetError::protocol(self.target, "chunk line too long"));
            }
            if !self.fill()? {
                return Err(NetError::protocol(
                    self.target,
                    "connection closed inside a chunked body",
                ));
            }
        }
    }

    fn chunked(&mut self, sink: &mut Sink) -> Result<(), NetError> {
        loop {
            let line = self.line()?;
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                NetError::protocol(self.target, format!("bad chunk size `{size_text}`"))
            })?;
            if size == 0 {
                // Trailers are not read: the connection is closed after the body.
                return Ok(());
            }
            self.exact(size, sink)?;
            if sink.truncated {
                return Ok(());
            }
            if !self.line()?.is_empty() {
                return Err(NetError::protocol(
                    self.target,
                    "chunk not followed by CRLF",
                ));
            }
        }
    }
}

/// Collects at most `cap` bytes.
struct Sink {
    data: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Sink {
    /// Adds bytes; true when the cap is reached and reading should stop.
    fn push(&mut self, bytes: &[u8]) -> bool {
        let room = self.cap.saturating_sub(self.data.len());
        if bytes.len() > room {
            self.data
                .extend_from_slice(bytes.get(..room).unwrap_or_default());
            self.truncated = true;
            return true;
        }
        self.data.extend_from_slice(bytes);
        false
    }
}

fn content_length(head: &Head, target: &str) -> Result<Option<u64>, NetError> {
    let mut found: Option<u64> = None;
    for (k, v) in &head.headers {
        if k != "content-length" {
            continue;
        }
        for part in v.split(',') {
            let part = part.trim();
            let n = part
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| NetError::protocol(target, format!("bad content-length `{v}`")))?;
            if found.is_some_and(|f| f != n) {
                return Err(NetError::protocol(
                    target,
                    "conflicting content-length headers",
                ));
            }
            found = Some(n);
        }
    }
    Ok(found)
}
