//! The binary: `ledger verify`, and refusing to start on bad flags, keys or databases.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::run;

#[tokio::test]
async fn ledger_verify_reports_the_first_broken_record() {
    let server = common::TestServer::start(&[]).await;
    for _ in 0..4 {
        server.consent(&common::new_id()).await;
    }
    let (dir, database) = server.stop().await;
    let keys = dir.path().join("keys").display().to_string();
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger intact: 4 records"), "{out}");
    assert!(
        out.contains("every token verifies")
            && out.contains("records 1 to 4 match a head the service signed"),
        "{out}"
    );

    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        "/nonexistent/keys",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("/nonexistent/keys"),
        "without keys there is nothing to verify tokens against: {out}"
    );

    let conn = rusqlite::Connection::open(&database).expect("open");
    conn.execute_batch(
        "DROP TRIGGER ledger_no_update; UPDATE ledger SET gpc = 1 WHERE sequence = 2",
    )
    .expect("edit");
    drop(conn);
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 2") && out.contains("edited"),
        "{out}"
    );

    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        "/nonexistent/ledger.sqlite3",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("no ledger file"), "{out}");
}

#[test]
fn bad_flags_unreadable_keys_and_unopenable_databases_stop_the_start() {
    let (code, out) = run(&["--listen", "not-an-address"]);
    assert_ne!(code, 0);
    assert!(out.contains("--listen"), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).expect("keys dir");
    let key = keys.join("1700000000-abc.key");
    std::fs::write(&key, "11".repeat(32)).expect("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let db = dir.path().join("l.sqlite3").display().to_string();
    let keys_arg = keys.display().to_string();
    let (code, out) = run(&[
        "--database",
        &db,
        "--key-dir",
        &keys_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&key.display().to_string()) && out.contains("chmod 600"),
        "{out}"
    );

    std::fs::remove_file(&key).expect("rm");
    // A directory where the database file should be.
    let (code, out) = run(&[
        "--database",
        &keys_arg,
        "--key-dir",
        &keys_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot open the ledger database"), "{out}");

    // A ledger migrated by a newer build.
    let newer = dir.path().join("newer.sqlite3");
    let conn = rusqlite::Connection::open(&newer).expect("create");
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum BLOB NOT NULL, applied_at INTEGER NOT NULL);
         INSERT INTO schema_migrations VALUES (99, 'future', x'00', 0);",
    )
    .expect("future schema");
    drop(conn);
    let newer_arg = newer.display().to_string();
    let (code, out) = run(&[
        "--database",
        &newer_arg,
        "--key-dir",
        &keys_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("cannot migrate") && out.contains("newer"),
        "{out}"
    );

    let (code, out) = run(&[
        "--database",
        "postgres://nobody:secret@127.0.0.1:1/none",
        "--key-dir",
        &keys_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("cannot open the ledger database") && !out.contains("secret"),
        "{out}"
    );
}

fn head_of(out: &str) -> String {
    out.split("head ")
        .nth(1)
        .and_then(|h| h.split_whitespace().next())
        .expect("a head hash in the output")
        .to_owned()
}

/// Deleting the newest records: the checkpoints in the database that cover them catch it;
/// deleting those too leaves an intact chain, and `--expect-head` with a head noted
/// earlier, `--min-records` with a count noted earlier and `--checkpoint` with a receipt
/// kept earlier catch it.
#[tokio::test]
async fn ledger_verify_detects_a_cut_off_tail_against_a_noted_head() {
    let server = common::TestServer::start(&[]).await;
    let mut receipts = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..4 {
        let body = common::consent_body(&common::new_id(), &common::new_id());
        let (status, answer) = server.post_consent(&body).await;
        assert_eq!(status, 201);
        receipts.push(
            answer["receipt"]["recordHash"]
                .as_str()
                .expect("hash")
                .to_owned(),
        );
        answers.push(answer);
    }
    let (dir, database) = server.stop().await;
    let keys = dir.path().join("keys").display().to_string();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--key-dir", keys.as_str()]);
        run(&all)
    };
    let kept = dir.path().join("receipt-4.json");
    std::fs::write(&kept, answers[3].to_string()).expect("keep the answer");
    let kept = kept.display().to_string();
    let (code, out) = run(&["ledger", "verify", "--database", &database]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger intact: 4 records"), "{out}");
    let head = head_of(&out);
    assert_eq!(
        head, receipts[3],
        "the printed head is the newest record's hash"
    );
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--expect-head",
        &head,
        "--min-records",
        "4",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is record 4"), "{out}");

    let conn = rusqlite::Connection::open(&database).expect("open");
    conn.execute_batch("DROP TRIGGER ledger_no_delete; DELETE FROM ledger WHERE sequence > 2")
        .expect("cut the tail");
    drop(conn);
    let (code, out) = run(&["ledger", "verify", "--database", &database]);
    assert_eq!(
        code, 1,
        "the checkpoints in the database still name record 4: {out}"
    );
    assert!(
        out.contains("TRUNCATED")
            && out.contains("covers record 4, but the ledger ends at record 2"),
        "{out}"
    );

    // Whoever cut the tail deletes its checkpoints too.
    let conn = rusqlite::Connection::open(&database).expect("open");
    conn.execute_batch(
        "DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE sequence > 2",
    )
    .expect("cut the checkpoints");
    drop(conn);
    let (code, out) = run(&["ledger", "verify", "--database", &database]);
    assert_eq!(
        code, 0,
        "without a noted head the database alone looks whole: {out}"
    );
    assert!(out.contains("ledger intact: 2 records"), "{out}");
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--checkpoint",
        &kept,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TRUNCATED") && out.contains(&kept) && out.contains("covers record 4"),
        "{out}"
    );
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--expect-head",
        &head,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TRUNCATED") && out.contains(&head), "{out}");
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--min-records",
        "4",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TRUNCATED") && out.contains("fewer than --min-records 4"),
        "{out}"
    );
    // An older noted head (a receipt of record 2) is still in the chain.
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--expect-head",
        &receipts[1],
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is record 2"), "{out}");
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &database,
        "--expect-head",
        "abc",
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("64 hex digits"), "{out}");
}

