//! The published keys, token verification for backends, and the bearer-token check the
//! other endpoints use.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims, Expected, TokenError};

use super::{AppJson, AppState, Error, Result};

/// `GET /.well-known/jwks.json`: every key, newest (the signing one) first.
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    // Verifiers may cache the set briefly; a rotation publishes the new key before it
    // signs anything (it signs from the next start), so a short cache is safe.
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(state.keys.jwks().clone()))
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
pub async fn verify(State(state): State<AppState>, AppJson(body): AppJson<VerifyRequest>) -> Json<serde_json::Value> {
    let expected = Expected {
        issuer: &state.settings.issuer,
        policy_digest: policy::CURRENT.digest,
        now: now_secs(),
    };
    Json(match token::verify(&body.token, state.keys.jwks(), &expected) {
        Ok(claims) => serde_json::json!({ "valid": true, "claims": claims }),
        Err(e) => serde_json::json!({ "valid": false, "code": e.code(), "message": e.to_string() }),
    })
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
    verify_any_policy(jws, state).map_err(|e| Error::Unauthorized { code: e.code(), message: e.to_string() })
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
    let expected = Expected { issuer: &state.settings.issuer, policy_digest: digest, now: now_secs() };
    token::verify(jws, state.keys.jwks(), &expected)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    u64::try_from(crate::now_ms() / 1000).unwrap_or(0)
}
