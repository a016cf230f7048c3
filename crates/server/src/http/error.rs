//! The one error type of the HTTP layer. 4xx answers carry `{code, message}` naming
//! what was wrong; 5xx answers are opaque and the cause goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::ledger::LedgerError;

/// The stable error code of a response, left in its extensions for the metrics
/// middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// An HTTP error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not valid; `code` names the rule it broke.
    #[error("{message}")]
    BadRequest {
        /// Stable snake_case code.
        code: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// The body is not JSON (or not a form, where one is expected).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The client did not send the whole body in time.
    #[error("the request body did not arrive within {0} s; send it in one go")]
    RequestTimeout(u64),
    /// The body is larger than the limit.
    #[error("the request body is larger than {0} bytes; send only the consent fields")]
    PayloadTooLarge(usize),
    /// No usable bearer token.
    #[error("{message}")]
    Unauthorized {
        /// Stable snake_case code (a token error code, or `missing_token`).
        code: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// The token is valid but does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing at this path.
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method.
    #[error("this path does not take that method; see the README for the API")]
    MethodNotAllowed,
    /// The consent id is already recorded with a different request.
    #[error("{0}")]
    Conflict(String),
    /// Too many requests from this client network.
    #[error("too many requests from your network; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_secs: u64,
    },
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Anything else that is the service's fault.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result of a handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            // The ledger could not commit (disk full, read-only, writer gone): nothing was
            // recorded, and a retry with the same id may succeed once storage is back.
            // `Outdated`: the subject's record kept changing under a withdrawal; retrying
            // with the same id is safe.
            Self::Ledger(
                LedgerError::NotCommitted(_) | LedgerError::Closed | LedgerError::Outdated { .. },
            ) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Ledger(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Unauthorized { code, .. } => code,
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RequestTimeout(_) => "request_timeout",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::Ledger(
                LedgerError::NotCommitted(_) | LedgerError::Closed | LedgerError::Outdated { .. },
            ) => "unavailable",
            Self::Ledger(_) | Self::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let message = if status.is_server_error() {
            // The cause may hold SQL, paths or driver text: log it, never send it.
            tracing::error!(error = %self, "request failed");
            "the service could not complete the request; try again later".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (
            status,
            Json(serde_json::json!({ "code": code, "message": message })),
        )
            .into_response();
        response.extensions_mut().insert(ErrorCode(code));
        match &self {
            Self::RateLimited { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Unauthorized { .. } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"vivus-consent\""),
                );
            }
            _ => {}
        }
        response
    }
}
