//! Time (the original's common utils, §4.7): `DateTime(y, mo, d, h, mi, s, ns)`, `now()`,
//! `now_nanos()`, `from_epoch_seconds(s)`, `from_epoch_nanos(s, ns)`,
//! `parse_datetime(text, DateTimeFormat::RFC3339 | RFC2822)`, and the `DateTime` value
//! (UTC) with `.epoch_seconds()`, `.nanos()`, `.to_string(format)`, `.month_str()`,
//! `.month_str_short()`, the properties `.year .month .day .hour .minute .second
//! .nanosecond`, `dt + secs`, `dt - secs`, `dt1 - dt2` (seconds) and comparisons.
//! `FindOptions`' time bounds take a `DateTime`. Reads the clock only; no Cedar check.
//! Bad input throws `#{kind, message, source: "CommonUtilsErrorKind"}` with `kind`
//! `ParseError` or `InvalidArguments`.

use crate::bindings::RegisterRexType as _;
use std::rc::Rc;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rhai::{Engine, EvalAltResult, INT, Module};

use super::FnDoc;
use crate::output::ErrorType;
use crate::sdk_error::throw;
use crate::state::RunState;

const SOURCE: &str = "CommonUtilsErrorKind";

pub(crate) const DOCS: &[FnDoc] = &[
    FnDoc {
        domain: "time",
        name: "DateTime",
        signature: "DateTime(year, month, day, hour, minute, second, nanosecond) -> DateTime",
        summary: "a UTC time from its parts; .year .month .day .hour .minute .second .nanosecond .epoch_seconds() .nanos() .to_string(DateTimeFormat::X) .month_str() .month_str_short(); dt + secs, dt - secs, dt1 - dt2 (seconds), comparisons",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "now",
        signature: "now() -> DateTime",
        summary: "the current time (UTC)",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "now_nanos",
        signature: "now_nanos() -> DateTime",
        summary: "the current time (UTC) with nanoseconds (same as now())",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "from_epoch_seconds",
        signature: "from_epoch_seconds(seconds) -> DateTime",
        summary: "a time from seconds since 1970",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "from_epoch_nanos",
        signature: "from_epoch_nanos(seconds, nanoseconds) -> DateTime",
        summary: "a time from seconds since 1970 plus nanoseconds",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "parse_datetime",
        signature: "parse_datetime(text, DateTimeFormat::RFC3339 | DateTimeFormat::RFC2822) -> DateTime",
        summary: "parse a time; throws ParseError naming the text",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "DateTimeFormat",
        signature: "DateTimeFormat::{RFC3339, RFC2822}",
        summary: "formats for parse_datetime and DateTime.to_string(format)",
        checks: &[],
    },
    FnDoc {
        domain: "time",
        name: "CommonUtilsErrorKind",
        signature: "CommonUtilsErrorKind::{ParseError, InvalidArguments, FormatError, Other}",
        summary: "error kinds of the time functions",
        checks: &[],
    },
];

/// A UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(Timestamp);

impl DateTime {
    /// Seconds since 1970 (negative before).
    pub fn epoch_seconds(self) -> i64 {
        self.0.as_second()
    }
}

/// `DateTimeFormat::RFC3339` or `DateTimeFormat::RFC2822`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeFormat {
    /// `2026-11-21T10:00:00Z`.
    Rfc3339,
    /// `Sat, 21 Nov 2026 10:00:00 +0000`.
    Rfc2822,
}

type Res<T> = Result<T, Box<EvalAltResult>>;

fn fail(state: &RunState, kind: &str, message: String) -> Box<EvalAltResult> {
    throw(state, SOURCE, kind, message, ErrorType::ScriptException)
}

fn civil(d: DateTime) -> jiff::civil::DateTime {
    d.0.to_zoned(TimeZone::UTC).datetime()
}

