//! Redacted reads (§6 of the original): when `read` is refused but `redacted_read` is
//! permitted, a file's text is returned with every line that matches no template of the
//! redaction dictionary replaced by `[REDACTED]`.
//!
//! The dictionary is a text file (default [`DEFAULT_REDACTION_DICTIONARY`], settable with
//! [`set_redaction_dictionary`]) read through this crate like any file: `open` on its
//! directory, `open` and a full `read` on it (it is never itself read redacted). Each
//! non-empty line not starting with `#` is a printf-style template: `%s` is a run of
//! non-space characters, `%d` a signed integer, `%u`/`%zu`/`%lu` an unsigned integer,
//! `%m` any text, `%%` a literal `%`; a template with any other specifier is dropped. A
//! line is kept verbatim when the whole line matches a template.

use std::sync::RwLock;

use regex::Regex;
use rex_policy::Gate;

use crate::error::FsError;
use crate::helpers::open_file_at;

/// Where the redaction dictionary is read from unless [`set_redaction_dictionary`] says
/// otherwise.
pub const DEFAULT_REDACTION_DICTIONARY: &str = "/etc/opt/rex/rex_redaction.config";

/// What a redacted line becomes.
pub const REDACTED: &str = "[REDACTED]";

static DICTIONARY: RwLock<Option<String>> = RwLock::new(None);

/// Sets, for the whole process, the path of the redaction dictionary. Setting it
/// authorizes nothing: the dictionary is still opened and read under the policy.
pub fn set_redaction_dictionary(path: impl Into<String>) {
    if let Ok(mut d) = DICTIONARY.write() {
        *d = Some(path.into());
    }
}

/// The path of the redaction dictionary in force.
pub fn redaction_dictionary() -> String {
    DICTIONARY
        .read()
        .ok()
        .and_then(|d| d.clone())
        .unwrap_or_else(|| DEFAULT_REDACTION_DICTIONARY.to_owned())
}

/// The regex of one template line, or `None` when it has an unsupported specifier.
pub fn template_regex(template: &str) -> Option<Regex> {
    let mut out = String::from("^");
    let mut chars = template.chars().peekable();
    let mut literal = String::new();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            spec.push(n);
            chars.next();
            if n.is_ascii_alphabetic() && n != 'z' && n != 'l' || n == '%' {
                break;
            }
        }
        let piece = match spec.as_str() {
            "%" => {
                literal.push('%');
                continue;
            }
            "s" => r"\S+",
            "d" | "i" | "ld" | "lld" | "zd" => r"[-+]?\d+",
            "u" | "zu" | "lu" | "llu" => r"\d+",
            "m" => r".*",
            _ => return None,
        };
        out.push_str(&regex::escape(&literal));
        literal.clear();
        out.push_str(piece);
    }
    out.push_str(&regex::escape(&literal));
    out.push('$');
    Regex::new(&out).ok()
}

/// The templates of a dictionary text.
pub fn parse_dictionary(text: &str) -> Vec<Regex> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(template_regex)
        .collect()
}

/// `text` with every line matching no template replaced by [`REDACTED`], joined with
/// `\n` (a trailing newline is dropped, as in the original).
pub fn redact_with(text: &str, templates: &[Regex]) -> String {
    text.lines()
        .map(|l| {
            if templates.iter().any(|t| t.is_match(l)) {
                l
            } else {
                REDACTED
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the dictionary under `gate` and redacts `text` with it.
pub(crate) fn redact(gate: &Gate, text: &str, max_bytes: usize) -> Result<String, FsError> {
    let path = redaction_dictionary();
    let dict = open_file_at(gate, &path, false)?.read_full(gate, max_bytes)?;
    Ok(redact_with(text, &parse_dictionary(&dict)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_lines() {
        let t = parse_dictionary(
            "# comment\n\nuser %s logged in from %s\npid %d exited %u\nbad %x\n%m: done 100%%\n",
        );
        assert_eq!(t.len(), 3);
        let out = redact_with(
            "user bob logged in from 10.0.0.1\nsecret=hunter2\npid -4 exited 0\nx: done 100%\npid 4 exited -1\n",
            &t,
        );
        assert_eq!(
            out,
            "user bob logged in from 10.0.0.1\n[REDACTED]\npid -4 exited 0\nx: done 100%\n[REDACTED]"
        );
    }
}
