//! `rex mcp`: the MCP server over stdio, for AI agents.
//!
//! The operator fixes the agent's principal, policy, sandbox level, time cap and decision
//! log on the command line; the agent (the MCP client) can only call the tools. Each
//! `run_script` call runs in its own `rex run` child of this same binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rex_mcp::{AgentIdentity, RexMcp, RunnerConfig};
use rex_sandbox::SandboxMode;

/// Exit code when the configuration is unusable (as `rex run`'s invalid input).
const INVALID_INPUT: u8 = 4;

/// What `rex mcp` was started with.
#[derive(Debug, Clone)]
pub struct McpRequest {
    /// Policy files (at least one).
    pub policies: Vec<String>,
    /// Principal name (default: the effective user's).
    pub principal: Option<String>,
    /// Kernel backstop of every script's process.
    pub sandbox: SandboxMode,
    /// The longest a script may run (default 60 s); the agent may only ask for less.
    pub timeout: Option<Duration>,
    /// Decision log for every script's decisions.
    pub audit_log: Option<String>,
    /// Scripts running at once.
    pub max_concurrent: usize,
}

/// Validates the configuration, then serves MCP on stdin/stdout until the client closes
/// it. Exit 0 on a clean close, 4 when the configuration is unusable, 1 when the transport
/// fails. Diagnostics go to stderr (stdout carries only MCP messages).
pub fn run(req: &McpRequest) -> ExitCode {
    match serve(req) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn serve(req: &McpRequest) -> Result<(), (u8, String)> {
    let bad = |m: String| (INVALID_INPUT, m);
    if req.policies.is_empty() {
        return Err(bad(
            "give the agent's policy with `-p POLICY` (repeatable); rex mcp does not run \
             with an implicit policy"
                .to_owned(),
        ));
    }
    let files: Vec<PathBuf> = req
        .policies
        .iter()
        .map(|p| std::path::absolute(p).map_err(|e| bad(format!("policy `{p}`: {e}"))))
        .collect::<Result<_, _>>()?;
    // Several policy files are combined into one for the `rex run` children; the combined
    // file lives in this private directory for as long as the server runs.
    let combined_dir = tempfile::Builder::new()
        .prefix("rex-mcp-")
        .tempdir()
        .map_err(|e| bad(format!("cannot create a private directory: {e}")))?;
    let principal = req
        .principal
        .clone()
        .unwrap_or_else(rex_policy::effective_user_name);
    let identity = AgentIdentity::load_combined(principal, &files, combined_dir.path())
        .map_err(|e| bad(e.to_string()))?;
    let rex_bin = std::env::current_exe().map_err(|e| {
        bad(format!(
            "cannot find the rex binary to run scripts with: {e}"
        ))
    })?;
    let mut config = RunnerConfig::new(rex_bin);
    config.sandbox = req.sandbox.to_string();
    if let Some(t) = req.timeout {
        config.max_timeout = t;
    }
    if let Some(log) = &req.audit_log {
        let path = std::path::absolute(log).map_err(|e| bad(format!("`{log}`: {e}")))?;
        // Fail now, not at the first script, when the log cannot be written.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| bad(format!("cannot open the decision log `{log}`: {e}")))?;
        config.audit_log = Some(path);
    }
    config.max_concurrent = req.max_concurrent.max(1);
    let server = RexMcp::new(identity, config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| (1, format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(rex_mcp::serve_stdio(server));
    drop(combined_dir);
    served.map_err(|e| (1, e.to_string()))
}
