//! The integrator's configuration: typed, strict, with a documented default for every member.
//!
//! The JS object passed to `init` arrives here as JSON text (`JSON.stringify` in the
//! browser), so a bad value is reported with the path of the member it is in, e.g.
//! `ui.autoShow: invalid type: string "yes", expected a boolean`. Unknown members are
//! errors, never silently ignored: a misspelt option would otherwise look like it works.
//!
//! ```
//! use vivus_consent::config::Config;
//!
//! let config = Config::from_json(r#"{"issuer":"https://consent.vivus.kz","ui":{"autoShow":false}}"#)?;
//! assert!(!config.ui.auto_show);
//! assert_eq!(config.cookie.name, "vivus_consent");
//!
//! let err = Config::from_json(r#"{"ui":{"autoshow":false}}"#).unwrap_err();
//! assert!(err.to_string().contains("ui.autoshow"));
//! # Ok::<(), vivus_consent::error::SdkError>(())
//! ```

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy::{self, PolicyVersion};

use crate::error::{Result, SdkError};
use crate::json::{self, Json, Value};

/// Everything `init(config)` accepts. Every member is optional.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where consents are posted (`POST`); withdrawals go to `<endpoint>/<id>/withdraw`.
    /// Default `"/v1/consents"`: the service on the page's own origin.
    pub endpoint: String,
    /// The service's public keys, inline. Recommended in production: a returning visitor's
    /// token is then verified without any request. Default: none.
    pub jwks: Option<Jwks>,
    /// Where to fetch the key set when a token's `kid` is not in `jwks`; fetched at most
    /// once per page. `null` disables fetching. Default `"/.well-known/jwks.json"`.
    pub jwks_url: Option<String>,
    /// The `iss` a token must carry. Default `"vivus-consent"`, the service's default.
    pub issuer: String,
    /// The base URL of the policy texts, fetched as `<policyUrl><version>/<lang>.md` when the
    /// policy viewer opens. Default `"policy/"`; `vivus-consent.js` resolves it against the
    /// endpoint, where the service serves the texts (`/v1/policy/`).
    pub policy_url: String,
    /// The policy version visitors are asked to accept, one compiled into the SDK.
    /// Default: the newest.
    pub policy_version: PolicyVersion,
    /// The interface language; `null` chooses from `?lang=`, `<html lang>`, the browser's
    /// languages, then Russian. Default `null`.
    pub language: Option<Language>,
    /// Services per category, listed in the settings dialog.
    pub categories: CategoriesConfig,
    /// The consent cookie.
    pub cookie: CookieConfig,
    /// The banner and dialogs.
    pub ui: UiConfig,
    /// Requests to the consent service.
    pub net: NetConfig,
    /// Google Consent Mode v2 (see [`crate::consent_mode`]).
    pub consent_mode: crate::consent_mode::ConsentModeConfig,
    /// Cookies deleted on reject and withdrawal (see [`crate::cookie_cleanup`]); the cookies
    /// listed per service in `categories` are added.
    pub cleanup: crate::cookie_cleanup::CleanupConfig,
    /// Guarded forms (see [`crate::dom::form`]).
    pub forms: FormConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "/v1/consents".into(),
            jwks: None,
            jwks_url: Some("/.well-known/jwks.json".into()),
            issuer: "vivus-consent".into(),
            policy_url: "policy/".into(),
            policy_version: policy::CURRENT,
            language: None,
            categories: CategoriesConfig::default(),
            cookie: CookieConfig::default(),
            ui: UiConfig::default(),
            net: NetConfig::default(),
            consent_mode: Default::default(),
            cleanup: Default::default(),
            forms: Default::default(),
        }
    }
}

/// The services of each category, as the settings dialog lists them.
#[derive(Debug, Clone, Default)]
pub struct CategoriesConfig {
    /// Strictly necessary services. Default: none listed.
    pub necessary: CategoryConfig,
    /// Analytics services. Default: none listed.
    pub analytics: CategoryConfig,
    /// Marketing and targeting services. Default: none listed.
    pub marketing: CategoryConfig,
}

