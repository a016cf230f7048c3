//! The consent ledger: an append-only, hash-chained record of every consent decision.
//!
//! One interface, [`Ledger`], with two implementations: [`SqliteLedger`] (the default,
//! embedded) and [`PostgresLedger`] (several stateless service instances sharing one
//! database). Both append through a single writer that drains every pending record,
//! writes them in one transaction, commits (synced to disk) and only then answers the
//! waiting requests, so an acknowledged consent is durable and concurrent requests
//! share one sync.
//!
//! # The chain
//!
//! Record `n` stores `prev_hash` (the `hash` of record `n - 1`; 32 zero bytes for the
//! first) and `hash = SHA-256(prev_hash || canonical bytes of record n)`. The canonical
//! bytes are [`CANONICAL_PREFIX`] followed by every stored field except the two hashes,
//! in table order: integers as 8-byte big-endian, booleans as one byte, the optional
//! `withdraws` as a presence byte then the string, strings and byte strings as a 4-byte
//! big-endian length then the bytes. Editing a record changes its hash; deleting one
//! leaves a gap in `sequence` and a `prev_hash` that no longer matches. Deleting the
//! newest records is only detectable against a receipt or a head hash kept elsewhere,
//! which is why every receipt carries the record hash.

mod postgres;
pub mod proof;
mod sqlite;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;

/// Domain separation for the record hash, so a ledger hash can never be confused with
/// any other SHA-256 the service computes.
pub const CANONICAL_PREFIX: &[u8] = b"vivus-consent ledger record v1\0";

/// `prev_hash` of the first record.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// How many records the writer takes into one transaction at most, by default.
pub const DEFAULT_BATCH_MAX: usize = 4096;

/// The longest user agent the ledger keeps, in bytes; longer ones are cut at a
/// character boundary.
pub const USER_AGENT_MAX: usize = 256;

/// A ledger error. Storage details go to the log; the HTTP layer answers 500.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database could not be opened.
    #[error("cannot open the ledger database {location}: {reason}; check the path or URL, its permissions and that the server is running")]
    Open {
        /// The path or URL, without a password.
        location: String,
        /// What the driver said.
        reason: String,
    },
    /// A migration failed or the schema is not one this build knows.
    #[error("cannot migrate the ledger database: {0}")]
    Migrate(String),
    /// The database opens but holds no ledger (a read-only open found no `ledger` table).
    #[error("there is no ledger table in {0}; pass the --database the service writes to (nothing was created)")]
    NoLedger(String),
    /// The database does not run with the durability the service needs.
    #[error("the ledger database is not durable enough: {0}")]
    NotDurable(String),
    /// SQLite reported an error.
    #[error("sqlite ledger error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error.
    #[error("postgres ledger error: {0}")]
    Postgres(#[from] sqlx::Error),
    /// The batch this append was part of was not committed; nothing of it is recorded.
    #[error("the ledger could not commit the append ({0}); retry with the same consent id")]
    NotCommitted(String),
    /// The writer is gone (the service is shutting down or the writer failed).
    #[error("the ledger writer has stopped; restart the service")]
    Closed,
    /// A stored record cannot be read back (wrong kind, wrong hash length).
    #[error("ledger record {sequence} is unreadable: {reason}; run `vivus-consent-server ledger verify`")]
    Corrupt {
        /// Sequence number of the record.
        sequence: i64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Durability settings as the database reports them: (name, value).
pub type Durability = Vec<(&'static str, String)>;

/// Result of a ledger operation.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// What a record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A consent decision (banner, preferences, form).
    Consent,
    /// Withdrawal of some or all optional categories.
    Withdrawal,
    /// A request to withdraw the acceptance of the policy itself. It is recorded as a
    /// request: the law may keep it from taking effect while a loan obligation is open.
    PolicyWithdrawalRequest,
}

impl RecordKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Withdrawal => "withdrawal",
            Self::PolicyWithdrawalRequest => "policy_withdrawal_request",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored kind name this build does not know.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown record kind {0:?}")]
pub struct UnknownKind(String);

impl FromStr for RecordKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "consent" => Ok(Self::Consent),
            "withdrawal" => Ok(Self::Withdrawal),
            "policy_withdrawal_request" => Ok(Self::PolicyWithdrawalRequest),
            other => Err(UnknownKind(other.to_owned())),
        }
    }
}

