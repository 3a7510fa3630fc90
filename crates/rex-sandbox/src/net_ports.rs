//! TCP ports named by `network::url` ids and `url` attributes.

/// The TCP port a URL (`scheme://host[:port]/...`) or an endpoint (`host:port`, as the
/// SDK's `connect` and DNS-server resources are named) connects to. A URL without a port
/// gets its scheme's default (`http` 80, `https` 443); `None` when it cannot be told.
pub(crate) fn port_of_url(text: &str) -> Option<u16> {
    let text = text.trim();
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, text),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let explicit = if let Some(after_bracket) = host_port.strip_prefix('[') {
        let (_, tail) = after_bracket.split_once(']')?;
        match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => return None,
        }
    } else {
        host_port.rsplit_once(':').map(|(_, p)| p)
    };
    if let Some(p) = explicit {
        if p.is_empty() {
            return default_port(scheme.as_deref());
        }
        return p.parse::<u16>().ok().filter(|p| *p != 0);
    }
    default_port(scheme.as_deref())
}

fn default_port(scheme: Option<&str>) -> Option<u16> {
    match scheme? {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "dns" => Some(53),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::port_of_url;

    #[test]
    fn ports_of_urls_and_endpoints() {
        assert_eq!(port_of_url("http://example.com/"), Some(80));
        assert_eq!(port_of_url("https://example.com/a?b"), Some(443));
        assert_eq!(port_of_url("http://127.0.0.1:8080/x"), Some(8080));
        assert_eq!(port_of_url("http://[::1]:9000/"), Some(9000));
        assert_eq!(port_of_url("https://[::1]/"), Some(443));
        assert_eq!(port_of_url("127.0.0.1:53"), Some(53));
        assert_eq!(port_of_url("[::1]:5353"), Some(5353));
        assert_eq!(port_of_url("example.com"), None);
        assert_eq!(port_of_url("ftp://example.com/"), None);
        assert_eq!(port_of_url("http://h:0/"), None);
        assert_eq!(port_of_url("http://h:99999/"), None);
    }
}
