//! Whoever can write the ledger's database, against `ledger verify` with the service's
//! keys: a record edited and every hash after it recomputed, a row at sequence −1, a
//! token forged or re-signed by another key, a column that no longer matches its token's
//! claim, forged and deleted checkpoints. Each is caught by a checkpoint the service signed
//! (in the database, or kept outside it like a visitor's receipt) or by the tokens' own
//! signatures. SQLite always, PostgreSQL with `VIVUS_TEST_POSTGRES_URL`.

mod common;

use std::process::Command;

use common::{consent_body, new_id, Backend, TestServer, BIN};
use serde_json::Value;
use vivus_consent_core::token::{self, SigningKey};
use vivus_consent_server::ledger::{self, Record};

/// A ledger of five records of one subject written by the service, its key directory, and
/// the answer to the fifth consent (its receipt carries the signed head of record 5).
struct Written {
    server_dir: tempfile::TempDir,
    subject: String,
    fifth: Value,
}

impl Written {
    async fn new(backend: &Backend) -> Self {
        let server = TestServer::start_in(
            tempfile::tempdir().expect("tempdir"),
            backend.database().to_owned(),
            &[],
        )
        .await;
        let subject = new_id();
        let mut answers = Vec::new();
        for _ in 0..5 {
            let (status, answer) = server
                .post_consent(&consent_body(&new_id(), &subject))
                .await;
            assert_eq!(status, 201, "{answer}");
            answers.push(answer);
        }
        let fifth = answers.pop().expect("fifth");
        let (server_dir, _) = server.stop().await;
        Self {
            server_dir,
            subject,
            fifth,
        }
    }

    fn keys(&self) -> String {
        self.server_dir.path().join("keys").display().to_string()
    }

    /// The fifth answer, kept in a file as a visitor or an auditor would keep it.
    fn kept_receipt(&self) -> String {
        let path = self.server_dir.path().join("kept.json");
        std::fs::write(&path, self.fifth.to_string()).expect("keep");
        path.display().to_string()
    }

    fn verify(&self, backend: &Backend, extra: &[&str]) -> (i32, String) {
        let keys = self.keys();
        let mut args = vec![
            "ledger",
            "verify",
            "--database",
            backend.database(),
            "--key-dir",
            keys.as_str(),
        ];
        args.extend(extra);
        let out = Command::new(BIN)
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .expect("run ledger verify");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// The records as the ledger reads them back.
    async fn records(&self, backend: &Backend) -> Vec<Record> {
        let ledger = backend.open().await;
        let records = ledger.history(&self.subject, 100).await.expect("history");
        assert_eq!(records.len(), 5);
        records
    }
}

/// The attacker's tool: writes `records` back after `edit`, with `prev_hash` and `hash`
/// recomputed from the first record on, so the chain alone looks whole.
async fn rewrite(backend: &Backend, mut records: Vec<Record>, edit: impl FnOnce(&mut [Record])) {
    edit(&mut records);
    let mut prev = ledger::GENESIS_HASH;
    let mut sql = String::new();
    for r in &mut records {
        r.prev_hash = prev;
        r.hash = ledger::record_hash(&prev, r.sequence, &r.entry);
        prev = r.hash;
        let e = &r.entry;
        sql.push_str(&format!(
            "UPDATE ledger SET source = '{}', categories = '{}', token = '{}', prev_hash = {}, hash = {} WHERE sequence = {};\n",
            e.source,
            e.categories,
            e.token,
            backend.blob(&r.prev_hash),
            backend.blob(&r.hash),
            r.sequence
        ));
    }
    backend.tamper(&sql).await;
}

async fn an_intact_ledger_verifies_with_every_token_and_checkpoint(backend: &Backend) {
    let w = Written::new(backend).await;
    let kept = w.kept_receipt();
    let (code, out) = w.verify(backend, &["--checkpoint", &kept]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger intact: 5 records"), "{out}");
    assert!(
        out.contains("every token verifies against the key set (1 key) and matches its record"),
        "{out}"
    );
    assert!(
        out.contains("records 1 to 5 match a head the service signed"),
        "{out}"
    );
    assert!(
        !out.contains("unanchored"),
        "a checkpoint per batch leaves none: {out}"
    );

    // A third party with the published key set only, and kept heads in each accepted form.
    let keys =
        vivus_consent_server::keys::KeyRing::load(std::path::Path::new(&w.keys())).expect("keys");
    let jwks = w.server_dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::to_string(keys.jwks()).expect("json"))
        .expect("save the key set");
    let jws = w.server_dir.path().join("head.jws");
    std::fs::write(
        &jws,
        w.fifth["receipt"]["signedHead"].as_str().expect("head"),
    )
    .expect("save the JWS");
    let (jwks, jws) = (jwks.display().to_string(), jws.display().to_string());
    let out = Command::new(BIN)
        .args([
            "ledger",
            "verify",
            "--database",
            backend.database(),
            "--key-dir",
            "/nonexistent",
        ])
        .args(["--jwks", &jwks, "--checkpoint", &jws, "--checkpoint", &kept])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("records 1 to 5 match"),
        "{text}"
    );
    // A kept head that is not one the service signed is refused, not ignored.
    let forged = w.server_dir.path().join("forged.jws");
    std::fs::write(
        &forged,
        SigningKey::from_seed([0x55; 32]).sign_typed("ledger-head+jwt", b"{}"),
    )
    .expect("write");
    let (code, out) = w.verify(backend, &["--checkpoint", &forged.display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REFUSED") && out.contains("not a head signed by one of these keys"),
        "{out}"
    );
}

/// A record edited where no token claim covers it (its `source`), every hash after it
/// recomputed: the checkpoints the service signed name the old hashes.
async fn an_edited_and_rehashed_ledger_fails_against_a_signed_checkpoint(backend: &Backend) {
    let w = Written::new(backend).await;
    let kept = w.kept_receipt();
    let records = w.records(backend).await;
    rewrite(backend, records, |r| r[1].entry.source = "form".to_owned()).await;

    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 2")
            && out.contains("the history was rewritten after it was signed"),
        "{out}"
    );

