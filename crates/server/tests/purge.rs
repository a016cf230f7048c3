//! `ledger purge --before DATE`: the user agent and client network of the records before
//! the date are deleted with their salt, and the ledger still verifies (format 2 commits
//! to salted hashes of them); format 1 records keep theirs. SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use common::{new_id, run, Backend};
use vivus_consent_core::policy;
use vivus_consent_core::token::Claims;
use vivus_consent_server::keys::KeyRing;
use vivus_consent_server::ledger::{self, Entry, Personal, RecordKind};

/// 1 June 2020, 12:00 UTC: long past any retention period.
const OLD_MS: i64 = 1_591_012_800_000;

/// A record as the service writes it, signed by `keys`, recorded at `recorded_at`.
fn signed_entry(
    keys: &KeyRing,
    subject: &str,
    recorded_at: i64,
    user_agent: &str,
    format: u8,
) -> Entry {
    let id = new_id();
    let iat = u64::try_from(recorded_at / 1000).expect("time");
    let claims: Claims = serde_json::from_value(serde_json::json!({
        "iss": "vivus-consent", "sub": subject, "jti": id, "iat": iat, "exp": iat + 86_400,
        "pv": policy::CURRENT.id, "pd": policy::CURRENT.digest, "lang": "kk",
        "cat": ["necessary", "analytics"], "pa": true,
    }))
    .expect("claims");
    let network = "203.0.113.0/24";
    Entry {
        consent_id: id,
        subject_id: subject.to_owned(),
        kind: RecordKind::Consent,
        withdraws: None,
        recorded_at,
        policy_version: policy::CURRENT.id.to_owned(),
        policy_digest: policy::CURRENT.digest.to_owned(),
        language: "kk".to_owned(),
        categories: "necessary,analytics".to_owned(),
        policy_accepted: true,
        source: "banner".to_owned(),
        gpc: false,
        user_agent: user_agent.to_owned(),
        client_network: network.to_owned(),
        personal: if format == 1 {
            Personal::Clear
        } else {
            Personal::seal(user_agent, network).expect("salt")
        },
        request_hash: [1; 32],
        token: keys.signer().expect("a key").sign(&claims),
    }
}

async fn purge_blanks_old_personal_data_and_the_ledger_still_verifies(backend: &Backend) {
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = Arc::new(KeyRing::load_or_generate(keys_dir.path(), 1).expect("keys"));
    let options = ledger::Options {
        checkpoints: Some(Arc::new(ledger::Checkpointer::new(
            keys.clone(),
            "vivus-consent".to_owned(),
            1,
            std::time::Duration::from_secs(10),
        ))),
        ..ledger::Options::default()
    };
    let ledger = ledger::open_with(backend.database(), &options)
        .await
        .expect("opens");
    let subject = new_id();
    // Unique user agents, to look for them in the file afterwards.
    let old_v1 = format!("OldBrowserV1/{}", new_id());
    let old_v2 = format!("OldBrowserV2/{}", new_id());
    let new_v2 = format!("NewBrowserV2/{}", new_id());
    let now = vivus_consent_server::now_ms();
    for (at, ua, format) in [
        (OLD_MS, &old_v1, 1),
        (OLD_MS, &old_v1, 1),
        (OLD_MS, &old_v2, 2),
        (OLD_MS, &old_v2, 2),
        (OLD_MS, &old_v2, 2),
        (now, &new_v2, 2),
    ] {
        ledger
            .append(signed_entry(&keys, &subject, at, ua, format))
            .await
            .expect("append");
    }
    drop(ledger);
    let keys_arg = keys_dir.path().display().to_string();
    let database = backend.database();

    let (code, out) = run(&[
        "ledger",
        "purge",
        "--database",
        database,
        "--before",
        "2999-01-01",
    ]);
    assert_eq!(
        code, 2,
        "a date in the future is refused by the flag's parser: {out}"
    );
    assert!(out.contains("in the future"), "{out}");
    let (code, out) = run(&[
        "ledger",
        "purge",
        "--database",
        database,
        "--before",
        "2021-01-01",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("of 3 records recorded before 2021-01-01"),
        "{out}"
    );
    assert!(
        out.contains("kept those of 2 older records in format 1"),
        "{out}"
    );

    let ledger = backend.open().await;
    let records = ledger.history(&subject, 10).await.expect("history");
    let seen: Vec<(&str, bool)> = records
        .iter()
        .map(|r| (r.entry.user_agent.as_str(), r.entry.personal.is_purged()))
        .collect();
    assert_eq!(
        seen,
        [
            (old_v1.as_str(), false),
            (old_v1.as_str(), false),
            ("", true),
            ("", true),
            ("", true),
            (new_v2.as_str(), false)
        ]
    );
    assert!(records[2].entry.client_network.is_empty());
    assert_eq!(records[5].entry.client_network, "203.0.113.0/24");
    drop(ledger);

    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        database,
        "--key-dir",
        &keys_arg,
    ]);
    assert_eq!(code, 0, "a purge breaks nothing: {out}");
    assert!(
        out.contains("ledger intact: 6 records")
            && out.contains("2 in format 1")
            && out.contains("4 in format 2 (3 of them purged)"),
        "{out}"
    );
    let (code, out) = run(&[
        "ledger",
        "purge",
        "--database",
        database,
        "--before",
        "2021-01-01",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("of 0 records"),
        "a second purge finds nothing left: {out}"
    );

    if let Backend::Sqlite { path, .. } = backend {
        // The values are gone from the file and its WAL, not only from the table.
        let mut bytes = std::fs::read(path).expect("read the file");
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            !contains(&old_v2),
            "the purged user agent is still in the file"
        );
        assert!(
            contains(&new_v2) && contains(&old_v1),
            "the kept ones are there (the search works)"
        );
    }

    // An edited clear value of a record that was not purged is caught.
    backend
        .tamper("UPDATE ledger_personal SET user_agent = 'edited' WHERE sequence = 6")
        .await;
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        database,
        "--key-dir",
        &keys_arg,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 6") && out.contains("salted hash"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_purge_blanks_old_personal_data_and_the_ledger_still_verifies() {
    purge_blanks_old_personal_data_and_the_ledger_still_verifies(&Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_purge_blanks_old_personal_data_and_the_ledger_still_verifies() {
    let Some(backend) =
        Backend::postgres("postgres_purge_blanks_old_personal_data_and_the_ledger_still_verifies")
            .await
    else {
        return;
    };
    purge_blanks_old_personal_data_and_the_ledger_still_verifies(&backend).await;
    backend.cleanup().await;
}
