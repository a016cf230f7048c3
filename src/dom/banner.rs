//! The first-visit banner: a labelled region fixed at the bottom that does not block the
//! page, with three buttons of equal weight (accept all, only necessary, settings), the
//! policy link and the language switch.

use vivus_consent_core::category::Categories;
use vivus_consent_core::consent::Source;
use web_sys::ShadowRoot;

use super::{attr, button, child, el, language_switch, on_click, text_child, Kind, View};
use crate::runtime::Runtime;

pub(crate) fn build(rt: &Runtime, root: &ShadowRoot) -> View {
    let lang = rt.language();
    let t = crate::i18n::text(lang);
    let doc = wasm_bindgen::UnwrapThrowExt::unwrap_throw(root.owner_document());
    let banner = el(&doc, "div", "banner");
    attr(&banner, "role", "region");
    attr(&banner, "aria-labelledby", "vc-bt");
    attr(&banner, "lang", lang.as_str());
    let inner = child(&banner, "div", "inner");
    let top = child(&inner, "div", "top");
    attr(&text_child(&top, "h2", "", t.banner_title), "id", "vc-bt");
    let mut listeners = Vec::new();
    language_switch(rt, &top, &mut listeners);
    text_child(&inner, "p", "", t.banner_body);
    if rt.snapshot().gpc() {
        text_child(&inner, "p", "", t.gpc_note);
    }
    let policy = button(&inner, "link", t.policy_link, "policy");
    listeners.push(on_click(rt, &policy, |rt| super::open(rt, Kind::Policy)));
    let actions = child(&inner, "div", "actions");
    let accept = button(&actions, "btn", t.accept_all, "accept");
    listeners.push(on_click(rt, &accept, |rt| {
        let _ = rt.choose(Categories::all(), None, Source::Banner);
    }));
    let reject = button(&actions, "btn", t.reject_all, "reject");
    listeners.push(on_click(rt, &reject, |rt| {
        let _ = rt.choose(Categories::new(), None, Source::Banner);
    }));
    let settings = button(&actions, "btn", t.settings, "settings");
    listeners.push(on_click(rt, &settings, |rt| {
        super::open(rt, Kind::Preferences)
    }));
    root.append_child(&banner).ok();
    View {
        el: banner,
        listeners,
    }
}
