//! The ledger suite, run against SQLite always and against PostgreSQL when
//! `VIVUS_TEST_POSTGRES_URL` is set (each Postgres test in its own schema).

mod common;

use std::sync::Arc;

use common::Backend;

use vivus_consent_server::ledger::{
    self, Appended, BreakReason, ChainStatus, Entry, Ledger, Personal, RecordKind,
};

fn entry(id: &str, subject: &str) -> Entry {
    Entry {
        consent_id: id.to_owned(),
        subject_id: subject.to_owned(),
        kind: RecordKind::Consent,
        withdraws: None,
        recorded_at: vivus_consent_server::now_ms(),
        policy_version: "v1".to_owned(),
        policy_digest: "ab".repeat(32),
        language: "kk".to_owned(),
        categories: "necessary,analytics".to_owned(),
        policy_accepted: true,
        source: "banner".to_owned(),
        gpc: false,
        user_agent: "Mozilla/5.0 test".to_owned(),
        client_network: "203.0.113.0/24".to_owned(),
        personal: Personal::seal("Mozilla/5.0 test", "203.0.113.0/24").expect("salt"),
        request_hash: [3; 32],
        token: format!("token-{id}"),
    }
}

fn new_record(outcome: Appended) -> ledger::Record {
    match outcome {
        Appended::New(r) => r,
        Appended::Existing(r) => panic!("expected a new record, got existing {}", r.sequence),
    }
}

async fn appends_chain_and_read_back(backend: &Backend) {
    let ledger = backend.open().await;
    assert!(matches!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Intact {
            records: 0,
            head: None
        }
    ));
    let mut prev = ledger::GENESIS_HASH;
    for i in 1..=5 {
        let subject = if i % 2 == 0 { "even" } else { "odd" };
        let mut e = entry(&format!("id-{i}"), subject);
        if i == 4 {
            e.kind = RecordKind::Withdrawal;
            e.withdraws = Some("id-2".to_owned());
        }
        let r = new_record(ledger.append(e.clone()).await.expect("append"));
        assert_eq!(r.sequence, i);
        assert_eq!(r.prev_hash, prev);
        assert_eq!(r.entry, e);
        prev = r.hash;
    }
    let found = ledger.find("id-4").await.expect("find").expect("present");
    assert_eq!(found.entry.kind, RecordKind::Withdrawal);
    assert_eq!(found.entry.withdraws.as_deref(), Some("id-2"));
    assert!(ledger.find("id-9").await.expect("find").is_none());
    let odd: Vec<i64> = ledger
        .history("odd", 100)
        .await
        .expect("history")
        .iter()
        .map(|r| r.sequence)
        .collect();
    assert_eq!(odd, [1, 3, 5]);
    assert_eq!(ledger.history("odd", 2).await.expect("history").len(), 2);

    // The same id again: nothing appended, the stored record returned.
    let again = ledger.append(entry("id-3", "other")).await.expect("append");
    match again {
        Appended::Existing(r) => assert_eq!((r.sequence, r.entry.subject_id.as_str()), (3, "odd")),
        Appended::New(r) => panic!("duplicate id appended as {}", r.sequence),
    }
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Intact {
            records: 5,
            head: Some(prev)
        }
    );
    drop(ledger);

    // Reopened, the chain continues from its head.
    let ledger = backend.open().await;
    let r = new_record(ledger.append(entry("id-6", "odd")).await.expect("append"));
    assert_eq!((r.sequence, r.prev_hash), (6, prev));
    assert!(matches!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Intact { records: 6, .. }
    ));
}

