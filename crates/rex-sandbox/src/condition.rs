//! Reading bounds out of a policy's `when` conditions (Cedar's JSON form of the policy).
//!
//! Only shapes whose meaning is certain are read; anything else yields `None`, which the
//! planner treats as "no bound" (the right stays unrestricted, and the report says so).
//! A bound is sound when the condition *implies* it: for `A && B` either side's bound is
//! enough; for `A || B` both sides must give one (their union).

use serde_json::Value;

/// A filesystem bound: the resource is this path, or beneath this directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathBound {
    /// Exactly this path (its type, file or directory, is not known from the condition).
    Exact(String),
    /// This directory or anything beneath it.
    Beneath(String),
}

/// The `when` bodies of a policy (the `unless` ones only narrow further and are ignored).
pub(crate) fn when_bodies(conditions: &Value) -> Vec<&Value> {
    conditions
        .as_array()
        .map(|conds| {
            conds
                .iter()
                .filter(|c| c.get("kind").and_then(Value::as_str) == Some("when"))
                .filter_map(|c| c.get("body"))
                .collect()
        })
        .unwrap_or_default()
}

/// A bound on the resource's path implied by `body`, if one can be read.
pub(crate) fn path_bound(body: &Value) -> Option<Vec<PathBound>> {
    bound(body, &|leaf| leaf_path_bound(leaf, &["resource"], "path"))
}

/// A bound on `context.destination` (of `move`) implied by `body`.
pub(crate) fn destination_bound(body: &Value) -> Option<Vec<PathBound>> {
    bound(body, &|leaf| {
        if let Some(b) = leaf_path_bound(leaf, &["context", "destination"], "path") {
            return Some(b);
        }
        // `context.destination.parent_path == "/d"`: the new name is in `/d`.
        let b = leaf_path_bound(leaf, &["context", "destination"], "parent_path")?;
        Some(
            b.into_iter()
                .map(|p| match p {
                    PathBound::Exact(d) | PathBound::Beneath(d) => PathBound::Beneath(d),
                })
                .collect(),
        )
    })
}

/// The TCP ports a `network::url` resource is bound to by `body`, if readable.
pub(crate) fn port_bound(body: &Value) -> Option<Vec<u16>> {
    bound(body, &leaf_port_bound)
}

/// Whether `body` mentions `context.<attr>` anywhere.
pub(crate) fn mentions_context_attr(body: &Value, attr: &str) -> bool {
    match body {
        Value::Object(map) => {
            if let Some(dot) = map.get(".")
                && dot.get("attr").and_then(Value::as_str) == Some(attr)
                && dot.get("left").is_some_and(|l| is_var(l, "context"))
            {
                return true;
            }
            if let Some(has) = map.get("has")
                && has.get("attr").and_then(Value::as_str) == Some(attr)
                && has.get("left").is_some_and(|l| is_var(l, "context"))
            {
                return true;
            }
            map.values().any(|v| mentions_context_attr(v, attr))
        }
        Value::Array(items) => items.iter().any(|v| mentions_context_attr(v, attr)),
        _ => false,
    }
}

fn bound<T: Clone>(body: &Value, leaf: &dyn Fn(&Value) -> Option<Vec<T>>) -> Option<Vec<T>> {
    if let Some((l, r)) = binary(body, "&&") {
        return bound(l, leaf).or_else(|| bound(r, leaf));
    }
    if let Some((l, r)) = binary(body, "||") {
        let mut a = bound(l, leaf)?;
        a.extend(bound(r, leaf)?);
        return Some(a);
    }
    leaf(body)
}

fn binary<'a>(v: &'a Value, op: &str) -> Option<(&'a Value, &'a Value)> {
    let o = v.get(op)?;
    Some((o.get("left")?, o.get("right")?))
}

fn is_var(v: &Value, name: &str) -> bool {
    v.get("Var").and_then(Value::as_str) == Some(name)
}

/// Whether `v` is the attribute chain `chain.attr`, e.g. `resource.path` or
/// `context.destination.path`.
fn is_attr(v: &Value, chain: &[&str], attr: &str) -> bool {
    let Some(dot) = v.get(".") else {
        return false;
    };
    if dot.get("attr").and_then(Value::as_str) != Some(attr) {
        return false;
    }
    let Some(left) = dot.get("left") else {
        return false;
    };
    match chain.split_last() {
        None => false,
        Some((last, [])) => is_var(left, last),
        Some((last, rest)) => is_attr(left, rest, last),
    }
}

fn string_value(v: &Value) -> Option<&str> {
    v.get("Value").and_then(Value::as_str)
}

fn long_value(v: &Value) -> Option<i64> {
    v.get("Value").and_then(Value::as_i64)
}

fn set_items(v: &Value) -> Option<&Vec<Value>> {
    if let Some(items) = v.get("Set").and_then(Value::as_array) {
        return Some(items);
    }
    v.get("Value").and_then(Value::as_array)
}

fn literal_items_str(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .or_else(|| string_value(i).map(str::to_owned))
        })
        .collect()
}

fn literal_items_long(items: &[Value]) -> Option<Vec<i64>> {
    items
        .iter()
        .map(|i| i.as_i64().or_else(|| long_value(i)))
        .collect()
}

