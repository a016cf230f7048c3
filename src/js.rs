//! What crosses the JS boundary, both ways.
//!
//! **Out:** Rust values handed to JS (`state()`, event details, tab messages, the seam's
//! snapshots) are serialized with serde-wasm-bindgen ([`to_js`]) as plain JSON-compatible
//! objects, never assembled member by member.
//!
//! **In:** the runtime, which every page view loads, links no serde *deserializer*:
//! serde-wasm-bindgen's `from_value` costs 13 kB brotli before the first type, and the config
//! types' derived visitors 7 kB more (measured on this crate's config, nightly, `-Oz`:
//! 22.9 kB against 2.9 kB for the same export without it), which is the whole budget of the
//! returning visitor's path (docs/architecture.md, "What each build links"). So the runtime
//! reads JS values through the [`Value`] view below (the config, another tab's message, a key
//! set, a stored choice's id), and the interactive stage, which links serde-wasm-bindgen's
//! deserializer anyway, reads what it reads with serde.

use wasm_bindgen::{JsCast, JsValue};

/// A JS value seen as JSON: what kind it is, and its parts.
///
/// Implemented for [`JsValue`] (the browser) and for the core's JSON reader (native tests
/// read the same config from JSON text).
pub trait Value: Sized {
    /// What the value is.
    fn kind(&self) -> Kind;
    /// The string, if it is one.
    fn string(&self) -> Option<String>;
    /// The boolean, if it is one.
    fn boolean(&self) -> Option<bool>;
    /// The number, if it is one.
    fn number(&self) -> Option<f64>;
    /// An object's own members, in order (`None` if it is not a plain object).
    fn members(&self) -> Option<Vec<(String, Self)>>;
    /// An array's items (`None` if it is not an array).
    fn items(&self) -> Option<Vec<Self>>;
}

/// The kinds of [`Value`], with how an error message names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number that is a whole number from 0 to 2^53.
    Whole,
    /// Any other number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
    /// `undefined`: a JS object member set to it is refused, not taken for its default.
    Undefined,
    /// A function: config takes no callbacks (events are subscribed with `on`).
    Function,
    /// Anything JSON has no form for (a symbol, a BigInt).
    Other,
}

impl Kind {
    /// How an error message names it: "found <this>".
    pub fn described(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Whole => "a whole number",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
            Kind::Undefined => "undefined",
            Kind::Function => "a function",
            Kind::Other => "a value JSON cannot hold",
        }
    }
}

impl Value for JsValue {
    fn kind(&self) -> Kind {
        if self.is_null() {
            Kind::Null
        } else if self.is_undefined() {
            Kind::Undefined
        } else if self.as_bool().is_some() {
            Kind::Boolean
        } else if let Some(n) = self.as_f64() {
            if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 {
                Kind::Whole
            } else {
                Kind::Number
            }
        } else if self.is_string() {
            Kind::String
        } else if self.is_function() {
            Kind::Function
        } else if js_sys::Array::is_array(self) {
            Kind::Array
        } else if self.is_object() {
            Kind::Object
        } else {
            Kind::Other
        }
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn members(&self) -> Option<Vec<(String, JsValue)>> {
        if self.kind() != Kind::Object {
            return None;
        }
        let entries = js_sys::Object::entries(self.unchecked_ref());
        Some(
            entries
                .iter()
                .map(|entry| {
                    let entry: js_sys::Array = entry.unchecked_into();
                    (entry.get(0).as_string().unwrap_or_default(), entry.get(1))
                })
                .collect(),
        )
    }
    fn items(&self) -> Option<Vec<JsValue>> {
        js_sys::Array::is_array(self).then(|| self.unchecked_ref::<js_sys::Array>().to_vec())
    }
}

/// `object[name]` of a JS value, unless absent (`undefined`) or `object` is not an object (a
/// function, such as a class, counts as one).
pub fn member(object: &JsValue, name: &str) -> Option<JsValue> {
    if !object.is_object() && !object.is_function() {
        return None;
    }
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// The string member `name` of a JS object.
pub fn string_member(object: &JsValue, name: &str) -> Option<String> {
    member(object, name)?.as_string()
}

/// A Rust value as a plain JS value (objects, arrays, strings, numbers, booleans, `null` for
/// `None`), as `JSON.parse` would give it.
#[cfg(any(feature = "runtime", feature = "ui"))]
pub fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    // Serializing the SDK's own plain data types cannot fail.
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// A Rust value as JSON text, through `JSON.stringify` of [`to_js`]: what the runtime stores
/// and posts, with no JSON writer of its own.
#[cfg(any(feature = "runtime", feature = "ui"))]
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    js_sys::JSON::stringify(&to_js(value))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

mod text {
    //! The same view over the core's JSON reader (the token's parser), so the config's rules
    //! are tested natively and tests build configs from JSON text.
    use super::{Kind, Value};
    use vivus_consent_core::json::{Json, Value as J};

    impl Value for Json {
        fn kind(&self) -> Kind {
            match self.value {
                J::Null => Kind::Null,
                J::Bool(_) => Kind::Boolean,
                J::Whole(_) => Kind::Whole,
                J::Number => Kind::Number,
                J::String(_) => Kind::String,
                J::Array(_) => Kind::Array,
                J::Object(_) => Kind::Object,
            }
        }
        fn string(&self) -> Option<String> {
            self.str().map(str::to_owned)
        }
        fn boolean(&self) -> Option<bool> {
            self.bool()
        }
        fn number(&self) -> Option<f64> {
            self.whole().map(|n| n as f64)
        }
        fn members(&self) -> Option<Vec<(String, Json)>> {
            match &self.value {
                J::Object(members) => Some(members.clone()),
                _ => None,
            }
        }
        fn items(&self) -> Option<Vec<Json>> {
            match &self.value {
                J::Array(items) => Some(items.clone()),
                _ => None,
            }
        }
    }
}
