//! Building the Rhai engine: limits, no host access except through registered SDK domains.

use std::rc::Rc;

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine};

use crate::bindings;
use crate::domains::Domains;
use crate::limits::Watchdog;
use crate::log::Level;
use crate::state::RunState;

/// Builds the engine for one run.
///
/// - no module resolver and `import` disabled: a script cannot load host files;
/// - `eval` disabled;
/// - `print`/`debug` and `info`/`warn`/`error`/`trace` go to the script log;
/// - strict variables;
/// - every limit of [`crate::Limits`], identical in every build profile; with
///   [`Watchdog::InProcess`] the wall-clock deadline and the memory limit are checked from
///   the progress callback, with [`Watchdog::ExitProcess`] there is no callback (the
///   thread that called `run` enforces both).
pub(crate) fn build(state: &Rc<RunState>, domains: Domains, watchdog: Watchdog) -> Engine {
    build_on(base(), state, domains, watchdog)
}

/// The part of [`build`] that needs no run: Rhai's standard library, the standard type
/// names, no module resolver, `import` and `eval` disabled, strict variables. A script
/// thread started ahead of its run ([`crate::ScriptThread`]) makes it while the policy is
/// still validating.
pub(crate) fn base() -> Engine {
    let mut engine = standard_engine();
    register_std_type_names(&mut engine);
    engine.set_module_resolver(DummyModuleResolver::new());
    engine.disable_symbol("import");
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);
    engine
}

/// [`build`] from a [`base`] made on this thread.
pub(crate) fn build_on(
    mut engine: Engine,
    state: &Rc<RunState>,
    domains: Domains,
    watchdog: Watchdog,
) -> Engine {
    // Types left over from a build that panicked on this thread.
    let _ = bindings::take_rex_types();

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

    if watchdog == Watchdog::InProcess {
        install_progress_checks(&mut engine, state);
    }
    let s = Rc::clone(state);
    engine.on_print(move |text| s.log().push(Level::Info, text, 0, None));
    let s = Rc::clone(state);
    engine.on_debug(move |text, _source, pos| {
        let line = pos.line().unwrap_or(0).try_into().unwrap_or(u32::MAX);
        s.log()
            .push(Level::Debug, text.trim_matches('"'), line, None);
    });

    bindings::log::register(&mut engine, state);
    if domains.metrics {
        bindings::metrics::register(&mut engine, state);
    }
    if domains.time {
        bindings::time::register(&mut engine, state);
    }
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
    engine.register_global_module(bindings::take_rex_types().into());
    engine
}

/// The string interner size `Engine::new()` sets (Rhai does not export its constant).
const STRINGS_INTERNED: usize = 256;

/// What `Engine::new()` makes, with the standard library's functions looked up in their
/// manifests when a script first calls each of them (once per run: the run's function
/// resolution cache keeps it) instead of registered one by one up front. Registering the
/// ~1,000 functions of the standard library was a tenth of a trivial run's start-up. The
/// print and debug callbacks and the module resolver that `Engine::new()` sets are set by
/// [`build`] anyway.
fn standard_engine() -> Engine {
    let mut engine = Engine::new_raw();
    engine.set_max_strings_interned(STRINGS_INTERNED);
    engine.register_global_module(StandardPackage::new_lazy().as_shared_module());
    engine
}

/// Why a run past its deadline was stopped (after "Script terminated: ").
pub(crate) fn deadline_reason(timeout: std::time::Duration) -> String {
    format!("wall-clock deadline of {}s exceeded", timeout.as_secs_f64())
}

/// Why a run over its memory limit was stopped (after "Script terminated: ").
pub(crate) fn memory_reason(max_memory: u64, rss: u64) -> String {
    format!("memory limit of {max_memory} bytes exceeded (resident {rss} bytes)")
}

