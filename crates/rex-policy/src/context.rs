//! Request contexts the SDK crates share.

use serde_json::json;

/// The `execute` context of a helper program rex runs itself (`gstack` for `trace`,
/// `sysctl --system` for a reload): `program` with `args`, an environment of `env`, as
/// the runner's own user and group, with no capabilities. The `arguments` and
/// `environment` entities are named by their text (`"<program> <args>"`,
/// `"KEY=value ..."`), so a policy can match them exactly.
///
/// Building a context authorizes nothing; it is what `Gate::check_with_context` is asked
/// about.
pub fn helper_execute(program: &str, args: &[String], env: &[(&str, &str)]) -> serde_json::Value {
    let uid = uzers::get_current_uid();
    let gid = uzers::get_current_gid();
    let username = uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| uid.to_string());
    let groupname = uzers::get_group_by_gid(gid)
        .map(|g| g.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| gid.to_string());
    let environment = env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "arguments": {"__entity": {"type": "file_system::Arguments", "id": format!("{program} {}", args.join(" "))}},
        "environment": {"__entity": {"type": "file_system::Environment", "id": environment}},
        "user": {"username": username, "uid": i64::from(uid)},
        "group": {"groupname": groupname, "gid": i64::from(gid)},
        "capabilities": [],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_program_line_and_environment_as_the_runners_own_identity() {
        let ctx = super::helper_execute(
            "/usr/bin/gstack",
            &["42".to_owned()],
            &[("A", "1"), ("B", "2")],
        );
        assert_eq!(ctx["arguments"]["__entity"]["id"], "/usr/bin/gstack 42");
        assert_eq!(ctx["environment"]["__entity"]["id"], "A=1 B=2");
        assert_eq!(ctx["user"]["uid"], i64::from(uzers::get_current_uid()));
        assert_eq!(ctx["group"]["gid"], i64::from(uzers::get_current_gid()));
        assert_eq!(ctx["capabilities"], serde_json::json!([]));
    }
}
