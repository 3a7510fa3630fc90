#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "fs")]
//! gzip, archives, xattrs, ELF, certificates and execute from Rhai: behaviour and
//! denial of each.

use std::process::Command;
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
        std::fs::create_dir_all(fx.p("d/out")).unwrap();
        std::fs::write(fx.p("d/log.txt"), "alpha\nbeta ERROR\ngamma\nERROR delta\n").unwrap();
        std::fs::write(fx.p("d/log.gz"), "").unwrap();
        fx
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    fn run_with(&self, extra: &str, script: &str) -> RunOutcome {
        let r = &self.root;
        let g = Gate::builder()
            .principal("tester")
            .build(
                Policies::from_text(
                    "t.cedar",
                    &format!(
                        "permit(principal, action, resource in file_system::Dir::\"{r}\");\n{}",
                        extra.replace("$R", r)
                    ),
                )
                .unwrap(),
            )
            .unwrap();
        let prelude = r#"let d = DirConfig().path("$R/d").build().open(OpenDirOptions().build());
let ro = OpenFileOptions().read(true).build();
let rw = OpenFileOptions().read(true).write(true).build();
"#;
        run(
            Arc::new(g),
            RunRequest::new("t.rhai", format!("{prelude}{script}").replace("$R", r)),
        )
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

    #[track_caller]
    fn denied(&self, action: &str, script: &str) {
        let o = self.run_with(
            &format!("forbid(principal, action == file_system::Action::\"{action}\", resource in file_system::Dir::\"$R/d\");"),
            script,
        );
        let e = o
            .document
            .error
            .unwrap_or_else(|| panic!("{script}: expected denial"));
        assert_eq!(
            e.error_type,
            ErrorType::AccessDeniedException,
            "{script}: {}",
            e.message
        );
        assert!(e.message.contains(action), "{script}: {}", e.message);
    }
}

const GZ: &str = r#"d.open_file("log.txt", ro).compress_gzip(d.open_file("log.gz", rw), CompressGzipOptions().level(9).build());
let g = d.open_file("log.gz", ro);
"#;

