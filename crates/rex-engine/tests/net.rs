#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "net")]
//! The network functions from Rhai: every name of the original's safe-network SDK (and
//! `resolve`/`resolve_hostname`) is registered, works against real loopback servers, and
//! is denied without a permit; denials are catchable `#{kind, message, source}` maps.

#[path = "../../rex-net/tests/support/mod.rs"]
mod support;

use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rex_engine::bindings::all_docs;
use rex_engine::{ErrorType, RunOutcome, RunRequest, Status, registered_function_names, run};
use support::{DnsServer, HttpServer, Reply, gate};

fn run_policy(policy: &str, script: &str) -> RunOutcome {
    run(Arc::new(gate(policy)), RunRequest::new("t.rhai", script))
}

fn ok(policy: &str, script: &str) -> String {
    let o = run_policy(policy, script);
    assert_eq!(
        o.document.status,
        Status::Success,
        "{script}\n{:?}",
        o.document.error
    );
    o.document.output
}

fn err(policy: &str, script: &str) -> (ErrorType, String) {
    let o = run_policy(policy, script);
    let e = o
        .document
        .error
        .unwrap_or_else(|| panic!("no error: {script}"));
    (e.error_type, e.message)
}

const GET_ALL: &str = r#"permit(principal, action == network::Action::"GET", resource);"#;

#[test]
fn every_network_name_is_registered_and_documented() {
    let registered = registered_function_names();
    let docs = all_docs();
    let mut names = vec![
        "Client",
        "max_text_bytes",
        "get",
        "send",
        "curl",
        "connect",
        "ip_addresses",
        "ip_addr",
        "network_stats",
        "netstat",
        "ResolveOptions",
        "resolve",
        "post",
        "put",
        "delete",
        "header",
        "body",
        "resolver",
        "timeout",
        "hostname",
        "protocol",
        "build",
    ];
    if cfg!(feature = "sys") {
        names.push("resolve_hostname");
    }
    for n in &names {
        assert!(registered.iter().any(|r| r == n), "`{n}` not registered");
    }
    for n in [
        "Client",
        "Client.max_text_bytes",
        "Client.get",
        "Request.send",
        "curl",
        "connect",
        "ip_addresses",
        "ip_addr",
        "network_stats",
        "netstat",
        "ResolveOptions",
        "resolve",
        "TransportProtocol",
        "NetworkProtocol",
        "TcpState",
        "UnixProtocol",
        "UnixSocketState",
        "NetworkErrorKind",
    ] {
        assert!(
            docs.iter().any(|d| d.domain == "net" && d.name == n),
            "`{n}` missing from the reference"
        );
    }
    let send = docs.iter().find(|d| d.name == "Request.send").unwrap();
    assert!(
        send.checks
            .iter()
            .any(|c| c.action == r#"network::Action::"GET""#)
    );
}

#[test]
fn constant_modules_compare_and_print() {
    let out = ok(
        "",
        r#"
        let checks = [
            TransportProtocol::TCP == TransportProtocol::TCP,
            TransportProtocol::TCP != TransportProtocol::UDP,
            TransportProtocol::AUTO.to_string() == "AUTO",
            NetworkProtocol::TCP6 != NetworkProtocol::TCP,
            NetworkProtocol::UDP.to_string() == "Udp",
            TcpState::ESTABLISHED.to_string() == "Established",
            TcpState::NONE != TcpState::LISTEN,
            TcpState::NEW_SYN_RECV == TcpState::NEW_SYN_RECV,
            UnixProtocol::SEQPACKET.to_string() == "Seqpacket",
            UnixSocketState::DISCONNECTING != UnixSocketState::CONNECTED,
            NetworkErrorKind::PermissionDenied == "PermissionDenied",
            NetworkErrorKind::AuthorizationError == "AuthorizationError",
            NetworkErrorKind::RequestError == "RequestError",
            NetworkErrorKind::Other == "Other",
        ];
        checks.all(|c| c)
        "#,
    );
    assert_eq!(out, "true");
}

#[test]
fn client_get_send_and_properties() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("Hello, World!"));
    let url = srv.url("/test");
    let script = format!(
        r#"
        let client = Client().max_text_bytes(4);
        let request = client.get("{url}");
        if request.url != "{url}" || request.method != "Get" || request.max_text_size != 4 {{
            throw "request properties";
        }}
        if request.to_map().method != "Get" || Client().get("{url}").max_text_size != () {{
            throw "request map";
        }}
        let response = request.send();
        let m = response.to_map();
        `${{response.status}}|${{response.text}}|${{response.truncated}}|${{response.headers["content-length"]}}|${{m.status}}|${{response.url}}`
        "#
    );
    assert_eq!(ok(GET_ALL, &script), format!("200|Hell|true|13|200|{url}"));
    assert_eq!(srv.hits(), 1);
}

