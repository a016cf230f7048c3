//! Recording consent, withdrawing it, and a subject's history.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};
use vivus_consent_core::consent::{ConsentId, ConsentRequest, SubjectId, WithdrawRequest};
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims};

use super::client::Peer;
use super::jwks::bearer_claims;
use super::{client_network, AppJson, AppState, Error, Result, Settings};
pub use crate::ledger::hex;
use crate::ledger::{
    category_list, truncate_user_agent, Appended, Committed, Entry, LedgerError, Personal, Record,
    RecordKind, SignedHead,
};

/// Most records the history endpoint returns.
pub const HISTORY_LIMIT: u32 = 1000;

/// How often a withdrawal is derived again when the subject's newest record changed
/// between reading it and appending (another decision of the same visitor landed in
/// between). Each retry means another record of that subject was committed meanwhile.
const WITHDRAW_ATTEMPTS: usize = 16;

/// The answer to a recorded consent or withdrawal.
#[derive(Debug, Serialize)]
pub struct Recorded {
    /// The signed consent token.
    pub token: String,
    /// Proof of the ledger record.
    pub receipt: Receipt,
}

/// Where a consent sits in the ledger.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The consent id.
    pub consent_id: String,
    /// Position in the ledger's chain.
    pub sequence: i64,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// The record's chain hash (hex); keep it to prove later that the record is unchanged.
    pub record_hash: String,
    /// The newest signed checkpoint of the ledger's head (a compact JWS, typ
    /// `ledger-head+jwt`), which covers this record when `sequence` ≤ its `seq`; keep it to
    /// prove later that the ledger was not rewritten. `null` only when the ledger has none.
    pub signed_head: Option<String>,
}

impl Receipt {
    fn of(record: &Record, head: Option<&SignedHead>) -> Self {
        Self {
            consent_id: record.entry.consent_id.clone(),
            sequence: record.sequence,
            recorded_at: record.entry.recorded_at,
            record_hash: hex(&record.hash),
            signed_head: head.map(|h| h.token.clone()),
        }
    }
}

/// `GET /v1/ledger/head`: the newest signed checkpoint of the ledger's head.
pub async fn head(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    let head = state.ledger.signed_head().await?.ok_or_else(|| {
        Error::NotFound("the ledger has no signed head yet: nothing has been recorded".to_owned())
    })?;
    Ok(Json(serde_json::json!({
        "sequence": head.sequence,
        "recordHash": hex(&head.hash),
        "signedAt": head.signed_at,
        "kid": head.kid,
        "signedHead": head.token,
    })))
}

/// `POST /v1/consents`.
pub async fn record(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    AppJson(request): AppJson<ConsentRequest>,
) -> Result<Response> {
    request
        .validate(&policy::CURRENT)
        .map_err(|e| Error::bad_request(e.code(), e.to_string()))?;
    let request_hash: [u8; 32] = Sha256::digest(request.canonical_bytes()).into();
    let recorded_at = crate::now_ms();
    let granted = request.granted();
    let iat = u64::try_from(recorded_at / 1000).unwrap_or(0);
    let claims = Claims::from_request(
        &request,
        &state.settings.issuer,
        iat,
        iat + state.settings.token_ttl_secs,
    );
    let token = sign(&state, &claims)?;
    let user_agent = user_agent(&headers);
    let client_network = client_network(&headers, peer, &state.settings);
    let entry = Entry {
        consent_id: request.id.as_str().to_owned(),
        subject_id: request.subject.as_str().to_owned(),
        kind: RecordKind::Consent,
        withdraws: None,
        recorded_at,
        policy_version: request.policy.version.clone(),
        policy_digest: request.policy.digest.clone(),
        language: request.language.as_str().to_owned(),
        categories: category_list(granted),
        policy_accepted: request.policy_accepted,
        source: request.source.as_str().to_owned(),
        gpc: request.gpc,
        personal: Personal::seal(&user_agent, &client_network)?,
        user_agent,
        client_network,
        request_hash,
        token,
    };
    let committed = state.ledger.commit(entry, None).await?;
    respond(&state, &headers, committed, &request_hash).await
}

