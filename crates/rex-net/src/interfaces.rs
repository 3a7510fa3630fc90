//! `ip_addresses()`: the host's interfaces and their addresses.

use rex_policy::{Gate, Resource, action};
use serde::Serialize;

use crate::error::NetError;

/// Cedar entity type of system-information requests.
pub const SYSINFO_TYPE: &str = "sysinfo::Sysinfo";

/// One interface and its addresses (`address/prefix`, e.g. `127.0.0.1/8`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Network {
    /// The interface name, e.g. `lo`.
    pub interface_name: String,
    /// Its addresses with prefix length.
    pub addresses: Vec<String>,
}

/// `sysinfo::Sysinfo::"<random uuid>"`: as in the original, a fresh id per request, so
/// policies match it by type (`resource is sysinfo::Sysinfo`).
pub fn sysinfo_resource() -> Resource {
    let mut b = [0u8; 16];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    Resource::new(SYSINFO_TYPE, id)
}

/// Lists interfaces with their addresses, in the order the kernel reports them.
/// Checks `sysinfo::Action::"list"` on `sysinfo::Sysinfo`; reads nothing else.
pub fn ip_addresses(gate: &Gate) -> Result<Vec<Network>, NetError> {
    gate.check(action::sysinfo::LIST, &sysinfo_resource())?;
    let ifs =
        if_addrs::get_if_addrs().map_err(|e| NetError::io("list", "network interfaces", e))?;
    let mut out: Vec<Network> = Vec::new();
    for i in ifs {
        let addr = match &i.addr {
            if_addrs::IfAddr::V4(a) => format!("{}/{}", a.ip, a.prefixlen),
            if_addrs::IfAddr::V6(a) => format!("{}/{}", a.ip, a.prefixlen),
        };
        match out.iter_mut().find(|n| n.interface_name == i.name) {
            Some(n) => n.addresses.push(addr),
            None => out.push(Network {
                interface_name: i.name.clone(),
                addresses: vec![addr],
            }),
        }
    }
    Ok(out)
}
