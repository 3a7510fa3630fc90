#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "fs")]
//! The shell-style helpers from Rhai: each one's behaviour (the original's observed
//! outputs where §7 lists them, fix 13's `tail::n`) and its denial.

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
        fx.mkdir("data");
        fx.file(
            "data/lines.txt",
            "line1\nline2\nline3\nline4\nline5\nline6\nline7\n",
        );
        fx.file("data/hello.txt", "Hello from Rex!\n");
        fx.file("data/secret.txt", "top secret\n");
        fx.file("data/fields.txt", "a 10 x\nb 20 y\na 30 z\n");
        fx.mkdir("data/sub/deeper");
        fx.file("data/sub/one.log", "1\n");
        fx.file("data/sub/deeper/two.log", "22\n");
        fx.mkdir("locked");
        fx.file("locked/inside.txt", "no\n");
        fx
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.p(rel)).unwrap();
    }

    fn file(&self, rel: &str, content: &str) {
        std::fs::write(self.p(rel), content).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.p(rel)).unwrap()
    }

    /// Everything under the root, except anything on `data/secret.txt` and `locked/`.
    fn gate(&self) -> Arc<Gate> {
        let r = &self.root;
        gate(&format!(
            r#"permit(principal, action, resource in file_system::Dir::"{r}");
forbid(principal, action, resource == file_system::File::"{r}/data/secret.txt");
forbid(principal, action, resource in file_system::Dir::"{r}/locked");"#
        ))
    }

    fn run(&self, script: &str) -> RunOutcome {
        let script = script.replace("$R", &self.root);
        run(self.gate(), RunRequest::new("t.rhai", script))
    }

    #[track_caller]
    fn ok(&self, script: &str) -> String {
        let o = self.run(script);
        assert_eq!(
            o.document.status,
            Status::Success,
            "{script}: {:?}",
            o.document.error
        );
        o.document.output
    }

    #[track_caller]
    fn denied(&self, script: &str) -> String {
        let o = self.run(script);
        let e = o
            .document
            .error
            .unwrap_or_else(|| panic!("{script}: expected a denial"));
        assert_eq!(
            e.error_type,
            ErrorType::AccessDeniedException,
            "{script}: {}",
            e.message
        );
        e.message
    }
}

fn gate(text: &str) -> Arc<Gate> {
    Arc::new(
        Gate::builder()
            .principal("tester")
            .build(Policies::from_text("t.cedar", text).unwrap())
            .unwrap(),
    )
}

