//! One way to run a future on the page's event loop, and to wait for a JS promise.
//!
//! `wasm_bindgen_futures::spawn_local` is generic: every call site with its own future type
//! links its own copy of the task machinery (about 5 kB raw over the SDK's click handlers).
//! Boxing the future first gives one copy.
//!
//! Shared code waits for promises through [`settled`] and makes them with [`to_promise`], all
//! on wasm-bindgen-futures. (A hand-made executor for the returning visitor's stage was tried:
//! 0.3 kB brotli less, not worth a second executor.)

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

/// What a JS promise settled with: `Ok` with its value, `Err` with its rejection reason.
pub fn settled(
    promise: js_sys::Promise,
) -> impl Future<Output = Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>> {
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// A promise of what `future` gives; the future starts at once.
pub fn to_promise(
    future: impl Future<Output = wasm_bindgen::JsValue> + 'static,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move { Ok(future.await) })
}
