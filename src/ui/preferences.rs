//! The settings dialog: one switch per category with its description, the policy purposes
//! it covers and the configured services; necessary is on and locked, the others are off
//! unless already granted.

use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::Source;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, ShadowRoot};

use super::modal::frame;
use super::Widget;
use super::{append_text, attr, button, child, on_click, text_child, Kind, View};
use crate::controller::Status;

pub(crate) fn build(w: &Widget, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    let lang = w.language();
    let t = crate::i18n::text(lang);
    let state = w.snapshot();
    let mut f = frame(w, root, Kind::Preferences, t.preferences_title, "vc-pt");
    text_child(&f.body, "p", "note", t.preferences_intro);
    if state.gpc() {
        text_child(&f.body, "p", "note", t.banner.gpc_note);
    }
    for category in Category::ALL {
        let name = category.as_str();
        let mut id = String::from("vc-sw-");
        id.push_str(name);
        let mut described = String::from("vc-d-");
        described.push_str(name);

        let section = child(&f.body, "section", "cat");
        let head = child(&section, "div", "cat-head");
        attr(
            &text_child(&head, "label", "", category.title(lang)),
            "for",
            &id,
        );
        let input = child(&head, "input", "");
        attr(&input, "type", "checkbox");
        attr(&input, "role", "switch");
        attr(&input, "id", &id);
        attr(&input, "data-cat", name);
        attr(&input, "aria-describedby", &described);
        if !category.is_optional() {
            attr(&input, "checked", "");
            attr(&input, "disabled", "");
            text_child(&section, "p", "note", t.always_on);
        } else if state.status() != Status::None && state.granted().contains(category) {
            attr(&input, "checked", "");
        }
        attr(
            &text_child(&section, "p", "", category.description(lang)),
            "id",
            &described,
        );

        let details = child(&section, "details", "");
        text_child(&details, "summary", "", t.purposes);
        let list = child(&details, "ul", "");
        for purpose in category.policy_purposes(lang) {
            text_child(&list, "li", "", purpose);
        }
        let services = &w.settings().services[category as usize];
        if !services.is_empty() {
            text_child(&section, "p", "", t.services);
            let list = child(&section, "ul", "");
            for service in services {
                let item = text_child(&list, "li", "", &service.name);
                if !service.cookies.is_empty() {
                    append_text(&item, " — ");
                    append_text(&item, t.cookies);
                    for (i, cookie) in service.cookies.iter().enumerate() {
                        append_text(&item, if i == 0 { " " } else { ", " });
                        append_text(&item, cookie);
                    }
                }
            }
        }
    }

    let accept = button(&f.footer, "btn", t.banner.accept_all, "accept");
    f.listeners
        .push(on_click(w, &accept, |w| save(w, Categories::all())));
    let reject = button(&f.footer, "btn", t.banner.reject_all, "reject");
    f.listeners
        .push(on_click(w, &reject, |w| save(w, Categories::new())));
    let save_button = button(&f.footer, "btn", t.save, "save");
    let body = f.body.clone();
    f.listeners
        .push(on_click(w, &save_button, move |w| save(w, checked(&body))));
    (
        View {
            el: f.backdrop,
            listeners: f.listeners,
        },
        f.body,
        None,
    )
}

fn checked(body: &Element) -> Categories {
    let mut granted = Categories::new();
    for category in Category::OPTIONAL {
        let mut selector = String::from("input[data-cat=");
        selector.push_str(category.as_str());
        selector.push(']');
        let on = body
            .query_selector(&selector)
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            .is_some_and(|input| input.checked());
        if on {
            granted.insert(category);
        }
    }
    granted
}

fn save(w: &Widget, categories: Categories) {
    super::close(w, Kind::Preferences);
    w.choose(categories, None, Source::Preferences);
}
