//! The few DNS messages rex needs (RFC 1035): a recursive query for one name and type,
//! and the addresses in the answer. Every read is bounds-checked; anything unexpected is
//! an error, never a guess.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record type A (IPv4 address).
pub const TYPE_A: u16 = 1;
/// Record type AAAA (IPv6 address).
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const HEADER_LEN: usize = 12;
/// Response code "name error": the name does not exist.
pub const RCODE_NXDOMAIN: u8 = 3;

/// Builds a query for `name` (ASCII, no trailing dot) of `qtype` with id `id` and the
/// recursion-desired flag.
pub fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("name `{name}` is not 1 to 253 bytes long"));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100_u16.to_be_bytes()); // RD
    out.extend_from_slice(&1_u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // AN, NS, AR counts
    for label in name.split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))
            .ok_or_else(|| format!("name `{name}` has a label that is empty or too long"))?;
        if !label.is_ascii() {
            return Err(format!("name `{name}` is not ascii"));
        }
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// What a response says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The response code (0 = no error).
    pub rcode: u8,
    /// The TC bit: the answer did not fit and should be asked again over TCP.
    pub truncated: bool,
    /// The addresses of the records of the asked type and class IN.
    pub addresses: Vec<IpAddr>,
}

struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self
            .msg
            .get(self.pos..end)
            .ok_or_else(|| format!("message ends at byte {} (needs {end})", self.msg.len()))?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Skips a (possibly compressed) name; owner names are not needed.
    fn skip_name(&mut self) -> Result<(), String> {
        for _ in 0..128 {
            let len = self.take(1)?[0];
            match len >> 6 {
                0 if len == 0 => return Ok(()),
                0 => {
                    self.take(usize::from(len))?;
                }
                3 => {
                    self.take(1)?;
                    return Ok(());
                }
                _ => return Err(format!("unsupported label type {len:#x}")),
            }
        }
        Err("name has too many labels".to_owned())
    }
}

/// Reads the response to query `id` of `qtype`.
pub fn parse(msg: &[u8], id: u16, qtype: u16) -> Result<Answer, String> {
    let mut c = Cursor { msg, pos: 0 };
    let got_id = c.u16()?;
    if got_id != id {
        return Err(format!("response id {got_id} does not match query id {id}"));
    }
    let flags = c.u16()?;
    if flags & 0x8000 == 0 {
        return Err("message is a query, not a response".to_owned());
    }
    let rcode = (flags & 0x000f) as u8;
    let truncated = flags & 0x0200 != 0;
    let qd = c.u16()?;
    let an = c.u16()?;
    c.take(4)?; // NS, AR counts: not read
    for _ in 0..qd {
        c.skip_name()?;
        c.take(4)?;
    }
    let mut addresses = Vec::new();
    if truncated {
        return Ok(Answer {
            rcode,
            truncated,
            addresses,
        });
    }
    for _ in 0..an {
        c.skip_name()?;
        let rtype = c.u16()?;
        let class = c.u16()?;
        c.take(4)?; // TTL
        let len = usize::from(c.u16()?);
        let data = c.take(len)?;
        if class != CLASS_IN || rtype != qtype {
            continue; // CNAMEs and others: the addresses follow in the same answer
        }
        match (rtype, data.len()) {
            (TYPE_A, 4) => addresses.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (TYPE_AAAA, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(data);
                addresses.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => return Err(format!("record of type {rtype} has {len} bytes of data")),
        }
    }
    Ok(Answer {
        rcode,
        truncated,
        addresses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(q: &[u8], answers: &[[u8; 4]], rcode: u8) -> Vec<u8> {
        let mut r = q.to_vec();
        r[2] = 0x81;
        r[3] = 0x80 | rcode;
        r[7] = answers.len() as u8;
        for a in answers {
            r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            r.extend_from_slice(a);
        }
        r
    }

    #[test]
    fn a_round_trip() {
        let q = query(7, "svc.test", TYPE_A).unwrap();
        let r = response(&q, &[[127, 0, 0, 2], [10, 0, 0, 1]], 0);
        let a = parse(&r, 7, TYPE_A).unwrap();
        assert_eq!(
            a.addresses,
            vec![
                "127.0.0.2".parse::<IpAddr>().unwrap(),
                "10.0.0.1".parse().unwrap()
            ]
        );
        assert!(parse(&r, 8, TYPE_A).is_err());
        assert_eq!(
            parse(&response(&q, &[], 3), 7, TYPE_A).unwrap().rcode,
            RCODE_NXDOMAIN
        );
    }

    #[test]
    fn truncated_and_hostile_messages_are_errors() {
        let q = query(7, "svc.test", TYPE_A).unwrap();
        let r = response(&q, &[[1, 2, 3, 4]], 0);
        for cut in 0..r.len() {
            assert!(parse(&r[..cut], 7, TYPE_A).is_err(), "cut at {cut}");
        }
        // A query is not an answer.
        assert!(parse(&q, 7, TYPE_A).is_err());
        // Bad lengths.
        let mut bad = r.clone();
        let n = bad.len();
        bad[n - 5] = 5;
        assert!(parse(&bad, 7, TYPE_A).is_err());
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(query(1, "", TYPE_A).is_err());
        assert!(query(1, "a..b", TYPE_A).is_err());
        assert!(query(1, &"a".repeat(64), TYPE_A).is_err());
        assert!(query(1, "é.test", TYPE_A).is_err());
    }
}
