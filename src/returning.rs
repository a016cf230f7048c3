//! The returning visitor's stage (feature `returning`): the smallest wasm that gets a stored
//! consent's granted tags running.
//!
//! With a token stored, `pkg/vivus-consent.js` loads this before the runtime and calls
//! [`run`]. It reads the config (the same reader as the runtime: an invalid config runs
//! nothing), reads the token, checks it with the same keys and rules ([`crate::keys`]), and,
//! when it verifies, activates the page's gated elements of the granted categories with the
//! same gates ([`crate::dom::gate`], without placeholders) and sends the same Consent Mode
//! update. Only then does the entry load the runtime, which takes over from the [`Early`]
//! this returns: it stops these gates, adopts their Trusted Types policy, and does not announce
//! the same consent to Consent Mode twice. Verifying, gating and storage are the runtime's
//! code compiled into this build, not copies of it.
//!
//! Anything it cannot settle (no token, a pending choice, a token that does not verify or
//! whose key it cannot fetch, a browser whose WebCrypto lacks Ed25519) it leaves alone: the
//! runtime decides, as on any page view.

use vivus_consent_core::category::Categories;
use vivus_consent_core::language::Language;
use vivus_consent_core::token::Expected;
use wasm_bindgen::prelude::*;

use crate::config::Config;
use crate::consent_mode::{self, Context};
use crate::dom::gate::Gates;
use crate::storage::{BrowserStore, ConsentStore, Key};

/// What this stage did, for the runtime to take over: the consent it announced, its gates
/// (stopped on hand-over) and their Trusted Types policy.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Early {
    consent_id: String,
    categories: Categories,
    gates: Option<Gates>,
}

#[wasm_bindgen]
impl Early {
    /// The consent id of the token it verified (what Consent Mode was told).
    #[wasm_bindgen(getter, js_name = consentId)]
    pub fn consent_id(&self) -> String {
        self.consent_id.clone()
    }

    /// The granted categories it applied, as the bitset of `Categories`.
    #[wasm_bindgen(getter)]
    pub fn granted(&self) -> u8 {
        self.categories.bits()
    }

    /// The Trusted Types policy its gates made, if any.
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> JsValue {
        self.gates
            .as_ref()
            .and_then(Gates::policy)
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// Stops its gates: the runtime's watch the page from now on, and run the scripts these
    /// still had queued, after the one returned, which is still loading
    /// ([`Gates::hand_over`]).
    pub fn stop(&mut self) -> Option<web_sys::Element> {
        self.gates.take()?.hand_over()
    }
}

/// Gets a stored consent's granted tags running, when it verifies: a promise of the
/// [`Early`], or of `undefined` when there is nothing this stage can settle (the runtime then
/// does everything).
#[wasm_bindgen(js_name = q, unchecked_return_type = "Promise<Early | undefined>")]
pub fn start(config: JsValue) -> js_sys::Promise {
    crate::task::to_promise(
        async move { run(config).await.map_or(JsValue::UNDEFINED, JsValue::from) },
    )
}

async fn run(config: JsValue) -> Option<Early> {
    let config = Config::read(&config).ok()?;
    let store = BrowserStore::new(config.cookie.clone(), crate::env::is_https());
    if store.read(Key::Pending).ok().flatten().is_some() {
        return None;
    }
    let token = store.read(Key::Token).ok().flatten()?;
    let keys = crate::keys::Keys::new(
        config.jwks.clone(),
        config.jwks_url.clone(),
        config.net.timeout_ms,
    );
    let expected = Expected {
        issuer: &config.issuer,
        policy_digest: config.policy_version.digest,
        now: crate::env::now_secs(),
    };
    // Without WebCrypto's Ed25519 this stage cannot check a signature, so nothing verifies
    // here: the runtime will check it, with the interactive stage's wasm Ed25519.
    let unchecked = |_: [u8; 32], _: &[u8], _: [u8; 64]| -> crate::task::LocalFuture<bool> {
        Box::pin(async { false })
    };
    let claims = keys.verify(&token, &expected, &unchecked).await.ok()?;
    let document = web_sys::window()?.document()?;
    // Consent Mode first: an inline gated `gtag('config', …)` the gates run must find the
    // update already in the data layer (as the runtime does).
    if let Some(window) = web_sys::window() {
        let context = Context {
            consent_id: Some(claims.jti.as_str()),
            policy_version: Some(config.policy_version.id),
        };
        consent_mode::update(&window, &config.consent_mode, claims.cat, context);
    }
    // The language is the placeholders', which this build does not draw.
    let gates = Gates::install(&document, Language::Ru, Box::new(|_| {}));
    gates.apply(claims.cat);
    Some(Early {
        consent_id: claims.jti.as_str().into(),
        categories: claims.cat,
        gates: Some(gates),
    })
}
