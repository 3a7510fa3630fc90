#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! HTTP against real loopback servers: every hop checked, the address connected is the
//! one authorized, spelling tricks do not move a host, bodies and time are bounded.

mod support;

use std::time::{Duration, Instant};

use rex_net::{
    Budget, Client, DnsServer as Dns, Method, NetError, NetworkErrorKind, Resolver,
    TransportProtocol,
};
use rex_policy::DenyReason;
use support::{DnsServer, HttpServer, Reply, gate};

fn budget() -> Budget {
    Budget::new(Duration::from_secs(20), 1 << 20)
}

fn permit_get_port(port: u16) -> String {
    format!(
        r#"permit(principal, action == network::Action::"GET", resource)
           when {{ resource has host && resource.host == "127.0.0.1" && resource has port && resource.port == {port} }};"#
    )
}

fn denied(e: &NetError) -> (String, bool) {
    let d = e
        .denied()
        .unwrap_or_else(|| panic!("expected a denial, got {e}"));
    (
        d.resource().id().to_owned(),
        matches!(d.reason(), DenyReason::Forbidden(_)),
    )
}

#[test]
fn permitted_get_succeeds() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("healthy"));
    let g = gate(&permit_get_port(srv.port()));
    let r = Client::new()
        .get(&srv.url("/health?x=1"))
        .send(&g, &budget())
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "healthy");
    assert!(!r.truncated);
    assert_eq!(r.url, srv.url("/health?x=1"));
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, "/health?x=1");
    assert_eq!(seen[0].header("host"), Some(srv.addr.to_string().as_str()));
}

