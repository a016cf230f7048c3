//! The frame every dialog shares: a backdrop, a `role="dialog"` `aria-modal="true"`
//! element labelled by its heading, a language switch and a close button; focus is
//! trapped inside (Tab here, focus landing elsewhere in `widget::focus_guard`), Escape
//! closes, and focus goes back where it was on close.

use wasm_bindgen::{JsCast, UnwrapThrowExt};
use web_sys::{Element, HtmlElement, KeyboardEvent, ShadowRoot};

use gloo_events::EventListenerOptions;

use super::{
    attr, button, child, el, language_switch, on_click, text_child, Kind, Listener, Widget,
};

/// What can take focus inside a dialog.
const FOCUSABLE: &str =
    "button:not([disabled]):not([hidden]),input:not([disabled]),a[href],summary";

pub(crate) struct Frame {
    pub(crate) backdrop: Element,
    pub(crate) body: Element,
    pub(crate) footer: Element,
    pub(crate) listeners: Vec<Listener>,
}

pub(crate) fn frame(w: &Widget, root: &ShadowRoot, kind: Kind, title: &str, id: &str) -> Frame {
    let t = crate::i18n::text(w.language());
    let doc = root.owner_document().unwrap_throw();
    let backdrop = el(&doc, "div", "backdrop");
    let dialog = child(&backdrop, "div", "dialog");
    attr(&dialog, "role", "dialog");
    attr(&dialog, "aria-modal", "true");
    attr(&dialog, "aria-labelledby", id);
    attr(&dialog, "tabindex", "-1");
    attr(&dialog, "lang", w.language().as_str());
    let header = child(&dialog, "header", "");
    attr(&text_child(&header, "h2", "", title), "id", id);
    let mut listeners = Vec::new();
    language_switch(w, &header, &mut listeners);
    // The name ("Закрыть") is the button's own text, hidden from sight, and the "×" is
    // hidden from assistive tech: an aria-label over a visible "×" fails WCAG 2.5.3
    // (label in name) for speech users, who say what they see.
    let close = button(&header, "close", "", "close");
    attr(&text_child(&close, "span", "", "×"), "aria-hidden", "true");
    text_child(&close, "span", "vh", t.close);
    listeners.push(on_click(w, &close, move |w| super::close(w, kind)));
    let body = child(&dialog, "div", "body");
    let footer = child(&dialog, "footer", "");

    let weak = w.weak();
    let trap_dialog = dialog.clone();
    let trap_root = root.clone();
    // Not passive: Escape and the Tab trap call preventDefault.
    listeners.push(Listener::new_with_options(
        &dialog,
        "keydown",
        EventListenerOptions::enable_prevent_default(),
        move |event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            match key.key().as_str() {
                "Escape" => {
                    event.prevent_default();
                    event.stop_propagation();
                    let weak = weak.clone();
                    crate::task::spawn(async move {
                        if let Some(w) = weak.upgrade() {
                            super::close(&w, kind);
                        }
                    });
                }
                "Tab" if trap(&trap_dialog, &trap_root, key.shift_key()) => event.prevent_default(),
                _ => {}
            }
        },
    ));
    // A press on the backdrop would move focus to the body, out of the dialog.
    let backdrop_target: web_sys::EventTarget = backdrop.clone().into();
    listeners.push(Listener::new_with_options(
        &backdrop,
        "mousedown",
        EventListenerOptions::enable_prevent_default(),
        move |event| {
            if event.target().as_ref() == Some(&backdrop_target) {
                event.prevent_default();
            }
        },
    ));
    root.append_child(&backdrop).ok();
    Frame {
        backdrop,
        body,
        footer,
        listeners,
    }
}

/// Wraps Tab at the ends of the dialog; `true` when it moved focus itself.
fn trap(dialog: &Element, root: &ShadowRoot, backwards: bool) -> bool {
    let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
        return false;
    };
    let count = list.length();
    if count == 0 {
        return true;
    }
    let (Some(first), Some(last)) = (list.item(0), list.item(count - 1)) else {
        return false;
    };
    let active: Option<web_sys::Node> = root.active_element().map(Into::into);
    let dialog_node: &web_sys::Node = dialog.as_ref();
    let at_dialog = active.as_ref().is_none_or(|a| a == dialog_node);
    let target = if backwards && (at_dialog || active.as_ref() == Some(&first)) {
        last
    } else if !backwards && active.as_ref() == Some(&last) {
        first
    } else {
        return false;
    };
    if let Ok(target) = target.dyn_into::<HtmlElement>() {
        let _ = target.focus();
    }
    true
}
