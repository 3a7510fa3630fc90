//! The signals a script may send, and the Cedar action each one needs.

use rex_policy::Action;
use rex_policy::action::process;

/// A signal `kill` may send. Only these four exist, as in the original; each needs
/// `process_system::Action::"kill"` except SIGHUP, which needs `"interrupt"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Signal {
    /// SIGTERM (15), the default.
    #[default]
    Sigterm,
    /// SIGQUIT (3).
    Sigquit,
    /// SIGHUP (1).
    Sighup,
    /// SIGKILL (9).
    Sigkill,
}

impl Signal {
    /// Every signal.
    pub const ALL: &'static [Signal] = &[Self::Sigterm, Self::Sigquit, Self::Sighup, Self::Sigkill];

    /// The name, e.g. `SIGTERM`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Sigterm => "SIGTERM",
            Self::Sigquit => "SIGQUIT",
            Self::Sighup => "SIGHUP",
            Self::Sigkill => "SIGKILL",
        }
    }

    /// The signal number.
    pub const fn number(&self) -> i32 {
        match self {
            Self::Sigterm => 15,
            Self::Sigquit => 3,
            Self::Sighup => 1,
            Self::Sigkill => 9,
        }
    }

    /// The signal with this number, if it is one of the four.
    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| i64::from(s.number()) == n)
    }

    /// The Cedar action needed to send it: `interrupt` for SIGHUP, `kill` otherwise.
    pub const fn action(&self) -> Action {
        match self {
            Self::Sighup => process::INTERRUPT,
            _ => process::KILL,
        }
    }

    pub(crate) fn to_rustix(self) -> rustix::process::Signal {
        match self {
            Self::Sigterm => rustix::process::Signal::TERM,
            Self::Sigquit => rustix::process::Signal::QUIT,
            Self::Sighup => rustix::process::Signal::HUP,
            Self::Sigkill => rustix::process::Signal::KILL,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_actions() {
        for s in Signal::ALL {
            assert_eq!(Signal::from_number(i64::from(s.number())), Some(*s));
            assert_eq!(s.to_rustix().as_raw(), s.number());
        }
        assert_eq!(Signal::Sighup.action(), process::INTERRUPT);
        assert_eq!(Signal::Sigkill.action(), process::KILL);
        assert_eq!(Signal::from_number(2), None);
    }
}
