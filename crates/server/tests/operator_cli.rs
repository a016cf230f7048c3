//! The binary's operator commands (`operator add|list|revoke`), `ledger prove` and
//! `ledger check-proof`, and the request log of a running service.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{new_id, run_split, TestServer, BIN};

async fn me(server: &TestServer, token: &str) -> u16 {
    server
        .client
        .get(server.url("/v1/operator/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The commands work on the database of a running service, and it honours them at once.
async fn accounts_are_managed_from_the_command_line(server: &TestServer) {
    let db = server.database.as_str();
    let (code, token, err) = run_split(&["operator", "add", "alice", "--database", db]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert!(
        token.starts_with("vcop_") && token.len() == 48,
        "only the token on stdout: {token:?}"
    );
    assert!(
        err.contains("operator alice added") && err.contains("shown this once"),
        "{err}"
    );
    assert_eq!(me(server, &token).await, 200);

    let (code, _, err) = run_split(&["operator", "add", "alice", "--database", db]);
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists") && err.contains("never reused"),
        "{err}"
    );
    let (code, _, err) = run_split(&["operator", "add", "bad name", "--database", db]);
    assert_eq!(code, 1);
    assert!(err.contains("is not an operator name"), "{err}");

    let (code, list, _) = run_split(&["operator", "list", "--database", db]);
    assert_eq!(code, 0);
    assert!(
        list.starts_with("alice\tcreated ") && list.trim_end().ends_with("active"),
        "{list}"
    );
    assert!(!list.contains(&token), "the token is never shown again");

    let (code, out, _) = run_split(&["operator", "revoke", "alice", "--database", db]);
    assert_eq!(
        (code, out.trim()),
        (0, "operator alice revoked: their token no longer works")
    );
    assert_eq!(
        me(server, &token).await,
        401,
        "revocation takes effect at once"
    );
    let (_, list, _) = run_split(&["operator", "list", "--database", db]);
    assert!(list.contains("\trevoked "), "{list}");
    let (code, out, _) = run_split(&["operator", "revoke", "alice", "--database", db]);
    assert_eq!(
        (code, out.trim()),
        (0, "operator alice was already revoked")
    );
    let (code, _, err) = run_split(&["operator", "revoke", "nobody", "--database", db]);
    assert_eq!(code, 1);
    assert!(
        err.contains("there is no operator named \"nobody\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_accounts_are_managed_from_the_command_line() {
    let server = TestServer::start(&[]).await;
    accounts_are_managed_from_the_command_line(&server).await;
    let missing = server
        .dir
        .path()
        .join("nothing.sqlite3")
        .display()
        .to_string();
    let (code, _, err) = run_split(&["operator", "add", "bob", "--database", &missing]);
    assert_eq!(code, 1);
    assert!(err.contains("there is no ledger file"), "{err}");
    assert!(
        !std::path::Path::new(&missing).exists(),
        "no empty ledger was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accounts_are_managed_from_the_command_line() {
    let Some(url) = common::postgres_url("postgres_accounts_are_managed_from_the_command_line")
    else {
        return;
    };
    let (schema_url, schema) = common::postgres_schema(&url).await;
    let server = TestServer::start_in(
        tempfile::tempdir().expect("tempdir"),
        schema_url.clone(),
        &[],
    )
    .await;
    accounts_are_managed_from_the_command_line(&server).await;
    drop(server.stop().await);
    common::drop_postgres_schema(&schema_url, &schema).await;
}

/// `ledger prove` writes what the API serves; `ledger check-proof` checks it with the
/// file alone, names the key, and rejects a changed byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_is_made_and_checked_from_the_command_line() {
    let server = TestServer::start(&[]).await;
    let (body, _) = server.consent(&new_id()).await;
    let id = body["id"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        server.consent(&new_id()).await;
    }
    let dir = server.dir.path().to_owned();
    let keys = server.key_dir.display().to_string();
    let file = dir.join("proof.json");
    let file_arg = file.display().to_string();
    let (code, _, err) = run_split(&[
        "ledger",
        "prove",
        &id,
        "--database",
        &server.database,
        "--key-dir",
        &keys,
        "--out",
        &file_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("proof of consent {id} (record 1) to head 4")),
        "{err}"
    );
    let (code, stdout, _) = run_split(&[
        "ledger",
        "prove",
        &id,
        "--database",
        &server.database,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 0);
    let written = std::fs::read(&file).expect("proof file");
    assert_eq!(
        stdout.as_bytes(),
        written,
        "stdout and --out write the same proof"
    );

    let kid = server.state.keys.signer().expect("key").kid().to_owned();
    let (code, out, _) = run_split(&["ledger", "check-proof", &file_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("proof intact: consent {id} (consent of subject")),
        "{out}"
    );
    assert!(out.contains("through 3 later records"), "{out}");
    assert!(
        out.contains(&format!("signed by key {kid}")),
        "which key: {out}"
    );
    assert!(
        out.contains(&format!(
            "the head is signed by the service (issuer vivus-consent) with key {kid} at "
        )),
        "{out}"
    );

    // One changed byte, in the record, in a link, in the head.
    for at in [written.len() / 5, written.len() / 2, written.len() - 90] {
        let mut changed = written.clone();
        changed[at] ^= 0x01;
        let broken = dir.join(format!("broken-{at}.json"));
        std::fs::write(&broken, &changed).expect("write");
        let (code, out, _) = run_split(&["ledger", "check-proof", &broken.display().to_string()]);
        assert_eq!(code, 1, "byte {at}: {out}");
        assert!(out.starts_with("proof BROKEN: "), "{out}");
    }
    let (code, _, err) = run_split(&[
        "ledger",
        "check-proof",
        &dir.join("none.json").display().to_string(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = run_split(&[
        "ledger",
        "prove",
        &new_id(),
        "--database",
        &server.database,
        "--key-dir",
        &keys,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no record with consent id"), "{err}");
}

/// Every operator request is logged with the operator's name, a failed sign-in with its
/// reason; the token is in neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_requests_are_logged_by_name_never_by_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ledger.sqlite3").display().to_string();
    let keys = dir.path().join("keys").display().to_string();
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
            "--key-dir",
            &keys,
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the service");
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the service starts");
        log.push(line.clone());
        if let Some(at) = line.find("listen=") {
            break line[at + 7..]
                .split_whitespace()
                .next()
                .expect("address")
                .to_owned();
        }
    };
    let (code, token, err) = run_split(&["operator", "add", "dpo@vivus.kz", "--database", &db]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{address}/v1/operator/stats?bucket=hour"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stats");
    assert_eq!(ok.status(), 200);
    let (guess, _) = vivus_consent_server::operator::new_token().expect("token");
    let refused = client
        .get(format!("http://{address}/v1/operator/me"))
        .bearer_auth(&guess)
        .send()
        .await
        .expect("me");
    assert_eq!(refused.status(), 401);
    child.kill().expect("stop");
    let _ = child.wait();
    log.extend(lines.iter());
    let log = log.join("\n");
    let request = log
        .lines()
        .find(|l| l.contains("operator request"))
        .unwrap_or_else(|| panic!("no request line in\n{log}"));
    assert!(request.contains("operator=dpo@vivus.kz"), "{request}");
    assert!(
        request.contains("uri=/v1/operator/stats?bucket=hour") && request.contains("status=200"),
        "{request}"
    );
    let failure = log
        .lines()
        .find(|l| l.contains("operator sign-in failed"))
        .unwrap_or_else(|| panic!("no failure line in\n{log}"));
    assert!(
        failure.contains("unknown or revoked token") && failure.contains("client=127.0.0.0/24"),
        "{failure}"
    );
    assert!(
        !log.contains(&token) && !log.contains(&guess),
        "no token in the log:\n{log}"
    );
}
