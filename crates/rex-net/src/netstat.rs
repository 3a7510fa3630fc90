//! `network_stats()`: the sockets of the run's network namespace, from `/proc/net`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rex_policy::{CanonicalPath, Gate, Resource, action};
use rustix::fs::{Mode, OFlags};
use serde::Serialize;

use crate::error::NetError;

macro_rules! constants {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $variant:ident = $name:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum $ty { $($(#[$vm])* $variant),* }
        impl $ty {
            /// Every value with its module constant name.
            pub const ALL: &'static [($ty, &'static str)] = &[$(($ty::$variant, $name)),*];
        }
        impl fmt::Display for $ty {
            /// The original's text form (`Tcp`, `Established`, ...).
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

constants!(
    /// The table a connection comes from.
    NetworkProtocol {
        /// `/proc/net/tcp`.
        Tcp = "TCP",
        /// `/proc/net/tcp6`.
        Tcp6 = "TCP6",
        /// `/proc/net/udp`.
        Udp = "UDP",
        /// `/proc/net/udp6`.
        Udp6 = "UDP6",
    }
);

constants!(
    /// A socket state as the kernel numbers it (UDP sockets use the same numbers).
    TcpState {
        /// 1.
        Established = "ESTABLISHED",
        /// 2.
        SynSent = "SYN_SENT",
        /// 3.
        SynRecv = "SYN_RECV",
        /// 4.
        FinWait1 = "FIN_WAIT1",
        /// 5.
        FinWait2 = "FIN_WAIT2",
        /// 6.
        TimeWait = "TIME_WAIT",
        /// 7.
        Close = "CLOSE",
        /// 8.
        CloseWait = "CLOSE_WAIT",
        /// 9.
        LastAck = "LAST_ACK",
        /// 10.
        Listen = "LISTEN",
        /// 11.
        Closing = "CLOSING",
        /// 12.
        NewSynRecv = "NEW_SYN_RECV",
        /// Any other number.
        None = "NONE",
    }
);

constants!(
    /// The type of a Unix socket.
    UnixProtocol {
        /// `SOCK_STREAM`.
        Stream = "STREAM",
        /// `SOCK_DGRAM`.
        Dgram = "DGRAM",
        /// `SOCK_SEQPACKET`.
        Seqpacket = "SEQPACKET",
    }
);

constants!(
    /// The state of a Unix socket.
    UnixSocketState {
        /// Not connected (also any unknown number).
        Unconnected = "UNCONNECTED",
        /// Connecting.
        Connecting = "CONNECTING",
        /// Connected.
        Connected = "CONNECTED",
        /// Disconnecting.
        Disconnecting = "DISCONNECTING",
    }
);

/// The process owning a socket. rex does not fill it in (see [`network_stats`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Process name.
    pub process_name: String,
}

/// One TCP or UDP socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InternetConnection {
    /// Which table it is from.
    pub protocol: NetworkProtocol,
    /// Bytes queued for the application.
    pub recv_queue: u32,
    /// Bytes queued for the peer.
    pub send_queue: u32,
    /// Local address and port.
    pub local_address: SocketAddr,
    /// Remote address and port.
    pub remote_address: SocketAddr,
    /// State.
    pub state: TcpState,
    /// Socket inode.
    pub inode: u64,
    /// Always `None` in rex.
    pub process_info: Option<ProcessInfo>,
}

/// One Unix socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnixSocket {
    /// Type.
    pub protocol: UnixProtocol,
    /// Reference count.
    pub ref_count: u32,
    /// State.
    pub state: UnixSocketState,
    /// Socket inode.
    pub inode: u64,
    /// Bound path (`@name` for abstract sockets), if any.
    pub path: Option<String>,
    /// Always `None` in rex.
    pub process_info: Option<ProcessInfo>,
}

/// All sockets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkStats {
    /// TCP and UDP sockets, IPv4 then IPv6.
    pub internet_connections: Vec<InternetConnection>,
    /// Unix sockets.
    pub unix_sockets: Vec<UnixSocket>,
}

/// The tables read, in order.
pub const TABLES: &[&str] = &["tcp", "tcp6", "udp", "udp6", "unix"];

/// Reads the socket tables of the run's network namespace.
///
/// For each of `/proc/net/{tcp,tcp6,udp,udp6,unix}`: checks `file_system::Action::"open"`
/// and `"read"` on `file_system::File::"/proc/net/<table>"` (so `resource in
/// file_system::Dir::"/proc"` rules apply), then reads it through a descriptor opened
/// right after the check from a `/proc` verified to be procfs (`/proc/net` is the
/// kernel's link to `/proc/self/net`). A missing table (no IPv6) is skipped; at most
/// `max_bytes` are read per table. `process_info` is not filled in: finding a socket's
/// process means reading other processes' descriptors, which is `rex-proc`'s to authorize.
pub fn network_stats(gate: &Gate, max_bytes: usize) -> Result<NetworkStats, NetError> {
    let mut stats = NetworkStats::default();
    for table in TABLES {
        let Some(text) = read_table(gate, table, max_bytes)? else {
            continue;
        };
        match *table {
            "unix" => stats.unix_sockets = parse_unix(&text),
            t => {
                let protocol = match t {
                    "tcp" => NetworkProtocol::Tcp,
                    "tcp6" => NetworkProtocol::Tcp6,
                    "udp" => NetworkProtocol::Udp,
                    _ => NetworkProtocol::Udp6,
                };
                stats
                    .internet_connections
                    .extend(parse_inet(&text, protocol));
            }
        }
    }
    Ok(stats)
}