/// One category's services.
#[derive(Debug, Clone, Default)]
pub struct CategoryConfig {
    /// The services that run under the category. Default `[]`.
    pub services: Vec<Service>,
}

/// A third-party service, shown to the visitor in the settings dialog.
#[derive(Debug, Clone)]
pub struct Service {
    /// Its name as people know it, e.g. `"Google Analytics"`. Required.
    pub name: String,
    /// The cookies it sets (names or patterns such as `"_ga*"`). Default `[]`.
    pub cookies: Vec<String>,
}

/// Where the consent token cookie lives.
#[derive(Debug, Clone)]
pub struct CookieConfig {
    /// The cookie name. Default `"vivus_consent"`.
    pub name: String,
    /// The `Domain` attribute, e.g. `".vivus.kz"` to share consent across subdomains.
    /// Default `null`: this host only.
    pub domain: Option<String>,
    /// The `Path` attribute. Default `"/"`.
    pub path: String,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "vivus_consent".into(),
            domain: None,
            path: "/".into(),
        }
    }
}

/// The banner and dialogs.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Show the banner by itself when there is no valid consent. Default `true`; with
    /// `false` the page calls `show()` when it wants.
    pub auto_show: bool,
    /// Show no banner to known crawlers (Googlebot, bingbot, YandexBot, ...), granting
    /// nothing. Default `true`.
    pub hide_for_bots: bool,
    /// Offer the Русский / Қазақша switch in the banner and dialogs. Default `true`.
    pub language_switch: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            auto_show: true,
            hide_for_bots: true,
            language_switch: true,
        }
    }
}

/// Requests to the consent service.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// How long one request may take, in milliseconds. Default `8000`.
    pub timeout_ms: u32,
    /// How many times a choice is sent before the SDK stops retrying until the next page
    /// load (which retries it with the same id). Default `6`.
    pub max_attempts: u32,
    /// The first retry delay in milliseconds; it doubles with each retry, up to 60 s.
    /// Default `1000`.
    pub backoff_ms: u32,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            timeout_ms: 8000,
            max_attempts: 6,
            backoff_ms: 1000,
        }
    }
}

impl Config {
    /// Parses and validates the JSON form of the config object.
    ///
    /// # Errors
    ///
    /// [`SdkError::Config`], whose text starts with the path of the offending member.
    pub fn from_json(json: &str) -> Result<Config> {
        let root = json::parse(json).map_err(|at| {
            let mut text = String::from("config: not valid JSON (at byte ");
            crate::storage::push_u64(&mut text, at as u64);
            text.push_str("); pass a plain object");
            SdkError::Config(text)
        })?;
        let config = Self::read(&root)?;
        config.validate()?;
        Ok(config)
    }

