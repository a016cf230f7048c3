//! The embedded SQLite ledger: WAL mode, `synchronous=FULL`, one writer thread that
//! commits a batch of appends per transaction, and a few reader connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use tokio::sync::mpsc;

use super::checkpoint::{Checkpointer, SignedHead};
use super::{
    counts_sql, hash_array, pending_migrations, submit, Appended, Audit, BreakReason, ChainStatus,
    ChainVerifier, Committed, Counts, Durability, Entry, FigureRow, Figures, Job, Ledger,
    LedgerError, Migrations, Options, Pending, Period, Personal, Record, Result, Verified,
    WriterCounters, WriterStats, GENESIS_HASH, OPTIONAL_CATEGORIES,
};

const MIGRATIONS: Migrations = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/sqlite/0001_ledger.sql"),
    ),
    (
        2,
        "checkpoints_personal_data",
        include_str!("../../migrations/sqlite/0002_checkpoints_personal_data.sql"),
    ),
    (
        3,
        "operators",
        include_str!("../../migrations/sqlite/0003_operators.sql"),
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
     l.token, l.prev_hash, l.hash, l.format, l.user_agent_hash, l.client_network_hash, p.salt";

const FROM_RECORDS: &str = "ledger l LEFT JOIN ledger_personal p ON p.sequence = l.sequence";

/// Readers kept open between requests; more are opened on demand under load.
const IDLE_READERS: usize = 4;

/// WAL pages between checkpoints (64 MiB), instead of SQLite's 1000. An append dirties a
/// random leaf of each index, so a 1000-page WAL was checkpointed every ~250 appends,
/// copying nearly every page it held; over a longer window the same leaves are dirtied
/// again and each checkpoint copies them once. In alternating runs of the `stages`
/// example (64 appenders) this cut CPU per append by ~15% and raised throughput by
/// 20–40% against 1000 pages, and did a little better than 4000.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_000;

/// Rows fetched per page when walking the chain.
const VERIFY_PAGE: i64 = 2048;

/// How often a ledger that is not writable is probed again while no append waits (an
/// append also probes before it is refused).
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The SQLite ledger.
#[derive(Debug)]
pub struct SqliteLedger {
    path: PathBuf,
    tx: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Reader>>>,
    stats: Arc<WriterCounters>,
    shared: Arc<Shared>,
}

/// What the writer thread and the handlers share.
#[derive(Debug, Default)]
struct Shared {
    /// Why appends are refused now (the file is not writable), or `None`.
    unwritable: Mutex<Option<String>>,
    /// The writer connection's durability settings, once it is open.
    durability: Mutex<Durability>,
    /// A `max_page_count` for the writer to apply before its next batch (0: none).
    page_limit: std::sync::atomic::AtomicU64,
    /// The newest signed checkpoint (one instance writes an SQLite ledger, so the writer's
    /// copy is the newest).
    signed_head: Mutex<Option<Arc<SignedHead>>>,
}

impl Shared {
    fn signed_head(&self) -> Option<Arc<SignedHead>> {
        self.signed_head
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_signed_head(&self, head: Option<Arc<SignedHead>>) {
        *self.signed_head.lock().unwrap_or_else(|p| p.into_inner()) = head;
    }

    fn unwritable(&self) -> Option<String> {
        self.unwritable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_unwritable(&self, cause: Option<String>) {
        *self.unwritable.lock().unwrap_or_else(|p| p.into_inner()) = cause;
    }
}

/// A pooled reader. `immutable` readers are opened only while the file is not writable
/// (SQLite cannot open a WAL file on a read-only mount otherwise) and are dropped once
/// it is writable again, since they would not see new appends.
#[derive(Debug)]
struct Reader {
    conn: Connection,
    immutable: bool,
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger file at `path`, creating its directory,
    /// runs the migrations and starts the writer thread. Blocking: call it from
    /// `spawn_blocking` or before the runtime is busy.
    ///
    /// A ledger file that exists, is up to date and readable but cannot be opened for
    /// writing (a read-only file system or mount, permissions) opens **degraded**: reads
    /// work, every append is refused with [`LedgerError::NotCommitted`] naming the
    /// cause, and the writer probes the file again every few seconds and before each
    /// batch, and takes appends again once it is writable, without a restart.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Open`] when the file or its directory cannot be created or opened,
    /// [`LedgerError::Migrate`] when the schema cannot be brought up to date (also when
    /// it is not writable and not up to date), [`LedgerError::NotDurable`] when SQLite
    /// does not take WAL mode and `synchronous=FULL`.
    pub fn open(path: &Path, batch_max: usize) -> Result<Self> {
        Self::open_with(
            path,
            &Options {
                batch_max,
                ..Options::default()
            },
        )
    }

    /// [`SqliteLedger::open`] with checkpoints.
    ///
    /// # Errors
    ///
    /// As [`SqliteLedger::open`].
    pub fn open_with(path: &Path, options: &Options) -> Result<Self> {
        let batch_max = options.batch_max;
        let open_err = |reason: String| LedgerError::Open {
            location: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let shared = Arc::new(Shared::default());
        let (conn, head) = match open_writer(path) {
            Ok((conn, head, durability)) => {
                *shared.durability.lock().unwrap_or_else(|p| p.into_inner()) = durability;
                shared.set_signed_head(load_signed_head(&conn)?.map(Arc::new));
                (Some(conn), head)
            }
            Err(e) => match unwritable_cause(path) {
                // Readable and up to date, only not writable: serve reads, refuse appends.
                Some(cause) if readable_ledger(path).is_ok() => {
                    tracing::error!(
                        path = %path.display(), %cause,
                        "the sqlite ledger is not writable: starting degraded, appends answer 503 until it is (probed every {} s)",
                        PROBE_EVERY.as_secs()
                    );
                    shared.set_unwritable(Some(cause));
                    shared.set_signed_head(
                        load_signed_head(&open_reader(path, false)?.conn)?.map(Arc::new),
                    );
                    (None, (0, GENESIS_HASH))
                }
                _ => return Err(e),
            },
        };
        let readers = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(WriterCounters::default());
        let (tx, rx) = mpsc::channel(batch_max.max(1) * 4);
        let writer = Writer {
            path: path.to_owned(),
            conn,
            head,
            batch_max: batch_max.max(1),
            stats: stats.clone(),
            shared: shared.clone(),
            readers: readers.clone(),
            checkpoints: options.checkpoints.clone(),
        };
        std::thread::Builder::new()
            .name("ledger-sqlite-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| open_err(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            tx,
            readers,
            stats,
            shared,
        })
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, raised to the
    /// current size if lower) from the writer's next batch on, so tests can make the
    /// ledger full without filling a disk.
    #[doc(hidden)]
    pub fn set_max_page_count(&self, pages: u64) {
        self.shared
            .page_limit
            .store(pages.max(1), Ordering::Relaxed);
    }

    /// The writer's queue, for the checkpoint timer.
    pub(crate) fn jobs(&self) -> mpsc::WeakSender<Job> {
        self.tx.downgrade()
    }

    /// Runs `f` on a reader connection in the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let writable = shared.unwritable().is_none();
            let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let reader = match pooled {
                Some(r) if !(r.immutable && writable) => r,
                _ => open_reader(&path, writable)?,
            };
            let out = f(&reader.conn);
            let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < IDLE_READERS && !(reader.immutable && shared.unwritable().is_none()) {
                pool.push(reader);
            }
            out
        })
        .await
        .map_err(|e| LedgerError::NotCommitted(format!("reader task failed: {e}")))?
    }
}

/// Opens the writer's connection: WAL, `synchronous=FULL` (read back), migrations, and
/// the chain head.
fn open_writer(path: &Path) -> Result<(Connection, (i64, [u8; 32]), Durability)> {
    let open_err = |reason: String| LedgerError::Open {
        location: path.display().to_string(),
        reason,
    };
    let mut conn = Connection::open(path).map_err(|e| open_err(explain(path, e.to_string())))?;
    // SQLite silently falls back to read-only when the file cannot be opened for writing.
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(open_err(explain(path, "opened read-only".to_owned())));
    }
    // WAL + FULL: a commit returns after the WAL is fsynced, so an acknowledged
    // append survives power loss; readers do not block the writer.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| open_err(explain(path, e.to_string())))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(format!("cannot switch to WAL mode (got {mode})")));
    }
    // A 64 MiB page cache keeps the indexes' inner pages and recent leaves in memory.
    conn.execute_batch(&format!(
        "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; \
         PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};"
    ))
    .map_err(|e| open_err(e.to_string()))?;
    // Read back what the writer's connection runs with: a build of SQLite that
    // ignored a PRAGMA must not be trusted with acknowledged appends.
    let synchronous: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .map_err(|e| open_err(e.to_string()))?;
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| open_err(e.to_string()))?;
    if synchronous != 2 || !journal.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::NotDurable(format!(
            "SQLite runs with journal_mode={journal} synchronous={synchronous}, not WAL and FULL (2)"
        )));
    }
    let durability = vec![
        ("journal_mode", journal.to_ascii_lowercase()),
        ("synchronous", synchronous.to_string()),
    ];
    migrate(&mut conn)?;
    let head = load_head(&conn)?;
    Ok((conn, head, durability))
}