/// `POST /v1/consents/{id}/withdraw`: authorized by the token of consent `{id}`.
pub async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Peer(peer): Peer,
    headers: HeaderMap,
    AppJson(request): AppJson<WithdrawRequest>,
) -> Result<Response> {
    let id = ConsentId::parse(&id)
        .map_err(|e| Error::bad_request(e.code(), format!("in the path: {e}")))?;
    let previous = bearer_claims(&headers, &state)?;
    if previous.jti != id {
        return Err(Error::Forbidden(format!(
            "the token is for consent {}, not {id}; send the token of the consent you withdraw from",
            previous.jti
        )));
    }
    request
        .validate()
        .map_err(|e| Error::bad_request(e.code(), e.to_string()))?;
    let mut hasher = Sha256::new();
    hasher.update(b"withdraw\0");
    hasher.update(id.as_str());
    hasher.update(b"\0");
    hasher.update(request.canonical_bytes());
    let request_hash: [u8; 32] = hasher.finalize().into();

    // The withdrawal starts from what the subject's consent stands at now (the newest
    // record), not from the presented token: an older token may still grant a category
    // that a later decision refused, and a withdrawal must never grant it again. Its
    // policy, language and acceptance come from the same record for the same reason.
    // Reading that record and appending are one step: the append names the record it was
    // derived from, and the writer refuses it (`Outdated`) if the subject has a newer one
    // by then (two withdrawals from two tabs at once), so it is derived again from that.
    let kind = if request.policy_acceptance {
        RecordKind::PolicyWithdrawalRequest
    } else {
        RecordKind::Withdrawal
    };
    let user_agent = user_agent(&headers);
    let client_network = client_network(&headers, peer, &state.settings);
    let gpc = headers.get("sec-gpc").is_some_and(|v| v.as_bytes() == b"1");
    let mut last_error = None;
    for _ in 0..WITHDRAW_ATTEMPTS {
        let (newest, current) = match state.ledger.latest(previous.sub.as_str()).await? {
            Some(record) => {
                let claims = token::peek_claims(&record.entry.token).map_err(|e| {
                    Error::Internal(format!(
                        "the token stored in ledger record {} does not decode: {e}",
                        record.sequence
                    ))
                })?;
                (record.sequence, claims)
            }
            // Nothing recorded for this subject (a ledger started afresh): the token is all there is.
            None => (0, previous.clone()),
        };
        let mut granted = current.cat;
        for category in request.withdrawn() {
            granted.remove(category);
        }
        // Withdrawing the policy acceptance is recorded as a request and does not change
        // `pa`: the law may keep it from taking effect while a loan obligation is open, and
        // the operator decides (policy section 7).
        let recorded_at = crate::now_ms();
        let iat = u64::try_from(recorded_at / 1000).unwrap_or(0);
        let claims = Claims {
            iss: state.settings.issuer.clone(),
            sub: previous.sub.clone(),
            jti: request.id.clone(),
            iat,
            exp: iat + state.settings.token_ttl_secs,
            cat: granted,
            ..current
        };
        let token = sign(&state, &claims)?;
        let entry = Entry {
            consent_id: request.id.as_str().to_owned(),
            subject_id: claims.sub.as_str().to_owned(),
            kind,
            withdraws: Some(id.as_str().to_owned()),
            recorded_at,
            policy_version: claims.pv.clone(),
            policy_digest: claims.pd.clone(),
            language: claims.lang.as_str().to_owned(),
            categories: category_list(granted),
            policy_accepted: claims.pa,
            source: "api".to_owned(),
            gpc,
            personal: Personal::seal(&user_agent, &client_network)?,
            user_agent: user_agent.clone(),
            client_network: client_network.clone(),
            request_hash,
            token,
        };
        match state.ledger.commit(entry, Some(newest)).await {
            Ok(committed) => return respond(&state, &headers, committed, &request_hash).await,
            Err(e @ LedgerError::Outdated { .. }) => last_error = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    // Another record of this subject landed before each of the attempts: answer 503 (a
    // retry with the same id is safe) rather than keep the request waiting.
    Err(last_error.map_or_else(
        || Error::Internal("no withdrawal attempt was made".to_owned()),
        Error::from,
    ))
}

/// One record as the history endpoint shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// The consent id.
    pub consent_id: String,
    /// `consent`, `withdrawal` or `policy_withdrawal_request`.
    pub kind: &'static str,
    /// For a withdrawal, the consent it withdrew from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdraws: Option<String>,
    /// Position in the ledger.
    pub sequence: i64,
    /// Milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// Policy version id.
    pub policy_version: String,
    /// Policy digest.
    pub policy_digest: String,
    /// Language.
    pub language: String,
    /// Categories granted after this record.
    pub categories: Vec<String>,
    /// Whether the policy was accepted.
    pub policy_accepted: bool,
    /// Where the decision was made.
    pub source: String,
    /// Global Privacy Control signal.
    pub gpc: bool,
    /// The user agent recorded.
    pub user_agent: String,
    /// The client network recorded (never the full IP).
    pub client_network: String,
    /// The record's chain hash.
    pub record_hash: String,
}

impl From<Record> for HistoryRecord {
    fn from(r: Record) -> Self {
        let hash = hex(&r.hash);
        let e = r.entry;
        Self {
            consent_id: e.consent_id,
            kind: e.kind.as_str(),
            withdraws: e.withdraws,
            sequence: r.sequence,
            recorded_at: e.recorded_at,
            policy_version: e.policy_version,
            policy_digest: e.policy_digest,
            language: e.language,
            categories: e
                .categories
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            policy_accepted: e.policy_accepted,
            source: e.source,
            gpc: e.gpc,
            user_agent: e.user_agent,
            client_network: e.client_network,
            record_hash: hash,
        }
    }
}

/// `GET /v1/subjects/{subject}/consents`: what was recorded for a subject, authorized by
/// a valid token of that same subject.
pub async fn history(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>> {
    let subject = SubjectId::parse(&subject)
        .map_err(|e| Error::bad_request(e.code(), format!("in the path: {e}")))?;
    let claims = bearer_claims(&headers, &state)?;
    if claims.sub != subject {
        return Err(Error::Forbidden(
            "the token belongs to another subject; a visitor can read only their own consent history".to_owned(),
        ));
    }
    let records: Vec<HistoryRecord> = state
        .ledger
        .history(subject.as_str(), HISTORY_LIMIT)
        .await?
        .into_iter()
        .map(HistoryRecord::from)
        .collect();
    Ok(Json(
        serde_json::json!({ "subject": subject, "records": records }),
    ))
}

fn sign(state: &AppState, claims: &Claims) -> Result<String> {
    let key = state
        .keys
        .signer()
        .ok_or_else(|| Error::Internal("no signing key is loaded".to_owned()))?;
    Ok(key.sign(claims))
}

/// 201 for a new record, 200 for an idempotent retry, 409 for the same id with another
/// request. A retry's receipt carries the signed head that first covered the record, so
/// it is the answer the first attempt got (or would have got).
async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    committed: Committed,
    request_hash: &[u8; 32],
) -> Result<Response> {
    let (status, record, head) = match committed.outcome {
        Appended::New(r) => (StatusCode::CREATED, r, committed.head),
        Appended::Existing(r) if r.entry.request_hash == *request_hash => {
            let head = state.ledger.signed_head_covering(r.sequence).await?;
            (StatusCode::OK, r, head)
        }
        Appended::Existing(r) => {
            return Err(Error::Conflict(format!(
                "consent id {} is already recorded with a different request; generate a new id for a new decision",
                r.entry.consent_id
            )))
        }
    };
    let cookie = consent_cookie(&state.settings, headers, &record.entry.token);
    let body = Recorded {
        receipt: Receipt::of(&record, head.as_deref()),
        token: record.entry.token,
    };
    let mut response = (status, Json(body)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The `Set-Cookie` for the consent token, when the request comes from a page that may
/// receive it: an allowed or same-origin `Origin` on the same site as the cookie.
/// A server-set cookie is not subject to Safari's 7-day cap on script-written ones.
pub fn consent_cookie(
    settings: &Settings,
    headers: &HeaderMap,
    token: &str,
) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let (scheme, authority) = origin.split_once("://")?;
    let host_header = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same_origin = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin")
        || authority.eq_ignore_ascii_case(host_header);
    let allowed = same_origin
        || settings
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin));
    if !allowed {
        return None;
    }
    let origin_host = host_of(authority);
    let service_host = host_of(host_header);
    let same_site = match &settings.cookie_domain {
        Some(domain) => {
            domain_matches(&origin_host, domain) && domain_matches(&service_host, domain)
        }
        None => origin_host == service_host,
    };
    if !same_site {
        return None;
    }
    let mut cookie = format!(
        "{}={token}; Path=/; Max-Age={}; SameSite=Lax",
        settings.cookie_name, settings.token_ttl_secs
    );
    if let Some(domain) = &settings.cookie_domain {
        cookie.push_str("; Domain=");
        cookie.push_str(domain);
    }
    if scheme.eq_ignore_ascii_case("https") {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).ok()
}

