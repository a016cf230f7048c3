//! The one seam between the runtime and the interactive stage.
//!
//! The runtime owns the consent state; the interactive stage (the widget and the recorder)
//! shows it and acts on the visitor's behalf. They talk through two traits and the plain data
//! below, nothing else:
//!
//! - [`Ui`]: what the runtime asks of the interactive stage (render this state, open a
//!   dialog, ask for the policy acceptance, send a choice to the service);
//! - [`Host`]: what the interactive stage asks of the runtime (the state, a choice, the
//!   language).
//!
//! In the combined build (the default features, what the wasm tests link) the runtime holds
//! the widget and the widget the runtime, as trait objects. In the package each stage is its
//! own wasm module: the runtime's `Ui` is a proxy over the interactive module's exported
//! `Widget` (`runtime::port`), and the widget's `Host` a proxy over the runtime's exported
//! `Port` (`ui::port`); the data crosses as plain JS objects, serde both ways.

use serde::{Deserialize, Serialize};
use vivus_consent_core::category::Categories;
use vivus_consent_core::consent::Source;
use vivus_consent_core::language::Language;

use crate::config::Service;
use crate::controller::Status;
use crate::error::NetError;
pub use crate::task::LocalFuture;

/// What the interactive stage sees of the consent state, after every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Recorded, pending or none.
    pub status: Status,
    /// The interface language.
    pub language: Language,
    /// The categories in effect.
    pub granted: Categories,
    /// Whether the visitor accepted the personal data policy (pending or recorded).
    pub policy_accepted: bool,
    /// Whether the banner should be visible.
    pub banner: bool,
    /// Whether the browser sent Global Privacy Control.
    pub gpc: bool,
    /// Whether no place in the browser could keep the recorded choice (the widget says so).
    pub storage_failed: bool,
}

impl Snapshot {
    /// Recorded, pending or none.
    pub fn status(&self) -> Status {
        self.status
    }
    /// The interface language.
    pub fn language(&self) -> Language {
        self.language
    }
    /// The categories in effect.
    pub fn granted(&self) -> Categories {
        self.granted
    }
    /// Whether the visitor accepted the personal data policy.
    pub fn policy_accepted(&self) -> bool {
        self.policy_accepted
    }
    /// Whether the banner should be visible.
    pub fn banner_visible(&self) -> bool {
        self.banner
    }
    /// Whether the browser sent Global Privacy Control.
    pub fn gpc(&self) -> bool {
        self.gpc
    }
}

/// The config members the interactive stage uses, as the runtime read and checked them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiSettings {
    /// Offer the Русский / Қазақша switch.
    pub language_switch: bool,
    /// The base URL of the policy texts.
    pub policy_url: String,
    /// The policy version asked for.
    pub policy_version: String,
    /// How long one request may take, in milliseconds.
    pub timeout_ms: u32,
    /// The services of each category, as the settings dialog lists them (necessary,
    /// analytics, marketing).
    pub services: [Vec<Service>; 3],
}

/// A dialog the page can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialog {
    /// The settings (cookie preferences).
    Preferences,
    /// The policy viewer.
    Policy,
}

/// What happened to the choice in flight, for the acceptance dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Notice {
    /// The service recorded it; this is its token.
    Recorded {
        /// The verified token.
        token: String,
    },
    /// Recording failed (`SdkError::code`).
    Error {
        /// The error code.
        code: String,
    },
}

/// A request for the service, ready to go: the recorder posts it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outgoing {
    /// Where to `POST` it.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// The token that authorizes it (a withdrawal), sent as `Authorization: Bearer`.
    pub bearer: Option<String>,
    /// How long the attempt may take (`net.timeoutMs`).
    pub timeout_ms: u32,
}

/// Why a send did not bring a token back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendFailure {
    /// What went wrong.
    pub error: NetError,
    /// The service's `Retry-After` (429 or 503), in milliseconds; 0 when it gave none.
    pub retry_after_ms: u32,
}

/// Why no token came back from [`Ui::request_acceptance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The visitor closed the dialog without accepting the policy.
    Declined,
    /// The visitor accepted and closed the dialog before the service recorded it (it was
    /// failing): the choice is kept, and the next request opens the dialog ticked and sends
    /// it again with the same consent id.
    AcceptancePending,
    /// The acceptance dialog cannot be shown (the interactive stage did not load).
    Unsupported,
}

/// The interactive stage, as the runtime drives it.
pub trait Ui {
    /// Brings the widget in line with the state (the first render also takes over the first
    /// stage's banner and repeats the clicks made on it).
    fn render(&self, state: &Snapshot);
    /// Tells the widget what happened to the choice in flight.
    fn notice(&self, notice: &Notice);
    /// Opens a dialog on top of whatever is shown.
    fn open(&self, dialog: Dialog);
    /// Closes every dialog.
    fn close_all(&self);
    /// Opens the policy-acceptance dialog; resolves with the signed token once the service
    /// recorded the acceptance.
    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>>;
    /// Posts a request to the service; resolves with the token it answered.
    fn send(&self, request: Outgoing) -> LocalFuture<Result<String, SendFailure>>;
    /// Ed25519 in wasm, for browsers whose WebCrypto lacks it: whether `signature` is
    /// `key`'s over `message`.
    fn verify_ed25519(&self, key: [u8; 32], message: &[u8], signature: [u8; 64]) -> bool;
}

/// The runtime, as the interactive stage drives it.
pub trait Host {
    /// The consent state now.
    fn snapshot(&self) -> Snapshot;
    /// The visitor decided: `categories` granted (necessary always), the policy acceptance
    /// (`None` keeps it), made at `source`.
    fn choose(&self, categories: Categories, policy_accepted: Option<bool>, source: Source);
    /// Switches the interface language.
    fn set_language(&self, lang: Language);
    /// Hides the banner.
    fn hide_banner(&self);
    /// Sends the choice in flight again now.
    fn retry(&self);
}
