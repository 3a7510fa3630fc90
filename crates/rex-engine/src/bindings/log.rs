//! `info`, `warn`, `error`, `trace` (and `print`/`debug`, routed by the engine): the script log.

use std::rc::Rc;

use rhai::{Dynamic, Engine, NativeCallContext};

use super::FnDoc;
use crate::log::Level;
use crate::state::RunState;

pub(crate) const DOCS: &[FnDoc] = &[
    FnDoc {
        domain: "log",
        name: "info",
        signature: "info(message)",
        summary: "write an INFO line to the script log",
        checks: &[],
    },
    FnDoc {
        domain: "log",
        name: "warn",
        signature: "warn(message)",
        summary: "write a WARN line to the script log",
        checks: &[],
    },
    FnDoc {
        domain: "log",
        name: "error",
        signature: "error(message)",
        summary: "write an ERROR line to the script log",
        checks: &[],
    },
    FnDoc {
        domain: "log",
        name: "trace",
        signature: "trace(message)",
        summary: "write a TRACE line to the script log (kept when LOG_LEVEL=trace)",
        checks: &[],
    },
    FnDoc {
        domain: "log",
        name: "print",
        signature: "print(value)",
        summary: "write an INFO line to the script log (stdout is reserved for the output document)",
        checks: &[],
    },
    FnDoc {
        domain: "log",
        name: "debug",
        signature: "debug(value)",
        summary: "write a DEBUG line to the script log (kept when LOG_LEVEL is debug or trace)",
        checks: &[],
    },
];

fn text(value: &Dynamic) -> String {
    if value.is_string() {
        value
            .clone()
            .into_immutable_string()
            .map(|s| s.to_string())
            .unwrap_or_default()
    } else {
        value.to_string()
    }
}

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    for (name, level) in [
        ("info", Level::Info),
        ("warn", Level::Warn),
        ("error", Level::Error),
        ("trace", Level::Trace),
    ] {
        let s = Rc::clone(state);
        engine.register_fn(name, move |ctx: NativeCallContext, message: Dynamic| {
            s.log_at(&ctx, level, &text(&message), None);
        });
    }
}
