//! Ed25519 public keys as JSON Web Keys (RFC 7517, RFC 8037) and key sets.
//!
//! The service publishes its verification keys at `/.well-known/jwks.json`; the SDK and any
//! third party verify consent tokens against that set. A token names its key with the `kid`
//! header, which is the key's RFC 7638 thumbprint. The verifier only compares `kid` strings, so a
//! JWK without a `kid` can never be selected and never verifies anything.
//!
//! Parsing follows RFC 7517 §5: members a JWK does not define here are ignored, and entries of a
//! set that are not octet key pairs (`"kty":"OKP"`), or lack the members one needs, are skipped
//! rather than failing the whole set, so a set may also carry keys for other uses.

use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The JWK key type of Ed25519 keys (RFC 8037 §2).
pub const KTY_OKP: &str = "OKP";
/// The JWK curve name of Ed25519 (RFC 8037 §2).
pub const CRV_ED25519: &str = "Ed25519";
/// The JWS algorithm of Ed25519 signatures (RFC 8037 §3.1).
pub const ALG_EDDSA: &str = "EdDSA";

/// One public key.
///
/// Only Ed25519 keys verify tokens: [`crate::token::verify`] rejects a selected key whose `kty`,
/// `crv` or `alg` says otherwise instead of trusting any of them to choose an algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; `"OKP"` for Ed25519.
    pub kty: String,
    /// Curve; `"Ed25519"`.
    pub crv: String,
    /// The 32-byte public key, unpadded base64url.
    pub x: String,
    /// Key id, matched against a token's `kid` header: the RFC 7638 thumbprint. Without it the
    /// key cannot be selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for; when present it must be `"EdDSA"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; when present it must be `"sig"` for the key to verify tokens.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwk {
    /// The JWK of an Ed25519 public key with the given `kid`, and `alg`/`use` set so other JOSE
    /// libraries pick it for EdDSA verification. The server's keys use their thumbprint as `kid`
    /// (see `SigningKey::public_jwk`, feature `sign`).
    pub fn ed25519(public_key: &[u8; 32], kid: Option<String>) -> Self {
        Jwk {
            kty: KTY_OKP.to_owned(),
            crv: CRV_ED25519.to_owned(),
            x: crate::base64url::encode(public_key),
            kid,
            alg: Some(ALG_EDDSA.to_owned()),
            use_: Some("sig".to_owned()),
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 of `{"crv":…,"kty":…,"x":…}` (required members only, in
    /// lexicographic order, no whitespace), unpadded base64url. This is the `kid`.
    ///
    /// Only the server computes it (feature `sign`); verifiers match `kid` strings.
    #[cfg(feature = "sign")]
    pub fn thumbprint(&self) -> String {
        use sha2::{Digest, Sha256};
        // serde_json escapes strings exactly as RFC 7638 §3.3 asks (RFC 8259 form).
        let members = [("crv", &self.crv), ("kty", &self.kty), ("x", &self.x)];
        let mut canonical = String::from("{");
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                canonical.push(',');
            }
            canonical.push('"');
            canonical.push_str(name);
            canonical.push_str("\":");
            canonical.push_str(&json_string(value));
        }
        canonical.push('}');
        crate::base64url::encode(&Sha256::digest(canonical.as_bytes()))
    }

    /// Whether this JWK describes an Ed25519 key usable for EdDSA signatures.
    pub fn is_eddsa(&self) -> bool {
        self.kty == KTY_OKP
            && self.crv == CRV_ED25519
            && self.alg.as_deref().is_none_or(|alg| alg == ALG_EDDSA)
    }

    /// Whether the key may verify signatures (`use` absent or `"sig"`).
    pub fn is_for_signatures(&self) -> bool {
        self.use_.as_deref().is_none_or(|u| u == "sig")
    }

    /// The raw 32-byte public key, if `x` is canonical base64url of 32 bytes.
    pub fn public_key_bytes(&self) -> Option<[u8; 32]> {
        crate::base64url::decode_array(&self.x).ok()
    }
}

#[cfg(feature = "sign")]
fn json_string(value: &str) -> String {
    // Serialising a str cannot fail; the fallback keeps the function total without a panic.
    serde_json::to_string(value).unwrap_or_default()
}

/// A JWK set (RFC 7517 §5): `{"keys":[…]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// The keys; after parsing only octet key pairs remain.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The first key whose `kid` is `kid`. Keys without `kid` never match.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }
}

