//! Resources: the exact object a request is about, with its Cedar attributes and ancestors.

use std::fmt;

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
/// A `Resource` authorizes nothing by itself; it is what `Gate::check` decides on.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    type_name: &'static str,
    id: String,
    attrs: Vec<(&'static str, AttrValue)>,
    parent_dir: Option<CanonicalPath>,
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
        Self {
            type_name: FILE_TYPE,
            id: path.as_str().to_owned(),
            attrs: vec![("path", AttrValue::String(path.as_str().to_owned()))],
            parent_dir: path.parent(),
        }
    }

    /// `file_system::Dir::"<path>"` with attribute `path`, in its parent `Dir` chain.
    pub fn dir(path: &CanonicalPath) -> Self {
        Self {
            type_name: DIR_TYPE,
            id: path.as_str().to_owned(),
            attrs: vec![("path", AttrValue::String(path.as_str().to_owned()))],
            parent_dir: path.parent(),
        }
    }

    /// Any other entity, e.g. `Resource::new("network::url", url)`. Attributes are added
    /// with [`Resource::attr`].
    pub fn new(type_name: &'static str, id: impl Into<String>) -> Self {
        Self {
            type_name,
            id: id.into(),
            attrs: Vec::new(),
            parent_dir: None,
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

    /// The attributes.
    pub fn attrs(&self) -> &[(&'static str, AttrValue)] {
        &self.attrs
    }

    /// The directory the object lies in, for files and directories.
    pub fn parent_dir(&self) -> Option<&CanonicalPath> {
        self.parent_dir.as_ref()
    }

    /// Whether the resource is a file or directory.
    pub fn is_fs(&self) -> bool {
        self.type_name == FILE_TYPE || self.type_name == DIR_TYPE
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
