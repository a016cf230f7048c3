//! A command line over the token API, so tests in other languages can check that consent
//! tokens interoperate with JOSE libraries nobody here wrote (`tests/node/jose-interop.test.mjs`).
//!
//! ```text
//! interop sign <seed-hex> <claims-json>      prints the token
//! interop jwks <seed-hex>                    prints the JWK set of the key
//! interop verify <jwks-json> <token> <issuer> <policy-digest> <now>
//!                                            prints the claims, or the error code and exits 1
//! ```
//!
//! Run with `cargo run -q -p vivus-consent-core --features sign --example interop -- …`.
// A CLI talks on stdout.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Claims, Expected, SigningKey};

const USAGE: &str = "usage: interop sign <seed-hex> <claims-json> | jwks <seed-hex> | verify <jwks-json> <token> <issuer> <policy-digest> <now>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(Outcome::Print(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Rejected(error)) => {
            println!("{}", error.code());
            eprintln!("{error}");
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

enum Outcome {
    Print(String),
    Rejected(token::TokenError),
}

fn run(args: &[&str]) -> Result<Outcome, String> {
    match args {
        ["sign", seed, claims] => {
            let key = SigningKey::from_seed(seed_from_hex(seed)?);
            let claims: Claims = serde_json::from_str(claims)
                .map_err(|e| format!("claims-json is not valid claims: {e}"))?;
            Ok(Outcome::Print(key.sign(&claims)))
        }
        ["jwks", seed] => {
            let key = SigningKey::from_seed(seed_from_hex(seed)?);
            let jwks = Jwks {
                keys: vec![key.public_jwk()],
            };
            serde_json::to_string(&jwks)
                .map(Outcome::Print)
                .map_err(|e| e.to_string())
        }
        ["verify", jwks, jws, issuer, digest, now] => {
            let jwks: Jwks = serde_json::from_str(jwks)
                .map_err(|e| format!("jwks-json is not a JWK set: {e}"))?;
            let now: u64 = now
                .parse()
                .map_err(|_| format!("now {now:?} is not seconds since the epoch"))?;
            let expected = Expected {
                issuer,
                policy_digest: digest,
                now,
            };
            match token::verify(jws, &jwks, &expected) {
                Ok(claims) => serde_json::to_string(&claims)
                    .map(Outcome::Print)
                    .map_err(|e| e.to_string()),
                Err(error) => Ok(Outcome::Rejected(error)),
            }
        }
        _ => Err(USAGE.to_owned()),
    }
}

fn seed_from_hex(hex: &str) -> Result<[u8; 32], String> {
    let bad = || format!("seed {hex:?} must be 64 hex digits (32 bytes)");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut seed = [0u8; 32];
    for (byte, pair) in seed.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    if seed == [0; 32] {
        return Err("an all-zero seed is not a secret; use random bytes".to_owned());
    }
    Ok(seed)
}