    fn read(root: &Json) -> Result<Config> {
        let mut c = Config::default();
        let members = object(
            root,
            "config",
            &[
                "endpoint",
                "jwks",
                "jwksUrl",
                "issuer",
                "policyUrl",
                "policyVersion",
                "language",
                "categories",
                "cookie",
                "ui",
                "net",
                "consentMode",
                "cleanup",
                "forms",
            ],
        )?;
        for (key, value) in members {
            let path = key.as_str();
            match path {
                "endpoint" => c.endpoint = string(value, path)?,
                "issuer" => c.issuer = string(value, path)?,
                "policyUrl" => c.policy_url = string(value, path)?,
                "jwksUrl" => c.jwks_url = optional(value, path, string)?,
                "jwks" => {
                    c.jwks = optional(value, path, |v, path| {
                        object(v, path, &["keys"])?;
                        json::jwks(v)
                            .ok_or_else(|| expected(path, "{ keys: [...] } with a keys array", v))
                    })?
                }
                "policyVersion" => {
                    let id = string(value, path)?;
                    c.policy_version = policy::version(&id).ok_or_else(|| {
                        let mut text = String::from("policyVersion: unknown policy version \"");
                        text.push_str(&id);
                        text.push_str("\"; use one this SDK was built with:");
                        for version in policy::VERSIONS {
                            text.push(' ');
                            text.push_str(version.id);
                        }
                        SdkError::Config(text)
                    })?;
                }
                "language" => {
                    c.language = optional(value, path, |v, path| {
                        let tag = string(v, path)?;
                        Language::from_tag(&tag)
                            .ok_or_else(|| expected(path, "\"ru\" or \"kk\" (or null)", v))
                    })?
                }
                "categories" => {
                    for (name, category) in
                        object(value, path, &["necessary", "analytics", "marketing"])?
                    {
                        let path = join(path, name);
                        let target = match name.as_str() {
                            "necessary" => &mut c.categories.necessary,
                            "analytics" => &mut c.categories.analytics,
                            _ => &mut c.categories.marketing,
                        };
                        for (_, services) in object(category, &path, &["services"])? {
                            target.services = read_services(services, &join(&path, "services"))?;
                        }
                    }
                }
                "cookie" => {
                    for (key, v) in object(value, path, &["name", "domain", "path"])? {
                        let path = join(path, key);
                        match key.as_str() {
                            "name" => c.cookie.name = string(v, &path)?,
                            "domain" => c.cookie.domain = optional(v, &path, string)?,
                            _ => c.cookie.path = string(v, &path)?,
                        }
                    }
                }
                "ui" => {
                    for (key, v) in
                        object(value, path, &["autoShow", "hideForBots", "languageSwitch"])?
                    {
                        let path = join(path, key);
                        let flag = boolean(v, &path)?;
                        match key.as_str() {
                            "autoShow" => c.ui.auto_show = flag,
                            "hideForBots" => c.ui.hide_for_bots = flag,
                            _ => c.ui.language_switch = flag,
                        }
                    }
                }
                "consentMode" => {
                    let m = &mut c.consent_mode;
                    for (key, v) in
                        object(value, path, &["enabled", "mapping", "dataLayer", "event"])?
                    {
                        let path = join(path, key);
                        match key.as_str() {
                            "enabled" => m.enabled = boolean(v, &path)?,
                            "dataLayer" => m.data_layer = string(v, &path)?,
                            "event" => m.event = string(v, &path)?,
                            _ => {
                                for (name, keys) in
                                    object(v, &path, &["necessary", "analytics", "marketing"])?
                                {
                                    let list = strings(keys, &join(&path, name))?;
                                    match name.as_str() {
                                        "necessary" => m.mapping.necessary = list,
                                        "analytics" => m.mapping.analytics = list,
                                        _ => m.mapping.marketing = list,
                                    }
                                }
                            }
                        }
                    }
                }
                "cleanup" => {
                    for (key, v) in object(value, path, &["analytics", "marketing", "reload"])? {
                        let path = join(path, key);
                        match key.as_str() {
                            "reload" => c.cleanup.reload = boolean(v, &path)?,
                            "analytics" => c.cleanup.analytics = strings(v, &path)?,
                            _ => c.cleanup.marketing = strings(v, &path)?,
                        }
                    }
                }
                "forms" => {
                    for (key, v) in object(value, path, &["declarative", "tokenField"])? {
                        let path = join(path, key);
                        match key.as_str() {
                            "declarative" => c.forms.declarative = boolean(v, &path)?,
                            _ => c.forms.token_field = string(v, &path)?,
                        }
                    }
                }
                _ => {
                    for (key, v) in object(value, path, &["timeoutMs", "maxAttempts", "backoffMs"])?
                    {
                        let path = join(path, key);
                        let n = whole(v, &path)?;
                        match key.as_str() {
                            "timeoutMs" => c.net.timeout_ms = n,
                            "maxAttempts" => c.net.max_attempts = n,
                            _ => c.net.backoff_ms = n,
                        }
                    }
                }
            }
        }
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        if self.endpoint.trim().is_empty() {
            return Err(invalid(
                "endpoint: must be the URL consents are posted to, e.g. \"/v1/consents\"",
            ));
        }
        if self.issuer.is_empty() {
            return Err(invalid(
                "issuer: must be the iss of the service's tokens, e.g. \"vivus-consent\"",
            ));
        }
        if self.cookie.name.is_empty() || !self.cookie.name.bytes().all(is_cookie_token_byte) {
            return Err(invalid(
                "cookie.name: must be a non-empty cookie name of letters, digits and !#$%&'*+-.^_`|~",
            ));
        }
        if !self.cookie.path.starts_with('/')
            || self.cookie.path.bytes().any(|b| b == b';' || b < 0x21)
        {
            return Err(invalid(
                "cookie.path: must start with \"/\" and contain no spaces or \";\"",
            ));
        }
        if let Some(domain) = &self.cookie.domain {
            if domain.is_empty() || domain.bytes().any(|b| b == b';' || b < 0x21) {
                return Err(invalid(
                    "cookie.domain: must be a host name such as \".vivus.kz\", or null",
                ));
            }
        }
        if self.net.timeout_ms == 0 {
            return Err(invalid("net.timeoutMs: must be at least 1 (milliseconds)"));
        }
        if !(1..=20).contains(&self.net.max_attempts) {
            return Err(invalid("net.maxAttempts: must be between 1 and 20"));
        }
        // The gates' members check themselves; their messages start with the member's path.
        self.consent_mode
            .validate()
            .map_err(|err| SdkError::Config(err.to_string()))?;
        self.cleanup
            .validate()
            .map_err(|err| SdkError::Config(err.to_string()))?;
        self.forms.validate().map_err(invalid)?;
        for (path, services) in [
            (
                "categories.necessary.services",
                &self.categories.necessary.services,
            ),
            (
                "categories.analytics.services",
                &self.categories.analytics.services,
            ),
            (
                "categories.marketing.services",
                &self.categories.marketing.services,
            ),
        ] {
            if services.iter().any(|s| s.name.trim().is_empty()) {
                let mut text = String::from(path);
                text.push_str(": every service needs a non-empty name");
                return Err(SdkError::Config(text));
            }
        }
        Ok(())
    }

