//! The first-paint build (feature `boot`): a small wasm that draws the banner on a first
//! visit before the SDK's own, much larger wasm is even requested.
//!
//! `pkg/vivus-consent.js` loads it first and calls [`paint`] with the page's config. It
//! draws the banner only when the SDK would (no stored token or pending choice, `autoShow`,
//! not a crawler), with the SDK's own drawing code ([`crate::dom::banner::draw`]) and
//! sheet, in the SDK's host element marked `data-vc-boot`. The entry then loads the SDK,
//! whose start removes this host and renders its banner in the same task
//! ([`crate::dom::take_boot_host`]), so the visitor sees one banner throughout. Clicks made
//! meanwhile are written on the host and repeated on the SDK's buttons, and focus is
//! carried over ([`crate::dom::resume`]).
//!
//! Everything else (verifying a token, running granted tags, recording a choice) is the
//! SDK's: when there is anything stored, [`paint`] draws nothing and the entry loads the SDK
//! at once.

use vivus_consent_core::language::Language;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ShadowRoot};

use crate::config::{CookieConfig, UiConfig};
use crate::dom::{self, boot_host};
use crate::storage::{BrowserStore, ConsentStore, Key};

/// The config members that decide whether and how the banner shows, with the SDK's
/// defaults. The SDK validates the whole config (`crate::config`); linking that here added
/// 23 kB (raw) to this build, so this reads only these members and gives up on a value of
/// the wrong type (the SDK's `init` then rejects, naming it, and the entry removes the banner).
struct Members {
    ui: UiConfig,
    cookie: CookieConfig,
    language: Option<Language>,
}

impl Members {
    fn read(config: &JsValue) -> Option<Members> {
        let mut m = Members {
            ui: UiConfig::default(),
            cookie: CookieConfig::default(),
            language: None,
        };
        if config.is_undefined() || config.is_null() {
            return Some(m);
        }
        if !config.is_object() || js_sys::Array::is_array(config) {
            return None;
        }
        if let Some(ui) = member(config, "ui") {
            for (key, flag) in [
                ("autoShow", &mut m.ui.auto_show),
                ("hideForBots", &mut m.ui.hide_for_bots),
                ("languageSwitch", &mut m.ui.language_switch),
            ] {
                if let Some(v) = member(&ui, key) {
                    *flag = v.as_bool()?;
                }
            }
        }
        if let Some(name) = member(config, "cookie").and_then(|c| member(&c, "name")) {
            m.cookie.name = name.as_string()?;
        }
        if let Some(tag) = member(config, "language").filter(|v| !v.is_null()) {
            m.language = Some(Language::from_tag(&tag.as_string()?)?);
        }
        Some(m)
    }
}

/// `object[key]`, unless absent (`undefined`); `None` also when `object` is not an object.
fn member(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    js_sys::Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// Draws the first-visit banner when the SDK would show it, and returns its shadow root for
/// the entry to send the root's clicks to [`clicked`]. Returns `undefined` (consent stored,
/// `autoShow` off, a crawler, a config the SDK will refuse, no document) when nothing was
/// drawn and the SDK should load at once.
///
/// The state lives in the page (the host's attributes), not in this module: nothing here
/// outlives the call, so this build needs no closures or thread-locals.
#[wasm_bindgen(js_name = b)]
pub fn paint(config: &JsValue) -> Option<ShadowRoot> {
    let config = Members::read(config)?;
    if !crate::env::shows_banner(&config.ui) {
        return None;
    }
    // What the SDK's start reads (a store that cannot be read counts as empty there too).
    let store = BrowserStore::new(config.cookie, crate::env::is_https());
    let stored = |key| store.read(key).ok().flatten().is_some();
    if stored(Key::Token) || stored(Key::Pending) {
        return None;
    }
    let doc = web_sys::window()?.document()?;
    let body = doc.body()?;
    if doc
        .query_selector(boot_host::SELECTOR)
        .ok()
        .flatten()
        .is_some()
    {
        return None;
    }
    let (host, root) = dom::host(&doc, dom::BANNER_CSS)?;
    let lang = crate::env::language(config.language);
    let banner = dom::banner::draw(
        &doc,
        lang,
        crate::env::global_privacy_control(),
        config.ui.language_switch,
    );
    let _ = host.set_attribute(boot_host::MARK, "");
    let _ = host.set_attribute("lang", lang.as_str());
    root.append_child(&banner).ok()?;
    body.append_child(&host).ok()?;
    let mut saved = None;
    dom::pad_body(&doc, &banner, &mut saved);
    let _ = host.set_attribute(boot_host::PADDING, saved.as_deref().unwrap_or_default());
    Some(root)
}

/// Removes the banner [`paint`] drew, giving the body its padding back (the entry calls it
/// when the SDK cannot start, so no banner is left that nothing answers).
#[wasm_bindgen(js_name = u)]
pub fn unpaint() {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        dom::take_boot_host(&doc);
    }
}

/// A click on the banner before the SDK is there: noted for the SDK to repeat, and answered
/// at once where it can be without the SDK (the language switch, hiding on a choice).
#[wasm_bindgen(js_name = c)]
pub fn clicked(event: &web_sys::Event) {
    let _ = answer(event);
}

fn answer(event: &web_sys::Event) -> Option<()> {
    let hook = event
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest("[data-vc]")
        .ok()??
        .get_attribute("data-vc")?;
    let root: ShadowRoot = event.current_target()?.dyn_into().ok()?;
    let host = root.host();
    let doc = host.owner_document()?;
    let banner = root.query_selector(".banner").ok()??;
    if !host.is_connected() {
        return None;
    }
    let mut clicks = host.get_attribute(boot_host::CLICKS).unwrap_or_default();
    if !clicks.is_empty() {
        clicks.push(' ');
    }
    clicks.push_str(&hook);
    let _ = host.set_attribute(boot_host::CLICKS, &clicks);
    if let Some(lang) = Language::ALL
        .into_iter()
        .find(|&l| dom::language_hook(l) == hook)
    {
        // Only a banner with the switch has these buttons.
        let redrawn = dom::banner::draw(&doc, lang, crate::env::global_privacy_control(), true);
        banner.replace_with_with_node_1(&redrawn).ok()?;
        let _ = host.set_attribute("lang", lang.as_str());
        dom::pad_body(&doc, &redrawn, &mut Some(String::new()));
        let _ = root
            .query_selector(&dom::hook_selector(&hook))
            .ok()??
            .dyn_into::<HtmlElement>()
            .ok()?
            .focus();
    } else if hook == "accept" || hook == "reject" {
        let _ = banner.set_attribute("hidden", "");
        dom::unpad_body(&doc, host.get_attribute(boot_host::PADDING));
    }
    Some(())
}