/// The host of `host[:port]` (or `[v6]:port`), lowercase.
fn host_of(authority: &str) -> String {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.to_ascii_lowercase()
}

/// RFC 6265 domain-match.
fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .map(|v| truncate_user_agent(&String::from_utf8_lossy(v.as_bytes())))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(domain: Option<&str>, allowed: &[&str]) -> Settings {
        Settings {
            issuer: "vivus-consent".to_owned(),
            token_ttl_secs: 86_400,
            cookie_name: "vivus_consent".to_owned(),
            cookie_domain: domain.map(str::to_owned),
            allowed_origins: allowed.iter().map(|s| (*s).to_owned()).collect(),
            trust_forwarded_for: false,
            static_dir: None,
            content_security_policy: None,
            csp_report_collector: false,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 16,
            jwks_max_age_secs: 300,
        }
    }

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().expect("origin"));
        h.insert(header::HOST, host.parse().expect("host"));
        h
    }

    #[test]
    fn same_origin_gets_a_host_only_cookie() {
        let c = consent_cookie(
            &settings(None, &[]),
            &headers("http://127.0.0.1:8080", "127.0.0.1:8080"),
            "T",
        )
        .expect("cookie");
        assert_eq!(c, "vivus_consent=T; Path=/; Max-Age=86400; SameSite=Lax");
    }

    #[test]
    fn allowed_sibling_origin_gets_a_domain_cookie_with_secure() {
        let s = settings(Some("vivus.kz"), &["https://www.vivus.kz"]);
        let c = consent_cookie(
            &s,
            &headers("https://www.vivus.kz", "consent.vivus.kz"),
            "T",
        )
        .expect("cookie");
        assert_eq!(
            c,
            "vivus_consent=T; Path=/; Max-Age=86400; SameSite=Lax; Domain=vivus.kz; Secure"
        );
    }

    #[test]
    fn other_sites_and_unlisted_origins_get_none() {
        let s = settings(
            Some("vivus.kz"),
            &["https://www.vivus.kz", "https://partner.example"],
        );
        assert!(consent_cookie(
            &s,
            &headers("https://evil.example", "consent.vivus.kz"),
            "T"
        )
        .is_none());
        assert!(consent_cookie(
            &s,
            &headers("https://partner.example", "consent.vivus.kz"),
            "T"
        )
        .is_none());
        assert!(
            consent_cookie(&s, &headers("https://notvivus.kz", "consent.vivus.kz"), "T").is_none()
        );
        let mut no_origin = HeaderMap::new();
        no_origin.insert(header::HOST, "consent.vivus.kz".parse().expect("host"));
        assert!(consent_cookie(&s, &no_origin, "T").is_none());
    }

    #[test]
    fn categories_are_stored_in_canonical_order() {
        use vivus_consent_core::category::{Categories, Category};
        let set: Categories = [Category::Marketing, Category::Necessary]
            .into_iter()
            .collect();
        assert_eq!(category_list(set), "necessary,marketing");
    }
}