impl<'de> Deserialize<'de> for Jwks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<Entry>,
        }
        // Every member optional and of any type, so that a key this crate cannot read (another
        // kty, a missing member, a value of the wrong type) is skipped instead of failing the
        // whole set. Hand-rolled rather than `#[serde(untagged)]`, which buffers each entry
        // and costs 3.4 KB more wasm (1.4 KB gzipped) in the SDK.
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            kty: Lenient,
            #[serde(default)]
            crv: Lenient,
            #[serde(default)]
            x: Lenient,
            #[serde(default)]
            kid: Lenient,
            #[serde(default)]
            alg: Lenient,
            #[serde(default, rename = "use")]
            use_: Lenient,
        }
        let raw = Raw::deserialize(deserializer)?;
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|entry| match (entry.kty.0, entry.crv.0, entry.x.0) {
                (Some(kty), Some(crv), Some(x)) if kty == KTY_OKP => Some(Jwk {
                    kty,
                    crv,
                    x,
                    kid: entry.kid.0,
                    alg: entry.alg.0,
                    use_: entry.use_.0,
                }),
                _ => None,
            })
            .collect();
        Ok(Jwks { keys })
    }
}

/// A JWK member read leniently: a string, or `None` for a value of any other type.
#[derive(Default)]
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
        Ok(Lenient(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient, E> {
        Ok(Lenient(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient, E> {
        Ok(Lenient(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lenient, E> {
        Ok(Lenient(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient, E> {
        Ok(Lenient(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lenient, E> {
        Ok(Lenient(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
        Ok(Lenient(None))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Lenient(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_members_are_ignored_and_foreign_keys_skipped() {
        let json = r#"{"keys":[
            {"kty":"RSA","n":"0vx7","e":"AQAB","kid":"rsa-1"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a","key_ops":["verify"],"ext":true},
            {"kty":"OKP","crv":"X25519"},
            {"kty":"OKP","crv":"Ed25519","x":7,"kid":"b"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":["c"],"use":null},
            {"kty":"EC","crv":"P-256","x":"f83O","y":"x_FE","kid":"ec-1"}
        ]}"#;
        let jwks: Jwks = serde_json::from_str(json).expect("a set with foreign keys parses");
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[0].kid.as_deref(), Some("a"));
        // A kid of the wrong type is no kid: the key stays in the set but can never be selected.
        assert_eq!(jwks.keys[1].kid, None);
        assert!(jwks.find("a").is_some_and(Jwk::is_eddsa));
        assert!(jwks.find("rsa-1").is_none());
    }

    #[test]
    fn a_set_without_keys_is_an_error() {
        assert!(serde_json::from_str::<Jwks>(r#"{"kty":"OKP"}"#).is_err());
        assert!(serde_json::from_str::<Jwks>(r#"{"keys":{}}"#).is_err());
    }

    #[test]
    fn keys_without_kid_are_never_selected() {
        let mut jwk = Jwk::ed25519(&[7; 32], None);
        jwk.kid = None;
        let jwks = Jwks { keys: vec![jwk] };
        assert!(jwks.find("").is_none());
    }

    #[test]
    fn algorithm_and_use_gate_the_key() {
        let mut jwk = Jwk::ed25519(&[7; 32], None);
        assert!(jwk.is_eddsa() && jwk.is_for_signatures());
        jwk.alg = Some("ES256".into());
        assert!(!jwk.is_eddsa());
        jwk.alg = None;
        jwk.crv = "Ed448".into();
        assert!(!jwk.is_eddsa());
        jwk.use_ = Some("enc".into());
        assert!(!jwk.is_for_signatures());
    }

    #[test]
    fn public_key_bytes_need_exactly_32_canonical_bytes() {
        let jwk = Jwk::ed25519(&[9; 32], Some("k".into()));
        assert_eq!(jwk.public_key_bytes(), Some([9; 32]));
        let short = Jwk {
            x: crate::base64url::encode(&[9; 31]),
            ..jwk.clone()
        };
        assert_eq!(short.public_key_bytes(), None);
        let padded = Jwk {
            x: format!("{}=", jwk.x),
            ..jwk
        };
        assert_eq!(padded.public_key_bytes(), None);
    }

    #[cfg(feature = "sign")]
    #[test]
    fn thumbprint_matches_rfc8037_appendix_a3() {
        // RFC 8037 A.3: the thumbprint of the A.2 public key.
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .expect("RFC 8037 A.2 key");
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
