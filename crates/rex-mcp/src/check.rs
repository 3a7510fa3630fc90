//! `check_script`: compile without running, and say which Cedar actions (and, where the
//! script names them literally, which resources) it would need.
//!
//! The calls come from Rhai's compiled AST; each is matched with the engine's function
//! reference (the `DOCS` tables behind `rex functions`), which lists the checks a function
//! can make. Literal paths and URLs become concrete requests that are decided against the
//! operator's policy with [`rex_policy::Gate::explain`]: a preview, since at run time the
//! SDK asks about canonical paths (symlinks resolved), only on the branches taken.

use std::sync::Arc;

use rex_engine::bindings::{FnDoc, all_docs};
use rex_engine::{RunRequest, ScriptArgs};
use rex_policy::{Action, CanonicalPath, Gate, Policies, Resource, Verdict};
use serde::Serialize;

use crate::calls::{CallSite, calls};
use crate::identity::AgentIdentity;

/// A compile problem.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
}

/// One Cedar check an SDK function can make.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct NeededCheck {
    /// Action uid, e.g. `file_system::Action::"read"`.
    pub action: String,
    /// Resource entity type, e.g. `file_system::File`.
    pub resource_type: String,
}

/// One SDK call in the script.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// As written: `cat`, `.read` (a method), `SizeRange::min_only`.
    pub function: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Reference entries it can be (a method name can belong to several types).
    pub matches: Vec<String>,
    /// The checks those entries can make.
    pub checks: Vec<NeededCheck>,
}

/// A request a literal argument implies, decided against the operator's policy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LiteralRequest {
    /// The call it comes from.
    pub function: String,
    /// Its line.
    pub line: usize,
    /// Action uid.
    pub action: String,
    /// Resource uid.
    pub resource: String,
    /// `ALLOW` or `DENY`.
    pub decision: &'static str,
    /// `permit`, `no_permit`, `forbid` or `error`.
    pub reason: &'static str,
    /// For a `no_permit` denial, the permit that would allow exactly this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_permit: Option<String>,
}

/// What `check_script` reports.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// True when the script compiles with the engine `run_script` uses.
    pub compiles: bool,
    /// Compile and argument problems, with positions.
    pub errors: Vec<Problem>,
    /// The principal the script would run as.
    pub principal: String,
    /// The SDK calls, in source order.
    pub calls: Vec<CallReport>,
    /// Every action the calls can ask for, sorted.
    pub actions: Vec<String>,
    /// Requests implied by literal paths and URLs, with the policy's decision.
    pub literal_requests: Vec<LiteralRequest>,
    /// How to read this report.
    pub note: &'static str,
}

const NOTE: &str = "actions lists every check the called functions CAN make (a superset: \
some happen only on some branches, e.g. `create` only when the file is missing). \
literal_requests are previews for literal absolute paths and URLs; at run time the SDK asks \
about the canonical path (symlinks resolved) and opens each parent directory on the way. \
Nothing was run.";

/// Compiles `script` (with `arguments` in the REX JSON format as variables) exactly as
/// `run_script` would, without running it, and reports what it would need. Runs no
/// operation and makes no `Permit`.
pub fn check(
    identity: &AgentIdentity,
    script: &str,
    arguments: Option<&serde_json::Value>,
) -> CheckReport {
    let mut report = CheckReport {
        compiles: false,
        errors: Vec::new(),
        principal: identity.principal().to_owned(),
        calls: Vec::new(),
        actions: Vec::new(),
        literal_requests: Vec::new(),
        note: NOTE,
    };
    let args = match arguments {
        None | Some(serde_json::Value::Null) => ScriptArgs::default(),
        Some(v) => match ScriptArgs::parse("arguments", &v.to_string())
            .and_then(|a| a.validate_depth().map(|()| a))
        {
            Ok(a) => a,
            Err(e) => {
                report.errors.push(Problem {
                    message: format!("arguments: {e}"),
                    line: 0,
                    column: 0,
                });
                return report;
            }
        },
    };
    let names: Vec<String> = args.to_dynamics().map(|(n, _)| n.to_owned()).collect();
    let mut request = RunRequest::new("script", script);
    request.args = args;
    let gate = match Gate::builder()
        .principal(identity.principal())
        .build(Policies::empty())
    {
        Ok(g) => Arc::new(g),
        Err(e) => {
            report.errors.push(Problem {
                message: e.to_string(),
                line: 0,
                column: 0,
            });
            return report;
        }
    };
    if let Err(p) = rex_engine::compile_check(&request, gate) {
        report.errors.push(Problem {
            message: p.message,
            line: p.line,
            column: p.column,
        });
        return report;
    }
    report.compiles = true;
    let sites = match calls(script, &names) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(Problem {
                message: format!("cannot list the calls: {e}"),
                line: 0,
                column: 0,
            });
            return report;
        }
    };
    let docs = all_docs();
    let explaining = identity.explaining_gate().ok();
    let mut actions: Vec<String> = Vec::new();
    for site in &sites {
        let matched = match_docs(&docs, site);
        if matched.is_empty() {
            continue;
        }
        let mut checks: Vec<NeededCheck> = matched
            .iter()
            .flat_map(|d| d.checks.iter())
            .map(|c| NeededCheck {
                action: c.action.to_owned(),
                resource_type: c.resource.to_owned(),
            })
            .collect();
        checks.sort();
        checks.dedup();
        for c in &checks {
            if !actions.contains(&c.action) {
                actions.push(c.action.clone());
            }
        }
        if let Some(gate) = &explaining {
            for (action, resource) in literal_requests(site, &matched) {
                let entry = decide(gate, site, action, &resource);
                if !report.literal_requests.iter().any(|r| {
                    r.action == entry.action && r.resource == entry.resource && r.line == entry.line
                }) {
                    report.literal_requests.push(entry);
                }
            }
        }
        report.calls.push(CallReport {
            function: if site.method {
                format!(".{}", site.name)
            } else {
                site.name.clone()
            },
            line: site.line,
            column: site.column,
            matches: matched.iter().map(|d| d.name.to_owned()).collect(),
            checks,
        });
    }
    actions.sort();
    report.actions = actions;
    report
}

