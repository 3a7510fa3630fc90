//! `rex functions` / `rex-runner --print-functions`: the script API reference, with the
//! Cedar check each function makes.

use rex_engine::bindings::{FnDoc, all_docs};

/// The reference as JSON (an array of functions).
pub fn json() -> String {
    serde_json::to_string_pretty(&all_docs()).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The reference as a Markdown table.
pub fn markdown() -> String {
    let mut out = String::from(
        "| Function | Signature | Cedar checks (action → resource type) | What it does |\n|---|---|---|---|\n",
    );
    for d in all_docs() {
        out.push_str(&row(&d));
    }
    out
}

fn row(d: &FnDoc) -> String {
    let checks = if d.checks.is_empty() {
        "none".to_owned()
    } else {
        d.checks
            .iter()
            .map(|c| format!("`{}` → `{}`", c.action, c.resource))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    format!(
        "| `{}` | `{}` | {} | {} |\n",
        d.name,
        d.signature.replace('|', "\\|"),
        checks,
        d.summary.replace('|', "\\|")
    )
}
