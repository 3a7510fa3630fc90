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

/// Where a permit's resource lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Exactly this object.
    Exact(String, Kind),
    /// This directory and everything beneath it.
    Beneath(String),
}

/// Where a grant goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// On this path (a file, or a directory and its hierarchy).
    At(String),
    /// On the directory holding this path (nothing for `/`).
    ParentOf(String),
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

/// The grants `action` (a `file_system` action name) needs on `target`.
pub(crate) fn grants(action: &str, target: &Target) -> Vec<(Anchor, BitFlags<AccessFs>)> {
    use Anchor::{At, ParentOf};
    let at = |p: &str, a: BitFlags<AccessFs>| (At(p.to_owned()), a);
    let parent = |p: &str, a: BitFlags<AccessFs>| (ParentOf(p.to_owned()), a);
    match (action, target) {
        ("open" | "read" | "redacted_read", Target::Exact(p, Kind::File)) => {
            vec![at(p, read_file())]
        }
        ("open" | "read" | "redacted_read", Target::Exact(p, Kind::Dir)) => {
            vec![at(p, AccessFs::ReadDir.into())]
        }
        (
            "open" | "read" | "redacted_read",
            Target::Exact(p, Kind::Unknown) | Target::Beneath(p),
        ) => {
            vec![at(p, AccessFs::ReadFile | AccessFs::ReadDir)]
        }
        ("write", Target::Exact(p, _)) => {
            vec![at(p, write_in_place()), parent(p, atomic_replace())]
        }
        ("write", Target::Beneath(d)) => vec![at(d, atomic_replace())],
        ("create", Target::Exact(p, Kind::File)) => vec![parent(p, create_file())],
        ("create", Target::Exact(p, Kind::Dir)) => vec![parent(p, AccessFs::MakeDir.into())],
        ("create", Target::Exact(p, Kind::Unknown)) => {
            vec![parent(p, create_file() | AccessFs::MakeDir)]
        }
        ("create", Target::Beneath(d)) => vec![
            at(d, create_file() | AccessFs::MakeDir),
            parent(d, AccessFs::MakeDir.into()),
        ],
        ("delete", Target::Exact(p, Kind::File)) => vec![parent(p, AccessFs::RemoveFile.into())],
        ("delete", Target::Exact(p, Kind::Dir)) => vec![parent(p, AccessFs::RemoveDir.into())],
        ("delete", Target::Exact(p, Kind::Unknown)) => vec![parent(p, remove_any())],
        ("delete", Target::Beneath(d)) => vec![
            at(d, remove_any() | AccessFs::ReadDir),
            parent(d, AccessFs::RemoveDir.into()),
        ],
        ("move", Target::Exact(p, Kind::File)) => {
            vec![parent(p, AccessFs::RemoveFile | AccessFs::Refer)]
        }
        ("move", Target::Exact(p, Kind::Dir)) => {
            vec![parent(p, AccessFs::RemoveDir | AccessFs::Refer)]
        }
        ("move", Target::Exact(p, Kind::Unknown)) => {
            vec![parent(p, remove_any() | AccessFs::Refer)]
        }
        ("move", Target::Beneath(d)) => vec![
            at(d, remove_any() | AccessFs::Refer),
            parent(d, AccessFs::RemoveDir | AccessFs::Refer),
        ],
        ("execute", Target::Exact(p, _) | Target::Beneath(p)) => {
            vec![at(p, AccessFs::Execute | AccessFs::ReadFile)]
        }
        ("network_namespace", Target::Exact(p, _) | Target::Beneath(p)) => {
            vec![at(p, read_file())]
        }
        _ => Vec::new(),
    }
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
    fn reading_one_file_grants_read_on_that_file_only() {
        let g = grants("read", &Target::Exact("/etc/hosts".into(), Kind::File));
        assert_eq!(g, vec![(Anchor::At("/etc/hosts".into()), read_file())]);
        assert!(grants("stat", &Target::Beneath("/".into())).is_empty());
        assert!(grants("chmod", &Target::Beneath("/".into())).is_empty());
    }
}
