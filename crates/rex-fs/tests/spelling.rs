#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One inode, one Cedar id: no spelling of a forbidden file gets past its `forbid`, and the
//! resolver reports the canonical path of the object actually reached.

mod common;

use common::{Fx, assert_denied_on, assert_kind, file_uid};
use rex_fs::{
    DirHandle, EntryType, IoErrorKind, OpenDirOptions, OpenFileOptions, WriteMode, cat, resolve,
    resolve_parent, write,
};

const SECRET: &str = "TOP SECRET";

/// `<root>/d/secret` (forbidden), `<root>/d/public`, `<root>/d/x/`, `<root>/d/link ->
/// secret`, `<root>/alias -> d`, `<root>/a/`.
fn fixture() -> Fx {
    let fx = Fx::new();
    fx.mkdir("d/x");
    fx.mkdir("a");
    fx.file("d/secret", SECRET);
    fx.file("d/public", "public");
    fx.symlink("secret", "d/link");
    fx.symlink("d", "alias");
    fx
}

const SPELLINGS: &[&str] = &[
    "d/secret",
    "d//secret",
    "d/./secret",
    "d/x/../secret",
    "d/link",
    "alias/secret",
    "alias/link",
    "a/../alias/./x/../link",
];

#[test]
fn cat_refuses_every_spelling_of_the_forbidden_file() {
    let fx = fixture();
    let gate = fx.gate();
    let secret = file_uid(&fx.p("d/secret"));
    for s in SPELLINGS {
        let path = format!("{}/{s}", fx.root);
        assert_denied_on(cat(&gate, &path, 1 << 20), &secret, &format!("cat {s}"));
        let slashed = format!("{}//{s}", fx.root);
        assert_denied_on(cat(&gate, &slashed, 1 << 20), &secret, &format!("cat /{s}"));
    }
    assert_eq!(cat(&gate, &fx.p("d//./public"), 100).unwrap(), "public");
}

