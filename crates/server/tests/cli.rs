//! The binary: `ledger verify`, and refusing to start on bad flags, keys or databases.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_vivus-consent-server");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).env_remove("RUST_LOG").output().expect("run the binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn ledger_verify_reports_the_first_broken_record() {
    let server = common::TestServer::start(&[]).await;
    for _ in 0..4 {
        server.consent(&common::new_id()).await;
    }
    let (_dir, database) = {
        let (dir, database) = server.stop().await;
        (dir, database)
    };
    let (code, out) = run(&["ledger", "verify", "--database", &database]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger intact: 4 records"), "{out}");

    let conn = rusqlite::Connection::open(&database).expect("open");
    conn.execute_batch("DROP TRIGGER ledger_no_update; UPDATE ledger SET gpc = 1 WHERE sequence = 2")
        .expect("edit");
    drop(conn);
    let (code, out) = run(&["ledger", "verify", "--database", &database]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at record 2") && out.contains("edited"), "{out}");

    let (code, out) = run(&["ledger", "verify", "--database", "/nonexistent/ledger.sqlite3"]);
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
    let (code, out) = run(&["--database", &db, "--key-dir", &keys_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&key.display().to_string()) && out.contains("chmod 600"), "{out}");

    std::fs::remove_file(&key).expect("rm");
    // A directory where the database file should be.
    let (code, out) = run(&["--database", &keys_arg, "--key-dir", &keys_arg, "--listen", "127.0.0.1:0"]);
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
    let (code, out) = run(&["--database", &newer_arg, "--key-dir", &keys_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot migrate") && out.contains("newer"), "{out}");

    let (code, out) = run(&["--database", "postgres://nobody:secret@127.0.0.1:1/none", "--key-dir", &keys_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot open the ledger database") && !out.contains("secret"), "{out}");
}
