//! `/metrics` in the Prometheus text format, kept by hand: request counts by route and
//! status, a latency histogram per route, error counts by code and the ledger writer's
//! counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ErrorCode;
use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    errors: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl Metrics {
    /// Records one request.
    pub fn observe(
        &self,
        route: &str,
        status: u16,
        elapsed: Duration,
        error: Option<&'static str>,
    ) {
        let secs = elapsed.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match inner.requests.get_mut(&(route.to_owned(), status)) {
            Some(n) => *n += 1,
            None => {
                inner.requests.insert((route.to_owned(), status), 1);
            }
        }
        if !inner.latency.contains_key(route) {
            inner.latency.insert(route.to_owned(), Histogram::default());
        }
        if let Some(h) = inner.latency.get_mut(route) {
            if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
                h.buckets[i] += 1;
            }
            h.count += 1;
            h.sum += secs;
        }
        if let Some(code) = error {
            *inner.errors.entry(code).or_default() += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self, ledger: &dyn crate::ledger::Ledger) -> String {
        let mut out = String::with_capacity(4096);
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP vivus_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE vivus_http_requests_total counter\n");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "vivus_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP vivus_http_request_duration_seconds Time from request to response head.\n",
        );
        out.push_str("# TYPE vivus_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "vivus_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "vivus_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "vivus_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "vivus_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP vivus_http_errors_total Error responses by code.\n");
        out.push_str("# TYPE vivus_http_errors_total counter\n");
        for (code, n) in &inner.errors {
            let _ = writeln!(out, "vivus_http_errors_total{{code=\"{code}\"}} {n}");
        }
        drop(inner);
        let stats = ledger.stats();
        let backend = ledger.backend();
        let counters = [
            (
                "vivus_ledger_appends_total",
                "Records appended to the ledger.",
                stats.appended,
            ),
            (
                "vivus_ledger_idempotent_total",
                "Appends answered with an already recorded consent.",
                stats.existing,
            ),
            (
                "vivus_ledger_batches_total",
                "Ledger transactions committed.",
                stats.batches,
            ),
            (
                "vivus_ledger_failed_appends_total",
                "Appends whose transaction did not commit.",
                stats.failed,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{backend=\"{backend}\"}} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP vivus_ledger_max_batch Largest number of appends committed in one transaction.\n\
             # TYPE vivus_ledger_max_batch gauge\nvivus_ledger_max_batch{{backend=\"{backend}\"}} {}",
            stats.max_batch
        );
        let _ = writeln!(
            out,
            "# HELP vivus_uptime_seconds Seconds since the service started.\n# TYPE vivus_uptime_seconds gauge\nvivus_uptime_seconds {}",
            self.started.elapsed().as_secs()
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: times every request and counts it under its route template (not the
/// raw path, so ids do not explode the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let start = Instant::now();
    let response = next.run(request).await;
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    state
        .metrics
        .observe(&route, response.status().as_u16(), start.elapsed(), code);
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.ledger.as_ref()),
    )
}
