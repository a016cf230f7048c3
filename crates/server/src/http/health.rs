//! `GET /healthz`: whether the service can serve, including a ledger read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::AppState;

/// 200 with the backend and key count when the ledger answers a read; 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.ledger.find("").await {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ok",
                "ledger": state.ledger.backend(),
                "keys": state.keys.len(),
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: the ledger does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "ledger": state.ledger.backend() })),
            )
        }
    }
}
