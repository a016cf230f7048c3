//! The HTTP API: routes, shared state, the strict JSON extractor, CORS, rate limiting,
//! and the demo site's static files.

pub mod client;
pub mod consent;
pub mod console;
pub mod csp;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod health;
pub mod jwks;
pub mod metrics;
pub mod operator;
pub mod policy;
pub mod ratelimit;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::{Error, Result};

use crate::config::ServeConfig;
use crate::keys::KeyRing;
use crate::ledger::Ledger;
use metrics::Metrics;
use ratelimit::RateLimiter;

/// Largest request body the API reads; a consent request is about 300 bytes.
pub const BODY_LIMIT: usize = 8 * 1024;

/// Settings the handlers need, derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `iss` of issued tokens and the issuer required of presented ones.
    pub issuer: String,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Consent cookie name.
    pub cookie_name: String,
    /// Consent cookie `Domain`, if any.
    pub cookie_domain: Option<String>,
    /// CORS allowlist (exact origins).
    pub allowed_origins: Vec<String>,
    /// Take the client IP from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The demo site's directory.
    pub static_dir: Option<PathBuf>,
    /// `Content-Security-Policy` of the demo site's HTML pages (`{nonce}`: per response).
    pub content_security_policy: Option<String>,
    /// Serve the CSP report collector at `/csp-reports`.
    pub csp_report_collector: bool,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body.
    pub body_read_timeout: Duration,
    /// Most client connections open at once.
    pub max_connections: usize,
    /// `max-age` of the JWK set: how long verifiers may cache it.
    pub jwks_max_age_secs: u64,
}

impl Settings {
    /// The settings of a configuration.
    pub fn from_config(config: &ServeConfig) -> Self {
        Self {
            issuer: config.issuer.clone(),
            token_ttl_secs: u64::from(config.token_ttl_days) * 86_400,
            cookie_name: config.cookie_name.clone(),
            cookie_domain: config.cookie_domain.clone(),
            allowed_origins: config.allowed_origins.clone(),
            trust_forwarded_for: config.trust_forwarded_for,
            static_dir: config.static_dir.clone(),
            content_security_policy: config.content_security_policy.clone(),
            csp_report_collector: config.csp_report_collector,
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
            jwks_max_age_secs: config.jwks_max_age_secs,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The ledger.
    pub ledger: Arc<dyn Ledger>,
    /// The signing keys.
    pub keys: Arc<KeyRing>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The per-client rate limiter; `None` when off.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Operator accounts and the operator API's limits.
    pub operator: Arc<operator::OperatorAccess>,
}

/// The whole service as a router. Serve it with `into_make_service_with_connect_info`
/// so the client address is known.
pub fn app(state: AppState) -> Router {
    let limited = Router::new()
        .route("/v1/consents", post(consent::record))
        .route("/v1/consents/{id}/withdraw", post(consent::withdraw))
        .route("/v1/subjects/{subject}/consents", get(consent::history))
        .route("/v1/verify", post(jwks::verify))
        .route("/v1/ledger/head", get(consent::head))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let api = Router::new()
        .merge(limited)
        .merge(operator::routes(state.clone()))
        .route("/v1/policy", get(policy::current))
        .route("/v1/policy/{version}/{file}", get(policy::text))
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors(&state.settings.allowed_origins));
    let demo = Router::new()
        .route("/demo/applications", post(demo::application))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let console = console::routes(state.settings.content_security_policy.clone());
    let mut router = Router::new().merge(api).merge(demo).merge(console);
    if state.settings.csp_report_collector {
        router = router.merge(csp::collector());
    }
    router = match &state.settings.static_dir {
        Some(dir) => {
            let site =
                ServeDir::new(dir.join("www")).not_found_service(axum::routing::any(not_found));
            let pkg =
                ServeDir::new(dir.join("pkg")).not_found_service(axum::routing::any(not_found));
            let statics = Router::new()
                .nest_service("/pkg", pkg)
                .fallback_service(site)
                .layer(middleware::from_fn_with_state(
                    state.settings.content_security_policy.clone(),
                    static_headers,
                ));
            router.merge(statics)
        }
        None => router.fallback(not_found),
    };
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Security headers for the static demo site; the Content-Security-Policy (with its
/// per-response nonce) on HTML pages when one is configured.
async fn static_headers(
    State(csp): State<Option<String>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let mut response = match csp {
        Some(policy) => csp::apply(&policy, response).await,
        None => response,
    };
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // The site frames its own pages (the video embed); other sites may not.
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

async fn not_found() -> Error {
    Error::NotFound("nothing here; the API is under /v1 (see the README)".to_owned())
}

/// The client's masked network: the rate-limit key and what the ledger stores.
pub fn client_network(
    request_headers: &axum::http::HeaderMap,
    peer: Option<SocketAddr>,
    settings: &Settings,
) -> String {
    client::masked_network(client::client_ip(
        request_headers,
        peer,
        settings.trust_forwarded_for,
    ))
}

async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &state.limiter {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let key = client_network(request.headers(), peer, &state.settings);
        if let Err(wait) = limiter.check(&key, Instant::now()) {
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Error::RateLimited { retry_after_secs }.into_response();
        }
    }
    next.run(request).await
}

/// A JSON body read strictly: `Content-Type: application/json`, at most
/// [`BODY_LIMIT`] bytes, no unknown members; every failure is a 4xx naming the problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(Error::UnsupportedMediaType(format!(
                "the body must be JSON with Content-Type: application/json (got {:?})",
                content_type
            )));
        }
        // A declared length over the limit is refused before reading: the limit on the
        // read alone would wait for bytes the client may never send.
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(Error::PayloadTooLarge(BODY_LIMIT));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge(BODY_LIMIT)
                } else if let Some(deadline::BodyTimedOut(secs)) = deadline::timed_out(&rejection) {
                    Error::RequestTimeout(secs)
                } else {
                    Error::bad_request(
                        "unreadable_body",
                        format!("the request body could not be read ({rejection}); send it again"),
                    )
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(AppJson)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => Error::bad_request(
                    "invalid_request",
                    format!(
                        "the request does not match the API: {e}; see the README for the fields"
                    ),
                ),
                _ => {
                    Error::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
                }
            })
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
