//! The first-paint build (feature `boot`): a small wasm that draws the banner on a first
//! visit before the SDK's own, much larger wasm is even requested.
//!
//! `pkg/vivus-consent.js` loads it only when nothing is stored (no token, no pending choice:
//! the entry's `mayBeStored` reads the places `crate::storage` names) and calls [`paint`]
//! with the page's config. It draws the banner only when the SDK would (`autoShow`, not a
//! crawler), with the SDK's own drawing code ([`crate::dom::banner::draw`]) and sheet, in
//! the SDK's host element marked `data-vc-boot`. The entry then loads the SDK, whose widget
//! removes this host and renders its banner in the same task ([`crate::dom::take_boot_host`]),
//! so the visitor sees one banner throughout. Clicks made meanwhile are written on the host
//! and repeated on the SDK's buttons, and focus is carried over (`ui::widget::resume`).
//!
//! Everything else (verifying a token, running granted tags, recording a choice) is the
//! SDK's: when there is anything stored, the entry does not load this at all.
//!
//! Every byte here is before the banner (issue 12: at most 12 kB brotli with the entry and
//! the glue), so this build reads strings from JS only where a rule needs them, builds few
//! and casts instead of checking where the type is known.

use vivus_consent_core::language::Language;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ShadowRoot};

use crate::config::UiConfig;
use crate::dom::{self, boot_host};
use crate::env;

/// The config members that decide whether and how the banner shows, with the SDK's
/// defaults. The SDK validates the whole config (`crate::config`); linking that here added
/// 23 kB (raw) to this build, so this reads only these members and gives up on a value of
/// the wrong type (the SDK's `init` then rejects, naming it, and the entry removes the banner).
struct Members {
    ui: UiConfig,
    language: Option<Language>,
}

impl Members {
    fn read(config: &JsValue) -> Option<Members> {
        let mut m = Members {
            ui: UiConfig::default(),
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
        // The entry found nothing stored under this name (`mayBeStored`); a name the SDK
        // will refuse means no banner here either (`as_string`, not `is_string`: one import
        // fewer).
        if let Some(name) = member(config, "cookie").and_then(|c| member(&c, "name")) {
            name.as_string()?;
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
/// the entry to send the root's clicks to [`clicked`]. Returns `undefined` (`autoShow` off, a
/// crawler, a config the SDK will refuse, no document) when nothing was drawn and the SDK
/// should load at once.
///
/// The entry calls this only when nothing is stored (its `mayBeStored`, in
/// `pkg/src/vivus-consent.js`, reads the token cookie and both localStorage keys as
/// `crate::storage` names them): reading them again here cost 1 kB brotli.
///
/// The state lives in the page (the host's attributes), not in this module: nothing here
/// outlives the call, so this build needs no closures or thread-locals.
#[wasm_bindgen(js_name = b)]
pub fn paint(config: &JsValue) -> Option<ShadowRoot> {
    let config = Members::read(config)?;
    if !env::shows_banner(&config.ui) {
        return None;
    }
    let doc = env::window()?.document()?;
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
    let lang = env::language(config.language);
    let banner = dom::banner::draw(
        &doc,
        lang,
        env::global_privacy_control(),
        config.ui.language_switch,
    );
    dom::attr(&host, boot_host::MARK, "");
    dom::attr(&host, "lang", lang.as_str());
    root.append_child(&banner).ok()?;
    body.append_child(&host).ok()?;
    Some(root)
}

/// Pads the body by the height of the banner [`paint`] drew, so the page scrolls above it.
/// The entry calls this in the banner's first animation frame, not [`paint`] itself: reading
/// the banner's height there laid the whole page out inside the script's task, which made it
/// a long task (about 55 ms at CPU ×4, 20-28 ms of it that layout; `make bench`, "total
/// blocking time"). In the frame, that layout is the one the browser does anyway before it
/// paints, and the banner and the padding still appear together. Does nothing once the SDK
/// took the banner over (a background tab paints no frames, so the entry may not wait).
#[wasm_bindgen(js_name = p)]
pub fn pad() {
    let _ = pad_banner();
}

fn pad_banner() -> Option<()> {
    let doc = env::window()?.document()?;
    let host = doc.query_selector(boot_host::SELECTOR).ok()??;
    let banner = host.shadow_root()?.query_selector(".banner").ok()??;
    let mut saved = None;
    dom::pad_body(&doc, &banner, &mut saved);
    dom::attr(
        &host,
        boot_host::PADDING,
        saved.as_deref().unwrap_or_default(),
    );
    Some(())
}

/// Removes the banner [`paint`] drew, giving the body its padding back (the entry calls it
/// when the SDK cannot start, so no banner is left that nothing answers).
#[wasm_bindgen(js_name = u)]
pub fn unpaint() {
    let Some(doc) = env::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(host) = doc.query_selector(boot_host::SELECTOR).ok().flatten() {
        dom::unpad_body(&doc, host.get_attribute(boot_host::PADDING));
        host.remove();
    }
}

/// A click on the banner before the SDK is there: noted for the SDK to repeat, and answered
/// at once where it can be without the SDK (the language switch, hiding on a choice).
#[wasm_bindgen(js_name = c)]
pub fn clicked(event: &web_sys::Event) {
    let _ = answer(event);
}

fn answer(event: &web_sys::Event) -> Option<()> {
    // Clicks reach the entry's listener on the shadow root only from elements in it.
    let target: Element = event.target()?.unchecked_into();
    let hook = target
        .closest("[data-vc]")
        .ok()??
        .get_attribute("data-vc")?;
    let banner = target.closest(".banner").ok()??;
    let doc = target.owner_document()?;
    // Not there once the SDK has taken over.
    let host = doc.query_selector(boot_host::SELECTOR).ok()??;
    let mut clicks = host.get_attribute(boot_host::CLICKS).unwrap_or_default();
    if !clicks.is_empty() {
        clicks.push(' ');
    }
    clicks.push_str(&hook);
    dom::attr(&host, boot_host::CLICKS, &clicks);
    if let Some(lang) = Language::ALL
        .into_iter()
        .find(|&l| dom::language_hook(l) == hook)
    {
        // Only a banner with the switch has these buttons.
        let redrawn = dom::banner::draw(&doc, lang, env::global_privacy_control(), true);
        banner.replace_with_with_node_1(&redrawn).ok()?;
        dom::attr(&host, "lang", lang.as_str());
        dom::pad_body(&doc, &redrawn, &mut Some(String::new()));
        // The button of the language chosen, as the switch marks it.
        let _ = redrawn
            .query_selector("[aria-pressed=true]")
            .ok()??
            .unchecked_into::<HtmlElement>()
            .focus();
    } else if hook == "accept" || hook == "reject" {
        dom::attr(&banner, "hidden", "");
        dom::unpad_body(&doc, host.get_attribute(boot_host::PADDING));
    }
    Some(())
}
