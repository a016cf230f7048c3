//! The runtime: owns the consent state (the [`Controller`]), carries out its effects
//! (storage, events, timers) and is the Rust-side API other SDK modules build on. What the
//! visitor does beyond reading the state (the widget, recording with the service) is the
//! interactive stage's, reached through [`crate::seam::Ui`] and loaded on first need
//! ([`stage`]).
//!
//! There is one runtime per page (`init` returns the same instance when called again);
//! it lives as long as the page, so its callbacks hold it weakly.

#[cfg(not(feature = "ui"))]
pub mod port;
pub mod stage;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use futures_channel::oneshot;
use serde::Serialize;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{ConsentId, Source, SubjectId};
use vivus_consent_core::language::Language;
use vivus_consent_core::token::{Expected, TokenError};
use wasm_bindgen::prelude::*;

use crate::config::Config;
use crate::controller::{
    Backoff, Choice, Controller, Effect, Event, Failure, Msg, Status, StoredChoice, Unrecorded,
    Verified,
};
use crate::env;
use crate::error::{Result, SdkError};
use crate::i18n;
use crate::js::{self, to_js};
use crate::seam::{Dialog, Notice, Outgoing, Refusal, SendFailure, Snapshot, UiSettings};
use crate::storage::{BrowserStore, ConsentStore, Key};
use crate::task::{spawn, LocalFuture};

pub use stage::Loader;

/// A Rust-side listener of consent events (the gates, Consent Mode).
pub type Hook = Rc<dyn Fn(&Runtime, &Event)>;

/// The page's consent runtime.
pub struct Runtime {
    config: Config,
    store: Box<dyn ConsentStore>,
    controller: RefCell<Controller>,
    keys: crate::keys::Keys,
    /// The visitor was told (an `error` event, code `storage`) that the choice cannot be kept.
    storage_failed: Cell<bool>,
    ready: Cell<bool>,
    /// The service's last `Retry-After`, honoured by the next scheduled retry.
    retry_after_ms: Cell<u32>,
    listeners: RefCell<Vec<(String, js_sys::Function)>>,
    hooks: RefCell<Vec<Hook>>,
    /// Callers of [`Runtime::recorded`] waiting for the next recorded token.
    waiters: RefCell<Vec<oneshot::Sender<String>>>,
    stage: stage::Stage,
    this: Weak<Runtime>,
}

impl core::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime")
            .field("controller", &self.controller)
            .finish_non_exhaustive()
    }
}

/// `state()`, as JS gets it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct State<'a> {
    status: Status,
    consent_id: Option<&'a str>,
    subject_id: &'a str,
    policy_version: &'a str,
    policy_digest: &'a str,
    categories: Categories,
    policy_accepted: bool,
    language: Language,
    issued_at: Option<u64>,
    expires_at: Option<u64>,
}

/// The details of the JS events.
#[derive(Serialize)]
#[serde(untagged)]
enum Detail<'a> {
    Ready {
        categories: Categories,
        status: Status,
    },
    Change {
        categories: Categories,
        changed: &'a [Category],
    },
    #[serde(rename_all = "camelCase")]
    Recorded {
        token: &'a str,
        consent_id: &'a str,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
}

impl Runtime {
    /// Reads and verifies the stored consent and builds the state; the interactive stage is
    /// loaded when the state or the page needs it (the banner, a dialog, a choice to record).
    ///
    /// # Errors
    ///
    /// [`SdkError::Unsupported`] outside a browser window (no `crypto`).
    pub async fn start(config: Config) -> Result<Rc<Runtime>> {
        Self::start_with(config, Loader::default()).await
    }

    /// As [`Runtime::start`], reaching the interactive stage through `loader`.
    ///
    /// # Errors
    ///
    /// As [`Runtime::start`].
    pub async fn start_with(config: Config, loader: Loader) -> Result<Rc<Runtime>> {
        let store: Box<dyn ConsentStore> =
            Box::new(BrowserStore::new(config.cookie.clone(), env::is_https()));
        Self::start_with_store(config, store, loader).await
    }

