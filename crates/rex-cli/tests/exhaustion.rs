#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Interpreter and SDK exhaustion, in one place, against the real `rex run` binary with
//! its default limits and sandbox (`auto`): every attempt to exhaust time, stack or memory
//! must end with a clear ERROR document within the deadline, with bounded memory.
//!
//! Peak memory is measured from outside, without trusting the runner: the test polls
//! `VmHWM` (the kernel's high-water mark of resident memory) in `/proc/<pid>/status` while
//! the child runs, and also takes the runner's own `RexRunnerProcessPeakRssMemoryUsage`
//! metric (read from the same counter at the end of the run); the larger is printed and
//! must stay under 256 MiB.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const REX: &str = env!("CARGO_BIN_EXE_rex");
const MAX_RSS_KIB: u64 = 256 * 1024;
/// `--timeout` for the cases that end by the deadline.
const TIMEOUT_SECS: u64 = 3;
/// What a run may take beyond its deadline before the test calls it a hang (the machine
/// is shared with parallel tests and builds: generous on purpose).
const SLACK: Duration = Duration::from_secs(30);

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = std::fs::canonicalize(dir.path()).unwrap();
        Self { _dir: dir, path }
    }
    fn p(&self, rel: &str) -> String {
        self.path.join(rel).to_str().unwrap().to_owned()
    }
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.p(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// What one run ended with.
struct Ended {
    doc: Value,
    elapsed: Duration,
    peak_kib: u64,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `rex run SCRIPT -o json --timeout T [-p POLICY]`, polling the child's peak RSS.
fn run(name: &str, script: &str, policy: Option<&str>, timeout_secs: u64) -> Ended {
    let timeout = timeout_secs.to_string();
    let mut args = vec!["run", script, "-o", "json", "--timeout", &timeout];
    if let Some(p) = policy {
        args.extend(["-p", p]);
    }
    let started = Instant::now();
    let mut child = Command::new(REX)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The pipes are drained by threads so a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).unwrap();
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut v).unwrap();
        v
    });
    let limit = Duration::from_secs(timeout_secs) + SLACK;
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: still running after {limit:?} (peak {peak_kib} KiB)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let stdout = out_reader.join().unwrap();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
    let doc: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: no JSON document ({e}), exit {status:?}: {}\n{stderr}",
            String::from_utf8_lossy(&stdout)
        )
    });
    if let Some(mib) = doc["metrics"].as_array().and_then(|m| {
        m.iter()
            .find(|m| m["metric_name"] == "RexRunnerProcessPeakRssMemoryUsage")
            .and_then(|m| m["metric_value"].as_f64())
    }) {
        peak_kib = peak_kib.max((mib * 1024.0) as u64);
    }
    Ended {
        doc,
        elapsed,
        peak_kib,
    }
}

/// Asserts a clear ERROR whose message contains one of `expected`, within the deadline
/// and under the memory bound, and prints the measurements.
#[track_caller]
fn assert_clear_error(name: &str, e: &Ended, expected: &[&str]) -> String {
    let message = e.doc["error"]["message"].as_str().unwrap_or("").to_owned();
    println!(
        "exhaustion {name}: {:.2} s, peak RSS {:.1} MiB, {} `{}`",
        e.elapsed.as_secs_f64(),
        e.peak_kib as f64 / 1024.0,
        e.doc["error"]["error_type"].as_str().unwrap_or("-"),
        message.chars().take(160).collect::<String>()
    );
    assert_eq!(e.doc["status"], "ERROR", "{name}: {}", e.doc);
    assert!(
        expected.iter().any(|x| message.contains(x)),
        "{name}: message `{message}` has none of {expected:?}"
    );
    assert!(
        e.peak_kib < MAX_RSS_KIB,
        "{name}: peak RSS {} KiB >= {MAX_RSS_KIB} KiB",
        e.peak_kib
    );
    message
}

const DEADLINE: &str = "wall-clock deadline";

#[test]
fn infinite_loop_ends_at_the_deadline_even_inside_try() {
    let f = Fixture::new();
    // Each turn allocates, so the operation limit (10^9) is far off when the deadline
    // comes: an empty `loop {}` runs fast enough without a per-operation callback to
    // reach it first, which would test the other limit.
    let s = f.write(
        "s.rhai",
        "try { let i = 0; loop { let s = `turn ${i}`; i += 1; } } catch (e) { 1 }",
    );
    let e = run("infinite loop", &s, None, TIMEOUT_SECS);
    let m = assert_clear_error("infinite loop", &e, &[DEADLINE]);
    assert!(
        m.starts_with("Script terminated: wall-clock deadline"),
        "{m}"
    );
    assert_eq!(e.doc["error"]["error_type"], "SCRIPT_EXCEPTION");
    assert!(e.elapsed >= Duration::from_secs(TIMEOUT_SECS));
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let f = Fixture::new();
    let s = f.write("s.rhai", "fn f(n) { f(n + 1) } f(0)");
    let e = run("deep recursion", &s, None, 60);
    assert_clear_error("deep recursion", &e, &["Stack overflow"]);
    assert_eq!(e.doc["error"]["error_type"], "SCRIPT_EXCEPTION");
}

