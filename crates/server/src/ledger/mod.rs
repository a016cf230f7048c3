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
//! bytes are a format prefix followed by every stored field except the two hashes,
//! in table order: integers as 8-byte big-endian, booleans as one byte, the optional
//! `withdraws` as a presence byte then the string, strings and byte strings as a 4-byte
//! big-endian length then the bytes. Editing a record changes its hash; deleting one
//! leaves a gap in `sequence` and a `prev_hash` that no longer matches.
//!
//! Two formats: **v1** ([`CANONICAL_PREFIX`], the records written before format 2) commits
//! to the user agent and client network in clear; **v2** ([`CANONICAL_PREFIX_V2`]) commits
//! to a salted hash of each ([`salted_hash`], a random salt per record) in their place, and
//! keeps the clear values and the salt apart, so `ledger purge` can blank them after the
//! retention period without changing a hash (see [`Personal`]).
//!
//! # Signed checkpoints
//!
//! Whoever can write the database can edit a record and recompute every hash after it.
//! So the writer signs the chain's head (sequence, hash, time) with the service's key
//! ([`checkpoint`]), stores the signed head in the same transaction as the records it
//! covers, and hands it back in every receipt: a rewritten history no longer matches a
//! head the service signed, in the database or kept by anyone outside it.

pub mod checkpoint;
mod postgres;
pub mod proof;
mod sqlite;

use std::fmt;
use std::str::FromStr;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token;

pub use checkpoint::{Checkpointer, SignedHead};
pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;

/// Domain separation for the record hash, so a ledger hash can never be confused with
/// any other SHA-256 the service computes. Format 1: personal data committed in clear.
pub const CANONICAL_PREFIX: &[u8] = b"vivus-consent ledger record v1\0";

/// The prefix of format 2, whose records commit to salted hashes of the user agent and
/// client network instead of the values.
pub const CANONICAL_PREFIX_V2: &[u8] = b"vivus-consent ledger record v2\0";

/// Domain separation for the salted hashes of personal data.
pub const PERSONAL_PREFIX: &[u8] = b"vivus-consent personal data v2\0";

/// Bytes of a record's random salt.
pub const SALT_LEN: usize = 16;

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
    /// A conditional append was refused: the subject has a newer record than the one the
    /// entry was derived from. Nothing was appended; derive the entry again.
    #[error("the subject's newest record is {newest}, not {expected}: the entry was derived from a stale record; derive it again")]
    Outdated {
        /// The sequence the entry was derived from (0: no record).
        expected: i64,
        /// The subject's newest record now.
        newest: i64,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed ({0})")]
    Random(String),
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
    /// The user agent, at most [`USER_AGENT_MAX`] bytes; empty once purged.
    pub user_agent: String,
    /// The client network: the IP masked to /24 (IPv4) or /48 (IPv6). Never a full IP.
    /// Empty once purged.
    pub client_network: String,
    /// How the chain commits to `user_agent` and `client_network` (the record format).
    pub personal: Personal,
    /// SHA-256 of the canonical request, to tell an idempotent retry from a conflict.
    pub request_hash: [u8; 32],
    /// The signed consent token issued for this record.
    pub token: String,
}

/// How a record's hash commits to its personal data (user agent and client network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    /// Format 1, the records written before format 2: the hash covers the values in clear,
    /// so they can never be purged without breaking the chain.
    Clear,
    /// Format 2: the hash covers [`salted_hash`] of each value. The values and the salt are
    /// stored apart from the chained row; `salt` is `None` once they are purged, and the
    /// hashes alone say nothing about them.
    Salted {
        /// `salted_hash("user_agent", salt, user_agent)`.
        user_agent_hash: [u8; 32],
        /// `salted_hash("client_network", salt, client_network)`.
        client_network_hash: [u8; 32],
        /// The record's random salt; `None` once purged.
        salt: Option<[u8; SALT_LEN]>,
    },
}

impl Personal {
    /// Format 2 for these values, with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Random`] when the OS random number generator fails.
    pub fn seal(user_agent: &str, client_network: &str) -> Result<Self> {
        let mut salt = [0_u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| LedgerError::Random(e.to_string()))?;
        Ok(Self::seal_with(salt, user_agent, client_network))
    }

    /// Format 2 for these values with this salt.
    pub fn seal_with(salt: [u8; SALT_LEN], user_agent: &str, client_network: &str) -> Self {
        Self::Salted {
            user_agent_hash: salted_hash("user_agent", &salt, user_agent),
            client_network_hash: salted_hash("client_network", &salt, client_network),
            salt: Some(salt),
        }
    }

    /// The stored format number: 1 or 2.
    pub fn format(&self) -> i64 {
        match self {
            Self::Clear => 1,
            Self::Salted { .. } => 2,
        }
    }

