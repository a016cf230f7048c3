//! The web-free core of vivus-consent, shared by the browser SDK and the consent service.
//!
//! It does no I/O: callers pass the current time, randomness and bytes.
//!
//! A consent's round trip: the SDK sends a [`consent::ConsentRequest`], the service validates
//! it against the current [`policy`] and answers with a signed [`token`], which the SDK and the
//! loan-application backend verify against the service's [`jwk::Jwks`].
//!
//! ```
//! # #[cfg(feature = "sign")] {
//! use vivus_consent_core::category::Category;
//! use vivus_consent_core::consent::{ConsentId, ConsentRequest, SubjectId};
//! use vivus_consent_core::jwk::Jwks;
//! use vivus_consent_core::policy;
//! use vivus_consent_core::token::{self, Claims, Expected, SigningKey};
//!
//! // The SDK: the visitor accepted analytics, refused marketing. Ids come from the browser's
//! // CSPRNG; core has none.
//! let body = serde_json::json!({
//!     "id": ConsentId::from_bytes([0x01; 16]), "subject": SubjectId::from_bytes([0xab; 16]),
//!     "policy": policy::CURRENT, "language": "ru",
//!     "categories": {"necessary": true, "analytics": true, "marketing": false},
//!     "policyAccepted": true, "source": "banner", "gpc": false,
//! });
//!
//! // The service: validate, record (not shown), sign. The seed comes from its key store.
//! let request: ConsentRequest = serde_json::from_value(body)?;
//! request.validate(&policy::CURRENT)?;
//! let now = 1_764_000_000;
//! let key = SigningKey::from_seed([0x5a; 32]);
//! let jws = key.sign(&Claims::from_request(&request, "https://consent.vivus.kz", now, now + 31_536_000));
//! let jwks = Jwks { keys: vec![key.public_jwk()] }; // served at /.well-known/jwks.json
//!
//! // The SDK or the loan backend, a minute later.
//! let expected = Expected {
//!     issuer: "https://consent.vivus.kz",
//!     policy_digest: policy::CURRENT.digest,
//!     now: now + 60,
//! };
//! let claims = token::verify(&jws, &jwks, &expected)?;
//! assert!(claims.cat.contains(Category::Analytics) && !claims.cat.contains(Category::Marketing));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod base64url;
pub mod category;
pub mod consent;
pub mod json;
pub mod jwk;
pub mod language;
pub mod policy;
pub mod token;
