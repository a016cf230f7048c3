//! Arbitrary bytes as a consent token against a fixed key set: verification must never panic,
//! and nothing but the one genuine token may ever verify (anything else would be a forgery).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Expected};

const GENUINE: &str = include_str!("../../benches/typical.jws");
const JWKS: &str = include_str!("../../benches/typical.jwks.json");

fn jwks() -> &'static Jwks {
    static JWKS_PARSED: OnceLock<Jwks> = OnceLock::new();
    JWKS_PARSED.get_or_init(|| serde_json::from_str(JWKS).expect("fixed JWKS parses"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expected = Expected {
        issuer: "https://consent.vivus.kz",
        policy_digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        now: 1_764_000_100,
    };
    if let Ok(claims) = token::verify(text, jwks(), &expected) {
        assert_eq!(
            text,
            GENUINE.trim_end(),
            "a token other than the genuine one verified: {claims:?}"
        );
    }
    let _ = token::peek_claims(text);
});
