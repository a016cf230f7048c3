//! The JSON the SDK reads and writes itself: the pending consent request, the service's
//! answers and JWK sets, on the core's small strict reader ([`vivus_consent_core::json`]),
//! which the config and the token's claims use too. No serde_json in the wasm: its derives,
//! error formatting and float printing cost about 57 KB (22 KB brotli).

use vivus_consent_core::consent::{
    CategoryChoices, ConsentId, ConsentRequest, PolicyRef, Source, SubjectId, WithdrawRequest,
};
use vivus_consent_core::jwk::{Jwk, Jwks, KTY_OKP};
use vivus_consent_core::language::Language;

pub use vivus_consent_core::json::{parse, Json, Value};

/// The string member `name` of the JSON object `text` (`{"token": ...}`, `{"code": ...}`).
pub fn string_member(text: &str, name: &str) -> Option<String> {
    parse(text).ok()?.get(name)?.str().map(str::to_owned)
}

/// A JWK set, read as the core reads one (RFC 7517): members a key does not define are
/// ignored, and entries that are not octet key pairs with `crv` and `x` are skipped.
pub fn jwks(value: &Json) -> Option<Jwks> {
    let Value::Array(entries) = &value.get("keys")?.value else {
        return None;
    };
    let text = |entry: &Json, name: &str| entry.get(name).and_then(Json::str).map(str::to_owned);
    let keys = entries
        .iter()
        .filter_map(|entry| {
            if entry.get("kty")?.str()? != KTY_OKP {
                return None;
            }
            Some(Jwk {
                kty: KTY_OKP.into(),
                crv: text(entry, "crv")?,
                x: text(entry, "x")?,
                kid: text(entry, "kid"),
                alg: text(entry, "alg"),
                use_: text(entry, "use"),
            })
        })
        .collect();
    Some(Jwks { keys })
}

/// A JWK set from its JSON text (as fetched, or as cached by `crate::storage::cache_jwks`).
pub fn jwks_text(text: &str) -> Option<Jwks> {
    jwks(&parse(text).ok()?)
}

/// Reads a stored consent request; `None` unless it is exactly what [`consent_request`]
/// writes (ids well-formed, every member present).
pub fn read_consent_request(text: &str) -> Option<ConsentRequest> {
    let v = parse(text).ok()?;
    let policy = v.get("policy")?;
    let categories = v.get("categories")?;
    let source = match v.get("source")?.str()? {
        "banner" => Source::Banner,
        "preferences" => Source::Preferences,
        "form" => Source::Form,
        "api" => Source::Api,
        _ => return None,
    };
    let language = match v.get("language")?.str()? {
        "ru" => Language::Ru,
        "kk" => Language::Kk,
        _ => return None,
    };
    Some(ConsentRequest {
        id: ConsentId::parse(v.get("id")?.str()?).ok()?,
        subject: SubjectId::parse(v.get("subject")?.str()?).ok()?,
        policy: PolicyRef {
            version: policy.get("version")?.str()?.into(),
            digest: policy.get("digest")?.str()?.into(),
        },
        language,
        categories: CategoryChoices {
            necessary: categories.get("necessary")?.bool()?,
            analytics: categories.get("analytics")?.bool()?,
            marketing: categories.get("marketing")?.bool()?,
        },
        policy_accepted: v.get("policyAccepted")?.bool()?,
        source,
        gpc: v.get("gpc")?.bool()?,
    })
}

/// The request as `POST /v1/consents` takes it: compact JSON, members in the order the
/// core serialises them, so it equals the core's `canonical_bytes`.
pub fn consent_request(r: &ConsentRequest) -> String {
    let mut out = String::with_capacity(320);
    out.push_str("{\"id\":");
    push_str(&mut out, r.id.as_str());
    out.push_str(",\"subject\":");
    push_str(&mut out, r.subject.as_str());
    out.push_str(",\"policy\":{\"version\":");
    push_str(&mut out, &r.policy.version);
    out.push_str(",\"digest\":");
    push_str(&mut out, &r.policy.digest);
    out.push_str("},\"language\":");
    push_str(&mut out, r.language.as_str());
    out.push_str(",\"categories\":{\"necessary\":");
    out.push_str(bool_str(r.categories.necessary));
    out.push_str(",\"analytics\":");
    out.push_str(bool_str(r.categories.analytics));
    out.push_str(",\"marketing\":");
    out.push_str(bool_str(r.categories.marketing));
    out.push_str("},\"policyAccepted\":");
    out.push_str(bool_str(r.policy_accepted));
    out.push_str(",\"source\":");
    push_str(&mut out, r.source.as_str());
    out.push_str(",\"gpc\":");
    out.push_str(bool_str(r.gpc));
    out.push('}');
    out
}

