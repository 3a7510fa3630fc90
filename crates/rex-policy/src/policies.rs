//! Loading policy files: parse, validate strictly against the rex schema, remember where
//! each policy came from.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, ValidationMode, Validator};

use crate::error::{PolicyError, SourceDiagnostic};
use crate::schema::schema;

/// Where a policy was written, for explanations and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOrigin {
    /// The policy id (`@id("...")` when given, otherwise `policy<N>` in load order).
    pub id: String,
    /// The file it came from.
    pub file: String,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column of its first character.
    pub column: usize,
    /// `permit` or `forbid`.
    pub effect: Effect,
}

/// A validated policy set. Every policy in it type-checks against the rex schema in
/// Cedar's strict mode, so a typo in an action or entity type can never silently deny.
///
/// Holding `Policies` authorizes nothing; a [`crate::Gate`] decides with them.
#[derive(Debug, Clone)]
pub struct Policies {
    set: PolicySet,
    origins: HashMap<String, PolicyOrigin>,
    warnings: Vec<SourceDiagnostic>,
    sources: HashMap<String, String>,
}

impl Policies {
    /// No policies: every request is denied.
    pub fn empty() -> Self {
        Self {
            set: PolicySet::new(),
            origins: HashMap::new(),
            warnings: Vec::new(),
            sources: HashMap::new(),
        }
    }

    /// Reads and validates one policy file.
    pub fn load_file(path: &str) -> Result<Self, PolicyError> {
        Self::load_files(&[path])
    }

    /// Reads and validates several policy files as one set.
    pub fn load_files<S: AsRef<str>>(paths: &[S]) -> Result<Self, PolicyError> {
        let mut sources = Vec::with_capacity(paths.len());
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
                path: path.to_owned(),
                source,
            })?;
            sources.push((path.to_owned(), text));
        }
        Self::from_sources(&sources)
    }

    /// Validates policy text; `name` is used in diagnostics in place of a file name.
    pub fn from_text(name: &str, text: &str) -> Result<Self, PolicyError> {
        Self::from_sources(&[(name.to_owned(), text.to_owned())])
    }

    /// Validates `(name, text)` pairs as one set. Every parse error of every file is
    /// reported, then every validation error.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Self, PolicyError> {
        let schema = schema().map_err(PolicyError::Schema)?;
        let validator = Validator::new(schema.clone());
        let mut merged = PolicySet::new();
        let mut origins = HashMap::new();
        let mut parse_errors = Vec::new();
        let mut invalid = Vec::new();
        let mut warnings = Vec::new();
        let mut counter = 0usize;

        for (file, text) in sources {
            let parsed = match PolicySet::from_str(text) {
                Ok(set) => set,
                Err(errors) => {
                    parse_errors.extend(errors.iter().map(|e| locate(file, text, e)));
                    continue;
                }
            };
            if parsed.templates().next().is_some() {
                parse_errors.push(SourceDiagnostic {
                    file: file.clone(),
                    line: 1,
                    column: 1,
                    message: "policy templates (`?principal`, `?resource`) are not supported"
                        .to_owned(),
                    help: Some("write the principal or resource literally".to_owned()),
                    source_line: text.lines().next().unwrap_or_default().to_owned(),
                    width: 1,
                });
                continue;
            }
            let mut file_set = PolicySet::new();
            let mut cursor = 0usize;
            let lines = LineIndex::new(text);
            let mut shapes = Shapes::default();
            for policy in parsed.policies() {
                // `annotations()` rather than `annotation("id")`, which parses its key
                // with Cedar's grammar on every call (a quarter of the load time).
                let annotated = policy
                    .annotations()
                    .find_map(|(k, v)| (k == "id").then_some(v));
                let id = match annotated {
                    Some(id) => id.to_owned(),
                    None => format!("policy{counter}"),
                };
                counter += 1;
                let src = policy.to_cedar();
                shapes.add(&id, src.as_deref().and_then(shape));
                let offset = src
                    .and_then(|src| {
                        text.get(cursor..)
                            .and_then(|rest| rest.find(&src))
                            .map(|i| (i + cursor, src.len()))
                    })
                    .map(|(start, len)| {
                        cursor = start + len;
                        start
                    })
                    .unwrap_or(0);
                let (line, column) = lines.line_col(text, offset);
                let renamed: Policy = policy.new_id(PolicyId::new(&id));
                if origins.contains_key(&id) {
                    return Err(PolicyError::DuplicateId(id));
                }
                origins.insert(
                    id.clone(),
                    PolicyOrigin {
                        id: id.clone(),
                        file: file.clone(),
                        line,
                        column,
                        effect: policy.effect(),
                    },
                );
                file_set
                    .add(renamed)
                    .map_err(|_| PolicyError::DuplicateId(id.clone()))?;
            }
            // Validate one policy of each shape; only the shapes where it found something
            // are validated policy by policy, for the exact diagnostics of each.
            let reps = PolicySet::from_policies(
                file_set
                    .policies()
                    .filter(|p| shapes.is_representative(p.id().as_ref()))
                    .cloned(),
            )
            .map_err(|e| PolicyError::DuplicateId(e.to_string()))?;
            let first = validator.validate(&reps, ValidationMode::Strict);
            let mut flagged: HashSet<usize> = HashSet::new();
            let mut everything = false;
            for id in first
                .validation_errors()
                .map(|e| e.policy_id())
                .chain(first.validation_warnings().map(|w| w.policy_id()))
            {
                match shapes.group_of(id.as_ref()) {
                    Some(g) => {
                        flagged.insert(g);
                    }
                    None => everything = true,
                }
            }
            if everything || !flagged.is_empty() {
                let again = if everything {
                    file_set.clone()
                } else {
                    PolicySet::from_policies(
                        file_set
                            .policies()
                            .filter(|p| {
                                shapes
                                    .group_of(p.id().as_ref())
                                    .is_some_and(|g| flagged.contains(&g))
                            })
                            .cloned(),
                    )
                    .map_err(|e| PolicyError::DuplicateId(e.to_string()))?
                };
                let result = validator.validate(&again, ValidationMode::Strict);
                invalid.extend(result.validation_errors().map(|e| locate(file, text, e)));
                warnings.extend(result.validation_warnings().map(|w| locate(file, text, w)));
            }
            for policy in file_set.policies() {
                merged
                    .add(policy.clone())
                    .map_err(|_| PolicyError::DuplicateId(policy.id().to_string()))?;
            }
        }
        if !parse_errors.is_empty() {
            return Err(PolicyError::Parse(parse_errors));
        }
        if !invalid.is_empty() {
            return Err(PolicyError::Invalid(invalid));
        }
        Ok(Self {
            set: merged,
            origins,
            warnings,
            sources: sources.iter().cloned().collect(),
        })
    }

    /// The Cedar policy set.
    pub fn set(&self) -> &PolicySet {
        &self.set
    }

    /// Where policy `id` was written.
    pub fn origin(&self, id: &str) -> Option<&PolicyOrigin> {
        self.origins.get(id)
    }

    /// Validator warnings (the set still loaded).
    pub fn warnings(&self) -> &[SourceDiagnostic] {
        &self.warnings
    }

    /// A diagnostic pointing at the start of the policy at `origin`.
    pub fn diagnostic_at(
        &self,
        origin: &PolicyOrigin,
        message: String,
        help: Option<String>,
    ) -> SourceDiagnostic {
        let source_line = self
            .sources
            .get(&origin.file)
            .and_then(|t| t.lines().nth(origin.line.saturating_sub(1)))
            .unwrap_or_default()
            .to_owned();
        let width = source_line
            .chars()
            .count()
            .saturating_sub(origin.column.saturating_sub(1))
            .max(1);
        SourceDiagnostic {
            file: origin.file.clone(),
            line: origin.line,
            column: origin.column,
            message,
            help,
            source_line,
            width,
        }
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Whether there are no policies (everything is denied).
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}

