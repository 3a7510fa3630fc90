//! Name resolution: the system resolver, or a DNS server the script names (which is
//! itself authorized as a `connect` to that server).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc;
use std::thread;

use rex_policy::{Gate, Resource, action};

use crate::budget::Budget;
use crate::dns_wire::{self, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA};
use crate::error::NetError;
use crate::host::{Host, canonical_ip};
use crate::protocol::TransportProtocol;
use crate::target::endpoint_resource;

/// The DNS port.
pub const DNS_PORT: u16 = 53;

/// Where names are resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Resolver {
    /// The host's resolver (`getaddrinfo`: `/etc/hosts`, nsswitch, `/etc/resolv.conf`),
    /// configured by the administrator. Using it needs no check of its own.
    #[default]
    System,
    /// A DNS server chosen by the script. Every lookup first asks `network::Action::"connect"`
    /// on `network::url::"<ip>:<port>"` (scheme `dns`), so a script cannot send names to a
    /// server the policy does not allow.
    Dns(DnsServer),
}

/// A DNS server address and the transport to reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsServer {
    /// Address and port (53 unless given).
    pub addr: SocketAddr,
    /// UDP, TCP, or UDP with TCP on truncation (`Auto`).
    pub protocol: TransportProtocol,
}

impl DnsServer {
    /// Parses `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address. Names are refused: a
    /// resolver is an address.
    pub fn parse(input: &str, protocol: TransportProtocol) -> Result<Self, NetError> {
        let addr = if let Ok(ip) = input.parse::<IpAddr>() {
            SocketAddr::new(canonical_ip(ip), DNS_PORT)
        } else if let Ok(sa) = input.parse::<SocketAddr>() {
            SocketAddr::new(canonical_ip(sa.ip()), sa.port())
        } else {
            return Err(NetError::InvalidArgument(format!(
                "resolver `{input}` is not an ip address or ip:port"
            )));
        };
        if addr.port() == 0 {
            return Err(NetError::InvalidArgument(format!(
                "resolver `{input}` has port 0"
            )));
        }
        Ok(Self { addr, protocol })
    }

    /// `network::url::"<ip>:<port>"` with scheme `dns`, host, port.
    pub fn resource(&self) -> Resource {
        endpoint_resource(&Host::Ip(self.addr.ip()), self.addr.port(), "dns")
    }
}

/// Resolves `host` to its addresses (an address resolves to itself). For
/// [`Resolver::Dns`] the server is authorized first (`connect`); nothing is sent to it
/// when that is refused. The name itself is not checked here: callers check what they
/// are about to do with it.
pub(crate) fn lookup(
    gate: &Gate,
    resolver: &Resolver,
    host: &Host,
    budget: &Budget,
) -> Result<Vec<IpAddr>, NetError> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![*ip]),
        Host::Domain(d) => d.as_str(),
    };
    let found = match resolver {
        Resolver::System => system_lookup(name, budget)?,
        Resolver::Dns(server) => {
            gate.check(action::net::CONNECT, &server.resource())?;
            dns_lookup(server, name, budget)?
        }
    };
    let mut out: Vec<IpAddr> = Vec::with_capacity(found.len());
    for ip in found.into_iter().map(canonical_ip) {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    if out.is_empty() {
        return Err(NetError::Resolve {
            host: name.to_owned(),
            reason: "no addresses".to_owned(),
        });
    }
    Ok(out)
}