    /// As [`Runtime::start`], with the given store (tests use a [`crate::storage::MemoryStore`]).
    ///
    /// # Errors
    ///
    /// As [`Runtime::start`].
    pub async fn start_with_store(
        config: Config,
        store: Box<dyn ConsentStore>,
        loader: Loader,
    ) -> Result<Rc<Runtime>> {
        let lang = env::language(config.language);
        let subject = match store
            .read(Key::Subject)
            .ok()
            .flatten()
            .and_then(|s| SubjectId::parse(&s).ok())
        {
            Some(subject) => subject,
            None => {
                let subject = env::new_subject_id()?;
                let _ = store.write(Key::Subject, subject.as_str(), 0);
                subject
            }
        };
        let backoff = Backoff {
            max_attempts: config.net.max_attempts,
            base_ms: config.net.backoff_ms,
        };
        let controller = Controller::new(
            config.policy_version,
            lang,
            subject,
            backoff,
            env::global_privacy_control(),
        );
        let keys = crate::keys::Keys::new(
            config.jwks.clone(),
            config.jwks_url.clone(),
            config.net.timeout_ms,
        );
        let runtime = Rc::new_cyclic(|this| Runtime {
            config,
            store,
            controller: RefCell::new(controller),
            keys,
            storage_failed: Cell::new(false),
            ready: Cell::new(false),
            retry_after_ms: Cell::new(0),
            listeners: RefCell::new(Vec::new()),
            hooks: RefCell::new(Vec::new()),
            waiters: RefCell::new(Vec::new()),
            stage: stage::Stage::new(loader),
            this: this.clone(),
        });

        let verified = match runtime.store.read(Key::Token).ok().flatten() {
            Some(token) => match runtime.verify(&token).await {
                Ok(verified) => Some(verified),
                Err(err) => {
                    // A tampered, expired or outdated token is no consent: drop it so the
                    // next load does not check it again. But when its key could not be
                    // fetched (offline, the key set unreachable), it is only unchecked: it
                    // grants nothing on this page and is kept for the next one.
                    if !(err == TokenError::UnknownKey && runtime.keys.may_learn_more()) {
                        let _ = runtime.store.remove(Key::Token);
                    }
                    None
                }
            },
            None => None,
        };
        let pending = match runtime.store.read(Key::Pending).ok().flatten() {
            Some(text) => {
                let choice = read_stored_choice(&text);
                if choice.is_none() {
                    // Not a choice this SDK stored: no one's to send.
                    let _ = runtime.store.remove(Key::Pending);
                }
                choice
            }
            None => None,
        };
        let show_banner = env::shows_banner(&runtime.config.ui);
        runtime.dispatch(Msg::Start {
            verified,
            pending,
            show_banner,
        });
        Ok(runtime)
    }

    fn rc(&self) -> Option<Rc<Runtime>> {
        self.this.upgrade()
    }

    /// A weak handle, for callbacks that must not keep the runtime alive.
    pub fn weak(&self) -> Weak<Runtime> {
        self.this.clone()
    }

    /// Applies a message and carries out its effects.
    pub fn dispatch(&self, msg: Msg) {
        // The borrow ends before any effect runs, so listeners may call back into the API.
        let effects = self.controller.borrow_mut().update(msg);
        for effect in effects {
            self.run(effect);
        }
    }

