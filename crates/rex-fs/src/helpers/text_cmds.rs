//! The reading text helpers: `grep`, `tail`, `sed`, `wc` and `awk_*`. Each opens the file
//! at a path as [`super::open_file_at`] does (`open` on `Dir(parent)` and
//! `File(canonical path)`), then reads it under its own check.

use std::collections::BTreeMap;

use rex_policy::Gate;

use crate::error::FsError;
use crate::text::{self, GrepOptions, ReplacementOptions, TailSelect, WordCount};

use super::open_file_at;

/// The file's text: `read`, or `redacted_read` (then redacted).
fn text_of(gate: &Gate, path: &str, max_bytes: usize) -> Result<String, FsError> {
    Ok(open_file_at(gate, path, false)?
        .read_text(gate, max_bytes)?
        .0)
}

/// `grep`: the lines of the file at `path` that match the regex `pattern` (see
/// [`GrepOptions`]). Needs `read` or `redacted_read` (redacted lines are searched as
/// `[REDACTED]`).
pub fn grep(
    gate: &Gate,
    pattern: &str,
    path: &str,
    opts: &GrepOptions,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    text::grep_text(&text_of(gate, path, max_bytes)?, pattern, opts)
}

/// `tail`: the lines `select` picks (default: the last 10). Needs a full `read`.
pub fn tail(
    gate: &Gate,
    path: &str,
    select: TailSelect,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    let f = open_file_at(gate, path, false)?;
    text::tail_text(&f.read_full(gate, max_bytes)?, select)
}

/// `sed`: the file's text with `pattern` replaced by `replacement` (see
/// [`ReplacementOptions`]); with `in_place` the result is also written back in place.
/// Needs `read` or `redacted_read`; `in_place` needs a full `read` (a redacted text is
/// never written back) and `write`.
pub fn sed(
    gate: &Gate,
    pattern: &str,
    replacement: &str,
    path: &str,
    opts: &ReplacementOptions,
    in_place: bool,
    max_bytes: usize,
) -> Result<String, FsError> {
    let f = open_file_at(gate, path, in_place)?;
    if in_place {
        let content = f.read_full(gate, max_bytes)?;
        let out = text::replace_text(&content, pattern, replacement, opts)?;
        f.write_in_place(gate, &out)?;
        return Ok(out);
    }
    let (content, _) = f.read_text(gate, max_bytes)?;
    text::replace_text(&content, pattern, replacement, opts)
}

/// `wc`: line, word and byte counts, streamed (a full `read`).
pub fn wc(gate: &Gate, path: &str) -> Result<WordCount, FsError> {
    open_file_at(gate, path, false)?.counts(gate)
}

/// `awk_field(n, delim, path)`: field `n` of each line (`read` or `redacted_read`).
pub fn awk_field(
    gate: &Gate,
    n: i64,
    delim: &str,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    text::awk_field(&text_of(gate, path, max_bytes)?, n, delim)
}

/// `awk_filter(needle, path)`: lines containing `needle`.
pub fn awk_filter(
    gate: &Gate,
    needle: &str,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    Ok(text::awk_filter(&text_of(gate, path, max_bytes)?, needle))
}

/// `awk_filter_field(n, delim, needle, path)`: lines whose field `n` contains `needle`.
pub fn awk_filter_field(
    gate: &Gate,
    n: i64,
    delim: &str,
    needle: &str,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    text::awk_filter_field(&text_of(gate, path, max_bytes)?, n, delim, needle)
}

/// `awk_sum(n, delim, path)`: sum of field `n`.
pub fn awk_sum(
    gate: &Gate,
    n: i64,
    delim: &str,
    path: &str,
    max_bytes: usize,
) -> Result<f64, FsError> {
    text::awk_sum(&text_of(gate, path, max_bytes)?, n, delim)
}

/// `awk_count_unique(n, delim, path)`: occurrences of each value of field `n`.
pub fn awk_count_unique(
    gate: &Gate,
    n: i64,
    delim: &str,
    path: &str,
    max_bytes: usize,
) -> Result<BTreeMap<String, i64>, FsError> {
    text::awk_count_unique(&text_of(gate, path, max_bytes)?, n, delim)
}

/// `awk_filter_range(start, end, path)`: lines `start..=end`.
pub fn awk_filter_range(
    gate: &Gate,
    start: i64,
    end: i64,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    text::awk_filter_range(&text_of(gate, path, max_bytes)?, start, end)
}
