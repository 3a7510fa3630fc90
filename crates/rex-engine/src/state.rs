//! Per-run state shared by the bindings: the gate, the log, published metrics, the deadline.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use foldhash::fast::RandomState;
use rex_policy::{Denied, Gate};
use rhai::{ImmutableString, NativeCallContext};

use crate::limits::Limits;
use crate::log::{Level, ScriptLog, shared_message};
use crate::output::{Alarm, ErrorType, Metric};

/// What a denial thrown to the script is shown as in the ERROR document.
#[derive(Debug, Clone)]
pub struct DenialText {
    /// The full explanation (reason and suggested permit).
    pub explanation: String,
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
    /// Each denial thrown, by message: its full explanation (made once per distinct
    /// denial), for an uncaught denial's ERROR document.
    pub denials: RefCell<HashMap<String, DenialText, RandomState>>,
    /// Each denial thrown so far, found again by the `Denied` itself rather than by its
    /// text, with the message and log line made the first time.
    thrown: RefCell<ThrownDenials>,
}

/// The denials a run threw, bucketed by a hash of their kind, action and resource id.
#[derive(Default)]
struct ThrownDenials {
    buckets: HashMap<u64, Vec<ThrownDenial>, RandomState>,
    len: usize,
}

/// One distinct denial thrown: what identifies it and the text made for it.
struct ThrownDenial {
    source: String,
    kind: String,
    denied: Denied,
    message: ImmutableString,
    log_line: Arc<str>,
}

/// Most distinct denials remembered; the set is emptied when full (a miss only formats
/// the texts again).
const MAX_THROWN: usize = 4096;

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

/// The script line of the SDK call `ctx` is in, 0 when unknown.
fn call_line(ctx: &NativeCallContext) -> u32 {
    ctx.call_position()
        .line()
        .unwrap_or(0)
        .try_into()
        .unwrap_or(u32::MAX)
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
            thrown: RefCell::new(ThrownDenials::default()),
        }
    }

    /// The message and script-log line of `denied` thrown as `source`/`kind`: those made
    /// when the run first threw it, else the ones `make` returns (then remembered).
    pub fn thrown_denial(
        &self,
        source: &str,
        kind: &str,
        denied: &Denied,
        make: impl FnOnce() -> (String, String),
    ) -> (ImmutableString, Arc<str>) {
        let mut thrown = self.thrown.borrow_mut();
        let hash = {
            let mut h = thrown.buckets.hasher().build_hasher();
            h.write(kind.as_bytes());
            h.write(denied.action().name().as_bytes());
            h.write(denied.resource().id().as_bytes());
            h.finish()
        };
        if let Some(known) = thrown.buckets.get(&hash).and_then(|bucket| {
            bucket
                .iter()
                .find(|t| t.kind == kind && t.source == source && t.denied == *denied)
        }) {
            return (known.message.clone(), Arc::clone(&known.log_line));
        }
        let (message, log_line) = make();
        let message = ImmutableString::from(message);
        let log_line = shared_message(&log_line);
        if thrown.len >= MAX_THROWN {
            thrown.buckets.clear();
            thrown.len = 0;
        }
        thrown.len += 1;
        thrown.buckets.entry(hash).or_default().push(ThrownDenial {
            source: source.to_owned(),
            kind: kind.to_owned(),
            denied: denied.clone(),
            message: message.clone(),
            log_line: Arc::clone(&log_line),
        });
        (message, log_line)
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
    pub fn log_at(
        &self,
        ctx: &NativeCallContext,
        level: Level,
        message: &str,
        api: Option<&'static str>,
    ) {
        self.log().push(level, message, call_line(ctx), api);
    }

    /// As [`RunState::log_at`], with a message made by [`shared_message`].
    pub fn log_shared_at(
        &self,
        ctx: &NativeCallContext,
        level: Level,
        message: Arc<str>,
        api: Option<&'static str>,
    ) {
        self.log().push_shared(level, message, call_line(ctx), api);
    }

    /// Whether the wall-clock deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }
}
