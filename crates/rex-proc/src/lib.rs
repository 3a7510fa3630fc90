//! rex-proc: processes and systemd services, authorized by the Cedar gate.
//!
//! - **Processes** ([`ProcessManager`]): every process is read from its own
//!   `/proc/<pid>` directory fd and authorized as `process_system::Process::"<pid>"` with
//!   the attributes `name`, `username` and `command`. Listings drop (and count) the
//!   processes `list` denies. Signals go through a pidfd ([`ProcessHandle`]) that was
//!   opened *before* the attributes were read and is checked to still be running after,
//!   so the process the policy allowed is the one that receives the signal; a pid that
//!   was reused is never signalled.
//! - **systemd** ([`SystemctlManager`]): units are named by their canonical name
//!   ([`UnitName`]: `nginx` → `nginx.service`) before they become Cedar ids, and driven
//!   over D-Bus with `zbus`. The bus is the system bus, or the one in `REX_SYSTEMD_BUS`.
//! - **Inspection**: `fuser` ([`ProcessManager::processes_using_inode`]), `lsof`
//!   ([`ProcessManager::list_open_files`]), System V IPC ([`ipcs_info`]), CPU monitoring,
//!   namespaces ([`nsenter`]) with guaranteed restore, and stack traces through `gstack`
//!   (which needs `execute` like any program).
//!
//! The principal never changes: there is no setuid dance. An operation the runner lacks
//! the rights for fails with the OS error (`PrivilegeError`), never with more privilege.
//! Linux only.
#![forbid(unsafe_code)]

mod error;
mod fds;
mod handle;
mod info;
mod ipcs;
mod manager;
mod monitor;
mod nsenter;
mod procfs;
mod signal;
pub mod systemd;
pub mod testbus;
mod trace;

pub use error::{ProcessError, ProcessErrorKind};
pub use fds::{FuserInfo, LsofOptions, OpenFileInfo};
pub use handle::{PROCESS_TYPE, ProcessHandle, ProcessSnapshot};
pub use info::{ProcessInfo, state_name};
pub use ipcs::{IpcEntry, IpcsInfo, ipcs_info};
pub use manager::{KillOptions, Killed, Listing, MAX_PROCESSES, ProcessManager, ProcessOptions};
pub use monitor::{MAX_BATCHES, MonitorProcessesCpuOptions};
pub use nsenter::{NamespaceOptions, nsenter};
pub use signal::Signal;
pub use systemd::{ServiceInfo, SystemctlManager, UnitName};
pub use trace::{Frame, GSTACK, TraceOptions, TracedProcess, TracedThread, trace};
