//! The runtime: owns the controller, carries out its effects (storage, network, DOM,
//! events) and is the Rust-side API other SDK modules build on (the gates subscribe to
//! consent changes and run the policy-acceptance dialog through it).
//!
//! There is one runtime per page (`init` returns the same instance when called again);
//! it lives as long as the page, so its callbacks hold it weakly.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{ConsentId, ConsentRequest, Source, SubjectId};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::language::Language;
use vivus_consent_core::token::{self, Expected, TokenError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::config::Config;
use crate::controller::{Backoff, Choice, Controller, Effect, Event, Failure, Msg, Status, Verified};
use crate::env;
use crate::error::{NetError, Result, SdkError};
use crate::i18n;
use crate::net;
use crate::storage::{BrowserStore, ConsentStore, Key};

/// A Rust-side listener of consent events (the gates, Consent Mode).
pub type Hook = Rc<dyn Fn(&Runtime, &Event)>;

/// How far this page has fetched the key set from `jwksUrl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JwksFetch {
    /// Not at all.
    None,
    /// From the HTTP cache (or the service, when the cache had no copy), or tried to.
    Cached,
    /// Asked the service itself, revalidating any cached copy, and it answered: a `kid` that
    /// is still unknown is not the service's.
    Confirmed,
    /// Asked the service itself and got no answer: an unknown `kid` is only unchecked.
    Unreachable,
}

/// The page's consent runtime.
pub struct Runtime {
    config: Config,
    store: Box<dyn ConsentStore>,
    controller: RefCell<Controller>,
    jwks: RefCell<Jwks>,
    jwks_fetched: Cell<JwksFetch>,
    /// The visitor was told (an `error` event, code `storage`) that the choice cannot be kept.
    storage_failed: Cell<bool>,
    ready: Cell<bool>,
    listeners: RefCell<Vec<(String, js_sys::Function)>>,
    hooks: RefCell<Vec<Hook>>,
    waiters: RefCell<Vec<js_sys::Function>>,
    #[cfg(feature = "ui")]
    pub(crate) ui: RefCell<Option<crate::dom::Ui>>,
    #[cfg(feature = "ui")]
    pub(crate) acceptance: RefCell<Option<crate::dom::acceptance::Pending>>,
    #[cfg(feature = "ui")]
    pub(crate) policy_cache: RefCell<Vec<(Language, Rc<vivus_consent_core::policy::Document>)>>,
    this: Weak<Runtime>,
}