    // The attacker deletes the checkpoints that name the old hashes (they cannot sign
    // new ones). The database alone now anchors record 1 only; a head kept outside it
    // still catches the rewrite, and so does an old unanchored tail.
    backend
        .tamper("DELETE FROM checkpoints WHERE sequence >= 2")
        .await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(
        code, 0,
        "within the grace period the database alone cannot tell: {out}"
    );
    assert!(
        out.contains("records 1 to 1 match")
            && out.contains("unanchored: 4 records after record 1"),
        "{out}"
    );
    let (code, out) = w.verify(backend, &["--unanchored-grace-secs", "0"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("UNANCHORED: 4 records after record 1"),
        "{out}"
    );
    let (code, out) = w.verify(backend, &["--checkpoint", &kept]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 5") && out.contains(&kept) && out.contains("rewritten"),
        "{out}"
    );
}

/// A row inserted at sequence −1 (around the CHECK): `history` never serves it, and
/// `ledger verify` refuses it.
async fn a_row_at_sequence_minus_one_fails_verification(backend: &Backend) {
    let w = Written::new(backend).await;
    let refused = backend
        .try_sql("INSERT INTO ledger SELECT -1, 'x', subject_id, kind, withdraws, recorded_at, policy_version, policy_digest, language, categories, policy_accepted, source, gpc, user_agent, client_network, request_hash, token, prev_hash, hash, format, user_agent_hash, client_network_hash FROM ledger WHERE sequence = 1")
        .await
        .expect_err("the store refuses a sequence below 1");
    assert!(refused.contains("sequence"), "{refused}");
    backend
        .tamper("INSERT INTO ledger SELECT -1, 'forged', subject_id, kind, withdraws, recorded_at, policy_version, policy_digest, language, 'necessary,analytics,marketing', policy_accepted, source, gpc, user_agent, client_network, request_hash, token, prev_hash, hash, format, user_agent_hash, client_network_hash FROM ledger WHERE sequence = 1")
        .await;
    let ledger = backend.open().await;
    assert_eq!(
        ledger
            .history(&w.subject, 100)
            .await
            .expect("history")
            .len(),
        5,
        "the row is not served"
    );
    assert!(ledger.find("forged").await.expect("find").is_none());
    drop(ledger);
    let kept = w.kept_receipt();
    let (code, out) = w.verify(backend, &["--checkpoint", &kept]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record -1") && out.contains("not positive"),
        "{out}"
    );
}

/// A token the service never signed, put in a row with the hashes recomputed: one signed
/// by another key under that key's kid, and one under the service's kid with a broken
/// signature.
async fn a_forged_token_in_a_row_fails_verification(backend: &Backend) {
    let w = Written::new(backend).await;
    let records = w.records(backend).await;
    let claims = token::peek_claims(&records[2].entry.token).expect("claims");
    let forged = SigningKey::from_seed([0x33; 32]).sign(&claims);
    rewrite(backend, records.clone(), |r| r[2].entry.token = forged).await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 3") && out.contains("unknown_key"),
        "{out}"
    );

    let mut bad_signature = records[2].entry.token.clone().into_bytes();
    let last = bad_signature.len() - 2;
    bad_signature[last] = if bad_signature[last] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let bad_signature = String::from_utf8(bad_signature).expect("ascii");
    rewrite(backend, records, |r| r[2].entry.token = bad_signature).await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 3") && out.contains("bad_signature"),
        "{out}"
    );
}

/// A column edited to grant more than its token says (marketing), hashes recomputed.
async fn a_column_that_differs_from_its_token_fails_verification(backend: &Backend) {
    let w = Written::new(backend).await;
    let records = w.records(backend).await;
    rewrite(backend, records, |r| {
        r[3].entry.categories = "necessary,analytics,marketing".to_owned()
    })
    .await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 4") && out.contains("cat claim does not match the record"),
        "{out}"
    );
}

/// A checkpoint the attacker signs with their own key, or copies with another head.
async fn a_forged_checkpoint_fails_verification(backend: &Backend) {
    let w = Written::new(backend).await;
    let theirs = SigningKey::from_seed([0x44; 32]);
    let payload =
        serde_json::json!({"iss": "vivus-consent", "seq": 5, "head": "00".repeat(32), "iat": 1})
            .to_string();
    let forged = theirs.sign_typed("ledger-head+jwt", payload.as_bytes());
    backend
        .tamper(&format!(
            "DELETE FROM checkpoints WHERE sequence = 5; INSERT INTO checkpoints (sequence, hash, signed_at, kid, token) VALUES (5, {}, 1, '{}', '{forged}');",
            backend.blob(&[0; 32]),
            theirs.kid()
        ))
        .await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 5") && out.contains("checkpoint does not verify"),
        "{out}"
    );

    // Whoever dropped the table entirely is seen too.
    backend.tamper("DROP TABLE checkpoints").await;
    let (code, out) = w.verify(backend, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the checkpoints table was dropped"), "{out}");
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

both_backends!(
    an_intact_ledger_verifies_with_every_token_and_checkpoint,
    an_edited_and_rehashed_ledger_fails_against_a_signed_checkpoint,
    a_row_at_sequence_minus_one_fails_verification,
    a_forged_token_in_a_row_fails_verification,
    a_column_that_differs_from_its_token_fails_verification,
    a_forged_checkpoint_fails_verification,
);
