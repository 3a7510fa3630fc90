//! Error types of `rex-policy`.

use std::fmt;

/// A path that is not canonical, or a name that is not one component.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("path `{0}` is not absolute")]
    NotAbsolute(String),
    /// The path has `.`, `..`, empty components or a trailing `/`.
    #[error("path `{0}` is not canonical")]
    NotCanonical(String),
    /// The path contains a NUL byte.
    #[error("path `{0}` contains a NUL byte")]
    Nul(String),
    /// A file name that is empty, `.`, `..`, or contains `/` or NUL.
    #[error("`{0}` is not a single file name")]
    BadName(String),
}

/// One problem found in a policy file, located in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDiagnostic {
    /// The file the policy came from, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when Cedar knows (e.g. "did you mean `open`?").
    pub help: Option<String>,
    /// The source line, for display.
    pub source_line: String,
    /// Length in characters of the offending text on that line (at least 1).
    pub width: usize,
}

impl fmt::Display for SourceDiagnostic {
    /// `file:line:col: message`, then the line with the offending text underlined, then
    /// the help if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n{:gutter$} = help: {help}", "")?;
        }
        Ok(())
    }
}

/// Why a policy set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The text is not Cedar.
    #[error("policy syntax error:\n{}", join(.0))]
    Parse(Vec<SourceDiagnostic>),
    /// The policies parse but do not validate against the rex schema.
    #[error("policy does not validate against the rex schema:\n{}", join(.0))]
    Invalid(Vec<SourceDiagnostic>),
    /// Two files declare the same `@id`.
    #[error("policy id `{0}` is declared twice")]
    DuplicateId(String),
    /// The embedded schema failed to load (a build defect).
    #[error("embedded rex schema is invalid: {0}")]
    Schema(String),
}

impl PolicyError {
    /// The located problems, if this error has any.
    pub fn diagnostics(&self) -> &[SourceDiagnostic] {
        match self {
            Self::Parse(d) | Self::Invalid(d) => d,
            _ => &[],
        }
    }
}

fn join(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a [`crate::Gate`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The audit log could not be opened for appending.
    #[error("cannot open audit log `{path}`: {source}")]
    AuditLog {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The principal name is empty.
    #[error("principal name must not be empty")]
    EmptyPrincipal,
    /// The embedded schema failed to load (a build defect).
    #[error("embedded rex schema is invalid: {0}")]
    Schema(String),
}
