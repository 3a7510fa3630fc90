//! Streamable HTTP: the MCP server as an `axum::Router`, for `rex serve` to nest under
//! `/mcp` behind its bearer-token authentication.
//!
//! The embedding server decides who the caller is. Its authentication layer, in front of
//! this router, inserts the caller's [`AgentIdentity`] (the token's principal and policy,
//! from the operator's configuration) into the request extensions:
//!
//! ```text
//! req.extensions_mut().insert(rex_mcp::AgentIdentity::load(principal, policy_file)?);
//! ```
//!
//! A request that reaches [`router`] without one gets a JSON-RPC error and runs nothing.
//! [`router_for`] serves one fixed identity instead (one endpoint per agent).

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::identity::AgentIdentity;
use crate::runner::RunnerConfig;
use crate::server::RexMcp;

/// The MCP endpoint (streamable HTTP, at the router's root) taking each caller's identity
/// from the request's [`AgentIdentity`] extension. `allowed_hosts` are the `Host` header
/// values accepted (DNS-rebinding protection; e.g. `["127.0.0.1", "localhost"]`, or the
/// server's public name).
pub fn router(runner: RunnerConfig, allowed_hosts: Vec<String>) -> axum::Router {
    service_router(RexMcp::per_request(runner), allowed_hosts)
}

/// The MCP endpoint for one fixed identity.
pub fn router_for(
    identity: AgentIdentity,
    runner: RunnerConfig,
    allowed_hosts: Vec<String>,
) -> axum::Router {
    service_router(RexMcp::new(identity, runner), allowed_hosts)
}

fn service_router(server: RexMcp, allowed_hosts: Vec<String>) -> axum::Router {
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(allowed_hosts);
    let service = StreamableHttpService::new(
        move || Ok(server.share()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new()
        .route_service("/", service.clone())
        .fallback_service(service)
}
