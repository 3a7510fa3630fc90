//! gzip: compress a file into another, and read, inspect and search gzip files, every
//! decompression bounded by a byte budget (a gzip bomb ends with an error, not with
//! memory or time exhausted).

use std::io::{BufRead, BufReader, Read};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use rex_policy::Gate;
use rex_policy::action::fs::{READ, WRITE};

use crate::authorize;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::lines::{LineReader, ReadLinesOptions, select_lines};
use crate::reopen;
use crate::sys;
use crate::text::{self, Match};

/// Default budget of decompressed bytes per call (1 GiB).
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Options of [`FileHandle::compress_gzip`] (the original `CompressGzipOptions()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressGzipOptions {
    /// Compression level 1 (fast) to 9 (small); default 6.
    pub level: u32,
}

impl Default for CompressGzipOptions {
    fn default() -> Self {
        Self { level: 6 }
    }
}

/// Options of `search_gzip` (the original `SearchGzipOptions()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchGzipOptions {
    /// Lines matching this regex are left out.
    pub exclude_pattern: Option<String>,
    /// Case-insensitive matching (of both patterns).
    pub case_insensitive: bool,
    /// At most this many matches (0 = no cap).
    pub max_results: i64,
}

/// Sizes of a gzip file.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GzipInfo {
    /// Bytes of the file.
    pub compressed_size_bytes: u64,
    /// Bytes once decompressed.
    pub uncompressed_size_bytes: u64,
    /// `uncompressed / compressed` (0 for an empty file).
    pub compression_ratio: f64,
}

/// A reader that fails once more than `budget` bytes have come through.
pub(crate) struct Bounded<R> {
    inner: R,
    left: u64,
    budget: u64,
}

impl<R> Bounded<R> {
    pub(crate) fn new(inner: R, budget: u64) -> Self {
        Self {
            inner,
            left: budget,
            budget,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        let n64 = n as u64;
        if n64 > self.left {
            return Err(std::io::Error::other(format!(
                "decompressed data exceeds the budget of {} bytes",
                self.budget
            )));
        }
        self.left -= n64;
        Ok(n)
    }
}

fn io_err(path: &str, e: &std::io::Error) -> FsError {
    let text = e.to_string();
    if text.contains("exceeds the budget") {
        FsError::Budget {
            path: path.to_owned(),
            limit: usize::try_from(MAX_DECOMPRESSED_BYTES).unwrap_or(usize::MAX),
            what: "decompressed bytes",
        }
    } else {
        FsError::Format {
            path: path.to_owned(),
            format: "gzip",
            reason: text,
        }
    }
}

impl FileHandle {
    /// A decompressing reader over this file, after `read` on `File(path)`.
    pub(crate) fn gunzip(
        &self,
        gate: &Gate,
        budget: u64,
    ) -> Result<Bounded<MultiGzDecoder<BufReader<std::fs::File>>>, FsError> {
        self.need_read()?;
        let permit = authorize::file(gate, READ, self.path())?;
        authorize::ensure(&permit, READ, self.path())?;
        let f = std::fs::File::from(reopen::for_reading(self.fd(), self.path().as_str())?);
        Ok(Bounded::new(MultiGzDecoder::new(BufReader::new(f)), budget))
    }

    /// Compresses this file into `dest` (truncated first): `read` on `File(src)`,
    /// `write` on `File(dest)`.
    pub fn compress_gzip(
        &self,
        gate: &Gate,
        dest: &FileHandle,
        opts: &CompressGzipOptions,
    ) -> Result<(), FsError> {
        if !(1..=9).contains(&opts.level) {
            return Err(FsError::InvalidArguments(format!(
                "compress_gzip: level `{}` must be 1 to 9",
                opts.level
            )));
        }
        self.need_read()?;
        dest.need_write()?;
        let rp = authorize::file(gate, READ, self.path())?;
        let wp = authorize::file(gate, WRITE, dest.path())?;
        authorize::ensure(&rp, READ, self.path())?;
        authorize::ensure(&wp, WRITE, dest.path())?;
        let mut from = std::fs::File::from(reopen::for_reading(self.fd(), self.path().as_str())?);
        let to = reopen::for_writing(dest.fd(), false, dest.path().as_str())?;
        sys::retry(|| rustix::fs::ftruncate(&to, 0))
            .map_err(|e| FsError::os("truncate", dest.path().as_str(), e))?;
        let mut enc = GzEncoder::new(std::fs::File::from(to), Compression::new(opts.level));
        std::io::copy(&mut from, &mut enc).map_err(|e| io_err(dest.path().as_str(), &e))?;
        enc.finish().map_err(|e| io_err(dest.path().as_str(), &e))?;
        Ok(())
    }

