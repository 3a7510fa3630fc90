//! Shared pieces of the `rex` and `rex-runner` binaries: loading inputs, running, and
//! rendering the output document.
#![forbid(unsafe_code)]

pub mod functions;
pub mod mcp_cmd;
pub mod policy_cmd;
pub mod serve_cmd;

use std::sync::Arc;
use std::time::Duration;

use rex_engine::log::Level;
use rex_engine::output::{Alarm, Metric, MetricUnit};
use rex_engine::{ErrorType, Limits, OutputDocument, RunOutcome, RunRequest, ScriptArgs};
use rex_policy::{Gate, Mode, Policies};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Compact JSON, no trailing newline.
    Json,
    /// Indented JSON, no trailing newline.
    PrettyJson,
    /// The output on stdout, errors on stderr.
    Human,
}

/// Everything a run needs from the command line.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Script file.
    pub script: String,
    /// Policy files (none: deny everything).
    pub policies: Vec<String>,
    /// Arguments file.
    pub args: Option<String>,
    /// Principal name (default: effective user).
    pub principal: Option<String>,
    /// Decision log.
    pub audit_log: Option<String>,
    /// Mode.
    pub mode: Mode,
    /// Wall-clock limit.
    pub timeout: Option<Duration>,
    /// Record every request (policy learning).
    pub record: bool,
    /// Refuse every mutating action (read-only learning).
    pub deny_mutating: bool,
    /// The kernel backstop.
    pub sandbox: rex_sandbox::SandboxMode,
    /// Job id written into every decision record (set by `rex serve` / `rex mcp`).
    pub job_id: Option<String>,
    /// Resident memory limit of the run, in bytes (default: the engine's).
    pub max_memory: Option<u64>,
}

impl Inputs {
    /// Inputs for `script` with defaults: no policy, enforce mode, no log.
    pub fn new(script: impl Into<String>) -> Self {
        Self {
            script: script.into(),
            policies: Vec::new(),
            args: None,
            principal: None,
            audit_log: None,
            mode: Mode::Enforce,
            timeout: None,
            record: false,
            deny_mutating: false,
            sandbox: rex_sandbox::SandboxMode::Off,
            job_id: None,
            max_memory: None,
        }
    }
}

/// A failure before the script could start.
#[derive(Debug)]
pub struct Fatal {
    /// Error class.
    pub error_type: ErrorType,
    /// Message (may be multi-line for policy diagnostics).
    pub message: String,
    /// An alarm and metric to attach (argument validation).
    pub validation_alarm: bool,
}

impl Fatal {
    fn new(error_type: ErrorType, message: String) -> Self {
        Self {
            error_type,
            message,
            validation_alarm: false,
        }
    }

    /// The compact fatal document.
    pub fn document(&self) -> OutputDocument {
        let mut doc = OutputDocument::fatal(self.error_type, &self.message);
        if self.validation_alarm {
            doc.alarms.push(Alarm {
                alarm_type: "RexRunnerScriptArgumentValidationFailure".into(),
                alarm_details: Some(self.message.clone()),
            });
            doc.metrics.push(Metric::new(
                "RexRunnerScriptArgumentValidationFailureCount",
                1.0,
                MetricUnit::Count,
                "FailureCount",
            ));
        }
        doc
    }
}

/// Loaded and validated inputs, ready to run.
pub struct Prepared {
    /// The gate.
    pub gate: Arc<Gate>,
    /// The run request.
    pub request: RunRequest,
    /// The script thread, started right after the kernel backstop was applied (so that
    /// it is under it) while the policy was still validating; `None` to start one at
    /// [`run`].
    pub script_thread: Option<rex_engine::ScriptThread>,
}

/// Reads and validates everything, in the original's order: input files
/// (COMMUNICATION), policy (INTERNAL, with every diagnostic), argument depth (VALIDATION).
/// Applies no sandbox (see [`prepare_sandboxed`]).
///
/// The Cedar schema builds on a second thread meanwhile (the first run in a process only),
/// joined before this returns: the caller gets a process with no thread of prepare's left.
pub fn prepare(inputs: &Inputs) -> Result<Prepared, Fatal> {
    prepare_with(inputs, false)
}

/// [`prepare`] and [`apply_sandbox`] in one, with the same result and errors in the same
/// order (a sandbox error comes after every input error), but faster: the kernel
/// backstop is planned from the parsed policy and applied while the policy's validation
/// waits for the schema thread ([`rex_policy::Policies::load_files_meanwhile`]), which
/// is the longest step of a short run's start-up.
///
/// The schema thread is the only other thread then. It is not under Landlock (the
/// sandbox restricts the calling thread and the threads it starts later): it runs no
/// script code, builds the schema from text compiled into the binary, and is joined
/// before this returns, so the script thread, started later, is restricted (a caller
/// that started it earlier with [`rex_policy::schema::prewarm`], as `rex-runner` does
/// before parsing its command line, joins it itself before it runs the script). A policy
/// that fails validation is reported as by [`prepare`]; the process is then already
/// sandboxed, which only matters to a caller that would go on to do something else.
pub fn prepare_sandboxed(inputs: &Inputs) -> Result<Prepared, Fatal> {
    prepare_with(inputs, true)
}

