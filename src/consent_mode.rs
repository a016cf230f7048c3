//! Google Consent Mode v2: tell Google tags what the visitor granted.
//!
//! The defaults (everything denied, `wait_for_update`) are set before any Google tag by the
//! synchronous snippet `pkg/consent-mode.js`, which also defines `window.gtag`. This module
//! sends the matching `gtag('consent', 'update', …)` from the verified stored consent on every
//! page load and on every change, and pushes a `dataLayer` event (`vivus_consent_update` by
//! default, with the categories, consent id and policy version) so GTM triggers can react.
//!
//! An update is sent on every page load even when nothing is granted: Google tags waiting on
//! `wait_for_update` then proceed at once in denied mode instead of waiting out the timeout.
//!
//! Which Consent Mode keys a category turns on is configurable ([`ConsentModeConfig`]); the
//! defaults are analytics → `analytics_storage` and marketing → `ad_storage`, `ad_user_data`,
//! `ad_personalization`. A key mapped from several categories is granted only when all of
//! them are: denial wins.

use vivus_consent_core::category::{Categories, Category};
use wasm_bindgen::{JsCast, JsValue};

/// The Consent Mode v2 keys gtag knows. A key outside this list in the configuration is an
/// error, since gtag would ignore it without a word.
pub const KEYS: [&str; 7] = [
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
];

/// The `dataLayer` event pushed on every update, unless configured otherwise.
pub const DEFAULT_EVENT: &str = "vivus_consent_update";

/// Configuration of the Consent Mode bridge (the `consentMode` member of the SDK config,
/// read by [`crate::config::Config::read`], which also checks its keys and names).
///
/// ```
/// use vivus_consent::config::Config;
/// let config = Config::from_json(
///     r#"{"consentMode":{"mapping":{"analytics":["analytics_storage"],"marketing":["ad_storage"]}}}"#,
/// )?;
/// assert_eq!(config.consent_mode.mapping.marketing, ["ad_storage"]);
/// # Ok::<(), vivus_consent::error::SdkError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentModeConfig {
    /// Whether to call `gtag` and push to the data layer at all. Default `true`.
    pub enabled: bool,
    /// Consent Mode keys per category. Default: analytics → `analytics_storage`;
    /// marketing → `ad_storage`, `ad_user_data`, `ad_personalization`.
    pub mapping: Mapping,
    /// The name of the global data layer array. Default `"dataLayer"`.
    pub data_layer: String,
    /// The `event` of the object pushed to the data layer. Default `"vivus_consent_update"`.
    pub event: String,
}

impl Default for ConsentModeConfig {
    fn default() -> Self {
        ConsentModeConfig {
            enabled: true,
            mapping: Mapping::default(),
            data_layer: "dataLayer".into(),
            event: DEFAULT_EVENT.into(),
        }
    }
}

/// Consent Mode keys per category; see [`ConsentModeConfig::mapping`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Keys granted by the necessary category (always granted). Default: none, because the
    /// defaults snippet already grants `functionality_storage` and `security_storage`.
    pub necessary: Vec<String>,
    /// Keys granted by the analytics category. Default `["analytics_storage"]`.
    pub analytics: Vec<String>,
    /// Keys granted by the marketing category. Default
    /// `["ad_storage", "ad_user_data", "ad_personalization"]`.
    pub marketing: Vec<String>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            necessary: Vec::new(),
            analytics: vec!["analytics_storage".into()],
            marketing: vec![
                "ad_storage".into(),
                "ad_user_data".into(),
                "ad_personalization".into(),
            ],
        }
    }
}

impl Mapping {
    /// The keys of one category.
    pub fn keys(&self, category: Category) -> &[String] {
        match category {
            Category::Necessary => &self.necessary,
            Category::Analytics => &self.analytics,
            Category::Marketing => &self.marketing,
        }
    }
}

impl ConsentModeConfig {
    /// The consent state per key for a granted set, in the order keys first appear in the
    /// mapping (necessary, analytics, marketing). A key mapped from a category that is not
    /// granted is denied, even if another, granted category maps it too.
    pub fn states(&self, granted: Categories) -> Vec<(&str, bool)> {
        let mut states: Vec<(&str, bool)> = Vec::new();
        for category in Category::ALL {
            let on = granted.contains(category);
            for key in self.mapping.keys(category) {
                match states.iter_mut().find(|(k, _)| *k == key.as_str()) {
                    Some(entry) => entry.1 &= on,
                    None => states.push((key.as_str(), on)),
                }
            }
        }
        states
    }
}

/// What the update says besides the granted set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context<'a> {
    /// The consent id (the token's `jti`, or the pending choice's id), if there is a choice.
    pub consent_id: Option<&'a str>,
    /// The policy version the choice was made under, if there is a choice.
    pub policy_version: Option<&'a str>,
}

