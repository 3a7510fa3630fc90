//! Rhai bindings, one file per domain. Each file registers its functions and lists them
//! in a `DOCS` table (signature, Cedar checks) that `rex functions` prints; a test checks
//! that the table and the registrations agree.

#[cfg(feature = "fs")]
pub mod fs;
pub mod log;
pub mod metrics;
pub(crate) mod names;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "proc")]
pub mod proc;
#[cfg(feature = "sys")]
pub mod sys;
pub mod time;

use rhai::Engine;
use serde::Serialize;

/// One Cedar check a function makes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Check {
    /// The action uid, e.g. `file_system::Action::"read"`.
    pub action: &'static str,
    /// The resource entity type, e.g. `file_system::File`.
    pub resource: &'static str,
}

/// Reference entry for one script function.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct FnDoc {
    /// The SDK domain (`fs`, `log`, `metrics`).
    pub domain: &'static str,
    /// Name as called from a script (`cat`, `DirHandle.open_file`, `cat::number`).
    pub name: &'static str,
    /// Signature, Rhai style.
    pub signature: &'static str,
    /// What it does, one line.
    pub summary: &'static str,
    /// The Cedar checks it makes, in order.
    pub checks: &'static [Check],
}

pub(crate) const fn check(action: &'static str, resource: &'static str) -> Check {
    Check { action, resource }
}

/// Every function, method, constant module and builder the engine exposes, with the
/// checks it makes. Domains an embedder turned off are still listed here.
pub fn all_docs() -> Vec<FnDoc> {
    let mut docs = Vec::new();
    docs.extend_from_slice(log::DOCS);
    docs.extend_from_slice(metrics::DOCS);
    docs.extend_from_slice(time::DOCS);
    #[cfg(feature = "fs")]
    docs.extend_from_slice(fs::DOCS);
    #[cfg(feature = "proc")]
    docs.extend_from_slice(proc::DOCS);
    #[cfg(feature = "sys")]
    docs.extend_from_slice(sys::DOCS);
    #[cfg(feature = "net")]
    docs.extend_from_slice(net::DOCS);
    docs
}

thread_local! {
    /// The custom types registered while an engine is built on this thread (see
    /// [`RegisterRexType`]); [`take_rex_types`] moves them into the engine.
    static REX_TYPES: std::cell::RefCell<rhai::Module> = const { std::cell::RefCell::new(rhai::Module::new()) };
}

/// Registers a custom type's display name in a module of its own instead of the engine's
/// global namespace (what `Engine::register_type_with_name` does).
///
/// Rhai looks the receiver's type name up in the global namespace on every method call,
/// and the global namespace is searched first: with about 100 rex types in it, that search
/// cost more than the rest of a `path.len()` call. The types go into one module that
/// `engine::build` registers as a global module right after the global namespace, so
/// names, `type_of` and error messages are the same.
pub(crate) trait RegisterRexType {
    /// Registers `T` under `name` (collected until [`take_rex_types`]).
    fn register_rex_type<T: Clone + 'static>(&mut self, name: &str) -> &mut Self;
}

impl RegisterRexType for Engine {
    fn register_rex_type<T: Clone + 'static>(&mut self, name: &str) -> &mut Self {
        REX_TYPES.with(|m| {
            m.borrow_mut().set_custom_type::<T>(name);
        });
        self
    }
}

/// The custom types collected on this thread since the last call.
pub(crate) fn take_rex_types() -> rhai::Module {
    REX_TYPES.with(|m| std::mem::take(&mut *m.borrow_mut()))
}