    /// Whether the clear values are consistent with what the chain commits to: format 1
    /// always (the hash covers them), format 2 when they hash to the committed hashes with
    /// the salt, or, once purged, when they are empty.
    pub fn matches(&self, user_agent: &str, client_network: &str) -> bool {
        match self {
            Self::Clear => true,
            Self::Salted { salt: None, .. } => user_agent.is_empty() && client_network.is_empty(),
            Self::Salted {
                user_agent_hash,
                client_network_hash,
                salt: Some(salt),
            } => {
                salted_hash("user_agent", salt, user_agent) == *user_agent_hash
                    && salted_hash("client_network", salt, client_network) == *client_network_hash
            }
        }
    }

    /// Whether the clear values were purged.
    pub fn is_purged(&self) -> bool {
        matches!(self, Self::Salted { salt: None, .. })
    }
}

/// `SHA-256(PERSONAL_PREFIX || field || 0 || salt || value)`: what a format 2 record commits
/// to instead of a personal value. Without the salt (purged with the value) it cannot be
/// tested against guesses, small as the space of networks is.
pub fn salted_hash(field: &str, salt: &[u8; SALT_LEN], value: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PERSONAL_PREFIX);
    h.update(field.as_bytes());
    h.update([0]);
    h.update(salt);
    h.update(value.as_bytes());
    h.finalize().into()
}

/// The stored form of a category set: the granted names, comma-separated, in the order
/// necessary, analytics, marketing.
pub fn category_list(categories: Categories) -> String {
    Category::ALL
        .into_iter()
        .filter(|c| categories.contains(*c))
        .map(Category::as_str)
        .collect::<Vec<_>>()
        .join(",")
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
        Self {
            sequence,
            entry,
            prev_hash,
            hash,
        }
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
    /// A row at a sequence of 0 or less: the chain starts at 1, so it was inserted around
    /// the service (and `find`/`history` never serve it).
    NonPositiveSequence,
    /// A format 2 record's user agent or client network does not hash to what the chain
    /// commits to: the clear values were edited.
    PersonalDataMismatch,
    /// The record's token does not verify against the key set: forged, or signed by a key
    /// that is not in the key directory (or `--jwks`).
    BadToken(token::TokenError),
    /// A claim of the record's token differs from the record's column: the record was
    /// edited and its hashes recomputed.
    TokenMismatch(&'static str),
    /// A signed checkpoint names another hash for this record: the history was rewritten
    /// after the service signed it.
    CheckpointMismatch {
        /// Where the checkpoint came from (`the database`, or the file given).
        source: String,
        /// The hash it signed for this record.
        signed: [u8; 32],
    },
    /// A checkpoint stored in the database does not verify: forged, or signed by a key that
    /// is not in the key directory.
    BadCheckpoint(String),
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
            Self::NonPositiveSequence => f.write_str(
                "its sequence is not positive; the chain starts at 1, so this row was inserted around the service",
            ),
            Self::PersonalDataMismatch => f.write_str(
                "its user agent or client network does not match the salted hash the chain commits to (edited)",
            ),
            Self::BadToken(e) => write!(
                f,
                "its token does not verify against the key set ({}): forged, or signed by a key missing from --key-dir",
                e.code()
            ),
            Self::TokenMismatch(claim) => write!(
                f,
                "its token's {claim} claim does not match the record (the record was edited and rehashed)"
            ),
            Self::CheckpointMismatch { source, signed } => write!(
                f,
                "a checkpoint the service signed ({source}) says this record hashes to {}; the history was rewritten after it was signed",
                hex(signed)
            ),
            Self::BadCheckpoint(why) => write!(f, "a stored checkpoint does not verify ({why}): it was forged or edited"),
        }
    }
}

/// The ledger interface the HTTP layer holds as `Arc<dyn Ledger>`.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Appends `entry` unless its consent id is already recorded. Returns only once the
    /// record is committed and synced.
    async fn append(&self, entry: Entry) -> Result<Appended> {
        Ok(self.commit(entry, None).await?.outcome)
    }

    /// Appends `entry` unless its consent id is already recorded, and, when `newest` is
    /// given, only if the subject's newest record is still that sequence (0: none), checked
    /// in the writer's transaction with the append: a compare-and-append on the subject's
    /// head. Otherwise [`LedgerError::Outdated`] and nothing is appended. Returns once
    /// committed and synced, with the newest signed head.
    async fn commit(&self, entry: Entry, newest: Option<i64>) -> Result<Committed>;

    /// The newest signed checkpoint of the ledger's head, if any.
    async fn signed_head(&self) -> Result<Option<Arc<SignedHead>>>;

    /// The first signed checkpoint that covers record `sequence` (with a checkpoint per
    /// batch: the one made with it, which its receipt carried), else the newest.
    async fn signed_head_covering(&self, sequence: i64) -> Result<Option<Arc<SignedHead>>>;

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
    /// `synchronous_commit` and the session timeouts (`lock_timeout`, `statement_timeout`,
    /// `idle_in_transaction_session_timeout`).
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
    async fn range(
        &self,
        after: i64,
        through: i64,
        period: Option<Period>,
        limit: u32,
    ) -> Result<Vec<Record>>;

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

/// A committed append and the newest signed head after it (which covers the record, unless
/// checkpoints are made every N records and this batch did not make one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// What the append did.
    pub outcome: Appended,
    /// The newest signed checkpoint.
    pub head: Option<Arc<SignedHead>>,
}