async fn concurrent_appends_share_batches(backend: &Backend) {
    let ledger = backend.open().await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            ledger.append(entry(&format!("c-{i}"), "s")).await
        }));
    }
    // The same id from 20 requests at once: one record, 19 idempotent answers.
    for _ in 0..20 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            ledger.append(entry("dup", "s")).await
        }));
    }
    let mut sequences = Vec::new();
    let mut dup_sequences = Vec::new();
    for task in tasks {
        match task.await.expect("task").expect("append") {
            Appended::New(r) if r.entry.consent_id == "dup" => dup_sequences.push(r.sequence),
            Appended::New(r) => sequences.push(r.sequence),
            Appended::Existing(r) => {
                assert_eq!(r.entry.consent_id, "dup");
                dup_sequences.push(r.sequence);
            }
        }
    }
    assert_eq!(dup_sequences.len(), 20);
    assert!(
        dup_sequences.iter().all(|s| *s == dup_sequences[0]),
        "every duplicate names one record"
    );
    sequences.push(dup_sequences[0]);
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=301).collect::<Vec<i64>>());
    let stats = ledger.stats();
    assert_eq!((stats.appended, stats.existing), (301, 19));
    assert!(
        stats.max_batch > 1,
        "concurrent appends were committed together: {stats:?}"
    );
    assert!(stats.batches < 301, "{stats:?}");
    assert!(matches!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Intact { records: 301, .. }
    ));
}

async fn five(backend: &Backend) -> Arc<dyn Ledger> {
    let ledger = backend.open().await;
    for i in 1..=5 {
        ledger
            .append(entry(&format!("id-{i}"), "s"))
            .await
            .expect("append");
    }
    ledger
}

async fn an_edited_record_breaks_the_chain(backend: &Backend) {
    let ledger = five(backend).await;
    backend
        .tamper("UPDATE ledger SET categories = 'necessary,analytics,marketing' WHERE sequence = 3")
        .await;
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Broken {
            sequence: 3,
            reason: BreakReason::HashMismatch,
            checked: 2
        }
    );
}

async fn a_deleted_record_breaks_the_chain(backend: &Backend) {
    let ledger = five(backend).await;
    backend
        .tamper("DELETE FROM ledger WHERE sequence = 3")
        .await;
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Broken {
            sequence: 4,
            reason: BreakReason::SequenceGap { expected: 3 },
            checked: 2
        }
    );
}

async fn a_deletion_hidden_by_renumbering_breaks_the_chain(backend: &Backend) {
    let ledger = five(backend).await;
    backend
        .tamper(
            "DELETE FROM ledger WHERE sequence = 3; \
             UPDATE ledger SET sequence = 3 WHERE sequence = 4; \
             UPDATE ledger SET sequence = 4 WHERE sequence = 5",
        )
        .await;
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Broken {
            sequence: 3,
            reason: BreakReason::PrevHashMismatch,
            checked: 2
        }
    );
}

async fn the_store_refuses_updates_and_deletes(backend: &Backend) {
    let _ledger = five(backend).await;
    for sql in [
        "UPDATE ledger SET gpc = true WHERE sequence = 1",
        "DELETE FROM ledger WHERE sequence = 5",
    ] {
        let err = backend.try_sql(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = Backend::postgres(concat!("postgres::", stringify!($name))).await {
                        super::$name(&backend).await;
                        backend.cleanup().await;
                    }
                }
            )*
        }
    };
}

/// Records of format 1 (written before format 2: personal data in clear) keep verifying
/// next to format 2 records, and read back as they were written.
async fn format_1_records_still_verify_next_to_format_2(backend: &Backend) {
    let ledger = backend.open().await;
    let mut written = Vec::new();
    for i in 1..=6 {
        let mut e = entry(&format!("f-{i}"), "s");
        if i <= 3 {
            e.personal = Personal::Clear;
        }
        written.push(e.clone());
        assert!(matches!(
            ledger.append(e).await.expect("append"),
            Appended::New(_)
        ));
    }
    assert!(matches!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Intact { records: 6, .. }
    ));
    let read: Vec<Entry> = ledger
        .history("s", 10)
        .await
        .expect("history")
        .into_iter()
        .map(|r| r.entry)
        .collect();
    assert_eq!(read, written);
    assert_eq!(read[0].personal.format(), 1);
    assert_eq!(read[5].personal.format(), 2);
    // A format 2 record keeps its clear values apart; one written into its chained row
    // (which stays empty) is seen, as is one edited where it is kept.
    backend
        .tamper("UPDATE ledger SET user_agent = 'x' WHERE sequence = 5")
        .await;
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Broken {
            sequence: 5,
            reason: BreakReason::PersonalDataMismatch,
            checked: 4
        }
    );
    backend.tamper("UPDATE ledger SET user_agent = '' WHERE sequence = 5; UPDATE ledger_personal SET client_network = '198.51.100.0/24' WHERE sequence = 6").await;
    assert_eq!(
        ledger.verify().await.expect("verify"),
        ChainStatus::Broken {
            sequence: 6,
            reason: BreakReason::PersonalDataMismatch,
            checked: 5
        }
    );
}

