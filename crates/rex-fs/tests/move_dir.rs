#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Moving a directory to another filesystem: the tree is copied and then removed, every
//! entry authorized first; a refusal or a failure midway leaves the source intact and no
//! partial copy. The other filesystem is `/dev/shm` (or a tmpfs mounted for the test,
//! which needs root, as the CI has).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{Fx, assert_denied_on, file_uid};
use rex_fs::{DirHandle, IoErrorKind, MoveOptions, OpenDirOptions, mv};

/// A directory on another filesystem than the fixture's; a tmpfs mounted here (and
/// unmounted on drop) when `/dev/shm` is on the same one, or when `size` is given.
struct OtherFs {
    _tmp: tempfile::TempDir,
    root: String,
    mounted: bool,
}

impl OtherFs {
    fn new(fx: &Fx, size: Option<&str>) -> Self {
        let dev = |p: &str| std::fs::metadata(p).unwrap().dev();
        if size.is_none() && Path::new("/dev/shm").is_dir() && dev("/dev/shm") != dev(&fx.root) {
            let tmp = tempfile::tempdir_in("/dev/shm").unwrap();
            let root = std::fs::canonicalize(tmp.path())
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            return Self {
                _tmp: tmp,
                root,
                mounted: false,
            };
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let opts = format!("size={}", size.unwrap_or("4m"));
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "tmpfs", &root])
            .status()
            .unwrap();
        assert!(st.success(), "mounting a tmpfs needs root");
        assert_ne!(dev(&root), dev(&fx.root));
        Self {
            _tmp: tmp,
            root,
            mounted: true,
        }
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }
}

impl Drop for OtherFs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.root).status();
        }
    }
}

