//! Verification of fixed tokens, so the build without `sign` (the wasm SDK's) is tested against
//! real signatures. The vectors are made by `examples/interop.rs` with seed `42` × 32.

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Expected, TokenError};

const TOKEN: &str = include_str!("../benches/typical.jws");
const JWKS: &str = include_str!("../benches/typical.jwks.json");
const ISSUER: &str = "https://consent.vivus.kz";
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NOW: u64 = 1_764_000_100;

fn jwks() -> Jwks {
    serde_json::from_str(JWKS).expect("vector JWKS parses")
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        policy_digest: DIGEST,
        now: NOW,
    }
}

#[test]
fn the_vector_verifies_without_the_sign_feature() {
    let claims = token::verify(TOKEN.trim_end(), &jwks(), &expected()).expect("vector verifies");
    assert_eq!(claims.sub.as_str(), "q83vEjRWeJCrze8SNFZ4kA");
    assert_eq!(claims.jti.as_str(), "AAECAwQFBgcICQoLDA0ODw");
    assert_eq!((claims.iat, claims.exp), (1_764_000_000, 1_795_536_000));
    assert_eq!(
        serde_json::to_string(&claims.cat).expect("cat"),
        r#"["necessary","analytics","marketing"]"#
    );
    assert!(claims.pa);
}

#[test]
fn every_single_character_change_is_refused() {
    let token = TOKEN.trim_end();
    let jwks = jwks();
    let alphabet = b"ABCZaqz09-_.=+/ ";
    for index in 0..token.len() {
        for &replacement in alphabet {
            if token.as_bytes()[index] == replacement {
                continue;
            }
            let mut bytes = token.as_bytes().to_vec();
            bytes[index] = replacement;
            let mutated = String::from_utf8(bytes).expect("ascii");
            let result = token::verify(&mutated, &jwks, &expected());
            assert!(
                result.is_err(),
                "change at {index} to {:?} verified",
                replacement as char
            );
        }
    }
}

#[test]
fn truncations_and_extensions_are_refused() {
    let token = TOKEN.trim_end();
    let jwks = jwks();
    for len in 0..token.len() {
        assert!(
            token::verify(&token[..len], &jwks, &expected()).is_err(),
            "prefix of {len}"
        );
    }
    for suffix in ["A", "AA", "AAA", ".", "=", "\n", " "] {
        let longer = format!("{token}{suffix}");
        assert!(
            token::verify(&longer, &jwks, &expected()).is_err(),
            "{suffix:?}"
        );
    }
    assert!(
        matches!(
            token::verify(TOKEN, &jwks, &expected()),
            Err(TokenError::Malformed(_))
        ),
        "the trailing newline of the file itself"
    );
}
