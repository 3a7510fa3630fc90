//! TCP connections to addresses that were already checked.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::budget::Budget;
use crate::error::NetError;

/// How long one connection attempt may take (bounded by the deadline too).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the first of `addrs` that answers, on `port`. Only addresses that were
/// checked are passed in; nothing is looked up here.
pub(crate) fn connect_tcp(
    addrs: &[IpAddr],
    port: u16,
    budget: &Budget,
    what: &str,
) -> Result<TcpStream, NetError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for ip in addrs {
        let left = budget.remaining(what)?.min(ATTEMPT_TIMEOUT);
        match TcpStream::connect_timeout(&SocketAddr::new(*ip, port), left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    if matches!(
        last.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return Err(NetError::Timeout(format!("connect to `{what}`")));
    }
    Err(NetError::Connect {
        target: what.to_owned(),
        source: last,
    })
}
