//! The host element, its shadow root and what is shown in it: the banner and a stack of
//! dialogs, re-rendered from the state.

use std::cell::RefCell;
use std::rc::Rc;

use vivus_consent_core::language::Language;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, ShadowRoot};

use vivus_consent_core::category::Categories;
use vivus_consent_core::consent::Source;

use super::{
    acceptance, host, language_buttons, on_click, pad_body, policy_viewer, preferences, unpad_body,
    BootLeftover, Listener, View, Widget, CSS,
};

/// Carries on what the visitor did on the first-paint banner: the same clicks on the SDK's
/// own buttons (so a choice is recorded as a banner choice, as if the SDK had drawn the
/// banner), then keyboard focus back on the button that had it.
pub(crate) fn resume(w: &Widget, leftover: &BootLeftover) {
    if let Some(hook) = &leftover.focus {
        focus_hook(w, hook);
    }
    for hook in &leftover.clicks {
        if let Some(button) = find_hook(w, hook) {
            button.click();
        }
    }
    finish_press(w, leftover.pressed.clone(), &leftover.host);
}

/// A press that began on the first-stage banner and ends on the SDK's: the browser fires no
/// click (its `pointerdown` target is gone), so the release over the same button clicks it.
/// `pressed` is the button the first stage saw pressed. WebKitGTK does not always let it see
/// one: it can dispatch the press after the takeover (to the removed button: its path was
/// fixed before), and it keeps the press's implicit pointer capture on the removed button, so
/// the release goes there, not to the document. Whatever reaches the removed host is therefore
/// a press of the first stage's button; where the pointer is on release says whether it was
/// released over ours. A new press anywhere else means the visitor moved on.
fn finish_press(w: &Widget, pressed: Option<String>, boot_host: &Element) {
    let Some(doc) = w.ui.borrow().as_ref().map(|ui| ui.doc.clone()) else {
        return;
    };
    let pressed = Rc::new(RefCell::new(pressed));
    let listeners: Rc<RefCell<Vec<Listener>>> = Rc::default();
    let targets: [web_sys::EventTarget; 2] = [boot_host.clone().into(), doc.into()];
    for (target, on_boot_host) in targets.iter().zip([true, false]) {
        for kind in ["pointerdown", "pointerup"] {
            let (weak, pressed, held) = (w.weak(), pressed.clone(), listeners.clone());
            let boot_host = boot_host.clone();
            let listener = Listener::new(target, kind, move |event| {
                if held.borrow().is_empty() {
                    return; // already decided
                }
                let path = event.composed_path();
                let from_boot_host = path.includes(&boot_host, 0);
                if event.type_() == "pointerdown" {
                    if from_boot_host {
                        // Seen first on the host, then on the document (if its path has it).
                        if on_boot_host {
                            *pressed.borrow_mut() = pressed_hook(&path);
                        }
                        return;
                    }
                    return decided(&held); // a press elsewhere: the visitor moved on
                }
                // A release the removed host gets is captured by the button pressed (or
                // hit-tested on it): that is the press, whether or not its start was seen.
                let hook = pressed.borrow().clone();
                let Some(hook) =
                    hook.or_else(|| from_boot_host.then(|| pressed_hook(&path)).flatten())
                else {
                    return; // a release of a press we never saw
                };
                if from_boot_host && !on_boot_host {
                    return; // handled on the host, where the pointer's place is read
                }
                decided(&held);
                let Some(w) = weak.upgrade() else { return };
                let Some(button) = find_hook(&w, &hook) else {
                    return;
                };
                let over = if from_boot_host {
                    let pointer = event.unchecked_ref::<web_sys::MouseEvent>();
                    let rect = button.get_bounding_client_rect();
                    let (x, y) = (f64::from(pointer.client_x()), f64::from(pointer.client_y()));
                    x >= rect.left() && x <= rect.right() && y >= rect.top() && y <= rect.bottom()
                } else {
                    path.includes(&button, 0)
                };
                if over {
                    button.click();
                }
            });
            listeners.borrow_mut().push(listener);
        }
    }
}

