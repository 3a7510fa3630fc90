//! Path canonicalization.
//!
//! - `rex_policy::CanonicalPath::new` accepts exactly the canonical absolute paths, and
//!   `parent`, `file_name`, `join`, `ancestors` and `starts_with` agree with each other.
//! - `rex_fs::lookup` (the fd-anchored walk) on a fixture tree of directories, files and
//!   symlinks (relative, absolute, dangling, looping): never panics, and an object it
//!   finds has the path the kernel's own `realpath` gives (the same inode, one spelling).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rex_policy::CanonicalPath;

/// The fixture: `<tmp>/{a/b/f, a/l_rel -> b, a/l_abs -> <tmp>/a/b/f, a/l_up -> ../a,
/// a/dangling -> nowhere, a/loop1 <-> a/loop2, c/}`.
fn fixture() -> &'static str {
    static ROOT: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    let (_, root) = ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let root = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let r = |p: &str| root.join(p);
        let ok = |res: std::io::Result<()>| res.unwrap_or_else(|e| panic!("fixture: {e}"));
        ok(std::fs::create_dir_all(r("a/b")));
        ok(std::fs::create_dir_all(r("c")));
        ok(std::fs::write(r("a/b/f"), "x"));
        ok(std::os::unix::fs::symlink("b", r("a/l_rel")));
        ok(std::os::unix::fs::symlink(r("a/b/f"), r("a/l_abs")));
        ok(std::os::unix::fs::symlink("../a", r("a/l_up")));
        ok(std::os::unix::fs::symlink("nowhere", r("a/dangling")));
        ok(std::os::unix::fs::symlink("loop2", r("a/loop1")));
        ok(std::os::unix::fs::symlink("loop1", r("a/loop2")));
        let s = root
            .to_str()
            .unwrap_or_else(|| panic!("non-UTF-8 temp dir"))
            .to_owned();
        (dir, s)
    });
    root
}

fn check_canonical(text: &str) {
    let Ok(p) = CanonicalPath::new(text) else {
        // Refused: it must really be non-canonical.
        let canonical = text.starts_with('/')
            && !text.contains('\0')
            && (text == "/"
                || text[1..]
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != ".."));
        assert!(!canonical, "canonical path `{text}` refused");
        return;
    };
    assert_eq!(p.as_str(), text);
    match p.parent() {
        None => assert!(p.is_root()),
        Some(parent) => {
            let name = p
                .file_name()
                .unwrap_or_else(|| panic!("`{text}` has no name"));
            let joined = parent
                .join(name)
                .unwrap_or_else(|e| panic!("`{text}`: join back failed: {e}"));
            assert_eq!(joined, p);
            assert!(p.starts_with(&parent));
            assert!(!parent.starts_with(&p));
        }
    }
    let ancestors: Vec<CanonicalPath> = p.ancestors().collect();
    assert!(
        ancestors.len() <= text.len() + 1,
        "`{text}`: too many ancestors"
    );
    for a in &ancestors {
        assert!(
            p.starts_with(a),
            "`{text}` does not start with its ancestor `{}`",
            a.as_str()
        );
    }
}

fn check_walk(rel: &str) {
    let root = fixture();
    let path = format!("{root}/{rel}");
    if path.len() > 4096 {
        return;
    }
    for follow in [false, true] {
        let Ok(rex_fs::Lookup::Found(found)) = rex_fs::lookup(&path, follow) else {
            continue;
        };
        let got = found.path().as_str();
        assert!(
            CanonicalPath::new(got).is_ok(),
            "`{path}` gave non-canonical `{got}`"
        );
        // Outside the fixture (enough `..` to climb out) only compare on plain trees.
        if !got.starts_with(root) {
            continue;
        }
        if follow {
            let real = std::fs::canonicalize(Path::new(&path))
                .unwrap_or_else(|e| panic!("rex found `{path}` as `{got}`, realpath: {e}"));
            assert_eq!(Path::new(got), real, "`{path}`");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_canonical(text);
    check_walk(text);
});
