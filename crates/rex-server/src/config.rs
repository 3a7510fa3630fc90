//! `rex-server.toml`: where to listen, who may call, what each caller's jobs may use.
//!
//! The operator writes this file; callers never influence it. Each token maps to a Cedar
//! principal and a policy file chosen here, and every request's limits are capped here.
//! Loading validates everything up front (each policy against the rex schema, TLS files,
//! token hashes), so a typo refuses to start instead of denying or allowing at run time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration problem, with the offending value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("`{path}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("`{path}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the value.
        message: String,
    },
    /// A token's policy file does not load or validate.
    #[error("`{path}`: policy of principal `{principal}`: {message}")]
    Policy {
        /// The configuration file.
        path: PathBuf,
        /// The token's principal.
        principal: String,
        /// The policy error.
        message: String,
    },
}

/// The whole server configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (default `127.0.0.1:8420`; port 0 picks a free port).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Directory for the job store (`jobs.redb`). Created if missing, mode 0700.
    pub data_dir: PathBuf,
    /// Decision log (JSON Lines) every job appends to, with its job id and principal.
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// The `rex` binary that runs jobs (default: the running executable).
    #[serde(default)]
    pub rex_binary: Option<PathBuf>,
    /// Kernel backstop for every job: `off`, `auto` (default) or `required`.
    #[serde(default = "default_sandbox")]
    pub sandbox: String,
    /// TLS; without it the server speaks plain HTTP (fine on loopback only).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Caps on every job and on the server's load.
    #[serde(default)]
    pub limits: Limits,
    /// Tokens written inline.
    #[serde(default)]
    pub token: Vec<TokenConfig>,
    /// A file of more `[[token]]` tables (same format), e.g. managed apart from this file.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// `Host` header values the MCP endpoint (`/mcp`) accepts besides loopback names and
    /// the listen address (DNS-rebinding protection), e.g. the server's public DNS name.
    #[serde(default)]
    pub mcp_allowed_hosts: Vec<String>,
}

/// TLS certificate chain and private key, PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (leaf first).
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// One caller: the SHA-256 of its bearer token, the principal and policy its jobs get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Lowercase hex SHA-256 of the token (`rex serve hash-token` prints it).
    pub sha256: String,
    /// Cedar principal name: jobs run as `User::"<principal>"`.
    pub principal: String,
    /// The Cedar policy file the jobs of this token run under.
    pub policy: PathBuf,
}

/// Operator caps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Highest `timeout_secs` a caller may ask for (default 300).
    pub max_timeout_secs: f64,
    /// Timeout of a job that asks for none (default 30).
    pub default_timeout_secs: f64,
    /// Resident memory of one job's process (default 512 MiB).
    pub max_memory_bytes: u64,
    /// Bytes of output kept from one job; a job printing more is killed (default 1 MiB).
    pub max_output_bytes: usize,
    /// Largest request body: script plus arguments (default 1 MiB).
    pub max_request_bytes: usize,
    /// Jobs running at once (default: the number of CPUs).
    pub max_concurrent: usize,
    /// Jobs waiting for a slot; beyond it submissions get 429 (default 64).
    pub max_queue: usize,
    /// Seconds a finished job's result is kept (default 86400).
    pub result_ttl_secs: u64,
    /// Jobs returned by a listing at most (default 100).
    pub max_list: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_timeout_secs: 300.0,
            default_timeout_secs: 30.0,
            max_memory_bytes: 512 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            max_request_bytes: 1024 * 1024,
            max_concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_queue: 64,
            result_ttl_secs: 86_400,
            max_list: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenConfig>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8420))
}

fn default_sandbox() -> String {
    "auto".to_owned()
}

