//! `rex`: run scripts under Cedar policies, check them, list the script API.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rex_cli::{
    Format, Inputs, functions, mcp_cmd, parse_mode, parse_sandbox, parse_timeout, policy_cmd,
    prepare, prepare_sandboxed, print_document, run_then,
};
use rex_engine::{RunClass, RunOutcome, Watchdog};
use rex_policy::{Mode, Policies};
use rex_sandbox::SandboxMode;

/// rex runs scripts that nobody fully trusts on real hosts, letting each touch exactly what
/// a Cedar policy permits.
#[derive(Parser, Debug)]
#[command(name = "rex", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Exit codes of `rex run`.
mod exit {
    pub const SCRIPT_ERROR: u8 = 1;
    pub const ACCESS_DENIED: u8 = 3;
    pub const INVALID_INPUT: u8 = 4;
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a script. Exit codes: 0 success, 1 script error, 2 usage, 3 access denied,
    /// 4 invalid input (unreadable or invalid script, policy or arguments).
    Run {
        /// The Rhai script.
        script: String,
        /// Cedar policy file; repeat to combine several. None: every request is denied.
        #[arg(short = 'p', long = "policy", value_name = "POLICY")]
        policies: Vec<String>,
        /// Script arguments in the REX JSON format.
        #[arg(short = 'a', long = "args", value_name = "ARGS")]
        args: Option<String>,
        /// Output format. `human` prints the output on stdout, and errors (with the
        /// explanation and suggested permit of a denial) on stderr.
        #[arg(short = 'o', long = "output", value_enum, default_value = "human")]
        output: Format,
        /// With `human`: also print logs and metrics.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// The Cedar principal `User::"<NAME>"` (default: the effective user's login name).
        #[arg(long, value_name = "NAME")]
        principal: Option<String>,
        /// Append every authorization decision to this JSON Lines file.
        #[arg(long, value_name = "FILE")]
        audit_log: Option<String>,
        /// Wall-clock limit in seconds for the whole run (default 300).
        #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// `enforce` refuses denied requests; `audit` allows them and records that they
        /// would have been denied (for learning policies, never for untrusted scripts).
        #[arg(long, value_parser = parse_mode, default_value = "enforce")]
        mode: Mode,
        /// Kernel backstop under the SDK, derived from the policy (Landlock, seccomp,
        /// no_new_privs, resource limits): `auto` applies what the kernel supports and
        /// logs what was left out, `required` refuses to run unless all of it is
        /// enforced, `off` skips it. Always off with `--mode audit`.
        #[arg(long, value_parser = parse_sandbox, default_value = "auto")]
        sandbox: SandboxMode,
        /// Job id written into every decision record (`job`); `rex serve` and `rex mcp`
        /// set it for each job they run.
        #[arg(long, value_name = "ID")]
        job_id: Option<String>,
        /// Resident memory limit of the run in bytes (default 1 GiB); the script is
        /// stopped with a script error past it.
        #[arg(long, value_name = "BYTES")]
        max_memory: Option<u64>,
    },
    /// Compile a script and validate policies without running anything; report every
    /// problem. Exit 0 when both are fine, 4 otherwise.
    Check {
        /// The Rhai script.
        script: String,
        /// Cedar policy file; repeat to combine several.
        #[arg(short = 'p', long = "policy", value_name = "POLICY")]
        policies: Vec<String>,
        /// Script arguments (their names are variables the script may use).
        #[arg(short = 'a', long = "args", value_name = "ARGS")]
        args: Option<String>,
    },
    /// Write, check and understand policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List every script function with its signature and the Cedar check it makes.
    Functions {
        /// `markdown` (default) or `json`.
        #[arg(long, value_enum, default_value = "markdown")]
        format: FunctionsFormat,
    },
    /// Serve the MCP tools (run_script, check_script, list_functions, explain_denial) to an
    /// AI agent over stdin/stdout. The operator fixes the principal, policy, sandbox and
    /// time cap here; the agent can never change them. Exit 4 when the configuration is
    /// unusable.
    Mcp {
        /// The agent's Cedar policy file; repeat to combine several. Required.
        #[arg(short = 'p', long = "policy", value_name = "POLICY")]
        policies: Vec<String>,
        /// The Cedar principal `User::"<NAME>"` every script runs as (default: the
        /// effective user's login name).
        #[arg(long, value_name = "NAME")]
        principal: Option<String>,
        /// Kernel backstop of every script's process: `off`, `auto` or `required`.
        #[arg(long, value_parser = parse_sandbox, default_value = "auto")]
        sandbox: SandboxMode,
        /// Longest wall-clock time of one script, in seconds (default 60); the agent may
        /// only ask for less.
        #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// Append every authorization decision of every script (with its job id) to this
        /// JSON Lines file.
        #[arg(long, value_name = "FILE")]
        audit_log: Option<String>,
        /// Scripts running at once; further calls wait.
        #[arg(long, value_name = "N", default_value_t = 4)]
        max_concurrent: usize,
    },
    /// Serve the HTTP API: callers authenticate with bearer tokens, each mapped by the
    /// operator to a principal and a policy; each job runs in its own sandboxed `rex run`
    /// child. See docs/operators.md. Exit 4 when the configuration is invalid.
    #[command(args_conflicts_with_subcommands = true)]
    Serve {
        /// The server configuration.
        #[arg(long, value_name = "FILE", default_value = "rex-server.toml")]
        config: std::path::PathBuf,
        #[command(subcommand)]
        action: Option<ServeAction>,
    },
}

