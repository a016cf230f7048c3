//! The embedded SQLite ledger: WAL mode, `synchronous=FULL`, one writer thread that
//! commits a batch of appends per transaction, and a few reader connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use tokio::sync::mpsc;

use super::{
    counts_sql, hash_array, pending_migrations, submit, Appended, ChainStatus, ChainVerifier, Counts, Durability,
    Entry, FigureRow, Figures, Ledger, LedgerError, Migrations, Pending, Period, Record, Result, WriterCounters,
    WriterStats, GENESIS_HASH, OPTIONAL_CATEGORIES,
};

const MIGRATIONS: Migrations = &[
    (1, "ledger", include_str!("../../migrations/sqlite/0001_ledger.sql")),
    (3, "operators", include_str!("../../migrations/sqlite/0003_operators.sql")),
];

const COLUMNS: &str = "sequence, consent_id, subject_id, kind, withdraws, recorded_at, policy_version, \
     policy_digest, language, categories, policy_accepted, source, gpc, user_agent, client_network, \
     request_hash, token, prev_hash, hash";

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
    tx: mpsc::Sender<Pending>,
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
}

impl Shared {
    fn unwritable(&self) -> Option<String> {
        self.unwritable.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
        let open_err = |reason: String| LedgerError::Open { location: path.display().to_string(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let shared = Arc::new(Shared::default());
        let (conn, head) = match open_writer(path) {
            Ok((conn, head, durability)) => {
                *shared.durability.lock().unwrap_or_else(|p| p.into_inner()) = durability;
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
        };
        std::thread::Builder::new()
            .name("ledger-sqlite-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| open_err(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { path: path.to_owned(), tx, readers, stats, shared })
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, raised to the
    /// current size if lower) from the writer's next batch on, so tests can make the
    /// ledger full without filling a disk.
    #[doc(hidden)]
    pub fn set_max_page_count(&self, pages: u64) {
        self.shared.page_limit.store(pages.max(1), Ordering::Relaxed);
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
    let open_err = |reason: String| LedgerError::Open { location: path.display().to_string(), reason };
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
    let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(|e| open_err(e.to_string()))?;
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(|e| open_err(e.to_string()))?;
    if synchronous != 2 || !journal.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::NotDurable(format!(
            "SQLite runs with journal_mode={journal} synchronous={synchronous}, not WAL and FULL (2)"
        )));
    }
    let durability = vec![("journal_mode", journal.to_ascii_lowercase()), ("synchronous", synchronous.to_string())];
    migrate(&mut conn)?;
    let head = load_head(&conn)?;
    Ok((conn, head, durability))
}

/// An SQLite URI opening `path` read-only as immutable (`%`, `?` and `#` escaped, as
/// URI file names require).
fn immutable_uri(path: &Path) -> String {
    let name = path.display().to_string().replace('%', "%25").replace('?', "%3f").replace('#', "%23");
    format!("file:{name}?immutable=1")
}

/// Why the existing file at `path` cannot be opened for writing, or `None` (it can, or
/// it does not exist, or it is not a file).
fn unwritable_cause(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => None,
        Err(e) => Some(format!("the ledger file {} is not writable ({e})", path.display())),
    }
}

/// Checks that a file that is not writable holds a ledger this build can serve as it
/// is: the ledger table, every migration applied and unchanged, a readable head.
fn readable_ledger(path: &Path) -> Result<()> {
    let reader = open_reader(path, false)?;
    let applied: HashMap<i64, Vec<u8>> = {
        let mut stmt = reader.conn.prepare("SELECT version, checksum FROM schema_migrations")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if !pending_migrations(MIGRATIONS, &applied)?.is_empty() {
        return Err(LedgerError::Migrate("the read-only ledger needs a migration".to_owned()));
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

/// Walks the chain of the file at `path` opened read-only: never created, never
/// migrated, no writer.
pub(crate) fn verify_read_only(path: &Path, watch: Option<[u8; 32]>) -> Result<(ChainStatus, Option<i64>)> {
    let location = path.display().to_string();
    let open = |uri: String, flags: OpenFlags| -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.execute_batch("PRAGMA query_only=ON; PRAGMA busy_timeout=10000;")?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        Ok(conn)
    };
    let conn = match open(path.display().to_string(), OpenFlags::empty()) {
        Ok(conn) => conn,
        // A WAL file on a read-only mount cannot be opened plainly (SQLite cannot create
        // its shared-memory file); nothing can write it there, so read it as immutable.
        Err(e) if unwritable_cause(path).is_some() => {
            open(immutable_uri(path), OpenFlags::SQLITE_OPEN_URI)
                .map_err(|_| LedgerError::Open { location: location.clone(), reason: e.to_string() })?
        }
        Err(e) => return Err(LedgerError::Open { location, reason: e.to_string() }),
    };
    let has_ledger: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger')",
        [],
        |r| r.get(0),
    )?;
    if !has_ledger {
        return Err(LedgerError::NoLedger(location));
    }
    walk(&conn, watch)
}

/// Walks the whole chain in one read transaction, so the walk sees one consistent
/// snapshot while a writer keeps appending.
fn walk(conn: &Connection, watch: Option<[u8; 32]>) -> Result<(ChainStatus, Option<i64>)> {
    let mut verifier = ChainVerifier::watching(watch);
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM ledger WHERE sequence > ?1 ORDER BY sequence LIMIT ?2"))?;
    let mut after = 0_i64;
    conn.execute_batch("BEGIN")?;
    // `Some` is the first broken record; `None` means the walk reached the end.
    let result = (|| -> Result<Option<ChainStatus>> {
        loop {
            let rows = stmt.query_map(params![after, VERIFY_PAGE], row_to_record)?;
            let mut n = 0;
            for row in rows {
                let row = row?;
                after = match &row {
                    Ok(r) => r.sequence,
                    Err((s, _)) => *s,
                };
                n += 1;
                if let Err(broken) = verifier.check(row) {
                    return Ok(Some(broken));
                }
            }
            if n < VERIFY_PAGE {
                return Ok(None);
            }
        }
    })();
    conn.execute_batch("COMMIT")?;
    let watched = verifier.watched_at();
    Ok((result?.unwrap_or_else(|| verifier.finish()), watched))
}

/// A reader connection. When the file is not writable and SQLite cannot open it for
/// reading as it is (a WAL file on a read-only mount: the shared-memory file cannot be
/// created), it is opened `immutable`, which is sound while nothing can write it.
fn open_reader(path: &Path, writable: bool) -> Result<Reader> {
    let opened = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .and_then(|conn| {
            conn.execute_batch("PRAGMA query_only=ON; PRAGMA busy_timeout=10000;")?;
            // Opening is lazy: touch the schema so a file that cannot be read fails here.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        });
    match opened {
        Ok(conn) => Ok(Reader { conn, immutable: false }),
        Err(e) if !writable || unwritable_cause(path).is_some() => {
            let uri = immutable_uri(path);
            let conn = Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|_| LedgerError::Sqlite(e))?;
            conn.execute_batch("PRAGMA query_only=ON;")?;
            Ok(Reader { conn, immutable: true })
        }
        Err(e) => Err(e.into()),
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let err = |e: rusqlite::Error| LedgerError::Migrate(e.to_string());
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum BLOB NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(err)?;
    let applied: HashMap<i64, Vec<u8>> = {
        let mut stmt = tx.prepare("SELECT version, checksum FROM schema_migrations").map_err(err)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(err)?
    };
    for (version, name, sql, checksum) in pending_migrations(MIGRATIONS, &applied)? {
        tx.execute_batch(sql).map_err(|e| LedgerError::Migrate(format!("migration {version} ({name}): {e}")))?;
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
        .query_row("SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match head {
        None => Ok((0, GENESIS_HASH)),
        Some((seq, hash)) => {
            let hash = hash_array(seq, "hash", &hash).map_err(|(sequence, reason)| LedgerError::Corrupt { sequence, reason })?;
            Ok((seq, hash))
        }
    }
}

/// Reads a row selected with [`COLUMNS`]. The outer error is SQLite's; the inner one
/// names a row that is present but not a valid record.
fn row_to_record(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Record, (i64, String)>> {
    let sequence: i64 = row.get(0)?;
    let kind: String = row.get(3)?;
    let request_hash: Vec<u8> = row.get(15)?;
    let prev_hash: Vec<u8> = row.get(17)?;
    let hash: Vec<u8> = row.get(18)?;
    let build = || -> std::result::Result<Record, (i64, String)> {
        Ok(Record {
            sequence,
            entry: Entry {
                consent_id: row.get(1).map_err(|e| (sequence, e.to_string()))?,
                subject_id: row.get(2).map_err(|e| (sequence, e.to_string()))?,
                kind: kind.parse().map_err(|e: super::UnknownKind| (sequence, e.to_string()))?,
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
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        let mut entries: Vec<Entry> = Vec::with_capacity(self.batch_max);
        let mut replies = Vec::with_capacity(self.batch_max);
        let mut last_probe = std::time::Instant::now();
        loop {
            // Block for the first append, then take whatever else is already waiting: the
            // batch grows with the load and one fsync covers all of it. While the file is
            // not writable, poll instead, so it is probed again even when nothing arrives.
            let first = if self.conn.is_some() {
                match rx.blocking_recv() {
                    Some(p) => p,
                    None => return,
                }
            } else {
                match rx.try_recv() {
                    Ok(p) => {
                        self.reopen();
                        last_probe = std::time::Instant::now();
                        p
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
            entries.push(first.entry);
            replies.push(first.reply);
            while entries.len() < self.batch_max {
                match rx.try_recv() {
                    Ok(p) => {
                        entries.push(p.entry);
                        replies.push(p.reply);
                    }
                    Err(_) => break,
                }
            }
            let n = entries.len() as u64;
            if self.conn.is_none() {
                let cause = self.shared.unwritable().unwrap_or_default();
                self.stats.failed.fetch_add(n, Ordering::Relaxed);
                entries.clear();
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(LedgerError::NotCommitted(cause.clone())));
                }
                continue;
            }
            match self.commit(entries.drain(..)) {
                Ok(outcomes) => {
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.stats.max_batch.fetch_max(n, Ordering::Relaxed);
                    for (reply, outcome) in replies.drain(..).zip(outcomes) {
                        match &outcome {
                            Appended::New(_) => self.stats.appended.fetch_add(1, Ordering::Relaxed),
                            Appended::Existing(_) => self.stats.existing.fetch_add(1, Ordering::Relaxed),
                        };
                        // A waiter that gave up (client went away) is fine: the record is committed.
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, batch = n, "sqlite ledger batch not committed");
                    self.stats.failed.fetch_add(n, Ordering::Relaxed);
                    for reply in replies.drain(..) {
                        let _ = reply.send(Err(LedgerError::NotCommitted(format!("storage error: {e}"))));
                    }
                    // The file turned read-only under us: drop the connection and probe
                    // until it is writable again.
                    let read_only = matches!(
                        &e,
                        LedgerError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                            if matches!(f.code, rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
                    );
                    if read_only {
                        self.degrade(format!("the ledger file {} is not writable ({e})", self.path.display()));
                        continue;
                    }
                    // The transaction rolled back; the head in memory may be ahead of the file.
                    match self.conn.as_ref().map(load_head) {
                        Some(Ok(head)) => self.head = head,
                        Some(Err(e)) => self.degrade(format!("cannot reload the ledger head ({e})")),
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
                self.conn = Some(conn);
                self.head = head;
                *self.shared.durability.lock().unwrap_or_else(|p| p.into_inner()) = durability;
                self.shared.set_unwritable(None);
                // Readers opened while it was read-only would not see new appends.
                self.readers.lock().unwrap_or_else(|p| p.into_inner()).retain(|r| !r.immutable);
                tracing::info!(path = %self.path.display(), "the sqlite ledger is writable again; appends are taken");
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

    /// Appends a batch in one transaction. Each entry is inserted with `ON CONFLICT DO
    /// NOTHING` on its consent id, and only an entry that inserted nothing is looked up:
    /// one index probe per append instead of a lookup and then an insert.
    fn commit(&mut self, entries: impl Iterator<Item = Entry>) -> Result<Vec<Appended>> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(LedgerError::NotCommitted("the ledger is not writable".to_owned()));
        };
        let limit = self.shared.page_limit.swap(0, Ordering::Relaxed);
        if limit > 0 {
            conn.query_row(&format!("PRAGMA max_page_count = {limit}"), [], |r| r.get::<_, i64>(0))?;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (mut sequence, mut prev) = self.head;
        let mut outcomes = Vec::with_capacity(entries.size_hint().0);
        {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO ledger ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
                 ON CONFLICT (consent_id) DO NOTHING"
            ))?;
            let mut find = tx.prepare_cached(&format!("SELECT {COLUMNS} FROM ledger WHERE consent_id = ?1"))?;
            for entry in entries {
                let r = Record::chain(entry, sequence + 1, prev);
                let e = &r.entry;
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
                    e.user_agent,
                    e.client_network,
                    &e.request_hash[..],
                    e.token,
                    &r.prev_hash[..],
                    &r.hash[..],
                ])?;
                if inserted == 1 {
                    sequence = r.sequence;
                    prev = r.hash;
                    outcomes.push(Appended::New(r));
                } else {
                    // Recorded before, or earlier in this same batch (visible to this transaction).
                    let existing = find.query_row([&r.entry.consent_id], row_to_record)?.map_err(corrupt)?;
                    outcomes.push(Appended::Existing(existing));
                }
            }
        }
        tx.commit()?;
        self.head = (sequence, prev);
        Ok(outcomes)
    }
}

#[async_trait]
impl Ledger for SqliteLedger {
    async fn append(&self, entry: Entry) -> Result<Appended> {
        submit(&self.tx, entry).await
    }

    async fn find(&self, consent_id: &str) -> Result<Option<Record>> {
        let id = consent_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM ledger WHERE consent_id = ?1"))?;
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
                "SELECT {COLUMNS} FROM ledger WHERE subject_id = ?1 ORDER BY sequence LIMIT ?2"
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
                "SELECT {COLUMNS} FROM ledger WHERE subject_id = ?1 ORDER BY sequence DESC LIMIT 1"
            ))?;
            match stmt.query_row([subject], row_to_record).optional()? {
                Some(r) => Ok(Some(r.map_err(corrupt)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn verify(&self) -> Result<ChainStatus> {
        self.read(|conn| walk(conn, None).map(|(status, _)| status)).await
    }

    async fn durability(&self) -> Result<Durability> {
        Ok(self.shared.durability.lock().unwrap_or_else(|p| p.into_inner()).clone())
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
        self.read(|conn| Ok(Some(load_head(conn)?).filter(|(sequence, _)| *sequence > 0))).await
    }

    async fn range(&self, after: i64, through: i64, period: Option<Period>, limit: u32) -> Result<Vec<Record>> {
        self.read(move |conn| {
            // `+recorded_at` keeps SQLite off the recorded_at index here: this walk must
            // follow the primary key, or it would sort the whole period in memory.
            let (from, to) = period.map_or((i64::MIN, i64::MAX), |p| (p.from_ms, p.to_ms));
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM ledger WHERE sequence > ?1 AND sequence <= ?2 \
                 AND +recorded_at >= ?3 AND +recorded_at < ?4 ORDER BY sequence LIMIT ?5"
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
                "SELECT min(sequence), max(sequence) FROM ledger WHERE recorded_at >= ?1 AND recorded_at < ?2",
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
         WHERE recorded_at >= ?1 AND recorded_at < ?2 GROUP BY bucket, language, source ORDER BY bucket",
        counts_sql()
    ))?;
    let rows = stmt.query_map(params![period.from_ms, period.to_ms, offset_ms, bucket_ms.max(1)], |r| {
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
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
    })?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let (visitors, visitors_with_gpc): (i64, i64) = conn.query_row(
        "SELECT count(DISTINCT subject_id), count(DISTINCT CASE WHEN gpc THEN subject_id END) FROM ledger \
         WHERE recorded_at >= ?1 AND recorded_at < ?2",
        params![period.from_ms, period.to_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Figures {
        rows,
        visitors: u64::try_from(visitors).unwrap_or(0),
        visitors_with_gpc: u64::try_from(visitors_with_gpc).unwrap_or(0),
    })
}
