//! The embedded rex Cedar schema.
//!
//! The source is the Cedar-syntax text ([`SCHEMA_TEXT`], `schema/rex.cedarschema`). The
//! runner builds the schema from the same schema in Cedar's JSON form
//! (`schema/rex.cedarschema.json`), checked in next to it: Cedar parses its schema syntax
//! with a LALRPOP grammar whose lexer builds a regex DFA per identifier (29 million
//! instructions for this 3.5 KB text, three quarters of a trivial run's start-up), while
//! the JSON form is read with serde. In the JSON form every action group an action is a
//! member of names its type (`"type": "Action"`): Cedar fills a missing type in by parsing
//! the name `Action` with that same grammar, once per reference (1.7 million of a trivial
//! run's 25 million instructions). The test `json_form_equals_the_cedar_text` proves the
//! two forms are the same schema, and rewrites the JSON form with `REX_BLESS_SCHEMA=1`
//! after an edit of the text.

use std::sync::OnceLock;

use cedar_policy::Schema;

/// The schema text, compatible with the original REX schema (additions only).
pub const SCHEMA_TEXT: &str = include_str!("schema/rex.cedarschema");

/// [`SCHEMA_TEXT`] in Cedar's JSON schema form, what [`schema`] is built from.
pub const SCHEMA_JSON: &str = include_str!("schema/rex.cedarschema.json");

/// The name of the thread [`prewarm`] starts (what `/proc/self/task/*/comm` shows).
pub const PREWARM_THREAD: &str = "rex-schema";

static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();

/// The parsed schema, built once per process (a caller that arrives while another thread
/// builds it waits for that build).
pub fn schema() -> Result<&'static Schema, String> {
    SCHEMA
        .get_or_init(|| Schema::from_json_str(SCHEMA_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether the schema is built in this process (one still building is not).
pub fn is_built() -> bool {
    SCHEMA.get().is_some()
}

/// Starts building the schema on a new thread and returns it, or `None` when the schema
/// is already built (or no thread can be started: the first user then builds it).
///
/// A short run spends about a third of its start-up building the schema; a policy load
/// parses its text before it needs the schema, so the two overlap on two cores. The
/// thread authorizes nothing, touches nothing outside the process, and runs no script
/// code: the runner applies the sandbox while it runs (Landlock restricts only the calling
/// thread and the threads it starts later; this one only builds the schema and ends, and
/// is joined before the script starts).
pub fn prewarm() -> Option<std::thread::JoinHandle<()>> {
    if SCHEMA.get().is_some() {
        return None;
    }
    std::thread::Builder::new()
        .name(PREWARM_THREAD.into())
        .spawn(|| {
            let _ = schema();
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use cedar_policy::{Schema, SchemaFragment};

    /// `prewarm` builds the one schema of the process, and starts no thread once it is
    /// built; the schema it built is the one `schema` returns.
    #[test]
    fn prewarm_builds_the_schema_once() {
        if let Some(thread) = super::prewarm() {
            thread.join().unwrap();
        }
        let built = super::SCHEMA.get().unwrap().as_ref().unwrap();
        assert!(std::ptr::eq(built, super::schema().unwrap()));
        assert!(super::prewarm().is_none());
    }

    /// The JSON form is exactly the translation of the text (compared as JSON values, so
    /// key order and layout do not matter), and both build schemas with the same entity
    /// types and actions.
    #[test]
    fn json_form_equals_the_cedar_text() {
        let (fragment, _warnings) = SchemaFragment::from_cedarschema_str(super::SCHEMA_TEXT)
            .expect("the schema text parses");
        let mut from_text = fragment.to_json_value().expect("the schema text converts");
        type_member_of(&mut from_text);
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
        // The same action groups: every action entity with the same parents.
        let groups = |s: &Schema| {
            let json = s.action_entities().unwrap().to_json_value().unwrap();
            let mut entities: Vec<String> = json
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let mut parents: Vec<String> = e["parents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    parents.sort();
                    format!("{} in {parents:?}", e["uid"])
                })
                .collect();
            entities.sort();
            entities
        };
        let text_groups = groups(&text_schema);
        assert!(
            text_groups
                .iter()
                .any(|e| e.contains(r#""id":"read""#) && e.contains("SafeIO"))
        );
        assert_eq!(text_groups, groups(json_schema));
    }

    /// Writes the implicit `"type": "Action"` into every `memberOf` entry without a type.
    fn type_member_of(schema: &mut serde_json::Value) {
        let namespaces = schema
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut());
        for ns in namespaces {
            let actions = ns.get_mut("actions").and_then(|a| a.as_object_mut());
            for action in actions.into_iter().flat_map(|a| a.values_mut()) {
                let groups = action.get_mut("memberOf").and_then(|m| m.as_array_mut());
                for group in groups.into_iter().flatten() {
                    if let Some(g) = group.as_object_mut() {
                        g.entry("type").or_insert_with(|| "Action".into());
                    }
                }
            }
        }
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