/// The withdrawal as `POST <endpoint>/<id>/withdraw` takes it, equal to the core's
/// `canonical_bytes`.
pub fn withdraw_request(r: &WithdrawRequest) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("{\"id\":");
    push_str(&mut out, r.id.as_str());
    out.push_str(",\"categories\":");
    match &r.categories {
        None => out.push_str("null"),
        Some(list) => {
            out.push('[');
            for (i, category) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str(&mut out, category.as_str());
            }
            out.push(']');
        }
    }
    out.push_str(",\"policyAcceptance\":");
    out.push_str(bool_str(r.policy_acceptance));
    out.push('}');
    out
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use vivus_consent_core::consent::ConsentRequest;

    fn request() -> ConsentRequest {
        ConsentRequest {
            id: ConsentId::from_bytes([1; 16]),
            subject: SubjectId::from_bytes([2; 16]),
            policy: PolicyRef {
                version: "v1".into(),
                digest: "ab\"c".into(),
            },
            language: Language::Kk,
            categories: CategoryChoices {
                necessary: true,
                analytics: false,
                marketing: true,
            },
            policy_accepted: true,
            source: Source::Preferences,
            gpc: false,
        }
    }

    #[test]
    fn the_request_is_written_as_the_core_writes_it_and_read_back() {
        let r = request();
        let text = consent_request(&r);
        assert_eq!(text.as_bytes(), r.canonical_bytes());
        assert_eq!(read_consent_request(&text), Some(r.clone()));
        let strict: ConsentRequest =
            serde_json::from_str(&text).expect("the service's reader accepts it");
        assert_eq!(strict, r);
        assert_eq!(
            read_consent_request(&text.replace("\"kk\"", "\"en\"")),
            None
        );
        assert_eq!(
            read_consent_request(&text.replace("\"gpc\":false", "\"gpc\":0")),
            None
        );
        assert_eq!(read_consent_request("{}"), None);
    }

    #[test]
    fn the_withdrawal_is_written_as_the_core_writes_it() {
        use vivus_consent_core::category::Category;
        for categories in [
            None,
            Some(vec![Category::Marketing]),
            Some(vec![Category::Analytics, Category::Marketing]),
        ] {
            let r = WithdrawRequest {
                id: ConsentId::from_bytes([5; 16]),
                categories,
                policy_acceptance: false,
            };
            let text = withdraw_request(&r);
            assert_eq!(text.as_bytes(), r.canonical_bytes());
            let strict: WithdrawRequest =
                serde_json::from_str(&text).expect("the service accepts it");
            assert_eq!(strict, r);
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\n\u{1}қ");
        assert_eq!(out, "\"a\\\"b\\\\c\\u000a\\u0001қ\"");
        assert_eq!(
            parse(&out)
                .ok()
                .and_then(|j| j.str().map(str::to_owned))
                .as_deref(),
            Some("a\"b\\c\n\u{1}қ")
        );
    }

    #[test]
    fn jwks_are_read_as_the_core_reads_them() {
        let text = r#"{"keys":[{"kty":"RSA","n":"x","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"abc","kid":"k","ext":true},{"kty":"OKP"}]}"#;
        let ours = jwks(&parse(text).expect("json")).expect("a set");
        let core: Jwks = serde_json::from_str(text).expect("core reads it");
        assert_eq!(ours, core);
        assert_eq!(ours.keys.len(), 1);
        assert!(jwks(&parse(r#"{"keys":{}}"#).expect("json")).is_none());
    }

    #[test]
    fn members_are_found_by_name() {
        assert_eq!(
            string_member(r#"{"token":"a.b.c","receipt":{"sequence":1}}"#, "token").as_deref(),
            Some("a.b.c")
        );
        assert_eq!(string_member(r#"{"code":1}"#, "code"), None);
        assert_eq!(string_member("not json", "code"), None);
    }
}
