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

use serde::{Deserialize, Deserializer};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy::{self, PolicyVersion};

use crate::error::{Result, SdkError};

/// Everything `init(config)` accepts. Every member is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
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
    /// policy viewer opens. Default `"policy/"` (the package's `policy/` directory when
    /// loaded through `vivus-consent.js`).
    pub policy_url: String,
    /// The policy version visitors are asked to accept, one compiled into the SDK.
    /// Default: the newest.
    #[serde(deserialize_with = "policy_version")]
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
    pub forms: crate::dom::form::FormConfig,
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoriesConfig {
    /// Strictly necessary services. Default: none listed.
    pub necessary: CategoryConfig,
    /// Analytics services. Default: none listed.
    pub analytics: CategoryConfig,
    /// Marketing and targeting services. Default: none listed.
    pub marketing: CategoryConfig,
}

/// One category's services.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryConfig {
    /// The services that run under the category. Default `[]`.
    pub services: Vec<Service>,
}

/// A third-party service, shown to the visitor in the settings dialog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its name as people know it, e.g. `"Google Analytics"`. Required.
    pub name: String,
    /// The cookies it sets (names or patterns such as `"_ga*"`). Default `[]`.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// Where the consent token cookie lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
        CookieConfig { name: "vivus_consent".into(), domain: None, path: "/".into() }
    }
}

/// The banner and dialogs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
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
        UiConfig { auto_show: true, hide_for_bots: true, language_switch: true }
    }
}

/// Requests to the consent service.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
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
        NetConfig { timeout_ms: 8000, max_attempts: 6, backoff_ms: 1000 }
    }
}

fn policy_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PolicyVersion, D::Error> {
    let id = String::deserialize(deserializer)?;
    policy::version(&id).ok_or_else(|| {
        let mut text = String::from("unknown policy version \"");
        text.push_str(&id);
        text.push_str("\": use one this SDK was built with (");
        for (i, version) in policy::VERSIONS.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(version.id);
        }
        text.push(')');
        serde::de::Error::custom(text)
    })
}

impl Config {
    /// Parses and validates the JSON form of the config object.
    ///
    /// # Errors
    ///
    /// [`SdkError::Config`], whose text starts with the path of the offending member.
    pub fn from_json(json: &str) -> Result<Config> {
        // Derived structs also accept a JSON array of their members in order; a config is an
        // object, and an array here is a mistake to report, not to read.
        if !json.trim_start().starts_with('{') {
            return Err(invalid("config: must be an object such as { endpoint: \"/v1/consents\" }"));
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let config: Config = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let mut text = err.path().to_string();
            if text == "." {
                text = String::from("config");
            }
            text.push_str(": ");
            text.push_str(without_position(&err.inner().to_string()));
            SdkError::Config(text)
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.endpoint.trim().is_empty() {
            return Err(invalid("endpoint: must be the URL consents are posted to, e.g. \"/v1/consents\""));
        }
        if self.issuer.is_empty() {
            return Err(invalid("issuer: must be the iss of the service's tokens, e.g. \"vivus-consent\""));
        }
        if self.cookie.name.is_empty() || !self.cookie.name.bytes().all(is_cookie_token_byte) {
            return Err(invalid(
                "cookie.name: must be a non-empty cookie name of letters, digits and !#$%&'*+-.^_`|~",
            ));
        }
        if !self.cookie.path.starts_with('/') || self.cookie.path.bytes().any(|b| b == b';' || b < 0x21) {
            return Err(invalid("cookie.path: must start with \"/\" and contain no spaces or \";\""));
        }
        if let Some(domain) = &self.cookie.domain {
            if domain.is_empty() || domain.bytes().any(|b| b == b';' || b < 0x21) {
                return Err(invalid("cookie.domain: must be a host name such as \".vivus.kz\", or null"));
            }
        }
        if self.net.timeout_ms == 0 {
            return Err(invalid("net.timeoutMs: must be at least 1 (milliseconds)"));
        }
        if !(1..=20).contains(&self.net.max_attempts) {
            return Err(invalid("net.maxAttempts: must be between 1 and 20"));
        }
        // The gates' members check themselves; their messages start with the member's path.
        self.consent_mode.validate().map_err(|err| SdkError::Config(err.to_string()))?;
        self.cleanup.validate().map_err(|err| SdkError::Config(err.to_string()))?;
        self.forms.validate().map_err(invalid)?;
        for (path, services) in [
            ("categories.necessary.services", &self.categories.necessary.services),
            ("categories.analytics.services", &self.categories.analytics.services),
            ("categories.marketing.services", &self.categories.marketing.services),
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

/// serde_json appends " at line 1 column 37" to its messages; the member path says more.
fn without_position(text: &str) -> &str {
    match text.rfind(" at line ") {
        Some(at) if text[at..].contains(" column ") => &text[..at],
        _ => text,
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
    fn full_config_parses() {
        let config = Config::from_json(
            r#"{"endpoint":"https://consent.vivus.kz/v1/consents","jwksUrl":null,"issuer":"i",
                "language":"kk","policyVersion":"v1","policyUrl":"/p/",
                "jwks":{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}]},
                "categories":{"marketing":{"services":[{"name":"Meta Pixel","cookies":["_fbp"]}]}},
                "cookie":{"name":"c","domain":".vivus.kz","path":"/kz"},
                "ui":{"autoShow":false,"hideForBots":false,"languageSwitch":false},
                "net":{"timeoutMs":100,"maxAttempts":2,"backoffMs":10}}"#,
        )
        .expect("valid");
        assert_eq!(config.language, Some(Language::Kk));
        assert!(config.jwks_url.is_none());
        assert_eq!(config.jwks.expect("inline").keys.len(), 1);
        assert_eq!(config.categories.marketing.services[0].cookies, ["_fbp"]);
        assert_eq!(config.cookie.domain.as_deref(), Some(".vivus.kz"));
    }

    #[test]
    fn errors_name_the_member() {
        let cases = [
            (r#"{"ui":{"autoShow":"yes"}}"#, "ui.autoShow: invalid type: string \"yes\", expected a boolean"),
            (r#"{"ui":{"autoshow":true}}"#, "ui.autoshow: unknown field `autoshow`"),
            (r#"{"endpiont":"/x"}"#, "endpiont: unknown field `endpiont`"),
            (r#"{"language":"en"}"#, "language: unknown variant `en`"),
            (r#"{"policyVersion":"v9"}"#, "policyVersion: unknown policy version \"v9\""),
            (r#"{"categories":{"marketing":{"services":[{"cookies":[]}]}}}"#, "categories.marketing.services[0]: missing field `name`"),
            (r#"{"cookie":{"name":"a b"}}"#, "cookie.name: must be"),
            (r#"{"cookie":{"path":"x"}}"#, "cookie.path: must start"),
            (r#"{"net":{"timeoutMs":-1}}"#, "net.timeoutMs: invalid value: integer `-1`"),
            (r#"{"net":{"maxAttempts":0}}"#, "net.maxAttempts: must be between"),
            (r#"{"endpoint":" "}"#, "endpoint: must be"),
            ("[]", "config: must be an object"),
            ("null", "config: must be an object"),
        ];
        for (json, expected) in cases {
            let text = err(json);
            assert!(text.starts_with("invalid vivus-consent config: "), "{text}");
            assert!(text.contains(expected), "{json}: {text}");
            assert!(!text.contains(" at line "), "{text}");
        }
    }
}
