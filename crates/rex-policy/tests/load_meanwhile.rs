#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! `Policies::load_files_meanwhile`: the work it is given runs on the parsed set while the
//! schema builds, exactly once, and its result comes back only with a set that loads. A
//! set that names its actions is validated against the schema cut to them, without
//! building the whole schema. One test function: the first check needs a process in
//! which nothing has built the whole schema yet.

use std::cell::Cell;

use rex_policy::{Policies, PolicyError};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const GOOD: &str = r#"
permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/tmp");
@id("reads")
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/tmp/a");
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/tmp/b");
"#;

#[test]
fn meanwhile_runs_once_before_the_schema_is_needed_and_only_a_loaded_set_is_returned() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(&dir, "good.cedar", GOOD);

    // 1. On the fast path the work runs on a set with every policy of the file. The set
    //    names two actions: the whole schema is never built.
    assert!(
        !rex_policy::schema::is_built(),
        "nothing built the schema yet"
    );
    let calls = Cell::new(0);
    let (policies, seen) = Policies::load_files_meanwhile(&[&good], |p| {
        calls.set(calls.get() + 1);
        (
            rex_policy::schema::is_built(),
            p.views().count(),
            p.id_of(1).map(str::to_owned),
        )
    })
    .unwrap();
    assert_eq!(calls.get(), 1);
    assert_eq!(seen, (false, 3, Some("reads".to_owned())));
    assert!(
        !rex_policy::schema::is_built(),
        "validated against the cut schema"
    );
    // The same set `load_files` gives.
    let plain = Policies::load_files(&[&good]).unwrap();
    let ids = |p: &Policies| {
        (0..3)
            .map(|i| p.id_of(i).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&policies), ids(&plain));

    // 2. A set that does not validate is an error, the same as `load_files` reports.
    let bad = write(
        &dir,
        "bad.cedar",
        r#"permit(principal, action == file_system::Action::"opne", resource);"#,
    );
    let calls = Cell::new(0);
    let err = Policies::load_files_meanwhile(&[&bad], |_| calls.set(calls.get() + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        Policies::load_files(&[&bad]).unwrap_err().to_string()
    );
    assert!(calls.get() <= 1);

    // 2b. Several shapes: an invalid policy in any position refuses the set.
    let shapes = [
        r#"permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/a");"#,
        r#"permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/b");"#,
        r#"permit(principal, action == file_system::Action::"stat", resource) when { resource.path == "/c" };"#,
        r#"forbid(principal, action, resource) when { context has x };"#,
    ];
    for broken in [vec![0], vec![1], vec![2], vec![3], vec![1, 2]] {
        let text: Vec<String> = shapes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if broken.contains(&i) {
                    p.replacen("Action::\"", "Action::\"x", 1)
                        .replace("context has x", "1 + \"a\" == 2")
                } else {
                    (*p).to_owned()
                }
            })
            .collect();
        let file = write(&dir, "shapes.cedar", &text.join("\n"));
        assert!(
            Policies::load_files_meanwhile(&[&file], |_| ()).is_err(),
            "broken {broken:?} loaded"
        );
    }
    let file = write(&dir, "shapes.cedar", &shapes.join("\n"));
    let (loaded, ()) = Policies::load_files_meanwhile(&[&file], |_| ()).unwrap();
    assert_eq!(loaded.views().count(), 4);

    // 3. A duplicate id is refused and the work never sees that set.
    let dup = write(
        &dir,
        "dup.cedar",
        r#"@id("x") permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/a");
@id("x") permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/b");"#,
    );
    let calls = Cell::new(0);
    let err = Policies::load_files_meanwhile(&[&dup], |_| calls.set(calls.get() + 1)).unwrap_err();
    assert!(
        matches!(err, PolicyError::DuplicateId(ref id) if id == "x"),
        "{err}"
    );
    assert_eq!(calls.get(), 0);

    // 4. A set with only validator warnings loads through the slow path (every policy
    //    parsed whole, warnings kept); the work ran once, on the fast path's parse.
    let warned = write(
        &dir,
        "warned.cedar",
        r#"permit(principal, action == file_system::Action::"open", resource == file_system::Dir::"/tmp") when { false };"#,
    );
    let calls = Cell::new(0);
    let (policies, n) = Policies::load_files_meanwhile(&[&warned], |p| {
        calls.set(calls.get() + 1);
        p.views().count()
    })
    .unwrap();
    assert_eq!((calls.get(), n), (1, 1));
    assert!(
        !policies.warnings().is_empty(),
        "the slow path kept the warning"
    );

    // 5. A missing file is an I/O error before any work.
    let missing = dir.path().join("missing.cedar");
    let err = Policies::load_files_meanwhile(&[missing.to_str().unwrap()], |_| ()).unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
}
