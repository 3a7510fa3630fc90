//! Pure text operations behind the helpers (`grep`, `tail`, `sed`, `wc`, `awk_*`, `seq`,
//! `replace_text`, `extract_strings`). They touch no file and authorize nothing.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};

use crate::error::FsError;

/// The most bytes a compiled regex may take (patterns come from scripts).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a script-supplied regex with a size limit.
pub(crate) fn regex(pattern: &str, ignore_case: bool) -> Result<Regex, FsError> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| FsError::InvalidArguments(format!("invalid regex `{pattern}`: {e}")))
}

/// Options of `grep` (the original's `grep::` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct GrepOptions {
    /// Case-insensitive matching (`grep::ignore_case`, `grep::i`).
    pub ignore_case: bool,
    /// Only the number of selected lines, as a one-element array (`grep::count`).
    pub count: bool,
    /// Select non-matching lines (`grep::invert`, `grep::v`).
    pub invert: bool,
    /// Prefix each line with `N:` (`grep::line_number`, `grep::n`).
    pub line_number: bool,
    /// Stop after this many selected lines (`grep::max_count(n)`); 0 or less = no cap.
    pub max_count: Option<i64>,
}

/// One line that matched a search.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Match {
    /// 1-based line number.
    pub line_number: u64,
    /// The line, without its newline.
    pub line_content: String,
}

/// Lines of `text` matching `re`, with their numbers.
pub fn search_text(text: &str, re: &Regex) -> Vec<Match> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| re.is_match(l))
        .map(|(i, l)| Match {
            line_number: i as u64 + 1,
            line_content: l.to_owned(),
        })
        .collect()
}

/// `grep` over a text.
pub fn grep_text(text: &str, pattern: &str, opts: &GrepOptions) -> Result<Vec<String>, FsError> {
    let re = regex(pattern, opts.ignore_case)?;
    let cap = match opts.max_count {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let selected = text
        .lines()
        .enumerate()
        .filter(|(_, l)| re.is_match(l) != opts.invert)
        .take(cap);
    if opts.count {
        return Ok(vec![selected.count().to_string()]);
    }
    Ok(selected
        .map(|(i, l)| {
            if opts.line_number {
                format!("{}:{l}", i + 1)
            } else {
                l.to_owned()
            }
        })
        .collect())
}

/// Which lines `tail` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailSelect {
    /// The last `n` lines, as `tail -n N` (the original returned the first N for N > 0;
    /// fix 13). A negative count also means the last `|n|`, as the original did.
    Last(i64),
    /// From line `n` (1-based) to the end, as `tail -n +N`.
    From(i64),
    /// Lines `a` to `b` (1-based, inclusive).
    Range(i64, i64),
}

impl Default for TailSelect {
    fn default() -> Self {
        Self::Last(10)
    }
}

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

/// `tail` over a text.
pub fn tail_text(text: &str, select: TailSelect) -> Result<Vec<String>, FsError> {
    let lines: Vec<&str> = text.lines().collect();
    let picked: &[&str] = match select {
        TailSelect::Last(n) => {
            let n = to_usize(n.checked_abs().unwrap_or(i64::MAX)).min(lines.len());
            lines.get(lines.len() - n..).unwrap_or_default()
        }
        TailSelect::From(start) => {
            if start < 1 {
                return Err(FsError::InvalidArguments(format!(
                    "tail: start line `{start}` must be at least 1"
                )));
            }
            lines
                .get(to_usize(start - 1).min(lines.len())..)
                .unwrap_or_default()
        }
        TailSelect::Range(a, b) => {
            if a < 1 || b < a {
                return Err(FsError::InvalidArguments(format!(
                    "tail: invalid range `{a}..{b}`"
                )));
            }
            let start = to_usize(a - 1).min(lines.len());
            let end = to_usize(b).min(lines.len());
            lines.get(start..end).unwrap_or_default()
        }
    };
    Ok(picked.iter().map(|l| (*l).to_owned()).collect())
}

/// Options of `replace_text` (the original `ReplacementOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplacementOptions {
    /// `old` is a regex (`$1` etc. in `new` refer to its groups).
    pub is_regex: bool,
    /// Replace every occurrence, not only the first.
    pub replace_all: bool,
}

