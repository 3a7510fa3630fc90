//! gzip, tar archives, extended attributes, ELF headers and certificates.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_fs::{
    CompressGzipOptions, DirHandle, ElfInfo, ExtractArchiveOptions, FileHandle, FsError, GzipInfo,
    MAX_DECOMPRESSED_BYTES, ReadLinesOptions, SearchGzipOptions, SetXAttrOptions,
};
use rhai::{Array, Dynamic, Engine, INT, NativeCallContext};

use super::builders::Builder;
use super::{Res, fs_error, int, strings, to_map};
use crate::state::RunState;

fn builder<T: Clone + Default + 'static>(engine: &mut Engine, name: &str) {
    engine.register_rex_type::<Builder<T>>(&format!("{name}Builder"));
    engine.register_rex_type::<T>(name);
    engine.register_fn(name, Builder::<T>::default);
    engine.register_fn("build", |b: &mut Builder<T>| b.0.clone());
}

fn opt(v: &Option<String>) -> Dynamic {
    v.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

#[allow(clippy::too_many_lines)]
pub(super) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    builder::<CompressGzipOptions>(engine, "CompressGzipOptions");
    setter!(engine, CompressGzipOptions, "level", |o, v: INT| o.level =
        u32::try_from(v).unwrap_or(0));
    builder::<SearchGzipOptions>(engine, "SearchGzipOptions");
    setter!(
        engine,
        SearchGzipOptions,
        "exclude_pattern",
        |o, v: &str| o.exclude_pattern = Some(v.to_owned())
    );
    setter!(
        engine,
        SearchGzipOptions,
        "case_insensitive",
        |o, v: bool| o.case_insensitive = v
    );
    setter!(engine, SearchGzipOptions, "max_results", |o, v: INT| o
        .max_results =
        v);
    builder::<ExtractArchiveOptions>(engine, "ExtractArchiveOptions");
    setter!(
        engine,
        ExtractArchiveOptions,
        "preserve_permissions",
        |o, v: bool| o.preserve_permissions = v
    );
    setter!(
        engine,
        ExtractArchiveOptions,
        "preserve_ownership",
        |o, v: bool| o.preserve_ownership = v
    );
    setter!(
        engine,
        ExtractArchiveOptions,
        "preserve_timestamps",
        |o, v: bool| o.preserve_timestamps = v
    );
    builder::<SetXAttrOptions>(engine, "SetXAttrOptions");
    setter!(engine, SetXAttrOptions, "name", |o, v: &str| o.name =
        v.to_owned());
    setter!(engine, SetXAttrOptions, "selinux_user", |o, v: &str| o
        .selinux_user =
        Some(v.to_owned()));
    setter!(engine, SetXAttrOptions, "selinux_role", |o, v: &str| o
        .selinux_role =
        Some(v.to_owned()));
    setter!(engine, SetXAttrOptions, "selinux_type", |o, v: &str| o
        .selinux_type =
        Some(v.to_owned()));
    setter!(engine, SetXAttrOptions, "selinux_level", |o, v: &str| o
        .selinux_level =
        Some(v.to_owned()));
    setter!(engine, SetXAttrOptions, "value", |o, v: &str| o.value =
        Some(v.to_owned()));

    method!(engine, state, "compress_gzip", |s,
                                             ctx,
                                             f: FileHandle,
                                             dest: FileHandle,
                                             o: CompressGzipOptions|
     -> () {
        f.compress_gzip(&s.gate, &dest, &o)
    });
    method!(engine, state, "read_gzip_lines", |s,
                                               ctx,
                                               f: FileHandle,
                                               o: ReadLinesOptions|
     -> Array {
        Ok(strings(f.read_gzip_lines(
            &s.gate,
            &o,
            s.limits.max_read_bytes,
            MAX_DECOMPRESSED_BYTES,
        )?))
    });
    method!(engine, state, "gzip_info", |s,
                                         ctx,
                                         f: FileHandle|
     -> GzipInfo {
        f.gzip_info(&s.gate, MAX_DECOMPRESSED_BYTES)
    });
    method!(engine, state, "search_gzip", |s,
                                           ctx,
                                           f: FileHandle,
                                           pattern: &str,
                                           o: SearchGzipOptions|
     -> Array {
        let m = f.search_gzip(
            &s.gate,
            pattern,
            &o,
            s.limits.max_read_bytes,
            MAX_DECOMPRESSED_BYTES,
        )?;
        Ok(m.into_iter().map(Dynamic::from).collect())
    });
    method!(
        engine,
        state,
        "search_gzip_exists",
        |s, ctx, f: FileHandle, pattern: &str, o: SearchGzipOptions| -> bool {
            f.search_gzip_exists(
                &s.gate,
                pattern,
                &o,
                s.limits.max_read_bytes,
                MAX_DECOMPRESSED_BYTES,
            )
        }
    );
    method!(
        engine,
        state,
        "extract_archive",
        |s, ctx, f: FileHandle, dest: DirHandle, o: ExtractArchiveOptions| -> Array {
            Ok(strings(f.extract_archive(
                &s.gate,
                &dest,
                &o,
                MAX_DECOMPRESSED_BYTES,
            )?))
        }
    );
    method!(engine, state, "set_extended_attr", |s,
                                                 ctx,
                                                 f: FileHandle,
                                                 o: SetXAttrOptions|
     -> () {
        f.set_extended_attr(&s.gate, &o)
    });
    method!(engine, state, "elf_info", |s,
                                        ctx,
                                        f: FileHandle|
     -> ElfInfo {
        f.elf_info(&s.gate, s.limits.max_read_bytes.saturating_mul(16))
    });
    method!(engine, state, "verify_cert", |s,
                                           ctx,
                                           f: FileHandle,
                                           root: FileHandle|
     -> () {
        f.verify_cert(&s.gate, &root, s.limits.max_read_bytes)
    });
    method!(engine, state, "verify_cert_chain", |s,
                                                 ctx,
                                                 f: FileHandle,
                                                 root: FileHandle,
                                                 inter: Array|
     -> () {
        let mut handles = Vec::with_capacity(inter.len());
        for h in inter {
            let t = h.type_name().to_owned();
            handles.push(h.try_cast::<FileHandle>().ok_or_else(|| {
                FsError::InvalidArguments(format!(
                    "verify_cert_chain: expected FileHandle intermediates, got `{t}`"
                ))
            })?);
        }
        f.verify_cert_chain(&s.gate, &root, &handles, s.limits.max_read_bytes)
    });

    engine.register_rex_type::<GzipInfo>("GzipInfo");
    engine.register_get("compressed_size_bytes", |g: &mut GzipInfo| {
        int(g.compressed_size_bytes)
    });
    engine.register_get("uncompressed_size_bytes", |g: &mut GzipInfo| {
        int(g.uncompressed_size_bytes)
    });
    engine.register_get("compression_ratio", |g: &mut GzipInfo| g.compression_ratio);
    engine.register_fn("to_map", |g: &mut GzipInfo| to_map(g));
    engine.register_fn("to_string", |g: &mut GzipInfo| {
        format!(
            "GzipInfo({} -> {} bytes)",
            g.compressed_size_bytes, g.uncompressed_size_bytes
        )
    });
    engine.register_fn("to_debug", |g: &mut GzipInfo| {
        format!(
            "GzipInfo({} -> {} bytes)",
            g.compressed_size_bytes, g.uncompressed_size_bytes
        )
    });

    engine.register_rex_type::<ElfInfo>("ElfInfo");
    engine.register_get("execfn", |e: &mut ElfInfo| opt(&e.execfn));
    engine.register_get("platform", |e: &mut ElfInfo| opt(&e.platform));
    engine.register_get("interpreter", |e: &mut ElfInfo| opt(&e.interpreter));
    engine.register_get("is_64bit", |e: &mut ElfInfo| e.is_64bit);
    engine.register_fn("to_map", |e: &mut ElfInfo| to_map(e));
    engine.register_fn("to_string", |e: &mut ElfInfo| {
        serde_json::to_string(e).unwrap_or_default()
    });
    engine.register_fn("to_debug", |e: &mut ElfInfo| {
        serde_json::to_string(e).unwrap_or_default()
    });
}