/// The store refuses a row at sequence 0 or below (PostgreSQL: CHECK; SQLite: trigger).
async fn the_store_refuses_sequences_at_or_below_zero(backend: &Backend) {
    let _ledger = five(backend).await;
    for sequence in [0, -1] {
        let err = backend
            .try_sql(&format!(
                "INSERT INTO ledger SELECT {sequence}, 'z{}', subject_id, kind, withdraws, recorded_at, policy_version, \
                 policy_digest, language, categories, policy_accepted, source, gpc, user_agent, client_network, \
                 request_hash, token, prev_hash, hash, format, user_agent_hash, client_network_hash FROM ledger WHERE sequence = 1",
                -sequence
            ))
            .await
            .expect_err("refused");
        assert!(
            err.contains("sequence")
                && (err.contains("positive") || err.contains("check constraint")),
            "{err}"
        );
    }
}

/// With a checkpoint every N records, one is signed once N records are unanchored, and
/// the timer anchors a tail that no further append comes to.
async fn checkpoints_every_n_records_and_on_the_timer(backend: &Backend) {
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = Arc::new(
        vivus_consent_server::keys::KeyRing::load_or_generate(keys_dir.path(), 1).expect("keys"),
    );
    let options = ledger::Options {
        batch_max: 16,
        checkpoints: Some(Arc::new(ledger::Checkpointer::new(
            keys.clone(),
            "vivus-consent".to_owned(),
            3,
            std::time::Duration::from_secs(1),
        ))),
        postgres: ledger::PostgresTimeouts::default(),
    };
    let ledger = ledger::open_with(backend.database(), &options)
        .await
        .expect("ledger opens");
    let mut heads = Vec::new();
    for i in 1..=5 {
        let committed = ledger
            .commit(entry(&format!("n-{i}"), "s"), None)
            .await
            .expect("append");
        heads.push(committed.head.map(|h| h.sequence));
    }
    // The first record is anchored at once (no checkpoint yet), then every third.
    assert_eq!(heads, [Some(1), Some(1), Some(1), Some(4), Some(4)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let head = ledger.signed_head().await.expect("head").expect("some");
        if head.sequence == 5 {
            let (claims, kid) =
                ledger::checkpoint::verify(&head.token, keys.jwks()).expect("verifies");
            assert_eq!(
                (claims.seq, kid.as_str()),
                (5, keys.signer().expect("key").kid())
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the tail was not anchored by the timer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

both_backends!(
    appends_chain_and_read_back,
    concurrent_appends_share_batches,
    an_edited_record_breaks_the_chain,
    a_deleted_record_breaks_the_chain,
    a_deletion_hidden_by_renumbering_breaks_the_chain,
    the_store_refuses_updates_and_deletes,
    format_1_records_still_verify_next_to_format_2,
    the_store_refuses_sequences_at_or_below_zero,
    checkpoints_every_n_records_and_on_the_timer,
);

/// Two PostgreSQL ledgers on one schema stand for two service instances: their appends
/// interleave into one unbroken chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_share_one_chain() {
    let Some(backend) = Backend::postgres("postgres_instances_share_one_chain").await else {
        return;
    };
    let a = backend.open().await;
    let b = backend.open().await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let ledger = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            ledger.append(entry(&format!("m-{i}"), "s")).await
        }));
    }
    for task in tasks {
        assert!(matches!(
            task.await.expect("task").expect("append"),
            Appended::New(_)
        ));
    }
    assert!(matches!(
        a.verify().await.expect("verify"),
        ChainStatus::Intact { records: 200, .. }
    ));
    backend.cleanup().await;
}

