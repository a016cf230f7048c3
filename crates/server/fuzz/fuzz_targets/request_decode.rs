//! A request body as the service decodes it: the strict JSON extractor (`AppJson`, with
//! its Content-Type check, 8 KiB limit and deny-unknown-fields decoding) and then the
//! validation the handler runs. Nothing may panic, every refusal must be a 4xx (a 5xx
//! would mean the decoder blamed itself for bad input), and an accepted request must
//! turn into claims. The first input byte picks the Content-Type, the rest is the body.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use vivus_consent_core::consent::{ConsentRequest, WithdrawRequest};
use vivus_consent_core::policy;
use vivus_consent_core::token::Claims;
use vivus_consent_server::http::AppJson;

const CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded",
    "",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime"))
}

fn request(content_type: &str, body: &[u8]) -> Request<Body> {
    let mut builder = Request::post("/v1/consents");
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Body::from(body.to_vec())).expect("request")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    runtime().block_on(async {
        match AppJson::<ConsentRequest>::from_request(request(content_type, body), &()).await {
            Ok(AppJson(consent)) => {
                assert!(content_type.to_ascii_lowercase().starts_with("application/json"));
                if consent.validate(&policy::CURRENT).is_ok() {
                    let claims = Claims::from_request(&consent, "vivus-consent", 1, 2);
                    assert_eq!(claims.jti, consent.id);
                    assert!(claims.cat.contains(vivus_consent_core::category::Category::Necessary));
                }
                let _ = consent.canonical_bytes();
            }
            Err(e) => assert!(e.status().is_client_error(), "{e:?} is not a 4xx"),
        }
        match AppJson::<WithdrawRequest>::from_request(request(content_type, body), &()).await {
            Ok(AppJson(withdraw)) => {
                let _ = withdraw.validate();
                let _ = withdraw.withdrawn().len();
                let _ = withdraw.canonical_bytes();
            }
            Err(e) => assert!(e.status().is_client_error(), "{e:?} is not a 4xx"),
        }
    });
});