#[derive(Subcommand, Debug)]
enum ServeAction {
    /// Print the `sha256 = "..."` line of a token for `[[token]]` (reads the token from
    /// stdin when not given).
    HashToken {
        /// The token.
        token: Option<String>,
    },
    /// Make a random token: the token on stdout, its `sha256` line on stderr.
    NewToken,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate policies strictly against the rex schema; print every error and warning
    /// with file, line and column. Exit 0 when valid, 4 otherwise.
    Check {
        /// Policy files.
        #[arg(required = true)]
        policies: Vec<String>,
        /// Treat warnings (e.g. a permit with no resource constraint on a mutating action)
        /// as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Format policy files in place with Cedar's formatter.
    Fmt {
        /// Policy files.
        #[arg(required = true)]
        policies: Vec<String>,
        /// Only report files that would change; exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Decide one request and say why: the determining policies with their source, and for
    /// a denial the minimal permit that would allow it. Exit 0 allowed, 3 denied.
    Explain {
        /// Policy files.
        #[arg(short = 'p', long = "policy", value_name = "POLICY", required = true)]
        policies: Vec<String>,
        /// Principal name (`User::"<NAME>"`).
        #[arg(long, value_name = "NAME")]
        principal: String,
        /// Action, e.g. `file_system::Action::"read"` or `file_system::read`.
        #[arg(long)]
        action: String,
        /// Resource uid, e.g. `file_system::File::"/var/log/syslog"`.
        #[arg(long)]
        resource: String,
        /// Context as a JSON object (for move, execute, set_x_attr).
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
        /// Resource attributes as a JSON object (for non-file resources), e.g.
        /// `{"name":"nginx","username":"root","command":"nginx"}`.
        #[arg(long, value_name = "JSON")]
        attrs: Option<String>,
    },
    /// Run a script in audit mode and write the least-privilege policy that permits exactly
    /// the requests it made (or learn from decision logs with `--from`).
    Learn {
        /// The script to run.
        script: Option<String>,
        /// Script arguments in the REX JSON format.
        #[arg(short = 'a', long = "args", value_name = "ARGS")]
        args: Option<String>,
        /// Write the policy here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<String>,
        /// Refuse every mutating action while learning, so nothing on the host changes;
        /// the refused requests are listed (and permitted in the output).
        #[arg(long)]
        read_only: bool,
        /// Learn from decision logs (`--audit-log` files) of earlier runs instead.
        #[arg(long = "from", value_name = "AUDIT.jsonl")]
        from: Vec<String>,
        /// Principal the policy is written for (default: the effective user).
        #[arg(long, value_name = "NAME")]
        principal: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FunctionsFormat {
    Markdown,
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            script,
            policies,
            args,
            output,
            verbose,
            principal,
            audit_log,
            timeout,
            mode,
            sandbox,
            job_id,
            max_memory,
        } => {
            let inputs = Inputs {
                policies,
                args,
                principal,
                audit_log,
                mode,
                timeout,
                sandbox: if mode == Mode::Audit {
                    SandboxMode::Off
                } else {
                    sandbox
                },
                job_id,
                max_memory,
                ..Inputs::new(script)
            };
            run_command(&inputs, output, verbose)
        }
        Command::Check {
            script,
            policies,
            args,
        } => check_command(&script, &policies, args.as_deref()),
        Command::Policy(p) => policy_command(p),
        Command::Functions { format } => {
            match format {
                FunctionsFormat::Markdown => print!("{}", functions::markdown()),
                FunctionsFormat::Json => println!("{}", functions::json()),
            }
            ExitCode::SUCCESS
        }
        Command::Mcp {
            policies,
            principal,
            sandbox,
            timeout,
            audit_log,
            max_concurrent,
        } => mcp_cmd::run(&mcp_cmd::McpRequest {
            policies,
            principal,
            sandbox,
            timeout,
            audit_log,
            max_concurrent,
        }),
        Command::Serve { config, action } => match action {
            None => rex_cli::serve_cmd::serve(&config),
            Some(ServeAction::HashToken { token }) => rex_cli::serve_cmd::hash_token(token),
            Some(ServeAction::NewToken) => rex_cli::serve_cmd::new_token(),
        },
    }
}

fn policy_command(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Check {
            policies,
            deny_warnings,
        } => policy_cmd::check(&policies, deny_warnings),
        PolicyCommand::Fmt { policies, check } => policy_cmd::fmt(&policies, check),
        PolicyCommand::Explain {
            policies,
            principal,
            action,
            resource,
            context,
            attrs,
        } => policy_cmd::explain(&policy_cmd::ExplainRequest {
            policies: &policies,
            principal: &principal,
            action: &action,
            resource: &resource,
            context: context.as_deref(),
            attrs: attrs.as_deref(),
        }),
        PolicyCommand::Learn {
            script,
            args,
            output,
            read_only,
            from,
            principal,
        } => policy_cmd::learn(&policy_cmd::LearnRequest {
            script,
            args,
            from,
            output,
            read_only,
            principal,
        }),
    }
}

fn run_command(inputs: &Inputs, format: Format, verbose: bool) -> ExitCode {
    let prepared = prepare_sandboxed(inputs);
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(fatal) => {
            if format == Format::Human {
                eprintln!("error: {}", fatal.message);
            } else {
                let _ = print_document(&fatal.document(), format, false);
            }
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    // This process prints the document and exits right after the run: the deadline is
    // enforced by the watchdog, with no per-operation callback, and a script that ends
    // has its document printed and the process ended by the script thread itself.
    prepared.request.watchdog = Watchdog::ExitProcess;
    let outcome = run_then(prepared, move |outcome| {
        std::process::exit(i32::from(report(outcome, format, verbose)));
    });
    ExitCode::from(report(&outcome, format, verbose))
}

/// Prints a run's document (and, in `human` form, a denial's explanation) and gives the
/// exit status.
fn report(outcome: &RunOutcome, format: Format, verbose: bool) -> u8 {
    if print_document(&outcome.document, format, verbose).is_err() {
        return exit::SCRIPT_ERROR;
    }
    if format == Format::Human
        && let Some(explanation) = &outcome.denial_explanation
    {
        eprint!("{explanation}");
    }
    match outcome.class {
        RunClass::Success => 0,
        RunClass::ScriptError => exit::SCRIPT_ERROR,
        RunClass::AccessDenied => exit::ACCESS_DENIED,
        RunClass::Fatal => exit::INVALID_INPUT,
    }
}

fn check_command(script: &str, policies: &[String], args: Option<&str>) -> ExitCode {
    let mut problems = 0usize;
    let loaded = if policies.is_empty() {
        Ok(Policies::empty())
    } else {
        Policies::load_files(policies)
    };
    let policy_set = match loaded {
        Ok(p) => {
            for w in p.warnings() {
                eprintln!("warning: {w}");
            }
            p
        }
        Err(e) => {
            problems += e.diagnostics().len().max(1);
            if e.diagnostics().is_empty() {
                eprintln!("error: {e}");
            }
            for d in e.diagnostics() {
                eprintln!("error: {d}");
            }
            Policies::empty()
        }
    };
    let inputs = Inputs {
        args: args.map(str::to_owned),
        ..Inputs::new(script)
    };
    match prepare(&inputs) {
        Err(fatal) => {
            problems += 1;
            eprintln!("error: {}", fatal.message);
        }
        Ok(prepared) => {
            if let Err(p) = rex_engine::compile_check(&prepared.request, prepared.gate) {
                problems += 1;
                eprintln!("error: {script}:{}:{}: {}", p.line, p.column, p.message);
            }
        }
    }
    if problems == 0 {
        println!(
            "ok: `{script}` compiles; {} polic{} valid against the rex schema",
            policy_set.len(),
            if policy_set.len() == 1 {
                "y is"
            } else {
                "ies are"
            }
        );
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{problems} problem{} found",
            if problems == 1 { "" } else { "s" }
        );
        ExitCode::from(exit::INVALID_INPUT)
    }
}
