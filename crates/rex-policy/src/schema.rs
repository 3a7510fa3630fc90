//! The embedded rex Cedar schema.
//!
//! The source is the Cedar-syntax text ([`SCHEMA_TEXT`], `schema/rex.cedarschema`). The
//! runner builds the schema from the same schema in Cedar's JSON form
//! (`schema/rex.cedarschema.json`), checked in next to it: Cedar parses its schema syntax
//! with a LALRPOP grammar whose lexer builds a regex DFA per identifier (29 million
//! instructions for this 3.5 KB text, three quarters of a trivial run's start-up), while
//! the JSON form is read with serde. The test `json_form_equals_the_cedar_text` proves the
//! two forms are the same schema, and rewrites the JSON form with `REX_BLESS_SCHEMA=1`
//! after an edit of the text.

use std::sync::OnceLock;

use cedar_policy::Schema;

/// The schema text, compatible with the original REX schema (additions only).
pub const SCHEMA_TEXT: &str = include_str!("schema/rex.cedarschema");

/// [`SCHEMA_TEXT`] in Cedar's JSON schema form, what [`schema`] is built from.
pub const SCHEMA_JSON: &str = include_str!("schema/rex.cedarschema.json");

/// The parsed schema, built once per process.
pub fn schema() -> Result<&'static Schema, String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::from_json_str(SCHEMA_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use cedar_policy::{Schema, SchemaFragment};

    /// The JSON form is exactly the translation of the text (compared as JSON values, so
    /// key order and layout do not matter), and both build schemas with the same entity
    /// types and actions.
    #[test]
    fn json_form_equals_the_cedar_text() {
        let (fragment, _warnings) = SchemaFragment::from_cedarschema_str(super::SCHEMA_TEXT)
            .expect("the schema text parses");
        let from_text = fragment.to_json_value().expect("the schema text converts");
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/schema/rex.cedarschema.json"
        );
        if std::env::var_os("REX_BLESS_SCHEMA").is_some() {
            let mut text = serde_json::to_string_pretty(&from_text).unwrap();
            text.push('\n');
            std::fs::write(path, text).unwrap();
            return;
        }
        let checked_in: serde_json::Value = serde_json::from_str(super::SCHEMA_JSON).unwrap();
        assert!(
            checked_in == from_text,
            "{path} is not the JSON form of rex.cedarschema: regenerate it with \
             `REX_BLESS_SCHEMA=1 cargo test -p rex-policy --lib json_form_equals_the_cedar_text`"
        );
        let (text_schema, _) = Schema::from_cedarschema_str(super::SCHEMA_TEXT).unwrap();
        let json_schema = super::schema().unwrap();
        let names = |s: &Schema| {
            let mut types: Vec<String> = s.entity_types().map(ToString::to_string).collect();
            let mut actions: Vec<String> = s.actions().map(ToString::to_string).collect();
            types.sort();
            actions.sort();
            (types, actions)
        };
        assert_eq!(names(&text_schema), names(json_schema));
    }

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