/// What the service asks the ledger to record. Text fields are stored as given; the
/// HTTP layer has validated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Client-generated consent id, unique in the ledger (the idempotency key).
    pub consent_id: String,
    /// The subject (browser-scoped visitor id).
    pub subject_id: String,
    /// What happened.
    pub kind: RecordKind,
    /// For a withdrawal: the consent id whose token authorized it.
    pub withdraws: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// Policy version id.
    pub policy_version: String,
    /// Policy digest (lowercase hex SHA-256).
    pub policy_digest: String,
    /// Language code the visitor saw.
    pub language: String,
    /// Granted categories after this record, comma-separated names.
    pub categories: String,
    /// Whether the policy is accepted.
    pub policy_accepted: bool,
    /// Where the decision was made (banner, preferences, form, api).
    pub source: String,
    /// Whether the browser sent the Global Privacy Control signal.
    pub gpc: bool,
    /// The user agent, at most [`USER_AGENT_MAX`] bytes.
    pub user_agent: String,
    /// The client network: the IP masked to /24 (IPv4) or /48 (IPv6). Never a full IP.
    pub client_network: String,
    /// SHA-256 of the canonical request, to tell an idempotent retry from a conflict.
    pub request_hash: [u8; 32],
    /// The signed consent token issued for this record.
    pub token: String,
}

/// A committed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the chain, from 1, without gaps.
    pub sequence: i64,
    /// What was recorded.
    pub entry: Entry,
    /// Hash of the previous record.
    pub prev_hash: [u8; 32],
    /// `SHA-256(prev_hash || canonical bytes)`.
    pub hash: [u8; 32],
}

impl Record {
    /// Builds the record that follows `prev` (sequence and hash) in the chain.
    pub fn chain(entry: Entry, sequence: i64, prev_hash: [u8; 32]) -> Self {
        let hash = record_hash(&prev_hash, sequence, &entry);
        Self { sequence, entry, prev_hash, hash }
    }
}

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// The entry was appended as this record.
    New(Record),
    /// A record with the same consent id already exists; nothing was appended. The
    /// caller compares `request_hash` to tell a retry from a conflict.
    Existing(Record),
}

/// The result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    /// Every record links to the one before it and hashes to its stored hash.
    Intact {
        /// How many records were checked.
        records: u64,
        /// The newest record's hash, if any.
        head: Option<[u8; 32]>,
    },
    /// The first record that does not check out.
    Broken {
        /// Its sequence number.
        sequence: i64,
        /// What is wrong.
        reason: BreakReason,
        /// How many records before it checked out.
        checked: u64,
    },
}

/// Why the chain is broken at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakReason {
    /// The record's content does not hash to its stored hash: it was edited.
    HashMismatch,
    /// The record does not point at the hash of the record before it: a record before
    /// it was deleted, replaced or reordered.
    PrevHashMismatch,
    /// A sequence number is missing: records were deleted.
    SequenceGap {
        /// The sequence number that should have come next.
        expected: i64,
    },
    /// The stored row cannot be read as a record.
    Unreadable(String),
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HashMismatch => f.write_str("its content does not match its hash (the record was edited)"),
            Self::PrevHashMismatch => f.write_str(
                "its prev_hash does not match the previous record's hash (a record was deleted or replaced)",
            ),
            Self::SequenceGap { expected } => {
                write!(f, "expected sequence {expected} here (records were deleted)")
            }
            Self::Unreadable(why) => write!(f, "the row cannot be read ({why})"),
        }
    }
}

