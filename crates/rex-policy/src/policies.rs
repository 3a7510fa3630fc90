//! Loading policy files: parse, validate strictly against the rex schema, remember where
//! each policy came from.

use std::collections::HashMap;
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
            for policy in parsed.policies() {
                let id = match policy.annotation("id") {
                    Some(id) => id.to_owned(),
                    None => format!("policy{counter}"),
                };
                counter += 1;
                let offset = policy
                    .to_cedar()
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
                let (line, column) = line_col(text, offset);
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
            let result = validator.validate(&file_set, ValidationMode::Strict);
            invalid.extend(result.validation_errors().map(|e| locate(file, text, e)));
            warnings.extend(result.validation_warnings().map(|w| locate(file, text, w)));
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
}
