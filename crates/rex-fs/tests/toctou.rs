#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Check, then act on the object checked: writes through links reach the target, nothing is
//! created before its check, FIFOs are never opened, and a swapping race never leaks.

mod common;

use std::sync::Arc;

use common::{Fx, assert_denied_on, assert_kind, file_uid, within};
use rex_fs::{
    DirHandle, IoErrorKind, OpenDirOptions, OpenFileOptions, WriteMode, cat, touch, write,
};
use rustix::fs::Mode;

#[test]
fn write_through_a_symlink_writes_the_target_and_keeps_the_link() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/target", "old");
    fx.symlink("target", "d/rel");
    fx.symlink(&fx.p("d/target"), "abs");
    let gate = fx.gate();
    write(&gate, &fx.p("d/rel"), "new", WriteMode::Replace).unwrap();
    assert_eq!(fx.read("d/target"), "new");
    write(&gate, &fx.p("abs"), "+more", WriteMode::Append).unwrap();
    assert_eq!(fx.read("d/target"), "new+more");
    for link in ["d/rel", "abs"] {
        assert!(std::fs::symlink_metadata(fx.p(link)).unwrap().is_symlink());
    }
    // Authorized on the target: a forbid on the link's own path does not matter, one on
    // the target does.
    let root = &fx.root;
    let gate = fx.gate_with(&format!(
        r#"forbid(principal, action, resource == file_system::File::"{root}/d/target");"#
    ));
    assert_denied_on(
        write(&gate, &fx.p("abs"), "x", WriteMode::Replace),
        &file_uid(&fx.p("d/target")),
        "write via link to forbidden target",
    );
    assert_eq!(fx.read("d/target"), "new+more");
}

#[test]
fn nothing_is_created_before_the_create_check() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.mkdir("forbidden");
    fx.symlink(&fx.p("forbidden/planted"), "d/dangling");
    fx.symlink("../forbidden/planted2", "d/dangling_rel");
    // A policy with everything but `create`.
    let no_create = fx.gate_actions(&["open", "read", "write", "stat", "delete"]);
    let create = OpenFileOptions {
        create: true,
        ..Default::default()
    };
    let create_follow = OpenFileOptions {
        follow_symlinks: true,
        ..create
    };
    let d = DirHandle::open(&no_create, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    let new = file_uid(&fx.p("d/new"));
    assert_denied_on(
        write(&no_create, &fx.p("d/new"), "x", WriteMode::Append),
        &new,
        "write",
    );
    assert_denied_on(touch(&no_create, &fx.p("d/new")), &new, "touch");
    assert_denied_on(
        d.open_file(&no_create, "new", &create),
        &new,
        "open_file create",
    );
    assert!(!fx.exists("d/new"));

    // Through dangling links into a forbidden directory, with `create` allowed elsewhere.
    let root = &fx.root;
    let gate = fx.gate_with(&format!(
        r#"forbid(principal, action, resource in file_system::Dir::"{root}/forbidden");"#
    ));
    let d = DirHandle::open(&gate, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    for (link, target) in [("dangling", "planted"), ("dangling_rel", "planted2")] {
        let uid = file_uid(&fx.p(&format!("forbidden/{target}")));
        let path = fx.p(&format!("d/{link}"));
        let e = write(&gate, &path, "x", WriteMode::Replace).unwrap_err();
        assert_eq!(e.kind(), IoErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("forbidden"), "{e}");
        assert_kind(touch(&gate, &path), IoErrorKind::PermissionDenied, "touch");
        assert_denied_on(
            d.open_file(&gate, link, &create_follow),
            &uid,
            "open_file create follow",
        );
        // Without follow, a link is not a file to create over.
        assert_kind(
            d.open_file(&gate, link, &create),
            IoErrorKind::EntryTypeMismatchError,
            "open_file create no follow",
        );
        assert!(!fx.exists(&format!("forbidden/{target}")));
    }
    // With the target permitted, the same calls create the target (the link stays).
    fx.symlink(&fx.p("d/made"), "d/dangling_ok");
    write(&gate, &fx.p("d/dangling_ok"), "made", WriteMode::Append).unwrap();
    assert_eq!(fx.read("d/made"), "made");
}

#[test]
fn a_fifo_is_never_opened() {
    let fx = Fx::new();
    fx.mkdir("d");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        fx.p("d/fifo").as_str(),
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    fx.symlink("fifo", "d/fifo_link");
    let fx = Arc::new(fx);
    let kinds = within(10, {
        let fx = Arc::clone(&fx);
        move || {
            let gate = fx.gate();
            let read = OpenFileOptions {
                read: true,
                follow_symlinks: true,
                ..Default::default()
            };
            let d = DirHandle::open(&gate, &fx.p("d"), &OpenDirOptions::default()).unwrap();
            vec![
                cat(&gate, &fx.p("d/fifo"), 10).unwrap_err().kind(),
                cat(&gate, &fx.p("d/fifo_link"), 10).unwrap_err().kind(),
                write(&gate, &fx.p("d/fifo"), "x", WriteMode::Append)
                    .unwrap_err()
                    .kind(),
                write(&gate, &fx.p("d/fifo_link"), "x", WriteMode::Replace)
                    .unwrap_err()
                    .kind(),
                d.open_file(&gate, "fifo", &read).unwrap_err().kind(),
                d.open_file(&gate, "fifo_link", &read).unwrap_err().kind(),
            ]
        }
    });
    assert!(
        kinds
            .iter()
            .all(|k| *k == IoErrorKind::EntryTypeMismatchError),
        "{kinds:?}"
    );
}

/// A racer swaps `d/target` between a permitted file and a symlink to the forbidden
/// secret (atomic `RENAME_EXCHANGE` of two prepared entries) while `cat` and `write` run.
#[test]
fn swapping_a_file_for_a_link_to_the_secret_never_leaks_it() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/secret", "SECRET");
    fx.file("d/target", "public");
    fx.symlink("secret", "d/other");
    let gate = fx.gate();
    let racer = common::Exchanger::start(fx.p("d/target"), vec![fx.p("d/other")]);
    let (mut read_ok, mut denied) = (0u32, 0u32);
    for _ in 0..2000 {
        match cat(&gate, &fx.p("d/target"), 100) {
            Ok(s) => {
                assert_eq!(s, "public", "the secret leaked");
                read_ok += 1;
            }
            Err(e) if e.kind() == IoErrorKind::PermissionDenied => denied += 1,
            Err(_) => {}
        }
    }
    for _ in 0..300 {
        let _ = write(&gate, &fx.p("d/target"), "x", WriteMode::Append);
        let _ = write(&gate, &fx.p("d/target"), "public", WriteMode::Replace);
    }
    let swaps = racer.stop();
    assert_eq!(fx.read("d/secret"), "SECRET", "the secret was written");
    assert!(swaps > 0);
    eprintln!("race: {read_ok} reads of the public file, {denied} denials");
}