/// The ledger interface the HTTP layer holds as `Arc<dyn Ledger>`.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Appends `entry` unless its consent id is already recorded. Returns only once the
    /// record is committed and synced.
    async fn append(&self, entry: Entry) -> Result<Appended>;

    /// The record with this consent id.
    async fn find(&self, consent_id: &str) -> Result<Option<Record>>;

    /// A subject's records, oldest first, at most `limit`.
    async fn history(&self, subject_id: &str, limit: u32) -> Result<Vec<Record>>;

    /// A subject's newest record: what the subject's consent stands at now.
    async fn latest(&self, subject_id: &str) -> Result<Option<Record>>;

    /// Walks the whole chain.
    async fn verify(&self) -> Result<ChainStatus>;

    /// The durability settings of the connections that commit appends, as the database
    /// reports them: SQLite `journal_mode` and `synchronous`, PostgreSQL
    /// `synchronous_commit`.
    async fn durability(&self) -> Result<Durability>;

    /// Why appends are refused right now (the storage is readable but not writable), or
    /// `None` when the ledger takes appends. Reads keep working either way.
    fn unwritable(&self) -> Option<String> {
        None
    }

    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Counters of the writer, for `/metrics`.
    fn stats(&self) -> WriterStats;

    /// The newest record's sequence and hash, or `None` for an empty ledger.
    async fn head(&self) -> Result<Option<(i64, [u8; 32])>>;

    /// The records with a sequence in `(after, through]`, oldest first, at most `limit`;
    /// with `period`, only those recorded in it. Walks the sequence (the primary key),
    /// so a caller pages through any range in constant memory.
    async fn range(&self, after: i64, through: i64, period: Option<Period>, limit: u32) -> Result<Vec<Record>>;

    /// The lowest and highest sequence recorded in `period`, or `None` when it has no
    /// record. `recorded_at` only roughly follows the sequence (concurrent requests), so
    /// this is what an export in chain order walks.
    async fn period_bounds(&self, period: Period) -> Result<Option<(i64, i64)>>;

    /// The operator's figures for `period`, computed by the database: counts per bucket
    /// (`bucket_ms` wide, shifted by `offset_ms` so buckets start at local midnight or on
    /// the local hour), language and source, and the distinct visitors.
    async fn figures(&self, period: Period, bucket_ms: i64, offset_ms: i64) -> Result<Figures>;
}

/// A span of time, by `recorded_at`: from `from_ms` (inclusive) to `to_ms` (exclusive),
/// milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first millisecond in the period.
    pub from_ms: i64,
    /// The first millisecond after the period.
    pub to_ms: i64,
}

/// What the records of one group (bucket, language, source) add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every record.
    pub records: u64,
    /// Records of kind `consent`.
    pub consents: u64,
    /// Records of kind `withdrawal`.
    pub withdrawals: u64,
    /// Records of kind `policy_withdrawal_request`.
    pub policy_withdrawal_requests: u64,
    /// Consents that accept the policy.
    pub policy_acceptances: u64,
    /// Consents granting each optional category, in the order of
    /// [`Category::OPTIONAL`](vivus_consent_core::category::Category::OPTIONAL).
    pub granted: [u64; OPTIONAL_CATEGORIES],
}

impl Counts {
    /// Adds another group's counts.
    pub fn add(&mut self, other: &Counts) {
        self.records += other.records;
        self.consents += other.consents;
        self.withdrawals += other.withdrawals;
        self.policy_withdrawal_requests += other.policy_withdrawal_requests;
        self.policy_acceptances += other.policy_acceptances;
        for (sum, n) in self.granted.iter_mut().zip(other.granted) {
            *sum += n;
        }
    }
}

/// How many optional categories the figures count.
pub const OPTIONAL_CATEGORIES: usize = vivus_consent_core::category::Category::OPTIONAL.len();

/// One group of the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureRow {
    /// `(recorded_at + offset_ms) / bucket_ms`: the bucket starts at `bucket * bucket_ms - offset_ms`.
    pub bucket: i64,
    /// The language code.
    pub language: String,
    /// The source (banner, preferences, form, api).
    pub source: String,
    /// What its records add up to.
    pub counts: Counts,
}

/// The operator's figures for a period, as the database aggregated them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Per bucket, language and source, in bucket order.
    pub rows: Vec<FigureRow>,
    /// Distinct subjects with a record in the period.
    pub visitors: u64,
    /// Of those, the subjects with a record that carried Global Privacy Control.
    pub visitors_with_gpc: u64,
}

/// The SQL aggregates of [`Counts`], in the order the backends read them: the same text
/// for SQLite and PostgreSQL (`CASE` and `LIKE` mean the same in both).
pub(crate) fn counts_sql() -> String {
    let mut sql = String::from(
        "count(*), \
         sum(CASE WHEN kind = 'consent' THEN 1 ELSE 0 END), \
         sum(CASE WHEN kind = 'withdrawal' THEN 1 ELSE 0 END), \
         sum(CASE WHEN kind = 'policy_withdrawal_request' THEN 1 ELSE 0 END), \
         sum(CASE WHEN kind = 'consent' AND policy_accepted THEN 1 ELSE 0 END)",
    );
    for category in vivus_consent_core::category::Category::OPTIONAL {
        // Category names are fixed identifiers of the core crate, never input, and none
        // is a substring of another, so a substring test on the stored list is exact.
        sql.push_str(&format!(
            ", sum(CASE WHEN kind = 'consent' AND categories LIKE '%{}%' THEN 1 ELSE 0 END)",
            category.as_str()
        ));
    }
    sql
}