/// How the ledger is opened: batch size, checkpoints, PostgreSQL session limits.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most appends in one transaction.
    pub batch_max: usize,
    /// Who signs checkpoints and how often; `None`: no checkpoints (tests, benchmarks).
    pub checkpoints: Option<Arc<Checkpointer>>,
    /// PostgreSQL session timeouts.
    pub postgres: PostgresTimeouts,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_max: DEFAULT_BATCH_MAX,
            checkpoints: None,
            postgres: PostgresTimeouts::default(),
        }
    }
}

/// Timeouts set on every PostgreSQL session of the service, so that an instance that
/// hangs while holding the chain lock cannot stop every other instance's appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresTimeouts {
    /// `lock_timeout`: how long a batch waits for the chain lock (then 503).
    pub lock: std::time::Duration,
    /// `statement_timeout`: the longest any statement may run.
    pub statement: std::time::Duration,
    /// `idle_in_transaction_session_timeout`: a session that holds a transaction open this
    /// long without a statement (a frozen instance) is terminated, releasing its locks.
    pub idle_in_transaction: std::time::Duration,
}

impl Default for PostgresTimeouts {
    fn default() -> Self {
        Self {
            lock: std::time::Duration::from_secs(5),
            statement: std::time::Duration::from_secs(10),
            idle_in_transaction: std::time::Duration::from_secs(10),
        }
    }
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
pub async fn open(database: &str, batch_max: usize) -> Result<Arc<dyn Ledger>> {
    open_with(
        database,
        &Options {
            batch_max,
            ..Options::default()
        },
    )
    .await
}

/// [`open`] with checkpoints and PostgreSQL timeouts: what the service runs.
///
/// # Errors
///
/// As [`open`].
pub async fn open_with(database: &str, options: &Options) -> Result<Arc<dyn Ledger>> {
    let (ledger, jobs): (Arc<dyn Ledger>, mpsc::WeakSender<Job>) = if is_postgres_url(database) {
        let connect = postgres_options(database)?;
        let ledger = PostgresLedger::open_with(connect, options).await?;
        let jobs = ledger.jobs();
        (Arc::new(ledger), jobs)
    } else {
        let path = sqlite_path(database).to_owned();
        let options = options.clone();
        let ledger = off_thread(database, move || SqliteLedger::open_with(&path, &options)).await?;
        let jobs = ledger.jobs();
        (Arc::new(ledger), jobs)
    };
    // With checkpoints every N records, records after the last one are anchored within the
    // interval even when no further append comes.
    if let Some(checkpoints) = options.checkpoints.as_ref().filter(|c| c.every() > 1) {
        tokio::spawn(tick(jobs, checkpoints.interval()));
    }
    Ok(ledger)
}

/// Asks the writer to consider a checkpoint every `every`, until the ledger is dropped.
async fn tick(jobs: mpsc::WeakSender<Job>, every: std::time::Duration) {
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        let Some(jobs) = jobs.upgrade() else { return };
        // A full queue already wakes the writer.
        let _ = jobs.try_send(Job::Tick);
    }
}

/// The newest record of the ledger named by `database`, read without changing anything
/// (as [`verify_read_only`]): `None` when there is no ledger file or table or no record.
/// The service reads it before choosing whether it may generate a first key.
///
/// # Errors
///
/// [`LedgerError::Open`] when the database exists but cannot be opened, or a read error.
pub async fn newest_read_only(database: &str) -> Result<Option<Record>> {
    if is_postgres_url(database) {
        let options = postgres_options(database)?;
        postgres::newest_read_only(options).await
    } else {
        let path = sqlite_path(database).to_owned();
        if !path.exists() {
            return Ok(None);
        }
        off_thread(database, move || sqlite::newest_read_only(&path)).await
    }
}

/// What `ledger purge` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Format 2 records whose user agent, client network and salt were deleted.
    pub purged: u64,
    /// Format 1 records before the date, which keep theirs: their hash covers the values.
    pub kept_v1: u64,
}

/// `ledger purge --before`: deletes the user agent, client network and salt of every
/// format 2 record recorded before `before_ms` (milliseconds since the epoch). The chain
/// does not change (it commits to salted hashes), so the ledger still verifies.
///
/// # Errors
///
/// [`LedgerError::Open`], [`LedgerError::NoLedger`], [`LedgerError::Migrate`] when the
/// ledger is not at format 2 yet (start the service once), or a storage error.
pub async fn purge(database: &str, before_ms: i64) -> Result<Purged> {
    if is_postgres_url(database) {
        let options = postgres_options(database)?;
        postgres::purge(options, before_ms).await
    } else {
        let path = sqlite_path(database).to_owned();
        off_thread(database, move || sqlite::purge(&path, before_ms)).await
    }
}

