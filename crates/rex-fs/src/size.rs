//! Sizes: units, ranges, `truncate` and `fallocate`.

use rex_policy::Gate;
use rex_policy::action::fs::WRITE;
use rustix::fs::FallocateFlags;

use crate::authorize;
use crate::error::FsError;
use crate::file::FileHandle;
use crate::reopen;
use crate::sys;

/// A size unit (the original `SizeUnit` module).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SizeUnit {
    /// 1 byte.
    #[default]
    Bytes,
    /// 1000 bytes.
    Kilobytes,
    /// 1024 bytes.
    Kibibytes,
    /// 1000² bytes.
    Megabytes,
    /// 1024² bytes.
    Mebibytes,
    /// 1000³ bytes.
    Gigabytes,
    /// 1024³ bytes.
    Gibibytes,
}

impl SizeUnit {
    /// Every unit, with its script name.
    pub const ALL: &'static [(SizeUnit, &'static str)] = &[
        (Self::Bytes, "BYTES"),
        (Self::Kilobytes, "KILOBYTES"),
        (Self::Kibibytes, "KIBIBYTES"),
        (Self::Megabytes, "MEGABYTES"),
        (Self::Mebibytes, "MEBIBYTES"),
        (Self::Gigabytes, "GIGABYTES"),
        (Self::Gibibytes, "GIBIBYTES"),
    ];

    /// Bytes per unit.
    pub const fn factor(self) -> u64 {
        match self {
            Self::Bytes => 1,
            Self::Kilobytes => 1000,
            Self::Kibibytes => 1024,
            Self::Megabytes => 1_000_000,
            Self::Mebibytes => 1 << 20,
            Self::Gigabytes => 1_000_000_000,
            Self::Gibibytes => 1 << 30,
        }
    }

    /// The script name (`"BYTES"`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(u, _)| *u == self)
            .map_or("BYTES", |(_, n)| n)
    }

    /// `n` of this unit in bytes; negative or overflowing is `InvalidArguments`.
    pub fn bytes(self, n: i64) -> Result<u64, FsError> {
        u64::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(self.factor()))
            .ok_or_else(|| {
                FsError::InvalidArguments(format!("size `{n}` {} is out of range", self.name()))
            })
    }
}

/// A file size range (the original `SizeRange::min_only/max_only/between`), in bytes,
/// inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeRange {
    /// Smallest size accepted.
    pub min: Option<u64>,
    /// Largest size accepted.
    pub max: Option<u64>,
}

impl SizeRange {
    /// At least `n` units.
    pub fn min_only(n: i64, unit: SizeUnit) -> Result<Self, FsError> {
        Ok(Self {
            min: Some(unit.bytes(n)?),
            max: None,
        })
    }

    /// At most `n` units.
    pub fn max_only(n: i64, unit: SizeUnit) -> Result<Self, FsError> {
        Ok(Self {
            min: None,
            max: Some(unit.bytes(n)?),
        })
    }

    /// Between `a` and `b` units (inclusive).
    pub fn between(a: i64, b: i64, unit: SizeUnit) -> Result<Self, FsError> {
        let (min, max) = (unit.bytes(a)?, unit.bytes(b)?);
        if min > max {
            return Err(FsError::InvalidArguments(format!(
                "size range `{a}..{b}` is empty"
            )));
        }
        Ok(Self {
            min: Some(min),
            max: Some(max),
        })
    }

    /// Whether `size` is in the range.
    pub fn contains(&self, size: u64) -> bool {
        self.min.is_none_or(|m| size >= m) && self.max.is_none_or(|m| size <= m)
    }
}

/// Options of [`FileHandle::truncate`] (the original `TruncateOptions()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TruncateOptions {
    /// New size in `format` units (default 0).
    pub size: i64,
    /// Unit of `size`.
    pub format: SizeUnit,
}

/// Options of [`FileHandle::fallocate`] (the original `FallocateOptions()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FallocateOptions {
    /// Bytes (in `format` units) to allocate from offset 0; more than 0.
    pub length: i64,
    /// Unit of `length`.
    pub format: SizeUnit,
}

impl FileHandle {
    /// Sets the file's size (`write` on `File(path)`), on the inode the handle holds.
    /// Linux only.
    pub fn truncate(&self, gate: &Gate, opts: &TruncateOptions) -> Result<(), FsError> {
        self.need_write()?;
        let size = opts.format.bytes(opts.size)?;
        let permit = authorize::file(gate, WRITE, self.path())?;
        authorize::ensure(&permit, WRITE, self.path())?;
        let f = reopen::for_writing(self.fd(), false, self.path().as_str())?;
        sys::retry(|| rustix::fs::ftruncate(&f, size))
            .map_err(|e| FsError::os("truncate", self.path().as_str(), e))
    }

    /// Allocates disk space for the first `length` bytes (`write` on `File(path)`),
    /// growing the file if needed. Linux only.
    pub fn fallocate(&self, gate: &Gate, opts: &FallocateOptions) -> Result<(), FsError> {
        self.need_write()?;
        if opts.length <= 0 {
            return Err(FsError::InvalidArguments(
                "fallocate: length must be more than 0".to_owned(),
            ));
        }
        let len = opts.format.bytes(opts.length)?;
        let permit = authorize::file(gate, WRITE, self.path())?;
        authorize::ensure(&permit, WRITE, self.path())?;
        let f = reopen::for_writing(self.fd(), false, self.path().as_str())?;
        sys::retry(|| rustix::fs::fallocate(&f, FallocateFlags::empty(), 0, len))
            .map_err(|e| FsError::os("fallocate", self.path().as_str(), e))
    }
}