/// Counters kept by a ledger writer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Records appended since start.
    pub appended: u64,
    /// Appends answered with an existing record.
    pub existing: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Appends that failed.
    pub failed: u64,
    /// Largest batch so far.
    pub max_batch: u64,
}

/// Opens the ledger named by `database`: a `postgres://` (or `postgresql://`) URL
/// selects PostgreSQL, anything else is an SQLite file path (an `sqlite://` prefix is
/// allowed). Runs the migrations.
///
/// # Errors
///
/// [`LedgerError::Open`] or [`LedgerError::Migrate`] when the database cannot be
/// opened or migrated.
pub async fn open(database: &str, batch_max: usize) -> Result<std::sync::Arc<dyn Ledger>> {
    if is_postgres_url(database) {
        let options = database.parse().map_err(|e: sqlx::Error| LedgerError::Open {
            location: redact_url(database),
            reason: e.to_string(),
        })?;
        Ok(std::sync::Arc::new(PostgresLedger::open(options, batch_max).await?))
    } else {
        let path = database.strip_prefix("sqlite://").unwrap_or(database);
        let path = std::path::PathBuf::from(path);
        let ledger = tokio::task::spawn_blocking(move || SqliteLedger::open(&path, batch_max))
            .await
            .map_err(|e| LedgerError::Open { location: database.to_owned(), reason: e.to_string() })??;
        Ok(std::sync::Arc::new(ledger))
    }
}

/// What [`verify_read_only`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The state of the chain.
    pub status: ChainStatus,
    /// The sequence of the record whose hash is the expected head, if it was asked for
    /// and is in the chain (up to the first broken record).
    pub expected_head_at: Option<i64>,
}

/// Walks the chain of the ledger named by `database` without changing anything: the
/// SQLite file is opened read-only (never created), the PostgreSQL session is read-only
/// and nothing is migrated and no writer is started. `expect_head`, if given, is looked
/// for among the record hashes.
///
/// # Errors
///
/// [`LedgerError::Open`] when the database cannot be opened, [`LedgerError::NoLedger`]
/// when it has no ledger table, or a read error.
pub async fn verify_read_only(database: &str, expect_head: Option<[u8; 32]>) -> Result<Verified> {
    let (status, expected_head_at) = if is_postgres_url(database) {
        let options = database.parse().map_err(|e: sqlx::Error| LedgerError::Open {
            location: redact_url(database),
            reason: e.to_string(),
        })?;
        postgres::verify_read_only(options, expect_head).await?
    } else {
        let path = std::path::PathBuf::from(database.strip_prefix("sqlite://").unwrap_or(database));
        tokio::task::spawn_blocking(move || sqlite::verify_read_only(&path, expect_head))
            .await
            .map_err(|e| LedgerError::Open { location: database.to_owned(), reason: e.to_string() })??
    };
    Ok(Verified { status, expected_head_at })
}

/// Whether `database` names a PostgreSQL server.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

