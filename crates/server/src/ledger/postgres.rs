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

use super::{
    counts_sql, hash_array, pending_migrations, plan_batch, submit, Appended, ChainStatus, ChainVerifier, Counts,
    Durability, Entry, FigureRow, Figures, Ledger, LedgerError, Migrations, Pending, Period, Record, Result,
    WriterCounters, WriterStats, GENESIS_HASH, OPTIONAL_CATEGORIES,
};

const MIGRATIONS: Migrations = &[
    (1, "ledger", include_str!("../../migrations/postgres/0001_ledger.sql")),
    (3, "operators", include_str!("../../migrations/postgres/0003_operators.sql")),
];

const COLUMNS: &str = "sequence, consent_id, subject_id, kind, withdraws, recorded_at, policy_version, \
     policy_digest, language, categories, policy_accepted, source, gpc, user_agent, client_network, \
     request_hash, token, prev_hash, hash";

/// The lock that serializes appends (and migrations) of every instance using the same
/// schema. Keyed by schema so separate ledgers in one database do not wait on each other.
const CHAIN_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('vivus_consent_ledger:' || current_schema()))";

/// [`CHAIN_LOCK`], then the chain head, as one simple-protocol request.
const LOCK_THEN_HEAD: &str = "SELECT pg_advisory_xact_lock(hashtext('vivus_consent_ledger:' || current_schema())); \
     SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1";

/// Rows fetched per page when walking the chain.
const VERIFY_PAGE: i64 = 2048;

/// The PostgreSQL ledger.
#[derive(Debug)]
pub struct PostgresLedger {
    pool: PgPool,
    tx: mpsc::Sender<Pending>,
    stats: Arc<WriterCounters>,
}


impl PostgresLedger {
    /// Connects, runs the migrations and starts the writer task.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Open`] when the server cannot be reached or refuses the login,
    /// [`LedgerError::Migrate`] when the schema cannot be brought up to date.
    pub async fn open(options: PgConnectOptions, batch_max: usize) -> Result<Self> {
        // Every connection commits synchronously (the WAL flushed before COMMIT returns),
        // whatever the server, database or role default is: a 2xx is only sent after the
        // commit, so it must mean the record is on disk. Appended last, it overrides an
        // `options=-c synchronous_commit=…` in the URL.
        let options = options.options([("synchronous_commit", "on")]);
        let location = location(&options);
        // One direct connection first: the pool retries until its timeout, but a wrong
        // host, password or database should fail at once with the driver's reason.
        let probe = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|e| LedgerError::Open { location: location.clone(), reason: e.to_string() })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| LedgerError::Open { location, reason: e.to_string() })?;
        let synchronous_commit: String =
            sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await?;
        if synchronous_commit != "on" {
            return Err(LedgerError::NotDurable(format!("synchronous_commit is {synchronous_commit}, not on")));
        }
        migrate(&pool).await?;
        let stats = Arc::new(WriterCounters::default());
        let (tx, rx) = mpsc::channel(batch_max.max(1) * 4);
        let writer = Writer { pool: pool.clone(), batch_max: batch_max.max(1), stats: stats.clone() };
        tokio::spawn(writer.run(rx));
        Ok(Self { pool, tx, stats })
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

/// Walks the chain over one read-only session: no pool, no migration, no writer.
pub(crate) async fn verify_read_only(
    options: PgConnectOptions,
    watch: Option<[u8; 32]>,
) -> Result<(ChainStatus, Option<i64>)> {
    let location = location(&options);
    let options = options.options([("default_transaction_read_only", "on")]);
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| LedgerError::Open { location: location.clone(), reason: e.to_string() })?;
    let has_ledger: bool = sqlx::query_scalar("SELECT to_regclass('ledger') IS NOT NULL").fetch_one(&mut conn).await?;
    let result = if has_ledger { walk(&mut conn, watch).await } else { Err(LedgerError::NoLedger(location)) };
    let _ = conn.close().await;
    result
}

