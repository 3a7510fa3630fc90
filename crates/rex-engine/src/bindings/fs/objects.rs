//! The object API beyond opening: file, directory and symlink methods, and the result
//! types they return. Every Cedar check is made in `rex-fs`.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{
    ChmodDirOptions, CopyFileOptions, CreateSymlinkOptions, DeleteDirOptions, DeleteFileOptions,
    DirEntry, DirHandle, DiskUsageEntry, DiskUsageOptions, DiskUsageResult, FallocateOptions,
    FileHandle, FindOptions, FsError, Match, MoveOptions, Ownership, ReadLinesOptions,
    ReadPageOptions, ReplacementOptions, SetOwnershipOptions, SizeRange, SizeUnit, SymlinkHandle,
    TruncateOptions, WordCount, WriteOptions,
};
use rhai::{Array, Dynamic, Engine, FnPtr, INT, Map, Module, NativeCallContext};

use super::{Res, fs_error, int, strings, to_map};
use crate::log::Level;
use crate::sdk_error::invalid_argument;
use crate::state::RunState;

fn mode(v: INT) -> Result<u32, FsError> {
    u32::try_from(v).map_err(|_| FsError::InvalidMode {
        mode: u32::MAX,
        reason: "must be at most 0o777",
    })
}

fn skipped(v: Vec<String>) -> Array {
    v.into_iter().map(Dynamic::from).collect()
}

fn matches(v: Vec<Match>) -> Array {
    v.into_iter().map(Dynamic::from).collect()
}

