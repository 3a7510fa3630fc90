//! The REX output document (spec §1.5-§1.6) and its three renderings.

use serde::Serialize;

/// `error_type` of a failed run. Chosen from the Rust type of the failure, never from
/// message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorType {
    /// Bad input that passed parsing (e.g. argument nesting).
    ValidationException,
    /// A policy refused a request the script did not catch.
    AccessDeniedException,
    /// rex itself failed (e.g. a policy that does not load).
    InternalException,
    /// The script failed: syntax, runtime error, limit, deadline.
    ScriptException,
    /// Input files could not be read or parsed.
    CommunicationException,
}

/// `error` member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorInfo {
    /// The class.
    pub error_type: ErrorType,
    /// The message (at most 1024 bytes).
    pub message: String,
}

/// `status` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The script ran to completion.
    Success,
    /// It did not.
    Error,
}

/// A metric unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MetricUnit {
    /// No unit.
    Undefined,
    /// A count.
    Count,
    /// Nanoseconds.
    Time,
    /// MiB.
    Megabytes,
    /// Percent.
    Percent,
}

/// One metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Name.
    pub metric_name: String,
    /// Value.
    pub metric_value: f64,
    /// Unit.
    pub metric_unit: MetricUnit,
    /// Dimensions.
    pub metric_dimension: std::collections::BTreeMap<String, String>,
    /// RFC 3339 time.
    pub metric_timestamp: String,
}

impl Metric {
    /// A metric stamped now with one `MetricInfo` dimension.
    pub fn new(name: &str, value: f64, unit: MetricUnit, info: &str) -> Self {
        Self {
            metric_name: name.to_owned(),
            metric_value: value,
            metric_unit: unit,
            metric_dimension: [("MetricInfo".to_owned(), info.to_owned())].into(),
            metric_timestamp: jiff::Timestamp::now().to_string(),
        }
    }
}

/// One alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Type.
    pub alarm_type: String,
    /// Details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_details: Option<String>,
}

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// All values are strings, as in the original.
    pub attributes: LogAttributes,
}

/// Attributes of a log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogAttributes {
    /// RFC 3339 time.
    pub timestamp: String,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The message (at most 2048 bytes).
    pub message: String,
    /// Script line, `0` when unknown.
    pub line_number: String,
    /// The SDK function that logged it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rhai_api_name: Option<String>,
}

/// The document printed for every run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputDocument {
    /// The script's final value as text (`""` on error).
    pub output: String,
    /// Success or error.
    pub status: Status,
    /// Present on error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Alarms, omitted when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
    /// Metrics, omitted when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Logs: always present on a normal completion, absent on fatal paths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<Vec<LogEntry>>,
}

/// Longest `error.message`, in bytes.
pub const MAX_ERROR_MESSAGE: usize = 1024;

/// Cuts `message` to at most 1024 bytes (1021 + `...`) on a character boundary; an empty
/// message becomes the original's placeholder.
pub fn clamp_error_message(message: &str) -> String {
    if message.is_empty() {
        return "Error message could not be included into the result".to_owned();
    }
    if message.len() <= MAX_ERROR_MESSAGE {
        return message.to_owned();
    }
    let mut cut = MAX_ERROR_MESSAGE - 3;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &message[..cut])
}

impl OutputDocument {
    /// A fatal-path document: error only, no logs.
    pub fn fatal(error_type: ErrorType, message: &str) -> Self {
        Self {
            output: String::new(),
            status: Status::Error,
            error: Some(ErrorInfo {
                error_type,
                message: clamp_error_message(message),
            }),
            alarms: Vec::new(),
            metrics: Vec::new(),
            logs: None,
        }
    }

    /// Compact JSON, no trailing newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| internal_json(&e))
    }

    /// Pretty JSON, no trailing newline.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| internal_json(&e))
    }

    /// The `human` form: `(stdout, stderr)`. Success prints the output and a newline;
    /// an error prints `error: <message>` on stderr. `verbose` adds `[LEVEL] message`
    /// lines before and `--- metrics ---` after.
    pub fn to_human(&self, verbose: bool) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        if verbose {
            for log in self.logs.iter().flatten() {
                out.push_str(&format!(
                    "[{}] {}\n",
                    log.attributes.level, log.attributes.message
                ));
            }
        }
        match &self.error {
            None if !self.output.is_empty() => {
                out.push_str(&self.output);
                out.push('\n');
            }
            None => {}
            Some(e) => err.push_str(&format!("error: {}\n", e.message)),
        }
        if verbose {
            out.push_str("--- metrics ---\n");
            for m in &self.metrics {
                out.push_str(&format!("{}: {}\n", m.metric_name, m.metric_value));
            }
        }
        (out, err)
    }
}

fn internal_json(e: &serde_json::Error) -> String {
    format!(
        "{{\"output\":\"\",\"status\":\"ERROR\",\"error\":{{\"error_type\":\"INTERNAL_EXCEPTION\",\"message\":{}}}}}",
        serde_json::Value::String(format!("cannot serialise output: {e}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_is_char_safe() {
        let long = "é".repeat(1000);
        let c = clamp_error_message(&long);
        assert!(c.len() <= MAX_ERROR_MESSAGE && c.ends_with("..."));
        assert_eq!(
            clamp_error_message(""),
            "Error message could not be included into the result"
        );
    }

    #[test]
    fn json_omits_empty_members_and_has_no_newline() {
        let d = OutputDocument::fatal(ErrorType::CommunicationException, "x");
        let j = d.to_json();
        assert_eq!(
            j,
            r#"{"output":"","status":"ERROR","error":{"error_type":"COMMUNICATION_EXCEPTION","message":"x"}}"#
        );
    }
}
