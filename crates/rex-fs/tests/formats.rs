#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! gzip budgets (a gzip bomb) and archive extraction refusals (zip-slip and friends).

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use common::{Fx, assert_kind};
use flate2::Compression;
use flate2::write::GzEncoder;
use rex_fs::{
    DirHandle, ExtractArchiveOptions, IoErrorKind, OpenDirOptions, OpenFileOptions,
    ReadLinesOptions, SearchGzipOptions,
};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn read_opts() -> OpenFileOptions {
    OpenFileOptions {
        read: true,
        ..Default::default()
    }
}

#[test]
fn a_gzip_bomb_stops_at_the_budget() {
    let fx = Fx::new();
    fx.mkdir("d");
    // 256 MiB of zeros compress to about 250 KiB.
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&zeros).unwrap();
    }
    std::fs::write(fx.p("d/bomb.gz"), e.finish().unwrap()).unwrap();
    let gate = fx.gate();
    let d = DirHandle::open(&gate, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    let f = d.open_file(&gate, "bomb.gz", &read_opts()).unwrap();
    let started = std::time::Instant::now();
    let budget = 8 << 20;
    assert_kind(
        f.gzip_info(&gate, budget),
        IoErrorKind::DirectoryError,
        "info",
    );
    let last = ReadLinesOptions {
        count: Some(-1),
        start: None,
    };
    assert!(f.read_gzip_lines(&gate, &last, 1 << 30, budget).is_err());
    assert!(
        f.search_gzip(&gate, "x", &SearchGzipOptions::default(), 1 << 30, budget)
            .is_err()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // A small honest file is fine.
    std::fs::write(fx.p("d/ok.gz"), gz(b"a\nb\nc\n")).unwrap();
    let f = d.open_file(&gate, "ok.gz", &read_opts()).unwrap();
    assert_eq!(
        f.gzip_info(&gate, budget).unwrap().uncompressed_size_bytes,
        6
    );
}

/// A tar.gz with raw entries (names written as given, no sanitizing).
fn archive(entries: &[(&str, tar::EntryType, &str, u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        if *kind == tar::EntryType::Symlink || *kind == tar::EntryType::Link {
            h.as_old_mut().linkname[..data.len()].copy_from_slice(data.as_bytes());
            h.set_size(0);
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, data.as_bytes()).unwrap();
        }
    }
    gz(&b.into_inner().unwrap())
}

#[test]
fn archive_extraction_refuses_escapes() {
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let fx = Fx::new();
    fx.mkdir("d/out");
    fx.mkdir("outside");
    let gate = fx.gate();
    let d = DirHandle::open(&gate, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    let out = DirHandle::open(&gate, &fx.p("d/out"), &OpenDirOptions::default()).unwrap();
    let opts = ExtractArchiveOptions::default();
    let budget = 1 << 20;
    let extract = |name: &str, bytes: Vec<u8>| {
        std::fs::write(fx.p(&format!("d/{name}")), bytes).unwrap();
        let f = d.open_file(&gate, name, &read_opts()).unwrap();
        f.extract_archive(&gate, &out, &opts, budget)
    };
    // A good archive.
    let ok = archive(&[
        ("sub/", Directory, "", 0o755),
        ("sub/a.txt", Regular, "hello", 0o640),
        ("sub/rel", Symlink, "a.txt", 0o777),
        ("fifo", tar::EntryType::Fifo, "", 0o644),
    ]);
    let skipped = extract("ok.tgz", ok).unwrap();
    assert_eq!(fx.read("d/out/sub/a.txt"), "hello");
    assert_eq!(
        std::fs::metadata(fx.p("d/out/sub/a.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    // Zip-slip and friends.
    let abs = format!("{}/outside/abs.txt", fx.root);
    for (name, entries) in [
        (
            "dotdot.tgz",
            vec![("../../outside/x.txt", Regular, "x", 0o644)],
        ),
        ("abs.tgz", vec![(abs.as_str(), Regular, "x", 0o644)]),
        ("abslink.tgz", vec![("l", Symlink, "/etc/passwd", 0o777)]),
        ("uplink.tgz", vec![("l2", Symlink, "../../outside", 0o777)]),
        // A link planted by one entry, then a file written through it by the next.
        (
            "through.tgz",
            vec![
                ("sub/esc", Symlink, "a.txt", 0o777),
                ("sub/esc/x", Regular, "x", 0o644),
            ],
        ),
        ("hard.tgz", vec![("h", Link, "../../outside/target", 0o644)]),
    ] {
        let r = extract(name, archive(&entries));
        assert!(
            r.is_err() || !r.as_ref().unwrap().is_empty(),
            "{name}: {r:?}"
        );
    }
    assert_eq!(std::fs::read_dir(fx.p("outside")).unwrap().count(), 0);
    // An existing symlink in the destination is never followed.
    std::os::unix::fs::symlink(fx.p("outside"), fx.p("d/out/planted")).unwrap();
    assert!(
        extract(
            "planted.tgz",
            archive(&[("planted/x", Regular, "x", 0o644)])
        )
        .is_err()
    );
    assert_eq!(std::fs::read_dir(fx.p("outside")).unwrap().count(), 0);
    // setuid bits need `chmod` on the entry.
    let no_chmod = fx.gate_actions(&["open", "read", "create", "write", "stat"]);
    std::fs::write(
        fx.p("d/suid.tgz"),
        archive(&[("suid", Regular, "#!/bin/sh\n", 0o4755)]),
    )
    .unwrap();
    let f = d.open_file(&no_chmod, "suid.tgz", &read_opts()).unwrap();
    let r = f.extract_archive(&no_chmod, &out, &opts, budget);
    assert_eq!(r.unwrap_err().kind(), IoErrorKind::PermissionDenied);
    let m = std::fs::metadata(fx.p("d/out/suid")).map(|m| m.permissions().mode());
    assert!(m.is_err() || m.unwrap() & 0o6000 == 0);
}