/// The canonical bytes of a record (see the module docs).
pub fn canonical_bytes(sequence: i64, entry: &Entry) -> Vec<u8> {
    fn str_field(out: &mut Vec<u8>, s: &[u8]) {
        // Lengths are bounded by the request body limit, far below u32::MAX.
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(s);
    }
    let mut out = Vec::with_capacity(CANONICAL_PREFIX.len() + 256 + entry.token.len());
    out.extend_from_slice(CANONICAL_PREFIX);
    out.extend_from_slice(&sequence.to_be_bytes());
    str_field(&mut out, entry.consent_id.as_bytes());
    str_field(&mut out, entry.subject_id.as_bytes());
    str_field(&mut out, entry.kind.as_str().as_bytes());
    match &entry.withdraws {
        Some(w) => {
            out.push(1);
            str_field(&mut out, w.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&entry.recorded_at.to_be_bytes());
    str_field(&mut out, entry.policy_version.as_bytes());
    str_field(&mut out, entry.policy_digest.as_bytes());
    str_field(&mut out, entry.language.as_bytes());
    str_field(&mut out, entry.categories.as_bytes());
    out.push(u8::from(entry.policy_accepted));
    str_field(&mut out, entry.source.as_bytes());
    out.push(u8::from(entry.gpc));
    str_field(&mut out, entry.user_agent.as_bytes());
    str_field(&mut out, entry.client_network.as_bytes());
    str_field(&mut out, &entry.request_hash);
    str_field(&mut out, entry.token.as_bytes());
    out
}

/// `SHA-256(prev_hash || canonical bytes)`.
pub fn record_hash(prev_hash: &[u8; 32], sequence: i64, entry: &Entry) -> [u8; 32] {
    chain_hash(prev_hash, &canonical_bytes(sequence, entry))
}

/// The chain step: `SHA-256(prev_hash || canonical)`, for canonical bytes already encoded
/// (a proof carries the records after the proven one as their canonical bytes).
pub fn chain_hash(prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical);
    h.finalize().into()
}

/// The sequence number written in canonical bytes, or `None` when they do not start with
/// [`CANONICAL_PREFIX`] and a sequence.
pub fn canonical_sequence(canonical: &[u8]) -> Option<i64> {
    let rest = canonical.strip_prefix(CANONICAL_PREFIX)?;
    Some(i64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// Lowercase hex, the form hashes take in receipts, proofs and exports.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Cuts a user agent to [`USER_AGENT_MAX`] bytes at a character boundary.
pub fn truncate_user_agent(ua: &str) -> String {
    if ua.len() <= USER_AGENT_MAX {
        return ua.to_owned();
    }
    let mut end = USER_AGENT_MAX;
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    ua[..end].to_owned()
}

/// Checks records one at a time, in sequence order.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    expected_sequence: i64,
    prev_hash: [u8; 32],
    checked: u64,
    watch: Option<[u8; 32]>,
    watched_at: Option<i64>,
}

impl ChainVerifier {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::watching(None)
    }

    /// A verifier that also notes where the record hashed `watch` is.
    pub(crate) fn watching(watch: Option<[u8; 32]>) -> Self {
        Self { expected_sequence: 1, prev_hash: GENESIS_HASH, checked: 0, watch, watched_at: None }
    }

    /// The sequence of the watched hash, if a checked record had it.
    pub(crate) fn watched_at(&self) -> Option<i64> {
        self.watched_at
    }

    /// Checks the next row; `Err` is the broken status to report.
    pub(crate) fn check(&mut self, row: std::result::Result<Record, (i64, String)>) -> std::result::Result<(), ChainStatus> {
        let record = match row {
            Ok(r) => r,
            Err((sequence, why)) => {
                return Err(self.broken(sequence, BreakReason::Unreadable(why)));
            }
        };
        if record.sequence != self.expected_sequence {
            return Err(self.broken(
                record.sequence,
                BreakReason::SequenceGap { expected: self.expected_sequence },
            ));
        }
        if record.prev_hash != self.prev_hash {
            return Err(self.broken(record.sequence, BreakReason::PrevHashMismatch));
        }
        if record_hash(&record.prev_hash, record.sequence, &record.entry) != record.hash {
            return Err(self.broken(record.sequence, BreakReason::HashMismatch));
        }
        if self.watch == Some(record.hash) {
            self.watched_at = Some(record.sequence);
        }
        self.prev_hash = record.hash;
        self.expected_sequence += 1;
        self.checked += 1;
        Ok(())
    }

    fn broken(&self, sequence: i64, reason: BreakReason) -> ChainStatus {
        ChainStatus::Broken { sequence, reason, checked: self.checked }
    }

    pub(crate) fn finish(self) -> ChainStatus {
        ChainStatus::Intact {
            records: self.checked,
            head: (self.checked > 0).then_some(self.prev_hash),
        }
    }
}

/// One append waiting for its batch to commit.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) entry: Entry,
    pub(crate) reply: oneshot::Sender<Result<Appended>>,
}

/// Sends an entry to a writer and waits for the commit.
pub(crate) async fn submit(tx: &mpsc::Sender<Pending>, entry: Entry) -> Result<Appended> {
    let (reply, wait) = oneshot::channel();
    tx.send(Pending { entry, reply }).await.map_err(|_| LedgerError::Closed)?;
    wait.await.map_err(|_| LedgerError::Closed)?
}