#[test]
fn gzip_round_trip() {
    let fx = Fx::new();
    assert_eq!(
        fx.ok(&format!(
            "{GZ} g.read_gzip_lines(ReadLinesOptions().count(-1).build())"
        )),
        r#"["ERROR delta"]"#
    );
    assert_eq!(
        fx.ok(&format!(
            "{GZ} let i = g.gzip_info(); [i.uncompressed_size_bytes, i.compression_ratio > 0.0]"
        )),
        "[35, true]"
    );
    assert_eq!(
        fx.ok(&format!(r#"{GZ} g.search_gzip("error", SearchGzipOptions().case_insensitive(true).exclude_pattern("delta").build()).map(|m| m.line_number)"#)),
        "[2]"
    );
    assert_eq!(
        fx.ok(&format!(
            r#"{GZ} g.search_gzip("ERROR", SearchGzipOptions().max_results(1).build()).len()"#
        )),
        "1"
    );
    assert_eq!(fx.ok(&format!(r#"{GZ} [g.search_gzip_exists("gamma", SearchGzipOptions().build()), g.search_gzip_exists("zeta", SearchGzipOptions().build())]"#)), "[true, false]");
    std::fs::write(fx.p("d/log2.gz"), std::fs::read(fx.p("d/log.txt")).unwrap()).unwrap();
    let o = fx.run_with("", r#"d.open_file("log2.gz", ro).gzip_info()"#);
    assert!(o.document.error.unwrap().message.contains("gzip"));
    for (action, script) in [
        ("read", GZ.to_owned()),
        (
            "read",
            r#"d.open_file("log.gz", ro).read_gzip_lines(ReadLinesOptions().count(1).build())"#
                .to_owned(),
        ),
        (
            "read",
            r#"d.open_file("log.gz", ro).gzip_info()"#.to_owned(),
        ),
        (
            "read",
            r#"d.open_file("log.gz", ro).search_gzip("x", SearchGzipOptions().build())"#.to_owned(),
        ),
        (
            "read",
            r#"d.open_file("log.gz", ro).search_gzip_exists("x", SearchGzipOptions().build())"#
                .to_owned(),
        ),
    ] {
        fx.denied(action, &script);
    }
    let o = fx.run_with(
        r#"forbid(principal, action == file_system::Action::"write", resource == file_system::File::"$R/d/log.gz");"#,
        GZ,
    );
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
}

#[test]
fn extract_archive_from_rhai() {
    let fx = Fx::new();
    std::fs::create_dir_all(fx.p("src/pkg")).unwrap();
    std::fs::write(fx.p("src/pkg/a.txt"), "A").unwrap();
    let ok = Command::new("tar")
        .args(["czf", &fx.p("d/pkg.tgz"), "-C", &fx.p("src"), "pkg"])
        .status()
        .unwrap();
    assert!(ok.success());
    let script = r#"let out = DirConfig().path("$R/d/out").build().open(OpenDirOptions().build());
d.open_file("pkg.tgz", ro).extract_archive(out, ExtractArchiveOptions().preserve_permissions(true).preserve_ownership(false).preserve_timestamps(true).build())"#;
    assert_eq!(fx.ok(script), "[]");
    assert_eq!(
        std::fs::read_to_string(fx.p("d/out/pkg/a.txt")).unwrap(),
        "A"
    );
    std::fs::remove_dir_all(fx.p("d/out/pkg")).unwrap();
    fx.denied("create", script);
    fx.denied("read", script);
}

#[test]
fn xattr_elf_and_certs() {
    let fx = Fx::new();
    // user.* attributes are a rex addition; tmpfs and ext4 support them.
    let o = fx.run_with("", r#"d.open_file("log.txt", rw).set_extended_attr(SetXAttrOptions().name("user.rex").value("1").build())"#);
    if o.document.status == Status::Success {
        let mut buf = [0u8; 16];
        let n = rustix::fs::getxattr(fx.p("d/log.txt").as_str(), "user.rex", &mut buf).unwrap();
        assert_eq!(&buf[..n], b"1");
    }
    fx.denied("set_x_attr", r#"d.open_file("log.txt", rw).set_extended_attr(SetXAttrOptions().name("security.selinux").selinux_type("x_t").selinux_user("u").selinux_role("r").selinux_level("s0").build())"#);
    let o = fx.run_with("", r#"d.open_file("log.txt", rw).set_extended_attr(SetXAttrOptions().name("trusted.x").build())"#);
    assert!(o.document.error.unwrap().message.contains("unsupported"));

    std::fs::copy("/bin/true", fx.p("d/true")).unwrap();
    let elf = fx.ok(r#"let e = d.open_file("true", ro).elf_info(); [e.is_64bit == (e.platform != "i686"), e.interpreter != (), e.execfn]"#);
    assert_eq!(elf, "[true, true, ()]");
    fx.denied("read", r#"d.open_file("true", ro).elf_info()"#);

    let have_openssl = Command::new("openssl").arg("version").output().is_ok();
    if have_openssl {
        let sh = format!(
            "cd {d} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=rex-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null && \
             openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=leaf.test 2>/dev/null && \
             printf 'subjectAltName=DNS:leaf.test\\n' > ext && \
             openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext 2>/dev/null && \
             openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key -out other.pem -days 2 -subj /CN=other -addext basicConstraints=critical,CA:TRUE 2>/dev/null",
            d = fx.p("d")
        );
        assert!(
            Command::new("sh")
                .arg("-c")
                .arg(&sh)
                .status()
                .unwrap()
                .success()
        );
        fx.ok(r#"d.open_file("leaf.pem", ro).verify_cert(d.open_file("ca.pem", ro))"#);
        fx.ok(r#"d.open_file("leaf.pem", ro).verify_cert_chain(d.open_file("ca.pem", ro), [])"#);
        let o = fx.run_with(
            "",
            r#"d.open_file("leaf.pem", ro).verify_cert(d.open_file("other.pem", ro))"#,
        );
        assert_eq!(
            o.document.error.unwrap().error_type,
            ErrorType::ScriptException
        );
        // The root certificate is read under a check too (the original read it with none).
        let o = fx.run_with(
            r#"forbid(principal, action == file_system::Action::"read", resource == file_system::File::"$R/d/ca.pem");"#,
            r#"d.open_file("leaf.pem", ro).verify_cert(d.open_file("ca.pem", ro))"#,
        );
        assert_eq!(
            o.document.error.unwrap().error_type,
            ErrorType::AccessDeniedException
        );
        fx.denied("read", r#"d.open_file("leaf.pem", ro).verify_cert_chain(d.open_file("ca.pem", ro), [d.open_file("ca.pem", ro)])"#);
    }
}

#[test]
fn execute_runs_the_opened_inode_cleanly() {
    let fx = Fx::new();
    std::fs::write(
        fx.p("d/show.sh"),
        "#!/bin/sh\necho \"args:$*\"\necho \"env:$(env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort | tr '\\n' ' ')\"\nls /proc/self/fd | wc -l >&2\n",
    )
    .unwrap();
    std::fs::set_permissions(
        fx.p("d/show.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = fx.ok(r#"let r = d.open_file("show.sh", ro).execute(ExecuteOptions().args(["-v", ["--name", "x"]]).env(#{ONLY: "1"}).build()); let e = r.stderr; e.trim(); [r.exit_code, r.stdout, e]"#);
    assert!(
        out.starts_with(r#"[0, "args:-v --name x\nenv:ONLY=1 \n""#),
        "{out}"
    );
    // stdin, stdout, stderr, the script's own fd and the fd ls opens: nothing else leaks.
    assert!(
        out.ends_with(r#""5"]"#) || out.ends_with(r#""4"]"#),
        "{out}"
    );
    std::fs::copy("/bin/true", fx.p("d/true")).unwrap();
    assert_eq!(
        fx.ok(r#"d.open_file("true", ro).execute(ExecuteOptions().build()).exit_code"#),
        "0"
    );
    std::fs::copy("/bin/false", fx.p("d/false")).unwrap();
    assert_eq!(
        fx.ok(r#"d.open_file("false", ro).execute(ExecuteOptions().build()).exit_code"#),
        "1"
    );
    // The inode opened runs, whatever is at the path afterwards.
    let out = fx.ok(r#"let h = d.open_file("true", ro); mv("$R/d/false", "$R/d/true"); h.execute(ExecuteOptions().build()).exit_code"#);
    assert_eq!(out, "0");
    fx.denied(
        "execute",
        r#"d.open_file("show.sh", ro).execute(ExecuteOptions().build())"#,
    );
    let o = fx.run_with(
        "",
        r#"d.open_file("show.sh", rw).execute(ExecuteOptions().build())"#,
    );
    assert!(o.document.error.unwrap().message.contains("read-only"));
    // Capabilities are granted (crates/rex-engine/tests/fs_execute.rs); an unknown one is
    // invalid.
    let o = fx.run_with("", r#"d.open_file("show.sh", ro).execute(ExecuteOptions().capabilities(["CAP_TELEPORT"]).build())"#);
    assert!(o.document.error.unwrap().message.contains("`CAP_TELEPORT`"));
    // Capabilities are part of the context a policy can refuse on.
    let o = fx.run_with(
        r#"forbid(principal, action == file_system::Action::"execute", resource) when { context has capabilities && context.capabilities.contains("CAP_SYS_ADMIN") };"#,
        r#"d.open_file("show.sh", ro).execute(ExecuteOptions().capabilities(["CAP_SYS_ADMIN"]).build())"#,
    );
    assert_eq!(
        o.document.error.unwrap().error_type,
        ErrorType::AccessDeniedException
    );
    // Output is capped and the deadline kills a runaway child.
    std::fs::write(fx.p("d/sleep.sh"), "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(
        fx.p("d/sleep.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let r = &fx.root;
    let g = Gate::builder()
        .principal("tester")
        .build(
            Policies::from_text(
                "t.cedar",
                &format!("permit(principal, action, resource in file_system::Dir::\"{r}\");"),
            )
            .unwrap(),
        )
        .unwrap();
    let mut req = RunRequest::new(
        "t.rhai",
        format!(
            r#"DirConfig().path("{r}/d").build().open(OpenDirOptions().build()).open_file("sleep.sh", OpenFileOptions().read(true).build()).execute(ExecuteOptions().build())"#
        ),
    );
    req.limits.timeout = std::time::Duration::from_secs(1);
    let o = run(Arc::new(g), req);
    assert!(o.document.error.is_some());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn core_dump_through_gdb_needs_execute() {
    // gdb (and its gcore) are installed by .ci/install-deps.
    let fx = Fx::new();
    assert!(
        std::path::Path::new("/usr/bin/gdb").exists(),
        "gdb is missing: run .ci/install-deps"
    );
    std::fs::copy("/bin/sleep", fx.p("d/sleeper")).unwrap();
    let mut child = Command::new(fx.p("d/sleeper")).arg("30").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let ok = Command::new("gcore")
        .args(["-o", &fx.p("d/core"), &child.id().to_string()])
        .output()
        .unwrap();
    let pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        ok.status.success(),
        "gcore failed (is ptrace allowed?): {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let core = fx.p(&format!("d/core.{pid}"));
    // elf_info of a core names the program that dumped it (AT_EXECFN from its memory).
    let name = format!("core.{pid}");
    let elf = fx.ok(&format!(
        r#"let i = d.open_file("{name}", ro).elf_info(); [i.execfn, i.is_64bit]"#
    ));
    assert_eq!(elf, format!(r#"["{}", true]"#, fx.p("d/sleeper")));
    let gdb = r#"permit(principal, action, resource == file_system::File::"/usr/bin/gdb");
permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/usr/bin");"#;
    let script = format!(
        r#"let c = CoreDump("$R/d/sleeper", "{core}"); let p = c.backtrace(); [p.pid, p.threads.len() > 0, p.threads[0].frames.len() > 0, type_of(p.threads[0].frames[0].function_name)]"#
    );
    let o = fx.run_with(gdb, &script);
    assert_eq!(
        o.document.output,
        format!(r#"[{pid}, true, true, "string"]"#),
        "{:?}",
        o.document.error
    );
    let o = fx.run_with(
        gdb,
        &format!(r#"CoreDump("$R/d/sleeper", "{core}").get_variables(0, ["x\nshell id"])"#),
    );
    assert!(
        o.document
            .error
            .unwrap()
            .message
            .contains("not a variable name")
    );
    let o = fx.run_with(
        gdb,
        &format!(r#"CoreDump("$R/d/sleeper", "{core}").get_variables(1, 0, ["argc"]).len() <= 1"#),
    );
    assert_eq!(o.document.output, "true", "{:?}", o.document.error);
    // gdb is a program like any other: without `execute` on it, no backtrace.
    let no_exec = r#"permit(principal, action == file_system::Action::"open", resource == file_system::File::"/usr/bin/gdb");
permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/usr/bin");"#;
    let o = fx.run_with(
        no_exec,
        &format!(r#"CoreDump("$R/d/sleeper", "{core}").backtrace()"#),
    );
    let e = o.document.error.unwrap();
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{}",
        e.message
    );
    assert!(e.message.contains("execute"), "{}", e.message);
    let no_read = format!(
        r#"{gdb}
forbid(principal, action == file_system::Action::"read", resource == file_system::File::"{core}");"#
    );
    let o = fx.run_with(
        &no_read,
        &format!(r#"CoreDump("$R/d/sleeper", "{core}").backtrace()"#),
    );
    let e = o.document.error.unwrap();
    assert_eq!(
        e.error_type,
        ErrorType::AccessDeniedException,
        "{}",
        e.message
    );
    assert!(e.message.contains("read"), "{}", e.message);
}
