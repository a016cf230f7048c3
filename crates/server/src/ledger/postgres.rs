//! The PostgreSQL ledger, for deployments where several stateless service instances
//! share one database. Each instance has one writer task that commits a batch of
//! appends per transaction; the chain head is serialized across instances by a
//! transaction-level advisory lock taken at the start of every batch.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use tokio::sync::mpsc;

use super::checkpoint::{Checkpointer, SignedHead};
use super::{
    counts_sql, hash_array, pending_migrations, plan_batch, submit, Appended, Audit, BreakReason,
    ChainStatus, ChainVerifier, Committed, Counts, Durability, Entry, FigureRow, Figures, Job,
    Ledger, LedgerError, Migrations, Options, Pending, Period, Personal, PostgresTimeouts, Record,
    Result, Verified, WriterCounters, WriterStats, GENESIS_HASH, OPTIONAL_CATEGORIES,
};

const MIGRATIONS: Migrations = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/postgres/0001_ledger.sql"),
    ),
    (
        2,
        "checkpoints_personal_data",
        include_str!("../../migrations/postgres/0002_checkpoints_personal_data.sql"),
    ),
    (
        3,
        "operators",
        include_str!("../../migrations/postgres/0003_operators.sql"),
    ),
];

/// The columns of the `ledger` table a record is inserted with.
const INSERT_COLUMNS: &str = "sequence, consent_id, subject_id, kind, withdraws, recorded_at, policy_version, \
     policy_digest, language, categories, policy_accepted, source, gpc, user_agent, client_network, \
     request_hash, token, prev_hash, hash, format, user_agent_hash, client_network_hash";

/// A record as read back: the ledger row with its personal data (format 2) joined in.
/// Used with [`FROM_RECORDS`]; [`row_to_record`] reads them by position. A format 2 row's
/// own `user_agent` and `client_network` are empty; anything written there is read
/// instead of the joined values, so verification sees it (it matches no salted hash).
const COLUMNS: &str = "l.sequence, l.consent_id, l.subject_id, l.kind, l.withdraws, l.recorded_at, \
     l.policy_version, l.policy_digest, l.language, l.categories, l.policy_accepted, l.source, l.gpc, \
     CASE WHEN l.user_agent <> '' THEN l.user_agent ELSE COALESCE(p.user_agent, '') END, \
     CASE WHEN l.client_network <> '' THEN l.client_network ELSE COALESCE(p.client_network, '') END, l.request_hash, \
     l.token, l.prev_hash, l.hash, l.format::bigint, l.user_agent_hash, l.client_network_hash, p.salt";

const FROM_RECORDS: &str = "ledger l LEFT JOIN ledger_personal p ON p.sequence = l.sequence";

/// [`COLUMNS`] for a schema still at version 1 (`ledger verify` before the service migrated it).
const COLUMNS_V1: &str = "l.sequence, l.consent_id, l.subject_id, l.kind, l.withdraws, l.recorded_at, \
     l.policy_version, l.policy_digest, l.language, l.categories, l.policy_accepted, l.source, l.gpc, \
     l.user_agent, l.client_network, l.request_hash, l.token, l.prev_hash, l.hash, 1::bigint, NULL::bytea, \
     NULL::bytea, NULL::bytea";

/// The lock that serializes appends (and migrations) of every instance using the same
/// schema. Keyed by schema so separate ledgers in one database do not wait on each other.
const CHAIN_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('vivus_consent_ledger:' || current_schema()))";

/// [`CHAIN_LOCK`], then the chain head and the newest checkpoint, as one simple-protocol
/// request: a row of seven columns.
const LOCK_THEN_HEAD: &str = "SELECT pg_advisory_xact_lock(hashtext('vivus_consent_ledger:' || current_schema())); \
     SELECT h.sequence, h.hash, c.sequence, c.signed_at, c.kid, c.token, c.hash FROM (SELECT 1) one \
     LEFT JOIN LATERAL (SELECT sequence, hash FROM ledger WHERE sequence > 0 ORDER BY sequence DESC LIMIT 1) h ON true \
     LEFT JOIN LATERAL (SELECT sequence, signed_at, kid, token, hash FROM checkpoints ORDER BY sequence DESC LIMIT 1) c ON true";

/// The newest checkpoint's columns.
const NEWEST_CHECKPOINT: &str =
    "SELECT sequence, hash, signed_at, kid, token FROM checkpoints ORDER BY sequence DESC LIMIT 1";

/// Rows fetched per page when walking the chain.
const VERIFY_PAGE: i64 = 2048;

/// The PostgreSQL ledger.
#[derive(Debug)]
pub struct PostgresLedger {
    pool: PgPool,
    tx: mpsc::Sender<Job>,
    stats: Arc<WriterCounters>,
}

