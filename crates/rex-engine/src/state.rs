//! Per-run state shared by the bindings: the gate, the log, published metrics, the deadline.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use foldhash::fast::RandomState;
use rex_policy::Gate;
use rhai::NativeCallContext;

use crate::limits::Limits;
use crate::log::{Level, ScriptLog};
use crate::output::{Alarm, ErrorType, Metric};

/// What a denial thrown to the script is shown as.
#[derive(Debug, Clone)]
pub struct DenialText {
    /// The full explanation (reason and suggested permit), for the ERROR document.
    pub explanation: String,
    /// The warning written to the script log.
    pub log_line: String,
}

/// State of one run. Lives on the script thread; bindings hold it through an `Rc`.
pub(crate) struct RunState {
    pub gate: Arc<Gate>,
    pub limits: Limits,
    pub deadline: Instant,
    /// What the watchdog (the thread that called `run`) also reads to write the document
    /// when the script thread does not end in time.
    pub shared: Arc<Shared>,
    /// Messages of errors the SDK threw, with the class their Rust type maps to. An
    /// uncaught error is classified by looking its message up here, so a script cannot
    /// make its own `throw` look like a denial, and an OS `EACCES` is not one either.
    /// Hashed with a seeded `foldhash` (not SipHash: a denial loop looked messages up at
    /// 4% of its time).
    pub sdk_errors: RefCell<HashMap<String, ErrorType, RandomState>>,
    /// Each denial thrown, by message: its full explanation and its script-log line (both
    /// follow from the message, so a repeated denial formats neither again).
    pub denials: RefCell<HashMap<String, DenialText, RandomState>>,
}

/// The parts of a run's state the output document is made from, shared between the script
/// thread and the watchdog.
pub(crate) struct Shared {
    log: Mutex<ScriptLog>,
    metrics: Mutex<Vec<Metric>>,
    alarms: Mutex<Vec<Alarm>>,
    /// When compiling started (set once by the script thread).
    pub script_started: std::sync::OnceLock<Instant>,
    /// Set by whichever of the script thread and the watchdog writes the document first.
    claimed: AtomicBool,
}

/// Locks `m`; a poisoned lock (a panic while held) still holds consistent data here (every
/// critical section is a single push or take), so its value is used.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(threshold: Level) -> Self {
        Self {
            log: Mutex::new(ScriptLog::new(threshold)),
            metrics: Mutex::new(Vec::new()),
            alarms: Mutex::new(Vec::new()),
            script_started: std::sync::OnceLock::new(),
            claimed: AtomicBool::new(false),
        }
    }

    /// The script log.
    pub fn log(&self) -> MutexGuard<'_, ScriptLog> {
        lock(&self.log)
    }

    /// Metrics the script published.
    pub fn metrics(&self) -> MutexGuard<'_, Vec<Metric>> {
        lock(&self.metrics)
    }

    /// Alarms the script published.
    pub fn alarms(&self) -> MutexGuard<'_, Vec<Alarm>> {
        lock(&self.alarms)
    }

    /// True for the first caller only: the one that writes the run's document.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }
}

impl RunState {
    pub fn new(gate: Arc<Gate>, limits: Limits, deadline: Instant, shared: Arc<Shared>) -> Self {
        Self {
            gate,
            limits,
            deadline,
            shared,
            sdk_errors: RefCell::new(HashMap::default()),
            denials: RefCell::new(HashMap::default()),
        }
    }

    /// The script log.
    pub fn log(&self) -> MutexGuard<'_, ScriptLog> {
        self.shared.log()
    }

    /// Records the script position of an SDK call for the decision log.
    pub fn enter(&self, ctx: &NativeCallContext) {
        let pos = ctx.call_position();
        self.gate.set_position(
            pos.line().unwrap_or(0).try_into().unwrap_or(u32::MAX),
            pos.position().unwrap_or(0).try_into().unwrap_or(u32::MAX),
        );
    }

    /// Writes a log line attributed to the current script line.
    pub fn log_at(&self, ctx: &NativeCallContext, level: Level, message: &str, api: Option<&str>) {
        let line = ctx
            .call_position()
            .line()
            .unwrap_or(0)
            .try_into()
            .unwrap_or(u32::MAX);
        self.log().push(level, message, line, api);
    }

    /// Whether the wall-clock deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }
}