#[test]
fn get_without_permit_is_denied_before_anything_is_sent() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("x"));
    let g = gate("");
    let e = Client::new()
        .get(&srv.url("/"))
        .send(&g, &budget())
        .unwrap_err();
    assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied);
    assert_eq!(denied(&e).0, srv.url("/"));
    assert!(e.to_string().contains(r#"network::Action::"GET""#), "{e}");
    assert_eq!(srv.hits(), 0);
}

#[test]
fn redirect_to_a_forbidden_port_is_denied_at_the_hop() {
    let b = HttpServer::start("127.0.0.1", |_| Reply::ok("secret"));
    let target = b.url("/next");
    let a = HttpServer::start("127.0.0.1", move |_| Reply::redirect(302, &target));
    let g = gate(&permit_get_port(a.port()));
    let e = Client::new()
        .get(&a.url("/start"))
        .send(&g, &budget())
        .unwrap_err();
    assert_eq!(denied(&e).0, b.url("/next"));
    assert_eq!(a.hits(), 1);
    assert_eq!(b.hits(), 0, "the forbidden hop must not be contacted");

    // With both ports permitted the redirect is followed.
    let g = gate(&format!(
        "{}\n{}",
        permit_get_port(a.port()),
        permit_get_port(b.port())
    ));
    let r = Client::new()
        .get(&a.url("/start"))
        .send(&g, &budget())
        .unwrap();
    assert_eq!((r.status, r.text.as_str()), (200, "secret"));
    assert_eq!(r.url, b.url("/next"));
}

#[test]
fn redirect_to_a_forbidden_host_is_denied_at_the_hop() {
    let other = HttpServer::start("127.0.0.2", |_| Reply::ok("other"));
    let target = other.url("/x");
    let a = HttpServer::start("127.0.0.1", move |_| Reply::redirect(301, &target));
    let g = gate(
        r#"permit(principal, action == network::Action::"GET", resource)
           when { resource has host && resource.host == "127.0.0.1" };"#,
    );
    let e = Client::new()
        .get(&a.url("/"))
        .send(&g, &budget())
        .unwrap_err();
    assert_eq!(denied(&e).0, other.url("/x"));
    assert_eq!(other.hits(), 0);
}

#[test]
fn redirect_chain_is_capped() {
    let a = HttpServer::start("127.0.0.1", |_| Reply::redirect(307, "/loop"));
    let g = gate(&permit_get_port(a.port()));
    let e = Client::new()
        .get(&a.url("/loop"))
        .send(&g, &budget())
        .unwrap_err();
    assert!(
        matches!(e, NetError::TooManyRedirects { limit: 10, .. }),
        "{e}"
    );
    assert_eq!(e.kind(), NetworkErrorKind::RequestError);
    assert_eq!(a.hits(), 11);
}

#[test]
fn see_other_after_post_continues_as_get_and_each_method_is_its_own_action() {
    let srv = HttpServer::start("127.0.0.1", |s| match s.target.as_str() {
        "/form" => Reply::redirect(303, "/done"),
        _ => Reply::ok(&format!(
            "{} {}",
            s.method,
            String::from_utf8_lossy(&s.body)
        )),
    });
    let port = srv.port();
    let both = format!(
        r#"permit(principal, action in [network::Action::"POST", network::Action::"GET"], resource)
           when {{ resource has port && resource.port == {port} }};"#
    );
    let g = gate(&both);
    let req = Client::new()
        .request(Method::Post, &srv.url("/form"))
        .with_body("a=1");
    let r = req.send(&g, &budget()).unwrap();
    assert_eq!(r.text, "GET ");
    let seen = srv.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].body.as_slice()),
        ("POST", &b"a=1"[..])
    );
    assert_eq!(seen[0].header("content-length"), Some("3"));
    assert_eq!(seen[1].method, "GET");

    // POST alone does not allow the GET hop, PUT, or DELETE.
    let post_only = format!(
        r#"permit(principal, action == network::Action::"POST", resource)
           when {{ resource has port && resource.port == {port} }};"#
    );
    let g = gate(&post_only);
    let e = req.send(&g, &budget()).unwrap_err();
    assert_eq!(denied(&e).0, srv.url("/done"));
    for m in [Method::Put, Method::Delete] {
        let e = Client::new()
            .request(m, &srv.url("/x"))
            .send(&g, &budget())
            .unwrap_err();
        assert_eq!(e.kind(), NetworkErrorKind::PermissionDenied, "{m:?}");
    }
    let g = gate(&format!(
        r#"permit(principal, action in [network::Action::"PUT", network::Action::"DELETE"], resource)
           when {{ resource has port && resource.port == {port} }};"#
    ));
    let r = Client::new()
        .request(Method::Put, &srv.url("/p"))
        .with_body("v")
        .send(&g, &budget())
        .unwrap();
    assert_eq!(r.text, "PUT v");
    let r = Client::new()
        .request(Method::Delete, &srv.url("/p"))
        .send(&g, &budget())
        .unwrap();
    assert_eq!(r.text, "DELETE ");
}

#[test]
fn a_name_resolving_to_a_forbidden_address_is_denied() {
    let good = HttpServer::start("127.0.0.1", |_| Reply::ok("good"));
    let bad = HttpServer::start("127.0.0.2", |_| Reply::ok("bad"));
    let dns = DnsServer::start(&[("good.test", "127.0.0.1"), ("bad.test", "127.0.0.2")]);
    let policy = format!(
        r#"permit(principal, action == network::Action::"GET", resource)
             when {{ resource has host && (resource.host == "good.test" || resource.host == "bad.test") }};
           forbid(principal, action, resource)
             when {{ resource has host && resource.host == "127.0.0.2" }};
           permit(principal, action == network::Action::"connect", resource)
             when {{ resource has scheme && resource.scheme == "dns" && resource has port && resource.port == {} }};"#,
        dns.addr.port()
    );
    let g = gate(&policy);
    let client = Client::new().resolver(Resolver::Dns(Dns {
        addr: dns.addr,
        protocol: TransportProtocol::Udp,
    }));
    // A name rule alone allows the name, whatever it resolves to, unless a forbid matches.
    let r = client
        .get(&format!("http://good.test:{}/", good.port()))
        .send(&g, &budget())
        .unwrap();
    assert_eq!(r.text, "good");
    assert_eq!(
        g.counts().denied,
        0,
        "an address no rule names is not a denial"
    );

    let e = client
        .get(&format!("http://BAD.test.:{}/p", bad.port()))
        .send(&g, &budget())
        .unwrap_err();
    let (id, forbidden) = denied(&e);
    assert_eq!(id, format!("http://127.0.0.2:{}/p", bad.port()));
    assert!(forbidden);
    assert_eq!(bad.hits(), 0, "nothing may reach the forbidden address");
    assert!(dns.queries().contains(&"bad.test/1".to_owned()));
}