/// `DateTime(y, mo, d, h, mi, s, ns)` in UTC.
fn parts(state: &RunState, [y, mo, d, h, mi, s, ns]: [INT; 7]) -> Res<DateTime> {
    let bad = || {
        fail(
            state,
            "InvalidArguments",
            format!("invalid date and time `{y}-{mo}-{d} {h}:{mi}:{s}.{ns}`"),
        )
    };
    let small = |v: INT| i8::try_from(v).map_err(|_| bad());
    let dt = jiff::civil::DateTime::new(
        i16::try_from(y).map_err(|_| bad())?,
        small(mo)?,
        small(d)?,
        small(h)?,
        small(mi)?,
        small(s)?,
        i32::try_from(ns).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    dt.to_zoned(TimeZone::UTC)
        .map(|z| DateTime(z.timestamp()))
        .map_err(|_| bad())
}

fn shift(state: &RunState, d: DateTime, secs: INT) -> Res<DateTime> {
    d.0.checked_add(SignedDuration::from_secs(secs))
        .map(DateTime)
        .map_err(|_| {
            fail(
                state,
                "InvalidArguments",
                format!("`{d:?} + {secs}s` is out of range"),
            )
        })
}

fn format(state: &RunState, d: DateTime, f: DateTimeFormat) -> Res<String> {
    match f {
        DateTimeFormat::Rfc3339 => Ok(d.0.to_string()),
        DateTimeFormat::Rfc2822 => jiff::fmt::rfc2822::DateTimePrinter::new()
            .zoned_to_string(&d.0.to_zoned(TimeZone::UTC))
            .map_err(|e| {
                fail(
                    state,
                    "FormatError",
                    format!("cannot format `{}`: {e}", d.0),
                )
            }),
    }
}

fn parse(state: &RunState, text: &str, f: DateTimeFormat) -> Res<DateTime> {
    let parsed = match f {
        DateTimeFormat::Rfc3339 => text.parse::<Timestamp>().map_err(|e| e.to_string()),
        DateTimeFormat::Rfc2822 => jiff::fmt::rfc2822::parse(text)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string()),
    };
    parsed.map(DateTime).map_err(|e| {
        fail(
            state,
            "ParseError",
            format!("cannot parse `{text}` as {f:?}: {e}"),
        )
    })
}

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    let mut formats = Module::new();
    formats.set_var("RFC3339", DateTimeFormat::Rfc3339);
    formats.set_var("RFC2822", DateTimeFormat::Rfc2822);
    engine.register_static_module("DateTimeFormat", formats.into());
    let mut kinds = Module::new();
    for k in ["ParseError", "InvalidArguments", "FormatError", "Other"] {
        kinds.set_var(k, k);
    }
    engine.register_static_module(SOURCE, kinds.into());

    let st = Rc::clone(state);
    let st2 = Rc::clone(state);
    let st3 = Rc::clone(state);
    let st4 = Rc::clone(state);
    let st5 = Rc::clone(state);
    let st6 = Rc::clone(state);
    let st7 = Rc::clone(state);
    let st8 = Rc::clone(state);
    engine
        .register_rex_type::<DateTime>("DateTime")
        .register_rex_type::<DateTimeFormat>("DateTimeFormat")
        .register_fn(
            "DateTime",
            move |y: INT, mo: INT, d: INT, h: INT, mi: INT, s: INT, ns: INT| {
                parts(&st, [y, mo, d, h, mi, s, ns])
            },
        )
        .register_fn("now", || DateTime(Timestamp::now()))
        .register_fn("now_nanos", || DateTime(Timestamp::now()))
        .register_fn("from_epoch_seconds", move |s: INT| {
            Timestamp::from_second(s)
                .map(DateTime)
                .map_err(|e| fail(&st2, "InvalidArguments", format!("invalid time `{s}`: {e}")))
        })
        .register_fn("from_epoch_nanos", move |s: INT, ns: INT| {
            i32::try_from(ns)
                .ok()
                .and_then(|ns| Timestamp::new(s, ns).ok())
                .map(DateTime)
                .ok_or_else(|| {
                    fail(
                        &st3,
                        "InvalidArguments",
                        format!("invalid time `{s}` s `{ns}` ns"),
                    )
                })
        })
        .register_fn("parse_datetime", move |text: &str, f: DateTimeFormat| {
            parse(&st4, text, f)
        })
        .register_fn("epoch_seconds", |d: &mut DateTime| d.0.as_second())
        .register_fn("nanos", |d: &mut DateTime| {
            INT::from(d.0.subsec_nanosecond())
        })
        .register_fn("to_string", |d: &mut DateTime| d.0.to_string())
        .register_fn("to_debug", |d: &mut DateTime| d.0.to_string())
        .register_fn("to_string", move |d: &mut DateTime, f: DateTimeFormat| {
            format(&st5, *d, f)
        })
        .register_fn("to_string", |f: &mut DateTimeFormat| format!("{f:?}"))
        .register_fn("month_str", |d: &mut DateTime| {
            d.0.to_zoned(TimeZone::UTC).strftime("%B").to_string()
        })
        .register_fn("month_str_short", |d: &mut DateTime| {
            d.0.to_zoned(TimeZone::UTC).strftime("%b").to_string()
        })
        .register_get("year", |d: &mut DateTime| INT::from(civil(*d).year()))
        .register_get("month", |d: &mut DateTime| INT::from(civil(*d).month()))
        .register_get("day", |d: &mut DateTime| INT::from(civil(*d).day()))
        .register_get("hour", |d: &mut DateTime| INT::from(civil(*d).hour()))
        .register_get("minute", |d: &mut DateTime| INT::from(civil(*d).minute()))
        .register_get("second", |d: &mut DateTime| INT::from(civil(*d).second()))
        .register_get("nanosecond", |d: &mut DateTime| {
            INT::from(civil(*d).subsec_nanosecond())
        })
        .register_fn("+", move |d: DateTime, secs: INT| shift(&st6, d, secs))
        .register_fn("-", move |d: DateTime, secs: INT| {
            shift(&st7, d, secs.checked_neg().unwrap_or(INT::MAX))
        })
        .register_fn("-", move |a: DateTime, b: DateTime| {
            a.0.as_second().checked_sub(b.0.as_second()).ok_or_else(|| {
                fail(
                    &st8,
                    "InvalidArguments",
                    "time difference out of range".into(),
                )
            })
        })
        .register_fn("==", |a: DateTime, b: DateTime| a == b)
        .register_fn("!=", |a: DateTime, b: DateTime| a != b)
        .register_fn("<", |a: DateTime, b: DateTime| a < b)
        .register_fn("<=", |a: DateTime, b: DateTime| a <= b)
        .register_fn(">", |a: DateTime, b: DateTime| a > b)
        .register_fn(">=", |a: DateTime, b: DateTime| a >= b);
}