#[test]
fn observed_outputs_of_the_original() {
    let fx = Fx::new();
    let l = r#"let lines = "$R/data/lines.txt";"#;
    let case = |s: &str| fx.ok(&format!("{l} {s}"));
    assert_eq!(
        case("cat([cat::n], lines)"),
        (1..=7)
            .map(|i| format!("{i:>6}\tline{i}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(case(r#"grep([grep::c], "line[1-3]", lines)"#), r#"["3"]"#);
    assert_eq!(
        case(r#"grep([grep::n, grep::v], "line[1-5]", lines)"#),
        r#"["6:line6", "7:line7"]"#
    );
    // Fix 13: tail::n(2) is the last two lines, as `tail -n 2`.
    assert_eq!(case("tail([tail::n(2)], lines)"), r#"["line6", "line7"]"#);
    assert_eq!(case("tail([tail::n(-2)], lines)"), r#"["line6", "line7"]"#);
    assert_eq!(case("tail(lines).len()"), "7");
    assert_eq!(case("seq([seq::step(2)], 1, 9)"), "[1, 3, 5, 7, 9]");
    assert_eq!(
        case("wc(lines)"),
        r#"#{"bytes": 42, "lines": 7, "words": 7}"#
    );
    assert_eq!(
        case(r#"ls("$R/data").keys()"#),
        r#"["fields.txt", "hello.txt", "lines.txt", "secret.txt", "sub"]"#
    );
}

#[test]
fn grep_tail_sed_wc_seq_awk_behave() {
    let fx = Fx::new();
    let l = r#"let lines = "$R/data/lines.txt"; let f = "$R/data/fields.txt";"#;
    let case = |s: &str| fx.ok(&format!("{l} {s}"));
    assert_eq!(
        case(r#"grep([grep::i, grep::max_count(2)], "LINE", lines)"#),
        r#"["line1", "line2"]"#
    );
    assert_eq!(
        case(r#"grep([grep::m(1), grep::n], "line", lines)"#),
        r#"["1:line1"]"#
    );
    assert_eq!(case(r#"grep("line7", lines)"#), r#"["line7"]"#);
    assert_eq!(
        case("tail([tail::from(6)], lines)"),
        r#"["line6", "line7"]"#
    );
    assert_eq!(
        case("tail([tail::range(2, 3)], lines)"),
        r#"["line2", "line3"]"#
    );
    assert_eq!(case(r#"sed("line", "L", lines).len()"#), "39");
    assert_eq!(
        case(r#"sed([sed::g], "line", "", lines)"#),
        "1\n2\n3\n4\n5\n6\n7\n"
    );
    assert_eq!(
        case(r#"sed([sed::regex, sed::all], "line(\\d)", "n$1", lines).sub_string(0, 6)"#),
        "n1\nn2\n"
    );
    case(r#"sed([sed::in_place, sed::g], "line", "row", lines)"#);
    assert!(fx.read("data/lines.txt").starts_with("row1\nrow2\n"));
    assert_eq!(case("wc([wc::l], f)"), r#"#{"lines": 3}"#);
    assert_eq!(
        case("wc([wc::w, wc::c], f)"),
        r#"#{"bytes": 21, "words": 9}"#
    );
    assert_eq!(case("seq(3, 1)"), "[]");
    assert_eq!(case("seq([seq::step(-2)], 5, 1)"), "[5, 3, 1]");
    assert_eq!(case(r#"awk_split("a,b,c", ",")"#), r#"["a", "b", "c"]"#);
    assert_eq!(case(r#"awk_field(2, " ", f)"#), r#"["10", "20", "30"]"#);
    assert_eq!(case(r#"awk_filter("b 2", f)"#), r#"["b 20 y"]"#);
    assert_eq!(
        case(r#"awk_filter_field(1, " ", "a", f)"#),
        r#"["a 10 x", "a 30 z"]"#
    );
    assert_eq!(case(r#"awk_sum(2, " ", f)"#), "60.0");
    assert_eq!(
        case(r#"awk_count_unique(1, " ", f)"#),
        r#"#{"a": 2, "b": 1}"#
    );
    assert_eq!(case(r#"awk_filter_range(2, 2, f)"#), r#"["b 20 y"]"#);
    assert_eq!(
        case(r#"replace_text("a-a", "a", "b", ReplacementOptions().replace_all(true).build())"#),
        "b-b"
    );
    assert_eq!(
        case(r#"replace_text("x1", "\\d", "N", ReplacementOptions().is_regex(true).build())"#),
        "xN"
    );
}

#[test]
fn seq_is_bounded_and_fast() {
    let fx = Fx::new();
    let started = std::time::Instant::now();
    let o = fx.run("seq(0, 1 << 40)");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let e = o.document.error.expect("error");
    assert_eq!(e.error_type, ErrorType::ScriptException);
    assert!(e.message.contains("array limit"), "{}", e.message);
    let e = fx
        .run("seq([seq::step(0)], 1, 2)")
        .document
        .error
        .expect("error");
    assert!(e.message.contains("step"), "{}", e.message);
    let e = fx.run(r#"seq(["x"], 1, 2)"#).document.error.expect("error");
    assert!(e.message.contains("expected SeqFlag"), "{}", e.message);
}

#[test]
fn cp_mv_find_files_glob_du_behave() {
    let fx = Fx::new();
    fx.ok(r#"cp("$R/data/hello.txt", "$R/data/copy.txt")"#);
    assert_eq!(fx.read("data/copy.txt"), "Hello from Rex!\n");
    // A non-empty destination needs force.
    let e = fx
        .run(r#"cp("$R/data/lines.txt", "$R/data/copy.txt")"#)
        .document
        .error
        .unwrap();
    assert!(e.message.contains("not empty"), "{}", e.message);
    fx.ok(r#"cp([cp::force, cp::preserve], "$R/data/lines.txt", "$R/data/copy.txt")"#);
    assert_eq!(fx.read("data/copy.txt"), fx.read("data/lines.txt"));
    fx.ok(r#"cp("$R/data/hello.txt", "$R/data/sub")"#);
    assert_eq!(fx.read("data/sub/hello.txt"), "Hello from Rex!\n");

    fx.ok(r#"mv([mv::verbose], "$R/data/copy.txt", "$R/data/moved.txt")"#);
    assert!(!std::path::Path::new(&fx.p("data/copy.txt")).exists());
    assert_eq!(fx.read("data/moved.txt"), fx.read("data/lines.txt"));
    let o = fx.run(r#"mv([mv::v], "$R/data/moved.txt", "$R/data/sub")"#);
    assert!(
        o.document
            .logs
            .iter()
            .flatten()
            .any(|l| l.attributes.message.starts_with("Moved from")),
        "{:?}",
        o.document.logs
    );
    assert!(std::path::Path::new(&fx.p("data/sub/moved.txt")).exists());
    fx.file("data/a.txt", "new");
    fx.file("data/b.txt", "old");
    fx.ok(r#"mv([mv::backup], "$R/data/a.txt", "$R/data/b.txt")"#);
    assert_eq!(fx.read("data/b.txt"), "new");
    assert_eq!(fx.read("data/b.txt~"), "old");

    let names = fx.ok(r#"let n = find_files("*.log", "$R/data/sub"); n.sort(); n"#);
    assert_eq!(names, r#"["one.log"]"#);
    let names = fx.ok(r#"let n = find_files([glob::recursive], "*.log", "$R/data"); n.sort(); n"#);
    assert_eq!(names, r#"["one.log", "two.log"]"#);
    let names = fx.ok(r#"let n = glob([glob::r], "*.txt", "$R/data/sub"); n.sort(); n"#);
    assert_eq!(names, r#"["hello.txt", "moved.txt"]"#);

    let du = fx.ok(r#"let d = du([du::apparent_size], "$R/data/sub"); [d.total_inode_count, d.entries.len(), d.entries[-1].path]"#);
    assert_eq!(du, format!(r#"[6, 2, "{}/data/sub"]"#, fx.root));
    let du = fx.ok(r#"du([du::s, du::apparent_size], "$R/data/sub").entries.len()"#);
    assert_eq!(du, "1");
    let du = fx.ok(r#"du([du::a, du::d(1)], "$R/data/sub").entries.len()"#);
    assert_eq!(du, "5");
    let total = fx.ok(r#"du([du::apparent_size], "$R/data/sub").total_size_bytes > 0"#);
    assert_eq!(total, "true");
}

#[test]
fn every_helper_is_denied_on_forbidden_objects() {
    let fx = Fx::new();
    let s = r#"let s = "$R/data/secret.txt"; let lk = "$R/locked";"#;
    for call in [
        r#"cat(s)"#,
        r#"grep("x", s)"#,
        r#"tail(s)"#,
        r#"sed("a", "b", s)"#,
        r#"sed([sed::i], "a", "b", s)"#,
        r#"wc(s)"#,
        r#"awk_field(1, " ", s)"#,
        r#"awk_filter("x", s)"#,
        r#"awk_filter_field(1, " ", "x", s)"#,
        r#"awk_sum(1, " ", s)"#,
        r#"awk_count_unique(1, " ", s)"#,
        r#"awk_filter_range(1, 2, s)"#,
        r#"cp(s, "$R/data/stolen.txt")"#,
        r#"cp("$R/data/hello.txt", s)"#,
        r#"mv(s, "$R/data/stolen.txt")"#,
        r#"mv("$R/data/hello.txt", lk)"#,
        r#"find_files("*", lk)"#,
        r#"glob([glob::r], "*", "$R")"#,
        r#"du(lk)"#,
        r#"du("$R")"#,
    ] {
        let msg = fx.denied(&format!("{s} {call}"));
        assert!(
            msg.contains("unauthorized") || msg.contains("denied") || msg.contains("forbid"),
            "{call}: {msg}"
        );
    }
    assert!(!std::path::Path::new(&fx.p("data/stolen.txt")).exists());
    assert_eq!(fx.read("data/secret.txt"), "top secret\n");
    assert_eq!(fx.read("locked/inside.txt"), "no\n");
}

#[test]
fn sed_in_place_never_writes_back_redacted_text() {
    let fx = Fx::new();
    fx.file("dict.conf", "user %s logged in\n");
    fx.file("data/log.txt", "user bob logged in\npassword=hunter2\n");
    let r = &fx.root;
    rex_fs::set_redaction_dictionary(fx.p("dict.conf"));
    let g = gate(&format!(
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"redacted_read", file_system::Action::"write"], resource in file_system::Dir::"{r}");
permit(principal, action == file_system::Action::"read", resource == file_system::File::"{r}/dict.conf");"#
    ));
    let run_s = |s: &str| {
        run(
            Arc::clone(&g),
            RunRequest::new("t.rhai", s.replace("$R", r)),
        )
    };
    let o = run_s(r#"cat("$R/data/log.txt")"#);
    assert_eq!(
        o.document.output, "user bob logged in\n[REDACTED]",
        "{:?}",
        o.document.error
    );
    let o = run_s(r#"grep("REDACTED", "$R/data/log.txt")"#);
    assert_eq!(o.document.output, r#"["[REDACTED]"]"#);
    let o = run_s(r#"sed([sed::i], "bob", "eve", "$R/data/log.txt")"#);
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    assert_eq!(
        fx.read("data/log.txt"),
        "user bob logged in\npassword=hunter2\n"
    );
    let o = run_s(r#"write("$R/data/log.txt", "more")"#);
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    assert_eq!(
        fx.read("data/log.txt"),
        "user bob logged in\npassword=hunter2\n"
    );
}

/// Every function, method, builder and setter name of §4.1 and §4.2 of the original is
/// registered (module functions as `module::name`).
#[test]
fn every_name_of_the_original_is_registered() {
    let registered: std::collections::BTreeSet<String> = rex_engine::registered_function_names()
        .into_iter()
        .collect();
    let names = [
        // §4.1 builders and setters.
        "DirConfig",
        "path",
        "build",
        "OpenDirOptions",
        "create",
        "recursive",
        "follow_symlinks",
        "OpenFileOptions",
        "read",
        "write",
        "permissions",
        "DeleteDirOptions",
        "force",
        "DeleteFileOptions",
        "ReadLinesOptions",
        "count",
        "start",
        "ReadPageOptions",
        "num_lines",
        "CopyFileOptions",
        "preserve",
        "WriteOptions",
        "preserve_ownership",
        "ReplacementOptions",
        "is_regex",
        "replace_all",
        "MoveOptions",
        "backup",
        "verbose",
        "FindOptions",
        "name",
        "iname",
        "regex",
        "negate_name",
        "size_range",
        "min_depth",
        "max_depth",
        "min_creation_time",
        "max_creation_time",
        "min_modification_time",
        "max_modification_time",
        "CompressGzipOptions",
        "level",
        "SearchGzipOptions",
        "exclude_pattern",
        "case_insensitive",
        "max_results",
        "ChmodDirOptions",
        "SetOwnershipOptions",
        "user",
        "group",
        "ExtractArchiveOptions",
        "preserve_permissions",
        "preserve_timestamps",
        "DiskUsageOptions",
        "summarize",
        "all_files",
        "one_file_system",
        "count_hard_links",
        "apparent_size",
        "track_largest_subdir",
        "CreateSymlinkOptions",
        "TruncateOptions",
        "size",
        "format",
        "FallocateOptions",
        "length",
        "ExecuteOptions",
        "args",
        "env",
        "capabilities",
        "namespace",
        "ChildNamespaceOptions",
        "target_process",
        "SetXAttrOptions",
        "selinux_user",
        "selinux_role",
        "selinux_type",
        "selinux_level",
        "SizeRange::min_only",
        "SizeRange::max_only",
        "SizeRange::between",
        // §4.1 methods.
        "open",
        "delete",
        "list_entries",
        "find",
        "metadata",
        "read_link_target",
        "get_ownership",
        "chmod",
        "create_symlink",
        "disk_usage",
        "set_ownership",
        "move",
        "open_symlink",
        "open_file",
        "read_lines",
        "read_page",
        "search",
        "write_in_place",
        "copy",
        "get_last_modified_time",
        "counts",
        "extract_strings",
        "compress_gzip",
        "read_gzip_lines",
        "gzip_info",
        "search_gzip",
        "search_gzip_exists",
        "verify_cert",
        "verify_cert_chain",
        "truncate",
        "fallocate",
        "set_extended_attr",
        "extract_archive",
        "execute",
        "elf_info",
        "replace_text",
        "CoreDump",
        "backtrace",
        "get_variables",
        "type",
        "open_as_file",
        "open_as_dir",
        "file_size",
        "last_modified_time",
        "last_modified_time_nanos_component",
        "num_hardlinks",
        "blocks",
        "allocated_size",
        "symlink_target",
        "to_map",
        // §4.2 helpers and flag functions.
        "cat",
        "ls",
        "grep",
        "grep::max_count",
        "grep::m",
        "tail",
        "tail::n",
        "tail::from",
        "tail::range",
        "sed",
        "touch",
        "mkdir",
        "rm",
        "cp",
        "mv",
        "find_files",
        "glob",
        "du",
        "du::max_depth",
        "du::d",
        "wc",
        "seq",
        "seq::step",
        "awk_split",
        "awk_field",
        "awk_filter",
        "awk_filter_field",
        "awk_sum",
        "awk_count_unique",
        "awk_filter_range",
    ];
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !registered.contains(*n))
        .collect();
    assert!(missing.is_empty(), "not registered: {missing:?}");
    // Properties (getters) of the result types.
    for getter in [
        "name",
        "inode",
        "owner",
        "user",
        "group",
        "line_number",
        "line_content",
        "line_count",
        "word_count",
        "byte_count",
        "compressed_size_bytes",
        "uncompressed_size_bytes",
        "compression_ratio",
        "entries",
        "largest_subdir_handle",
        "size_bytes",
        "inode_count",
        "stdout",
        "stderr",
        "exit_code",
        "execfn",
        "platform",
        "interpreter",
        "is_64bit",
        "pid",
        "threads",
        "id",
        "tid",
        "frames",
        "frame_number",
        "function_name",
        "instruction_ptr",
        "source",
    ] {
        assert!(
            registered.contains(&format!("get${getter}")),
            "no property .{getter}"
        );
    }
    // Flag and constant modules.
    let fx = Fx::new();
    fx.ok(
        "[cat::n, cat::number, ls::a, ls::all, ls::l, ls::long, ls::R, ls::recursive, \
         grep::i, grep::ignore_case, grep::c, grep::count, grep::v, grep::invert, grep::n, \
         grep::line_number, sed::regex, sed::all, sed::g, sed::in_place, sed::i, write::a, \
         write::append, write::r, write::replace, mkdir::p, mkdir::parents, rm::f, rm::force, \
         rm::r, rm::recursive, cp::f, cp::force, cp::p, cp::preserve, mv::b, mv::backup, mv::v, \
         mv::verbose, glob::r, glob::recursive, du::s, du::summarize, du::a, du::all_files, \
         du::apparent_size, wc::l, wc::lines, wc::w, wc::words, wc::c, wc::bytes, \
         SizeUnit::BYTES, SizeUnit::KILOBYTES, SizeUnit::KIBIBYTES, SizeUnit::MEGABYTES, \
         SizeUnit::MEBIBYTES, SizeUnit::GIGABYTES, SizeUnit::GIBIBYTES, EntryType::FILE, \
         EntryType::DIR, EntryType::SYMLINK, EntryType::UNKNOWN, EntryType::FIFO, \
         EntryType::SOCKET, EntryType::CHAR_DEVICE, EntryType::BLOCK_DEVICE, \
         IoErrorKind::InvalidPath, IoErrorKind::PermissionDenied, IoErrorKind::Other]",
    );
}

/// A denial caught in a loop is the same error every time (message, kind, source), logs
/// one warning per call, and does not stand in for a different denial; uncaught after the
/// loop, it is still an ACCESS_DENIED with its explanation.
#[test]
fn repeated_denials_are_the_same_error_every_time() {
    let fx = Fx::new();
    let o = fx.run(
        r#"
        let seen = [];
        for i in 0..5 {
            try { cat("$R/data/secret.txt"); } catch (e) { seen.push(e); }
            try { cat("$R/locked/inside.txt"); } catch (e) { seen.push(e); }
        }
        let first = seen[0];
        let other = seen[1];
        for i in 0..5 {
            if seen[2 * i] != first || seen[2 * i + 1] != other { throw "changed"; }
        }
        if first.message == other.message { throw "two denials share a text"; }
        cat("$R/data/secret.txt")
        "#,
    );
    let e = o.document.error.as_ref().unwrap();
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{}",
        e.message
    );
    assert!(e.message.contains("secret.txt"), "{}", e.message);
    let explanation = o.denial_explanation.as_deref().unwrap();
    assert!(explanation.contains("secret.txt"), "{explanation}");
    let warnings: Vec<&str> = o
        .document
        .logs
        .iter()
        .flatten()
        .filter(|l| l.attributes.level == "WARN")
        .map(|l| l.attributes.message.as_str())
        .collect();
    assert_eq!(warnings.len(), 11, "{warnings:?}");
    assert!(warnings[0].starts_with("denied: ") && warnings[0].contains("secret.txt"));
    assert!(warnings[1].contains("/locked"), "{}", warnings[1]);
    assert_eq!(warnings[0], warnings[2]);
    assert_eq!(warnings[0], warnings[10]);
    let api: Vec<_> = o
        .document
        .logs
        .iter()
        .flatten()
        .filter_map(|l| l.attributes.rhai_api_name.as_deref())
        .collect();
    assert!(
        api.len() == 11 && api.iter().all(|a| *a == "cat"),
        "{api:?}"
    );
}