fn leaf_path_bound(leaf: &Value, chain: &[&str], attr: &str) -> Option<Vec<PathBound>> {
    // x.path == "/p" (either side)
    if let Some((l, r)) = binary(leaf, "==") {
        let lit = if is_attr(l, chain, attr) {
            string_value(r)
        } else if is_attr(r, chain, attr) {
            string_value(l)
        } else {
            None
        }?;
        return absolute(lit).map(|p| vec![PathBound::Exact(p)]);
    }
    // ["/a", "/b"].contains(x.path)
    if let Some((l, r)) = binary(leaf, "contains")
        && is_attr(r, chain, attr)
    {
        let items = literal_items_str(set_items(l)?)?;
        return items
            .iter()
            .map(|p| absolute(p).map(PathBound::Exact))
            .collect();
    }
    // x.path like "/dir/*"
    if let Some(like) = leaf.get("like")
        && like.get("left").is_some_and(|l| is_attr(l, chain, attr))
    {
        return like_bound(like.get("pattern")?).map(|b| vec![b]);
    }
    // resource in file_system::Dir::"/d" (only for the resource itself)
    if chain == ["resource"]
        && let Some((l, r)) = binary(leaf, "in")
        && is_var(l, "resource")
    {
        let entity = r.get("Value")?.get("__entity")?;
        let ty = entity.get("type")?.as_str()?;
        let id = entity.get("id")?.as_str()?;
        return match ty {
            "file_system::Dir" => absolute(id).map(|p| vec![PathBound::Beneath(p)]),
            "file_system::File" => absolute(id).map(|p| vec![PathBound::Exact(p)]),
            _ => None,
        };
    }
    // resource == file_system::File::"/p"
    if chain == ["resource"]
        && let Some((l, r)) = binary(leaf, "==")
        && is_var(l, "resource")
    {
        let entity = r.get("Value")?.get("__entity")?;
        return absolute(entity.get("id")?.as_str()?).map(|p| vec![PathBound::Exact(p)]);
    }
    None
}

/// `like` patterns: literal text up to the first wildcard. With no wildcard the pattern is
/// an exact path; otherwise everything matched lies beneath the directory that the
/// literal prefix ends in (`/var/log/app*` → beneath `/var/log`).
fn like_bound(pattern: &Value) -> Option<PathBound> {
    let mut prefix = String::new();
    let mut wildcard = false;
    match pattern {
        Value::Array(parts) => {
            for part in parts {
                if let Some(lit) = part.get("Literal").and_then(Value::as_str) {
                    prefix.push_str(lit);
                } else {
                    wildcard = true;
                    break;
                }
            }
        }
        Value::String(s) => {
            // Older JSON forms give the pattern as text with `*`.
            match s.find('*') {
                Some(i) => {
                    prefix.push_str(s.get(..i)?);
                    wildcard = true;
                }
                None => prefix.push_str(s),
            }
        }
        _ => return None,
    }
    if !wildcard {
        return absolute(&prefix).map(PathBound::Exact);
    }
    let dir = match prefix.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => prefix.get(..i)?.to_owned(),
        None => return None,
    };
    absolute(&dir).map(PathBound::Beneath)
}

fn absolute(p: &str) -> Option<String> {
    let canonical = rex_policy::CanonicalPath::new(p).ok()?;
    Some(canonical.as_str().to_owned())
}

fn leaf_port_bound(leaf: &Value) -> Option<Vec<u16>> {
    if let Some((l, r)) = binary(leaf, "==") {
        if let Some(n) = if is_attr(l, &["resource"], "port") {
            long_value(r)
        } else if is_attr(r, &["resource"], "port") {
            long_value(l)
        } else {
            None
        } {
            return u16::try_from(n).ok().map(|p| vec![p]);
        }
        // resource.url == "http://h:8080/" or resource == network::url::"..."
        let lit = if is_attr(l, &["resource"], "url") {
            string_value(r).map(str::to_owned)
        } else if is_attr(r, &["resource"], "url") {
            string_value(l).map(str::to_owned)
        } else if is_var(l, "resource") {
            r.get("Value")
                .and_then(|v| v.get("__entity"))
                .and_then(|e| e.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        }?;
        return crate::net_ports::port_of_url(&lit).map(|p| vec![p]);
    }
    if let Some((l, r)) = binary(leaf, "contains")
        && is_attr(r, &["resource"], "port")
    {
        let items = literal_items_long(set_items(l)?)?;
        return items.into_iter().map(|n| u16::try_from(n).ok()).collect();
    }
    if let Some(like) = leaf.get("like")
        && like
            .get("left")
            .is_some_and(|l| is_attr(l, &["resource"], "url"))
    {
        // Only when the whole authority (host and port) is literal.
        let Some(Value::Array(parts)) = like.get("pattern") else {
            return None;
        };
        let mut prefix = String::new();
        for part in parts {
            match part.get("Literal").and_then(Value::as_str) {
                Some(lit) => prefix.push_str(lit),
                None => break,
            }
        }
        let (_, rest) = prefix.split_once("://")?;
        if !rest.contains(['/', '?', '#']) {
            return None;
        }
        return crate::net_ports::port_of_url(&prefix).map(|p| vec![p]);
    }
    None
}
