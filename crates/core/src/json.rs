//! A small, strict JSON reader (RFC 8259) for the token's header and claims, and for the
//! browser SDK's own documents (its config, the pending request, the service's answers).
//!
//! It exists for size: reading the header and claims through serde derives costs the wasm
//! SDK about 57 KB (22 KB brotli) of serde_json, error formatting and float printing. It is
//! at least as strict as serde_json where a token is concerned: invalid UTF-8, control
//! characters in strings, lone surrogates, leading zeros, trailing text, nesting deeper than
//! 64 and duplicate member names (RFC 7515 §5.2) are errors. Numbers are kept only as far as
//! the callers need them: non-negative integers that fit in a `u64`.
//!
//! ```
//! use vivus_consent_core::json::{self, Value};
//!
//! let doc = json::parse(r#"{"exp": 1795536000, "cat": ["necessary"]}"#).expect("valid JSON");
//! assert!(matches!(doc.get("exp").map(|v| &v.value), Some(Value::Whole(1795536000))));
//! assert!(json::parse(r#"{"a":1,"a":2}"#).is_err());
//! ```

/// A JSON value and where it is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json {
    /// The value.
    pub value: Value,
    /// Its byte range in the text.
    pub span: (usize, usize),
}

/// What a JSON value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer that fits in a `u64`.
    Whole(u64),
    /// Any other number (negative, fractional, with an exponent, or too large); its value
    /// is not kept.
    Number,
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order; names are unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `name` of an object (`None` for a missing member or a non-object).
    pub fn get(&self, name: &str) -> Option<&Json> {
        match &self.value {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if the value is one.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if the value is one.
    pub fn bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, if the value is a non-negative whole number.
    pub fn whole(&self) -> Option<u64> {
        match self.value {
            Value::Whole(n) => Some(n),
            _ => None,
        }
    }
}

/// The deepest nesting [`parse`] accepts.
pub const MAX_DEPTH: u32 = 64;

/// Parses a JSON text.
///
/// # Errors
///
/// The byte offset where the text stops being the JSON this reader accepts.
pub fn parse(text: &str) -> Result<Json, usize> {
    let mut p = Parser {
        b: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let value = p.value()?;
    p.ws();
    if p.at != p.b.len() {
        return Err(p.at);
    }
    Ok(value)
}

/// Parses UTF-8 bytes as JSON (see [`parse`]).
///
/// # Errors
///
/// As [`parse`]; invalid UTF-8 fails at its first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<Json, usize> {
    parse(core::str::from_utf8(bytes).map_err(|e| e.valid_up_to())?)
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

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.b.get(self.at), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn value(&mut self) -> Result<Json, usize> {
        self.ws();
        let start = self.at;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(start);
        }
        let value = match self.b.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut members: Vec<(String, Json)> = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key_at = self.at;
                        let key = self.string()?;
                        if members.iter().any(|(k, _)| *k == key) {
                            return Err(key_at);
                        }
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
        Ok(Json {
            value,
            span: (start, self.at),
        })
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, exactly.
    fn number(&mut self) -> Result<Value, usize> {
        let negative = self.word(b"-");
        let int_start = self.at;
        match self.digits() {
            0 => return Err(self.at),
            1 => {}
            _ if self.b[int_start] == b'0' => return Err(int_start),
            _ => {}
        }
        let int_end = self.at;
        let mut whole = !negative;
        if self.word(b".") {
            whole = false;
            if self.digits() == 0 {
                return Err(self.at);
            }
        }
        if matches!(self.b.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            whole = false;
            if matches!(self.b.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.at);
            }
        }
        if !whole {
            return Ok(Value::Number);
        }
        let mut n: u64 = 0;
        for d in &self.b[int_start..int_end] {
            match n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
            {
                Some(next) => n = next,
                None => return Ok(Value::Number),
            }
        }
        Ok(Value::Whole(n))
    }

    fn string(&mut self) -> Result<String, usize> {
        if self.b.get(self.at) != Some(&b'"') {
            return Err(self.at);
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let run = self.at;
            while let Some(&c) = self.b.get(self.at) {
                if c == b'"' || c == b'\\' {
                    break;
                }
                if c < 0x20 {
                    return Err(self.at);
                }
                self.at += 1;
            }
            // The input is a &str and runs stop only at ASCII bytes, so runs are whole
            // UTF-8 sequences.
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
                        b'u' => out.push(self.escaped_char()?),
                        _ => return Err(self.at - 1),
                    }
                }
                _ => return Err(self.at),
            }
        }
    }

    /// After `\u`: one code point, from one escape or a surrogate pair; lone surrogates are
    /// errors, as in serde_json.
    fn escaped_char(&mut self) -> Result<char, usize> {
        let at = self.at;
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if !self.word(b"\\u") {
                    return Err(at);
                }
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(at);
                }
                0x10000 + ((u32::from(first) - 0xd800) << 10) + (u32::from(second) - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(at),
            _ => u32::from(first),
        };
        char::from_u32(code).ok_or(at)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Value {
        parse(text)
            .unwrap_or_else(|at| panic!("{text:?} failed at {at}"))
            .value
    }

    #[test]
    fn reads_every_kind_of_value() {
        assert_eq!(ok(" null "), Value::Null);
        assert_eq!(ok("true"), Value::Bool(true));
        assert_eq!(ok("0"), Value::Whole(0));
        assert_eq!(ok("18446744073709551615"), Value::Whole(u64::MAX));
        for n in [
            "18446744073709551616",
            "-1",
            "1.5",
            "1e3",
            "-0",
            "0.0",
            "2E-2",
        ] {
            assert_eq!(ok(n), Value::Number, "{n}");
        }
        assert_eq!(
            ok(r#""a\"b\\c\/\n\u00e9\ud83d\ude00қ""#),
            Value::String("a\"b\\c/\né😀қ".into())
        );
        let doc = parse(r#"{"a":[1,{"b":false}],"c":"d"}"#).expect("valid");
        assert_eq!(doc.get("c").and_then(Json::str), Some("d"));
        assert_eq!(doc.span, (0, 29));
        let Value::Array(items) = &doc.get("a").expect("a").value else {
            panic!()
        };
        assert_eq!(items[1].get("b").and_then(Json::bool), Some(false));
        assert_eq!(items[0].whole(), Some(1));
    }

    #[test]
    fn refuses_what_serde_json_refuses_and_duplicates() {
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "tru",
            "nul",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "{}x",
            "[] []",
            "{\"a\":1,\"a\":1}",
            "'a'",
            "NaN",
            "Infinity",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        let deep = "[".repeat(MAX_DEPTH as usize + 1) + &"]".repeat(MAX_DEPTH as usize + 1);
        assert!(parse(&deep).is_err());
        let fine = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert!(parse(&fine).is_ok());
        assert!(parse_bytes(b"\"\xff\"").is_err());
    }

    #[test]
    fn agrees_with_serde_json_on_what_it_accepts() {
        for text in [
            r#"{"iss":"vivus-consent","iat":1764000000,"cat":["necessary","marketing"],"pa":true,"x":null}"#,
            r#"[0, -0, 1.5e10, "\u0000", {"": []}]"#,
            "\n\t{ \"a\" :\r [ ] }",
        ] {
            assert!(parse(text).is_ok(), "{text}");
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
                "{text}"
            );
        }
    }
}
