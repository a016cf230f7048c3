//! Key rotation across instances: a new key is published before it signs (pending), a
//! retired key verifies and never signs, an empty key directory next to a ledger that holds
//! tokens stops the start, and the key set is served with the cache headers the browser
//! SDK relies on.

mod common;

use std::process::Command;

use clap::Parser;
use common::{new_id, run, TestServer, BIN};
use serde_json::Value;
use vivus_consent_core::jwk::Jwks;
use vivus_consent_server::config::Cli;
use vivus_consent_server::keys;

fn kid_of(token: &str) -> String {
    keys::kid_of(token).expect("a kid")
}

async fn jwks(server: &TestServer) -> (Jwks, reqwest::header::HeaderMap) {
    let response = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (response.json().await.expect("jwk set"), headers)
}

async fn valid(server: &TestServer, token: &str) -> bool {
    let verdict: Value = server.verify_token(token).await;
    verdict["valid"] == true
}

/// `keys rotate --activate-after`: the new key is in the key set from the next start on,
/// while the old key keeps signing; at its time it signs, without a restart. Then retired,
/// it is still published and verifies what it signed, and the older key signs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_published_before_it_signs_and_a_retired_one_never_signs() {
    let server = TestServer::start(&["--jwks-max-age-secs", "1"]).await;
    let subject = new_id();
    let (_, first) = server.consent(&subject).await;
    let old_kid = kid_of(&first);
    let key_dir = server.key_dir.clone();
    let (dir, database) = server.stop().await;

    let activate_after = 2;
    let rotated_at = vivus_consent_server::now_secs();
    keys::rotate(&key_dir, rotated_at, activate_after, 1).expect("rotate");
    let server = TestServer::start_in(dir, database, &["--jwks-max-age-secs", "1"]).await;
    let (set, headers) = jwks(&server).await;
    assert_eq!(set.keys.len(), 2, "the pending key is published");
    assert_eq!(headers["cache-control"], "public, max-age=1");
    let new_kid = set
        .keys
        .iter()
        .filter_map(|k| k.kid.clone())
        .find(|k| *k != old_kid)
        .expect("the new kid");

    let (_, before) = server.consent(&subject).await;
    assert_eq!(kid_of(&before), old_kid, "a pending key does not sign");
    let answer = server
        .post_consent(&common::consent_body(&new_id(), &subject))
        .await
        .1;
    assert_eq!(
        keys::kid_of(answer["receipt"]["signedHead"].as_str().expect("head")),
        Some(old_kid.clone())
    );

    // Past its time, the same running instance signs with it.
    let wait = (rotated_at + activate_after + 1).saturating_sub(vivus_consent_server::now_secs());
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    let (_, after) = server.consent(&subject).await;
    assert_eq!(
        kid_of(&after),
        new_kid,
        "the key signs from its time on, without a restart"
    );
    assert!(valid(&server, &before).await && valid(&server, &after).await);
    let (dir, database) = server.stop().await;

    keys::retire(&key_dir, &new_kid, vivus_consent_server::now_secs()).expect("retire");
    let server = TestServer::start_in(dir, database, &[]).await;
    let (set, _) = jwks(&server).await;
    assert!(
        set.keys
            .iter()
            .any(|k| k.kid.as_deref() == Some(new_kid.as_str())),
        "a retired key stays published"
    );
    let (_, later) = server.consent(&subject).await;
    assert_eq!(
        kid_of(&later),
        old_kid,
        "a retired key never signs; the older active one does"
    );
    assert!(
        valid(&server, &after).await,
        "what the retired key signed still verifies"
    );
    let history = server.history(&subject, &after).await;
    assert_eq!(history["records"].as_array().expect("records").len(), 5);
}

/// An empty key directory next to a ledger that holds tokens: the keys were lost or the
/// flag is wrong, and a fresh key would leave every token unverifiable. The start stops
/// with a message naming the fix; `--generate-key` starts anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_key_directory_next_to_a_ledger_with_tokens_stops_the_start() {
    let server = TestServer::start(&[]).await;
    let (_, token) = server.consent(&new_id()).await;
    let (dir, database) = server.stop().await;
    let empty = dir.path().join("other-keys");
    std::fs::create_dir(&empty).expect("empty dir");
    let empty_arg = empty.display().to_string();

    let cli = Cli::try_parse_from(["x", "--key-dir", &empty_arg]).expect("flags");
    let err = vivus_consent_server::start(&cli.serve, &database)
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains(&empty_arg)
            && message.contains(&kid_of(&token))
            && message.contains("--generate-key"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_dir(&empty).expect("dir").count(),
        0,
        "no key was generated"
    );

    let out = Command::new(BIN)
        .args([
            "--database",
            &database,
            "--key-dir",
            &empty_arg,
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("RUST_LOG")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--generate-key"),
        "{out:?}"
    );

    // With the flag the service starts on a new key; the old token no longer verifies.
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(keys_dir, database, &["--generate-key"]).await;
    assert_eq!(jwks(&server).await.0.keys.len(), 1);
    assert!(!valid(&server, &token).await);
    server.consent(&new_id()).await;
    drop(dir);
}

/// The key set carries `Cache-Control: public, max-age` (the browser SDK fetches it with
/// `cache: 'force-cache'`, trusting only the network and the HTTP cache) and an `ETag`
/// for revalidation.
#[tokio::test]
async fn the_key_set_is_cacheable_and_revalidates() {
    let server = TestServer::start(&[]).await;
    let (_, headers) = jwks(&server).await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["content-type"], "application/json");
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let again = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["cache-control"], "public, max-age=300");
    assert_eq!(again.headers()["etag"], etag.as_str());
    let changed = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .expect("revalidate");
    assert_eq!(changed.status(), 200);
    // The API's other answers stay uncacheable.
    let policy = server
        .client
        .get(server.url("/v1/policy"))
        .send()
        .await
        .expect("policy");
    assert_eq!(policy.headers()["cache-control"], "no-store");
}

/// The key commands: a rotation that would sign before every cache of the key set can
/// hold the new key is refused; `keys list` says which key signs and which wait.
#[test]
fn keys_rotate_refuses_to_sign_before_caches_can_know_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys_arg = dir.path().join("keys").display().to_string();
    let (code, out) = run(&[
        "keys",
        "rotate",
        "--key-dir",
        &keys_arg,
        "--activate-after",
        "10s",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("shorter than the JWK set's cache lifetime (300 s"),
        "{out}"
    );
    let (code, out) = run(&[
        "keys",
        "rotate",
        "--key-dir",
        &keys_arg,
        "--activate-after",
        "10s",
        "--jwks-max-age-secs",
        "5",
    ]);
    assert_eq!(code, 0, "{out}");
    keys::generate(std::path::Path::new(&keys_arg), 1).expect("an active key");
    let (code, out) = run(&["keys", "list", "--key-dir", &keys_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("pending until") && out.contains("active, signing"),
        "{out}"
    );
    let pending = out
        .lines()
        .find(|l| l.contains("pending"))
        .and_then(|l| l.split(' ').next())
        .expect("kid")
        .to_owned();
    let (code, out) = run(&["keys", "retire", &pending, "--key-dir", &keys_arg]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = run(&["keys", "list", "--key-dir", &keys_arg]);
    assert!(
        out.contains(&format!("{pending} created")) && out.contains("retired"),
        "{out}"
    );
}