/// Ends a press watch: its listeners go once the handler that decided has returned (a closure
/// must not drop itself while it runs).
fn decided(listeners: &Rc<RefCell<Vec<Listener>>>) {
    let listeners = listeners.clone();
    crate::task::spawn(async move { listeners.borrow_mut().clear() });
}

/// The hook (`data-vc`) of the first stage's button a press's path went through, if any.
fn pressed_hook(path: &js_sys::Array) -> Option<String> {
    path.iter()
        .filter_map(|node| node.dyn_into::<Element>().ok())
        .find_map(|el| el.get_attribute("data-vc"))
        .filter(|hook| !hook.is_empty())
}

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
    /// Its `data-vc` hook when it is one of ours: a language switch rebuilds the banner, and
    /// the hook finds the new button where the saved one is gone.
    restore_hook: Option<String>,
}

/// The widget's elements.
pub(crate) struct Ui {
    doc: Document,
    host: HtmlElement,
    pub(crate) root: ShadowRoot,
    banner: Option<View>,
    pub(crate) modals: Vec<Modal>,
    /// The note that the choice cannot be remembered, until the visitor closes it.
    notice: Option<View>,
    notice_closed: bool,
    lang: Language,
    /// The page's own inline `padding-bottom`, restored when the banner goes.
    padding: Option<String>,
    resize: Option<Listener>,
    /// While a dialog is open: focus that lands outside the widget goes back to it.
    focus_guard: Option<Listener>,
}

impl Ui {
    fn new(lang: Language) -> Option<Ui> {
        let doc = web_sys::window()?.document()?;
        let body = doc.body()?;
        let (host, root) = host(&doc, CSS)?;
        body.append_child(&host).ok()?;
        Some(Ui {
            doc,
            host,
            root,
            banner: None,
            modals: Vec::new(),
            notice: None,
            notice_closed: false,
            lang,
            padding: None,
            resize: None,
            focus_guard: None,
        })
    }

    /// The focused element inside the shadow root, or else the page's.
    fn active(&self) -> Option<HtmlElement> {
        let inner = self.root.active_element();
        inner
            .or_else(|| self.doc.active_element())
            .and_then(|e| e.dyn_into().ok())
    }

    /// Keeps the page scrollable above the banner.
    fn pad(&mut self) {
        if let Some(banner) = &self.banner {
            pad_body(&self.doc, &banner.el, &mut self.padding);
        }
    }

