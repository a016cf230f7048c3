//! The gates wired to the runtime: one call, [`connect`], after the runtime started.
//!
//! From then on, every consent change (a choice on this page, a revocation, a choice adopted
//! from another tab):
//! - sends `gtag('consent','update', …)` and the `dataLayer` event ([`crate::consent_mode`]),
//!   first, so the Google tags the next step runs see it;
//! - applies the granted set to the page's gated scripts, iframes and images and runs the
//!   `onGranted` callbacks ([`crate::dom::gate`]);
//! - deletes the cookies of refused categories, reloading if so configured and a category
//!   granted on this page was revoked ([`crate::cookie_cleanup`]);
//! - tells the site's other tabs what it stored ([`crate::tabs`]); they verify and apply it.
//!
//! The same Consent Mode update and apply also run once at connect, from the state the
//! runtime built at start: the *verified* stored token, or the still-pending choice the
//! runtime is retrying (see the pending-grants rule in [`crate::dom::gate`]).
//!
//! Guarded forms ([`crate::dom::form`]) get their acceptance through the runtime, which asks
//! the interactive stage's dialog only when no recorded token carries it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::Source;
use vivus_consent_core::language::Language;
use wasm_bindgen::{JsCast, JsValue};

use crate::consent_mode::{self, Context};
use crate::controller::{Event, Msg, Status, TabChoice, Unrecorded};
use crate::cookie_cleanup::{self, CleanupConfig};
use crate::dom::form::{Backend, FormOptions, Forms};
use crate::dom::gate::Gates;
use crate::error::SdkError;
use crate::runtime::Runtime;
use crate::seam::Refusal;
use crate::storage::{local_key, BrowserStore, ConsentStore, Key};
use crate::tabs::{TabMessage, TabSync};
use crate::task::{spawn, LocalFuture};

/// The page's gates, alive as long as the runtime (held by the API's consent object).
pub struct Connection {
    rt: Weak<Runtime>,
    gates: Gates,
    forms: Forms,
    tabs: RefCell<Option<TabSync>>,
    cleanup: CleanupConfig,
    /// The set last applied, to tell revocations from other changes.
    applied: Cell<Categories>,
    /// Applying a change read from another tab: do not echo it back.
    syncing: Cell<bool>,
    /// What Consent Mode was last told: the granted set and the consent id.
    announced: RefCell<Option<(Categories, Option<String>)>>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("gates", &self.gates)
            .field("forms", &self.forms)
            .finish()
    }
}

/// Connects the gates, Consent Mode, cookie cleanup, guarded forms and tab sync to `rt`,
/// and applies the current state at once.
///
/// Returns `None` outside a browser window.
pub fn connect(rt: &Rc<Runtime>) -> Option<Rc<Connection>> {
    connect_after(rt, &JsValue::UNDEFINED)
}

