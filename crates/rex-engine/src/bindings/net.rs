//! Network (`rex-net`): HTTP (`Client`, `curl`), `connect`, DNS (`resolve`,
//! `SystemInfo.resolve_hostname`), interfaces (`ip_addresses`/`ip_addr`) and sockets
//! (`network_stats`/`netstat`). Every Cedar check is made by `rex-net`; these bindings
//! convert values and errors and pass the run's deadline and byte budget down.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;
use std::time::Duration;

use rex_net::{
    Budget, Client, Connection, DnsServer, InternetConnection, Method, NetError, Network,
    NetworkErrorKind, NetworkProtocol, NetworkStats, ProcessInfo, Request, ResolveOptions,
    Resolver, Response, TcpState, TransportProtocol, UnixProtocol, UnixSocket, UnixSocketState,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FLOAT, INT, Map, Module, NativeCallContext};

use super::{Check, FnDoc, check};
use crate::sdk_error::{invalid_argument, sdk_failure};
use crate::state::RunState;

type Res<T> = Result<T, Box<EvalAltResult>>;

const NET: &str = "NetworkErrorKind";
const SYS: &str = "SysteminfoErrorKind";

const GET: Check = check(r#"network::Action::"GET""#, "network::url");
const POST: Check = check(r#"network::Action::"POST""#, "network::url");
const PUT: Check = check(r#"network::Action::"PUT""#, "network::url");
const DELETE: Check = check(r#"network::Action::"DELETE""#, "network::url");
const CONNECT: Check = check(r#"network::Action::"connect""#, "network::url");
const RESOLVE: Check = check(
    r#"sysinfo::Action::"resolve_hostname""#,
    "sysinfo::Hostname",
);
const LIST: Check = check(r#"sysinfo::Action::"list""#, "sysinfo::Sysinfo");
const OPEN_F: Check = check(r#"file_system::Action::"open""#, "file_system::File");
const READ_F: Check = check(r#"file_system::Action::"read""#, "file_system::File");

const fn doc(
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    checks: &'static [Check],
) -> FnDoc {
    FnDoc {
        domain: "net",
        name,
        signature,
        summary,
        checks,
    }
}

/// The reference table; `SystemInfo.resolve_hostname` only when the `sys` domain (which
/// owns the `SystemInfo` type) is built.
macro_rules! net_docs {
    ($($extra:expr),* $(,)?) => {
        &[
            doc("Client", "Client() -> Client", "HTTP client; settings return a new client: .max_text_bytes(n) .resolver(dns) .timeout(secs)", &[]),
            doc("Client.max_text_bytes", "Client.max_text_bytes(n) -> Client", "keep at most n bytes of each response body (the run's read budget also caps it)", &[]),
            doc("Client.resolver", "Client.resolver(\"ip\" | \"ip:port\") -> Client", "resolve names with this DNS server (rex addition); each lookup is a connect check on it", &[CONNECT]),
            doc("Client.timeout", "Client.timeout(secs) -> Client", "time limit of one send, all redirects included (rex addition; default 30 s, never past the run's deadline)", &[]),
            doc("Client.get", "Client.get(url) -> Request", "a GET request: .url .method .max_text_size; .header(name, value) .body(text)", &[]),
            doc("Client.post", "Client.post(url[, body]) -> Request", "a POST request (rex addition)", &[]),
            doc("Client.put", "Client.put(url[, body]) -> Request", "a PUT request (rex addition)", &[]),
            doc("Client.delete", "Client.delete(url) -> Request", "a DELETE request (rex addition)", &[]),
            doc("Request.header", "Request.header(name, value) -> Request", "add a header (rex addition); Host, Content-Length, Transfer-Encoding, Connection are rex's; dropped on a redirect to another origin", &[]),
            doc("Request.body", "Request.body(text) -> Request", "set the body (rex addition)", &[]),
            doc("Request.send", "Request.send() -> Response", "send; every redirect hop (at most 10) is checked with the method's action on network::url::\"<normalized url>\" (attributes url, scheme, host, port, path); a name is resolved once and each address checked against forbids", &[GET, POST, PUT, DELETE, CONNECT]),
            doc("Response.to_map", "Response.to_map() -> map", "properties .status .text .headers .url .truncated (headers, url, truncated: rex additions)", &[]),
            doc("curl", "curl(url) -> Response", "Client().get(url).send()", &[GET]),
            doc("connect", "connect(endpoint, port, TransportProtocol) -> Connection", "open a TCP/UDP socket (AUTO: TCP, then UDP); checks connect on network::url::\"<host>:<port>\" (attributes host, port, scheme tcp|udp)", &[CONNECT]),
            doc("Connection.to_map", "Connection.to_map() -> map", "properties .protocol .endpoint .peer_address .local_address", &[]),
            doc("ip_addresses", "ip_addresses() -> [Network]", "interfaces with addresses (address/prefix): .interface_name .addresses", &[LIST]),
            doc("ip_addr", "ip_addr() -> [Network]", "same as ip_addresses()", &[LIST]),
            doc("Network.to_map", "Network.to_map() -> map", "properties .interface_name .addresses", &[]),
            doc("network_stats", "network_stats() -> NetworkStats", "sockets from /proc/net/{tcp,tcp6,udp,udp6,unix}: .internet_connections .unix_sockets", &[OPEN_F, READ_F]),
            doc("netstat", "netstat() -> map", "#{internet: [#{protocol, local_address, remote_address, state, recv_queue, send_queue}], unix: [#{protocol, state, path, ref_count}]}", &[OPEN_F, READ_F]),
            doc("NetworkStats.to_map", "NetworkStats.to_map() -> map", "properties .internet_connections .unix_sockets", &[]),
            doc("InternetConnection.to_map", "InternetConnection.to_map() -> map", "properties .protocol .recv_queue .send_queue .local_address .remote_address .state .inode .process_info (always ())", &[]),
            doc("UnixSocket.to_map", "UnixSocket.to_map() -> map", "properties .protocol .ref_count .state .inode .path .process_info (always ())", &[]),
            doc("ResolveOptions", "ResolveOptions() -> ResolveOptionsBuilder", "options: .hostname(h) .protocol(TransportProtocol) .resolver(ip) .timeout(secs) .build()", &[]),
            doc("resolve", "resolve(host) -> [string]", "addresses of host from the system resolver", &[RESOLVE]),
            doc("TransportProtocol", "TransportProtocol::{AUTO, UDP, TCP}", "transport of connect and DNS", &[]),
            doc("NetworkProtocol", "NetworkProtocol::{TCP, TCP6, UDP, UDP6}", "InternetConnection.protocol", &[]),
            doc("TcpState", "TcpState::{ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV, NONE}", "InternetConnection.state", &[]),
            doc("UnixProtocol", "UnixProtocol::{STREAM, DGRAM, SEQPACKET}", "UnixSocket.protocol", &[]),
            doc("UnixSocketState", "UnixSocketState::{UNCONNECTED, CONNECTING, CONNECTED, DISCONNECTING}", "UnixSocket.state", &[]),
            doc("NetworkErrorKind", "NetworkErrorKind::{AuthorizationError, PermissionDenied, RequestError, Other}", "values of e.kind for network errors (e.source == \"NetworkErrorKind\")", &[]),
            $($extra),*
        ]
    };
}

#[cfg(feature = "sys")]
pub(crate) const DOCS: &[FnDoc] = net_docs!(doc(
    "SystemInfo.resolve_hostname",
    "SystemInfo.resolve_hostname(ResolveOptions) -> [string]",
    "addresses of a name; with .resolver(ip) also a connect check on network::url::\"<ip>:53\" (scheme dns) before any query",
    &[RESOLVE, CONNECT],
));
#[cfg(not(feature = "sys"))]
pub(crate) const DOCS: &[FnDoc] = net_docs!();

/// `ResolveOptions()` builder.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptionsBuilder {
    hostname: Option<String>,
    protocol: TransportProtocol,
    resolver: Option<String>,
    timeout: Option<Duration>,
}

fn budget(s: &RunState) -> Budget {
    Budget {
        deadline: s.deadline,
        max_bytes: s.limits.max_read_bytes.min(s.limits.max_string_size),
    }
}

fn int<T: TryInto<INT>>(v: T) -> INT {
    v.try_into().unwrap_or(INT::MAX)
}

/// Turns a `NetError` into the thrown `#{kind, message, source}` map.
fn net_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: NetError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        NET,
        e.kind().name(),
        || e.to_string(),
        e.denied(),
    )
}

/// The same for functions the original placed in its system-information SDK.
fn sys_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: NetError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        SYS,
        e.sysinfo_kind(),
        || e.to_string(),
        e.denied(),
    )
}

fn seconds(state: &RunState, source: &str, what: &str, secs: f64) -> Res<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid_argument(
                state,
                source,
                format!("{what}: `{secs}` is not a positive number of seconds"),
            )
        })
}