/// An SQLite URI opening `path` read-only as immutable (`%`, `?` and `#` escaped, as
/// URI file names require).
fn immutable_uri(path: &Path) -> String {
    let name = path
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    format!("file:{name}?immutable=1")
}

/// Why the existing file at `path` cannot be opened for writing, or `None` (it can, or
/// it does not exist, or it is not a file).
fn unwritable_cause(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => None,
        Err(e) => Some(format!(
            "the ledger file {} is not writable ({e})",
            path.display()
        )),
    }
}

/// Checks that a file that is not writable holds a ledger this build can serve as it
/// is: the ledger table, every migration applied and unchanged, a readable head.
fn readable_ledger(path: &Path) -> Result<()> {
    let reader = open_reader(path, false)?;
    let applied: HashMap<i64, Vec<u8>> = {
        let mut stmt = reader
            .conn
            .prepare("SELECT version, checksum FROM schema_migrations")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if !pending_migrations(MIGRATIONS, &applied)?.is_empty() {
        return Err(LedgerError::Migrate(
            "the read-only ledger needs a migration".to_owned(),
        ));
    }
    load_head(&reader.conn).map(|_| ())
}

/// SQLite's "unable to open database file" does not say why; when the file exists but
/// cannot be opened for writing (read-only file system or mount, permissions), say that.
fn explain(path: &Path, reason: String) -> String {
    match unwritable_cause(path) {
        Some(cause) => format!("{reason}: {cause}"),
        None => reason,
    }
}

/// Opens the file at `path` read-only: never created, never migrated, no writer.
fn open_read_only(path: &Path) -> Result<Connection> {
    let location = path.display().to_string();
    let open = |uri: String, flags: OpenFlags| -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            uri,
            flags | OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch("PRAGMA query_only=ON; PRAGMA busy_timeout=10000;")?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(conn)
    };
    match open(path.display().to_string(), OpenFlags::empty()) {
        Ok(conn) => Ok(conn),
        // A WAL file on a read-only mount cannot be opened plainly (SQLite cannot create
        // its shared-memory file); nothing can write it there, so read it as immutable.
        Err(e) if unwritable_cause(path).is_some() => {
            open(immutable_uri(path), OpenFlags::SQLITE_OPEN_URI).map_err(|_| LedgerError::Open {
                location,
                reason: e.to_string(),
            })
        }
        Err(e) => Err(LedgerError::Open {
            location,
            reason: e.to_string(),
        }),
    }
}

