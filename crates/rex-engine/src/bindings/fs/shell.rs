//! The shell-style helpers beyond the foundation: `grep tail sed cp mv find_files glob du
//! wc seq awk_*`, and their flag modules. Flags are passed as a leading array of module
//! constants (`grep::i`) or values (`grep::max_count(5)`).

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{DiskUsageOptions, FsError, GrepOptions, ReplacementOptions, TailSelect};
use rhai::{Array, Dynamic, Engine, INT, Map, Module, NativeCallContext};

use super::{Res, flags, fs_error, int, strings};
use crate::log::Level;
use crate::state::RunState;

/// A `grep::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GrepFlag {
    IgnoreCase,
    Count,
    Invert,
    LineNumber,
    MaxCount(i64),
}

/// A `tail::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TailFlag {
    N(i64),
    From(i64),
    Range(i64, i64),
}

/// A `sed::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SedFlag {
    Regex,
    All,
    InPlace,
}

/// A `cp::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CpFlag {
    Force,
    Preserve,
}

/// A `mv::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MvFlag {
    Backup,
    Verbose,
}

/// A `glob::` flag (for `find_files` and `glob`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GlobFlag {
    Recursive,
}

/// A `du::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DuFlag {
    Summarize,
    AllFiles,
    ApparentSize,
    MaxDepth(i64),
}

/// A `wc::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WcFlag {
    Lines,
    Words,
    Bytes,
}

/// A `seq::` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SeqFlag {
    Step(i64),
}

fn vars<T: Clone + Send + Sync + 'static>(items: &[(&str, T)]) -> Module {
    let mut m = Module::new();
    for (name, v) in items {
        m.set_var(*name, v.clone());
    }
    m
}

#[allow(clippy::too_many_lines)]
fn register_flags(engine: &mut Engine) {
    engine.register_rex_type::<GrepFlag>("GrepFlag");
    let mut m = vars(&[
        ("ignore_case", GrepFlag::IgnoreCase),
        ("i", GrepFlag::IgnoreCase),
        ("count", GrepFlag::Count),
        ("c", GrepFlag::Count),
        ("invert", GrepFlag::Invert),
        ("v", GrepFlag::Invert),
        ("line_number", GrepFlag::LineNumber),
        ("n", GrepFlag::LineNumber),
    ]);
    m.set_native_fn("max_count", |n: INT| Ok(GrepFlag::MaxCount(n)));
    m.set_native_fn("m", |n: INT| Ok(GrepFlag::MaxCount(n)));
    engine.register_static_module("grep", m.into());

    engine.register_rex_type::<TailFlag>("TailFlag");
    let mut m = Module::new();
    m.set_native_fn("n", |k: INT| Ok(TailFlag::N(k)));
    m.set_native_fn("from", |k: INT| Ok(TailFlag::From(k)));
    m.set_native_fn("range", |a: INT, b: INT| Ok(TailFlag::Range(a, b)));
    engine.register_static_module("tail", m.into());

    engine.register_rex_type::<SedFlag>("SedFlag");
    let m = vars(&[
        ("regex", SedFlag::Regex),
        ("all", SedFlag::All),
        ("g", SedFlag::All),
        ("in_place", SedFlag::InPlace),
        ("i", SedFlag::InPlace),
    ]);
    engine.register_static_module("sed", m.into());

    engine.register_rex_type::<CpFlag>("CpFlag");
    let m = vars(&[
        ("force", CpFlag::Force),
        ("f", CpFlag::Force),
        ("preserve", CpFlag::Preserve),
        ("p", CpFlag::Preserve),
    ]);
    engine.register_static_module("cp", m.into());

    engine.register_rex_type::<MvFlag>("MvFlag");
    let m = vars(&[
        ("backup", MvFlag::Backup),
        ("b", MvFlag::Backup),
        ("verbose", MvFlag::Verbose),
        ("v", MvFlag::Verbose),
    ]);
    engine.register_static_module("mv", m.into());

    engine.register_rex_type::<GlobFlag>("GlobFlag");
    let m = vars(&[
        ("recursive", GlobFlag::Recursive),
        ("r", GlobFlag::Recursive),
    ]);
    engine.register_static_module("glob", m.into());

    engine.register_rex_type::<DuFlag>("DuFlag");
    let mut m = vars(&[
        ("summarize", DuFlag::Summarize),
        ("s", DuFlag::Summarize),
        ("all_files", DuFlag::AllFiles),
        ("a", DuFlag::AllFiles),
        ("apparent_size", DuFlag::ApparentSize),
    ]);
    m.set_native_fn("max_depth", |n: INT| Ok(DuFlag::MaxDepth(n)));
    m.set_native_fn("d", |n: INT| Ok(DuFlag::MaxDepth(n)));
    engine.register_static_module("du", m.into());

    engine.register_rex_type::<WcFlag>("WcFlag");
    let m = vars(&[
        ("lines", WcFlag::Lines),
        ("l", WcFlag::Lines),
        ("words", WcFlag::Words),
        ("w", WcFlag::Words),
        ("bytes", WcFlag::Bytes),
        ("c", WcFlag::Bytes),
    ]);
    engine.register_static_module("wc", m.into());

    engine.register_rex_type::<SeqFlag>("SeqFlag");
    let mut m = Module::new();
    m.set_native_fn("step", |n: INT| Ok(SeqFlag::Step(n)));
    engine.register_static_module("seq", m.into());
}

