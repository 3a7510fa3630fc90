//! rex-sys: system information, sysctl and disks, authorized by the Cedar gate.
//!
//! - **System information** ([`SystemInfo`]): host name, CPU count and uname need
//!   `sysinfo::Action::"list"` on `sysinfo::Sysinfo::"localhost"` (one stable id for this
//!   host, so a policy can name it); memory, swap, kernel statistics, slab caches and the
//!   kernel log need `read` on the `/proc` (or `/dev/kmsg`) file they come from, and are
//!   read through the fd opened right after that check — never one path checked and
//!   another read.
//! - **sysctl** ([`SysctlManager`]): a key is the file `/proc/sys/<key with . → />`,
//!   opened with `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)` below `/proc/sys` after
//!   `open`/`read`/`write` on it are authorized. `load_system` runs `sysctl --system` only
//!   with `sysctl:load` *and* `execute` on the program, with a clean environment.
//! - **Disks**: [`Filesystems`] (`df`), [`iostat`], [`lsblk`], [`format_bytes`] and
//!   [`unmount`] (walked without symlinks, authorized on the canonical mount point,
//!   unmounted relative to the parent directory fd).
//!
//! The principal and the process credentials never change; what the runner lacks the
//! rights for fails with the OS error. Linux only.
#![forbid(unsafe_code)]

mod checked;
mod disk;
mod dmesg;
mod error;
mod kernel_stats;
mod memory;
mod slab;
mod sysctl;
mod sysinfo;

pub use checked::{HOST_ID, SYSINFO_TYPE, sysinfo_resource};
pub use disk::{
    BlockDevice, CpuStats, DeviceStats, Filesystem, FilesystemOptions, Filesystems, IoStatSnapshot,
    Unit, UnmountOptions, format_bytes, iostat, lsblk, unmount,
};
pub use dmesg::{DmesgEntry, DmesgOptions, MAX_DMESG_ENTRIES};
pub use error::{DiskinfoErrorKind, SysError, SysteminfoErrorKind};
pub use kernel_stats::{CpuTime, KernelStats};
pub use memory::{Meminfo, Swapinfo};
pub use slab::{Slab, SlabInfo, SlabSummary};
pub use sysctl::{
    MAX_FIND_ENTRIES, SYSCTL_PROGRAM, SYSCTL_TYPE, SysctlEntry, SysctlManager, key_to_relative,
};
pub use sysinfo::{SystemInfo, UnameInfo};