    fn run(&self, effect: Effect) {
        match effect {
            Effect::Render => self.render(),
            Effect::PersistPending(request) => {
                // A failure here is told when the token cannot be stored either (below): the
                // token's cookie alone keeps a recorded choice.
                let _ = self.store.write(Key::Pending, &js::to_json(&request), 0);
            }
            Effect::ClearPending(id) => {
                // Only our own copy: another tab may have stored a newer choice since, and
                // it must still be sent (an unreadable copy is no one's choice).
                let stored = self.store.read(Key::Pending).ok().flatten();
                let theirs = stored
                    .as_deref()
                    .and_then(read_stored_choice)
                    .is_some_and(|other| other.id != id);
                if stored.is_some() && !theirs {
                    let _ = self.store.remove(Key::Pending);
                }
            }
            Effect::Send(choice) => {
                let id = choice.id().clone();
                let body = match choice {
                    Unrecorded::Made(request) => js::to_json(&request),
                    Unrecorded::Stored(stored) => stored.text,
                };
                self.send(
                    id,
                    Outgoing {
                        url: self.config.endpoint.clone(),
                        body,
                        bearer: None,
                        timeout_ms: self.config.net.timeout_ms,
                    },
                );
            }
            Effect::SendWithdrawal(withdrawal) => {
                let mut url = String::from(self.config.endpoint.trim_end_matches('/'));
                url.push('/');
                url.push_str(withdrawal.of.as_str());
                url.push_str("/withdraw");
                let body = js::to_json(&withdrawal.request);
                self.send(
                    withdrawal.request.id,
                    Outgoing {
                        url,
                        body,
                        bearer: Some(withdrawal.token),
                        timeout_ms: self.config.net.timeout_ms,
                    },
                );
            }
            Effect::ScheduleRetry { id, delay_ms } => {
                // Never sooner than the service's Retry-After (a 429 or 503 said when).
                let delay_ms = delay_ms.max(self.retry_after_ms.replace(0));
                let weak = self.weak();
                spawn(async move {
                    gloo_timers::future::TimeoutFuture::new(delay_ms).await;
                    if let Some(rt) = weak.upgrade() {
                        rt.dispatch(Msg::Retry { id });
                    }
                });
            }
            Effect::ScheduleExpiry { id, at } => {
                let weak = self.weak();
                spawn(async move {
                    // setTimeout takes at most 2^31 - 1 ms (about 24.8 days) and fires at
                    // once beyond that, so a year-long token is waited for in steps.
                    const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;
                    loop {
                        let left_ms = at.saturating_mul(1000).saturating_sub(env::now_ms());
                        if left_ms == 0 {
                            break;
                        }
                        gloo_timers::future::TimeoutFuture::new(left_ms.min(MAX_TIMEOUT_MS) as u32)
                            .await;
                    }
                    if let Some(rt) = weak.upgrade() {
                        rt.dispatch(Msg::Expire { id });
                    }
                });
            }
            Effect::StoreToken { token, max_age } => {
                let stored = self.store.write(Key::Token, &token, max_age).is_ok();
                self.check_stored(stored);
            }
            Effect::ClearToken => {
                let _ = self.store.remove(Key::Token);
            }
            Effect::StoreSubject(subject) => {
                let _ = self.store.write(Key::Subject, subject.as_str(), 0);
            }
            Effect::Emit(event) => self.emit(&event),
        }
    }

    /// A recorded token that no place (cookie, localStorage) could store holds for this page
    /// only: say so once per page, to the site (an `error` event, code `storage`, with the
    /// i18n'd message) and to the visitor (the widget's notice), so no site needs code of its
    /// own for it.
    fn check_stored(&self, stored: bool) {
        if !stored && !self.storage_failed.replace(true) {
            self.emit(&Event::Error { code: "storage" });
            self.render();
        }
    }

    /// Whether no place in the browser could keep the recorded choice (told once, above).
    pub fn storage_failed(&self) -> bool {
        self.storage_failed.get()
    }