/// The reference entries a call can be: a function by name, a method by `Type.name`
/// (several types may have it; a method call can also reach a global function).
fn match_docs(docs: &[FnDoc], site: &CallSite) -> Vec<FnDoc> {
    if !site.method {
        return docs
            .iter()
            .filter(|d| d.name == site.name)
            .copied()
            .collect();
    }
    let suffix = format!(".{}", site.name);
    let methods: Vec<FnDoc> = docs
        .iter()
        .filter(|d| d.name.ends_with(&suffix))
        .copied()
        .collect();
    if methods.is_empty() {
        docs.iter()
            .filter(|d| d.name == site.name)
            .copied()
            .collect()
    } else {
        methods
    }
}

/// How a path-taking shell-style function uses its path argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PathUse {
    /// The path names a file (or the object acted on); directories asked about are its
    /// parent (`open`) or the path itself (other directory actions, e.g. `rm`, `mkdir`).
    Object,
    /// The path names a directory that is listed or walked; file checks are about its
    /// entries, unknown before running.
    Directory,
}

/// Which argument holds the path, for the shell-style functions.
fn path_arguments(name: &str, args: &[Option<String>]) -> (PathUse, Vec<String>) {
    let last = |n: usize| -> Vec<String> {
        args.iter()
            .rev()
            .take(n)
            .rev()
            .filter_map(Clone::clone)
            .collect()
    };
    match name {
        "cat" | "grep" | "tail" | "sed" | "wc" | "touch" | "rm" | "mkdir" | "awk_field"
        | "awk_filter" | "awk_filter_field" | "awk_sum" | "awk_count_unique"
        | "awk_filter_range" => (PathUse::Object, last(1)),
        "write" => (
            PathUse::Object,
            args.iter().flatten().take(1).cloned().collect(),
        ),
        "cp" | "mv" => (PathUse::Object, last(2)),
        "ls" | "du" | "find_files" | "glob" => (PathUse::Directory, last(1)),
        _ => (PathUse::Object, Vec::new()),
    }
}

/// The concrete requests a call's literal arguments imply.
fn literal_requests(site: &CallSite, matched: &[FnDoc]) -> Vec<(Action, Resource)> {
    let mut out = Vec::new();
    if !site.method {
        let (how, paths) = path_arguments(&site.name, &site.literal_args);
        for text in paths {
            let Ok(path) = CanonicalPath::new(&text) else {
                continue;
            };
            if path.as_str() != text {
                continue;
            }
            for doc in matched {
                for c in doc.checks {
                    let Some(action) = Action::parse(c.action) else {
                        continue;
                    };
                    let resource = match (c.resource, how, action.name()) {
                        ("file_system::File", PathUse::Object, _) => Resource::file(&path),
                        ("file_system::Dir", PathUse::Object, "open") => match path.parent() {
                            Some(parent) => Resource::dir(&parent),
                            None => continue,
                        },
                        ("file_system::Dir", _, _) => Resource::dir(&path),
                        _ => continue,
                    };
                    out.push((action, resource));
                }
            }
        }
    }
    let url_action = match (site.method, site.name.as_str()) {
        (false, "curl") | (true, "get") => Some("GET"),
        (true, "post") => Some("POST"),
        (true, "put") => Some("PUT"),
        (true, "delete") => Some("DELETE"),
        _ => None,
    };
    if let Some(method) = url_action
        && let Some(Some(url)) = site.literal_args.first()
        && (url.starts_with("http://") || url.starts_with("https://"))
        && let Ok(target) = rex_net::HttpTarget::parse(url)
        && let Some(action) = Action::parse(&format!("network::Action::\"{method}\""))
    {
        out.push((action, target.resource()));
    }
    out
}

fn decide(gate: &Gate, site: &CallSite, action: Action, resource: &Resource) -> LiteralRequest {
    let (decision, reason, suggested_permit) =
        match gate.explain(action, resource, serde_json::json!({})) {
            Verdict::Allowed(_) => ("ALLOW", "permit", None),
            Verdict::Denied(d) => {
                let reason = match d.reason() {
                    rex_policy::DenyReason::Forbidden(_) => "forbid",
                    rex_policy::DenyReason::EvaluationError(_) => "error",
                    _ => "no_permit",
                };
                ("DENY", reason, d.suggested_permit())
            }
        };
    LiteralRequest {
        function: site.name.clone(),
        line: site.line,
        action: action.to_string(),
        resource: resource.to_string(),
        decision,
        reason,
        suggested_permit,
    }
}
