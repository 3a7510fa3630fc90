//! `rex-runner`: a drop-in for the original REX runner. Same flags, exit codes and output
//! document; adds `--version`, `--print-functions`, `--principal`, `--audit-log`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use rex_cli::{
    Format, Inputs, functions, parse_sandbox, prepare_sandboxed, print_document, run_then,
};
use rex_engine::{RunClass, RunOutcome, Watchdog};
use rex_sandbox::SandboxMode;

/// Run a Rhai script under a Cedar policy and print the REX output document.
///
/// Exit codes: 0 when the script ran (whatever its status: read `status` and
/// `error.error_type`), 1 for fatal input or policy problems (compact JSON error document
/// on stdout), 2 for usage errors.
#[derive(Parser, Debug)]
#[command(name = "runner", bin_name = "rex-runner", version)]
struct Cli {
    /// The Rhai script to run.
    #[arg(
        short = 's',
        long,
        value_name = "PATH",
        required_unless_present = "print_functions"
    )]
    script_file: Option<String>,
    /// The Cedar policy file (validated against the rex schema).
    #[arg(
        short = 'p',
        long,
        value_name = "PATH",
        required_unless_present = "print_functions"
    )]
    policy_file: Option<String>,
    /// Script arguments in the REX JSON format; each name becomes a variable.
    #[arg(short = 'a', long, value_name = "PATH")]
    script_arguments_file: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "json")]
    output_format: Format,
    /// With `human`: also print the logs before and the metrics after the output.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Print every script function with the Cedar check it makes (Markdown), then exit.
    #[arg(long)]
    print_functions: bool,
    /// The Cedar principal `User::"<NAME>"` for the whole run (default: the effective user).
    #[arg(long, value_name = "NAME")]
    principal: Option<String>,
    /// Append every authorization decision to this JSON Lines file.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<String>,
    /// Kernel backstop derived from the policy: `auto` (default) applies what the kernel
    /// supports, `required` refuses to run unless all of it is enforced, `off` skips it.
    #[arg(long, value_parser = parse_sandbox, default_value = "auto")]
    sandbox: SandboxMode,
}

fn main() -> ExitCode {
    // Cedar warms up on a helper thread while the command line is parsed (the runner's
    // first 0.2-0.3 ms); `prepare_sandboxed` hands it the schema to build.
    let warm = rex_policy::schema::prewarm();
    let cli = Cli::parse();
    if cli.print_functions {
        print!("{}", functions::markdown());
        return ExitCode::SUCCESS;
    }
    let inputs = Inputs {
        policies: cli.policy_file.into_iter().collect(),
        args: cli.script_arguments_file,
        principal: cli.principal,
        audit_log: cli.audit_log,
        sandbox: cli.sandbox,
        ..Inputs::new(cli.script_file.unwrap_or_default())
    };
    let prepared = prepare_sandboxed(&inputs);
    // Ended before the script thread starts: only threads started after the sandbox
    // are under Landlock.
    if let Some(warm) = warm {
        warm.join();
    }
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(fatal) => {
            // The original prints fatal documents as compact JSON whatever the format.
            let _ = print_document(&fatal.document(), Format::Json, false);
            return ExitCode::from(1);
        }
    };
    // The process prints the document and exits right after the run: the deadline is
    // enforced by the watchdog, with no per-operation callback, and a script that ends
    // has its document printed and the process ended by the script thread itself.
    prepared.request.watchdog = Watchdog::ExitProcess;
    let (format, verbose) = (cli.output_format, cli.verbose);
    let outcome = run_then(prepared, move |outcome| {
        std::process::exit(i32::from(print_outcome(outcome, format, verbose)));
    });
    ExitCode::from(print_outcome(&outcome, format, verbose))
}

/// Prints the run's document and gives the exit status: 1 for a fatal input problem or
/// when the document cannot be written, else 0.
fn print_outcome(outcome: &RunOutcome, format: Format, verbose: bool) -> u8 {
    let fatal = outcome.class == RunClass::Fatal;
    // The original prints fatal documents as compact JSON whatever the format.
    let format = if fatal { Format::Json } else { format };
    if print_document(&outcome.document, format, verbose).is_err() || fatal {
        1
    } else {
        0
    }
}
