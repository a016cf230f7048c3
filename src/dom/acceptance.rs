//! The policy-acceptance dialog: an explicit, unticked "I agree to the processing of my
//! personal data under the Policy", with the policy viewer one click away. The gates put
//! it in front of the loan application form through [`Runtime::request_policy_acceptance`],
//! which resolves with the signed token once the service has recorded the acceptance.

use vivus_consent_core::consent::Source;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, ShadowRoot};

use super::modal::frame;
use super::{append_text, attr, button, child, on_click, text_child, Kind, View};
use crate::controller::{Event, Status};
use crate::error::SdkError;
use crate::runtime::Runtime;

/// Callers waiting for the acceptance to be recorded.
pub(crate) struct Pending {
    waiters: Vec<(js_sys::Function, js_sys::Function)>,
    /// The visitor ticked the box and confirmed: the choice is being recorded.
    confirmed: bool,
}

/// Opens the dialog; the promise resolves with the token, or rejects with `declined` or,
/// when the dialog is closed while the acceptance is being recorded, `acceptance_pending`.
///
/// When the visitor already accepted and only the recording is outstanding (a reload while
/// the service was down), the dialog opens ticked, says it is saving, and sends again.
pub(crate) fn open(rt: &Runtime) -> js_sys::Promise {
    let state = rt.snapshot();
    let resend = state.status() == Status::Pending && state.policy_accepted();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let mut slot = rt.acceptance.borrow_mut();
        let pending = slot.get_or_insert_with(|| Pending {
            waiters: Vec::new(),
            confirmed: false,
        });
        pending.confirmed |= resend;
        pending.waiters.push((resolve, reject));
    });
    super::open(rt, Kind::Acceptance);
    if resend {
        rt.retry_now();
    }
    promise
}

pub(crate) fn build(rt: &Runtime, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    let lang = rt.language();
    let t = crate::i18n::text(lang);
    let label = vivus_consent_core::policy::acceptance_label(lang);
    let confirmed = rt.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed);
    let mut f = frame(rt, root, Kind::Acceptance, t.acceptance_title, "vc-at");
    text_child(&f.body, "p", "", t.acceptance_body);
    let check = child(&f.body, "div", "check");
    let input = child(&check, "input", "");
    attr(&input, "type", "checkbox");
    attr(&input, "id", "vc-accept");
    attr(&input, "data-vc", "accept-box");
    if confirmed {
        attr(&input, "checked", "");
    }
    let text = child(&check, "label", "");
    attr(&text, "for", "vc-accept");
    append_text(&text, label.before);
    let link = button(&text, "link", label.link, "policy");
    f.listeners
        .push(on_click(rt, &link, |rt| super::open(rt, Kind::Policy)));
    append_text(&text, label.after);
    let status = text_child(
        &f.body,
        "p",
        "status",
        if confirmed { t.saving } else { "" },
    );
    attr(&status, "role", "status");
    attr(&status, "aria-live", "polite");

    let confirm = button(&f.footer, "btn", t.acceptance_confirm, "confirm");
    let body = f.body.clone();
    f.listeners
        .push(on_click(rt, &confirm, move |rt| confirm_clicked(rt, &body)));
    let retry = button(&f.footer, "btn", t.retry, "retry");
    attr(&retry, "hidden", "");
    f.listeners.push(on_click(rt, &retry, |rt| {
        show_status(rt, crate::i18n::text(rt.language()).saving, false);
        rt.retry_now();
    }));
    let cancel = button(&f.footer, "btn", t.cancel, "cancel");
    f.listeners.push(on_click(rt, &cancel, |rt| {
        super::close(rt, Kind::Acceptance)
    }));
    (
        View {
            el: f.backdrop,
            listeners: f.listeners,
        },
        f.body,
        Some(status),
    )
}

fn confirm_clicked(rt: &Runtime, body: &Element) {
    let t = crate::i18n::text(rt.language());
    let input = body
        .query_selector("#vc-accept")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
    if !input.as_ref().is_some_and(HtmlInputElement::checked) {
        show_status(rt, t.acceptance_required, true);
        if let Some(input) = input {
            let _ = input.focus();
        }
        return;
    }
    let already = {
        let mut slot = rt.acceptance.borrow_mut();
        let pending = slot.get_or_insert_with(|| Pending {
            waiters: Vec::new(),
            confirmed: false,
        });
        core::mem::replace(&mut pending.confirmed, true)
    };
    if already {
        return;
    }
    show_status(rt, t.saving, false);
    if let Err(err) = rt.choose(rt.granted(), Some(true), Source::Form) {
        reject_all(rt, err);
    }
}

/// Writes the dialog's status line; errors are announced assertively.
fn show_status(rt: &Runtime, text: &str, error: bool) {
    let ui = rt.ui.borrow();
    let Some(modal) = ui
        .as_ref()
        .and_then(|ui| ui.modals.iter().find(|m| m.kind == Kind::Acceptance))
    else {
        return;
    };
    if let Some(status) = &modal.status {
        status.set_text_content(Some(text));
        status.set_class_name(if error { "status error" } else { "status" });
        attr(status, "role", if error { "alert" } else { "status" });
    }
    if let Some(retry) = modal
        .view
        .el
        .query_selector("[data-vc=retry]")
        .ok()
        .flatten()
    {
        if let Ok(retry) = retry.dyn_into::<HtmlElement>() {
            retry.set_hidden(
                !error || !rt.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed),
            );
        }
    }
}

/// Reacts to consent events while acceptance is awaited.
pub(crate) fn on_event(rt: &Runtime, event: &Event) {
    let confirmed = rt.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed);
    if !confirmed {
        return;
    }
    match event {
        Event::Recorded { token, .. } if rt.snapshot().policy_accepted() => {
            let pending = rt.acceptance.borrow_mut().take();
            let token = JsValue::from_str(token);
            for (resolve, _) in pending.map(|p| p.waiters).unwrap_or_default() {
                let _ = resolve.call1(&JsValue::NULL, &token);
            }
            super::close(rt, Kind::Acceptance);
        }
        // The storage note is the widget's own (`dom::render`), and "retry" cannot help it.
        Event::Error { code } if *code != "storage" => {
            show_status(rt, crate::i18n::error_message(code, rt.language()), true);
        }
        _ => {}
    }
}

/// The dialog was closed (cancel, Escape, the close button): the visitor declined, or, if
/// they had confirmed, the acceptance is still being recorded. Either way the callers stop
/// waiting, so the form can tell the visitor and its next submit can ask again (the choice
/// itself stays pending and keeps its consent id).
pub(crate) fn closed(rt: &Runtime) {
    let confirmed = match rt.acceptance.borrow().as_ref() {
        Some(pending) => pending.confirmed,
        None => return,
    };
    reject_all(rt, if confirmed { SdkError::AcceptancePending } else { SdkError::Declined });
}

fn reject_all(rt: &Runtime, err: SdkError) {
    let pending = rt.acceptance.borrow_mut().take();
    let err = JsValue::from(err);
    for (_, reject) in pending.map(|p| p.waiters).unwrap_or_default() {
        let _ = reject.call1(&JsValue::NULL, &err);
    }
}
