//! Operator accounts: the people at the operator (data protection, compliance, support)
//! who read the ledger through `/v1/operator/...` and the console at `/operator/`.
//!
//! No identity service: `vivus-consent-server operator add NAME` creates an account and
//! prints its token once. A token is `vcop_` and 43 characters of base64url: 256 bits
//! from the operating system's random number generator. The database keeps only
//! `SHA-256(token)`:
//!
//! - the token is random, not a password a person chose, so a stolen hash cannot be
//!   reversed by guessing: 2^256 candidates are out of reach with any hash, and a slow one
//!   (argon2id) would add nothing but cost;
//! - that cost would be paid on every operator request and on every failed attempt (on a
//!   2-core machine, tens of milliseconds of CPU and megabytes of memory each, which makes
//!   failed sign-ins a cheap way to load the service);
//! - a fast, deterministic hash can be the lookup key: one indexed query finds the
//!   account, and the comparison is on hashes, which leaks nothing about the token.

mod postgres;
mod sqlite;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// What every operator token starts with: tells it apart from a visitor's consent token
/// (a JWS) at a glance, and lets secret scanners find leaked ones.
pub const TOKEN_PREFIX: &str = "vcop_";

/// Length of a token: the prefix and 32 bytes in base64url.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;

/// An operator account error.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is not one the service accepts.
    #[error("{0:?} is not an operator name; use 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit")]
    InvalidName(String),
    /// The name is taken (by an active or a revoked account).
    #[error("an operator named {0:?} already exists; names are never reused (the request log names people by them), pick another")]
    Exists(String),
    /// No account has the name.
    #[error("there is no operator named {0:?}; `vivus-consent-server operator list` shows them")]
    NotFound(String),
    /// The random number generator failed.
    #[error("the operating system's random number generator failed ({0}); no token was made")]
    Random(String),
    /// The database could not be opened.
    #[error("cannot open the operator accounts in {location}: {reason}")]
    Open {
        /// The path or URL, without a password.
        location: String,
        /// What the driver said.
        reason: String,
    },
    /// The database failed.
    #[error("operator accounts: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for AccountError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// A valid operator name: 1 to 64 of `A-Z a-z 0-9 . _ - @`, starting with a letter or
/// digit. Safe to log as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorName(String);

impl OperatorName {
    /// Checks a name.
    ///
    /// # Errors
    ///
    /// [`AccountError::InvalidName`].
    pub fn parse(name: &str) -> Result<Self, AccountError> {
        let ok = (1..=64).contains(&name.len())
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(AccountError::InvalidName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account as `operator list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The name.
    pub name: String,
    /// When it was created, ms since the epoch.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A new token and the hash the database keeps.
///
/// # Errors
///
/// [`AccountError::Random`].
pub fn new_token() -> Result<(String, [u8; 32]), AccountError> {
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AccountError::Random(e.to_string()))?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        vivus_consent_core::base64url::encode(&secret)
    );
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The hash under which a token is stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `text` has the shape of an operator token (prefix, length, base64url), so
/// anything else is refused without a database lookup.
pub fn is_token_shaped(text: &str) -> bool {
    text.len() == TOKEN_LEN
        && text.starts_with(TOKEN_PREFIX)
        && text[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where operator accounts are kept: next to the ledger, in the same database. The
/// tables come from the ledger's migrations, so open the ledger first.
#[async_trait]
pub trait Accounts: Send + Sync + fmt::Debug {
    /// Creates an account.
    ///
    /// # Errors
    ///
    /// [`AccountError::Exists`] when the name is taken, or a storage error.
    async fn add(
        &self,
        name: &OperatorName,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> Result<(), AccountError>;

    /// Every account, oldest first.
    ///
    /// # Errors
    ///
    /// A storage error.
    async fn list(&self) -> Result<Vec<Account>, AccountError>;

    /// Revokes an account: its token stops working at once. `Ok(false)` when it was
    /// already revoked.
    ///
    /// # Errors
    ///
    /// [`AccountError::NotFound`], or a storage error.
    async fn revoke(&self, name: &str, now_ms: i64) -> Result<bool, AccountError>;

    /// The name of the active account whose token hashes to `token_hash`.
    ///
    /// # Errors
    ///
    /// A storage error.
    async fn authenticate(&self, token_hash: &[u8; 32]) -> Result<Option<String>, AccountError>;
}

/// Opens the accounts in the database the ledger uses (`--database`).
///
/// # Errors
///
/// [`AccountError::Open`].
pub async fn open(database: &str) -> Result<Arc<dyn Accounts>, AccountError> {
    if crate::ledger::is_postgres_url(database) {
        Ok(Arc::new(postgres::PostgresAccounts::open(database).await?))
    } else {
        let path = crate::ledger::sqlite_path(database);
        Ok(Arc::new(sqlite::SqliteAccounts::open(path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_their_hash() {
        let (a, hash_a) = new_token().expect("token");
        let (b, _) = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(is_token_shaped(&a));
        assert_eq!(hash_a, token_hash(&a));
        assert!(
            !is_token_shaped("eyJhbGciOiJFZERTQSJ9.e30.sig"),
            "a consent token is not an operator token"
        );
        assert!(!is_token_shaped(&a[..TOKEN_LEN - 1]));
        assert!(!is_token_shaped(&format!("{}!", &a[..TOKEN_LEN - 1])));
    }

    #[test]
    fn names_are_safe_to_log() {
        for good in ["alice", "dpo@vivus.kz", "support-2", "A.B_c"] {
            OperatorName::parse(good).expect(good);
        }
        for bad in ["", "-x", "has space", "new\nline", "ключ", &"a".repeat(65)] {
            assert!(OperatorName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