/// What [`verify_read_only`] checks besides the chain.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// A head hash noted earlier, looked for among the record hashes.
    pub expect_head: Option<[u8; 32]>,
    /// The public keys: every record's token and every checkpoint must verify against
    /// them. `None`: the chain only (the tokens and checkpoints are not checked).
    pub jwks: Option<Jwks>,
    /// Signed heads kept outside the database (receipts, `GET /v1/ledger/head`), each with
    /// a name for the report; they were verified against `jwks` by the caller.
    pub kept: Vec<(String, checkpoint::HeadClaims)>,
}

/// What [`verify_read_only`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The state of the chain.
    pub status: ChainStatus,
    /// The sequence of the record whose hash is the expected head, if it was asked for
    /// and is in the chain (up to the first broken record).
    pub expected_head_at: Option<i64>,
    /// The newest signed checkpoint that matched the chain: (sequence, signed at in unix
    /// seconds, where it came from).
    pub anchored: Option<(i64, u64, String)>,
    /// Records after the newest matching checkpoint: (how many, the oldest one's
    /// `recorded_at` in ms).
    pub unanchored: Option<(u64, i64)>,
    /// Signed checkpoints checked (stored and kept).
    pub checkpoints: u64,
    /// Signed checkpoints that name a record past the chain's end: (sequence, where it came
    /// from). The newest records were deleted.
    pub beyond_end: Vec<(i64, String)>,
    /// Records per format (1, 2) and format 2 records whose personal data was purged.
    pub formats: (u64, u64, u64),
}

/// Walks the chain of the ledger named by `database` without changing anything: the
/// SQLite file is opened read-only (never created), the PostgreSQL session is read-only
/// and nothing is migrated and no writer is started. With keys, every token and every
/// stored checkpoint is verified, and the chain is matched against the checkpoints and
/// the kept signed heads.
///
/// # Errors
///
/// [`LedgerError::Open`] when the database cannot be opened, [`LedgerError::NoLedger`]
/// when it has no ledger table, or a read error.
pub async fn verify_read_only(database: &str, audit: Audit) -> Result<Verified> {
    if is_postgres_url(database) {
        let options = postgres_options(database)?;
        postgres::verify_read_only(options, audit).await
    } else {
        let path = sqlite_path(database).to_owned();
        off_thread(database, move || sqlite::verify_read_only(&path, audit)).await
    }
}

/// The SQLite file `database` names: a path, or a `sqlite://` URL.
pub fn sqlite_path(database: &str) -> &std::path::Path {
    std::path::Path::new(database.strip_prefix("sqlite://").unwrap_or(database))
}

/// The PostgreSQL connection a `postgres://` URL names, or why it names none.
fn postgres_options(database: &str) -> Result<sqlx::postgres::PgConnectOptions> {
    database
        .parse()
        .map_err(|e: sqlx::Error| LedgerError::Open {
            location: redact_url(database),
            reason: e.to_string(),
        })
}

/// Runs `job` (SQLite's blocking calls) off the async threads; a job that panicked is an
/// error opening `database`.
async fn off_thread<T: Send + 'static>(
    database: &str,
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| LedgerError::Open {
            location: database.to_owned(),
            reason: e.to_string(),
        })?
}

/// Whether `database` names a PostgreSQL server.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
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

