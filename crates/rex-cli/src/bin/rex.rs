//! `rex`: run scripts under Cedar policies, check them, list the script API.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rex_cli::{Format, Inputs, functions, parse_mode, parse_timeout, prepare, print_document, run};
use rex_engine::RunClass;
use rex_policy::{Mode, Policies};

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
    /// List every script function with its signature and the Cedar check it makes.
    Functions {
        /// `markdown` (default) or `json`.
        #[arg(long, value_enum, default_value = "markdown")]
        format: FunctionsFormat,
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
        } => {
            let inputs = Inputs {
                script,
                policies,
                args,
                principal,
                audit_log,
                mode,
                timeout,
            };
            run_command(&inputs, output, verbose)
        }
        Command::Check {
            script,
            policies,
            args,
        } => check_command(&script, &policies, args.as_deref()),
        Command::Functions { format } => {
            match format {
                FunctionsFormat::Markdown => print!("{}", functions::markdown()),
                FunctionsFormat::Json => println!("{}", functions::json()),
            }
            ExitCode::SUCCESS
        }
    }
}

fn run_command(inputs: &Inputs, format: Format, verbose: bool) -> ExitCode {
    let prepared = match prepare(inputs) {
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
    let outcome = run(prepared);
    if print_document(&outcome.document, format, verbose).is_err() {
        return ExitCode::from(exit::SCRIPT_ERROR);
    }
    if format == Format::Human
        && let Some(explanation) = &outcome.denial_explanation
    {
        eprint!("{explanation}");
    }
    match outcome.class {
        RunClass::Success => ExitCode::SUCCESS,
        RunClass::ScriptError => ExitCode::from(exit::SCRIPT_ERROR),
        RunClass::AccessDenied => ExitCode::from(exit::ACCESS_DENIED),
        RunClass::Fatal => ExitCode::from(exit::INVALID_INPUT),
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
        script: script.to_owned(),
        policies: Vec::new(),
        args: args.map(str::to_owned),
        principal: None,
        audit_log: None,
        mode: Mode::Enforce,
        timeout: None,
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
