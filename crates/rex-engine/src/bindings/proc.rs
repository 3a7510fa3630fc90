//! Bindings of `rex-proc`.

use std::rc::Rc;

use rhai::Engine;

use super::FnDoc;
use crate::state::RunState;

pub(crate) const DOCS: &[FnDoc] = &[];

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    let _ = (engine, state);
}