/// The canonical bytes of a record (see the module docs): format 1 with the user agent and
/// client network, format 2 with their salted hashes in their place.
pub fn canonical_bytes(sequence: i64, entry: &Entry) -> Vec<u8> {
    fn str_field(out: &mut Vec<u8>, s: &[u8]) {
        // Lengths are bounded by the request body limit, far below u32::MAX.
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(s);
    }
    let mut out = Vec::with_capacity(CANONICAL_PREFIX.len() + 256 + entry.token.len());
    out.extend_from_slice(match entry.personal {
        Personal::Clear => CANONICAL_PREFIX,
        Personal::Salted { .. } => CANONICAL_PREFIX_V2,
    });
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
    match &entry.personal {
        Personal::Clear => {
            str_field(&mut out, entry.user_agent.as_bytes());
            str_field(&mut out, entry.client_network.as_bytes());
        }
        Personal::Salted {
            user_agent_hash,
            client_network_hash,
            ..
        } => {
            str_field(&mut out, user_agent_hash);
            str_field(&mut out, client_network_hash);
        }
    }
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
/// a format prefix ([`CANONICAL_PREFIX`], [`CANONICAL_PREFIX_V2`]) and a sequence.
pub fn canonical_sequence(canonical: &[u8]) -> Option<i64> {
    let rest = canonical
        .strip_prefix(CANONICAL_PREFIX)
        .or_else(|| canonical.strip_prefix(CANONICAL_PREFIX_V2))?;
    Some(i64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
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

/// A signed head to match the chain against, already verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub(crate) sequence: i64,
    pub(crate) hash: [u8; 32],
    pub(crate) signed_at: u64,
    /// Where it came from: the database (one shared name for its many checkpoints), or a
    /// kept file.
    pub(crate) source: Arc<str>,
}

/// Checks records one at a time, in sequence order.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    expected_sequence: i64,
    prev_hash: [u8; 32],
    checked: u64,
    watch: Option<[u8; 32]>,
    watched_at: Option<i64>,
    /// When set, every record's token is verified and compared with its columns.
    jwks: Option<Jwks>,
    /// Signed heads by sequence.
    anchors: std::collections::BTreeMap<i64, Vec<Anchor>>,
    newest_anchor: i64,
    anchored: Option<(i64, u64, String)>,
    unanchored: Option<(u64, i64)>,
    formats: (u64, u64, u64),
}

impl ChainVerifier {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::watching(None)
    }

    /// A verifier that also notes where the record hashed `watch` is.
    pub(crate) fn watching(watch: Option<[u8; 32]>) -> Self {
        Self {
            expected_sequence: 1,
            prev_hash: GENESIS_HASH,
            checked: 0,
            watch,
            watched_at: None,
            jwks: None,
            anchors: std::collections::BTreeMap::new(),
            newest_anchor: 0,
            anchored: None,
            unanchored: None,
            formats: (0, 0, 0),
        }
    }

    /// A verifier for an audit: tokens against `jwks` when given, and the chain against
    /// `anchors` (checkpoints whose signatures were verified).
    pub(crate) fn auditing(
        watch: Option<[u8; 32]>,
        jwks: Option<Jwks>,
        anchors: Vec<Anchor>,
    ) -> Self {
        let mut verifier = Self::watching(watch);
        verifier.jwks = jwks;
        for anchor in anchors {
            verifier.newest_anchor = verifier.newest_anchor.max(anchor.sequence);
            verifier
                .anchors
                .entry(anchor.sequence)
                .or_default()
                .push(anchor);
        }
        verifier
    }

    /// Checks a page of rows in order; `Err` is the broken status to report. The tokens'
    /// signatures (the walk's main cost with keys) are checked on every core first.
    pub(crate) fn check_page(
        &mut self,
        rows: Vec<std::result::Result<Record, (i64, String)>>,
    ) -> std::result::Result<(), ChainStatus> {
        let verdicts = match &self.jwks {
            Some(jwks) => token_verdicts(&rows, jwks),
            None => vec![Ok(()); rows.len()],
        };
        for (row, verdict) in rows.into_iter().zip(verdicts) {
            self.check_with(row, verdict)?;
        }
        Ok(())
    }

    /// Checks the next row; `Err` is the broken status to report.
    #[cfg(test)]
    pub(crate) fn check(
        &mut self,
        row: std::result::Result<Record, (i64, String)>,
    ) -> std::result::Result<(), ChainStatus> {
        let verdict = match (&self.jwks, &row) {
            (Some(jwks), Ok(record)) => check_token(&record.entry, jwks),
            _ => Ok(()),
        };
        self.check_with(row, verdict)
    }

    /// Checks the next row, its token's verdict already known.
    fn check_with(
        &mut self,
        row: std::result::Result<Record, (i64, String)>,
        token: std::result::Result<(), BreakReason>,
    ) -> std::result::Result<(), ChainStatus> {
        let record = match row {
            Ok(r) => r,
            Err((sequence, why)) => {
                return Err(self.broken(sequence, BreakReason::Unreadable(why)));
            }
        };
        if record.sequence <= 0 {
            return Err(self.broken(record.sequence, BreakReason::NonPositiveSequence));
        }
        if record.sequence != self.expected_sequence {
            return Err(self.broken(
                record.sequence,
                BreakReason::SequenceGap {
                    expected: self.expected_sequence,
                },
            ));
        }
        if record.prev_hash != self.prev_hash {
            return Err(self.broken(record.sequence, BreakReason::PrevHashMismatch));
        }
        if record_hash(&record.prev_hash, record.sequence, &record.entry) != record.hash {
            return Err(self.broken(record.sequence, BreakReason::HashMismatch));
        }
        if !record
            .entry
            .personal
            .matches(&record.entry.user_agent, &record.entry.client_network)
        {
            return Err(self.broken(record.sequence, BreakReason::PersonalDataMismatch));
        }
        if let Err(reason) = token {
            return Err(self.broken(record.sequence, reason));
        }
        if let Some(anchors) = self.anchors.get(&record.sequence) {
            if let Some(other) = anchors.iter().find(|a| a.hash != record.hash) {
                let reason = BreakReason::CheckpointMismatch {
                    source: other.source.to_string(),
                    signed: other.hash,
                };
                return Err(self.broken(record.sequence, reason));
            }
            if let Some(a) = anchors.iter().max_by_key(|a| a.signed_at) {
                self.anchored = Some((a.sequence, a.signed_at, a.source.to_string()));
            }
        }
        if record.sequence > self.newest_anchor {
            let (n, oldest) = self.unanchored.unwrap_or((0, record.entry.recorded_at));
            self.unanchored = Some((n + 1, oldest));
        }
        match record.entry.personal {
            Personal::Clear => self.formats.0 += 1,
            Personal::Salted { salt, .. } => {
                self.formats.1 += 1;
                self.formats.2 += u64::from(salt.is_none());
            }
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
        ChainStatus::Broken {
            sequence,
            reason,
            checked: self.checked,
        }
    }

    pub(crate) fn finish(self) -> ChainStatus {
        ChainStatus::Intact {
            records: self.checked,
            head: (self.checked > 0).then_some(self.prev_hash),
        }
    }

    /// The audit's report, for a walk that ended with `status`.
    pub(crate) fn report(self, status: std::result::Result<(), ChainStatus>) -> Verified {
        let end = self.expected_sequence - 1;
        let beyond_end = match &status {
            Ok(()) => self
                .anchors
                .range(end + 1..)
                .flat_map(|(_, anchors)| anchors.iter().map(|a| (a.sequence, a.source.to_string())))
                .collect(),
            Err(_) => Vec::new(),
        };
        let checkpoints = self.anchors.values().map(|a| a.len() as u64).sum();
        Verified {
            expected_head_at: self.watched_at,
            anchored: self.anchored.clone(),
            unanchored: self.unanchored,
            checkpoints,
            beyond_end,
            formats: self.formats,
            status: match status {
                Ok(()) => self.finish(),
                Err(broken) => broken,
            },
        }
    }
}

/// A stored checkpoint as an anchor, once its signature checks out and its columns are
/// what it signs.
pub(crate) fn stored_anchor(
    source: &Arc<str>,
    sequence: i64,
    hash: &[u8],
    signed_at: i64,
    kid: &str,
    token: &str,
    jwks: &Jwks,
) -> std::result::Result<Anchor, BreakReason> {
    let (claims, signed_by) =
        checkpoint::verify(token, jwks).map_err(|e| BreakReason::BadCheckpoint(e.to_string()))?;
    let signed_hash = claims.hash().unwrap_or_default();
    let consistent = claims.seq == sequence
        && signed_hash[..] == *hash
        && i64::try_from(claims.iat).ok() == Some(signed_at)
        && signed_by == kid;
    if !consistent {
        return Err(BreakReason::BadCheckpoint(
            "its columns differ from what it signs".to_owned(),
        ));
    }
    Ok(Anchor {
        sequence,
        hash: signed_hash,
        signed_at: claims.iat,
        source: source.clone(),
    })
}

/// The signed heads kept outside the database, as anchors.
pub(crate) fn kept_anchors(kept: &[(String, checkpoint::HeadClaims)]) -> Vec<Anchor> {
    kept.iter()
        .filter_map(|(source, claims)| {
            Some(Anchor {
                sequence: claims.seq,
                hash: claims.hash()?,
                signed_at: claims.iat,
                source: source.as_str().into(),
            })
        })
        .collect()
}

/// [`check_token`] for every readable row, spread over the available cores.
fn token_verdicts(
    rows: &[std::result::Result<Record, (i64, String)>],
    jwks: &Jwks,
) -> Vec<std::result::Result<(), BreakReason>> {
    let verdict = |row: &std::result::Result<Record, (i64, String)>| match row {
        Ok(record) => check_token(&record.entry, jwks),
        Err(_) => Ok(()),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    if threads < 2 || rows.len() < 64 {
        return rows.iter().map(verdict).collect();
    }
    let chunk = rows.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = rows
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(verdict).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join().unwrap_or_else(|_| {
                    vec![Err(BreakReason::Unreadable(
                        "a verifier thread failed".to_owned(),
                    ))]
                })
            })
            .collect()
    })
}