fn prepare_with(inputs: &Inputs, sandbox: bool) -> Result<Prepared, Fatal> {
    let warm = rex_policy::schema::prewarm();
    let prepared = prepare_here(inputs, sandbox);
    if let Some(warm) = warm {
        warm.join();
    }
    prepared
}

fn prepare_here(inputs: &Inputs, sandbox: bool) -> Result<Prepared, Fatal> {
    let load = |what: &str| {
        Fatal::new(
            ErrorType::CommunicationException,
            format!("Failed to load input files: {what}"),
        )
    };
    let script = std::fs::read_to_string(&inputs.script)
        .map_err(|e| load(&format!("cannot read script file `{}`: {e}", inputs.script)))?;
    let args = match &inputs.args {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| load(&format!("cannot read script arguments file `{path}`: {e}")))?;
            ScriptArgs::parse(path, &text).map_err(|e| load(&e.to_string()))?
        }
        None => ScriptArgs::default(),
    };
    // Looked up before the policy load, while the schema may still be building.
    let principal = inputs
        .principal
        .clone()
        .unwrap_or_else(rex_policy::effective_user_name);
    // Applied (when asked) on the parsed policy, while its validation waits for the schema.
    let apply_if_asked = |policies: &Policies| sandbox.then(|| backstop(policies, inputs));
    let (policies, applied) = if inputs.policies.is_empty() {
        let policies = Policies::empty();
        let applied = apply_if_asked(&policies);
        (policies, applied)
    } else {
        Policies::load_files_meanwhile(&inputs.policies, apply_if_asked).map_err(|e| {
            let error_type = match e {
                rex_policy::PolicyError::Io { .. } => ErrorType::CommunicationException,
                _ => ErrorType::InternalException,
            };
            Fatal::new(error_type, format!("Failed to load policy: {e}"))
        })?
    };
    let mut builder = Gate::builder()
        .mode(inputs.mode)
        .script(inputs.script.clone())
        .record(inputs.record)
        .deny_mutating(inputs.deny_mutating)
        .principal(principal);
    if let Some(a) = &inputs.audit_log {
        builder = builder.audit_log(a.clone());
    }
    if let Some(job) = &inputs.job_id {
        builder = builder.job(job.clone());
    }
    let gate = builder
        .build(policies)
        .map_err(|e| Fatal::new(ErrorType::InternalException, e.to_string()))?;
    args.validate_depth().map_err(|e| Fatal {
        error_type: ErrorType::ValidationException,
        message: e.to_string(),
        validation_alarm: true,
    })?;
    let mut limits = Limits::default();
    if let Some(t) = inputs.timeout {
        limits.timeout = t;
    }
    if let Some(m) = inputs.max_memory {
        limits.max_memory_bytes = m;
    }
    let mut request = RunRequest::new(inputs.script.clone(), script);
    request.args = args;
    request.limits = limits;
    request.log_level = Level::from_env_value(std::env::var("LOG_LEVEL").ok().as_deref());
    let mut prepared = Prepared {
        gate: Arc::new(gate),
        request,
        script_thread: None,
    };
    if let Some(applied) = applied {
        record_backstop(&mut prepared, applied?)?;
    }
    Ok(prepared)
}

/// Restricts this process with the kernel backstop derived from the policy (Landlock,
/// seccomp, `no_new_privs`, resource limits), before the script thread starts. `Off` does
/// nothing; `Auto` applies what the kernel supports; `Required` fails when any part
/// cannot be enforced. The report's lines go into the run's logs, and the choice goes into
/// the decision log as the run's `run` record (before the script's first operation; a
/// record that cannot be written refuses the run). [`prepare_sandboxed`] does the same
/// with less waiting.
pub fn apply_sandbox(prepared: &mut Prepared, inputs: &Inputs) -> Result<(), Fatal> {
    let applied = backstop(prepared.gate.policies(), inputs)?;
    record_backstop(prepared, applied)
}

/// What applying the backstop gave: lines for the run's logs, the `run` record, and the
/// script thread started under it.
struct Backstop {
    notes: Vec<String>,
    summary: rex_policy::audit::SandboxSummary,
    script_thread: Option<rex_engine::ScriptThread>,
}

/// Plans the backstop from `policies` and applies it to this process (nothing in `Off`).
fn backstop(policies: &Policies, inputs: &Inputs) -> Result<Backstop, Fatal> {
    let (notes, summary) = enforce_backstop(policies, inputs)?;
    Ok(Backstop {
        notes,
        summary,
        // Started after the backstop, so under it; one that cannot start now is tried
        // again, with its error reported, when the run starts.
        script_thread: rex_engine::ScriptThread::start().ok(),
    })
}

