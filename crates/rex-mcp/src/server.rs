//! The MCP server: the four tools, and the stdio transport.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::descriptions;
use crate::error::McpError;
use crate::identity::AgentIdentity;
use crate::runner::{Runner, RunnerConfig};

/// `run_script` and `check_script` parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptParams {
    /// The Rhai script source text (not a file name).
    pub script: String,
    /// Script arguments in the REX JSON format: an object of name -> tagged value, e.g.
    /// {"path": {"stringValue": "/var/log/syslog"}, "n": {"longValue": 20}}. Each name
    /// becomes a variable in the script.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// Wall-clock limit in seconds (run_script only); at most, and by default, the
    /// operator's cap.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

/// `list_functions` parameters.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only this SDK domain: log, metrics, time, fs, proc, sys or net.
    #[serde(default)]
    pub domain: Option<String>,
    /// Only functions whose name, signature or summary contains this (case-insensitive).
    #[serde(default)]
    pub query: Option<String>,
}

/// `explain_denial` parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainParams {
    /// Cedar action, e.g. `file_system::Action::"read"` or `file_system::read`.
    pub action: String,
    /// Cedar resource uid, e.g. `file_system::File::"/var/log/syslog"`.
    pub resource: String,
    /// Request context as a JSON object (for move, execute, set_x_attr).
    #[serde(default)]
    pub context: Option<Value>,
    /// Resource attributes as a JSON object, for non-file resources (e.g.
    /// {"host": "example.com", "port": 443, "scheme": "https", "path": "/"}).
    #[serde(default)]
    pub attributes: Option<Value>,
}

impl std::fmt::Debug for RexMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RexMcp")
            .field("runner", &self.runner)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// Where the agent's identity comes from.
#[derive(Debug, Clone)]
enum IdentitySource {
    /// One identity for every call (`rex mcp` over stdio, or one HTTP endpoint per agent).
    Fixed(AgentIdentity),
    /// From each HTTP request's extensions, put there by the caller's authentication
    /// layer (`rex serve` maps the bearer token to principal and policy).
    PerRequest,
}

/// The rex MCP server. The identity (principal and policy) is fixed when it is built, or
/// taken from each HTTP request's [`AgentIdentity`] extension that the embedding server's
/// authentication put there; a tool call can never choose it.
#[derive(Clone)]
pub struct RexMcp {
    runner: Arc<Runner>,
    identity: IdentitySource,
    tool_router: ToolRouter<Self>,
}

impl RexMcp {
    /// A server whose every call runs as `identity`.
    pub fn new(identity: AgentIdentity, runner: RunnerConfig) -> Self {
        Self::with_runner(
            Arc::new(Runner::new(runner)),
            IdentitySource::Fixed(identity),
        )
    }

    /// A server taking the identity from each HTTP request (see [`crate::http::router`]).
    /// A call arriving without one is refused.
    pub fn per_request(runner: RunnerConfig) -> Self {
        Self::with_runner(Arc::new(Runner::new(runner)), IdentitySource::PerRequest)
    }

    fn with_runner(runner: Arc<Runner>, identity: IdentitySource) -> Self {
        Self {
            runner,
            identity,
            tool_router: Self::tool_router(),
        }
    }

    /// A server sharing this one's runner (and its concurrency limit) and identity source.
    pub(crate) fn share(&self) -> Self {
        Self::with_runner(Arc::clone(&self.runner), self.identity.clone())
    }

    fn identity(&self, ctx: &RequestContext<RoleServer>) -> Result<AgentIdentity, ErrorData> {
        match &self.identity {
            IdentitySource::Fixed(id) => Ok(id.clone()),
            IdentitySource::PerRequest => ctx
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<AgentIdentity>())
                .cloned()
                .ok_or_else(|| {
                    ErrorData::invalid_request(
                        "no agent identity: this endpoint must be reached through the \
                         server's authentication",
                        None,
                    )
                }),
        }
    }
}