/// `<root>/tree/{a.txt (0640), sub/b.txt, sub/deeper/c.txt, empty/, link -> a.txt}`.
fn tree(fx: &Fx) {
    fx.mkdir("tree/sub/deeper");
    fx.mkdir("tree/empty");
    fx.file("tree/a.txt", "alpha");
    fx.file("tree/sub/b.txt", "beta");
    fx.file("tree/sub/deeper/c.txt", "gamma");
    fx.symlink("a.txt", "tree/link");
    std::fs::set_permissions(fx.p("tree/a.txt"), PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::set_permissions(fx.p("tree/sub"), PermissionsExt::from_mode(0o750)).unwrap();
}

fn assert_source_intact(fx: &Fx) {
    assert_eq!(fx.read("tree/a.txt"), "alpha");
    assert_eq!(fx.read("tree/sub/b.txt"), "beta");
    assert_eq!(fx.read("tree/sub/deeper/c.txt"), "gamma");
    assert!(fx.exists("tree/empty"));
    assert_eq!(
        std::fs::read_link(fx.p("tree/link")).unwrap().to_str(),
        Some("a.txt")
    );
}

fn handles(g: &rex_policy::Gate, fx: &Fx, other: &OtherFs) -> (DirHandle, DirHandle, DirHandle) {
    let o = OpenDirOptions::default();
    (
        DirHandle::open(g, &fx.root, &o).unwrap(),
        DirHandle::open(g, &fx.p("tree"), &o).unwrap(),
        DirHandle::open(g, &other.root, &o).unwrap(),
    )
}

fn gate(fx: &Fx, other: &OtherFs, extra: &str) -> rex_policy::Gate {
    fx.gate_with(&format!(
        "permit(principal, action, resource in file_system::Dir::\"{}\");\n{extra}",
        other.root
    ))
}

#[test]
fn a_directory_tree_moves_to_another_filesystem() {
    let fx = Fx::new();
    tree(&fx);
    let other = OtherFs::new(&fx, None);
    let g = gate(&fx, &other, "");
    let (parent, src, dest) = handles(&g, &fx, &other);
    let moved = parent
        .move_dir(&g, &src, &dest, "moved", &MoveOptions::default())
        .unwrap();
    assert_eq!(moved.path().as_str(), other.p("moved"));
    assert!(!fx.exists("tree"), "the source is still there");
    assert_eq!(
        std::fs::read_to_string(other.p("moved/a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(
        std::fs::read_to_string(other.p("moved/sub/b.txt")).unwrap(),
        "beta"
    );
    assert_eq!(
        std::fs::read_to_string(other.p("moved/sub/deeper/c.txt")).unwrap(),
        "gamma"
    );
    assert!(Path::new(&other.p("moved/empty")).is_dir());
    assert_eq!(
        std::fs::read_link(other.p("moved/link")).unwrap().to_str(),
        Some("a.txt")
    );
    let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&other.p("moved/a.txt")), 0o640);
    assert_eq!(mode(&other.p("moved/sub")), 0o750);
    // No temporary name is left behind.
    assert_eq!(other.entries(), ["moved"]);

    // The path helper does the same.
    fx.mkdir("again/x");
    fx.file("again/x/f", "f");
    let out = mv(&g, &fx.p("again"), &other.root, false).unwrap();
    assert!(out.contains(&other.p("again")), "{out}");
    assert_eq!(std::fs::read_to_string(other.p("again/x/f")).unwrap(), "f");
    assert!(!fx.exists("again"));
}

#[test]
fn a_refused_entry_moves_nothing() {
    let fx = Fx::new();
    tree(&fx);
    let other = OtherFs::new(&fx, None);
    let nested = fx.p("tree/sub/deeper/c.txt");
    // Deleting one nested source file is refused.
    let g = gate(
        &fx,
        &other,
        &format!(
            r#"forbid(principal, action == file_system::Action::"delete", resource == file_system::File::"{nested}");"#
        ),
    );
    let (parent, src, dest) = handles(&g, &fx, &other);
    assert_denied_on(
        parent.move_dir(&g, &src, &dest, "moved", &MoveOptions::default()),
        &file_uid(&nested),
        "delete of a nested source file",
    );
    assert_source_intact(&fx);
    assert!(other.entries().is_empty(), "{:?}", other.entries());

    // Creating one nested destination file is refused.
    let to = other.p("moved/sub/b.txt");
    let g = gate(
        &fx,
        &other,
        &format!(
            r#"forbid(principal, action == file_system::Action::"create", resource == file_system::File::"{to}");"#
        ),
    );
    let (parent, src, dest) = handles(&g, &fx, &other);
    assert_denied_on(
        parent.move_dir(&g, &src, &dest, "moved", &MoveOptions::default()),
        &file_uid(&to),
        "create of a nested destination file",
    );
    assert_source_intact(&fx);
    assert!(other.entries().is_empty(), "{:?}", other.entries());

    // Reading one source file is refused.
    let g = gate(
        &fx,
        &other,
        &format!(
            r#"forbid(principal, action == file_system::Action::"read", resource == file_system::File::"{}");"#,
            fx.p("tree/a.txt")
        ),
    );
    let (parent, src, dest) = handles(&g, &fx, &other);
    assert_denied_on(
        parent.move_dir(&g, &src, &dest, "moved", &MoveOptions::default()),
        &file_uid(&fx.p("tree/a.txt")),
        "read of a source file",
    );
    assert_source_intact(&fx);
    assert!(other.entries().is_empty(), "{:?}", other.entries());
}

#[test]
fn a_failure_midway_removes_the_partial_copy_and_keeps_the_source() {
    let fx = Fx::new();
    tree(&fx);
    // Larger than the destination filesystem: the copy fails with ENOSPC part way.
    fx.file("tree/sub/big.bin", &"x".repeat(3 << 20));
    let other = OtherFs::new(&fx, Some("1m"));
    let g = gate(&fx, &other, "");
    let (parent, src, dest) = handles(&g, &fx, &other);
    let e = parent
        .move_dir(&g, &src, &dest, "moved", &MoveOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("space"), "not ENOSPC: {e}");
    assert_source_intact(&fx);
    assert_eq!(
        std::fs::metadata(fx.p("tree/sub/big.bin")).unwrap().len(),
        3 << 20
    );
    assert!(
        other.entries().is_empty(),
        "partial copy left: {:?}",
        other.entries()
    );
}

#[test]
fn special_files_in_the_tree_are_refused_before_anything_is_copied() {
    let fx = Fx::new();
    tree(&fx);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.p("tree/sub/fifo").as_str(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let other = OtherFs::new(&fx, None);
    let g = gate(&fx, &other, "");
    let (parent, src, dest) = handles(&g, &fx, &other);
    let e = parent
        .move_dir(&g, &src, &dest, "moved", &MoveOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), IoErrorKind::UnsupportedOperationError, "{e}");
    assert!(
        e.to_string().contains("fifo")
            || e.to_string().contains("Fifo")
            || e.to_string().contains("FIFO"),
        "{e}"
    );
    assert_source_intact(&fx);
    assert!(other.entries().is_empty(), "{:?}", other.entries());
}
