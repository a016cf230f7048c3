//! A real server on 127.0.0.1:0 with a real SQLite file (or a PostgreSQL schema) in a
//! temporary directory, and helpers to talk to it.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::PathBuf;

use clap::Parser;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use vivus_consent_core::policy;
use vivus_consent_server::config::Cli;
use vivus_consent_server::http::AppState;

/// The service's binary, as cargo built it for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_vivus-consent-server");

/// Runs the binary with `args` (no `RUST_LOG`); (exit code, stdout, stderr).
pub fn run_split(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary with `args`; (exit code, stdout followed by stderr).
pub fn run(args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = run_split(args);
    (code, stdout + &stderr)
}

pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    pub database: String,
    pub key_dir: PathBuf,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// A server on a fresh SQLite file, rate limiting off, plus `extra` flags.
    pub async fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = dir.path().join("ledger.sqlite3").display().to_string();
        Self::start_in(dir, database, extra).await
    }

    /// A server on `database` (an SQLite path or a Postgres URL) with keys in `dir`.
    pub async fn start_in(dir: tempfile::TempDir, database: String, extra: &[&str]) -> Self {
        let (cli, key_dir) = cli(&dir, extra);
        let state = vivus_consent_server::start(&cli.serve, &database)
            .await
            .expect("server starts");
        Self::serve(dir, database, key_dir, state).await
    }

    /// A server around a ledger the test opened itself (to reach its test hooks), with
    /// keys in `dir`.
    pub async fn start_with_ledger(
        dir: tempfile::TempDir,
        database: String,
        ledger: std::sync::Arc<dyn vivus_consent_server::ledger::Ledger>,
        extra: &[&str],
    ) -> Self {
        let (cli, key_dir) = cli(&dir, extra);
        let now = u64::try_from(vivus_consent_server::now_ms() / 1000).expect("time");
        let keys =
            vivus_consent_server::keys::KeyRing::load_or_generate(&key_dir, now).expect("keys");
        let accounts = vivus_consent_server::operator::open(&database)
            .await
            .expect("operator accounts");
        let state = AppState {
            ledger,
            keys: std::sync::Arc::new(keys),
            settings: std::sync::Arc::new(vivus_consent_server::http::Settings::from_config(
                &cli.serve,
            )),
            metrics: std::sync::Arc::default(),
            limiter: None,
            operator: std::sync::Arc::new(vivus_consent_server::http::operator::OperatorAccess {
                accounts,
                failures: None,
                proof_max_records: vivus_consent_server::http::operator::DEFAULT_PROOF_MAX_RECORDS,
            }),
        };
        Self::serve(dir, database, key_dir, state).await
    }

    async fn serve(
        dir: tempfile::TempDir,
        database: String,
        key_dir: PathBuf,
        state: AppState,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            vivus_consent_server::serve(listener, serve_state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base: format!("http://{addr}"),
            addr,
            dir,
            database,
            key_dir,
            client: reqwest::Client::new(),
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops serving and waits for the server task; the directory stays.
    pub async fn stop(mut self) -> (tempfile::TempDir, String) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let database = std::mem::take(&mut self.database);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        (dir, database)
    }

    /// The service's verdict on `token` (`POST /v1/verify`).
    pub async fn verify_token(&self, token: &str) -> Value {
        self.post_json("/v1/verify", &json!({ "token": token }))
            .await
            .json()
            .await
            .expect("json")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_consent(&self, body: &Value) -> (u16, Value) {
        let response = self.post_json("/v1/consents", body).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// `GET /v1/subjects/{subject}/consents` with `token`, expecting 200; the JSON body.
    pub async fn history(&self, subject: &str, token: &str) -> Value {
        let response = self
            .client
            .get(self.url(&format!("/v1/subjects/{subject}/consents")))
            .bearer_auth(token)
            .send()
            .await
            .expect("history");
        assert_eq!(response.status(), 200, "history of {subject}");
        response.json().await.expect("json")
    }

    /// Records a fresh consent and returns (body, token).
    pub async fn consent(&self, subject: &str) -> (Value, String) {
        let body = consent_body(&new_id(), subject);
        let (status, answer) = self.post_consent(&body).await;
        assert_eq!(status, 201, "{answer}");
        (body, answer["token"].as_str().expect("token").to_owned())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The test's flags parsed as the binary would, and the key directory in `dir`.
fn cli(dir: &tempfile::TempDir, extra: &[&str]) -> (Cli, PathBuf) {
    let key_dir = dir.path().join("keys");
    let mut args = vec![
        "vivus-consent-server".to_owned(),
        "--key-dir".to_owned(),
        key_dir.display().to_string(),
    ];
    if !extra.contains(&"--rate-limit-per-second") {
        // Every test talks from 127.0.0.1; only the rate-limit test wants a limit.
        args.extend(["--rate-limit-per-second".to_owned(), "0".to_owned()]);
    }
    if !extra
        .iter()
        .any(|a| a.starts_with("--operator-failed-auth-per-minute"))
    {
        // Likewise for failed operator sign-ins; one test wants the limit.
        args.extend([
            "--operator-failed-auth-per-minute".to_owned(),
            "0".to_owned(),
        ]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    (
        Cli::try_parse_from(&args).expect("test flags parse"),
        key_dir,
    )
}

/// A random 16-byte id in the 22-character base64url form.
pub fn new_id() -> String {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("os rng");
    vivus_consent_core::base64url::encode(&bytes)
}

/// A valid consent request for the current policy.
pub fn consent_body(id: &str, subject: &str) -> Value {
    json!({
        "id": id,
        "subject": subject,
        "policy": {"version": policy::CURRENT.id, "digest": policy::CURRENT.digest},
        "language": "ru",
        "categories": {"necessary": true, "analytics": true, "marketing": false},
        "policyAccepted": true,
        "source": "banner",
        "gpc": false,
    })
}

/// The Postgres URL the PostgreSQL variants run against, or `None` (and a note) to skip.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("VIVUS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to stderr: the test harness captures eprintln!, and a skip should show.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: set VIVUS_TEST_POSTGRES_URL to run it against PostgreSQL"
            );
            None
        }
    }
}

/// Drops a schema made by [`postgres_schema`] (at the end of a passing test; a failing
/// one leaves its schema behind to look at).
pub async fn drop_postgres_schema(url: &str, schema: &str) {
    use sqlx::Connection;
    let base = url.split("?options=").next().unwrap_or(url);
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to VIVUS_TEST_POSTGRES_URL");
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop schema");
}

/// Creates a fresh schema in the test database and returns a URL whose connections use
/// it, so each test has its own ledger.
pub async fn postgres_schema(url: &str) -> (String, String) {
    use sqlx::Connection;
    let schema = format!(
        "t_{}",
        new_id().to_ascii_lowercase().replace(['-', '_'], "")
    );
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to VIVUS_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    (
        format!("{url}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    )
}

/// A ledger under test and a way to reach around the service to its storage.
pub enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        path: String,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

impl Backend {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite3").display().to_string();
        Self::Sqlite { _dir: dir, path }
    }

    pub async fn postgres(test: &str) -> Option<Self> {
        let url = postgres_url(test)?;
        let (url, schema) = postgres_schema(&url).await;
        Some(Self::Postgres { url, schema })
    }

    pub async fn cleanup(&self) {
        if let Self::Postgres { url, schema } = self {
            drop_postgres_schema(url, schema).await;
        }
    }

    pub fn database(&self) -> &str {
        match self {
            Self::Sqlite { path, .. } => path,
            Self::Postgres { url, .. } => url,
        }
    }

    pub async fn open(&self) -> std::sync::Arc<dyn vivus_consent_server::ledger::Ledger> {
        vivus_consent_server::ledger::open(self.database(), 256)
            .await
            .expect("ledger opens")
    }

    /// Runs SQL directly against the storage, as someone with file or database access
    /// could, dropping the append-only triggers and the sequence check first.
    pub async fn tamper(&self, sql: &str) {
        match self {
            Self::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open file");
                conn.execute_batch(&format!(
                    "DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete; \
                     DROP TRIGGER IF EXISTS ledger_sequence_positive; DROP TRIGGER IF EXISTS checkpoints_no_update; \
                     DROP TRIGGER IF EXISTS checkpoints_no_delete; DROP TRIGGER IF EXISTS ledger_personal_no_update; {sql}"
                ))
                .expect("tamper");
            }
            Self::Postgres { url, .. } => {
                use sqlx::Connection;
                let options: sqlx::postgres::PgConnectOptions = url.parse().expect("url");
                let mut conn = sqlx::PgConnection::connect_with(&options)
                    .await
                    .expect("connect");
                sqlx::raw_sql(&format!(
                    "DROP TRIGGER IF EXISTS ledger_no_update_or_delete ON ledger; \
                     DROP TRIGGER IF EXISTS checkpoints_no_update_or_delete ON checkpoints; \
                     DROP TRIGGER IF EXISTS ledger_personal_no_update ON ledger_personal; \
                     ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_sequence_positive; {sql}"
                ))
                .execute(&mut conn)
                .await
                .expect("tamper");
            }
        }
    }

    /// A byte string as an SQL literal of this backend.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Self::Sqlite { .. } => format!("X'{hex}'"),
            Self::Postgres { .. } => format!("'\\x{hex}'::bytea"),
        }
    }

    /// Runs SQL through the normal path, triggers in place.
    pub async fn try_sql(&self, sql: &str) -> Result<(), String> {
        match self {
            Self::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                conn.execute_batch(sql).map_err(|e| e.to_string())
            }
            Self::Postgres { url, .. } => {
                use sqlx::Connection;
                let options: sqlx::postgres::PgConnectOptions =
                    url.parse().map_err(|e: sqlx::Error| e.to_string())?;
                let mut conn = sqlx::PgConnection::connect_with(&options)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}
