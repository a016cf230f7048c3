//! The signed consent token: a JWS compact serialization (RFC 7515) signed with Ed25519
//! (`"alg":"EdDSA"`, RFC 8037), whose payload is the [`Claims`] of one recorded consent.
//!
//! The service signs it after recording a consent; the browser keeps it in the `vivus_consent`
//! cookie; the SDK, the service and the loan-application backend [`verify`] it against the
//! service's JWK set. Any standard JOSE library verifies it as well.
//!
//! Verification never lets the token choose how it is checked: the algorithm is pinned to
//! EdDSA, the key comes only from the caller's [`Jwks`] by `kid`, and embedded keys (`jwk`,
//! `jku`, `x5u`, …) are ignored. The checks run in this order, and the first failure is the
//! error: structure → algorithm → key → signature → issuer → expiry and issue time → policy.
//!
//! ```
//! # #[cfg(feature = "sign")] {
//! use vivus_consent_core::token::{self, Claims, Expected, SigningKey, TokenError};
//! use vivus_consent_core::jwk::Jwks;
//!
//! // The server: one key from a 32-byte secret seed, published as a JWK set.
//! let key = SigningKey::from_seed([0x5a; 32]);
//! let jwks = Jwks { keys: vec![key.public_jwk()] };
//!
//! let claims: Claims = serde_json::from_str(r#"{
//!     "iss": "https://consent.vivus.kz", "sub": "q83vEjRWeJCrze8SNFZ4kA",
//!     "jti": "AAECAwQFBgcICQoLDA0ODw", "iat": 1764000000, "exp": 1795536000,
//!     "pv": "v1", "pd": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//!     "lang": "kk", "cat": ["necessary", "analytics"], "pa": true
//! }"#)?;
//! let jws = key.sign(&claims);
//!
//! // Anyone with the key set: the SDK, the loan-application backend.
//! let expected = Expected {
//!     issuer: "https://consent.vivus.kz",
//!     policy_digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//!     now: 1764000100,
//! };
//! let verified = token::verify(&jws, &jwks, &expected)?;
//! assert_eq!(verified, claims);
//!
//! // A year later the same token has expired.
//! let later = Expected { now: 1795536000, ..expected };
//! assert_eq!(token::verify(&jws, &jwks, &later), Err(TokenError::Expired));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::base64url;
use crate::category::Categories;
use crate::consent::{ConsentId, ConsentRequest, SubjectId};
use crate::json;
use crate::jwk::{Jwks, ALG_EDDSA};
use crate::language::Language;

/// The longest token [`verify`] reads. A typical token is about 600 bytes; the cap keeps a
/// hostile cookie or request from costing more than a few microseconds to reject.
pub const MAX_TOKEN_LEN: usize = 4096;

/// How far in the future `iat` may lie before a token is [`TokenError::NotYetValid`], to absorb
/// clock skew between the service and the verifier.
pub const IAT_LEEWAY_SECONDS: u64 = 60;

const SIGNATURE_LEN: usize = 64;

/// The claims of a consent token: who consented to what, under which policy, and for how long.
///
/// Serialised with these short member names, in this order. Unknown claims are ignored when
/// parsing, so the service may add claims without breaking deployed verifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the consent service's URL.
    pub iss: String,
    /// Subject: the browser-scoped subject id.
    pub sub: SubjectId,
    /// Token id: the id of the consent this token records.
    pub jti: ConsentId,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch; the token is invalid from this second on.
    pub exp: u64,
    /// Policy version id the visitor saw, e.g. `"v1"`.
    pub pv: String,
    /// Lowercase hex SHA-256 of that policy's canonical text.
    pub pd: String,
    /// Language the visitor read the policy and banner in.
    pub lang: Language,
    /// Categories granted; always includes `necessary`.
    pub cat: Categories,
    /// Whether the visitor accepted the privacy policy (consent to personal-data processing).
    pub pa: bool,
}

impl Claims {
    /// The claims of the token that records `request`: its subject, consent id, policy,
    /// language, granted categories and policy acceptance, issued by `issuer` at `issued_at`
    /// and valid until `expires_at` (seconds since the epoch).
    ///
    /// Call it only for a request that passed [`ConsentRequest::validate`].
    pub fn from_request(
        request: &ConsentRequest,
        issuer: &str,
        issued_at: u64,
        expires_at: u64,
    ) -> Self {
        Claims {
            iss: issuer.to_owned(),
            sub: request.subject.clone(),
            jti: request.id.clone(),
            iat: issued_at,
            exp: expires_at,
            pv: request.policy.version.clone(),
            pd: request.policy.digest.clone(),
            lang: request.language,
            cat: request.granted(),
            pa: request.policy_accepted,
        }
    }
}

