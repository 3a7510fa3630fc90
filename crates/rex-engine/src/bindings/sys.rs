//! Bindings of `rex-sys`: system information (`SystemInfo`, `hostname`, `nproc`, `uname`,
//! `free`, `dmesg`), sysctl (`SysctlManager`, `sysctl_*`) and disks (`Filesystems`, `df`,
//! `iostat`, `lsblk`, `format_bytes`, `unmount`). Every Cedar check is made by `rex-sys`;
//! these bindings convert values and errors.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use rex_sys::{
    BlockDevice, CpuTime, DiskinfoErrorKind, DmesgEntry, DmesgOptions, Filesystem,
    FilesystemOptions, Filesystems, IoStatSnapshot, KernelStats, Meminfo, SlabInfo, Swapinfo,
    SysError, SysctlEntry, SysctlManager, SysteminfoErrorKind, UnameInfo, Unit, UnmountOptions,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, Map, Module, NativeCallContext};

use super::{Check, FnDoc, check};
use crate::log::Level;
use crate::output::ErrorType;
use crate::sdk_error::{sdk_failure, throw};
use crate::state::RunState;

type Res<T> = Result<T, Box<EvalAltResult>>;

const LIST_SI: Check = check(r#"sysinfo::Action::"list""#, "sysinfo::Sysinfo");
const OPEN_D: Check = check(r#"file_system::Action::"open""#, "file_system::Dir");
const READ_D: Check = check(r#"file_system::Action::"read""#, "file_system::Dir");
const OPEN_F: Check = check(r#"file_system::Action::"open""#, "file_system::File");
const READ_F: Check = check(r#"file_system::Action::"read""#, "file_system::File");
const WRITE_F: Check = check(r#"file_system::Action::"write""#, "file_system::File");
const EXECUTE_F: Check = check(r#"file_system::Action::"execute""#, "file_system::File");
const UNMOUNT_D: Check = check(r#"file_system::Action::"unmount""#, "file_system::Dir");
const LOAD: Check = check(r#"sysctl::Action::"load""#, "sysctl::Sysctl");

const fn doc(
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    checks: &'static [Check],
) -> FnDoc {
    FnDoc {
        domain: "sys",
        name,
        signature,
        summary,
        checks,
    }
}

pub(crate) const DOCS: &[FnDoc] = &[
    doc(
        "SystemInfo",
        "SystemInfo() -> SystemInfo",
        "system information manager (methods below); resource sysinfo::Sysinfo::\"localhost\"",
        &[],
    ),
    doc(
        "SystemInfo.hostname",
        "SystemInfo.hostname() -> string",
        "the host name",
        &[LIST_SI],
    ),
    doc(
        "SystemInfo.cpu_count",
        "SystemInfo.cpu_count() -> int",
        "CPUs this process may use",
        &[LIST_SI],
    ),
    doc(
        "SystemInfo.uname_info",
        "SystemInfo.uname_info() -> UnameInfo",
        "uname: .kernel_name .nodename .kernel_release .kernel_version .machine .processor .hardware_platform .operating_system",
        &[LIST_SI],
    ),
    doc(
        "SystemInfo.memory_info",
        "SystemInfo.memory_info() -> Meminfo",
        "memory in bytes: .total .free .available .used .buffers .cached .shared_mem (read from /proc/meminfo)",
        &[READ_F],
    ),
    doc(
        "SystemInfo.swap_info",
        "SystemInfo.swap_info() -> Swapinfo",
        "swap in bytes: .total .free .used (read from /proc/meminfo)",
        &[READ_F],
    ),
    doc(
        "SystemInfo.dmesg_info",
        "SystemInfo.dmesg_info(DmesgOptions) -> array of DmesgEntry",
        "kernel log records from /dev/kmsg: .timestamp_from_system_start .message .level .facility .sequence .timestamp",
        &[READ_F],
    ),
    doc(
        "SystemInfo.kernel_stats",
        "SystemInfo.kernel_stats() -> KernelStats",
        "/proc/stat: .total_cpu_time .cpu_time .procs_running .procs_blocked .context_switches .boot_time .forks",
        &[READ_F],
    ),
    doc(
        "SystemInfo.slab_info",
        "SystemInfo.slab_info() -> SlabInfo",
        "/proc/slabinfo (root only): .slabs .summary",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "DmesgOptions",
        "DmesgOptions() -> DmesgOptionsBuilder",
        "options: .human_readable_time(b) .build()",
        &[],
    ),
    doc(
        "hostname",
        "hostname() -> string",
        "the host name",
        &[LIST_SI],
    ),
    doc(
        "nproc",
        "nproc() -> int",
        "CPUs this process may use",
        &[LIST_SI],
    ),
    doc("uname", "uname() -> UnameInfo", "uname", &[LIST_SI]),
    doc(
        "free",
        "free() -> #{memory: Meminfo, swap: Swapinfo}",
        "memory and swap (read from /proc/meminfo)",
        &[READ_F],
    ),
    doc(
        "dmesg",
        "dmesg() -> array of DmesgEntry",
        "kernel log records from /dev/kmsg",
        &[READ_F],
    ),
    doc(
        "SysctlManager",
        "SysctlManager() -> SysctlManager",
        "sysctl manager (credentials never change)",
        &[],
    ),
    doc(
        "SysctlManager.read",
        "SysctlManager.read(key) -> string",
        "value of /proc/sys/<key with . -> />",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "SysctlManager.write",
        "SysctlManager.write(key, value)",
        "set /proc/sys/<key with . -> />",
        &[OPEN_D, OPEN_F, WRITE_F],
    ),
    doc(
        "SysctlManager.find",
        "SysctlManager.find(regex) -> array of SysctlEntry (.key .value)",
        "readable keys matching the regex; denied/unreadable ones skipped",
        &[OPEN_F, READ_F],
    ),
    doc(
        "SysctlManager.load_system",
        "SysctlManager.load_system()",
        "run `sysctl --system` (clean environment, no inherited fds)",
        &[LOAD, EXECUTE_F],
    ),
    doc(
        "sysctl_read",
        "sysctl_read(key) -> string",
        "value of a key",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "sysctl_write",
        "sysctl_write(key, value)",
        "set a key",
        &[OPEN_D, OPEN_F, WRITE_F],
    ),
    doc(
        "sysctl_find",
        "sysctl_find(regex) -> array of #{key, value}",
        "readable keys matching the regex",
        &[OPEN_F, READ_F],
    ),
    doc(
        "FilesystemOptions",
        "FilesystemOptions() -> FilesystemOptionsBuilder",
        "options: .targets([mount prefixes]) .local(b) .build()",
        &[],
    ),
    doc(
        "Filesystems",
        "Filesystems(FilesystemOptions) -> Filesystems",
        "filesystem lister",
        &[],
    ),
    doc(
        "Filesystems.filesystems",
        "Filesystems.filesystems() -> array of Filesystem",
        "df: .size .block_used .block_available .inodes .kb_blocks .mb_blocks .iused .ifree .block_use_percent .iuse_percent .fs_device .fs_kind .mounted_on .mount_options",
        &[READ_F],
    ),
    doc(
        "df",
        "df() -> array of Filesystem",
        "every filesystem with blocks (/proc/mounts, /proc/diskstats)",
        &[READ_F],
    ),
    doc(
        "iostat",
        "iostat() / Filesystems.iostat() -> IoStatSnapshot",
        "CPU and device I/O since boot: .cpu_stats .device_stats (/proc/stat, /proc/diskstats)",
        &[READ_F],
    ),
    doc(
        "lsblk",
        "lsblk() -> map",
        "block devices: name -> #{name, type, maj, min, size_kib, removable, read_only, mount_point, children}",
        &[READ_F, OPEN_D, READ_D],
    ),
    doc(
        "format_bytes",
        "format_bytes(size, Unit) -> int",
        "size in the unit, rounded down",
        &[],
    ),
    doc(
        "UnmountOptions",
        "UnmountOptions() -> UnmountOptionsBuilder",
        "options: .path(p) .build()",
        &[],
    ),
    doc(
        "unmount",
        "unmount(UnmountOptions)",
        "unmount the filesystem on a directory (walked without symlinks, canonical path)",
        &[UNMOUNT_D],
    ),
    doc(
        "Unit",
        "Unit::{BYTES, KILOBYTES, MEGABYTES}",
        "units of format_bytes",
        &[],
    ),
    doc(
        "SysteminfoErrorKind",
        "SysteminfoErrorKind::{AuthorizationError, PermissionDenied, IoError, CapsError, InvalidParameter, InvalidValue, PrivilegeError, ProcFsError, Other, NotFound}",
        "values of e.kind for system information and sysctl errors",
        &[],
    ),
    doc(
        "DiskinfoErrorKind",
        "DiskinfoErrorKind::{InvalidPath, PermissionDenied, AuthorizationError, SystemError, TryFromIntError, IoError, Other}",
        "values of e.kind for disk errors",
        &[],
    ),
];

/// The `SystemInfo()` manager value. Its methods are registered here and, for DNS
/// (`resolve_hostname`), in `bindings/net.rs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemInfo;

/// `DmesgOptions()` builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct DmesgOptionsBuilder(DmesgOptions);

/// `FilesystemOptions()` builder.
#[derive(Debug, Clone, Default)]
pub struct FilesystemOptionsBuilder(FilesystemOptions);

/// `UnmountOptions()` builder.
#[derive(Debug, Clone, Default)]
pub struct UnmountOptionsBuilder(Option<String>);

fn sys_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: SysError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        "SysteminfoErrorKind",
        e.kind().name(),
        || e.to_string(),
        e.denied(),
    )
}

fn disk_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: SysError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        "DiskinfoErrorKind",
        e.disk_kind().name(),
        || e.to_string(),
        e.denied(),
    )
}

fn dynamic<T: serde::Serialize>(value: &T) -> Dynamic {
    rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
}

fn int(v: usize) -> INT {
    INT::try_from(v).unwrap_or(INT::MAX)
}

/// Registers a result type: its name, a getter per field, `to_map`, `to_string` (JSON)
/// and `to_debug`.
macro_rules! result_type {
    ($engine:expr, $ty:ty, $name:literal, [$($field:ident),* $(,)?]) => {{
        $engine.register_rex_type::<$ty>($name);
        $( $engine.register_get(stringify!($field), |v: &mut $ty| dynamic(&v.$field)); )*
        $engine.register_fn("to_map", |v: &mut $ty| dynamic(v));
        $engine.register_fn("to_string", |v: &mut $ty| serde_json::to_string(v).unwrap_or_default());
        $engine.register_fn("to_debug", |v: &mut $ty| format!("{}({})", $name, serde_json::to_string(v).unwrap_or_default()));
    }};
}

#[allow(clippy::too_many_lines)]
pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<SystemInfo>("SystemInfo")
        .register_fn("SystemInfo", || SystemInfo)
        .register_fn("to_string", |_: &mut SystemInfo| "SystemInfo".to_owned())
        .register_fn("to_debug", |_: &mut SystemInfo| "SystemInfo".to_owned());

    result_type!(
        engine,
        UnameInfo,
        "UnameInfo",
        [
            kernel_name,
            nodename,
            kernel_release,
            kernel_version,
            machine,
            processor,
            hardware_platform,
            operating_system
        ]
    );
    result_type!(
        engine,
        Meminfo,
        "Meminfo",
        [total, free, available, used, buffers, cached, shared_mem]
    );
    result_type!(engine, Swapinfo, "Swapinfo", [total, free, used]);
    result_type!(
        engine,
        DmesgEntry,
        "DmesgEntry",
        [
            timestamp_from_system_start,
            message,
            level,
            facility,
            sequence,
            timestamp
        ]
    );
    result_type!(
        engine,
        KernelStats,
        "KernelStats",
        [
            total_cpu_time,
            cpu_time,
            procs_running,
            procs_blocked,
            context_switches,
            boot_time,
            forks
        ]
    );
    result_type!(
        engine,
        CpuTime,
        "CpuTime",
        [
            user_ticks,
            nice_ticks,
            system_ticks,
            idle_ticks,
            iowait_ticks,
            irq_ticks,
            softirq_ticks,
            stolen_ticks,
            guest_ticks,
            guest_nice_ticks,
            user_ms,
            nice_ms,
            system_ms,
            idle_ms,
            iowait_ms,
            irq_ms,
            softirq_ms,
            stolen_ms,
            guest_ms,
            guest_nice_ms
        ]
    );
    result_type!(engine, SlabInfo, "SlabInfo", [slabs, summary]);
    result_type!(engine, SysctlEntry, "SysctlEntry", [key, value]);
    result_type!(
        engine,
        Filesystem,
        "Filesystem",
        [
            size,
            block_used,
            block_available,
            inodes,
            kb_blocks,
            mb_blocks,
            iused,
            ifree,
            block_use_percent,
            iuse_percent,
            fs_device,
            fs_kind,
            mounted_on,
            mount_options
        ]
    );
    result_type!(
        engine,
        IoStatSnapshot,
        "IoStatSnapshot",
        [cpu_stats, device_stats]
    );

    register_sysinfo(engine, state);
    register_sysctl(engine, state);
    register_disk(engine, state);

    let mut kinds = Module::new();
    for k in SysteminfoErrorKind::ALL {
        kinds.set_var(k.name(), k.name());
    }
    engine.register_static_module("SysteminfoErrorKind", kinds.into());
    let mut kinds = Module::new();
    for k in DiskinfoErrorKind::ALL {
        kinds.set_var(k.name(), k.name());
    }
    engine.register_static_module("DiskinfoErrorKind", kinds.into());
}

fn register_sysinfo(engine: &mut Engine, state: &Rc<RunState>) {
    let si = rex_sys::SystemInfo::new();

    engine
        .register_rex_type::<DmesgOptionsBuilder>("DmesgOptionsBuilder")
        .register_fn("DmesgOptions", DmesgOptionsBuilder::default)
        .register_fn(
            "human_readable_time",
            |b: &mut DmesgOptionsBuilder, v: bool| {
                let mut b = *b;
                b.0.human_readable_time = v;
                b
            },
        )
        .register_fn("build", |b: &mut DmesgOptionsBuilder| b.0)
        .register_rex_type::<DmesgOptions>("DmesgOptions");

    macro_rules! both {
        ($method:literal, $free:literal, $ret:ty, |$s:ident, $gate:ident| $body:expr) => {{
            let $s = Rc::clone(state);
            engine.register_fn(
                $method,
                move |ctx: NativeCallContext, _: &mut SystemInfo| -> Res<$ret> {
                    $s.enter(&ctx);
                    let $gate = &$s.gate;
                    $body.map_err(|e| sys_error(&$s, &ctx, $method, e))
                },
            );
            let $s = Rc::clone(state);
            engine.register_fn($free, move |ctx: NativeCallContext| -> Res<$ret> {
                $s.enter(&ctx);
                let $gate = &$s.gate;
                $body.map_err(|e| sys_error(&$s, &ctx, $free, e))
            });
        }};
    }
    both!("hostname", "hostname", String, |s, g| si.hostname(g));
    both!("cpu_count", "nproc", INT, |s, g| si.cpu_count(g).map(int));
    both!("uname_info", "uname", UnameInfo, |s, g| si.uname_info(g));
    both!("dmesg_info", "dmesg", Array, |s, g| si
        .dmesg_info(g, DmesgOptions::default(), s.limits.max_read_bytes)
        .map(|v| v.into_iter().map(Dynamic::from).collect()));

    let s = Rc::clone(state);
    engine.register_fn(
        "dmesg_info",
        move |ctx: NativeCallContext, _: &mut SystemInfo, o: DmesgOptions| -> Res<Array> {
            s.enter(&ctx);
            si.dmesg_info(&s.gate, o, s.limits.max_read_bytes)
                .map(|v| v.into_iter().map(Dynamic::from).collect())
                .map_err(|e| sys_error(&s, &ctx, "dmesg_info", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "memory_info",
        move |ctx: NativeCallContext, _: &mut SystemInfo| -> Res<Meminfo> {
            s.enter(&ctx);
            si.memory_info(&s.gate)
                .map_err(|e| sys_error(&s, &ctx, "memory_info", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "swap_info",
        move |ctx: NativeCallContext, _: &mut SystemInfo| -> Res<Swapinfo> {
            s.enter(&ctx);
            si.swap_info(&s.gate)
                .map_err(|e| sys_error(&s, &ctx, "swap_info", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn("free", move |ctx: NativeCallContext| -> Res<Map> {
        s.enter(&ctx);
        let memory = si
            .memory_info(&s.gate)
            .map_err(|e| sys_error(&s, &ctx, "free", e))?;
        let swap = si
            .swap_info(&s.gate)
            .map_err(|e| sys_error(&s, &ctx, "free", e))?;
        let mut m = Map::new();
        m.insert("memory".into(), Dynamic::from(memory));
        m.insert("swap".into(), Dynamic::from(swap));
        Ok(m)
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "kernel_stats",
        move |ctx: NativeCallContext, _: &mut SystemInfo| -> Res<KernelStats> {
            s.enter(&ctx);
            si.kernel_stats(&s.gate)
                .map_err(|e| sys_error(&s, &ctx, "kernel_stats", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "slab_info",
        move |ctx: NativeCallContext, _: &mut SystemInfo| -> Res<SlabInfo> {
            s.enter(&ctx);
            si.slab_info(&s.gate)
                .map_err(|e| sys_error(&s, &ctx, "slab_info", e))
        },
    );
}

fn register_sysctl(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<SysctlManager>("SysctlManager")
        .register_fn("SysctlManager", SysctlManager::new)
        .register_fn("to_string", |_: &mut SysctlManager| {
            "SysctlManager".to_owned()
        })
        .register_fn("to_debug", |_: &mut SysctlManager| {
            "SysctlManager".to_owned()
        });
    let mgr = SysctlManager::new();

    let read = {
        let s = Rc::clone(state);
        let mgr = mgr.clone();
        move |ctx: &NativeCallContext, api: &'static str, key: &str| -> Res<String> {
            s.enter(ctx);
            mgr.read(&s.gate, key)
                .map_err(|e| sys_error(&s, ctx, api, e))
        }
    };
    let r = read.clone();
    engine.register_fn(
        "read",
        move |ctx: NativeCallContext, _: &mut SysctlManager, key: &str| r(&ctx, "read", key),
    );
    engine.register_fn("sysctl_read", move |ctx: NativeCallContext, key: &str| {
        read(&ctx, "sysctl_read", key)
    });

    let write = {
        let s = Rc::clone(state);
        let mgr = mgr.clone();
        move |ctx: &NativeCallContext, api: &'static str, key: &str, value: &str| -> Res<()> {
            s.enter(ctx);
            mgr.write(&s.gate, key, value)
                .map_err(|e| sys_error(&s, ctx, api, e))
        }
    };
    let w = write.clone();
    engine.register_fn(
        "write",
        move |ctx: NativeCallContext, _: &mut SysctlManager, key: &str, value: &str| {
            w(&ctx, "write", key, value)
        },
    );
    engine.register_fn(
        "sysctl_write",
        move |ctx: NativeCallContext, key: &str, value: &str| {
            write(&ctx, "sysctl_write", key, value)
        },
    );

    let find = {
        let s = Rc::clone(state);
        let mgr = mgr.clone();
        move |ctx: &NativeCallContext, api: &'static str, pattern: &str| -> Res<Vec<SysctlEntry>> {
            s.enter(ctx);
            let (entries, skipped) = mgr
                .find(&s.gate, pattern)
                .map_err(|e| sys_error(&s, ctx, api, e))?;
            if skipped > 0 {
                s.log_at(
                    ctx,
                    Level::Debug,
                    &format!("{api}: {skipped} matching keys skipped (denied or unreadable)"),
                    Some(api),
                );
            }
            Ok(entries)
        }
    };
    let f = find.clone();
    engine.register_fn(
        "find",
        move |ctx: NativeCallContext, _: &mut SysctlManager, pattern: &str| -> Res<Array> {
            Ok(f(&ctx, "find", pattern)?
                .into_iter()
                .map(Dynamic::from)
                .collect())
        },
    );
    engine.register_fn(
        "sysctl_find",
        move |ctx: NativeCallContext, pattern: &str| -> Res<Array> {
            Ok(find(&ctx, "sysctl_find", pattern)?
                .iter()
                .map(dynamic)
                .collect())
        },
    );

    let s = Rc::clone(state);
    engine.register_fn(
        "load_system",
        move |ctx: NativeCallContext, m: &mut SysctlManager| -> Res<()> {
            s.enter(&ctx);
            m.load_system(&s.gate, Some(s.deadline))
                .map(|_| ())
                .map_err(|e| sys_error(&s, &ctx, "load_system", e))
        },
    );
}

fn register_disk(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<FilesystemOptionsBuilder>("FilesystemOptionsBuilder")
        .register_fn("FilesystemOptions", FilesystemOptionsBuilder::default)
        .register_fn("local", |b: &mut FilesystemOptionsBuilder, v: bool| {
            let mut b = b.clone();
            b.0.local = v;
            b
        })
        .register_fn("build", |b: &mut FilesystemOptionsBuilder| b.0.clone())
        .register_rex_type::<FilesystemOptions>("FilesystemOptions");
    let s = Rc::clone(state);
    engine.register_fn(
        "targets",
        move |b: &mut FilesystemOptionsBuilder, targets: Array| -> Res<FilesystemOptionsBuilder> {
            let mut b = b.clone();
            b.0.targets = targets
                .into_iter()
                .map(|t| {
                    t.into_immutable_string()
                        .map(|s| s.to_string())
                        .map_err(|got| {
                            throw(
                                &s,
                                "DiskinfoErrorKind",
                                "Other",
                                format!("targets: expected strings, got `{got}`"),
                                ErrorType::ScriptException,
                            )
                        })
                })
                .collect::<Res<_>>()?;
            Ok(b)
        },
    );

    engine
        .register_rex_type::<Filesystems>("Filesystems")
        .register_fn("Filesystems", Filesystems::new)
        .register_fn("to_string", |_: &mut Filesystems| "Filesystems".to_owned())
        .register_fn("to_debug", |_: &mut Filesystems| "Filesystems".to_owned());
    let s = Rc::clone(state);
    engine.register_fn(
        "filesystems",
        move |ctx: NativeCallContext, f: &mut Filesystems| -> Res<Array> {
            s.enter(&ctx);
            f.filesystems(&s.gate)
                .map(|v| v.into_iter().map(Dynamic::from).collect())
                .map_err(|e| disk_error(&s, &ctx, "filesystems", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn("df", move |ctx: NativeCallContext| -> Res<Array> {
        s.enter(&ctx);
        Filesystems::new(FilesystemOptions::default())
            .filesystems(&s.gate)
            .map(|v| v.into_iter().map(Dynamic::from).collect())
            .map_err(|e| disk_error(&s, &ctx, "df", e))
    });
    let s = Rc::clone(state);
    engine.register_fn(
        "iostat",
        move |ctx: NativeCallContext, _: &mut Filesystems| -> Res<IoStatSnapshot> {
            s.enter(&ctx);
            rex_sys::iostat(&s.gate).map_err(|e| disk_error(&s, &ctx, "iostat", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "iostat",
        move |ctx: NativeCallContext| -> Res<IoStatSnapshot> {
            s.enter(&ctx);
            rex_sys::iostat(&s.gate).map_err(|e| disk_error(&s, &ctx, "iostat", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn("lsblk", move |ctx: NativeCallContext| -> Res<Dynamic> {
        s.enter(&ctx);
        rex_sys::lsblk(&s.gate)
            .map(|m: std::collections::BTreeMap<String, BlockDevice>| dynamic(&m))
            .map_err(|e| disk_error(&s, &ctx, "lsblk", e))
    });

    engine.register_rex_type::<Unit>("Unit");
    engine.register_fn("to_string", |u: &mut Unit| u.name().to_owned());
    engine.register_fn("to_debug", |u: &mut Unit| u.name().to_owned());
    engine.register_fn("==", |a: Unit, b: Unit| a == b);
    engine.register_fn("!=", |a: Unit, b: Unit| a != b);
    let mut units = Module::new();
    for u in Unit::ALL {
        units.set_var(u.name(), *u);
    }
    engine.register_static_module("Unit", units.into());
    engine.register_fn("format_bytes", |size: INT, unit: Unit| {
        rex_sys::format_bytes(size, unit)
    });

    engine
        .register_rex_type::<UnmountOptionsBuilder>("UnmountOptionsBuilder")
        .register_fn("UnmountOptions", UnmountOptionsBuilder::default)
        .register_fn("path", |_: &mut UnmountOptionsBuilder, p: &str| {
            UnmountOptionsBuilder(Some(p.to_owned()))
        })
        .register_rex_type::<UnmountOptions>("UnmountOptions");
    let s = Rc::clone(state);
    engine.register_fn(
        "build",
        move |b: &mut UnmountOptionsBuilder| -> Res<UnmountOptions> {
            match &b.0 {
                Some(path) => Ok(UnmountOptions { path: path.clone() }),
                None => Err(throw(
                    &s,
                    "DiskinfoErrorKind",
                    "InvalidPath",
                    "invalid arguments: field not initialized: `path`",
                    ErrorType::ScriptException,
                )),
            }
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "unmount",
        move |ctx: NativeCallContext, o: UnmountOptions| -> Res<()> {
            s.enter(&ctx);
            rex_sys::unmount(&s.gate, &o).map_err(|e| disk_error(&s, &ctx, "unmount", e))
        },
    );
}