/// The session settings every connection of the service starts with, overriding the
/// server's, database's and role's defaults and any `options=` in the URL (appended last).
fn session_options(options: PgConnectOptions, timeouts: &PostgresTimeouts) -> PgConnectOptions {
    let ms = |d: std::time::Duration| d.as_millis().max(1).to_string();
    options.options([
        // Every connection commits synchronously (the WAL flushed before COMMIT returns):
        // a 2xx is only sent after the commit, so it must mean the record is on disk.
        ("synchronous_commit", "on".to_owned()),
        // An instance that hangs while holding the chain lock must not stop the others:
        // a batch waits at most `lock_timeout` for it (then 503), any statement runs at
        // most `statement_timeout`, and a session left idle inside a transaction (a frozen
        // process) is terminated by the server, which releases its locks.
        ("lock_timeout", ms(timeouts.lock)),
        ("statement_timeout", ms(timeouts.statement)),
        (
            "idle_in_transaction_session_timeout",
            ms(timeouts.idle_in_transaction),
        ),
    ])
}

impl PostgresLedger {
    /// Connects, runs the migrations and starts the writer task, without checkpoints and
    /// with the default session timeouts.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Open`] when the server cannot be reached or refuses the login,
    /// [`LedgerError::Migrate`] when the schema cannot be brought up to date.
    pub async fn open(options: PgConnectOptions, batch_max: usize) -> Result<Self> {
        Self::open_with(
            options,
            &Options {
                batch_max,
                ..Options::default()
            },
        )
        .await
    }

    /// [`PostgresLedger::open`] with checkpoints and these session timeouts.
    ///
    /// # Errors
    ///
    /// As [`PostgresLedger::open`].
    pub async fn open_with(options: PgConnectOptions, settings: &Options) -> Result<Self> {
        let batch_max = settings.batch_max;
        let options = session_options(options, &settings.postgres);
        let location = location(&options);
        // One direct connection first: the pool retries until its timeout, but a wrong
        // host, password or database should fail at once with the driver's reason.
        let probe = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|e| LedgerError::Open {
                location: location.clone(),
                reason: e.to_string(),
            })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| LedgerError::Open {
                location,
                reason: e.to_string(),
            })?;
        let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&pool)
            .await?;
        if synchronous_commit != "on" {
            return Err(LedgerError::NotDurable(format!(
                "synchronous_commit is {synchronous_commit}, not on"
            )));
        }
        migrate(&pool).await?;
        let stats = Arc::new(WriterCounters::default());
        let (tx, rx) = mpsc::channel(batch_max.max(1) * 4);
        let writer = Writer {
            pool: pool.clone(),
            batch_max: batch_max.max(1),
            stats: stats.clone(),
            checkpoints: settings.checkpoints.clone(),
        };
        tokio::spawn(writer.run(rx));
        Ok(Self { pool, tx, stats })
    }

    /// The writer's queue, for the checkpoint timer.
    pub(crate) fn jobs(&self) -> mpsc::WeakSender<Job> {
        self.tx.downgrade()
    }
}

/// Where the ledger is, for messages: the URL without the password.
fn location(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// One read-only session: no pool, no migration, no writer.
async fn connect_read_only(options: PgConnectOptions) -> Result<(sqlx::PgConnection, String)> {
    let location = location(&options);
    let options = options.options([("default_transaction_read_only", "on")]);
    let conn = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| LedgerError::Open {
            location: location.clone(),
            reason: e.to_string(),
        })?;
    Ok((conn, location))
}

async fn has_table(conn: &mut sqlx::PgConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(conn)
        .await?)
}

/// The schema version (0 without a migrations table).
async fn schema_version(conn: &mut sqlx::PgConnection) -> Result<i64> {
    if !has_table(conn, "schema_migrations").await? {
        return Ok(0);
    }
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(version), 0)::bigint FROM schema_migrations")
            .fetch_one(conn)
            .await?,
    )
}

/// Audits the chain over one read-only session.
pub(crate) async fn verify_read_only(options: PgConnectOptions, audit: Audit) -> Result<Verified> {
    let (mut conn, location) = connect_read_only(options).await?;
    let result = if has_table(&mut conn, "ledger").await? {
        walk(&mut conn, audit).await
    } else {
        Err(LedgerError::NoLedger(location))
    };
    let _ = conn.close().await;
    result
}

