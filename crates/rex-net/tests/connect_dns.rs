#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! `connect`, DNS, interfaces and socket tables against the real loopback and kernel.

mod support;

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use rex_net::{
    Budget, DnsServer as Dns, NetError, NetworkErrorKind, NetworkProtocol, ResolveOptions,
    Resolver, TcpState, TransportProtocol, connect, ip_addresses, network_stats, resolve,
    resolve_hostname,
};
use support::{DnsServer, gate};

fn budget() -> Budget {
    Budget::new(Duration::from_secs(10), 1 << 22)
}

fn accepted(l: &TcpListener) -> bool {
    l.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    l.accept().is_ok()
}

#[test]
fn connect_checks_host_and_port() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (
        open.local_addr().unwrap().port(),
        closed.local_addr().unwrap().port(),
    );
    let g = gate(&format!(
        r#"permit(principal, action == network::Action::"connect", resource)
           when {{ resource has host && resource.host == "127.0.0.1" && resource has port && resource.port == {p1} }};"#
    ));
    let c = connect(
        &g,
        "127.0.0.1",
        i64::from(p1),
        TransportProtocol::Tcp,
        &Resolver::System,
        &budget(),
    )
    .unwrap();
    assert_eq!(c.protocol(), TransportProtocol::Tcp);
    assert_eq!(c.endpoint(), format!("127.0.0.1:{p1}"));
    assert_eq!(c.peer_address(), open.local_addr().unwrap());
    assert!(c.is_connected());
    assert!(accepted(&open));

    let e = connect(
        &g,
        "127.0.0.1",
        i64::from(p2),
        TransportProtocol::Tcp,
        &Resolver::System,
        &budget(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied);
    assert_eq!(
        e.denied().unwrap().resource().id(),
        format!("127.0.0.1:{p2}")
    );
    assert!(
        !accepted(&closed),
        "the denied port must not see a connection"
    );

    // Another spelling of the host is the same host.
    let c = connect(
        &g,
        "0x7f.1",
        i64::from(p1),
        TransportProtocol::Tcp,
        &Resolver::System,
        &budget(),
    )
    .unwrap();
    assert_eq!(c.endpoint(), format!("127.0.0.1:{p1}"));
    for bad in [0, -1, 65536] {
        let e = connect(
            &g,
            "127.0.0.1",
            bad,
            TransportProtocol::Tcp,
            &Resolver::System,
            &budget(),
        )
        .unwrap_err();
        assert!(matches!(e, NetError::InvalidArgument(_)), "{bad}");
    }
}