fn du_map(r: &DiskUsageResult) -> Map {
    let mut m = Map::new();
    let entries: Array = r.entries.iter().cloned().map(Dynamic::from).collect();
    m.insert("entries".into(), entries.into());
    m.insert(
        "largest_subdir_handle".into(),
        r.largest_subdir_handle
            .clone()
            .map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.insert("skipped".into(), skipped(r.skipped.clone()).into());
    m
}

#[allow(clippy::too_many_lines)]
pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    // File reads.
    method!(engine, state, "read_lines", |s,
                                          ctx,
                                          f: FileHandle,
                                          o: ReadLinesOptions|
     -> Array {
        Ok(strings(f.read_lines(
            &s.gate,
            &o,
            s.limits.max_read_bytes,
        )?))
    });
    method!(engine, state, "read_page", |s,
                                         ctx,
                                         f: FileHandle,
                                         o: ReadPageOptions|
     -> Array {
        Ok(strings(f.read_page(
            &s.gate,
            &o,
            s.limits.max_read_bytes,
        )?))
    });
    method!(engine, state, "search", |s,
                                      ctx,
                                      f: FileHandle,
                                      pattern: &str|
     -> Array {
        Ok(matches(f.search(
            &s.gate,
            pattern,
            s.limits.max_read_bytes,
        )?))
    });
    method!(engine, state, "counts", |s,
                                      ctx,
                                      f: FileHandle|
     -> WordCount {
        f.counts(&s.gate)
    });
    method!(engine, state, "extract_strings", |s,
                                               ctx,
                                               f: FileHandle|
     -> Array {
        Ok(strings(
            f.extract_strings(&s.gate, s.limits.max_read_bytes)?,
        ))
    });

    // File writes.
    method!(engine, state, "write", |s,
                                     ctx,
                                     f: FileHandle,
                                     content: &str|
     -> FileHandle {
        f.write(&s.gate, content, &WriteOptions::default())
    });
    method!(engine, state, "write", |s,
                                     ctx,
                                     f: FileHandle,
                                     content: &str,
                                     o: WriteOptions|
     -> FileHandle {
        f.write(&s.gate, content, &o)
    });
    method!(engine, state, "write_in_place", |s,
                                              ctx,
                                              f: FileHandle,
                                              content: &str|
     -> () {
        f.write_in_place(&s.gate, content)
    });
    method!(engine, state, "copy", |s,
                                    ctx,
                                    f: FileHandle,
                                    dest: FileHandle,
                                    o: CopyFileOptions|
     -> FileHandle {
        f.copy(&s.gate, &dest, &o)
    });
    {
        let s = Rc::clone(state);
        engine.register_fn(
            "move",
            move |ctx: NativeCallContext,
                  f: &mut FileHandle,
                  dest: DirHandle,
                  name: &str,
                  o: MoveOptions|
                  -> Res<FileHandle> {
                s.enter(&ctx);
                let from = f.path().to_string();
                let moved = f
                    .move_to(&s.gate, &dest, name, &o)
                    .map_err(|e| fs_error(&s, &ctx, "move", e))?;
                if o.verbose {
                    let msg = format!("Moved from '{from}' to '{}'", moved.path());
                    s.log_at(&ctx, Level::Info, &msg, Some("move"));
                }
                Ok(moved)
            },
        );
    }
    method!(engine, state, "delete", |s, ctx, f: FileHandle| -> () {
        f.delete(&s.gate, &DeleteFileOptions::default())
    });
    method!(engine, state, "delete", |s,
                                      ctx,
                                      f: FileHandle,
                                      o: DeleteFileOptions|
     -> () {
        f.delete(&s.gate, &o)
    });
    method!(engine, state, "truncate", |s,
                                        ctx,
                                        f: FileHandle,
                                        o: TruncateOptions|
     -> () {
        f.truncate(&s.gate, &o)
    });
    method!(engine, state, "fallocate", |s,
                                         ctx,
                                         f: FileHandle,
                                         o: FallocateOptions|
     -> () {
        f.fallocate(&s.gate, &o)
    });

    // File attributes.
    method!(engine, state, "get_last_modified_time", |s,
                                                      ctx,
                                                      f: FileHandle|
     -> INT {
        f.get_last_modified_time(&s.gate)
    });
    method!(engine, state, "get_ownership", |s,
                                             ctx,
                                             f: FileHandle|
     -> Ownership {
        f.get_ownership(&s.gate)
    });
    method!(engine, state, "chmod", |s,
                                     ctx,
                                     f: FileHandle,
                                     m: INT|
     -> () {
        f.chmod(&s.gate, mode(m)?)
    });
    method!(engine, state, "set_ownership", |s,
                                             ctx,
                                             f: FileHandle,
                                             o: SetOwnershipOptions|
     -> () {
        f.set_ownership(&s.gate, &o)
    });
    method!(engine, state, "disk_usage", |s,
                                          ctx,
                                          f: FileHandle,
                                          o: DiskUsageOptions|
     -> DiskUsageEntry {
        f.disk_usage(&s.gate, &o)
    });

    // Directories.
    method!(engine, state, "delete", |s, ctx, d: DirHandle| -> () {
        d.delete(&s.gate, &DeleteDirOptions::default())
    });
    method!(engine, state, "delete", |s,
                                      ctx,
                                      d: DirHandle,
                                      o: DeleteDirOptions|
     -> () {
        d.delete(&s.gate, &o)
    });
    method!(engine, state, "read_link_target", |s,
                                                ctx,
                                                d: DirHandle,
                                                name: &str|
     -> String {
        d.read_link_target(&s.gate, name)
    });
    method!(engine, state, "get_ownership", |s,
                                             ctx,
                                             d: DirHandle|
     -> Ownership {
        d.get_ownership(&s.gate)
    });
    method!(engine, state, "chmod", |s,
                                     ctx,
                                     d: DirHandle,
                                     o: ChmodDirOptions|
     -> Array {
        Ok(skipped(d.chmod(&s.gate, &o)?))
    });
    method!(engine, state, "set_ownership", |s,
                                             ctx,
                                             d: DirHandle,
                                             o: SetOwnershipOptions|
     -> Array {
        Ok(skipped(d.set_ownership(&s.gate, &o)?))
    });
    method!(
        engine,
        state,
        "create_symlink",
        |s, ctx, d: DirHandle, target: &str, name: &str, o: CreateSymlinkOptions| -> () {
            d.create_symlink(&s.gate, target, name, &o)
        }
    );
    method!(engine, state, "disk_usage", |s,
                                          ctx,
                                          d: DirHandle,
                                          o: DiskUsageOptions|
     -> DiskUsageResult {
        d.disk_usage(&s.gate, &o)
    });
    method!(engine, state, "open_symlink", |s,
                                            ctx,
                                            d: DirHandle,
                                            name: &str|
     -> SymlinkHandle {
        d.open_symlink(&s.gate, name)
    });
    {
        let s = Rc::clone(state);
        engine.register_fn(
            "move",
            move |ctx: NativeCallContext,
                  parent: &mut DirHandle,
                  src: DirHandle,
                  dest_parent: DirHandle,
                  name: &str,
                  o: MoveOptions|
                  -> Res<DirHandle> {
                s.enter(&ctx);
                let moved = parent
                    .move_dir(&s.gate, &src, &dest_parent, name, &o)
                    .map_err(|e| fs_error(&s, &ctx, "move", e))?;
                if o.verbose {
                    let msg = format!("Moved from '{}' to '{}'", src.path(), moved.path());
                    s.log_at(&ctx, Level::Info, &msg, Some("move"));
                }
                Ok(moved)
            },
        );
    }
    {
        let s = Rc::clone(state);
        engine.register_fn(
            "find",
            move |ctx: NativeCallContext,
                  d: &mut DirHandle,
                  mut o: FindOptions,
                  callback: FnPtr|
                  -> Res<Array> {
                s.enter(&ctx);
                // The walk stops at the run's deadline even between callbacks.
                o.deadline = Some(s.deadline);
                let mut script_error = None;
                let r = d.find(&s.gate, &o, &mut |entry: DirEntry| match callback
                    .call_within_context::<Dynamic>(&ctx, (entry,))
                {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let text = e.to_string();
                        script_error = Some(e);
                        Err(FsError::Callback(text))
                    }
                });
                if let Some(e) = script_error {
                    return Err(e);
                }
                r.map(skipped).map_err(|e| fs_error(&s, &ctx, "find", e))
            },
        );
    }

    // Symlink handles.
    engine.register_rex_type::<SymlinkHandle>("SymlinkHandle");
    engine.register_get("path", |l: &mut SymlinkHandle| l.path().to_string());
    engine.register_fn("to_string", |l: &mut SymlinkHandle| {
        format!("SymlinkHandle({})", l.path())
    });
    engine.register_fn("to_debug", |l: &mut SymlinkHandle| {
        format!("SymlinkHandle({})", l.path())
    });
    method!(engine, state, "metadata", |s,
                                        ctx,
                                        l: SymlinkHandle|
     -> rex_fs::Metadata {
        l.metadata(&s.gate)
    });
    method!(engine, state, "set_ownership", |s,
                                             ctx,
                                             l: SymlinkHandle,
                                             o: SetOwnershipOptions|
     -> () {
        l.set_ownership(&s.gate, &o)
    });

    register_results(engine, state);
}

