//! One way to run a future on the page's event loop.
//!
//! `wasm_bindgen_futures::spawn_local` is generic: every call site with its own future type
//! links its own copy of the task machinery (about 5 kB raw over the SDK's click handlers).
//! Boxing the future first gives one copy.

use std::future::Future;
use std::pin::Pin;

/// A boxed future that needs no `Send`, as everything in the browser.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Runs `future` to completion on the page's event loop.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    spawn_boxed(Box::pin(future));
}

fn spawn_boxed(future: LocalFuture<()>) {
    wasm_bindgen_futures::spawn_local(future);
}
