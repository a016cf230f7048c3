//! Requests to the consent service: `fetch` with a timeout, JSON in and out.
//!
//! One call is one attempt; retries, backoff and idempotency (the same consent id on every
//! attempt) belong to the controller, which decides when to try again.

use vivus_consent_core::consent::ConsentRequest;
use vivus_consent_core::jwk::Jwks;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::NetError;

#[wasm_bindgen]
extern "C" {
    // The global `fetch`, so the same code runs in a window, a worker and Node.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// `POST`s a consent request; the signed token on success.
///
/// # Errors
///
/// [`NetError`]: unreachable, timed out, refused (with the service's code) or a malformed
/// answer.
pub async fn record(
    endpoint: &str,
    request: &ConsentRequest,
    timeout_ms: u32,
) -> Result<String, NetError> {
    let body = crate::json::consent_request(request);
    let text = send("POST", endpoint, Some(&body), None, timeout_ms).await?;
    crate::json::string_member(&text, "token").ok_or(NetError::BadResponse)
}

/// `POST`s a withdrawal of the consent `withdrawal.of` to `<endpoint>/<of>/withdraw`,
/// authorized by that consent's token; the new signed token on success.
///
/// # Errors
///
/// As [`record`].
pub async fn withdraw(
    endpoint: &str,
    withdrawal: &crate::controller::Withdrawal,
    timeout_ms: u32,
) -> Result<String, NetError> {
    let mut url = String::from(endpoint.trim_end_matches('/'));
    url.push('/');
    url.push_str(withdrawal.of.as_str());
    url.push_str("/withdraw");
    let body = crate::json::withdraw_request(&withdrawal.request);
    let text = send(
        "POST",
        &url,
        Some(&body),
        Some(&withdrawal.token),
        timeout_ms,
    )
    .await?;
    crate::json::string_member(&text, "token").ok_or(NetError::BadResponse)
}

/// Fetches the service's JWK set with the given HTTP cache mode.
///
/// # Errors
///
/// As [`record`].
pub async fn jwks(
    url: &str,
    cache: web_sys::RequestCache,
    timeout_ms: u32,
) -> Result<Jwks, NetError> {
    let text = send_with("GET", url, None, None, Some(cache), timeout_ms).await?;
    crate::json::jwks_text(&text).ok_or(NetError::BadResponse)
}

/// Fetches a text document (the policy markdown).
///
/// # Errors
///
/// As [`record`].
pub async fn text(url: &str, timeout_ms: u32) -> Result<String, NetError> {
    send("GET", url, None, None, timeout_ms).await
}

async fn send(
    method: &str,
    url: &str,
    body: Option<&str>,
    bearer: Option<&str>,
    timeout_ms: u32,
) -> Result<String, NetError> {
    send_with(method, url, body, bearer, None, timeout_ms).await
}

async fn send_with(
    method: &str,
    url: &str,
    body: Option<&str>,
    bearer: Option<&str>,
    cache: Option<web_sys::RequestCache>,
    timeout_ms: u32,
) -> Result<String, NetError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(cache) = cache {
        init.set_cache(cache);
    }
    // The service sets the consent cookie itself when it is same-site.
    init.set_credentials(web_sys::RequestCredentials::Include);
    if let Some(signal) = timeout_signal(timeout_ms) {
        init.set_signal(Some(&signal));
    }
    let headers = web_sys::Headers::new().map_err(|_| NetError::Network)?;
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
        headers
            .set("content-type", "application/json")
            .map_err(|_| NetError::Network)?;
    }
    if let Some(token) = bearer {
        let mut value = String::from("Bearer ");
        value.push_str(token);
        headers
            .set("authorization", &value)
            .map_err(|_| NetError::Network)?;
    }
    init.set_headers(&headers);
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| NetError::Network)?;
    let response: web_sys::Response = JsFuture::from(global_fetch(&request))
        .await
        .map_err(|err| fetch_error(&err))?
        .unchecked_into();
    let text_promise = response.text().map_err(|_| NetError::BadResponse)?;
    let text = JsFuture::from(text_promise)
        .await
        .map_err(|err| fetch_error(&err))?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        return Ok(text);
    }
    let status = response.status();
    if status == 429 || status == 503 {
        note_retry_after(&response);
    }
    let code = crate::json::string_member(&text, "code").unwrap_or_else(|| {
        String::from(if status >= 500 {
            "http_5xx"
        } else {
            "http_4xx"
        })
    });
    Err(NetError::Status { status, code })
}

std::thread_local! {
    /// The service's last `Retry-After` (429 or 503), in milliseconds; 0 when none.
    static RETRY_AFTER_MS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The longest `Retry-After` honoured: a longer one is read as this (the choice is kept
/// and retried on the next page load anyway).
const RETRY_AFTER_MAX_MS: u32 = 300_000;

/// Keeps a `Retry-After: <seconds>` of the response for the next scheduled retry. (The
/// HTTP-date form is not used by the service and is ignored.)
fn note_retry_after(response: &web_sys::Response) {
    let Ok(Some(value)) = response.headers().get("retry-after") else { return };
    if let Ok(secs) = value.trim().parse::<u32>() {
        let ms = secs.saturating_mul(1000).min(RETRY_AFTER_MAX_MS);
        RETRY_AFTER_MS.with(|cell| cell.set(ms));
    }
}

/// The `Retry-After` the service last asked for, in milliseconds (0: none), and forgets it:
/// the next scheduled retry waits at least that long.
pub fn take_retry_after_ms() -> u32 {
    RETRY_AFTER_MS.with(|cell| cell.replace(0))
}

/// A signal that aborts after `ms`: `AbortSignal.timeout` where it exists, else (Safari before
/// 16) an `AbortController` aborted by `setTimeout`. Calling a missing static would throw
/// through the wasm, so its presence is checked first.
pub fn timeout_signal(ms: u32) -> Option<web_sys::AbortSignal> {
    let global = js_sys::global();
    let class = js_sys::Reflect::get(&global, &"AbortSignal".into()).ok()?;
    if js_sys::Reflect::has(&class, &"timeout".into()).unwrap_or(false) {
        return Some(web_sys::AbortSignal::timeout_with_u32(ms));
    }
    let controller = web_sys::AbortController::new().ok()?;
    let abort: js_sys::Function = js_sys::Reflect::get(&controller, &"abort".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let set_timeout: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
        .ok()?
        .dyn_into()
        .ok()?;
    set_timeout
        .call2(&global, &abort.bind0(&controller), &JsValue::from(ms))
        .ok()?;
    Some(controller.signal())
}

/// Our signals only ever abort for the timeout: `TimeoutError` (`AbortSignal.timeout`) or
/// `AbortError` (the fallback). Anything else is the network's fault.
fn fetch_error(err: &JsValue) -> NetError {
    let name = js_sys::Reflect::get(err, &"name".into())
        .ok()
        .and_then(|n| n.as_string());
    match name.as_deref() {
        Some("TimeoutError" | "AbortError") => NetError::Timeout,
        _ => NetError::Network,
    }
}

/// Resolves after `ms` milliseconds (`setTimeout`, no closure kept alive by Rust).
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into()) {
            let set_timeout: js_sys::Function = set_timeout.unchecked_into();
            let _ = set_timeout.call2(&global, &resolve, &JsValue::from(ms));
        }
    });
    let _ = JsFuture::from(promise).await;
}
