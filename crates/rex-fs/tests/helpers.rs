#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The shell-style helpers and the handle API in ordinary use.

mod common;

use std::time::Duration;

use common::{Fx, assert_denied_on, assert_kind, file_uid, gate, within};
use rex_fs::{
    DirHandle, EntryType, IoErrorKind, OpenDirOptions, OpenFileOptions, WriteMode, cat, ls, mkdir,
    touch, write,
};

#[test]
fn append_needs_read_and_never_destroys_data() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/log", "line1\n");
    let no_read = fx.gate_actions(&["open", "write", "create", "stat"]);
    let e = write(&no_read, &fx.p("d/log"), "line2\n", WriteMode::Append).unwrap_err();
    assert_eq!(e.kind(), IoErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.denied().unwrap().action().name(), "read");
    assert_eq!(fx.read("d/log"), "line1\n");
    let with_read = fx.gate_actions(&["open", "read", "write", "create", "stat"]);
    write(&with_read, &fx.p("d/log"), "line2\n", WriteMode::Append).unwrap();
    assert_eq!(fx.read("d/log"), "line1\nline2\n");
    // Non-UTF-8 content is kept as it is: nothing is read back.
    std::fs::write(fx.p("d/bin"), [0xff, 0xfe]).unwrap();
    write(&with_read, &fx.p("d/bin"), "x", WriteMode::Append).unwrap();
    assert_eq!(std::fs::read(fx.p("d/bin")).unwrap(), [0xff, 0xfe, b'x']);
    // Replace needs no `read`.
    write(&no_read, &fx.p("d/log"), "fresh", WriteMode::Replace).unwrap();
    assert_eq!(fx.read("d/log"), "fresh");
    // Without `write`, nothing changes.
    let no_write = fx.gate_actions(&["open", "read", "create"]);
    assert_denied_on(
        write(&no_write, &fx.p("d/log"), "zzz", WriteMode::Replace),
        &file_uid(&fx.p("d/log")),
        "replace without write",
    );
    assert_eq!(fx.read("d/log"), "fresh");
    // A new file needs open + create + write, and gets exactly the content.
    write(&with_read, &fx.p("d/new"), "n", WriteMode::Append).unwrap();
    assert_eq!(fx.read("d/new"), "n");
    assert_kind(
        write(&with_read, &fx.p("missing/new"), "n", WriteMode::Append),
        IoErrorKind::NotFound,
        "missing parent",
    );
    assert_kind(
        write(&with_read, &fx.p("d"), "n", WriteMode::Append),
        IoErrorKind::EntryTypeMismatchError,
        "write to a directory",
    );
}