#[test]
fn deep_nesting_is_refused_at_parse() {
    let f = Fixture::new();
    let depth = 100_000;
    for (kind, text) in [
        (
            "parentheses",
            format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
        ),
        (
            "arrays",
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "blocks",
            format!("{}1{}", "{".repeat(depth), "}".repeat(depth)),
        ),
        ("unary minus", format!("{}1", "- ".repeat(depth))),
        ("closures", format!("{}1", "|| ".repeat(depth))),
    ] {
        let s = f.write("s.rhai", &text);
        let name = format!("deep nesting ({kind})");
        let e = run(&name, &s, None, 60);
        assert_clear_error(&name, &e, &["Syntax error", "too deeply nested", "complex"]);
        assert_eq!(e.doc["error"]["error_type"], "SCRIPT_EXCEPTION");
    }
}

#[test]
fn huge_strings_arrays_and_maps_end_with_an_error() {
    let f = Fixture::new();
    for (kind, bomb) in [
        ("string doubling", r#"let s = "x"; loop { s += s; }"#),
        ("array doubling", "let a = [1]; loop { a += a; }"),
        (
            "map inserts",
            r#"let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }"#,
        ),
        (
            "array of padded strings",
            r#"let a = []; loop { a.push("0123456789".pad(1000, "x")); }"#,
        ),
        ("nested arrays", "let a = []; loop { a = [a, a, a, a]; }"),
        (
            "string repeat",
            r#"let s = "x".pad(16000000, "y"); let a = []; loop { a.push(s + "z"); }"#,
        ),
    ] {
        let s = f.write("s.rhai", bomb);
        let name = format!("huge value ({kind})");
        // Growth Rhai does not size-check (map inserts by index) ends at the deadline.
        let e = run(&name, &s, None, TIMEOUT_SECS);
        assert_clear_error(
            &name,
            &e,
            &[
                "too large",
                "Length of",
                "memory limit",
                "Size of",
                DEADLINE,
            ],
        );
    }
}

fn lets(n: usize) -> String {
    (0..n).map(|i| format!("let v{i} = {i};\n")).collect()
}

#[test]
fn many_variables_end_with_an_error() {
    let f = Fixture::new();
    // Just beyond the limit of 4096 variables in scope.
    let s = f.write("s.rhai", &lets(4200));
    let e = run("many variables (4200)", &s, None, 60);
    assert_clear_error("many variables (4200)", &e, &["Too many variables"]);
    // Rhai's compile time grows with the square of the distinct names declared, and the
    // compiler has no progress callback: the deadline must still hold (the runner stops
    // waiting for the script thread).
    let s = f.write("s.rhai", &lets(40_000));
    let e = run("many variables (40000)", &s, None, TIMEOUT_SECS);
    assert_clear_error("many variables (40000)", &e, &[DEADLINE]);
}

#[test]
fn seq_to_two_to_the_forty_is_refused() {
    let f = Fixture::new();
    let s = f.write("s.rhai", "let a = seq(0, 1 << 40); a.len()");
    let e = run("seq(0, 1<<40)", &s, None, 60);
    assert_clear_error("seq(0, 1<<40)", &e, &["seq", "too large", "limit"]);
}

#[test]
fn cat_dev_zero_stops_at_the_read_budget() {
    let f = Fixture::new();
    let s = f.write("s.rhai", r#"let z = cat("/dev/zero"); z.len()"#);
    let p = f.write(
        "p.cedar",
        r#"permit (principal, action == file_system::Action::"open", resource == file_system::Dir::"/dev");
permit (principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/dev/zero");"#,
    );
    let e = run("cat(/dev/zero)", &s, Some(&p), 60);
    // A character device is not a file: refused before any byte is read.
    let m = assert_clear_error("cat(/dev/zero)", &e, &["is a CHAR_DEVICE, expected FILE"]);
    assert!(m.contains("EntryTypeMismatchError"), "{m}");
}

/// A gzip file of `members` concatenated members, each `MiB` MiB of zeros: a few KiB on
/// disk, `members * mib` MiB decompressed.
fn gzip_bomb(path: &Path, members: usize, mib: usize) {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        enc.write_all(&zeros).unwrap();
    }
    let member = enc.finish().unwrap();
    let mut file = std::fs::File::create(path).unwrap();
    for _ in 0..members {
        file.write_all(&member).unwrap();
    }
}

#[test]
fn gzip_bomb_stops_at_the_decompression_budget() {
    let f = Fixture::new();
    // 64 members of 32 MiB: 2 GiB decompressed, beyond the 1 GiB budget.
    gzip_bomb(&f.path.join("bomb.gz"), 64, 32);
    let root = f.path.display();
    let p = f.write(
        "p.cedar",
        &format!(
            "permit (principal, action in [file_system::Action::\"open\", \
             file_system::Action::\"read\"], resource in file_system::Dir::\"{root}\");"
        ),
    );
    for (kind, call) in [
        (
            "read_gzip_lines",
            "f.read_gzip_lines(ReadLinesOptions().count(10).build())",
        ),
        (
            "search_gzip",
            r#"f.search_gzip("x", SearchGzipOptions().build())"#,
        ),
        // Decompresses everything to count it: stops at the 1 GiB budget or the deadline.
        ("gzip_info", "f.gzip_info()"),
    ] {
        let s = f.write(
            "s.rhai",
            &format!(
                "let d = DirConfig().path(\"{root}\").build().open(OpenDirOptions().build());\n\
                 let f = d.open_file(\"bomb.gz\", OpenFileOptions().read(true).build());\n{call}"
            ),
        );
        let name = format!("gzip bomb ({kind})");
        let e = run(&name, &s, Some(&p), TIMEOUT_SECS);
        assert_clear_error(
            &name,
            &e,
            &["larger than the limit of", "exceeds the limit of", DEADLINE],
        );
    }
}

#[test]
fn find_over_a_large_tree_ends_with_an_error() {
    let f = Fixture::new();
    // Wide: 40 directories of 100 files. Deep: a chain of 140 directories (beyond the
    // walk's depth limit of 128). A few thousand inodes: cheap to make.
    let tree = f.path.join("tree");
    for i in 0..40 {
        let d = tree.join(format!("d{i}"));
        std::fs::create_dir_all(&d).unwrap();
        for j in 0..100 {
            std::fs::File::create(d.join(format!("f{j}"))).unwrap();
        }
    }
    let mut deep = tree.join("deep");
    for i in 0..140 {
        deep = deep.join(format!("{}", i % 10));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let root = tree.display();
    let p = f.write(
        "p.cedar",
        &format!(
            "permit (principal, action in [file_system::Action::\"open\", \
             file_system::Action::\"read\", file_system::Action::\"stat\"], \
             resource in file_system::Dir::\"{root}\");"
        ),
    );
    let s = f.write(
        "s.rhai",
        &format!(
            "let d = DirConfig().path(\"{root}\").build().open(OpenDirOptions().build());\n\
             let names = [];\n\
             d.find(FindOptions().build(), |e| {{ e.name }});\n\
             \"walked\""
        ),
    );
    let e = run("find over a large tree", &s, Some(&p), TIMEOUT_SECS);
    assert_clear_error(
        "find over a large tree",
        &e,
        &["deep", "depth", "limit", DEADLINE],
    );
}

#[test]
fn fork_exec_loop_ends_at_the_deadline() {
    let f = Fixture::new();
    let true_bin = std::fs::canonicalize("/usr/bin/true").unwrap();
    let dir = true_bin.parent().unwrap().display().to_string();
    let name = true_bin.file_name().unwrap().to_str().unwrap().to_owned();
    let p = f.write(
        "p.cedar",
        &format!(
            "permit (principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"{dir}\");\n\
             permit (principal, action in [file_system::Action::\"open\", file_system::Action::\"execute\"], \
             resource == file_system::File::\"{}\");",
            true_bin.display()
        ),
    );
    let s = f.write(
        "s.rhai",
        &format!(
            "let d = DirConfig().path(\"{dir}\").build().open(OpenDirOptions().build());\n\
             let t = d.open_file(\"{name}\", OpenFileOptions().read(true).build());\n\
             let n = 0;\n\
             loop {{ t.execute(ExecuteOptions().build()); n += 1; }}"
        ),
    );
    let e = run("fork/exec loop", &s, Some(&p), TIMEOUT_SECS);
    // Ends inside `execute` (the child is killed at the deadline) or between two calls.
    assert_clear_error(
        "fork/exec loop",
        &e,
        &[DEADLINE, "the run's deadline passed while it ran"],
    );
}
