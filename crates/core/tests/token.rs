//! The signed consent token end to end: signing, verification, and every way a token must be
//! refused. Needs `--features sign`; `token_vectors.rs` covers verification without it.
#![cfg(feature = "sign")]

use ed25519_compact::{KeyPair, Seed};
use vivus_consent_core::base64url;
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::jwk::{Jwk, Jwks};
use vivus_consent_core::token::{
    self, Claims, Expected, SigningKey, TokenError, IAT_LEEWAY_SECONDS, MAX_TOKEN_LEN,
};

const ISSUER: &str = "https://consent.vivus.kz";
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const IAT: u64 = 1_764_000_000;
const YEAR: u64 = 365 * 24 * 3600;
const SEED: [u8; 32] = [0x42; 32];
const OTHER_SEED: [u8; 32] = [0x17; 32];

fn claims() -> Claims {
    serde_json::from_value(serde_json::json!({
        "iss": ISSUER,
        "sub": SubjectId::from_bytes([0xab; 16]),
        "jti": ConsentId::from_bytes([0x01; 16]),
        "iat": IAT, "exp": IAT + YEAR,
        "pv": "v1", "pd": DIGEST, "lang": "kk",
        "cat": ["necessary", "analytics"], "pa": true,
    }))
    .expect("test claims are valid")
}

fn expected(now: u64) -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        policy_digest: DIGEST,
        now,
    }
}

fn setup() -> (SigningKey, Jwks) {
    let key = SigningKey::from_seed(SEED);
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    (key, jwks)
}

fn verify(token: &str, jwks: &Jwks) -> Result<Claims, TokenError> {
    token::verify(token, jwks, &expected(IAT + 100))
}

/// A compact JWS over arbitrary header and payload JSON, signed by the key of `seed`: the
/// attacker's (or a buggy issuer's) tool, which `SigningKey` deliberately is not.
fn sign_raw(seed: [u8; 32], header: &serde_json::Value, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        base64url::encode(&serde_json::to_vec(header).expect("header serialises")),
        base64url::encode(payload)
    );
    let signature = KeyPair::from_seed(Seed::new(seed))
        .sk
        .sign(input.as_bytes(), None);
    format!("{input}.{}", base64url::encode(signature.as_ref()))
}

fn header(kid: &str) -> serde_json::Value {
    serde_json::json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"})
}

fn claims_json(claims: &Claims) -> Vec<u8> {
    serde_json::to_vec(claims).expect("claims serialise")
}

/// Splits a token into its decoded header, payload and signature.
fn parts(token: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut it = token
        .split('.')
        .map(|part| base64url::decode(part).expect("test token segment"));
    let (Some(h), Some(p), Some(s)) = (it.next(), it.next(), it.next()) else {
        panic!("test token has three parts")
    };
    (h, p, s)
}

fn join(header: &[u8], payload: &[u8], signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        base64url::encode(header),
        base64url::encode(payload),
        base64url::encode(signature)
    )
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn a_signed_token_verifies_to_its_claims() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    assert_eq!(verify(&token, &jwks), Ok(claims()));
    assert_eq!(token::peek_claims(&token), Ok(claims()));
}

#[test]
fn the_header_is_the_documented_one() {
    let (key, _) = setup();
    let (header, _, signature) = parts(&key.sign(&claims()));
    let expected = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"JWT"}}"#, key.kid());
    assert_eq!(String::from_utf8(header).expect("utf-8 header"), expected);
    assert_eq!(signature.len(), 64);
}

#[test]
fn the_kid_is_the_rfc7638_thumbprint_of_the_public_jwk() {
    let (key, _) = setup();
    let jwk = key.public_jwk();
    assert_eq!(jwk.kid.as_deref(), Some(key.kid()));
    assert_eq!(jwk.thumbprint(), key.kid());
    assert_eq!(key.kid().len(), 43);
    assert_ne!(SigningKey::from_seed(OTHER_SEED).kid(), key.kid());
    assert_eq!(
        jwk.public_key_bytes(),
        Some(*KeyPair::from_seed(Seed::new(SEED)).pk)
    );
}

