#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "fs")]
//! The object API from Rhai: every file, directory and symlink method's behaviour and
//! its denial.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use rex_engine::{ErrorType, RunOutcome, RunRequest, Status, run};
use rex_policy::{Gate, Policies};

struct Fx {
    _tmp: tempfile::TempDir,
    root: String,
}

impl Fx {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let fx = Self { _tmp: tmp, root };
        std::fs::create_dir_all(fx.p("d/sub/deep")).unwrap();
        std::fs::create_dir_all(fx.p("other")).unwrap();
        fx.file("d/lines.txt", "one\ntwo\nthree\nfour\nfive\n");
        fx.file("d/bin.dat", "\x01\x02hello world\x00xy\x03longer string\n");
        fx.file("d/sub/a.log", "aaaa\n");
        fx.file("d/sub/deep/b.log", "bbbbbbbb\n");
        std::os::unix::fs::symlink("lines.txt", fx.p("d/link")).unwrap();
        fx
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    fn file(&self, rel: &str, content: &str) {
        std::fs::write(self.p(rel), content).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.p(rel)).unwrap()
    }

    fn run_with(&self, extra_policy: &str, script: &str) -> RunOutcome {
        let r = &self.root;
        let g = Gate::builder()
            .principal("tester")
            .build(
                Policies::from_text(
                    "t.cedar",
                    &format!(
                        "permit(principal, action, resource in file_system::Dir::\"{r}\");\n{}",
                        extra_policy.replace("$R", r)
                    ),
                )
                .unwrap(),
            )
            .unwrap();
        let prelude = r#"let d = DirConfig().path("$R/d").build().open(OpenDirOptions().build());
let rw = OpenFileOptions().read(true).write(true).build();
let f = d.open_file("lines.txt", rw);
"#;
        let script = format!("{prelude}{script}").replace("$R", r);
        run(Arc::new(g), RunRequest::new("t.rhai", script))
    }

    #[track_caller]
    fn ok(&self, script: &str) -> String {
        let o = self.run_with("", script);
        assert_eq!(
            o.document.status,
            Status::Success,
            "{script}: {:?}",
            o.document.error
        );
        o.document.output
    }

    /// Runs `script` with `action` forbidden everywhere and expects a denial.
    #[track_caller]
    fn denied(&self, action: &str, script: &str) {
        let o = self.run_with(
            &format!(
                "forbid(principal, action == file_system::Action::\"{action}\", resource in file_system::Dir::\"$R/d\");"
            ),
            script,
        );
        let e = o
            .document
            .error
            .unwrap_or_else(|| panic!("{script}: expected denial of {action}"));
        assert_eq!(
            e.error_type,
            ErrorType::AccessDeniedException,
            "{script}: {}",
            e.message
        );
        assert!(e.message.contains(action), "{script}: {}", e.message);
    }
}