/// Policies grouped by shape (see [`shape`]): strict validation of one policy of a shape
/// decides it for every policy of that shape.
#[derive(Default)]
struct Shapes {
    groups: HashMap<String, usize>,
    /// Policy id -> (group, whether it is the group's representative).
    of: HashMap<String, (usize, bool)>,
    count: usize,
}

impl Shapes {
    /// Adds policy `id` with its shape (`None`: a group of its own).
    fn add(&mut self, id: &str, shape: Option<String>) {
        let (group, first) = match shape {
            Some(key) => match self.groups.get(&key) {
                Some(g) => (*g, false),
                None => {
                    self.groups.insert(key, self.count);
                    (self.count, true)
                }
            },
            None => (self.count, true),
        };
        if first {
            self.count += 1;
        }
        self.of.insert(id.to_owned(), (group, first));
    }

    fn is_representative(&self, id: &str) -> bool {
        self.of.get(id).is_none_or(|(_, first)| *first)
    }

    fn group_of(&self, id: &str) -> Option<usize> {
        self.of.get(id).map(|(g, _)| *g)
    }
}

/// The policy text with what strict validation does not look at blanked out: the ids of
/// entity literals other than actions (`file_system::File::"/x"` becomes
/// `file_system::File::""`), annotation values, comments. Cedar's validator checks entity
/// *types*, action ids, and the types of expressions; it checks entity ids only for
/// enumerated entity types (the rex schema has none; if it had, no shapes are made) and
/// warns about confusable non-ASCII strings (a blanked string must be plain ASCII, without
/// escapes, or there is no shape). Two policies with one shape therefore get the same
/// validation result. `None` when the text cannot be shaped safely.
fn shape(text: &str) -> Option<String> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Tok<'a> {
        Ident(&'a str),
        ColonColon,
        At,
        LParen,
        Other,
    }
    static NO_ENUMS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*NO_ENUMS.get_or_init(|| !crate::schema::SCHEMA_TEXT.contains("enum")) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last: [Tok<'_>; 3] = [Tok::Other; 3];
    fn push<'a>(last: &mut [Tok<'a>; 3], t: Tok<'a>) {
        last[0] = last[1];
        last[1] = last[2];
        last[2] = t;
    }
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while bytes.get(i).is_some_and(|c| *c != b'\n') {
                i += 1;
            }
            continue;
        }
        if b == b'"' {
            let mut j = i + 1;
            let mut plain = true;
            while let Some(&c) = bytes.get(j) {
                if c == b'"' {
                    break;
                }
                if c == b'\\' {
                    plain = false;
                    j += 1;
                }
                if !c.is_ascii() {
                    plain = false;
                }
                j += 1;
            }
            let entity_id = matches!(last, [_, Tok::Ident(t), Tok::ColonColon] if t != "Action");
            let annotation = matches!(last, [Tok::At, Tok::Ident(_), Tok::LParen]);
            if entity_id || annotation {
                if !plain {
                    return None;
                }
                out.push_str("\"\"");
            } else {
                out.push_str(text.get(i..(j + 1).min(text.len()))?);
            }
            push(&mut last, Tok::Other);
            i = j + 1;
            continue;
        }
        if b.is_ascii_alphanumeric() || b == b'_' {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let ident = text.get(start..i)?;
            out.push_str(ident);
            push(&mut last, Tok::Ident(ident));
            continue;
        }
        if b.is_ascii_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if b == b':' && bytes.get(i + 1) == Some(&b':') {
            out.push_str("::");
            push(&mut last, Tok::ColonColon);
            i += 2;
            continue;
        }
        let ch = text.get(i..)?.chars().next()?;
        out.push(ch);
        push(
            &mut last,
            match ch {
                '@' => Tok::At,
                '(' => Tok::LParen,
                _ => Tok::Other,
            },
        );
        i += ch.len_utf8();
    }
    out.truncate(out.trim_end().len());
    Some(out)
}

