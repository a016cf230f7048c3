//! The integrator's configuration: typed, strict, with a documented default for every member.
//!
//! `init(config)` reads the JS object as it is (no `JSON.stringify`): a bad value is reported
//! with the path of the member it is in, e.g. `ui.autoShow: expected true or false, found a
//! string "yes"`. Unknown members are errors, never silently ignored: a misspelt option would
//! otherwise look like it works. Functions, `undefined` and symbols are refused by name.
//!
//! The reader walks a [`crate::js::Value`], so the same rules read a JS object in the browser
//! and JSON text in native tests. It is hand-written, not serde-derived, for size: see
//! [`crate::js`] for the measured cost of a serde deserializer in the runtime, which every
//! page view loads. There is exactly one reader; the interactive stage gets the members it
//! needs from the runtime ([`crate::seam::UiSettings`], serde both ways).
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

use vivus_consent_core::category::Category;
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy::{self, PolicyVersion};

use crate::consent_mode::ConsentModeConfig;
use crate::cookie_cleanup::CleanupConfig;
use crate::error::{Result, SdkError};
use crate::js::{Kind, Value};
pub use crate::storage::CookieConfig;

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
    pub consent_mode: ConsentModeConfig,
    /// Cookies deleted on reject and withdrawal (see [`crate::cookie_cleanup`]); the cookies
    /// listed per service in `categories` are added.
    pub cleanup: CleanupConfig,
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Service {
    /// Its name as people know it, e.g. `"Google Analytics"`. Required.
    pub name: String,
    /// The cookies it sets (names or patterns such as `"_ga*"`). Default `[]`.
    pub cookies: Vec<String>,
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
    /// Reads and validates the config object `init` was given (`undefined` and `null` mean
    /// every default).
    ///
    /// # Errors
    ///
    /// [`SdkError::Config`], whose text starts with the path of the offending member.
    pub fn read<V: Value>(value: &V) -> Result<Config> {
        let mut c = Config::default();
        if matches!(value.kind(), Kind::Undefined | Kind::Null) {
            return Ok(c);
        }
        refuse_non_json(value, &mut String::new(), 0)?;
        let root = Object::new(value, "config", CONFIG_MEMBERS)?;
        if let Some(v) = root.get("endpoint") {
            c.endpoint = string(v, "endpoint")?;
        }
        if let Some(v) = root.get("issuer") {
            c.issuer = string(v, "issuer")?;
        }
        if let Some(v) = root.get("policyUrl") {
            c.policy_url = string(v, "policyUrl")?;
        }
        if let Some(v) = root.get("jwksUrl") {
            c.jwks_url = optional(v, "jwksUrl", string)?;
        }
        if let Some(v) = root.get("jwks") {
            c.jwks = optional(v, "jwks", read_jwks)?;
        }
        if let Some(v) = root.get("policyVersion") {
            let id = string(v, "policyVersion")?;
            c.policy_version = policy::version(&id).ok_or_else(|| {
                fault(|| {
                    let mut text = String::from("policyVersion: unknown policy version \"");
                    text.push_str(&id);
                    text.push_str("\"; use one this SDK was built with:");
                    for version in policy::VERSIONS {
                        text.push(' ');
                        text.push_str(version.id);
                    }
                    text
                })
            })?;
        }
        if let Some(v) = root.get("language") {
            c.language = optional(v, "language", |v, path| {
                let tag = string(v, path)?;
                Language::from_tag(&tag)
                    .ok_or_else(|| expected(path, "\"ru\" or \"kk\" (or null)", v))
            })?;
        }
        if let Some(v) = root.get("categories") {
            let categories =
                Object::new(v, "categories", &["necessary", "analytics", "marketing"])?;
            for (name, target) in [
                ("necessary", &mut c.categories.necessary),
                ("analytics", &mut c.categories.analytics),
                ("marketing", &mut c.categories.marketing),
            ] {
                let Some(v) = categories.get(name) else {
                    continue;
                };
                let path = join("categories", name);
                let category = Object::new(v, &path, &["services"])?;
                if let Some(v) = category.get("services") {
                    target.services = read_services(v, &join(&path, "services"))?;
                }
            }
        }
        if let Some(v) = root.get("cookie") {
            let cookie = Object::new(v, "cookie", &["name", "domain", "path"])?;
            if let Some(v) = cookie.get("name") {
                c.cookie.name = string(v, "cookie.name")?;
            }
            if let Some(v) = cookie.get("domain") {
                c.cookie.domain = optional(v, "cookie.domain", string)?;
            }
            if let Some(v) = cookie.get("path") {
                c.cookie.path = string(v, "cookie.path")?;
            }
        }
        if let Some(v) = root.get("ui") {
            let ui = Object::new(v, "ui", &["autoShow", "hideForBots", "languageSwitch"])?;
            for (name, flag) in [
                ("autoShow", &mut c.ui.auto_show),
                ("hideForBots", &mut c.ui.hide_for_bots),
                ("languageSwitch", &mut c.ui.language_switch),
            ] {
                if let Some(v) = ui.get(name) {
                    *flag = boolean(v, &join("ui", name))?;
                }
            }
        }
        if let Some(v) = root.get("net") {
            let net = Object::new(v, "net", &["timeoutMs", "maxAttempts", "backoffMs"])?;
            for (name, number) in [
                ("timeoutMs", &mut c.net.timeout_ms),
                ("maxAttempts", &mut c.net.max_attempts),
                ("backoffMs", &mut c.net.backoff_ms),
            ] {
                if let Some(v) = net.get(name) {
                    *number = whole(v, &join("net", name))?;
                }
            }
        }
        if let Some(v) = root.get("consentMode") {
            let m = &mut c.consent_mode;
            let mode = Object::new(
                v,
                "consentMode",
                &["enabled", "mapping", "dataLayer", "event"],
            )?;
            if let Some(v) = mode.get("enabled") {
                m.enabled = boolean(v, "consentMode.enabled")?;
            }
            if let Some(v) = mode.get("dataLayer") {
                m.data_layer = string(v, "consentMode.dataLayer")?;
            }
            if let Some(v) = mode.get("event") {
                m.event = string(v, "consentMode.event")?;
            }
            if let Some(v) = mode.get("mapping") {
                let mapping = Object::new(
                    v,
                    "consentMode.mapping",
                    &["necessary", "analytics", "marketing"],
                )?;
                for (name, keys) in [
                    ("necessary", &mut m.mapping.necessary),
                    ("analytics", &mut m.mapping.analytics),
                    ("marketing", &mut m.mapping.marketing),
                ] {
                    if let Some(v) = mapping.get(name) {
                        *keys = strings(v, &join("consentMode.mapping", name))?;
                    }
                }
            }
        }
        if let Some(v) = root.get("cleanup") {
            let cleanup = Object::new(v, "cleanup", &["analytics", "marketing", "reload"])?;
            if let Some(v) = cleanup.get("analytics") {
                c.cleanup.analytics = strings(v, "cleanup.analytics")?;
            }
            if let Some(v) = cleanup.get("marketing") {
                c.cleanup.marketing = strings(v, "cleanup.marketing")?;
            }
            if let Some(v) = cleanup.get("reload") {
                c.cleanup.reload = boolean(v, "cleanup.reload")?;
            }
        }
        if let Some(v) = root.get("forms") {
            let forms = Object::new(v, "forms", &["declarative", "tokenField"])?;
            if let Some(v) = forms.get("declarative") {
                c.forms.declarative = boolean(v, "forms.declarative")?;
            }
            if let Some(v) = forms.get("tokenField") {
                c.forms.token_field = string(v, "forms.tokenField")?;
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Parses JSON text with the core's reader, then [`Config::read`]: for tests and tools;
    /// `init` reads the JS object itself.
    ///
    /// # Errors
    ///
    /// As [`Config::read`]; text that is not JSON names the byte where it stops being.
    pub fn from_json(json: &str) -> Result<Config> {
        let root = vivus_consent_core::json::parse(json).map_err(|at| {
            let mut text = String::from("config: not valid JSON (at byte ");
            crate::storage::push_u64(&mut text, at as u64);
            text.push_str("); pass a plain object");
            SdkError::Config(text)
        })?;
        if root.value == vivus_consent_core::json::Value::Null {
            return Err(expected("config", "an object", &root));
        }
        Self::read(&root)
    }

    /// What no type check catches, each message starting with the member's path.
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
        for category in Category::ALL {
            let keys = self.consent_mode.mapping.keys(category);
            if let Some(key) = keys
                .iter()
                .find(|k| !crate::consent_mode::KEYS.contains(&k.as_str()))
            {
                return Err(fault(|| {
                    let mut text = join("consentMode.mapping", category.as_str());
                    text.push_str(": unknown consent mode key \"");
                    text.push_str(key);
                    text.push_str(
                        "\": use ad_storage, ad_user_data, ad_personalization, analytics_storage, \
                         functionality_storage, personalization_storage or security_storage",
                    );
                    text
                }));
            }
        }
        for (name, value) in [
            ("dataLayer", &self.consent_mode.data_layer),
            ("event", &self.consent_mode.event),
        ] {
            if value.is_empty() {
                return Err(fault(|| {
                    let mut text = join("consentMode", name);
                    text.push_str(
                        ": must not be empty; give a name, or leave the member out for the default",
                    );
                    text
                }));
            }
        }
        for category in Category::OPTIONAL {
            for pattern in self.cleanup.patterns(category) {
                let bad = pattern.is_empty()
                    || pattern
                        .bytes()
                        .any(|b| matches!(b, b';' | b'=' | b',' | b' ' | b'\t'));
                if bad {
                    return Err(fault(|| {
                        let mut text = join("cleanup", category.as_str());
                        text.push_str(": the pattern \"");
                        text.push_str(pattern);
                        text.push_str(
                            "\" is empty or holds `;`, `=`, `,` or a space; give a cookie name, \
                             with `*` for any characters",
                        );
                        text
                    }));
                }
            }
        }
        if self.forms.token_field.trim().is_empty() {
            return Err(invalid(
                "forms.tokenField: must be the name of the hidden field the token goes in, \
                 e.g. \"consent_token\" (the default)",
            ));
        }
        for category in Category::ALL {
            if self
                .services(category)
                .iter()
                .any(|s| s.name.trim().is_empty())
            {
                return Err(fault(|| {
                    let mut text = join("categories", category.as_str());
                    text.push_str(".services: every service needs a non-empty name");
                    text
                }));
            }
        }
        Ok(())
    }

    /// The services listed for a category.
    pub fn services(&self, category: Category) -> &[Service] {
        match category {
            Category::Necessary => &self.categories.necessary.services,
            Category::Analytics => &self.categories.analytics.services,
            Category::Marketing => &self.categories.marketing.services,
        }
    }
}

/// The members `init(config)` takes, in the order the unknown-member error lists them.
const CONFIG_MEMBERS: &[&str] = &[
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
];

// Inlined where the texts are not told, so that they are not linked either.
#[cfg_attr(not(any(feature = "runtime", feature = "ui")), inline(always))]
fn invalid(text: &str) -> SdkError {
    fault(|| text.into())
}

/// Whether this build says what is wrong with an invalid config. The returning visitor's
/// stage only needs to know *that* it is invalid (it then runs nothing, and the runtime
/// rejects `init` with the text): the same rules, without the texts and the paths they name
/// (1.3 kB brotli of that stage).
const TELLS: bool = cfg!(any(
    feature = "runtime",
    feature = "ui",
    not(target_arch = "wasm32")
));

/// The error of an invalid config, with the text `text` makes where the build tells it.
// Inlined where the texts are not told, so that they are not linked either.
#[cfg_attr(not(any(feature = "runtime", feature = "ui")), inline(always))]
fn fault(text: impl FnOnce() -> String) -> SdkError {
    SdkError::Config(if TELLS { text() } else { String::new() })
}

/// RFC 6265 `token` characters (RFC 7230 tchar).
fn is_cookie_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An object's members, every one of them known.
struct Object<V> {
    members: Vec<(String, V)>,
}

impl<V: Value> Object<V> {
    /// The members of the object at `path`, refusing any not in `known` (a misspelt option
    /// is an error) and any that JSON could not hold.
    fn new(value: &V, path: &str, known: &[&str]) -> Result<Object<V>> {
        let members = value
            .members()
            .ok_or_else(|| expected(path, "an object", value))?;
        for (key, _) in &members {
            if !known.contains(&key.as_str()) {
                return Err(fault(|| {
                    let mut text = if path == "config" {
                        String::new()
                    } else {
                        join(path, "")
                    };
                    push_name(&mut text, key);
                    text.push_str(": unknown option; the options here are ");
                    for (i, option) in known.iter().enumerate() {
                        if i > 0 {
                            text.push_str(", ");
                        }
                        text.push_str(option);
                    }
                    text
                }));
            }
        }
        Ok(Object { members })
    }

    fn get(&self, name: &str) -> Option<&V> {
        self.members
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v)
    }
}

/// A member name as the path shows it: quoted when it is not a plain identifier, so the
/// message still reads as "<path>: <problem>".
fn push_name(text: &mut String, key: &str) {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        text.push_str(key);
    } else {
        text.push('"');
        for c in key.chars() {
            if c == '"' || c == '\\' {
                text.push('\\');
            }
            text.push(c);
        }
        text.push('"');
    }
}

