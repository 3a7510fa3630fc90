#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! sysctl against the real `/proc/sys`: each key is a `File` resource checked before it
//! is opened beneath `/proc/sys`; `load_system` needs `sysctl:load` and `execute`.

use std::os::unix::fs::PermissionsExt;

use rex_policy::{Gate, Policies};
use rex_sys::{SysctlManager, SysteminfoErrorKind};

fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

fn rw(file: &str, actions: &str) -> String {
    let dir = file.rsplit_once('/').unwrap().0;
    format!(
        "permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"{dir}\");\n\
         permit(principal, action in [{actions}], resource == file_system::File::\"{file}\");\n"
    )
}

const OPEN_READ: &str = "file_system::Action::\"open\", file_system::Action::\"read\"";
const OPEN_WRITE: &str = "file_system::Action::\"open\", file_system::Action::\"write\"";

#[test]
fn read_checks_the_key_file_and_reads_it() {
    let m = SysctlManager::new();
    let g = gate(&rw("/proc/sys/kernel/ostype", OPEN_READ));
    assert_eq!(m.read(&g, "kernel.ostype").unwrap(), "Linux");
    // Another key under the same directory is not covered.
    let e = m.read(&g, "kernel.osrelease").unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::PermissionDenied, "{e}");
    // Without the directory's `open`.
    let no_dir = gate(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"/proc/sys/kernel/ostype\");",
    );
    assert_eq!(
        m.read(&no_dir, "kernel.ostype").unwrap_err().kind(),
        SysteminfoErrorKind::PermissionDenied
    );
    // Bad keys never reach the policy or the kernel.
    for bad in ["kernel..ostype", "../etc/passwd", "kernel.ostype\n", ""] {
        assert_eq!(
            m.read(&g, bad).unwrap_err().kind(),
            SysteminfoErrorKind::InvalidParameter,
            "{bad:?}"
        );
    }
    let all = gate(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource in file_system::Dir::\"/proc/sys\");",
    );
    let e = m.read(&all, "kernel.no_such_key_rex").unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::InvalidParameter, "{e}");
}

#[test]
fn write_sets_and_restores_a_key() {
    let m = SysctlManager::new();
    let key = "vm.swappiness";
    let file = "/proc/sys/vm/swappiness";
    let reader = gate(&rw(file, OPEN_READ));
    let before = m.read(&reader, key).unwrap();
    let other = if before == "61" { "60" } else { "61" };
    // Read permission does not allow writing.
    let e = m.write(&reader, key, other).unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::PermissionDenied);
    assert_eq!(m.read(&reader, key).unwrap(), before);

    let writer = gate(&rw(file, OPEN_WRITE));
    m.write(&writer, key, other).unwrap();
    assert_eq!(m.read(&reader, key).unwrap(), other);
    let e = m.write(&writer, key, "not-a-number").unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::InvalidValue, "{e}");
    m.write(&writer, key, &before).unwrap();
    assert_eq!(m.read(&reader, key).unwrap(), before);
}

#[test]
fn find_returns_only_permitted_matches() {
    let m = SysctlManager::new();
    let both = gate(
        "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource in file_system::Dir::\"/proc/sys/kernel\");",
    );
    let (found, skipped) = m.find(&both, r"^kernel\.(ostype|osrelease)$").unwrap();
    let keys: Vec<&str> = found.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["kernel.osrelease", "kernel.ostype"]);
    assert_eq!(skipped, 0);
    assert_eq!(found[1].value, "Linux");

    let one = gate(&rw("/proc/sys/kernel/ostype", OPEN_READ));
    let (found, skipped) = m.find(&one, r"^kernel\.(ostype|osrelease)$").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(skipped, 1);
    let e = m.find(&one, "(").unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::InvalidParameter);
}

#[test]
fn load_system_needs_load_and_execute_and_runs_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ran");
    let program = dir.path().join("fake-sysctl");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}\nenv >> {0}\nls -l /proc/self/fd/ >> {0}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let canonical = std::fs::canonicalize(&program).unwrap();
    let m = SysctlManager::with_program(program.to_str().unwrap());
    let load = "permit(principal, action == sysctl::Action::\"load\", resource == sysctl::Sysctl::\"localhost\");\n";
    let exec = format!(
        "permit(principal, action == file_system::Action::\"execute\", resource == file_system::File::\"{}\");\n",
        canonical.display()
    );

    for policy in [load.to_owned(), exec.clone(), String::new()] {
        let e = m.load_system(&gate(&policy), None).unwrap_err();
        assert_eq!(e.kind(), SysteminfoErrorKind::PermissionDenied, "{policy}");
    }
    assert!(!out.exists(), "ran without both permits");

    let marker = dir.path().join("rex-marker");
    std::fs::write(&marker, "x").unwrap();
    let _held = std::fs::File::open(&marker).unwrap();
    m.load_system(&gate(&format!("{load}{exec}")), None)
        .unwrap();
    let ran = std::fs::read_to_string(&out).unwrap();
    let mut lines = ran.lines();
    assert_eq!(lines.next(), Some("--system"));
    let env: Vec<&str> = ran.lines().filter(|l| l.contains('=')).collect();
    assert!(
        env.iter().all(|l| l.starts_with("PATH=")
            || l.starts_with("PWD=")
            || l.starts_with("SHLVL=")
            || l.starts_with("_=")),
        "{env:?}"
    );
    // No fd rex opened reaches the program (every rex fd is close-on-exec).
    assert!(!ran.contains("rex-marker"), "{ran}");

    let missing = SysctlManager::with_program("/nonexistent/sysctl");
    let e = missing.load_system(&gate(load), None).unwrap_err();
    assert_eq!(e.kind(), SysteminfoErrorKind::NotFound);
}