/// Assigns sequence numbers and hashes to a batch. `existing` answers whether a consent
/// id is already in the ledger (from before this batch). Returns, per pending entry in
/// order, the outcome, and the records to insert.
pub(crate) fn plan_batch(
    head: (i64, [u8; 32]),
    entries: &[Entry],
    existing: &std::collections::HashMap<String, Record>,
) -> (Vec<Appended>, Vec<Record>) {
    let (mut sequence, mut prev) = head;
    let mut outcomes = Vec::with_capacity(entries.len());
    let mut fresh: Vec<Record> = Vec::with_capacity(entries.len());
    let mut in_batch: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for entry in entries {
        if let Some(record) = existing.get(&entry.consent_id) {
            outcomes.push(Appended::Existing(record.clone()));
        } else if let Some(&i) = in_batch.get(entry.consent_id.as_str()) {
            outcomes.push(Appended::Existing(fresh[i].clone()));
        } else {
            sequence += 1;
            let record = Record::chain(entry.clone(), sequence, prev);
            prev = record.hash;
            in_batch.insert(entry.consent_id.as_str(), fresh.len());
            outcomes.push(Appended::New(record.clone()));
            fresh.push(record);
        }
    }
    (outcomes, fresh)
}

/// Converts a stored hash column to an array.
pub(crate) fn hash_array(sequence: i64, column: &str, bytes: &[u8]) -> std::result::Result<[u8; 32], (i64, String)> {
    bytes
        .try_into()
        .map_err(|_| (sequence, format!("{column} has {} bytes, expected 32", bytes.len())))
}

/// The writer's counters, shared by a ledger and its writer; both backends keep the same ones.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    pub(crate) appended: std::sync::atomic::AtomicU64,
    pub(crate) existing: std::sync::atomic::AtomicU64,
    pub(crate) batches: std::sync::atomic::AtomicU64,
    pub(crate) failed: std::sync::atomic::AtomicU64,
    pub(crate) max_batch: std::sync::atomic::AtomicU64,
}

impl WriterCounters {
    /// The counters as they stand now.
    pub(crate) fn snapshot(&self) -> WriterStats {
        use std::sync::atomic::Ordering::Relaxed;
        WriterStats {
            appended: self.appended.load(Relaxed),
            existing: self.existing.load(Relaxed),
            batches: self.batches.load(Relaxed),
            failed: self.failed.load(Relaxed),
            max_batch: self.max_batch.load(Relaxed),
        }
    }
}

/// The embedded migrations of one backend: (version, name, SQL).
pub(crate) type Migrations = &'static [(i64, &'static str, &'static str)];

/// A migration to apply: (version, name, SQL, checksum).
pub(crate) type PendingMigration = (i64, &'static str, &'static str, Vec<u8>);

/// SHA-256 of a migration's SQL, stored when it is applied, so an edited migration is
/// noticed instead of silently diverging from the database.
fn migration_checksum(sql: &str) -> Vec<u8> {
    Sha256::digest(sql.as_bytes()).to_vec()
}

