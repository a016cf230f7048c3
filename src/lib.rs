//! vivus-consent: the consent banner and client SDK for vivus.kz, compiled to WebAssembly.
//!
//! A page loads it through `pkg/vivus-consent.js` and calls `init(config)`. A page view pays
//! only for what it uses, in three wasm builds of this one crate (docs/architecture.md):
//!
//! - **boot** (`--features boot`, [`boot`]): on a first visit, draws the banner before
//!   anything else is requested;
//! - **runtime** (`--features runtime`, [`runtime`], exports in [`api`]): every page view.
//!   It owns the consent state ([`controller`]), reads the config and the stored token,
//!   verifies it against the service's keys, runs the gates ([`gates`]), Consent Mode, tab
//!   sync and cookie clean-up, holds guarded forms and serves the JS API;
//! - **ui** (`--features ui`, [`ui`]): loaded when first needed (a first visit, settings, the
//!   policy viewer, the loan form's acceptance dialog, a new choice or a withdrawal to
//!   record): the widget and the recorder.
//!
//! The runtime and the interactive stage meet at one seam, [`seam`]: two traits and the
//! plain data that crosses them. In the default (combined) build both stages are linked
//! together and the traits are called directly, which is what the wasm tests run; in the
//! package each is its own wasm and the traits are implemented by proxies over the other
//! module's exports (`runtime::port`, `ui::port`).
//!
//! Pure modules ([`config`], [`i18n`], [`controller`]) are tested natively; the browser
//! parts in Node and in headless browsers (`tests/node.rs`, `tests/browser.rs`).
#![deny(missing_docs, missing_debug_implementations)]

#[cfg(any(
    feature = "runtime",
    feature = "ui",
    feature = "boot",
    feature = "returning"
))]
mod alloc;
#[cfg(feature = "runtime")]
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
#[cfg(feature = "runtime")]
pub mod gates;
pub mod i18n;
pub mod js;
#[cfg(any(feature = "runtime", feature = "returning"))]
pub mod keys;
#[cfg(any(feature = "runtime", feature = "ui", feature = "returning"))]
pub mod net;
#[cfg(feature = "returning")]
pub mod returning;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(any(feature = "runtime", feature = "ui"))]
pub mod seam;
pub mod storage;
#[cfg(feature = "runtime")]
pub mod tabs;
#[cfg(any(feature = "runtime", feature = "ui", feature = "returning"))]
pub mod task;
#[cfg(feature = "ui")]
pub mod ui;
