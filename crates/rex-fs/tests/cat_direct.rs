#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `cat`'s one-`openat2` fast path (a canonically spelled path, no symlink anywhere):
//! it asks exactly what the component walk asks, about the same canonical ids, and a
//! symlink swapped into any component at any moment sends it back to the walk, which
//! authorizes the object actually reached.

mod common;

use std::sync::Arc;

use common::{Fx, assert_denied_on, assert_kind, file_uid};
use rex_fs::{IoErrorKind, cat};
use rex_policy::{Gate, Policies, RecordedRequest};

/// A recording gate over `text`.
fn recording_gate(text: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .record(true)
        .build(Policies::from_text("t.cedar", text).unwrap())
        .unwrap()
}

/// `(action, resource, allowed)` of every request the gate saw.
fn asked(gate: &Gate) -> Vec<(String, String, bool)> {
    gate.recorded()
        .into_iter()
        .map(|r: RecordedRequest| (r.action.to_string(), r.resource, r.allowed))
        .collect()
}

#[test]
fn every_spelling_asks_the_same_requests_about_the_canonical_ids() {
    let fx = Fx::new();
    fx.mkdir("d/sub");
    fx.file("d/target", "public");
    fx.symlink("target", "d/link");
    fx.symlink("d", "dlink");
    let root = &fx.root;
    let policy = format!(r#"permit(principal, action, resource in file_system::Dir::"{root}");"#);
    let want = vec![
        (
            r#"file_system::Action::"open""#.to_owned(),
            format!(r#"file_system::Dir::"{root}/d""#),
            true,
        ),
        (
            r#"file_system::Action::"open""#.to_owned(),
            file_uid(&fx.p("d/target")),
            true,
        ),
        (
            r#"file_system::Action::"read""#.to_owned(),
            file_uid(&fx.p("d/target")),
            true,
        ),
    ];
    for spelling in [
        "d/target",        // fast path
        "d/./target",      // walk (not canonical)
        "d//target",       // walk
        "d/sub/../target", // walk (`..`)
        "d/link",          // fast path sends the final symlink back to the walk
        "dlink/target",    // an intermediate symlink: openat2 refuses, the walk follows
        "dlink/link",
    ] {
        let gate = recording_gate(&policy);
        assert_eq!(
            cat(&gate, &fx.p(spelling), 100).unwrap(),
            "public",
            "{spelling}"
        );
        assert_eq!(asked(&gate), want, "{spelling}");
    }
}

#[test]
fn refusals_and_errors_are_those_of_the_walk() {
    let fx = Fx::new();
    fx.mkdir("d/sub");
    fx.file("d/secret", "SECRET");
    fx.file("d/target", "public");
    let gate = fx.gate();
    // Forbidden file, spelled canonically (fast path) and through `..` (walk).
    for p in ["d/secret", "d/sub/../secret"] {
        assert_denied_on(cat(&gate, &fx.p(p), 100), &file_uid(&fx.p("d/secret")), p);
    }
    // A directory, a missing file, a missing directory, a file used as a directory.
    assert_kind(
        cat(&gate, &fx.p("d/sub"), 100),
        IoErrorKind::EntryTypeMismatchError,
        "directory",
    );
    for p in ["d/missing", "nope/target", "d/target/x"] {
        assert!(cat(&gate, &fx.p(p), 100).is_err(), "{p}");
    }
    // Too large, from the fast path.
    assert_kind(
        cat(&gate, &fx.p("d/target"), 3),
        IoErrorKind::FileContentTooLargeError,
        "too large",
    );
    // Only `open` on the directory: the file's `open` is refused after it.
    let only_dir = recording_gate(&format!(
        r#"permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"{}");"#,
        fx.p("d")
    ));
    assert_denied_on(
        cat(&only_dir, &fx.p("d/target"), 100),
        &file_uid(&fx.p("d/target")),
        "file open",
    );
    assert_eq!(asked(&only_dir).len(), 2);
}

/// A racer exchanges `d/sub` between a real directory holding a public `f` and a
/// symlink to a directory holding a forbidden `f`, while `cat(d/sub/f)` runs through the
/// fast path: the kernel refuses the symlink inside `openat2`, the walk follows it and
/// asks about the secret's own canonical path, so the secret never comes back.
#[test]
fn swapping_an_intermediate_directory_for_a_symlink_never_leaks() {
    let fx = Fx::new();
    fx.mkdir("d/sub");
    fx.mkdir("hidden");
    fx.file("d/sub/f", "public");
    fx.file("hidden/f", "SECRET");
    fx.symlink(&fx.p("hidden"), "d/other");
    let gate = common::gate(&format!(
        r#"permit(principal, action, resource in file_system::Dir::"{}");"#,
        fx.p("d")
    ));
    let racer = common::Exchanger::start(fx.p("d/sub"), vec![fx.p("d/other")]);
    let (mut read_ok, mut denied) = (0u32, 0u32);
    for _ in 0..3000 {
        match cat(&gate, &fx.p("d/sub/f"), 100) {
            Ok(s) => {
                assert_eq!(s, "public", "the secret leaked");
                read_ok += 1;
            }
            Err(e) if e.kind() == IoErrorKind::PermissionDenied => {
                // The refusal is about where the link led (its directory first).
                let d = e.denied().unwrap();
                assert_eq!(
                    d.resource().to_string(),
                    format!(r#"file_system::Dir::"{}""#, fx.p("hidden"))
                );
                denied += 1;
            }
            Err(_) => {}
        }
    }
    assert!(racer.stop() > 0);
    eprintln!("race: {read_ok} reads of the public file, {denied} denials");
}

/// The final component exchanged between a regular file and a symlink to the forbidden
/// secret, and the file also replaced by a FIFO: the fast path sends the link to the
/// walk, refuses the FIFO from its `O_PATH` fd, and reads only the permitted inode.
#[test]
fn swapping_the_final_name_never_leaks_or_opens_a_fifo() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/secret", "SECRET");
    fx.file("d/target", "public");
    fx.symlink("secret", "d/other");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        fx.p("d/fifo").as_str(),
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    let gate = fx.gate();
    let racer = common::Exchanger::start(fx.p("d/target"), vec![fx.p("d/other"), fx.p("d/fifo")]);
    let fx = Arc::new(fx);
    let path = fx.p("d/target");
    let outcome = common::within(60, move || {
        let mut kinds = Vec::new();
        for _ in 0..3000 {
            match cat(&gate, &path, 100) {
                Ok(s) => assert_eq!(s, "public", "the secret leaked"),
                Err(e) => kinds.push(e.kind()),
            }
        }
        kinds
    });
    racer.stop();
    assert!(
        outcome.iter().all(|k| matches!(
            k,
            IoErrorKind::PermissionDenied
                | IoErrorKind::EntryTypeMismatchError
                | IoErrorKind::NotFound
        )),
        "{outcome:?}"
    );
}

#[test]
fn files_whose_size_is_not_their_length_are_read_to_the_end() {
    // /proc files report size 0; the read goes on until EOF.
    let gate = common::gate(r#"permit(principal, action, resource in file_system::Dir::"/proc");"#);
    let status = cat(&gate, "/proc/self/status", 1 << 20);
    if let Ok(text) = status {
        assert!(text.contains("Name:") && text.ends_with('\n'), "{text}");
    }
    // A file growing between reads is read whole, as is one exactly at the budget.
    let fx = Fx::new();
    fx.mkdir("d");
    let big = "x".repeat(200_000);
    fx.file("d/big", &big);
    fx.file("d/exact", "12345");
    let gate = fx.gate();
    assert_eq!(cat(&gate, &fx.p("d/big"), 1 << 20).unwrap(), big);
    assert_eq!(cat(&gate, &fx.p("d/exact"), 5).unwrap(), "12345");
    fx.file("d/empty", "");
    assert_eq!(cat(&gate, &fx.p("d/empty"), 5).unwrap(), "");
}
