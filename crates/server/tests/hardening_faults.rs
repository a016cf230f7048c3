//! Storage faults (issue 8, "At the service"): a full disk under a running service, and a
//! read-only database. The ledger lives on a small tmpfs mounted for the test, so the
//! disk really fills (ENOSPC) and the mount really is read-only (EROFS); that needs root
//! (CAP_SYS_ADMIN), and the tests print "skipped" without it. Linux refuses to remount a
//! file system read-only while a file on it is open for writing (EBUSY), so the
//! read-only case is the start on a read-only mount; a write failure while running is
//! the full-disk case (same path: not committed, 503, recovered on retry). SIGKILL under load is
//! `scripts/crash-test.sh`; key rotation is `api.rs`
//! (`rotation_publishes_both_keys_and_old_tokens_still_verify`).

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::{consent_body, new_id, TestServer};
use serde_json::Value;
use vivus_consent_server::ledger::ChainStatus;

const BIN: &str = env!("CARGO_BIN_EXE_vivus-consent-server");

/// Everything the service logs in this test binary, to look for its log lines.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt().with_writer(|| LogWriter).with_ansi(false).try_init();
    });
}

fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// A tmpfs mounted at `path` for the test, lazily unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, options: &str) -> Option<Self> {
        std::fs::create_dir_all(path).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            Some(Self { path: path.to_owned() })
        } else {
            let _ = writeln!(std::io::stderr(), "skipped: cannot mount a tmpfs (needs root); the storage-fault tests did not run");
            None
        }
    }

    fn bind_read_only(source: &Path, target: &Path) -> Option<Self> {
        std::fs::create_dir_all(target).expect("mount point");
        let bind = Command::new("mount").arg("--bind").arg(source).arg(target).status().is_ok_and(|s| s.success());
        if !bind {
            return None;
        }
        let mounted = Self { path: target.to_owned() };
        let ro = Command::new("mount").args(["-o", "remount,ro,bind"]).arg(target).status().is_ok_and(|s| s.success());
        ro.then_some(mounted)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

async fn records(server: &TestServer) -> u64 {
    match server.state.ledger.verify().await.expect("verify") {
        ChainStatus::Intact { records, .. } => records,
        broken => panic!("the ledger is broken: {broken:?}"),
    }
}

fn ledger_verify(database: &str) -> (i32, String) {
    let out = Command::new(BIN).args(["ledger", "verify", "--database", database]).output().expect("run ledger verify");
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).expect("filler");
    let block = vec![0_u8; 16 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

#[tokio::test]
async fn a_full_disk_gives_503_and_recovers_when_space_returns() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), "size=4m") else { return };
    let database = disk.path.join("ledger.sqlite3").display().to_string();
    let server = TestServer::start_in(dir, database.clone(), &[]).await;
    let subject = new_id();
    for _ in 0..3 {
        server.consent(&subject).await;
    }

    let filler = disk.path.join("filler");
    fill(&filler);
    // The WAL's last page may still hold a frame or two; post until the disk refuses.
    let mut acknowledged = 3;
    let mut refused = None;
    for _ in 0..20 {
        let body = consent_body(&new_id(), &subject);
        let response = server.post_json("/v1/consents", &body).await;
        match response.status().as_u16() {
            201 => acknowledged += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "5");
                let answer: Value = response.json().await.expect("json");
                assert_eq!(answer["code"], "unavailable", "{answer}");
                assert!(answer["message"].as_str().is_some_and(|m| !m.contains("sqlite")), "no storage detail leaks: {answer}");
                refused = Some(body);
                break;
            }
            other => panic!("a full disk answered {other}"),
        }
    }
    let refused = refused.expect("the full disk refused an append within 20 tries");
    let log = logs();
    assert!(
        log.contains("sqlite ledger batch not committed") && log.contains("database or disk is full"),
        "the log names the cause: {log}"
    );
    // Reads still work while writes fail.
    let health = server.client.get(server.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    std::fs::remove_file(&filler).expect("free the space");
    let (status, answer) = server.post_consent(&refused).await;
    assert_eq!(status, 201, "the refused consent is recorded on retry, once: {answer}");
    acknowledged += 1;
    assert_eq!(records(&server).await, acknowledged);

    let (_dir, database) = server.stop().await;
    let (code, out) = ledger_verify(&database);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("ledger intact: {acknowledged} records")), "{out}");
    drop(disk);
}

#[tokio::test]
async fn a_read_only_database_stops_the_start_with_its_cause_and_recovers() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), "size=16m") else { return };
    let database = disk.path.join("ledger.sqlite3").display().to_string();
    let keys = dir.path().join("keys").display().to_string();
    let server = TestServer::start_in(dir, database.clone(), &[]).await;
    let subject = new_id();
    for _ in 0..2 {
        server.consent(&subject).await;
    }
    let (dir, database) = server.stop().await;

    // The same files seen through a read-only mount: the service refuses to start and
    // says why (an append could never be acknowledged).
    let read_only = dir.path().join("ro");
    let Some(ro) = Tmpfs::bind_read_only(&disk.path, &read_only) else {
        let _ = writeln!(std::io::stderr(), "skipped: cannot make a read-only bind mount");
        return;
    };
    let ro_db = read_only.join("ledger.sqlite3").display().to_string();
    let out = Command::new(BIN)
        .args(["--database", &ro_db, "--key-dir", &keys, "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run the service");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not writable") && text.contains("Read-only file system"), "the message names the cause: {text}");
    drop(ro);

    // Writable again: it starts, appends, and the chain is whole.
    let server = TestServer::start_in(dir, database, &[]).await;
    let (status, _) = server.post_consent(&consent_body(&new_id(), &subject)).await;
    assert_eq!(status, 201);
    assert_eq!(records(&server).await, 3);
    let (_dir, database) = server.stop().await;
    let (code, out) = ledger_verify(&database);
    assert_eq!(code, 0, "{out}");
    drop(disk);
}
