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
/// secret, and the file also replaced by a FIFO: the fast paths send the link to the
/// walk, refuse the FIFO (from its `O_PATH` fd, or from the `fstat` of the non-blocking
/// fd the open-first route got once the path was known as a file) and read only the
/// permitted inode.
#[test]
fn swapping_the_final_name_never_leaks_or_reads_a_fifo() {
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

/// Once a path is known to name a regular file, `cat` opens it for reading at once (after
/// previewing its three requests): the answers, the requests recorded and their order are
/// those of the first, `O_PATH`-typed call, every time; a refusal is still a refusal.
#[test]
fn a_known_file_is_asked_about_the_same_way_every_time() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/target", "public");
    let root = &fx.root;
    let all = recording_gate(&format!(
        r#"permit(principal, action, resource in file_system::Dir::"{root}");"#
    ));
    for _ in 0..3 {
        assert_eq!(cat(&all, &fx.p("d/target"), 100).unwrap(), "public");
    }
    let asked_all = asked(&all);
    assert_eq!(asked_all.len(), 9);
    assert!(asked_all[..3] == asked_all[3..6] && asked_all[3..6] == asked_all[6..]);
    assert_eq!(all.counts().allowed, 9);
    // Too large, from the open-first route.
    assert_kind(
        cat(&all, &fx.p("d/target"), 3),
        IoErrorKind::FileContentTooLargeError,
        "too large",
    );
    // `open` everywhere but no `read`: refused on `read`, after the same two opens.
    let no_read = recording_gate(&format!(
        r#"permit(principal, action == file_system::Action::"open", resource in file_system::Dir::"{root}");"#
    ));
    cat_denied_twice(&no_read, &fx.p("d/target"), "read");
    // Each call: open, open, read (refused), redacted_read (refused).
    let asked_no_read = asked(&no_read);
    assert_eq!(asked_no_read.len(), 8);
    assert_eq!(asked_no_read[..4], asked_no_read[4..]);
    assert!(!asked_no_read[2].2 && !asked_no_read[3].2);
    // `open` on the directory only: refused on the file's `open`, without a look at the
    // path, after the same request on the directory as the other routes.
    let only_dir = recording_gate(&format!(
        r#"permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"{}");"#,
        fx.p("d")
    ));
    cat_denied_twice(&only_dir, &fx.p("d/target"), "file open");
    let asked_only_dir = asked(&only_dir);
    assert_eq!(asked_only_dir.len(), 4);
    assert_eq!(asked_only_dir[..2], asked_only_dir[2..]);
    assert_eq!(
        asked_only_dir[..2],
        [
            asked_all[0].clone(),
            (asked_all[1].0.clone(), asked_all[1].1.clone(), false)
        ]
    );
    // The file changes between calls: the new content is read.
    fx.file("d/target", "changed");
    assert_eq!(cat(&all, &fx.p("d/target"), 100).unwrap(), "changed");
    // Removed: missing where the policy allows it, refused where it does not.
    std::fs::remove_file(fx.p("d/target")).unwrap();
    assert_kind(
        cat(&all, &fx.p("d/target"), 100),
        IoErrorKind::NotFound,
        "removed",
    );
    assert_denied_on(
        cat(&only_dir, &fx.p("d/target"), 100),
        &file_uid(&fx.p("d/target")),
        "removed, refused",
    );
}

/// Two `cat`s of `path` under `gate`, each refused on `File(path)`.
#[track_caller]
fn cat_denied_twice(gate: &Gate, path: &str, what: &str) {
    for _ in 0..2 {
        assert_denied_on(cat(gate, path, 100), &file_uid(path), what);
    }
}

/// A writer blocked in `open(O_WRONLY)` on a FIFO, which returns only once some reader
/// opens the FIFO: whether `cat` opened it is whether the writer got through.
struct BlockedWriter {
    done: std::sync::mpsc::Receiver<()>,
    path: String,
    thread: std::thread::JoinHandle<()>,
}

impl BlockedWriter {
    fn start(path: String) -> Self {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel();
        let p = path.clone();
        let thread = std::thread::spawn(move || {
            tid_tx
                .send(rustix::thread::gettid().as_raw_nonzero().get())
                .unwrap();
            let fd = rustix::fs::open(
                p.as_str(),
                rustix::fs::OFlags::WRONLY,
                rustix::fs::Mode::empty(),
            );
            drop(fd);
            let _ = done_tx.send(());
        });
        // Wait until the thread sleeps inside `open` (syscall 2, or 257 for `openat`), so an open by a
        // reader after this point is what releases it.
        let tid = tid_rx.recv().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let syscall = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))
                .unwrap_or_default();
            if syscall.starts_with("2 ") || syscall.starts_with("257 ") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never blocked: {syscall:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Self { done, path, thread }
    }

    /// Whether a reader opened the FIFO since `start` (it waits up to a second for the
    /// writer to report, so a `false` is a writer still blocked after that second).
    fn released(&self) -> bool {
        self.done
            .recv_timeout(std::time::Duration::from_secs(1))
            .is_ok()
    }

    /// Releases the writer (by opening the FIFO for reading) and joins it.
    fn finish(self) {
        let _reader = rustix::fs::open(
            self.path.as_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        self.thread.join().unwrap();
    }
}

