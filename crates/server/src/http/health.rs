//! `GET /healthz`: whether the service can serve, including a ledger read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::AppState;

/// 200 with the backend and key count when the ledger answers a read (`status`
/// `degraded` while it takes no appends); 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.ledger.find("").await {
        Ok(_) => match state.ledger.unwritable() {
            None => (
                StatusCode::OK,
                Json(serde_json::json!({
                    "status": "ok",
                    "ledger": state.ledger.backend(),
                    "keys": state.keys.len(),
                })),
            ),
            // Reads are served, appends answer 503; the cause is in the log, not here.
            Some(_) => (
                StatusCode::OK,
                Json(serde_json::json!({
                    "status": "degraded",
                    "ledger": state.ledger.backend(),
                    "keys": state.keys.len(),
                    "writable": false,
                })),
            ),
        },
        Err(e) => {
            tracing::error!(error = %e, "health check: the ledger does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "ledger": state.ledger.backend() }),
                ),
            )
        }
    }
}
