//! Time (part of the original's common utils, §4.7): `now()`, `from_epoch_seconds(s)` and
//! the `DateTime` value with `.epoch_seconds()`, `.nanos()`, `to_string()` (RFC 3339 UTC)
//! and comparisons. Reads the clock only; no Cedar check.

use rhai::{Engine, INT};

use super::FnDoc;

pub(crate) const DOCS: &[FnDoc] = &[
    FnDoc {
        domain: "time",
        name: "now",
        signature: "now() -> DateTime",
        summary: "the current time (UTC); .epoch_seconds() .nanos()",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "from_epoch_seconds",
        signature: "from_epoch_seconds(seconds) -> DateTime",
        summary: "a time from seconds since 1970",
        checks: &[],
    },
];

/// A UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(jiff::Timestamp);

pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<DateTime>("DateTime")
        .register_fn("now", || DateTime(jiff::Timestamp::now()))
        .register_fn("from_epoch_seconds", |s: INT| {
            jiff::Timestamp::from_second(s)
                .map(DateTime)
                .map_err(|e| format!("invalid time `{s}`: {e}").into())
                as Result<DateTime, Box<rhai::EvalAltResult>>
        })
        .register_fn("epoch_seconds", |d: &mut DateTime| d.0.as_second())
        .register_fn("nanos", |d: &mut DateTime| {
            INT::from(d.0.subsec_nanosecond())
        })
        .register_fn("to_string", |d: &mut DateTime| d.0.to_string())
        .register_fn("to_debug", |d: &mut DateTime| d.0.to_string())
        .register_fn("==", |a: DateTime, b: DateTime| a == b)
        .register_fn("!=", |a: DateTime, b: DateTime| a != b)
        .register_fn("<", |a: DateTime, b: DateTime| a < b)
        .register_fn("<=", |a: DateTime, b: DateTime| a <= b)
        .register_fn(">", |a: DateTime, b: DateTime| a > b)
        .register_fn(">=", |a: DateTime, b: DateTime| a >= b);
}