/// A FIFO the policy allows opening and reading is typed through `O_PATH` and never
/// opened. When it replaces a file this run's thread read (and holds open), the held
/// route types it `O_PATH` and forgets the path: it is not opened either. Only a run that
/// knows the path as a file but holds no fd for it (another gate) takes the open-first
/// route, which opens it non-blocking, closes it unread and forgets the path, so the next
/// `cat` types it through `O_PATH` again and does not open it.
#[test]
fn a_fifo_is_opened_only_where_a_known_file_was_and_then_forgotten() {
    let fx = Fx::new();
    fx.mkdir("d");
    let root = &fx.root;
    let policy = format!(r#"permit(principal, action, resource in file_system::Dir::"{root}");"#);
    let gate = recording_gate(&policy);
    let mkfifo = |rel: &str| {
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            fx.p(rel).as_str(),
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap()
    };

    mkfifo("d/fifo");
    let writer = BlockedWriter::start(fx.p("d/fifo"));
    assert_kind(
        cat(&gate, &fx.p("d/fifo"), 100),
        IoErrorKind::EntryTypeMismatchError,
        "fifo",
    );
    assert!(
        !writer.released(),
        "cat opened a FIFO it had never seen as a file"
    );
    writer.finish();

    // Read twice by this run (the second time by the open-first route, which holds the
    // fd), then replaced by a FIFO: typed `O_PATH`, not opened.
    fx.file("d/held", "public");
    assert_eq!(cat(&gate, &fx.p("d/held"), 100).unwrap(), "public");
    assert_eq!(cat(&gate, &fx.p("d/held"), 100).unwrap(), "public");
    std::fs::remove_file(fx.p("d/held")).unwrap();
    mkfifo("d/held");
    let writer = BlockedWriter::start(fx.p("d/held"));
    assert_kind(
        cat(&gate, &fx.p("d/held"), 100),
        IoErrorKind::EntryTypeMismatchError,
        "replaced while held",
    );
    assert!(!writer.released(), "the held route opened a FIFO");
    writer.finish();

    // Known as a file, but read by another run: the open-first route.
    fx.file("d/was_file", "public");
    assert_eq!(cat(&gate, &fx.p("d/was_file"), 100).unwrap(), "public");
    std::fs::remove_file(fx.p("d/was_file")).unwrap();
    mkfifo("d/was_file");
    let other = recording_gate(&policy);
    let writer = BlockedWriter::start(fx.p("d/was_file"));
    assert_kind(
        cat(&other, &fx.p("d/was_file"), 100),
        IoErrorKind::EntryTypeMismatchError,
        "replaced",
    );
    assert!(writer.released(), "the open-first route did not run");
    writer.thread.join().unwrap();
    let writer = BlockedWriter::start(fx.p("d/was_file"));
    assert_kind(
        cat(&other, &fx.p("d/was_file"), 100),
        IoErrorKind::EntryTypeMismatchError,
        "forgotten",
    );
    assert!(!writer.released(), "the path was not forgotten");
    writer.finish();
}

/// The fd a run holds for a path it read is read again only while the path names its
/// inode: content written in place since is read whole (from offset 0, sized anew), a
/// file renamed over the path is read instead of the held one, a removed file is missing,
/// and every `cat` asks the same three requests, each recorded and allowed.
#[test]
fn a_held_file_is_read_again_only_while_the_path_names_it() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/f", "one");
    fx.file("d/g", "second file");
    let root = &fx.root;
    let gate = recording_gate(&format!(
        r#"permit(principal, action, resource in file_system::Dir::"{root}");"#
    ));
    let path = fx.p("d/f");
    assert_eq!(cat(&gate, &path, 100).unwrap(), "one");
    assert_eq!(cat(&gate, &path, 100).unwrap(), "one");
    // Written in place (same inode): longer, then shorter.
    std::fs::write(&path, "one, longer now").unwrap();
    assert_eq!(cat(&gate, &path, 100).unwrap(), "one, longer now");
    std::fs::write(&path, "1").unwrap();
    assert_eq!(cat(&gate, &path, 100).unwrap(), "1");
    // Another inode renamed over it.
    std::fs::rename(fx.p("d/g"), &path).unwrap();
    assert_eq!(cat(&gate, &path, 100).unwrap(), "second file");
    assert_eq!(cat(&gate, &path, 100).unwrap(), "second file");
    // Too large is still too large.
    assert_kind(
        cat(&gate, &path, 5),
        IoErrorKind::FileContentTooLargeError,
        "budget",
    );
    // Removed, then created again.
    std::fs::remove_file(&path).unwrap();
    assert_kind(cat(&gate, &path, 100), IoErrorKind::NotFound, "removed");
    fx.file("d/f", "three");
    assert_eq!(cat(&gate, &path, 100).unwrap(), "three");
    let asked = asked(&gate);
    let reads = asked
        .iter()
        .filter(|(a, r, ok)| a.ends_with(r#""read""#) && *r == file_uid(&path) && *ok)
        .count();
    assert_eq!(reads, 8, "{asked:?}");
    // Three requests per `cat` that found the file, none for the missing one, all allowed.
    assert_eq!(asked.len(), 3 * 8, "{asked:?}");
    assert!(asked.iter().all(|(_, _, ok)| *ok), "{asked:?}");
}
