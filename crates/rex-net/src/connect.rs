//! `connect(endpoint, port, protocol)`: a TCP or UDP socket to an authorized host and port.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rex_policy::{Gate, action};

use crate::address::checked_addresses;
use crate::budget::Budget;
use crate::error::NetError;
use crate::host::Host;
use crate::protocol::TransportProtocol;
use crate::resolve::Resolver;
use crate::target::endpoint_resource;
use crate::tcp::connect_tcp;

/// How long a TCP connection attempt may take (as the original), bounded by the deadline.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
enum Socket {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

/// An open connection. It has no methods to send or receive (as in the original): it
/// shows that the endpoint is reachable. It authorizes nothing further; the socket
/// closes when the last copy is dropped.
#[derive(Clone, Debug)]
pub struct Connection {
    socket: Arc<Socket>,
    endpoint: String,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Connection {
    /// `TCP` or `UDP`: the transport actually used.
    pub fn protocol(&self) -> TransportProtocol {
        match *self.socket {
            Socket::Tcp(_) => TransportProtocol::Tcp,
            Socket::Udp(_) => TransportProtocol::Udp,
        }
    }

    /// The resource id that was checked, `<host>:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The address connected to.
    pub fn peer_address(&self) -> SocketAddr {
        self.peer
    }

    /// The local address.
    pub fn local_address(&self) -> SocketAddr {
        self.local
    }

    /// Whether the socket still has a peer (a TCP connection the peer reset has none).
    pub fn is_connected(&self) -> bool {
        match &*self.socket {
            Socket::Tcp(s) => s.peer_addr().is_ok() && s.take_error().ok().flatten().is_none(),
            Socket::Udp(s) => s.peer_addr().is_ok(),
        }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Connection({} {} via {})",
            self.protocol(),
            self.endpoint,
            self.peer
        )
    }
}

/// Opens a connection to `endpoint`:`port`.
///
/// Checks `network::Action::"connect"` on `network::url::"<host>:<port>"` (host
/// normalized, IPv6 in brackets) with attributes `url`, `scheme` (`tcp` or `udp`),
/// `host` and `port`; a name is resolved once (by `resolver`) and each address is
/// checked against `forbid`s as `network::url::"<ip>:<port>"`; the socket goes to a
/// checked address. `Auto` tries TCP (5 s) and, when that fails, asks again with scheme
/// `udp` and opens a UDP socket.
pub fn connect(
    gate: &Gate,
    endpoint: &str,
    port: i64,
    protocol: TransportProtocol,
    resolver: &Resolver,
    budget: &Budget,
) -> Result<Connection, NetError> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| NetError::InvalidArgument(format!("port `{port}` is not 1 to 65535")))?;
    let host = Host::parse(endpoint)?;
    let budget = budget.within(CONNECT_TIMEOUT);
    match protocol {
        TransportProtocol::Tcp => tcp(gate, &host, port, resolver, &budget),
        TransportProtocol::Udp => udp(gate, &host, port, resolver, &budget),
        TransportProtocol::Auto => match tcp(gate, &host, port, resolver, &budget) {
            Err(NetError::Connect { .. } | NetError::Timeout(_)) => {
                udp(gate, &host, port, resolver, &budget)
            }
            other => other,
        },
    }
}

fn addresses(
    gate: &Gate,
    host: &Host,
    port: u16,
    scheme: &str,
    resolver: &Resolver,
    budget: &Budget,
) -> Result<(String, Vec<IpAddr>), NetError> {
    let resource = endpoint_resource(host, port, scheme);
    gate.check(action::net::CONNECT, &resource)?;
    let addrs = checked_addresses(gate, action::net::CONNECT, resolver, host, budget, |ip| {
        endpoint_resource(&Host::from_ip(ip), port, scheme)
    })?;
    Ok((resource.id().to_owned(), addrs))
}

fn tcp(
    gate: &Gate,
    host: &Host,
    port: u16,
    resolver: &Resolver,
    budget: &Budget,
) -> Result<Connection, NetError> {
    let (endpoint, addrs) = addresses(gate, host, port, "tcp", resolver, budget)?;
    let s = connect_tcp(&addrs, port, budget, &endpoint)?;
    let peer = s
        .peer_addr()
        .map_err(|e| NetError::io("inspect", &endpoint, e))?;
    let local = s
        .local_addr()
        .map_err(|e| NetError::io("inspect", &endpoint, e))?;
    Ok(Connection {
        socket: Arc::new(Socket::Tcp(s)),
        endpoint,
        peer,
        local,
    })
}

fn udp(
    gate: &Gate,
    host: &Host,
    port: u16,
    resolver: &Resolver,
    budget: &Budget,
) -> Result<Connection, NetError> {
    let (endpoint, addrs) = addresses(gate, host, port, "udp", resolver, budget)?;
    let ip = *addrs
        .first()
        .ok_or_else(|| NetError::Internal(format!("no address for `{endpoint}`")))?;
    let peer = SocketAddr::new(ip, port);
    let local: SocketAddr = match ip {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s =
        UdpSocket::bind(local).map_err(|e| NetError::io("bind udp socket for", &endpoint, e))?;
    s.connect(peer).map_err(|e| NetError::Connect {
        target: endpoint.clone(),
        source: e,
    })?;
    let local = s
        .local_addr()
        .map_err(|e| NetError::io("inspect", &endpoint, e))?;
    Ok(Connection {
        socket: Arc::new(Socket::Udp(s)),
        endpoint,
        peer,
        local,
    })
}