/// Byte offsets of the line starts of one text, so that locating each of N policies costs
/// a binary search instead of a scan from the start (which made loading quadratic).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// 1-based line and column (in characters) of byte `offset` in `text`, as [`line_col`].
    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line.max(1), column)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Turns a Cedar diagnostic into a located one, using its first labelled span.
fn locate(file: &str, text: &str, diag: &dyn miette::Diagnostic) -> SourceDiagnostic {
    let (offset, len) = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| (l.offset(), l.len()))
        .unwrap_or((0, 1));
    let (line, column) = line_col(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or_default().to_owned();
    let on_line = source_line.chars().count().saturating_sub(column - 1);
    let width = text
        .get(offset..offset.saturating_add(len).min(text.len()))
        .map_or(1, |s| s.chars().count())
        .clamp(1, on_line.max(1));
    let mut message = diag.to_string();
    if let Some(source) = diag.source() {
        let extra = source.to_string();
        if !message.contains(&extra) {
            message = format!("{message}: {extra}");
        }
    }
    SourceDiagnostic {
        file: file.to_owned(),
        line,
        column,
        message,
        help: diag.help().map(|h| h.to_string()),
        source_line,
        width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("x", 0), (1, 1));
    }

    #[test]
    fn shape_blanks_entity_ids_and_annotations_but_not_actions_or_strings() {
        let a = shape(
            r#"@id("a") permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::File::"/a") when { resource.path like "/a*" }; // c"#,
        )
        .unwrap();
        let b = shape(
            r#"@id("b") permit(principal == User::"y", action == file_system::Action::"read", resource == file_system::File::"/b") when { resource.path like "/a*" };"#,
        )
        .unwrap();
        assert_eq!(a, b);
        for other in [
            r#"permit(principal == User::"x", action == file_system::Action::"open", resource == file_system::File::"/a") when { resource.path like "/a*" };"#,
            r#"permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::Dir::"/a") when { resource.path like "/a*" };"#,
            r#"permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::File::"/a") when { resource.path like "/b*" };"#,
        ] {
            assert_ne!(shape(other).unwrap(), a, "{other}");
        }
        assert!(shape(r#"permit(principal == User::"é", action, resource);"#).is_none());
        assert!(shape(r#"permit(principal == User::"a\u{202e}", action, resource);"#).is_none());
    }

    #[test]
    fn a_typo_in_a_later_policy_of_a_shape_is_still_reported() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!(
                "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/f{i}\");\n"
            ));
        }
        let valid = text.clone();
        text.push_str(
            "permit(principal, action == file_system::Action::\"read\", resource == file_system::Flie::\"/x\");\n",
        );
        text.push_str(
            "permit(principal, action == file_system::Action::\"raed\", resource == file_system::File::\"/y\");\n",
        );
        let Err(PolicyError::Invalid(errors)) = Policies::from_text("p.cedar", &text) else {
            panic!("the typos were not found");
        };
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert!(lines.contains(&6) && lines.contains(&7), "{errors:?}");
        assert!(lines.iter().all(|l| *l >= 6), "{errors:?}");
        assert_eq!(Policies::from_text("p.cedar", &valid).unwrap().len(), 5);
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        let text = "ab\ncé d\n\nxyz\n";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            if text.is_char_boundary(offset) {
                assert_eq!(
                    index.line_col(text, offset),
                    line_col(text, offset),
                    "{offset}"
                );
            }
        }
    }
}