/// `text` with the first (or every) occurrence of `old` replaced by `new`.
pub fn replace_text(
    text: &str,
    old: &str,
    new: &str,
    opts: &ReplacementOptions,
) -> Result<String, FsError> {
    if opts.is_regex {
        let re = regex(old, false)?;
        let limit = if opts.replace_all { 0 } else { 1 };
        return Ok(re.replacen(text, limit, new).into_owned());
    }
    if old.is_empty() {
        return Err(FsError::InvalidArguments(
            "replace_text: the text to replace is empty".to_owned(),
        ));
    }
    Ok(if opts.replace_all {
        text.replace(old, new)
    } else {
        text.replacen(old, new, 1)
    })
}

/// Line, word and byte counts, as `wc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WordCount {
    /// Newline characters.
    pub line_count: u64,
    /// Runs of non-whitespace.
    pub word_count: u64,
    /// Bytes.
    pub byte_count: u64,
}

/// Counts of `bytes`, as `wc` does (lines = newline characters).
pub fn count(bytes: &[u8]) -> WordCount {
    let mut words = 0u64;
    let mut in_word = false;
    for &b in bytes {
        if b.is_ascii_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            words += 1;
        }
    }
    WordCount {
        line_count: bytes.iter().filter(|b| **b == b'\n').count() as u64,
        word_count: words,
        byte_count: bytes.len() as u64,
    }
}

/// Runs of at least 4 printable ASCII characters (space and tab included), as
/// `strings`.
pub fn extract_strings(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    for &b in bytes {
        if b == b'\t' || (0x20..0x7f).contains(&b) {
            run.push(char::from(b));
        } else {
            if run.len() >= 4 {
                out.push(std::mem::take(&mut run));
            }
            run.clear();
        }
    }
    if run.len() >= 4 {
        out.push(run);
    }
    out
}

