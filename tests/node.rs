//! The SDK's pure parts compiled to wasm and run in Node: config parsing from a JS object,
//! token verification inside the wasm with a token the core signed, language choice.
//!
//! `cargo test -p vivus-consent --target wasm32-unknown-unknown --test node`
#![cfg(target_arch = "wasm32")]

use vivus_consent::api::config_from_js;
use vivus_consent::config::Config;
use vivus_consent::i18n::{self, choose_language};
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims, Expected, SigningKey, TokenError};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

fn config_error(value: &JsValue) -> String {
    config_from_js(value).expect_err("invalid").to_string()
}

#[wasm_bindgen_test]
fn an_absent_or_empty_config_gives_the_defaults() {
    for value in [JsValue::UNDEFINED, JsValue::NULL, js("{}")] {
        let config = config_from_js(&value).expect("valid");
        assert_eq!(config.endpoint, "/v1/consents");
        assert_eq!(config.issuer, "vivus-consent");
        assert_eq!(config.jwks_url.as_deref(), Some("/.well-known/jwks.json"));
    }
}

#[wasm_bindgen_test]
fn config_errors_name_the_member_and_what_was_expected() {
    let cases = [
        (
            r#"{"ui":{"autoShow":1}}"#,
            "ui.autoShow: expected true or false, found a whole number",
        ),
        (
            r#"{"ui":{"hidden":true}}"#,
            "ui.hidden: unknown option; the options here are autoShow, hideForBots, languageSwitch",
        ),
        (r#"{"lang":"kk"}"#, "lang: unknown option"),
        (
            r#"{"language":"de"}"#,
            "language: expected \"ru\" or \"kk\" (or null), found a string \"de\"",
        ),
        (
            r#"{"net":{"timeoutMs":"fast"}}"#,
            "net.timeoutMs: expected a whole number, found a string \"fast\"",
        ),
        (
            r#"{"categories":{"ads":{}}}"#,
            "categories.ads: unknown option",
        ),
        (
            r#"{"jwks":{"keys":"none"}}"#,
            "jwks: expected { keys: [...] } with a keys array, found an object",
        ),
        (r#"{"cookie":{"domain":""}}"#, "cookie.domain: must be"),
        ("[1]", "config: expected an object"),
        ("\"x\"", "config: expected an object"),
    ];
    for (json, expected) in cases {
        let text = config_error(&js(json));
        assert!(text.contains(expected), "{json}: {text}");
    }
}

#[wasm_bindgen_test]
fn functions_in_the_config_are_refused_not_dropped() {
    let value = js(r#"{"endpoint":"/v1/consents"}"#);
    js_sys::Reflect::set(
        &value,
        &"onConsent".into(),
        &js_sys::Function::new_no_args(""),
    )
    .expect("set");
    assert!(config_error(&value).contains("onConsent: functions are not accepted"));
}

fn claims(now: u64) -> Claims {
    Claims {
        iss: "vivus-consent".into(),
        sub: SubjectId::from_bytes([1; 16]),
        jti: ConsentId::from_bytes([2; 16]),
        iat: now,
        exp: now + 86_400,
        pv: policy::CURRENT.id.into(),
        pd: policy::CURRENT.digest.into(),
        lang: Language::Kk,
        cat: [Category::Analytics].into_iter().collect(),
        pa: true,
    }
}

#[wasm_bindgen_test]
fn tokens_signed_by_the_core_verify_inside_the_wasm_against_an_inline_jwks() {
    let key = SigningKey::from_seed([42; 32]);
    let jwk_json = serde_json::to_string(&key.public_jwk()).expect("jwk");
    let mut config_json = String::from(r#"{"jwks":{"keys":["#);
    config_json.push_str(&jwk_json);
    config_json.push_str("]}}");
    let config: Config = config_from_js(&js(&config_json)).expect("config with jwks");
    let jwks: Jwks = config.jwks.expect("inline jwks");

    let now = (js_sys::Date::now() / 1000.0) as u64;
    let token = key.sign(&claims(now));
    let expected = Expected {
        issuer: &config.issuer,
        policy_digest: config.policy_version.digest,
        now,
    };
    let verified = token::verify(&token, &jwks, &expected).expect("valid");
    assert_eq!(
        verified.cat,
        [Category::Analytics].into_iter().collect::<Categories>()
    );
    assert!(verified.pa);

    let mut tampered = token.clone();
    tampered.push('A');
    assert!(token::verify(&tampered, &jwks, &expected).is_err());
    let later = Expected {
        now: now + 86_400,
        ..expected
    };
    assert_eq!(
        token::verify(&token, &jwks, &later),
        Err(TokenError::Expired)
    );
    let other = SigningKey::from_seed([43; 32]).sign(&claims(now));
    assert_eq!(
        token::verify(&other, &jwks, &expected),
        Err(TokenError::UnknownKey)
    );
}

#[wasm_bindgen_test]
fn language_follows_config_then_query_then_html_then_browser() {
    assert_eq!(
        choose_language(
            None,
            i18n::query_param("?utm=x&lang=kz", "lang"),
            Some("ru"),
            ["ru"]
        ),
        Language::Kk
    );
    assert_eq!(
        choose_language(None, None, Some("kk-KZ"), ["ru-RU"]),
        Language::Kk
    );
    assert_eq!(
        choose_language(None, None, None, ["en-US", "kk"]),
        Language::Kk
    );
    assert_eq!(choose_language(None, None, None, ["en-US"]), Language::Ru);
    let config = config_from_js(&js(r#"{"language":"kk"}"#)).expect("valid");
    assert_eq!(
        choose_language(config.language, Some("ru"), Some("ru"), ["ru"]),
        Language::Kk
    );
}

fn code(err: &JsValue) -> Option<String> {
    js_sys::Reflect::get(err, &"code".into()).ok()?.as_string()
}

#[wasm_bindgen_test]
async fn init_rejects_an_invalid_config_and_says_when_it_is_not_in_a_browser() {
    let err = wasm_bindgen_futures::JsFuture::from(vivus_consent::api::init(js(
        r#"{"ui":{"autoShow":"no"}}"#,
    )))
    .await
    .expect_err("invalid config");
    assert_eq!(code(&err).as_deref(), Some("invalid_config"));
    let message = js_sys::Reflect::get(&err, &"message".into())
        .expect("message")
        .as_string()
        .unwrap_or_default();
    assert!(
        message.contains("ui.autoShow: expected true or false"),
        "{message}"
    );

    // A failed init leaves no instance behind: the next call really starts (and, in Node,
    // stops at the first browser API it needs).
    let err = wasm_bindgen_futures::JsFuture::from(vivus_consent::api::init(js("{}")))
        .await
        .expect_err("no window");
    assert_eq!(code(&err).as_deref(), Some("unsupported"));
}