#[test]
fn udp_and_auto_are_checked_as_udp() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    let tcp_only = gate(
        r#"permit(principal, action == network::Action::"connect", resource)
           when { resource has scheme && resource.scheme == "tcp" };"#,
    );
    let e = connect(
        &tcp_only,
        "127.0.0.1",
        i64::from(port),
        TransportProtocol::Udp,
        &Resolver::System,
        &budget(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied);
    // AUTO: TCP is refused by the kernel (no listener), then UDP is asked about.
    let e = connect(
        &tcp_only,
        "127.0.0.1",
        i64::from(port),
        TransportProtocol::Auto,
        &Resolver::System,
        &budget(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied);
    let any = gate(r#"permit(principal, action == network::Action::"connect", resource);"#);
    let c = connect(
        &any,
        "127.0.0.1",
        i64::from(port),
        TransportProtocol::Auto,
        &Resolver::System,
        &budget(),
    )
    .unwrap();
    assert_eq!(c.protocol(), TransportProtocol::Udp);
    assert_eq!(c.peer_address(), udp.local_addr().unwrap());
}

#[test]
fn connect_to_a_name_that_resolves_to_a_forbidden_address_is_denied() {
    let target = TcpListener::bind("127.0.0.2:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let dns = DnsServer::start(&[("db.test", "127.0.0.2")]);
    let g = gate(
        r#"permit(principal, action == network::Action::"connect", resource);
           forbid(principal, action, resource) when { resource has host && resource.host == "127.0.0.2" };"#,
    );
    let resolver = Resolver::Dns(Dns {
        addr: dns.addr,
        protocol: TransportProtocol::Udp,
    });
    let e = connect(
        &g,
        "db.test",
        i64::from(port),
        TransportProtocol::Tcp,
        &resolver,
        &budget(),
    )
    .unwrap_err();
    assert_eq!(
        e.denied().unwrap().resource().id(),
        format!("127.0.0.2:{port}")
    );
    assert!(!accepted(&target));
}

fn dns_policy(dns_port: u16, name: &str) -> String {
    format!(
        r#"permit(principal, action == sysinfo::Action::"resolve_hostname", resource == sysinfo::Hostname::"{name}");
           permit(principal, action == network::Action::"connect", resource)
             when {{ resource has scheme && resource.scheme == "dns" && resource has port && resource.port == {dns_port} }};"#
    )
}

#[test]
fn resolve_hostname_with_a_permitted_resolver() {
    let dns = DnsServer::start(&[("svc.test", "10.1.2.3")]);
    let g = gate(&dns_policy(dns.addr.port(), "svc.test"));
    let mut o = ResolveOptions {
        hostname: "SVC.test.".into(),
        resolver: Some(dns.addr.to_string()),
        protocol: TransportProtocol::Udp,
        timeout: Some(Duration::from_secs(2)),
    };
    assert_eq!(
        resolve_hostname(&g, &o, &budget()).unwrap(),
        vec!["10.1.2.3"]
    );
    if dns.tcp {
        o.protocol = TransportProtocol::Tcp;
        assert_eq!(
            resolve_hostname(&g, &o, &budget()).unwrap(),
            vec!["10.1.2.3"]
        );
    }
    o.hostname = "nope.test".into();
    let e = resolve_hostname(&g, &o, &budget()).unwrap_err();
    assert_eq!(
        e.kind(),
        NetworkErrorKind::PermissionDenied,
        "the name is checked first"
    );
    let g = gate(&dns_policy(dns.addr.port(), "nope.test"));
    let e = resolve_hostname(&g, &o, &budget()).unwrap_err();
    assert!(matches!(e, NetError::Resolve { .. }), "{e}");
    assert_eq!(e.sysinfo_kind(), "IoError");
}

#[test]
fn resolve_hostname_denials_send_nothing() {
    let dns = DnsServer::start(&[("svc.test", "10.1.2.3")]);
    let o = ResolveOptions {
        hostname: "svc.test".into(),
        resolver: Some(dns.addr.to_string()),
        ..ResolveOptions::default()
    };
    // Name permitted, resolver not.
    let g = gate(r#"permit(principal, action == sysinfo::Action::"resolve_hostname", resource);"#);
    let e = resolve_hostname(&g, &o, &budget()).unwrap_err();
    let d = e.denied().unwrap();
    assert_eq!(d.resource().id(), dns.addr.to_string());
    assert_eq!(e.sysinfo_kind(), "PermissionDenied");
    // Resolver permitted, name not.
    let g = gate(r#"permit(principal, action == network::Action::"connect", resource);"#);
    let e = resolve_hostname(&g, &o, &budget()).unwrap_err();
    assert_eq!(e.denied().unwrap().resource().id(), "svc.test");
    assert!(dns.queries().is_empty());
    // A resolver must be an address.
    let o = ResolveOptions {
        resolver: Some("dns.example".into()),
        ..o
    };
    assert!(matches!(
        resolve_hostname(&g, &o, &budget()),
        Err(NetError::InvalidArgument(_))
    ));
}

#[test]
fn resolve_uses_the_system_resolver() {
    let g = gate(
        r#"permit(principal, action == sysinfo::Action::"resolve_hostname", resource)
           when { resource.hostname == "localhost" || resource.hostname == "127.0.0.1" };"#,
    );
    let v = resolve(&g, "LocalHost", &budget()).unwrap();
    assert!(v.iter().any(|a| a == "127.0.0.1" || a == "::1"), "{v:?}");
    assert_eq!(resolve(&g, "0x7f.1", &budget()).unwrap(), vec!["127.0.0.1"]);
    let e = resolve(&g, "example.invalid", &budget()).unwrap_err();
    assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied);
}

#[test]
fn ip_addresses_lists_loopback_when_permitted() {
    let g = gate(
        r#"permit(principal, action == sysinfo::Action::"list", resource is sysinfo::Sysinfo);"#,
    );
    let nets = ip_addresses(&g).unwrap();
    let lo = nets.iter().find(|n| n.interface_name == "lo").unwrap();
    assert!(lo.addresses.iter().any(|a| a == "127.0.0.1/8"), "{lo:?}");
    let e = ip_addresses(&gate("")).unwrap_err();
    assert_eq!(e.sysinfo_kind(), "PermissionDenied");
}

#[test]
fn network_stats_reads_the_socket_tables_when_permitted() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let g = gate(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"],
                  resource in file_system::Dir::"/proc");"#,
    );
    let stats = network_stats(&g, 1 << 24).unwrap();
    let mine = stats
        .internet_connections
        .iter()
        .find(|c| c.local_address == addr)
        .unwrap();
    assert_eq!(mine.protocol, NetworkProtocol::Tcp);
    assert_eq!(mine.state, TcpState::Listen);
    assert!(mine.inode > 0);
    let g = gate(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"],
                  resource in file_system::Dir::"/proc");
           forbid(principal, action == file_system::Action::"read",
                  resource == file_system::File::"/proc/net/udp");"#,
    );
    let e = network_stats(&g, 1 << 24).unwrap_err();
    assert_eq!(e.denied().unwrap().resource().id(), "/proc/net/udp");
    // The byte budget bounds each table.
    assert!(network_stats(&gate(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource in file_system::Dir::"/proc");"#,
    ), 16).is_err());
}
