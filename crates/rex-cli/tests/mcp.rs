#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! `rex mcp` driven by a real MCP client: the official Python SDK (`pip install mcp`,
//! installed by `.ci/install-deps`). The test fails, never skips, when python3 or the
//! package is missing.

use std::process::Command;

#[test]
fn python_mcp_client_lists_runs_and_gets_structured_denials() {
    let dir = tempfile::tempdir().unwrap();
    // Canonical, so the paths the client expects are the Cedar ids rex asks about.
    let dir = std::fs::canonicalize(dir.path()).unwrap();
    let d = dir.display();
    std::fs::write(dir.join("data.txt"), "hello from data\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret data\n").unwrap();
    let policy = dir.join("agent.cedar");
    std::fs::write(
        &policy,
        format!(
            r#"@id("open-dir")
permit (principal == User::"agent", action == file_system::Action::"open", resource == file_system::Dir::"{d}");
@id("read-data")
permit (
  principal == User::"agent",
  action in [file_system::Action::"open", file_system::Action::"read"],
  resource == file_system::File::"{d}/data.txt"
);
"#
        ),
    )
    .unwrap();
    let client = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
    let out = Command::new("python3")
        .arg(client)
        .arg(env!("CARGO_BIN_EXE_rex"))
        .arg(&policy)
        .arg(&dir)
        .output()
        .expect("python3 must be installed to run the MCP client test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("mcp client: all checks passed"),
        "the MCP client failed (is the `mcp` package installed? see .ci/install-deps)\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
}

#[test]
fn rex_mcp_refuses_to_start_without_a_policy() {
    let out = Command::new(env!("CARGO_BIN_EXE_rex"))
        .arg("mcp")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-p POLICY"), "{stderr}");
}

#[test]
fn rex_mcp_refuses_an_invalid_policy_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bad.cedar");
    std::fs::write(
        &policy,
        "permit (principal, action == file_system::Action::\"opne\", resource);\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rex"))
        .args(["mcp", "-p"])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("opne"), "{stderr}");
}