/// [`connect`], taking over from the returning visitor's stage (`crate::returning::Early`,
/// as a JS object: it is another wasm module's) when it ran first: its Trusted Types policy
/// is adopted, what it told Consent Mode is not told again, and its gates are stopped once
/// these watch the page, handing over the scripts they had not run yet.
pub fn connect_after(rt: &Rc<Runtime>, early: &JsValue) -> Option<Rc<Connection>> {
    let window = web_sys::window()?;
    let document = window.document()?;
    let config = rt.config();

    let weak = Rc::downgrade(rt);
    let allow = Box::new(move |category: Category| {
        // "Always allow" on a placeholder: the visitor's click adds the category.
        if let Some(rt) = weak.upgrade() {
            let mut granted = rt.granted();
            granted.insert(category);
            let _ = rt.choose(granted, None, Source::Api);
        }
    });
    let gates = Gates::install(&document, rt.language(), allow);
    if let Some(policy) = crate::js::member(early, "policy") {
        gates.adopt_policy(policy);
    }
    // The earlier stage's gates stop before these apply: the scripts they still had queued are
    // these gates' to run, after the one they were waiting for.
    if let Some(stop) =
        crate::js::member(early, "stop").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    {
        if let Ok(loading) = stop.call0(early) {
            if let Ok(script) = loading.dyn_into::<web_sys::Element>() {
                gates.wait_for(script);
            }
        }
    }
    // What the earlier stage announced: the same consent is not a second data layer event.
    let announced = crate::js::string_member(early, "consentId").and_then(|id| {
        let bits = crate::js::member(early, "granted")?.as_f64()? as u8;
        Some((Categories::from_bits(bits), Some(id)))
    });
    let forms = Forms::install(
        &document,
        Rc::new(RuntimeBackend(Rc::downgrade(rt))),
        config.forms.clone(),
    );

    // The cleanup patterns: the configured ones plus the cookies the integrator listed per
    // service (the same names the settings dialog shows).
    let mut cleanup = config.cleanup.clone();
    cleanup.analytics.extend(
        config
            .categories
            .analytics
            .services
            .iter()
            .flat_map(|s| s.cookies.iter().cloned()),
    );
    cleanup.marketing.extend(
        config
            .categories
            .marketing
            .services
            .iter()
            .flat_map(|s| s.cookies.iter().cloned()),
    );

    let connection = Rc::new(Connection {
        rt: Rc::downgrade(rt),
        gates,
        forms,
        tabs: RefCell::new(None),
        cleanup,
        applied: Cell::new(rt.granted()),
        syncing: Cell::new(false),
        announced: RefCell::new(announced),
    });

    let weak = Rc::downgrade(&connection);
    let name = &config.cookie.name;
    let keys = vec![local_key(name, Key::Token), local_key(name, Key::Pending)];
    let sync = TabSync::start(
        &window,
        keys,
        Rc::new(move |message: Option<TabMessage>| {
            if let Some(connection) = weak.upgrade() {
                spawn(async move { connection.resync(message).await });
            }
        }),
    );
    *connection.tabs.borrow_mut() = Some(sync);

    let weak = Rc::downgrade(&connection);
    rt.subscribe(Rc::new(move |rt: &Runtime, event: &Event| {
        if let Some(connection) = weak.upgrade() {
            connection.on_event(rt, event);
        }
    }));

    // Consent Mode first: an inline gated `gtag('config', …)` the apply runs must find the
    // update already in the data layer, or Google tags start under the defaults.
    connection.update_consent_mode(rt);
    connection.gates.apply(rt.granted());
    Some(connection)
}

impl Connection {
    /// Registers `callback(category)` to run once when `category` is granted (now, if it is).
    pub fn on_granted(&self, category: Category, callback: js_sys::Function) {
        self.gates.on_granted(category, callback);
    }

    /// Guards a form (the JS `guardForm`); `token_field` defaults to the configured name.
    /// `false` if another copy of the SDK on the page guards it already.
    pub fn guard_form(&self, form: &web_sys::HtmlFormElement, token_field: Option<String>) -> bool {
        let token_field = token_field.unwrap_or_else(|| {
            self.rt.upgrade().map_or_else(
                || "consent_token".into(),
                |rt| rt.config().forms.token_field.clone(),
            )
        });
        self.forms.guard(form, FormOptions { token_field })
    }

    fn on_event(&self, rt: &Runtime, event: &Event) {
        match event {
            Event::Change { categories, .. } => {
                let before = self.applied.replace(*categories);
                // Consent Mode before the tags, as at connect.
                self.update_consent_mode(rt);
                self.gates.apply(*categories);
                if let Some(window) = web_sys::window() {
                    cookie_cleanup::after_decision(
                        &window,
                        &self.cleanup,
                        before,
                        *categories,
                        &rt.config().cookie.name,
                    );
                }
                self.notify(rt);
            }
            // The token is stored now: the other tabs can adopt it. No Consent Mode update:
            // nothing changed, and a second data layer event would fire GTM triggers twice.
            Event::Recorded { .. } => self.notify(rt),
            // The placeholders speak the interface language.
            Event::Language { lang } => self.gates.set_language(*lang),
            Event::Ready { .. } | Event::Error { .. } => {}
        }
    }

