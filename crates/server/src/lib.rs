//! The vivus-consent service: validates consent decisions, appends them to a
//! tamper-evident ledger and answers with signed consent tokens.
//!
//! ```no_run
//! use clap::Parser;
//! use vivus_consent_server::config::Cli;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cli = Cli::parse_from(["vivus-consent-server", "--database", "data/consent.sqlite3"]);
//! let state = vivus_consent_server::start(&cli.serve, &cli.database).await?;
//! let listener = tokio::net::TcpListener::bind(cli.serve.listen).await?;
//! vivus_consent_server::serve(listener, state, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod config;
pub mod http;
pub mod keys;
pub mod ledger;
pub mod operator;
pub mod period;

use std::future::Future;
use std::sync::Arc;

use config::ServeConfig;
use http::{AppState, Settings};
use keys::{KeyError, KeyRing};
use ledger::LedgerError;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The signing keys cannot be loaded or generated.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The ledger cannot be opened or migrated.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The operator accounts cannot be opened.
    #[error(transparent)]
    Accounts(#[from] operator::AccountError),
    /// The static directory is missing.
    #[error("the static directory {0} does not exist; pass --static-dir with the folder that holds www/ and pkg/")]
    StaticDir(std::path::PathBuf),
    /// Serving failed.
    #[error("the server stopped with an error: {0}")]
    Serve(#[from] std::io::Error),
}

/// Loads the keys, opens and migrates the ledger, and builds the handlers' state.
///
/// # Errors
///
/// [`StartError`] naming the key file, database or directory that is wrong.
pub async fn start(config: &ServeConfig, database: &str) -> Result<AppState, StartError> {
    if let Some(dir) = &config.static_dir {
        if !dir.is_dir() {
            return Err(StartError::StaticDir(dir.clone()));
        }
    }
    let key_dir = config.key_dir.clone();
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let keys = tokio::task::spawn_blocking(move || KeyRing::load_or_generate(&key_dir, now))
        .await
        .map_err(|e| StartError::Serve(std::io::Error::other(e)))??;
    let ledger = ledger::open(database, config.ledger_batch_max).await?;
    // After the ledger: its migrations create the accounts table.
    let accounts = operator::open(database).await?;
    if let Some(cause) = ledger.unwritable() {
        tracing::warn!(%cause, "serving degraded: reads, keys and verification work, appends answer 503 until the ledger is writable");
    }
    tracing::info!(
        backend = ledger.backend(),
        keys = keys.len(),
        signing_kid = keys.signer().map(|k| k.kid()).unwrap_or(""),
        "ledger open, keys loaded"
    );
    Ok(AppState {
        ledger,
        keys: Arc::new(keys),
        settings: Arc::new(Settings::from_config(config)),
        metrics: Arc::default(),
        limiter: http::ratelimit::RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst).map(Arc::new),
        operator: Arc::new(http::operator::OperatorAccess {
            accounts,
            failures: http::ratelimit::RateLimiter::per_minute(config.operator_failed_auth_per_minute),
            proof_max_records: config.operator_proof_max_records,
        }),
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests
/// in flight.
///
/// Each connection has [`Settings::header_read_timeout`] to send a request's headers
/// (hyper closes it otherwise), each body [`Settings::body_read_timeout`] in total (then
/// `408`), and at most [`Settings::max_connections`] are open at once; axum's own
/// `serve` has no timer, so a client that never finishes its headers would hold its
/// connection forever.
///
/// # Errors
///
/// [`StartError::Serve`] when accepting connections fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let settings = state.settings.clone();
    let app = http::app(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(settings.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: past the cap, clients queue in the
        // kernel's backlog instead of costing a task and a file descriptor each.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: not fatal.
                    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let body_timeout = settings.body_read_timeout;
        let service = hyper::service::service_fn(move |request: axum::http::Request<hyper::body::Incoming>| {
            let mut request = request
                .map(|body| axum::body::Body::new(http::deadline::DeadlineBody::new(body, body_timeout)));
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