impl Config {
    /// Reads and validates `path` (and its `token_file`). Relative paths inside are
    /// resolved against the file's directory. Every policy is loaded and validated.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(path, &text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(file) = config.token_file.clone() {
            let file = base.join(file);
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let extra: TokenFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: file.clone(),
                message: e.to_string(),
            })?;
            let dir = file.parent().unwrap_or(Path::new(".")).to_owned();
            config.token.extend(extra.token.into_iter().map(|mut t| {
                t.policy = dir.join(&t.policy);
                t
            }));
        }
        config.resolve(base);
        config.validate(path)?;
        Ok(config)
    }

    /// Parses TOML text without touching the filesystem (no validation of files).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn resolve(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| *p = base.join(&*p);
        join(&mut self.data_dir);
        if let Some(a) = &mut self.audit_log {
            join(a);
        }
        if let Some(b) = &mut self.rex_binary {
            join(b);
        }
        if let Some(t) = &mut self.tls {
            join(&mut t.cert);
            join(&mut t.key);
        }
        for t in &mut self.token {
            join(&mut t.policy);
        }
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if !matches!(self.sandbox.as_str(), "off" | "auto" | "required") {
            return Err(invalid(format!(
                "sandbox must be `off`, `auto` or `required`, got `{}`",
                self.sandbox
            )));
        }
        let l = &self.limits;
        if !(l.max_timeout_secs > 0.0 && l.max_timeout_secs.is_finite()) {
            return Err(invalid(format!(
                "limits.max_timeout_secs must be positive, got `{}`",
                l.max_timeout_secs
            )));
        }
        if !(l.default_timeout_secs > 0.0 && l.default_timeout_secs <= l.max_timeout_secs) {
            return Err(invalid(format!(
                "limits.default_timeout_secs must be in (0, max_timeout_secs], got `{}`",
                l.default_timeout_secs
            )));
        }
        if l.max_concurrent == 0 {
            return Err(invalid("limits.max_concurrent must be at least `1`".into()));
        }
        if self.token.is_empty() {
            return Err(invalid(
                "no `[[token]]`: nobody could call the server".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.token {
            if crate::auth::parse_hash(&t.sha256).is_none() {
                return Err(invalid(format!(
                    "token of principal `{}`: sha256 must be 64 hex digits, got `{}`",
                    t.principal, t.sha256
                )));
            }
            if !seen.insert(t.sha256.to_ascii_lowercase()) {
                return Err(invalid(format!("token hash `{}` appears twice", t.sha256)));
            }
            if t.principal.is_empty() || t.principal.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "token principal `{}` must be non-empty, without control characters",
                    t.principal
                )));
            }
            let policy = t.policy.to_string_lossy().into_owned();
            rex_policy::Policies::load_files(&[policy]).map_err(|e| ConfigError::Policy {
                path: path.to_owned(),
                principal: t.principal.clone(),
                message: e.to_string(),
            })?;
        }
        if let Some(tls) = &self.tls {
            for f in [&tls.cert, &tls.key] {
                if !f.is_file() {
                    return Err(invalid(format!("tls file `{}` not found", f.display())));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loads_defaults_tokens_and_a_token_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "p.cedar", "");
        write(
            dir.path(),
            "tokens.toml",
            &format!(
                "[[token]]\nsha256 = \"{}\"\nprincipal = \"bob\"\npolicy = \"p.cedar\"\n",
                HASH.replace('9', "8")
            ),
        );
        let cfg = write(
            dir.path(),
            "rex-server.toml",
            &format!(
                "data_dir = \"data\"\ntoken_file = \"tokens.toml\"\n[limits]\nmax_queue = 3\n\
                 [[token]]\nsha256 = \"{HASH}\"\nprincipal = \"alice\"\npolicy = \"p.cedar\"\n"
            ),
        );
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.listen, default_listen());
        assert_eq!(c.limits.max_queue, 3);
        assert_eq!(c.limits.max_timeout_secs, 300.0);
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert_eq!(c.token.len(), 2);
        assert_eq!(c.token[1].principal, "bob");
        assert_eq!(c.token[1].policy, dir.path().join("p.cedar"));
    }

    #[test]
    fn the_reference_in_operators_md_parses() {
        let doc = include_str!("../../../docs/operators.md");
        let toml_block = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        let c = Config::parse(Path::new("operators.md"), toml_block).unwrap();
        assert!(c.tls.is_some());
        assert_eq!(c.token.len(), 1);
        assert_eq!(c.limits.max_concurrent, 2);
    }

    #[test]
    fn refuses_bad_values_with_the_offending_value() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "p.cedar", "");
        write(
            dir.path(),
            "bad.cedar",
            "permit(principal, action == file_system::Action::\"opne\", resource);",
        );
        let cases = [
            ("sandbox = \"maybe\"\n", "p.cedar", HASH, "`maybe`"),
            ("", "p.cedar", "abc", "`abc`"),
            ("", "bad.cedar", HASH, "principal `alice`"),
            ("typo = 1\n", "p.cedar", HASH, "typo"),
            ("[limits]\nmax_timeout_secs = -1\n", "p.cedar", HASH, "`-1`"),
        ];
        for (extra, policy, hash, want) in cases {
            let cfg = write(
                dir.path(),
                "c.toml",
                &format!(
                    "data_dir = \"d\"\n{extra}[[token]]\nsha256 = \"{hash}\"\nprincipal = \"alice\"\npolicy = \"{policy}\"\n"
                ),
            );
            // `[limits]` must come before `[[token]]` in TOML, which it does above.
            let err = Config::load(&cfg).unwrap_err().to_string();
            assert!(err.contains(want), "{extra:?}: {err}");
        }
    }
}
