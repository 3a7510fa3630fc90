//! Running one script to an output document.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rex_policy::Gate;
use rhai::{Dynamic, EvalAltResult, ParseError, Position, Scope};

use crate::args::ScriptArgs;
use crate::domains::Domains;
use crate::engine;
use crate::limits::{Limits, Watchdog};
use crate::log::Level;
use crate::output::{
    Alarm, ErrorInfo, ErrorType, Metric, MetricUnit, OutputDocument, Status, clamp_error_message,
};
use crate::sdk_error::as_sdk_map;
use crate::state::{RunState, Shared};

/// Stack for the script thread: deep enough that `max_call_levels` (not the Rust stack)
/// is what stops recursion, in debug builds too. Only touched pages are committed.
const SCRIPT_STACK: usize = 256 * 1024 * 1024;

/// What a [`ScriptThread`] is given to do, with the engine base it has made.
type Job = Box<dyn FnOnce(rhai::Engine) + Send>;

/// A script thread started ahead of its run: it makes the run-independent part of the
/// engine (Rhai's standard library, the engine's fixed settings) at once, then waits for
/// [`run_then_on`] to hand it the run. Starting it while the caller still waits for
/// something else (the runner: the policy's validation) takes the thread's start and that
/// part of the engine off the run's path.
///
/// It authorizes nothing and holds no gate until the run is handed over. A thread that
/// is dropped unused ends without running anything. Start it after the kernel backstop:
/// Landlock applies to the threads created after it, not to those already running.
pub struct ScriptThread {
    jobs: std::sync::mpsc::SyncSender<Job>,
    handle: std::thread::JoinHandle<()>,
}

impl ScriptThread {
    /// Starts the thread (named `rex-script`, with the script stack).
    pub fn start() -> std::io::Result<Self> {
        let (jobs, job) = std::sync::mpsc::sync_channel::<Job>(1);
        let handle = std::thread::Builder::new()
            .name("rex-script".into())
            .stack_size(SCRIPT_STACK)
            .spawn(move || {
                let base = engine::base();
                if let Ok(job) = job.recv() {
                    job(base);
                }
            })?;
        Ok(Self { jobs, handle })
    }

    /// Hands the thread its job; the handle to join it.
    fn run(self, job: impl FnOnce(rhai::Engine) + Send + 'static) -> std::thread::JoinHandle<()> {
        // A thread that has ended (it panicked making the base) drops the job; joining it
        // then reports the panic, as a failed run.
        let _ = self.jobs.send(Box::new(job));
        self.handle
    }
}

impl std::fmt::Debug for ScriptThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptThread")
            .field("thread", &self.handle.thread().id())
            .finish()
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Name of the script for messages and the decision log.
    pub script_name: String,
    /// The script text.
    pub script: String,
    /// Arguments (already depth-checked).
    pub args: ScriptArgs,
    /// Limits.
    pub limits: Limits,
    /// Lowest log level captured.
    pub log_level: Level,
    /// SDK domains exposed.
    pub domains: Domains,
    /// Lines logged (INFO) before the script starts, e.g. the sandbox report.
    pub notes: Vec<String>,
    /// Who stops a script past its deadline or memory limit. [`Watchdog::InProcess`]
    /// unless the caller exits the process right after the run.
    pub watchdog: Watchdog,
}

impl RunRequest {
    /// A request with default limits, INFO logging and every domain.
    pub fn new(script_name: impl Into<String>, script: impl Into<String>) -> Self {
        Self {
            script_name: script_name.into(),
            script: script.into(),
            args: ScriptArgs::default(),
            limits: Limits::default(),
            log_level: Level::Info,
            domains: Domains::default(),
            notes: Vec::new(),
            watchdog: Watchdog::InProcess,
        }
    }
}

/// How a run ended, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunClass {
    /// The script ran to completion.
    Success,
    /// Syntax error, runtime error, limit or deadline.
    ScriptError,
    /// An uncaught policy denial.
    AccessDenied,
    /// The script published a metric or alarm named `rex...`: a fatal input problem.
    Fatal,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The REX output document.
    pub document: OutputDocument,
    /// How it ended.
    pub class: RunClass,
    /// The full explanation of an uncaught denial, for people (stderr in `human` form).
    pub denial_explanation: Option<String>,
}

