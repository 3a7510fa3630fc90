//! Least-privilege policies from observed requests (`rex policy learn`).
//!
//! Every distinct resource that was requested gets one `permit` naming it literally
//! (`resource == ...`, no wildcards invented) with exactly the actions requested on it,
//! commented with the script lines that needed it. Permits are grouped by resource type.
//!
//! One exception: process ids are not stable across runs, so a permit naming the pids one
//! listing saw would fail the next run. Listing (`process_system::Action::"list"`, which
//! `processes()` checks once per process) is learned as one permit for every process
//! (`resource is process_system::Process`), and the comment says how many were seen. Other
//! process actions (kill, trace, ...) stay literal, with a comment that the pid will change.

use std::collections::BTreeMap;

use crate::gate::RecordedRequest;

const PROCESS_LIST: &str = "process_system::Action::\"list\"";
const PROCESS_TYPE: &str = "process_system::Process::";

/// One request to allow: Cedar uids as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// Action uid, e.g. `file_system::Action::"read"`.
    pub action: String,
    /// Resource uid, e.g. `file_system::File::"/tmp/x"`.
    pub resource: String,
    /// Script line, when known.
    pub line: Option<u32>,
}

impl From<&RecordedRequest> for Needed {
    fn from(r: &RecordedRequest) -> Self {
        Self {
            action: r.action.to_string(),
            resource: r.resource.clone(),
            line: r.line,
        }
    }
}

/// Why an audit log line could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("audit log line {line}: {message}")]
pub struct AuditLogError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads the requests of a decision log (format version 1). Every decision counts, allowed
/// or denied: the learned policy permits everything the runs asked for.
pub fn from_audit_log(text: &str) -> Result<Vec<Needed>, AuditLogError> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let err = |message: String| AuditLogError {
            line: i + 1,
            message,
        };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        match v.get("v").and_then(serde_json::Value::as_u64) {
            Some(1) => {}
            other => return Err(err(format!("unsupported format version `{other:?}`"))),
        }
        // Only decisions name requests; other records (`"event": "run"`) are skipped.
        if v.get("event").is_some_and(|e| e != "decision") {
            continue;
        }
        let field = |name: &str| {
            v.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| err(format!("missing `{name}`")))
        };
        let line_no = v
            .get("script")
            .and_then(|s| s.get("line"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|l| u32::try_from(l).ok());
        out.push(Needed {
            action: field("action")?,
            resource: field("resource")?,
            line: line_no,
        });
    }
    Ok(out)
}

