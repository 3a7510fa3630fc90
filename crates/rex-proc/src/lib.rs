//! rex-proc: processes and systemd services, authorized by the Cedar gate.
#![forbid(unsafe_code)]