    /// Hands a request to the recorder (the interactive stage, loaded if need be) and feeds
    /// its outcome back as a message.
    fn send(&self, id: ConsentId, request: Outgoing) {
        let Some(rt) = self.rc() else { return };
        spawn(async move {
            let answer = match rt.stage.get(&rt).await {
                Some(ui) => ui.send(request).await,
                // The stage could not load (blocked, offline): like a network failure.
                None => Err(SendFailure {
                    error: crate::error::NetError::Network,
                    retry_after_ms: 0,
                }),
            };
            let msg = rt.recorded_or_failed(id, answer).await;
            rt.dispatch(msg);
        });
    }

    /// What the service's answer to consent `id` means: recorded (the token verifies and is
    /// for `id`), or failed, and how.
    async fn recorded_or_failed(&self, id: ConsentId, answer: Result<String, SendFailure>) -> Msg {
        let token = match answer {
            Ok(token) => token,
            Err(failure) => {
                self.retry_after_ms.set(failure.retry_after_ms);
                return Msg::Failed {
                    id,
                    code: failure.error.code(),
                    failure: failure.error.failure(),
                };
            }
        };
        match self.verify(&token).await {
            Ok(verified) if verified.claims.jti == id => Msg::Recorded {
                id,
                verified,
                now: env::now_secs(),
            },
            // Its key is new and the key set could not be fetched: a network failure, worth
            // retrying (the service answers a retry with the same token).
            Err(TokenError::UnknownKey) if self.keys.may_learn_more() => Msg::Failed {
                id,
                code: "network",
                failure: Failure::Transient,
            },
            // The service answered with a token we cannot trust (wrong keys or issuer
            // configured, or a token for another consent): retrying will not fix it.
            _ => Msg::Failed {
                id,
                code: "invalid_token",
                failure: Failure::Unusable,
            },
        }
    }

