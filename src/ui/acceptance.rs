//! The policy-acceptance dialog: an explicit, unticked "I agree to the processing of my
//! personal data under the Policy", with the policy viewer one click away. The runtime puts
//! it in front of the loan application form (`Runtime::request_policy_acceptance`, through
//! the seam's `request_acceptance`), which resolves with the signed token once the service
//! has recorded the acceptance.

use futures_channel::oneshot;
use vivus_consent_core::consent::Source;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, ShadowRoot};

use super::modal::frame;
use super::{append_text, attr, button, child, on_click, text_child, Kind, View, Widget};
use crate::controller::Status;
use crate::seam::{Notice, Refusal};

/// What a caller of [`open`] gets: the token, or why there is none.
type Answer = Result<String, Refusal>;

/// Callers waiting for the acceptance to be recorded.
pub(crate) struct Pending {
    waiters: Vec<oneshot::Sender<Answer>>,
    /// The visitor ticked the box and confirmed: the choice is being recorded.
    confirmed: bool,
}

/// Opens the dialog and waits for it: the token, or [`Refusal::Declined`] or, when the
/// dialog is closed while the acceptance is being recorded, [`Refusal::AcceptancePending`].
///
/// When the visitor already accepted and only the recording is outstanding (a reload while
/// the service was down), the dialog opens ticked, says it is saving, and sends again.
pub(crate) async fn open(w: &Widget) -> Answer {
    let state = w.snapshot();
    let resend = state.status() == Status::Pending && state.policy_accepted();
    let (sender, receiver) = oneshot::channel();
    {
        let mut slot = w.acceptance.borrow_mut();
        let pending = slot.get_or_insert_with(|| Pending {
            waiters: Vec::new(),
            confirmed: false,
        });
        pending.confirmed |= resend;
        pending.waiters.push(sender);
    }
    super::open(w, Kind::Acceptance);
    if resend {
        w.retry_now();
    }
    // The widget lives as long as the page; a dropped sender means it went away.
    receiver.await.unwrap_or(Err(Refusal::Unsupported))
}

pub(crate) fn build(w: &Widget, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    let lang = w.language();
    let t = crate::i18n::text(lang);
    let label = vivus_consent_core::policy::acceptance_label(lang);
    let confirmed = w.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed);
    let mut f = frame(w, root, Kind::Acceptance, t.acceptance_title, "vc-at");
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
        .push(on_click(w, &link, |w| super::open(w, Kind::Policy)));
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
        .push(on_click(w, &confirm, move |w| confirm_clicked(w, &body)));
    let retry = button(&f.footer, "btn", t.retry, "retry");
    attr(&retry, "hidden", "");
    f.listeners.push(on_click(w, &retry, |w| {
        show_status(w, crate::i18n::text(w.language()).saving, false);
        w.retry_now();
    }));
    let cancel = button(&f.footer, "btn", t.cancel, "cancel");
    f.listeners
        .push(on_click(w, &cancel, |w| super::close(w, Kind::Acceptance)));
    (
        View {
            el: f.backdrop,
            listeners: f.listeners,
        },
        f.body,
        Some(status),
    )
}

fn confirm_clicked(w: &Widget, body: &Element) {
    let t = crate::i18n::text(w.language());
    let input = body
        .query_selector("#vc-accept")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
    if !input.as_ref().is_some_and(HtmlInputElement::checked) {
        show_status(w, t.acceptance_required, true);
        if let Some(input) = input {
            let _ = input.focus();
        }
        return;
    }
    let already = {
        let mut slot = w.acceptance.borrow_mut();
        let pending = slot.get_or_insert_with(|| Pending {
            waiters: Vec::new(),
            confirmed: false,
        });
        core::mem::replace(&mut pending.confirmed, true)
    };
    if already {
        return;
    }
    show_status(w, t.saving, false);
    w.choose(w.snapshot().granted(), Some(true), Source::Form);
}

/// Writes the dialog's status line; errors are announced assertively.
fn show_status(w: &Widget, text: &str, error: bool) {
    let ui = w.ui.borrow();
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
            retry
                .set_hidden(!error || !w.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed));
        }
    }
}

/// Reacts to what happened to the choice in flight while acceptance is awaited.
pub(crate) fn on_notice(w: &Widget, notice: &Notice) {
    let confirmed = w.acceptance.borrow().as_ref().is_some_and(|p| p.confirmed);
    if !confirmed {
        return;
    }
    match notice {
        Notice::Recorded { token } if w.snapshot().policy_accepted() => {
            answer_all(w, &Ok(token.clone()));
            super::close(w, Kind::Acceptance);
        }
        // The storage note is the widget's own (`widget::render`), and "retry" cannot help it.
        Notice::Error { code } if code != "storage" => {
            show_status(w, crate::i18n::error_message(code, w.language()), true);
        }
        _ => {}
    }
}

/// The dialog was closed (cancel, Escape, the close button): the visitor declined, or, if
/// they had confirmed, the acceptance is still being recorded. Either way the callers stop
/// waiting, so the form can tell the visitor and its next submit can ask again (the choice
/// itself stays pending and keeps its consent id).
pub(crate) fn closed(w: &Widget) {
    let confirmed = match w.acceptance.borrow().as_ref() {
        Some(pending) => pending.confirmed,
        None => return,
    };
    answer_all(
        w,
        &Err(if confirmed {
            Refusal::AcceptancePending
        } else {
            Refusal::Declined
        }),
    );
}

fn answer_all(w: &Widget, answer: &Answer) {
    let pending = w.acceptance.borrow_mut().take();
    for waiter in pending.map(|p| p.waiters).unwrap_or_default() {
        let _ = waiter.send(answer.clone());
    }
}
