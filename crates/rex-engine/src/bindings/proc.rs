//! Bindings of `rex-proc`: processes (`ProcessManager`, `ps`, `kill`), namespaces,
//! stack traces, System V IPC and systemd units (`SystemctlManager`). Every Cedar check
//! is made by `rex-proc`; these bindings convert values and errors.

use crate::bindings::RegisterRexType as _;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rex_proc::{
    FuserInfo, IpcsInfo, KillOptions, Killed, LsofOptions, MonitorProcessesCpuOptions,
    NamespaceOptions, OpenFileInfo, ProcessError, ProcessErrorKind, ProcessInfo, ProcessOptions,
    ServiceInfo, Signal, TraceOptions, TracedProcess,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, INT, Map, Module, NativeCallContext};

use super::{Check, FnDoc, check};
use crate::log::Level;
use crate::output::ErrorType;
use crate::sdk_error::{sdk_failure, throw};
use crate::state::RunState;

type Res<T> = Result<T, Box<EvalAltResult>>;

const LIST: Check = check(
    r#"process_system::Action::"list""#,
    "process_system::Process",
);
const LIST_FDS: Check = check(
    r#"process_system::Action::"list_fds""#,
    "process_system::Process",
);
const KILL: Check = check(
    r#"process_system::Action::"kill""#,
    "process_system::Process",
);
const INTERRUPT: Check = check(
    r#"process_system::Action::"interrupt""#,
    "process_system::Process",
);
const TRACE: Check = check(
    r#"process_system::Action::"trace""#,
    "process_system::Process",
);
const MOUNT_NS: Check = check(
    r#"process_system::Action::"mount_namespace""#,
    "process_system::Process",
);
const NET_NS: Check = check(
    r#"process_system::Action::"network_namespace""#,
    "process_system::Process",
);
const FS_NET_NS: Check = check(
    r#"file_system::Action::"network_namespace""#,
    "file_system::File",
);
const OPEN_D: Check = check(r#"file_system::Action::"open""#, "file_system::Dir");
const READ_D: Check = check(r#"file_system::Action::"read""#, "file_system::Dir");
const OPEN_F: Check = check(r#"file_system::Action::"open""#, "file_system::File");
const READ_F: Check = check(r#"file_system::Action::"read""#, "file_system::File");
const EXECUTE_F: Check = check(r#"file_system::Action::"execute""#, "file_system::File");
const START: Check = check(r#"systemd::Action::"start""#, "systemd::Service");
const STOP: Check = check(r#"systemd::Action::"stop""#, "systemd::Service");
const RESTART: Check = check(r#"systemd::Action::"restart""#, "systemd::Service");
const STATUS: Check = check(r#"systemd::Action::"status""#, "systemd::Service");
const RELOAD: Check = check(r#"systemd::Action::"daemon_reload""#, "systemd::Systemd");

const fn doc(
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    checks: &'static [Check],
) -> FnDoc {
    FnDoc {
        domain: "proc",
        name,
        signature,
        summary,
        checks,
    }
}

pub(crate) const DOCS: &[FnDoc] = &[
    doc(
        "ProcessManager",
        "ProcessManager() -> ProcessManager",
        "process manager; remembers what it listed so a reused pid is never signalled",
        &[],
    ),
    doc(
        "ProcessManager.processes",
        "ProcessManager.processes([ProcessOptions]) -> array of ProcessInfo",
        "visible processes; denied ones are left out, counted in .filtered and a WARN log line",
        &[LIST],
    ),
    doc(
        "ProcessOptions",
        "ProcessOptions() -> ProcessOptionsBuilder",
        "options: .load_namespace_info(b) .include_threads(b) .build()",
        &[],
    ),
    doc(
        "ps",
        "ps() -> array of ProcessInfo",
        "visible processes (.name .username .memory_percent .state .command .pid_namespace .memory_usage .pid .ppid .uid .recent_cpu_usage .historical_cpu_usage)",
        &[LIST],
    ),
    doc(
        "ProcessManager.kill",
        "ProcessManager.kill(KillOptions) -> array of #{name, pid}",
        "signal through a pidfd: kill (interrupt for SIGHUP) per target; by name/user/command denied targets are skipped",
        &[KILL, INTERRUPT],
    ),
    doc(
        "KillOptions",
        "KillOptions() -> KillOptionsBuilder",
        "options: .pid(n) | .process_name(s) .username(s) .command(s) .exact_match(b); .signal(Signal::X) .build()",
        &[],
    ),
    doc(
        "kill",
        "kill([kill::SIGKILL], pid) / kill(pid) -> array of #{name, pid}",
        "send a signal (SIGTERM by default) to one process through a pidfd",
        &[KILL, INTERRUPT],
    ),
    doc(
        "ProcessManager.processes_using_inode",
        "ProcessManager.processes_using_inode(path) -> array of FuserInfo",
        "fuser: .user .command .pid .access (c r e f m); the path itself is not authorized",
        &[OPEN_D, READ_D, LIST_FDS],
    ),
    doc(
        "ProcessManager.list_open_files",
        "ProcessManager.list_open_files(LsofOptions) -> array of OpenFileInfo",
        "lsof: .process_name .user .command .file_path .pid .file_type .access .fd",
        &[OPEN_D, READ_D, LIST_FDS],
    ),
    doc(
        "LsofOptions",
        "LsofOptions() -> LsofOptionsBuilder",
        "options: .path(p) .include_subdir(b) .pid(n) .build()",
        &[],
    ),
    doc(
        "ProcessManager.ipcs_info",
        "ProcessManager.ipcs_info() -> IpcsInfo",
        "System V IPC: .shared_memory .queues .semaphores (arrays of column maps)",
        &[OPEN_F, READ_F],
    ),
    doc(
        "ProcessManager.monitor_processes_cpu",
        "ProcessManager.monitor_processes_cpu(MonitorProcessesCpuOptions) -> array of arrays of ProcessInfo",
        "CPU samples taken delay apart (within the run's deadline)",
        &[LIST],
    ),
    doc(
        "MonitorProcessesCpuOptions",
        "MonitorProcessesCpuOptions() -> MonitorProcessesCpuOptionsBuilder",
        "options: .pids_to_monitor([pids]) .batches(n) .delay_in_seconds(n) .include_threads(b) .build()",
        &[],
    ),
    doc(
        "ProcessManager.nsenter",
        "ProcessManager.nsenter(NamespaceOptions, || { ... }) -> callback result",
        "run the closure inside the process's mount/network namespace (or /run/netns/<name>); always restored; needs CAP_SYS_ADMIN",
        &[MOUNT_NS, NET_NS, FS_NET_NS],
    ),
    doc(
        "NamespaceOptions",
        "NamespaceOptions() -> NamespaceOptionsBuilder",
        "options: .mount(b) .net(b) .pid(n) .net_ns_name(s) .build()",
        &[],
    ),
    doc(
        "ProcessManager.trace",
        "ProcessManager.trace(pid[, TraceOptions]) -> TracedProcess",
        "stack traces through gstack (.pid .threads[].frames[]); gstack needs execute",
        &[TRACE, EXECUTE_F],
    ),
    doc(
        "TraceOptions",
        "TraceOptions() -> TraceOptionsBuilder",
        "options: .ns_pid(n) .build()",
        &[],
    ),
    doc(
        "SystemctlManager",
        "SystemctlManager() -> SystemctlManager",
        "systemd over D-Bus (system bus, or REX_SYSTEMD_BUS); unit names canonical (nginx -> nginx.service)",
        &[],
    ),
    doc(
        "SystemctlManager.start",
        "SystemctlManager.start(unit)",
        "start a unit",
        &[START],
    ),
    doc(
        "SystemctlManager.stop",
        "SystemctlManager.stop(unit)",
        "stop a unit",
        &[STOP],
    ),
    doc(
        "SystemctlManager.restart",
        "SystemctlManager.restart(unit)",
        "restart a unit",
        &[RESTART],
    ),
    doc(
        "SystemctlManager.try_restart",
        "SystemctlManager.try_restart(unit)",
        "restart a unit if it is running",
        &[RESTART],
    ),
    doc(
        "SystemctlManager.status",
        "SystemctlManager.status(unit) -> ServiceInfo",
        "unit status: .name .description .load_state .load_path .unit_file_state .unit_file_preset .sub_state .active_state .need_daemon_reload .main_pid .tasks .memory",
        &[STATUS],
    ),
    doc(
        "SystemctlManager.daemon_reload",
        "SystemctlManager.daemon_reload()",
        "reload systemd's configuration (systemd::Systemd::\"localhost\")",
        &[RELOAD],
    ),
    doc(
        "Signal",
        "Signal::{SIGTERM, SIGQUIT, SIGHUP, SIGKILL}",
        "signals; SIGHUP needs interrupt, the others kill",
        &[],
    ),
    doc(
        "kill::",
        "kill::{SIGTERM, SIGQUIT, SIGHUP, SIGKILL, TERM, QUIT, HUP, KILL}",
        "kill flags (the signal to send)",
        &[],
    ),
    doc(
        "State",
        "State::{ACTIVE, INACTIVE, FAILED, ACTIVATING, DEACTIVATING, MAINTENANCE, RELOADING, REFRESHING, UNKNOWN}",
        "values of ServiceInfo.active_state",
        &[],
    ),
    doc(
        "ProcessErrorKind",
        "ProcessErrorKind::{ProcessNotFound, PidNamespaceOperationError, NamespaceOperationError, PermissionDenied, AuthorizationError, ValidationError, CallbackExecutionError, ProcessEnumerationError, DBusError, PrivilegeError, ServiceNotFound, Other, NotFound, UnsupportedOperation, IoError}",
        "values of e.kind for process and service errors",
        &[],
    ),
];

/// `ProcessManager()`: shared so a script's copies see one listing cache.
#[derive(Debug, Clone, Default)]
pub struct ProcessManager(Rc<RefCell<rex_proc::ProcessManager>>, Rc<RefCell<usize>>);

/// `SystemctlManager()`: shared so copies reuse one bus connection.
#[derive(Debug, Clone)]
pub struct SystemctlManager(Rc<RefCell<rex_proc::SystemctlManager>>);

macro_rules! builder {
    ($name:ident, $inner:ty) => {
        /// An options builder.
        #[derive(Debug, Clone, Default)]
        pub struct $name($inner);
    };
}
builder!(ProcessOptionsBuilder, ProcessOptions);
builder!(KillOptionsBuilder, KillOptions);
builder!(LsofOptionsBuilder, LsofOptions);
builder!(TraceOptionsBuilder, TraceOptions);
builder!(NamespaceOptionsBuilder, NamespaceOptions);
builder!(MonitorOptionsBuilder, MonitorProcessesCpuOptions);

fn proc_error(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    e: ProcessError,
) -> Box<EvalAltResult> {
    sdk_failure(
        state,
        ctx,
        api,
        "ProcessErrorKind",
        e.kind().name(),
        || e.to_string(),
        e.denied(),
    )
}

fn invalid(state: &RunState, message: String) -> Box<EvalAltResult> {
    throw(
        state,
        "ProcessErrorKind",
        ProcessErrorKind::ValidationError.name(),
        message,
        ErrorType::ScriptException,
    )
}

fn dynamic<T: serde::Serialize>(value: &T) -> Dynamic {
    rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
}

fn killed(list: Vec<Killed>) -> Array {
    list.into_iter()
        .map(|k| {
            let mut m = Map::new();
            m.insert("name".into(), k.name.into());
            m.insert("pid".into(), k.pid.into());
            Dynamic::from_map(m)
        })
        .collect()
}

/// Registers a result type: its name, a getter per field, `to_map`, `to_string` and
/// `to_debug`.
macro_rules! result_type {
    ($engine:expr, $ty:ty, $name:literal, [$($field:ident),* $(,)?]) => {{
        $engine.register_rex_type::<$ty>($name);
        $( $engine.register_get(stringify!($field), |v: &mut $ty| dynamic(&v.$field)); )*
        $engine.register_fn("to_map", |v: &mut $ty| dynamic(v));
        $engine.register_fn("to_debug", |v: &mut $ty| format!("{}({})", $name, serde_json::to_string(v).unwrap_or_default()));
    }};
}

#[allow(clippy::too_many_lines)]
pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    result_type!(
        engine,
        ProcessInfo,
        "ProcessInfo",
        [
            name,
            username,
            memory_percent,
            state,
            command,
            pid_namespace,
            memory_usage,
            pid,
            ppid,
            uid,
            recent_cpu_usage,
            historical_cpu_usage,
            start_time,
            is_thread
        ]
    );
    engine.register_fn("to_string", |v: &mut ProcessInfo| v.to_string());
    result_type!(engine, FuserInfo, "FuserInfo", [user, command, pid, access]);
    result_type!(
        engine,
        OpenFileInfo,
        "OpenFileInfo",
        [
            process_name,
            user,
            command,
            file_path,
            pid,
            file_type,
            access,
            fd
        ]
    );
    result_type!(
        engine,
        IpcsInfo,
        "IpcsInfo",
        [shared_memory, queues, semaphores]
    );
    result_type!(engine, TracedProcess, "TracedProcess", [pid, threads]);
    result_type!(
        engine,
        ServiceInfo,
        "ServiceInfo",
        [
            name,
            description,
            load_state,
            load_path,
            unit_file_state,
            unit_file_preset,
            sub_state,
            active_state,
            need_daemon_reload,
            main_pid,
            tasks,
            memory
        ]
    );
    engine.register_fn("to_string", |v: &mut FuserInfo| {
        serde_json::to_string(v).unwrap_or_default()
    });
    engine.register_fn("to_string", |v: &mut OpenFileInfo| {
        serde_json::to_string(v).unwrap_or_default()
    });
    engine.register_fn("to_string", |v: &mut IpcsInfo| {
        serde_json::to_string(v).unwrap_or_default()
    });
    engine.register_fn("to_string", |v: &mut TracedProcess| {
        serde_json::to_string(v).unwrap_or_default()
    });
    engine.register_fn("to_string", |v: &mut ServiceInfo| v.to_string());

    register_signals(engine);
    register_builders(engine, state);
    register_processes(engine, state);
    register_systemd(engine, state);

    let mut kinds = Module::new();
    for k in ProcessErrorKind::ALL {
        kinds.set_var(k.name(), k.name());
    }
    engine.register_static_module("ProcessErrorKind", kinds.into());
}

fn register_signals(engine: &mut Engine) {
    engine.register_rex_type::<Signal>("Signal");
    engine.register_fn("to_string", |s: &mut Signal| s.name().to_owned());
    engine.register_fn("to_debug", |s: &mut Signal| s.name().to_owned());
    engine.register_fn("==", |a: Signal, b: Signal| a == b);
    engine.register_fn("!=", |a: Signal, b: Signal| a != b);
    let mut signals = Module::new();
    let mut flags = Module::new();
    for s in Signal::ALL {
        signals.set_var(s.name(), *s);
        flags.set_var(s.name(), *s);
        flags.set_var(s.name().trim_start_matches("SIG"), *s);
    }
    engine.register_static_module("Signal", signals.into());
    engine.register_static_module("kill", flags.into());
    let mut states = Module::new();
    for (name, value) in rex_proc::systemd::STATES {
        states.set_var(*name, *value);
    }
    engine.register_static_module("State", states.into());
}

#[allow(clippy::too_many_lines)]
fn register_builders(engine: &mut Engine, state: &Rc<RunState>) {
    macro_rules! setter {
        ($b:ty, $name:literal, $arg:ty, |$inner:ident, $v:ident| $body:expr) => {
            engine.register_fn($name, |b: &mut $b, $v: $arg| {
                let mut b = b.clone();
                {
                    let $inner = &mut b.0;
                    $body;
                }
                b
            });
        };
    }
    engine
        .register_rex_type::<ProcessOptionsBuilder>("ProcessOptionsBuilder")
        .register_rex_type::<ProcessOptions>("ProcessOptions")
        .register_fn("ProcessOptions", ProcessOptionsBuilder::default)
        .register_fn("build", |b: &mut ProcessOptionsBuilder| b.0);
    setter!(
        ProcessOptionsBuilder,
        "load_namespace_info",
        bool,
        |o, v| o.load_namespace_info = v
    );
    setter!(ProcessOptionsBuilder, "include_threads", bool, |o, v| o
        .include_threads =
        v);

    engine
        .register_rex_type::<KillOptionsBuilder>("KillOptionsBuilder")
        .register_rex_type::<KillOptions>("KillOptions")
        .register_fn("KillOptions", KillOptionsBuilder::default);
    setter!(KillOptionsBuilder, "pid", INT, |o, v| o.pid = Some(v));
    setter!(KillOptionsBuilder, "process_name", &str, |o, v| o
        .process_name =
        Some(v.to_owned()));
    setter!(KillOptionsBuilder, "username", &str, |o, v| o.username =
        Some(v.to_owned()));
    setter!(KillOptionsBuilder, "command", &str, |o, v| o.command =
        Some(v.to_owned()));
    setter!(KillOptionsBuilder, "exact_match", bool, |o, v| o
        .exact_match =
        v);
    setter!(KillOptionsBuilder, "signal", Signal, |o, v| o.signal = v);
    let s = Rc::clone(state);
    engine.register_fn(
        "build",
        move |b: &mut KillOptionsBuilder| -> Res<KillOptions> {
            b.0.validate().map_err(|e| invalid(&s, e.to_string()))?;
            Ok(b.0.clone())
        },
    );

    engine
        .register_rex_type::<LsofOptionsBuilder>("LsofOptionsBuilder")
        .register_rex_type::<LsofOptions>("LsofOptions")
        .register_fn("LsofOptions", LsofOptionsBuilder::default)
        .register_fn("build", |b: &mut LsofOptionsBuilder| b.0.clone());
    setter!(LsofOptionsBuilder, "path", &str, |o, v| o.path =
        Some(v.to_owned()));
    setter!(LsofOptionsBuilder, "include_subdir", bool, |o, v| o
        .include_subdir =
        v);
    setter!(LsofOptionsBuilder, "pid", INT, |o, v| o.pid = Some(v));

    engine
        .register_rex_type::<TraceOptionsBuilder>("TraceOptionsBuilder")
        .register_rex_type::<TraceOptions>("TraceOptions")
        .register_fn("TraceOptions", TraceOptionsBuilder::default)
        .register_fn("build", |b: &mut TraceOptionsBuilder| b.0);
    setter!(TraceOptionsBuilder, "ns_pid", INT, |o, v| o.ns_pid =
        Some(v));

    engine
        .register_rex_type::<NamespaceOptionsBuilder>("NamespaceOptionsBuilder")
        .register_rex_type::<NamespaceOptions>("NamespaceOptions")
        .register_fn("NamespaceOptions", NamespaceOptionsBuilder::default)
        .register_fn("build", |b: &mut NamespaceOptionsBuilder| b.0.clone());
    setter!(NamespaceOptionsBuilder, "mount", bool, |o, v| o.mount = v);
    setter!(NamespaceOptionsBuilder, "net", bool, |o, v| o.net = v);
    setter!(NamespaceOptionsBuilder, "pid", INT, |o, v| o.pid = Some(v));
    setter!(NamespaceOptionsBuilder, "net_ns_name", &str, |o, v| o
        .net_ns_name =
        Some(v.to_owned()));

    engine
        .register_rex_type::<MonitorOptionsBuilder>("MonitorProcessesCpuOptionsBuilder")
        .register_rex_type::<MonitorProcessesCpuOptions>("MonitorProcessesCpuOptions")
        .register_fn("MonitorProcessesCpuOptions", || {
            MonitorOptionsBuilder(MonitorProcessesCpuOptions {
                batches: 1,
                delay: Duration::from_secs(1),
                ..MonitorProcessesCpuOptions::default()
            })
        })
        .register_fn("build", |b: &mut MonitorOptionsBuilder| b.0.clone());
    setter!(MonitorOptionsBuilder, "include_threads", bool, |o, v| o
        .include_threads =
        v);
    let s = Rc::clone(state);
    engine.register_fn(
        "pids_to_monitor",
        move |b: &mut MonitorOptionsBuilder, pids: Array| -> Res<MonitorOptionsBuilder> {
            let mut b = b.clone();
            b.0.pids_to_monitor = pids
                .into_iter()
                .map(|p| {
                    p.as_int().map_err(|got| {
                        invalid(
                            &s,
                            format!("pids_to_monitor: expected integers, got `{got}`"),
                        )
                    })
                })
                .collect::<Res<_>>()?;
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "batches",
        move |b: &mut MonitorOptionsBuilder, n: INT| -> Res<MonitorOptionsBuilder> {
            let mut b = b.clone();
            b.0.batches =
                u32::try_from(n).map_err(|_| invalid(&s, format!("invalid `batches` `{n}`")))?;
            Ok(b)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "delay_in_seconds",
        move |b: &mut MonitorOptionsBuilder, n: INT| -> Res<MonitorOptionsBuilder> {
            let mut b = b.clone();
            let secs = u64::try_from(n)
                .map_err(|_| invalid(&s, format!("invalid `delay_in_seconds` `{n}`")))?;
            b.0.delay = Duration::from_secs(secs);
            Ok(b)
        },
    );
}

fn flags(state: &RunState, items: Array) -> Res<Signal> {
    let mut signal = Signal::default();
    for d in items {
        let got = d.type_name().to_owned();
        signal = d
            .try_cast::<Signal>()
            .ok_or_else(|| invalid(state, format!("kill: expected a kill:: flag, got `{got}`")))?;
    }
    Ok(signal)
}

#[allow(clippy::too_many_lines)]
fn register_processes(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<ProcessManager>("ProcessManager")
        .register_fn("ProcessManager", ProcessManager::default)
        .register_fn("to_string", |_: &mut ProcessManager| {
            "ProcessManager".to_owned()
        })
        .register_fn("to_debug", |_: &mut ProcessManager| {
            "ProcessManager".to_owned()
        })
        .register_get("filtered", |pm: &mut ProcessManager| {
            INT::try_from(*pm.1.borrow()).unwrap_or(INT::MAX)
        });

    let list = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext,
              api: &'static str,
              pm: &ProcessManager,
              o: ProcessOptions|
              -> Res<Array> {
            s.enter(ctx);
            let listing =
                pm.0.borrow_mut()
                    .processes(&s.gate, o)
                    .map_err(|e| proc_error(&s, ctx, api, e))?;
            *pm.1.borrow_mut() = listing.filtered;
            if listing.filtered > 0 {
                s.log_at(
                    ctx,
                    Level::Warn,
                    &format!(
                        "{api}: {} processes hidden by the policy (process_system::Action::\"list\" denied)",
                        listing.filtered
                    ),
                    Some(api),
                );
            }
            Ok(listing.processes.into_iter().map(Dynamic::from).collect())
        }
    };
    let l = list.clone();
    engine.register_fn(
        "processes",
        move |ctx: NativeCallContext, pm: &mut ProcessManager| {
            l(&ctx, "processes", pm, ProcessOptions::default())
        },
    );
    let l = list.clone();
    engine.register_fn(
        "processes",
        move |ctx: NativeCallContext, pm: &mut ProcessManager, o: ProcessOptions| {
            l(&ctx, "processes", pm, o)
        },
    );
    engine.register_fn("ps", move |ctx: NativeCallContext| {
        list(
            &ctx,
            "ps",
            &ProcessManager::default(),
            ProcessOptions::default(),
        )
    });

    let s = Rc::clone(state);
    engine.register_fn(
        "kill",
        move |ctx: NativeCallContext, pm: &mut ProcessManager, o: KillOptions| -> Res<Array> {
            s.enter(&ctx);
            pm.0.borrow_mut()
                .kill(&s.gate, &o)
                .map(killed)
                .map_err(|e| proc_error(&s, &ctx, "kill", e))
        },
    );
    let kill = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, signal: Signal, pid: INT| -> Res<Array> {
            s.enter(ctx);
            let o = KillOptions {
                pid: Some(pid),
                signal,
                ..KillOptions::default()
            };
            rex_proc::ProcessManager::new()
                .kill(&s.gate, &o)
                .map(killed)
                .map_err(|e| proc_error(&s, ctx, "kill", e))
        }
    };
    let k = kill.clone();
    engine.register_fn("kill", move |ctx: NativeCallContext, pid: INT| {
        k(&ctx, Signal::default(), pid)
    });
    let s = Rc::clone(state);
    engine.register_fn("kill", move |ctx: NativeCallContext, f: Array, pid: INT| {
        kill(&ctx, flags(&s, f)?, pid)
    });

    let s = Rc::clone(state);
    engine.register_fn(
        "processes_using_inode",
        move |ctx: NativeCallContext, pm: &mut ProcessManager, path: &str| -> Res<Array> {
            s.enter(&ctx);
            pm.0.borrow()
                .processes_using_inode(&s.gate, path)
                .map(|v| v.into_iter().map(Dynamic::from).collect())
                .map_err(|e| proc_error(&s, &ctx, "processes_using_inode", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "list_open_files",
        move |ctx: NativeCallContext, pm: &mut ProcessManager, o: LsofOptions| -> Res<Array> {
            s.enter(&ctx);
            pm.0.borrow()
                .list_open_files(&s.gate, &o)
                .map(|v| v.into_iter().map(Dynamic::from).collect())
                .map_err(|e| proc_error(&s, &ctx, "list_open_files", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "ipcs_info",
        move |ctx: NativeCallContext, _: &mut ProcessManager| -> Res<IpcsInfo> {
            s.enter(&ctx);
            rex_proc::ipcs_info(&s.gate).map_err(|e| proc_error(&s, &ctx, "ipcs_info", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "monitor_processes_cpu",
        move |ctx: NativeCallContext,
              pm: &mut ProcessManager,
              o: MonitorProcessesCpuOptions|
              -> Res<Array> {
            s.enter(&ctx);
            pm.0.borrow_mut()
                .monitor_processes_cpu(&s.gate, &o, Some(s.deadline))
                .map(|batches| {
                    batches
                        .into_iter()
                        .map(|b| Dynamic::from_array(b.into_iter().map(Dynamic::from).collect()))
                        .collect()
                })
                .map_err(|e| proc_error(&s, &ctx, "monitor_processes_cpu", e))
        },
    );
    let trace = {
        let s = Rc::clone(state);
        move |ctx: &NativeCallContext, pid: INT, o: TraceOptions| -> Res<TracedProcess> {
            s.enter(ctx);
            rex_proc::trace(&s.gate, pid, o, Some(s.deadline))
                .map_err(|e| proc_error(&s, ctx, "trace", e))
        }
    };
    let t = trace.clone();
    engine.register_fn(
        "trace",
        move |ctx: NativeCallContext, _: &mut ProcessManager, pid: INT| {
            t(&ctx, pid, TraceOptions::default())
        },
    );
    engine.register_fn(
        "trace",
        move |ctx: NativeCallContext, _: &mut ProcessManager, pid: INT, o: TraceOptions| {
            trace(&ctx, pid, o)
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "nsenter",
        move |ctx: NativeCallContext,
              _: &mut ProcessManager,
              o: NamespaceOptions,
              callback: FnPtr|
              -> Res<Dynamic> {
            s.enter(&ctx);
            rex_proc::nsenter(&s.gate, &o, || {
                callback.call_within_context::<Dynamic>(&ctx, ())
            })
            .map_err(|e| proc_error(&s, &ctx, "nsenter", e))?
        },
    );
}

fn register_systemd(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<SystemctlManager>("SystemctlManager")
        .register_fn("SystemctlManager", || {
            SystemctlManager(Rc::new(RefCell::new(rex_proc::SystemctlManager::new())))
        })
        .register_fn("to_string", |_: &mut SystemctlManager| {
            "SystemctlManager".to_owned()
        })
        .register_fn("to_debug", |_: &mut SystemctlManager| {
            "SystemctlManager".to_owned()
        });

    type Op =
        fn(&mut rex_proc::SystemctlManager, &rex_policy::Gate, &str) -> Result<(), ProcessError>;
    let ops: [(&'static str, Op); 4] = [
        ("start", rex_proc::SystemctlManager::start),
        ("stop", rex_proc::SystemctlManager::stop),
        ("restart", rex_proc::SystemctlManager::restart),
        ("try_restart", rex_proc::SystemctlManager::try_restart),
    ];
    for (name, op) in ops {
        let s = Rc::clone(state);
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, sm: &mut SystemctlManager, unit: &str| -> Res<()> {
                s.enter(&ctx);
                op(&mut sm.0.borrow_mut(), &s.gate, unit).map_err(|e| proc_error(&s, &ctx, name, e))
            },
        );
    }
    let s = Rc::clone(state);
    engine.register_fn(
        "status",
        move |ctx: NativeCallContext, sm: &mut SystemctlManager, unit: &str| -> Res<ServiceInfo> {
            s.enter(&ctx);
            sm.0.borrow_mut()
                .status(&s.gate, unit)
                .map_err(|e| proc_error(&s, &ctx, "status", e))
        },
    );
    let s = Rc::clone(state);
    engine.register_fn(
        "daemon_reload",
        move |ctx: NativeCallContext, sm: &mut SystemctlManager| -> Res<()> {
            s.enter(&ctx);
            sm.0.borrow_mut()
                .daemon_reload(&s.gate)
                .map_err(|e| proc_error(&s, &ctx, "daemon_reload", e))
        },
    );
}
