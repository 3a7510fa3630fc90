//! SDK errors as the catchable map `#{kind, message, source}` every SDK throws.

use rex_policy::Denied;
use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, NativeCallContext, Position};

use crate::log::Level;
use crate::output::ErrorType;
use crate::state::{DenialText, RunState};

/// Converts a failed SDK call into the thrown map. `source` is the SDK's error-kind module
/// (`IoErrorKind`, `ProcessErrorKind`, ...), `kind` the variant name, `message` makes the
/// error's text. When the failure is a policy denial (`denied` is `Some`), it is logged at
/// WARN with the API name, its full explanation is kept for `rex run`'s stderr, and it is
/// classified ACCESS_DENIED; every other failure is a SCRIPT_EXCEPTION.
///
/// A denial the run already threw (the same `source`, `kind` and `Denied`) reuses the
/// message, log line and explanation made the first time: `message` is called once per
/// distinct denial. Every SDK error enum wraps its `Denied` transparently, so its text is
/// a function of those three.
pub(crate) fn sdk_failure(
    state: &RunState,
    ctx: &NativeCallContext,
    api: &'static str,
    source: &str,
    kind: &str,
    message: impl FnOnce() -> String,
    denied: Option<&Denied>,
) -> Box<EvalAltResult> {
    let Some(denied) = denied else {
        return throw(state, source, kind, message(), ErrorType::ScriptException);
    };
    let (message, log_line) = state.thrown_denial(source, kind, denied, || {
        let message = message();
        let log_line = format!("denied: {denied}");
        state.denials.borrow_mut().insert(
            message.clone(),
            DenialText {
                explanation: denied.explain(),
            },
        );
        (message, log_line)
    });
    state.log_shared_at(ctx, Level::Warn, log_line, Some(api));
    throw(
        state,
        source,
        kind,
        message,
        ErrorType::AccessDeniedException,
    )
}

/// Builds the map for an SDK error, remembers its class by message, and returns the
/// Rhai error to throw.
pub(crate) fn throw(
    state: &RunState,
    source: &str,
    kind: &str,
    message: impl Into<ImmutableString>,
    class: ErrorType,
) -> Box<EvalAltResult> {
    let message = message.into();
    let mut errors = state.sdk_errors.borrow_mut();
    match errors.get_mut(message.as_str()) {
        Some(known) => *known = class,
        None => {
            errors.insert(message.to_string(), class);
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
