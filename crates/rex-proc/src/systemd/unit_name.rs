//! Canonical unit names: the only spelling of a unit that becomes a Cedar id.

use std::fmt;

use crate::error::ProcessError;

/// Unit type suffixes systemd knows.
const SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "target",
    "timer",
    "mount",
    "automount",
    "swap",
    "path",
    "slice",
    "scope",
    "device",
];

/// Longest unit name systemd accepts.
const MAX_LEN: usize = 255;

/// A unit name in its one canonical spelling: `nginx` and `nginx.service` are both
/// `nginx.service`, so a policy on `systemd::Service::"nginx.service"` covers every way a
/// script can name it. Templates (`getty@.service`) and instances (`getty@tty1.service`)
/// keep their `@`. Names with `/`, `..`, whitespace, control characters or anything
/// outside systemd's alphabet (`A-Z a-z 0-9 : - _ . \ @`) are rejected. Building one
/// authorizes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitName(String);

impl UnitName {
    /// Canonicalizes `name`: adds `.service` when it has no unit suffix, and rejects
    /// anything that is not a valid unit name.
    pub fn parse(name: &str) -> Result<Self, ProcessError> {
        let bad = |why: &str| {
            ProcessError::Invalid(format!(
                "invalid unit name `{}`: {why}",
                name.escape_debug()
            ))
        };
        if name.is_empty() {
            return Err(bad("empty"));
        }
        if name.contains('/') {
            return Err(bad("contains `/`"));
        }
        if name.contains("..") {
            return Err(bad("contains `..`"));
        }
        if let Some(c) = name.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\' | '@'))
        }) {
            return Err(bad(&format!(
                "character `{}` is not allowed",
                c.escape_debug()
            )));
        }
        let full = match name.rsplit_once('.') {
            Some((_, suffix)) if SUFFIXES.contains(&suffix) => name.to_owned(),
            _ => format!("{name}.service"),
        };
        let (stem, _) = full.rsplit_once('.').ok_or_else(|| bad("no unit type"))?;
        if stem.is_empty() || stem.starts_with('.') || stem.ends_with('.') {
            return Err(bad("empty name before the unit type"));
        }
        if stem.starts_with('@') || stem.matches('@').count() > 1 {
            return Err(bad("misplaced `@`"));
        }
        if full.len() > MAX_LEN {
            return Err(bad("longer than 255 bytes"));
        }
        Ok(Self(full))
    }

    /// The canonical name, e.g. `nginx.service`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The D-Bus object path systemd uses for the unit
    /// (`/org/freedesktop/systemd1/unit/nginx_2eservice`).
    pub fn object_path(&self) -> String {
        let mut path = String::from("/org/freedesktop/systemd1/unit/");
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() {
                path.push(char::from(b));
            } else {
                path.push_str(&format!("_{b:02x}"));
            }
        }
        path
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_unit() {
        for (given, canonical) in [
            ("nginx", "nginx.service"),
            ("nginx.service", "nginx.service"),
            ("getty@tty1", "getty@tty1.service"),
            ("getty@tty1.service", "getty@tty1.service"),
            ("getty@.service", "getty@.service"),
            ("sshd.socket", "sshd.socket"),
            (
                "dev-disk-by\\x2duuid-1.device",
                "dev-disk-by\\x2duuid-1.device",
            ),
            ("my.app", "my.app.service"),
        ] {
            assert_eq!(
                UnitName::parse(given).unwrap().as_str(),
                canonical,
                "{given}"
            );
        }
        for bad in [
            "",
            "../etc",
            "a/b",
            "nginx..service",
            "a b",
            "a\nb",
            ".service",
            "@x",
            "a@b@c",
            "ü",
            "x;rm",
            "a.",
        ] {
            assert!(UnitName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(UnitName::parse(&"a".repeat(300)).is_err());
    }

    #[test]
    fn object_paths_escape_like_systemd() {
        assert_eq!(
            UnitName::parse("nginx").unwrap().object_path(),
            "/org/freedesktop/systemd1/unit/nginx_2eservice"
        );
        assert_eq!(
            UnitName::parse("getty@tty1").unwrap().object_path(),
            "/org/freedesktop/systemd1/unit/getty_40tty1_2eservice"
        );
    }
}
