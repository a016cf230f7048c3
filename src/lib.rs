//! vivus-consent: the consent banner and client SDK, compiled to WebAssembly.
#![deny(missing_docs, missing_debug_implementations)]

pub mod config;
pub mod controller;
pub mod error;
pub mod i18n;