/// Walks the whole chain in one REPEATABLE READ snapshot, while other instances keep
/// appending.
async fn walk(conn: &mut sqlx::PgConnection, watch: Option<[u8; 32]>) -> Result<(ChainStatus, Option<i64>)> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let mut verifier = ChainVerifier::watching(watch);
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM ledger WHERE sequence > $1 ORDER BY sequence LIMIT $2"))
            .bind(after)
            .bind(VERIFY_PAGE)
            .fetch_all(&mut *tx)
            .await?;
        let n = rows.len() as i64;
        for row in &rows {
            let record = row_to_record(row);
            after = match &record {
                Ok(r) => r.sequence,
                Err((s, _)) => *s,
            };
            if let Err(broken) = verifier.check(record) {
                tx.commit().await?;
                return Ok((broken, verifier.watched_at()));
            }
        }
        if n < VERIFY_PAGE {
            tx.commit().await?;
            let watched = verifier.watched_at();
            return Ok((verifier.finish(), watched));
        }
    }
}

async fn migrate(pool: &PgPool) -> Result<()> {
    let err = |e: sqlx::Error| LedgerError::Migrate(e.to_string());
    let mut conn = pool.acquire().await.map_err(err)?;
    let mut tx = conn.begin().await.map_err(err)?;
    // Instances starting together must not both apply the same migration.
    sqlx::query(CHAIN_LOCK).execute(&mut *tx).await.map_err(err)?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum BYTEA NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(err)?;
    let applied: HashMap<i64, Vec<u8>> = sqlx::query("SELECT version, checksum FROM schema_migrations")
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
    Ok(Record {
        sequence,
        entry: Entry {
            consent_id: row.try_get(1).map_err(e)?,
            subject_id: row.try_get(2).map_err(e)?,
            kind: kind.parse().map_err(|k: super::UnknownKind| (sequence, k.to_string()))?,
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
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(self.batch_max);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < self.batch_max {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let entries: Vec<Entry> = batch.iter().map(|p| p.entry.clone()).collect();
            match self.commit(&entries).await {
                Ok(outcomes) => {
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.stats.max_batch.fetch_max(entries.len() as u64, Ordering::Relaxed);
                    for (pending, outcome) in batch.drain(..).zip(outcomes) {
                        match &outcome {
                            Appended::New(_) => self.stats.appended.fetch_add(1, Ordering::Relaxed),
                            Appended::Existing(_) => self.stats.existing.fetch_add(1, Ordering::Relaxed),
                        };
                        let _ = pending.reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, batch = entries.len(), "postgres ledger batch not committed");
                    self.stats.failed.fetch_add(entries.len() as u64, Ordering::Relaxed);
                    for pending in batch.drain(..) {
                        let _ = pending.reply.send(Err(LedgerError::NotCommitted("storage error".to_owned())));
                    }
                }
            }
        }
    }

    /// Appends a batch. The common case, no consent id already recorded, costs four
    /// round trips: BEGIN, lock + head, one multi-row INSERT, COMMIT. When the INSERT
    /// finds an id already recorded, the transaction is rolled back and the batch is
    /// planned again with the recorded ids looked up first.
    async fn commit(&self, entries: &[Entry]) -> Result<Vec<Appended>> {
        if let Some(outcomes) = self.try_commit(entries, false).await? {
            return Ok(outcomes);
        }
        self.try_commit(entries, true).await?.ok_or_else(|| {
            LedgerError::NotCommitted("a consent id conflicted although the chain lock was held".to_owned())
        })
    }

    async fn try_commit(&self, entries: &[Entry], look_up_existing: bool) -> Result<Option<Vec<Appended>>> {
        let mut tx = self.pool.begin().await?;
        // Two statements in one round trip. In READ COMMITTED each statement takes its own
        // snapshot, so the head is read after the lock is held and sees every batch that
        // any instance committed before.
        let conn: &mut sqlx::PgConnection = &mut tx;
        let rows = sqlx::Executor::fetch_all(conn, sqlx::raw_sql(LOCK_THEN_HEAD)).await?;
        let head = match rows.iter().find(|r| r.len() == 2) {
            None => (0, GENESIS_HASH),
            Some(row) => {
                let seq: i64 = row.try_get(0)?;
                let hash: Vec<u8> = row.try_get(1)?;
                (seq, hash_array(seq, "hash", &hash).map_err(corrupt)?)
            }
        };
        let mut existing = HashMap::new();
        if look_up_existing {
            let ids: Vec<&str> = entries.iter().map(|e| e.consent_id.as_str()).collect();
            for row in sqlx::query(&format!("SELECT {COLUMNS} FROM ledger WHERE consent_id = ANY($1)"))
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?
            {
                let record = row_to_record(&row).map_err(corrupt)?;
                existing.insert(record.entry.consent_id.clone(), record);
            }
        }
        let (outcomes, fresh) = plan_batch(head, entries, &existing);
        if !fresh.is_empty() {
            // One multi-row INSERT: a batch costs one round trip, not one per record.
            let mut cols = Columns::with_capacity(fresh.len());
            for r in &fresh {
                cols.push(r);
            }
            let inserted = sqlx::query(&format!(
                "INSERT INTO ledger ({COLUMNS}) SELECT * FROM UNNEST(\
                 $1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], \
                 $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[], $13::bool[], $14::text[], \
                 $15::text[], $16::bytea[], $17::text[], $18::bytea[], $19::bytea[]) \
                 ON CONFLICT (consent_id) DO NOTHING"
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
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted != fresh.len() as u64 {
                // Some id was recorded before: the planned chain has gaps. Start over.
                tx.rollback().await?;
                return Ok(None);
            }
        }
        tx.commit().await?;
        Ok(Some(outcomes))
    }
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
        self.user_agent.push(e.user_agent.clone());
        self.client_network.push(e.client_network.clone());
        self.request_hash.push(e.request_hash.to_vec());
        self.token.push(e.token.clone());
        self.prev_hash.push(r.prev_hash.to_vec());
        self.hash.push(r.hash.to_vec());
    }
}

#[async_trait]
impl Ledger for PostgresLedger {
    async fn append(&self, entry: Entry) -> Result<Appended> {
        submit(&self.tx, entry).await
    }

    async fn find(&self, consent_id: &str) -> Result<Option<Record>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ledger WHERE consent_id = $1"))
            .bind(consent_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| row_to_record(&r).map_err(corrupt)).transpose()
    }

    async fn history(&self, subject_id: &str, limit: u32) -> Result<Vec<Record>> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM ledger WHERE subject_id = $1 ORDER BY sequence LIMIT $2"))
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
            "SELECT {COLUMNS} FROM ledger WHERE subject_id = $1 ORDER BY sequence DESC LIMIT 1"
        ))
        .bind(subject_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| row_to_record(&r).map_err(corrupt)).transpose()
    }

    async fn verify(&self) -> Result<ChainStatus> {
        let mut conn = self.pool.acquire().await?;
        Ok(walk(&mut conn, None).await?.0)
    }

    async fn durability(&self) -> Result<Durability> {
        let value: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&self.pool).await?;
        Ok(vec![("synchronous_commit", value)])
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    async fn head(&self) -> Result<Option<(i64, [u8; 32])>> {
        let row = sqlx::query("SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let sequence: i64 = row.try_get(0)?;
            let hash: Vec<u8> = row.try_get(1)?;
            Ok((sequence, hash_array(sequence, "hash", &hash).map_err(corrupt)?))
        })
        .transpose()
    }

    async fn range(&self, after: i64, through: i64, period: Option<Period>, limit: u32) -> Result<Vec<Record>> {
        let (from, to) = period.map_or((i64::MIN, i64::MAX), |p| (p.from_ms, p.to_ms));
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ledger WHERE sequence > $1 AND sequence <= $2 \
             AND recorded_at >= $3 AND recorded_at < $4 ORDER BY sequence LIMIT $5"
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
            sqlx::query_as("SELECT min(sequence), max(sequence) FROM ledger WHERE recorded_at >= $1 AND recorded_at < $2")
                .bind(period.from_ms)
                .bind(period.to_ms)
                .fetch_one(&self.pool)
                .await?;
        Ok(lo.zip(hi))
    }

    async fn figures(&self, period: Period, bucket_ms: i64, offset_ms: i64) -> Result<Figures> {
        // One REPEATABLE READ snapshot: the groups and the visitors count the same records.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        let rows = sqlx::query(&format!(
            "SELECT (recorded_at + $3) / $4 AS bucket, language, source, {} FROM ledger \
             WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY 1, 2, 3 ORDER BY 1",
            counts_sql()
        ))
        .bind(period.from_ms)
        .bind(period.to_ms)
        .bind(offset_ms)
        .bind(bucket_ms.max(1))
        .fetch_all(&mut *tx)
        .await?;
        // count(*) and sum() of integers are bigints.
        let n = |row: &PgRow, i: usize| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0)) };
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
             WHERE recorded_at >= $1 AND recorded_at < $2",
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
