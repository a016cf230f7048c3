//! The consent state machine: a [`Msg`] in, [`Effect`]s out.
//!
//! It touches no browser API, reads no clock and draws no random numbers: the runtime
//! passes ids and times in and carries the effects out (storage, network, DOM, events),
//! so every rule here is tested natively.
//!
//! The rules:
//! - a category is granted only by a token that verified against the service's keys, or by
//!   a choice made on this page (a click, or the page's own call of the API) while its
//!   record is in flight;
//! - a choice applies locally at once, rejections and grants alike, and is *pending* until
//!   the service returns the signed token; the pending request is persisted first, so a
//!   reload keeps it and retries it with the same id (the service's idempotency key);
//! - a pending choice read back on a later page load is a choice *to send*: it grants
//!   nothing (beyond what the stored token and the choice both grant) until the service
//!   signs it; one the service refuses (4xx other than 408 and 429) is dropped, the
//!   banner asks again and an `error` event tells the site;
//! - a new choice supersedes the stored token at once: a reload never resurrects a grant the
//!   visitor has just taken back;
//! - another tab's choice only ever restricts this tab ([`Msg::Follow`]) until its token,
//!   verified here, arrives; while a choice is in flight, only the token of that choice is
//!   adopted, not one of an older choice that happens to land later;
//! - a failed send is retried with exponential backoff, up to `max_attempts`; after that the
//!   choice stays pending (and persisted) until the next page load or an explicit retry.

use serde::{Deserialize, Serialize};
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{
    CategoryChoices, ConsentId, ConsentRequest, PolicyRef, Source, SubjectId, WithdrawRequest,
};
use vivus_consent_core::language::Language;
use vivus_consent_core::policy::PolicyVersion;
use vivus_consent_core::token::Claims;

/// Whether the visitor's choice is recorded by the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No choice yet (or the stored one was invalid): only necessary categories.
    None,
    /// A choice applies locally, but the service has not returned its token yet.
    Pending,
    /// The service recorded the choice and the token verified.
    Recorded,
}

impl Status {
    /// `"none"`, `"pending"` or `"recorded"`, as `state().status` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Pending => "pending",
            Status::Recorded => "recorded",
        }
    }
}

/// A token that passed verification, with its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The compact JWS.
    pub token: String,
    /// Its verified claims.
    pub claims: Claims,
}

/// A choice an earlier page stored and the service has not recorded yet, as read back: its
/// id, whether it accepts the policy, and its JSON text, which is sent as it is (the service
/// checks it; the runtime never needs the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChoice {
    /// Its consent id (the service's idempotency key).
    pub id: ConsentId,
    /// Whether it accepts the personal data policy.
    pub policy_accepted: bool,
    /// What it grants (another tab restricts itself to it until its token arrives).
    pub granted: Categories,
    /// The `ConsentRequest` JSON as stored.
    pub text: String,
}

/// A choice the service has not recorded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrecorded {
    /// Made on this page.
    Made(ConsentRequest),
    /// Stored by an earlier page.
    Stored(StoredChoice),
}

impl Unrecorded {
    /// Its consent id.
    pub fn id(&self) -> &ConsentId {
        match self {
            Unrecorded::Made(request) => &request.id,
            Unrecorded::Stored(stored) => &stored.id,
        }
    }
}

/// Another tab's choice in flight, as its message says: only ever a restriction here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TabChoice {
    /// Its consent id: the token this tab then waits for.
    pub id: ConsentId,
    /// What it grants.
    pub granted: Categories,
    /// Whether it accepts the policy.
    pub policy_accepted: bool,
}

/// A visitor's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// A fresh consent id for this decision.
    pub id: ConsentId,
    /// The categories granted (necessary is always in).
    pub categories: Categories,
    /// The policy acceptance; `None` keeps the current one.
    pub policy_accepted: Option<bool>,
    /// Where the decision was made.
    pub source: Source,
}

/// A withdrawal on its way to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The consent withdrawn from: the recorded token's `jti`.
    pub of: ConsentId,
    /// That token, which authorizes the withdrawal.
    pub token: String,
    /// The request body.
    pub request: WithdrawRequest,
}

/// An input to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The page loaded: the stored token if it verified, and a stored pending request.
    Start {
        /// The stored token, verified; `None` if missing or invalid.
        verified: Option<Verified>,
        /// A choice a previous page made that the service has not recorded.
        pending: Option<StoredChoice>,
        /// Whether to show the banner when there is no consent (`ui.autoShow`, not a bot).
        show_banner: bool,
    },
    /// The visitor (or the page, through the API) decided.
    Choose(Choice),
    /// The service recorded a choice and its token verified.
    Recorded {
        /// The consent id the token is for.
        id: ConsentId,
        /// The token.
        verified: Verified,
        /// The current time, seconds since the epoch.
        now: u64,
    },
    /// Sending a choice failed.
    Failed {
        /// The consent id that was sent.
        id: ConsentId,
        /// The error code (`SdkError::code`).
        code: &'static str,
        /// What kind of failure, which decides what happens to the choice.
        failure: Failure,
    },
    /// A scheduled retry is due.
    Retry {
        /// The consent id to send again; stale retries are ignored.
        id: ConsentId,
    },
    /// Send the pending choice again now (the visitor pressed "retry").
    RetryNow,
    /// A token recorded elsewhere (another tab) verified. Adopted when it is the token of
    /// the choice this tab waits for, when this tab follows another tab's choice and the
    /// storage holds no choice in flight any more, or, with nothing in flight, when it is
    /// not older than the token in effect.
    Adopt(Verified),
    /// A choice another tab made and has not recorded yet. It is not taken on the other
    /// tab's word: it only *restricts* this tab (what both grant stays granted), which then
    /// waits for its token. A forged message can take grants away, never add one.
    Follow(TabChoice),
    /// The consent no longer holds (the token expired or failed verification later).
    Revoke,
    /// The recorded token `id` reached its expiry while the page stayed open: it no longer
    /// grants anything. Stale when another consent has been chosen or recorded since.
    Expire {
        /// The consent id of the token that expired.
        id: ConsentId,
    },
    /// Withdraw optional categories (all of them with `None`). With a recorded token it is
    /// sent as a withdrawal of that consent (`POST <endpoint>/<jti>/withdraw`); the same
    /// decision is also kept as a pending consent request under `fallback_id`, which is what
    /// a reload or a refused withdrawal sends instead.
    Withdraw {
        /// The withdrawal's own consent id (its idempotency key).
        id: ConsentId,
        /// The id of the equivalent consent request.
        fallback_id: ConsentId,
        /// The optional categories withdrawn; `None` for all of them.
        categories: Option<Vec<Category>>,
    },
    /// Show the banner.
    ShowBanner,
    /// Hide the banner.
    HideBanner,
    /// Switch the interface language.
    SetLanguage(Language),
}