/// Registers `name(path-like args...)` and `name([flags], args...)` for a helper whose
/// implementation takes the parsed flags first.
macro_rules! helper {
    ($engine:ident, $state:ident, $name:literal, $Flag:ty, $flag_name:literal,
     |$s:ident, $ctx:ident, $f:ident $(, $arg:ident : $AT:ty)*| -> $R:ty $body:block) => {{
        let imp = {
            let $s = Rc::clone($state);
            move |$ctx: &NativeCallContext, $f: Vec<$Flag> $(, $arg: $AT)*| -> Res<$R> {
                $s.enter($ctx);
                #[allow(clippy::redundant_closure_call)]
                let r: Result<$R, FsError> = (|| $body)();
                r.map_err(|e| fs_error(&$s, $ctx, $name, e))
            }
        };
        let i = imp.clone();
        $engine.register_fn($name, move |ctx: NativeCallContext $(, $arg: $AT)*| {
            i(&ctx, Vec::new() $(, $arg)*)
        });
        let s = Rc::clone($state);
        $engine.register_fn($name, move |ctx: NativeCallContext, f: Array $(, $arg: $AT)*| {
            let f = flags(&s, $name, $flag_name, f)?;
            imp(&ctx, f $(, $arg)*)
        });
    }};
}

#[allow(clippy::too_many_lines)]
pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    register_flags(engine);

    helper!(
        engine,
        state,
        "grep",
        GrepFlag,
        "GrepFlag",
        |s, ctx, f, pattern: &str, path: &str| -> Array {
            let mut o = GrepOptions::default();
            for flag in &f {
                match flag {
                    GrepFlag::IgnoreCase => o.ignore_case = true,
                    GrepFlag::Count => o.count = true,
                    GrepFlag::Invert => o.invert = true,
                    GrepFlag::LineNumber => o.line_number = true,
                    GrepFlag::MaxCount(n) => o.max_count = Some(*n),
                }
            }
            Ok(strings(rex_fs::grep(
                &s.gate,
                pattern,
                path,
                &o,
                s.limits.max_read_bytes,
            )?))
        }
    );

    helper!(engine, state, "tail", TailFlag, "TailFlag", |s,
                                                          ctx,
                                                          f,
                                                          path: &str|
     -> Array {
        let select = match f.last() {
            None => TailSelect::default(),
            Some(TailFlag::N(k)) => TailSelect::Last(*k),
            Some(TailFlag::From(k)) => TailSelect::From(*k),
            Some(TailFlag::Range(a, b)) => TailSelect::Range(*a, *b),
        };
        Ok(strings(rex_fs::tail(
            &s.gate,
            path,
            select,
            s.limits.max_read_bytes,
        )?))
    });

    helper!(
        engine,
        state,
        "sed",
        SedFlag,
        "SedFlag",
        |s, ctx, f, pattern: &str, replacement: &str, path: &str| -> String {
            let o = ReplacementOptions {
                is_regex: f.contains(&SedFlag::Regex),
                replace_all: f.contains(&SedFlag::All),
            };
            rex_fs::sed(
                &s.gate,
                pattern,
                replacement,
                path,
                &o,
                f.contains(&SedFlag::InPlace),
                s.limits.max_read_bytes,
            )
        }
    );

    helper!(engine, state, "cp", CpFlag, "CpFlag", |s,
                                                    ctx,
                                                    f,
                                                    src: &str,
                                                    dst: &str|
     -> () {
        rex_fs::cp(
            &s.gate,
            src,
            dst,
            f.contains(&CpFlag::Force),
            f.contains(&CpFlag::Preserve),
        )
    });

    helper!(engine, state, "mv", MvFlag, "MvFlag", |s,
                                                    ctx,
                                                    f,
                                                    src: &str,
                                                    dst: &str|
     -> () {
        let msg = rex_fs::mv(&s.gate, src, dst, f.contains(&MvFlag::Backup))?;
        if f.contains(&MvFlag::Verbose) {
            s.log_at(ctx, Level::Info, &msg, Some("mv"));
        }
        Ok(())
    });

    helper!(
        engine,
        state,
        "find_files",
        GlobFlag,
        "GlobFlag",
        |s, ctx, f, pattern: &str, dir: &str| -> Array {
            Ok(strings(rex_fs::find_files(
                &s.gate,
                pattern,
                dir,
                f.contains(&GlobFlag::Recursive),
            )?))
        }
    );
    helper!(
        engine,
        state,
        "glob",
        GlobFlag,
        "GlobFlag",
        |s, ctx, f, pattern: &str, dir: &str| -> Array {
            Ok(strings(rex_fs::find_files(
                &s.gate,
                pattern,
                dir,
                f.contains(&GlobFlag::Recursive),
            )?))
        }
    );

    helper!(engine, state, "du", DuFlag, "DuFlag", |s,
                                                    ctx,
                                                    f,
                                                    path: &str|
     -> Map {
        let mut o = DiskUsageOptions::default();
        for flag in &f {
            match flag {
                DuFlag::Summarize => o.summarize = true,
                DuFlag::AllFiles => o.all_files = true,
                DuFlag::ApparentSize => o.apparent_size = true,
                DuFlag::MaxDepth(n) => o.max_depth = Some(*n),
            }
        }
        let r = rex_fs::du(&s.gate, path, &o)?;
        let mut m = Map::new();
        let (mut size, mut inodes) = (0u64, 0u64);
        let mut entries = Array::new();
        for e in &r.entries {
            let mut em = Map::new();
            em.insert("path".into(), e.path.clone().into());
            em.insert("size_bytes".into(), int(e.size_bytes).into());
            em.insert("inode_count".into(), int(e.inode_count).into());
            entries.push(em.into());
        }
        if let Some(top) = r.entries.last() {
            size = top.size_bytes;
            inodes = top.inode_count;
        }
        m.insert("entries".into(), entries.into());
        m.insert("total_size_bytes".into(), int(size).into());
        m.insert("total_inode_count".into(), int(inodes).into());
        Ok(m)
    });

    helper!(engine, state, "wc", WcFlag, "WcFlag", |s,
                                                    ctx,
                                                    f,
                                                    path: &str|
     -> Map {
        let c = rex_fs::wc(&s.gate, path)?;
        let all = f.is_empty();
        let mut m = Map::new();
        if all || f.contains(&WcFlag::Lines) {
            m.insert("lines".into(), int(c.line_count).into());
        }
        if all || f.contains(&WcFlag::Words) {
            m.insert("words".into(), int(c.word_count).into());
        }
        if all || f.contains(&WcFlag::Bytes) {
            m.insert("bytes".into(), int(c.byte_count).into());
        }
        Ok(m)
    });

    helper!(engine, state, "seq", SeqFlag, "SeqFlag", |s,
                                                       ctx,
                                                       f,
                                                       a: INT,
                                                       b: INT|
     -> Array {
        let step = match f.last() {
            Some(SeqFlag::Step(n)) => *n,
            None => 1,
        };
        let v = rex_fs::text::seq(a, b, step, s.limits.max_array_size)?;
        Ok(v.into_iter().map(Dynamic::from).collect())
    });

    // awk_* (no flags).
    engine.register_fn("awk_split", |text: &str, delim: &str| {
        strings(rex_fs::text::awk_split(text, delim))
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_field",
        move |ctx: NativeCallContext, n: INT, delim: &str, path: &str| -> Res<Array> {
            s.enter(&ctx);
            rex_fs::awk_field(&s.gate, n, delim, path, s.limits.max_read_bytes)
                .map(strings)
                .map_err(|e| fs_error(&s, &ctx, "awk_field", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_filter",
        move |ctx: NativeCallContext, needle: &str, path: &str| -> Res<Array> {
            s.enter(&ctx);
            rex_fs::awk_filter(&s.gate, needle, path, s.limits.max_read_bytes)
                .map(strings)
                .map_err(|e| fs_error(&s, &ctx, "awk_filter", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_filter_field",
        move |ctx: NativeCallContext,
              n: INT,
              delim: &str,
              needle: &str,
              path: &str|
              -> Res<Array> {
            s.enter(&ctx);
            rex_fs::awk_filter_field(&s.gate, n, delim, needle, path, s.limits.max_read_bytes)
                .map(strings)
                .map_err(|e| fs_error(&s, &ctx, "awk_filter_field", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_sum",
        move |ctx: NativeCallContext, n: INT, delim: &str, path: &str| -> Res<f64> {
            s.enter(&ctx);
            rex_fs::awk_sum(&s.gate, n, delim, path, s.limits.max_read_bytes)
                .map_err(|e| fs_error(&s, &ctx, "awk_sum", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_count_unique",
        move |ctx: NativeCallContext, n: INT, delim: &str, path: &str| -> Res<Map> {
            s.enter(&ctx);
            rex_fs::awk_count_unique(&s.gate, n, delim, path, s.limits.max_read_bytes)
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| (k.into(), Dynamic::from(v)))
                        .collect()
                })
                .map_err(|e| fs_error(&s, &ctx, "awk_count_unique", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "awk_filter_range",
        move |ctx: NativeCallContext, a: INT, b: INT, path: &str| -> Res<Array> {
            s.enter(&ctx);
            rex_fs::awk_filter_range(&s.gate, a, b, path, s.limits.max_read_bytes)
                .map(strings)
                .map_err(|e| fs_error(&s, &ctx, "awk_filter_range", e))
        },
    );
}
