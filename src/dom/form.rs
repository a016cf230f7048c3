//! Guarded forms: the loan application is sent only with a recorded consent that includes
//! acceptance of the personal data policy, and the signed token travels with it.
//!
//! ```html
//! <form data-vivus-consent="policy" method="post" action="/demo/applications">
//!   … <button type="submit" name="action" value="apply">Отправить</button>
//! </form>
//! ```
//!
//! Declarative forms are found at start and when added later; `guardForm(form, options)` guards
//! any form from code. On submit (a button, the Enter key, `requestSubmit()`), one non-passive
//! `submit` listener on `window`, in the capture phase, runs before the page's own listeners
//! (all but capture listeners on `window` added before the SDK):
//!
//! - with a recorded, verified token whose claims say the policy was accepted, the token is put
//!   in a hidden field (`consent_token` unless configured) and the submission goes on at once;
//! - otherwise the submission is stopped (`preventDefault`, and the page's listeners do not see
//!   it) and the SDK's policy-acceptance dialog opens (its modal stack: focus trap, the policy
//!   viewer one click away, progress and errors with "retry" while the service fails, the same
//!   consent id on every retry). Only when the signed token is back is it put in the form and
//!   the form submitted exactly once with `form.requestSubmit(submitter)`, which keeps the
//!   submitter's `name`/`value` and its `formaction`/`formmethod` overrides and fires `submit`
//!   again, this one let through (a flag is up only during that synchronous call);
//! - nothing typed is touched: the form is never reset or re-rendered. Declining keeps the
//!   visitor on the form with the explanation that the application needs the acceptance
//!   (policy clause 6.2), next to the submit button; closing the dialog while the service
//!   fails says the choice is kept and will be sent, and the next submit tries again;
//! - one flow per form at a time: a second click or Enter while it waits does nothing more.
//!
//! `form.submit()` fires no `submit` event, so no script can intercept it: pages must submit
//! guarded forms with `requestSubmit()`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use vivus_consent_core::language::Language;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, HtmlFormElement};

use crate::i18n;

/// The attribute that makes a form guarded declaratively, with the value `policy`.
pub const DECLARATIVE_ATTR: &str = "data-vivus-consent";
/// The attribute naming the token field of a declarative form (optional).
pub const TOKEN_FIELD_ATTR: &str = "data-vivus-token-field";
/// The attribute marking a guarded form, so a second copy of the SDK leaves it alone.
pub const GUARDED: &str = "data-vivus-guarded";
/// The attribute marking the notice the guard shows in a form.
const NOTICE: &str = "data-vivus-form-notice";
const DECLARATIVE: &str = "form[data-vivus-consent=\"policy\"]";

pub use crate::config::FormConfig;

pub use crate::seam::Refusal;
pub use crate::task::LocalFuture;

/// What guarded forms need from the SDK's consent state. The runtime implements it (`gates`);
/// tests implement it with a fake.
pub trait Backend {
    /// The interface language.
    fn language(&self) -> Language;
    /// The recorded token, if it verified and its claims say the policy was accepted.
    fn policy_token(&self) -> Option<String>;
    /// Asks for acceptance in the SDK's dialog and records it; resolves with the signed token
    /// once the service returned it and it verified.
    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>>;
}

/// The options of one guarded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormOptions {
    /// The name of the hidden field the token goes in.
    pub token_field: String,
}

/// The form's own words, beside the SDK's shared strings: what the notice says when the
/// dialog closed with the acceptance given but not yet recorded.
fn kept(lang: Language) -> &'static str {
    match lang {
        Language::Ru => {
            "Заявка пока не отправлена: сервис согласий недоступен. Ваше согласие и введённые \
                         данные сохранены, отправьте заявку ещё раз чуть позже."
        }
        Language::Kk => {
            "Өтінім әзірге жіберілмеді: келісім сервисі қолжетімсіз. Келісіміңіз бен енгізген \
                         деректеріңіз сақталды, өтінімді сәл кейінірек қайта жіберіңіз."
        }
    }
}

