//! The host element, its shadow root and what is shown in it: the banner and a stack of
//! dialogs, re-rendered from the state.

use vivus_consent_core::language::Language;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, ShadowRoot};

use super::{
    acceptance, attr, banner, button, child, on_click, policy_viewer, preferences, Listener, View,
};
use crate::runtime::Runtime;

const CSS: &str = include_str!("style.css");

/// Which dialog.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Preferences,
    Policy,
    Acceptance,
}

pub(crate) struct Modal {
    pub(crate) kind: Kind,
    pub(crate) view: View,
    /// Where content goes (the policy viewer fills it when the text arrives).
    pub(crate) body: Element,
    /// The status line (the acceptance dialog reports progress and errors in it).
    pub(crate) status: Option<Element>,
    /// What had focus before the dialog opened, focused again when it closes.
    restore: Option<HtmlElement>,
}

/// The widget's elements.
pub(crate) struct Ui {
    doc: Document,
    host: HtmlElement,
    pub(crate) root: ShadowRoot,
    banner: Option<View>,
    pub(crate) modals: Vec<Modal>,
    lang: Language,
    /// The page's own inline `padding-bottom`, restored when the banner goes.
    padding: Option<String>,
    resize: Option<Listener>,
}

impl Ui {
    fn new(lang: Language) -> Option<Ui> {
        let doc = web_sys::window()?.document()?;
        let body = doc.body()?;
        let host: HtmlElement = doc.create_element("vivus-consent").ok()?.dyn_into().ok()?;
        let root = host
            .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
            .ok()?;
        // A constructed sheet is not inline CSS, so it works under `style-src 'self'`; old
        // browsers without constructable sheets get a <style>.
        match web_sys::CssStyleSheet::new() {
            Ok(sheet) if sheet.replace_sync(CSS).is_ok() => {
                root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
            }
            _ => {
                let style = doc.create_element("style").ok()?;
                style.set_text_content(Some(CSS));
                root.append_child(&style).ok()?;
            }
        }
        body.append_child(&host).ok()?;
        Some(Ui {
            doc,
            host,
            root,
            banner: None,
            modals: Vec::new(),
            lang,
            padding: None,
            resize: None,
        })
    }

    /// The focused element inside the shadow root, or else the page's.
    fn active(&self) -> Option<HtmlElement> {
        let inner = self.root.active_element();
        inner
            .or_else(|| self.doc.active_element())
            .and_then(|e| e.dyn_into().ok())
    }

    /// Keeps the page scrollable above the banner: pad the body by the banner's height.
    fn pad(&mut self) {
        let (Some(banner), Some(body)) = (&self.banner, self.doc.body()) else {
            return;
        };
        let height = banner
            .el
            .dyn_ref::<HtmlElement>()
            .map_or(0, HtmlElement::offset_height)
            .max(0);
        let style = body.style();
        if self.padding.is_none() {
            self.padding = Some(
                style
                    .get_property_value("padding-bottom")
                    .unwrap_or_default(),
            );
        }
        let mut value = String::new();
        crate::storage::push_u64(&mut value, height as u64);
        value.push_str("px");
        let _ = style.set_property("padding-bottom", &value);
    }

    fn unpad(&mut self) {
        if let (Some(original), Some(body)) = (self.padding.take(), self.doc.body()) {
            let _ = body.style().set_property("padding-bottom", &original);
        }
        self.resize = None;
    }
}

impl Drop for Ui {
    // A runtime that goes away (tests, a page tearing the SDK down) takes its elements and
    // the body padding with it.
    fn drop(&mut self) {
        self.modals.clear();
        self.banner = None;
        self.unpad();
        self.host.remove();
    }
}

/// The Русский / Қазақша switch.
pub(crate) fn language_switch(rt: &Runtime, parent: &Element, listeners: &mut Vec<Listener>) {
    if !rt.config().ui.language_switch {
        return;
    }
    let current = rt.language();
    let group = child(parent, "div", "langs");
    attr(&group, "role", "group");
    attr(&group, "aria-label", crate::i18n::text(current).language);
    for lang in Language::ALL {
        let hook = match lang {
            Language::Ru => "lang-ru",
            Language::Kk => "lang-kk",
        };
        let b = button(&group, "", lang.native_name(), hook);
        attr(&b, "lang", lang.as_str());
        attr(
            &b,
            "aria-pressed",
            if lang == current { "true" } else { "false" },
        );
        listeners.push(on_click(rt, &b, move |rt| {
            rt.set_language(lang);
            focus_hook(rt, hook);
        }));
    }
}

