//! The widget's DOM: one `<vivus-consent>` host with an open shadow root holding the banner
//! and a stack of modal dialogs (settings, policy viewer, policy acceptance).
//!
//! All text goes in through `textContent` and text nodes, never markup. Event listeners are
//! RAII values that remove themselves when the view that owns them is dropped, and views
//! remove their elements on drop, so re-rendering is "build the new view, drop the old".

#![cfg_attr(not(feature = "ui"), allow(dead_code))]
//!
//! The banner's drawing ([`banner::draw`]) and the host ([`host`]) are shared with the
//! first-paint build (feature `boot`); everything that needs the runtime is the SDK's.

#[cfg(feature = "ui")]
pub(crate) mod acceptance;
#[cfg(any(feature = "ui", feature = "boot"))]
pub(crate) mod banner;
#[cfg(feature = "sdk")]
pub mod form;
#[cfg(feature = "sdk")]
pub mod gate;
#[cfg(any(feature = "ui", feature = "boot"))]
mod host;
#[cfg(feature = "ui")]
pub(crate) mod modal;
#[cfg(feature = "ui")]
pub(crate) mod policy_viewer;
#[cfg(feature = "ui")]
pub(crate) mod preferences;
#[cfg(feature = "sdk")]
pub(crate) mod trusted_types;
#[cfg(feature = "ui")]
mod widget;
#[cfg(any(feature = "ui", feature = "boot"))]
pub(crate) use host::*;
#[cfg(feature = "ui")]
pub(crate) use widget::*;

#[cfg(feature = "sdk")]
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, EventTarget};

#[cfg(feature = "sdk")]
use crate::runtime::Runtime;

/// An event listener that removes itself on drop (gloo-events style): no `Closure::forget`.
pub(crate) struct Listener {
    target: EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    pub(crate) fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(web_sys::Event) + 'static) -> Self {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        Listener { target: target.clone(), kind, closure }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(self.kind, self.closure.as_ref().unchecked_ref());
    }
}

/// A rendered piece of UI: its root element and listeners. Dropping it removes both.
pub(crate) struct View {
    pub(crate) el: Element,
    pub(crate) listeners: Vec<Listener>,
}

impl Drop for View {
    fn drop(&mut self) {
        self.el.remove();
    }
}

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

#[cfg(feature = "sdk")]
/// Runs `action` on click, after the handler returns: the action may re-render and drop the
/// listener that is running.
pub(crate) fn on_click(rt: &Runtime, target: &Element, action: impl Fn(&Runtime) + 'static) -> Listener {
    let weak = rt.weak();
    let action = Rc::new(action);
    Listener::new(target, "click", move |_| {
        let (weak, action) = (weak.clone(), action.clone());
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(rt) = weak.upgrade() {
                action(&rt);
            }
        });
    })
}