/// What [`update`] could do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// `gtag('consent','update',…)` was called (false when `window.gtag` is not a function:
    /// the defaults snippet is missing).
    pub gtag: bool,
    /// The event was pushed to the data layer.
    pub data_layer: bool,
}

/// Sends `gtag('consent', 'update', …)` for `granted`, then pushes the data layer event.
///
/// gtag is called only if `window.gtag` is a function: the SDK does not define it, because a
/// `gtag` must push the `arguments` object itself, which only JavaScript can do (and eval is
/// not an option under a strict CSP). `pkg/consent-mode.js` defines it. The data layer array
/// is created if missing, as GTM's own snippet does.
///
/// Never throws: a page whose `gtag` throws must not break the consent flow.
pub fn update(
    window: &web_sys::Window,
    config: &ConsentModeConfig,
    granted: Categories,
    context: Context<'_>,
) -> Sent {
    let mut sent = Sent {
        gtag: false,
        data_layer: false,
    };
    if !config.enabled {
        return sent;
    }
    let global: &JsValue = window.as_ref();

    let states = js_sys::Object::new();
    for (key, on) in config.states(granted) {
        set(
            &states,
            key,
            &JsValue::from_str(if on { "granted" } else { "denied" }),
        );
    }
    if let Ok(gtag) = js_sys::Reflect::get(global, &JsValue::from_str("gtag")) {
        if let Some(gtag) = gtag.dyn_ref::<js_sys::Function>() {
            sent.gtag = gtag
                .call3(
                    &JsValue::UNDEFINED,
                    &"consent".into(),
                    &"update".into(),
                    &states,
                )
                .is_ok();
        }
    }

    let layer_name = JsValue::from_str(&config.data_layer);
    let mut layer = js_sys::Reflect::get(global, &layer_name).unwrap_or(JsValue::UNDEFINED);
    if layer.is_undefined() || layer.is_null() {
        layer = js_sys::Array::new().into();
        if js_sys::Reflect::set(global, &layer_name, &layer).is_err() {
            return sent;
        }
    }
    let event = js_sys::Object::new();
    set(&event, "event", &JsValue::from_str(&config.event));
    let categories = js_sys::Array::new();
    for category in granted {
        categories.push(&JsValue::from_str(category.as_str()));
    }
    set(&event, "categories", &categories);
    set(
        &event,
        "consentId",
        &context.consent_id.map_or(JsValue::NULL, JsValue::from_str),
    );
    set(
        &event,
        "policyVersion",
        &context
            .policy_version
            .map_or(JsValue::NULL, JsValue::from_str),
    );
    // GTM replaces `dataLayer.push` with its own; calling the property (not Array.prototype.push)
    // is what makes GTM see the event.
    if let Ok(push) = js_sys::Reflect::get(&layer, &JsValue::from_str("push")) {
        if let Some(push) = push.dyn_ref::<js_sys::Function>() {
            sent.data_layer = push.call1(&layer, &event).is_ok();
        }
    }
    sent
}

fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    // Reflect.set on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn set_of(categories: &[Category]) -> Categories {
        categories.iter().copied().collect()
    }

    #[test]
    fn default_mapping_follows_the_granted_categories() {
        let config = ConsentModeConfig::default();
        assert_eq!(
            config.states(Categories::new()),
            vec![
                ("analytics_storage", false),
                ("ad_storage", false),
                ("ad_user_data", false),
                ("ad_personalization", false)
            ]
        );
        assert_eq!(
            config.states(set_of(&[Category::Marketing])),
            vec![
                ("analytics_storage", false),
                ("ad_storage", true),
                ("ad_user_data", true),
                ("ad_personalization", true)
            ]
        );
        assert!(config.states(Categories::all()).iter().all(|(_, on)| *on));
    }

    fn config(mapping: [&[&str]; 3]) -> ConsentModeConfig {
        let owned = |keys: &[&str]| keys.iter().map(|&k| k.to_owned()).collect();
        ConsentModeConfig {
            mapping: Mapping {
                necessary: owned(mapping[0]),
                analytics: owned(mapping[1]),
                marketing: owned(mapping[2]),
            },
            ..ConsentModeConfig::default()
        }
    }

    #[test]
    fn a_key_shared_by_two_categories_needs_both() {
        let config = config([
            &[],
            &["analytics_storage", "personalization_storage"],
            &["ad_storage", "personalization_storage"],
        ]);
        let states = config.states(set_of(&[Category::Analytics]));
        assert_eq!(
            states,
            vec![
                ("analytics_storage", true),
                ("personalization_storage", false),
                ("ad_storage", false)
            ]
        );
        let states = config.states(Categories::all());
        assert!(states.iter().all(|(_, on)| *on));
    }

    #[test]
    fn necessary_keys_are_always_granted() {
        let config = config([&["security_storage"], &["analytics_storage"], &[]]);
        assert_eq!(
            config.states(Categories::new()),
            vec![("security_storage", true), ("analytics_storage", false)]
        );
    }
}
