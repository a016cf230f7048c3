//! The service's keys and the check of a token against them.
//!
//! The rules are the core's ([`vivus_consent_core::token`]): decoding and the header,
//! choosing the key, the signature's shape, then the claims. Only the Ed25519 primitive is the
//! browser's: WebCrypto (`crypto.subtle.verify({name: 'Ed25519'})`, Chrome 137+, Firefox 129+,
//! Safari 17+), 7 kB brotli less than linking ed25519-compact and SHA-512 into the runtime.
//! Where WebCrypto lacks Ed25519, the interactive stage, which links ed25519-compact, checks the
//! signature instead ([`crate::seam::Ui::verify_ed25519`]): older browsers load it, others never.
//!
//! Keys come from the network only: the config's inline `jwks`, and `jwksUrl`, fetched first
//! with `cache: 'force-cache'` (a returning visitor is answered by the browser's HTTP cache,
//! which no page script can write) and, when a `kid` is still unknown, once with
//! `cache: 'no-cache'`. Nothing is kept in localStorage, where a script could plant its key.

use std::cell::{Cell, RefCell};

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Claims, Expected, TokenError};
use wasm_bindgen::{JsCast, JsValue};

use crate::net;
use crate::task::settled;

/// Ed25519 for when WebCrypto has none: whether the signature is the key's over the message.
pub type Ed25519 = dyn Fn([u8; 32], &[u8], [u8; 64]) -> crate::task::LocalFuture<bool>;

/// How far this page has fetched the key set from `jwksUrl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Not at all.
    No,
    /// From the HTTP cache (or the service, when the cache had no copy), or tried to.
    Cached,
    /// Asked the service itself, revalidating any cached copy, and it answered: a `kid` that
    /// is still unknown is not the service's.
    Confirmed,
    /// Asked the service itself and got no answer: an unknown `kid` is only unchecked.
    Unreachable,
}

/// What a signature check needs that only WebCrypto or the interactive stage has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    /// WebCrypto's Ed25519, as far as this page knows.
    WebCrypto,
    /// WebCrypto has no Ed25519 here: the interactive stage checks signatures.
    Wasm,
}

/// The keys tokens are checked against.
#[derive(Debug)]
pub struct Keys {
    jwks: RefCell<Jwks>,
    url: Option<String>,
    timeout_ms: u32,
    fetched: Cell<Fetched>,
    primitive: Cell<Primitive>,
}

impl Keys {
    /// The inline keys and where to fetch more.
    pub fn new(inline: Option<Jwks>, url: Option<String>, timeout_ms: u32) -> Keys {
        Keys {
            jwks: RefCell::new(inline.unwrap_or_default()),
            url,
            timeout_ms,
            fetched: Cell::new(Fetched::No),
            primitive: Cell::new(Primitive::WebCrypto),
        }
    }

    /// How far the key set was fetched.
    pub fn fetched(&self) -> Fetched {
        self.fetched.get()
    }

    /// Whether an unknown `kid` may still be the service's: the service itself was not asked
    /// (or did not answer), so such a token is unchecked rather than invalid.
    pub fn may_learn_more(&self) -> bool {
        self.url.is_some() && self.fetched.get() != Fetched::Confirmed
    }

    /// The key `kid` names: from the keys at hand, else after fetching the set (from the HTTP
    /// cache first, then from the service).
    async fn key(&self, kid: Option<&str>) -> Result<[u8; 32], TokenError> {
        loop {
            let result = self.jwks.borrow().verification_key(kid);
            match result {
                Err(TokenError::UnknownKey) if self.fetch_more().await => continue,
                other => return other,
            }
        }
    }

    /// Fetches `jwksUrl` a step further than before on this page and adds its keys; `false`
    /// when there is no step left.
    async fn fetch_more(&self) -> bool {
        let Some(url) = self.url.as_deref() else {
            return false;
        };
        let cache = match self.fetched.get() {
            Fetched::No => web_sys::RequestCache::ForceCache,
            Fetched::Cached => web_sys::RequestCache::NoCache,
            Fetched::Confirmed | Fetched::Unreachable => return false,
        };
        let request = net::Request {
            method: "GET",
            url,
            body: None,
            bearer: None,
            cache: Some(cache),
            timeout_ms: self.timeout_ms,
        };
        let keys = match net::send(request).await {
            Ok(response) if response.ok() => net::json(&response)
                .await
                .ok()
                .and_then(|set| read_set(&set)),
            _ => None,
        };
        self.fetched.set(match (cache, &keys) {
            (web_sys::RequestCache::ForceCache, _) => Fetched::Cached,
            (_, Some(_)) => Fetched::Confirmed,
            (_, None) => Fetched::Unreachable,
        });
        if let Some(keys) = keys {
            self.jwks.borrow_mut().keys.extend(keys.keys);
        }
        // After a failed first step, the next asks the service itself.
        true
    }

    /// Checks `token`: the core's rules, Ed25519 by `ed25519` when WebCrypto has none.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] of the first failing check.
    pub async fn verify(
        &self,
        token: &str,
        expected: &Expected<'_>,
        ed25519: &Ed25519,
    ) -> Result<Claims, TokenError> {
        let unverified = token::decode(token)?;
        let key = self.key(unverified.kid()).await?;
        let signature = unverified.signature()?;
        let message = unverified.signing_input().as_bytes();
        let valid = match self.primitive.get() {
            Primitive::WebCrypto => match webcrypto_verify(key, message, signature).await {
                Some(valid) => valid,
                None => {
                    self.primitive.set(Primitive::Wasm);
                    ed25519(key, message, signature).await
                }
            },
            Primitive::Wasm => ed25519(key, message, signature).await,
        };
        if !valid {
            return Err(TokenError::BadSignature);
        }
        // Claims are only parsed once the signature proves the service wrote them.
        unverified.claims(expected)
    }
}

/// A key set as fetched: its octet key pairs, read as the config's `jwks` is.
fn read_set(set: &JsValue) -> Option<Jwks> {
    use crate::js::Value;
    let keys = crate::js::member(set, "keys")?.items()?;
    Some(Jwks {
        keys: keys.iter().filter_map(crate::config::read_jwk).collect(),
    })
}

/// WebCrypto's verdict, or `None` when this browser's WebCrypto has no Ed25519 (or no
/// `crypto.subtle`: an insecure context).
async fn webcrypto_verify(key: [u8; 32], message: &[u8], signature: [u8; 64]) -> Option<bool> {
    // `globalThis.crypto.subtle`: a window's, a worker's or Node's.
    let crypto = crate::js::member(&js_sys::global(), "crypto")?;
    let subtle: web_sys::SubtleCrypto = crate::js::member(&crypto, "subtle")?.unchecked_into();
    let algorithm = js_sys::Object::new();
    js_sys::Reflect::set(&algorithm, &"name".into(), &"Ed25519".into()).ok()?;
    let usages = js_sys::Array::of1(&"verify".into());
    let imported = subtle
        .import_key_with_object(
            "raw",
            &js_sys::Uint8Array::from(&key[..]),
            &algorithm,
            false,
            &usages,
        )
        .ok()?;
    let crypto_key: web_sys::CryptoKey = settled(imported).await.ok()?.unchecked_into();
    let verdict = subtle
        .verify_with_object_and_u8_array_and_u8_array(&algorithm, &crypto_key, &signature, message)
        .ok()?;
    settled(verdict).await.ok()?.as_bool()
}
