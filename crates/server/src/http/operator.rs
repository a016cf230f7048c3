//! The operator API, `/v1/operator/...`: one consent with its proof, a subject's history,
//! the export of a period and the figures, for the people at the operator who answer a
//! regulator, a complaint or an audit. Every request needs an operator token
//! (`Authorization: Bearer vcop_…`, see [`crate::operator`]); a visitor's consent token
//! is never accepted here, nor an operator token on the visitor API.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use vivus_consent_core::category::Category;
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::policy;

use super::consent::{HistoryRecord, HISTORY_LIMIT};
use super::ratelimit::RateLimiter;
use super::{client_network, AppState, Error, Result};
use crate::ledger::proof::{self, ProofHead, ProveError, RecordFields, FIELD_NAMES, PAGE};
use crate::ledger::{Counts, Period, Record};
use crate::operator::{is_token_shaped, token_hash, Accounts};
use crate::period::{format_day, format_time, parse_time, End, UtcOffset, DAY_MS, HOUR_MS};

/// Default of `--operator-proof-max-records`.
pub const DEFAULT_PROOF_MAX_RECORDS: u64 = 10_000;

/// Days the figures cover when `from` is not given (today included).
const DEFAULT_FIGURE_DAYS: i64 = 30;

/// What the operator API needs besides the ledger.
#[derive(Debug)]
pub struct OperatorAccess {
    /// The accounts.
    pub accounts: Arc<dyn Accounts>,
    /// Failed sign-ins per client network; `None`: not limited.
    pub failures: Option<RateLimiter>,
    /// Most later records a proof served over HTTP may carry.
    pub proof_max_records: u64,
}

/// The operator a request was authenticated as (a request extension).
#[derive(Debug, Clone)]
pub struct Operator(pub String);

/// The operator routes, behind [`authenticate`].
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/operator/me", get(me))
        .route("/v1/operator/consents/{id}", get(consent))
        .route("/v1/operator/consents/{id}/proof", get(proof_file))
        .route("/v1/operator/subjects/{subject}/consents", get(subject))
        .route("/v1/operator/export", get(export))
        .route("/v1/operator/stats", get(stats))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

/// The one answer to every failed sign-in: it says neither which check failed nor
/// whether an account exists.
fn unauthorized() -> Error {
    Error::Unauthorized {
        code: "unauthorized",
        message: "send a valid operator token as Authorization: Bearer <token>; `vivus-consent-server operator add NAME` makes one".to_owned(),
    }
}

/// Authenticates the operator, refuses a client network after repeated failures (before
/// looking at its token, so a guess cannot be confirmed), and logs every request with
/// the operator's name (never the token).
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let network = client_network(request.headers(), peer, &state.settings);
    let access = &state.operator;
    if let Some(limiter) = &access.failures {
        if let Err(wait) = limiter.peek(&network, Instant::now()) {
            tracing::warn!(client = %network, "operator sign-in refused: too many failed attempts from this network");
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Error::RateLimited { retry_after_secs }.into_response();
        }
    }
    let name = match operator_token(request.headers()) {
        Some(token) => match access.accounts.authenticate(&token_hash(token)).await {
            Ok(found) => found.ok_or("unknown or revoked token"),
            Err(e) => return Error::Internal(format!("operator sign-in: {e}")).into_response(),
        },
        None => Err("no operator token in the Authorization header"),
    };
    let name = match name {
        Ok(name) => name,
        Err(reason) => {
            tracing::warn!(client = %network, reason, "operator sign-in failed");
            if let Some(limiter) = &access.failures {
                let _ = limiter.check(&network, Instant::now());
            }
            return unauthorized().into_response();
        }
    };
    let method = request.method().clone();
    let uri = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    request.extensions_mut().insert(Operator(name.clone()));
    let response = next.run(request).await;
    tracing::info!(operator = %name, %method, %uri, status = response.status().as_u16(), "operator request");
    response
}

/// The bearer token when it has an operator token's shape.
fn operator_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && is_token_shaped(token)).then_some(token)
}

/// `GET /v1/operator/me`: who the token belongs to (the console's sign-in check).
async fn me(Extension(Operator(name)): Extension<Operator>) -> Json<Value> {
    Json(json!({ "operator": name }))
}

/// A record as the operator sees it: the history record and its subject.
fn operator_record(record: Record) -> Value {
    let subject = record.entry.subject_id.clone();
    let mut value = serde_json::to_value(HistoryRecord::from(record)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("subject".to_owned(), Value::String(subject));
    }
    value
}

