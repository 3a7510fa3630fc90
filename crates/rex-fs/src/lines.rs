//! Line-oriented reads of a file handle: `read_lines`, `read_page`, `search`, `counts`,
//! `extract_strings`. Each re-opens the authorized inode read-only; none reads or keeps
//! more than its byte budget.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use rex_policy::Gate;
use rex_policy::action::fs::READ;

use crate::authorize;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::reopen;
use crate::text::{self, Match, WordCount};

/// Options of [`FileHandle::read_lines`] (the original `ReadLinesOptions()` builder).
/// At least one of the two must be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadLinesOptions {
    /// Negative: the last `|count|` lines; positive: the first `count` lines from `start`.
    pub count: Option<i64>,
    /// First line (1-based) to return.
    pub start: Option<i64>,
}

/// Options of [`FileHandle::read_page`] (the original `ReadPageOptions()` builder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPageOptions {
    /// Lines per page (more than 0).
    pub num_lines: i64,
}

/// Reads lines from `reader`, each as UTF-8 without its newline, failing with
/// `TooLarge` when the kept lines exceed `max_bytes`.
pub(crate) struct LineReader<R> {
    reader: R,
    path: String,
    max_bytes: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R, path: &str, max_bytes: usize) -> Self {
        Self {
            reader,
            path: path.to_owned(),
            max_bytes,
            buf: Vec::new(),
        }
    }

    /// The next line and the bytes it took (newline included), or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<(String, usize)>, FsError> {
        self.buf.clear();
        let limit = u64::try_from(self.max_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| FsError::Internal(format!("read `{}`: {e}", self.path)))?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.len() > self.max_bytes {
            return Err(FsError::TooLarge {
                path: self.path.clone(),
                limit: self.max_bytes,
            });
        }
        let mut line = self.buf.as_slice();
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l;
        }
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        let text = std::str::from_utf8(line).map_err(|_| FsError::NotUtf8 {
            path: self.path.clone(),
        })?;
        Ok(Some((text.to_owned(), n)))
    }
}

fn too_large(path: &str, limit: usize) -> FsError {
    FsError::TooLarge {
        path: path.to_owned(),
        limit,
    }
}

impl FileHandle {
    fn reader(&self, gate: &Gate) -> Result<std::fs::File, FsError> {
        self.need_read()?;
        let permit = authorize::file(gate, READ, self.path())?;
        authorize::ensure(&permit, READ, self.path())?;
        Ok(std::fs::File::from(reopen::for_reading(
            self.fd(),
            self.path().as_str(),
        )?))
    }

    /// Lines of the file (`read` on `File(path)`): with a negative `count` the last
    /// `|count|` lines; with a positive one the first `count` lines from `start`
    /// (default 1); with only `start`, every line from there. At most `max_bytes` of
    /// lines are returned (the file itself may be larger).
    pub fn read_lines(
        &self,
        gate: &Gate,
        opts: &ReadLinesOptions,
        max_bytes: usize,
    ) -> Result<Vec<String>, FsError> {
        if opts.count.is_none() && opts.start.is_none() {
            return Err(FsError::InvalidArguments(
                "no read line mode specified: set count or start".to_owned(),
            ));
        }
        if opts.start.is_some_and(|s| s < 1) {
            return Err(FsError::InvalidArguments(
                "read_lines: start must be at least 1".to_owned(),
            ));
        }
        let file = self.reader(gate)?;
        let path = self.path().as_str();
        let mut lines = LineReader::new(BufReader::new(file), path, max_bytes);
        select_lines(&mut lines, opts, path, max_bytes)
    }

