//! A ledger written before issue 15 (schema 1, records of format 1, no checkpoints) opened by
//! this version: migration 2 is applied to it, the service anchors the head it finds, the old
//! records keep verifying next to the new ones of format 2, and they keep their personal data
//! through a purge (their hash covers it). SQLite and PostgreSQL.

mod common;

use common::{consent_body, new_id, run, Backend, TestServer};
use sha2::{Digest, Sha256};
use vivus_consent_core::policy;
use vivus_consent_core::token::Claims;
use vivus_consent_server::keys::KeyRing;
use vivus_consent_server::ledger::{self, Entry, Personal, Record, RecordKind};

const SQLITE_0001: &str = include_str!("../migrations/sqlite/0001_ledger.sql");
const POSTGRES_0001: &str = include_str!("../migrations/postgres/0001_ledger.sql");

/// Three format 1 records as the previous version wrote them, signed by `keys`, recorded
/// in 2020.
fn old_records(keys: &KeyRing, subject: &str) -> Vec<Record> {
    let mut prev = ledger::GENESIS_HASH;
    (1..=3)
        .map(|sequence| {
            let id = new_id();
            let recorded_at = 1_591_012_800_000 + sequence * 1000;
            let iat = u64::try_from(recorded_at / 1000).expect("time");
            let claims: Claims = serde_json::from_value(serde_json::json!({
                "iss": "vivus-consent", "sub": subject, "jti": id, "iat": iat, "exp": iat + 86_400,
                "pv": policy::CURRENT.id, "pd": policy::CURRENT.digest, "lang": "ru",
                "cat": ["necessary", "analytics"], "pa": true,
            }))
            .expect("claims");
            let entry = Entry {
                consent_id: id,
                subject_id: subject.to_owned(),
                kind: RecordKind::Consent,
                withdraws: None,
                recorded_at,
                policy_version: policy::CURRENT.id.to_owned(),
                policy_digest: policy::CURRENT.digest.to_owned(),
                language: "ru".to_owned(),
                categories: "necessary,analytics".to_owned(),
                policy_accepted: true,
                source: "banner".to_owned(),
                gpc: false,
                user_agent: "Mozilla/5.0 (old)".to_owned(),
                client_network: "198.51.100.0/24".to_owned(),
                personal: Personal::Clear,
                request_hash: [2; 32],
                token: keys.signer().expect("key").sign(&claims),
            };
            let record = Record::chain(entry, sequence, prev);
            prev = record.hash;
            record
        })
        .collect()
}

/// Writes schema 1 and `records` the way the previous version did.
async fn write_schema_1(backend: &Backend, records: &[Record]) {
    let values: Vec<String> = records
        .iter()
        .map(|r| {
            let e = &r.entry;
            format!(
                "({}, '{}', '{}', 'consent', NULL, {}, '{}', '{}', '{}', '{}', {}, '{}', {}, '{}', '{}', {}, '{}', {}, {})",
                r.sequence,
                e.consent_id,
                e.subject_id,
                e.recorded_at,
                e.policy_version,
                e.policy_digest,
                e.language,
                e.categories,
                if matches!(backend, Backend::Sqlite { .. }) { "1" } else { "true" },
                e.source,
                if matches!(backend, Backend::Sqlite { .. }) { "0" } else { "false" },
                e.user_agent,
                e.client_network,
                backend.blob(&e.request_hash),
                e.token,
                backend.blob(&r.prev_hash),
                backend.blob(&r.hash),
            )
        })
        .collect();
    let (sql, migrations) = match backend {
        Backend::Sqlite { .. } => (
            SQLITE_0001,
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum BLOB NOT NULL, applied_at INTEGER NOT NULL)",
        ),
        Backend::Postgres { .. } => (
            POSTGRES_0001,
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum BYTEA NOT NULL, applied_at BIGINT NOT NULL)",
        ),
    };
    let checksum = backend.blob(&Sha256::digest(sql.as_bytes()));
    backend
        .try_sql(&format!(
            "{migrations}; INSERT INTO schema_migrations VALUES (1, 'ledger', {checksum}, 0); {sql}\n; INSERT INTO ledger VALUES {};",
            values.join(", ")
        ))
        .await
        .expect("schema 1 written");
}

async fn a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies(
    backend: &Backend,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = KeyRing::load_or_generate(&dir.path().join("keys"), 1).expect("keys");
    let subject = new_id();
    let old = old_records(&keys, &subject);
    write_schema_1(backend, &old).await;
    let keys_arg = dir.path().join("keys").display().to_string();
    let database = backend.database().to_owned();

    // Before this version ever opened it: no checkpoint, the old records are unanchored.
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        &keys_arg,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ledger intact: 3 records") && out.contains("3 in format 1"),
        "{out}"
    );
    assert!(
        out.contains("UNANCHORED") && out.contains("no checkpoint at all"),
        "{out}"
    );

    let server = TestServer::start_in(dir, database.clone(), &[]).await;
    let (status, answer) = server
        .post_consent(&consent_body(&new_id(), &subject))
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["receipt"]["sequence"], 4,
        "the chain continues from the old head"
    );
    let history = server
        .history(&subject, answer["token"].as_str().expect("token"))
        .await;
    assert_eq!(history["records"][0]["userAgent"], "Mozilla/5.0 (old)");
    assert_eq!(history["records"][0]["clientNetwork"], "198.51.100.0/24");
    let (dir, _) = server.stop().await;

    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        &keys_arg,
        "--unanchored-grace-secs",
        "0",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ledger intact: 4 records")
            && out.contains("3 in format 1")
            && out.contains("1 in format 2"),
        "{out}"
    );
    assert!(
        out.contains("records 1 to 4 match a head the service signed"),
        "{out}"
    );

    let (code, out) = run(&[
        "ledger",
        "purge",
        "--database",
        &database,
        "--before",
        "2021-01-01",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("of 0 records") && out.contains("kept those of 3 older records in format 1"),
        "{out}"
    );
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        &keys_arg,
    ]);
    assert_eq!(code, 0, "{out}");
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies() {
    a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies(&Backend::sqlite())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies() {
    let Some(backend) = Backend::postgres(
        "postgres_a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies",
    )
    .await
    else {
        return;
    };
    a_ledger_of_the_previous_version_is_migrated_anchored_and_still_verifies(&backend).await;
    backend.cleanup().await;
}
