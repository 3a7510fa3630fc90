//! rex-sys: system information, sysctl and disks, authorized by the Cedar gate.
#![forbid(unsafe_code)]
