//! The first-visit banner: a labelled region fixed at the bottom that does not block the
//! page, with three buttons of equal weight (accept all, only necessary, settings), the
//! policy link and the language switch.
//!
//! [`draw`] builds its elements; the widget (`crate::ui`) and the first-paint build
//! (`crate::boot`) both call it, so the banner the visitor first sees and the one the widget
//! takes over with are the same DOM.

use vivus_consent_core::language::Language;
use web_sys::{Document, Element};

use super::{attr, button, child, el, language_buttons, text_child};

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