fn headers_map(headers: &[(String, String)]) -> Map {
    let mut m = Map::new();
    for (k, v) in headers {
        let joined = match m.get(k.as_str()) {
            Some(old) => format!("{old}, {v}"),
            None => v.clone(),
        };
        m.insert(k.as_str().into(), joined.into());
    }
    m
}

fn response_map(r: &Response) -> Map {
    let mut m = Map::new();
    m.insert("status".into(), INT::from(r.status).into());
    m.insert("text".into(), r.text.clone().into());
    m.insert("headers".into(), headers_map(&r.headers).into());
    m.insert("url".into(), r.url.clone().into());
    m.insert("truncated".into(), r.truncated.into());
    m
}

fn request_map(r: &Request) -> Map {
    let mut m = Map::new();
    m.insert("max_text_size".into(), max_text_size(r));
    m.insert("url".into(), r.url().to_owned().into());
    m.insert("method".into(), r.method().name().into());
    m
}

fn max_text_size(r: &Request) -> Dynamic {
    r.max_text_size().map_or(Dynamic::UNIT, |n| int(n).into())
}

fn connection_map(c: &Connection) -> Map {
    let mut m = Map::new();
    m.insert("protocol".into(), c.protocol().name().into());
    m.insert("endpoint".into(), c.endpoint().to_owned().into());
    m.insert("peer_address".into(), c.peer_address().to_string().into());
    m.insert("local_address".into(), c.local_address().to_string().into());
    m
}

