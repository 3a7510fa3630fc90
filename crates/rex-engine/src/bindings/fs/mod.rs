//! Files and directories (`rex-fs`): the object API (`DirConfig`, handles, entries,
//! metadata, option builders in `builders`, methods in `objects`) and the shell-style
//! helpers (`cat`, `ls`, `write`, `touch`, `mkdir`, `rm` here; the rest in `shell`).
//! Every Cedar check is made by `rex-fs` on canonical paths; these bindings only convert
//! values and errors.

use crate::bindings::RegisterRexType as _;
use std::collections::BTreeMap;
use std::rc::Rc;

use rex_fs::{
    DirEntry, DirHandle, EntryType, FileHandle, FsError, IoErrorKind, Metadata, OpenDirOptions,
    OpenFileOptions, WriteMode,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, Map, Module, NativeCallContext};

// Macros shared by the submodules below (macro_rules scope is textual, so they are
// defined before the `mod` declarations).

/// Registers a fallible method: records the script position, runs the body, and turns an
/// `FsError` into the thrown `IoErrorKind` map.
macro_rules! method {
    ($engine:ident, $state:ident, $name:literal, |$s:ident, $ctx:ident, $recv:ident : $RT:ty $(, $arg:ident : $AT:ty)*| -> $R:ty $body:block) => {{
        let $s = Rc::clone($state);
        $engine.register_fn(
            $name,
            move |$ctx: NativeCallContext, $recv: &mut $RT $(, $arg: $AT)*| -> Res<$R> {
                $s.enter(&$ctx);
                #[allow(clippy::redundant_closure_call)]
                let r: Result<$R, FsError> = (|| $body)();
                r.map_err(|e| fs_error(&$s, &$ctx, $name, e))
            },
        );
    }};
}

/// Registers a builder setter.
macro_rules! setter {
    ($engine:ident, $T:ty, $name:literal, |$o:ident, $v:ident : $VT:ty| $body:expr) => {
        $engine.register_fn($name, |b: &mut Builder<$T>, $v: $VT| {
            let mut b = b.clone();
            {
                let $o = &mut b.0;
                $body;
            }
            b
        });
    };
}

mod builders;
mod coredump;
mod docs;
mod execute;
mod formats;
mod objects;
mod shell;

pub(crate) use docs::DOCS;
pub use shell::{CpFlag, DuFlag, GlobFlag, GrepFlag, MvFlag, SedFlag, SeqFlag, TailFlag, WcFlag};

use crate::output::ErrorType;
use crate::sdk_error::{invalid_argument, sdk_failure, throw};
use crate::state::RunState;

pub(super) type Res<T> = Result<T, Box<EvalAltResult>>;

/// Strings as a Rhai array.
pub(super) fn strings(v: Vec<String>) -> Array {
    v.into_iter().map(Dynamic::from).collect()
}

/// `DirConfig()` builder.
#[derive(Debug, Clone, Default)]
pub struct DirConfigBuilder {
    path: Option<String>,
}

/// A built directory config.
#[derive(Debug, Clone)]
pub struct DirConfig {
    path: String,
}

/// `OpenDirOptions()` builder.
#[derive(Debug, Clone, Default)]
pub struct OpenDirOptionsBuilder(OpenDirOptions);

/// `OpenFileOptions()` builder.
#[derive(Debug, Clone, Default)]
pub struct OpenFileOptionsBuilder(OpenFileOptions);

macro_rules! flag_type {
    ($ty:ident, $cmd:literal, { $($variant:ident),* }, [$(($name:literal, $v:ident)),*]) => {
        /// A flag of the helper of the same name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $ty { $(#[allow(missing_docs)] $variant),* }
        impl $ty {
            fn module() -> Module {
                let mut m = Module::new();
                $( m.set_var($name, $ty::$v); )*
                m
            }
        }
    };
}