#[test]
fn write_refuses_every_spelling_and_leaves_the_file_alone() {
    let fx = fixture();
    let gate = fx.gate();
    let secret = file_uid(&fx.p("d/secret"));
    for s in SPELLINGS {
        for mode in [WriteMode::Append, WriteMode::Replace] {
            let path = format!("{}/{s}", fx.root);
            assert_denied_on(
                write(&gate, &path, "pwned", mode),
                &secret,
                &format!("write {s} {mode:?}"),
            );
        }
    }
    assert_eq!(fx.read("d/secret"), SECRET);
    assert!(
        std::fs::symlink_metadata(fx.p("d/link"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn open_file_refuses_every_directory_spelling_and_link() {
    let fx = fixture();
    let gate = fx.gate();
    let secret = file_uid(&fx.p("d/secret"));
    let read = OpenFileOptions {
        read: true,
        ..Default::default()
    };
    let read_follow = OpenFileOptions {
        follow_symlinks: true,
        ..read
    };
    let follow_dir = OpenDirOptions {
        follow_symlinks: true,
        ..Default::default()
    };
    // (directory spelling, follow the directory link, file name, file options)
    let table: &[(&str, OpenDirOptions, &str, OpenFileOptions)] = &[
        ("d", OpenDirOptions::default(), "secret", read),
        ("d//", OpenDirOptions::default(), "secret", read),
        ("d/.", OpenDirOptions::default(), "secret", read),
        ("d/x/..", OpenDirOptions::default(), "secret", read),
        ("alias", follow_dir, "secret", read),
        ("alias/", OpenDirOptions::default(), "secret", read),
        ("d", OpenDirOptions::default(), "link", read_follow),
        ("alias/x/..", OpenDirOptions::default(), "link", read_follow),
    ];
    for (dir, dopts, name, fopts) in table {
        let what = format!("open {dir} + open_file {name}");
        let handle = DirHandle::open(&gate, &fx.p(dir), dopts).expect(&what);
        assert_eq!(handle.path().as_str(), fx.p("d"), "{what}");
        assert_denied_on(handle.open_file(&gate, name, fopts), &secret, &what);
    }
    // A link is not followed unless asked.
    let d = DirHandle::open(&gate, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    assert_kind(
        d.open_file(&gate, "link", &read),
        IoErrorKind::EntryTypeMismatchError,
        "open_file link without follow",
    );
    // The permitted file reads, through any spelling of its directory.
    let d = DirHandle::open(&gate, &fx.p("alias/x/../"), &OpenDirOptions::default()).unwrap();
    let f = d.open_file(&gate, "public", &read).unwrap();
    assert_eq!(f.path().as_str(), fx.p("d/public"));
    assert_eq!(f.read(&gate, 100).unwrap(), "public");
    // Names must be single components.
    for bad in ["", ".", "..", "x/../secret", "../d/secret"] {
        assert_kind(
            d.open_file(&gate, bad, &read),
            IoErrorKind::InvalidPath,
            &format!("open_file {bad:?}"),
        );
    }
}

#[test]
fn directory_link_is_not_followed_unless_asked() {
    let fx = fixture();
    let gate = fx.gate();
    assert_kind(
        DirHandle::open(&gate, &fx.p("alias"), &OpenDirOptions::default()),
        IoErrorKind::EntryTypeMismatchError,
        "open alias without follow",
    );
}

#[test]
fn resolve_reports_the_canonical_path() {
    let fx = fixture();
    fx.symlink("d/x", "deep");
    fx.symlink(&fx.p("d"), "absolute");
    // (input relative to root, follow final link, expected canonical relative to root)
    let table: &[(&str, bool, &str)] = &[
        ("a/../d/./x", false, "d/x"),
        ("a/../d/./x/", false, "d/x"),
        ("d//x//", false, "d/x"),
        ("alias", false, "alias"),
        ("alias", true, "d"),
        ("alias/", false, "d"),
        ("alias/x/..", false, "d"),
        // `..` after a symlink is the parent of the link's target (kernel semantics), not
        // the directory the link is in.
        ("deep/..", false, "d"),
        ("deep/../x", false, "d/x"),
        ("absolute/x/../link", false, "d/link"),
        ("absolute/x/../link", true, "d/secret"),
        ("alias/link", true, "d/secret"),
    ];
    for (input, follow, expected) in table {
        let r = resolve(&fx.p(input), *follow).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.path().as_str(), fx.p(expected), "{input} follow={follow}");
        // The kernel agrees when it follows everything.
        if *follow || !expected.contains("link") && *expected != "alias" {
            let kernel = std::fs::canonicalize(fx.p(input)).unwrap();
            assert_eq!(kernel.to_str().unwrap(), fx.p(expected), "{input}");
        }
    }
    let r = resolve(&fx.p("alias/link"), false).unwrap();
    assert_eq!(r.entry_type(), EntryType::Symlink);
    assert_eq!(r.parent().unwrap().path().as_str(), fx.p("d"));
    // The root itself, in any spelling.
    assert!(resolve("//.//", true).unwrap().path().is_root());
    // The parent of a name that need not exist.
    let (dir, name) = resolve_parent(&fx.p("alias/x/../nothing-here")).unwrap();
    assert_eq!(dir.path().as_str(), fx.p("d"));
    assert_eq!(name, "nothing-here");
}

#[test]
fn bad_paths_and_link_loops_are_errors_not_hangs() {
    let fx = fixture();
    fx.symlink("loop2", "loop1");
    fx.symlink("loop1", "loop2");
    fx.symlink("self", "self");
    // A chain of 45 links: more than the 40 hops allowed; the last 30 of it are fine.
    fx.file("end", "end");
    fx.symlink("end", "chain0");
    for i in 1..45 {
        fx.symlink(&format!("chain{}", i - 1), &format!("chain{i}"));
    }
    let gate = fx.gate();
    let out = common::within(10, move || {
        let mut kinds = Vec::new();
        for p in ["loop1", "self", "loop1/x", "chain44"] {
            kinds.push(resolve(&fx.p(p), true).map(|_| ()).unwrap_err().kind());
            kinds.push(cat(&gate, &fx.p(p), 10).unwrap_err().kind());
        }
        (
            kinds,
            resolve(&fx.p("chain29"), true).unwrap().path().clone(),
            fx,
        )
    });
    assert!(
        out.0.iter().all(|k| *k == IoErrorKind::InvalidPath),
        "{:?}",
        out.0
    );
    assert_eq!(out.1.as_str(), out.2.p("end"));
    for (p, kind) in [
        ("relative/path", IoErrorKind::InvalidPath),
        ("", IoErrorKind::InvalidPath),
        ("/no\0nul", IoErrorKind::InvalidPath),
    ] {
        assert_kind(resolve(p, true), kind, p);
    }
    assert_kind(
        resolve(&out.2.p("d/public/x"), true),
        IoErrorKind::EntryTypeMismatchError,
        "file used as a directory",
    );
    assert_kind(
        resolve(&out.2.p("d/public/"), true),
        IoErrorKind::EntryTypeMismatchError,
        "file with a trailing slash",
    );
    assert_kind(
        resolve(&out.2.p("missing/x"), true),
        IoErrorKind::NotFound,
        "missing",
    );
}