#[test]
fn signing_is_deterministic() {
    let (key, _) = setup();
    assert_eq!(
        key.sign(&claims()),
        SigningKey::from_seed(SEED).sign(&claims())
    );
}

#[test]
fn a_typical_token_fits_comfortably_in_a_cookie() {
    let (key, _) = setup();
    let token = key.sign(&claims());
    // Browsers keep at least 4096 bytes per cookie; the token must leave room for the name and
    // attributes and must not approach the verifier's cap.
    assert!(token.len() < 600, "typical token is {} bytes", token.len());
    eprintln!("typical consent token: {} bytes", token.len());
}

#[test]
fn debug_output_does_not_show_the_secret() {
    let (key, _) = setup();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.kid()));
    assert!(
        !debug.contains("42, 42") && !debug.contains("4242"),
        "{debug}"
    );
}

#[test]
fn malformed_structure_is_rejected() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    let (h, p, s) = token
        .split('.')
        .map(str::to_owned)
        .fold((None, None, None), |acc, part| match acc {
            (None, _, _) => (Some(part), None, None),
            (a, None, _) => (a, Some(part), None),
            (a, b, _) => (a, b, Some(part)),
        });
    let (h, p, s) = (h.expect("h"), p.expect("p"), s.expect("s"));
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("two parts", format!("{h}.{p}")),
        ("four parts", format!("{token}.{s}")),
        ("trailing dot", format!("{token}.")),
        ("leading space", format!(" {token}")),
        ("trailing newline", format!("{token}\n")),
        (
            "space inside payload",
            format!("{h}.{} {}.{s}", &p[..10], &p[10..]),
        ),
        ("padding on the signature", format!("{token}==")),
        ("padding on the header", format!("{h}=.{p}.{s}")),
        (
            "standard base64 alphabet",
            format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
        ),
        (
            "JSON serialization",
            serde_json::json!({"protected": h, "payload": p, "signature": s}).to_string(),
        ),
        (
            "header not JSON",
            format!("{}.{p}.{s}", base64url::encode(b"alg=EdDSA")),
        ),
        (
            "header a JSON array",
            format!("{}.{p}.{s}", base64url::encode(br#"["EdDSA","kid"]"#)),
        ),
        (
            "header without alg",
            format!("{}.{p}.{s}", base64url::encode(br#"{"kid":"x"}"#)),
        ),
    ];
    for (what, bad) in cases {
        assert!(
            matches!(verify(&bad, &jwks), Err(TokenError::Malformed(_))),
            "{what}: {:?}",
            verify(&bad, &jwks)
        );
    }
}

#[test]
fn oversized_tokens_are_rejected_before_anything_else() {
    let (key, jwks) = setup();
    let mut big = claims();
    big.iss = "x".repeat(MAX_TOKEN_LEN);
    let token = key.sign(&big);
    let expected = Expected {
        issuer: &big.iss,
        policy_digest: DIGEST,
        now: IAT,
    };
    assert_eq!(
        token::verify(&token, &jwks, &expected),
        Err(TokenError::Malformed("longer than 4096 bytes"))
    );
    assert!(token::peek_claims(&token).is_err());

    // Just under the cap is still read.
    let overhead = key
        .sign(&Claims {
            iss: String::new(),
            ..claims()
        })
        .len();
    let fits = Claims {
        iss: "x".repeat((MAX_TOKEN_LEN - overhead) * 3 / 4 - 2),
        ..claims()
    };
    let token = key.sign(&fits);
    assert!(token.len() <= MAX_TOKEN_LEN);
    let expected = Expected {
        issuer: &fits.iss,
        policy_digest: DIGEST,
        now: IAT,
    };
    assert_eq!(token::verify(&token, &jwks, &expected), Ok(fits.clone()));
}

#[test]
fn header_extensions_and_foreign_types_are_rejected() {
    let (key, jwks) = setup();
    let payload = claims_json(&claims());
    let kid = key.kid();
    let cases = [
        (
            "crit",
            serde_json::json!({"alg":"EdDSA","kid":kid,"crit":["exp"],"exp":1}),
        ),
        (
            "crit null",
            serde_json::json!({"alg":"EdDSA","kid":kid,"crit":null}),
        ),
        (
            "b64 false",
            serde_json::json!({"alg":"EdDSA","kid":kid,"b64":false,"crit":["b64"]}),
        ),
        (
            "typ at+jwt",
            serde_json::json!({"alg":"EdDSA","kid":kid,"typ":"at+jwt"}),
        ),
    ];
    for (what, header) in cases {
        let token = sign_raw(SEED, &header, &payload);
        assert!(
            matches!(verify(&token, &jwks), Err(TokenError::Malformed(_))),
            "{what}"
        );
    }
    // Duplicate members are ambiguous (RFC 7515 §4): refuse rather than pick one.
    let duplicate = format!(r#"{{"alg":"EdDSA","kid":"{kid}","alg":"none"}}"#);
    let token = key.sign(&claims());
    let (_, p, s) = parts(&token);
    assert!(matches!(
        verify(&join(duplicate.as_bytes(), &p, &s), &jwks),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn optional_header_members_do_not_matter() {
    let (key, jwks) = setup();
    let payload = claims_json(&claims());
    for header in [
        serde_json::json!({"alg":"EdDSA","kid":key.kid()}),
        serde_json::json!({"alg":"EdDSA","kid":key.kid(),"typ":"jwt","cty":"x"}),
    ] {
        assert_eq!(
            verify(&sign_raw(SEED, &header, &payload), &jwks),
            Ok(claims())
        );
    }
}

#[test]
fn alg_none_is_refused() {
    let (key, jwks) = setup();
    let payload = base64url::encode(&claims_json(&claims()));
    for alg in ["none", "None", "NONE"] {
        let header =
            base64url::encode(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid()).as_bytes());
        assert_eq!(
            verify(&format!("{header}.{payload}."), &jwks),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    // The classic confusion attack: a verifier that lets the header choose the algorithm would
    // check an HMAC keyed with the (public) key bytes and accept this forgery.
    let (key, jwks) = setup();
    let mut forged = claims();
    forged.cat = serde_json::from_str(r#"["necessary","analytics","marketing"]"#).expect("cat");
    let header = base64url::encode(
        format!(r#"{{"alg":"HS256","kid":"{}","typ":"JWT"}}"#, key.kid()).as_bytes(),
    );
    let input = format!("{header}.{}", base64url::encode(&claims_json(&forged)));
    let jwk = key.public_jwk();
    for secret in [
        jwk.x.as_bytes().to_vec(),
        jwk.public_key_bytes().expect("x").to_vec(),
        serde_json::to_vec(&jwk).expect("jwk"),
    ] {
        let mac = hmac_sha256(&secret, input.as_bytes());
        let token = format!("{input}.{}", base64url::encode(&mac));
        assert_eq!(verify(&token, &jwks), Err(TokenError::UnsupportedAlgorithm));
    }
}

#[test]
fn other_algorithms_are_refused_whatever_the_signature() {
    let (key, jwks) = setup();
    let real = key.sign(&claims());
    let (_, p, s) = parts(&real);
    for alg in [
        "RS256", "ES256", "PS256", "HS512", "Ed25519", "eddsa", "EdDSA ", "",
    ] {
        let header = format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid());
        assert_eq!(
            verify(&join(header.as_bytes(), &p, &s), &jwks),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn a_selected_key_that_is_not_ed25519_is_refused() {
    let (key, _) = setup();
    let token = key.sign(&claims());
    let good = key.public_jwk();
    let variants = [
        Jwk {
            kty: "EC".into(),
            ..good.clone()
        },
        Jwk {
            crv: "X25519".into(),
            ..good.clone()
        },
        Jwk {
            crv: "Ed448".into(),
            ..good.clone()
        },
        Jwk {
            alg: Some("ES256".into()),
            ..good.clone()
        },
    ];
    for jwk in variants {
        let jwks = Jwks {
            keys: vec![jwk.clone()],
        };
        assert_eq!(
            verify(&token, &jwks),
            Err(TokenError::UnsupportedAlgorithm),
            "{jwk:?}"
        );
    }
    let encryption_key = Jwks {
        keys: vec![Jwk {
            use_: Some("enc".into()),
            ..good.clone()
        }],
    };
    assert_eq!(verify(&token, &encryption_key), Err(TokenError::UnknownKey));
    let broken_x = Jwks {
        keys: vec![Jwk {
            x: format!("{}=", good.x),
            ..good
        }],
    };
    assert_eq!(verify(&token, &broken_x), Err(TokenError::UnknownKey));
}

#[test]
fn unknown_or_missing_kid_is_refused() {
    let (key, jwks) = setup();
    let payload = claims_json(&claims());
    let no_kid = sign_raw(SEED, &serde_json::json!({"alg":"EdDSA"}), &payload);
    assert_eq!(verify(&no_kid, &jwks), Err(TokenError::UnknownKey));
    let other_kid = sign_raw(SEED, &header("not-a-key-of-ours"), &payload);
    assert_eq!(verify(&other_kid, &jwks), Err(TokenError::UnknownKey));
    // The right key, published without a kid, cannot be selected.
    let anonymous = Jwks {
        keys: vec![Jwk {
            kid: None,
            ..key.public_jwk()
        }],
    };
    assert_eq!(
        verify(&key.sign(&claims()), &anonymous),
        Err(TokenError::UnknownKey)
    );
    assert_eq!(
        verify(&key.sign(&claims()), &Jwks::default()),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn an_embedded_key_is_never_used() {
    // RFC 7515 `jwk` header: an attacker's own key, offered to a verifier that trusts headers.
    let (_, jwks) = setup();
    let attacker = SigningKey::from_seed(OTHER_SEED);
    let header = serde_json::json!({
        "alg": "EdDSA", "kid": attacker.kid(), "jwk": attacker.public_jwk(),
        "jku": "https://attacker.example/jwks.json",
    });
    let token = sign_raw(OTHER_SEED, &header, &claims_json(&claims()));
    assert_eq!(verify(&token, &jwks), Err(TokenError::UnknownKey));
}

#[test]
fn flipped_bits_break_the_signature() {
    let (key, jwks) = setup();
    let (h, p, s) = parts(&key.sign(&claims()));
    for bit in [0, 7, 100, 8 * (p.len() - 1)] {
        let mut payload = p.clone();
        payload[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            verify(&join(&h, &payload, &s), &jwks).err(),
            Some(TokenError::BadSignature),
            "payload bit {bit}"
        );
    }
    for bit in [0, 255, 256, 511] {
        let mut signature = s.clone();
        signature[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            verify(&join(&h, &p, &signature), &jwks).err(),
            Some(TokenError::BadSignature),
            "signature bit {bit}"
        );
    }
    // The header is signed too: a harmless-looking change is still a forgery.
    let header = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"jwt"}}"#, key.kid());
    assert_eq!(
        verify(&join(header.as_bytes(), &p, &s), &jwks).err(),
        Some(TokenError::BadSignature)
    );
}

#[test]
fn tampered_claims_without_resigning_are_refused() {
    let (key, jwks) = setup();
    let (h, _, s) = parts(&key.sign(&claims()));
    let tamperings: [fn(&mut Claims); 4] = [
        |c| c.exp += 10 * 365 * 24 * 3600,
        |c| c.cat = serde_json::from_str(r#"["necessary","analytics","marketing"]"#).expect("cat"),
        |c| c.sub = SubjectId::from_bytes([0xcd; 16]),
        |c| c.pa = false,
    ];
    for tamper in tamperings {
        let mut forged = claims();
        tamper(&mut forged);
        let token = join(&h, &claims_json(&forged), &s);
        assert_eq!(verify(&token, &jwks), Err(TokenError::BadSignature));
        // peek_claims shows the forgery without complaint: that is why it is diagnostics only.
        assert_eq!(token::peek_claims(&token), Ok(forged));
    }
}

#[test]
fn resigning_with_another_key_is_refused_unless_that_key_is_published() {
    let (key, jwks) = setup();
    let other = SigningKey::from_seed(OTHER_SEED);
    let payload = claims_json(&claims());
    // Another key, claiming to be ours: the signature does not match our key.
    let impostor = sign_raw(OTHER_SEED, &header(key.kid()), &payload);
    assert_eq!(verify(&impostor, &jwks), Err(TokenError::BadSignature));
    // Another key under its own kid, which we do not publish.
    assert_eq!(
        verify(&other.sign(&claims()), &jwks),
        Err(TokenError::UnknownKey)
    );
    // Key rotation: both keys published, tokens of either verify.
    let rotated = Jwks {
        keys: vec![other.public_jwk(), key.public_jwk()],
    };
    assert_eq!(verify(&other.sign(&claims()), &rotated), Ok(claims()));
    assert_eq!(verify(&key.sign(&claims()), &rotated), Ok(claims()));
}

#[test]
fn expiry_is_exclusive_and_has_no_leeway() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    let exp = claims().exp;
    assert_eq!(
        token::verify(&token, &jwks, &expected(exp - 1)),
        Ok(claims())
    );
    assert_eq!(
        token::verify(&token, &jwks, &expected(exp)),
        Err(TokenError::Expired)
    );
    assert_eq!(
        token::verify(&token, &jwks, &expected(u64::MAX)),
        Err(TokenError::Expired)
    );
}

#[test]
fn a_token_from_the_future_is_not_yet_valid_beyond_the_leeway() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    assert_eq!(
        token::verify(&token, &jwks, &expected(IAT - IAT_LEEWAY_SECONDS)),
        Ok(claims())
    );
    assert_eq!(
        token::verify(&token, &jwks, &expected(IAT - IAT_LEEWAY_SECONDS - 1)),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        token::verify(&token, &jwks, &expected(0)),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn another_issuer_is_refused() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    for issuer in [
        "https://consent.vivus.kz/",
        "https://evil.example",
        "",
        "HTTPS://CONSENT.VIVUS.KZ",
    ] {
        let expected = Expected {
            issuer,
            ..expected(IAT)
        };
        assert_eq!(
            token::verify(&token, &jwks, &expected),
            Err(TokenError::WrongIssuer),
            "{issuer}"
        );
    }
}

#[test]
fn another_policy_digest_is_refused() {
    let (key, jwks) = setup();
    let token = key.sign(&claims());
    let upper = DIGEST.to_uppercase();
    for digest in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        &upper,
        &DIGEST[1..],
        "",
    ] {
        let expected = Expected {
            policy_digest: digest,
            ..expected(IAT)
        };
        assert_eq!(
            token::verify(&token, &jwks, &expected),
            Err(TokenError::OtherPolicy),
            "{digest}"
        );
    }
}

#[test]
fn checks_run_in_the_documented_order() {
    let (key, jwks) = setup();
    let mut bad = claims();
    bad.iss = "https://evil.example".into();
    bad.exp = IAT;
    bad.pd = "00".into();
    let token = key.sign(&bad);
    // Signature before claims: a forged expired token is a forgery, not merely expired.
    let (h, p, mut s) = parts(&token);
    s[0] ^= 1;
    assert_eq!(
        verify(&join(&h, &p, &s), &jwks),
        Err(TokenError::BadSignature)
    );
    // Issuer, then time, then policy.
    assert_eq!(verify(&token, &jwks), Err(TokenError::WrongIssuer));
    bad.iss = ISSUER.into();
    assert_eq!(verify(&key.sign(&bad), &jwks), Err(TokenError::Expired));
    bad.exp = IAT + YEAR;
    bad.iat = IAT + YEAR - 1;
    assert_eq!(verify(&key.sign(&bad), &jwks), Err(TokenError::NotYetValid));
    bad.iat = IAT;
    assert_eq!(verify(&key.sign(&bad), &jwks), Err(TokenError::OtherPolicy));
    // The algorithm is judged before the key is looked up.
    let header = br#"{"alg":"HS256","kid":"nobody"}"#;
    assert_eq!(
        verify(&join(header, &p, &s), &jwks),
        Err(TokenError::UnsupportedAlgorithm)
    );
}

#[test]
fn signed_claims_must_still_be_consent_claims() {
    let (key, jwks) = setup();
    let mut missing = serde_json::to_value(claims()).expect("claims");
    missing.as_object_mut().expect("object").remove("exp");
    let mut bad_sub = serde_json::to_value(claims()).expect("claims");
    bad_sub["sub"] = "not-a-subject".into();
    let mut negative = serde_json::to_value(claims()).expect("claims");
    negative["exp"] = (-1).into();
    let mut bad_lang = serde_json::to_value(claims()).expect("claims");
    bad_lang["lang"] = "en".into();
    // The claims' values in declaration order, as an array: serde would take it for a struct.
    let positional = serde_json::Value::Array(
        serde_json::to_value(claims())
            .expect("claims")
            .as_object()
            .expect("object")
            .values()
            .cloned()
            .collect(),
    );
    for payload in [
        missing,
        bad_sub,
        negative,
        bad_lang,
        positional,
        serde_json::json!([1, 2]),
    ] {
        let token = sign_raw(
            SEED,
            &header(key.kid()),
            &serde_json::to_vec(&payload).expect("json"),
        );
        assert!(
            matches!(verify(&token, &jwks), Err(TokenError::Malformed(_))),
            "{payload}"
        );
    }
    let not_json = sign_raw(SEED, &header(key.kid()), b"\xff\xfe");
    assert!(matches!(
        verify(&not_json, &jwks),
        Err(TokenError::Malformed(_))
    ));
    let signature_too_short = {
        let (h, p, s) = parts(&key.sign(&claims()));
        join(&h, &p, &s[..63])
    };
    assert!(matches!(
        verify(&signature_too_short, &jwks),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn unknown_claims_are_ignored() {
    let (key, jwks) = setup();
    let mut payload = serde_json::to_value(claims()).expect("claims");
    payload["nbf"] = 0.into();
    payload["future_claim"] = serde_json::json!({"nested": [1, 2, 3]});
    let token = sign_raw(
        SEED,
        &header(key.kid()),
        &serde_json::to_vec(&payload).expect("json"),
    );
    assert_eq!(verify(&token, &jwks), Ok(claims()));
}

#[test]
fn errors_have_stable_codes_and_actionable_lowercase_messages() {
    let all = [
        TokenError::Malformed("not three dot-separated parts"),
        TokenError::UnsupportedAlgorithm,
        TokenError::UnknownKey,
        TokenError::BadSignature,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::WrongIssuer,
        TokenError::OtherPolicy,
    ];
    let codes: Vec<&str> = all.iter().map(TokenError::code).collect();
    assert_eq!(
        codes,
        [
            "malformed",
            "unsupported_algorithm",
            "unknown_key",
            "bad_signature",
            "expired",
            "not_yet_valid",
            "wrong_issuer",
            "other_policy"
        ]
    );
    for error in all {
        let message = error.to_string();
        assert!(message.starts_with("the consent token"), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        assert!(message.contains("; "), "says what to do: {message}");
    }
    assert!(TokenError::Malformed("header is not base64url")
        .to_string()
        .contains("header is not base64url"));
}

#[test]
fn claims_from_a_request_carry_its_choices() {
    use vivus_consent_core::category::Category;
    use vivus_consent_core::consent::ConsentRequest;
    use vivus_consent_core::policy;
    let request: ConsentRequest = serde_json::from_value(serde_json::json!({
        "id": ConsentId::from_bytes([0x01; 16]), "subject": SubjectId::from_bytes([0xab; 16]),
        "policy": policy::CURRENT, "language": "kk",
        "categories": {"necessary": true, "analytics": false, "marketing": true},
        "policyAccepted": false, "source": "form", "gpc": true,
    }))
    .expect("request parses");
    let claims = Claims::from_request(&request, ISSUER, IAT, IAT + YEAR);
    assert_eq!(
        (claims.sub, claims.jti),
        (request.subject.clone(), request.id)
    );
    assert_eq!(
        (claims.iat, claims.exp, claims.iss.as_str()),
        (IAT, IAT + YEAR, ISSUER)
    );
    assert_eq!(
        (claims.pv.as_str(), claims.pd.as_str()),
        (policy::CURRENT.id, policy::CURRENT.digest)
    );
    assert_eq!(
        claims.cat.iter().collect::<Vec<_>>(),
        [Category::Necessary, Category::Marketing]
    );
    assert!(!claims.pa);
    assert_eq!(serde_json::to_value(claims.lang).expect("lang"), "kk");
}

/// What the service signs besides consent tokens (its ledger head) is typed: it verifies as
/// its own type only, and a consent token never passes for it, nor it for a consent token.
#[test]
fn typed_jws_and_consent_tokens_never_pass_for_each_other() {
    let (key, jwks) = setup();
    let head = key.sign_typed("ledger-head+jwt", br#"{"seq":7}"#);
    let signed =
        token::verify_typed(&head, &jwks, "ledger-head+jwt").expect("verifies as its type");
    assert_eq!(signed.kid, key.kid());
    assert_eq!(signed.payload, br#"{"seq":7}"#);
    assert!(
        token::verify_typed(&head, &jwks, "LEDGER-HEAD+JWT").is_ok(),
        "typ is case-insensitive"
    );
    assert_eq!(
        token::verify_typed(&head, &jwks, "other+jwt"),
        Err(TokenError::Malformed("header typ is not the expected type"))
    );
    assert_eq!(
        verify(&head, &jwks),
        Err(TokenError::Malformed("header typ is not JWT"))
    );
    assert_eq!(
        token::verify_signature(&head, &jwks),
        Err(TokenError::Malformed("header typ is not JWT"))
    );

    let consent = key.sign(&claims());
    assert_eq!(
        token::verify_typed(&consent, &jwks, "ledger-head+jwt"),
        Err(TokenError::Malformed("header typ is not the expected type"))
    );
    let untyped = sign_raw(
        SEED,
        &serde_json::json!({"alg": "EdDSA", "kid": key.kid()}),
        b"{}",
    );
    assert!(
        token::verify_typed(&untyped, &jwks, "ledger-head+jwt").is_err(),
        "a missing typ is not the type"
    );

    let other = SigningKey::from_seed(OTHER_SEED).sign_typed("ledger-head+jwt", br#"{"seq":7}"#);
    assert_eq!(
        token::verify_typed(&other, &jwks, "ledger-head+jwt"),
        Err(TokenError::UnknownKey)
    );
    let (h, p, mut sig) = parts(&head);
    sig[0] ^= 1;
    assert_eq!(
        token::verify_typed(&join(&h, &p, &sig), &jwks, "ledger-head+jwt"),
        Err(TokenError::BadSignature)
    );
}

/// An audit of stored tokens checks the signature and reads the claims of tokens long
/// expired, from another issuer or for an older policy; everything before that still fails.
#[test]
fn signature_only_verification_ignores_time_issuer_and_policy() {
    let (key, jwks) = setup();
    let old = Claims {
        iss: "elsewhere".to_owned(),
        pd: "00".repeat(32),
        exp: IAT + 1,
        ..claims()
    };
    let token = key.sign(&old);
    assert_eq!(verify(&token, &jwks), Err(TokenError::WrongIssuer));
    assert_eq!(token::verify_signature(&token, &jwks), Ok(old.clone()));
    let forged = SigningKey::from_seed(OTHER_SEED).sign(&old);
    assert_eq!(
        token::verify_signature(&forged, &jwks),
        Err(TokenError::UnknownKey)
    );
    let (h, _, s) = parts(&token);
    let mut edited = old;
    edited.cat =
        serde_json::from_value(serde_json::json!(["necessary", "marketing"])).expect("cat");
    assert_eq!(
        token::verify_signature(&join(&h, &claims_json(&edited), &s), &jwks),
        Err(TokenError::BadSignature)
    );
}