/// `ledger verify` on a database that holds no ledger says so and creates nothing.
#[test]
fn ledger_verify_on_a_file_without_a_ledger_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .expect("create")
        .execute_batch("CREATE TABLE t (x)")
        .expect("table");
    let other_arg = other.display().to_string();
    let keys = dir.path().join("keys");
    vivus_consent_server::keys::KeyRing::load_or_generate(&keys, 1).expect("a key");
    let keys = keys.display().to_string();
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &other_arg,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no ledger table"), "{out}");
    let conn = rusqlite::Connection::open(&other).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert_eq!(tables, ["t"], "nothing was migrated into it");
}

/// The same on PostgreSQL: a database (here a schema) without the ledger is reported,
/// not migrated into an empty ledger that "verifies"; a real one verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_verify_on_postgres_without_a_ledger_creates_nothing() {
    let Some(url) =
        common::postgres_url("ledger_verify_on_postgres_without_a_ledger_creates_nothing")
    else {
        return;
    };
    let (empty_url, empty_schema) = common::postgres_schema(&url).await;
    let no_keys = tempfile::tempdir().expect("tempdir");
    let generated = no_keys.path().join("keys");
    vivus_consent_server::keys::KeyRing::load_or_generate(&generated, 1).expect("a key");
    let generated = generated.display().to_string();
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &empty_url,
        "--key-dir",
        &generated,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no ledger table") && !out.contains("intact"),
        "{out}"
    );
    let mut conn = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&url).await.expect("connect")
    };
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&empty_schema)
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(tables, 0, "nothing was created in {empty_schema}");

    let (full_url, full_schema) = common::postgres_schema(&url).await;
    let server =
        common::TestServer::start_in(tempfile::tempdir().expect("tempdir"), full_url.clone(), &[])
            .await;
    for _ in 0..3 {
        server.consent(&common::new_id()).await;
    }
    let (dir, _) = server.stop().await;
    let keys = dir.path().join("keys").display().to_string();
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &full_url,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger intact: 3 records"), "{out}");
    let head = head_of(&out);
    let (code, out) = run(&[
        "ledger",
        "verify",
        "--database",
        &full_url,
        "--expect-head",
        &head,
        "--min-records",
        "3",
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 0, "{out}");
    common::drop_postgres_schema(&url, &empty_schema).await;
    common::drop_postgres_schema(&url, &full_schema).await;
}
