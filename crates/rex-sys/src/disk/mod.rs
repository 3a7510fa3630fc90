//! Disks and filesystems: `df`, `iostat`, `lsblk`, `unmount`, and `format_bytes`.

mod filesystems;
mod iostat;
mod lsblk;
mod unmount;

pub use filesystems::{Filesystem, FilesystemOptions, Filesystems};
pub use iostat::{CpuStats, DeviceStats, IoStatSnapshot, iostat};
pub use lsblk::{BlockDevice, lsblk};
pub use unmount::{UnmountOptions, unmount};

/// Units of [`format_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// KiB (1024 bytes).
    Kilobytes,
    /// MiB (1024 KiB).
    Megabytes,
}

impl Unit {
    /// Every unit.
    pub const ALL: &'static [Unit] = &[Self::Bytes, Self::Kilobytes, Self::Megabytes];

    /// The constant's name (`BYTES`, `KILOBYTES`, `MEGABYTES`).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Bytes => "BYTES",
            Self::Kilobytes => "KILOBYTES",
            Self::Megabytes => "MEGABYTES",
        }
    }
}

/// `size` bytes in `unit`, rounded down. Authorizes nothing (pure arithmetic).
pub fn format_bytes(size: i64, unit: Unit) -> i64 {
    match unit {
        Unit::Bytes => size,
        Unit::Kilobytes => size / 1024,
        Unit::Megabytes => size / (1024 * 1024),
    }
}

/// Decodes the octal escapes (`\040` for a space) of `/proc/mounts` fields.
pub(crate) fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'\\')
            && let Some(oct) = bytes.get(i + 1..i + 4)
            && oct.iter().all(|b| (b'0'..=b'7').contains(b))
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(oct).unwrap_or("x"), 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes.get(i).copied().unwrap_or(b'?'));
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountLine {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
}

pub(crate) fn parse_mounts(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(MountLine {
                device: unescape_mount(f.next()?),
                mount_point: unescape_mount(f.next()?),
                fs_type: f.next()?.to_owned(),
                options: f.next()?.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_unescape() {
        assert_eq!(format_bytes(5 * 1024 * 1024 + 3, Unit::Megabytes), 5);
        assert_eq!(format_bytes(2048, Unit::Kilobytes), 2);
        assert_eq!(format_bytes(7, Unit::Bytes), 7);
        assert_eq!(unescape_mount("/mnt/a\\040b"), "/mnt/a b");
        let m = parse_mounts("tmpfs /tmp/x\\040y tmpfs rw,nosuid 0 0\n");
        assert_eq!(m[0].mount_point, "/tmp/x y");
        assert_eq!(m[0].fs_type, "tmpfs");
    }
}
