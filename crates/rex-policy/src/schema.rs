//! The embedded rex Cedar schema.

use std::sync::OnceLock;

use cedar_policy::Schema;

/// The schema text, compatible with the original REX schema (additions only).
pub const SCHEMA_TEXT: &str = include_str!("schema/rex.cedarschema");

/// The parsed schema, built once per process.
pub fn schema() -> Result<&'static Schema, String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Schema::from_cedarschema_str(SCHEMA_TEXT)
                .map(|(schema, _warnings)| schema)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_schema_parses_with_every_original_action() {
        let schema = super::schema().unwrap();
        let actions: Vec<String> = schema.actions().map(|a| a.to_string()).collect();
        for a in [
            r#"file_system::Action::"SafeIO""#,
            r#"file_system::Action::"read""#,
            r#"file_system::Action::"execute""#,
            r#"file_system::Action::"unmount""#,
            r#"network::Action::"GET""#,
            r#"network::Action::"connect""#,
            r#"sysinfo::Action::"resolve_hostname""#,
            r#"process_system::Action::"trace""#,
            r#"systemd::Action::"daemon_reload""#,
            r#"sysctl::Action::"load""#,
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{a} missing from {actions:?}"
            );
        }
    }
}