#[test]
fn reading_methods() {
    let fx = Fx::new();
    assert_eq!(
        fx.ok("f.read_lines(ReadLinesOptions().count(2).build())"),
        r#"["one", "two"]"#
    );
    assert_eq!(
        fx.ok("f.read_lines(ReadLinesOptions().count(-2).build())"),
        r#"["four", "five"]"#
    );
    assert_eq!(
        fx.ok("f.read_lines(ReadLinesOptions().start(4).build())"),
        r#"["four", "five"]"#
    );
    assert_eq!(
        fx.ok("f.read_lines(ReadLinesOptions().start(2).count(1).build())"),
        r#"["two"]"#
    );
    assert_eq!(
        fx.ok("let o = ReadPageOptions().num_lines(2).build(); [f.read_page(o), f.read_page(o), f.read_page(o), f.read_page(o)]"),
        r#"[["one", "two"], ["three", "four"], ["five"], []]"#
    );
    assert_eq!(
        fx.ok(r#"let m = f.search("^t"); [m.len(), m[1].line_number, m[1].line_content]"#),
        r#"[2, 3, "three"]"#
    );
    assert_eq!(
        fx.ok("let c = f.counts(); [c.line_count, c.word_count, c.byte_count]"),
        "[5, 5, 24]"
    );
    assert_eq!(
        fx.ok(r#"d.open_file("bin.dat", rw).extract_strings()"#),
        r#"["hello world", "longer string"]"#
    );
    assert_eq!(fx.ok("f.get_last_modified_time() > 0"), "true");
    assert_eq!(
        fx.ok("let o = f.get_ownership(); o.user != \"\" && o.group != \"\""),
        "true"
    );
    assert_eq!(fx.ok("d.get_ownership().to_map().keys().len()"), "2");
    assert_eq!(fx.ok(r#"d.read_link_target("link")"#), "lines.txt");
    assert_eq!(
        fx.ok(r#"let l = d.open_symlink("link"); l.metadata().symlink_target()"#),
        "lines.txt"
    );
    assert_eq!(
        fx.ok("f.disk_usage(DiskUsageOptions().apparent_size(true).build()).size_bytes"),
        "24"
    );
    for (action, script) in [
        ("read", "f.read_lines(ReadLinesOptions().count(1).build())"),
        (
            "read",
            "f.read_page(ReadPageOptions().num_lines(1).build())",
        ),
        ("read", r#"f.search("x")"#),
        ("read", "f.counts()"),
        ("read", "f.extract_strings()"),
        ("stat", "f.get_last_modified_time()"),
        ("stat", "f.get_ownership()"),
        ("stat", "d.get_ownership()"),
        ("read", r#"d.read_link_target("link")"#),
        ("open", r#"d.open_symlink("link")"#),
        ("stat", r#"d.open_symlink("link").metadata()"#),
        ("stat", "f.disk_usage(DiskUsageOptions().build())"),
    ] {
        fx.denied(action, script);
    }
}

#[test]
fn writing_methods() {
    let fx = Fx::new();
    // Atomic write through a symlink replaces the target and keeps the link.
    fx.ok(r#"let l = d.open_file("link", OpenFileOptions().read(true).write(true).follow_symlinks(true).build()); l.write("new\n").read()"#);
    assert_eq!(fx.read("d/lines.txt"), "new\n");
    assert!(
        std::fs::symlink_metadata(fx.p("d/link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    fx.ok(r#"f.write("x", WriteOptions().preserve_ownership(false).build())"#);
    fx.ok(r#"f.write_in_place("abc")"#);
    assert_eq!(fx.read("d/lines.txt"), "abc");
    fx.ok(r#"let c = d.open_file("copy.txt", OpenFileOptions().create(true).build()); f.copy(c, CopyFileOptions().build())"#);
    assert_eq!(fx.read("d/copy.txt"), "abc");
    let o = fx.run_with(
        "",
        r#"let c = d.open_file("copy.txt", rw); f.copy(c, CopyFileOptions().build())"#,
    );
    assert!(o.document.error.unwrap().message.contains("not empty"));
    fx.ok(r#"let c = d.open_file("copy.txt", rw); f.copy(c, CopyFileOptions().force(true).preserve(true).build())"#);
    let sub = r#"let sub = DirConfig().path("$R/d/sub").build().open(OpenDirOptions().build());"#;
    fx.ok(&format!(r#"{sub} let c = d.open_file("copy.txt", rw); c.move(sub, "moved.txt", MoveOptions().verbose(true).build()).path"#));
    assert_eq!(fx.read("d/sub/moved.txt"), "abc");
    fx.ok(&format!(
        r#"{sub} sub.open_file("moved.txt", rw).delete(DeleteFileOptions().build())"#
    ));
    assert!(!std::path::Path::new(&fx.p("d/sub/moved.txt")).exists());
    fx.ok(r#"f.truncate(TruncateOptions().size(1).format(SizeUnit::KIBIBYTES).build())"#);
    assert_eq!(std::fs::metadata(fx.p("d/lines.txt")).unwrap().len(), 1024);
    fx.ok(r#"f.fallocate(FallocateOptions().length(8192).build())"#);
    assert_eq!(std::fs::metadata(fx.p("d/lines.txt")).unwrap().len(), 8192);
    fx.ok("f.chmod(0o600)");
    assert_eq!(
        std::fs::metadata(fx.p("d/lines.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o600
    );
    let me = fx.ok(r#"f.get_ownership().user"#);
    fx.ok(&format!(
        r#"f.set_ownership(SetOwnershipOptions().user("{me}").build())"#
    ));
    fx.ok(&format!(
        r#"d.open_symlink("link").set_ownership(SetOwnershipOptions().user("{me}").build())"#
    ));
    for (action, script) in [
        ("write", r#"f.write("y")"#),
        ("write", r#"f.write_in_place("y")"#),
        (
            "write",
            r#"let c = d.open_file("c2", OpenFileOptions().create(true).build()); f.copy(c, CopyFileOptions().build())"#,
        ),
        ("move", r#"f.move(d, "renamed", MoveOptions().build())"#),
        ("delete", "f.delete()"),
        ("write", "f.truncate(TruncateOptions().build())"),
        ("write", "f.fallocate(FallocateOptions().length(1).build())"),
        ("chmod", "f.chmod(0o644)"),
        (
            "chown",
            r#"f.set_ownership(SetOwnershipOptions().group("0").build())"#,
        ),
        (
            "chown",
            r#"d.open_symlink("link").set_ownership(SetOwnershipOptions().group("0").build())"#,
        ),
    ] {
        fx.denied(action, script);
    }
    assert!(std::path::Path::new(&fx.p("d/lines.txt")).exists());
}

#[test]
fn directory_methods() {
    let fx = Fx::new();
    let found = fx.ok(r#"let n = []; d.find(FindOptions().name("*.log").build(), |e| n.push(e.name)); n.sort(); n"#);
    assert_eq!(found, r#"["a.log", "b.log"]"#);
    let found = fx.ok(r#"let n = []; d.find(FindOptions().size_range(SizeRange::min_only(6, SizeUnit::BYTES)).max_depth(3).build(), |e| if e.type() == EntryType::FILE { n.push(e.name) }); n.sort(); n"#);
    assert_eq!(found, r#"["b.log", "bin.dat", "lines.txt"]"#);
    let found = fx.ok(
        r#"let n = 0; d.find(FindOptions().iname("*.LOG").max_depth(2).build(), |e| n += 1); n"#,
    );
    assert_eq!(found, "1");
    // Time bounds take a DateTime (or epoch seconds): an old a.log is left out.
    let touched = std::process::Command::new("touch")
        .args(["-d", "2001-02-03T04:05:06Z", &fx.p("d/sub/a.log")])
        .status()
        .unwrap();
    assert!(touched.success());
    let found = fx.ok(
        r#"let n = []; d.find(FindOptions().name("*.log").min_modification_time(DateTime(2020, 1, 1, 0, 0, 0, 0)).build(), |e| n.push(e.name)); n"#,
    );
    assert_eq!(found, r#"["b.log"]"#);
    let found = fx.ok(
        r#"let n = []; d.find(FindOptions().name("*.log").max_modification_time(parse_datetime("2001-02-03T04:05:06Z", DateTimeFormat::RFC3339)).build(), |e| n.push(e.name)); n"#,
    );
    assert_eq!(found, r#"["a.log"]"#);
    let found = fx.ok(
        r#"let n = []; d.find(FindOptions().name("*.log").max_modification_time(981173105).build(), |e| n.push(e.name)); n"#,
    );
    assert_eq!(found, "[]");
    fx.ok(r#"d.create_symlink("lines.txt", "l2", CreateSymlinkOptions().build())"#);
    assert_eq!(
        std::fs::read_link(fx.p("d/l2")).unwrap().to_str().unwrap(),
        "lines.txt"
    );
    fx.ok(r#"d.create_symlink("bin.dat", "l2", CreateSymlinkOptions().force(true).build())"#);
    assert_eq!(
        std::fs::read_link(fx.p("d/l2")).unwrap().to_str().unwrap(),
        "bin.dat"
    );
    fx.ok("d.chmod(ChmodDirOptions().permissions(0o750).recursive(true).build())");
    assert_eq!(
        std::fs::metadata(fx.p("d/sub/deep/b.log"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o750
    );
    let me = fx.ok("d.get_ownership().user");
    fx.ok(&format!(
        r#"d.set_ownership(SetOwnershipOptions().user("{me}").recursive(true).build())"#
    ));
    let du = fx.ok(r#"let r = d.disk_usage(DiskUsageOptions().apparent_size(true).track_largest_subdir(true).build()); [r.entries.len(), r.largest_subdir_handle.path]"#);
    assert_eq!(du, format!(r#"[3, "{}/d/sub"]"#, fx.root));
    let moved = fx.ok(
        r#"let sub = DirConfig().path("$R/d/sub").build().open(OpenDirOptions().build());
let other = DirConfig().path("$R/other").build().open(OpenDirOptions().build());
d.move(sub, other, "sub2", MoveOptions().build()).path"#,
    );
    assert_eq!(moved, fx.p("other/sub2"));
    fx.ok(r#"let o = DirConfig().path("$R/other/sub2").build().open(OpenDirOptions().build()); o.delete(DeleteDirOptions().recursive(true).build())"#);
    assert!(!std::path::Path::new(&fx.p("other/sub2")).exists());
    let e = fx
        .run_with("", r#"d.chmod(ChmodDirOptions().build())"#)
        .document
        .error
        .unwrap();
    assert!(e.message.contains("permissions"), "{}", e.message);
}

#[test]
fn directory_methods_are_denied() {
    let fx = Fx::new();
    for (action, script) in [
        ("read", r#"d.find(FindOptions().build(), |e| 1)"#),
        (
            "create",
            r#"d.create_symlink("x", "l3", CreateSymlinkOptions().build())"#,
        ),
        (
            "chmod",
            "d.chmod(ChmodDirOptions().permissions(0o755).build())",
        ),
        (
            "chown",
            r#"d.set_ownership(SetOwnershipOptions().group("0").build())"#,
        ),
        ("stat", "d.disk_usage(DiskUsageOptions().build())"),
        (
            "delete",
            "d.delete(DeleteDirOptions().recursive(true).build())",
        ),
        (
            "move",
            r#"let sub = DirConfig().path("$R/d/sub").build().open(OpenDirOptions().build()); d.move(sub, d, "s2", MoveOptions().build())"#,
        ),
    ] {
        fx.denied(action, script);
    }
    // Recursive operations authorize every entry: one forbidden file deep inside stops
    // the whole operation before anything changes, unless skip_denied.
    let deep =
        r#"forbid(principal, action, resource == file_system::File::"$R/d/sub/deep/b.log");"#;
    let o = fx.run_with(
        deep,
        "d.chmod(ChmodDirOptions().permissions(0o700).recursive(true).build())",
    );
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    assert_ne!(
        std::fs::metadata(fx.p("d/sub/a.log"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let o = fx.run_with(
        deep,
        "d.chmod(ChmodDirOptions().permissions(0o700).recursive(true).skip_denied(true).build())",
    );
    assert_eq!(
        o.document.output,
        format!(r#"["{}/d/sub/deep/b.log"]"#, fx.root),
        "{:?}",
        o.document.error
    );
    assert_eq!(
        std::fs::metadata(fx.p("d/sub/a.log"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_ne!(
        std::fs::metadata(fx.p("d/sub/deep/b.log"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let o = fx.run_with(deep, "d.delete(DeleteDirOptions().recursive(true).build())");
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    assert!(std::path::Path::new(&fx.p("d/sub/a.log")).exists());
    let deny_dir = r#"forbid(principal, action, resource == file_system::Dir::"$R/d/sub/deep");"#;
    let o = fx.run_with(deny_dir, r#"d.find(FindOptions().build(), |e| 1)"#);
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    let o = fx.run_with(deny_dir, r#"let n = []; let s = d.find(FindOptions().skip_denied(true).build(), |e| n.push(e.name)); [s, n.contains("b.log")]"#);
    assert_eq!(
        o.document.output,
        format!(r#"[["{}/d/sub/deep"], false]"#, fx.root),
        "{:?}",
        o.document.error
    );
    let o = fx.run_with(deny_dir, "d.disk_usage(DiskUsageOptions().build())");
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    // A callback error stops the walk and reaches the script.
    let o = fx.run_with("", r#"d.find(FindOptions().build(), |e| throw "stop")"#);
    assert!(o.document.error.unwrap().message.contains("stop"));
}
