//! `list_functions`: the script API reference, the same data as `rex functions`.

use rex_engine::bindings::{FnDoc, all_docs};
use serde::Serialize;

/// The reference, possibly narrowed.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// How many functions are listed.
    pub count: usize,
    /// SDK domains that exist (`log`, `metrics`, `time`, `fs`, `proc`, `sys`, `net`).
    pub domains: Vec<&'static str>,
    /// The functions: name, signature, summary and the Cedar checks each makes.
    pub functions: Vec<FnDoc>,
}

/// Every function of the script API, narrowed to one `domain` and to those whose name,
/// signature or summary contains `query` (case-insensitive) when given. Reading it
/// authorizes nothing.
pub fn reference(domain: Option<&str>, query: Option<&str>) -> Reference {
    let all = all_docs();
    let mut domains: Vec<&'static str> = Vec::new();
    for d in &all {
        if !domains.contains(&d.domain) {
            domains.push(d.domain);
        }
    }
    let query = query.map(str::to_lowercase);
    let functions: Vec<FnDoc> = all
        .into_iter()
        .filter(|d| domain.is_none_or(|want| d.domain.eq_ignore_ascii_case(want)))
        .filter(|d| {
            query.as_deref().is_none_or(|q| {
                d.name.to_lowercase().contains(q)
                    || d.signature.to_lowercase().contains(q)
                    || d.summary.to_lowercase().contains(q)
            })
        })
        .collect();
    Reference {
        count: functions.len(),
        domains,
        functions,
    }
}