/// Refuses the first value under `value` that JSON has no form for (a function, `undefined`,
/// a symbol), naming its path, before any other check: `{ ui: { onShow() {} } }` must not
/// pass as `{ ui: {} }`, and a callback is not a misspelt option.
fn refuse_non_json<V: Value>(value: &V, path: &mut String, depth: u8) -> Result<()> {
    let what = match value.kind() {
        Kind::Function => ": functions are not accepted; subscribe with consent.on(event, handler)",
        Kind::Undefined => {
            ": undefined is not accepted; expected a value, or leave the member out for its default"
        }
        Kind::Other => {
            ": symbols are not accepted; expected a string, number, boolean, null, array or object"
        }
        // Deeper than any config member is left to the member checks.
        _ if depth >= 8 => return Ok(()),
        Kind::Array => {
            let at = path.len();
            for (i, item) in value.items().unwrap_or_default().iter().enumerate() {
                if TELLS {
                    path.push('[');
                    crate::storage::push_u64(path, i as u64);
                    path.push(']');
                }
                refuse_non_json(item, path, depth + 1)?;
                path.truncate(at);
            }
            return Ok(());
        }
        Kind::Object => {
            let at = path.len();
            for (key, item) in value.members().unwrap_or_default().iter() {
                if TELLS {
                    if at > 0 {
                        path.push('.');
                    }
                    push_name(path, key);
                }
                refuse_non_json(item, path, depth + 1)?;
                path.truncate(at);
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    Err(fault(|| {
        path.push_str(what);
        core::mem::take(path)
    }))
}

fn read_jwks<V: Value>(value: &V, path: &str) -> Result<Jwks> {
    let set = Object::new(value, path, &["keys"])?;
    let keys = set
        .get("keys")
        .and_then(Value::items)
        .ok_or_else(|| expected(path, "{ keys: [...] } with a keys array", value))?;
    Ok(Jwks {
        keys: keys.iter().filter_map(read_jwk).collect(),
    })
}

/// A JWK read as the core reads a key set (RFC 7517): members a key does not define are
/// ignored, and entries that are not octet key pairs with `crv` and `x` are skipped.
pub(crate) fn read_jwk<V: Value>(entry: &V) -> Option<vivus_consent_core::jwk::Jwk> {
    use vivus_consent_core::jwk::{Jwk, KTY_OKP};
    let members = entry.members()?;
    let text = |name: &str| {
        members
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.string())
    };
    (text("kty")? == KTY_OKP).then_some(())?;
    Some(Jwk {
        kty: KTY_OKP.into(),
        crv: text("crv")?,
        x: text("x")?,
        kid: text("kid"),
        alg: text("alg"),
        use_: text("use"),
    })
}

fn read_services<V: Value>(value: &V, base: &str) -> Result<Vec<Service>> {
    let items = value
        .items()
        .ok_or_else(|| expected(base, "an array of { name, cookies }", value))?;
    let mut services = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut path = String::new();
        if TELLS {
            path.push_str(base);
            path.push('[');
            crate::storage::push_u64(&mut path, i as u64);
            path.push(']');
        }
        let service = Object::new(item, &path, &["name", "cookies"])?;
        let Some(name) = service.get("name") else {
            return Err(fault(|| {
                path.push_str(".name: missing; every service needs a name");
                path
            }));
        };
        let name = string(name, &join(&path, "name"))?;
        let cookies = match service.get("cookies") {
            None => Vec::new(),
            Some(v) => {
                let path = join(&path, "cookies");
                let items = v
                    .items()
                    .ok_or_else(|| expected(&path, "an array of cookie names", v))?;
                items
                    .iter()
                    .map(|cookie| string(cookie, &path))
                    .collect::<Result<_>>()?
            }
        };
        services.push(Service { name, cookies });
    }
    Ok(services)
}

fn strings<V: Value>(value: &V, path: &str) -> Result<Vec<String>> {
    let items = value
        .items()
        .ok_or_else(|| expected(path, "an array of strings", value))?;
    items.iter().map(|item| string(item, path)).collect()
}

/// `parent.key`, for a message (nothing where the build tells none).
fn join(parent: &str, key: &str) -> String {
    if !TELLS {
        return String::new();
    }
    let mut path = String::from(parent);
    path.push('.');
    path.push_str(key);
    path
}

fn optional<V: Value, T>(
    value: &V,
    path: &str,
    read: impl Fn(&V, &str) -> Result<T>,
) -> Result<Option<T>> {
    match value.kind() {
        Kind::Null => Ok(None),
        _ => read(value, path).map(Some),
    }
}

fn string<V: Value>(value: &V, path: &str) -> Result<String> {
    value
        .string()
        .ok_or_else(|| expected(path, "a string", value))
}

fn boolean<V: Value>(value: &V, path: &str) -> Result<bool> {
    value
        .boolean()
        .ok_or_else(|| expected(path, "true or false", value))
}

fn whole<V: Value>(value: &V, path: &str) -> Result<u32> {
    match (value.kind(), value.number()) {
        (Kind::Whole, Some(n)) if n <= f64::from(u32::MAX) => Ok(n as u32),
        (Kind::Whole, _) => Err(expected(path, "a whole number from 0 to 4294967295", value)),
        _ => Err(expected(path, "a whole number", value)),
    }
}

/// `path: expected <what>, found <what it is>`.
// Inlined where the texts are not told, so that they are not linked either.
#[cfg_attr(not(any(feature = "runtime", feature = "ui")), inline(always))]
fn expected<V: Value>(path: &str, what: &str, found: &V) -> SdkError {
    fault(|| expected_text(path, what, found))
}

fn expected_text<V: Value>(path: &str, what: &str, found: &V) -> String {
    let mut text = String::from(path);
    text.push_str(": expected ");
    text.push_str(what);
    text.push_str(", found ");
    text.push_str(found.kind().described());
    if let Some(s) = found.string() {
        text.push_str(" \"");
        text.push_str(&s);
        text.push('"');
    }
    text
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
        FormConfig {
            declarative: true,
            token_field: "consent_token".into(),
        }
    }
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
        // The reader is tested on JSON text through the core's reader (the browser hands it
        // the JS object itself).
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
            (r#"{"consentMode":{"event":""}}"#, "consentMode.event: must not be empty"),
            (r#"{"cleanup":{"analytics":[""]}}"#, "cleanup.analytics: the pattern \"\""),
            (r#"{"cleanup":{"marketing":["_fbp","a=b"]}}"#, "cleanup.marketing: the pattern \"a=b\""),
        ];
        for (json, expected) in cases {
            let text = err(json);
            assert!(text.starts_with("invalid vivus-consent config: "), "{text}");
            assert!(text.contains(expected), "{json}: {text}");
        }
    }
}
