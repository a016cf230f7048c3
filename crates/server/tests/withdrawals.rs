//! Two withdrawals of one subject at once (analytics in one tab, marketing in another,
//! both from the same all-granted consent) must both hold: the newest record withdraws
//! both. Before the fix each withdrawal read the subject's newest record outside the
//! ledger writer, so both started from "all granted" and the later commit granted back
//! what the earlier one withdrew. Against SQLite and PostgreSQL.

mod common;

use common::{consent_body, new_id, TestServer};
use serde_json::{json, Value};

/// Holds the ledger's write lock from outside the service, as a slow batch would, so
/// that both withdrawals are read and waiting before either commits: the race is then
/// certain, not a matter of timing.
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(database: &str) -> Self {
        if database.starts_with("postgres") {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(database)
                .await
                .expect("connect");
            // The session-level form of the chain lock every batch takes.
            sqlx::query(
                "SELECT pg_advisory_lock(hashtext('vivus_consent_ledger:' || current_schema()))",
            )
            .execute(&mut conn)
            .await
            .expect("take the chain lock");
            Self::Postgres(conn)
        } else {
            let conn = rusqlite::Connection::open(database).expect("open");
            conn.execute_batch("BEGIN IMMEDIATE")
                .expect("take the write lock");
            Self::Sqlite(conn)
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(conn) => conn.execute_batch("ROLLBACK").expect("release"),
            Self::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock_all()")
                    .execute(&mut conn)
                    .await
                    .expect("release");
            }
        }
    }
}

async fn withdraw(
    client: reqwest::Client,
    url: String,
    token: String,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("withdraw");
    (
        response.status().as_u16(),
        response.json().await.expect("json"),
    )
}

async fn concurrent_withdrawals_from_two_clients_both_hold(server: &TestServer) {
    let subject = new_id();
    let mut body = consent_body(&new_id(), &subject);
    body["categories"] = json!({"necessary": true, "analytics": true, "marketing": true});
    let (status, answer) = server.post_consent(&body).await;
    assert_eq!(status, 201, "{answer}");
    let token = answer["token"].as_str().expect("token").to_owned();
    let url = server.url(&format!(
        "/v1/consents/{}/withdraw",
        body["id"].as_str().expect("id")
    ));

    let lock = WriteLock::take(&server.database).await;
    // Two browsers' tabs: two clients, two connections.
    let analytics = tokio::spawn(withdraw(
        reqwest::Client::new(),
        url.clone(),
        token.clone(),
        json!({"id": new_id(), "categories": ["analytics"]}),
    ));
    let marketing = tokio::spawn(withdraw(
        reqwest::Client::new(),
        url,
        token.clone(),
        json!({"id": new_id(), "categories": ["marketing"]}),
    ));
    // Both have read the subject's record and wait for the writer.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    lock.release().await;
    let (a, b) = (
        analytics.await.expect("task"),
        marketing.await.expect("task"),
    );
    assert_eq!((a.0, b.0), (201, 201), "{a:?} {b:?}");

    let history = server.history(&subject, &token).await;
    let records = history["records"].as_array().expect("records");
    assert_eq!(records.len(), 3, "{history}");
    let newest = records.last().expect("newest");
    assert_eq!(
        newest["categories"],
        json!(["necessary"]),
        "the newest record must withdraw both analytics and marketing: {history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_withdrawals_from_two_clients_both_hold() {
    let server = TestServer::start(&[]).await;
    concurrent_withdrawals_from_two_clients_both_hold(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_withdrawals_from_two_clients_both_hold() {
    let Some(url) =
        common::postgres_url("postgres_concurrent_withdrawals_from_two_clients_both_hold")
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
    concurrent_withdrawals_from_two_clients_both_hold(&server).await;
    drop(server.stop().await);
    common::drop_postgres_schema(&schema_url, &schema).await;
}
