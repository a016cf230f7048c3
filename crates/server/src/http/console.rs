//! The operator console at `/operator/`: static files kept in `crates/server/console/`
//! (plain HTML, CSS and JavaScript modules, no build step) and compiled into the binary,
//! so every deployment serves it, with or without `--static-dir`.
//!
//! The pages always carry the console's own strict Content-Security-Policy: scripts,
//! styles and requests only from this origin, no inline code, Trusted Types with no
//! policy (the console never turns text into markup), not framed. A policy configured with
//! `--content-security-policy` is sent as well; the browser enforces both.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::Error;

/// The console's own policy.
pub const CONSOLE_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// The files: name, content type, bytes.
const FILES: [(&str, &str, &str); 5] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../console/index.html"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/console.js"),
    ),
    (
        "proof.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/proof.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../console/console.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../console/favicon.svg"),
    ),
];

/// `/operator` (redirects), `/operator/` and `/operator/{file}`.
pub fn routes<S: Clone + Send + Sync + 'static>(site_csp: Option<String>) -> Router<S> {
    let index_csp = site_csp.clone();
    Router::new()
        .route(
            "/operator",
            get(|| async { Redirect::permanent("/operator/") }),
        )
        .route(
            "/operator/",
            get(move || serve("index.html".to_owned(), index_csp.clone())),
        )
        .route(
            "/operator/{file}",
            get(move |Path(file): Path<String>| serve(file, site_csp.clone())),
        )
}

async fn serve(name: String, site_csp: Option<String>) -> Response {
    let Some((_, content_type, text)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return Error::NotFound(format!("the console has no file {name:?}")).into_response();
    };
    let mut response = Response::new(Body::from(*text));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(policy) = &site_csp {
        response = super::csp::apply(policy, response).await;
    }
    let headers = response.headers_mut();
    headers.append(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    response
}