/// What the verifier requires of a token besides a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The issuer the token must name in `iss`.
    pub issuer: &'a str,
    /// The policy digest the token must carry in `pd`: the current policy's.
    pub policy_digest: &'a str,
    /// The current time, seconds since the Unix epoch (core reads no clock).
    pub now: u64,
}

/// Why a consent token is not valid. In every case the visitor's consent must be asked again
/// (or the key set refreshed); a token that fails is never partly trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// Not a compact JWS of the expected shape; the text says which part is wrong.
    #[error(
        "the consent token is malformed ({0}); discard it and ask the visitor for consent again"
    )]
    Malformed(&'static str),
    /// The header names an algorithm other than EdDSA, or the selected key is not Ed25519.
    #[error("the consent token is not signed with EdDSA by an Ed25519 key; discard it and ask the visitor for consent again")]
    UnsupportedAlgorithm,
    /// No usable key in the set has the token's `kid` (or the token has none).
    #[error("the consent token was signed by a key that is not in the key set; refresh the key set from /.well-known/jwks.json or ask the visitor for consent again")]
    UnknownKey,
    /// The signature does not match the header and claims: the token was altered or forged.
    #[error("the consent token's signature does not match its contents; discard it and ask the visitor for consent again")]
    BadSignature,
    /// `exp` is at or before the current time.
    #[error("the consent token has expired; ask the visitor for consent again")]
    Expired,
    /// `iat` is more than the leeway in the future.
    #[error("the consent token is issued in the future; check this machine's clock, then ask the visitor for consent again")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("the consent token was issued by another service; check the configured issuer or ask the visitor for consent again")]
    WrongIssuer,
    /// `pd` is not the current policy's digest.
    #[error("the consent token was given for another version of the privacy policy; ask the visitor to consent to the current policy")]
    OtherPolicy,
}

impl TokenError {
    /// A stable snake_case code for APIs, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::OtherPolicy => "other_policy",
        }
    }
}

/// The protected header members verification looks at; the rest are ignored.
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Whether `crit` was present at all, whatever its value (even `null`).
    crit: bool,
}

impl Header {
    /// Reads the header object: `alg` a string; `kid` and `typ` strings or `null` when present.
    fn from_json(bytes: &[u8]) -> Option<Header> {
        let v = json::parse_bytes(bytes).ok()?;
        Some(Header {
            alg: v.get("alg")?.str()?.to_owned(),
            kid: optional_string(v.get("kid"))?,
            typ: optional_string(v.get("typ"))?,
            crit: v.get("crit").is_some(),
        })
    }
}

