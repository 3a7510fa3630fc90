//! `SystemInfo`: host name, CPU count and uname, each authorized with
//! `sysinfo::Action::"list"` on `sysinfo::Sysinfo::"localhost"`.

use rex_policy::Gate;
use rex_policy::action::sysinfo;
use serde::Serialize;

use crate::checked::sysinfo_resource;
use crate::error::SysError;

/// The system-information manager. Each method authorizes its own request; holding one
/// authorizes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemInfo;

/// `uname -a`, field by field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnameInfo {
    /// `Linux`.
    pub kernel_name: String,
    /// Network node name.
    pub nodename: String,
    /// Kernel release (`6.1.0-18-amd64`).
    pub kernel_release: String,
    /// Kernel version (`#1 SMP PREEMPT_DYNAMIC ...`).
    pub kernel_version: String,
    /// Machine (`x86_64`).
    pub machine: String,
    /// Processor (as `uname -p`: the machine).
    pub processor: String,
    /// Hardware platform (as `uname -i`: the machine).
    pub hardware_platform: String,
    /// `GNU/Linux`.
    pub operating_system: String,
}

impl std::fmt::Display for UnameInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.kernel_name,
            self.nodename,
            self.kernel_release,
            self.kernel_version,
            self.machine,
            self.operating_system
        )
    }
}

impl SystemInfo {
    /// A manager. Authorizes nothing.
    pub fn new() -> Self {
        Self
    }

    fn list(gate: &Gate) -> Result<(), SysError> {
        gate.check(sysinfo::LIST, &sysinfo_resource())?;
        Ok(())
    }

    /// The host name (`uname` nodename). Needs `sysinfo:list`.
    pub fn hostname(&self, gate: &Gate) -> Result<String, SysError> {
        Self::list(gate)?;
        Ok(rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned())
    }

    /// CPUs this process may run on (`nproc`). Needs `sysinfo:list`.
    pub fn cpu_count(&self, gate: &Gate) -> Result<usize, SysError> {
        Self::list(gate)?;
        Ok(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    }

    /// `uname`. Needs `sysinfo:list`.
    pub fn uname_info(&self, gate: &Gate) -> Result<UnameInfo, SysError> {
        Self::list(gate)?;
        let u = rustix::system::uname();
        let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
        let machine = s(u.machine());
        Ok(UnameInfo {
            kernel_name: s(u.sysname()),
            nodename: s(u.nodename()),
            kernel_release: s(u.release()),
            kernel_version: s(u.version()),
            processor: machine.clone(),
            hardware_platform: machine.clone(),
            machine,
            operating_system: "GNU/Linux".to_owned(),
        })
    }
}