/// All guarded forms of a page, and the watch for declarative ones added later.
/// Dropping it releases every form.
pub struct Forms {
    inner: Rc<FormsInner>,
    /// On `window`, in the capture phase: it runs before any listener the page has on the
    /// form or its ancestors, whenever they were added. Not passive: the whole point is
    /// preventDefault.
    _submit: Option<EventListener>,
    observer: Option<web_sys::MutationObserver>,
    _observed: Option<Closure<dyn FnMut(js_sys::Array)>>,
}

struct FormsInner {
    document: Document,
    backend: Rc<dyn Backend>,
    config: FormConfig,
    guards: RefCell<Vec<Guard>>,
}

impl core::fmt::Debug for Forms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Forms")
            .field("guarded", &self.inner.guards.borrow().len())
            .finish()
    }
}

impl Forms {
    /// Guards the declarative forms already in `document` (if configured) and watches for
    /// more.
    pub fn install(document: &Document, backend: Rc<dyn Backend>, config: FormConfig) -> Forms {
        let inner = Rc::new(FormsInner {
            document: document.clone(),
            backend,
            config,
            guards: RefCell::new(Vec::new()),
        });
        // One listener for every guarded form, on `window` in the capture phase: it runs
        // before any listener the page has on the form or its ancestors, whenever they were
        // added. Not passive: the whole point is preventDefault.
        let weak = Rc::downgrade(&inner);
        let submit = web_sys::window().map(|window| {
            let options = EventListenerOptions {
                phase: EventListenerPhase::Capture,
                passive: false,
            };
            EventListener::new_with_options(&window, "submit", options, move |event| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_submit(event);
                }
            })
        });
        if !inner.config.declarative {
            return Forms {
                inner,
                _submit: submit,
                observer: None,
                _observed: None,
            };
        }
        inner.scan();
        let weak = Rc::downgrade(&inner);
        let observed = Closure::new(move |_records: js_sys::Array| {
            if let Some(inner) = weak.upgrade() {
                inner.scan();
            }
        });
        let observer = web_sys::MutationObserver::new(observed.as_ref().unchecked_ref()).ok();
        if let Some(observer) = &observer {
            let init = web_sys::MutationObserverInit::new();
            init.set_child_list(true);
            init.set_subtree(true);
            let _ = observer.observe_with_options(document, &init);
        }
        Forms {
            inner,
            _submit: submit,
            observer,
            _observed: Some(observed),
        }
    }

    /// Guards `form` (the JS `guardForm(form, options)`); guarding it again replaces its
    /// options. Returns `false`, doing nothing, if another copy of the SDK on this page
    /// already guards it.
    pub fn guard(&self, form: &HtmlFormElement, options: FormOptions) -> bool {
        self.inner.guard(form, options)
    }

    /// Stops guarding `form`; `true` if it was guarded here.
    pub fn release(&self, form: &HtmlFormElement) -> bool {
        let mut guards = self.inner.guards.borrow_mut();
        let before = guards.len();
        guards.retain(|g| g.form != *form);
        before != guards.len()
    }

    /// How many forms are guarded.
    pub fn len(&self) -> usize {
        self.inner.guards.borrow().len()
    }

    /// Whether no form is guarded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Forms {
    fn drop(&mut self) {
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
        self.inner.guards.borrow_mut().clear();
    }
}

impl FormsInner {
    fn on_submit(&self, event: &web_sys::Event) {
        // Forms of another copy of the SDK, or unguarded ones, are not ours to touch.
        let shared = {
            let guards = self.guards.borrow();
            let target = event.target();
            guards
                .iter()
                .find(|g| target.as_ref() == Some(g.form.as_ref()))
                .map(|g| Rc::clone(&g.shared))
        };
        if let Some(shared) = shared {
            Shared::on_submit(&shared, event);
        }
    }

