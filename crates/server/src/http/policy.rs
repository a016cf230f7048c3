//! The privacy policy: the current version and its published texts.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy;

use super::{Error, Result};

/// `GET /v1/policy`: the current version, its digest and languages.
pub async fn current() -> Json<serde_json::Value> {
    let languages: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
    Json(serde_json::json!({
        "version": policy::CURRENT.id,
        "digest": policy::CURRENT.digest,
        "languages": languages,
    }))
}

/// `GET /v1/policy/{version}/{lang}.md`: the Markdown text of a published version.
pub async fn text(Path((version, file)): Path<(String, String)>) -> Result<Response> {
    let lang = file
        .strip_suffix(".md")
        .and_then(|code| Language::ALL.into_iter().find(|l| l.as_str() == code))
        .ok_or_else(|| {
            Error::NotFound(format!("no policy file {file:?}; ask for ru.md or kk.md"))
        })?;
    let markdown = policy::text(&version, lang).ok_or_else(|| {
        Error::NotFound(format!(
            "no policy version {version:?}; the current one is {}",
            policy::CURRENT.id
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            // A published version never changes: its digest is in every token.
            (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
        ],
        markdown,
    )
        .into_response())
}
