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
    /// The key directory is empty but the ledger holds tokens.
    #[error("the key directory {dir} holds no key, but the ledger already holds {records} records whose tokens were signed by {kid}: the keys were lost or --key-dir is wrong. Pass the --key-dir with those keys; only if they are gone for good, start once with --generate-key (tokens they signed will no longer verify, and visitors will be asked again)")]
    KeysMissing {
        /// The key directory.
        dir: std::path::PathBuf,
        /// The newest record's sequence.
        records: i64,
        /// The kid of the newest record's token.
        kid: String,
    },
    /// No key can sign now.
    #[error("no key in {0} can sign now (every key is pending or retired; `vivus-consent-server keys list` shows them); add an active key or wait for a pending one's time")]
    NoSigner(std::path::PathBuf),
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
    let keys = Arc::new(load_keys(config, database).await?);
    let options = ledger::Options {
        batch_max: config.ledger_batch_max,
        checkpoints: Some(Arc::new(ledger::Checkpointer::new(
            keys.clone(),
            config.issuer.clone(),
            config.checkpoint_every,
            std::time::Duration::from_secs(config.checkpoint_interval_secs),
        ))),
        postgres: config.postgres_timeouts(),
    };
    let ledger = ledger::open_with(database, &options).await?;
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
        keys,
        settings: Arc::new(Settings::from_config(config)),
        metrics: Arc::default(),
        limiter: http::ratelimit::RateLimiter::new(
            config.rate_limit_per_second,
            config.rate_limit_burst,
        )
        .map(Arc::new),
        operator: Arc::new(http::operator::OperatorAccess {
            accounts,
            failures: http::ratelimit::RateLimiter::per_minute(
                config.operator_failed_auth_per_minute,
            ),
            proof_max_records: config.operator_proof_max_records,
        }),
    })
}

/// Loads the key directory. An empty one gets a first key only while the ledger holds no
/// record (or with `--generate-key`): a ledger with tokens and no keys means the keys were
/// lost or the directory is wrong, and a fresh key would quietly leave every earlier token
/// unverifiable (each instance of a cluster inventing its own, even).
async fn load_keys(config: &ServeConfig, database: &str) -> Result<KeyRing, StartError> {
    let key_dir = config.key_dir.clone();
    let dir = key_dir.clone();
    let mut keys = tokio::task::spawn_blocking(move || KeyRing::load_or_create_dir(&dir))
        .await
        .map_err(|e| StartError::Serve(std::io::Error::other(e)))??;
    let now = now_secs();
    let newest = ledger::newest_read_only(database).await?;
    let newest_kid = newest
        .as_ref()
        .map(|r| keys::kid_of(&r.entry.token).unwrap_or_else(|| "an unreadable kid".to_owned()));
    if keys.is_empty() {
        if let (Some(record), Some(kid)) = (&newest, &newest_kid) {
            if !config.generate_key {
                return Err(StartError::KeysMissing {
                    dir: key_dir,
                    records: record.sequence,
                    kid: kid.clone(),
                });
            }
            tracing::warn!(records = record.sequence, %kid, "--generate-key: a new key replaces the lost ones; tokens they signed no longer verify");
        }
        let dir = key_dir.clone();
        keys = tokio::task::spawn_blocking(move || {
            let path = keys::generate(&dir, now)?;
            tracing::info!(path = %path.display(), "generated the first signing key");
            KeyRing::load(&dir)
        })
        .await
        .map_err(|e| StartError::Serve(std::io::Error::other(e)))??;
    } else if let Some(kid) = newest_kid.filter(|kid| !keys.contains(kid)) {
        tracing::warn!(%kid, dir = %key_dir.display(), "the ledger's newest token was signed by a key that is not in the key directory; is --key-dir the one the other instances use?");
    }
    if keys.signer_at(now).is_none() {
        return Err(StartError::NoSigner(key_dir));
    }
    for status in keys.statuses(now) {
        if let keys::KeyState::Pending { activate_at } = status.state {
            // Published from now on; verifiers that cached the set just before learn it only
            // when their copy expires.
            let published_for = activate_at.saturating_sub(now);
            if published_for < config.jwks_max_age_secs {
                tracing::warn!(kid = %status.kid, activate_at, published_for, max_age = config.jwks_max_age_secs,
                    "a pending key signs sooner than the JWK set's cache lifetime after this start: verifiers holding an older copy may see unknown_key until it expires");
            } else {
                tracing::info!(kid = %status.kid, activate_at, "a pending key is published and signs from its time on");
            }
        }
    }
    Ok(keys)
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
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
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
        let service = hyper::service::service_fn(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let mut request = request.map(|body| {
                    axum::body::Body::new(http::deadline::DeadlineBody::new(body, body_timeout))
                });
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request)
            },
        );
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

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
