//! Signed checkpoints of the ledger's head.
//!
//! A checkpoint is a compact JWS (RFC 7515) signed with the service's Ed25519 key, like a
//! consent token, so any JOSE library verifies it against `/.well-known/jwks.json`:
//!
//! - header `{"alg":"EdDSA","kid":"<RFC 7638 thumbprint of the signing key>","typ":"ledger-head+jwt"}`;
//!   the `typ` keeps it from ever passing for a consent token (whose `typ` is `JWT`), and
//!   a consent token from passing for it;
//! - claims `{"iss":"<issuer>","seq":<sequence of the newest record covered>,"head":"<its
//!   hash, 64 lowercase hex digits>","iat":<unix seconds when signed>}`.
//!
//! It says: "on `iat`, record `seq` of my ledger hashed to `head`". Since each record's
//! hash covers the one before it, that fixes every record up to `seq`. Whoever can write
//! the database can rewrite records and recompute their hashes, but not sign a new head:
//! a rewritten history no longer matches a checkpoint signed before, whether the
//! checkpoint is still in the database or was kept by a visitor (every receipt carries
//! one) or an auditor (`GET /v1/ledger/head`).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, TokenError};

use super::hex;
use crate::keys::KeyRing;

/// The `typ` of a signed head.
pub const TYP: &str = "ledger-head+jwt";

/// The claims of a signed head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadClaims {
    /// The service's issuer (the `iss` of its tokens).
    pub iss: String,
    /// The sequence of the newest record the checkpoint covers.
    pub seq: i64,
    /// That record's hash, lowercase hex.
    pub head: String,
    /// When it was signed, unix seconds.
    pub iat: u64,
}

impl HeadClaims {
    /// The head hash as bytes, if it is 64 hex digits.
    pub fn hash(&self) -> Option<[u8; 32]> {
        parse_hash(&self.head)
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The newest record it covers.
    pub sequence: i64,
    /// That record's hash.
    pub hash: [u8; 32],
    /// When it was signed, unix seconds.
    pub signed_at: u64,
    /// The key that signed it.
    pub kid: String,
    /// The compact JWS.
    pub token: String,
}

/// Why a signed head is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The JWS does not verify.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// It verifies but its claims are not a signed head.
    #[error("its claims are not a signed ledger head (iss, seq > 0, head as 64 hex digits, iat)")]
    Claims,
}

/// Verifies a signed head against `jwks` and returns its claims and the `kid` that
/// signed it.
///
/// # Errors
///
/// [`HeadError::Token`] when the signature, key or `typ` is wrong, [`HeadError::Claims`]
/// when the payload is not a head.
pub fn verify(jws: &str, jwks: &Jwks) -> Result<(HeadClaims, String), HeadError> {
    let signed = token::verify_typed(jws, jwks, TYP)?;
    let claims: HeadClaims =
        serde_json::from_slice(&signed.payload).map_err(|_| HeadError::Claims)?;
    if claims.seq <= 0 || claims.hash().is_none() {
        return Err(HeadError::Claims);
    }
    Ok((claims, signed.kid))
}

/// Signs checkpoints for a ledger writer, and says when one is due.
#[derive(Debug)]
pub struct Checkpointer {
    keys: Arc<KeyRing>,
    issuer: String,
    every: u64,
    interval: Duration,
}

impl Checkpointer {
    /// Checkpoints signed with `keys`' signing key of the moment, naming `issuer`: when at
    /// least `every` records are unanchored, or `interval` has passed since the last
    /// checkpoint with any record unanchored. `every = 1` signs on every batch.
    pub fn new(keys: Arc<KeyRing>, issuer: String, every: u64, interval: Duration) -> Self {
        Self {
            keys,
            issuer,
            every: every.max(1),
            interval,
        }
    }

    /// Records between checkpoints.
    pub fn every(&self) -> u64 {
        self.every
    }

    /// The longest time records stay unanchored (with `every > 1`).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether a checkpoint of `head` is due, after `last` (sequence, signed at).
    pub fn due(&self, head: i64, last: Option<(i64, u64)>, now_secs: u64) -> bool {
        match last {
            None => head > 0,
            Some((sequence, _)) if head <= sequence => false,
            Some((sequence, signed_at)) => {
                head - sequence >= i64::try_from(self.every).unwrap_or(i64::MAX)
                    || now_secs.saturating_sub(signed_at) >= self.interval.as_secs()
            }
        }
    }

    /// Signs the head `(sequence, hash)` now; `None` when no key signs at this moment
    /// (the start refuses that, so it is logged as a fault).
    pub fn sign(&self, sequence: i64, hash: [u8; 32], now_secs: u64) -> Option<SignedHead> {
        let Some(key) = self.keys.signer_at(now_secs) else {
            tracing::error!(
                sequence,
                "no key signs now: the ledger head is not checkpointed"
            );
            return None;
        };
        let claims = HeadClaims {
            iss: self.issuer.clone(),
            seq: sequence,
            head: hex(&hash),
            iat: now_secs,
        };
        // Strings and integers: serialising cannot fail.
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        Some(SignedHead {
            sequence,
            hash,
            signed_at: now_secs,
            kid: key.kid().to_owned(),
            token: key.sign_typed(TYP, &payload),
        })
    }
}

/// 64 hex digits as 32 bytes.
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0_u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_head_verifies_with_the_published_keys_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = Arc::new(KeyRing::load_or_generate(dir.path(), 100).expect("keys"));
        let signer = Checkpointer::new(
            keys.clone(),
            "vivus-consent".to_owned(),
            1,
            Duration::from_secs(10),
        );
        let head = signer.sign(7, [9; 32], 1_000).expect("signed");
        assert_eq!(head.kid, keys.signer_at(1_000).expect("key").kid());
        let (claims, kid) = verify(&head.token, keys.jwks()).expect("verifies");
        assert_eq!(kid, head.kid);
        assert_eq!(
            claims,
            HeadClaims {
                iss: "vivus-consent".to_owned(),
                seq: 7,
                head: hex(&[9; 32]),
                iat: 1_000
            }
        );
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = KeyRing::load_or_generate(other.path(), 100).expect("keys");
        assert_eq!(
            verify(&head.token, stranger.jwks()),
            Err(HeadError::Token(TokenError::UnknownKey))
        );
    }

    #[test]
    fn checkpoints_are_due_every_n_records_or_after_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = Arc::new(KeyRing::load_or_generate(dir.path(), 100).expect("keys"));
        let every_batch =
            Checkpointer::new(keys.clone(), "i".to_owned(), 1, Duration::from_secs(10));
        assert!(every_batch.due(1, None, 0));
        assert!(!every_batch.due(0, None, 0));
        assert!(every_batch.due(6, Some((5, 100)), 100));
        assert!(
            !every_batch.due(5, Some((5, 100)), 200),
            "nothing new to anchor"
        );
        let sparse = Checkpointer::new(keys, "i".to_owned(), 100, Duration::from_secs(10));
        assert!(!sparse.due(50, Some((1, 100)), 105));
        assert!(sparse.due(101, Some((1, 100)), 105));
        assert!(sparse.due(2, Some((1, 100)), 110));
    }
}
