//! SDK errors as the catchable map `#{kind, message, source}` every SDK throws.

use rex_policy::Denied;
use rhai::{Dynamic, EvalAltResult, Map, NativeCallContext, Position};

use crate::log::Level;
use crate::output::ErrorType;
use crate::state::{DenialText, RunState};

/// Converts a failed SDK call into the thrown map. `source` is the SDK's error-kind module
/// (`IoErrorKind`, `ProcessErrorKind`, ...), `kind` the variant name. When the failure is
/// a policy denial (`denied` is `Some`), it is logged at WARN with the API name, its full
/// explanation is kept for `rex run`'s stderr, and it is classified ACCESS_DENIED; every
/// other failure is a SCRIPT_EXCEPTION.
pub(crate) fn sdk_failure(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &str,
    source: &str,
    kind: &str,
    message: String,
    denied: Option<&Denied>,
) -> Box<EvalAltResult> {
    let class = match denied {
        Some(denied) => {
            // The explanation follows from the message (both are made from the same
            // denial), so a repeated denial does not build it again.
            let mut denials = state.denials.borrow_mut();
            let line = match denials.get(&message) {
                Some(known) => known.log_line.clone(),
                None => {
                    let log_line = format!("denied: {denied}");
                    let text = DenialText {
                        explanation: denied.explain(),
                        log_line: log_line.clone(),
                    };
                    denials.insert(message.clone(), text);
                    log_line
                }
            };
            drop(denials);
            state.log_at(ctx, Level::Warn, &line, Some(api));
            ErrorType::AccessDeniedException
        }
        None => ErrorType::ScriptException,
    };
    throw(state, source, kind, message, class)
}

/// Builds the map for an SDK error, remembers its class by message, and returns the
/// Rhai error to throw.
pub(crate) fn throw(
    state: &RunState,
    source: &str,
    kind: &str,
    message: String,
    class: ErrorType,
) -> Box<EvalAltResult> {
    let mut errors = state.sdk_errors.borrow_mut();
    match errors.get_mut(&message) {
        Some(known) => *known = class,
        None => {
            errors.insert(message.clone(), class);
        }
    }
    drop(errors);
    let mut map = Map::new();
    map.insert("kind".into(), kind.into());
    map.insert("message".into(), message.into());
    map.insert("source".into(), source.into());
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from_map(map),
        Position::NONE,
    ))
}

/// The `(source, kind, message)` of a thrown SDK error map, if `value` is one.
pub(crate) fn as_sdk_map(value: &Dynamic) -> Option<(String, String, String)> {
    let map = value.read_lock::<Map>()?;
    let get = |k: &str| {
        map.get(k)
            .and_then(|v| v.clone().into_immutable_string().ok())
    };
    Some((
        get("source")?.to_string(),
        get("kind")?.to_string(),
        get("message")?.to_string(),
    ))
}

/// An argument error thrown by a binding (bad option, wrong flag type).
pub(crate) fn invalid_argument(
    state: &RunState,
    source: &str,
    message: String,
) -> Box<EvalAltResult> {
    throw(
        state,
        source,
        "InvalidArguments",
        message,
        ErrorType::ScriptException,
    )
}