#[test]
fn a_dns_server_must_itself_be_permitted() {
    let dns = DnsServer::start(&[("good.test", "127.0.0.1")]);
    let g = gate(r#"permit(principal, action == network::Action::"GET", resource);"#);
    let client = Client::new().resolver(Resolver::Dns(Dns {
        addr: dns.addr,
        protocol: TransportProtocol::Auto,
    }));
    let e = client
        .get("http://good.test:1/")
        .send(&g, &budget())
        .unwrap_err();
    assert_eq!(denied(&e).0, dns.addr.to_string());
    assert!(
        e.to_string().contains(r#"network::Action::"connect""#),
        "{e}"
    );
    assert!(dns.queries().is_empty(), "no query before the check");
}

#[test]
fn spellings_of_a_forbidden_address_are_all_that_address() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("x"));
    let p = srv.port();
    let g = gate(&format!(
        r#"permit(principal, action == network::Action::"GET", resource)
             when {{ resource has port && resource.port == {p} }};
           forbid(principal, action, resource)
             when {{ resource has host && (resource.host == "127.0.0.1" || resource.host == "localhost") }};"#
    ));
    for url in [
        format!("http://127.0.0.1:{p}/"),
        format!("http://0x7f.1:{p}/"),
        format!("http://0x7F000001:{p}/"),
        format!("http://2130706433:{p}/"),
        format!("http://127.1:{p}/"),
        format!("http://0177.0.0.1:{p}/"),
        format!("http://127.0.0.1.:{p}/"),
        format!("http://[::ffff:127.0.0.1]:{p}/"),
        format!("http://%31%32%37.0.0.1:{p}/"),
        format!("HTTP://LOCALHOST:{p}/"),
        format!("http://localhost.:{p}/"),
        format!("http://LocalHost.:{p}/"),
    ] {
        let e = Client::new().get(&url).send(&g, &budget()).unwrap_err();
        assert!(denied(&e).1, "{url}: {e}");
    }
    assert_eq!(srv.hits(), 0);
}

#[test]
fn userinfo_and_backslashes_cannot_move_the_host() {
    let srv = HttpServer::start("127.0.0.1", |s| Reply::ok(&s.target));
    let p = srv.port();
    let g = gate(&format!(
        r#"permit(principal, action == network::Action::"GET", resource)
             when {{ resource has host && (resource.host == "allowed.test" || resource.host == "127.0.0.1") && resource has port && resource.port == {p} }};
           forbid(principal, action, resource)
             when {{ resource has host && resource.host == "evil.test" }};"#
    ));
    // Credentials in a URL are refused outright.
    let e = Client::new()
        .get(&format!("http://allowed.test@127.0.0.1:{p}/"))
        .send(&g, &budget())
        .unwrap_err();
    assert!(matches!(e, NetError::InvalidUrl { .. }), "{e}");
    // `\` is a path separator (WHATWG): the host is what comes before it, checked and
    // connected alike.
    let e = Client::new()
        .get(&format!(r"http://evil.test:{p}\@127.0.0.1:{p}/"))
        .send(&g, &budget())
        .unwrap_err();
    assert!(denied(&e).1, "{e}");
    assert_eq!(srv.hits(), 0);
    let r = Client::new()
        .get(&format!(r"http://127.0.0.1:{p}\@evil.test/"))
        .send(&g, &budget())
        .unwrap();
    assert_eq!(r.text, "/@evil.test/");
}