    /// Lines of the decompressed content, selected as [`FileHandle::read_lines`] does
    /// (`read` on `File(path)`). At most `budget` bytes are decompressed and `max_bytes`
    /// of lines returned.
    pub fn read_gzip_lines(
        &self,
        gate: &Gate,
        opts: &ReadLinesOptions,
        max_bytes: usize,
        budget: u64,
    ) -> Result<Vec<String>, FsError> {
        if opts.count.is_none() && opts.start.is_none() {
            return Err(FsError::InvalidArguments(
                "no read line mode specified: set count or start".to_owned(),
            ));
        }
        let path = self.path().as_str();
        let r = self.gunzip(gate, budget)?;
        let mut lines = LineReader::new(BufReader::new(r), path, max_bytes);
        select_lines(&mut lines, opts, path, max_bytes).map_err(|e| match e {
            FsError::Internal(m) if m.contains("exceeds the budget") => FsError::Budget {
                path: path.to_owned(),
                limit: usize::try_from(budget).unwrap_or(usize::MAX),
                what: "decompressed bytes",
            },
            e => e,
        })
    }

    /// Compressed and decompressed sizes (`read` on `File(path)`; at most `budget`
    /// bytes are decompressed).
    pub fn gzip_info(&self, gate: &Gate, budget: u64) -> Result<GzipInfo, FsError> {
        let compressed = sys::to_u64(sys::fstat(self.fd(), self.path().as_str())?.st_size);
        let mut r = self.gunzip(gate, budget)?;
        let total = std::io::copy(&mut r, &mut std::io::sink())
            .map_err(|e| io_err(self.path().as_str(), &e))?;
        Ok(GzipInfo {
            compressed_size_bytes: compressed,
            uncompressed_size_bytes: total,
            compression_ratio: if compressed == 0 {
                0.0
            } else {
                total as f64 / compressed as f64
            },
        })
    }

    /// Lines of the decompressed content matching `pattern` (and not
    /// `exclude_pattern`), streamed (`read` on `File(path)`; at most `budget` bytes
    /// decompressed, lines longer than `max_bytes` are an error).
    pub fn search_gzip(
        &self,
        gate: &Gate,
        pattern: &str,
        opts: &SearchGzipOptions,
        max_bytes: usize,
        budget: u64,
    ) -> Result<Vec<Match>, FsError> {
        let cap = usize::try_from(opts.max_results).ok().filter(|n| *n > 0);
        self.scan_gzip(gate, pattern, opts, max_bytes, budget, cap)
    }

    /// Whether any decompressed line matches (stops at the first).
    pub fn search_gzip_exists(
        &self,
        gate: &Gate,
        pattern: &str,
        opts: &SearchGzipOptions,
        max_bytes: usize,
        budget: u64,
    ) -> Result<bool, FsError> {
        Ok(!self
            .scan_gzip(gate, pattern, opts, max_bytes, budget, Some(1))?
            .is_empty())
    }

    fn scan_gzip(
        &self,
        gate: &Gate,
        pattern: &str,
        opts: &SearchGzipOptions,
        max_bytes: usize,
        budget: u64,
        cap: Option<usize>,
    ) -> Result<Vec<Match>, FsError> {
        let re = text::regex(pattern, opts.case_insensitive)?;
        let exclude = opts
            .exclude_pattern
            .as_deref()
            .map(|p| text::regex(p, opts.case_insensitive))
            .transpose()?;
        let path = self.path().as_str();
        let mut r = BufReader::new(self.gunzip(gate, budget)?);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut n = 0u64;
        let mut total = 0usize;
        loop {
            buf.clear();
            let limit = u64::try_from(max_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let got = (&mut r)
                .take(limit)
                .read_until(b'\n', &mut buf)
                .map_err(|e| io_err(path, &e))?;
            if got == 0 || cap.is_some_and(|c| out.len() >= c) {
                break;
            }
            if buf.len() > max_bytes {
                return Err(FsError::TooLarge {
                    path: path.to_owned(),
                    limit: max_bytes,
                });
            }
            n += 1;
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if re.is_match(line) && !exclude.as_ref().is_some_and(|x| x.is_match(line)) {
                total += line.len();
                if total > max_bytes {
                    return Err(FsError::TooLarge {
                        path: path.to_owned(),
                        limit: max_bytes,
                    });
                }
                out.push(Match {
                    line_number: n,
                    line_content: line.to_owned(),
                });
            }
        }
        Ok(out)
    }
}
