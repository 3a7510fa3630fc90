//! Canonical absolute paths: the only spelling of a file or directory that becomes a Cedar id.

use std::fmt;

use crate::error::PathError;

/// An absolute path with no `.` or `..` components, no empty components (`//`), no
/// trailing `/` (except the root itself) and no NUL byte.
///
/// A `CanonicalPath` only guarantees the *spelling* is canonical. That the path names the
/// object reached without symlinks is guaranteed by whoever produced it: `rex-fs` builds
/// them from an fd-anchored walk, so one inode has one Cedar id. Constructing one does not
/// authorize anything.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalPath(String);

impl CanonicalPath {
    /// The root directory `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Validates `path` as already canonical; it is rejected (not repaired) otherwise.
    pub fn new(path: &str) -> Result<Self, PathError> {
        if !path.starts_with('/') {
            return Err(PathError::NotAbsolute(path.to_owned()));
        }
        if path == "/" {
            return Ok(Self::root());
        }
        if path.contains('\0') {
            return Err(PathError::Nul(path.escape_debug().to_string()));
        }
        for component in path[1..].split('/') {
            match component {
                "" => return Err(PathError::NotCanonical(path.to_owned())),
                "." | ".." => return Err(PathError::NotCanonical(path.to_owned())),
                _ => {}
            }
        }
        Ok(Self(path.to_owned()))
    }

    /// A path the caller knows is canonical (it was the text of a `CanonicalPath`).
    pub(crate) fn from_canonical(path: &str) -> Self {
        Self(path.to_owned())
    }

    /// The path as text, as it appears in Cedar ids.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The parent directory, `None` for the root.
    pub fn parent(&self) -> Option<CanonicalPath> {
        self.parent_str().map(Self::from_canonical)
    }

    /// The parent directory's path as text (borrowed), `None` for the root.
    pub fn parent_str(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) => Some("/"),
            Some(i) => self.0.get(..i),
            None => None,
        }
    }

    /// The last component, `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        self.0.rsplit('/').next()
    }

    /// This path with one more component. `name` must be a single component: not empty,
    /// not `.` or `..`, without `/` or NUL.
    pub fn join(&self, name: &str) -> Result<CanonicalPath, PathError> {
        validate_name(name)?;
        if self.is_root() {
            Ok(Self(format!("/{name}")))
        } else {
            Ok(Self(format!("{}/{name}", self.0)))
        }
    }

    /// Every proper ancestor, nearest first, ending with `/`.
    pub fn ancestors(&self) -> impl Iterator<Item = CanonicalPath> {
        std::iter::successors(self.parent(), CanonicalPath::parent)
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &CanonicalPath) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }
}

/// Checks that `name` is one path component: not empty, not `.`/`..`, no `/` or NUL.
pub fn validate_name(name: &str) -> Result<(), PathError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(PathError::BadName(name.escape_debug().to_string()));
    }
    Ok(())
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for CanonicalPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_and_rejects_every_other_spelling() {
        for ok in ["/", "/a", "/a/b", "/a b/c.d", "/..a/b..", "/.hidden"] {
            assert_eq!(CanonicalPath::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "a", "a/b", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a\0b",
        ] {
            assert!(CanonicalPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parent_join_ancestors() {
        let p = CanonicalPath::new("/var/log/syslog").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "/var/log");
        assert_eq!(p.file_name(), Some("syslog"));
        let anc: Vec<String> = p.ancestors().map(|a| a.to_string()).collect();
        assert_eq!(anc, ["/var/log", "/var", "/"]);
        assert_eq!(CanonicalPath::root().join("etc").unwrap().as_str(), "/etc");
        for bad in ["", ".", "..", "a/b"] {
            assert!(p.join(bad).is_err());
        }
        assert!(p.starts_with(&CanonicalPath::new("/var").unwrap()));
        assert!(
            !CanonicalPath::new("/variable")
                .unwrap()
                .starts_with(&CanonicalPath::new("/var").unwrap())
        );
        assert!(p.starts_with(&CanonicalPath::root()));
    }
}
