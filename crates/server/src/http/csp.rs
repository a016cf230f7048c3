//! The demo site under a Content-Security-Policy: the header with a fresh nonce per HTML
//! response, and a small in-memory collector of violation reports for tests and staging.
//!
//! The nonce: `{nonce}` in the configured policy and every `__CSP_NONCE__` in the page become
//! the same 128-bit random value, so an inline script written `nonce="__CSP_NONCE__"` runs and
//! an injected one does not. Without a policy the placeholder stays in the page, where it is
//! inert (a nonce attribute with no policy does nothing).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::Error;

/// What the page writes where the nonce goes.
pub const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";
/// Largest HTML page that gets a nonce; a bigger one is served without the policy's nonce
/// replaced (and so its inline scripts stay blocked, which is the safe side).
const HTML_LIMIT: usize = 2 * 1024 * 1024;
/// Reports kept by the collector (the newest).
pub const REPORTS_KEPT: usize = 100;
/// Largest report body read.
const REPORT_LIMIT: usize = 64 * 1024;

/// Puts `policy` on an HTML response, with a fresh nonce in the header and in the page.
pub async fn apply(policy: &str, response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if !is_html {
        return response;
    }
    if !policy.contains("{nonce}") {
        let mut response = response;
        if let Ok(value) = HeaderValue::from_str(policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
        return response;
    }
    let mut seed = [0u8; 16];
    if getrandom::fill(&mut seed).is_err() {
        // No randomness, no nonce: serve the page with an error rather than a guessable nonce.
        tracing::error!("no randomness for the CSP nonce");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let nonce = vivus_consent_core::base64url::encode(&seed);
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, HTML_LIMIT).await else {
        tracing::error!(
            "an HTML page is larger than {HTML_LIMIT} bytes; not served under the nonce policy"
        );
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains(NONCE_PLACEHOLDER) => {
            Bytes::from(text.replace(NONCE_PLACEHOLDER, &nonce))
        }
        _ => bytes,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    // The page differs per response now: caches must not keep it.
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.remove(header::ETAG);
    parts.headers.remove(header::LAST_MODIFIED);
    if let Ok(value) = HeaderValue::from_str(&policy.replace("{nonce}", &nonce)) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, Body::from(page))
}

/// The last reports, newest last.
#[derive(Debug, Default, Clone)]
struct Reports(Arc<Mutex<VecDeque<serde_json::Value>>>);

/// `POST /csp-reports` and `GET /csp-reports`.
pub fn collector<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/csp-reports", post(receive).get(list).delete(clear))
        .layer(DefaultBodyLimit::max(REPORT_LIMIT))
        .with_state(Reports::default())
}

/// Accepts `application/csp-report` (`report-uri`: one `{"csp-report": {...}}`) and
/// `application/reports+json` (`report-to`: an array of reports); keeps each report's body.
async fn receive(State(reports): State<Reports>, request: Request) -> Result<StatusCode, Error> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        content_type.as_str(),
        "application/csp-report" | "application/reports+json" | "application/json"
    ) {
        return Err(Error::UnsupportedMediaType(format!(
            "a CSP report is application/csp-report or application/reports+json (got {content_type:?})"
        )));
    }
    let bytes = axum::body::to_bytes(request.into_body(), REPORT_LIMIT)
        .await
        .map_err(|_| Error::PayloadTooLarge(REPORT_LIMIT))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::bad_request(
            "malformed_json",
            format!("the report is not valid JSON: {e}"),
        )
    })?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    let mut kept = reports
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for item in items {
        tracing::warn!(report = %item, "CSP violation report");
        if kept.len() == REPORTS_KEPT {
            kept.pop_front();
        }
        kept.push_back(item);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list(State(reports): State<Reports>) -> Json<serde_json::Value> {
    let kept = reports
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Json(serde_json::json!({ "reports": kept.iter().cloned().collect::<Vec<_>>() }))
}

async fn clear(State(reports): State<Reports>) -> StatusCode {
    reports
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(content_type: &str, body: &'static str) -> Response {
        let mut response = Response::new(Body::from(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("type"),
        );
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        response
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn html_gets_one_fresh_nonce_in_header_and_page() {
        let policy = "script-src 'self' 'nonce-{nonce}'";
        let html =
            r#"<script nonce="__CSP_NONCE__">1</script><script nonce="__CSP_NONCE__">2</script>"#;
        let a = apply(policy, page("text/html; charset=utf-8", html)).await;
        let header = a.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            a.headers().get(header::CONTENT_LENGTH).is_none(),
            "the length changed"
        );
        assert_eq!(a.headers()[header::CACHE_CONTROL], "no-store");
        let nonce = header
            .strip_prefix("script-src 'self' 'nonce-")
            .and_then(|s| s.strip_suffix('\''))
            .expect("nonce");
        assert_eq!(nonce.len(), 22, "128 bits, base64url");
        assert_eq!(body(a).await, html.replace(NONCE_PLACEHOLDER, nonce));
        let b = apply(policy, page("text/html", html)).await;
        assert_ne!(
            b.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii"),
            header,
            "a nonce per response"
        );
    }

    #[tokio::test]
    async fn other_types_and_nonce_free_policies_leave_the_body_alone() {
        let js = "const n = '__CSP_NONCE__';";
        let r = apply("script-src 'nonce-{nonce}'", page("text/javascript", js)).await;
        assert!(r.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
        assert_eq!(body(r).await, js);
        let r = apply(
            "script-src 'self'",
            page("text/html", "<p>__CSP_NONCE__</p>"),
        )
        .await;
        assert_eq!(
            r.headers()[header::CONTENT_SECURITY_POLICY],
            "script-src 'self'"
        );
        assert_eq!(body(r).await, "<p>__CSP_NONCE__</p>");
    }
}
