//! Option builders of the object API: `XxxOptions()` returns a builder, each setter
//! returns an updated copy, `.build()` the options value (or throws the validation
//! message). Options authorize nothing.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{
    ChmodDirOptions, CopyFileOptions, CreateSymlinkOptions, DeleteDirOptions, DeleteFileOptions,
    DiskUsageOptions, FallocateOptions, FindOptions, MoveOptions, ReadLinesOptions,
    ReadPageOptions, ReplacementOptions, SetOwnershipOptions, SizeRange, SizeUnit, TruncateOptions,
    WriteOptions,
};
use rhai::{Engine, INT};

use super::Res;
use crate::bindings::time::DateTime;
use crate::sdk_error::invalid_argument;
use crate::state::RunState;

/// A builder for the options value `T`.
#[derive(Debug, Clone, Default)]
pub struct Builder<T>(pub T);

fn register_builder<T: Clone + Default + 'static>(
    engine: &mut Engine,
    ctor: &str,
    type_name: &str,
) {
    engine.register_rex_type::<Builder<T>>(&format!("{type_name}Builder"));
    engine.register_rex_type::<T>(type_name);
    engine.register_fn(ctor, Builder::<T>::default);
    engine.register_fn("build", |b: &mut Builder<T>| b.0.clone());
}

/// `ChmodDirOptions` with `permissions` still unset.
const UNSET_MODE: u32 = u32::MAX;

