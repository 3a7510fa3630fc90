#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! TLS for `rex serve`: the acceptor built from PEM files and the listener axum serves on
//! complete a real handshake on loopback with a client that trusts only the test's
//! self-signed certificate; plain HTTP on the same port gets no HTTP answer; a bad
//! certificate file is refused with its path named.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use rex_server::tls::{TlsListener, acceptor};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn get_over(stream: &mut (impl AsyncReadExt + AsyncWriteExt + Unpin)) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn https_is_served_with_the_configured_certificate_and_plain_http_is_not() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();

        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener::new(tcp, acceptor(&cert_path, &key_path).unwrap()).unwrap();
        let app = axum::Router::new().route("/healthz", get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let reply = get_over(&mut tls).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.ends_with("ok"), "{reply}");

        // Plain HTTP on the TLS port: the handshake fails, no HTTP answer comes back.
        let mut plain = TcpStream::connect(addr).await.unwrap();
        let reply = get_over(&mut plain).await;
        assert!(!reply.contains("HTTP/1.1 200"), "{reply}");
    });

    // A certificate file that is not PEM is refused, naming the file.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let Err(err) = acceptor(&bad, &bad) else {
        panic!("a non-PEM certificate was accepted")
    };
    let err = err.to_string();
    assert!(err.contains("bad.pem"), "{err}");
}