/// The HTTP API end to end on PostgreSQL: record, retry, conflict, history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serves_the_api() {
    let Some(url) = common::postgres_url("postgres_serves_the_api") else {
        return;
    };
    let (schema_url, schema) = common::postgres_schema(&url).await;
    let server = common::TestServer::start_in(
        tempfile::tempdir().expect("tempdir"),
        schema_url.clone(),
        &[],
    )
    .await;
    let subject = common::new_id();
    let body = common::consent_body(&common::new_id(), &subject);
    let (status, first) = server.post_consent(&body).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = server.post_consent(&body).await;
    assert_eq!((status, &again), (200, &first));
    let mut other = body.clone();
    other["gpc"] = serde_json::json!(true);
    assert_eq!(server.post_consent(&other).await.0, 409);
    let history: serde_json::Value = server
        .client
        .get(server.url(&format!("/v1/subjects/{subject}/consents")))
        .bearer_auth(first["token"].as_str().expect("token"))
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(history["records"].as_array().expect("records").len(), 1);
    let health: serde_json::Value = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["ledger"], "postgres");
    drop(server.stop().await);
    common::drop_postgres_schema(&schema_url, &schema).await;
}

/// SQLite commits with the WAL fsynced: the writer's connection reports WAL and FULL (2).
#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync() {
    let backend = Backend::sqlite();
    let ledger = backend.open().await;
    let durability = ledger.durability().await.expect("durability");
    assert_eq!(
        durability,
        [
            ("journal_mode", "wal".to_owned()),
            ("synchronous", "2".to_owned())
        ]
    );
    let conn = rusqlite::Connection::open(backend.database()).expect("open file");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal", "WAL mode is a property of the file");
}

/// The ledger's connections commit with `synchronous_commit=on`, and run with the
/// service's lock, statement and idle-in-transaction timeouts, even when the connection's
/// own defaults say `off` and no timeout (here through the URL's startup options, which is
/// what a database or role default amounts to for a session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commits_synchronously_whatever_the_default() {
    use sqlx::Connection;
    let Some(url) = common::postgres_url("postgres_commits_synchronously_whatever_the_default")
    else {
        return;
    };
    let (schema_url, schema) = common::postgres_schema(&url).await;
    let lax_url = format!(
        "{schema_url}%20-c%20synchronous_commit%3Doff%20-c%20lock_timeout%3D0%20-c%20statement_timeout%3D0\
         %20-c%20idle_in_transaction_session_timeout%3D0"
    );
    let mut plain = sqlx::PgConnection::connect(&lax_url)
        .await
        .expect("connect");
    let default: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&mut plain)
        .await
        .expect("show");
    assert_eq!(
        default, "off",
        "the test's own connection has the lax default"
    );
    let lock: String = sqlx::query_scalar("SHOW lock_timeout")
        .fetch_one(&mut plain)
        .await
        .expect("show");
    assert_eq!(lock, "0", "and waits for locks forever");
    drop(plain);

    let ledger = ledger::open(&lax_url, 16).await.expect("ledger opens");
    for _ in 0..3 {
        // Several pool connections: every one of them is forced.
        assert_eq!(
            ledger.durability().await.expect("durability"),
            [
                ("synchronous_commit", "on".to_owned()),
                ("lock_timeout", "5s".to_owned()),
                ("statement_timeout", "10s".to_owned()),
                ("idle_in_transaction_session_timeout", "10s".to_owned()),
            ]
        );
    }
    assert!(matches!(
        ledger.append(entry("sync-1", "s")).await.expect("append"),
        Appended::New(_)
    ));
    drop(ledger);
    common::drop_postgres_schema(&schema_url, &schema).await;
}