flag_type!(
    CatFlag,
    "cat",
    { Number },
    [("number", Number), ("n", Number)]
);
flag_type!(LsFlag, "ls", { All, Long, Recursive }, [("all", All), ("a", All), ("long", Long), ("l", Long), ("recursive", Recursive), ("R", Recursive)]);
flag_type!(WriteFlag, "write", { Append, Replace }, [("append", Append), ("a", Append), ("replace", Replace), ("r", Replace)]);
flag_type!(
    MkdirFlag,
    "mkdir",
    { Parents },
    [("parents", Parents), ("p", Parents)]
);
flag_type!(RmFlag, "rm", { Force, Recursive }, [("force", Force), ("f", Force), ("recursive", Recursive), ("r", Recursive)]);

/// Converts a flag array, refusing anything that is not a `T` flag.
pub(super) fn flags<T: Clone + 'static>(
    state: &RunState,
    cmd: &str,
    type_name: &str,
    items: Array,
) -> Res<Vec<T>> {
    items
        .into_iter()
        .map(|d| {
            let got = d.type_name().to_owned();
            d.try_cast::<T>().ok_or_else(|| {
                invalid_argument(
                    state,
                    "IoErrorKind",
                    format!("{cmd}: expected {type_name} flag, got `{got}`"),
                )
            })
        })
        .collect()
}

/// Turns an `FsError` into the thrown `#{kind, message, source: "IoErrorKind"}` map.
pub(super) fn fs_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: FsError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        "IoErrorKind",
        e.kind().name(),
        || e.to_string(),
        e.denied(),
    )
}

pub(super) fn to_map<T: serde::Serialize>(value: &T) -> Res<Dynamic> {
    rhai::serde::to_dynamic(value)
}

fn entries_map(entries: BTreeMap<String, DirEntry>) -> Map {
    entries
        .into_iter()
        .map(|(k, v)| (k.into(), Dynamic::from(v)))
        .collect()
}

pub(super) fn int(v: u64) -> INT {
    INT::try_from(v).unwrap_or(INT::MAX)
}