#[allow(clippy::too_many_lines)]
pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    register_builder::<ReadLinesOptions>(engine, "ReadLinesOptions", "ReadLinesOptions");
    setter!(engine, ReadLinesOptions, "count", |o, v: INT| o.count =
        Some(v));
    setter!(engine, ReadLinesOptions, "start", |o, v: INT| o.start =
        Some(v));

    register_builder::<ReadPageOptions>(engine, "ReadPageOptions", "ReadPageOptions");
    setter!(engine, ReadPageOptions, "num_lines", |o, v: INT| o
        .num_lines =
        v);

    register_builder::<CopyFileOptions>(engine, "CopyFileOptions", "CopyFileOptions");
    setter!(engine, CopyFileOptions, "force", |o, v: bool| o.force = v);
    setter!(engine, CopyFileOptions, "preserve", |o, v: bool| o
        .preserve =
        v);

    register_builder::<WriteOptions>(engine, "WriteOptions", "WriteOptions");
    setter!(engine, WriteOptions, "preserve_ownership", |o, v: bool| o
        .preserve_ownership =
        v);

    register_builder::<ReplacementOptions>(engine, "ReplacementOptions", "ReplacementOptions");
    setter!(engine, ReplacementOptions, "is_regex", |o, v: bool| o
        .is_regex =
        v);
    setter!(engine, ReplacementOptions, "replace_all", |o, v: bool| o
        .replace_all =
        v);

    register_builder::<MoveOptions>(engine, "MoveOptions", "MoveOptions");
    setter!(engine, MoveOptions, "backup", |o, v: bool| o.backup = v);
    setter!(engine, MoveOptions, "verbose", |o, v: bool| o.verbose = v);

    register_builder::<DeleteDirOptions>(engine, "DeleteDirOptions", "DeleteDirOptions");
    setter!(engine, DeleteDirOptions, "force", |o, v: bool| o.force = v);
    setter!(engine, DeleteDirOptions, "recursive", |o, v: bool| o
        .recursive =
        v);

    register_builder::<DeleteFileOptions>(engine, "DeleteFileOptions", "DeleteFileOptions");
    setter!(engine, DeleteFileOptions, "force", |o, v: bool| o.force = v);

    register_builder::<FindOptions>(engine, "FindOptions", "FindOptions");
    setter!(engine, FindOptions, "name", |o, v: &str| o.name =
        Some(v.to_owned()));
    setter!(engine, FindOptions, "iname", |o, v: &str| o.iname =
        Some(v.to_owned()));
    setter!(engine, FindOptions, "regex", |o, v: &str| o.regex =
        Some(v.to_owned()));
    setter!(engine, FindOptions, "negate_name", |o, v: bool| o
        .negate_name =
        v);
    setter!(engine, FindOptions, "size_range", |o, v: SizeRange| o
        .size_range =
        Some(v));
    setter!(engine, FindOptions, "min_depth", |o, v: INT| o.min_depth =
        Some(v));
    setter!(engine, FindOptions, "max_depth", |o, v: INT| o.max_depth =
        Some(v));
    // Time bounds take a `DateTime` (as in the original) or epoch seconds.
    setter!(engine, FindOptions, "min_creation_time", |o, v: INT| o
        .min_creation_time =
        Some(v));
    setter!(engine, FindOptions, "max_creation_time", |o, v: INT| o
        .max_creation_time =
        Some(v));
    setter!(engine, FindOptions, "min_modification_time", |o, v: INT| {
        o.min_modification_time = Some(v)
    });
    setter!(engine, FindOptions, "max_modification_time", |o, v: INT| {
        o.max_modification_time = Some(v)
    });
    setter!(
        engine,
        FindOptions,
        "min_creation_time",
        |o, v: DateTime| { o.min_creation_time = Some(v.epoch_seconds()) }
    );
    setter!(
        engine,
        FindOptions,
        "max_creation_time",
        |o, v: DateTime| { o.max_creation_time = Some(v.epoch_seconds()) }
    );
    setter!(
        engine,
        FindOptions,
        "min_modification_time",
        |o, v: DateTime| { o.min_modification_time = Some(v.epoch_seconds()) }
    );
    setter!(
        engine,
        FindOptions,
        "max_modification_time",
        |o, v: DateTime| { o.max_modification_time = Some(v.epoch_seconds()) }
    );
    setter!(engine, FindOptions, "follow_symlinks", |o, v: bool| o
        .follow_symlinks =
        v);
    setter!(engine, FindOptions, "skip_denied", |o, v: bool| o
        .skip_denied =
        v);

    engine.register_rex_type::<Builder<ChmodDirOptions>>("ChmodDirOptionsBuilder");
    engine.register_rex_type::<ChmodDirOptions>("ChmodDirOptions");
    engine.register_fn("ChmodDirOptions", || {
        Builder(ChmodDirOptions {
            permissions: UNSET_MODE,
            ..ChmodDirOptions::default()
        })
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "permissions",
        move |b: &mut Builder<ChmodDirOptions>, v: INT| -> Res<Builder<ChmodDirOptions>> {
            let mode = u32::try_from(v)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    invalid_argument(&s, "IoErrorKind", format!("invalid file mode `{v:o}`"))
                })?;
            let mut b = b.clone();
            b.0.permissions = mode;
            Ok(b)
        },
    );
    setter!(engine, ChmodDirOptions, "recursive", |o, v: bool| o
        .recursive =
        v);
    setter!(engine, ChmodDirOptions, "skip_denied", |o, v: bool| o
        .skip_denied =
        v);
    let s = Rc::clone(state);
    engine.register_fn(
        "build",
        move |b: &mut Builder<ChmodDirOptions>| -> Res<ChmodDirOptions> {
            if b.0.permissions == UNSET_MODE {
                return Err(invalid_argument(
                    &s,
                    "IoErrorKind",
                    "invalid arguments: field not initialized: `permissions`".into(),
                ));
            }
            Ok(b.0)
        },
    );

    register_builder::<SetOwnershipOptions>(engine, "SetOwnershipOptions", "SetOwnershipOptions");
    setter!(engine, SetOwnershipOptions, "user", |o, v: &str| o.user =
        Some(v.to_owned()));
    setter!(engine, SetOwnershipOptions, "group", |o, v: &str| o.group =
        Some(v.to_owned()));
    setter!(engine, SetOwnershipOptions, "recursive", |o, v: bool| o
        .recursive =
        v);
    setter!(engine, SetOwnershipOptions, "skip_denied", |o, v: bool| o
        .skip_denied =
        v);

    register_builder::<DiskUsageOptions>(engine, "DiskUsageOptions", "DiskUsageOptions");
    setter!(engine, DiskUsageOptions, "summarize", |o, v: bool| o
        .summarize =
        v);
    setter!(engine, DiskUsageOptions, "all_files", |o, v: bool| o
        .all_files =
        v);
    setter!(engine, DiskUsageOptions, "one_file_system", |o, v: bool| {
        o.one_file_system = v
    });
    setter!(
        engine,
        DiskUsageOptions,
        "count_hard_links",
        |o, v: bool| o.count_hard_links = v
    );
    setter!(engine, DiskUsageOptions, "apparent_size", |o, v: bool| o
        .apparent_size =
        v);
    setter!(engine, DiskUsageOptions, "max_depth", |o, v: INT| o
        .max_depth =
        Some(v));
    setter!(
        engine,
        DiskUsageOptions,
        "track_largest_subdir",
        |o, v: bool| o.track_largest_subdir = v
    );
    setter!(engine, DiskUsageOptions, "skip_denied", |o, v: bool| o
        .skip_denied =
        v);

    register_builder::<CreateSymlinkOptions>(
        engine,
        "CreateSymlinkOptions",
        "CreateSymlinkOptions",
    );
    setter!(engine, CreateSymlinkOptions, "force", |o, v: bool| o
        .force =
        v);

    register_builder::<TruncateOptions>(engine, "TruncateOptions", "TruncateOptions");
    setter!(engine, TruncateOptions, "size", |o, v: INT| o.size = v);
    setter!(engine, TruncateOptions, "format", |o, v: SizeUnit| o
        .format =
        v);

    register_builder::<FallocateOptions>(engine, "FallocateOptions", "FallocateOptions");
    setter!(engine, FallocateOptions, "length", |o, v: INT| o.length = v);
    setter!(engine, FallocateOptions, "format", |o, v: SizeUnit| o
        .format =
        v);
}
