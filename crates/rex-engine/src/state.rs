//! Per-run state shared by the bindings: the gate, the log, published metrics, the deadline.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rex_policy::Gate;
use rhai::NativeCallContext;

use crate::limits::Limits;
use crate::log::{Level, ScriptLog};
use crate::output::{Alarm, ErrorType, Metric};

/// State of one run. Lives on the script thread; bindings hold it through an `Rc`.
pub(crate) struct RunState {
    pub gate: Arc<Gate>,
    pub limits: Limits,
    pub deadline: Instant,
    pub log: RefCell<ScriptLog>,
    /// Messages of errors the SDK threw, with the class their Rust type maps to. An
    /// uncaught error is classified by looking its message up here, so a script cannot
    /// make its own `throw` look like a denial, and an OS `EACCES` is not one either.
    pub sdk_errors: RefCell<HashMap<String, ErrorType>>,
    /// Full explanations of denials thrown, by message.
    pub denials: RefCell<HashMap<String, String>>,
    pub metrics: RefCell<Vec<Metric>>,
    pub alarms: RefCell<Vec<Alarm>>,
}

impl RunState {
    pub fn new(gate: Arc<Gate>, limits: Limits, threshold: Level) -> Self {
        let deadline = Instant::now() + limits.timeout;
        Self {
            gate,
            limits,
            deadline,
            log: RefCell::new(ScriptLog::new(threshold)),
            sdk_errors: RefCell::new(HashMap::new()),
            denials: RefCell::new(HashMap::new()),
            metrics: RefCell::new(Vec::new()),
            alarms: RefCell::new(Vec::new()),
        }
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
        self.log.borrow_mut().push(level, message, line, api);
    }

    /// Whether the wall-clock deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }
}