impl core::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime")
            .field("controller", &self.controller)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Reads and verifies the stored consent, builds the state and (with `ui`) shows the
    /// banner when there is no valid consent.
    ///
    /// # Errors
    ///
    /// [`SdkError::Unsupported`] outside a browser window (no `crypto`).
    pub async fn start(config: Config) -> Result<Rc<Runtime>> {
        let store: Box<dyn ConsentStore> =
            Box::new(BrowserStore::new(config.cookie.clone(), env::is_https()));
        Self::start_with_store(config, store).await
    }

    /// As [`Runtime::start`], with the given store (tests use a [`crate::storage::MemoryStore`]).
    ///
    /// # Errors
    ///
    /// As [`Runtime::start`].
    pub async fn start_with_store(
        config: Config,
        store: Box<dyn ConsentStore>,
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
        let jwks = config.jwks.clone().unwrap_or(Jwks { keys: Vec::new() });
        let runtime = Rc::new_cyclic(|this| Runtime {
            config,
            store,
            controller: RefCell::new(controller),
            jwks: RefCell::new(jwks),
            jwks_fetched: Cell::new(JwksFetch::None),
            storage_failed: Cell::new(false),
            ready: Cell::new(false),
            listeners: RefCell::new(Vec::new()),
            hooks: RefCell::new(Vec::new()),
            waiters: RefCell::new(Vec::new()),
            #[cfg(feature = "ui")]
            ui: RefCell::new(None),
            #[cfg(feature = "ui")]
            acceptance: RefCell::new(None),
            #[cfg(feature = "ui")]
            policy_cache: RefCell::new(Vec::new()),
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
                    let unchecked = err == TokenError::UnknownKey
                        && runtime.config.jwks_url.is_some()
                        && runtime.jwks_fetched.get() != JwksFetch::Confirmed;
                    if !unchecked {
                        let _ = runtime.store.remove(Key::Token);
                    }
                    None
                }
            },
            None => None,
        };
        let pending = match runtime.store.read(Key::Pending).ok().flatten() {
            Some(json) => match crate::json::read_consent_request(&json) {
                Some(request) => Some(request),
                None => {
                    let _ = runtime.store.remove(Key::Pending);
                    None
                }
            },
            None => None,
        };
        let show_banner = env::shows_banner(&runtime.config.ui);
        // The first-paint build's banner gives way to the SDK's in this same task (no await
        // between here and the render), so no frame shows neither and nothing moves.
        #[cfg(feature = "ui")]
        let boot = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|doc| crate::dom::take_boot_host(&doc));
        runtime.dispatch(Msg::Start {
            verified,
            pending,
            show_banner,
        });
        #[cfg(feature = "ui")]
        if let Some(boot) = boot {
            crate::dom::resume(&runtime, &boot);
        }
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
                let _ = self
                    .store
                    .write(Key::Pending, &crate::json::consent_request(&request), 0);
            }
            Effect::ClearPending(id) => {
                // Only our own copy: another tab may have stored a newer choice since, and
                // it must still be sent (an unreadable copy is no one's choice).
                let stored = self.store.read(Key::Pending).ok().flatten();
                let theirs = stored
                    .as_deref()
                    .and_then(crate::json::read_consent_request)
                    .is_some_and(|other| other.id != id);
                if stored.is_some() && !theirs {
                    let _ = self.store.remove(Key::Pending);
                }
            }
            Effect::Send(request) => {
                if let Some(rt) = self.rc() {
                    spawn_local(async move { rt.send(request).await });
                }
            }
            Effect::SendWithdrawal(withdrawal) => {
                if let Some(rt) = self.rc() {
                    spawn_local(async move { rt.send_withdrawal(withdrawal).await });
                }
            }
            Effect::ScheduleRetry { id, delay_ms } => {
                // Never sooner than the service's Retry-After (a 429 or 503 said when).
                let delay_ms = delay_ms.max(net::take_retry_after_ms());
                if let Some(rt) = self.rc() {
                    spawn_local(async move {
                        net::sleep(delay_ms).await;
                        rt.dispatch(Msg::Retry { id });
                    });
                }
            }
            Effect::ScheduleExpiry { id, at } => {
                let weak = self.weak();
                spawn_local(async move {
                    // setTimeout takes at most 2^31 - 1 ms (about 24.8 days) and fires at
                    // once beyond that, so a year-long token is waited for in steps.
                    const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;
                    loop {
                        let left_ms = at.saturating_mul(1000).saturating_sub(env::now_ms());
                        if left_ms == 0 {
                            break;
                        }
                        net::sleep(left_ms.min(MAX_TIMEOUT_MS) as u32).await;
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
    /// i18n'd message) and to the visitor (the widget's notice, see `dom::render`), so no site
    /// needs code of its own for it.
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

    async fn send_withdrawal(&self, withdrawal: crate::controller::Withdrawal) {
        let id = withdrawal.request.id.clone();
        let result = net::withdraw(
            &self.config.endpoint,
            &withdrawal,
            self.config.net.timeout_ms,
        )
        .await;
        let msg = self.recorded_or_failed(id, result).await;
        self.dispatch(msg);
    }

    async fn send(&self, request: ConsentRequest) {
        let id = request.id.clone();
        let result = net::record(&self.config.endpoint, &request, self.config.net.timeout_ms).await;
        let msg = self.recorded_or_failed(id, result).await;
        self.dispatch(msg);
    }

    /// What the service's answer to consent `id` means: recorded (the token verifies and is
    /// for `id`), or failed, and how.
    async fn recorded_or_failed(&self, id: ConsentId, answer: Result<String, NetError>) -> Msg {
        let token = match answer {
            Ok(token) => token,
            Err(err) => {
                return Msg::Failed {
                    id,
                    code: err.code(),
                    failure: err.failure(),
                }
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
            Err(TokenError::UnknownKey)
                if self.config.jwks_url.is_some()
                    && self.jwks_fetched.get() != JwksFetch::Confirmed =>
            {
                Msg::Failed {
                    id,
                    code: "network",
                    failure: Failure::Transient,
                }
            }
            // The service answered with a token we cannot trust (wrong keys or issuer
            // configured, or a token for another consent): retrying will not fix it.
            _ => Msg::Failed {
                id,
                code: "invalid_token",
                failure: Failure::Unusable,
            },
        }
    }

    /// Verifies a token against the configured keys and those fetched from `jwksUrl`.
    ///
    /// Only keys that came from the network are trusted: the inline `jwks` of the config, and
    /// the set fetched from `jwksUrl`. A returning visitor's fetch is answered by the
    /// browser's HTTP cache (`cache: 'force-cache'`; the service sends `Cache-Control`), which
    /// no page script can write, unlike localStorage. A `kid` that is not in that copy makes
    /// the runtime ask the service itself (`cache: 'no-cache'`): at most two fetches a page.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] of the first failing check.
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let policy = self.config.policy_version;
        let check = |jwks: &Jwks| {
            let expected = Expected {
                issuer: &self.config.issuer,
                policy_digest: policy.digest,
                now: env::now_secs(),
            };
            token::verify(token, jwks, &expected)
        };
        let mut result = check(&self.jwks.borrow());
        while result == Err(TokenError::UnknownKey) && self.fetch_jwks().await {
            result = check(&self.jwks.borrow());
        }
        result.map(|claims| Verified {
            token: token.into(),
            claims,
        })
    }

    /// Fetches `jwksUrl` a step further than before on this page (first from the HTTP
    /// cache, then from the service) and adds its keys; `false` when there is no step left.
    async fn fetch_jwks(&self) -> bool {
        let Some(url) = self.config.jwks_url.as_deref() else {
            return false;
        };
        let cache = match self.jwks_fetched.get() {
            JwksFetch::None => web_sys::RequestCache::ForceCache,
            JwksFetch::Cached => web_sys::RequestCache::NoCache,
            JwksFetch::Confirmed | JwksFetch::Unreachable => return false,
        };
        let fetched = net::jwks(url, cache, self.config.net.timeout_ms).await;
        self.jwks_fetched.set(match (cache, &fetched) {
            (web_sys::RequestCache::ForceCache, _) => JwksFetch::Cached,
            (_, Ok(_)) => JwksFetch::Confirmed,
            (_, Err(_)) => JwksFetch::Unreachable,
        });
        if let Ok(fetched) = fetched {
            self.jwks.borrow_mut().keys.extend(fetched.keys);
        }
        // After a failed first step, the next asks the service itself.
        true
    }

    fn emit(&self, event: &Event) {
        let (name, detail) = self.event_detail(event);
        if matches!(event, Event::Ready { .. }) {
            self.ready.set(true);
        }
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
        let hooks: Vec<Hook> = self.hooks.borrow().clone();
        for hook in hooks {
            hook(self, event);
        }
        if let Event::Recorded { token, .. } = event {
            let waiters = core::mem::take(&mut *self.waiters.borrow_mut());
            let token = JsValue::from_str(token);
            for resolve in waiters {
                let _ = resolve.call1(&JsValue::NULL, &token);
            }
        }
        #[cfg(feature = "ui")]
        crate::dom::acceptance::on_event(self, event);
    }

    fn event_detail(&self, event: &Event) -> (&'static str, JsValue) {
        let detail = js_sys::Object::new();
        let name = match event {
            Event::Ready { categories } => {
                set(&detail, "categories", &categories_array(*categories));
                set(&detail, "status", &self.status().as_str().into());
                "ready"
            }
            Event::Change {
                categories,
                changed,
            } => {
                set(&detail, "categories", &categories_array(*categories));
                set(
                    &detail,
                    "changed",
                    &changed
                        .iter()
                        .map(|c| JsValue::from_str(c.as_str()))
                        .collect::<js_sys::Array>(),
                );
                "change"
            }
            Event::Recorded { token, consent_id } => {
                set(&detail, "token", &token.as_str().into());
                set(&detail, "consentId", &consent_id.as_str().into());
                "recorded"
            }
            Event::Error { code } => {
                set(&detail, "code", &(*code).into());
                set(
                    &detail,
                    "message",
                    &i18n::error_message(code, self.language()).into(),
                );
                "error"
            }
        };
        (name, detail.into())
    }

    fn render(&self) {
        #[cfg(feature = "ui")]
        crate::dom::render(self);
    }

    // ---- the Rust-side API ------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
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
            let (_, detail) = self.event_detail(&Event::Ready {
                categories: self.granted(),
            });
            let _ = handler.call1(&JsValue::NULL, &detail);
        }
        self.listeners.borrow_mut().push((name.into(), handler));
    }

    /// Removes a JS listener added with [`Runtime::on`].
    pub fn off(&self, name: &str, handler: &js_sys::Function) {
        self.listeners
            .borrow_mut()
            .retain(|(kind, f)| !(kind == name && f == handler));
    }

    /// A promise of the token once the service has recorded the choice in effect.
    pub fn when_recorded(&self) -> js_sys::Promise {
        if let (Status::Recorded, Some(token)) = (self.status(), self.controller.borrow().token()) {
            return js_sys::Promise::resolve(&JsValue::from_str(token));
        }
        js_sys::Promise::new(&mut |resolve, _| self.waiters.borrow_mut().push(resolve))
    }

    /// Waits for the token of the choice in effect (see [`Runtime::when_recorded`]).
    ///
    /// # Errors
    ///
    /// Never in practice: the promise only resolves.
    pub async fn recorded(&self) -> Result<String> {
        let token = JsFuture::from(self.when_recorded())
            .await
            .map_err(|_| SdkError::NotInitialized)?;
        Ok(token.as_string().unwrap_or_default())
    }

    /// Asks the visitor to accept the personal data policy (the modal with the unticked
    /// checkbox) and resolves with the recorded token once the service has signed it. A
    /// visitor whose recorded consent already includes acceptance gets the token at once.
    ///
    /// # Errors
    ///
    /// [`SdkError::Declined`] if the visitor closes the dialog without accepting;
    /// [`SdkError::AcceptancePending`] if they accepted and closed it before the service
    /// recorded it; [`SdkError::Unsupported`] in a build without the `ui` feature.
    pub async fn request_policy_acceptance(&self) -> Result<String> {
        {
            let state = self.controller.borrow();
            if let (Status::Recorded, true, Some(token)) =
                (state.status(), state.policy_accepted(), state.token())
            {
                return Ok(token.into());
            }
        }
        #[cfg(feature = "ui")]
        {
            let promise = crate::dom::acceptance::open(self);
            match JsFuture::from(promise).await {
                Ok(token) => Ok(token.as_string().unwrap_or_default()),
                // The dialog rejects with one of these two (see `acceptance::closed`).
                Err(err) => {
                    let code = js_sys::Reflect::get(&err, &"code".into()).ok().and_then(|c| c.as_string());
                    Err(if code.as_deref() == Some(SdkError::AcceptancePending.code()) {
                        SdkError::AcceptancePending
                    } else {
                        SdkError::Declined
                    })
                }
            }
        }
        #[cfg(not(feature = "ui"))]
        Err(SdkError::Unsupported(
            "the policy acceptance dialog (build with the ui feature)",
        ))
    }

    /// Opens the settings dialog (no-op without the `ui` feature).
    pub fn show_preferences(&self) {
        #[cfg(feature = "ui")]
        crate::dom::open(self, crate::dom::Kind::Preferences);
    }

    /// Opens the policy viewer (no-op without the `ui` feature).
    pub fn show_policy(&self) {
        #[cfg(feature = "ui")]
        crate::dom::open(self, crate::dom::Kind::Policy);
    }

    /// Shows the banner.
    pub fn show(&self) {
        self.dispatch(Msg::ShowBanner);
    }

    /// Hides the banner and any dialog.
    pub fn hide(&self) {
        #[cfg(feature = "ui")]
        crate::dom::close_all(self);
        self.dispatch(Msg::HideBanner);
    }

    /// Switches the interface language.
    pub fn set_language(&self, lang: Language) {
        self.dispatch(Msg::SetLanguage(lang));
        // The gates' placeholders speak the interface language too.
        if let Some(gates) = crate::gates::current() {
            gates.set_language(lang);
        }
    }

    /// Sends the pending choice again now.
    pub fn retry_now(&self) {
        self.dispatch(Msg::RetryNow);
    }
}

fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a data property on a plain object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// A JS array of category names.
pub fn categories_array(categories: Categories) -> js_sys::Array {
    categories
        .iter()
        .map(|c| JsValue::from_str(c.as_str()))
        .collect()
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