/// The newest record, over one read-only session; `None` without a ledger table.
pub(crate) async fn newest_read_only(options: PgConnectOptions) -> Result<Option<Record>> {
    let (mut conn, _) = connect_read_only(options).await?;
    let result = async {
        if !has_table(&mut conn, "ledger").await? {
            return Ok(None);
        }
        let (columns, from) = if schema_version(&mut conn).await? >= 2 {
            (COLUMNS, FROM_RECORDS)
        } else {
            (COLUMNS_V1, "ledger l")
        };
        let row = sqlx::query(&format!(
            "SELECT {columns} FROM {from} WHERE l.sequence > 0 ORDER BY l.sequence DESC LIMIT 1"
        ))
        .fetch_optional(&mut conn)
        .await?;
        row.map(|r| row_to_record(&r).map_err(corrupt)).transpose()
    }
    .await;
    let _ = conn.close().await;
    result
}

/// `ledger purge`: deletes the personal data of format 2 records before `before_ms`, then
/// `VACUUM`s the table so the space of the deleted rows is reused.
pub(crate) async fn purge(options: PgConnectOptions, before_ms: i64) -> Result<super::Purged> {
    let location = location(&options);
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| LedgerError::Open {
            location: location.clone(),
            reason: e.to_string(),
        })?;
    if !has_table(&mut conn, "ledger").await? {
        return Err(LedgerError::NoLedger(location));
    }
    if schema_version(&mut conn).await? < 2 {
        return Err(LedgerError::Migrate(
            "the ledger is still at schema 1 (no purgeable personal data); start the service once to migrate it".to_owned(),
        ));
    }
    let mut tx = conn.begin().await?;
    let purged = sqlx::query("DELETE FROM ledger_personal WHERE recorded_at < $1")
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let kept_v1: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger WHERE format = 1 AND recorded_at < $1")
            .bind(before_ms)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    sqlx::raw_sql("VACUUM ledger_personal")
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(super::Purged {
        purged,
        kept_v1: u64::try_from(kept_v1).unwrap_or(0),
    })
}

/// Walks the whole chain (and with keys the tokens and checkpoints) in one REPEATABLE READ
/// snapshot, while other instances keep appending: records and their checkpoint commit
/// together, so the snapshot never shows one without the other.
async fn walk(conn: &mut sqlx::PgConnection, audit: Audit) -> Result<Verified> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let version = schema_version(&mut tx).await?;
    let mut anchors = Vec::new();
    let database: Arc<str> = Arc::from("the database");
    if let Some(jwks) = &audit.jwks {
        if version >= 2 && !has_table(&mut tx, "checkpoints").await? {
            tx.commit().await?;
            let status = ChainStatus::Broken {
                sequence: 0,
                reason: BreakReason::BadCheckpoint("the checkpoints table was dropped".to_owned()),
                checked: 0,
            };
            return Ok(ChainVerifier::watching(None).report(Err(status)));
        }
        if version >= 2 {
            let rows = sqlx::query(
                "SELECT sequence, hash, signed_at, kid, token FROM checkpoints ORDER BY sequence",
            )
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let (sequence, hash, signed_at, kid, token): (i64, Vec<u8>, i64, String, String) = (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                    row.try_get(4)?,
                );
                match super::stored_anchor(
                    &database, sequence, &hash, signed_at, &kid, &token, jwks,
                ) {
                    Ok(anchor) => anchors.push(anchor),
                    Err(reason) => {
                        tx.commit().await?;
                        let status = ChainStatus::Broken {
                            sequence,
                            reason,
                            checked: 0,
                        };
                        return Ok(ChainVerifier::watching(None).report(Err(status)));
                    }
                }
            }
        }
    }
    anchors.extend(super::kept_anchors(&audit.kept));
    let mut verifier = ChainVerifier::auditing(audit.expect_head, audit.jwks, anchors);
    let (columns, from) = if version >= 2 {
        (COLUMNS, FROM_RECORDS)
    } else {
        (COLUMNS_V1, "ledger l")
    };
    // From the lowest sequence there is, so a row at 0 or below is seen and refused.
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM {from} WHERE l.sequence > $1 ORDER BY l.sequence LIMIT $2"
        ))
        .bind(after)
        .bind(VERIFY_PAGE)
        .fetch_all(&mut *tx)
        .await?;
        let n = rows.len() as i64;
        let page: Vec<_> = rows.iter().map(row_to_record).collect();
        if let Some(last) = page.last() {
            after = match last {
                Ok(r) => r.sequence,
                Err((s, _)) => *s,
            };
        }
        if let Err(broken) = verifier.check_page(page) {
            tx.commit().await?;
            return Ok(verifier.report(Err(broken)));
        }
        if n < VERIFY_PAGE {
            tx.commit().await?;
            return Ok(verifier.report(Ok(())));
        }
    }
}

