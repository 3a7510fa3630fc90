//! rex-net: HTTP, connect, DNS, interfaces and sockets, authorized by the Cedar gate.
//!
//! Every operation asks [`rex_policy::Gate`] first and then acts on exactly what it
//! asked about:
//!
//! - **HTTP** ([`Client`], [`Request::send`]): the URL is parsed once with the WHATWG
//!   parser and normalized ([`HttpTarget`]: lowercase, IDNA, no trailing dot, IPv4 forms
//!   such as `0x7f.1` and `2130706433` as dotted decimal, credentials refused); the
//!   method's action (`network::Action::"GET"`, `"POST"`, `"PUT"`, `"DELETE"`) is checked
//!   on `network::url::"<normalized url>"` with attributes `url`, `scheme`, `host`,
//!   `port` and `path`. rex speaks HTTP/1.1 itself and follows redirects itself: each hop
//!   is a new check, at most [`MAX_REDIRECTS`]. Bodies are cut at the client's
//!   `max_text_bytes` and the run's byte budget; every socket operation ends by the run's
//!   deadline.
//! - **The address connected is the address authorized** ([`address`]): a name is
//!   resolved once, each address is checked against `forbid`s, and the socket goes to a
//!   checked address; nothing is looked up twice, so DNS rebinding cannot move a
//!   permitted name onto a forbidden address.
//! - **connect** ([`connect()`]): `network::Action::"connect"` on
//!   `network::url::"<host>:<port>"` with `host`, `port` and `scheme` (`tcp`/`udp`).
//! - **DNS** ([`resolve_hostname`], [`resolve`]): `sysinfo::Action::"resolve_hostname"`
//!   on `sysinfo::Hostname::"<name>"`; a DNS server chosen by the script is itself a
//!   `connect` on `network::url::"<ip>:53"` (scheme `dns`).
//! - **Interfaces and sockets** ([`ip_addresses`], [`network_stats`]):
//!   `sysinfo::Action::"list"` on `sysinfo::Sysinfo`; `open`+`read` on
//!   `file_system::File::"/proc/net/<table>"`.
//!
//! The crate knows nothing of Rhai; `rex-engine` binds it.
#![forbid(unsafe_code)]

pub mod address;
mod budget;
mod connect;
mod dns;
mod dns_wire;
mod error;
mod host;
mod http;
mod interfaces;
mod netstat;
mod protocol;
mod resolve;
mod target;
mod tcp;

pub use budget::Budget;
pub use connect::{CONNECT_TIMEOUT, Connection, connect};
pub use dns::{
    DEFAULT_RESOLVE_TIMEOUT, HOSTNAME_TYPE, ResolveOptions, hostname_resource, resolve,
    resolve_hostname,
};
pub use error::{NetError, NetworkErrorKind};
pub use host::Host;
pub use http::{Client, DEFAULT_TIMEOUT, MAX_REDIRECTS, Method, Request, Response};
pub use interfaces::{Network, SYSINFO_TYPE, ip_addresses, sysinfo_resource};
pub use netstat::{
    InternetConnection, NetworkProtocol, NetworkStats, ProcessInfo, TABLES, TcpState, UnixProtocol,
    UnixSocket, UnixSocketState, network_stats,
};
pub use protocol::TransportProtocol;
pub use resolve::{DNS_PORT, DnsServer, Resolver};
pub use target::{HttpTarget, URL_TYPE};