    /// The services listed for a category.
    pub fn services(&self, category: vivus_consent_core::category::Category) -> &[Service] {
        use vivus_consent_core::category::Category;
        match category {
            Category::Necessary => &self.categories.necessary.services,
            Category::Analytics => &self.categories.analytics.services,
            Category::Marketing => &self.categories.marketing.services,
        }
    }
}

fn invalid(text: &str) -> SdkError {
    SdkError::Config(text.into())
}

/// RFC 6265 `token` characters (RFC 7230 tchar).
fn is_cookie_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn read_services(value: &Json, path: &str) -> Result<Vec<Service>> {
    let Value::Array(items) = &value.value else {
        return Err(expected(path, "an array of { name, cookies }", value));
    };
    let mut services = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut path = String::from(path);
        path.push('[');
        crate::storage::push_u64(&mut path, i as u64);
        path.push(']');
        let mut service = Service {
            name: String::new(),
            cookies: Vec::new(),
        };
        let mut named = false;
        for (key, v) in object(item, &path, &["name", "cookies"])? {
            let path = join(&path, key);
            if key == "name" {
                service.name = string(v, &path)?;
                named = true;
            } else {
                let Value::Array(cookies) = &v.value else {
                    return Err(expected(&path, "an array of cookie names", v));
                };
                for cookie in cookies {
                    service.cookies.push(string(cookie, &path)?);
                }
            }
        }
        if !named {
            path.push_str(".name: missing; every service needs a name");
            return Err(SdkError::Config(path));
        }
        services.push(service);
    }
    Ok(services)
}

fn strings(value: &Json, path: &str) -> Result<Vec<String>> {
    let Value::Array(items) = &value.value else {
        return Err(expected(path, "an array of strings", value));
    };
    items.iter().map(|item| string(item, path)).collect()
}

fn join(parent: &str, key: &str) -> String {
    let mut path = String::from(parent);
    path.push('.');
    path.push_str(key);
    path
}

