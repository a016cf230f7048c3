//! The web-free core of vivus-consent, shared by the browser SDK and the consent service.
//!
//! It does no I/O: callers pass the current time, randomness and bytes.
#![deny(missing_docs, missing_debug_implementations)]

pub mod base64url;
pub mod category;
pub mod consent;
pub mod jwk;
pub mod language;
pub mod policy;
pub mod token;
