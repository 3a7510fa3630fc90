//! Bearer tokens: `Authorization: Bearer <token>` → SHA-256 → constant-time comparison
//! with every configured hash → the operator's principal and policy for that token.
//!
//! The server stores only hashes, so a leaked configuration file does not leak tokens.
//! What a match authorizes: submitting jobs that run as the token's principal under the
//! token's policy, and reading that principal's jobs. Nothing in a request can choose
//! another principal or policy.

use std::path::PathBuf;
use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::config::TokenConfig;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The Cedar principal its jobs run as.
    pub principal: String,
    /// The policy its jobs run under.
    pub policy: PathBuf,
}

/// The configured tokens, by hash.
#[derive(Debug, Clone)]
pub struct Tokens {
    entries: Arc<Vec<([u8; 32], Caller)>>,
}

impl Tokens {
    /// Tokens from the configuration (hashes already validated by `Config::load`; an
    /// unparsable hash is skipped and can match nothing).
    pub fn new(tokens: &[TokenConfig]) -> Self {
        let entries = tokens
            .iter()
            .filter_map(|t| {
                parse_hash(&t.sha256).map(|h| {
                    (
                        h,
                        Caller {
                            principal: t.principal.clone(),
                            policy: t.policy.clone(),
                        },
                    )
                })
            })
            .collect();
        Self {
            entries: Arc::new(entries),
        }
    }

    /// The caller for an `Authorization` header value, if it carries a known token.
    /// Every entry is compared in constant time, and all of them are compared, so timing
    /// says nothing about which hash (or how much of one) matched.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<Caller> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        if token.is_empty() {
            return None;
        }
        let presented = sha256(token.as_bytes());
        let mut found = None;
        for (hash, caller) in self.entries.iter() {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        found.cloned()
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Lowercase hex SHA-256 of a token, the form `[[token]] sha256` takes.
pub fn hash_token(token: &str) -> String {
    sha256(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random token: 32 bytes from the OS, hex (64 characters).
pub fn generate_token() -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Parses 64 hex digits (either case).
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        *out.get_mut(i)? = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_maps_to_its_principal_and_nothing_else_matches() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        let tokens = Tokens::new(&[
            TokenConfig {
                sha256: hash_token(&a),
                principal: "alice".into(),
                policy: "/a.cedar".into(),
            },
            TokenConfig {
                sha256: hash_token(&b).to_uppercase(),
                principal: "bob".into(),
                policy: "/b.cedar".into(),
            },
        ]);
        let who = |h: &str| tokens.authenticate(Some(h)).map(|c| c.principal);
        assert_eq!(who(&format!("Bearer {a}")).as_deref(), Some("alice"));
        assert_eq!(who(&format!("Bearer {b}")).as_deref(), Some("bob"));
        assert_eq!(who(&format!("Bearer {a}x")), None);
        assert_eq!(who(&format!("Basic {a}")), None);
        assert_eq!(who("Bearer "), None);
        assert_eq!(who(&hash_token(&a)), None);
        assert_eq!(tokens.authenticate(None), None);
    }

    #[test]
    fn hashes_match_the_sha256_test_vector() {
        assert_eq!(
            hash_token("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert!(parse_hash("zz").is_none());
        assert!(parse_hash(&"g".repeat(64)).is_none());
    }
}
