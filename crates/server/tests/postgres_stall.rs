//! Several instances share one PostgreSQL ledger and serialize their batches with an
//! advisory lock. One instance frozen (SIGSTOP) while it holds that lock must not stop the
//! others for ever: their batches give up after `lock_timeout` and answer 503 with
//! `Retry-After` (nothing recorded), and PostgreSQL terminates the frozen session after
//! `idle_in_transaction_session_timeout`, which releases the lock so the others append
//! again. Before the fix the service set none of these and the others waited for ever.
//! Needs `VIVUS_TEST_POSTGRES_URL`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{consent_body, new_id, TestServer, BIN};

const LOCK_TIMEOUT_MS: u64 = 500;
const IDLE_TIMEOUT_MS: u64 = 3000;

/// A service instance in its own process, so it can be frozen.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(database: &str, key_dir: &str) -> Self {
        let mut child = Command::new(BIN)
            .args([
                "--database",
                database,
                "--key-dir",
                key_dir,
                "--listen",
                "127.0.0.1:0",
                "--rate-limit-per-second",
                "0",
                "--postgres-lock-timeout-ms",
                &LOCK_TIMEOUT_MS.to_string(),
                "--postgres-idle-in-transaction-timeout-ms",
                &IDLE_TIMEOUT_MS.to_string(),
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start an instance");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listen=").nth(1) {
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the instance listens");
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether instance C's session holds the schema's chain lock while idle in its
/// transaction (the frozen writer). An advisory lock on a bigint key shows its high half
/// in `classid` and its low half in `objid`.
async fn frozen_holding_the_lock(conn: &mut sqlx::PgConnection, schema: &str) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'vivus-frozen' \
         AND a.state = 'idle in transaction' AND a.datname = current_database() \
         AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext('vivus_consent_ledger:' || $1)::bigint",
    )
    .bind(schema)
    .fetch_one(conn)
    .await
    .expect("pg_locks")
        > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_writer_holding_the_chain_lock_yields_503s_and_is_cut_off() {
    use sqlx::Connection;
    let Some(url) =
        common::postgres_url("a_frozen_writer_holding_the_chain_lock_yields_503s_and_is_cut_off")
    else {
        return;
    };
    let (schema_url, schema) = common::postgres_schema(&url).await;
    let timeouts = [
        "--postgres-lock-timeout-ms",
        "500",
        "--postgres-idle-in-transaction-timeout-ms",
        "3000",
    ];
    // Instance A, in this process, writes the first record and the key every instance uses.
    let first = TestServer::start_in(
        tempfile::tempdir().expect("tempdir"),
        schema_url.clone(),
        &timeouts,
    )
    .await;
    first.consent(&new_id()).await;
    let key_dir = first.key_dir.display().to_string();
    // Instance B, also in this process, with a copy of the key directory.
    let other_dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(other_dir.path().join("keys")).expect("keys dir");
    for entry in std::fs::read_dir(&first.key_dir).expect("keys") {
        let path = entry.expect("entry").path();
        let copy = other_dir
            .path()
            .join("keys")
            .join(path.file_name().expect("name"));
        std::fs::copy(&path, &copy).expect("copy the key");
    }
    let other = TestServer::start_in(other_dir, schema_url.clone(), &timeouts).await;
    // Instance C, a process of its own, named so its session can be found.
    let frozen = Instance::start(
        &format!("{schema_url}&application_name=vivus-frozen"),
        &key_dir,
    );

    // Keep C busy, then freeze it at a moment its session holds the lock.
    let load = tokio::spawn({
        let base = frozen.base.clone();
        async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(1))
                .build()
                .expect("client");
            loop {
                let body = consent_body(&new_id(), &new_id());
                let _ = client
                    .post(format!("{base}/v1/consents"))
                    .json(&body)
                    .send()
                    .await;
            }
        }
    });
    let mut watcher = sqlx::PgConnection::connect(&url).await.expect("connect");
    let mut held = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(7)).await;
        frozen.signal("-STOP");
        tokio::time::sleep(Duration::from_millis(100)).await;
        if frozen_holding_the_lock(&mut watcher, &schema).await {
            held = true;
            break;
        }
        frozen.signal("-CONT");
    }
    assert!(
        held,
        "instance C was never frozen while holding the chain lock"
    );
    let frozen_at = Instant::now();
    load.abort();

    // A's appends give up after lock_timeout: 503, Retry-After, nothing recorded.
    let refused = consent_body(&new_id(), &new_id());
    let started = Instant::now();
    let response = first.post_json("/v1/consents", &refused).await;
    let took = started.elapsed();
    assert_eq!(response.status(), 503, "{:?}", response.text().await);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(
        took < Duration::from_millis(LOCK_TIMEOUT_MS + 1500),
        "answered after {took:?}, not within the lock timeout"
    );
    assert!(
        first
            .state
            .ledger
            .find(refused["id"].as_str().expect("id"))
            .await
            .expect("find")
            .is_none(),
        "nothing recorded"
    );
    let response = other
        .post_json("/v1/consents", &consent_body(&new_id(), &new_id()))
        .await;
    assert_eq!(response.status(), 503, "B is refused the same way");

    // PostgreSQL terminates the frozen session: the lock is released, A and B append.
    let (status, answer) = loop {
        let (status, answer) = first.post_consent(&refused).await;
        if status != 503 || frozen_at.elapsed() > Duration::from_millis(IDLE_TIMEOUT_MS + 5000) {
            break (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        status, 201,
        "the refused consent is recorded on its retry, once: {answer}"
    );
    let cut_off = frozen_at.elapsed();
    assert!(
        cut_off >= Duration::from_millis(IDLE_TIMEOUT_MS - 500),
        "the lock was released after {cut_off:?}"
    );
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "frozen writer: 503 after {took:?}, appends again {cut_off:?} after the freeze"
        );
    }
    assert!(!frozen_holding_the_lock(&mut watcher, &schema).await);
    for _ in 0..5 {
        first.consent(&new_id()).await;
        other.consent(&new_id()).await;
    }

    // C, thawed, has lost its session (its batch was rolled back) and appends again.
    frozen.signal("-CONT");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut recovered = false;
    for _ in 0..20 {
        let body = consent_body(&new_id(), &new_id());
        if let Ok(r) = client
            .post(format!("{}/v1/consents", frozen.base))
            .json(&body)
            .send()
            .await
        {
            if r.status() == 201 {
                recovered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "instance C appends again after the thaw");
    drop(frozen);

    let out = Command::new(BIN)
        .args([
            "ledger",
            "verify",
            "--database",
            &schema_url,
            "--key-dir",
            &key_dir,
        ])
        .output()
        .expect("verify");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("ledger intact"),
        "one unbroken chain: {text}"
    );
    drop(other.stop().await);
    drop(first.stop().await);
    common::drop_postgres_schema(&url, &schema).await;
}
