//! `rex policy check | fmt | explain | learn`.

use std::process::ExitCode;
use std::sync::Arc;

use rex_engine::Status;
use rex_policy::learn::{Needed, from_audit_log, policy_text};
use rex_policy::{Action, AttrValue, Gate, Mode, Policies, Resource, Verdict, lint::lint};

use crate::Inputs;

/// Exit code for invalid input (as `rex run`).
pub const INVALID_INPUT: u8 = 4;
/// Exit code for a denial (as `rex run`).
pub const DENIED: u8 = 3;

fn load(paths: &[String]) -> Result<Policies, ExitCode> {
    Policies::load_files(paths).map_err(|e| {
        if e.diagnostics().is_empty() {
            eprintln!("error: {e}");
        }
        for d in e.diagnostics() {
            eprintln!("error: {d}");
        }
        eprintln!(
            "{} error{} found",
            e.diagnostics().len().max(1),
            if e.diagnostics().len() > 1 { "s" } else { "" }
        );
        ExitCode::from(INVALID_INPUT)
    })
}

/// Validates policies strictly and prints every error and warning with its position.
/// Exit 0 when valid (warnings allowed unless `deny_warnings`), 4 otherwise.
pub fn check(paths: &[String], deny_warnings: bool) -> ExitCode {
    let policies = match load(paths) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let warnings = lint(&policies);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{}: {} polic{} valid against the rex schema, {} warning{}",
        paths.join(", "),
        policies.len(),
        if policies.len() == 1 { "y" } else { "ies" },
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    if deny_warnings && !warnings.is_empty() {
        ExitCode::from(INVALID_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

/// Formats policy files in place with Cedar's formatter (`--check`: only report files
/// that would change, exit 1 if any).
pub fn fmt(paths: &[String], check_only: bool) -> ExitCode {
    let config = cedar_policy_formatter::Config::default();
    let mut changed = 0;
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{path}`: {e}");
                return ExitCode::from(INVALID_INPUT);
            }
        };
        let pretty = match cedar_policy_formatter::policies_str_to_pretty(&text, &config) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: `{path}`: {e:?}");
                return ExitCode::from(INVALID_INPUT);
            }
        };
        if pretty != text {
            changed += 1;
            if check_only {
                println!("would reformat {path}");
            } else if let Err(e) = std::fs::write(path, &pretty) {
                eprintln!("error: cannot write `{path}`: {e}");
                return ExitCode::from(INVALID_INPUT);
            } else {
                println!("formatted {path}");
            }
        }
    }
    if check_only && changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `rex policy explain` is asked about.
pub struct ExplainRequest<'a> {
    /// Policy files.
    pub policies: &'a [String],
    /// Principal name.
    pub principal: &'a str,
    /// Action (`file_system::Action::"read"` or `file_system::read`).
    pub action: &'a str,
    /// Resource uid.
    pub resource: &'a str,
    /// Context JSON object.
    pub context: Option<&'a str>,
    /// Resource attributes JSON object (for non-file resources).
    pub attrs: Option<&'a str>,
}

/// Decides one request and says why. Exit 0 allowed, 3 denied, 4 invalid input.
pub fn explain(req: &ExplainRequest<'_>) -> ExitCode {
    let bad = |m: String| {
        eprintln!("error: {m}");
        ExitCode::from(INVALID_INPUT)
    };
    let policies = match load(req.policies) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(action) = Action::parse(req.action) else {
        let known: Vec<String> = rex_policy::action::ALL
            .iter()
            .map(ToString::to_string)
            .collect();
        return bad(format!(
            "unknown action `{}`; known actions: {}",
            req.action,
            known.join(", ")
        ));
    };
    let attrs = match req.attrs.map(parse_attrs).transpose() {
        Ok(a) => a.unwrap_or_default(),
        Err(e) => return bad(e),
    };
    let resource = match Resource::parse_uid(req.resource, attrs) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let context = match req
        .context
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
    {
        Ok(c) => c.unwrap_or_else(|| serde_json::json!({})),
        Err(e) => return bad(format!("`--context` is not JSON: {e}")),
    };
    let gate = match Gate::builder().principal(req.principal).build(policies) {
        Ok(g) => g,
        Err(e) => return bad(e.to_string()),
    };
    match gate.explain(action, &resource, context) {
        Verdict::Allowed(refs) => {
            println!(
                "ALLOW: {} may perform {action} on {resource}",
                req.principal
            );
            for r in refs {
                println!("  permitted by {r}");
            }
            ExitCode::SUCCESS
        }
        Verdict::Denied(denied) => {
            print!("DENY: {}", denied.explain());
            ExitCode::from(DENIED)
        }
    }
}

fn parse_attrs(text: &str) -> Result<Vec<(&'static str, AttrValue)>, String> {
    const NAMES: &[&str] = &[
        "path", "url", "scheme", "host", "port", "name", "username", "command", "hostname",
    ];
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("`--attrs` is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("`--attrs` must be a JSON object")?;
    obj.iter()
        .map(|(k, v)| {
            let name = NAMES
                .iter()
                .copied()
                .find(|n| n == k)
                .ok_or_else(|| format!("unknown attribute `{k}`"))?;
            let value = match v {
                serde_json::Value::String(s) => AttrValue::String(s.clone()),
                serde_json::Value::Bool(b) => AttrValue::Bool(*b),
                serde_json::Value::Number(n) => AttrValue::Long(
                    n.as_i64()
                        .ok_or_else(|| format!("attribute `{k}` is not an integer"))?,
                ),
                other => return Err(format!("attribute `{k}` has unsupported value `{other}`")),
            };
            Ok((name, value))
        })
        .collect()
}

/// What `rex policy learn` is asked to do.
pub struct LearnRequest {
    /// Script to run (absent with `--from`).
    pub script: Option<String>,
    /// Arguments file.
    pub args: Option<String>,
    /// Decision logs to learn from instead of running.
    pub from: Vec<String>,
    /// Output file (stdout when absent).
    pub output: Option<String>,
    /// Refuse mutating actions while learning.
    pub read_only: bool,
    /// Principal for the policy (default effective user).
    pub principal: Option<String>,
}

/// Learns the least-privilege policy for a script (run in audit mode) or from decision logs.
pub fn learn(req: &LearnRequest) -> ExitCode {
    let principal = req
        .principal
        .clone()
        .unwrap_or_else(rex_policy::effective_user_name);
    let (needed, header, refused) = if !req.from.is_empty() {
        let mut needed = Vec::new();
        for path in &req.from {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read `{path}`: {e}");
                    return ExitCode::from(INVALID_INPUT);
                }
            };
            match from_audit_log(&text) {
                Ok(n) => needed.extend(n),
                Err(e) => {
                    eprintln!("error: `{path}`: {e}");
                    return ExitCode::from(INVALID_INPUT);
                }
            }
        }
        let header = format!(
            "Learned by `rex policy learn --from {}`: {} requests.",
            req.from.join(" --from "),
            needed.len()
        );
        (needed, header, Vec::new())
    } else {
        let Some(script) = &req.script else {
            eprintln!("error: give a SCRIPT to run, or `--from AUDIT.jsonl`");
            return ExitCode::from(2);
        };
        let mut inputs = Inputs::new(script.clone());
        inputs.args = req.args.clone();
        inputs.principal = Some(principal.clone());
        inputs.mode = Mode::Audit;
        inputs.record = true;
        inputs.deny_mutating = req.read_only;
        let prepared = match crate::prepare(&inputs) {
            Ok(p) => p,
            Err(f) => {
                eprintln!("error: {}", f.message);
                return ExitCode::from(INVALID_INPUT);
            }
        };
        let gate: Arc<Gate> = Arc::clone(&prepared.gate);
        let outcome = crate::run(prepared);
        let recorded = gate.recorded();
        let refused: Vec<String> = recorded
            .iter()
            .filter(|r| r.refused_read_only)
            .map(|r| {
                format!(
                    "{} on {}{}",
                    r.action,
                    r.resource,
                    r.line.map(|l| format!(" (line {l})")).unwrap_or_default()
                )
            })
            .collect();
        let status = match (&outcome.document.status, &outcome.document.error) {
            (Status::Success, _) => "SUCCESS".to_owned(),
            (_, Some(e)) => format!("ERROR: {}", e.message),
            _ => "ERROR".to_owned(),
        };
        eprintln!("learning run of `{script}` ended: {status}");
        let mut header = format!(
            "Learned by `rex policy learn {script}`{}: {} requests.",
            if req.read_only { " --read-only" } else { "" },
            recorded.len()
        );
        if !refused.is_empty() {
            header.push_str("\nRead-only learning refused these mutating requests; they are permitted below,\nbut the run stopped at the first, so later requests are not known:");
            for r in &refused {
                header.push_str(&format!("\n  {r}"));
            }
        }
        (
            recorded.iter().map(Needed::from).collect::<Vec<_>>(),
            header,
            refused,
        )
    };
    let text = policy_text(&principal, &needed, &header);
    // The learned text must itself validate; anything else is a rex defect.
    if let Err(e) = Policies::from_text("learned.cedar", &text) {
        eprintln!("error: the learned policy does not validate (please report): {e}");
        return ExitCode::from(1);
    }
    match &req.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("error: cannot write `{path}`: {e}");
                return ExitCode::from(INVALID_INPUT);
            }
            eprintln!("wrote {path}: {} requests", needed.len());
        }
        None => print!("{text}"),
    }
    for r in &refused {
        eprintln!("refused while learning read-only: {r}");
    }
    ExitCode::SUCCESS
}
