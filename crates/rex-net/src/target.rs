//! HTTP targets: a URL parsed once, normalized, and turned into the `network::url`
//! resource that is checked and the host and port that are connected.

use std::net::IpAddr;

use rex_policy::{AttrValue, Resource};
use url::{Position, Url};

use crate::error::NetError;
use crate::host::Host;

/// Cedar entity type of URLs and endpoints.
pub const URL_TYPE: &str = "network::url";

/// An `http` or `https` URL parsed once with the WHATWG parser (the one browsers use),
/// with its host normalized: the same object gives the Cedar resource and the connection,
/// so the host that was checked is the host that is reached.
///
/// Refused at parse: other schemes, URLs without a host, and credentials in the URL
/// (`http://user@host/`): they would be sent to the server and written to the decision
/// log; send an `Authorization` header instead. The fragment is dropped (it is never
/// sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTarget {
    url: Url,
    host: Host,
    port: u16,
}

impl HttpTarget {
    /// Parses `input`.
    pub fn parse(input: &str) -> Result<Self, NetError> {
        let url = Url::parse(input).map_err(|e| NetError::invalid_url(input, e.to_string()))?;
        Self::from_url(url, input)
    }

    /// Resolves a redirect `location` against this URL.
    pub fn join(&self, location: &str) -> Result<Self, NetError> {
        let url = self
            .url
            .join(location)
            .map_err(|e| NetError::invalid_url(location, e.to_string()))?;
        Self::from_url(url, location)
    }

    fn from_url(mut url: Url, input: &str) -> Result<Self, NetError> {
        let invalid = |reason: &str| NetError::invalid_url(input, reason);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http and https urls are supported"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials in the url are not supported; send an Authorization header",
            ));
        }
        url.set_fragment(None);
        let host = match url.host() {
            Some(h) => Host::from_url_host(h).map_err(|e| invalid(&e))?,
            None => return Err(invalid("no host")),
        };
        // Write the normalized host back so the URL, the resource id and the request all
        // say the same thing (`localhost.` becomes `localhost`, `[::ffff:7f00:1]` becomes
        // `127.0.0.1`).
        let set = match &host {
            Host::Domain(d) => url.set_host(Some(d)).map_err(|e| e.to_string()),
            Host::Ip(ip) => url.set_ip_host(*ip).map_err(|()| "bad address".to_owned()),
        };
        set.map_err(|e| invalid(&e))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("no port"))?;
        Ok(Self { url, host, port })
    }

    /// The normalized URL: the id of the `network::url` resource.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The normalized host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port: explicit, or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path, percent-encoded and with `.`/`..` segments resolved.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Whether `other` has the same scheme, host and port.
    pub fn same_origin(&self, other: &Self) -> bool {
        self.scheme() == other.scheme() && self.host == other.host && self.port == other.port
    }

    /// Path and query, as written on the request line.
    pub(crate) fn request_target(&self) -> &str {
        &self.url[Position::BeforePath..Position::AfterQuery]
    }

    /// The `Host` header value (the port only when it is not the default).
    pub(crate) fn host_header(&self) -> &str {
        &self.url[Position::BeforeHost..Position::AfterPort]
    }

    /// `network::url::"<normalized url>"` with attributes `url`, `scheme`, `host`,
    /// `port` and `path`.
    pub fn resource(&self) -> Resource {
        url_resource(
            self.url.as_str(),
            self.scheme(),
            &self.host,
            self.port,
            self.path(),
        )
    }

    /// The same request addressed to `ip`: `network::url::"http://<ip>:<port>/path"` with
    /// `host` = the address. Used to ask whether a `forbid` applies to an address a name
    /// resolved to.
    pub fn address_resource(&self, ip: IpAddr) -> Resource {
        let mut url = self.url.clone();
        let host = Host::from_ip(ip);
        if let Host::Ip(ip) = host {
            // Cannot fail for http(s) URLs; on failure the id keeps the name and the
            // attribute still carries the address.
            let _ = url.set_ip_host(ip);
        }
        url_resource(url.as_str(), self.scheme(), &host, self.port, self.path())
    }
}

/// A `network::url` resource.
pub(crate) fn url_resource(id: &str, scheme: &str, host: &Host, port: u16, path: &str) -> Resource {
    Resource::new(URL_TYPE, id)
        .attr("url", AttrValue::String(id.to_owned()))
        .attr("scheme", AttrValue::String(scheme.to_owned()))
        .attr("host", AttrValue::String(host.attr()))
        .attr("port", AttrValue::Long(i64::from(port)))
        .attr("path", AttrValue::String(path.to_owned()))
}

