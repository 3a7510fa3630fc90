//! Bindings of `rex-sys`: system information, sysctl and disks.

use std::rc::Rc;

use rhai::Engine;

use super::FnDoc;
use crate::state::RunState;

pub(crate) const DOCS: &[FnDoc] = &[FnDoc {
    domain: "sys",
    name: "SystemInfo",
    signature: "SystemInfo() -> SystemInfo",
    summary: "system information manager (methods below)",
    checks: &[],
}];

/// The `SystemInfo()` manager value. Its methods are registered here and, for DNS
/// (`resolve_hostname`), in `bindings/net.rs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemInfo;

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    let _ = state;
    engine
        .register_type_with_name::<SystemInfo>("SystemInfo")
        .register_fn("SystemInfo", || SystemInfo)
        .register_fn("to_string", |_: &mut SystemInfo| "SystemInfo".to_owned());
}