    fn update_consent_mode(&self, rt: &Runtime) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let state = rt.snapshot();
        let consent_id = state.consent_id().map(|id| id.as_str());
        let announced = (state.granted(), consent_id.map(str::to_owned));
        // Adopting the token of a choice this tab already applied (from another tab) is no
        // news: a repeated data layer event would fire GTM triggers twice.
        if self.announced.borrow().as_ref() == Some(&announced) {
            return;
        }
        let policy = state.policy();
        let context = Context {
            consent_id,
            policy_version: (state.status() != Status::None).then_some(policy.id),
        };
        consent_mode::update(&window, &rt.config().consent_mode, state.granted(), context);
        *self.announced.borrow_mut() = Some(announced);
    }

    fn notify(&self, rt: &Runtime) {
        if self.syncing.get() {
            return;
        }
        let state = rt.snapshot();
        // The choice in flight (a withdrawal's own id when it is one), which the other tabs
        // follow until its token arrives.
        let choice = match (state.pending(), state.consent_id()) {
            (Some(pending), Some(id)) => Some(TabChoice {
                id: id.clone(),
                granted: match pending {
                    Unrecorded::Made(request) => request.granted(),
                    Unrecorded::Stored(stored) => stored.granted,
                },
                policy_accepted: state.policy_accepted(),
            }),
            _ => None,
        };
        let message = TabMessage {
            token: state.token().map(str::to_owned),
            choice,
        };
        if let Some(tabs) = self.tabs.borrow().as_ref() {
            tabs.notify(&message);
        }
    }

    /// Another tab changed the stored consent: apply what it posted (or, from the storage
    /// event, what the storage holds now). Nothing here is taken on the other tab's word: a
    /// choice still in flight there only restricts this tab ([`Msg::Follow`]), and a token
    /// must verify against the service's keys before it is adopted.
    async fn resync(&self, message: Option<TabMessage>) {
        let Some(rt) = self.rt.upgrade() else { return };
        let message = match message {
            Some(message) => message,
            None => {
                let store = BrowserStore::new(rt.config().cookie.clone(), crate::env::is_https());
                // Storage that cannot be read tells nothing: keep the state in effect.
                let (Ok(token), Ok(pending)) = (store.read(Key::Token), store.read(Key::Pending))
                else {
                    return;
                };
                let choice = pending
                    .as_deref()
                    .and_then(crate::runtime::read_stored_choice)
                    .map(|stored| TabChoice {
                        id: stored.id,
                        granted: stored.granted,
                        policy_accepted: stored.policy_accepted,
                    });
                TabMessage { token, choice }
            }
        };
        // What this tab had chosen when the message came: if it chooses again while the
        // token below is verified, the message is stale and must not undo the new choice.
        let chosen = rt.snapshot().consent_id().cloned();
        let msg = match (message.choice, message.token) {
            (Some(choice), _) => Some(Msg::Follow(choice)),
            (None, Some(token)) => rt.verify(&token).await.ok().map(Msg::Adopt),
            // Cleared there (an invalid token was revoked): no consent here either.
            (None, None) if rt.status() != Status::None => Some(Msg::Revoke),
            (None, None) => None,
        };
        if rt.snapshot().consent_id() != chosen.as_ref() {
            return;
        }
        if let Some(msg) = msg {
            // Only the events of this dispatch are echoes not to post back; a choice the
            // visitor makes meanwhile (during the verification above) is posted as usual.
            self.syncing.set(true);
            rt.dispatch(msg);
            self.syncing.set(false);
        }
    }
}

/// [`Backend`] of guarded forms over the page's runtime.
#[derive(Debug, Clone)]
struct RuntimeBackend(Weak<Runtime>);

impl Backend for RuntimeBackend {
    fn language(&self) -> Language {
        self.0.upgrade().map_or(Language::Ru, |rt| rt.language())
    }

    fn policy_token(&self) -> Option<String> {
        self.0.upgrade()?.policy_token()
    }

    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>> {
        let rt = self.0.upgrade();
        Box::pin(async move {
            let Some(rt) = rt else {
                return Err(Refusal::Unsupported);
            };
            match rt.request_policy_acceptance().await {
                Ok(token) => Ok(token),
                Err(SdkError::Unsupported(_)) => Err(Refusal::Unsupported),
                Err(SdkError::AcceptancePending) => Err(Refusal::AcceptancePending),
                Err(_) => Err(Refusal::Declined),
            }
        })
    }
}