fn network_map(n: &Network) -> Map {
    let mut m = Map::new();
    m.insert("interface_name".into(), n.interface_name.clone().into());
    m.insert("addresses".into(), strings(&n.addresses).into());
    m
}

fn strings(v: &[String]) -> Array {
    v.iter().cloned().map(Dynamic::from).collect()
}

fn process_info(p: Option<&ProcessInfo>) -> Dynamic {
    p.map_or(Dynamic::UNIT, |p| Dynamic::from(p.clone()))
}

fn process_info_map(p: Option<&ProcessInfo>) -> Dynamic {
    p.map_or(Dynamic::UNIT, |p| {
        let mut m = Map::new();
        m.insert("pid".into(), INT::from(p.pid).into());
        m.insert("process_name".into(), p.process_name.clone().into());
        m.into()
    })
}

fn connection_stats_map(c: &InternetConnection) -> Map {
    let mut m = Map::new();
    m.insert("protocol".into(), c.protocol.to_string().into());
    m.insert("recv_queue".into(), INT::from(c.recv_queue).into());
    m.insert("send_queue".into(), INT::from(c.send_queue).into());
    m.insert("local_address".into(), c.local_address.to_string().into());
    m.insert("remote_address".into(), c.remote_address.to_string().into());
    m.insert("state".into(), c.state.to_string().into());
    m.insert("inode".into(), int(c.inode).into());
    m.insert(
        "process_info".into(),
        process_info_map(c.process_info.as_ref()),
    );
    m
}

fn unix_map(u: &UnixSocket) -> Map {
    let mut m = Map::new();
    m.insert("protocol".into(), u.protocol.to_string().into());
    m.insert("ref_count".into(), INT::from(u.ref_count).into());
    m.insert("state".into(), u.state.to_string().into());
    m.insert("inode".into(), int(u.inode).into());
    m.insert("path".into(), unix_path(u));
    m.insert(
        "process_info".into(),
        process_info_map(u.process_info.as_ref()),
    );
    m
}