/// The record's token verifies against `jwks` and its claims are the record's columns.
pub(crate) fn check_token(entry: &Entry, jwks: &Jwks) -> std::result::Result<(), BreakReason> {
    let claims = token::verify_signature(&entry.token, jwks).map_err(BreakReason::BadToken)?;
    let mismatch = if claims.jti.as_str() != entry.consent_id {
        Some("jti")
    } else if claims.sub.as_str() != entry.subject_id {
        Some("sub")
    } else if i64::try_from(claims.iat).ok() != Some(entry.recorded_at.div_euclid(1000)) {
        Some("iat")
    } else if claims.pv != entry.policy_version {
        Some("pv")
    } else if claims.pd != entry.policy_digest {
        Some("pd")
    } else if claims.lang.as_str() != entry.language {
        Some("lang")
    } else if category_list(claims.cat) != entry.categories {
        Some("cat")
    } else if claims.pa != entry.policy_accepted {
        Some("pa")
    } else {
        None
    };
    mismatch.map_or(Ok(()), |claim| Err(BreakReason::TokenMismatch(claim)))
}

/// What a writer is asked to do.
// Almost every job is an append; boxing it to shrink the rare tick would cost an
// allocation per append.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Job {
    /// Append a record.
    Append(Pending),
    /// Write a checkpoint if records are unanchored and one is due (checkpoints every N
    /// records: the interval passed).
    Tick,
}

impl Job {
    /// Adds an append to `batch`, or notes a tick.
    pub(crate) fn sort_into(self, batch: &mut Vec<Pending>, tick: &mut bool) {
        match self {
            Self::Append(pending) => batch.push(pending),
            Self::Tick => *tick = true,
        }
    }
}

