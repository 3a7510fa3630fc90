//! Resources: the exact object a request is about, with its Cedar attributes and ancestors.

use std::fmt;
use std::sync::Arc;

use crate::path::CanonicalPath;

/// A Cedar attribute value of a resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttrValue {
    /// A Cedar `String`.
    String(String),
    /// A Cedar `Long`.
    Long(i64),
    /// A Cedar `Bool`.
    Bool(bool),
    /// A Cedar `Set<String>`.
    StringSet(Vec<String>),
}

/// The object a request is about: entity type, id, attributes, and for files and
/// directories the directory it lies in (from which the whole `in Dir` chain up to `/`
/// follows).
///
/// A file or directory stores only its type and canonical path: its `path` attribute and
/// its `in Dir` chain are derived from the path when the gate builds entities (on a memo
/// miss), so building one, cloning it and comparing it are one allocation, a reference
/// count and one string comparison. A `Resource` authorizes nothing by itself; it is what
/// `Gate::check` decides on.
#[derive(Clone, Eq)]
pub struct Resource {
    type_name: &'static str,
    id: Arc<str>,
    /// A file or directory: `id` is a canonical path, the `path` attribute is `id`.
    fs: bool,
    attrs: Vec<(&'static str, AttrValue)>,
}

/// Cedar type name of files.
pub const FILE_TYPE: &str = "file_system::File";
/// Cedar type name of directories.
pub const DIR_TYPE: &str = "file_system::Dir";

/// Every entity type a resource can have.
pub const TYPES: &[&str] = &[
    FILE_TYPE,
    DIR_TYPE,
    "sysinfo::Uname",
    "sysinfo::Sysinfo",
    "sysinfo::Hostname",
    "network::url",
    "process_system::Process",
    "systemd::Service",
    "systemd::Systemd",
    "sysctl::Sysctl",
    "file_system::Arguments",
    "file_system::Environment",
];

impl Resource {
    /// Parses a Cedar entity uid such as `file_system::File::"/tmp/x"`. Files and
    /// directories must name canonical paths and get their `in Dir` chain; other types get
    /// the attributes given in `attrs` (for `rex policy explain`).
    pub fn parse_uid(
        text: &str,
        attrs: Vec<(&'static str, AttrValue)>,
    ) -> Result<Resource, String> {
        let text = text.trim();
        let (type_name, id) = text
            .rsplit_once("::\"")
            .and_then(|(t, rest)| Some((t, rest.strip_suffix('"')?)))
            .ok_or_else(|| {
                format!("`{text}` is not an entity uid like `file_system::File::\"/tmp/x\"`")
            })?;
        let type_name = TYPES
            .iter()
            .copied()
            .find(|t| *t == type_name)
            .ok_or_else(|| {
                format!(
                    "unknown resource type `{type_name}` (expected one of {})",
                    TYPES.join(", ")
                )
            })?;
        let id = id.replace("\\\"", "\"").replace("\\\\", "\\");
        if type_name == FILE_TYPE || type_name == DIR_TYPE {
            let path = CanonicalPath::new(&id).map_err(|e| e.to_string())?;
            let mut r = if type_name == FILE_TYPE {
                Resource::file(&path)
            } else {
                Resource::dir(&path)
            };
            r.attrs
                .extend(attrs.into_iter().filter(|(k, _)| *k != "path"));
            return Ok(r);
        }
        let mut r = Resource::new(type_name, id);
        r.attrs = attrs;
        Ok(r)
    }

    /// `file_system::File::"<path>"` with attribute `path`, in its parent `Dir` chain.
    pub fn file(path: &CanonicalPath) -> Self {
        Self::fs(FILE_TYPE, path.as_str())
    }

    /// `file_system::Dir::"<path>"` with attribute `path`, in its parent `Dir` chain.
    pub fn dir(path: &CanonicalPath) -> Self {
        Self::fs(DIR_TYPE, path.as_str())
    }

    /// The `file_system::Dir` of the directory `path` lies in (`None` for `/`): the same
    /// resource as `Resource::dir(&path.parent()?)`, without the intermediate path.
    pub fn parent_dir_of(path: &CanonicalPath) -> Option<Self> {
        path.parent_str().map(|p| Self::fs(DIR_TYPE, p))
    }

    /// `id` is the text of a canonical path.
    fn fs(type_name: &'static str, id: &str) -> Self {
        Self {
            type_name,
            id: Arc::from(id),
            fs: true,
            attrs: Vec::new(),
        }
    }

    /// Any other entity, e.g. `Resource::new("network::url", url)`. Attributes are added
    /// with [`Resource::attr`].
    pub fn new(type_name: &'static str, id: impl Into<String>) -> Self {
        Self {
            type_name,
            id: Arc::from(id.into()),
            fs: false,
            attrs: Vec::new(),
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attr(mut self, name: &'static str, value: AttrValue) -> Self {
        self.attrs.push((name, value));
        self
    }

    /// The Cedar entity type name, e.g. `file_system::File`.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The entity id (for files and directories the canonical path).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id, shared (a [`crate::Permit`] keeps it without copying it).
    pub(crate) fn shared_id(&self) -> Arc<str> {
        Arc::clone(&self.id)
    }

    /// The attributes added with [`Resource::attr`]. A file or directory also has the
    /// attribute `path`, its id, which is not in this list: see [`Resource::path_attr`].
    pub fn attrs(&self) -> &[(&'static str, AttrValue)] {
        &self.attrs
    }

    /// For a file or directory, the value of its `path` attribute (its canonical path).
    pub fn path_attr(&self) -> Option<&str> {
        self.fs.then_some(&*self.id)
    }

    /// The directory the object lies in, for files and directories other than `/`.
    pub fn parent_dir(&self) -> Option<CanonicalPath> {
        if !self.fs {
            return None;
        }
        CanonicalPath::from_canonical(&self.id).parent()
    }

    /// Whether the resource is a file or directory.
    pub fn is_fs(&self) -> bool {
        self.fs
    }
}

impl PartialEq for Resource {
    /// The type name is compared by pointer first (see [`crate::action`]): it is one of
    /// the constants of [`TYPES`] in every resource rex builds. So is the id: clones of
    /// one resource share it.
    fn eq(&self, other: &Self) -> bool {
        crate::action::same_name(self.type_name, other.type_name)
            && self.fs == other.fs
            && (Arc::ptr_eq(&self.id, &other.id) || self.id == other.id)
            && self.attrs == other.attrs
    }
}

impl std::hash::Hash for Resource {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.type_name.hash(state);
        self.id.hash(state);
        self.fs.hash(state);
        self.attrs.hash(state);
    }
}

impl fmt::Display for Resource {
    /// The Cedar entity uid, e.g. `file_system::File::"/tmp/x"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Printable ASCII other than quotes and `\\` is left alone by `escape_debug`:
        // written as it is (the common case, and a tenth of the cost).
        let plain = self
            .id
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\'' | b'\\'));
        if plain {
            write!(f, "{}::\"{}\"", self.type_name, self.id)
        } else {
            write!(f, "{}::\"{}\"", self.type_name, self.id.escape_debug())
        }
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An entity referenced from a request's context, such as the `file_system::Arguments` and
/// `file_system::Environment` of an `execute` (the context names it with
/// `{"__entity": {"type": ..., "id": ...}}`). It carries attributes and Cedar tags, so a
/// policy can test `context.arguments.hasTag("--force")` or
/// `context.environment.getTag("PATH")`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextEntity {
    /// Entity type, e.g. `file_system::Arguments`.
    pub type_name: &'static str,
    /// Entity id (unique within the request).
    pub id: String,
    /// Attributes.
    pub attrs: Vec<(&'static str, AttrValue)>,
    /// Tags (string values).
    pub tags: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> CanonicalPath {
        CanonicalPath::new(p).unwrap()
    }

    #[test]
    fn files_and_directories_derive_their_path_attribute_and_parent_from_the_id() {
        let f = Resource::file(&path("/tmp/rexbench/small.txt"));
        assert_eq!(f.path_attr(), Some("/tmp/rexbench/small.txt"));
        assert_eq!(f.parent_dir(), Some(path("/tmp/rexbench")));
        assert!(f.attrs().is_empty());
        assert_eq!(Resource::dir(&path("/tmp")).parent_dir(), Some(path("/")));
        assert_eq!(Resource::dir(&CanonicalPath::root()).parent_dir(), None);
        let other = Resource::new("network::url", "http://127.0.0.1/");
        assert_eq!((other.path_attr(), other.parent_dir()), (None, None));
    }

    #[test]
    fn equality_is_by_type_id_kind_and_attributes() {
        let p = path("/tmp/x");
        assert_eq!(Resource::file(&p), Resource::file(&path("/tmp/x")));
        assert_ne!(Resource::file(&p), Resource::dir(&p));
        assert_ne!(Resource::file(&p), Resource::file(&path("/tmp/y")));
        // Same type name and id, but not built as a file: no `path`, no parent chain.
        assert_ne!(Resource::file(&p), Resource::new(FILE_TYPE, "/tmp/x"));
        // A type name equal in text but not the same constant still compares equal.
        let copied: &'static str = String::from("sysctl::Sysctl").leak();
        assert_eq!(
            Resource::new(copied, "kernel.ostype"),
            Resource::new("sysctl::Sysctl", "kernel.ostype")
        );
        assert_ne!(
            Resource::new("sysctl::Sysctl", "a").attr("k", AttrValue::Long(1)),
            Resource::new("sysctl::Sysctl", "a").attr("k", AttrValue::Long(2))
        );
    }

    #[test]
    fn the_parent_directory_resource_is_the_directory_of_the_parent() {
        for p in ["/a", "/a/b", "/tmp/rexbench/small.txt"] {
            let p = path(p);
            assert_eq!(
                Resource::parent_dir_of(&p),
                Some(Resource::dir(&p.parent().unwrap()))
            );
        }
        assert_eq!(Resource::parent_dir_of(&CanonicalPath::root()), None);
    }

    #[test]
    fn display_is_escape_debug_for_every_kind_of_id() {
        for id in [
            "/tmp/x",
            "/a b/c~d",
            "/q\"uote",
            "/it's",
            "/back\\slash",
            "/tab\tnew\nline",
            "/é/ü",
            "/\u{202e}rtl",
            "/\u{7f}del",
            "",
        ] {
            let r = Resource::new("file_system::File", id);
            assert_eq!(
                r.to_string(),
                format!("file_system::File::\"{}\"", id.escape_debug()),
                "{id:?}"
            );
        }
    }
}
