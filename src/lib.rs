//! vivus-consent: the consent banner and client SDK for vivus.kz, compiled to WebAssembly.
//!
//! A page loads it through `pkg/vivus-consent.js` and calls `init(config)`; the SDK reads
//! the consent token (cookie, then its localStorage mirror), verifies it against the
//! service's keys without a round trip when they are configured inline, and shows the
//! banner when there is no valid consent. Choices are applied at once, persisted, and
//! recorded by the consent service, which returns the signed token.
//!
//! Two wasm builds come from this crate. The default features (`sdk`, `ui`) give the SDK:
//! [`api`] is its only set of exports. `--no-default-features --features boot` gives the
//! small first-paint build (`boot`), which draws the banner on a first visit while the SDK
//! loads; it shares the SDK's drawing, config, storage and language code, and the linker
//! keeps only what its two exports reach.
//!
//! Pure modules ([`config`], [`i18n`], [`controller`]) are tested natively; the browser
//! parts in Node and headless Chromium (`tests/node.rs`, `tests/browser.rs`).
#![deny(missing_docs, missing_debug_implementations)]

#[cfg(feature = "sdk")]
pub mod api;
#[cfg(feature = "boot")]
pub mod boot;
pub mod config;
pub mod consent_mode;
pub mod controller;
pub mod cookie_cleanup;
pub mod dom;
pub mod env;
pub mod error;
#[cfg(feature = "sdk")]
pub mod gates;
pub mod i18n;
pub mod json;
#[cfg(feature = "sdk")]
pub mod net;
#[cfg(feature = "sdk")]
pub mod runtime;
pub mod storage;
#[cfg(feature = "sdk")]
pub mod tabs;