    fn scan(self: &Rc<Self>) {
        let Ok(list) = self.document.query_selector_all(DECLARATIVE) else {
            return;
        };
        for i in 0..list.length() {
            // The selector only matches forms.
            let Some(form) = list.item(i).map(JsCast::unchecked_into::<HtmlFormElement>) else {
                continue;
            };
            if form.get_attribute(GUARDED).is_some() {
                continue;
            }
            let token_field = form
                .get_attribute(TOKEN_FIELD_ATTR)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| self.config.token_field.clone());
            self.guard(&form, FormOptions { token_field });
        }
        // Forms removed from the page no longer need their listener.
        self.guards.borrow_mut().retain(|g| g.form.is_connected());
    }

    fn guard(self: &Rc<Self>, form: &HtmlFormElement, options: FormOptions) -> bool {
        if let Some(guard) = self.guards.borrow().iter().find(|g| g.form == *form) {
            *guard.shared.options.borrow_mut() = options;
            return true;
        }
        if form.get_attribute(GUARDED).is_some() {
            return false;
        }
        let _ = form.set_attribute(GUARDED, "");
        let shared = Rc::new(Shared {
            form: form.clone(),
            document: self.document.clone(),
            backend: Rc::clone(&self.backend),
            options: RefCell::new(options),
            releasing: Cell::new(false),
            waiting: Cell::new(false),
        });
        self.guards.borrow_mut().push(Guard {
            form: form.clone(),
            shared,
        });
        true
    }
}

/// One guarded form; removes its mark when dropped.
struct Guard {
    form: HtmlFormElement,
    shared: Rc<Shared>,
}

/// `form.requestSubmit(submitter)`: the submit event, then the submission unless a listener
/// cancels it. Browsers without `requestSubmit` (Safari before 16, Firefox before 75) get
/// the same from a click on the submitter, or without one from a cancelable `submit` event
/// and `submit()`; calling the missing method would drop the accepted application.
fn request_submit(form: &HtmlFormElement, submitter: Option<&HtmlElement>) {
    if js_sys::Reflect::has(form, &"requestSubmit".into()).unwrap_or(false) {
        let sent = match submitter {
            Some(button) => form.request_submit_with_submitter(Some(button)),
            None => form.request_submit(),
        };
        if sent.is_err() {
            // The submitter is no longer a submit button of this form: submit without it.
            let _ = form.request_submit();
        }
        return;
    }
    let form_value: &wasm_bindgen::JsValue = form.as_ref();
    let own =
        |b: &&HtmlElement| js_sys::Reflect::get(b, &"form".into()).is_ok_and(|f| &f == form_value);
    if let Some(button) = submitter.filter(own) {
        button.click();
        return;
    }
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict("submit", &init) else {
        return;
    };
    if form.dispatch_event(&event).unwrap_or(false) {
        let _ = form.submit();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.form.remove_attribute(GUARDED);
    }
}

struct Shared {
    form: HtmlFormElement,
    document: Document,
    backend: Rc<dyn Backend>,
    options: RefCell<FormOptions>,
    /// Up only while the guard itself calls `requestSubmit`: that one submission goes through.
    releasing: Cell<bool>,
    /// A submission waits for consent.
    waiting: Cell<bool>,
}

impl Shared {
    fn on_submit(this: &Rc<Shared>, event: &web_sys::Event) {
        if this.releasing.get() {
            return;
        }
        if let Some(token) = this.backend.policy_token() {
            // Recorded consent: attach the token and let this very submission go on. The
            // form data set is built after the submit event, so the field is in it.
            this.set_token(&token);
            this.clear_notice();
            return;
        }
        event.prevent_default();
        event.stop_immediate_propagation();
        if this.waiting.replace(true) {
            // Already waiting (a double click, Enter pressed twice): one flow per form.
            return;
        }
        // A synthetic `new Event('submit')` has no `submitter`: the getter then gives None.
        let submitter = event.unchecked_ref::<web_sys::SubmitEvent>().submitter();
        let this = Rc::clone(this);
        crate::task::spawn(async move {
            this.flow(submitter).await;
            this.waiting.set(false);
        });
    }