/// How sending a choice failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Network trouble, a timeout, 5xx, 408 or 429: trying again later can help.
    Transient,
    /// An answer that is none (not JSON, no token, a token that does not verify): the choice
    /// is kept but not sent again on this page; the next page load tries again.
    Unusable,
    /// The service refused the choice (any other 4xx): it is dropped.
    Refused,
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The visible state (banner, language) changed: render it.
    Render,
    /// Persist a pending request (localStorage `vivus_consent_pending`).
    PersistPending(ConsentRequest),
    /// Remove the stored pending request if it is still the one with this id: another tab
    /// may have stored a newer choice meanwhile, which must survive.
    ClearPending(ConsentId),
    /// `POST` the choice to the service.
    Send(Unrecorded),
    /// `POST` the withdrawal to the service, authorized by the withdrawn consent's token.
    SendWithdrawal(Withdrawal),
    /// Dispatch [`Msg::Retry`] after a delay.
    ScheduleRetry {
        /// The consent id to retry.
        id: ConsentId,
        /// The delay in milliseconds.
        delay_ms: u32,
    },
    /// Dispatch [`Msg::Expire`] at `at` (seconds since the epoch), when the token expires.
    ScheduleExpiry {
        /// The consent id of the token.
        id: ConsentId,
        /// The token's `exp`.
        at: u64,
    },
    /// Store the token (cookie and localStorage) for `max_age` seconds.
    StoreToken {
        /// The compact JWS.
        token: String,
        /// Seconds until it expires.
        max_age: u64,
    },
    /// Remove the stored token.
    ClearToken,
    /// Persist the subject id.
    StoreSubject(SubjectId),
    /// Notify listeners.
    Emit(Event),
}

/// A notification for listeners (`on()`, `CustomEvent`s, the gates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The state is known after load.
    Ready {
        /// The categories in effect.
        categories: Categories,
    },
    /// The visitor chose, or consent was revoked; `changed` lists the categories that flipped
    /// (it may be empty when a choice confirms the state in effect).
    Change {
        /// The categories in effect now.
        categories: Categories,
        /// Those whose state changed.
        changed: Vec<Category>,
    },
    /// The service recorded the choice.
    Recorded {
        /// The signed token.
        token: String,
        /// Its consent id.
        consent_id: ConsentId,
    },
    /// Recording failed (it may be retried).
    Error {
        /// The error code.
        code: &'static str,
    },
    /// The interface language changed (the gates' placeholders follow it; no JS event).
    Language {
        /// The new language.
        lang: Language,
    },
}

/// Retry timing for sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Sends per choice before giving up until the next load.
    pub max_attempts: u32,
    /// The first delay in milliseconds; doubled each time.
    pub base_ms: u32,
}

impl Backoff {
    /// The longest delay between two attempts.
    pub const MAX_DELAY_MS: u32 = 60_000;

    /// The delay before attempt `failed + 1`, after `failed` failures (≥ 1).
    pub fn delay(self, failed: u32) -> u32 {
        let factor = 1u32
            .checked_shl(failed.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_ms.saturating_mul(factor).min(Self::MAX_DELAY_MS)
    }
}

/// The consent state and its rules.
#[derive(Debug, Clone)]
pub struct Controller {
    policy: PolicyVersion,
    lang: Language,
    subject: SubjectId,
    backoff: Backoff,
    gpc: bool,
    granted: Categories,
    policy_accepted: bool,
    status: Status,
    consent_id: Option<ConsentId>,
    token: Option<String>,
    issued_at: Option<u64>,
    expires_at: Option<u64>,
    pending: Option<Unrecorded>,
    withdrawal: Option<Withdrawal>,
    /// The choice in flight is another tab's ([`Msg::Follow`]): it sends it, this tab waits.
    following: bool,
    failures: u32,
    banner: bool,
}

impl Controller {
    /// A controller with no consent, before [`Msg::Start`].
    pub fn new(
        policy: PolicyVersion,
        lang: Language,
        subject: SubjectId,
        backoff: Backoff,
        gpc: bool,
    ) -> Self {
        Controller {
            policy,
            lang,
            subject,
            backoff,
            gpc,
            granted: Categories::new(),
            policy_accepted: false,
            status: Status::None,
            consent_id: None,
            token: None,
            issued_at: None,
            expires_at: None,
            pending: None,
            withdrawal: None,
            following: false,
            failures: 0,
            banner: false,
        }
    }

