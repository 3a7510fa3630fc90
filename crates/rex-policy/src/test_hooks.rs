//! Test-only hook: a gate that skips its check for one named action, as a buggy SDK
//! would, so tests can show that the kernel backstop (`rex-sandbox`) refuses on its own
//! what the policy does not cover.
//!
//! Compiled only with the `test-hooks` cargo feature, which no binary or library of rex
//! enables: only dev-dependencies do (`crates/rex-cli/tests/sdk_bypass.rs`). No command
//! line flag, environment variable, script function or policy reaches it; it takes Rust
//! code that calls [`GateBuilder::skip_check_for_tests`].

use super::{Gate, GateBuilder};
use crate::action::Action;
use crate::gate::Permit;
use crate::resource::Resource;

impl GateBuilder {
    /// TEST ONLY (feature `test-hooks`): every check of `action` returns a [`Permit`]
    /// without asking the policy and without a decision record, as if the SDK had
    /// forgotten to check. Authorizes `action` on every resource; never use it outside
    /// tests of the kernel backstop.
    #[must_use]
    pub fn skip_check_for_tests(mut self, action: Action) -> Self {
        self.skip_check = Some(action);
        self
    }
}

impl Gate {
    /// The permit a skipped check hands out, when `action` is the skipped one.
    pub(super) fn skipped_check(&self, action: Action, resource: &Resource) -> Option<Permit> {
        (self.skip_check == Some(action)).then(|| Permit {
            action,
            resource_id: resource.shared_id(),
            audited: false,
        })
    }
}