    async fn flow(&self, submitter: Option<HtmlElement>) {
        let result = self.backend.request_acceptance().await;
        let lang = self.backend.language();
        match result {
            Ok(token) => {
                self.set_token(&token);
                self.clear_notice();
                self.submit(submitter.as_ref());
            }
            Err(refusal) => {
                let text = match refusal {
                    Refusal::AcceptancePending => kept(lang),
                    Refusal::Declined | Refusal::Unsupported => {
                        i18n::messages(lang).acceptance_required
                    }
                };
                self.show_notice(text);
                if let Some(button) = submitter.filter(|b| b.is_connected()) {
                    let _ = button.focus();
                }
            }
        }
    }

    /// Submits once more, this time let through, with the same submitter if it still is one.
    fn submit(&self, submitter: Option<&HtmlElement>) {
        self.releasing.set(true);
        request_submit(&self.form, submitter.filter(|b| b.is_connected()));
        self.releasing.set(false);
    }

    fn set_token(&self, token: &str) {
        let name = self.options.borrow().token_field.clone();
        // A hidden input's value is its `value` attribute, so attributes are enough.
        let existing = self
            .form
            .query_selector_all("input[type=hidden]")
            .ok()
            .and_then(|list| {
                (0..list.length())
                    .filter_map(|i| list.item(i).map(JsCast::unchecked_into::<web_sys::Element>))
                    .find(|input| input.get_attribute("name").as_deref() == Some(name.as_str()))
            });
        let input = match existing {
            Some(input) => input,
            None => {
                let Ok(input) = self.document.create_element("input") else {
                    return;
                };
                let _ = input.set_attribute("type", "hidden");
                let _ = input.set_attribute("name", &name);
                if self.form.append_child(&input).is_err() {
                    return;
                }
                input
            }
        };
        let _ = input.set_attribute("value", token);
    }

    fn show_notice(&self, text: &str) {
        let notice = match self
            .form
            .query_selector("[data-vivus-form-notice]")
            .ok()
            .flatten()
        {
            Some(existing) => existing,
            None => {
                let Ok(p) = self.document.create_element("p") else {
                    return;
                };
                let _ = p.set_attribute(NOTICE, "");
                let _ = p.set_attribute("class", "vivus-consent-notice");
                let _ = p.set_attribute("role", "alert");
                // Next to the submit button, where the visitor is looking.
                let anchor = self.form.query_selector("[type=submit]").ok().flatten();
                let placed = match anchor {
                    Some(button) => button.before_with_node_1(&p).is_ok(),
                    None => false,
                };
                if !placed {
                    let _ = self.form.append_child(&p);
                }
                p
            }
        };
        notice.set_text_content(Some(text));
    }

    fn clear_notice(&self) {
        if let Ok(Some(notice)) = self.form.query_selector("[data-vivus-form-notice]") {
            notice.remove();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let config = FormConfig::default();
        assert_eq!(config.token_field, "consent_token");
        assert!(config.declarative);
        // The config reader checks the field name (it holds every member's rules).
        assert!(crate::config::Config::from_json(r#"{"forms":{}}"#).is_ok());
        let err = crate::config::Config::from_json(r#"{"forms":{"tokenField":" "}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("forms.tokenField: must be"), "{err}");
    }

    #[test]
    fn the_kept_notice_exists_in_both_languages() {
        assert_ne!(kept(Language::Ru), kept(Language::Kk));
        assert!(kept(Language::Kk).contains("өтінім") || kept(Language::Kk).contains("Өтінім"));
    }
}
