//! Requests to the consent service: `fetch` with a timeout.
//!
//! One call is one attempt; retries, backoff and idempotency (the same consent id on every
//! attempt) belong to the controller, which decides when to try again. What an answer
//! means is read where it is used: the key set by the runtime (`runtime::keys`), tokens and
//! refusals by the recorder (`ui::record`), the policy text by the viewer.

use wasm_bindgen::prelude::*;

use crate::error::NetError;
use crate::task::settled;

#[wasm_bindgen]
extern "C" {
    // The global `fetch`, so the same code runs in a window, a worker and Node.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Where.
    pub url: &'a str,
    /// A JSON body.
    pub body: Option<&'a str>,
    /// A token sent as `Authorization: Bearer`.
    pub bearer: Option<&'a str>,
    /// The HTTP cache mode (the key set is fetched `force-cache`, then `no-cache`).
    pub cache: Option<web_sys::RequestCache>,
    /// How long it may take.
    pub timeout_ms: u32,
}

/// Sends `request`; the response when it came, whatever its status.
///
/// # Errors
///
/// [`NetError::Network`] or [`NetError::Timeout`] when no answer came.
pub async fn send(request: Request<'_>) -> Result<web_sys::Response, NetError> {
    let init = web_sys::RequestInit::new();
    init.set_method(request.method);
    // The service sets the consent cookie itself when it is same-site.
    init.set_credentials(web_sys::RequestCredentials::Include);
    if let Some(cache) = request.cache {
        init.set_cache(cache);
    }
    match timeout_signal(request.timeout_ms) {
        Some(signal) => init.set_signal(Some(&signal)),
        // The page waits for the returning visitor's stage: it never sends without a timeout.
        None if cfg!(not(any(feature = "runtime", feature = "ui"))) => {
            return Err(NetError::Network)
        }
        None => {}
    }
    let headers = web_sys::Headers::new().map_err(|_| NetError::Network)?;
    if let Some(body) = request.body {
        init.set_body(&JsValue::from_str(body));
        headers
            .set("content-type", "application/json")
            .map_err(|_| NetError::Network)?;
    }
    if let Some(token) = request.bearer {
        let mut value = String::from("Bearer ");
        value.push_str(token);
        headers
            .set("authorization", &value)
            .map_err(|_| NetError::Network)?;
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(request.url, &init)
        .map_err(|_| NetError::Network)?;
    Ok(settled(global_fetch(&request))
        .await
        .map_err(|err| fetch_error(&err))?
        .unchecked_into())
}

/// The response's body as `Response.json()` reads it.
///
/// # Errors
///
/// [`NetError::BadResponse`] when it is not JSON; a timeout or network failure while reading.
pub async fn json(response: &web_sys::Response) -> Result<JsValue, NetError> {
    let promise = response.json().map_err(|_| NetError::BadResponse)?;
    settled(promise)
        .await
        .map_err(|err| match fetch_error(&err) {
            NetError::Network => NetError::BadResponse,
            other => other,
        })
}

/// The response's body as text (the policy markdown).
///
/// # Errors
///
/// A timeout or network failure while reading.
pub async fn text(response: &web_sys::Response) -> Result<String, NetError> {
    let promise = response.text().map_err(|_| NetError::BadResponse)?;
    let text = settled(promise).await.map_err(|err| fetch_error(&err))?;
    Ok(text.as_string().unwrap_or_default())
}

/// The longest `Retry-After` honoured: a longer one is read as this (the choice is kept
/// and retried on the next page load anyway).
const RETRY_AFTER_MAX_MS: u32 = 300_000;

/// The response's `Retry-After: <seconds>` in milliseconds (capped at 5 min), 0 when absent.
/// (The HTTP-date form is not used by the service and is ignored.)
pub fn retry_after_ms(response: &web_sys::Response) -> u32 {
    let Ok(Some(value)) = response.headers().get("retry-after") else {
        return 0;
    };
    value
        .trim()
        .parse::<u32>()
        .map_or(0, |secs| secs.saturating_mul(1000).min(RETRY_AFTER_MAX_MS))
}

/// A signal that aborts after `ms`: `AbortSignal.timeout` where it exists, else (Safari before
/// 16) an `AbortController` aborted by a timer. Calling a missing static would throw through
/// the wasm, so its presence is checked first.
pub fn timeout_signal(ms: u32) -> Option<web_sys::AbortSignal> {
    let class = crate::js::member(&js_sys::global(), "AbortSignal")?;
    if crate::js::member(&class, "timeout").is_some() {
        return Some(web_sys::AbortSignal::timeout_with_u32(ms));
    }
    timer_signal(ms)
}

/// The returning visitor's stage has no fallback: it verifies only with WebCrypto's Ed25519,
/// and every browser that has it has `AbortSignal.timeout` (Chrome 103, Firefox 100, Safari 16).
#[cfg(not(any(feature = "runtime", feature = "ui")))]
fn timer_signal(_ms: u32) -> Option<web_sys::AbortSignal> {
    None
}

#[cfg(any(feature = "runtime", feature = "ui"))]
fn timer_signal(ms: u32) -> Option<web_sys::AbortSignal> {
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    // The timer outlives this call on purpose: it fires once and then lets go of the controller.
    gloo_timers::callback::Timeout::new(ms, move || controller.abort()).forget();
    Some(signal)
}

/// Our signals only ever abort for the timeout: `TimeoutError` (`AbortSignal.timeout`) or
/// `AbortError` (the fallback). Anything else is the network's fault.
fn fetch_error(err: &JsValue) -> NetError {
    match crate::js::string_member(err, "name").as_deref() {
        Some("TimeoutError" | "AbortError") => NetError::Timeout,
        _ => NetError::Network,
    }
}
