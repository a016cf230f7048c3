//! The recorder: posts a choice or a withdrawal to the consent service and reads its answer.
//!
//! The runtime builds the request (where, the JSON body, the token that authorizes a
//! withdrawal) and judges the answer (it verifies the token); this only carries it, reading
//! the service's JSON with serde: `{"token": …}` on success, `{"code": …}` on a refusal.

use serde::Deserialize;

use crate::error::NetError;
use crate::net;
use crate::seam::{Outgoing, SendFailure};

/// The service's answer to a recorded consent or withdrawal (its `receipt` is the operator's).
#[derive(Deserialize)]
struct Recorded {
    token: String,
}

/// The service's error answer.
#[derive(Deserialize)]
struct Refused {
    code: String,
}

/// Posts `request`; the token the service answered with.
///
/// # Errors
///
/// [`SendFailure`]: unreachable, timed out, refused (with the service's code and its
/// `Retry-After`) or an answer that is not the API's.
pub async fn send(request: &Outgoing) -> Result<String, SendFailure> {
    let fail = |error: NetError, retry_after_ms: u32| SendFailure {
        error,
        retry_after_ms,
    };
    let response = net::send(net::Request {
        method: "POST",
        url: &request.url,
        body: Some(&request.body),
        bearer: request.bearer.as_deref(),
        cache: None,
        timeout_ms: request.timeout_ms,
    })
    .await
    .map_err(|error| fail(error, 0))?;
    let status = response.status();
    let body = net::json(&response).await;
    if response.ok() {
        let answer = body.map_err(|error| fail(error, 0))?;
        return serde_wasm_bindgen::from_value::<Recorded>(answer)
            .map(|recorded| recorded.token)
            .map_err(|_| fail(NetError::BadResponse, 0));
    }
    let code = body
        .ok()
        .and_then(|body| serde_wasm_bindgen::from_value::<Refused>(body).ok())
        .map(|refused| refused.code)
        .unwrap_or_else(|| {
            String::from(if status >= 500 {
                "http_5xx"
            } else {
                "http_4xx"
            })
        });
    let retry_after_ms = if status == 429 || status == 503 {
        net::retry_after_ms(&response)
    } else {
        0
    };
    Err(fail(NetError::Status { status, code }, retry_after_ms))
}