fn unix_path(u: &UnixSocket) -> Dynamic {
    u.path.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

fn stats_map(s: &NetworkStats) -> Map {
    let mut m = Map::new();
    m.insert(
        "internet_connections".into(),
        s.internet_connections
            .iter()
            .map(|c| Dynamic::from(connection_stats_map(c)))
            .collect::<Array>()
            .into(),
    );
    m.insert(
        "unix_sockets".into(),
        s.unix_sockets
            .iter()
            .map(|u| Dynamic::from(unix_map(u)))
            .collect::<Array>()
            .into(),
    );
    m
}

/// The original `netstat()` map.
fn netstat_map(s: &NetworkStats) -> Map {
    let internet: Array = s
        .internet_connections
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("protocol".into(), c.protocol.to_string().into());
            m.insert("local_address".into(), c.local_address.to_string().into());
            m.insert("remote_address".into(), c.remote_address.to_string().into());
            m.insert("state".into(), c.state.to_string().into());
            m.insert("recv_queue".into(), INT::from(c.recv_queue).into());
            m.insert("send_queue".into(), INT::from(c.send_queue).into());
            Dynamic::from(m)
        })
        .collect();
    let unix: Array = s
        .unix_sockets
        .iter()
        .map(|u| {
            let mut m = Map::new();
            m.insert("protocol".into(), u.protocol.to_string().into());
            m.insert("state".into(), u.state.to_string().into());
            m.insert("path".into(), unix_path(u));
            m.insert("ref_count".into(), INT::from(u.ref_count).into());
            Dynamic::from(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("internet".into(), internet.into());
    m.insert("unix".into(), unix.into());
    m
}

/// Registers a constant type: `==`, `!=`, `to_string`, `to_debug` and its module.
fn constants<T>(
    engine: &mut Engine,
    type_name: &str,
    all: &[(T, &'static str)],
    text: fn(&T) -> String,
) where
    T: Clone + Copy + PartialEq + Send + Sync + 'static,
{
    engine.register_rex_type::<T>(type_name);
    engine.register_fn("==", |a: T, b: T| a == b);
    engine.register_fn("!=", |a: T, b: T| a != b);
    engine.register_fn("to_string", move |t: &mut T| text(t));
    engine.register_fn("to_debug", move |t: &mut T| text(t));
    let mut m = Module::new();
    for (v, name) in all {
        m.set_var(*name, *v);
    }
    engine.register_static_module(type_name, m.into());
}

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    register_constants(engine);
    register_http(engine, state);
    register_connect(engine, state);
    register_dns(engine, state);
    register_host_info(engine, state);
}

fn register_constants(engine: &mut Engine) {
    let transports: Vec<(TransportProtocol, &'static str)> = TransportProtocol::ALL
        .iter()
        .map(|t| (*t, t.name()))
        .collect();
    constants(engine, "TransportProtocol", &transports, |t| {
        t.name().to_owned()
    });
    constants(
        engine,
        "NetworkProtocol",
        NetworkProtocol::ALL,
        ToString::to_string,
    );
    constants(engine, "TcpState", TcpState::ALL, ToString::to_string);
    constants(
        engine,
        "UnixProtocol",
        UnixProtocol::ALL,
        ToString::to_string,
    );
    constants(
        engine,
        "UnixSocketState",
        UnixSocketState::ALL,
        ToString::to_string,
    );
    let mut kinds = Module::new();
    for k in NetworkErrorKind::ALL {
        kinds.set_var(k.name(), k.name());
    }
    engine.register_static_module(NET, kinds.into());
}

fn register_http(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<Client>("Client");
    engine.register_fn("Client", Client::new);
    engine.register_fn("to_string", |_: &mut Client| "Client".to_owned());
    engine.register_fn("to_debug", |c: &mut Client| format!("{c:?}"));
    let s = Rc::clone(state);
    engine.register_fn(
        "max_text_bytes",
        move |c: &mut Client, n: INT| -> Res<Client> {
            let n = u64::try_from(n).map_err(|_| {
                invalid_argument(&s, NET, format!("max_text_bytes: `{n}` is negative"))
            })?;
            Ok(c.max_text_bytes(n))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "resolver",
        move |c: &mut Client, addr: &str| -> Res<Client> {
            DnsServer::parse(addr, TransportProtocol::Auto)
                .map(|d| c.resolver(Resolver::Dns(d)))
                .map_err(|e| invalid_argument(&s, NET, e.to_string()))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn("timeout", move |c: &mut Client, secs: INT| -> Res<Client> {
        Ok(c.timeout(seconds(&s, NET, "timeout", secs as f64)?))
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "timeout",
        move |c: &mut Client, secs: FLOAT| -> Res<Client> {
            Ok(c.timeout(seconds(&s, NET, "timeout", secs)?))
        },
    );
    engine.register_fn("get", |c: &mut Client, url: &str| c.get(url));
    engine.register_fn("post", |c: &mut Client, url: &str| {
        c.request(Method::Post, url)
    });
    engine.register_fn("post", |c: &mut Client, url: &str, body: &str| {
        c.request(Method::Post, url).with_body(body)
    });
    engine.register_fn("put", |c: &mut Client, url: &str| {
        c.request(Method::Put, url)
    });
    engine.register_fn("put", |c: &mut Client, url: &str, body: &str| {
        c.request(Method::Put, url).with_body(body)
    });
    engine.register_fn("delete", |c: &mut Client, url: &str| {
        c.request(Method::Delete, url)
    });

    engine.register_rex_type::<Request>("Request");
    engine.register_get("url", |r: &mut Request| r.url().to_owned());
    engine.register_get("method", |r: &mut Request| r.method().name().to_owned());
    engine.register_get("max_text_size", |r: &mut Request| max_text_size(r));
    engine.register_fn("to_map", |r: &mut Request| request_map(r));
    engine.register_fn("to_string", |r: &mut Request| {
        format!("Request({} {})", r.method().as_str(), r.url())
    });
    engine.register_fn("to_debug", |r: &mut Request| {
        format!("Request({} {})", r.method().as_str(), r.url())
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "header",
        move |r: &mut Request, name: &str, value: &str| -> Res<Request> {
            r.with_header(name, value)
                .map_err(|e| invalid_argument(&s, NET, e.to_string()))
        },
    );
    engine.register_fn("body", |r: &mut Request, body: &str| r.with_body(body));
    let s = Rc::clone(state);
    engine.register_fn(
        "send",
        move |ctx: NativeCallContext, r: &mut Request| -> Res<Response> {
            s.enter(&ctx);
            r.send(&s.gate, &budget(&s))
                .map_err(|e| net_error(&s, &ctx, "send", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "curl",
        move |ctx: NativeCallContext, url: &str| -> Res<Response> {
            s.enter(&ctx);
            Client::new()
                .get(url)
                .send(&s.gate, &budget(&s))
                .map_err(|e| net_error(&s, &ctx, "curl", e))
        },
    );

    engine.register_rex_type::<Response>("Response");
    engine.register_get("status", |r: &mut Response| INT::from(r.status));
    engine.register_get("text", |r: &mut Response| r.text.clone());
    engine.register_get("headers", |r: &mut Response| headers_map(&r.headers));
    engine.register_get("url", |r: &mut Response| r.url.clone());
    engine.register_get("truncated", |r: &mut Response| r.truncated);
    engine.register_fn("to_map", |r: &mut Response| response_map(r));
    engine.register_fn("to_string", |r: &mut Response| r.to_string());
    engine.register_fn("to_debug", |r: &mut Response| r.to_string());
}

fn register_connect(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<Connection>("Connection");
    engine.register_get("protocol", |c: &mut Connection| c.protocol());
    engine.register_get("endpoint", |c: &mut Connection| c.endpoint().to_owned());
    engine.register_get("peer_address", |c: &mut Connection| {
        c.peer_address().to_string()
    });
    engine.register_get("local_address", |c: &mut Connection| {
        c.local_address().to_string()
    });
    engine.register_fn("to_map", |c: &mut Connection| connection_map(c));
    engine.register_fn("to_string", |c: &mut Connection| c.to_string());
    engine.register_fn("to_debug", |c: &mut Connection| c.to_string());
    let s = Rc::clone(state);
    engine.register_fn(
        "connect",
        move |ctx: NativeCallContext,
              endpoint: &str,
              port: INT,
              protocol: TransportProtocol|
              -> Res<Connection> {
            s.enter(&ctx);
            rex_net::connect(
                &s.gate,
                endpoint,
                port,
                protocol,
                &Resolver::System,
                &budget(&s),
            )
            .map_err(|e| net_error(&s, &ctx, "connect", e))
        },
    );
}

fn register_dns(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<ResolveOptionsBuilder>("ResolveOptionsBuilder");
    engine.register_rex_type::<ResolveOptions>("ResolveOptions");
    engine.register_fn("ResolveOptions", ResolveOptionsBuilder::default);
    engine.register_fn("hostname", |b: &mut ResolveOptionsBuilder, h: &str| {
        let mut b = b.clone();
        b.hostname = Some(h.to_owned());
        b
    });
    engine.register_fn(
        "protocol",
        |b: &mut ResolveOptionsBuilder, p: TransportProtocol| {
            let mut b = b.clone();
            b.protocol = p;
            b
        },
    );
    engine.register_fn("resolver", |b: &mut ResolveOptionsBuilder, r: &str| {
        let mut b = b.clone();
        b.resolver = Some(r.to_owned());
        b
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "timeout",
        move |b: &mut ResolveOptionsBuilder, secs: INT| -> Res<ResolveOptionsBuilder> {
            let mut b = b.clone();
            b.timeout = Some(seconds(&s, SYS, "timeout", secs as f64)?);
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "timeout",
        move |b: &mut ResolveOptionsBuilder, secs: FLOAT| -> Res<ResolveOptionsBuilder> {
            let mut b = b.clone();
            b.timeout = Some(seconds(&s, SYS, "timeout", secs)?);
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "build",
        move |b: &mut ResolveOptionsBuilder| -> Res<ResolveOptions> {
            let hostname = b.hostname.clone().ok_or_else(|| {
                invalid_argument(
                    &s,
                    SYS,
                    "Invalid arguments: Field not initialized: hostname".to_owned(),
                )
            })?;
            Ok(ResolveOptions {
                hostname,
                protocol: b.protocol,
                resolver: b.resolver.clone(),
                timeout: b.timeout,
            })
        },
    );
    engine.register_fn("to_string", |o: &mut ResolveOptions| format!("{o:?}"));
    engine.register_fn("to_debug", |o: &mut ResolveOptions| format!("{o:?}"));

    #[cfg(feature = "sys")]
    {
        use crate::bindings::sys::SystemInfo;
        let s = Rc::clone(state);
        engine.register_fn(
            "resolve_hostname",
            move |ctx: NativeCallContext, _: &mut SystemInfo, o: ResolveOptions| -> Res<Array> {
                s.enter(&ctx);
                rex_net::resolve_hostname(&s.gate, &o, &budget(&s))
                    .map(|v| strings(&v))
                    .map_err(|e| sys_error(&s, &ctx, "resolve_hostname", e))
            },
        );
    }
    let s = Rc::clone(state);
    engine.register_fn(
        "resolve",
        move |ctx: NativeCallContext, host: &str| -> Res<Array> {
            s.enter(&ctx);
            rex_net::resolve(&s.gate, host, &budget(&s))
                .map(|v| strings(&v))
                .map_err(|e| sys_error(&s, &ctx, "resolve", e))
        },
    );
}

fn register_host_info(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<Network>("Network");
    engine.register_get("interface_name", |n: &mut Network| n.interface_name.clone());
    engine.register_get("addresses", |n: &mut Network| strings(&n.addresses));
    engine.register_fn("to_map", |n: &mut Network| network_map(n));
    engine.register_fn("to_string", |n: &mut Network| {
        format!("Network({}: {})", n.interface_name, n.addresses.join(", "))
    });
    engine.register_fn("to_debug", |n: &mut Network| {
        format!("Network({}: {})", n.interface_name, n.addresses.join(", "))
    });
    for name in ["ip_addresses", "ip_addr"] {
        let s = Rc::clone(state);
        engine.register_fn(name, move |ctx: NativeCallContext| -> Res<Array> {
            s.enter(&ctx);
            rex_net::ip_addresses(&s.gate)
                .map(|v| v.into_iter().map(Dynamic::from).collect())
                .map_err(|e| sys_error(&s, &ctx, name, e))
        });
    }

    engine.register_rex_type::<NetworkStats>("NetworkStats");
    engine.register_get("internet_connections", |n: &mut NetworkStats| {
        n.internet_connections
            .iter()
            .cloned()
            .map(Dynamic::from)
            .collect::<Array>()
    });
    engine.register_get("unix_sockets", |n: &mut NetworkStats| {
        n.unix_sockets
            .iter()
            .cloned()
            .map(Dynamic::from)
            .collect::<Array>()
    });
    engine.register_fn("to_map", |n: &mut NetworkStats| stats_map(n));
    engine.register_fn("to_string", |n: &mut NetworkStats| {
        format!(
            "NetworkStats({} internet connections, {} unix sockets)",
            n.internet_connections.len(),
            n.unix_sockets.len()
        )
    });

    engine.register_rex_type::<InternetConnection>("InternetConnection");
    engine.register_get("protocol", |c: &mut InternetConnection| c.protocol);
    engine.register_get("recv_queue", |c: &mut InternetConnection| {
        INT::from(c.recv_queue)
    });
    engine.register_get("send_queue", |c: &mut InternetConnection| {
        INT::from(c.send_queue)
    });
    engine.register_get("local_address", |c: &mut InternetConnection| {
        c.local_address.to_string()
    });
    engine.register_get("remote_address", |c: &mut InternetConnection| {
        c.remote_address.to_string()
    });
    engine.register_get("state", |c: &mut InternetConnection| c.state);
    engine.register_get("inode", |c: &mut InternetConnection| int(c.inode));
    engine.register_get("process_info", |c: &mut InternetConnection| {
        process_info(c.process_info.as_ref())
    });
    engine.register_fn("to_map", |c: &mut InternetConnection| {
        connection_stats_map(c)
    });
    engine.register_fn("to_string", |c: &mut InternetConnection| {
        format!(
            "{} {} -> {} {}",
            c.protocol, c.local_address, c.remote_address, c.state
        )
    });

    engine.register_rex_type::<UnixSocket>("UnixSocket");
    engine.register_get("protocol", |u: &mut UnixSocket| u.protocol);
    engine.register_get("ref_count", |u: &mut UnixSocket| INT::from(u.ref_count));
    engine.register_get("state", |u: &mut UnixSocket| u.state);
    engine.register_get("inode", |u: &mut UnixSocket| int(u.inode));
    engine.register_get("path", |u: &mut UnixSocket| unix_path(u));
    engine.register_get("process_info", |u: &mut UnixSocket| {
        process_info(u.process_info.as_ref())
    });
    engine.register_fn("to_map", |u: &mut UnixSocket| unix_map(u));
    engine.register_fn("to_string", |u: &mut UnixSocket| {
        format!(
            "{} {} {}",
            u.protocol,
            u.state,
            u.path.as_deref().unwrap_or("-")
        )
    });

    engine.register_rex_type::<ProcessInfo>("ProcessInfo");
    engine.register_get("pid", |p: &mut ProcessInfo| INT::from(p.pid));
    engine.register_get("process_name", |p: &mut ProcessInfo| p.process_name.clone());
    engine.register_fn("to_map", |p: &mut ProcessInfo| process_info_map(Some(p)));

    for (name, netstat) in [("network_stats", false), ("netstat", true)] {
        let s = Rc::clone(state);
        engine.register_fn(name, move |ctx: NativeCallContext| -> Res<Dynamic> {
            s.enter(&ctx);
            let stats = rex_net::network_stats(&s.gate, s.limits.max_read_bytes)
                .map_err(|e| net_error(&s, &ctx, name, e))?;
            Ok(if netstat {
                netstat_map(&stats).into()
            } else {
                Dynamic::from(stats)
            })
        });
    }
}
