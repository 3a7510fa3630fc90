#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rm`: every entry of a tree is authorized before anything is removed; links are removed,
//! not followed.

mod common;

use common::{Fx, assert_denied_on, assert_kind, file_uid, gate};
use rex_fs::{IoErrorKind, rm};

/// `<root>/tree/{a.txt, sub/{keep.txt, other.txt}, sub2/deeper/x, link -> ../outside}` and
/// `<root>/outside/o.txt`.
fn tree() -> Fx {
    let fx = Fx::new();
    fx.mkdir("tree/sub");
    fx.mkdir("tree/sub2/deeper");
    fx.mkdir("outside");
    fx.file("tree/a.txt", "a");
    fx.file("tree/sub/keep.txt", "keep");
    fx.file("tree/sub/other.txt", "other");
    fx.file("tree/sub2/deeper/x", "x");
    fx.file("outside/o.txt", "o");
    fx.symlink("../outside", "tree/link");
    fx
}

const ALL: &[&str] = &[
    "tree/a.txt",
    "tree/sub/keep.txt",
    "tree/sub/other.txt",
    "tree/sub2/deeper/x",
    "tree/link",
    "outside/o.txt",
];

#[test]
fn one_refused_entry_and_nothing_is_removed() {
    let fx = tree();
    let root = &fx.root;
    // Delete allowed on the whole root but forbidden on one nested file.
    let forbid_one = fx.gate_with(&format!(
        r#"forbid(principal, action == file_system::Action::"delete", resource == file_system::File::"{root}/tree/sub/keep.txt");"#
    ));
    // `open` + `delete` on the top directory only (the original removed everything).
    let top_only = gate(&format!(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"delete"], resource == file_system::Dir::"{root}/tree");"#
    ));
    assert_denied_on(
        rm(&forbid_one, &fx.p("tree"), true, false),
        &file_uid(&fx.p("tree/sub/keep.txt")),
        "rm -r with a forbidden entry",
    );
    let e = rm(&top_only, &fx.p("tree"), true, true).unwrap_err();
    assert_eq!(e.kind(), IoErrorKind::PermissionDenied, "{e}");
    for p in ALL {
        assert!(fx.exists(p), "{p} was removed");
    }
    // Non-recursive removal of a non-empty directory.
    assert_kind(
        rm(&forbid_one, &fx.p("tree/sub2"), false, false),
        IoErrorKind::DirectoryNotEmpty,
        "rm non-empty dir",
    );
    // Allowed: everything goes, the link's target stays.
    rm(&fx.gate(), &fx.p("tree//"), true, false).unwrap();
    assert!(!fx.exists("tree"));
    assert_eq!(fx.read("outside/o.txt"), "o");
}

#[test]
fn rm_of_a_symlink_removes_the_link_only() {
    let fx = tree();
    fx.symlink("outside/o.txt", "file_link");
    fx.symlink("outside", "dir_link");
    let gate = fx.gate();
    rm(&gate, &fx.p("file_link"), false, false).unwrap();
    rm(&gate, &fx.p("dir_link"), true, false).unwrap();
    assert!(!fx.exists("file_link"));
    assert!(!fx.exists("dir_link"));
    assert_eq!(fx.read("outside/o.txt"), "o");
    // The link is authorized as itself: a forbid on its target does not stop removing it,
    // a forbid on the link does.
    fx.symlink("outside/o.txt", "l2");
    let root = &fx.root;
    let g = fx.gate_with(&format!(
        r#"forbid(principal, action, resource == file_system::File::"{root}/l2");"#
    ));
    assert_denied_on(
        rm(&g, &fx.p("l2"), false, false),
        &file_uid(&fx.p("l2")),
        "rm l2",
    );
    assert!(fx.exists("l2"));
}

#[test]
fn force_missing_and_refused_paths() {
    let fx = tree();
    let gate = fx.gate();
    rm(&gate, &fx.p("nothing"), false, true).unwrap();
    rm(&gate, &fx.p("nothing/deeper"), true, true).unwrap();
    assert_kind(
        rm(&gate, &fx.p("nothing"), false, false),
        IoErrorKind::NotFound,
        "missing",
    );
    for p in ["/", "//", "/.."] {
        assert_kind(rm(&gate, p, true, true), IoErrorKind::InvalidPath, p);
    }
    for p in ["tree/.", "tree/sub/..", "tree/sub/../"] {
        assert_kind(rm(&gate, &fx.p(p), true, true), IoErrorKind::InvalidPath, p);
    }
    // A forbidden file: no `force` overrides a refusal.
    fx.mkdir("d");
    fx.file("d/secret", "s");
    assert_denied_on(
        rm(&gate, &fx.p("d/./secret"), false, true),
        &file_uid(&fx.p("d/secret")),
        "rm secret",
    );
    rm(&gate, &fx.p("tree/a.txt"), false, false).unwrap();
    assert!(!fx.exists("tree/a.txt"));
    for p in ALL.iter().skip(1) {
        assert!(fx.exists(p), "{p} was removed");
    }
}