/// Plans and applies the backstop: the lines for the run's logs and the `run` record.
fn enforce_backstop(
    policies: &Policies,
    inputs: &Inputs,
) -> Result<(Vec<String>, rex_policy::audit::SandboxSummary), Fatal> {
    if inputs.sandbox == rex_sandbox::SandboxMode::Off {
        return Ok((
            Vec::new(),
            rex_policy::audit::SandboxSummary {
                mode: inputs.sandbox.to_string(),
                landlock_abi: None,
                enforced: Vec::new(),
                left_out: vec!["everything: the SDK's policy checks are the only wall".to_owned()],
            },
        ));
    }
    let mut config = rex_sandbox::SandboxConfig {
        mode: inputs.sandbox,
        helper_threads: vec![rex_policy::schema::PREWARM_THREAD.to_owned()],
        ..Default::default()
    };
    // The gate opens the log after the sandbox is applied (see `prepare_sandboxed`): its
    // directory, made absolute (`audit.jsonl` has the parent ``), needs a write rule.
    if let Some(log) = &inputs.audit_log
        && let Ok(log) = std::path::absolute(log)
        && let Some(dir) = log.parent()
    {
        config.extra_write_paths.push(dir.to_path_buf());
    }
    // rex-fs re-opens files through a cached `/proc/<pid>/fd` handle, which Landlock
    // would refuse to open once applied.
    let _ = rex_fs::proc_fd::proc_self_fd();
    let plan = rex_sandbox::plan(policies, &config);
    let report = rex_sandbox::apply(&plan)
        .map_err(|e| Fatal::new(ErrorType::InternalException, format!("sandbox: {e}")))?;
    Ok((report.lines(), sandbox_summary(&report)))
}

/// Puts the backstop's lines into the run's logs and writes the `run` record.
fn record_backstop(prepared: &mut Prepared, applied: Backstop) -> Result<(), Fatal> {
    prepared.request.notes.extend(applied.notes);
    prepared.script_thread = applied.script_thread;
    prepared.gate.log_run(&applied.summary).map_err(|e| {
        Fatal::new(
            ErrorType::CommunicationException,
            format!("cannot write the run record: {e}"),
        )
    })
}

/// What a sandbox report enforced and left out, for the decision log's `run` record.
pub fn sandbox_summary(report: &rex_sandbox::SandboxReport) -> rex_policy::audit::SandboxSummary {
    let mut enforced = Vec::new();
    if report.landlock != rex_sandbox::Enforcement::None {
        enforced.push(format!(
            "landlock {}: {} filesystem rules",
            report.landlock.name(),
            report.landlock_rules
        ));
        match &report.connect_ports {
            Some(p) if p.is_empty() => enforced.push("landlock: TCP connect refused".to_owned()),
            Some(p) => enforced.push(format!(
                "landlock: TCP connect to ports {}",
                p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            )),
            None => {}
        }
    }
    if report.seccomp {
        enforced.push(format!(
            "seccomp: {} refused with EPERM",
            report.refused_syscalls.join(", ")
        ));
    }
    if report.no_new_privs {
        enforced.push("no_new_privs".to_owned());
    }
    if let Some(limits) = &report.resource_limits {
        enforced.push(format!("limits: {limits}"));
    }
    rex_policy::audit::SandboxSummary {
        mode: report.mode.to_string(),
        landlock_abi: report.landlock_abi,
        enforced,
        left_out: report.notes.clone(),
    }
}

/// Runs prepared inputs.
pub fn run(prepared: Prepared) -> RunOutcome {
    run_then(prepared, |_| {})
}

/// Runs prepared inputs and calls `finish` with the outcome on the script thread as soon
/// as the script has ended ([`rex_engine::run_then`]): a command that prints the document
/// and exits can do it there.
pub fn run_then(
    prepared: Prepared,
    finish: impl FnOnce(&RunOutcome) + Send + 'static,
) -> RunOutcome {
    rex_engine::run_then_on(
        prepared.script_thread,
        prepared.gate,
        prepared.request,
        finish,
    )
}

/// Writes a document in `format` to stdout/stderr.
pub fn print_document(doc: &OutputDocument, format: Format, verbose: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => stdout.write_all(doc.to_json().as_bytes())?,
        Format::PrettyJson => stdout.write_all(doc.to_pretty_json().as_bytes())?,
        Format::Human => {
            let (out, err) = doc.to_human(verbose);
            stdout.write_all(out.as_bytes())?;
            std::io::stderr().lock().write_all(err.as_bytes())?;
        }
    }
    stdout.flush()
}

/// Parses `--timeout` seconds.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("timeout must be positive, got `{s}`"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `--sandbox`.
pub fn parse_sandbox(s: &str) -> Result<rex_sandbox::SandboxMode, String> {
    s.parse().map_err(|e| format!("{e}"))
}

/// Parses `--mode`.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}
