//! The script log: what `info`, `warn`, `print`, ... and the SDK write, as the output's `logs`.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::output::{LogAttributes, LogEntry};

/// Most entries kept; older ones are dropped and a warning is put first.
pub const MAX_ENTRIES: usize = 1000;
/// Longest message in bytes before it is cut (on a character boundary).
pub const MAX_MESSAGE: usize = 2048;
const TRUNCATED: &str = "...[truncate]";

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Most verbose.
    Trace,
    /// Debug.
    Debug,
    /// Info (the default threshold).
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

impl Level {
    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }

    /// Parses `LOG_LEVEL` (case-insensitive); anything else is `Info`.
    pub fn from_env_value(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_uppercase).as_deref() {
            Some("TRACE") => Self::Trace,
            Some("DEBUG") => Self::Debug,
            Some("WARN") => Self::Warn,
            Some("ERROR") => Self::Error,
            _ => Self::Info,
        }
    }
}

/// A bounded ring of log entries.
///
/// Entries are held compactly (the time as a `jiff::Timestamp`, the message shared) and
/// turned into the output's all-string [`LogEntry`] only by [`ScriptLog::take`]: a script
/// that logs in a loop (a caught denial logs one warning per call) formats nothing that
/// the ring drops again, and a repeated message is one allocation.
#[derive(Debug)]
pub struct ScriptLog {
    threshold: Level,
    entries: VecDeque<Held>,
    overflowed: bool,
}

/// One entry as held until the output is made.
#[derive(Debug)]
struct Held {
    time: jiff::Timestamp,
    level: Level,
    message: Arc<str>,
    line: u32,
    api: Option<&'static str>,
}

impl ScriptLog {
    /// An empty log keeping entries at `threshold` or above.
    pub fn new(threshold: Level) -> Self {
        Self {
            threshold,
            entries: VecDeque::new(),
            overflowed: false,
        }
    }

    /// Adds one entry (if at or above the threshold).
    pub fn push(&mut self, level: Level, message: &str, line: u32, api: Option<&'static str>) {
        if level >= self.threshold {
            self.push_shared(level, shared_message(message), line, api);
        }
    }

    /// Adds one entry whose message was made by [`shared_message`] (if at or above the
    /// threshold): the message is shared, not copied.
    pub fn push_shared(
        &mut self,
        level: Level,
        message: Arc<str>,
        line: u32,
        api: Option<&'static str>,
    ) {
        if level < self.threshold {
            return;
        }
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
            self.overflowed = true;
        }
        self.entries.push_back(Held {
            time: jiff::Timestamp::now(),
            level,
            message,
            line,
            api,
        });
    }

    /// The entries, with the overflow warning first if entries were dropped.
    pub fn take(&mut self) -> Vec<LogEntry> {
        let mut out = Vec::with_capacity(self.entries.len() + 1);
        if self.overflowed {
            out.push(LogEntry {
                attributes: LogAttributes {
                    timestamp: jiff::Timestamp::now().to_string(),
                    level: "WARN".to_owned(),
                    message: "Warning: Log buffer capacity exceeded. Some earlier log entries were removed to fit new logs.".to_owned(),
                    line_number: "0".to_owned(),
                    rhai_api_name: None,
                },
            });
        }
        out.extend(self.entries.drain(..).map(|h| LogEntry {
            attributes: LogAttributes {
                timestamp: h.time.to_string(),
                level: h.level.name().to_owned(),
                message: h.message.as_ref().to_owned(),
                line_number: h.line.to_string(),
                rhai_api_name: h.api.map(str::to_owned),
            },
        }));
        out
    }
}

/// A log message as the log keeps it: cut to [`MAX_MESSAGE`] bytes, shareable between
/// entries.
pub fn shared_message(message: &str) -> Arc<str> {
    if message.len() <= MAX_MESSAGE {
        return Arc::from(message);
    }
    Arc::from(truncate(message))
}

/// `message` (longer than [`MAX_MESSAGE`]) cut on a character boundary, marked as cut.
fn truncate(message: &str) -> String {
    let mut cut = MAX_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{TRUNCATED}", &message[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_multibyte_messages_do_not_panic() {
        let mut log = ScriptLog::new(Level::Info);
        log.push(Level::Info, &"é".repeat(1100), 1, None);
        let e = log.take();
        assert!(e[0].attributes.message.ends_with(TRUNCATED));
        assert!(e[0].attributes.message.len() <= MAX_MESSAGE + TRUNCATED.len());
    }

    #[test]
    fn ring_keeps_the_newest_and_warns() {
        let mut log = ScriptLog::new(Level::Info);
        for i in 0..1005 {
            log.push(Level::Info, &i.to_string(), 1, None);
        }
        log.push(Level::Debug, "dropped", 1, None);
        let e = log.take();
        assert_eq!(e.len(), MAX_ENTRIES + 1);
        assert!(
            e[0].attributes
                .message
                .starts_with("Warning: Log buffer capacity exceeded")
        );
        assert_eq!(e[1].attributes.message, "5");
        assert_eq!(e.last().unwrap().attributes.message, "1004");
    }
}