/// `getaddrinfo` on a helper thread, so the run's deadline bounds it (the C call has no
/// timeout of its own; a late answer is dropped).
fn system_lookup(name: &str, budget: &Budget) -> Result<Vec<IpAddr>, NetError> {
    let wait = budget.remaining("resolve")?;
    let (tx, rx) = mpsc::channel();
    let owned = name.to_owned();
    thread::Builder::new()
        .name("rex-resolve".to_owned())
        .spawn(move || {
            let r = (owned.as_str(), 0)
                .to_socket_addrs()
                .map(|it| it.map(|a| a.ip()).collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(|e| NetError::io("spawn resolver thread for", name, e))?;
    match rx.recv_timeout(wait) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(NetError::Resolve {
            host: name.to_owned(),
            reason: e.to_string(),
        }),
        Err(_) => Err(NetError::Timeout(format!("resolve `{name}`"))),
    }
}

/// Asks `server` for the A and then AAAA records of `name`.
fn dns_lookup(server: &DnsServer, name: &str, budget: &Budget) -> Result<Vec<IpAddr>, NetError> {
    let mut all = Vec::new();
    let mut not_found = 0;
    for qtype in [TYPE_A, TYPE_AAAA] {
        let answer = exchange(server, name, qtype, budget)?;
        match answer.rcode {
            0 => all.extend(answer.addresses),
            RCODE_NXDOMAIN => not_found += 1,
            code => {
                return Err(NetError::Resolve {
                    host: name.to_owned(),
                    reason: format!("server {} answered with code {code}", server.addr),
                });
            }
        }
    }
    if not_found == 2 {
        return Err(NetError::Resolve {
            host: name.to_owned(),
            reason: "no such name".to_owned(),
        });
    }
    Ok(all)
}

fn exchange(
    server: &DnsServer,
    name: &str,
    qtype: u16,
    budget: &Budget,
) -> Result<dns_wire::Answer, NetError> {
    let id = random_id();
    let query = dns_wire::query(id, name, qtype).map_err(NetError::InvalidArgument)?;
    let bad = |reason: String| NetError::protocol(server.addr.to_string(), reason);
    match server.protocol {
        TransportProtocol::Tcp => {
            dns_wire::parse(&tcp_exchange(server.addr, &query, budget)?, id, qtype).map_err(bad)
        }
        TransportProtocol::Udp | TransportProtocol::Auto => {
            let answer =
                dns_wire::parse(&udp_exchange(server.addr, &query, id, budget)?, id, qtype)
                    .map_err(bad)?;
            if answer.truncated {
                if server.protocol == TransportProtocol::Udp {
                    return Err(NetError::Resolve {
                        host: name.to_owned(),
                        reason: "answer truncated over udp".to_owned(),
                    });
                }
                return dns_wire::parse(&tcp_exchange(server.addr, &query, budget)?, id, qtype)
                    .map_err(bad);
            }
            Ok(answer)
        }
    }
}

fn udp_exchange(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    budget: &Budget,
) -> Result<Vec<u8>, NetError> {
    let target = addr.to_string();
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock =
        UdpSocket::bind(local).map_err(|e| NetError::io("bind udp socket for", &target, e))?;
    // Connected: the kernel drops datagrams from any other address.
    sock.connect(addr)
        .map_err(|e| NetError::io("connect to", &target, e))?;
    sock.set_write_timeout(Some(budget.remaining("dns query")?))
        .map_err(|e| NetError::io("configure", &target, e))?;
    sock.send(query)
        .map_err(|e| NetError::io("send dns query to", &target, e))?;
    let mut buf = vec![0u8; 4096];
    loop {
        sock.set_read_timeout(Some(budget.remaining("dns answer")?))
            .map_err(|e| NetError::io("configure", &target, e))?;
        let n = sock
            .recv(&mut buf)
            .map_err(|e| NetError::io("receive dns answer from", &target, e))?;
        // Stray datagrams with another id are ignored until the deadline.
        if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

fn tcp_exchange(addr: SocketAddr, query: &[u8], budget: &Budget) -> Result<Vec<u8>, NetError> {
    let target = addr.to_string();
    let mut s =
        TcpStream::connect_timeout(&addr, budget.remaining("dns connect")?).map_err(|e| {
            NetError::Connect {
                target: target.clone(),
                source: e,
            }
        })?;
    let io = |op, e| NetError::io(op, &target, e);
    s.set_write_timeout(Some(budget.remaining("dns query")?))
        .map_err(|e| io("configure", e))?;
    let len =
        u16::try_from(query.len()).map_err(|_| NetError::Internal("query too long".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed)
        .map_err(|e| io("send dns query to", e))?;
    s.set_read_timeout(Some(budget.remaining("dns answer")?))
        .map_err(|e| io("configure", e))?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)
        .map_err(|e| io("receive dns answer from", e))?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut msg)
        .map_err(|e| io("receive dns answer from", e))?;
    Ok(msg)
}

/// A random query id (an unpredictable id and source port make spoofed answers hard).
fn random_id() -> u16 {
    let mut b = [0u8; 2];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    u16::from_be_bytes(b)
}

/// Bounded wait helper for tests of the deadline.
#[cfg(test)]
pub(crate) fn short(ms: u64) -> Budget {
    Budget::new(std::time::Duration::from_millis(ms), 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses_parse() {
        let s = DnsServer::parse("127.0.0.1", TransportProtocol::Auto).unwrap();
        assert_eq!(s.addr, "127.0.0.1:53".parse().unwrap());
        assert_eq!(s.resource().id(), "127.0.0.1:53");
        let s = DnsServer::parse("[::1]:5353", TransportProtocol::Udp).unwrap();
        assert_eq!(s.resource().id(), "[::1]:5353");
        assert!(DnsServer::parse("dns.google", TransportProtocol::Auto).is_err());
        assert!(DnsServer::parse("127.0.0.1:0", TransportProtocol::Auto).is_err());
    }

    #[test]
    fn unanswered_udp_query_times_out_by_the_budget() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = DnsServer {
            addr: silent.local_addr().unwrap(),
            protocol: TransportProtocol::Udp,
        };
        let started = std::time::Instant::now();
        let e = dns_lookup(&server, "a.test", &short(200)).unwrap_err();
        assert!(matches!(e, NetError::Timeout(_)), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
