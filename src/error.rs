//! The SDK's one error type, and how it crosses into JavaScript.
//!
//! Errors are hand-written rather than derived with thiserror: the Display texts are
//! static strings plus at most one detail, so no formatting machinery is pulled into the
//! wasm for them.

use core::fmt;

/// A `Result` whose error is [`SdkError`].
pub type Result<T, E = SdkError> = core::result::Result<T, E>;

/// Everything that can go wrong in the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkError {
    /// The configuration passed to `init` is invalid; the text names the member.
    Config(String),
    /// An argument of an API call is invalid; the text names it.
    Argument(&'static str),
    /// `init` has not finished (or failed), so there is no consent state yet.
    NotInitialized,
    /// The browser API the SDK needs is missing (no `window`, `document` or `crypto`).
    Unsupported(&'static str),
    /// The visitor closed the policy-acceptance dialog without accepting.
    Declined,
    /// The visitor accepted the policy and closed the dialog before the service recorded it
    /// (it was failing): the choice is kept and retried with the same consent id.
    AcceptancePending,
}

impl SdkError {
    /// A stable snake_case code JavaScript can branch on (`err.code`).
    pub fn code(&self) -> &'static str {
        match self {
            SdkError::Config(_) => "invalid_config",
            SdkError::Argument(_) => "invalid_argument",
            SdkError::NotInitialized => "not_initialized",
            SdkError::Unsupported(_) => "unsupported",
            SdkError::Declined => "declined",
            SdkError::AcceptancePending => "acceptance_pending",
        }
    }

    /// The JS `Error.name`: `TypeError` for bad input, `VivusConsentError` otherwise.
    pub fn name(&self) -> &'static str {
        match self {
            SdkError::Config(_) | SdkError::Argument(_) => "TypeError",
            _ => "VivusConsentError",
        }
    }
}

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdkError::Config(text) => {
                f.write_str("invalid vivus-consent config: ")?;
                f.write_str(text)
            }
            SdkError::Argument(text) => f.write_str(text),
            SdkError::NotInitialized => {
                f.write_str("vivus-consent is not initialized: call and await init(config) first")
            }
            SdkError::Unsupported(what) => {
                f.write_str(what)?;
                f.write_str(" is not available: vivus-consent runs in a browser window")
            }
            SdkError::Declined => f.write_str(
                "the visitor did not accept the personal data policy; ask again when they submit",
            ),
            SdkError::AcceptancePending => f.write_str(
                "the visitor accepted the policy but the consent service has not recorded it yet; \
                 the choice is kept and retried: call again to wait for it",
            ),
        }
    }
}

impl std::error::Error for SdkError {}

/// A cookie or localStorage access failed: storage is disabled, full or throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageError {
    /// `window.localStorage` threw or is `null` (blocked by the browser or a privacy setting).
    Unavailable,
    /// Reading or writing an item threw (quota exceeded, storage disabled mid-session).
    Access,
    /// `document.cookie` threw (sandboxed or opaque-origin document).
    Cookie,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageError::Unavailable => {
                "localStorage is not available; consent is kept in the cookie and for this page only"
            }
            StorageError::Access => {
                "reading or writing localStorage failed; consent is kept in the cookie and for this page only"
            }
            StorageError::Cookie => {
                "document.cookie is not accessible; consent is kept in localStorage or for this page only"
            }
        })
    }
}

impl std::error::Error for StorageError {}

/// Talking to the consent service failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum NetError {
    /// The request could not be sent or got no answer (offline, DNS, refused, CORS).
    Network,
    /// No answer within the configured timeout.
    Timeout,
    /// The service answered with an error status; `code` is its `{"code"}` or the status
    /// class (`http_4xx`, `http_5xx`).
    Status {
        /// The HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
    },
    /// The answer was not the JSON the API defines.
    BadResponse,
}

impl NetError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            NetError::Network => "network",
            NetError::Timeout => "timeout",
            // 408 and 429 are retried like their 5xx and timeout cousins, so they share their
            // codes and messages ("we will retry"), not the refusal's "reload and choose again".
            NetError::Status { status: 408, .. } => "timeout",
            NetError::Status { status, .. } if *status >= 500 || *status == 429 => "server_error",
            NetError::Status { .. } => "rejected",
            NetError::BadResponse => "bad_response",
        }
    }

    /// What the failure means for the choice: retried, kept, or dropped as refused.
    pub fn failure(&self) -> crate::controller::Failure {
        use crate::controller::Failure;
        match self {
            _ if self.is_retryable() => Failure::Transient,
            NetError::Status { .. } => Failure::Refused,
            _ => Failure::Unusable,
        }
    }

    /// Whether trying again later can help: network trouble, timeouts, 5xx, 408 and 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            NetError::Network | NetError::Timeout => true,
            NetError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            NetError::BadResponse => false,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Network => f.write_str(
                "the consent service could not be reached; check the endpoint option and the network",
            ),
            NetError::Timeout => f.write_str(
                "the consent service did not answer in time; it will be retried, or raise net.timeoutMs",
            ),
            NetError::Status { code, .. } => {
                f.write_str("the consent service refused the request (")?;
                f.write_str(code)?;
                f.write_str("); check the endpoint and the service logs")
            }
            NetError::BadResponse => f.write_str(
                "the consent service answered with something other than the expected JSON; check the endpoint option",
            ),
        }
    }
}

impl std::error::Error for NetError {}

impl From<SdkError> for wasm_bindgen::JsValue {
    /// A JS `Error` with a stable `name` and `code`, so callers can branch without
    /// parsing the message.
    fn from(err: SdkError) -> Self {
        let js = js_sys::Error::new(&err.to_string());
        js.set_name(err.name());
        // Reflect::set on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &"code".into(), &err.code().into());
        js.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_lowercase() {
        let cases = [
            (SdkError::Config("x".into()), "invalid_config"),
            (SdkError::NotInitialized, "not_initialized"),
            (SdkError::Declined, "declined"),
            (SdkError::AcceptancePending, "acceptance_pending"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            let text = err.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
        // What the service's failures are reported as (the `error` events' codes).
        let net = [
            (NetError::Timeout, "timeout"),
            (
                NetError::Status {
                    status: 503,
                    code: "x".into(),
                },
                "server_error",
            ),
            (
                NetError::Status {
                    status: 409,
                    code: "conflict".into(),
                },
                "rejected",
            ),
        ];
        for (err, code) in net {
            assert_eq!(err.code(), code);
            let text = err.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(NetError::Network.is_retryable());
        assert!(NetError::Timeout.is_retryable());
        assert!(NetError::Status {
            status: 502,
            code: String::new()
        }
        .is_retryable());
        assert!(NetError::Status {
            status: 429,
            code: String::new()
        }
        .is_retryable());
        let busy = NetError::Status {
            status: 429,
            code: "rate_limited".into(),
        };
        assert_eq!(
            busy.code(),
            "server_error",
            "told as retried, not as refused"
        );
        let slow = NetError::Status {
            status: 408,
            code: "request_timeout".into(),
        };
        assert_eq!(slow.code(), "timeout");
        assert!(!NetError::Status {
            status: 409,
            code: String::new()
        }
        .is_retryable());
        assert!(!NetError::BadResponse.is_retryable());
    }
}