/// A `network::url::"<host>:<port>"` resource for `connect` and DNS servers, with
/// attributes `url` (the same string), `scheme` (`tcp`, `udp` or `dns`), `host`, `port`
/// and `path` (empty), so every `network::url` carries all five attributes.
pub(crate) fn endpoint_resource(host: &Host, port: u16, scheme: &str) -> Resource {
    let id = host.with_port(port);
    Resource::new(URL_TYPE, id.clone())
        .attr("url", AttrValue::String(id))
        .attr("scheme", AttrValue::String(scheme.to_owned()))
        .attr("host", AttrValue::String(host.attr()))
        .attr("port", AttrValue::Long(i64::from(port)))
        .attr("path", AttrValue::String(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(r: &Resource, name: &str) -> AttrValue {
        r.attrs()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    #[test]
    fn url_is_normalized_before_it_becomes_a_resource() {
        let t = HttpTarget::parse("HTTP://LOCALHOST.:8080/a/./b/../c?q=1#frag").unwrap();
        assert_eq!(t.as_str(), "http://localhost:8080/a/c?q=1");
        let r = t.resource();
        assert_eq!(r.id(), "http://localhost:8080/a/c?q=1");
        assert_eq!(attr(&r, "host"), AttrValue::String("localhost".into()));
        assert_eq!(attr(&r, "port"), AttrValue::Long(8080));
        assert_eq!(attr(&r, "path"), AttrValue::String("/a/c".into()));
        assert_eq!(attr(&r, "scheme"), AttrValue::String("http".into()));
        assert_eq!(t.request_target(), "/a/c?q=1");
        assert_eq!(t.host_header(), "localhost:8080");
    }

    #[test]
    fn default_ports_and_ip_forms() {
        let t = HttpTarget::parse("https://0x7f.1/").unwrap();
        assert_eq!(t.as_str(), "https://127.0.0.1/");
        assert_eq!(t.port(), 443);
        assert_eq!(t.host_header(), "127.0.0.1");
        let t = HttpTarget::parse("http://[::ffff:127.0.0.1]:81").unwrap();
        assert_eq!(t.as_str(), "http://127.0.0.1:81/");
        let t = HttpTarget::parse("http://[::1]/").unwrap();
        assert_eq!(t.host().attr(), "::1");
        assert_eq!(t.host_header(), "[::1]");
    }

    #[test]
    fn backslashes_and_userinfo_cannot_move_the_host() {
        // WHATWG: a backslash is a path separator in http(s) URLs.
        let t = HttpTarget::parse(r"http://evil.test\@127.0.0.1/").unwrap();
        assert_eq!(t.host().attr(), "evil.test");
        let t = HttpTarget::parse(r"http://127.0.0.1\@evil.test/").unwrap();
        assert_eq!(t.host().attr(), "127.0.0.1");
        assert_eq!(t.path(), "/@evil.test/");
        assert!(HttpTarget::parse("http://allowed.test@evil.test/").is_err());
        assert!(HttpTarget::parse("http://a:b@evil.test/").is_err());
    }

    #[test]
    fn other_schemes_are_refused() {
        for u in [
            "file:///etc/passwd",
            "ftp://x/",
            "gopher://x/",
            "x",
            "http://",
        ] {
            assert!(HttpTarget::parse(u).is_err(), "{u}");
        }
    }

    #[test]
    fn redirects_resolve_relative_locations() {
        let t = HttpTarget::parse("http://a.test/x/y").unwrap();
        assert_eq!(t.join("z").unwrap().as_str(), "http://a.test/x/z");
        assert_eq!(t.join("//b.test/").unwrap().as_str(), "http://b.test/");
        assert!(t.join("file:///etc/passwd").is_err());
    }

    #[test]
    fn address_resource_names_the_address() {
        let t = HttpTarget::parse("http://svc.test/p").unwrap();
        let r = t.address_resource("127.0.0.2".parse().unwrap());
        assert_eq!(r.id(), "http://127.0.0.2/p");
        assert_eq!(attr(&r, "host"), AttrValue::String("127.0.0.2".into()));
        assert_eq!(attr(&r, "port"), AttrValue::Long(80));
    }
}
