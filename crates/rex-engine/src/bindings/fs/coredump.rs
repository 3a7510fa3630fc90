//! `CoreDump(exe, core)`: core-dump analysis through gdb (which needs `execute`).

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{CoreDump, Frame, TracedProcess, TracedThread};
use rhai::{Array, Dynamic, Engine, INT, Map, NativeCallContext};

use super::{Res, fs_error, to_map};
use crate::sdk_error::invalid_argument;
use crate::state::RunState;

fn names(state: &RunState, a: Array) -> Res<Vec<String>> {
    a.into_iter()
        .map(|v| {
            v.into_string().map_err(|t| {
                invalid_argument(
                    state,
                    "IoErrorKind",
                    format!("get_variables: expected variable names, got `{t}`"),
                )
            })
        })
        .collect()
}

fn opt<T: Clone + 'static + Send + Sync>(v: &Option<T>) -> Dynamic {
    v.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<CoreDump>("CoreDump");
    let s = Rc::clone(state);
    engine.register_fn(
        "CoreDump",
        move |ctx: NativeCallContext, exe: &str, core: &str| -> Res<CoreDump> {
            s.enter(&ctx);
            CoreDump::open(&s.gate, exe, core).map_err(|e| fs_error(&s, &ctx, "CoreDump", e))
        },
    );
    engine.register_fn("to_string", |_: &mut CoreDump| "CoreDump".to_owned());
    engine.register_fn("to_debug", |_: &mut CoreDump| "CoreDump".to_owned());
    let s = Rc::clone(state);
    engine.register_fn(
        "backtrace",
        move |ctx: NativeCallContext, c: &mut CoreDump| -> Res<TracedProcess> {
            s.enter(&ctx);
            c.backtrace(&s.gate, Some(s.deadline))
                .map_err(|e| fs_error(&s, &ctx, "backtrace", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "get_variables",
        move |ctx: NativeCallContext, c: &mut CoreDump, frame: INT, vars: Array| -> Res<Map> {
            s.enter(&ctx);
            let vars = names(&s, vars)?;
            c.get_variables(&s.gate, None, frame, &vars, Some(s.deadline))
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| (k.into(), Dynamic::from(v)))
                        .collect()
                })
                .map_err(|e| fs_error(&s, &ctx, "get_variables", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "get_variables",
        move |ctx: NativeCallContext,
              c: &mut CoreDump,
              thread: INT,
              frame: INT,
              vars: Array|
              -> Res<Map> {
            s.enter(&ctx);
            let vars = names(&s, vars)?;
            c.get_variables(&s.gate, Some(thread), frame, &vars, Some(s.deadline))
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| (k.into(), Dynamic::from(v)))
                        .collect()
                })
                .map_err(|e| fs_error(&s, &ctx, "get_variables", e))
        },
    );

    engine.register_rex_type::<TracedProcess>("TracedProcess");
    engine.register_get("pid", |p: &mut TracedProcess| p.pid);
    engine.register_get("threads", |p: &mut TracedProcess| -> Array {
        p.threads.iter().cloned().map(Dynamic::from).collect()
    });
    engine.register_fn("to_map", |p: &mut TracedProcess| to_map(p));
    engine.register_fn("to_string", |p: &mut TracedProcess| {
        format!("TracedProcess(pid {}, {} threads)", p.pid, p.threads.len())
    });
    engine.register_fn("to_debug", |p: &mut TracedProcess| {
        format!("TracedProcess(pid {}, {} threads)", p.pid, p.threads.len())
    });
    engine.register_rex_type::<TracedThread>("TracedThread");
    engine.register_get("id", |t: &mut TracedThread| t.id);
    engine.register_get("tid", |t: &mut TracedThread| t.tid);
    engine.register_get("frames", |t: &mut TracedThread| -> Array {
        t.frames.iter().cloned().map(Dynamic::from).collect()
    });
    engine.register_fn("to_map", |t: &mut TracedThread| to_map(t));
    engine.register_fn("to_string", |t: &mut TracedThread| {
        format!("TracedThread({}, {} frames)", t.tid, t.frames.len())
    });
    engine.register_fn("to_debug", |t: &mut TracedThread| {
        format!("TracedThread({}, {} frames)", t.tid, t.frames.len())
    });
    engine.register_rex_type::<Frame>("Frame");
    engine.register_get("frame_number", |f: &mut Frame| f.frame_number);
    engine.register_get("function_name", |f: &mut Frame| f.function_name.clone());
    engine.register_get("instruction_ptr", |f: &mut Frame| opt(&f.instruction_ptr));
    engine.register_get("source", |f: &mut Frame| opt(&f.source));
    engine.register_get("line_number", |f: &mut Frame| opt(&f.line_number));
    engine.register_fn("to_map", |f: &mut Frame| to_map(f));
    engine.register_fn("to_string", |f: &mut Frame| {
        format!("#{} {}", f.frame_number, f.function_name)
    });
    engine.register_fn("to_debug", |f: &mut Frame| {
        format!("#{} {}", f.frame_number, f.function_name)
    });
}
