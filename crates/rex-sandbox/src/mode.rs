//! `--sandbox off|auto|required`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::SandboxError;

/// How much of the kernel backstop a run insists on.
///
/// The mode only decides what happens when the kernel cannot enforce part of the plan; it
/// grants nothing and never widens the Cedar policy, which the SDK enforces in every mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// No kernel restriction at all: the SDK is the only wall.
    Off,
    /// Apply what the running kernel supports and report what was left out (the default).
    #[default]
    Auto,
    /// Refuse to run unless every part of the plan (Landlock rules at the ABI they need,
    /// seccomp, `no_new_privs`, resource limits, every thread covered) is enforced.
    Required,
}

impl SandboxMode {
    /// Every mode, in the order of the command-line values.
    pub const ALL: &'static [SandboxMode] = &[Self::Off, Self::Auto, Self::Required];

    /// The command-line spelling: `off`, `auto` or `required`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Auto => "auto",
            Self::Required => "required",
        }
    }
}

impl fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SandboxMode {
    type Err = SandboxError;

    /// Parses `off`, `auto` or `required` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| SandboxError::InvalidMode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_spellings_and_refuses_others() {
        assert_eq!("off".parse::<SandboxMode>().unwrap(), SandboxMode::Off);
        assert_eq!("Auto".parse::<SandboxMode>().unwrap(), SandboxMode::Auto);
        assert_eq!(
            " required ".parse::<SandboxMode>().unwrap(),
            SandboxMode::Required
        );
        let e = "strict".parse::<SandboxMode>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid sandbox mode `strict` (expected off, auto or required)"
        );
        assert_eq!(SandboxMode::default(), SandboxMode::Auto);
    }
}