#[test]
fn cat_has_a_byte_budget_and_refuses_devices() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/hundred", &"x".repeat(100));
    std::fs::write(fx.p("d/latin1"), [b'a', 0xe9]).unwrap();
    let g = fx.gate();
    assert_eq!(cat(&g, &fx.p("d/hundred"), 100).unwrap().len(), 100);
    assert_kind(
        cat(&g, &fx.p("d/hundred"), 99),
        IoErrorKind::FileContentTooLargeError,
        "over budget",
    );
    assert_kind(
        cat(&g, &fx.p("d/hundred"), 0),
        IoErrorKind::FileContentTooLargeError,
        "zero",
    );
    assert_kind(
        cat(&g, &fx.p("d/latin1"), 10),
        IoErrorKind::Utf8Error,
        "latin1",
    );
    assert_kind(
        cat(&g, &fx.p("d"), 10),
        IoErrorKind::EntryTypeMismatchError,
        "dir",
    );
    assert_kind(
        cat(&g, &fx.p("d/none"), 10),
        IoErrorKind::NotFound,
        "missing",
    );
    // Devices: refused by type (policy permitting /dev), or by policy; never read.
    let kinds = within(10, || {
        let dev = gate(r#"permit(principal, action, resource in file_system::Dir::"/dev");"#);
        let none = gate(r#"permit(principal, action, resource in file_system::Dir::"/nowhere");"#);
        [
            cat(&dev, "/dev/zero", usize::MAX).unwrap_err().kind(),
            cat(&dev, "/dev//./null", 10).unwrap_err().kind(),
            cat(&none, "/dev/zero", usize::MAX).unwrap_err().kind(),
        ]
    });
    assert_eq!(
        kinds,
        [
            IoErrorKind::EntryTypeMismatchError,
            IoErrorKind::EntryTypeMismatchError,
            IoErrorKind::PermissionDenied
        ]
    );
    // A file with no size (procfs) is still bounded.
    let proc = gate(r#"permit(principal, action, resource in file_system::Dir::"/proc");"#);
    assert_kind(
        cat(&proc, "/proc/self/status", 8),
        IoErrorKind::FileContentTooLargeError,
        "procfs over budget",
    );
    assert!(
        cat(&proc, "/proc/self/status", 1 << 20)
            .unwrap()
            .contains("Name:")
    );
}

#[test]
fn mkdir_checks_each_new_level() {
    let fx = Fx::new();
    let g = fx.gate();
    mkdir(&g, &fx.p("m/a/b/"), true).unwrap();
    assert!(std::fs::metadata(fx.p("m/a/b")).unwrap().is_dir());
    mkdir(&g, &fx.p("m/a/b"), false).unwrap();
    mkdir(&g, &fx.p("m/a"), true).unwrap();
    assert_kind(
        mkdir(&g, &fx.p("n/x"), false),
        IoErrorKind::NotFound,
        "missing parent without -p",
    );
    assert!(!fx.exists("n"));
    fx.file("f", "");
    assert_kind(
        mkdir(&g, &fx.p("f"), true),
        IoErrorKind::EntryTypeMismatchError,
        "existing file",
    );
    fx.symlink("m", "mlink");
    mkdir(&g, &fx.p("mlink"), false).unwrap();
    // A refused level: the levels above it exist (each checked before its mkdirat), it and
    // those below do not.
    let root = &fx.root;
    let g = fx.gate_with(&format!(
        r#"forbid(principal, action == file_system::Action::"create", resource == file_system::Dir::"{root}/p/q");"#
    ));
    let e = mkdir(&g, &fx.p("p/q/r"), true).unwrap_err();
    assert_eq!(
        e.denied().unwrap().resource().to_string(),
        format!("file_system::Dir::\"{root}/p/q\"")
    );
    assert!(fx.exists("p"));
    assert!(!fx.exists("p/q"));
    // Only `open` (no `create`): nothing at all.
    let g = fx.gate_actions(&["open"]);
    assert_kind(
        mkdir(&g, &fx.p("z/y"), true),
        IoErrorKind::PermissionDenied,
        "no create",
    );
    assert!(!fx.exists("z"));
    // DirHandle::open with create / recursive.
    let g = fx.gate();
    let create = OpenDirOptions {
        create: true,
        ..Default::default()
    };
    assert_kind(
        DirHandle::open(&g, &fx.p("h1/h2"), &create),
        IoErrorKind::NotFound,
        "two levels without recursive",
    );
    let h = DirHandle::open(
        &g,
        &fx.p("h1/h2"),
        &OpenDirOptions {
            recursive: true,
            ..create
        },
    )
    .unwrap();
    assert_eq!(h.path().as_str(), fx.p("h1/h2"));
}

#[test]
fn ls_list_entries_and_metadata() {
    let fx = Fx::new();
    fx.mkdir("d/sub");
    fx.file("d/a.txt", "hello");
    fx.file("d/.hidden", "");
    fx.file("d/secret", "s");
    fx.symlink("a.txt", "d/link");
    let g = fx.gate();
    let names = |m: &std::collections::BTreeMap<String, rex_fs::DirEntry>| {
        m.keys().cloned().collect::<Vec<_>>()
    };
    let visible = ls(&g, &fx.p("d"), false).unwrap();
    assert_eq!(names(&visible), ["a.txt", "link", "secret", "sub"]);
    let all = ls(&g, &fx.p("d/"), true).unwrap();
    assert_eq!(names(&all), [".hidden", "a.txt", "link", "secret", "sub"]);
    assert_eq!(all["sub"].entry_type(), EntryType::Dir);
    assert_eq!(all["link"].entry_type(), EntryType::Symlink);
    assert_eq!(all["a.txt"].entry_type(), EntryType::File);
    // A symlink path gives one entry for the link itself.
    let one = ls(&g, &fx.p("d/link"), false).unwrap();
    assert_eq!(names(&one), ["link"]);
    assert_eq!(one["link"].entry_type(), EntryType::Symlink);
    let md = one["link"].metadata(&g).unwrap();
    assert_eq!(md.entry_type, EntryType::Symlink);
    assert_eq!(md.symlink_target.as_deref(), Some("a.txt"));
    // Entry metadata and opening entries, each re-authorized.
    let md = all["a.txt"].metadata(&g).unwrap();
    assert_eq!(md.file_size, 5);
    assert_eq!(md.entry_type, EntryType::File);
    assert_eq!(md.num_hardlinks, 1);
    let std_md = std::fs::metadata(fx.p("d/a.txt")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(md.permissions, std_md.mode() & 0o7777);
    assert_eq!(md.uid, std_md.uid());
    assert_eq!(md.last_modified_time, std_md.mtime());
    assert!(!md.owner_user.is_empty());
    let json = serde_json::to_value(&md).unwrap();
    assert_eq!(json["entry_type"], "FILE");
    let read = OpenFileOptions {
        read: true,
        ..Default::default()
    };
    let f = all["a.txt"].open_as_file(&g, &read).unwrap();
    assert_eq!(f.read(&g, 10).unwrap(), "hello");
    assert_eq!(f.metadata(&g).unwrap().file_size, 5);
    assert_denied_on(
        all["secret"].open_as_file(&g, &read),
        &file_uid(&fx.p("d/secret")),
        "entry open_as_file secret",
    );
    assert_denied_on(
        all["secret"].metadata(&g),
        &file_uid(&fx.p("d/secret")),
        "entry metadata secret",
    );
    let sub = all["sub"]
        .open_as_dir(&g, &OpenDirOptions::default())
        .unwrap();
    assert_eq!(sub.path().as_str(), fx.p("d/sub"));
    assert!(sub.list_entries(&g).unwrap().is_empty());
    assert_eq!(sub.metadata(&g).unwrap().entry_type, EntryType::Dir);
    assert_kind(
        all["a.txt"].open_as_dir(&g, &OpenDirOptions::default()),
        IoErrorKind::EntryTypeMismatchError,
        "file as dir",
    );
    // Listing needs `read` on the directory; `open` alone is not enough.
    let open_only = fx.gate_actions(&["open"]);
    let d = DirHandle::open(&open_only, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    assert_kind(
        d.list_entries(&open_only),
        IoErrorKind::PermissionDenied,
        "list",
    );
    assert_kind(
        d.metadata(&open_only),
        IoErrorKind::PermissionDenied,
        "stat",
    );
    assert_kind(
        ls(&open_only, &fx.p("d"), true),
        IoErrorKind::PermissionDenied,
        "ls",
    );
    // Handle options.
    assert_kind(
        d.open_file(&open_only, "a.txt", &OpenFileOptions::default()),
        IoErrorKind::InvalidArguments,
        "neither read nor write",
    );
    let w = d
        .open_file(
            &open_only,
            "a.txt",
            &OpenFileOptions {
                write: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(w.writable() && !w.readable());
    assert_kind(
        w.read(&g, 10),
        IoErrorKind::InvalidArguments,
        "read a write-only handle",
    );
}

#[test]
fn touch_creates_but_never_modifies() {
    let fx = Fx::new();
    fx.mkdir("d");
    fx.file("d/old", "keep");
    let before = std::fs::metadata(fx.p("d/old"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let g = fx.gate();
    touch(&g, &fx.p("d/old")).unwrap();
    touch(&g, &fx.p("d")).unwrap();
    let after = std::fs::metadata(fx.p("d/old"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(fx.read("d/old"), "keep");
    touch(&g, &fx.p("d/new")).unwrap();
    assert_eq!(fx.read("d/new"), "");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(fx.p("d/new"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777 & !0o644, 0, "{mode:o}");
    // open_file(create) with permissions, and a handle for the new file.
    let d = DirHandle::open(&g, &fx.p("d"), &OpenDirOptions::default()).unwrap();
    let h = d
        .open_file(
            &g,
            "made",
            &OpenFileOptions {
                create: true,
                read: true,
                permissions: Some(0o4600),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(h.writable());
    assert_eq!(h.metadata(&g).unwrap().permissions, 0o600);
    assert_eq!(h.read(&g, 10).unwrap(), "");
    // Existing: `create` does not truncate.
    let h = d
        .open_file(
            &g,
            "old",
            &OpenFileOptions {
                create: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(h.path().as_str(), fx.p("d/old"));
    assert_eq!(fx.read("d/old"), "keep");
}