/// Focuses the element with `data-vc=hook` in the topmost view.
pub(crate) fn focus_hook(rt: &Runtime, hook: &str) {
    let ui = rt.ui.borrow();
    let Some(ui) = ui.as_ref() else { return };
    let top = ui.modals.last().map(|m| &m.view).or(ui.banner.as_ref());
    let mut selector = String::from("[data-vc=");
    selector.push_str(hook);
    selector.push(']');
    if let Some(e) = top.and_then(|v| v.el.query_selector(&selector).ok().flatten()) {
        if let Ok(e) = e.dyn_into::<HtmlElement>() {
            let _ = e.focus();
        }
    }
}

/// Brings the DOM in line with the state: banner shown or not, texts in the current language.
pub(crate) fn render(rt: &Runtime) {
    let state = rt.snapshot();
    let lang = state.language();
    let mut slot = rt.ui.borrow_mut();
    if slot.is_none() {
        if !state.banner_visible() {
            return;
        }
        *slot = Ui::new(lang);
    }
    let Some(ui) = slot.as_mut() else { return };
    let _ = ui.host.set_attribute("lang", lang.as_str());
    let relabel = ui.lang != lang;
    ui.lang = lang;
    // Dropping the old view removes it and its listeners.
    ui.banner = None;
    if state.banner_visible() {
        let view = banner::build(rt, &ui.root);
        ui.banner = Some(view);
        ui.pad();
        if ui.resize.is_none() {
            if let Some(window) = web_sys::window() {
                let weak = rt.weak();
                ui.resize = Some(Listener::new(&window, "resize", move |_| {
                    if let Some(rt) = weak.upgrade() {
                        if let Some(ui) = rt.ui.borrow_mut().as_mut() {
                            ui.pad();
                        }
                    }
                }));
            }
        }
    } else {
        ui.unpad();
    }
    if relabel {
        for i in 0..ui.modals.len() {
            let kind = ui.modals[i].kind;
            let (view, body, status) = build_modal(rt, kind, &ui.root);
            let old = &mut ui.modals[i];
            old.view = view;
            old.body = body;
            old.status = status;
        }
        if let Some(top) = ui.modals.last() {
            if let Some(d) = top.view.el.query_selector("[role=dialog]").ok().flatten() {
                // Keep focus inside the dialog that was rebuilt.
                if let Ok(d) = d.dyn_into::<HtmlElement>() {
                    let _ = d.focus();
                }
            }
        }
    }
    drop(slot);
    if relabel {
        policy_viewer::refresh(rt);
    }
}

fn build_modal(rt: &Runtime, kind: Kind, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    match kind {
        Kind::Preferences => preferences::build(rt, root),
        Kind::Policy => policy_viewer::build(rt, root),
        Kind::Acceptance => acceptance::build(rt, root),
    }
}

/// Opens a dialog on top of whatever is shown, moving focus into it.
pub(crate) fn open(rt: &Runtime, kind: Kind) {
    let lang = rt.language();
    let mut slot = rt.ui.borrow_mut();
    if slot.is_none() {
        *slot = Ui::new(lang);
    }
    let Some(ui) = slot.as_mut() else { return };
    if ui.modals.iter().any(|m| m.kind == kind) {
        return;
    }
    let restore = ui.active();
    let (view, body, status) = build_modal(rt, kind, &ui.root);
    if let Some(dialog) = view.el.query_selector("[role=dialog]").ok().flatten() {
        if let Ok(dialog) = dialog.dyn_into::<HtmlElement>() {
            let _ = dialog.focus();
        }
    }
    ui.modals.push(Modal {
        kind,
        view,
        body,
        status,
        restore,
    });
    drop(slot);
    if kind == Kind::Policy {
        policy_viewer::refresh(rt);
    }
}

/// Closes the dialog of `kind` (and any opened above it), restoring focus.
pub(crate) fn close(rt: &Runtime, kind: Kind) {
    let mut closed = Vec::new();
    {
        let mut slot = rt.ui.borrow_mut();
        let Some(ui) = slot.as_mut() else { return };
        let Some(at) = ui.modals.iter().position(|m| m.kind == kind) else {
            return;
        };
        closed.extend(ui.modals.drain(at..).rev());
    }
    for modal in closed {
        let restore = modal.restore.clone();
        let was = modal.kind;
        drop(modal);
        if let Some(target) = restore.filter(|e| e.is_connected()) {
            let _ = target.focus();
        }
        if was == Kind::Acceptance {
            acceptance::closed(rt);
        }
    }
}

/// Closes every dialog.
pub(crate) fn close_all(rt: &Runtime) {
    let first = rt
        .ui
        .borrow()
        .as_ref()
        .and_then(|ui| ui.modals.first().map(|m| m.kind));
    if let Some(kind) = first {
        close(rt, kind);
    }
}
