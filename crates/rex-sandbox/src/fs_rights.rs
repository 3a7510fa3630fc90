//! Which Landlock filesystem rights each `file_system` action needs, and where.
//!
//! Landlock grants rights on a file, or on a directory and everything beneath it; it
//! cannot name "this directory but not its content" nor a file that does not exist yet.
//! The table below is therefore a *superset* of what a permit allows (the SDK stays the
//! precise wall), chosen from what the rex SDK actually does for each action:
//!
//! | action | on the object | on its parent directory |
//! |---|---|---|
//! | `open`, `read`, `redacted_read` | file: `ReadFile`; directory: `ReadDir` | – |
//! | `write` | `WriteFile`, `Truncate` | `MakeReg`, `RemoveFile`, `ReadFile`, `WriteFile`, `Truncate` (atomic replace: a temporary file opened read-write next to it, renamed over it) |
//! | `create` | – | file: `MakeReg`, `MakeSym`, `WriteFile`, `Truncate`; directory: `MakeDir` |
//! | `delete` | – | file: `RemoveFile`; directory: `RemoveDir` |
//! | `move` (source) | – | `RemoveFile`/`RemoveDir`, `Refer` |
//! | `move` (destination, from `context.destination`) | – | `Make*`, `Remove*`, `Refer` |
//! | `execute` | `Execute`, `ReadFile` | – |
//! | `network_namespace` | `ReadFile` | – |
//! | `stat`, `chmod`, `chown`, `set_x_attr` | nothing: Landlock does not mediate them | – |
//!
//! A `resource in Dir::"/d"` scope gives the union of both columns on `/d` itself (and,
//! since Cedar's `in` includes `/d`, the parent column's create/delete/move rights on the
//! parent of `/d`).

use std::borrow::Cow;

use landlock::{AccessFs, BitFlags, make_bitflags};

/// What the planner knows about an object's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `file_system::File`.
    File,
    /// `file_system::Dir`.
    Dir,
    /// Named by a condition on `resource.path`: either.
    Unknown,
}

/// Where a permit's resource lies (a canonical path, borrowed from the policy text when
/// it can be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// Exactly this object.
    Exact(Cow<'a, str>, Kind),
    /// This directory and everything beneath it.
    Beneath(Cow<'a, str>),
}

/// Where a grant goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Anchor<'a> {
    /// On this path (a file, or a directory and its hierarchy).
    At(Cow<'a, str>),
    /// On the directory holding this path (nothing for `/`).
    ParentOf(Cow<'a, str>),
}

impl<'a> Anchor<'a> {
    /// The path the grant goes to; `None` for the parent of `/`. Anchors are canonical
    /// paths (from the planner's targets): the parent is the text before the last `/`.
    pub(crate) fn into_path(self) -> Option<Cow<'a, str>> {
        match self {
            Anchor::At(p) => Some(p),
            Anchor::ParentOf(p) => {
                // The parent is a prefix of the path (`/` for `/a`).
                let end = split_parent(&p)?.0.len();
                Some(match p {
                    Cow::Borrowed(b) => Cow::Borrowed(b.get(..end)?),
                    Cow::Owned(mut o) => {
                        o.truncate(end);
                        Cow::Owned(o)
                    }
                })
            }
        }
    }
}

/// An absolute path as its parent directory and last component, when opening the
/// component relative to the opened parent reaches what opening the whole path does: the
/// component is not empty (a trailing `/`), `.` or `..`.
pub(crate) fn split_parent(path: &str) -> Option<(&str, &str)> {
    // By bytes: `/` is never part of a longer UTF-8 sequence.
    let slash = path.as_bytes().iter().rposition(|b| *b == b'/')?;
    let (dir, name) = (path.get(..slash)?, path.get(slash + 1..)?);
    if !path.starts_with('/') || name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((if dir.is_empty() { "/" } else { dir }, name))
}

/// Every right the planner may handle (Landlock ABI 1 to 5). `ResolveUnix` (ABI 9) is
/// left alone: the SDK reaches D-Bus and the name service over UNIX sockets.
pub(crate) fn all_handled() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{
        Execute | WriteFile | ReadFile | ReadDir | RemoveDir | RemoveFile | MakeChar | MakeDir
        | MakeReg | MakeSock | MakeFifo | MakeBlock | MakeSym | Refer | Truncate | IoctlDev
    })
}

fn read_file() -> BitFlags<AccessFs> {
    AccessFs::ReadFile.into()
}

fn write_in_place() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{WriteFile | Truncate})
}

fn atomic_replace() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{MakeReg | RemoveFile | ReadFile | WriteFile | Truncate})
}

fn create_file() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{MakeReg | MakeSym | WriteFile | Truncate})
}

fn remove_any() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{RemoveFile | RemoveDir})
}

/// Rights a `move` needs where the object arrives.
pub(crate) fn move_destination() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{MakeReg | MakeDir | MakeSym | RemoveFile | RemoveDir | Refer})
}

