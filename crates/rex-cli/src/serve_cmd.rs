//! `rex serve`: run the HTTP API (see `rex-server` and `docs/operators.md`), and its token
//! helpers. The server authorizes callers by the tokens in its configuration only.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use rex_server::{Config, Server};

/// Exit code when the configuration is invalid or the server cannot start.
const START_FAILED: u8 = 4;

/// Loads `config`, binds, prints `rex serve: listening on <url>` on stderr and serves
/// until SIGINT or SIGTERM.
pub fn serve(config: &Path) -> ExitCode {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(START_FAILED);
        }
    };
    let rex_bin = match config
        .rex_binary
        .clone()
        .map_or_else(std::env::current_exe, Ok)
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find the rex binary to run jobs: {e}");
            return ExitCode::from(START_FAILED);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(START_FAILED);
        }
    };
    let mcp = match mcp_service(&config, &rex_bin) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(START_FAILED);
        }
    };
    runtime.block_on(async move {
        let mut server = match Server::bind(config, rex_bin).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(START_FAILED);
            }
        };
        let (router, hook) = mcp;
        server.mount("/mcp", router, hook);
        let scheme = if server.is_tls() { "https" } else { "http" };
        eprintln!("rex serve: listening on {scheme}://{}", server.local_addr());
        let _ = std::io::stderr().flush();
        match server.run(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// The MCP endpoint (streamable HTTP) for `/mcp`: the same caps as jobs, and each token's
/// principal and policy as the agent's identity, loaded once here. The router only ever
/// sees requests whose token matched (see [`Server::mount`]).
fn mcp_service(
    config: &Config,
    rex_bin: &Path,
) -> Result<(rex_server::Router, rex_server::CallerHook), rex_mcp::McpError> {
    let mut identities = HashMap::new();
    for t in &config.token {
        let key = (t.principal.clone(), t.policy.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = identities.entry(key) {
            slot.insert(rex_mcp::AgentIdentity::load(
                t.principal.clone(),
                t.policy.clone(),
            )?);
        }
    }
    let limits = &config.limits;
    let runner = rex_mcp::RunnerConfig {
        rex_bin: rex_bin.to_owned(),
        sandbox: config.sandbox.clone(),
        max_timeout: std::time::Duration::from_secs_f64(limits.max_timeout_secs),
        max_memory_bytes: limits.max_memory_bytes,
        max_output_bytes: limits.max_output_bytes,
        audit_log: config.audit_log.clone(),
        max_concurrent: limits.max_concurrent,
    };
    let mut hosts = vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "[::1]".to_owned(),
    ];
    hosts.push(config.listen.ip().to_string());
    hosts.extend(config.mcp_allowed_hosts.iter().cloned());
    let router = rex_mcp::http::router(runner, hosts);
    let hook: rex_server::CallerHook = Arc::new(move |caller, extensions| {
        match identities.get(&(caller.principal.clone(), caller.policy.clone())) {
            Some(identity) => {
                extensions.insert(identity.clone());
                true
            }
            None => false,
        }
    });
    Ok((router, hook))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("rex serve: shutting down");
}

/// `rex serve hash-token [TOKEN]`: prints the SHA-256 line for `[[token]]`; the token is
/// read from stdin when not given (keeps it out of shell history).
pub fn hash_token(token: Option<String>) -> ExitCode {
    let token = match token {
        Some(t) => t,
        None => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("error: cannot read the token from stdin: {e}");
                return ExitCode::from(START_FAILED);
            }
            line
        }
    };
    if token.trim().is_empty() {
        eprintln!("error: empty token");
        return ExitCode::from(START_FAILED);
    }
    println!("sha256 = \"{}\"", rex_server::auth::hash_token(&token));
    ExitCode::SUCCESS
}

/// `rex serve new-token`: a random token on stdout and its `sha256 = ...` line on stderr.
pub fn new_token() -> ExitCode {
    match rex_server::auth::generate_token() {
        Ok(t) => {
            println!("{t}");
            eprintln!("sha256 = \"{}\"", rex_server::auth::hash_token(&t));
            ExitCode::SUCCESS
        }
        Err(_) => {
            eprintln!("error: the system random generator failed");
            ExitCode::from(START_FAILED)
        }
    }
}