    /// Applies a message and returns what to do, in order.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut fx = Vec::new();
        match msg {
            Msg::Start {
                verified,
                pending,
                show_banner,
            } => self.start(verified, pending, show_banner, &mut fx),
            Msg::Choose(choice) => self.choose(choice, &mut fx),
            Msg::Recorded { id, verified, now } => {
                if self.is_in_flight(&id) {
                    if let Some(pending) = self.pending.take() {
                        fx.push(Effect::ClearPending(pending.id().clone()));
                    }
                    self.withdrawal = None;
                    self.failures = 0;
                    let max_age = verified.claims.exp.saturating_sub(now);
                    fx.push(Effect::StoreToken {
                        token: verified.token.clone(),
                        max_age,
                    });
                    let before = self.granted;
                    self.adopt(verified);
                    if before != self.granted {
                        fx.push(self.change_event(before));
                    }
                    if let Some(token) = self.token.clone() {
                        fx.push(Effect::Emit(Event::Recorded {
                            token,
                            consent_id: id,
                        }));
                    }
                    fx.extend(self.expiry());
                }
            }
            Msg::Failed { id, code, failure } => {
                if self.is_in_flight(&id) {
                    self.failures += 1;
                    if failure == Failure::Transient {
                        fx.push(Effect::Emit(Event::Error { code }));
                        if self.failures < self.backoff.max_attempts {
                            fx.push(Effect::ScheduleRetry {
                                id,
                                delay_ms: self.backoff.delay(self.failures),
                            });
                        }
                    } else if self.withdrawal.take().is_some() && self.pending.is_some() {
                        // The service would not take the withdrawal (the token was superseded,
                        // for instance): record the same decision as a plain consent.
                        fx.push(Effect::Emit(Event::Error { code }));
                        if let Some(pending) = &self.pending {
                            self.consent_id = Some(pending.id().clone());
                            self.failures = 0;
                            fx.push(Effect::Send(pending.clone()));
                        }
                    } else if failure == Failure::Refused {
                        self.refused(code, &mut fx);
                    } else {
                        fx.push(Effect::Emit(Event::Error { code }));
                    }
                }
            }
            Msg::Retry { id } => {
                if self.is_in_flight(&id) {
                    fx.extend(self.send_effect());
                }
            }
            Msg::RetryNow => {
                self.failures = 0;
                fx.extend(self.send_effect());
            }
            Msg::Withdraw {
                id,
                fallback_id,
                categories,
            } => {
                let mut remaining = self.granted;
                match &categories {
                    Some(list) => list.iter().for_each(|c| {
                        remaining.remove(*c);
                    }),
                    None => remaining = Categories::new(),
                }
                let recorded = match (self.status, &self.token, &self.consent_id) {
                    (Status::Recorded, Some(token), Some(of)) => Some((token.clone(), of.clone())),
                    _ => None,
                };
                let choice = Choice {
                    id: fallback_id,
                    categories: remaining,
                    policy_accepted: None,
                    source: Source::Api,
                };
                self.choose(choice, &mut fx);
                if let Some((token, of)) = recorded {
                    // Recorded consent is withdrawn as such, so the ledger keeps a withdrawal
                    // pointing at it rather than an unrelated new consent.
                    fx.retain(|e| !matches!(e, Effect::Send(_)));
                    let withdrawal = Withdrawal {
                        of,
                        token,
                        request: WithdrawRequest {
                            id: id.clone(),
                            categories,
                            policy_acceptance: false,
                        },
                    };
                    self.consent_id = Some(id);
                    fx.push(Effect::SendWithdrawal(withdrawal.clone()));
                    self.withdrawal = Some(withdrawal);
                }
            }
            Msg::Adopt(verified) => {
                let adopt = match self.status {
                    // Waiting for another tab's choice: its outcome, whatever its id.
                    Status::Pending if self.following => true,
                    // Our own choice is in flight: only its token, never an older one that
                    // lands later.
                    Status::Pending => self.consent_id.as_ref() == Some(&verified.claims.jti),
                    Status::Recorded | Status::None => {
                        self.issued_at.is_none_or(|iat| verified.claims.iat >= iat)
                    }
                };
                if adopt && self.token.as_deref() != Some(&verified.token) {
                    let before = self.granted;
                    // The stored pending copy, if it is ours, is recorded now (the other tab
                    // sent the same request).
                    if let Some(pending) = self.pending.take() {
                        fx.push(Effect::ClearPending(pending.id().clone()));
                    }
                    self.withdrawal = None;
                    self.following = false;
                    self.failures = 0;
                    self.adopt(verified);
                    self.banner = false;
                    fx.push(Effect::Render);
                    fx.push(self.change_event(before));
                    fx.extend(self.expiry());
                }
            }
            Msg::Follow(choice) => {
                if self.consent_id.as_ref() != Some(&choice.id) {
                    let before = self.granted;
                    // What both grant stays granted: the other tab's word can only restrict.
                    let mut granted = Categories::new();
                    for category in Category::OPTIONAL {
                        if before.contains(category) && choice.granted.contains(category) {
                            granted.insert(category);
                        }
                    }
                    self.granted = granted;
                    self.policy_accepted = self.policy_accepted && choice.policy_accepted;
                    self.consent_id = Some(choice.id);
                    self.status = Status::Pending;
                    self.token = None;
                    self.issued_at = None;
                    self.expires_at = None;
                    self.failures = 0;
                    // Not ours to send: the tab that made it does, with its id.
                    self.pending = None;
                    self.withdrawal = None;
                    self.following = true;
                    self.banner = false;
                    fx.push(Effect::Render);
                    fx.push(self.change_event(before));
                }
            }
            Msg::Expire { id } => {
                if self.status == Status::Recorded && self.consent_id.as_ref() == Some(&id) {
                    return self.update(Msg::Revoke);
                }
            }
            Msg::Revoke => {
                let before = self.granted;
                if let Some(pending) = &self.pending {
                    fx.push(Effect::ClearPending(pending.id().clone()));
                }
                self.reset();
                fx.push(Effect::ClearToken);
                self.banner = true;
                fx.push(Effect::Render);
                fx.push(self.change_event(before));
            }
            Msg::ShowBanner | Msg::HideBanner => {
                self.banner = matches!(msg, Msg::ShowBanner);
                fx.push(Effect::Render);
            }
            Msg::SetLanguage(lang) => {
                self.lang = lang;
                fx.push(Effect::Render);
                fx.push(Effect::Emit(Event::Language { lang }));
            }
        }
        fx
    }

