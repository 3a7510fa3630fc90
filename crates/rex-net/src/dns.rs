//! `resolve_hostname(ResolveOptions)` and `resolve(host)`: name to addresses, the name
//! authorized as `sysinfo::Hostname` and a chosen DNS server as a `connect`.

use std::time::Duration;

use rex_policy::{AttrValue, Gate, Resource, action};

use crate::budget::Budget;
use crate::error::NetError;
use crate::host::Host;
use crate::protocol::TransportProtocol;
use crate::resolve::{DnsServer, Resolver, lookup};

/// Cedar entity type of host names.
pub const HOSTNAME_TYPE: &str = "sysinfo::Hostname";
/// Timeout of a lookup when none is given (bounded by the run's deadline too).
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to resolve and how. Building options authorizes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The name (or address) to resolve.
    pub hostname: String,
    /// Transport to a chosen DNS server (ignored by the system resolver).
    pub protocol: TransportProtocol,
    /// A DNS server (`ip`, `ip:port`), or `None` for the system resolver.
    pub resolver: Option<String>,
    /// Timeout; `None` means [`DEFAULT_RESOLVE_TIMEOUT`].
    pub timeout: Option<Duration>,
}

/// `sysinfo::Hostname::"<name>"` with attribute `hostname`, the name normalized as URL
/// hosts are (lowercase, IDNA, no trailing dot; addresses in canonical form).
pub fn hostname_resource(host: &Host) -> Resource {
    let name = host.attr();
    Resource::new(HOSTNAME_TYPE, name.clone()).attr("hostname", AttrValue::String(name))
}

/// Resolves `options.hostname` to its addresses, as strings.
///
/// Checks `sysinfo::Action::"resolve_hostname"` on `sysinfo::Hostname::"<name>"`; with a
/// resolver, also `network::Action::"connect"` on `network::url::"<ip>:<port>"` (scheme
/// `dns`, port 53 unless given) before any packet is sent. An address resolves to itself.
pub fn resolve_hostname(
    gate: &Gate,
    options: &ResolveOptions,
    budget: &Budget,
) -> Result<Vec<String>, NetError> {
    let host = Host::parse(&options.hostname)?;
    let resolver = match &options.resolver {
        None => Resolver::System,
        Some(s) => Resolver::Dns(DnsServer::parse(s, options.protocol)?),
    };
    gate.check(action::sysinfo::RESOLVE_HOSTNAME, &hostname_resource(&host))?;
    let budget = budget.within(options.timeout.unwrap_or(DEFAULT_RESOLVE_TIMEOUT));
    Ok(lookup(gate, &resolver, &host, &budget)?
        .into_iter()
        .map(|ip| ip.to_string())
        .collect())
}

/// `resolve(host)`: [`resolve_hostname`] with the system resolver.
pub fn resolve(gate: &Gate, host: &str, budget: &Budget) -> Result<Vec<String>, NetError> {
    resolve_hostname(
        gate,
        &ResolveOptions {
            hostname: host.to_owned(),
            ..ResolveOptions::default()
        },
        budget,
    )
}
