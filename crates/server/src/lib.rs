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

use std::future::Future;
use std::net::SocketAddr;
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
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests
/// in flight.
///
/// # Errors
///
/// [`StartError::Serve`] when accepting connections fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let app = http::app(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
