//! A small JSON reader and writer for what the SDK reads and writes itself: the config, the
//! pending consent request, the service's answers and JWK sets.
//!
//! Hand-written because serde derives cost tens of KB of wasm: the reader keeps member
//! order and the byte span of every value, and reads numbers only as far as the SDK needs
//! (whole numbers). The signed token's claims are still read by the core (serde).

use vivus_consent_core::consent::{CategoryChoices, ConsentId, ConsentRequest, PolicyRef, Source, SubjectId};
use vivus_consent_core::jwk::{Jwk, Jwks, KTY_OKP};
use vivus_consent_core::language::Language;

/// A JSON value and where it is in the text.
#[derive(Debug)]
pub struct Json {
    /// The value.
    pub value: Value,
    /// Its byte range in the text.
    pub span: (usize, usize),
}

/// What a JSON value is.
#[derive(Debug)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer that fits in a `u64`.
    Whole(u64),
    /// Negative, fractional or huge: never a valid config value, so not kept.
    Number,
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order.
    Object(Vec<(String, Json)>),
}

/// Parses `text`; the error is the byte offset where it stopped making sense.
pub fn parse(text: &str) -> Result<Json, usize> {
    let mut p = Parser { b: text.as_bytes(), at: 0, depth: 0 };
    let value = p.value()?;
    p.ws();
    if p.at != p.b.len() {
        return Err(p.at);
    }
    Ok(value)
}

struct Parser<'a> {
    b: &'a [u8],
    at: usize,
    depth: u32,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.at) == Some(&c);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn word(&mut self, w: &[u8]) -> bool {
        let hit = self.b[self.at..].starts_with(w);
        if hit {
            self.at += w.len();
        }
        hit
    }

    fn value(&mut self) -> Result<Json, usize> {
        self.ws();
        let start = self.at;
        self.depth += 1;
        if self.depth > 64 {
            return Err(start);
        }
        let value = match self.b.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.at);
                        }
                        members.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.at);
                        }
                    }
                }
                Value::Object(members)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.at);
                        }
                    }
                }
                Value::Array(items)
            }
            Some(b'"') => Value::String(self.string()?),
            Some(b't') if self.word(b"true") => Value::Bool(true),
            Some(b'f') if self.word(b"false") => Value::Bool(false),
            Some(b'n') if self.word(b"null") => Value::Null,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.at),
        };
        self.depth -= 1;
        Ok(Json { value, span: (start, self.at) })
    }

    fn number(&mut self) -> Result<Value, usize> {
        let negative = self.word(b"-");
        let digits = self.at;
        let mut whole: Option<u64> = Some(0);
        while let Some(d @ b'0'..=b'9') = self.b.get(self.at) {
            whole = whole.and_then(|n| n.checked_mul(10)).and_then(|n| n.checked_add(u64::from(d - b'0')));
            self.at += 1;
        }
        if self.at == digits {
            return Err(self.at);
        }
        let mut fraction = false;
        while let Some(b'.' | b'e' | b'E' | b'+' | b'-' | b'0'..=b'9') = self.b.get(self.at) {
            fraction = true;
            self.at += 1;
        }
        Ok(match whole {
            Some(n) if !negative && !fraction => Value::Whole(n),
            _ => Value::Number,
        })
    }

    fn string(&mut self) -> Result<String, usize> {
        if self.b.get(self.at) != Some(&b'"') {
            return Err(self.at);
        }
        self.at += 1;
        let mut out = String::new();
        let mut units: Vec<u16> = Vec::new();
        loop {
            let run = self.at;
            while !matches!(self.b.get(self.at), None | Some(b'"' | b'\\')) {
                self.at += 1;
            }
            // Runs between quotes and escapes are whole UTF-8 sequences of the input.
            out.push_str(core::str::from_utf8(&self.b[run..self.at]).map_err(|_| run)?);
            match self.b.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let c = *self.b.get(self.at + 1).ok_or(self.at)?;
                    self.at += 2;
                    match c {
                        b'"' | b'\\' | b'/' => out.push(c as char),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            units.clear();
                            units.push(self.hex4()?);
                            if (0xd800..0xdc00).contains(&units[0]) && self.word(b"\\u") {
                                units.push(self.hex4()?);
                            }
                            for c in char::decode_utf16(units.iter().copied()) {
                                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
                            }
                        }
                        _ => return Err(self.at),
                    }
                }
                _ => return Err(self.at),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, usize> {
        let digits = self.b.get(self.at..self.at + 4).ok_or(self.at)?;
        let mut n = 0u16;
        for d in digits {
            n = n * 16 + (*d as char).to_digit(16).ok_or(self.at)? as u16;
        }
        self.at += 4;
        Ok(n)
    }
}

impl Json {
    /// The member `name` of an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match &self.value {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if it is one.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean value, if it is one.
    pub fn bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// The string member `name` of the JSON object `text` (`{"token": ...}`, `{"code": ...}`).
pub fn string_member(text: &str, name: &str) -> Option<String> {
    parse(text).ok()?.get(name)?.str().map(str::to_owned)
}

/// A JWK set, read as the core reads one (RFC 7517): members a key does not define are
/// ignored, and entries that are not octet key pairs with `crv` and `x` are skipped.
pub fn jwks(value: &Json) -> Option<Jwks> {
    let Value::Array(entries) = &value.get("keys")?.value else { return None };
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
        policy: PolicyRef { version: policy.get("version")?.str()?.into(), digest: policy.get("digest")?.str()?.into() },
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
            policy: PolicyRef { version: "v1".into(), digest: "ab\"c".into() },
            language: Language::Kk,
            categories: CategoryChoices { necessary: true, analytics: false, marketing: true },
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
        let strict: ConsentRequest = serde_json::from_str(&text).expect("the service's reader accepts it");
        assert_eq!(strict, r);
        assert_eq!(read_consent_request(&text.replace("\"kk\"", "\"en\"")), None);
        assert_eq!(read_consent_request(&text.replace("\"gpc\":false", "\"gpc\":0")), None);
        assert_eq!(read_consent_request("{}"), None);
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\n\u{1}қ");
        assert_eq!(out, "\"a\\\"b\\\\c\\u000a\\u0001қ\"");
        assert_eq!(parse(&out).ok().and_then(|j| j.str().map(str::to_owned)).as_deref(), Some("a\"b\\c\n\u{1}қ"));
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
        assert_eq!(string_member(r#"{"token":"a.b.c","receipt":{"sequence":1}}"#, "token").as_deref(), Some("a.b.c"));
        assert_eq!(string_member(r#"{"code":1}"#, "code"), None);
        assert_eq!(string_member("not json", "code"), None);
    }
}