    /// Verifies a token against the service's keys ([`crate::keys`]) and the configured issuer and
    /// policy.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] of the first failing check.
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let expected = Expected {
            issuer: &self.config.issuer,
            policy_digest: self.config.policy_version.digest,
            now: env::now_secs(),
        };
        let weak = self.weak();
        let wasm_ed25519 =
            move |key: [u8; 32], message: &[u8], signature: [u8; 64]| -> LocalFuture<bool> {
                let (weak, message) = (weak.clone(), message.to_vec());
                Box::pin(async move {
                    let Some(rt) = weak.upgrade() else {
                        return false;
                    };
                    match rt.stage.get(&rt).await {
                        Some(ui) => ui.verify_ed25519(key, &message, signature),
                        None => false,
                    }
                })
            };
        let claims = self.keys.verify(token, &expected, &wasm_ed25519).await?;
        Ok(Verified {
            token: token.into(),
            claims,
        })
    }

    fn emit(&self, event: &Event) {
        if matches!(event, Event::Ready { .. }) {
            self.ready.set(true);
        }
        if let Some((name, detail)) = self.event_detail(event) {
            // Handlers may call on()/off(): iterate over a copy.
            let listeners: Vec<js_sys::Function> = self
                .listeners
                .borrow()
                .iter()
                .filter(|(kind, _)| kind == name)
                .map(|(_, f)| f.clone())
                .collect();
            for listener in listeners {
                // A throwing handler must not stop the others or the SDK.
                let _ = listener.call1(&JsValue::NULL, &detail);
            }
            dispatch_dom_event(name, &detail);
        }
        let hooks: Vec<Hook> = self.hooks.borrow().clone();
        for hook in hooks {
            hook(self, event);
        }
        let notice = match event {
            Event::Recorded { token, .. } => {
                let waiters = core::mem::take(&mut *self.waiters.borrow_mut());
                for waiter in waiters {
                    let _ = waiter.send(token.clone());
                }
                Some(Notice::Recorded {
                    token: token.clone(),
                })
            }
            Event::Error { code } => Some(Notice::Error {
                code: (*code).into(),
            }),
            _ => None,
        };
        if let (Some(notice), Some(ui)) = (notice, self.stage.current()) {
            ui.notice(&notice);
        }
    }

    /// The JS event's name and detail (none for the Rust-only language change).
    fn event_detail(&self, event: &Event) -> Option<(&'static str, JsValue)> {
        let (name, detail) = match event {
            Event::Ready { categories } => (
                "ready",
                Detail::Ready {
                    categories: *categories,
                    status: self.status(),
                },
            ),
            Event::Change {
                categories,
                changed,
            } => (
                "change",
                Detail::Change {
                    categories: *categories,
                    changed,
                },
            ),
            Event::Recorded { token, consent_id } => (
                "recorded",
                Detail::Recorded {
                    token,
                    consent_id: consent_id.as_str(),
                },
            ),
            Event::Error { code } => (
                "error",
                Detail::Error {
                    code,
                    message: i18n::error_message(code, self.language()),
                },
            ),
            Event::Language { .. } => return None,
        };
        Some((name, to_js(&detail)))
    }

    /// Brings the interactive stage in line with the state, loading it when the state needs
    /// it (the banner, the storage note) and it is not there yet.
    fn render(&self) {
        let snapshot = self.view();
        let Some(rt) = self.rc() else { return };
        if let Some(ui) = self.stage.current() {
            ui.render(&snapshot);
        } else if snapshot.banner || snapshot.storage_failed {
            if self.stage.is_linked() {
                // Linked into this build: made and rendered now, in this task.
                self.stage.make_linked(&rt);
                return;
            }
            spawn(async move {
                // Loading renders the state of that moment.
                rt.stage.get(&rt).await;
            });
        }
    }

    // ---- the Rust-side API ------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The config members the interactive stage uses.
    pub fn ui_settings(&self) -> UiSettings {
        let c = &self.config;
        UiSettings {
            language_switch: c.ui.language_switch,
            policy_url: c.policy_url.clone(),
            policy_version: c.policy_version.id.into(),
            timeout_ms: c.net.timeout_ms,
            services: [
                c.categories.necessary.services.clone(),
                c.categories.analytics.services.clone(),
                c.categories.marketing.services.clone(),
            ],
        }
    }

    /// What the interactive stage renders.
    pub fn view(&self) -> Snapshot {
        let c = self.controller.borrow();
        Snapshot {
            status: c.status(),
            language: c.language(),
            granted: c.granted(),
            policy_accepted: c.policy_accepted(),
            banner: c.banner_visible(),
            gpc: c.gpc(),
            storage_failed: self.storage_failed.get(),
        }
    }

    /// The categories in effect (the visitor's choice, pending or recorded).
    pub fn granted(&self) -> Categories {
        self.controller.borrow().granted()
    }

    /// Whether the choice is recorded, pending or absent.
    pub fn status(&self) -> Status {
        self.controller.borrow().status()
    }

    /// The interface language.
    pub fn language(&self) -> Language {
        self.controller.borrow().language()
    }

    /// A copy of the consent state.
    pub fn snapshot(&self) -> Controller {
        self.controller.borrow().clone()
    }

    /// `state()` as JS gets it: status, ids, policy, categories, language, the token's times.
    pub fn state_js(&self) -> JsValue {
        let s = self.controller.borrow();
        to_js(&State {
            status: s.status(),
            consent_id: s.consent_id().map(ConsentId::as_str),
            subject_id: s.subject().as_str(),
            policy_version: s.policy().id,
            policy_digest: s.policy().digest,
            categories: s.granted(),
            policy_accepted: s.policy_accepted(),
            language: s.language(),
            issued_at: s.issued_at(),
            expires_at: s.expires_at(),
        })
    }

    /// Whether `ready` was emitted.
    pub fn is_ready(&self) -> bool {
        self.ready.get()
    }

    /// Records a new choice made at `source`; `policy_accepted: None` keeps the current one.
    ///
    /// # Errors
    ///
    /// [`SdkError::Unsupported`] if no random consent id can be drawn.
    pub fn choose(
        &self,
        categories: Categories,
        policy_accepted: Option<bool>,
        source: Source,
    ) -> Result<()> {
        let id = env::new_consent_id()?;
        self.dispatch(Msg::Choose(Choice {
            id,
            categories,
            policy_accepted,
            source,
        }));
        Ok(())
    }

    /// Withdraws optional categories (all when `None`): takes effect at once and is recorded
    /// as a withdrawal of the recorded consent (see [`Msg::Withdraw`]).
    ///
    /// # Errors
    ///
    /// As [`Runtime::choose`].
    pub fn withdraw(&self, categories: Option<&[Category]>) -> Result<()> {
        let categories: Option<Vec<Category>> =
            categories.map(|list| list.iter().copied().filter(|c| c.is_optional()).collect());
        if categories.as_ref().is_some_and(Vec::is_empty) {
            // Only `necessary` (or nothing) named: there is nothing that can be withdrawn.
            return Ok(());
        }
        self.dispatch(Msg::Withdraw {
            id: env::new_consent_id()?,
            fallback_id: env::new_consent_id()?,
            categories,
        });
        Ok(())
    }

    /// Subscribes a Rust listener to every event (the gates use it).
    pub fn subscribe(&self, hook: Hook) {
        self.hooks.borrow_mut().push(hook);
    }

    /// Adds a JS listener for `ready`, `change`, `recorded` or `error`. A `ready` listener
    /// added after `ready` is called at once, so late subscribers do not wait forever.
    pub fn on(&self, name: &str, handler: js_sys::Function) {
        if name == "ready" && self.ready.get() {
            if let Some((_, detail)) = self.event_detail(&Event::Ready {
                categories: self.granted(),
            }) {
                let _ = handler.call1(&JsValue::NULL, &detail);
            }
        }
        self.listeners.borrow_mut().push((name.into(), handler));
    }

    /// Removes a JS listener added with [`Runtime::on`].
    pub fn off(&self, name: &str, handler: &js_sys::Function) {
        self.listeners
            .borrow_mut()
            .retain(|(kind, f)| !(kind == name && f == handler));
    }

    /// The token once the service has recorded the choice in effect.
    pub async fn recorded(&self) -> String {
        let receiver = {
            let state = self.controller.borrow();
            if let (Status::Recorded, Some(token)) = (state.status(), state.token()) {
                return token.into();
            }
            let (sender, receiver) = oneshot::channel();
            self.waiters.borrow_mut().push(sender);
            receiver
        };
        // The runtime lives as long as the page, so the sender is never dropped unsent.
        receiver.await.unwrap_or_default()
    }

    /// The recorded token whose claims say the policy was accepted, if there is one.
    pub fn policy_token(&self) -> Option<String> {
        let state = self.controller.borrow();
        match (state.status(), state.policy_accepted(), state.token()) {
            (Status::Recorded, true, Some(token)) => Some(token.into()),
            _ => None,
        }
    }

    /// Asks the visitor to accept the personal data policy (the modal with the unticked
    /// checkbox) and resolves with the recorded token once the service has signed it. A
    /// visitor whose recorded consent already includes acceptance gets the token at once.
    ///
    /// # Errors
    ///
    /// [`SdkError::Declined`] if the visitor closes the dialog without accepting;
    /// [`SdkError::AcceptancePending`] if they accepted and closed it before the service
    /// recorded it; [`SdkError::Unsupported`] if the interactive stage cannot load.
    pub async fn request_policy_acceptance(&self) -> Result<String> {
        if let Some(token) = self.policy_token() {
            return Ok(token);
        }
        let Some(rt) = self.rc() else {
            return Err(SdkError::NotInitialized);
        };
        let Some(ui) = self.stage.get(&rt).await else {
            return Err(SdkError::Unsupported(
                "the policy acceptance dialog (its stage did not load)",
            ));
        };
        match ui.request_acceptance().await {
            Ok(token) => Ok(token),
            Err(Refusal::AcceptancePending) => Err(SdkError::AcceptancePending),
            Err(Refusal::Declined) => Err(SdkError::Declined),
            Err(Refusal::Unsupported) => Err(SdkError::Unsupported("the policy acceptance dialog")),
        }
    }

    /// Opens a dialog, loading the interactive stage if need be.
    pub fn open(&self, dialog: Dialog) {
        let Some(rt) = self.rc() else { return };
        if self.stage.is_linked() {
            self.stage.make_linked(&rt);
        }
        if let Some(ui) = self.stage.current() {
            ui.open(dialog);
            return;
        }
        spawn(async move {
            if let Some(ui) = rt.stage.get(&rt).await {
                ui.open(dialog);
            }
        });
    }

    /// Opens the settings dialog.
    pub fn show_preferences(&self) {
        self.open(Dialog::Preferences);
    }

    /// Opens the policy viewer.
    pub fn show_policy(&self) {
        self.open(Dialog::Policy);
    }

    /// Shows the banner.
    pub fn show(&self) {
        self.dispatch(Msg::ShowBanner);
    }

    /// Hides the banner and any dialog.
    pub fn hide(&self) {
        if let Some(ui) = self.stage.current() {
            ui.close_all();
        }
        self.dispatch(Msg::HideBanner);
    }

    /// Switches the interface language.
    pub fn set_language(&self, lang: Language) {
        self.dispatch(Msg::SetLanguage(lang));
    }

    /// Sends the pending choice again now.
    pub fn retry_now(&self) {
        self.dispatch(Msg::RetryNow);
    }
}

