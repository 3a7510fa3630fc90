//! `MetricBuilder`, `MetricDimensionsBuilder`, `AlarmBuilder`: script-published metrics and
//! alarms. Names starting with `rex` (any case) are reserved for the runner: publishing one
//! fails the whole run (exit 1), as in the original.

use crate::bindings::RegisterRexType as _;
use std::collections::BTreeMap;
use std::rc::Rc;

use rhai::{Engine, FLOAT, INT, Map, Module};

use super::FnDoc;
use crate::output::{Alarm, Metric, MetricUnit};
use crate::state::RunState;

pub(crate) const DOCS: &[FnDoc] = &[
    FnDoc {
        domain: "metrics",
        name: "MetricBuilder",
        signature: "MetricBuilder() -> MetricBuilder",
        summary: "start a metric: .name(s) .value(n) .unit(MetricUnitType::X) .dimensions(map) .publish()",
        checks: &[],
    },
    FnDoc {
        domain: "metrics",
        name: "MetricDimensionsBuilder",
        signature: "MetricDimensionsBuilder() -> MetricDimensionsBuilder",
        summary: "build a dimensions map: .add(key, value) .build()",
        checks: &[],
    },
    FnDoc {
        domain: "metrics",
        name: "AlarmBuilder",
        signature: "AlarmBuilder() -> AlarmBuilder",
        summary: "start an alarm: .type(s) .details(s) .publish()",
        checks: &[],
    },
    FnDoc {
        domain: "metrics",
        name: "MetricUnitType",
        signature: "MetricUnitType::{UNDEFINED, COUNT, TIME, MEGABYTES, PERCENT}",
        summary: "metric units",
        checks: &[],
    },
];

/// A metric being built.
#[derive(Debug, Clone, Default)]
pub struct MetricBuilder {
    name: String,
    value: f64,
    unit: Option<MetricUnit>,
    dimensions: BTreeMap<String, String>,
}

/// Dimensions being built.
#[derive(Debug, Clone, Default)]
pub struct MetricDimensionsBuilder(Map);

/// An alarm being built.
#[derive(Debug, Clone, Default)]
pub struct AlarmBuilder {
    alarm_type: String,
    details: Option<String>,
}

pub(crate) fn register(engine: &mut Engine, state: &Rc<RunState>) {
    engine
        .register_rex_type::<MetricBuilder>("MetricBuilder")
        .register_fn("MetricBuilder", MetricBuilder::default)
        .register_fn("name", |b: &mut MetricBuilder, n: &str| {
            let mut b = b.clone();
            b.name = n.to_owned();
            b
        })
        .register_fn("value", |b: &mut MetricBuilder, v: FLOAT| {
            let mut b = b.clone();
            b.value = v;
            b
        })
        .register_fn("value", |b: &mut MetricBuilder, v: INT| {
            let mut b = b.clone();
            b.value = v as f64;
            b
        })
        .register_fn("unit", |b: &mut MetricBuilder, u: MetricUnit| {
            let mut b = b.clone();
            b.unit = Some(u);
            b
        })
        .register_fn("dimensions", |b: &mut MetricBuilder, m: Map| {
            let mut b = b.clone();
            b.dimensions = m
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            b
        });
    let s = Rc::clone(state);
    engine.register_fn("publish", move |b: &mut MetricBuilder| {
        let mut m = Metric::new(
            &b.name,
            b.value,
            b.unit.unwrap_or(MetricUnit::Undefined),
            "",
        );
        m.metric_dimension = b.dimensions.clone();
        s.shared.metrics().push(m);
    });
    engine
        .register_rex_type::<MetricDimensionsBuilder>("MetricDimensionsBuilder")
        .register_fn("MetricDimensionsBuilder", MetricDimensionsBuilder::default)
        .register_fn(
            "add",
            |b: &mut MetricDimensionsBuilder, k: &str, v: &str| {
                let mut b = b.clone();
                b.0.insert(k.into(), v.into());
                b
            },
        )
        .register_fn("build", |b: &mut MetricDimensionsBuilder| b.0.clone());
    engine
        .register_rex_type::<AlarmBuilder>("AlarmBuilder")
        .register_fn("AlarmBuilder", AlarmBuilder::default)
        .register_fn("type", |b: &mut AlarmBuilder, t: &str| {
            let mut b = b.clone();
            b.alarm_type = t.to_owned();
            b
        })
        .register_fn("details", |b: &mut AlarmBuilder, d: &str| {
            let mut b = b.clone();
            b.details = Some(d.to_owned());
            b
        });
    let s = Rc::clone(state);
    engine.register_fn("publish", move |b: &mut AlarmBuilder| {
        s.shared.alarms().push(Alarm {
            alarm_type: b.alarm_type.clone(),
            alarm_details: b.details.clone(),
        });
    });

    engine.register_rex_type::<MetricUnit>("MetricUnitType");
    engine.register_fn("to_string", |u: &mut MetricUnit| {
        format!("{u:?}").to_uppercase()
    });
    engine.register_fn("==", |a: MetricUnit, b: MetricUnit| a == b);
    let mut units = Module::new();
    for (name, unit) in [
        ("UNDEFINED", MetricUnit::Undefined),
        ("COUNT", MetricUnit::Count),
        ("TIME", MetricUnit::Time),
        ("MEGABYTES", MetricUnit::Megabytes),
        ("PERCENT", MetricUnit::Percent),
    ] {
        units.set_var(name, unit);
    }
    engine.register_static_module("MetricUnitType", units.into());
}