    fn start(
        &mut self,
        verified: Option<Verified>,
        pending: Option<StoredChoice>,
        show: bool,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(verified) = verified {
            if verified.claims.sub != self.subject {
                fx.push(Effect::StoreSubject(verified.claims.sub.clone()));
            }
            self.adopt(verified);
        }
        match pending {
            // The page that made the choice closed after the service recorded it but before
            // it could clear the pending copy: the token already says it.
            Some(p) if self.consent_id.as_ref() == Some(&p.id) => {
                fx.push(Effect::ClearPending(p.id));
            }
            Some(p) => {
                // A choice to send, not a grant: until the service signs it (it refuses one
                // for another policy, or one a script wrote refusing the necessary category),
                // nothing optional stays granted, so no tag runs on its word.
                self.granted = Categories::new();
                self.policy_accepted = p.policy_accepted;
                self.consent_id = Some(p.id.clone());
                self.status = Status::Pending;
                // The pending choice is newer than the stored token, which no longer says
                // what the visitor chose (as when the choice was made).
                if self.token.take().is_some() {
                    self.issued_at = None;
                    self.expires_at = None;
                    fx.push(Effect::ClearToken);
                }
                let p = Unrecorded::Stored(p);
                fx.push(Effect::Send(p.clone()));
                self.pending = Some(p);
            }
            None => {}
        }
        if self.status == Status::None && show {
            self.banner = true;
            fx.push(Effect::Render);
        }
        fx.extend(self.expiry());
        fx.push(Effect::Emit(Event::Ready {
            categories: self.granted,
        }));
    }

    fn choose(&mut self, choice: Choice, fx: &mut Vec<Effect>) {
        let before = self.granted;
        let mut categories = choice.categories;
        categories.insert(Category::Necessary);
        self.policy_accepted = choice.policy_accepted.unwrap_or(self.policy_accepted);
        let request = ConsentRequest {
            id: choice.id.clone(),
            subject: self.subject.clone(),
            policy: PolicyRef {
                version: self.policy.id.into(),
                digest: self.policy.digest.into(),
            },
            language: self.lang,
            categories: CategoryChoices {
                necessary: true,
                analytics: categories.contains(Category::Analytics),
                marketing: categories.contains(Category::Marketing),
            },
            policy_accepted: self.policy_accepted,
            source: choice.source,
            gpc: self.gpc,
        };
        self.granted = categories;
        self.status = Status::Pending;
        self.consent_id = Some(choice.id);
        self.withdrawal = None;
        self.following = false;
        self.failures = 0;
        self.banner = false;
        fx.push(Effect::PersistPending(request.clone()));
        if self.token.take().is_some() {
            self.issued_at = None;
            self.expires_at = None;
            fx.push(Effect::ClearToken);
        }
        fx.push(Effect::Render);
        fx.push(self.change_event(before));
        fx.push(Effect::Send(Unrecorded::Made(request.clone())));
        self.pending = Some(Unrecorded::Made(request));
    }

    fn adopt(&mut self, verified: Verified) {
        let claims = verified.claims;
        self.granted = claims.cat;
        self.policy_accepted = claims.pa;
        self.subject = claims.sub;
        self.consent_id = Some(claims.jti);
        self.issued_at = Some(claims.iat);
        self.expires_at = Some(claims.exp);
        self.token = Some(verified.token);
        self.status = Status::Recorded;
    }

    /// The timer for the recorded token's expiry: a page left open past it must stop
    /// treating the token as consent.
    fn expiry(&self) -> Option<Effect> {
        match (self.status, &self.consent_id, self.expires_at) {
            (Status::Recorded, Some(id), Some(at)) => {
                Some(Effect::ScheduleExpiry { id: id.clone(), at })
            }
            _ => None,
        }
    }

    fn reset(&mut self) {
        self.granted = Categories::new();
        self.policy_accepted = false;
        self.status = Status::None;
        self.consent_id = None;
        self.token = None;
        self.issued_at = None;
        self.expires_at = None;
        self.pending = None;
        self.withdrawal = None;
        self.following = false;
        self.failures = 0;
    }

    /// The service refused the choice in flight for good: it is dropped (here and in the
    /// storage), nothing it granted stays granted, the banner asks again and the site is
    /// told why.
    fn refused(&mut self, code: &'static str, fx: &mut Vec<Effect>) {
        let before = self.granted;
        if let Some(pending) = &self.pending {
            fx.push(Effect::ClearPending(pending.id().clone()));
        }
        self.reset();
        self.banner = true;
        fx.push(Effect::Render);
        if before != self.granted {
            fx.push(self.change_event(before));
        }
        fx.push(Effect::Emit(Event::Error { code }));
    }

    /// Whether `id` is the choice or withdrawal being recorded.
    fn is_in_flight(&self, id: &ConsentId) -> bool {
        self.withdrawal
            .as_ref()
            .is_some_and(|w| w.request.id == *id)
            || self.pending.as_ref().is_some_and(|p| p.id() == id)
    }

    /// Sends what is in flight: the withdrawal if there is one, else the pending request.
    fn send_effect(&self) -> Option<Effect> {
        match (&self.withdrawal, &self.pending) {
            (Some(w), _) => Some(Effect::SendWithdrawal(w.clone())),
            (None, Some(p)) => Some(Effect::Send(p.clone())),
            (None, None) => None,
        }
    }

    fn change_event(&self, before: Categories) -> Effect {
        let changed = Category::OPTIONAL
            .into_iter()
            .filter(|c| before.contains(*c) != self.granted.contains(*c))
            .collect();
        Effect::Emit(Event::Change {
            categories: self.granted,
            changed,
        })
    }