/// The policy text permitting exactly `needed` for `principal`.
pub fn policy_text(principal: &str, needed: &[Needed], header: &str) -> String {
    // resource type -> resource uid -> (actions, script lines)
    type ByResource<'a> = BTreeMap<&'a str, (Vec<&'a str>, Vec<u32>)>;
    let mut groups: BTreeMap<&str, ByResource<'_>> = BTreeMap::new();
    // Process listing: (number of processes seen, script lines).
    let mut listed: Option<(usize, Vec<u32>)> = None;
    for n in needed {
        if n.action == PROCESS_LIST && n.resource.starts_with(PROCESS_TYPE) {
            let (count, lines) = listed.get_or_insert_with(Default::default);
            *count += 1;
            if let Some(l) = n.line
                && !lines.contains(&l)
            {
                lines.push(l);
            }
            continue;
        }
        let type_name = n
            .resource
            .rsplit_once("::\"")
            .map_or(n.resource.as_str(), |(t, _)| t);
        let entry = groups
            .entry(type_name)
            .or_default()
            .entry(n.resource.as_str())
            .or_default();
        if !entry.0.contains(&n.action.as_str()) {
            entry.0.push(n.action.as_str());
        }
        if let Some(l) = n.line
            && !entry.1.contains(&l)
        {
            entry.1.push(l);
        }
    }
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("// {line}\n"));
    }
    let principal = format!("User::\"{}\"", principal.escape_debug());
    if let Some((count, mut lines)) = listed {
        lines.sort_unstable();
        let list: Vec<String> = lines.iter().map(u32::to_string).collect();
        out.push_str(&format!(
            "\n// ---- process_system::Process ----\n\n\
             // needed by script line{} {}: {count} processes listed; process ids change\n\
             // between runs, so listing is permitted for every process.\n\
             permit (\n  principal == {principal},\n  action == {PROCESS_LIST},\n  \
             resource is process_system::Process\n);\n",
            if lines.len() > 1 { "s" } else { "" },
            list.join(", ")
        ));
    }
    for (type_name, resources) in groups {
        let ephemeral = type_name == "process_system::Process";
        out.push_str(&format!("\n// ---- {type_name} ----\n"));
        for (resource, (mut actions, mut lines)) in resources {
            actions.sort_unstable();
            lines.sort_unstable();
            out.push('\n');
            if !lines.is_empty() {
                let list: Vec<String> = lines.iter().map(u32::to_string).collect();
                out.push_str(&format!(
                    "// needed by script line{} {}\n",
                    if lines.len() > 1 { "s" } else { "" },
                    list.join(", ")
                ));
            }
            if ephemeral {
                out.push_str(
                    "// (a process id: it will name another process, or none, on the next run)\n",
                );
            }
            let action = if actions.len() == 1 {
                format!("action == {}", actions.join(""))
            } else {
                format!("action in [{}]", actions.join(", "))
            };
            out.push_str(&format!(
                "permit (\n  principal == {principal},\n  {action},\n  resource == {resource}\n);\n"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, CanonicalPath, Gate, Policies, Resource};

    #[test]
    fn learned_policy_validates_and_allows_exactly_the_requests() {
        let needed = vec![
            Needed {
                action: r#"file_system::Action::"open""#.into(),
                resource: r#"file_system::Dir::"/tmp""#.into(),
                line: Some(2),
            },
            Needed {
                action: r#"file_system::Action::"read""#.into(),
                resource: r#"file_system::File::"/tmp/a""#.into(),
                line: Some(3),
            },
            Needed {
                action: r#"file_system::Action::"open""#.into(),
                resource: r#"file_system::File::"/tmp/a""#.into(),
                line: Some(3),
            },
            Needed {
                action: r#"file_system::Action::"read""#.into(),
                resource: r#"file_system::File::"/tmp/a""#.into(),
                line: Some(7),
            },
        ];
        let text = policy_text("alice", &needed, "learned");
        assert!(text.contains("// needed by script lines 3, 7"), "{text}");
        let gate = Gate::builder()
            .principal("alice")
            .build(Policies::from_text("l.cedar", &text).unwrap())
            .unwrap();
        let file = Resource::file(&CanonicalPath::new("/tmp/a").unwrap());
        assert!(
            gate.check(Action::parse("file_system::read").unwrap(), &file)
                .is_ok()
        );
        assert!(gate.check(crate::action::fs::WRITE, &file).is_err());
        assert!(
            gate.check(
                crate::action::fs::READ,
                &Resource::file(&CanonicalPath::new("/tmp/b").unwrap())
            )
            .is_err()
        );
        assert_eq!(Policies::from_text("l.cedar", &text).unwrap().len(), 2);
    }

    #[test]
    fn process_listing_is_learned_for_every_process_and_kill_stays_literal() {
        let needed: Vec<Needed> = ["1", "42", "4242"]
            .iter()
            .map(|pid| Needed {
                action: PROCESS_LIST.into(),
                resource: format!("{PROCESS_TYPE}\"{pid}\""),
                line: Some(5),
            })
            .chain(std::iter::once(Needed {
                action: r#"process_system::Action::"kill""#.into(),
                resource: format!("{PROCESS_TYPE}\"42\""),
                line: Some(9),
            }))
            .collect();
        let text = policy_text("ops", &needed, "learned");
        assert!(text.contains("3 processes listed"), "{text}");
        assert!(text.contains("will name another process"), "{text}");
        let gate = Gate::builder()
            .principal("ops")
            .build(Policies::from_text("l.cedar", &text).unwrap())
            .unwrap();
        let process = |pid: &str| {
            Resource::new("process_system::Process", pid)
                .attr("name", crate::AttrValue::String("sleep".into()))
                .attr("username", crate::AttrValue::String("ops".into()))
                .attr("command", crate::AttrValue::String("sleep 9".into()))
        };
        let list = Action::parse("process_system::list").unwrap();
        let kill = Action::parse("process_system::kill").unwrap();
        // A pid never seen while learning may be listed, not killed.
        assert!(gate.check(list, &process("77")).is_ok());
        assert!(gate.check(kill, &process("77")).is_err());
    }

    #[test]
    fn audit_log_lines_become_requests() {
        let log = concat!(
            r#"{"v":1,"action":"file_system::Action::\"read\"","resource":"file_system::File::\"/a\"","decision":"deny","script":{"line":4,"column":1}}"#,
            "\n\n",
            r#"{"v":1,"action":"sysinfo::Action::\"list\"","resource":"sysinfo::Sysinfo::\"x\"","decision":"allow"}"#
        );
        let n = from_audit_log(log).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].line, Some(4));
        assert_eq!(n[1].line, None);
        assert_eq!(from_audit_log("{\"v\":2}").unwrap_err().line, 1);
        let with_run = format!(
            "{}\n{}",
            r#"{"v":1,"event":"run","principal":"p","mode":"enforce","sandbox":{"mode":"off","enforced":[],"left_out":[]}}"#,
            r#"{"v":1,"action":"sysinfo::Action::\"list\"","resource":"sysinfo::Sysinfo::\"x\"","decision":"allow"}"#
        );
        assert_eq!(from_audit_log(&with_run).unwrap().len(), 1);
        assert!(from_audit_log("nope").is_err());
    }
}
