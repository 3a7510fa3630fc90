//! rex-net: HTTP, connect, DNS, interfaces and sockets, authorized by the Cedar gate.
#![forbid(unsafe_code)]
