//! Building the Rhai engine: limits, no host access except through registered SDK domains.

use std::rc::Rc;

use rhai::module_resolvers::DummyModuleResolver;
use rhai::{Dynamic, Engine};

use crate::bindings;
use crate::log::Level;
use crate::state::RunState;

/// Which SDK domains a run exposes. An embedder can leave any out; cargo features remove
/// them from the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domains {
    /// Files and directories (`rex-fs`).
    pub fs: bool,
    /// Processes and systemd services (`rex-proc`).
    pub proc: bool,
    /// System information, sysctl and disks (`rex-sys`).
    pub sys: bool,
    /// HTTP, connect, DNS, interfaces and sockets (`rex-net`).
    pub net: bool,
}

impl Default for Domains {
    fn default() -> Self {
        Self {
            fs: true,
            proc: true,
            sys: true,
            net: true,
        }
    }
}

/// Builds the engine for one run.
///
/// - no module resolver and `import` disabled: a script cannot load host files;
/// - `eval` disabled;
/// - `print`/`debug` and `info`/`warn`/`error`/`trace` go to the script log;
/// - strict variables;
/// - every limit of [`crate::Limits`], identical in every build profile, and the
///   wall-clock deadline checked from the progress callback.
pub(crate) fn build(state: &Rc<RunState>, domains: Domains) -> Engine {
    let mut engine = Engine::new();
    engine.set_module_resolver(DummyModuleResolver::new());
    engine.disable_symbol("import");
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);

    let l = &state.limits;
    engine.set_max_operations(l.max_operations);
    engine.set_max_call_levels(l.max_call_levels);
    engine.set_max_expr_depths(l.max_expr_depth, l.max_fn_expr_depth);
    engine.set_max_string_size(l.max_string_size);
    engine.set_max_array_size(l.max_array_size);
    engine.set_max_map_size(l.max_map_size);
    engine.set_max_variables(l.max_variables);
    engine.set_max_functions(l.max_functions);
    engine.set_max_modules(0);

    let s = Rc::clone(state);
    let timeout = l.timeout;
    let max_memory = l.max_memory_bytes;
    engine.on_progress(move |ops| {
        if ops % 256 == 0 && s.past_deadline() {
            return Some(Dynamic::from(format!(
                "wall-clock deadline of {}s exceeded",
                timeout.as_secs_f64()
            )));
        }
        if ops % 65_536 == 0
            && let Some(rss) = crate::usage::resident_bytes()
            && rss > max_memory
        {
            return Some(Dynamic::from(format!(
                "memory limit of {max_memory} bytes exceeded (resident {rss} bytes)"
            )));
        }
        None
    });
    let s = Rc::clone(state);
    engine.on_print(move |text| s.log.borrow_mut().push(Level::Info, text, 0, None));
    let s = Rc::clone(state);
    engine.on_debug(move |text, _source, pos| {
        let line = pos.line().unwrap_or(0).try_into().unwrap_or(u32::MAX);
        s.log
            .borrow_mut()
            .push(Level::Debug, text.trim_matches('"'), line, None);
    });

    bindings::register_common(&mut engine, state);
    #[cfg(feature = "fs")]
    if domains.fs {
        bindings::fs::register(&mut engine, state);
    }
    // `sys` first: it defines the `SystemInfo` type that `net` adds DNS methods to.
    #[cfg(feature = "sys")]
    if domains.sys {
        bindings::sys::register(&mut engine, state);
    }
    #[cfg(feature = "proc")]
    if domains.proc {
        bindings::proc::register(&mut engine, state);
    }
    #[cfg(feature = "net")]
    if domains.net {
        bindings::net::register(&mut engine, state);
    }
    let _ = domains;
    engine
}