    fn unpad(&mut self) {
        unpad_body(&self.doc, self.padding.take());
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
pub(crate) fn language_switch(w: &Widget, parent: &Element, listeners: &mut Vec<Listener>) {
    if !w.settings().language_switch {
        return;
    }
    for (b, lang, hook) in language_buttons(parent, w.language()) {
        listeners.push(on_language(w, &b, lang, hook));
    }
}

/// A language button's click: switch, and keep focus on the (rebuilt) button.
pub(crate) fn on_language(
    w: &Widget,
    button: &Element,
    lang: Language,
    hook: &'static str,
) -> Listener {
    on_click(w, button, move |w| {
        w.set_language(lang);
        focus_hook(w, hook);
    })
}

/// The element with `data-vc=hook` in the topmost view.
fn find_hook(w: &Widget, hook: &str) -> Option<HtmlElement> {
    let ui = w.ui.borrow();
    let ui = ui.as_ref()?;
    let top = ui.modals.last().map(|m| &m.view).or(ui.banner.as_ref())?;
    top.el
        .query_selector(&super::hook_selector(hook))
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

/// Focuses the element with `data-vc=hook` in the topmost view.
pub(crate) fn focus_hook(w: &Widget, hook: &str) {
    if let Some(e) = find_hook(w, hook) {
        let _ = e.focus();
    }
}

/// Brings the DOM in line with the state: banner shown or not, texts in the current language.
pub(crate) fn render(w: &Widget) {
    let state = w.snapshot();
    let lang = state.language();
    let mut slot = w.ui.borrow_mut();
    if slot.is_none() {
        if !state.banner_visible() && !w.storage_failed() {
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
        let view = banner(w, &ui.root);
        ui.banner = Some(view);
        ui.pad();
        if ui.resize.is_none() {
            if let Some(window) = web_sys::window() {
                let weak = w.weak();
                ui.resize = Some(Listener::new(&window, "resize", move |_| {
                    if let Some(w) = weak.upgrade() {
                        if let Some(ui) = w.ui.borrow_mut().as_mut() {
                            ui.pad();
                        }
                    }
                }));
            }
        }
    } else {
        ui.unpad();
    }
    // Built once (a live region re-inserted would be announced again), rebuilt in a new language.
    if w.storage_failed() && !ui.notice_closed && (ui.notice.is_none() || relabel) {
        ui.notice = Some(storage_notice(w, ui));
    }
    if relabel {
        for i in 0..ui.modals.len() {
            let kind = ui.modals[i].kind;
            let (view, body, status) = build_modal(w, kind, &ui.root);
            let old = &mut ui.modals[i];
            old.view = view;
            old.body = body;
            old.status = status;
        }
        // Keep focus inside the dialog that was rebuilt.
        if let Some(dialog) = ui.modals.last().and_then(|top| dialog_of(&top.view)) {
            let _ = dialog.focus();
        }
    }
    drop(slot);
    if relabel {
        policy_viewer::refresh(w);
    }
}

/// Tells the visitor, after the choice, that the browser keeps nothing: the choice holds on
/// this page only and they will be asked again next time. Above the page, not modal.
fn storage_notice(w: &Widget, ui: &Ui) -> View {
    let t = crate::i18n::text(ui.lang);
    let notice = super::el(&ui.doc, "div", "notice");
    super::attr(&notice, "role", "status");
    super::text_child(&notice, "p", "", t.error_storage);
    let close = super::button(&notice, "close", "×", "notice-close");
    super::attr(&close, "aria-label", t.close);
    let closing = on_click(w, &close, |w| {
        if let Some(ui) = w.ui.borrow_mut().as_mut() {
            ui.notice = None;
            ui.notice_closed = true;
        }
    });
    let _ = ui.root.append_child(&notice);
    View {
        el: notice,
        listeners: vec![closing],
    }
}

fn build_modal(w: &Widget, kind: Kind, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    match kind {
        Kind::Preferences => preferences::build(w, root),
        Kind::Policy => policy_viewer::build(w, root),
        Kind::Acceptance => acceptance::build(w, root),
    }
}

/// Opens a dialog on top of whatever is shown, moving focus into it.
pub(crate) fn open(w: &Widget, kind: Kind) {
    let lang = w.language();
    let mut slot = w.ui.borrow_mut();
    if slot.is_none() {
        *slot = Ui::new(lang);
    }
    let Some(ui) = slot.as_mut() else { return };
    if ui.modals.iter().any(|m| m.kind == kind) {
        return;
    }
    let restore = ui.active();
    let restore_hook = restore
        .as_ref()
        .filter(|e| ui.root.contains(Some(e)))
        .and_then(|e| e.get_attribute("data-vc"));
    let (view, body, status) = build_modal(w, kind, &ui.root);
    if let Some(dialog) = dialog_of(&view) {
        let _ = dialog.focus();
    }
    ui.modals.push(Modal {
        kind,
        view,
        body,
        status,
        restore,
        restore_hook,
    });
    if ui.focus_guard.is_none() {
        ui.focus_guard = Some(focus_guard(w, &ui.doc, &ui.host));
    }
    drop(slot);
    if kind == Kind::Policy {
        policy_viewer::refresh(w);
    }
}

/// Closes the dialog of `kind` (and any opened above it), restoring focus.
pub(crate) fn close(w: &Widget, kind: Kind) {
    let mut closed = Vec::new();
    {
        let mut slot = w.ui.borrow_mut();
        let Some(ui) = slot.as_mut() else { return };
        let Some(at) = ui.modals.iter().position(|m| m.kind == kind) else {
            return;
        };
        closed.extend(ui.modals.drain(at..).rev());
        if ui.modals.is_empty() {
            ui.focus_guard = None;
        }
    }
    for modal in closed {
        let restore = modal.restore.clone();
        let hook = modal.restore_hook.clone();
        let was = modal.kind;
        drop(modal);
        let target = restore
            .filter(|e| e.is_connected())
            .or_else(|| find_hook(w, hook.as_deref()?));
        if let Some(target) = target {
            let _ = target.focus();
        }
        if was == Kind::Acceptance {
            acceptance::closed(w);
        }
    }
}

/// The dialog element of a dialog's view.
fn dialog_of(view: &View) -> Option<HtmlElement> {
    view.el
        .query_selector("[role=dialog]")
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

/// Sends focus that lands outside the widget back to the top dialog. The dialog's Tab trap
/// alone lets it leave: a page script can focus its own elements, and Tab from the body
/// (after a click that focused nothing) reaches the page behind the backdrop.
fn focus_guard(w: &Widget, doc: &Document, host: &HtmlElement) -> Listener {
    let weak = w.weak();
    let host: web_sys::EventTarget = host.clone().into();
    Listener::new(doc, "focusin", move |event| {
        // Focus inside the shadow root reaches the document retargeted to the host.
        if event.target().as_ref() == Some(&host) {
            return;
        }
        let Some(w) = weak.upgrade() else { return };
        // Busy: the widget itself is moving focus while it renders.
        let Ok(ui) = w.ui.try_borrow() else { return };
        let top = ui.as_ref().and_then(|ui| ui.modals.last());
        if let Some(dialog) = top.and_then(|m| dialog_of(&m.view)) {
            let _ = dialog.focus();
        }
    })
}

/// Closes every dialog.
pub(crate) fn close_all(w: &Widget) {
    let first =
        w.ui.borrow()
            .as_ref()
            .and_then(|ui| ui.modals.first().map(|m| m.kind));
    if let Some(kind) = first {
        close(w, kind);
    }
}

/// The widget's banner: the first stage's drawing ([`crate::dom::banner::draw`]), wired.
fn banner(w: &Widget, root: &ShadowRoot) -> View {
    let lang = w.language();
    let doc = wasm_bindgen::UnwrapThrowExt::unwrap_throw(root.owner_document());
    let switch = w.settings().language_switch;
    let banner = crate::dom::banner::draw(&doc, lang, w.snapshot().gpc(), switch);
    let mut listeners = Vec::new();
    let hook = |name: &str| {
        let found = banner
            .query_selector(&super::hook_selector(name))
            .ok()
            .flatten();
        wasm_bindgen::UnwrapThrowExt::unwrap_throw(found)
    };
    if switch {
        for lang in Language::ALL {
            let name = super::language_hook(lang);
            listeners.push(on_language(w, &hook(name), lang, name));
        }
    }
    listeners.push(on_click(w, &hook("policy"), |w| open(w, Kind::Policy)));
    listeners.push(on_click(w, &hook("accept"), |w| {
        w.choose(Categories::all(), None, Source::Banner)
    }));
    listeners.push(on_click(w, &hook("reject"), |w| {
        w.choose(Categories::new(), None, Source::Banner)
    }));
    listeners.push(on_click(w, &hook("settings"), |w| {
        open(w, Kind::Preferences)
    }));
    root.append_child(&banner).ok();
    View {
        el: banner,
        listeners,
    }
}
