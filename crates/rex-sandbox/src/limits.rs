//! Resource limits through `setrlimit`.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::config::ResourceLimits;
use crate::error::SandboxError;

/// Sets each configured limit, soft and hard alike, never above the current hard limit.
pub(crate) fn apply(limits: &ResourceLimits) -> Result<(), SandboxError> {
    let core = if limits.core_dumps { None } else { Some(0) };
    for (resource, name, value) in [
        (Resource::As, "address space", limits.address_space),
        (Resource::Nofile, "open files", limits.open_files),
        (Resource::Nproc, "processes", limits.processes),
        (Resource::Core, "core dumps", core),
    ] {
        let Some(value) = value else {
            continue;
        };
        let hard = getrlimit(resource).maximum;
        let v = hard.map_or(value, |h| value.min(h));
        setrlimit(
            resource,
            Rlimit {
                current: Some(v),
                maximum: Some(v),
            },
        )
        .map_err(|e| SandboxError::ResourceLimit {
            resource: name,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}
