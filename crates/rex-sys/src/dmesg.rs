//! The kernel log (`dmesg`), read record by record from `/dev/kmsg` after `read` on
//! `File::"/dev/kmsg"` is authorized, through the fd opened right after the check.

use std::os::fd::AsFd;

use rex_policy::action::fs;
use rex_policy::{CanonicalPath, Gate, Resource};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::Serialize;

use crate::checked::uptime;
use crate::error::SysError;
use crate::sysinfo::SystemInfo;

/// Most records one call returns.
pub const MAX_DMESG_ENTRIES: usize = 100_000;

/// Options of [`SystemInfo::dmesg_info`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmesgOptions {
    /// Also give each record's wall-clock time (`timestamp`, UTC, RFC 3339).
    pub human_readable_time: bool,
}

/// One kernel log record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DmesgEntry {
    /// Seconds after boot.
    pub timestamp_from_system_start: f64,
    /// The message (first line of the record).
    pub message: String,
    /// Syslog level (0 emergency .. 7 debug).
    pub level: u8,
    /// Syslog facility (0 kernel).
    pub facility: u32,
    /// Sequence number.
    pub sequence: u64,
    /// Wall-clock time (UTC) when `human_readable_time`, otherwise `[seconds]`.
    pub timestamp: String,
}

/// Parses one `/dev/kmsg` record: `prio,seq,usec,flags[,...];message\n[ continuation]`.
pub(crate) fn parse_record(record: &str) -> Option<(u8, u32, u64, u64, String)> {
    let (header, rest) = record.split_once(';')?;
    let mut h = header.split(',');
    let prio: u32 = h.next()?.parse().ok()?;
    let seq: u64 = h.next()?.parse().ok()?;
    let usec: u64 = h.next()?.parse().ok()?;
    let message = rest.split('\n').next().unwrap_or("").to_owned();
    Some(((prio & 7) as u8, prio >> 3, seq, usec, message))
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for seconds since the epoch.
pub(crate) fn rfc3339(epoch: f64) -> String {
    let secs = epoch.floor() as i64;
    let micros = ((epoch - secs as f64) * 1e6) as i64;
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

impl SystemInfo {
    /// The kernel log records still in the ring buffer, oldest first, within
    /// `max_bytes`. Needs `read` on `File::"/dev/kmsg"` (and, with
    /// `kernel.dmesg_restrict`, CAP_SYSLOG, which the OS checks).
    pub fn dmesg_info(
        &self,
        gate: &Gate,
        options: DmesgOptions,
        max_bytes: usize,
    ) -> Result<Vec<DmesgEntry>, SysError> {
        let path = "/dev/kmsg";
        gate.check(fs::READ, &Resource::file(&CanonicalPath::new(path)?))?;
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| SysError::os("open", path, e))?;
        let boot = {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
            now.tv_sec as f64 + now.tv_nsec as f64 / 1e9 - uptime()
        };
        let mut out = Vec::new();
        let mut total = 0usize;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match rustix::io::read(fd.as_fd(), &mut buf) {
                Ok(0) | Err(Errno::AGAIN) => break,
                Ok(n) => n,
                // A record was overwritten while reading: go on with the next one.
                Err(Errno::PIPE | Errno::INTR) => continue,
                Err(e) => return Err(SysError::os("read", path, e)),
            };
            total += n;
            if total > max_bytes || out.len() >= MAX_DMESG_ENTRIES {
                return Err(SysError::TooLarge {
                    path: path.to_owned(),
                    limit: max_bytes,
                });
            }
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            let Some((level, facility, sequence, usec, message)) = parse_record(&text) else {
                continue;
            };
            let secs = usec as f64 / 1e6;
            out.push(DmesgEntry {
                timestamp_from_system_start: secs,
                message,
                level,
                facility,
                sequence,
                timestamp: if options.human_readable_time {
                    rfc3339(boot + secs)
                } else {
                    format!("[{secs:>12.6}]")
                },
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_dates() {
        let (level, facility, seq, usec, msg) =
            parse_record("6,339,5140900,-;usb 1-1: new device\n SUBSYSTEM=usb\n").unwrap();
        assert_eq!((level, facility, seq, usec), (6, 0, 339, 5_140_900));
        assert_eq!(msg, "usb 1-1: new device");
        assert!(parse_record("garbage").is_none());
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_700_000_000.5), "2023-11-14T22:13:20.500000Z");
    }
}