#[test]
fn bodies_are_capped_and_chunked_bodies_decoded() {
    let body = "0123456789".repeat(10);
    let b = body.clone();
    let srv = HttpServer::start("127.0.0.1", move |s| Reply {
        chunked: s.target == "/chunked",
        ..Reply::ok(&b)
    });
    let g = gate(&permit_get_port(srv.port()));
    for path in ["/plain", "/chunked"] {
        let r = Client::new()
            .get(&srv.url(path))
            .send(&g, &budget())
            .unwrap();
        assert_eq!(r.text, body, "{path}");
        assert!(!r.truncated);
        let r = Client::new()
            .max_text_bytes(4)
            .get(&srv.url(path))
            .send(&g, &budget())
            .unwrap();
        assert_eq!((r.text.as_str(), r.truncated), ("0123", true), "{path}");
        let small = Budget::new(Duration::from_secs(20), 7);
        let r = Client::new().get(&srv.url(path)).send(&g, &small).unwrap();
        assert_eq!((r.text.as_str(), r.truncated), ("0123456", true), "{path}");
    }
}

#[test]
fn the_deadline_bounds_a_stalled_server() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply {
        stall: Some(Duration::from_secs(5)),
        ..Reply::ok("late")
    });
    let g = gate(&permit_get_port(srv.port()));
    let started = Instant::now();
    let e = Client::new()
        .get(&srv.url("/"))
        .send(&g, &Budget::new(Duration::from_millis(400), 1024))
        .unwrap_err();
    assert!(matches!(e, NetError::Timeout(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The client's own timeout too.
    let started = Instant::now();
    let e = Client::new()
        .timeout(Duration::from_millis(300))
        .get(&srv.url("/"))
        .send(&g, &budget())
        .unwrap_err();
    assert!(matches!(e, NetError::Timeout(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn headers_are_validated_and_stay_with_their_origin() {
    let b = HttpServer::start("127.0.0.1", |s| {
        Reply::ok(s.header("x-token").unwrap_or("none"))
    });
    let other = b.url("/");
    let a = HttpServer::start("127.0.0.1", move |s| match s.target.as_str() {
        "/same" => Reply::redirect(302, "/final"),
        "/cross" => Reply::redirect(302, &other),
        _ => Reply::ok(s.header("x-token").unwrap_or("none")),
    });
    let g = gate(r#"permit(principal, action == network::Action::"GET", resource);"#);
    let req = |path: &str| {
        Client::new()
            .get(&a.url(path))
            .with_header("X-Token", "s3cret")
            .unwrap()
    };
    assert_eq!(req("/same").send(&g, &budget()).unwrap().text, "s3cret");
    assert_eq!(req("/cross").send(&g, &budget()).unwrap().text, "none");
    let r = Client::new().get(&a.url("/"));
    assert!(r.with_header("X-A", "1\r\nInjected: yes").is_err());
    assert!(r.with_header("Host", "evil.test").is_err());
    assert!(r.with_header("Bad Name", "1").is_err());
}

#[test]
fn https_is_tls_to_the_checked_address() {
    // A plain HTTP server cannot complete a TLS handshake: the request fails, it is not
    // silently sent in clear text.
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("clear"));
    let g = gate(r#"permit(principal, action == network::Action::"GET", resource);"#);
    let e = Client::new()
        .get(&format!("https://127.0.0.1:{}/", srv.port()))
        .send(&g, &Budget::new(Duration::from_secs(2), 1024))
        .unwrap_err();
    assert!(
        matches!(e, NetError::Tls { .. } | NetError::Timeout(_)),
        "{e}"
    );
}
