//! The DOM pieces the builds share: the gates of the page's tags and embeds ([`gate`]) and
//! guarded forms ([`form`]) (the runtime's); the banner's drawing ([`banner::draw`]) and the
//! host element ([`host`]) (the first stage's and the widget's, so both draw the same DOM);
//! and the element helpers below.
//!
//! All text goes in through `textContent` and text nodes, never markup.

#![cfg_attr(not(feature = "ui"), allow(dead_code))]

#[cfg(any(feature = "ui", feature = "boot"))]
pub(crate) mod banner;
#[cfg(feature = "runtime")]
pub mod form;
#[cfg(any(feature = "runtime", feature = "returning"))]
pub mod gate;
#[cfg(any(feature = "ui", feature = "boot"))]
mod host;
#[cfg(any(feature = "runtime", feature = "returning"))]
pub(crate) mod trusted_types;
#[cfg(any(feature = "ui", feature = "boot"))]
pub(crate) use host::*;

use wasm_bindgen::prelude::*;
use web_sys::{Document, Element};

/// Element helpers. Creating elements with fixed, valid names and appending them to
/// elements we created cannot throw, so these treat failures as invariants.
pub(crate) fn el(doc: &Document, tag: &str, class: &str) -> Element {
    let e = doc.create_element(tag).unwrap_throw();
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

pub(crate) fn child(parent: &Element, tag: &str, class: &str) -> Element {
    let doc = parent.owner_document().unwrap_throw();
    let e = el(&doc, tag, class);
    parent.append_child(&e).unwrap_throw();
    e
}

pub(crate) fn text_child(parent: &Element, tag: &str, class: &str, text: &str) -> Element {
    let e = child(parent, tag, class);
    e.set_text_content(Some(text));
    e
}

pub(crate) fn attr(e: &Element, name: &str, value: &str) {
    let _ = e.set_attribute(name, value);
}

pub(crate) fn append_text(parent: &Element, text: &str) {
    let _ = parent.append_with_str_1(text);
}

/// The selector of the element with `data-vc=hook`.
pub(crate) fn hook_selector(hook: &str) -> String {
    let mut selector = String::from("[data-vc=");
    selector.push_str(hook);
    selector.push(']');
    selector
}

/// A `type=button` button with text and a `data-vc` hook for tests and focus restoration.
pub(crate) fn button(parent: &Element, class: &str, text: &str, hook: &str) -> Element {
    let b = text_child(parent, "button", class, text);
    attr(&b, "type", "button");
    attr(&b, "data-vc", hook);
    b
}