#[test]
fn send_and_curl_are_denied_without_a_permit_and_the_denial_is_catchable() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply::ok("x"));
    let url = srv.url("/");
    for call in [
        format!(r#"Client().get("{url}").send()"#),
        format!(r#"curl("{url}")"#),
    ] {
        let (t, m) = err("", &call);
        assert_eq!(t, ErrorType::AccessDeniedException, "{call}");
        assert!(
            m.contains(r#"network::Action::"GET""#) && m.contains(&url),
            "{m}"
        );
        let caught = ok(
            "",
            &format!(
                r#"let r = "no";
                   try {{ {call}; }} catch (e) {{
                       r = `${{e.source}}|${{e.kind == NetworkErrorKind::PermissionDenied}}`;
                   }}
                   r"#
            ),
        );
        assert_eq!(caught, "NetworkErrorKind|true");
    }
    assert_eq!(srv.hits(), 0);
}

#[test]
fn curl_follows_permitted_redirects_and_stops_at_a_forbidden_hop() {
    let b = HttpServer::start("127.0.0.1", |_| Reply::ok("landed"));
    let target = b.url("/b");
    let a = HttpServer::start("127.0.0.1", move |_| Reply::redirect(302, &target));
    let only_a = format!(
        r#"permit(principal, action == network::Action::"GET", resource)
           when {{ resource has port && resource.port == {} }};"#,
        a.port()
    );
    let (t, m) = err(&only_a, &format!(r#"curl("{}").text"#, a.url("/a")));
    assert_eq!(t, ErrorType::AccessDeniedException);
    assert!(m.contains(&b.url("/b")), "{m}");
    assert_eq!(b.hits(), 0);
    let out = ok(
        GET_ALL,
        &format!(
            r#"let r = curl("{}"); `${{r.status}} ${{r.text}}`"#,
            a.url("/a")
        ),
    );
    assert_eq!(out, "200 landed");
}

#[test]
fn post_put_delete_with_headers_and_bodies_each_need_their_action() {
    let srv = HttpServer::start("127.0.0.1", |s| {
        Reply::ok(&format!(
            "{} {} {}",
            s.method,
            s.header("x-key").unwrap_or("-"),
            String::from_utf8_lossy(&s.body)
        ))
    });
    let url = srv.url("/item");
    let script = format!(
        r#"
        let c = Client();
        let a = c.post("{url}", "one").header("X-Key", "k1").send().text;
        let b = c.put("{url}").body("two").send().text;
        let d = c.delete("{url}").send().text;
        `${{a}}|${{b}}|${{d}}`
        "#
    );
    let all = r#"permit(principal, action in [network::Action::"POST", network::Action::"PUT", network::Action::"DELETE"], resource);"#;
    assert_eq!(ok(all, &script), "POST k1 one|PUT - two|DELETE - ");
    for (policy, action) in [
        (GET_ALL, "POST"),
        (
            r#"permit(principal, action == network::Action::"POST", resource);"#,
            "PUT",
        ),
        (
            r#"permit(principal, action in [network::Action::"POST", network::Action::"PUT"], resource);"#,
            "DELETE",
        ),
    ] {
        let (t, m) = err(policy, &script);
        assert_eq!(t, ErrorType::AccessDeniedException);
        assert!(
            m.contains(&format!(r#"network::Action::"{action}""#)),
            "{m}"
        );
    }
    let (t, m) = err(
        all,
        &format!(r#"Client().get("{url}").header("X", "a\nb")"#),
    );
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("line break"), "{m}");
}

#[test]
fn connect_checks_the_port_and_returns_a_connection() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (p, q, u) = (
        open.local_addr().unwrap().port(),
        other.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    let policy = format!(
        r#"permit(principal, action == network::Action::"connect", resource)
           when {{ resource has port && (resource.port == {p} || resource.port == {u}) }};"#
    );
    let out = ok(
        &policy,
        &format!(
            r#"let c = connect("127.0.0.1", {p}, TransportProtocol::TCP);
               let d = connect("127.0.0.1", {u}, TransportProtocol::UDP);
               `${{c.protocol}}|${{c.endpoint}}|${{c.to_map().peer_address}}|${{d.protocol}}`"#
        ),
    );
    assert_eq!(out, format!("TCP|127.0.0.1:{p}|127.0.0.1:{p}|UDP"));
    let (t, m) = err(
        &policy,
        &format!(r#"connect("127.0.0.1", {q}, TransportProtocol::TCP)"#),
    );
    assert_eq!(t, ErrorType::AccessDeniedException);
    assert!(
        m.contains(&format!("127.0.0.1:{q}")) && m.contains("connect"),
        "{m}"
    );
    other.set_nonblocking(true).unwrap();
    assert!(other.accept().is_err(), "the denied port saw no connection");
}

#[test]
fn dns_functions_resolve_through_an_authorized_resolver() {
    let dns = DnsServer::start(&[("good.test", "127.0.0.1"), ("bad.test", "127.0.0.2")]);
    let web = HttpServer::start("127.0.0.2", |_| Reply::ok("should not be reached"));
    let policy = format!(
        r#"permit(principal, action == sysinfo::Action::"resolve_hostname", resource);
           permit(principal, action == network::Action::"GET", resource)
             when {{ resource has host && resource.host == "bad.test" }};
           forbid(principal, action, resource)
             when {{ resource has host && resource.host == "127.0.0.2" }};
           permit(principal, action == network::Action::"connect", resource)
             when {{ resource has scheme && resource.scheme == "dns" && resource has port && resource.port == {} }};"#,
        dns.addr.port()
    );
    // `resolve` uses the system resolver.
    assert_eq!(ok(&policy, r#"resolve("127.0.0.1")"#), r#"["127.0.0.1"]"#);
    let (t, _) = err("", r#"resolve("localhost")"#);
    assert_eq!(t, ErrorType::AccessDeniedException);
    let caught = ok(
        "",
        r#"let r = ""; try { resolve("localhost"); } catch (e) { r = `${e.source}|${e.kind}`; } r"#,
    );
    assert_eq!(caught, "SysteminfoErrorKind|PermissionDenied");
    // A client with a resolver: the name resolves to a forbidden address.
    let (t, m) = err(
        &policy,
        &format!(
            r#"Client().resolver("{}").get("http://bad.test:{}/").send()"#,
            dns.addr,
            web.port()
        ),
    );
    assert_eq!(t, ErrorType::AccessDeniedException);
    assert!(m.contains("127.0.0.2") && m.contains("forbid"), "{m}");
    assert_eq!(web.hits(), 0);

    if cfg!(feature = "sys") {
        let script = format!(
            r#"SystemInfo().resolve_hostname(ResolveOptions().hostname("good.test")
                 .protocol(TransportProtocol::UDP).resolver("{}").timeout(2).build())"#,
            dns.addr
        );
        assert_eq!(ok(&policy, &script), r#"["127.0.0.1"]"#);
        let (t, m) = err(
            r#"permit(principal, action == sysinfo::Action::"resolve_hostname", resource);"#,
            &script,
        );
        assert_eq!(t, ErrorType::AccessDeniedException);
        assert!(m.contains(r#"network::Action::"connect""#), "{m}");
    }
    let (t, m) = err("", "ResolveOptions().resolver(\"1.1.1.1\").build()");
    assert_eq!(t, ErrorType::ScriptException);
    assert!(m.contains("Field not initialized: hostname"), "{m}");
}

#[test]
fn interfaces_need_sysinfo_list() {
    let policy = r#"permit(principal, action == sysinfo::Action::"list", resource);"#;
    for f in ["ip_addresses", "ip_addr"] {
        let out = ok(
            policy,
            &format!(
                r#"let lo = {f}().filter(|n| n.interface_name == "lo");
                   lo[0].addresses.contains("127.0.0.1/8") && lo[0].to_map().interface_name == "lo""#
            ),
        );
        assert_eq!(out, "true", "{f}");
        let (t, m) = err("", &format!("{f}()"));
        assert_eq!(t, ErrorType::AccessDeniedException);
        assert!(m.contains(r#"sysinfo::Action::"list""#), "{m}");
    }
}

#[test]
fn socket_tables_need_open_and_read_under_proc() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let policy = r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"],
                           resource in file_system::Dir::"/proc");"#;
    let out = ok(
        policy,
        &format!(
            r#"let stats = network_stats();
               let mine = stats.internet_connections.filter(|c| c.local_address == "127.0.0.1:{port}");
               let c = mine[0];
               let u = stats.unix_sockets;
               let m = stats.to_map();
               let n = netstat();
               let listed = n.internet.filter(|x| x.local_address == "127.0.0.1:{port}");
               [c.protocol == NetworkProtocol::TCP, c.state == TcpState::LISTEN, c.process_info == (),
                c.inode > 0, c.to_map().state == "Listen", m.internet_connections.len() == stats.internet_connections.len(),
                listed[0].state == "Listen", type_of(n.unix) == "array",
                u.len() == 0 || type_of(u[0].protocol) == "UnixProtocol"].all(|x| x)"#
        ),
    );
    assert_eq!(out, "true");
    for f in ["network_stats", "netstat"] {
        let (t, m) = err("", &format!("{f}()"));
        assert_eq!(t, ErrorType::AccessDeniedException);
        assert!(m.contains("/proc/net/tcp"), "{m}");
    }
}

#[test]
fn requests_end_at_the_run_deadline() {
    let srv = HttpServer::start("127.0.0.1", |_| Reply {
        stall: Some(Duration::from_secs(8)),
        ..Reply::ok("late")
    });
    let mut req = RunRequest::new("t.rhai", format!(r#"curl("{}")"#, srv.url("/")));
    req.limits.timeout = Duration::from_millis(800);
    let started = Instant::now();
    let o = run(Arc::new(gate(GET_ALL)), req);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let e = o.document.error.unwrap();
    assert_eq!(e.error_type, ErrorType::ScriptException);
    assert!(e.message.contains("timed out"), "{}", e.message);
}

#[test]
fn request_errors_are_script_exceptions_with_the_request_error_kind() {
    let out = ok(
        GET_ALL,
        r#"let r = [];
           for u in ["ftp://x/", "http://user@127.0.0.1/", "not a url"] {
               try { curl(u); r.push("sent"); } catch (e) { r.push(e.kind); }
           }
           r"#,
    );
    assert_eq!(out, r#"["RequestError", "RequestError", "RequestError"]"#);
    let (t, _) = err(GET_ALL, r#"curl("ftp://x/")"#);
    assert_eq!(t, ErrorType::ScriptException);
}

#[test]
fn the_health_check_example_runs_under_its_least_privilege_policy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/health-check");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let web = HttpServer::start("127.0.0.1", |s| match s.target.as_str() {
        "/health" => Reply::ok("up"),
        _ => Reply::redirect(302, "/health"),
    });
    let db = TcpListener::bind("127.0.0.1:0").unwrap();
    let (wp, dp) = (
        web.port().to_string(),
        db.local_addr().unwrap().port().to_string(),
    );
    let ports = |t: String| t.replace("8080", &wp).replace("5432", &dp);
    // The shipped policy is learned for the principal `ops`.
    let policy = ports(read("policy.cedar")).replace(r#"User::"ops""#, r#"User::"tester""#);
    let run_args = |args: String| {
        let mut req = RunRequest::new("health-check.rhai", read("health-check.rhai"));
        req.args = rex_engine::ScriptArgs::parse("args.json", &args).unwrap();
        run(Arc::new(gate(&policy)), req)
    };
    let o = run_args(ports(read("args.json")));
    assert_eq!(o.document.status, Status::Success, "{:?}", o.document.error);
    assert!(
        o.document.output.contains(r#""healthy": true"#),
        "{}",
        o.document.output
    );
    // Another path on the same server is not in the policy: the denial ends the run (a
    // policy problem is not an unhealthy service), and nothing is fetched.
    let o = run_args(ports(read("args.json")).replace("/health", "/other"));
    let e = o.document.error.unwrap();
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{}",
        e.message
    );
    assert!(e.message.contains("/other"), "{}", e.message);
    assert!(web.seen().iter().all(|s| s.target == "/health"));
}