    /// Whether the choice is recorded, pending or absent.
    pub fn status(&self) -> Status {
        self.status
    }
    /// The categories in effect.
    pub fn granted(&self) -> Categories {
        self.granted
    }
    /// Whether the visitor accepted the personal data policy (pending or recorded).
    pub fn policy_accepted(&self) -> bool {
        self.policy_accepted
    }
    /// The id of the choice in effect.
    pub fn consent_id(&self) -> Option<&ConsentId> {
        self.consent_id.as_ref()
    }
    /// The visitor's pseudonymous id.
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
    /// The recorded token, if the choice in effect is recorded.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
    /// When the token was issued (seconds since the epoch).
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }
    /// When the token expires (seconds since the epoch).
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
    /// The choice waiting to be recorded.
    pub fn pending(&self) -> Option<&Unrecorded> {
        self.pending.as_ref()
    }
    /// The withdrawal being recorded, if any.
    pub fn withdrawal(&self) -> Option<&Withdrawal> {
        self.withdrawal.as_ref()
    }
    /// Whether the banner should be visible.
    pub fn banner_visible(&self) -> bool {
        self.banner
    }
    /// The interface language.
    pub fn language(&self) -> Language {
        self.lang
    }
    /// Whether the browser sent Global Privacy Control.
    pub fn gpc(&self) -> bool {
        self.gpc
    }
    /// The policy version asked for.
    pub fn policy(&self) -> PolicyVersion {
        self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vivus_consent_core::policy;

    fn id(n: u8) -> ConsentId {
        ConsentId::from_bytes([n; 16])
    }
    fn subject() -> SubjectId {
        SubjectId::from_bytes([9; 16])
    }
    fn controller() -> Controller {
        Controller::new(
            policy::CURRENT,
            Language::Kk,
            subject(),
            Backoff {
                max_attempts: 3,
                base_ms: 100,
            },
            false,
        )
    }
    fn verified(jti: u8, cat: Categories, iat: u64) -> Verified {
        Verified {
            token: String::from("token-") + &jti.to_string(),
            claims: Claims {
                iss: "vivus-consent".into(),
                sub: subject(),
                jti: id(jti),
                iat,
                exp: iat + 1000,
                pv: policy::CURRENT.id.into(),
                pd: policy::CURRENT.digest.into(),
                lang: Language::Kk,
                cat,
                pa: false,
            },
        }
    }
    fn choose(c: &mut Controller, n: u8, cats: Categories) -> Vec<Effect> {
        c.update(Msg::Choose(Choice {
            id: id(n),
            categories: cats,
            policy_accepted: None,
            source: Source::Banner,
        }))
    }
    fn marketing() -> Categories {
        [Category::Marketing].into_iter().collect()
    }
    /// Another tab's message about its choice.
    fn follow(request: &ConsentRequest) -> TabChoice {
        TabChoice {
            id: request.id.clone(),
            granted: request.granted(),
            policy_accepted: request.policy_accepted,
        }
    }
    /// A request as an earlier page stored it and this one reads it back.
    fn stored(request: &ConsentRequest) -> StoredChoice {
        StoredChoice {
            id: request.id.clone(),
            policy_accepted: request.policy_accepted,
            granted: request.granted(),
            text: serde_json::to_string(request).expect("json"),
        }
    }

    #[test]
    fn first_visit_shows_the_banner_and_grants_nothing() {
        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: true,
        });
        assert_eq!(
            fx,
            [
                Effect::Render,
                Effect::Emit(Event::Ready {
                    categories: Categories::new()
                })
            ]
        );
        assert!(c.banner_visible());
        assert_eq!(c.status(), Status::None);
    }

    #[test]
    fn bots_and_auto_show_off_get_no_banner() {
        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: false,
        });
        assert_eq!(
            fx,
            [Effect::Emit(Event::Ready {
                categories: Categories::new()
            })]
        );
        assert!(!c.banner_visible());
    }

    #[test]
    fn a_valid_token_restores_the_choice_without_banner() {
        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: Some(verified(1, marketing(), 10)),
            pending: None,
            show_banner: true,
        });
        assert_eq!(
            fx,
            [
                Effect::ScheduleExpiry {
                    id: id(1),
                    at: 1010
                },
                Effect::Emit(Event::Ready {
                    categories: marketing()
                })
            ]
        );
        assert_eq!(c.status(), Status::Recorded);
        assert_eq!(c.token(), Some("token-1"));
        assert_eq!(c.expires_at(), Some(1010));
        assert!(!c.banner_visible());
    }

    #[test]
    fn a_choice_applies_at_once_is_persisted_then_sent() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: true,
        });
        let fx = choose(&mut c, 2, Categories::all());
        let Effect::PersistPending(request) = &fx[0] else {
            panic!("persist first: {fx:?}")
        };
        assert_eq!(request.id, id(2));
        assert_eq!(request.language, Language::Kk);
        assert!(
            request.categories.analytics
                && request.categories.marketing
                && request.categories.necessary
        );
        assert!(!request.policy_accepted);
        assert_eq!(request.policy.digest, policy::CURRENT.digest);
        assert_eq!(
            &fx[1..],
            [
                Effect::Render,
                Effect::Emit(Event::Change {
                    categories: Categories::all(),
                    changed: vec![Category::Analytics, Category::Marketing]
                }),
                Effect::Send(Unrecorded::Made(request.clone())),
            ]
        );
        assert_eq!(c.status(), Status::Pending);
        assert!(c.granted().contains(Category::Marketing));
        assert!(!c.banner_visible());
    }

    #[test]
    fn recording_stores_the_token_and_emits_recorded() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: true,
        });
        choose(&mut c, 3, marketing());
        let fx = c.update(Msg::Recorded {
            id: id(3),
            verified: verified(3, marketing(), 100),
            now: 150,
        });
        assert_eq!(
            fx,
            [
                Effect::ClearPending(id(3)),
                Effect::StoreToken {
                    token: "token-3".into(),
                    max_age: 950
                },
                Effect::Emit(Event::Recorded {
                    token: "token-3".into(),
                    consent_id: id(3)
                }),
                Effect::ScheduleExpiry {
                    id: id(3),
                    at: 1100
                },
            ]
        );
        assert_eq!(c.status(), Status::Recorded);
        assert!(c.pending().is_none());
    }

    #[test]
    fn a_new_choice_clears_the_old_token_so_a_reload_cannot_restore_a_revoked_grant() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(1, Categories::all(), 10)),
            pending: None,
            show_banner: true,
        });
        let fx = choose(&mut c, 4, Categories::new());
        assert!(fx.contains(&Effect::ClearToken));
        assert_eq!(c.token(), None);
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: Categories::new(),
            changed: vec![Category::Analytics, Category::Marketing]
        })));
    }

    #[test]
    fn failures_back_off_exponentially_and_stop_after_max_attempts() {
        let mut c = controller();
        choose(&mut c, 5, marketing());
        let fail = Msg::Failed {
            id: id(5),
            code: "network",
            failure: Failure::Transient,
        };
        let fx = c.update(fail.clone());
        assert_eq!(
            fx,
            [
                Effect::Emit(Event::Error { code: "network" }),
                Effect::ScheduleRetry {
                    id: id(5),
                    delay_ms: 100
                }
            ]
        );
        assert!(
            matches!(c.update(Msg::Retry { id: id(5) })[..], [Effect::Send(ref r)] if *r.id() == id(5))
        );
        assert_eq!(
            c.update(fail.clone())[1],
            Effect::ScheduleRetry {
                id: id(5),
                delay_ms: 200
            }
        );
        // The third failure reaches max_attempts: report it, stop retrying, stay pending.
        assert_eq!(
            c.update(fail),
            [Effect::Emit(Event::Error { code: "network" })]
        );
        assert_eq!(c.status(), Status::Pending);
        // A manual retry starts over.
        assert!(matches!(c.update(Msg::RetryNow)[..], [Effect::Send(_)]));
    }

    #[test]
    fn a_refused_choice_is_dropped_grants_nothing_and_the_banner_asks_again() {
        let mut c = controller();
        choose(&mut c, 6, marketing());
        assert_eq!(
            c.update(Msg::Failed {
                id: id(6),
                code: "rejected",
                failure: Failure::Refused
            }),
            [
                Effect::ClearPending(id(6)),
                Effect::Render,
                Effect::Emit(Event::Change {
                    categories: Categories::new(),
                    changed: vec![Category::Marketing]
                }),
                Effect::Emit(Event::Error { code: "rejected" })
            ]
        );
        assert_eq!(c.status(), Status::None);
        assert_eq!(c.granted(), Categories::new());
        assert!(c.pending().is_none());
        assert!(c.banner_visible());
    }

    #[test]
    fn stale_messages_are_ignored() {
        let mut c = controller();
        choose(&mut c, 6, marketing());
        choose(&mut c, 7, Categories::new());
        assert!(c.update(Msg::Retry { id: id(6) }).is_empty());
        assert!(c
            .update(Msg::Failed {
                id: id(6),
                code: "network",
                failure: Failure::Transient
            })
            .is_empty());
        assert!(c
            .update(Msg::Recorded {
                id: id(6),
                verified: verified(6, marketing(), 1),
                now: 2
            })
            .is_empty());
        assert_eq!(c.status(), Status::Pending);
        assert_eq!(c.granted(), Categories::new());
    }

    #[test]
    fn a_pending_choice_survives_a_reload_and_is_resent_with_its_id() {
        let mut first = controller();
        let fx = choose(&mut first, 8, marketing());
        let Effect::PersistPending(request) = fx[0].clone() else {
            panic!()
        };

        let mut reloaded = controller();
        let fx = reloaded.update(Msg::Start {
            verified: None,
            pending: Some(stored(&request)),
            show_banner: true,
        });
        // Sent again, but it grants nothing until the service has signed it.
        assert_eq!(
            fx,
            [
                Effect::Send(Unrecorded::Stored(stored(&request))),
                Effect::Emit(Event::Ready {
                    categories: Categories::new()
                })
            ]
        );
        assert_eq!(reloaded.status(), Status::Pending);
        assert!(!reloaded.banner_visible());
        let fx = reloaded.update(Msg::Recorded {
            id: id(8),
            verified: verified(8, marketing(), 100),
            now: 150,
        });
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: marketing(),
            changed: vec![Category::Marketing]
        })));
        assert_eq!(reloaded.granted(), marketing());
    }

    #[test]
    fn a_reloaded_choice_the_service_refuses_never_granted_and_is_dropped() {
        let mut first = controller();
        let Effect::PersistPending(request) = choose(&mut first, 8, Categories::all())[0].clone()
        else {
            panic!()
        };
        let mut reloaded = controller();
        reloaded.update(Msg::Start {
            verified: None,
            pending: Some(stored(&request)),
            show_banner: true,
        });
        assert_eq!(reloaded.granted(), Categories::new());
        // The service answers other_policy (a choice made under an older text): dropped.
        let fx = reloaded.update(Msg::Failed {
            id: id(8),
            code: "other_policy",
            failure: Failure::Refused,
        });
        assert_eq!(
            fx,
            [
                Effect::ClearPending(id(8)),
                Effect::Render,
                Effect::Emit(Event::Error {
                    code: "other_policy"
                })
            ]
        );
        assert_eq!(reloaded.status(), Status::None);
        assert!(reloaded.banner_visible());
    }

    #[test]
    fn a_stored_choice_is_sent_as_stored_and_a_refusal_drops_it() {
        let mut first = controller();
        let Effect::PersistPending(mut request) =
            choose(&mut first, 8, Categories::all())[0].clone()
        else {
            panic!()
        };
        // What a script could write: refusing the necessary category. The runtime does not
        // judge it; the service refuses it, and it is dropped having granted nothing.
        request.categories.necessary = false;
        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: None,
            pending: Some(stored(&request)),
            show_banner: true,
        });
        assert_eq!(fx[0], Effect::Send(Unrecorded::Stored(stored(&request))));
        assert_eq!(c.granted(), Categories::new());
        c.update(Msg::Failed {
            id: id(8),
            code: "rejected",
            failure: Failure::Refused,
        });
        assert_eq!(c.status(), Status::None);
        assert_eq!(c.granted(), Categories::new());
        assert!(c.banner_visible());
    }

    #[test]
    fn a_pending_choice_already_recorded_is_dropped() {
        let mut first = controller();
        let Effect::PersistPending(request) = choose(&mut first, 9, marketing())[0].clone() else {
            panic!()
        };

        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: Some(verified(9, marketing(), 10)),
            pending: Some(stored(&request)),
            show_banner: true,
        });
        assert_eq!(fx[0], Effect::ClearPending(id(9)));
        assert_eq!(c.status(), Status::Recorded);
    }

    #[test]
    fn a_pending_choice_newer_than_the_stored_token_supersedes_it() {
        let mut first = controller();
        let Effect::PersistPending(request) = choose(&mut first, 12, Categories::new())[0].clone()
        else {
            panic!()
        };
        let mut c = controller();
        let fx = c.update(Msg::Start {
            verified: Some(verified(1, Categories::all(), 10)),
            pending: Some(stored(&request)),
            show_banner: true,
        });
        assert_eq!(fx[0], Effect::ClearToken);
        assert_eq!(fx[1], Effect::Send(Unrecorded::Stored(stored(&request))));
        assert_eq!(c.status(), Status::Pending);
        assert_eq!(c.granted(), Categories::new(), "the newer refusal wins");
        assert_eq!(c.token(), None);
        assert_eq!(c.expires_at(), None);
    }

    #[test]
    fn policy_acceptance_is_kept_unless_the_choice_sets_it() {
        let mut c = controller();
        c.update(Msg::Choose(Choice {
            id: id(10),
            categories: Categories::new(),
            policy_accepted: Some(true),
            source: Source::Form,
        }));
        assert!(c.policy_accepted());
        let fx = choose(&mut c, 11, Categories::all());
        let Effect::PersistPending(request) = &fx[0] else {
            panic!()
        };
        assert!(request.policy_accepted);
    }

    #[test]
    fn revoke_and_adopt() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(1, Categories::all(), 10)),
            pending: None,
            show_banner: true,
        });
        let fx = c.update(Msg::Revoke);
        assert!(fx.contains(&Effect::ClearToken));
        assert_eq!(c.granted(), Categories::new());
        assert!(c.banner_visible());

        let fx = c.update(Msg::Adopt(verified(2, marketing(), 20)));
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: marketing(),
            changed: vec![Category::Marketing]
        })));
        assert!(!c.banner_visible());
        // An older token from another tab does not win.
        assert!(c
            .update(Msg::Adopt(verified(3, Categories::all(), 15)))
            .is_empty());
    }

    /// A page started with a valid stored token `jti` granting marketing (exp 1010).
    fn restored_with_marketing(jti: u8) -> Controller {
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(jti, marketing(), 10)),
            pending: None,
            show_banner: true,
        });
        c
    }

    #[test]
    fn a_token_that_expires_while_the_page_is_open_stops_granting() {
        let mut c = restored_with_marketing(1);
        let fx = c.update(Msg::Expire { id: id(1) });
        assert!(fx.contains(&Effect::ClearToken));
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: Categories::new(),
            changed: vec![Category::Marketing]
        })));
        assert_eq!(c.status(), Status::None);
        assert_eq!(c.token(), None);
        assert!(c.banner_visible(), "the visitor is asked again");
    }

    #[test]
    fn the_expiry_of_a_replaced_token_changes_nothing() {
        let mut c = restored_with_marketing(1);
        // Chosen again: the old token's timer is stale, while pending and once recorded.
        choose(&mut c, 2, Categories::all());
        assert!(c.update(Msg::Expire { id: id(1) }).is_empty());
        c.update(Msg::Recorded {
            id: id(2),
            verified: verified(2, Categories::all(), 20),
            now: 30,
        });
        assert!(c.update(Msg::Expire { id: id(1) }).is_empty());
        assert_eq!(c.status(), Status::Recorded);
        assert_eq!(c.granted(), Categories::all());
    }

    #[test]
    fn withdrawing_recorded_consent_sends_a_withdrawal_and_keeps_a_fallback() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(1, Categories::all(), 10)),
            pending: None,
            show_banner: true,
        });
        let fx = c.update(Msg::Withdraw {
            id: id(20),
            fallback_id: id(21),
            categories: Some(vec![Category::Marketing]),
        });
        // Applied at once, the old token dropped, the decision persisted under the fallback id.
        assert_eq!(
            c.granted(),
            [Category::Analytics].into_iter().collect::<Categories>()
        );
        assert_eq!(c.status(), Status::Pending);
        assert_eq!(c.consent_id(), Some(&id(20)));
        let Effect::PersistPending(fallback) = &fx[0] else {
            panic!("{fx:?}")
        };
        assert_eq!(fallback.id, id(21));
        assert!(fallback.categories.analytics && !fallback.categories.marketing);
        assert!(fx.contains(&Effect::ClearToken));
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Send(_))),
            "not sent as a consent"
        );
        let Some(Effect::SendWithdrawal(w)) = fx.last() else {
            panic!("{fx:?}")
        };
        assert_eq!(w.of, id(1));
        assert_eq!(w.token, "token-1");
        assert_eq!(w.request.id, id(20));
        assert_eq!(w.request.categories, Some(vec![Category::Marketing]));

        // Retries resend the withdrawal; its token completes it.
        let fail = Msg::Failed {
            id: id(20),
            code: "timeout",
            failure: Failure::Transient,
        };
        assert_eq!(
            c.update(fail)[1],
            Effect::ScheduleRetry {
                id: id(20),
                delay_ms: 100
            }
        );
        assert!(matches!(
            c.update(Msg::Retry { id: id(20) })[..],
            [Effect::SendWithdrawal(_)]
        ));
        let mut new = verified(20, [Category::Analytics].into_iter().collect(), 20);
        new.claims.jti = id(20);
        let fx = c.update(Msg::Recorded {
            id: id(20),
            verified: new,
            now: 30,
        });
        assert_eq!(fx[0], Effect::ClearPending(id(21)));
        assert_eq!(c.status(), Status::Recorded);
        assert!(c.withdrawal().is_none() && c.pending().is_none());
    }

    #[test]
    fn a_refused_withdrawal_falls_back_to_a_consent_and_without_a_token_it_is_one() {
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(1, Categories::all(), 10)),
            pending: None,
            show_banner: true,
        });
        c.update(Msg::Withdraw {
            id: id(20),
            fallback_id: id(21),
            categories: None,
        });
        let fx = c.update(Msg::Failed {
            id: id(20),
            code: "rejected",
            failure: Failure::Refused,
        });
        let Some(Effect::Send(request)) = fx.last() else {
            panic!("{fx:?}")
        };
        assert_eq!(*request.id(), id(21));
        assert_eq!(c.consent_id(), Some(&id(21)));
        assert_eq!(c.granted(), Categories::new());

        // No recorded token (nothing recorded yet): simply a new decision.
        let mut c = controller();
        choose(&mut c, 2, Categories::all());
        let fx = c.update(Msg::Withdraw {
            id: id(30),
            fallback_id: id(31),
            categories: None,
        });
        assert!(matches!(fx.last(), Some(Effect::Send(r)) if *r.id() == id(31)));
        assert!(c.withdrawal().is_none());
    }

    #[test]
    fn backoff_is_capped() {
        let b = Backoff {
            max_attempts: 50,
            base_ms: 1000,
        };
        assert_eq!(b.delay(1), 1000);
        assert_eq!(b.delay(3), 4000);
        assert_eq!(b.delay(40), Backoff::MAX_DELAY_MS);
    }

    #[test]
    fn another_tabs_choice_only_restricts_until_its_token_arrives() {
        let mut other = controller();
        other.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: true,
        });
        let fx = choose(&mut other, 7, Categories::all());
        let Some(Effect::PersistPending(request)) = fx.first().cloned() else {
            panic!("{fx:?}")
        };

        // This tab had only analytics: the other tab's "accept all" grants nothing more.
        let mut c = controller();
        c.update(Msg::Start {
            verified: Some(verified(1, [Category::Analytics].into_iter().collect(), 10)),
            pending: None,
            show_banner: true,
        });
        let fx = c.update(Msg::Follow(follow(&request)));
        assert!(
            !fx.iter().any(|e| matches!(
                e,
                Effect::Send(_) | Effect::PersistPending(_) | Effect::ClearToken
            )),
            "{fx:?}"
        );
        assert_eq!(c.granted(), [Category::Analytics].into_iter().collect());
        assert_eq!(c.status(), Status::Pending);
        assert_eq!(c.token(), None);
        assert!(!c.banner_visible());
        // Hearing of it again changes nothing.
        assert!(c.update(Msg::Follow(follow(&request))).is_empty());
        // Its token, verified here, grants.
        let fx = c.update(Msg::Adopt(verified(7, Categories::all(), 20)));
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: Categories::all(),
            changed: vec![Category::Marketing]
        })));
        assert_eq!(c.status(), Status::Recorded);
    }

    #[test]
    fn another_tabs_refusal_applies_at_once() {
        let mut other = controller();
        let Some(Effect::PersistPending(request)) =
            choose(&mut other, 7, Categories::new()).first().cloned()
        else {
            panic!()
        };
        let mut c = restored_with_marketing(1);
        let fx = c.update(Msg::Follow(follow(&request)));
        assert!(fx.contains(&Effect::Emit(Event::Change {
            categories: Categories::new(),
            changed: vec![Category::Marketing]
        })));
        assert_eq!(c.granted(), Categories::new());
    }

    #[test]
    fn a_forged_choice_granting_everything_grants_nothing_more() {
        let mut c = restored_with_marketing(1);
        c.update(Msg::Follow(TabChoice {
            id: id(66),
            granted: Categories::all(),
            policy_accepted: true,
        }));
        assert_eq!(c.granted(), marketing(), "only what both grant");
        assert!(!c.policy_accepted(), "nor the policy acceptance");
    }

    #[test]
    fn while_its_own_choice_is_in_flight_a_tab_adopts_only_that_choices_token() {
        // Tab A accepted (token 1 lands later); this tab B refused (choice 2 in flight).
        let mut b = controller();
        b.update(Msg::Start {
            verified: None,
            pending: None,
            show_banner: true,
        });
        choose(&mut b, 2, Categories::new());
        assert!(
            b.update(Msg::Adopt(verified(1, Categories::all(), 100)))
                .is_empty(),
            "the older choice's token is not adopted"
        );
        assert_eq!(b.granted(), Categories::new());
        b.update(Msg::Recorded {
            id: id(2),
            verified: verified(2, Categories::new(), 100),
            now: 101,
        });
        assert_eq!(b.status(), Status::Recorded);
        assert_eq!(b.granted(), Categories::new());
        // Recorded, it adopts a token as new as its own (the other tab's, recorded after).
        b.update(Msg::Adopt(verified(3, marketing(), 100)));
        assert_eq!(b.granted(), marketing());
    }

    #[test]
    fn recording_clears_only_the_own_stored_choice() {
        let mut c = controller();
        choose(&mut c, 4, marketing());
        let fx = c.update(Msg::Recorded {
            id: id(4),
            verified: verified(4, marketing(), 10),
            now: 11,
        });
        assert_eq!(
            fx[0],
            Effect::ClearPending(id(4)),
            "by id: the runtime keeps another tab's newer one"
        );
    }
}