fn register_results(engine: &mut Engine, state: &Rc<RunState>) {
    engine.register_rex_type::<Ownership>("Ownership");
    engine.register_get("user", |o: &mut Ownership| o.user.clone());
    engine.register_get("group", |o: &mut Ownership| o.group.clone());
    engine.register_fn("to_map", |o: &mut Ownership| to_map(o));
    engine.register_fn("to_string", |o: &mut Ownership| {
        format!("{}:{}", o.user, o.group)
    });
    engine.register_fn("to_debug", |o: &mut Ownership| {
        format!("Ownership({}:{})", o.user, o.group)
    });

    engine.register_rex_type::<Match>("Match");
    engine.register_get("line_number", |m: &mut Match| int(m.line_number));
    engine.register_get("line_content", |m: &mut Match| m.line_content.clone());
    engine.register_fn("to_map", |m: &mut Match| to_map(m));
    engine.register_fn("to_string", |m: &mut Match| {
        format!("{}:{}", m.line_number, m.line_content)
    });
    engine.register_fn("to_debug", |m: &mut Match| {
        format!("Match({}:{})", m.line_number, m.line_content)
    });

    engine.register_rex_type::<WordCount>("WordCount");
    engine.register_get("line_count", |w: &mut WordCount| int(w.line_count));
    engine.register_get("word_count", |w: &mut WordCount| int(w.word_count));
    engine.register_get("byte_count", |w: &mut WordCount| int(w.byte_count));
    engine.register_fn("to_map", |w: &mut WordCount| to_map(w));
    engine.register_fn("to_string", |w: &mut WordCount| {
        format!("{} {} {}", w.line_count, w.word_count, w.byte_count)
    });
    engine.register_fn("to_debug", |w: &mut WordCount| {
        format!(
            "WordCount({} {} {})",
            w.line_count, w.word_count, w.byte_count
        )
    });

    engine.register_rex_type::<DiskUsageEntry>("DiskUsageEntry");
    engine.register_get("path", |e: &mut DiskUsageEntry| e.path.clone());
    engine.register_get("size_bytes", |e: &mut DiskUsageEntry| int(e.size_bytes));
    engine.register_get("inode_count", |e: &mut DiskUsageEntry| int(e.inode_count));
    engine.register_fn("to_map", |e: &mut DiskUsageEntry| to_map(e));
    engine.register_fn("to_string", |e: &mut DiskUsageEntry| {
        format!("{}\t{}", e.size_bytes, e.path)
    });
    engine.register_fn("to_debug", |e: &mut DiskUsageEntry| {
        format!("DiskUsageEntry({} {} bytes)", e.path, e.size_bytes)
    });

    engine.register_rex_type::<DiskUsageResult>("DiskUsageResult");
    engine.register_get("entries", |r: &mut DiskUsageResult| -> Array {
        r.entries.iter().cloned().map(Dynamic::from).collect()
    });
    engine.register_get("largest_subdir_handle", |r: &mut DiskUsageResult| {
        r.largest_subdir_handle
            .clone()
            .map_or(Dynamic::UNIT, Dynamic::from)
    });
    engine.register_get("skipped", |r: &mut DiskUsageResult| {
        skipped(r.skipped.clone())
    });
    engine.register_fn("to_map", |r: &mut DiskUsageResult| du_map(r));
    engine.register_fn("to_string", |r: &mut DiskUsageResult| {
        format!("DiskUsageResult({} entries)", r.entries.len())
    });
    engine.register_fn("to_debug", |r: &mut DiskUsageResult| {
        format!("DiskUsageResult({} entries)", r.entries.len())
    });

    // Sizes.
    engine.register_rex_type::<SizeUnit>("SizeUnit");
    engine.register_fn("to_string", |u: &mut SizeUnit| u.name().to_owned());
    engine.register_fn("to_debug", |u: &mut SizeUnit| u.name().to_owned());
    engine.register_fn("==", |a: SizeUnit, b: SizeUnit| a == b);
    engine.register_fn("!=", |a: SizeUnit, b: SizeUnit| a != b);
    let mut units = Module::new();
    for (u, name) in SizeUnit::ALL {
        units.set_var(*name, *u);
    }
    engine.register_static_module("SizeUnit", units.into());
    engine.register_rex_type::<SizeRange>("SizeRange");
    engine.register_fn("to_string", |r: &mut SizeRange| {
        format!("SizeRange({:?}..{:?})", r.min, r.max)
    });
    engine.register_fn("to_debug", |r: &mut SizeRange| {
        format!("SizeRange({:?}..{:?})", r.min, r.max)
    });
    let mut ranges = Module::new();
    let s = Rc::clone(state);
    ranges.set_native_fn("min_only", move |n: INT, u: SizeUnit| {
        SizeRange::min_only(n, u).map_err(|e| invalid_argument(&s, "IoErrorKind", e.to_string()))
    });
    let s = Rc::clone(state);
    ranges.set_native_fn("max_only", move |n: INT, u: SizeUnit| {
        SizeRange::max_only(n, u).map_err(|e| invalid_argument(&s, "IoErrorKind", e.to_string()))
    });
    let s = Rc::clone(state);
    ranges.set_native_fn("between", move |a: INT, b: INT, u: SizeUnit| {
        SizeRange::between(a, b, u).map_err(|e| invalid_argument(&s, "IoErrorKind", e.to_string()))
    });
    engine.register_static_module("SizeRange", ranges.into());

    // Pure text.
    engine.register_rex_type::<ReplacementOptions>("ReplacementOptions");
    let s = Rc::clone(state);
    engine.register_fn(
        "replace_text",
        move |ctx: NativeCallContext,
              text: &str,
              old: &str,
              new: &str,
              o: ReplacementOptions|
              -> Res<String> {
            rex_fs::text::replace_text(text, old, new, &o)
                .map_err(|e| fs_error(&s, &ctx, "replace_text", e))
        },
    );
}
