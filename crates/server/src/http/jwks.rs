//! The published keys, token verification for backends, and the bearer-token check the
//! other endpoints use.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims, Expected, TokenError};

use super::{AppJson, AppState, Error, Result};
use crate::ledger::hex;

/// `GET /.well-known/jwks.json`: every key, newest first, pending and retired ones too.
///
/// `Cache-Control: public, max-age=<--jwks-max-age-secs>`: browsers (the SDK fetches it
/// with `cache: 'force-cache'`, trusting only keys that came from the network or the HTTP
/// cache, which no page script can write) and other instances keep it that long. That is
/// why a new key is published for at least this long before it signs (`keys rotate
/// --activate-after`). An `ETag` lets a client that must refresh early (a token with an
/// unknown `kid`) revalidate with `If-None-Match` and get a `304` when nothing changed.
pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // A key set of a few keys: serialising cannot fail.
    let body = serde_json::to_vec(state.keys.jwks()).unwrap_or_default();
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body)[..16]));
    let cache_control = format!("public, max-age={}", state.settings.jwks_max_age_secs);
    let revalidated = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*")
        });
    let mut response = if revalidated {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    response
}

/// The body of `POST /v1/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The compact JWS to check.
    pub token: String,
}

/// `POST /v1/verify`: checks a token against the current policy for backends without a
/// JOSE library. Always 200; `valid` says the verdict.
pub async fn verify(
    State(state): State<AppState>,
    AppJson(body): AppJson<VerifyRequest>,
) -> Json<serde_json::Value> {
    let expected = Expected {
        issuer: &state.settings.issuer,
        policy_digest: policy::CURRENT.digest,
        now: now_secs(),
    };
    Json(
        match token::verify(&body.token, state.keys.jwks(), &expected) {
            Ok(claims) => serde_json::json!({ "valid": true, "claims": claims }),
            Err(e) => {
                serde_json::json!({ "valid": false, "code": e.code(), "message": e.to_string() })
            }
        },
    )
}

/// Verifies the `Authorization: Bearer` token of a request. The token may be for any
/// published policy version: reading one's history or withdrawing consent must keep
/// working after the policy changes.
///
/// # Errors
///
/// [`Error::Unauthorized`] with `missing_token` or the token error's code.
pub fn bearer_claims(headers: &HeaderMap, state: &AppState) -> Result<Claims> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Unauthorized {
            code: "missing_token",
            message: "send the visitor's consent token as Authorization: Bearer <token>".to_owned(),
        })?;
    let jws = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Unauthorized {
            code: "missing_token",
            message: "the Authorization header must be Bearer <consent token>".to_owned(),
        })?;
    verify_any_policy(jws, state).map_err(|e| Error::Unauthorized {
        code: e.code(),
        message: e.to_string(),
    })
}

/// Verifies a token signed by us for any published policy version.
///
/// # Errors
///
/// The [`TokenError`] of the first check that fails.
pub fn verify_any_policy(jws: &str, state: &AppState) -> Result<Claims, TokenError> {
    // The unverified claims only choose which published digest to require; the
    // signature check that follows covers them.
    let peeked = token::peek_claims(jws)?;
    let digest = policy::VERSIONS
        .iter()
        .find(|v| v.digest == peeked.pd)
        .map_or(policy::CURRENT.digest, |v| v.digest);
    let expected = Expected {
        issuer: &state.settings.issuer,
        policy_digest: digest,
        now: now_secs(),
    };
    token::verify(jws, state.keys.jwks(), &expected)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    crate::now_secs()
}
