//! The first-visit banner: a labelled region fixed at the bottom that does not block the
//! page, with three buttons of equal weight (accept all, only necessary, settings), the
//! policy link and the language switch.
//!
//! [`draw`] builds its elements; the SDK ([`build`]) and the first-paint build
//! (`crate::boot`) both call it, so the banner the visitor first sees and the one the SDK
//! takes over with are the same DOM.

use vivus_consent_core::language::Language;
use web_sys::{Document, Element};

use super::{attr, button, child, el, language_buttons, text_child};
#[cfg(feature = "ui")]
use {
    super::{on_click, Kind, View},
    crate::runtime::Runtime,
    vivus_consent_core::category::Categories,
    vivus_consent_core::consent::Source,
    web_sys::ShadowRoot,
};

/// The banner's elements, not yet in the page: what the visitor sees before anything is
/// wired. `switch` adds the language switch (config `ui.languageSwitch`); `gpc` the Global
/// Privacy Control note.
pub(crate) fn draw(doc: &Document, lang: Language, gpc: bool, switch: bool) -> Element {
    let t = crate::i18n::banner(lang);
    let banner = el(doc, "div", "banner");
    attr(&banner, "role", "region");
    attr(&banner, "aria-labelledby", "vc-bt");
    attr(&banner, "lang", lang.as_str());
    let inner = child(&banner, "div", "inner");
    let top = child(&inner, "div", "top");
    attr(&text_child(&top, "h2", "", t.banner_title), "id", "vc-bt");
    if switch {
        language_buttons(&top, lang);
    }
    text_child(&inner, "p", "", t.banner_body);
    if gpc {
        text_child(&inner, "p", "", t.gpc_note);
    }
    button(&inner, "link", t.policy_link, "policy");
    let actions = child(&inner, "div", "actions");
    button(&actions, "btn", t.accept_all, "accept");
    button(&actions, "btn", t.reject_all, "reject");
    button(&actions, "btn", t.settings, "settings");
    banner
}

/// The SDK's banner: [`draw`], wired to the runtime.
#[cfg(feature = "ui")]
pub(crate) fn build(rt: &Runtime, root: &ShadowRoot) -> View {
    let lang = rt.language();
    let doc = wasm_bindgen::UnwrapThrowExt::unwrap_throw(root.owner_document());
    let switch = rt.config().ui.language_switch;
    let banner = draw(&doc, lang, rt.snapshot().gpc(), switch);
    let mut listeners = Vec::new();
    let hook = |name: &str| {
        let found = banner.query_selector(&super::hook_selector(name)).ok().flatten();
        wasm_bindgen::UnwrapThrowExt::unwrap_throw(found)
    };
    if switch {
        for lang in Language::ALL {
            let name = super::language_hook(lang);
            listeners.push(super::on_language(rt, &hook(name), lang, name));
        }
    }
    listeners.push(on_click(rt, &hook("policy"), |rt| {
        super::open(rt, Kind::Policy)
    }));
    listeners.push(on_click(rt, &hook("accept"), |rt| {
        let _ = rt.choose(Categories::all(), None, Source::Banner);
    }));
    listeners.push(on_click(rt, &hook("reject"), |rt| {
        let _ = rt.choose(Categories::new(), None, Source::Banner);
    }));
    listeners.push(on_click(rt, &hook("settings"), |rt| {
        super::open(rt, Kind::Preferences)
    }));
    root.append_child(&banner).ok();
    View {
        el: banner,
        listeners,
    }
}