/// The runtime as the interactive stage sees it ([`crate::seam::Host`]), held weakly: the
/// stage lives inside the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeHost(pub Weak<Runtime>);

impl crate::seam::Host for RuntimeHost {
    fn snapshot(&self) -> Snapshot {
        match self.0.upgrade() {
            Some(rt) => rt.view(),
            None => Snapshot {
                status: Status::None,
                language: Language::Ru,
                granted: Categories::new(),
                policy_accepted: false,
                banner: false,
                gpc: false,
                storage_failed: false,
            },
        }
    }
    fn choose(&self, categories: Categories, policy_accepted: Option<bool>, source: Source) {
        if let Some(rt) = self.0.upgrade() {
            // Without randomness no choice can be recorded; the widget keeps its state.
            let _ = rt.choose(categories, policy_accepted, source);
        }
    }
    fn set_language(&self, lang: Language) {
        if let Some(rt) = self.0.upgrade() {
            rt.set_language(lang);
        }
    }
    fn hide_banner(&self) {
        if let Some(rt) = self.0.upgrade() {
            rt.dispatch(Msg::HideBanner);
        }
    }
    fn retry(&self) {
        if let Some(rt) = self.0.upgrade() {
            rt.retry_now();
        }
    }
}

/// A stored pending choice, read back: its id, policy acceptance and what it grants; the
/// text is sent as it is. `None` for anything this SDK did not store.
pub(crate) fn read_stored_choice(text: &str) -> Option<StoredChoice> {
    let value = js_sys::JSON::parse(text).ok()?;
    let categories = js::member(&value, "categories")?;
    let mut granted = Categories::new();
    for category in Category::OPTIONAL {
        if js::member(&categories, category.as_str())?.as_bool()? {
            granted.insert(category);
        }
    }
    Some(StoredChoice {
        id: ConsentId::parse(&js::string_member(&value, "id")?).ok()?,
        policy_accepted: js::member(&value, "policyAccepted")?.as_bool()?,
        granted,
        text: text.into(),
    })
}

fn dispatch_dom_event(name: &str, detail: &JsValue) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let init = web_sys::CustomEventInit::new();
    init.set_detail(detail);
    let mut full = String::from("vivus-consent:");
    full.push_str(name);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(&full, &init) {
        let _ = document.dispatch_event(&event);
    }
}
