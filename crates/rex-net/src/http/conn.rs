//! The socket of one hop: plain TCP or TLS over TCP, connected to a checked address.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use rustls::{ClientConnection, StreamOwned};

use crate::budget::Budget;
use crate::error::NetError;

/// A connected socket.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => s.get_ref(),
        }
    }

    /// Bounds the next read or write by the time left.
    pub(crate) fn bound(&self, budget: &Budget, what: &str) -> Result<(), NetError> {
        let left = budget.remaining(what)?;
        let s = self.tcp();
        s.set_read_timeout(Some(left))
            .and_then(|()| s.set_write_timeout(Some(left)))
            .map_err(|e| NetError::io("configure socket for", what, e))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            // A server that closes without close_notify ends the body like a plain close;
            // a body with a declared length that ends early is still an error (wire.rs).
            Self::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                r => r,
            },
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}