/// The migrations the database has not applied yet, each with its checksum, in order. Refuses a
/// database written by a newer build and one whose applied migration was edited since: both
/// backends keep the same rules in this one place.
pub(crate) fn pending_migrations(
    migrations: Migrations,
    applied: &std::collections::HashMap<i64, Vec<u8>>,
) -> Result<Vec<PendingMigration>> {
    // The highest version this build has, not the count: migrations numbered on separate
    // branches may leave a gap until the branches meet.
    let known = migrations.iter().map(|m| m.0).max().unwrap_or(0);
    if let Some(newest) = applied.keys().max().filter(|v| **v > known) {
        return Err(LedgerError::Migrate(format!(
            "the database has schema version {newest}, newer than this build knows; run a newer vivus-consent-server"
        )));
    }
    let mut pending = Vec::new();
    for &(version, name, sql) in migrations {
        let checksum = migration_checksum(sql);
        match applied.get(&version) {
            Some(stored) if *stored == checksum => {}
            Some(_) => {
                return Err(LedgerError::Migrate(format!(
                    "migration {version} ({name}) was changed after it was applied; migrations must never be edited, add a new one"
                )))
            }
            None => pending.push((version, name, sql, checksum)),
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(id: &str) -> Entry {
        Entry {
            consent_id: id.to_owned(),
            subject_id: "subject".to_owned(),
            kind: RecordKind::Consent,
            withdraws: None,
            recorded_at: 1_700_000_000_000,
            policy_version: "v1".to_owned(),
            policy_digest: "ab".repeat(32),
            language: "ru".to_owned(),
            categories: "necessary,analytics".to_owned(),
            policy_accepted: true,
            source: "banner".to_owned(),
            gpc: false,
            user_agent: "test".to_owned(),
            client_network: "127.0.0.0/24".to_owned(),
            request_hash: [7; 32],
            token: "t".to_owned(),
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = entry("a");
        let h = record_hash(&GENESIS_HASH, 1, &base);
        let mut variants = vec![];
        let mut e = base.clone();
        e.withdraws = Some(String::new());
        variants.push(e);
        let mut e = base.clone();
        e.gpc = true;
        variants.push(e);
        let mut e = base.clone();
        e.kind = RecordKind::Withdrawal;
        variants.push(e);
        let mut e = base.clone();
        e.categories = "necessary".to_owned();
        variants.push(e);
        let mut e = base.clone();
        e.request_hash[0] = 0;
        variants.push(e);
        for v in &variants {
            assert_ne!(record_hash(&GENESIS_HASH, 1, v), h, "{v:?}");
        }
        assert_ne!(record_hash(&GENESIS_HASH, 2, &base), h);
        assert_ne!(record_hash(&[1; 32], 1, &base), h);
    }

    #[test]
    fn length_prefixes_keep_adjacent_fields_apart() {
        let mut a = entry("ab");
        a.subject_id = "c".to_owned();
        let mut b = entry("a");
        b.subject_id = "bc".to_owned();
        assert_ne!(canonical_bytes(1, &a), canonical_bytes(1, &b));
    }

    #[test]
    fn batch_plan_chains_and_deduplicates() {
        let mut existing = std::collections::HashMap::new();
        let old = Record::chain(entry("old"), 1, GENESIS_HASH);
        existing.insert("old".to_owned(), old.clone());
        let entries = vec![entry("x"), entry("old"), entry("y"), entry("x")];
        let (outcomes, fresh) = plan_batch((1, old.hash), &entries, &existing);
        assert_eq!(fresh.len(), 2);
        assert_eq!(fresh[0].sequence, 2);
        assert_eq!(fresh[0].prev_hash, old.hash);
        assert_eq!(fresh[1].prev_hash, fresh[0].hash);
        assert_eq!(outcomes[1], Appended::Existing(old));
        assert_eq!(outcomes[3], Appended::Existing(fresh[0].clone()));
        let mut v = ChainVerifier::new();
        v.check(Ok(Record::chain(entry("old"), 1, GENESIS_HASH))).expect("first");
        for r in fresh {
            v.check(Ok(r)).expect("chained");
        }
        assert!(matches!(v.finish(), ChainStatus::Intact { records: 3, .. }));
    }

    #[test]
    fn verifier_names_the_break() {
        let r1 = Record::chain(entry("1"), 1, GENESIS_HASH);
        let r2 = Record::chain(entry("2"), 2, r1.hash);
        let r3 = Record::chain(entry("3"), 3, r2.hash);
        let mut v = ChainVerifier::new();
        v.check(Ok(r1.clone())).expect("r1");
        assert_eq!(
            v.check(Ok(r3)),
            Err(ChainStatus::Broken { sequence: 3, reason: BreakReason::SequenceGap { expected: 2 }, checked: 1 })
        );
        let mut edited = r2;
        edited.entry.categories = "necessary,analytics,marketing".to_owned();
        let mut v = ChainVerifier::new();
        v.check(Ok(r1)).expect("r1");
        assert_eq!(
            v.check(Ok(edited)),
            Err(ChainStatus::Broken { sequence: 2, reason: BreakReason::HashMismatch, checked: 1 })
        );
    }

    #[test]
    fn user_agent_is_cut_at_a_char_boundary() {
        let ua = "ж".repeat(200);
        let cut = truncate_user_agent(&ua);
        assert!(cut.len() <= USER_AGENT_MAX);
        assert!(ua.starts_with(&cut));
        assert_eq!(truncate_user_agent("short"), "short");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@localhost:5432/db"),
            "postgres://u:***@localhost:5432/db"
        );
        assert_eq!(redact_url("postgres://localhost/db"), "postgres://localhost/db");
    }
}
