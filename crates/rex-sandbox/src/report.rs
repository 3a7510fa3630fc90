//! What [`crate::apply`] enforced, for the run's logs and the audit log.

use serde::Serialize;

use crate::mode::SandboxMode;

/// How much of the planned Landlock ruleset the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Every planned right, port and scope.
    Full,
    /// Some: the kernel's Landlock ABI lacks part of the plan (the notes say which).
    Partial,
    /// None: Landlock is unavailable, the mode is off, or nothing was left to restrict.
    None,
}

impl Enforcement {
    /// `full`, `partial` or `none`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Partial => "partial",
            Self::None => "none",
        }
    }
}

/// The outcome of [`crate::apply`]. It states what the kernel now enforces on this
/// process and what was left out; it grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxReport {
    /// The mode that was applied.
    pub mode: SandboxMode,
    /// The running kernel's Landlock ABI version (`None`: Landlock unavailable, or mode off).
    pub landlock_abi: Option<i32>,
    /// How much of the Landlock plan is enforced.
    pub landlock: Enforcement,
    /// Filesystem rules added to the ruleset.
    pub landlock_rules: usize,
    /// TCP ports `connect` may reach under Landlock; `None` when TCP connect is not
    /// restricted (the policy names no port, or the ABI lacks network rules).
    pub connect_ports: Option<Vec<u16>>,
    /// Whether the seccomp filter is installed (on every thread).
    pub seccomp: bool,
    /// System calls it refuses with `EPERM`.
    pub refused_syscalls: Vec<&'static str>,
    /// Whether `no_new_privs` is set.
    pub no_new_privs: bool,
    /// The resource limits set, `None` when they could not be (see notes).
    pub resource_limits: Option<String>,
    /// What was left out and why.
    pub notes: Vec<String>,
}

impl SandboxReport {
    pub(crate) fn new(mode: SandboxMode) -> Self {
        Self {
            mode,
            landlock_abi: None,
            landlock: Enforcement::None,
            landlock_rules: 0,
            connect_ports: None,
            seccomp: false,
            refused_syscalls: Vec::new(),
            no_new_privs: false,
            resource_limits: None,
            notes: Vec::new(),
        }
    }

    /// Human lines for the output document's logs, first the summary then one per note.
    pub fn lines(&self) -> Vec<String> {
        if self.mode == SandboxMode::Off {
            return vec!["sandbox: off (the SDK's policy checks are the only wall)".to_owned()];
        }
        let abi = self
            .landlock_abi
            .map_or_else(|| "unavailable".to_owned(), |a| a.to_string());
        let net = match &self.connect_ports {
            Some(p) if p.is_empty() => "TCP connect refused".to_owned(),
            Some(p) => format!(
                "TCP connect to ports {}",
                p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            ),
            None => "TCP connect unrestricted".to_owned(),
        };
        let mut out = vec![
            format!("sandbox: mode {}", self.mode),
            format!(
                "sandbox: landlock {} (ABI {abi}): {} filesystem rules, {net}",
                self.landlock.name(),
                self.landlock_rules
            ),
            if self.seccomp {
                format!(
                    "sandbox: seccomp on, refusing with EPERM: {}",
                    self.refused_syscalls.join(", ")
                )
            } else {
                "sandbox: seccomp off".to_owned()
            },
            format!(
                "sandbox: no_new_privs {}",
                if self.no_new_privs { "on" } else { "off" }
            ),
            format!(
                "sandbox: limits {}",
                self.resource_limits.as_deref().unwrap_or("not set")
            ),
        ];
        out.extend(self.notes.iter().map(|n| format!("sandbox note: {n}")));
        out
    }
}
