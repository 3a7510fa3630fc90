//! URL normalization (`rex_net::HttpTarget`) and host parsing (`rex_net::Host`): never a
//! panic; a parsed target is http(s) with a host and no credentials or fragment;
//! normalization is idempotent (re-parsing the normalized form gives the same target and
//! resource); a redirect join of any input gives a target with the same guarantees.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rex_net::{Host, HttpTarget};

fn check(t: &HttpTarget, input: &str) {
    let s = t.as_str();
    assert!(matches!(t.scheme(), "http" | "https"), "`{input}` -> `{s}`");
    assert!(!s.contains('#'), "`{input}` -> `{s}` keeps a fragment");
    let again =
        HttpTarget::parse(s).unwrap_or_else(|e| panic!("`{input}` -> `{s}` no longer parses: {e}"));
    assert_eq!(&again, t, "`{input}` -> `{s}` is not stable");
    assert_eq!(again.resource(), t.resource());
    assert_eq!(again.port(), t.port());
    let host = t.host().url_form();
    let reparsed = Host::parse(&host).unwrap_or_else(|e| panic!("host `{host}` of `{s}`: {e}"));
    assert_eq!(&reparsed, t.host(), "host of `{s}`");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `URL\nLOCATION`: the first line is parsed as a URL and a host; the rest is a
    // redirect `Location` resolved against it (or against a fixed base).
    let (first, location) = text.split_once('\n').unwrap_or((text, ""));
    let _ = Host::parse(first);
    let parsed = HttpTarget::parse(first);
    if let Ok(t) = &parsed {
        check(t, first);
    }
    let base = match parsed {
        Ok(t) => t,
        Err(_) => match HttpTarget::parse("https://example.com:8443/dir/page?q=1") {
            Ok(t) => t,
            Err(e) => panic!("fixed base: {e}"),
        },
    };
    if let Ok(t) = base.join(location) {
        check(&t, location);
    }
});
