//! rex-sandbox: the kernel backstop under the rex SDK.
//!
//! The SDK is the first wall: every host operation asks the Cedar policy first. This crate
//! is the second: before the script's first operation, the runner restricts its own
//! process so that a bug in the SDK is not a hole. From the policy it derives
//!
//! - **Landlock filesystem rules**: for each `permit`, the literal `file_system::File` /
//!   `file_system::Dir` of `resource ==` / `resource in` (or a readable `when` on
//!   `resource.path`), with the rights its actions need (table in `fs_rights`). A permit
//!   with no readable resource leaves the rights of its actions *unrestricted* (they are
//!   not handled by the ruleset) and the report says so. `forbid`s cannot be expressed
//!   (Landlock only allows); the SDK still enforces them.
//! - **Landlock network rules** (ABI ≥ 4): TCP `connect` only to the ports the network
//!   permits name (`resource.port == N`, a URL literal), plus 53 for the system resolver;
//!   TCP `bind` never. A network permit with no readable port leaves connect unrestricted.
//! - **Landlock scopes** (ABI ≥ 6): no signals to processes outside the sandbox unless
//!   kill/interrupt/trace are permitted; no abstract UNIX sockets outside it unless
//!   systemd actions are.
//! - **`no_new_privs`** and a **seccomp filter** refusing (with `EPERM`) system calls no SDK
//!   operation needs: ptrace and cross-process memory access (unless `trace` is
//!   permitted), mounts, `umount2` (unless `unmount` is), kexec, bpf, module loading,
//!   keyrings, userfaultfd, perf, reboot, swap, chroot/pivot_root, open_by_handle_at,
//!   io_uring, setns/unshare and namespace flags of clone (unless a namespace action is).
//! - **Resource limits**: address space, open files, processes, no core dumps.
//!
//! Two policy choices cannot coexist with Landlock and switch it off (with a note): an
//! explicit `unmount` permit (Landlock refuses every unmount: no filesystem ruleset), and
//! an explicit `list_fds`, `trace` or process-namespace permit (no Landlock domain may
//! inspect processes outside it: no ruleset at all).
//!
//! Plus what the runner itself needs after start (`/proc/self`, `/dev/null`, system
//! libraries, ...) and what permitted actions imply beyond their resource (the dynamic
//! loader for `execute`, resolver files for network actions, `/proc` for process
//! information, ...). Everything is listed in `docs/sandbox.md`.
//!
//! ```no_run
//! use rex_sandbox::{SandboxConfig, SandboxMode, apply, plan};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policies = rex_policy::Policies::load_file("policy.cedar")?;
//! let cfg = SandboxConfig { mode: "required".parse()?, ..SandboxConfig::default() };
//! let plan = plan(&policies, &cfg);
//! let report = apply(&plan)?; // before the script thread starts
//! for line in report.lines() {
//!     eprintln!("{line}");
//! }
//! # Ok(()) }
//! ```
//!
//! Nothing here authorizes anything: the sandbox only takes rights away, and every script
//! operation still needs its Cedar permit.
#![forbid(unsafe_code)]

mod apply;
mod condition;
mod config;
mod error;
mod fs_rights;
mod landlock_rules;
mod limits;
mod mode;
mod net_ports;
mod plan;
mod report;
mod scan;
mod seccomp_filter;

pub use apply::apply;
pub use config::{
    DEFAULT_ADDRESS_SPACE, DEFAULT_OPEN_FILES, DEFAULT_PROCESSES, ResourceLimits, SandboxConfig,
};
pub use error::{SandboxError, SandboxErrorKind};
pub use landlock::{AccessFs, BitFlags};
pub use landlock_rules::landlock_abi;
pub use mode::SandboxMode;
pub use plan::{FsPlan, FsRule, RuleOrigin, SandboxPlan, plan};
pub use report::{Enforcement, SandboxReport};
pub use seccomp_filter::{Family, RefusedSyscall, catalogue as refusable_syscalls};
