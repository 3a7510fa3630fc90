#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The policy guide's function table is generated from `rex functions` and must be current.
//! Regenerate with `REX_UPDATE_DOCS=1 cargo test -p rex-cli --test docs`.
#![cfg(all(feature = "fs", feature = "proc", feature = "sys", feature = "net"))]

const BEGIN: &str = "<!-- BEGIN FUNCTION TABLE -->\n";
const END: &str = "<!-- END FUNCTION TABLE -->";

#[test]
fn policy_guide_function_table_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/POLICY_GUIDE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = text.find(END).expect("end marker");
    let table = rex_cli::functions::markdown();
    if text[start..end] != table {
        if std::env::var_os("REX_UPDATE_DOCS").is_some() {
            std::fs::write(&path, format!("{}{table}{}", &text[..start], &text[end..])).unwrap();
        } else {
            panic!(
                "docs/POLICY_GUIDE.md's function table is stale: run `REX_UPDATE_DOCS=1 cargo test -p rex-cli --test docs`"
            );
        }
    }
}