/// [`Watchdog::InProcess`]: the deadline every 256 operations, resident memory every 65,536.
fn install_progress_checks(engine: &mut Engine, state: &Rc<RunState>) {
    let s = Rc::clone(state);
    let timeout = state.limits.timeout;
    let max_memory = state.limits.max_memory_bytes;
    engine.on_progress(move |ops| {
        if ops % 256 == 0 && s.past_deadline() {
            return Some(Dynamic::from(deadline_reason(timeout)));
        }
        if ops % 65_536 == 0
            && let Some(rss) = crate::usage::resident_bytes()
            && rss > max_memory
        {
            return Some(Dynamic::from(memory_reason(max_memory, rss)));
        }
        None
    });
}

/// Names [`rhai::Dynamic::type_name`] gives the standard types.
const STD_TYPE_NAMES: [&str; 11] = [
    "()",
    "bool",
    "string",
    "char",
    "i64",
    "f64",
    "array",
    "blob",
    "map",
    "Fn",
    "timestamp",
];

/// Every method call in Rhai maps the receiver's type name (`Engine::map_type_name`, to
/// look for a script-defined method of that type): the name is looked up in each global
/// module, then in each static module (rex registers about 40 namespaces), and only then
/// mapped by Rhai's standard table. For `path.len()` in a loop that was 1,400 of the
/// 4,900 instructions of an iteration. Registering the standard names, under the display
/// name Rhai gives them anyway, in the engine's own namespace (searched first, and kept
/// small: rex's own types go to a module of their own, see
/// [`bindings::RegisterRexType`]) ends the search at the first lookup: same names, same
/// hashes, same `type_of`.
fn register_std_type_names(engine: &mut Engine) {
    for name in STD_TYPE_NAMES
        .into_iter()
        .chain([std::any::type_name::<std::ops::Range<rhai::INT>>()])
        .chain([std::any::type_name::<std::ops::RangeInclusive<rhai::INT>>()])
    {
        let display = engine.map_type_name(name).to_owned();
        engine.register_type_with_name_raw(name, display);
    }
}

#[cfg(test)]
mod tests {
    /// The lazily resolved standard library is the same library: every signature of
    /// `Engine::new()`'s is there, and the interner has the same size.
    #[test]
    fn standard_engine_has_what_engine_new_has() {
        let ours = super::standard_engine();
        let reference = rhai::Engine::new();
        assert_eq!(
            ours.max_strings_interned(),
            reference.max_strings_interned()
        );
        let mut want = reference.gen_fn_signatures(true);
        let mut got = ours.gen_fn_signatures(true);
        want.sort();
        got.sort();
        assert!(want.len() > 500, "{}", want.len());
        assert_eq!(got, want);
        let script = "let a = [3, 1, 2]; a.sort(); let m = #{x: 1}; \
            `${a}${m.keys()}${\"Ab\".to_lower()}${(2.5).floor()}${parse_int(\"7\") + 1}`";
        assert_eq!(
            ours.eval::<String>(script).unwrap(),
            reference.eval::<String>(script).unwrap()
        );
    }

    #[test]
    fn standard_type_names_map_as_on_a_bare_engine() {
        let bare = rhai::Engine::new();
        let mut engine = rhai::Engine::new();
        super::register_std_type_names(&mut engine);
        for name in super::STD_TYPE_NAMES {
            assert_eq!(
                engine.map_type_name(name),
                bare.map_type_name(name),
                "{name}"
            );
        }
        for v in [
            rhai::Dynamic::UNIT,
            true.into(),
            "s".into(),
            'c'.into(),
            1_i64.into(),
            1.5_f64.into(),
            rhai::Array::new().into(),
            rhai::Blob::new().into(),
            rhai::Map::new().into(),
            rhai::FnPtr::new("f").unwrap().into(),
            rhai::Dynamic::from_timestamp(std::time::Instant::now()),
        ] {
            assert!(
                super::STD_TYPE_NAMES.contains(&v.type_name()),
                "{} is not listed",
                v.type_name()
            );
        }
    }
}