/// One append waiting for its batch to commit.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) entry: Entry,
    /// For a compare-and-append: the subject's newest sequence the entry was derived from.
    pub(crate) newest: Option<i64>,
    pub(crate) reply: oneshot::Sender<Result<Committed>>,
}

/// Sends an entry to a writer and waits for the commit.
pub(crate) async fn submit(
    tx: &mpsc::Sender<Job>,
    entry: Entry,
    newest: Option<i64>,
) -> Result<Committed> {
    let (reply, wait) = oneshot::channel();
    tx.send(Job::Append(Pending {
        entry,
        newest,
        reply,
    }))
    .await
    .map_err(|_| LedgerError::Closed)?;
    wait.await.map_err(|_| LedgerError::Closed)?
}

/// Assigns sequence numbers and hashes to a batch of `(entry, newest)`. `existing` answers
/// whether a consent id is already in the ledger (from before this batch), `subjects` the
/// newest sequence of the subjects of conditional entries (from before this batch; a
/// subject missing has none). Returns, per entry in order, the outcome, and the records to
/// insert.
pub(crate) fn plan_batch(
    head: (i64, [u8; 32]),
    entries: &[(Entry, Option<i64>)],
    existing: &HashMap<String, Record>,
    subjects: &HashMap<String, i64>,
) -> (Vec<Result<Appended>>, Vec<Record>) {
    let (mut sequence, mut prev) = head;
    let mut outcomes = Vec::with_capacity(entries.len());
    let mut fresh: Vec<Record> = Vec::with_capacity(entries.len());
    let mut in_batch: HashMap<&str, usize> = HashMap::new();
    let mut newest: HashMap<&str, i64> = HashMap::new();
    for (entry, condition) in entries {
        if let Some(record) = existing.get(&entry.consent_id) {
            outcomes.push(Ok(Appended::Existing(record.clone())));
            continue;
        }
        if let Some(&i) = in_batch.get(entry.consent_id.as_str()) {
            outcomes.push(Ok(Appended::Existing(fresh[i].clone())));
            continue;
        }
        if let Some(expected) = *condition {
            let now = newest
                .get(entry.subject_id.as_str())
                .or_else(|| subjects.get(&entry.subject_id))
                .copied()
                .unwrap_or(0);
            if now != expected {
                outcomes.push(Err(LedgerError::Outdated {
                    expected,
                    newest: now,
                }));
                continue;
            }
        }
        sequence += 1;
        let record = Record::chain(entry.clone(), sequence, prev);
        prev = record.hash;
        in_batch.insert(entry.consent_id.as_str(), fresh.len());
        newest.insert(entry.subject_id.as_str(), sequence);
        outcomes.push(Ok(Appended::New(record.clone())));
        fresh.push(record);
    }
    (outcomes, fresh)
}

/// The [`Personal`] of a stored row: its `format` and, for format 2, the committed hashes
/// and the salt (absent once purged).
pub(crate) fn personal_of(
    sequence: i64,
    format: i64,
    user_agent_hash: Option<&[u8]>,
    client_network_hash: Option<&[u8]>,
    salt: Option<&[u8]>,
) -> std::result::Result<Personal, (i64, String)> {
    match format {
        1 => Ok(Personal::Clear),
        2 => Ok(Personal::Salted {
            user_agent_hash: hash_array(
                sequence,
                "user_agent_hash",
                user_agent_hash.unwrap_or_default(),
            )?,
            client_network_hash: hash_array(
                sequence,
                "client_network_hash",
                client_network_hash.unwrap_or_default(),
            )?,
            salt: salt
                .map(|s| {
                    <[u8; SALT_LEN]>::try_from(s).map_err(|_| {
                        (
                            sequence,
                            format!("salt has {} bytes, expected {SALT_LEN}", s.len()),
                        )
                    })
                })
                .transpose()?,
        }),
        other => Err((sequence, format!("unknown record format {other}"))),
    }
}