fn read_table(gate: &Gate, table: &str, max_bytes: usize) -> Result<Option<String>, NetError> {
    let shown = format!("/proc/net/{table}");
    let path = CanonicalPath::new(&shown).map_err(|e| NetError::Internal(e.to_string()))?;
    let resource = Resource::file(&path);
    gate.check(action::fs::OPEN, &resource)?;
    gate.check(action::fs::READ, &resource)?;
    let io = |op, e: rustix::io::Errno| NetError::io(op, &shown, e.into());
    let proc = rustix::fs::open(
        "/proc",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io("open", e))?;
    let is_proc = |fd| rustix::fs::fstatfs(fd).map(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC);
    if !is_proc(&proc).map_err(|e| io("inspect", e))? {
        return Err(NetError::Internal("/proc is not procfs".to_owned()));
    }
    let fd = match rustix::fs::openat(
        &proc,
        format!("self/net/{table}"),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(io("open", e)),
    };
    if !is_proc(&fd).map_err(|e| io("inspect", e))? {
        return Err(NetError::Internal(format!("{shown} is not on procfs")));
    }
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = rustix::io::read(&fd, &mut buf).map_err(|e| io("read", e))?;
        if n == 0 {
            break;
        }
        if data.len() + n > max_bytes {
            return Err(NetError::Io {
                op: "read",
                target: shown,
                source: std::io::Error::other(format!(
                    "larger than the limit of {max_bytes} bytes"
                )),
            });
        }
        data.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    Ok(Some(String::from_utf8_lossy(&data).into_owned()))
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), each 32-bit word in host order.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each 32-bit word of the network-order address as a number in
    // host order; its native-endian bytes are the address bytes.
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::to_ne_bytes);
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(ip.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn tcp_state(code: u8) -> TcpState {
    match code {
        1 => TcpState::Established,
        2 => TcpState::SynSent,
        3 => TcpState::SynRecv,
        4 => TcpState::FinWait1,
        5 => TcpState::FinWait2,
        6 => TcpState::TimeWait,
        7 => TcpState::Close,
        8 => TcpState::CloseWait,
        9 => TcpState::LastAck,
        10 => TcpState::Listen,
        11 => TcpState::Closing,
        12 => TcpState::NewSynRecv,
        _ => TcpState::None,
    }
}

fn parse_inet(text: &str, protocol: NetworkProtocol) -> Vec<InternetConnection> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some(InternetConnection {
                protocol,
                local_address: parse_addr(f.get(1)?)?,
                remote_address: parse_addr(f.get(2)?)?,
                state: tcp_state(u8::from_str_radix(f.get(3)?, 16).ok()?),
                send_queue: u32::from_str_radix(tx, 16).ok()?,
                recv_queue: u32::from_str_radix(rx, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
                process_info: None,
            })
        })
        .collect()
}

fn parse_unix(text: &str) -> Vec<UnixSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let protocol = match u16::from_str_radix(f.get(4)?, 16).ok()? {
                1 => UnixProtocol::Stream,
                2 => UnixProtocol::Dgram,
                5 => UnixProtocol::Seqpacket,
                _ => return None,
            };
            let state = match u8::from_str_radix(f.get(5)?, 16).ok()? {
                2 => UnixSocketState::Connecting,
                3 => UnixSocketState::Connected,
                4 => UnixSocketState::Disconnecting,
                _ => UnixSocketState::Unconnected,
            };
            Some(UnixSocket {
                protocol,
                ref_count: u32::from_str_radix(f.get(1)?, 16).ok()?,
                state,
                inode: f.get(6)?.parse().ok()?,
                path: f.get(7).map(|p| (*p).to_owned()),
                process_info: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_decode_in_host_order() {
        assert_eq!(
            parse_addr("0100007F:1F90").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_addr("00000000000000000000000001000000:0016").unwrap(),
            "[::1]:22".parse().unwrap()
        );
        assert!(parse_addr("zz:1").is_none());
    }

    #[test]
    fn tables_parse() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n";
        let c = parse_inet(tcp, NetworkProtocol::Tcp);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].state, TcpState::Listen);
        assert_eq!(c[0].recv_queue, 2);
        assert_eq!(c[0].inode, 12345);
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 999 /run/x.sock\n0000000000000000: 00000003 00000000 00000000 0002 03 1000\n";
        let u = parse_unix(unix);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].path.as_deref(), Some("/run/x.sock"));
        assert_eq!(u[0].state, UnixSocketState::Unconnected);
        assert_eq!(u[1].protocol, UnixProtocol::Dgram);
        assert_eq!(u[1].state, UnixSocketState::Connected);
        assert_eq!(u[1].path, None);
    }
}
