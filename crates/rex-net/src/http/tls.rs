//! TLS for `https`: rustls with the Mozilla root store, server name = the URL's host.

use std::net::TcpStream;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::conn::Conn;
use crate::budget::Budget;
use crate::error::NetError;
use crate::host::Host;

fn config() -> Result<Arc<ClientConfig>, NetError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| NetError::Tls {
            host: String::new(),
            reason: e,
        })
}

/// Runs the TLS handshake on `tcp` for `host`; the certificate must be valid for `host`.
pub(crate) fn wrap(tcp: TcpStream, host: &Host, budget: &Budget) -> Result<Conn, NetError> {
    let tls_err = |reason: String| NetError::Tls {
        host: host.attr(),
        reason,
    };
    let name = match host {
        Host::Domain(d) => ServerName::try_from(d.clone()).map_err(|e| tls_err(e.to_string()))?,
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
    };
    let conn = ClientConnection::new(config()?, name).map_err(|e| tls_err(e.to_string()))?;
    let mut stream = StreamOwned::new(conn, tcp);
    let left = budget.remaining("tls handshake")?;
    stream
        .sock
        .set_read_timeout(Some(left))
        .and_then(|()| stream.sock.set_write_timeout(Some(left)))
        .map_err(|e| NetError::io("configure socket for", host.attr(), e))?;
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    NetError::Timeout(format!("tls handshake with `{host}`"))
                }
                _ => tls_err(e.to_string()),
            })?;
    }
    Ok(Conn::Tls(Box::new(stream)))
}