/// An optional string member: absent or `null` is `Some(None)`, another type is `None`.
fn optional_string(member: Option<&json::Json>) -> Option<Option<String>> {
    match member.map(|m| &m.value) {
        None | Some(json::Value::Null) => Some(None),
        Some(json::Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

impl Claims {
    /// Reads the claims object, as strictly as the derived `Deserialize` (unknown claims are
    /// ignored; every known one is required and of its type; ids and names are validated).
    fn from_json(bytes: &[u8]) -> Option<Claims> {
        let v = json::parse_bytes(bytes).ok()?;
        let text = |name: &str| v.get(name).and_then(json::Json::str).map(str::to_owned);
        let lang = match v.get("lang")?.str()? {
            "ru" => Language::Ru,
            "kk" => Language::Kk,
            _ => return None,
        };
        let json::Value::Array(names) = &v.get("cat")?.value else {
            return None;
        };
        let mut cat = Categories::new();
        for name in names {
            cat.insert(name.str()?.parse().ok()?);
        }
        Some(Claims {
            iss: text("iss")?,
            sub: SubjectId::parse(v.get("sub")?.str()?).ok()?,
            jti: ConsentId::parse(v.get("jti")?.str()?).ok()?,
            iat: v.get("iat")?.whole()?,
            exp: v.get("exp")?.whole()?,
            pv: text("pv")?,
            pd: text("pd")?,
            lang,
            cat,
            pa: v.get("pa")?.bool()?,
        })
    }
}

/// The three segments of a compact JWS, still encoded.
struct Segments<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`: exactly the bytes the signature covers.
    signing_input: &'a str,
}

fn split(token: &str) -> Result<Segments<'_>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed("longer than 4096 bytes"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three dot-separated parts"));
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Segments {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// `typ`: `None` for a consent token (`typ` absent or `JWT`), `Some(t)` for another kind of
/// JWS, which must name exactly that type.
fn parse_header(encoded: &str, typ: Option<&str>) -> Result<Header, TokenError> {
    let bytes =
        base64url::decode(encoded).map_err(|_| TokenError::Malformed("header is not base64url"))?;
    let header = Header::from_json(&bytes).ok_or(TokenError::Malformed(
        "header is not a JSON object with an alg",
    ))?;
    if header.alg != ALG_EDDSA {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    if header.crit {
        return Err(TokenError::Malformed("header has critical extensions"));
    }
    // RFC 7515 §4.1.9: typ is compared case-insensitively; any other type is not a consent token.
    match typ {
        None if header
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT")) =>
        {
            return Err(TokenError::Malformed("header typ is not JWT"));
        }
        // Explicit typing (RFC 8725 §3.11): a consent token is never taken for another JWS
        // the service signs, nor the reverse.
        Some(required)
            if !header
                .typ
                .as_deref()
                .is_some_and(|typ| typ.eq_ignore_ascii_case(required)) =>
        {
            return Err(TokenError::Malformed("header typ is not the expected type"));
        }
        _ => {}
    }
    Ok(header)
}

fn parse_claims(encoded: &str) -> Result<Claims, TokenError> {
    let bytes = base64url::decode(encoded)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    Claims::from_json(&bytes).ok_or(TokenError::Malformed("payload is not consent token claims"))
}

// The key choice is the token's rule (step 3 of `verify`), so it lives here, beside the
// other steps, rather than with the key set's format.
impl Jwks {
    /// The raw Ed25519 public key a token whose header names `kid` must be verified with:
    /// step 3 of [`crate::token::verify`], shared with verifiers that bring their own
    /// Ed25519 primitive.
    ///
    /// # Errors
    ///
    /// [`TokenError::UnknownKey`] for no `kid`, no key with it, a key not for signatures or
    /// whose `x` is not 32 canonical bytes; [`TokenError::UnsupportedAlgorithm`] for a key
    /// that is not Ed25519.
    pub fn verification_key(&self, kid: Option<&str>) -> Result<[u8; 32], TokenError> {
        let jwk = kid
            .and_then(|kid| self.find(kid))
            .ok_or(TokenError::UnknownKey)?;
        if !jwk.is_eddsa() {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        if !jwk.is_for_signatures() {
            return Err(TokenError::UnknownKey);
        }
        // A key whose `x` is not 32 canonical bytes cannot verify anything: treat it as absent.
        jwk.public_key_bytes().ok_or(TokenError::UnknownKey)
    }
}

/// A token taken apart and its header checked, its signature not yet verified: what a
/// verifier with its own Ed25519 primitive (the browser's WebCrypto) needs, in the order
/// [`verify`] checks it. The rules stay here: [`decode`], the key's eligibility
/// ([`crate::jwk::Jwk::verification_key`]), [`Unverified::signature`], and
/// [`Unverified::claims`], which only a verified signature may reach.
#[derive(Debug, Clone)]
pub struct Unverified<'a> {
    kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

/// Splits a compact JWS and checks its header (steps 1 and 2 of [`verify`]).
///
/// # Errors
///
/// [`TokenError::Malformed`] or [`TokenError::UnsupportedAlgorithm`], as [`verify`] says.
pub fn decode(token: &str) -> Result<Unverified<'_>, TokenError> {
    decode_typed(token, None)
}

/// [`decode`] for a JWS whose header `typ` must be `typ` (`None`: a consent token, `JWT` or
/// no `typ`).
fn decode_typed<'a>(token: &'a str, typ: Option<&str>) -> Result<Unverified<'a>, TokenError> {
    let segments = split(token)?;
    let payload = base64url::decode(segments.payload)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let signature = base64url::decode(segments.signature)
        .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
    let header = parse_header(segments.header, typ)?;
    Ok(Unverified {
        kid: header.kid,
        signing_input: segments.signing_input,
        signature,
        payload,
    })
}

impl<'a> Unverified<'a> {
    /// The `kid` header, naming the key that must verify the signature.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The bytes the signature covers (`header.payload`, still encoded).
    pub fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The 64-byte Ed25519 signature (step 4 of [`verify`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`] when it is not 64 bytes. Checked only once a key was found,
    /// so that `alg: none` and HMAC tokens are reported as the wrong algorithm.
    pub fn signature(&self) -> Result<[u8; SIGNATURE_LEN], TokenError> {
        <[u8; SIGNATURE_LEN]>::try_from(self.signature.as_slice())
            .map_err(|_| TokenError::Malformed("signature is not 64 bytes"))
    }

    /// The claims, checked against `expected` (steps 5 and 6 of [`verify`]). Call it only
    /// once the signature verified: before that anyone could have written them.
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`], then [`TokenError::WrongIssuer`], [`TokenError::Expired`],
    /// [`TokenError::NotYetValid`], [`TokenError::OtherPolicy`].
    pub fn claims(self, expected: &Expected<'_>) -> Result<Claims, TokenError> {
        let claims = Claims::from_json(&self.payload)
            .ok_or(TokenError::Malformed("payload is not consent token claims"))?;
        if claims.iss != expected.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.exp <= expected.now {
            return Err(TokenError::Expired);
        }
        if claims.iat > expected.now.saturating_add(IAT_LEEWAY_SECONDS) {
            return Err(TokenError::NotYetValid);
        }
        if claims.pd != expected.policy_digest {
            return Err(TokenError::OtherPolicy);
        }
        Ok(claims)
    }
}

/// Verifies a consent token and returns its claims.
///
/// The key is the entry of `jwks` whose `kid` equals the token's `kid` header; it must be an
/// Ed25519 key (`"kty":"OKP"`, `"crv":"Ed25519"`, `alg` absent or `"EdDSA"`, `use` absent or
/// `"sig"`). The token must be signed with it, name `expected.issuer`, not have expired
/// (`exp > now`), not be issued more than [`IAT_LEEWAY_SECONDS`] after `now`, and carry
/// `expected.policy_digest`.
///
/// # Errors
///
/// The first failing check, in this order:
///
/// 1. [`TokenError::Malformed`]: more than [`MAX_TOKEN_LEN`] bytes, not exactly three
///    segments, padding, whitespace or other non-base64url bytes in any segment, a header that
///    is not a JSON object with a string `alg`, duplicate header members;
/// 2. [`TokenError::UnsupportedAlgorithm`]: `alg` is not exactly `EdDSA` (then `Malformed` for
///    a `crit` header or a `typ` other than `JWT`);
/// 3. [`TokenError::UnknownKey`]: no `kid`, or no usable key with it
///    ([`TokenError::UnsupportedAlgorithm`] if that key is not Ed25519);
/// 4. [`TokenError::Malformed`] if the signature is not 64 bytes, else
///    [`TokenError::BadSignature`];
/// 5. [`TokenError::Malformed`] if the signed claims do not parse as [`Claims`];
/// 6. [`TokenError::WrongIssuer`], [`TokenError::Expired`], [`TokenError::NotYetValid`],
///    [`TokenError::OtherPolicy`].
pub fn verify(token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<Claims, TokenError> {
    let unverified = decode(token)?;
    check_signature(&unverified, jwks)?;
    // Claims are only parsed once the signature proves the service wrote them.
    unverified.claims(expected)
}

/// Checks only that a consent token is well formed and signed by a key of `jwks`, and returns
/// its claims: steps 1 to 5 of [`verify`], without the issuer, time and policy checks.
///
/// For audits of tokens kept in the ledger, which have long expired and may be for earlier
/// policies; a token presented to grant anything goes through [`verify`].
///
/// # Errors
///
/// As [`verify`], steps 1 to 5.
pub fn verify_signature(token: &str, jwks: &Jwks) -> Result<Claims, TokenError> {
    let signed = verify_typed_inner(token, jwks, None)?;
    // Claims are only parsed once the signature proves the service wrote them.
    Claims::from_json(&signed.payload)
        .ok_or(TokenError::Malformed("payload is not consent token claims"))
}

/// A compact JWS whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `kid` of the key that signed it.
    pub kid: String,
    /// The decoded payload, for the caller to parse.
    pub payload: Vec<u8>,
}

/// Checks a compact JWS of another type than a consent token (for example the service's
/// signed ledger head): EdDSA, a key of `jwks` by `kid`, a valid signature, and a header
/// `typ` equal to `typ` (case-insensitive; a missing `typ` fails). Returns the payload
/// undecoded, since its claims are not consent token claims.
///
/// # Errors
///
/// As [`verify`], steps 1 to 4; [`TokenError::Malformed`] when `typ` is not the one required.
pub fn verify_typed(token: &str, jwks: &Jwks, typ: &str) -> Result<Signed, TokenError> {
    verify_typed_inner(token, jwks, Some(typ))
}

fn verify_typed_inner(token: &str, jwks: &Jwks, typ: Option<&str>) -> Result<Signed, TokenError> {
    let unverified = decode_typed(token, typ)?;
    check_signature(&unverified, jwks)?;
    let kid = unverified.kid.unwrap_or_default();
    Ok(Signed {
        kid,
        payload: unverified.payload,
    })
}

/// Steps 3 and 4 of [`verify`]: the key `jwks` has for the token's `kid`, and its signature.
fn check_signature(unverified: &Unverified<'_>, jwks: &Jwks) -> Result<(), TokenError> {
    let public_key = jwks.verification_key(unverified.kid())?;
    let signature = unverified.signature()?;
    ed25519_compact::PublicKey::new(public_key)
        .verify(
            unverified.signing_input().as_bytes(),
            &ed25519_compact::Signature::new(signature),
        )
        .map_err(|_| TokenError::BadSignature)
}

/// Decodes a token's claims WITHOUT verifying anything but its shape.
///
/// For diagnostics only (logs, the demo's "what is in my cookie" view); never base a decision
/// on the result: anyone can write these claims.
///
/// # Errors
///
/// [`TokenError::Malformed`] when the token is not three base64url segments or its payload is
/// not consent token claims.
pub fn peek_claims(token: &str) -> Result<Claims, TokenError> {
    parse_claims(split(token)?.payload)
}

#[cfg(feature = "sign")]
pub use signing::SigningKey;

#[cfg(feature = "sign")]
mod signing {
    use super::Claims;
    use crate::base64url;
    use crate::jwk::{Jwk, ALG_EDDSA};

    /// An Ed25519 signing key and its `kid` (feature `sign`; the service's side).
    ///
    /// Core has no randomness: the caller generates or loads the 32-byte seed. Signatures are
    /// deterministic (RFC 8032), so signing the same claims twice gives the same token.
    pub struct SigningKey {
        key_pair: ed25519_compact::KeyPair,
        kid: String,
        /// `base64url(header) + "."`, fixed per key.
        header_prefix: String,
    }

    impl std::fmt::Debug for SigningKey {
        // Only the public part: a `{:?}` in a log must not leak the secret.
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("SigningKey")
                .field("kid", &self.kid)
                .finish_non_exhaustive()
        }
    }

    impl SigningKey {
        /// The key derived from a 32-byte secret seed (RFC 8032 §5.1.5).
        ///
        /// # Panics
        ///
        /// If `seed` is all zeros, which only a misconfigured key file produces; ed25519-compact
        /// refuses it rather than sign with a publicly known key.
        pub fn from_seed(seed: [u8; 32]) -> Self {
            let key_pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
            let kid = Jwk::ed25519(&key_pair.pk, None).thumbprint();
            let header = Header {
                alg: ALG_EDDSA,
                kid: &kid,
                typ: "JWT",
            };
            // Serialising three strings cannot fail.
            let header_json = serde_json::to_vec(&header).unwrap_or_default();
            let mut header_prefix = base64url::encode(&header_json);
            header_prefix.push('.');
            SigningKey {
                key_pair,
                kid,
                header_prefix,
            }
        }

        /// The key id: the RFC 7638 thumbprint of [`SigningKey::public_jwk`].
        pub fn kid(&self) -> &str {
            &self.kid
        }

        /// The public key as a JWK with `kid`, `alg` and `use`, for the published key set.
        pub fn public_jwk(&self) -> Jwk {
            Jwk::ed25519(&self.key_pair.pk, Some(self.kid.clone()))
        }

        /// Signs `claims` into a compact JWS with header
        /// `{"alg":"EdDSA","kid":"<kid>","typ":"JWT"}`.
        pub fn sign(&self, claims: &Claims) -> String {
            // Claims hold strings, numbers, booleans and a category list: serialising them
            // cannot fail, so an empty payload here is unreachable.
            let payload = serde_json::to_vec(claims).unwrap_or_default();
            self.sign_with_prefix(&self.header_prefix, &payload)
        }

        /// Signs `payload` (a JSON object) into a compact JWS with header
        /// `{"alg":"EdDSA","kid":"<kid>","typ":"<typ>"}`, for what the service signs besides
        /// consent tokens; [`super::verify_typed`] checks it. `typ` must not be `JWT`, so
        /// that such a JWS is never taken for a consent token.
        pub fn sign_typed(&self, typ: &str, payload: &[u8]) -> String {
            debug_assert!(!typ.eq_ignore_ascii_case("JWT"));
            let header = Header {
                alg: ALG_EDDSA,
                kid: &self.kid,
                typ,
            };
            let header_json = serde_json::to_vec(&header).unwrap_or_default();
            let mut prefix = base64url::encode(&header_json);
            prefix.push('.');
            self.sign_with_prefix(&prefix, payload)
        }

        fn sign_with_prefix(&self, header_prefix: &str, payload: &[u8]) -> String {
            let mut token = String::with_capacity(
                header_prefix.len()
                    + base64url::encoded_len(payload.len())
                    + 1
                    + base64url::encoded_len(super::SIGNATURE_LEN),
            );
            token.push_str(header_prefix);
            base64url::encode_into(payload, &mut token);
            let signature = self.key_pair.sk.sign(token.as_bytes(), None);
            token.push('.');
            base64url::encode_into(signature.as_ref(), &mut token);
            token
        }
    }

    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: &'a str,
        kid: &'a str,
        typ: &'a str,
    }
}

#[cfg(test)]
mod json_reader_tests {
    use super::*;

    /// The hand-written readers accept exactly what the serde derives accept (plus refusing
    /// duplicate members, which RFC 7515 §5.2 lets a verifier refuse).
    #[test]
    fn claims_and_header_readers_agree_with_serde() {
        let valid = r#"{"iss":"i","sub":"q83vEjRWeJCrze8SNFZ4kA","jti":"AAECAwQFBgcICQoLDA0ODw","iat":1,"exp":2,"pv":"v1","pd":"d","lang":"kk","cat":["marketing","marketing"],"pa":false,"extra":{"x":[1.5]}}"#;
        let cases = [
            valid.to_owned(),
            valid.replace(r#""iat":1"#, r#""iat":1.0"#),
            valid.replace(r#""iat":1"#, r#""iat":-1"#),
            valid.replace(r#""iat":1"#, r#""iat":"1""#),
            valid.replace(r#""lang":"kk""#, r#""lang":"KK""#),
            valid.replace(r#""cat":["marketing","marketing"]"#, r#""cat":["ads"]"#),
            valid.replace(r#""cat":["marketing","marketing"]"#, r#""cat":"marketing""#),
            valid.replace(r#""pa":false"#, r#""pa":null"#),
            valid.replace(r#""sub":"q83vEjRWeJCrze8SNFZ4kA""#, r#""sub":"short""#),
            valid.replace(r#","extra":{"x":[1.5]}"#, ""),
            valid.replace(r#""pd":"d","#, ""),
            valid.replace(r#""iss":"i""#, r#""iss":"\u0069""#),
        ];
        for case in &cases {
            let ours = Claims::from_json(case.as_bytes());
            let serde = serde_json::from_str::<Claims>(case).ok();
            assert_eq!(ours, serde, "{case}");
        }
        assert!(Claims::from_json(valid.as_bytes()).is_some());
        assert!(
            Claims::from_json(br#"["i"]"#).is_none(),
            "an array is not a claims object"
        );

        for (header, ok) in [
            (r#"{"alg":"EdDSA","kid":"k","typ":"JWT"}"#, true),
            (
                r#"{"alg":"EdDSA","kid":null,"typ":null,"x5u":"https://x"}"#,
                true,
            ),
            (r#"{"alg":"EdDSA","kid":1}"#, false),
            (r#"{"kid":"k"}"#, false),
            (r#"{"alg":"EdDSA","crit":null}"#, true),
            (r#"{"alg":"EdDSA","alg":"none"}"#, false),
        ] {
            let parsed = Header::from_json(header.as_bytes());
            assert_eq!(parsed.is_some(), ok, "{header}");
        }
        assert!(Header::from_json(br#"{"alg":"EdDSA","crit":null}"#).is_some_and(|h| h.crit));
    }
}
