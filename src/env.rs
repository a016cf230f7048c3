//! What the SDK asks of its environment: time, randomness, the page's language hints,
//! whether the visitor is a crawler. The pure parts are tested natively.

use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::language::Language;

use crate::error::{Result, SdkError};

#[cfg(not(any(feature = "runtime", feature = "ui", feature = "returning")))]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global `window`, `undefined` where there is none (a worker, Node).
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
}

/// The page's window, `None` outside one. The first-paint build reads the global `window` with
/// one import: `web_sys::window()` looks for the global object four ways and then checks it is
/// a `Window` (six imports, 0.3 kB brotli before the banner). The other builds link that anyway
/// (storage, timers, the Trusted Types policy), so there it is the same function.
pub fn window() -> Option<web_sys::Window> {
    #[cfg(not(any(feature = "runtime", feature = "ui", feature = "returning")))]
    return WINDOW.with(Clone::clone);
    #[cfg(any(feature = "runtime", feature = "ui", feature = "returning"))]
    web_sys::window()
}

/// Crawlers that index pages and must neither see a banner nor be counted as consenting.
/// Matched case-insensitively as substrings of the user agent. `navigator.webdriver` is
/// deliberately not a signal: automated tests of the site drive a real browser.
/// One string, names separated by spaces: a table of 14 `&str` would add 112 bytes of
/// pointers that compress badly to the first-paint wasm.
const BOTS: &str = "googlebot adsbot-google mediapartners-google google-inspectiontool bingbot \
                    yandexbot yandex.com/bots duckduckbot baiduspider applebot \
                    facebookexternalhit petalbot ahrefsbot semrushbot";

/// Whether `user_agent` is a known crawler's.
pub fn is_bot(user_agent: &str) -> bool {
    // A byte-window comparison rather than `to_lowercase` + `contains`: no allocation, and
    // no substring searcher (2 kB of wasm) in the first-paint build.
    let ua = user_agent.as_bytes();
    BOTS.as_bytes()
        .split(|&b| b == b' ')
        .any(|bot| ua.windows(bot.len()).any(|w| w.eq_ignore_ascii_case(bot)))
}

/// The current time in whole seconds since the epoch (`Date.now()`).
pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Milliseconds since the epoch (the wall clock).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// 16 bytes from `crypto.getRandomValues`.
///
/// # Errors
///
/// [`SdkError::Unsupported`] without `crypto` (not a browser window).
pub fn random16() -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .ok_or(SdkError::Unsupported("crypto.getRandomValues"))?;
    Ok(bytes)
}

/// A fresh consent id.
///
/// # Errors
///
/// As [`random16`].
pub fn new_consent_id() -> Result<ConsentId> {
    random16().map(ConsentId::from_bytes)
}

/// A fresh subject id.
///
/// # Errors
///
/// As [`random16`].
pub fn new_subject_id() -> Result<SubjectId> {
    random16().map(SubjectId::from_bytes)
}

/// The interface language: the configured one, else the page's hints (`?lang=`, `<html lang>`,
/// `navigator.languages`) in the order [`crate::i18n::choose_language`] gives; Russian outside a
/// window. The SDK and the first-paint build both ask here.
pub fn language(configured: Option<Language>) -> Language {
    let Some(window) = window() else {
        return crate::i18n::choose_language(configured, None, None, std::iter::empty::<&str>());
    };
    let search = window.location().search().ok();
    let html = window
        .document()
        .and_then(|d| d.document_element()?.get_attribute("lang"));
    crate::i18n::choose_language(
        configured,
        search
            .as_deref()
            .and_then(|s| crate::i18n::query_param(s, "lang")),
        html.as_deref(),
        // Read one by one, not collected: the first supported one decides.
        window
            .navigator()
            .languages()
            .iter()
            .filter_map(|v| v.as_string()),
    )
}

/// Whether the banner shows by itself when there is no valid consent: `ui.autoShow`, and
/// not for a crawler when `ui.hideForBots`.
pub fn shows_banner(ui: &crate::config::UiConfig) -> bool {
    ui.auto_show && !(ui.hide_for_bots && is_bot(&user_agent()))
}

/// Whether the page runs over https (cookies then get `Secure`).
pub fn is_https() -> bool {
    window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:")
}

/// The user agent string, empty if unavailable.
pub fn user_agent() -> String {
    window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default()
}

/// Whether the browser sends Global Privacy Control (`navigator.globalPrivacyControl` is
/// `true`; the signal is a boolean where it exists).
pub fn global_privacy_control() -> bool {
    window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"globalPrivacyControl".into()).ok())
        .is_some_and(|v| v.as_bool() == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_list_has_no_empty_name() {
        // An empty name would match every user agent (and `windows(0)` panics).
        let names: Vec<&str> = BOTS.split(' ').collect();
        assert_eq!(names.len(), 14, "{names:?}");
        assert!(names.iter().all(|n| !n.is_empty()), "{names:?}");
    }

    #[test]
    fn crawlers_are_bots_and_browsers_are_not() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 (Applebot/0.1)",
        ] {
            assert!(is_bot(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
            "",
        ] {
            assert!(!is_bot(ua), "{ua}");
        }
    }
}
