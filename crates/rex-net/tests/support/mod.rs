//! Loopback servers for the network tests: an HTTP/1.1 server with programmable routes
//! and a DNS server answering A queries from a table. Both run on threads, record what
//! they receive, and stop when dropped. Used by `rex-net` and `rex-engine` tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rex_policy::{Gate, Policies};

/// A gate for `tester` over `policy`.
pub fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

/// A request the HTTP server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a route answers.
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send the body chunked.
    pub chunked: bool,
    /// Send the head, then wait this long before the body.
    pub stall: Option<Duration>,
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Self {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..Self::default()
        }
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            headers: vec![("Location".into(), location.into())],
            body: b"moved".to_vec(),
            ..Self::default()
        }
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// An HTTP/1.1 server on a loopback address.
pub struct HttpServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Serves on `ip` (any 127.0.0.0/8 address works on Linux), port chosen by the kernel.
    pub fn start(ip: &str, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Handler = Arc::new(handler);
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, h) = (Arc::clone(&s), Arc::clone(&handler));
                thread::spawn(move || serve(conn, &s, &h));
            }
        });
        Self { addr, seen, stop }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok();
    let req = Seen {
        method,
        target,
        headers,
        body,
    };
    seen.lock().unwrap().push(req.clone());
    let reply = handler(&req);
    let mut out = conn;
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if reply.chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
    }
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    if let Some(d) = reply.stall {
        out.flush().ok();
        thread::sleep(d);
    }
    if reply.chunked {
        for chunk in reply.body.chunks(7) {
            let _ = out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
            let _ = out.write_all(chunk);
            let _ = out.write_all(b"\r\n");
        }
        let _ = out.write_all(b"0\r\n\r\n");
    } else {
        let _ = out.write_all(&reply.body);
    }
    let _ = out.flush();
}

/// A DNS server on 127.0.0.1 answering A queries from `table` (AAAA: no records;
/// other names: NXDOMAIN), over UDP and, when the port is free, TCP.
pub struct DnsServer {
    pub addr: SocketAddr,
    pub tcp: bool,
    queries: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    pub fn start(table: &[(&str, &str)]) -> Self {
        let table: HashMap<String, Ipv4Addr> = table
            .iter()
            .map(|(n, a)| ((*n).to_owned(), a.parse().unwrap()))
            .collect();
        let table = Arc::new(table);
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(100))).ok();
        let (t, q, st) = (Arc::clone(&table), Arc::clone(&queries), Arc::clone(&stop));
        thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !st.load(Ordering::SeqCst) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(resp) = answer(&buf[..n], &t, &q) {
                    let _ = udp.send_to(&resp, from);
                }
            }
        });
        let tcp = TcpListener::bind(addr).ok();
        let has_tcp = tcp.is_some();
        if let Some(listener) = tcp {
            let (t, q) = (Arc::clone(&table), Arc::clone(&queries));
            thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut c) = conn else { continue };
                    let mut len = [0u8; 2];
                    if c.read_exact(&mut len).is_err() {
                        continue;
                    }
                    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if c.read_exact(&mut msg).is_err() {
                        continue;
                    }
                    if let Some(resp) = answer(&msg, &t, &q) {
                        let mut framed = (resp.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&resp);
                        let _ = c.write_all(&framed);
                    }
                }
            });
        }
        Self {
            addr,
            tcp: has_tcp,
            queries,
            stop,
        }
    }

    /// Names asked so far (`name/type`).
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

fn answer(
    q: &[u8],
    table: &HashMap<String, Ipv4Addr>,
    log: &Mutex<Vec<String>>,
) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*q.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(pos..pos + len)?).into_owned());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*q.get(pos)?, *q.get(pos + 1)?]);
    let question_end = pos + 4;
    let name = labels.join(".");
    log.lock().unwrap().push(format!("{name}/{qtype}"));
    let mut r = q.get(..question_end)?.to_vec();
    r[2] = 0x81; // QR, RD
    let found = table.get(&name);
    r[3] = if found.is_some() { 0x80 } else { 0x83 }; // RA, NOERROR or NXDOMAIN
    r[6] = 0;
    r[7] = 0;
    if let (Some(ip), 1) = (found, qtype) {
        r[7] = 1;
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}