async fn migrate(pool: &PgPool) -> Result<()> {
    let err = |e: sqlx::Error| LedgerError::Migrate(e.to_string());
    let mut conn = pool.acquire().await.map_err(err)?;
    let mut tx = conn.begin().await.map_err(err)?;
    // Instances starting together must not both apply the same migration.
    sqlx::query(CHAIN_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum BYTEA NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(err)?;
    let applied: HashMap<i64, Vec<u8>> =
        sqlx::query("SELECT version, checksum FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    for (version, name, sql, checksum) in pending_migrations(MIGRATIONS, &applied)? {
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| LedgerError::Migrate(format!("migration {version} ({name}): {e}")))?;
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(name)
            .bind(checksum)
            .bind(super::super::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

fn row_to_record(row: &PgRow) -> std::result::Result<Record, (i64, String)> {
    let sequence: i64 = row.try_get(0).map_err(|e| (0, e.to_string()))?;
    let e = |e: sqlx::Error| (sequence, e.to_string());
    let kind: String = row.try_get(3).map_err(e)?;
    let request_hash: Vec<u8> = row.try_get(15).map_err(e)?;
    let prev_hash: Vec<u8> = row.try_get(17).map_err(e)?;
    let hash: Vec<u8> = row.try_get(18).map_err(e)?;
    let format: i64 = row.try_get(19).map_err(e)?;
    let user_agent_hash: Option<Vec<u8>> = row.try_get(20).map_err(e)?;
    let client_network_hash: Option<Vec<u8>> = row.try_get(21).map_err(e)?;
    let salt: Option<Vec<u8>> = row.try_get(22).map_err(e)?;
    Ok(Record {
        sequence,
        entry: Entry {
            consent_id: row.try_get(1).map_err(e)?,
            subject_id: row.try_get(2).map_err(e)?,
            kind: kind
                .parse()
                .map_err(|k: super::UnknownKind| (sequence, k.to_string()))?,
            withdraws: row.try_get(4).map_err(e)?,
            recorded_at: row.try_get(5).map_err(e)?,
            policy_version: row.try_get(6).map_err(e)?,
            policy_digest: row.try_get(7).map_err(e)?,
            language: row.try_get(8).map_err(e)?,
            categories: row.try_get(9).map_err(e)?,
            policy_accepted: row.try_get(10).map_err(e)?,
            source: row.try_get(11).map_err(e)?,
            gpc: row.try_get(12).map_err(e)?,
            user_agent: row.try_get(13).map_err(e)?,
            client_network: row.try_get(14).map_err(e)?,
            personal: super::personal_of(
                sequence,
                format,
                user_agent_hash.as_deref(),
                client_network_hash.as_deref(),
                salt.as_deref(),
            )?,
            request_hash: hash_array(sequence, "request_hash", &request_hash)?,
            token: row.try_get(16).map_err(e)?,
        },
        prev_hash: hash_array(sequence, "prev_hash", &prev_hash)?,
        hash: hash_array(sequence, "hash", &hash)?,
    })
}

fn corrupt((sequence, reason): (i64, String)) -> LedgerError {
    LedgerError::Corrupt { sequence, reason }
}

struct Writer {
    pool: PgPool,
    batch_max: usize,
    stats: Arc<WriterCounters>,
    checkpoints: Option<Arc<Checkpointer>>,
}

/// What a batch committed: per entry the outcome, and the newest signed head after it.
type BatchOutcome = (Vec<Result<Appended>>, Option<Arc<SignedHead>>);

/// The chain head and the newest checkpoint, as read under the chain lock.
struct Heads {
    head: (i64, [u8; 32]),
    checkpoint: Option<SignedHead>,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Job>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(self.batch_max);
        // A head left unanchored (a ledger from before checkpoints) is signed first.
        if let Err(e) = self.anchor_head().await {
            tracing::error!(error = %e, "cannot checkpoint the ledger head at start");
        }
        while let Some(first) = rx.recv().await {
            let mut tick = false;
            first.sort_into(&mut batch, &mut tick);
            while batch.len() < self.batch_max {
                match rx.try_recv() {
                    Ok(job) => job.sort_into(&mut batch, &mut tick),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                if tick {
                    if let Err(e) = self.anchor_head().await {
                        tracing::error!(error = %e, "cannot checkpoint the ledger head");
                    }
                }
                continue;
            }
            let requests: Vec<(Entry, Option<i64>)> =
                batch.iter().map(|p| (p.entry.clone(), p.newest)).collect();
            match self.commit(&requests).await {
                Ok((outcomes, head)) => {
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .max_batch
                        .fetch_max(requests.len() as u64, Ordering::Relaxed);
                    for (pending, outcome) in batch.drain(..).zip(outcomes) {
                        match &outcome {
                            Ok(Appended::New(_)) => {
                                self.stats.appended.fetch_add(1, Ordering::Relaxed)
                            }
                            Ok(Appended::Existing(_)) => {
                                self.stats.existing.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(_) => self.stats.failed.fetch_add(1, Ordering::Relaxed),
                        };
                        let _ = pending.reply.send(outcome.map(|outcome| Committed {
                            outcome,
                            head: head.clone(),
                        }));
                    }
                }
                Err(e) => {
                    let cause = cause(&e);
                    tracing::error!(error = %e, batch = requests.len(), %cause, "postgres ledger batch not committed");
                    self.stats
                        .failed
                        .fetch_add(requests.len() as u64, Ordering::Relaxed);
                    for pending in batch.drain(..) {
                        let _ = pending
                            .reply
                            .send(Err(LedgerError::NotCommitted(cause.to_owned())));
                    }
                }
            }
        }
    }

    /// Checkpoints the head when one is due (at start, and on the timer with checkpoints
    /// every N records), in its own transaction under the chain lock.
    async fn anchor_head(&self) -> Result<()> {
        let Some(checkpoints) = &self.checkpoints else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        let heads = lock_then_heads(&mut tx).await?;
        let last = heads.checkpoint.as_ref().map(|c| (c.sequence, c.signed_at));
        let now = crate::now_secs();
        if checkpoints.due(heads.head.0, last, now) {
            if let Some(signed) = checkpoints.sign(heads.head.0, heads.head.1, now) {
                sqlx::query("INSERT INTO checkpoints (sequence, hash, signed_at, kid, token) VALUES ($1, $2, $3, $4, $5)")
                    .bind(signed.sequence)
                    .bind(&signed.hash[..])
                    .bind(i64::try_from(signed.signed_at).unwrap_or(i64::MAX))
                    .bind(&signed.kid)
                    .bind(&signed.token)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends a batch. The common case, no consent id already recorded, costs four
    /// round trips: BEGIN, lock + heads, one statement inserting the records, their
    /// personal data and the checkpoint, COMMIT. When the insert finds an id already
    /// recorded, the transaction is rolled back and the batch is planned again with the
    /// recorded ids looked up first. A batch with a conditional entry (a withdrawal) also
    /// reads its subjects' newest sequences under the lock.
    async fn commit(&self, entries: &[(Entry, Option<i64>)]) -> Result<BatchOutcome> {
        if let Some(outcome) = self.try_commit(entries, false).await? {
            return Ok(outcome);
        }
        self.try_commit(entries, true).await?.ok_or_else(|| {
            LedgerError::NotCommitted(
                "a consent id conflicted although the chain lock was held".to_owned(),
            )
        })
    }

    async fn try_commit(
        &self,
        entries: &[(Entry, Option<i64>)],
        look_up_existing: bool,
    ) -> Result<Option<BatchOutcome>> {
        let mut tx = self.pool.begin().await?;
        let heads = lock_then_heads(&mut tx).await?;
        let mut existing = HashMap::new();
        if look_up_existing {
            let ids: Vec<&str> = entries.iter().map(|(e, _)| e.consent_id.as_str()).collect();
            for row in sqlx::query(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.consent_id = ANY($1)"
            ))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            {
                let record = row_to_record(&row).map_err(corrupt)?;
                existing.insert(record.entry.consent_id.clone(), record);
            }
        }
        let mut subjects = HashMap::new();
        let conditional: Vec<&str> = entries
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(e, _)| e.subject_id.as_str())
            .collect();
        if !conditional.is_empty() {
            for row in sqlx::query(
                "SELECT subject_id, max(sequence) FROM ledger WHERE subject_id = ANY($1) AND sequence > 0 GROUP BY subject_id",
            )
            .bind(&conditional)
            .fetch_all(&mut *tx)
            .await?
            {
                subjects.insert(row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
            }
        }
        let (outcomes, fresh) = plan_batch(heads.head, entries, &existing, &subjects);
        let new_head = fresh.last().map_or(heads.head, |r| (r.sequence, r.hash));
        let now = crate::now_secs();
        let last = heads.checkpoint.as_ref().map(|c| (c.sequence, c.signed_at));
        let signed = match &self.checkpoints {
            Some(c) if c.due(new_head.0, last, now) => c.sign(new_head.0, new_head.1, now),
            _ => None,
        };
        if !fresh.is_empty() || signed.is_some() {
            let mut cols = Columns::with_capacity(fresh.len());
            for r in &fresh {
                cols.push(r);
            }
            let cp = signed.as_ref();
            // One statement: the records, their personal data and the checkpoint, so a
            // batch costs one round trip. Data-modifying CTEs all run; the counts say
            // whether every record went in (a consent id recorded before inserts nothing).
            let counts = sqlx::query(&format!(
                "WITH r AS (INSERT INTO ledger ({INSERT_COLUMNS}) SELECT * FROM UNNEST(\
                 $1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], \
                 $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[], $13::bool[], $14::text[], \
                 $15::text[], $16::bytea[], $17::text[], $18::bytea[], $19::bytea[], $20::smallint[], $21::bytea[], \
                 $22::bytea[]) ON CONFLICT (consent_id) DO NOTHING RETURNING 1), \
                 p AS (INSERT INTO ledger_personal (sequence, recorded_at, salt, user_agent, client_network) \
                 SELECT * FROM UNNEST($23::bigint[], $24::bigint[], $25::bytea[], $26::text[], $27::text[]) RETURNING 1), \
                 c AS (INSERT INTO checkpoints (sequence, hash, signed_at, kid, token) \
                 SELECT $28::bigint, $29::bytea, $30::bigint, $31::text, $32::text WHERE $28::bigint IS NOT NULL RETURNING 1) \
                 SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM c)"
            ))
            .bind(cols.sequence)
            .bind(cols.consent_id)
            .bind(cols.subject_id)
            .bind(cols.kind)
            .bind(cols.withdraws)
            .bind(cols.recorded_at)
            .bind(cols.policy_version)
            .bind(cols.policy_digest)
            .bind(cols.language)
            .bind(cols.categories)
            .bind(cols.policy_accepted)
            .bind(cols.source)
            .bind(cols.gpc)
            .bind(cols.user_agent)
            .bind(cols.client_network)
            .bind(cols.request_hash)
            .bind(cols.token)
            .bind(cols.prev_hash)
            .bind(cols.hash)
            .bind(cols.format)
            .bind(cols.user_agent_hash)
            .bind(cols.client_network_hash)
            .bind(cols.personal_sequence)
            .bind(cols.personal_recorded_at)
            .bind(cols.personal_salt)
            .bind(cols.personal_user_agent)
            .bind(cols.personal_client_network)
            .bind(cp.map(|c| c.sequence))
            .bind(cp.map(|c| c.hash.to_vec()))
            .bind(cp.map(|c| i64::try_from(c.signed_at).unwrap_or(i64::MAX)))
            .bind(cp.map(|c| c.kid.clone()))
            .bind(cp.map(|c| c.token.clone()))
            .fetch_one(&mut *tx)
            .await?;
            let inserted: i64 = counts.try_get(0)?;
            if inserted != fresh.len() as i64 {
                // Some id was recorded before: the planned chain has gaps. Start over.
                tx.rollback().await?;
                return Ok(None);
            }
        }
        tx.commit().await?;
        let head = signed.or(heads.checkpoint).map(Arc::new);
        Ok(Some((outcomes, head)))
    }
}

/// Takes the chain lock, then reads the head and the newest checkpoint (one round trip).
/// In READ COMMITTED each statement takes its own snapshot, so they are read after the
/// lock is held and see every batch that any instance committed before.
async fn lock_then_heads(conn: &mut sqlx::PgConnection) -> Result<Heads> {
    let rows = sqlx::Executor::fetch_all(conn, sqlx::raw_sql(LOCK_THEN_HEAD)).await?;
    let row = rows.iter().find(|r| r.len() == 7).ok_or_else(|| {
        LedgerError::NotCommitted("the chain head query returned no row".to_owned())
    })?;
    let head = match row.try_get::<Option<i64>, _>(0)? {
        None => (0, GENESIS_HASH),
        Some(seq) => {
            let hash: Vec<u8> = row.try_get(1)?;
            (seq, hash_array(seq, "hash", &hash).map_err(corrupt)?)
        }
    };
    let checkpoint = match row.try_get::<Option<i64>, _>(2)? {
        None => None,
        Some(sequence) => Some(SignedHead {
            sequence,
            hash: hash_array(sequence, "checkpoint hash", &row.try_get::<Vec<u8>, _>(6)?)
                .map_err(corrupt)?,
            signed_at: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or(0),
            kid: row.try_get(4)?,
            token: row.try_get(5)?,
        }),
    };
    Ok(Heads { head, checkpoint })
}

/// What a failed batch tells the client's log line and the 503's cause: the session
/// timeouts are named, since they mean another instance holds or held the chain lock.
fn cause(e: &LedgerError) -> &'static str {
    let code = match e {
        LedgerError::Postgres(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    match code.as_deref() {
        Some("55P03") => "the chain lock was not granted within lock_timeout: another instance holds it (stuck or frozen?)",
        Some("57014") => "a statement ran longer than statement_timeout",
        Some("25P03") => "the session was idle in a transaction longer than idle_in_transaction_session_timeout",
        _ => "storage error",
    }
}

/// A checkpoint row (sequence, hash, signed_at, kid, token).
fn checkpoint_of(row: &PgRow) -> Result<Arc<SignedHead>> {
    let sequence: i64 = row.try_get(0)?;
    let hash: Vec<u8> = row.try_get(1)?;
    Ok(Arc::new(SignedHead {
        sequence,
        hash: hash_array(sequence, "checkpoint hash", &hash).map_err(corrupt)?,
        signed_at: u64::try_from(row.try_get::<i64, _>(2)?).unwrap_or(0),
        kid: row.try_get(3)?,
        token: row.try_get(4)?,
    }))
}

/// A batch as one array per column, for `UNNEST`.
#[derive(Default)]
struct Columns {
    sequence: Vec<i64>,
    consent_id: Vec<String>,
    subject_id: Vec<String>,
    kind: Vec<&'static str>,
    withdraws: Vec<Option<String>>,
    recorded_at: Vec<i64>,
    policy_version: Vec<String>,
    policy_digest: Vec<String>,
    language: Vec<String>,
    categories: Vec<String>,
    policy_accepted: Vec<bool>,
    source: Vec<String>,
    gpc: Vec<bool>,
    user_agent: Vec<String>,
    client_network: Vec<String>,
    request_hash: Vec<Vec<u8>>,
    token: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
    format: Vec<i16>,
    user_agent_hash: Vec<Option<Vec<u8>>>,
    client_network_hash: Vec<Option<Vec<u8>>>,
    personal_sequence: Vec<i64>,
    personal_recorded_at: Vec<i64>,
    personal_salt: Vec<Vec<u8>>,
    personal_user_agent: Vec<String>,
    personal_client_network: Vec<String>,
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Self {
            sequence: Vec::with_capacity(n),
            consent_id: Vec::with_capacity(n),
            token: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    fn push(&mut self, r: &Record) {
        let e = &r.entry;
        self.sequence.push(r.sequence);
        self.consent_id.push(e.consent_id.clone());
        self.subject_id.push(e.subject_id.clone());
        self.kind.push(e.kind.as_str());
        self.withdraws.push(e.withdraws.clone());
        self.recorded_at.push(e.recorded_at);
        self.policy_version.push(e.policy_version.clone());
        self.policy_digest.push(e.policy_digest.clone());
        self.language.push(e.language.clone());
        self.categories.push(e.categories.clone());
        self.policy_accepted.push(e.policy_accepted);
        self.source.push(e.source.clone());
        self.gpc.push(e.gpc);
        self.request_hash.push(e.request_hash.to_vec());
        self.token.push(e.token.clone());
        self.prev_hash.push(r.prev_hash.to_vec());
        self.hash.push(r.hash.to_vec());
        self.format
            .push(if e.personal.format() == 1 { 1 } else { 2 });
        match &e.personal {
            Personal::Clear => {
                self.user_agent.push(e.user_agent.clone());
                self.client_network.push(e.client_network.clone());
                self.user_agent_hash.push(None);
                self.client_network_hash.push(None);
            }
            // Format 2 keeps the personal values out of the chained row.
            Personal::Salted {
                user_agent_hash,
                client_network_hash,
                salt,
            } => {
                self.user_agent.push(String::new());
                self.client_network.push(String::new());
                self.user_agent_hash.push(Some(user_agent_hash.to_vec()));
                self.client_network_hash
                    .push(Some(client_network_hash.to_vec()));
                if let Some(salt) = salt {
                    self.personal_sequence.push(r.sequence);
                    self.personal_recorded_at.push(e.recorded_at);
                    self.personal_salt.push(salt.to_vec());
                    self.personal_user_agent.push(e.user_agent.clone());
                    self.personal_client_network.push(e.client_network.clone());
                }
            }
        }
    }
}

#[async_trait]
impl Ledger for PostgresLedger {
    async fn commit(&self, entry: Entry, newest: Option<i64>) -> Result<Committed> {
        submit(&self.tx, entry, newest).await
    }

    async fn signed_head(&self) -> Result<Option<Arc<SignedHead>>> {
        let row = sqlx::query(NEWEST_CHECKPOINT)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| checkpoint_of(&row)).transpose()
    }

    async fn signed_head_covering(&self, sequence: i64) -> Result<Option<Arc<SignedHead>>> {
        let row = sqlx::query(
            "SELECT sequence, hash, signed_at, kid, token FROM checkpoints WHERE sequence >= $1 ORDER BY sequence LIMIT 1",
        )
        .bind(sequence)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(checkpoint_of(&row)?)),
            None => self.signed_head().await,
        }
    }

    async fn find(&self, consent_id: &str) -> Result<Option<Record>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.consent_id = $1 AND l.sequence > 0"
        ))
        .bind(consent_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| row_to_record(&r).map_err(corrupt)).transpose()
    }

    async fn history(&self, subject_id: &str, limit: u32) -> Result<Vec<Record>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.subject_id = $1 AND l.sequence > 0 ORDER BY l.sequence LIMIT $2"
        ))
        .bind(subject_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| row_to_record(r).map_err(corrupt))
        .collect()
    }

    async fn latest(&self, subject_id: &str) -> Result<Option<Record>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.subject_id = $1 AND l.sequence > 0 ORDER BY l.sequence DESC LIMIT 1"
        ))
        .bind(subject_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| row_to_record(&r).map_err(corrupt)).transpose()
    }

    async fn verify(&self) -> Result<ChainStatus> {
        let mut conn = self.pool.acquire().await?;
        Ok(walk(&mut conn, Audit::default()).await?.status)
    }

    async fn durability(&self) -> Result<Durability> {
        let mut conn = self.pool.acquire().await?;
        let mut settings = Vec::new();
        for name in [
            "synchronous_commit",
            "lock_timeout",
            "statement_timeout",
            "idle_in_transaction_session_timeout",
        ] {
            let value: String = sqlx::query_scalar(&format!("SHOW {name}"))
                .fetch_one(&mut *conn)
                .await?;
            settings.push((name, value));
        }
        Ok(settings)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    async fn head(&self) -> Result<Option<(i64, [u8; 32])>> {
        let row = sqlx::query(
            "SELECT sequence, hash FROM ledger WHERE sequence > 0 ORDER BY sequence DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let sequence: i64 = row.try_get(0)?;
            let hash: Vec<u8> = row.try_get(1)?;
            Ok((
                sequence,
                hash_array(sequence, "hash", &hash).map_err(corrupt)?,
            ))
        })
        .transpose()
    }

    async fn range(
        &self,
        after: i64,
        through: i64,
        period: Option<Period>,
        limit: u32,
    ) -> Result<Vec<Record>> {
        let (from, to) = period.map_or((i64::MIN, i64::MAX), |p| (p.from_ms, p.to_ms));
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.sequence > greatest($1, 0) AND l.sequence <= $2 \
             AND l.recorded_at >= $3 AND l.recorded_at < $4 ORDER BY l.sequence LIMIT $5"
        ))
        .bind(after)
        .bind(through)
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| row_to_record(r).map_err(corrupt))
        .collect()
    }

    async fn period_bounds(&self, period: Period) -> Result<Option<(i64, i64)>> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            // `sequence + 0`: PostgreSQL would otherwise answer min/max by walking the
            // primary key from its end, filtering on recorded_at: 300 ms for a recent day of
            // a million records, against 5 ms through ledger_recorded_at (bench/operator.md).
            sqlx::query_as("SELECT min(sequence + 0), max(sequence + 0) FROM ledger WHERE recorded_at >= $1 AND recorded_at < $2 AND sequence > 0")
                .bind(period.from_ms)
                .bind(period.to_ms)
                .fetch_one(&self.pool)
                .await?;
        Ok(lo.zip(hi))
    }

    async fn figures(&self, period: Period, bucket_ms: i64, offset_ms: i64) -> Result<Figures> {
        // One REPEATABLE READ snapshot: the groups and the visitors count the same records.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT (recorded_at + $3) / $4 AS bucket, language, source, {} FROM ledger \
             WHERE recorded_at >= $1 AND recorded_at < $2 AND sequence > 0 GROUP BY 1, 2, 3 ORDER BY 1",
            counts_sql()
        ))
        .bind(period.from_ms)
        .bind(period.to_ms)
        .bind(offset_ms)
        .bind(bucket_ms.max(1))
        .fetch_all(&mut *tx)
        .await?;
        // count(*) and sum() of integers are bigints.
        let n = |row: &PgRow, i: usize| -> Result<u64> {
            Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut granted = [0; OPTIONAL_CATEGORIES];
            for (i, g) in granted.iter_mut().enumerate() {
                *g = n(row, 8 + i)?;
            }
            out.push(FigureRow {
                bucket: row.try_get(0)?,
                language: row.try_get(1)?,
                source: row.try_get(2)?,
                counts: Counts {
                    records: n(row, 3)?,
                    consents: n(row, 4)?,
                    withdrawals: n(row, 5)?,
                    policy_withdrawal_requests: n(row, 6)?,
                    policy_acceptances: n(row, 7)?,
                    granted,
                },
            });
        }
        let (visitors, visitors_with_gpc): (i64, i64) = sqlx::query_as(
            "SELECT count(DISTINCT subject_id), count(DISTINCT subject_id) FILTER (WHERE gpc) FROM ledger \
             WHERE recorded_at >= $1 AND recorded_at < $2 AND sequence > 0",
        )
        .bind(period.from_ms)
        .bind(period.to_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Figures {
            rows: out,
            visitors: u64::try_from(visitors).unwrap_or(0),
            visitors_with_gpc: u64::try_from(visitors_with_gpc).unwrap_or(0),
        })
    }
}