#[allow(clippy::too_many_lines)]
pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    // Builders and options.
    engine
        .register_rex_type::<DirConfigBuilder>("DirConfigBuilder")
        .register_fn("DirConfig", DirConfigBuilder::default)
        .register_fn("path", |_: &mut DirConfigBuilder, p: &str| {
            DirConfigBuilder {
                path: Some(p.to_owned()),
            }
        });
    let s = Rc::clone(state);
    engine.register_fn("build", move |b: &mut DirConfigBuilder| -> Res<DirConfig> {
        match &b.path {
            Some(path) => Ok(DirConfig { path: path.clone() }),
            None => Err(invalid_argument(
                &s,
                "IoErrorKind",
                "invalid arguments: field not initialized: `path`".into(),
            )),
        }
    });
    engine.register_rex_type::<DirConfig>("DirConfig");
    engine.register_fn("to_string", |c: &mut DirConfig| {
        format!("DirConfig({})", c.path)
    });

    engine
        .register_rex_type::<OpenDirOptionsBuilder>("OpenDirOptionsBuilder")
        .register_fn("OpenDirOptions", OpenDirOptionsBuilder::default)
        .register_fn("create", |b: &mut OpenDirOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.create = v;
            b
        })
        .register_fn("recursive", |b: &mut OpenDirOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.recursive = v;
            b
        })
        .register_fn(
            "follow_symlinks",
            |b: &mut OpenDirOptionsBuilder, v: bool| {
                let mut b = b.clone();
                b.0.follow_symlinks = v;
                b
            },
        )
        .register_fn("build", |b: &mut OpenDirOptionsBuilder| b.0);
    engine.register_rex_type::<OpenDirOptions>("OpenDirOptions");

    engine
        .register_rex_type::<OpenFileOptionsBuilder>("OpenFileOptionsBuilder")
        .register_fn("OpenFileOptions", OpenFileOptionsBuilder::default)
        .register_fn("read", |b: &mut OpenFileOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.read = v;
            b
        })
        .register_fn("write", |b: &mut OpenFileOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.write = v;
            b
        })
        .register_fn("create", |b: &mut OpenFileOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.create = v;
            b
        })
        .register_fn(
            "follow_symlinks",
            |b: &mut OpenFileOptionsBuilder, v: bool| {
                let mut b = b.clone();
                b.0.follow_symlinks = v;
                b
            },
        );
    let s = Rc::clone(state);
    engine.register_fn(
        "permissions",
        move |b: &mut OpenFileOptionsBuilder, mode: INT| -> Res<OpenFileOptionsBuilder> {
            let mode = u32::try_from(mode)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    invalid_argument(&s, "IoErrorKind", format!("invalid file mode `{mode:o}`"))
                })?;
            let mut b = b.clone();
            b.0.permissions = Some(mode & 0o777);
            Ok(b)
        },
    );
    engine.register_fn("build", |b: &mut OpenFileOptionsBuilder| b.0);
    engine.register_rex_type::<OpenFileOptions>("OpenFileOptions");

    // Handles.
    engine.register_rex_type::<DirHandle>("DirHandle");
    engine.register_fn("to_string", |d: &mut DirHandle| {
        format!("DirHandle({})", d.path())
    });
    engine.register_fn("to_debug", |d: &mut DirHandle| {
        format!("DirHandle({})", d.path())
    });
    engine.register_get("path", |d: &mut DirHandle| d.path().to_string());
    engine.register_rex_type::<FileHandle>("FileHandle");
    engine.register_fn("to_string", |f: &mut FileHandle| {
        format!("FileHandle({})", f.path())
    });
    engine.register_fn("to_debug", |f: &mut FileHandle| {
        format!("FileHandle({})", f.path())
    });
    engine.register_get("path", |f: &mut FileHandle| f.path().to_string());

    let s = Rc::clone(state);
    engine.register_fn(
        "open",
        move |ctx: NativeCallContext, c: &mut DirConfig, o: OpenDirOptions| -> Res<DirHandle> {
            s.enter(&ctx);
            DirHandle::open(&s.gate, &c.path, &o).map_err(|e| fs_error(&s, &ctx, "open", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "open_file",
        move |ctx: NativeCallContext,
              d: &mut DirHandle,
              name: &str,
              o: OpenFileOptions|
              -> Res<FileHandle> {
            s.enter(&ctx);
            d.open_file(&s.gate, name, &o)
                .map_err(|e| fs_error(&s, &ctx, "open_file", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "list_entries",
        move |ctx: NativeCallContext, d: &mut DirHandle| -> Res<Map> {
            s.enter(&ctx);
            d.list_entries(&s.gate)
                .map(entries_map)
                .map_err(|e| fs_error(&s, &ctx, "list_entries", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "metadata",
        move |ctx: NativeCallContext, d: &mut DirHandle| -> Res<Metadata> {
            s.enter(&ctx);
            d.metadata(&s.gate)
                .map_err(|e| fs_error(&s, &ctx, "metadata", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "read",
        move |ctx: NativeCallContext, f: &mut FileHandle| -> Res<String> {
            s.enter(&ctx);
            f.read(&s.gate, s.limits.max_read_bytes)
                .map_err(|e| fs_error(&s, &ctx, "read", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "metadata",
        move |ctx: NativeCallContext, f: &mut FileHandle| -> Res<Metadata> {
            s.enter(&ctx);
            f.metadata(&s.gate)
                .map_err(|e| fs_error(&s, &ctx, "metadata", e))
        },
    );

    // Entries.
    engine.register_rex_type::<DirEntry>("DirEntry");
    engine.register_get("name", |e: &mut DirEntry| e.name.clone());
    engine.register_get("inode", |e: &mut DirEntry| int(e.inode));
    engine.register_fn("type", |e: &mut DirEntry| e.entry_type());
    engine.register_fn("to_string", |e: &mut DirEntry| {
        format!(
            "DirEntry({}, {}, inode {})",
            e.name,
            e.entry_type().name(),
            e.inode
        )
    });
    engine.register_fn("to_debug", |e: &mut DirEntry| {
        format!(
            "DirEntry({}, {}, inode {})",
            e.name,
            e.entry_type().name(),
            e.inode
        )
    });
    engine.register_fn("to_map", |e: &mut DirEntry| {
        let mut m = Map::new();
        m.insert("name".into(), e.name.clone().into());
        m.insert("inode".into(), int(e.inode).into());
        m.insert("type".into(), e.entry_type().name().into());
        m
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "metadata",
        move |ctx: NativeCallContext, e: &mut DirEntry| -> Res<Metadata> {
            s.enter(&ctx);
            e.metadata(&s.gate)
                .map_err(|err| fs_error(&s, &ctx, "metadata", err))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "open_as_file",
        move |ctx: NativeCallContext, e: &mut DirEntry, o: OpenFileOptions| -> Res<FileHandle> {
            s.enter(&ctx);
            e.open_as_file(&s.gate, &o)
                .map_err(|err| fs_error(&s, &ctx, "open_as_file", err))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "open_as_dir",
        move |ctx: NativeCallContext, e: &mut DirEntry, o: OpenDirOptions| -> Res<DirHandle> {
            s.enter(&ctx);
            e.open_as_dir(&s.gate, &o)
                .map_err(|err| fs_error(&s, &ctx, "open_as_dir", err))
        },
    );

    // Metadata.
    engine.register_rex_type::<Metadata>("Metadata");
    engine
        .register_fn("type", |m: &mut Metadata| m.entry_type)
        .register_fn("file_size", |m: &mut Metadata| int(m.file_size))
        .register_fn("last_modified_time", |m: &mut Metadata| {
            m.last_modified_time
        })
        .register_fn("last_modified_time_nanos_component", |m: &mut Metadata| {
            m.last_modified_time_nanos
        })
        .register_fn("num_hardlinks", |m: &mut Metadata| int(m.num_hardlinks))
        .register_fn("blocks", |m: &mut Metadata| int(m.blocks))
        .register_fn("allocated_size", |m: &mut Metadata| int(m.allocated_size))
        .register_fn("permissions", |m: &mut Metadata| INT::from(m.permissions))
        .register_fn("symlink_target", |m: &mut Metadata| {
            m.symlink_target
                .clone()
                .map_or(Dynamic::UNIT, Dynamic::from)
        })
        .register_get("owner", |m: &mut Metadata| {
            let mut o = Map::new();
            o.insert("user".into(), m.owner_user.clone().into());
            o.insert("group".into(), m.owner_group.clone().into());
            o
        })
        .register_fn("to_map", |m: &mut Metadata| to_map(m))
        .register_fn("to_string", |m: &mut Metadata| {
            serde_json::to_string(m).unwrap_or_default()
        })
        .register_fn("to_debug", |m: &mut Metadata| {
            serde_json::to_string(m).unwrap_or_default()
        });

    // Constants.
    engine.register_rex_type::<EntryType>("EntryType");
    engine.register_fn("to_string", |t: &mut EntryType| t.name().to_owned());
    engine.register_fn("to_debug", |t: &mut EntryType| t.name().to_owned());
    engine.register_fn("==", |a: EntryType, b: EntryType| a == b);
    engine.register_fn("!=", |a: EntryType, b: EntryType| a != b);
    let mut types = Module::new();
    for t in [
        EntryType::File,
        EntryType::Dir,
        EntryType::Symlink,
        EntryType::Unknown,
        EntryType::Fifo,
        EntryType::Socket,
        EntryType::CharDevice,
        EntryType::BlockDevice,
    ] {
        types.set_var(t.name(), t);
    }
    engine.register_static_module("EntryType", types.into());
    let mut kinds = Module::new();
    for k in IoErrorKind::ALL {
        kinds.set_var(k.name(), k.name());
    }
    engine.register_static_module("IoErrorKind", kinds.into());

    register_helpers(engine, state);
    builders::register(engine, state);
    objects::register(engine, state);
    shell::register(engine, state);
    formats::register(engine, state);
    execute::register(engine, state);
    coredump::register(engine, state);
}

fn register_helpers(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<CatFlag>("CatFlag");
    engine.register_rex_type::<LsFlag>("LsFlag");
    engine.register_rex_type::<WriteFlag>("WriteFlag");
    engine.register_rex_type::<MkdirFlag>("MkdirFlag");
    engine.register_rex_type::<RmFlag>("RmFlag");
    engine.register_static_module("cat", CatFlag::module().into());
    engine.register_static_module("ls", LsFlag::module().into());
    engine.register_static_module("write", WriteFlag::module().into());
    engine.register_static_module("mkdir", MkdirFlag::module().into());
    engine.register_static_module("rm", RmFlag::module().into());

    // cat
    let cat = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, f: Vec<CatFlag>, path: &str| -> Res<String> {
            s.enter(ctx);
            let text = rex_fs::cat(&s.gate, path, s.limits.max_read_bytes)
                .map_err(|e| fs_error(&s, ctx, "cat", e))?;
            if f.contains(&CatFlag::Number) {
                Ok(rex_fs::text::number_lines(&text))
            } else {
                Ok(text)
            }
        }
    };
    let c = cat.clone();
    engine.register_fn("cat", move |ctx: NativeCallContext, path: &str| {
        c(&ctx, Vec::new(), path)
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "cat",
        move |ctx: NativeCallContext, f: Array, path: &str| {
            cat(&ctx, flags(&s, "cat", "CatFlag", f)?, path)
        },
    );

    // ls
    let ls = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, f: Vec<LsFlag>, path: &str| -> Res<Map> {
            s.enter(ctx);
            if f.contains(&LsFlag::Recursive) {
                return Err(throw(
                    &s,
                    "IoErrorKind",
                    "UnsupportedOperationError",
                    "ls: `ls::recursive` is not supported; walk with list_entries()",
                    ErrorType::ScriptException,
                ));
            }
            rex_fs::ls(&s.gate, path, f.contains(&LsFlag::All))
                .map(entries_map)
                .map_err(|e| fs_error(&s, ctx, "ls", e))
        }
    };
    let l = ls.clone();
    engine.register_fn("ls", move |ctx: NativeCallContext, path: &str| {
        l(&ctx, Vec::new(), path)
    });
    let s = Rc::clone(state);
    engine.register_fn("ls", move |ctx: NativeCallContext, f: Array, path: &str| {
        ls(&ctx, flags(&s, "ls", "LsFlag", f)?, path)
    });

    // write
    let write = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, f: Vec<WriteFlag>, path: &str, content: &str| -> Res<()> {
            s.enter(ctx);
            let mode = if f.last() == Some(&WriteFlag::Replace) {
                WriteMode::Replace
            } else {
                WriteMode::Append
            };
            rex_fs::write(&s.gate, path, content, mode).map_err(|e| fs_error(&s, ctx, "write", e))
        }
    };
    let w = write.clone();
    engine.register_fn(
        "write",
        move |ctx: NativeCallContext, path: &str, content: &str| w(&ctx, Vec::new(), path, content),
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "write",
        move |ctx: NativeCallContext, f: Array, path: &str, content: &str| {
            write(&ctx, flags(&s, "write", "WriteFlag", f)?, path, content)
        },
    );

    // touch
    let s = Rc::clone(state);
    engine.register_fn(
        "touch",
        move |ctx: NativeCallContext, path: &str| -> Res<()> {
            s.enter(&ctx);
            rex_fs::touch(&s.gate, path).map_err(|e| fs_error(&s, &ctx, "touch", e))
        },
    );

    // mkdir
    let mkdir = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, f: Vec<MkdirFlag>, path: &str| -> Res<()> {
            s.enter(ctx);
            rex_fs::mkdir(&s.gate, path, f.contains(&MkdirFlag::Parents))
                .map_err(|e| fs_error(&s, ctx, "mkdir", e))
        }
    };
    let m = mkdir.clone();
    engine.register_fn("mkdir", move |ctx: NativeCallContext, path: &str| {
        m(&ctx, Vec::new(), path)
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "mkdir",
        move |ctx: NativeCallContext, f: Array, path: &str| {
            mkdir(&ctx, flags(&s, "mkdir", "MkdirFlag", f)?, path)
        },
    );

    // rm
    let rm = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, f: Vec<RmFlag>, path: &str| -> Res<()> {
            s.enter(ctx);
            rex_fs::rm(
                &s.gate,
                path,
                f.contains(&RmFlag::Recursive),
                f.contains(&RmFlag::Force),
            )
            .map_err(|e| fs_error(&s, ctx, "rm", e))
        }
    };
    let r = rm.clone();
    engine.register_fn("rm", move |ctx: NativeCallContext, path: &str| {
        r(&ctx, Vec::new(), path)
    });
    let s = Rc::clone(state);
    engine.register_fn("rm", move |ctx: NativeCallContext, f: Array, path: &str| {
        rm(&ctx, flags(&s, "rm", "RmFlag", f)?, path)
    });
}
