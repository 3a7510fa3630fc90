//! Script arguments in the REX JSON format (spec §1.4).
//!
//! A JSON object mapping names to tagged values: `stringValue`, `integerValue` (32-bit),
//! `longValue`, `doubleValue`, `booleanValue`, `listValue`, `mapValue`. Top-level values
//! are depth 1, their members depth 2; a member of a depth-2 container is rejected.

use std::collections::BTreeMap;

use rhai::Dynamic;
use serde::Deserialize;

/// Why the arguments were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    /// Not valid JSON, or not the REX format.
    #[error("Failed to parse script arguments JSON: {source_name}: {message}")]
    Parse {
        /// The file (or `<inline>`).
        source_name: String,
        /// serde's message, with line and column.
        message: String,
    },
    /// Nested deeper than 2.
    #[error(
        "Script arguments depth validation failed: Argument '{0}': Maximum nesting depth of 2 exceeded"
    )]
    TooDeep(String),
}

/// One tagged value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum TaggedValue {
    /// A string.
    StringValue(String),
    /// A 32-bit integer (becomes `i64`).
    IntegerValue(i32),
    /// A 64-bit integer.
    LongValue(i64),
    /// A float.
    DoubleValue(f64),
    /// A bool.
    BooleanValue(bool),
    /// An array.
    ListValue(Vec<TaggedValue>),
    /// An object map.
    MapValue(BTreeMap<String, TaggedValue>),
}

impl TaggedValue {
    fn to_dynamic(&self) -> Dynamic {
        match self {
            Self::StringValue(s) => s.clone().into(),
            Self::IntegerValue(i) => Dynamic::from_int(i64::from(*i)),
            Self::LongValue(i) => Dynamic::from_int(*i),
            Self::DoubleValue(f) => Dynamic::from_float(*f),
            Self::BooleanValue(b) => Dynamic::from_bool(*b),
            Self::ListValue(items) => {
                Dynamic::from_array(items.iter().map(TaggedValue::to_dynamic).collect())
            }
            Self::MapValue(m) => Dynamic::from_map(
                m.iter()
                    .map(|(k, v)| (k.as_str().into(), v.to_dynamic()))
                    .collect(),
            ),
        }
    }

    fn children(&self) -> Box<dyn Iterator<Item = &TaggedValue> + '_> {
        match self {
            Self::ListValue(items) => Box::new(items.iter()),
            Self::MapValue(m) => Box::new(m.values()),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// Parsed, depth-checked script arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptArgs {
    values: BTreeMap<String, TaggedValue>,
}

impl ScriptArgs {
    /// Parses the REX format; `source_name` names the input in errors. Depth is not
    /// checked here (the original checks it after the policy, see [`ScriptArgs::validate_depth`]).
    pub fn parse(source_name: &str, json: &str) -> Result<Self, ArgsError> {
        let values: BTreeMap<String, TaggedValue> =
            serde_json::from_str(json).map_err(|e| ArgsError::Parse {
                source_name: source_name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self { values })
    }

    /// Rejects any value nested deeper than 2.
    pub fn validate_depth(&self) -> Result<(), ArgsError> {
        for (name, value) in &self.values {
            for child in value.children() {
                if child.children().next().is_some() {
                    return Err(ArgsError::TooDeep(name.clone()));
                }
            }
        }
        Ok(())
    }

    /// Names and Rhai values, in name order.
    pub fn to_dynamics(&self) -> impl Iterator<Item = (&str, Dynamic)> {
        self.values
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_dynamic()))
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses() {
        let a = ScriptArgs::parse(
            "a.json",
            r#"{"s":{"stringValue":"x"},"i":{"integerValue":-5},"l":{"longValue":9223372036854775807},
                "d":{"doubleValue":2.5},"b":{"booleanValue":true},"a":{"listValue":[{"longValue":1}]},
                "m":{"mapValue":{"k":{"stringValue":"v"}}}}"#,
        )
        .unwrap();
        a.validate_depth().unwrap();
        let kinds: Vec<(String, String)> = a
            .to_dynamics()
            .map(|(k, v)| (k.to_owned(), v.type_name().to_owned()))
            .collect();
        assert_eq!(kinds.len(), 7);
        assert!(kinds.contains(&("i".into(), "i64".into())));
        assert!(kinds.contains(&("m".into(), "map".into())));
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "[]",
            r#"{"name":"plain"}"#,
            r#"{"n":{"integerValue":3000000000}}"#,
            r#"{"n":{"stringValue":"a","longValue":1}}"#,
            r#"{"n":{"nullValue":1}}"#,
            "{",
        ] {
            assert!(
                matches!(ScriptArgs::parse("f", bad), Err(ArgsError::Parse { .. })),
                "{bad} accepted"
            );
        }
        let err = ScriptArgs::parse("f.json", "[]").unwrap_err().to_string();
        assert!(
            err.starts_with("Failed to parse script arguments JSON: f.json: "),
            "{err}"
        );
    }

    #[test]
    fn depth_two_is_the_limit_and_empty_containers_pass() {
        let deep = ScriptArgs::parse(
            "f",
            r#"{"deep":{"listValue":[{"listValue":[{"longValue":1}]}]}}"#,
        )
        .unwrap();
        assert_eq!(
            deep.validate_depth(),
            Err(ArgsError::TooDeep("deep".into()))
        );
        let empty = ScriptArgs::parse("f", r#"{"deep":{"listValue":[{"listValue":[]}]}}"#).unwrap();
        assert!(empty.validate_depth().is_ok());
    }
}