/// Converts a stored hash column to an array.
pub(crate) fn hash_array(
    sequence: i64,
    column: &str,
    bytes: &[u8],
) -> std::result::Result<[u8; 32], (i64, String)> {
    bytes.try_into().map_err(|_| {
        (
            sequence,
            format!("{column} has {} bytes, expected 32", bytes.len()),
        )
    })
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

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_VECTOR: &str = "611dc2810edf59a167a66baebea713da532d5f85093433d75f2602d5238fd59b";
    const V2_VECTOR: &str = "ec58436f6ea4fa43731b155bdd4b7c584e51e2edda5311347491e62bef61c440";

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
            personal: Personal::Clear,
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
        let entries: Vec<(Entry, Option<i64>)> = [entry("x"), entry("old"), entry("y"), entry("x")]
            .into_iter()
            .map(|e| (e, None))
            .collect();
        let (outcomes, fresh) = plan_batch((1, old.hash), &entries, &existing, &HashMap::new());
        assert_eq!(fresh.len(), 2);
        assert_eq!(fresh[0].sequence, 2);
        assert_eq!(fresh[0].prev_hash, old.hash);
        assert_eq!(fresh[1].prev_hash, fresh[0].hash);
        assert!(matches!(&outcomes[1], Ok(Appended::Existing(r)) if *r == old));
        assert!(matches!(&outcomes[3], Ok(Appended::Existing(r)) if *r == fresh[0]));
        let mut v = ChainVerifier::new();
        v.check(Ok(Record::chain(entry("old"), 1, GENESIS_HASH)))
            .expect("first");
        for r in fresh {
            v.check(Ok(r)).expect("chained");
        }
        assert!(matches!(v.finish(), ChainStatus::Intact { records: 3, .. }));
    }

    /// Two withdrawals of one subject in one batch, both derived from its record 1: the
    /// first is appended, the second refused as outdated (its subject's newest is now the
    /// first), so it is derived again instead of undoing the first.
    #[test]
    fn batch_plan_refuses_an_entry_derived_from_a_record_that_is_no_longer_the_newest() {
        let first = Record::chain(entry("c"), 1, GENESIS_HASH);
        let mut subjects = HashMap::new();
        subjects.insert("subject".to_owned(), 1);
        let entries = vec![
            (entry("w1"), Some(1)),
            (entry("w2"), Some(1)),
            (entry("w1"), Some(1)),
        ];
        let (outcomes, fresh) = plan_batch((1, first.hash), &entries, &HashMap::new(), &subjects);
        assert_eq!(fresh.len(), 1);
        assert!(matches!(outcomes[0], Ok(Appended::New(_))));
        assert!(
            matches!(
                outcomes[1],
                Err(LedgerError::Outdated {
                    expected: 1,
                    newest: 2
                })
            ),
            "{:?}",
            outcomes[1]
        );
        assert!(
            matches!(outcomes[2], Ok(Appended::Existing(_))),
            "a retry of the first is still idempotent"
        );
        let (outcomes, _) = plan_batch(
            (1, first.hash),
            &[(entry("w3"), Some(0))],
            &HashMap::new(),
            &subjects,
        );
        assert!(matches!(
            outcomes[0],
            Err(LedgerError::Outdated {
                expected: 0,
                newest: 1
            })
        ));
    }

    /// Format 1 is unchanged by format 2: this hash was computed from the documented
    /// canonical bytes by an independent implementation (Python, `hashlib`).
    #[test]
    fn format_1_hashes_as_before() {
        assert_eq!(hex(&record_hash(&GENESIS_HASH, 1, &entry("a"))), V1_VECTOR);
    }

    /// Format 2 commits to salted hashes: the record hashes the same once the values and
    /// the salt are gone, and differently with other values.
    #[test]
    fn format_2_hashes_salted_personal_data_and_survives_a_purge() {
        let mut e = entry("a");
        e.personal = Personal::seal_with([5; SALT_LEN], &e.user_agent, &e.client_network);
        let h = record_hash(&GENESIS_HASH, 1, &e);
        assert_eq!(hex(&h), V2_VECTOR);
        assert_ne!(h, record_hash(&GENESIS_HASH, 1, &entry("a")));
        assert!(e.personal.matches("test", "127.0.0.0/24"));
        assert!(!e.personal.matches("test", "127.0.1.0/24"));
        let mut purged = e.clone();
        purged.user_agent.clear();
        purged.client_network.clear();
        let Personal::Salted {
            user_agent_hash,
            client_network_hash,
            ..
        } = e.personal
        else {
            panic!("v2")
        };
        purged.personal = Personal::Salted {
            user_agent_hash,
            client_network_hash,
            salt: None,
        };
        assert_eq!(record_hash(&GENESIS_HASH, 1, &purged), h);
        assert!(purged.personal.matches("", ""));
        assert!(
            !purged.personal.matches("test", ""),
            "purged values must be empty"
        );
        let mut other = e.clone();
        other.personal = Personal::seal_with([6; SALT_LEN], &e.user_agent, &e.client_network);
        assert_ne!(
            record_hash(&GENESIS_HASH, 1, &other),
            h,
            "the salt is committed through the hashes"
        );
    }

    #[test]
    fn verifier_refuses_rows_at_sequence_zero_or_below() {
        let mut v = ChainVerifier::new();
        let row = Record::chain(entry("x"), -1, GENESIS_HASH);
        assert_eq!(
            v.check(Ok(row)),
            Err(ChainStatus::Broken {
                sequence: -1,
                reason: BreakReason::NonPositiveSequence,
                checked: 0
            })
        );
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
            Err(ChainStatus::Broken {
                sequence: 3,
                reason: BreakReason::SequenceGap { expected: 2 },
                checked: 1
            })
        );
        let mut edited = r2;
        edited.entry.categories = "necessary,analytics,marketing".to_owned();
        let mut v = ChainVerifier::new();
        v.check(Ok(r1)).expect("r1");
        assert_eq!(
            v.check(Ok(edited)),
            Err(ChainStatus::Broken {
                sequence: 2,
                reason: BreakReason::HashMismatch,
                checked: 1
            })
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
        assert_eq!(
            redact_url("postgres://localhost/db"),
            "postgres://localhost/db"
        );
    }
}