/// `cat -n`: each line as a 6-wide right-aligned number, a tab and the line, joined with
/// `\n`.
pub fn number_lines(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:>6}\t{l}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `seq a b` by `step` (inclusive). More than `max_len` numbers is refused before
/// anything is allocated; a step of 0 is refused; no arithmetic overflows.
pub fn seq(start: i64, end: i64, step: i64, max_len: usize) -> Result<Vec<i64>, FsError> {
    if step == 0 {
        return Err(FsError::InvalidArguments(
            "seq: step must not be 0".to_owned(),
        ));
    }
    let span = i128::from(end) - i128::from(start);
    let len: i128 = if (span >= 0) != (step > 0) && span != 0 {
        0
    } else {
        span / i128::from(step) + 1
    };
    let len = u128::try_from(len).unwrap_or(0);
    if len > max_len as u128 {
        return Err(FsError::InvalidArguments(format!(
            "seq: `{len}` numbers exceed the array limit of {max_len}"
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut v = i128::from(start);
    for _ in 0..len {
        out.push(i64::try_from(v).unwrap_or(end));
        v += i128::from(step);
    }
    Ok(out)
}

fn field_index(n: i64) -> Result<usize, FsError> {
    if n < 1 {
        return Err(FsError::InvalidArguments(format!(
            "awk: field number `{n}` must be at least 1"
        )));
    }
    Ok(to_usize(n - 1))
}

fn field<'a>(line: &'a str, delim: &str, idx: usize) -> Option<&'a str> {
    if delim.is_empty() {
        line.split_whitespace().nth(idx)
    } else {
        line.split(delim).nth(idx)
    }
}

/// `awk_split`: `text` split on `delim` (on whitespace runs when `delim` is empty).
pub fn awk_split(text: &str, delim: &str) -> Vec<String> {
    if delim.is_empty() {
        text.split_whitespace().map(str::to_owned).collect()
    } else {
        text.split(delim).map(str::to_owned).collect()
    }
}

/// `awk_field`: field `n` (1-based) of each line that has one.
pub fn awk_field(text: &str, n: i64, delim: &str) -> Result<Vec<String>, FsError> {
    let idx = field_index(n)?;
    Ok(text
        .lines()
        .filter_map(|l| field(l, delim, idx).map(str::to_owned))
        .collect())
}

/// `awk_filter`: lines containing `needle`.
pub fn awk_filter(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// `awk_filter_field`: lines whose field `n` contains `needle`.
pub fn awk_filter_field(
    text: &str,
    n: i64,
    delim: &str,
    needle: &str,
) -> Result<Vec<String>, FsError> {
    let idx = field_index(n)?;
    Ok(text
        .lines()
        .filter(|l| field(l, delim, idx).is_some_and(|f| f.contains(needle)))
        .map(str::to_owned)
        .collect())
}

/// `awk_sum`: the sum of field `n` over the lines where it parses as a number.
pub fn awk_sum(text: &str, n: i64, delim: &str) -> Result<f64, FsError> {
    let idx = field_index(n)?;
    Ok(text
        .lines()
        .filter_map(|l| field(l, delim, idx).and_then(|f| f.trim().parse::<f64>().ok()))
        .sum())
}

/// `awk_count_unique`: how many times each value of field `n` occurs.
pub fn awk_count_unique(text: &str, n: i64, delim: &str) -> Result<BTreeMap<String, i64>, FsError> {
    let idx = field_index(n)?;
    let mut counts = BTreeMap::new();
    for l in text.lines() {
        if let Some(f) = field(l, delim, idx) {
            *counts.entry(f.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// `awk_filter_range`: lines `start..=end` (1-based).
pub fn awk_filter_range(text: &str, start: i64, end: i64) -> Result<Vec<String>, FsError> {
    if start < 1 || end < start {
        return Err(FsError::InvalidArguments(format!(
            "awk: invalid range `{start}..{end}`"
        )));
    }
    tail_text(text, TailSelect::Range(start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "line1\nline2\nline3\nline4\nline5\nline6\nline7\n";

    #[test]
    fn observed_outputs_of_the_original() {
        let c = GrepOptions {
            count: true,
            ..Default::default()
        };
        assert_eq!(grep_text(LINES, "line[1-3]", &c).unwrap(), ["3"]);
        let nv = GrepOptions {
            line_number: true,
            invert: true,
            ..Default::default()
        };
        assert_eq!(
            grep_text(LINES, "line[1-5]", &nv).unwrap(),
            ["6:line6", "7:line7"]
        );
        assert_eq!(
            tail_text(LINES, TailSelect::Last(-2)).unwrap(),
            ["line6", "line7"]
        );
        assert_eq!(
            tail_text(LINES, TailSelect::Last(2)).unwrap(),
            ["line6", "line7"]
        );
        assert_eq!(tail_text(LINES, TailSelect::default()).unwrap().len(), 7);
        assert_eq!(
            tail_text(LINES, TailSelect::From(6)).unwrap(),
            ["line6", "line7"]
        );
        assert_eq!(
            tail_text(LINES, TailSelect::Range(2, 3)).unwrap(),
            ["line2", "line3"]
        );
        assert_eq!(seq(1, 9, 2, 100).unwrap(), [1, 3, 5, 7, 9]);
        assert_eq!(seq(5, 1, -2, 100).unwrap(), [5, 3, 1]);
        assert!(seq(1, 5, -1, 100).unwrap().is_empty());
        assert!(seq(0, 1 << 40, 1, 1_000_000).is_err());
        assert_eq!(seq(i64::MAX - 1, i64::MAX, 1, 10).unwrap().len(), 2);
        assert!(seq(i64::MIN, i64::MAX, 1, 10).is_err());
        let wc = count(LINES.as_bytes());
        assert_eq!((wc.line_count, wc.word_count, wc.byte_count), (7, 7, 42));
        assert_eq!(number_lines("a\nb\n"), "     1\ta\n     2\tb");
    }

    #[test]
    fn replace_and_awk() {
        let first = ReplacementOptions::default();
        let all = ReplacementOptions {
            replace_all: true,
            ..first
        };
        let re = ReplacementOptions {
            is_regex: true,
            replace_all: true,
        };
        assert_eq!(replace_text("a a a", "a", "b", &first).unwrap(), "b a a");
        assert_eq!(replace_text("a a a", "a", "b", &all).unwrap(), "b b b");
        assert_eq!(
            replace_text("e1 e22", r"e(\d+)", "E$1", &re).unwrap(),
            "E1 E22"
        );
        let t = "a 10 x\nb 20 y\na 30 z\n";
        assert_eq!(awk_field(t, 2, " ").unwrap(), ["10", "20", "30"]);
        assert!((awk_sum(t, 2, " ").unwrap() - 60.0).abs() < f64::EPSILON);
        assert_eq!(awk_count_unique(t, 1, " ").unwrap()["a"], 2);
        assert_eq!(awk_filter_field(t, 3, " ", "y").unwrap(), ["b 20 y"]);
        assert_eq!(awk_filter(t, "30"), ["a 30 z"]);
        assert_eq!(awk_filter_range(t, 2, 9).unwrap(), ["b 20 y", "a 30 z"]);
        assert_eq!(awk_split("a,b,,c", ","), ["a", "b", "", "c"]);
        assert!(awk_field(t, 0, " ").is_err());
        assert_eq!(
            extract_strings(b"\x00abcd\x01ab\x02hello world\x7f"),
            ["abcd", "hello world"]
        );
    }
}