/// The policy a record was given under: its version and digest, whether that digest is
/// the published text of that version, whether it is the current one, and where to
/// read it.
fn policy_of(record: &Record) -> Value {
    let (version, digest) = (&record.entry.policy_version, &record.entry.policy_digest);
    let published = policy::VERSIONS
        .iter()
        .any(|v| v.id == version.as_str() && v.digest == digest.as_str());
    json!({
        "version": version,
        "digest": digest,
        "published": published,
        "current": version.as_str() == policy::CURRENT.id && digest.as_str() == policy::CURRENT.digest,
        "text": published.then(|| json!({
            "ru": format!("/v1/policy/{version}/ru.md"),
            "kk": format!("/v1/policy/{version}/kk.md"),
        })),
    })
}

async fn find(state: &AppState, id: &str) -> Result<Record> {
    let id = ConsentId::parse(id)
        .map_err(|e| Error::bad_request(e.code(), format!("in the path: {e}")))?;
    state
        .ledger
        .find(id.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(format!("no record with consent id {id} is in the ledger")))
}

/// The proof of `record` to the newest signed head (see [`ProofHead::for_record`]), at
/// most `--operator-proof-max-records` long.
async fn proof_bytes(
    state: &AppState,
    record: &Record,
) -> Result<std::result::Result<Vec<u8>, ProveError>> {
    let head = ProofHead::for_record(state.ledger.as_ref(), record.sequence)
        .await?
        .ok_or_else(|| Error::Internal("the ledger has a record but no head".to_owned()))?;
    let mut out = Vec::with_capacity(4096);
    let written = proof::write_proof(
        state.ledger.as_ref(),
        record,
        &head,
        state.keys.jwks(),
        Some(state.operator.proof_max_records),
        &mut out,
    )
    .await;
    Ok(match written {
        Ok(()) => Ok(out),
        Err(e @ ProveError::TooLong { .. }) => Err(e),
        Err(ProveError::Ledger(e)) => return Err(e.into()),
        Err(e) => return Err(Error::Internal(e.to_string())),
    })
}

/// `GET /v1/operator/consents/{id}`: the record, its policy and its proof.
async fn consent(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let record = find(&state, &id).await?;
    let proof = proof_bytes(&state, &record).await?;
    let policy = policy_of(&record);
    let (proof, unavailable) = match proof {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))?;
            let raw = serde_json::value::RawValue::from_string(text.trim_end().to_owned())
                .map_err(|e| Error::Internal(e.to_string()))?;
            (Some(raw), None)
        }
        Err(e) => (
            None,
            Some(json!({ "code": "proof_too_long", "message": e.to_string() })),
        ),
    };
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        record: Value,
        policy: Value,
        proof: Option<Box<serde_json::value::RawValue>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        proof_unavailable: Option<Value>,
    }
    Ok(Json(Answer {
        record: operator_record(record),
        policy,
        proof,
        proof_unavailable: unavailable,
    })
    .into_response())
}