/// How long `run` waits beyond the deadline for the script thread to stop by itself, with
/// [`Watchdog::InProcess`] (the progress callback and the SDK's own deadline checks give
/// the precise error).
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// How often the watchdog of [`Watchdog::ExitProcess`] reads resident memory.
const MEMORY_POLL: Duration = Duration::from_millis(10);

/// Runs `request` under `gate` on a dedicated thread and returns the document. Never
/// panics on script behaviour: limits, deadlines and SDK failures become ERROR documents.
///
/// The calling thread is the watchdog. With [`Watchdog::InProcess`] the script thread
/// checks the deadline itself, and the watchdog only covers what it cannot check (Rhai
/// compiles without progress callbacks, and some scripts take time quadratic in their
/// length to compile): once `limits.timeout` plus a short grace has passed, `run` returns
/// the deadline error and leaves the thread behind, detached. With
/// [`Watchdog::ExitProcess`] the watchdog returns the deadline (or memory) error at the
/// deadline itself and the caller exits the process, which ends the script thread.
/// Either way the document has the logs, metrics and alarms of the run so far, and the
/// decision log is flushed.
pub fn run(gate: Arc<Gate>, request: RunRequest) -> RunOutcome {
    run_then(gate, request, |_| {})
}

/// [`run`], calling `finish` on the script thread with the outcome as soon as the script
/// has ended, with the decision log flushed; `run_then` then returns that outcome as
/// `run` does. Not called when the watchdog ends the run (`run_then` returns that
/// outcome). A caller that writes the document and exits the process right after the
/// run ([`Watchdog::ExitProcess`]) can do both in `finish`: the calling thread, waiting
/// as the watchdog, then need not be woken (a tenth of a millisecond of a short run, more
/// when the machine is busy). `finish` authorizes nothing; the script has ended when it
/// is called.
pub fn run_then(
    gate: Arc<Gate>,
    request: RunRequest,
    finish: impl FnOnce(&RunOutcome) + Send + 'static,
) -> RunOutcome {
    run_then_on(None, gate, request, finish)
}