/// The grants `action` (a `file_system` action name) needs on `target` (at most two).
pub(crate) fn grants<'a>(
    action: &str,
    target: &Target<'a>,
) -> impl Iterator<Item = (Anchor<'a>, BitFlags<AccessFs>)> + use<'a> {
    use Anchor::{At, ParentOf};
    let at = |p: &Cow<'a, str>, a: BitFlags<AccessFs>| Some((At(p.clone()), a));
    let parent = |p: &Cow<'a, str>, a: BitFlags<AccessFs>| Some((ParentOf(p.clone()), a));
    let (first, second) = match (action, target) {
        ("open" | "read" | "redacted_read", Target::Exact(p, Kind::File)) => {
            (at(p, read_file()), None)
        }
        ("open" | "read" | "redacted_read", Target::Exact(p, Kind::Dir)) => {
            (at(p, AccessFs::ReadDir.into()), None)
        }
        (
            "open" | "read" | "redacted_read",
            Target::Exact(p, Kind::Unknown) | Target::Beneath(p),
        ) => (at(p, AccessFs::ReadFile | AccessFs::ReadDir), None),
        ("write", Target::Exact(p, _)) => (at(p, write_in_place()), parent(p, atomic_replace())),
        ("write", Target::Beneath(d)) => (at(d, atomic_replace()), None),
        ("create", Target::Exact(p, Kind::File)) => (parent(p, create_file()), None),
        ("create", Target::Exact(p, Kind::Dir)) => (parent(p, AccessFs::MakeDir.into()), None),
        ("create", Target::Exact(p, Kind::Unknown)) => {
            (parent(p, create_file() | AccessFs::MakeDir), None)
        }
        ("create", Target::Beneath(d)) => (
            at(d, create_file() | AccessFs::MakeDir),
            parent(d, AccessFs::MakeDir.into()),
        ),
        ("delete", Target::Exact(p, Kind::File)) => (parent(p, AccessFs::RemoveFile.into()), None),
        ("delete", Target::Exact(p, Kind::Dir)) => (parent(p, AccessFs::RemoveDir.into()), None),
        ("delete", Target::Exact(p, Kind::Unknown)) => (parent(p, remove_any()), None),
        ("delete", Target::Beneath(d)) => (
            at(d, remove_any() | AccessFs::ReadDir),
            parent(d, AccessFs::RemoveDir.into()),
        ),
        ("move", Target::Exact(p, Kind::File)) => {
            (parent(p, AccessFs::RemoveFile | AccessFs::Refer), None)
        }
        ("move", Target::Exact(p, Kind::Dir)) => {
            (parent(p, AccessFs::RemoveDir | AccessFs::Refer), None)
        }
        ("move", Target::Exact(p, Kind::Unknown)) => {
            (parent(p, remove_any() | AccessFs::Refer), None)
        }
        ("move", Target::Beneath(d)) => (
            at(d, remove_any() | AccessFs::Refer),
            parent(d, AccessFs::RemoveDir | AccessFs::Refer),
        ),
        ("execute", Target::Exact(p, _) | Target::Beneath(p)) => {
            (at(p, AccessFs::Execute | AccessFs::ReadFile), None)
        }
        ("network_namespace", Target::Exact(p, _) | Target::Beneath(p)) => {
            (at(p, read_file()), None)
        }
        _ => (None, None),
    };
    first.into_iter().chain(second)
}

/// Every right `action` may need somewhere: what stays unrestricted when a permit for it
/// names no readable resource.
pub(crate) fn unbounded(action: &str) -> BitFlags<AccessFs> {
    match action {
        "open" | "read" | "redacted_read" => AccessFs::ReadFile | AccessFs::ReadDir,
        "write" => atomic_replace(),
        "create" => create_file() | AccessFs::MakeDir,
        "delete" => remove_any() | AccessFs::ReadDir,
        "move" => remove_any() | move_destination(),
        "execute" => AccessFs::Execute | AccessFs::ReadFile,
        "network_namespace" => read_file(),
        _ => BitFlags::EMPTY,
    }
}

/// Short names of rights, for reports: `ReadFile, ReadDir`.
pub(crate) fn names(access: BitFlags<AccessFs>) -> String {
    let v: Vec<String> = access.iter().map(|a| format!("{a:?}")).collect();
    if v.is_empty() {
        "nothing".to_owned()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_covered_by_the_unbounded_set_and_the_handled_set() {
        let targets = [
            Target::Exact("/a/b".into(), Kind::File),
            Target::Exact("/a/b".into(), Kind::Dir),
            Target::Exact("/a/b".into(), Kind::Unknown),
            Target::Beneath("/a".into()),
        ];
        for action in rex_policy::action::ALL
            .iter()
            .filter(|a| a.namespace() == "file_system")
        {
            let all = unbounded(action.name());
            assert!(all_handled().contains(all), "{action}");
            for t in &targets {
                for (_, a) in grants(action.name(), t) {
                    assert!(
                        all.contains(a),
                        "{action} {t:?} grants {a:?} beyond {all:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_parent_anchor_is_the_text_before_the_last_slash() {
        for (p, parent) in [("/a/b/c", Some("/a/b")), ("/a", Some("/")), ("/", None)] {
            let borrowed = Anchor::ParentOf(Cow::Borrowed(p)).into_path();
            let owned = Anchor::ParentOf(Cow::Owned(p.to_owned())).into_path();
            assert_eq!(borrowed.as_deref(), parent, "{p}");
            assert_eq!(owned.as_deref(), parent, "{p}");
        }
        assert_eq!(Anchor::At("/x".into()).into_path().as_deref(), Some("/x"));
    }

    #[test]
    fn reading_one_file_grants_read_on_that_file_only() {
        let g: Vec<_> = grants("read", &Target::Exact("/etc/hosts".into(), Kind::File)).collect();
        assert_eq!(g, vec![(Anchor::At("/etc/hosts".into()), read_file())]);
        assert!(
            grants("stat", &Target::Beneath("/".into()))
                .next()
                .is_none()
        );
        assert!(
            grants("chmod", &Target::Beneath("/".into()))
                .next()
                .is_none()
        );
    }
}