/// The members of an object, refusing any not in `known` (a misspelt option is an error).
fn object<'a>(value: &'a Json, path: &str, known: &[&str]) -> Result<&'a [(String, Json)]> {
    let Value::Object(members) = &value.value else {
        return Err(expected(path, "an object", value));
    };
    for (key, _) in members {
        if !known.contains(&key.as_str()) {
            let mut text = if path == "config" {
                String::new()
            } else {
                join(path, "")
            };
            // A name that is not a plain identifier (empty, spaces, ": ") is quoted, so the
            // message still reads as "<path>: <problem>".
            if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                text.push_str(key);
            } else {
                crate::json::push_str(&mut text, key);
            }
            text.push_str(": unknown option; the options here are ");
            for (i, option) in known.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                text.push_str(option);
            }
            return Err(SdkError::Config(text));
        }
    }
    Ok(members)
}

fn optional<T>(
    value: &Json,
    path: &str,
    read: impl Fn(&Json, &str) -> Result<T>,
) -> Result<Option<T>> {
    match value.value {
        Value::Null => Ok(None),
        _ => read(value, path).map(Some),
    }
}

fn string(value: &Json, path: &str) -> Result<String> {
    match &value.value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(expected(path, "a string", value)),
    }
}

fn boolean(value: &Json, path: &str) -> Result<bool> {
    match value.value {
        Value::Bool(b) => Ok(b),
        _ => Err(expected(path, "true or false", value)),
    }
}

fn whole(value: &Json, path: &str) -> Result<u32> {
    match value.value {
        Value::Whole(n) => u32::try_from(n)
            .map_err(|_| expected(path, "a whole number from 0 to 4294967295", value)),
        _ => Err(expected(path, "a whole number", value)),
    }
}

/// `path: expected <what>, found <what it is>`.
fn expected(path: &str, what: &str, found: &Json) -> SdkError {
    let mut text = String::from(path);
    text.push_str(": expected ");
    text.push_str(what);
    text.push_str(", found ");
    text.push_str(match &found.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Whole(_) => "a whole number",
        Value::Number => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    });
    if let Value::String(s) = &found.value {
        text.push_str(" \"");
        text.push_str(s);
        text.push('"');
    }
    SdkError::Config(text)
}

/// Configuration of guarded forms (the `forms` member of the SDK config; see
/// `crate::dom::form`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormConfig {
    /// Find `<form data-vivus-consent="policy">` at start and when added. Default `true`.
    pub declarative: bool,
    /// The name of the hidden field that carries the token. Default `"consent_token"`.
    pub token_field: String,
}

impl Default for FormConfig {
    fn default() -> Self {
        FormConfig { declarative: true, token_field: "consent_token".into() }
    }
}

impl FormConfig {
    /// Checks the token field name is usable.
    ///
    /// # Errors
    /// A message naming the member at fault.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.token_field.trim().is_empty() {
            return Err("forms.tokenField: must be the name of the hidden field the token goes in, \
                        e.g. \"consent_token\" (the default)");
        }
        Ok(())
    }
}

/// Parses the JS config object (through `JSON.stringify`, so errors name the member).
///
/// # Errors
///
/// [`SdkError::Config`] naming the bad member; functions, `undefined` and symbols are
/// refused at any depth, since JSON would silently drop them.
pub fn from_js(value: &wasm_bindgen::JsValue) -> Result<Config> {
    if value.is_undefined() || value.is_null() {
        return Config::from_json("{}");
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(SdkError::Config(
            "config: expected an object such as { endpoint: \"/v1/consents\" }".into(),
        ));
    }
    refuse_non_json(value, &mut String::new(), 0)?;
    let json = js_sys::JSON::stringify(value).map_err(|_| {
        SdkError::Config("config: must be JSON-serialisable (no cycles, no BigInt)".into())
    })?;
    Config::from_json(&String::from(json))
}

