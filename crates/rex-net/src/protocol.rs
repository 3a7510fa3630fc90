//! `TransportProtocol`: which transport `connect` and DNS queries use.

use std::fmt;

/// The transport of a connection or DNS query, as the original's
/// `TransportProtocol::{AUTO, UDP, TCP}`. Choosing one authorizes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TransportProtocol {
    /// `connect`: TCP, then UDP when TCP fails. DNS: UDP, then TCP when the answer is
    /// truncated.
    #[default]
    Auto,
    /// UDP only.
    Udp,
    /// TCP only.
    Tcp,
}

impl TransportProtocol {
    /// Every value, in the order of the original module constants.
    pub const ALL: &'static [TransportProtocol] = &[Self::Auto, Self::Udp, Self::Tcp];

    /// The constant name: `AUTO`, `UDP` or `TCP`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Auto => "AUTO",
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        }
    }
}

impl fmt::Display for TransportProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
