//! Host names and addresses in one normalized spelling, so a rule on a host cannot be
//! sidestepped by writing it another way.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::error::NetError;

/// A normalized host: a lowercase ASCII domain name (IDNA applied, percent-decoded, no
/// trailing dot) or an IP address (IPv4 in dotted-decimal even when written `0x7f.1`,
/// `2130706433` or `::ffff:127.0.0.1`; IPv6 in its compressed form).
///
/// Normalizing authorizes nothing; it makes the `host` attribute of a request the same
/// for every spelling of one host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name.
    Domain(String),
    /// An IP address.
    Ip(IpAddr),
}

impl Host {
    /// Parses a host as a script writes it for `connect` or `resolve`: a name, an IPv4
    /// address in any WHATWG form, or an IPv6 address with or without brackets. The same
    /// WHATWG host parser reads URLs, so both agree on every spelling.
    pub fn parse(input: &str) -> Result<Self, NetError> {
        let bad = |reason: &str| NetError::InvalidArgument(format!("host `{input}`: {reason}"));
        if input.is_empty() {
            return Err(bad("empty"));
        }
        if let Ok(v6) = input.parse::<Ipv6Addr>() {
            return Ok(Self::from_ip(IpAddr::V6(v6)));
        }
        let host = url::Host::parse(input).map_err(|e| bad(&e.to_string()))?;
        Self::from_url_host(host).map_err(|e| bad(&e))
    }

    /// The host of a parsed URL, normalized.
    pub(crate) fn from_url_host<S: AsRef<str>>(host: url::Host<S>) -> Result<Self, String> {
        match host {
            url::Host::Ipv4(v4) => Ok(Self::Ip(IpAddr::V4(v4))),
            url::Host::Ipv6(v6) => Ok(Self::from_ip(IpAddr::V6(v6))),
            url::Host::Domain(d) => {
                let d = d.as_ref();
                let name = d.strip_suffix('.').unwrap_or(d);
                if name.is_empty() || name.ends_with('.') || name.starts_with('.') {
                    return Err("not a valid host name".to_owned());
                }
                // `url` lowercases and applies IDNA; re-parse after the trailing dot is
                // gone so `127.0.0.1.` and `0x7f.1.` end as addresses too.
                match url::Host::parse(name).map_err(|e| e.to_string())? {
                    url::Host::Domain(d) => Ok(Self::Domain(d)),
                    url::Host::Ipv4(v4) => Ok(Self::Ip(IpAddr::V4(v4))),
                    url::Host::Ipv6(v6) => Ok(Self::from_ip(IpAddr::V6(v6))),
                }
            }
        }
    }

    /// An address, with IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) turned into the
    /// IPv4 address they reach.
    pub fn from_ip(ip: IpAddr) -> Self {
        Self::Ip(canonical_ip(ip))
    }

    /// The `host` attribute value: the name, or the address without brackets.
    pub fn attr(&self) -> String {
        match self {
            Self::Domain(d) => d.clone(),
            Self::Ip(ip) => ip.to_string(),
        }
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn with_port(&self, port: u16) -> String {
        format!("{}:{port}", self.url_form())
    }

    /// The host as it is written in a URL (IPv6 in brackets).
    pub fn url_form(&self) -> String {
        match self {
            Self::Domain(d) => d.clone(),
            Self::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Self::Ip(IpAddr::V4(v4)) => v4.to_string(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url_form())
    }
}

/// IPv4-mapped IPv6 addresses become the IPv4 address they reach.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_loopback_is_one_host() {
        for s in [
            "127.0.0.1",
            "0x7f.1",
            "0x7f.0.0.1",
            "2130706433",
            "0177.0.0.1",
            "127.1",
            "127.0.0.1.",
            "[::ffff:127.0.0.1]",
            "::ffff:7f00:1",
            "%31%32%37.0.0.1",
        ] {
            assert_eq!(Host::parse(s).unwrap().attr(), "127.0.0.1", "{s}");
        }
    }

    #[test]
    fn names_are_lowercase_idna_without_trailing_dot() {
        assert_eq!(Host::parse("LocalHost.").unwrap().attr(), "localhost");
        assert_eq!(
            Host::parse("BÜCHER.example").unwrap().attr(),
            "xn--bcher-kva.example"
        );
        assert_eq!(Host::parse("::1").unwrap().attr(), "::1");
        assert_eq!(Host::parse("[::1]").unwrap().with_port(22), "[::1]:22");
    }

    #[test]
    fn junk_is_refused() {
        for s in ["", ".", "a..", "a b", "a/b", "[::1", "a@b"] {
            assert!(Host::parse(s).is_err(), "{s}");
        }
    }
}
