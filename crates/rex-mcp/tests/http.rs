#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The streamable HTTP router on loopback, nested under `/mcp` behind a stand-in for
//! `rex serve`'s token authentication that puts each caller's `AgentIdentity` into the
//! request: each caller gets its own principal, and a call without identity runs nothing.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use rex_mcp::{AgentIdentity, RunnerConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.0 exchange (no chunked framing, so SSE `data:` lines arrive whole). Returns
/// the status, the `mcp-session-id` header, and the first JSON-RPC message of the body.
async fn post(
    addr: SocketAddr,
    token: Option<&str>,
    session: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, Option<Value>) {
    let body = body.to_string();
    let mut req = format!(
        "POST /mcp HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        addr.port(),
        body.len()
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(s) = session {
        req.push_str(&format!("Mcp-Session-Id: {s}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if first_message(&raw).is_some() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the MCP endpoint answered in time");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let session = text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("mcp-session-id")
            .then(|| v.trim().to_owned())
    });
    (status, session, first_message(&raw))
}

/// The first JSON-RPC message in a response body: an SSE `data:` line, or a JSON body.
fn first_message(raw: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(raw);
    let (_, body) = text.split_once("\r\n\r\n")?;
    for line in body.lines() {
        if let Some(data) = line.strip_prefix("data:")
            && let Ok(v) = serde_json::from_str::<Value>(data.trim())
            && v.get("jsonrpc").is_some()
        {
            return Some(v);
        }
    }
    serde_json::from_str::<Value>(body.trim())
        .ok()
        .filter(|v| v.get("jsonrpc").is_some())
}

async fn open_session(addr: SocketAddr, token: Option<&str>) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "rex-test", "version": "0"}}});
    let (status, session, message) = post(addr, token, None, &init).await;
    assert_eq!(status, 200, "{message:?}");
    let message = message.unwrap();
    assert_eq!(message["result"]["serverInfo"]["name"], "rex", "{message}");
    let session = session.expect("a session id");
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = post(addr, token, Some(&session), &note).await;
    assert!(status == 202 || status == 200, "{status}");
    session
}

async fn call(
    addr: SocketAddr,
    token: Option<&str>,
    session: &str,
    name: &str,
    args: Value,
) -> Value {
    let req = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": name, "arguments": args}});
    let (status, _, message) = post(addr, token, Some(session), &req).await;
    assert_eq!(status, 200);
    message.unwrap()
}

/// Stand-in for rex serve's auth: the token chooses the identity; no token, none.
async fn auth(mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let policy = req.extensions().get::<std::path::PathBuf>().cloned();
    if let (Some(token), Some(policy)) = (token, policy) {
        let principal = match token.as_str() {
            "alice-token" => "alice",
            "bob-token" => "bob",
            _ => "",
        };
        if let Ok(identity) = AgentIdentity::load(principal, &policy) {
            req.extensions_mut().insert(identity);
        }
    }
    next.run(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_gets_the_identity_its_token_maps_to() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("agents.cedar");
    std::fs::write(
        &policy,
        "permit (principal == User::\"alice\", action == file_system::Action::\"read\", resource == file_system::File::\"/srv/alice.txt\");\n",
    )
    .unwrap();
    let mcp = rex_mcp::http::router(
        RunnerConfig::new("/nonexistent/rex"),
        vec!["127.0.0.1".to_owned()],
    );
    let app = axum::Router::new()
        .nest("/mcp", mcp)
        .layer(middleware::from_fn(auth))
        .layer(axum::Extension(policy.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let alice = open_session(addr, Some("alice-token")).await;
    let list = post(
        addr,
        Some("alice-token"),
        Some(&alice),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await
    .2
    .unwrap();
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "check_script",
            "explain_denial",
            "list_functions",
            "run_script"
        ]
    );

    let request =
        json!({"action": "file_system::read", "resource": "file_system::File::\"/srv/alice.txt\""});
    let r = call(
        addr,
        Some("alice-token"),
        &alice,
        "explain_denial",
        request.clone(),
    )
    .await;
    let e = &r["result"]["structuredContent"];
    assert_eq!(e["principal"], "alice", "{r}");
    assert_eq!(e["decision"], "ALLOW", "{r}");

    let bob = open_session(addr, Some("bob-token")).await;
    let r = call(
        addr,
        Some("bob-token"),
        &bob,
        "explain_denial",
        request.clone(),
    )
    .await;
    let e = &r["result"]["structuredContent"];
    assert_eq!(e["principal"], "bob", "{r}");
    assert_eq!(e["decision"], "DENY", "{r}");
    // Bob's token on Alice's session is still Bob: identity comes from each request.
    let r = call(
        addr,
        Some("bob-token"),
        &alice,
        "explain_denial",
        request.clone(),
    )
    .await;
    assert_eq!(r["result"]["structuredContent"]["principal"], "bob", "{r}");

    // Without an identity nothing is decided or run.
    let anon = open_session(addr, None).await;
    let r = call(addr, None, &anon, "run_script", json!({"script": "1"})).await;
    assert!(r.get("result").is_none(), "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no agent identity"),
        "{r}"
    );
    server.abort();
}