/// `GET /v1/operator/consents/{id}/proof`: the proof file, byte for byte what
/// `vivus-consent-server ledger prove` writes.
async fn proof_file(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let record = find(&state, &id).await?;
    let bytes = proof_bytes(&state, &record)
        .await?
        .map_err(|e| Error::bad_request("proof_too_long", e.to_string()))?;
    let disposition = format!(
        "attachment; filename=\"vivus-consent-proof-{}.json\"",
        record.entry.consent_id
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.to_string()))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /v1/operator/subjects/{subject}/consents`: every record of a subject.
async fn subject(
    State(state): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Json<Value>> {
    let subject = SubjectId::parse(&subject)
        .map_err(|e| Error::bad_request(e.code(), format!("in the path: {e}")))?;
    let mut records = state
        .ledger
        .history(subject.as_str(), HISTORY_LIMIT + 1)
        .await?;
    let truncated = records.len() > HISTORY_LIMIT as usize;
    records.truncate(HISTORY_LIMIT as usize);
    let records: Vec<Value> = records.into_iter().map(operator_record).collect();
    Ok(Json(
        json!({ "subject": subject, "records": records, "truncated": truncated }),
    ))
}

/// The query of `/export`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    utc_offset: Option<String>,
    format: Option<String>,
}

/// The query of `/stats`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
    utc_offset: Option<String>,
    bucket: Option<String>,
}

fn query<T>(query: std::result::Result<Query<T>, QueryRejection>) -> Result<T> {
    query.map(|Query(q)| q).map_err(|e| {
        Error::bad_request(
            "invalid_query",
            format!(
                "{}; the parameters are from, to, utcOffset and format or bucket",
                e.body_text()
            ),
        )
    })
}

fn offset(text: Option<&str>) -> Result<UtcOffset> {
    text.map_or(Ok(UtcOffset::UTC), UtcOffset::parse)
        .map_err(|m| Error::bad_request("invalid_query", format!("utcOffset: {m}")))
}

/// The period of `from` and `to`, each defaulting as given.
fn period(
    from: Option<&str>,
    to: Option<&str>,
    offset: UtcOffset,
    default_from: i64,
    default_to: i64,
) -> Result<Period> {
    let at = |text: Option<&str>, end, default, name: &str| match text {
        Some(t) => parse_time(t, offset, end)
            .map_err(|m| Error::bad_request("invalid_query", format!("{name}: {m}"))),
        None => Ok(default),
    };
    let period = Period {
        from_ms: at(from, End::Start, default_from, "from")?,
        to_ms: at(to, End::Finish, default_to, "to")?,
    };
    if period.from_ms >= period.to_ms {
        return Err(Error::bad_request(
            "invalid_query",
            "the period is empty: from must be before to (a day given as to is included)",
        ));
    }
    Ok(period)
}

/// An export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

/// `GET /v1/operator/export?from=&to=&format=jsonl|csv[&utcOffset=]`: every record
/// recorded in the period, in chain order, streamed page by page, each with every field
/// its hash covers, its `prevHash` and its `hash`.
async fn export(
    State(state): State<AppState>,
    q: std::result::Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query(q)?;
    let format = match q.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => Format::Jsonl,
        "csv" => Format::Csv,
        other => {
            return Err(Error::bad_request(
                "invalid_query",
                format!("format: {other:?} is not jsonl or csv"),
            ))
        }
    };
    let offset = offset(q.utc_offset.as_deref())?;
    let period = period(
        q.from.as_deref(),
        q.to.as_deref(),
        offset,
        0,
        crate::now_ms() + 1,
    )?;
    let bounds = state.ledger.period_bounds(period).await?;
    let name = format!(
        "vivus-consents-{}{}.{}",
        format_day(period.from_ms, offset),
        match format_day(period.to_ms - 1, offset) {
            last if last == format_day(period.from_ms, offset) => String::new(),
            last => format!("-to-{last}"),
        },
        if format == Format::Csv {
            "csv"
        } else {
            "jsonl"
        }
    );
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let ledger = state.ledger.clone();
    tokio::spawn(async move {
        if format == Format::Csv {
            let header = csv_line(FIELD_NAMES.iter().map(|s| (*s).to_owned()));
            if tx.send(Ok(Bytes::from(header))).await.is_err() {
                return;
            }
        }
        let Some((lo, hi)) = bounds else { return };
        let mut after = lo - 1;
        loop {
            let page = match ledger.range(after, hi, Some(period), PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    // The client sees the download break, not a file that looks complete.
                    tracing::error!(error = %e, after, "export stopped: the ledger could not be read");
                    let _ = tx
                        .send(Err(std::io::Error::other("the ledger could not be read")))
                        .await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = last.sequence;
            let mut chunk = Vec::with_capacity(page.len() * 1200);
            for record in &page {
                let fields = RecordFields::from(record);
                match format {
                    Format::Jsonl => {
                        if serde_json::to_writer(&mut chunk, &fields).is_err() {
                            return;
                        }
                        chunk.push(b'\n');
                    }
                    Format::Csv => {
                        chunk.extend_from_slice(csv_line(fields.csv_values()).as_bytes())
                    }
                }
            }
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return; // the client went away
            }
        }
    });
    let content_type = match format {
        Format::Jsonl => "application/x-ndjson; charset=utf-8",
        Format::Csv => "text/csv; charset=utf-8; header=present",
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = Response::new(Body::new(ChannelBody(rx)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// A response body fed by a bounded channel: the producer waits while the client reads
/// slowly, so an export holds a few pages in memory whatever its size.
struct ChannelBody(mpsc::Receiver<std::io::Result<Bytes>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

/// One CSV line (RFC 4180): a field with a comma, quote or line break is quoted, quotes
/// doubled; lines end with CRLF. Values are exact, so every hash can be recomputed from
/// the file: a spreadsheet may read a user agent that starts with `=` as a formula, so
/// import the columns as text.
fn csv_line(values: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if value.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&value.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&value);
        }
    }
    line.push_str("\r\n");
    line
}

/// `GET /v1/operator/stats?from=&to=&bucket=day|hour[&utcOffset=]`: the figures, computed
/// by the database.
async fn stats(
    State(state): State<AppState>,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let q = query(q)?;
    let (bucket_ms, bucket) = match q.bucket.as_deref().unwrap_or("day") {
        "day" => (DAY_MS, "day"),
        "hour" => (HOUR_MS, "hour"),
        other => {
            return Err(Error::bad_request(
                "invalid_query",
                format!("bucket: {other:?} is not day or hour"),
            ))
        }
    };
    let offset = offset(q.utc_offset.as_deref())?;
    let now = crate::now_ms();
    let today = (now + offset.millis()).div_euclid(DAY_MS) * DAY_MS - offset.millis();
    let period = period(
        q.from.as_deref(),
        q.to.as_deref(),
        offset,
        today - (DEFAULT_FIGURE_DAYS - 1) * DAY_MS,
        today + DAY_MS,
    )?;
    let figures = state
        .ledger
        .figures(period, bucket_ms, offset.millis())
        .await?;

    let mut totals = Counts::default();
    let mut buckets: Vec<(i64, Counts)> = Vec::new();
    let mut languages: std::collections::BTreeMap<&str, Counts> = std::collections::BTreeMap::new();
    let mut sources: std::collections::BTreeMap<&str, Counts> = std::collections::BTreeMap::new();
    for row in &figures.rows {
        totals.add(&row.counts);
        match buckets.last_mut() {
            Some((b, counts)) if *b == row.bucket => counts.add(&row.counts),
            _ => buckets.push((row.bucket, row.counts)),
        }
        languages
            .entry(row.language.as_str())
            .or_default()
            .add(&row.counts);
        sources
            .entry(row.source.as_str())
            .or_default()
            .add(&row.counts);
    }
    let label = |start: i64| {
        if bucket == "day" {
            format_day(start, offset)
        } else {
            format_time(start, offset)
        }
    };
    let buckets: Vec<Value> = buckets
        .iter()
        .map(|(b, counts)| {
            let start = b * bucket_ms - offset.millis();
            with(
                counts_json(counts),
                [("start", json!(label(start))), ("startMs", json!(start))],
            )
        })
        .collect();
    let by = |groups: std::collections::BTreeMap<&str, Counts>, key: &str| -> Vec<Value> {
        groups
            .iter()
            .map(|(name, counts)| with(counts_json(counts), [(key, json!(name))]))
            .collect()
    };
    Ok(Json(json!({
        "from": format_time(period.from_ms, offset),
        "to": format_time(period.to_ms, offset),
        "fromMs": period.from_ms,
        "toMs": period.to_ms,
        "utcOffset": offset.to_string(),
        "bucket": bucket,
        "categories": Category::OPTIONAL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "totals": counts_json(&totals),
        "buckets": buckets,
        "byLanguage": by(languages, "language"),
        "bySource": by(sources, "source"),
        "visitors": {
            "total": figures.visitors,
            "withGpc": figures.visitors_with_gpc,
            "gpcShare": share(figures.visitors_with_gpc, figures.visitors),
        },
    })))
}

/// `part / whole`, or `null` when there is nothing to divide.
fn share(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
    }
}

/// One group's figures: the counts, and per optional category how many consents granted
/// it and their share of the consents.
fn counts_json(c: &Counts) -> Value {
    let granted: serde_json::Map<String, Value> = Category::OPTIONAL
        .iter()
        .zip(c.granted)
        .map(|(category, n)| {
            (
                category.as_str().to_owned(),
                json!({ "count": n, "share": share(n, c.consents) }),
            )
        })
        .collect();
    json!({
        "records": c.records,
        "consents": c.consents,
        "withdrawals": c.withdrawals,
        "policyWithdrawalRequests": c.policy_withdrawal_requests,
        "policyAcceptances": c.policy_acceptances,
        "granted": granted,
    })
}

/// `value` (an object) with `members` first.
fn with<const N: usize>(value: Value, members: [(&str, Value); N]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in members {
        map.insert(k.to_owned(), v);
    }
    if let Value::Object(rest) = value {
        map.extend(rest);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let line = csv_line([
            "plain".to_owned(),
            "a,b".to_owned(),
            "say \"hi\"".to_owned(),
            "two\nlines".to_owned(),
        ]);
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    }

    #[test]
    fn the_csv_header_names_the_json_members_in_order() {
        let fields = RecordFields {
            sequence: 1,
            consent_id: String::new(),
            subject_id: String::new(),
            kind: String::new(),
            withdraws: None,
            recorded_at: 0,
            policy_version: String::new(),
            policy_digest: String::new(),
            language: String::new(),
            categories: String::new(),
            policy_accepted: false,
            source: String::new(),
            gpc: false,
            user_agent: String::new(),
            client_network: String::new(),
            record_format: 1,
            user_agent_hash: None,
            client_network_hash: None,
            salt: None,
            request_hash: String::new(),
            token: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
        };
        let json = serde_json::to_value(&fields).expect("json");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut names = FIELD_NAMES.to_vec();
        names.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, names);
        let text = serde_json::to_string(&fields).expect("json");
        let mut at = 0;
        for name in FIELD_NAMES {
            let found = text[at..].find(&format!("\"{name}\":")).expect(name);
            at += found;
        }
    }
}
