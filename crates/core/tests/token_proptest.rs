//! Properties of the token over random claims: what is signed verifies to exactly itself, and
//! no single-byte change to a token verifies at all. Needs `--features sign`.
#![cfg(feature = "sign")]

use proptest::prelude::*;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::token::{self, Claims, Expected, SigningKey};

fn claims() -> impl Strategy<Value = Claims> {
    (
        "\\PC{0,40}",
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        0u64..=u64::MAX / 2,
        1u64..=400 * 24 * 3600,
        "v[0-9]{1,3}",
        "[0-9a-f]{64}",
        prop_oneof![Just(Language::Ru), Just(Language::Kk)],
        proptest::collection::vec(
            prop_oneof![Just(Category::Analytics), Just(Category::Marketing)],
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(iss, sub, jti, iat, ttl, pv, pd, lang, cat, pa)| Claims {
            iss,
            sub: SubjectId::from_bytes(sub),
            jti: ConsentId::from_bytes(jti),
            iat,
            exp: iat + ttl,
            pv,
            pd,
            lang,
            cat: cat.into_iter().collect::<Categories>(),
            pa,
        })
}

fn verify(token: &str, jwks: &Jwks, claims: &Claims) -> Result<Claims, token::TokenError> {
    let expected = Expected {
        issuer: &claims.iss,
        policy_digest: &claims.pd,
        now: claims.iat,
    };
    token::verify(token, jwks, &expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_claims_verify_to_themselves(claims in claims(), seed in any::<[u8; 32]>()) {
        prop_assume!(seed != [0; 32]);
        let key = SigningKey::from_seed(seed);
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign(&claims);
        prop_assert_eq!(verify(&token, &jwks, &claims), Ok(claims.clone()));
        prop_assert_eq!(token::peek_claims(&token), Ok(claims));
    }

    #[test]
    fn no_single_byte_change_verifies(
        claims in claims(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let key = SigningKey::from_seed([0x42; 32]);
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign(&claims);
        let index = position.index(token.len());
        prop_assume!(token.as_bytes()[index] != replacement);
        let mut bytes = token.into_bytes();
        bytes[index] = replacement;
        // `verify` takes text; a change that breaks UTF-8 cannot even reach it.
        if let Ok(mutated) = String::from_utf8(bytes) {
            let result = verify(&mutated, &jwks, &claims);
            prop_assert!(result.is_err(), "byte {} -> {:#04x} verified: {:?}", index, replacement, result);
        }
    }

    #[test]
    fn arbitrary_text_never_panics_and_never_verifies(text in "\\PC{0,700}") {
        let key = SigningKey::from_seed([0x42; 32]);
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let expected = Expected { issuer: "https://consent.vivus.kz", policy_digest: "", now: 0 };
        prop_assert!(token::verify(&text, &jwks, &expected).is_err());
        let _ = token::peek_claims(&text);
    }

    #[test]
    fn arbitrary_segments_never_verify(
        header in proptest::collection::vec(any::<u8>(), 0..120),
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        signature in proptest::collection::vec(any::<u8>(), 64..=64),
    ) {
        use vivus_consent_core::base64url::encode;
        let key = SigningKey::from_seed([0x42; 32]);
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = format!("{}.{}.{}", encode(&header), encode(&payload), encode(&signature));
        let expected = Expected { issuer: "https://consent.vivus.kz", policy_digest: "", now: 0 };
        prop_assert!(token::verify(&token, &jwks, &expected).is_err());
    }
}