    /// The next `num_lines` lines after those returned by earlier calls on this handle
    /// (or its clones); an empty array at the end. `read` on `File(path)` each call.
    pub fn read_page(
        &self,
        gate: &Gate,
        opts: &ReadPageOptions,
        max_bytes: usize,
    ) -> Result<Vec<String>, FsError> {
        let n = usize::try_from(opts.num_lines)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                FsError::InvalidArguments("read_page: num_lines must be more than 0".to_owned())
            })?;
        let mut file = self.reader(gate)?;
        let mut offset = self
            .page_offset()
            .lock()
            .map_err(|_| FsError::Internal("page offset lock poisoned".to_owned()))?;
        file.seek(SeekFrom::Start(*offset))
            .map_err(|e| FsError::Internal(format!("seek `{}`: {e}", self.path())))?;
        let path = self.path().as_str();
        let mut lines = LineReader::new(BufReader::new(file), path, max_bytes);
        let mut out = Vec::new();
        let mut total = 0usize;
        while out.len() < n {
            let Some((line, used)) = lines.next_line()? else {
                break;
            };
            total += line.len();
            if total > max_bytes {
                return Err(too_large(path, max_bytes));
            }
            *offset += used as u64;
            out.push(line);
        }
        Ok(out)
    }

    /// Lines matching the regex `pattern`, with numbers. Needs `read` on `File(path)`, or
    /// `redacted_read` (then the redacted text is searched).
    pub fn search(
        &self,
        gate: &Gate,
        pattern: &str,
        max_bytes: usize,
    ) -> Result<Vec<Match>, FsError> {
        let re = text::regex(pattern, false)?;
        let (content, _) = self.read_text(gate, max_bytes)?;
        Ok(text::search_text(&content, &re))
    }

    /// Line, word and byte counts (`read` on `File(path)`), streamed: the file may be
    /// larger than any budget.
    pub fn counts(&self, gate: &Gate) -> Result<WordCount, FsError> {
        let file = self.reader(gate)?;
        let mut reader = BufReader::new(file);
        let mut total = WordCount::default();
        let mut in_word = false;
        loop {
            let buf = reader
                .fill_buf()
                .map_err(|e| FsError::Internal(format!("read `{}`: {e}", self.path())))?;
            if buf.is_empty() {
                break;
            }
            for &b in buf {
                if b == b'\n' {
                    total.line_count += 1;
                }
                if b.is_ascii_whitespace() {
                    in_word = false;
                } else if !in_word {
                    in_word = true;
                    total.word_count += 1;
                }
            }
            let n = buf.len();
            total.byte_count += n as u64;
            reader.consume(n);
        }
        Ok(total)
    }

    /// Printable runs of 4+ characters, as `strings` (`read` on `File(path)`), from at
    /// most `max_bytes` of the file.
    pub fn extract_strings(&self, gate: &Gate, max_bytes: usize) -> Result<Vec<String>, FsError> {
        let bytes = self.read_bytes(gate, max_bytes)?;
        Ok(text::extract_strings(&bytes))
    }
}

/// Picks the lines `opts` asks for from `lines`.
pub(crate) fn select_lines<R: BufRead>(
    lines: &mut LineReader<R>,
    opts: &ReadLinesOptions,
    path: &str,
    max_bytes: usize,
) -> Result<Vec<String>, FsError> {
    let mut total = 0usize;
    match opts.count {
        Some(c) if c < 0 => {
            let keep = usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX);
            let mut ring: VecDeque<String> = VecDeque::new();
            while let Some((line, _)) = lines.next_line()? {
                total += line.len();
                ring.push_back(line);
                if ring.len() > keep
                    && let Some(old) = ring.pop_front()
                {
                    total -= old.len();
                }
                if total > max_bytes {
                    return Err(too_large(path, max_bytes));
                }
            }
            Ok(ring.into())
        }
        count => {
            let start = usize::try_from(opts.start.unwrap_or(1)).unwrap_or(1).max(1);
            let take = match count {
                Some(c) => usize::try_from(c).unwrap_or(0),
                None => usize::MAX,
            };
            let mut out = Vec::new();
            let mut index = 0usize;
            while out.len() < take {
                let Some((line, _)) = lines.next_line()? else {
                    break;
                };
                index += 1;
                if index < start {
                    continue;
                }
                total += line.len();
                if total > max_bytes {
                    return Err(too_large(path, max_bytes));
                }
                out.push(line);
            }
            Ok(out)
        }
    }
}