/// [`run_then`] on `thread`, a script thread started ahead of the run (or a new one when
/// `None`). Start it after the kernel backstop is applied: Landlock covers the threads
/// created after it, not those that already run.
pub fn run_then_on(
    thread: Option<ScriptThread>,
    gate: Arc<Gate>,
    request: RunRequest,
    finish: impl FnOnce(&RunOutcome) + Send + 'static,
) -> RunOutcome {
    let started = Instant::now();
    let timeout = request.limits.timeout;
    let deadline = started + timeout;
    let max_memory = request.limits.max_memory_bytes;
    let watchdog = request.watchdog;
    let shared = Arc::new(Shared::new(request.log_level));
    let (done, outcome) = std::sync::mpsc::sync_channel(1);
    let thread = match thread {
        Some(t) => t,
        None => match ScriptThread::start() {
            Ok(t) => t,
            Err(e) => return internal(&format!("cannot start the script thread: {e}")),
        },
    };
    let worker = {
        let gate = Arc::clone(&gate);
        let shared = Arc::clone(&shared);
        thread.run(move |base| {
            let log = Arc::clone(&gate);
            let outcome = run_on_this_thread(base, gate, request, started, deadline, shared);
            if let Some(outcome) = outcome {
                let _ = log.flush_audit_log();
                drop(log);
                finish(&outcome);
                let _ = done.send(outcome);
            }
        })
    };
    let stop = |reason: String| {
        let _ = gate.flush_audit_log();
        document(
            &gate,
            &shared,
            started,
            Ended::Failed {
                error_type: ErrorType::ScriptException,
                message: format!("Script terminated: {reason}"),
                explanation: None,
                compile: false,
            },
        )
    };
    use std::sync::mpsc::RecvTimeoutError;
    let reason = match watchdog {
        Watchdog::InProcess => match outcome.recv_timeout(timeout.saturating_add(DEADLINE_GRACE)) {
            Ok(outcome) => {
                let _ = worker.join();
                return outcome;
            }
            Err(RecvTimeoutError::Timeout) => format!(
                "{} (the script thread did not stop in time, e.g. while compiling)",
                engine::deadline_reason(timeout)
            ),
            Err(RecvTimeoutError::Disconnected) => {
                let _ = worker.join();
                return internal("the script thread panicked");
            }
        },
        Watchdog::ExitProcess => loop {
            let now = Instant::now();
            let wait = deadline.saturating_duration_since(now).min(MEMORY_POLL);
            match outcome.recv_timeout(wait) {
                // Not joined: the thread has dropped the engine and the run's state before
                // sending, and only has to end (unmapping its stack), which the caller's
                // exit does as well; waiting for it was a tenth of a trivial run's time
                // after the script.
                Ok(outcome) => return outcome,
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = worker.join();
                    return internal("the script thread panicked");
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= deadline {
                break engine::deadline_reason(timeout);
            }
            if let Some(rss) = crate::usage::resident_bytes()
                && rss > max_memory
            {
                break engine::memory_reason(max_memory, rss);
            }
        },
    };
    if shared.claim() {
        return stop(reason);
    }
    // The script thread ended at the same moment and is writing its own document.
    match outcome.recv() {
        Ok(outcome) => {
            let _ = worker.join();
            outcome
        }
        Err(_) => internal("the script thread panicked"),
    }
}

fn internal(message: &str) -> RunOutcome {
    RunOutcome {
        document: OutputDocument::fatal(ErrorType::InternalException, message),
        class: RunClass::Fatal,
        denial_explanation: None,
    }
}

/// A compile problem, for `rex check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileProblem {
    /// Rhai's message.
    pub message: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

/// Compiles a script as `run` would (same engine, same argument names) without running it.
pub fn compile_check(request: &RunRequest, gate: Arc<Gate>) -> Result<(), CompileProblem> {
    let state = Rc::new(RunState::new(
        gate,
        request.limits.clone(),
        Instant::now() + request.limits.timeout,
        Arc::new(Shared::new(request.log_level)),
    ));
    let engine = engine::build(&state, request.domains, Watchdog::InProcess);
    let scope = scope_for(&request.args);
    engine
        .compile_with_scope(&scope, &request.script)
        .map(|_| ())
        .map_err(|e| CompileProblem {
            message: e.err_type().to_string(),
            line: e.position().line().unwrap_or(0),
            column: e.position().position().unwrap_or(0),
        })
}

/// Names of every function the engine registers (global and methods, not Rhai's standard
/// library), for checking the reference in `bindings::all_docs` against reality.
pub fn registered_function_names() -> Vec<String> {
    let mut names: Vec<String> = registered_signatures(Domains::default())
        .into_iter()
        .filter_map(|sig| sig.split('(').next().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Signatures of every function an engine with `domains` registers (not Rhai's standard
/// library); empty if the engine cannot be built.
pub(crate) fn registered_signatures(domains: Domains) -> Vec<String> {
    let gate = match Gate::builder()
        .principal("nobody")
        .build(rex_policy::Policies::empty())
    {
        Ok(g) => Arc::new(g),
        Err(_) => return Vec::new(),
    };
    let state = Rc::new(RunState::new(
        gate,
        Limits::default(),
        Instant::now(),
        Arc::new(Shared::new(Level::Info)),
    ));
    engine::build(&state, domains, Watchdog::InProcess).gen_fn_signatures(false)
}

fn scope_for(args: &ScriptArgs) -> Scope<'static> {
    let mut scope = Scope::new();
    for (name, value) in args.to_dynamics() {
        scope.push_dynamic(name.to_owned(), value);
    }
    scope
}

/// Runs the script; `None` when the watchdog has already written the document.
fn run_on_this_thread(
    base: rhai::Engine,
    gate: Arc<Gate>,
    request: RunRequest,
    started: Instant,
    deadline: Instant,
    shared: Arc<Shared>,
) -> Option<RunOutcome> {
    let state = Rc::new(RunState::new(
        Arc::clone(&gate),
        request.limits.clone(),
        deadline,
        Arc::clone(&shared),
    ));
    // Only the domains the script can reach (most of the engine's construction).
    let domains = request.domains.named_by(&request.script);
    let engine = engine::build_on(base, &state, domains, request.watchdog);
    let mut scope = scope_for(&request.args);
    for note in &request.notes {
        state.log().push(Level::Info, note, 0, Some("sandbox"));
    }

    let _ = shared.script_started.set(Instant::now());
    let result = engine
        .compile_with_scope(&scope, &request.script)
        .map_err(Failure::Compile)
        .and_then(|ast| {
            engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
                .map_err(Failure::Runtime)
                .and_then(|value| display(&engine, &mut scope, value).map_err(Failure::Runtime))
        });
    if !shared.claim() {
        return None;
    }
    let ended = match result {
        Ok(text) => Ended::Ok(text),
        Err(failure) => {
            let (error_type, message, explanation) = classify(&state, &failure);
            Ended::Failed {
                error_type,
                message,
                explanation,
                compile: matches!(failure, Failure::Compile(_)),
            }
        }
    };
    Some(document(&gate, &shared, started, ended))
}

/// How the script ended, for [`document`].
enum Ended {
    /// The output text.
    Ok(String),
    /// An error: its type, message and (for a denial) the full explanation; `compile`
    /// when the script did not compile.
    Failed {
        error_type: ErrorType,
        message: String,
        explanation: Option<String>,
        compile: bool,
    },
}

/// The output document of a run that ended as `ended`, with the logs, published metrics
/// and alarms in `shared`, written by the script thread or by the watchdog.
fn document(gate: &Gate, shared: &Shared, started: Instant, ended: Ended) -> RunOutcome {
    let script_ns = shared
        .script_started
        .get()
        .map_or(0.0, |t| t.elapsed().as_nanos() as f64);

    let mut metrics = Vec::new();
    let mut alarms = Vec::new();
    metrics.push(Metric::new(
        "RexRunnerScriptExecutionTime",
        script_ns,
        MetricUnit::Time,
        "Duration",
    ));

    let (output, error, class, denial_explanation) = match ended {
        Ended::Ok(text) => {
            metrics.push(Metric::new(
                "RexRunnerScriptExecutionSuccessCount",
                1.0,
                MetricUnit::Count,
                "SuccessCount",
            ));
            (text, None, RunClass::Success, None)
        }
        Ended::Failed {
            error_type,
            message,
            explanation,
            compile,
        } => {
            let what = if compile { "compile" } else { "execute" };
            if compile {
                alarms.push(Alarm {
                    alarm_type: "RexRunnerScriptCompilationFailure".into(),
                    alarm_details: Some(clamp_error_message(&format!(
                        "Failed to compile script: {message}"
                    ))),
                });
                metrics.push(Metric::new(
                    "RexRunnerScriptCompilationFailureCount",
                    1.0,
                    MetricUnit::Count,
                    "FailureCount",
                ));
            }
            let (alarm, metric, class) = if error_type == ErrorType::AccessDeniedException {
                (
                    "RexRunnerPrivilegeEscalation",
                    "RexRunnerPrivilegeEscalationCount",
                    RunClass::AccessDenied,
                )
            } else {
                (
                    "RexRunnerScriptExecutionFailure",
                    "RexRunnerScriptExecutionFailureCount",
                    RunClass::ScriptError,
                )
            };
            alarms.push(Alarm {
                alarm_type: alarm.into(),
                alarm_details: Some(clamp_error_message(&format!(
                    "Failed to {what} script: {message}"
                ))),
            });
            metrics.push(Metric::new(metric, 1.0, MetricUnit::Count, "FailureCount"));
            let info = ErrorInfo {
                error_type,
                message: clamp_error_message(&message),
            };
            (String::new(), Some(info), class, explanation)
        }
    };

    let counts = gate.counts();
    if counts.denied > 0 {
        metrics.push(Metric::new(
            "RexRunnerAuthorizationDeniedCount",
            counts.denied as f64,
            MetricUnit::Count,
            "Authorization",
        ));
    }
    if counts.audited > 0 {
        metrics.push(Metric::new(
            "RexRunnerAuthorizationAuditedCount",
            counts.audited as f64,
            MetricUnit::Count,
            "Authorization",
        ));
    }
    if counts.errors > 0 {
        metrics.push(Metric::new(
            "RexRunnerAuthorizationErrorCount",
            counts.errors as f64,
            MetricUnit::Count,
            "Authorization",
        ));
    }
    metrics.extend(crate::usage::process_metrics());

    // Script-published metrics and alarms must not impersonate the runner's.
    let published_metrics = std::mem::take(&mut *shared.metrics());
    let published_alarms = std::mem::take(&mut *shared.alarms());
    if let Some(bad) = published_metrics
        .iter()
        .map(|m| m.metric_name.as_str())
        .find(|n| is_reserved(n))
    {
        return fatal_script(&format!(
            "Script metric validation failed: Invalid metric name '{bad}': Script metrics cannot start with Rex"
        ));
    }
    if let Some(bad) = published_alarms
        .iter()
        .map(|a| a.alarm_type.as_str())
        .find(|n| is_reserved(n))
    {
        return fatal_script(&format!(
            "Script alarm validation failed: Invalid alarm type '{bad}': Script alarms cannot start with Rex"
        ));
    }
    metrics.extend(published_metrics);
    alarms.extend(published_alarms);
    metrics.push(Metric::new(
        "RexRunnerTotalExecutionTime",
        started.elapsed().as_nanos() as f64,
        MetricUnit::Time,
        "Duration",
    ));

    let logs = shared.log().take();
    let document = OutputDocument {
        output,
        status: if error.is_none() {
            Status::Success
        } else {
            Status::Error
        },
        error,
        alarms,
        metrics,
        logs: Some(logs),
    };
    RunOutcome {
        document,
        class,
        denial_explanation,
    }
}

fn is_reserved(name: &str) -> bool {
    name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("rex"))
}

fn fatal_script(message: &str) -> RunOutcome {
    RunOutcome {
        document: OutputDocument::fatal(ErrorType::ScriptException, message),
        class: RunClass::Fatal,
        denial_explanation: None,
    }
}

enum Failure {
    Compile(ParseError),
    Runtime(Box<EvalAltResult>),
}

/// The output text of the script's final value: strings verbatim, `()` empty, everything
/// else through the engine's `to_string` (so SDK types use their readable display).
fn display(
    engine: &rhai::Engine,
    scope: &mut Scope,
    value: Dynamic,
) -> Result<String, Box<EvalAltResult>> {
    if value.is_unit() {
        return Ok(String::new());
    }
    if value.is_string() {
        return Ok(value
            .into_immutable_string()
            .map(|s| s.to_string())
            .unwrap_or_default());
    }
    if value.is::<rhai::INT>()
        || value.is::<rhai::FLOAT>()
        || value.is::<bool>()
        || value.is::<char>()
    {
        return Ok(value.to_string());
    }
    scope.push_dynamic("__rex_result__", value);
    engine.eval_expression_with_scope::<String>(scope, "to_string(__rex_result__)")
}

/// Error type and message from the failure's Rust type.
fn classify(state: &RunState, failure: &Failure) -> (ErrorType, String, Option<String>) {
    match failure {
        Failure::Compile(e) => (
            ErrorType::ScriptException,
            format!("Syntax error: {e}"),
            None,
        ),
        Failure::Runtime(e) => classify_runtime(state, e),
    }
}

fn position_suffix(pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(p)) => format!(" (line {l}, position {p})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

fn classify_runtime(state: &RunState, err: &EvalAltResult) -> (ErrorType, String, Option<String>) {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => classify_runtime(state, inner),
        EvalAltResult::ErrorRuntime(value, pos) => {
            if let Some((source, kind, message)) = as_sdk_map(value) {
                let class = state.sdk_errors.borrow().get(&message).copied();
                let text = format!("{source}: {kind}: {message}{}", position_suffix(*pos));
                let explanation = (class == Some(ErrorType::AccessDeniedException))
                    .then(|| {
                        state
                            .denials
                            .borrow()
                            .get(&message)
                            .map(|d| d.explanation.clone())
                    })
                    .flatten();
                (
                    class.unwrap_or(ErrorType::ScriptException),
                    text,
                    explanation,
                )
            } else {
                (ErrorType::ScriptException, err.to_string(), None)
            }
        }
        EvalAltResult::ErrorTerminated(reason, pos) => (
            ErrorType::ScriptException,
            format!("Script terminated: {}{}", reason, position_suffix(*pos)),
            None,
        ),
        other => (ErrorType::ScriptException, other.to_string(), None),
    }
}