/// Refuses the first value under `value` that `JSON.stringify` would drop (a function,
/// `undefined` or a symbol as a member) or turn into `null` (in an array) without a word,
/// naming its path: `{ ui: { onShow() {} } }` must not pass as `{ ui: {} }`.
fn refuse_non_json(value: &wasm_bindgen::JsValue, path: &mut String, depth: u8) -> Result<()> {
    use wasm_bindgen::JsCast;
    let what = if value.is_function() {
        ": functions are not accepted; subscribe with consent.on(event, handler)"
    } else if value.is_undefined() {
        ": undefined is not accepted; expected a value, or leave the member out for its default"
    } else if value.is_symbol() {
        ": symbols are not accepted; expected a string, number, boolean, null, array or object"
    } else {
        // Deeper than the JSON reader allows (or a cycle) is refused after stringifying.
        if depth < 64 && value.is_object() {
            let at = path.len();
            if js_sys::Array::is_array(value) {
                for (i, item) in value.unchecked_ref::<js_sys::Array>().iter().enumerate() {
                    path.push('[');
                    crate::storage::push_u64(path, i as u64);
                    path.push(']');
                    refuse_non_json(&item, path, depth + 1)?;
                    path.truncate(at);
                }
            } else {
                for entry in js_sys::Object::entries(value.unchecked_ref()).iter() {
                    let entry: js_sys::Array = entry.unchecked_into();
                    if at > 0 {
                        path.push('.');
                    }
                    path.push_str(&entry.get(0).as_string().unwrap_or_default());
                    refuse_non_json(&entry.get(1), path, depth + 1)?;
                    path.truncate(at);
                }
            }
        }
        return Ok(());
    };
    path.push_str(what);
    Err(SdkError::Config(core::mem::take(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Config::from_json(json).expect_err("invalid").to_string()
    }

    #[test]
    fn empty_object_gives_the_documented_defaults() {
        let config = Config::from_json("{}").expect("valid");
        assert_eq!(config.endpoint, "/v1/consents");
        assert_eq!(config.jwks_url.as_deref(), Some("/.well-known/jwks.json"));
        assert_eq!(config.issuer, "vivus-consent");
        assert_eq!(config.policy_version, policy::CURRENT);
        assert_eq!(config.cookie.name, "vivus_consent");
        assert_eq!(config.cookie.path, "/");
        assert!(config.ui.auto_show && config.ui.hide_for_bots && config.ui.language_switch);
        assert_eq!(config.net.timeout_ms, 8000);
        assert!(config.jwks.is_none() && config.language.is_none());
    }

    #[test]
    fn json_strings_and_nesting_are_read_exactly() {
        let config = Config::from_json(
            " {\"issuer\" : \"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\", \"cookie\":{\"path\":\"/қ\"} } ",
        )
        .expect("valid");
        assert_eq!(config.issuer, "a\"b\\cé😀\n");
        assert_eq!(config.cookie.path, "/қ");
        for bad in [
            "",
            "{",
            "{}x",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\":tru}",
            "\"\\x\"",
            "\"\\u12\"",
        ] {
            assert!(Config::from_json(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(Config::from_json(&deep).is_err());
    }

    #[test]
    fn full_config_parses() {
        let config = Config::from_json(
            r#"{"endpoint":"https://consent.vivus.kz/v1/consents","jwksUrl":null,"issuer":"i",
                "language":"kk","policyVersion":"v1","policyUrl":"/p/",
                "jwks":{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}]},
                "categories":{"marketing":{"services":[{"name":"Meta Pixel","cookies":["_fbp"]}]}},
                "cookie":{"name":"c","domain":".vivus.kz","path":"/kz"},
                "ui":{"autoShow":false,"hideForBots":false,"languageSwitch":false},
                "net":{"timeoutMs":100,"maxAttempts":2,"backoffMs":10},
                "consentMode":{"enabled":true,"dataLayer":"dl","event":"e","mapping":{"necessary":["security_storage"],"analytics":[],"marketing":["ad_storage"]}},
                "cleanup":{"analytics":["_x*"],"marketing":[],"reload":true},"forms":{"declarative":false,"tokenField":"ct"}}"#,
        )
        .expect("valid");
        assert_eq!(config.language, Some(Language::Kk));
        assert!(config.jwks_url.is_none());
        assert_eq!(config.jwks.expect("inline").keys.len(), 1);
        assert_eq!(config.categories.marketing.services[0].cookies, ["_fbp"]);
        assert_eq!(config.cookie.domain.as_deref(), Some(".vivus.kz"));
        assert_eq!(config.consent_mode.mapping.necessary, ["security_storage"]);
        assert!(config.consent_mode.mapping.analytics.is_empty());
        assert_eq!(
            (
                config.consent_mode.data_layer.as_str(),
                config.consent_mode.event.as_str()
            ),
            ("dl", "e")
        );
        assert_eq!(config.cleanup.analytics, ["_x*"]);
        assert!(config.cleanup.reload);
        assert_eq!(
            (config.forms.declarative, config.forms.token_field.as_str()),
            (false, "ct")
        );
    }

    #[test]
    fn errors_name_the_member() {
        let cases = [
            (r#"{"ui":{"autoShow":"yes"}}"#, "ui.autoShow: expected true or false, found a string \"yes\""),
            (r#"{"ui":{"autoshow":true}}"#, "ui.autoshow: unknown option; the options here are autoShow, hideForBots, languageSwitch"),
            (r#"{"endpiont":"/x"}"#, "endpiont: unknown option; the options here are endpoint,"),
            (r#"{"": 1}"#, r#""": unknown option; the options here are endpoint,"#),
            (r#"{"a: b":1}"#, r#""a: b": unknown option"#),
            (r#"{"language":"en"}"#, "language: expected \"ru\" or \"kk\" (or null), found a string \"en\""),
            (r#"{"policyVersion":"v9"}"#, "policyVersion: unknown policy version \"v9\""),
            (r#"{"categories":{"marketing":{"services":[{"cookies":[]}]}}}"#, "categories.marketing.services[0].name: missing"),
            (r#"{"categories":{"marketing":{"services":[{"name":"x","cookies":[1]}]}}}"#, "categories.marketing.services[0].cookies: expected a string, found a whole number"),
            (r#"{"jwks":{"keys":"none"}}"#, "jwks: expected { keys: [...] }"),
            (r#"{"jwks":{"key":[]}}"#, "jwks.key: unknown option"),
            (r#"{"net":{"timeoutMs":1.5}}"#, "net.timeoutMs: expected a whole number, found a number"),
            ("{\"a\":", "config: not valid JSON (at byte 5)"),
            (r#"{"consentMode":{"nope":1}}"#, "consentMode.nope: unknown option; the options here are enabled, mapping"),
            (r#"{"consentMode":{"mapping":{"marketing":["ads_storage"]}}}"#, "consentMode.mapping.marketing: unknown consent mode key \"ads_storage\""),
            (r#"{"consentMode":{"mapping":{"ads":[]}}}"#, "consentMode.mapping.ads: unknown option"),
            (r#"{"cleanup":{"marketing":"_fbp"}}"#, "cleanup.marketing: expected an array of strings, found a string"),
            (r#"{"cleanup":{"analytics":["a=b"]}}"#, "cleanup.analytics: the pattern \"a=b\""),
            (r#"{"forms":{"tokenField":""}}"#, "forms.tokenField: must be"),
            (r#"{"forms":{"tokenfield":"x"}}"#, "forms.tokenfield: unknown option"),
            (r#"{"forms":[]}"#, "forms: expected an object, found an array"),
            (r#"{"cookie":{"name":"a b"}}"#, "cookie.name: must be"),
            (r#"{"cookie":{"path":"x"}}"#, "cookie.path: must start"),
            (r#"{"net":{"timeoutMs":-1}}"#, "net.timeoutMs: expected a whole number, found a number"),
            (r#"{"net":{"maxAttempts":0}}"#, "net.maxAttempts: must be between"),
            (r#"{"endpoint":" "}"#, "endpoint: must be"),
            ("[]", "config: expected an object, found an array"),
            ("null", "config: expected an object, found null"),
        ];
        for (json, expected) in cases {
            let text = err(json);
            assert!(text.starts_with("invalid vivus-consent config: "), "{text}");
            assert!(text.contains(expected), "{json}: {text}");
        }
    }
}
