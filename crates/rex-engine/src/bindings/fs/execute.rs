//! `file.execute(ExecuteOptions)` and its builders.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{ExecArg, ExecuteOptions, ExecuteResult, FileHandle};
use rhai::{Array, Engine, INT, Map, NativeCallContext};

use super::builders::Builder;
use super::{Res, fs_error, to_map};
use crate::sdk_error::invalid_argument;
use crate::state::RunState;

/// The `ChildNamespaceOptions()` value.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChildNamespaceOptions {
    target_process: Option<i64>,
}

pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<Builder<ChildNamespaceOptions>>("ChildNamespaceOptionsBuilder");
    engine.register_rex_type::<ChildNamespaceOptions>("ChildNamespaceOptions");
    engine.register_fn(
        "ChildNamespaceOptions",
        Builder::<ChildNamespaceOptions>::default,
    );
    engine.register_fn(
        "target_process",
        |_b: &mut Builder<ChildNamespaceOptions>, pid: INT| {
            Builder(ChildNamespaceOptions {
                target_process: Some(pid),
            })
        },
    );
    engine.register_fn("build", |b: &mut Builder<ChildNamespaceOptions>| b.0);

    engine.register_rex_type::<Builder<ExecuteOptions>>("ExecuteOptionsBuilder");
    engine.register_rex_type::<ExecuteOptions>("ExecuteOptions");
    engine.register_fn("ExecuteOptions", Builder::<ExecuteOptions>::default);
    let s = Rc::clone(state);
    engine.register_fn(
        "args",
        move |b: &mut Builder<ExecuteOptions>, args: Array| -> Res<Builder<ExecuteOptions>> {
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                if a.is_array() {
                    let pair: Vec<String> = a.into_typed_array::<String>().map_err(|e| {
                        invalid_argument(&s, "IoErrorKind", format!("execute args: {e}"))
                    })?;
                    match pair.as_slice() {
                        [k, v] => out.push(ExecArg::Pair(k.clone(), v.clone())),
                        _ => {
                            return Err(invalid_argument(
                                &s,
                                "IoErrorKind",
                                "execute args: a pair must be [\"key\", \"value\"]".into(),
                            ));
                        }
                    }
                } else {
                    let t = a.type_name().to_owned();
                    let w = a.into_string().map_err(|_| {
                        invalid_argument(
                            &s,
                            "IoErrorKind",
                            format!("execute args: expected string, got `{t}`"),
                        )
                    })?;
                    out.push(ExecArg::Word(w));
                }
            }
            let mut b = b.clone();
            b.0.args = out;
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "env",
        move |b: &mut Builder<ExecuteOptions>, env: Map| -> Res<Builder<ExecuteOptions>> {
            let mut b = b.clone();
            b.0.env.clear();
            for (k, v) in env {
                let t = v.type_name().to_owned();
                let v = v.into_string().map_err(|_| {
                    invalid_argument(
                        &s,
                        "IoErrorKind",
                        format!("execute env `{k}`: expected string, got `{t}`"),
                    )
                })?;
                b.0.env.insert(k.to_string(), v);
            }
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "capabilities",
        move |b: &mut Builder<ExecuteOptions>, caps: Array| -> Res<Builder<ExecuteOptions>> {
            let caps: Vec<String> = caps
                .into_iter()
                .map(|c| {
                    c.into_string().map_err(|t| {
                        invalid_argument(
                            &s,
                            "IoErrorKind",
                            format!("capabilities: expected strings, got `{t}`"),
                        )
                    })
                })
                .collect::<Res<_>>()?;
            let mut b = b.clone();
            b.0.capabilities = caps;
            Ok(b)
        },
    );
    engine.register_fn("user", |b: &mut Builder<ExecuteOptions>, u: &str| {
        let mut b = b.clone();
        b.0.user = Some(u.to_owned());
        b
    });
    engine.register_fn("group", |b: &mut Builder<ExecuteOptions>, g: &str| {
        let mut b = b.clone();
        b.0.group = Some(g.to_owned());
        b
    });
    engine.register_fn(
        "namespace",
        |b: &mut Builder<ExecuteOptions>, n: ChildNamespaceOptions| {
            let mut b = b.clone();
            b.0.namespace_pid = n.target_process;
            b
        },
    );
    engine.register_fn("build", |b: &mut Builder<ExecuteOptions>| b.0.clone());

    let s = Rc::clone(state);
    engine.register_fn(
        "execute",
        move |ctx: NativeCallContext,
              f: &mut FileHandle,
              o: ExecuteOptions|
              -> Res<ExecuteResult> {
            s.enter(&ctx);
            let mut o = o;
            o.deadline = Some(s.deadline);
            f.execute(&s.gate, &o)
                .map_err(|e| fs_error(&s, &ctx, "execute", e))
        },
    );

    engine.register_rex_type::<ExecuteResult>("ExecuteResult");
    engine.register_get("stdout", |r: &mut ExecuteResult| r.stdout.clone());
    engine.register_get("stderr", |r: &mut ExecuteResult| r.stderr.clone());
    engine.register_get("exit_code", |r: &mut ExecuteResult| r.exit_code);
    engine.register_get("truncated", |r: &mut ExecuteResult| r.truncated);
    engine.register_fn("to_map", |r: &mut ExecuteResult| to_map(r));
    engine.register_fn("to_string", |r: &mut ExecuteResult| {
        format!("ExecuteResult(exit {})", r.exit_code)
    });
    engine.register_fn("to_debug", |r: &mut ExecuteResult| {
        format!("ExecuteResult(exit {})", r.exit_code)
    });
}