fn has_table(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// The schema version of the file (0 without a migrations table).
fn schema_version(conn: &Connection) -> Result<i64> {
    if !has_table(conn, "schema_migrations")? {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

/// Audits the file at `path` opened read-only: never created, never migrated, no writer.
pub(crate) fn verify_read_only(path: &Path, audit: Audit) -> Result<Verified> {
    let conn = open_read_only(path)?;
    if !has_table(&conn, "ledger")? {
        return Err(LedgerError::NoLedger(path.display().to_string()));
    }
    walk(&conn, audit)
}

/// The newest record of the file at `path`, read-only; `None` without a ledger table.
pub(crate) fn newest_read_only(path: &Path) -> Result<Option<Record>> {
    let conn = open_read_only(path)?;
    if !has_table(&conn, "ledger")? {
        return Ok(None);
    }
    let columns = if schema_version(&conn)? >= 2 {
        COLUMNS
    } else {
        COLUMNS_V1
    };
    let from = if schema_version(&conn)? >= 2 {
        FROM_RECORDS
    } else {
        "ledger l"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM {from} WHERE l.sequence > 0 ORDER BY l.sequence DESC LIMIT 1"
    ))?;
    match stmt.query_row([], row_to_record).optional()? {
        Some(r) => Ok(Some(r.map_err(corrupt)?)),
        None => Ok(None),
    }
}

/// [`COLUMNS`] for a file still at schema 1 (`ledger verify` before the service migrated it).
const COLUMNS_V1: &str = "l.sequence, l.consent_id, l.subject_id, l.kind, l.withdraws, l.recorded_at, \
     l.policy_version, l.policy_digest, l.language, l.categories, l.policy_accepted, l.source, l.gpc, \
     l.user_agent, l.client_network, l.request_hash, l.token, l.prev_hash, l.hash, 1, NULL, NULL, NULL";

/// `ledger purge`: deletes the personal data of format 2 records before `before_ms`, with
/// `secure_delete` (the freed pages are zeroed) and a WAL checkpoint that truncates the
/// log, so the values do not linger in the file.
pub(crate) fn purge(path: &Path, before_ms: i64) -> Result<super::Purged> {
    let location = path.display().to_string();
    if !path.is_file() {
        return Err(LedgerError::Open {
            location,
            reason: "there is no such file".to_owned(),
        });
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| LedgerError::Open {
        location: location.clone(),
        reason: explain(path, e.to_string()),
    })?;
    conn.execute_batch("PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;")?;
    if !has_table(&conn, "ledger")? {
        return Err(LedgerError::NoLedger(location));
    }
    if schema_version(&conn)? < 2 {
        return Err(LedgerError::Migrate(
            "the ledger is still at schema 1 (no purgeable personal data); start the service once to migrate it".to_owned(),
        ));
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let purged = tx.execute(
        "DELETE FROM ledger_personal WHERE recorded_at < ?1",
        [before_ms],
    )?;
    let kept_v1: i64 = tx.query_row(
        "SELECT count(*) FROM ledger WHERE format = 1 AND recorded_at < ?1",
        [before_ms],
        |r| r.get(0),
    )?;
    tx.commit()?;
    // The deleted values are zeroed in the pages written to the WAL; copy them into the
    // file and empty the log. A busy reader only delays this to SQLite's next checkpoint.
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        tracing::warn!("the WAL could not be truncated now (a reader is active); SQLite overwrites it at its next checkpoint");
    }
    Ok(super::Purged {
        purged: purged as u64,
        kept_v1: u64::try_from(kept_v1).unwrap_or(0),
    })
}

/// Walks the whole chain, and with keys the tokens and checkpoints, in one read
/// transaction, so the walk sees one consistent snapshot while a writer keeps appending
/// (records and their checkpoint commit together).
fn walk(conn: &Connection, audit: Audit) -> Result<Verified> {
    conn.execute_batch("BEGIN")?;
    let result = walk_in_snapshot(conn, audit);
    conn.execute_batch("COMMIT")?;
    result
}

fn walk_in_snapshot(conn: &Connection, audit: Audit) -> Result<Verified> {
    let version = schema_version(conn)?;
    let mut anchors = Vec::new();
    let database: Arc<str> = Arc::from("the database");
    if let Some(jwks) = &audit.jwks {
        if version >= 2 && !has_table(conn, "checkpoints")? {
            // The migration that created it is recorded: it was dropped.
            let status = ChainStatus::Broken {
                sequence: 0,
                reason: BreakReason::BadCheckpoint("the checkpoints table was dropped".to_owned()),
                checked: 0,
            };
            return Ok(ChainVerifier::watching(None).report(Err(status)));
        }
        if version >= 2 {
            let mut stmt = conn.prepare(
                "SELECT sequence, hash, signed_at, kid, token FROM checkpoints ORDER BY sequence",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            for row in rows {
                let (sequence, hash, signed_at, kid, token) = row?;
                match super::stored_anchor(
                    &database, sequence, &hash, signed_at, &kid, &token, jwks,
                ) {
                    Ok(anchor) => anchors.push(anchor),
                    Err(reason) => {
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
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM {from} WHERE l.sequence > ?1 ORDER BY l.sequence LIMIT ?2"
    ))?;
    let mut after = i64::MIN;
    loop {
        let page = stmt
            .query_map(params![after, VERIFY_PAGE], row_to_record)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let n = page.len() as i64;
        if let Some(last) = page.last() {
            after = match last {
                Ok(r) => r.sequence,
                Err((s, _)) => *s,
            };
        }
        if let Err(broken) = verifier.check_page(page) {
            return Ok(verifier.report(Err(broken)));
        }
        if n < VERIFY_PAGE {
            return Ok(verifier.report(Ok(())));
        }
    }
}

/// A reader connection. When the file is not writable and SQLite cannot open it for
/// reading as it is (a WAL file on a read-only mount: the shared-memory file cannot be
/// created), it is opened `immutable`, which is sound while nothing can write it.
fn open_reader(path: &Path, writable: bool) -> Result<Reader> {
    let opened = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.execute_batch("PRAGMA query_only=ON; PRAGMA busy_timeout=10000;")?;
        // Opening is lazy: touch the schema so a file that cannot be read fails here.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(conn)
    });
    match opened {
        Ok(conn) => Ok(Reader {
            conn,
            immutable: false,
        }),
        Err(e) if !writable || unwritable_cause(path).is_some() => {
            let uri = immutable_uri(path);
            let conn = Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|_| LedgerError::Sqlite(e))?;
            conn.execute_batch("PRAGMA query_only=ON;")?;
            Ok(Reader {
                conn,
                immutable: true,
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let err = |e: rusqlite::Error| LedgerError::Migrate(e.to_string());
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum BLOB NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(err)?;
    let applied: HashMap<i64, Vec<u8>> = {
        let mut stmt = tx
            .prepare("SELECT version, checksum FROM schema_migrations")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(err)?
    };
    for (version, name, sql, checksum) in pending_migrations(MIGRATIONS, &applied)? {
        tx.execute_batch(sql)
            .map_err(|e| LedgerError::Migrate(format!("migration {version} ({name}): {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![version, name, checksum, super::super::now_ms()],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)
}

fn load_head(conn: &Connection) -> Result<(i64, [u8; 32])> {
    let head: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT sequence, hash FROM ledger WHERE sequence > 0 ORDER BY sequence DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match head {
        None => Ok((0, GENESIS_HASH)),
        Some((seq, hash)) => {
            let hash = hash_array(seq, "hash", &hash)
                .map_err(|(sequence, reason)| LedgerError::Corrupt { sequence, reason })?;
            Ok((seq, hash))
        }
    }
}

/// The newest stored checkpoint (schema 2 on).
fn load_signed_head(conn: &Connection) -> Result<Option<SignedHead>> {
    if !has_table(conn, "checkpoints")? {
        return Ok(None);
    }
    load_checkpoint(conn, None)
}

/// The first checkpoint at or after `covering`, or the newest one.
fn load_checkpoint(conn: &Connection, covering: Option<i64>) -> Result<Option<SignedHead>> {
    let read = |r: &Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
    let row: Option<(i64, Vec<u8>, i64, String, String)> = match covering {
        Some(sequence) => conn
            .prepare_cached(
                "SELECT sequence, hash, signed_at, kid, token FROM checkpoints WHERE sequence >= ?1 ORDER BY sequence LIMIT 1",
            )?
            .query_row([sequence], read)
            .optional()?,
        None => conn
            .prepare_cached("SELECT sequence, hash, signed_at, kid, token FROM checkpoints ORDER BY sequence DESC LIMIT 1")?
            .query_row([], read)
            .optional()?,
    };
    row.map(|(sequence, hash, signed_at, kid, token)| {
        Ok(SignedHead {
            sequence,
            hash: hash_array(sequence, "checkpoint hash", &hash).map_err(corrupt)?,
            signed_at: u64::try_from(signed_at).unwrap_or(0),
            kid,
            token,
        })
    })
    .transpose()
}

/// Reads a row selected with [`COLUMNS`]. The outer error is SQLite's; the inner one
/// names a row that is present but not a valid record.
fn row_to_record(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Record, (i64, String)>> {
    let sequence: i64 = row.get(0)?;
    let kind: String = row.get(3)?;
    let request_hash: Vec<u8> = row.get(15)?;
    let prev_hash: Vec<u8> = row.get(17)?;
    let hash: Vec<u8> = row.get(18)?;
    let format: i64 = row.get(19)?;
    let user_agent_hash: Option<Vec<u8>> = row.get(20)?;
    let client_network_hash: Option<Vec<u8>> = row.get(21)?;
    let salt: Option<Vec<u8>> = row.get(22)?;
    let build = || -> std::result::Result<Record, (i64, String)> {
        Ok(Record {
            sequence,
            entry: Entry {
                consent_id: row.get(1).map_err(|e| (sequence, e.to_string()))?,
                subject_id: row.get(2).map_err(|e| (sequence, e.to_string()))?,
                kind: kind
                    .parse()
                    .map_err(|e: super::UnknownKind| (sequence, e.to_string()))?,
                withdraws: row.get(4).map_err(|e| (sequence, e.to_string()))?,
                recorded_at: row.get(5).map_err(|e| (sequence, e.to_string()))?,
                policy_version: row.get(6).map_err(|e| (sequence, e.to_string()))?,
                policy_digest: row.get(7).map_err(|e| (sequence, e.to_string()))?,
                language: row.get(8).map_err(|e| (sequence, e.to_string()))?,
                categories: row.get(9).map_err(|e| (sequence, e.to_string()))?,
                policy_accepted: row.get(10).map_err(|e| (sequence, e.to_string()))?,
                source: row.get(11).map_err(|e| (sequence, e.to_string()))?,
                gpc: row.get(12).map_err(|e| (sequence, e.to_string()))?,
                user_agent: row.get(13).map_err(|e| (sequence, e.to_string()))?,
                client_network: row.get(14).map_err(|e| (sequence, e.to_string()))?,
                personal: super::personal_of(
                    sequence,
                    format,
                    user_agent_hash.as_deref(),
                    client_network_hash.as_deref(),
                    salt.as_deref(),
                )?,
                request_hash: hash_array(sequence, "request_hash", &request_hash)?,
                token: row.get(16).map_err(|e| (sequence, e.to_string()))?,
            },
            prev_hash: hash_array(sequence, "prev_hash", &prev_hash)?,
            hash: hash_array(sequence, "hash", &hash)?,
        })
    };
    Ok(build())
}

fn corrupt((sequence, reason): (i64, String)) -> LedgerError {
    LedgerError::Corrupt { sequence, reason }
}

struct Writer {
    path: PathBuf,
    /// `None` while the file is not writable.
    conn: Option<Connection>,
    head: (i64, [u8; 32]),
    batch_max: usize,
    stats: Arc<WriterCounters>,
    shared: Arc<Shared>,
    readers: Arc<Mutex<Vec<Reader>>>,
    checkpoints: Option<Arc<Checkpointer>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(self.batch_max);
        let mut last_probe = std::time::Instant::now();
        // A head left unanchored (a ledger from before checkpoints, or checkpoints every N
        // records when the service stopped) is signed before anything else.
        self.anchor_head();
        loop {
            // Block for the first job, then take whatever else is already waiting: the
            // batch grows with the load and one fsync covers all of it. While the file is
            // not writable, poll instead, so it is probed again even when nothing arrives.
            let first = if self.conn.is_some() {
                match rx.blocking_recv() {
                    Some(job) => job,
                    None => return,
                }
            } else {
                match rx.try_recv() {
                    Ok(job) => {
                        self.reopen();
                        last_probe = std::time::Instant::now();
                        job
                    }
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if last_probe.elapsed() >= PROBE_EVERY {
                            self.reopen();
                            last_probe = std::time::Instant::now();
                        }
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            };
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
                    self.anchor_head();
                }
                continue;
            }
            let n = batch.len() as u64;
            if self.conn.is_none() {
                let cause = self.shared.unwritable().unwrap_or_default();
                self.stats.failed.fetch_add(n, Ordering::Relaxed);
                for pending in batch.drain(..) {
                    let _ = pending
                        .reply
                        .send(Err(LedgerError::NotCommitted(cause.clone())));
                }
                continue;
            }
            let (requests, replies): (Vec<(Entry, Option<i64>)>, Vec<_>) = batch
                .drain(..)
                .map(|p| ((p.entry, p.newest), p.reply))
                .unzip();
            match self.commit(requests) {
                Ok(outcomes) => {
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.stats.max_batch.fetch_max(n, Ordering::Relaxed);
                    let head = self.shared.signed_head();
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        match &outcome {
                            Ok(Appended::New(_)) => {
                                self.stats.appended.fetch_add(1, Ordering::Relaxed)
                            }
                            Ok(Appended::Existing(_)) => {
                                self.stats.existing.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(_) => self.stats.failed.fetch_add(1, Ordering::Relaxed),
                        };
                        // A waiter that gave up (client went away) is fine: the record is committed.
                        let _ = reply.send(outcome.map(|outcome| Committed {
                            outcome,
                            head: head.clone(),
                        }));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, batch = n, "sqlite ledger batch not committed");
                    self.stats.failed.fetch_add(n, Ordering::Relaxed);
                    for reply in replies {
                        let _ = reply.send(Err(LedgerError::NotCommitted(format!(
                            "storage error: {e}"
                        ))));
                    }
                    // The file turned read-only under us: drop the connection and probe
                    // until it is writable again.
                    let read_only = matches!(
                        &e,
                        LedgerError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                            if matches!(f.code, rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
                    );
                    if read_only {
                        self.degrade(format!(
                            "the ledger file {} is not writable ({e})",
                            self.path.display()
                        ));
                        continue;
                    }
                    // The transaction rolled back; the head in memory may be ahead of the file.
                    match self.conn.as_ref().map(load_head) {
                        Some(Ok(head)) => self.head = head,
                        Some(Err(e)) => {
                            self.degrade(format!("cannot reload the ledger head ({e})"))
                        }
                        None => {}
                    }
                }
            }
        }
    }

    /// Stops taking appends until [`Writer::reopen`] succeeds.
    fn degrade(&mut self, cause: String) {
        tracing::error!(%cause, "the sqlite ledger is not writable: appends answer 503 until it is (probed every {} s)", PROBE_EVERY.as_secs());
        self.conn = None;
        self.shared.set_unwritable(Some(cause));
    }

    /// Tries to open the writer's connection again; on success appends are taken again.
    fn reopen(&mut self) {
        match open_writer(&self.path) {
            Ok((conn, head, durability)) => {
                match load_signed_head(&conn) {
                    Ok(signed) => self.shared.set_signed_head(signed.map(Arc::new)),
                    Err(e) => tracing::error!(error = %e, "cannot read the newest checkpoint"),
                }
                self.conn = Some(conn);
                self.head = head;
                *self
                    .shared
                    .durability
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = durability;
                self.shared.set_unwritable(None);
                // Readers opened while it was read-only would not see new appends.
                self.readers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|r| !r.immutable);
                tracing::info!(path = %self.path.display(), "the sqlite ledger is writable again; appends are taken");
                self.anchor_head();
            }
            Err(e) => {
                let cause = match unwritable_cause(&self.path) {
                    Some(cause) => cause,
                    None => e.to_string(),
                };
                if self.shared.unwritable().as_deref() != Some(cause.as_str()) {
                    tracing::error!(%cause, "the sqlite ledger is still not writable");
                    self.shared.set_unwritable(Some(cause));
                }
            }
        }
    }

    /// A checkpoint of the head, when one is due: at start, after a reopen, and on the
    /// timer (checkpoints every N records).
    fn anchor_head(&mut self) {
        let (Some(conn), Some(checkpoints)) = (self.conn.as_mut(), self.checkpoints.as_ref())
        else {
            return;
        };
        let last = self.shared.signed_head().map(|h| (h.sequence, h.signed_at));
        let now = crate::now_secs();
        if !checkpoints.due(self.head.0, last, now) {
            return;
        }
        let Some(signed) = checkpoints.sign(self.head.0, self.head.1, now) else {
            return;
        };
        let result = (|| -> Result<()> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            insert_checkpoint(&tx, &signed)?;
            tx.commit()?;
            Ok(())
        })();
        match result {
            Ok(()) => self.shared.set_signed_head(Some(Arc::new(signed))),
            Err(e) => {
                tracing::error!(error = %e, sequence = self.head.0, "cannot store a checkpoint of the ledger head")
            }
        }
    }

    /// Appends a batch in one transaction, with a checkpoint of the new head when one is
    /// due. Each unconditional entry is inserted with `ON CONFLICT DO NOTHING` on its
    /// consent id, and only an entry that inserted nothing is looked up: one index probe
    /// per append instead of a lookup and then an insert. A conditional one (a withdrawal)
    /// is looked up first, then its subject's newest sequence is compared in the same
    /// transaction.
    fn commit(&mut self, requests: Vec<(Entry, Option<i64>)>) -> Result<Vec<Result<Appended>>> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(LedgerError::NotCommitted(
                "the ledger is not writable".to_owned(),
            ));
        };
        let limit = self.shared.page_limit.swap(0, Ordering::Relaxed);
        if limit > 0 {
            conn.query_row(&format!("PRAGMA max_page_count = {limit}"), [], |r| {
                r.get::<_, i64>(0)
            })?;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (mut sequence, mut prev) = self.head;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut signed = None;
        {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO ledger ({INSERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
                 ON CONFLICT (consent_id) DO NOTHING"
            ))?;
            let mut insert_personal = tx.prepare_cached(
                "INSERT INTO ledger_personal (sequence, recorded_at, salt, user_agent, client_network) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut find = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.consent_id = ?1"
            ))?;
            let mut newest = tx.prepare_cached("SELECT coalesce(max(sequence), 0) FROM ledger WHERE subject_id = ?1 AND sequence > 0")?;
            for (entry, condition) in requests {
                if let Some(expected) = condition {
                    if let Some(existing) = find
                        .query_row([&entry.consent_id], row_to_record)
                        .optional()?
                    {
                        outcomes.push(Ok(Appended::Existing(existing.map_err(corrupt)?)));
                        continue;
                    }
                    let now: i64 = newest.query_row([&entry.subject_id], |r| r.get(0))?;
                    if now != expected {
                        outcomes.push(Err(LedgerError::Outdated {
                            expected,
                            newest: now,
                        }));
                        continue;
                    }
                }
                let r = Record::chain(entry, sequence + 1, prev);
                let e = &r.entry;
                // Format 2 keeps the personal values out of the chained row.
                let (user_agent, client_network, user_agent_hash, client_network_hash) =
                    match &e.personal {
                        Personal::Clear => {
                            (e.user_agent.as_str(), e.client_network.as_str(), None, None)
                        }
                        Personal::Salted {
                            user_agent_hash,
                            client_network_hash,
                            ..
                        } => (
                            "",
                            "",
                            Some(&user_agent_hash[..]),
                            Some(&client_network_hash[..]),
                        ),
                    };
                let inserted = insert.execute(params![
                    r.sequence,
                    e.consent_id,
                    e.subject_id,
                    e.kind.as_str(),
                    e.withdraws,
                    e.recorded_at,
                    e.policy_version,
                    e.policy_digest,
                    e.language,
                    e.categories,
                    e.policy_accepted,
                    e.source,
                    e.gpc,
                    user_agent,
                    client_network,
                    &e.request_hash[..],
                    e.token,
                    &r.prev_hash[..],
                    &r.hash[..],
                    e.personal.format(),
                    user_agent_hash,
                    client_network_hash,
                ])?;
                if inserted == 1 {
                    if let Personal::Salted {
                        salt: Some(salt), ..
                    } = &e.personal
                    {
                        insert_personal.execute(params![
                            r.sequence,
                            e.recorded_at,
                            &salt[..],
                            e.user_agent,
                            e.client_network
                        ])?;
                    }
                    sequence = r.sequence;
                    prev = r.hash;
                    outcomes.push(Ok(Appended::New(r)));
                } else {
                    // Recorded before, or earlier in this same batch (visible to this transaction).
                    let existing = find
                        .query_row([&r.entry.consent_id], row_to_record)?
                        .map_err(corrupt)?;
                    outcomes.push(Ok(Appended::Existing(existing)));
                }
            }
            if let Some(checkpoints) = &self.checkpoints {
                let last = self.shared.signed_head().map(|h| (h.sequence, h.signed_at));
                let now = crate::now_secs();
                if checkpoints.due(sequence, last, now) {
                    signed = checkpoints.sign(sequence, prev, now);
                    if let Some(head) = &signed {
                        insert_checkpoint(&tx, head)?;
                    }
                }
            }
        }
        tx.commit()?;
        self.head = (sequence, prev);
        if let Some(head) = signed {
            self.shared.set_signed_head(Some(Arc::new(head)));
        }
        Ok(outcomes)
    }
}

fn insert_checkpoint(tx: &rusqlite::Transaction<'_>, head: &SignedHead) -> Result<()> {
    tx.prepare_cached("INSERT INTO checkpoints (sequence, hash, signed_at, kid, token) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![head.sequence, &head.hash[..], i64::try_from(head.signed_at).unwrap_or(i64::MAX), head.kid, head.token])?;
    Ok(())
}

#[async_trait]
impl Ledger for SqliteLedger {
    async fn commit(&self, entry: Entry, newest: Option<i64>) -> Result<Committed> {
        submit(&self.tx, entry, newest).await
    }

    async fn signed_head(&self) -> Result<Option<Arc<SignedHead>>> {
        Ok(self.shared.signed_head())
    }

    async fn signed_head_covering(&self, sequence: i64) -> Result<Option<Arc<SignedHead>>> {
        let covering = self
            .read(move |conn| load_checkpoint(conn, Some(sequence)))
            .await?;
        Ok(covering.map(Arc::new).or_else(|| self.shared.signed_head()))
    }

    async fn find(&self, consent_id: &str) -> Result<Option<Record>> {
        let id = consent_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.consent_id = ?1 AND l.sequence > 0"
            ))?;
            match stmt.query_row([id], row_to_record).optional()? {
                Some(r) => Ok(Some(r.map_err(corrupt)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn history(&self, subject_id: &str, limit: u32) -> Result<Vec<Record>> {
        let subject = subject_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.subject_id = ?1 AND l.sequence > 0 ORDER BY l.sequence LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![subject, limit], row_to_record)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn latest(&self, subject_id: &str) -> Result<Option<Record>> {
        let subject = subject_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.subject_id = ?1 AND l.sequence > 0 ORDER BY l.sequence DESC LIMIT 1"
            ))?;
            match stmt.query_row([subject], row_to_record).optional()? {
                Some(r) => Ok(Some(r.map_err(corrupt)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn verify(&self) -> Result<ChainStatus> {
        self.read(|conn| walk(conn, Audit::default()).map(|v| v.status))
            .await
    }

    async fn durability(&self) -> Result<Durability> {
        Ok(self
            .shared
            .durability
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    fn unwritable(&self) -> Option<String> {
        self.shared.unwritable()
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    async fn head(&self) -> Result<Option<(i64, [u8; 32])>> {
        self.read(|conn| Ok(Some(load_head(conn)?).filter(|(sequence, _)| *sequence > 0)))
            .await
    }

    async fn range(
        &self,
        after: i64,
        through: i64,
        period: Option<Period>,
        limit: u32,
    ) -> Result<Vec<Record>> {
        self.read(move |conn| {
            // `+recorded_at` keeps SQLite off the recorded_at index here: this walk must
            // follow the primary key, or it would sort the whole period in memory.
            let (from, to) = period.map_or((i64::MIN, i64::MAX), |p| (p.from_ms, p.to_ms));
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM_RECORDS} WHERE l.sequence > max(?1, 0) AND l.sequence <= ?2 \
                 AND +l.recorded_at >= ?3 AND +l.recorded_at < ?4 ORDER BY l.sequence LIMIT ?5"
            ))?;
            let rows = stmt.query_map(params![after, through, from, to, limit], row_to_record)?;
            let mut out = Vec::with_capacity(limit.min(4096) as usize);
            for row in rows {
                out.push(row?.map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn period_bounds(&self, period: Period) -> Result<Option<(i64, i64)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT min(sequence), max(sequence) FROM ledger WHERE recorded_at >= ?1 AND recorded_at < ?2 AND sequence > 0",
            )?;
            let bounds: (Option<i64>, Option<i64>) =
                stmt.query_row(params![period.from_ms, period.to_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(bounds.0.zip(bounds.1))
        })
        .await
    }

    async fn figures(&self, period: Period, bucket_ms: i64, offset_ms: i64) -> Result<Figures> {
        self.read(move |conn| {
            // One read transaction: the groups and the visitors count the same records.
            conn.execute_batch("BEGIN")?;
            let result = figures(conn, period, bucket_ms, offset_ms);
            conn.execute_batch("COMMIT")?;
            result
        })
        .await
    }
}

/// Both queries of [`Ledger::figures`]; each reads only the `ledger_recorded_at` index.
fn figures(conn: &Connection, period: Period, bucket_ms: i64, offset_ms: i64) -> Result<Figures> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT (recorded_at + ?3) / ?4 AS bucket, language, source, {} FROM ledger \
         WHERE recorded_at >= ?1 AND recorded_at < ?2 AND sequence > 0 GROUP BY bucket, language, source ORDER BY bucket",
        counts_sql()
    ))?;
    let rows = stmt.query_map(
        params![period.from_ms, period.to_ms, offset_ms, bucket_ms.max(1)],
        |r| {
            let n = |i: usize| -> rusqlite::Result<u64> {
                Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
            };
            let mut granted = [0; OPTIONAL_CATEGORIES];
            for (i, g) in granted.iter_mut().enumerate() {
                *g = n(8 + i)?;
            }
            Ok(FigureRow {
                bucket: r.get(0)?,
                language: r.get(1)?,
                source: r.get(2)?,
                counts: Counts {
                    records: n(3)?,
                    consents: n(4)?,
                    withdrawals: n(5)?,
                    policy_withdrawal_requests: n(6)?,
                    policy_acceptances: n(7)?,
                    granted,
                },
            })
        },
    )?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let (visitors, visitors_with_gpc): (i64, i64) = conn.query_row(
        "SELECT count(DISTINCT subject_id), count(DISTINCT CASE WHEN gpc THEN subject_id END) FROM ledger \
         WHERE recorded_at >= ?1 AND recorded_at < ?2 AND sequence > 0",
        params![period.from_ms, period.to_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Figures {
        rows,
        visitors: u64::try_from(visitors).unwrap_or(0),
        visitors_with_gpc: u64::try_from(visitors_with_gpc).unwrap_or(0),
    })
}
