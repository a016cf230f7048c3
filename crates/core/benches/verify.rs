//! Cost of verifying (and, with `--features sign`, signing) a typical consent token.
//!
//! `cargo bench -p vivus-consent-core [--features sign]`
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Expected};

/// A typical token, signed by the key of seed `[0x42; 32]` (see `examples/interop.rs`).
/// Kept as a literal so the bench also runs without the `sign` feature.
const TOKEN: &str = include_str!("typical.jws");
const JWKS: &str = include_str!("typical.jwks.json");
const ISSUER: &str = "https://consent.vivus.kz";
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NOW: u64 = 1_764_000_100;

fn verify(c: &mut Criterion) {
    let jwks: Jwks = serde_json::from_str(JWKS).expect("bench JWKS parses");
    let expected = Expected {
        issuer: ISSUER,
        policy_digest: DIGEST,
        now: NOW,
    };
    let token = TOKEN.trim_end();
    token::verify(token, &jwks, &expected).expect("bench token verifies");
    c.bench_function("verify typical token", |b| {
        b.iter(|| token::verify(black_box(token), black_box(&jwks), black_box(&expected)))
    });
    c.bench_function("parse JWKS (one key)", |b| {
        b.iter(|| serde_json::from_str::<Jwks>(black_box(JWKS)))
    });
    c.bench_function("peek claims", |b| {
        b.iter(|| token::peek_claims(black_box(token)))
    });
}

#[cfg(feature = "sign")]
fn sign(c: &mut Criterion) {
    let key = token::SigningKey::from_seed([0x42; 32]);
    let claims = token::peek_claims(TOKEN.trim_end()).expect("bench token has claims");
    assert_eq!(
        key.sign(&claims),
        TOKEN.trim_end(),
        "typical.jws is out of date; regenerate it"
    );
    c.bench_function("sign typical token", |b| {
        b.iter(|| key.sign(black_box(&claims)))
    });
    c.bench_function("derive key from seed", |b| {
        b.iter(|| token::SigningKey::from_seed(black_box([0x42; 32])))
    });
}

#[cfg(not(feature = "sign"))]
fn sign(_: &mut Criterion) {}

criterion_group!(benches, verify, sign);
criterion_main!(benches);