fn structured(value: Value, text: String, is_error: bool) -> CallToolResult {
    let mut result = if is_error {
        CallToolResult::structured_error(value)
    } else {
        CallToolResult::structured(value)
    };
    result.content.push(ContentBlock::text(text));
    result
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ErrorData> {
    serde_json::to_value(v).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

#[tool_router]
impl RexMcp {
    /// Runs a script in a `rex run` child under the fixed identity.
    #[tool(name = "run_script", description = descriptions::RUN_SCRIPT)]
    async fn run_script(
        &self,
        Parameters(p): Parameters<ScriptParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        let result = self
            .runner
            .run(&identity, &p.script, p.arguments, p.timeout_seconds)
            .await;
        Ok(structured(
            result.structured,
            result.summary,
            result.is_error,
        ))
    }

    /// Compiles a script and previews the requests it needs.
    #[tool(
        name = "check_script",
        description = descriptions::CHECK_SCRIPT,
        annotations(read_only_hint = true)
    )]
    async fn check_script(
        &self,
        Parameters(p): Parameters<ScriptParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        let report = tokio::task::spawn_blocking(move || {
            crate::check::check(&identity, &p.script, p.arguments.as_ref())
        })
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let text = check_summary(&report);
        let value = to_json(&report)?;
        Ok(structured(value, text, !report.compiles))
    }

    /// The script API reference.
    #[tool(
        name = "list_functions",
        description = descriptions::LIST_FUNCTIONS,
        annotations(read_only_hint = true)
    )]
    async fn list_functions(
        &self,
        Parameters(p): Parameters<ListParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let reference = crate::reference::reference(p.domain.as_deref(), p.query.as_deref());
        let text = format!("{} functions", reference.count);
        Ok(structured(to_json(&reference)?, text, false))
    }

    /// Decides one request and says why.
    #[tool(
        name = "explain_denial",
        description = descriptions::EXPLAIN_DENIAL,
        annotations(read_only_hint = true)
    )]
    async fn explain_denial(
        &self,
        Parameters(p): Parameters<ExplainParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let identity = self.identity(&ctx)?;
        match crate::explain::explain(
            &identity,
            &p.action,
            &p.resource,
            p.context.as_ref(),
            p.attributes.as_ref(),
        ) {
            Ok(e) => {
                let text = e.explanation.clone();
                Ok(structured(to_json(&e)?, text, false))
            }
            Err(bad) => Ok(structured(
                serde_json::json!({"error": bad.0}),
                format!("invalid request: {}", bad.0),
                true,
            )),
        }
    }
}

fn check_summary(r: &crate::check::CheckReport) -> String {
    if !r.compiles {
        return r
            .errors
            .iter()
            .map(|e| {
                format!(
                    "error at line {}, column {}: {}",
                    e.line, e.column, e.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let denied: Vec<String> = r
        .literal_requests
        .iter()
        .filter(|l| l.decision == "DENY")
        .map(|l| {
            format!(
                "  line {}: {} on {} would be DENIED",
                l.line, l.action, l.resource
            )
        })
        .collect();
    let mut out = format!(
        "compiles; {} SDK call(s); actions it may need: {}",
        r.calls.len(),
        if r.actions.is_empty() {
            "none".to_owned()
        } else {
            r.actions.join(", ")
        }
    );
    if !denied.is_empty() {
        out.push_str("\nliteral requests the policy refuses:\n");
        out.push_str(&denied.join("\n"));
    }
    out
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for RexMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("rex", env!("CARGO_PKG_VERSION"))
                    .with_title("rex: run scripts on this host under a Cedar policy"),
            )
            .with_instructions(descriptions::INSTRUCTIONS)
    }
}

/// Serves `server` over stdin/stdout until the client closes the connection. Nothing but
/// MCP messages is written to stdout.
pub async fn serve_stdio(server: RexMcp) -> Result<(), McpError> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Transport(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| McpError::Transport(e.to_string()))?;
    Ok(())
}
