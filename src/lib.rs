//! vivus-consent: the consent banner and client SDK for vivus.kz, compiled to WebAssembly.
//!
//! A page loads it through `pkg/vivus-consent.js` and calls `init(config)`; the SDK reads
//! the consent token (cookie, then its localStorage mirror), verifies it against the
//! service's keys without a round trip when they are configured inline, and shows the
//! banner when there is no valid consent. Choices are applied at once, persisted, and
//! recorded by the consent service, which returns the signed token.
//!
//! Pure modules ([`config`], [`i18n`], [`controller`]) are tested natively; the browser
//! parts in Node and headless Chromium (`tests/node.rs`, `tests/browser.rs`).
#![deny(missing_docs, missing_debug_implementations)]

pub mod api;
pub mod config;
pub mod consent_mode;
pub mod controller;
pub mod cookie_cleanup;
pub mod dom;
pub mod env;
pub mod error;
pub mod gates;
pub mod i18n;
pub mod json;
pub mod net;
pub mod runtime;
pub mod storage;
pub mod tabs;
