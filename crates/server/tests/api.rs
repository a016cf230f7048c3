//! The HTTP API over a real socket with a real SQLite ledger.

mod common;

use common::{consent_body, new_id, TestServer};
use serde_json::{json, Value};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims, SigningKey};

fn claims_of(token: &str) -> Claims {
    token::peek_claims(token).expect("token decodes")
}

#[tokio::test]
async fn health_policy_and_keys_are_served() {
    let server = TestServer::start(&[]).await;
    let health: Value = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    assert_eq!(
        health,
        json!({"status": "ok", "ledger": "sqlite", "keys": 1})
    );

    let current: Value = server
        .client
        .get(server.url("/v1/policy"))
        .send()
        .await
        .expect("policy")
        .json()
        .await
        .expect("json");
    assert_eq!(
        current,
        json!({"version": policy::CURRENT.id, "digest": policy::CURRENT.digest, "languages": ["ru", "kk"]})
    );

    let ru = server
        .client
        .get(server.url(&format!("/v1/policy/{}/ru.md", policy::CURRENT.id)))
        .send()
        .await
        .expect("ru.md");
    assert_eq!(ru.status(), 200);
    assert_eq!(ru.headers()["content-type"], "text/markdown; charset=utf-8");
    let text = ru.text().await.expect("text");
    assert_eq!(
        Some(text.as_str()),
        policy::text(
            policy::CURRENT.id,
            vivus_consent_core::language::Language::Ru
        )
    );
    for path in [
        "/v1/policy/v0/ru.md".to_owned(),
        format!("/v1/policy/{}/en.md", policy::CURRENT.id),
    ] {
        let r = server
            .client
            .get(server.url(&path))
            .send()
            .await
            .expect("missing policy");
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["code"], "not_found");
    }

    let jwks = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks");
    assert_eq!(jwks.status(), 200);
    let jwks: Jwks = jwks.json().await.expect("jwk set");
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].kid, Some(jwks.keys[0].thumbprint()));

    let wrong_method = server
        .client
        .get(server.url("/v1/consents"))
        .send()
        .await
        .expect("405");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await.expect("json")["code"],
        "method_not_allowed"
    );

    let unknown = server
        .client
        .get(server.url("/v1/nothing"))
        .send()
        .await
        .expect("404");
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.expect("json")["code"],
        "not_found"
    );
}

#[tokio::test]
async fn a_consent_is_recorded_signed_and_idempotent() {
    let server = TestServer::start(&[]).await;
    let subject = new_id();
    let id = new_id();
    let body = consent_body(&id, &subject);
    let (status, first) = server.post_consent(&body).await;
    assert_eq!(status, 201, "{first}");
    let token = first["token"].as_str().expect("token");
    let receipt = &first["receipt"];
    assert_eq!(receipt["consentId"], id.as_str());
    assert_eq!(receipt["sequence"], 1);
    assert_eq!(receipt["recordHash"].as_str().expect("hash").len(), 64);

    let jwks: Jwks = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let expected = token::Expected {
        issuer: "vivus-consent",
        policy_digest: policy::CURRENT.digest,
        now: claims_of(token).iat,
    };
    let claims =
        token::verify(token, &jwks, &expected).expect("the token verifies with the published keys");
    assert_eq!(claims.sub.as_str(), subject);
    assert_eq!(claims.jti.as_str(), id);
    assert_eq!(claims.exp - claims.iat, 365 * 86_400);
    assert!(claims.pa);
    assert_eq!(
        serde_json::to_value(claims.cat).expect("cat"),
        json!(["necessary", "analytics"])
    );

    // The same request again, members reordered: same token, same receipt, 200.
    let mut reordered = serde_json::Map::new();
    for key in [
        "gpc",
        "source",
        "policyAccepted",
        "categories",
        "language",
        "policy",
        "subject",
        "id",
    ] {
        reordered.insert(key.to_owned(), body[key].clone());
    }
    let (status, again) = server.post_consent(&Value::Object(reordered)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);

    // The same id with another choice is a conflict, and nothing is appended.
    let mut other = body.clone();
    other["categories"]["marketing"] = json!(true);
    let (status, conflict) = server.post_consent(&other).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["code"], "conflict");
    assert!(conflict["message"].as_str().expect("message").contains(&id));

    let (status, next) = server
        .post_consent(&consent_body(&new_id(), &subject))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        next["receipt"]["sequence"], 2,
        "the conflict appended nothing"
    );
}

#[tokio::test]
async fn every_invalid_consent_is_a_4xx_that_names_the_problem() {
    let server = TestServer::start(&[]).await;
    let valid = consent_body(&new_id(), &new_id());
    let mut cases: Vec<(Value, u16, &str, &str)> = Vec::new();
    let mut v = valid.clone();
    v["extra"] = json!(1);
    cases.push((v, 400, "invalid_request", "unknown field `extra`"));
    let mut v = valid.clone();
    v["categories"]["ads"] = json!(true);
    cases.push((v, 400, "invalid_request", "unknown field `ads`"));
    let mut v = valid.clone();
    v["gpc"] = json!("no");
    cases.push((v, 400, "invalid_request", "invalid type"));
    let mut v = valid.clone();
    v.as_object_mut().expect("object").remove("source");
    cases.push((v, 400, "invalid_request", "missing field `source`"));
    let mut v = valid.clone();
    v["source"] = json!("popup");
    cases.push((v, 400, "invalid_request", "popup"));
    let mut v = valid.clone();
    v["language"] = json!("en");
    cases.push((v, 400, "invalid_request", "en"));
    let mut v = valid.clone();
    v["id"] = json!("short");
    cases.push((v, 400, "invalid_request", "22 base64url"));
    let mut v = valid.clone();
    v["categories"]["necessary"] = json!(false);
    cases.push((v, 400, "necessary_refused", "necessary"));
    let mut v = valid.clone();
    v["policy"]["version"] = json!("v0");
    cases.push((v, 400, "stale_policy", "v0"));
    let mut v = valid.clone();
    v["policy"]["digest"] = json!("00".repeat(32));
    cases.push((v, 400, "policy_digest_mismatch", "digest"));
    for (body, status, code, needle) in cases {
        let (got, answer) = server.post_consent(&body).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["code"], code, "{body} → {answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.contains(needle),
            "{message:?} should name {needle:?}"
        );
    }

    let malformed = server
        .client
        .post(server.url("/v1/consents"))
        .header("content-type", "application/json")
        .body("{\"id\":")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        malformed.json::<Value>().await.expect("json")["code"],
        "malformed_json"
    );

    let form = server
        .client
        .post(server.url("/v1/consents"))
        .body(valid.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(form.status(), 415);
    assert_eq!(
        form.json::<Value>().await.expect("json")["code"],
        "unsupported_media_type"
    );

    let mut huge = valid.clone();
    huge["padding"] = json!("x".repeat(10_000));
    let too_big = server.post_json("/v1/consents", &huge).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(
        too_big.json::<Value>().await.expect("json")["code"],
        "payload_too_large"
    );

    // No 4xx left a record behind.
    let verify = server.state.ledger.verify().await.expect("verify");
    assert!(
        matches!(
            verify,
            vivus_consent_server::ledger::ChainStatus::Intact { records: 0, .. }
        ),
        "{verify:?}"
    );
}

#[tokio::test]
async fn withdrawal_records_a_new_consent_with_fewer_categories() {
    let server = TestServer::start(&[]).await;
    let subject = new_id();
    let mut body = consent_body(&new_id(), &subject);
    body["categories"]["marketing"] = json!(true);
    let (_, first) = server.post_consent(&body).await;
    let token = first["token"].as_str().expect("token").to_owned();
    let id = body["id"].as_str().expect("id").to_owned();

    let withdraw_id = new_id();
    let request = json!({"id": withdraw_id, "categories": ["marketing"]});
    let url = server.url(&format!("/v1/consents/{id}/withdraw"));
    let response = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&request)
        .send()
        .await
        .expect("withdraw");
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.expect("json");
    let new_token = answer["token"].as_str().expect("token").to_owned();
    let claims = claims_of(&new_token);
    assert_eq!(claims.jti.as_str(), withdraw_id);
    assert_eq!(claims.sub.as_str(), subject);
    assert_eq!(
        serde_json::to_value(claims.cat).expect("cat"),
        json!(["necessary", "analytics"])
    );
    assert!(claims.pa);

    // Retry: same answer.
    let again = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&request)
        .send()
        .await
        .expect("retry");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json"), answer);
    // The same new id for another withdrawal: conflict.
    let other = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"id": withdraw_id}))
        .send()
        .await
        .expect("conflict");
    assert_eq!(other.status(), 409);

    // Withdrawing everything and the policy acceptance, from the new token.
    let all_id = new_id();
    let response = server
        .client
        .post(server.url(&format!("/v1/consents/{withdraw_id}/withdraw")))
        .bearer_auth(&new_token)
        .json(&json!({"id": all_id, "policyAcceptance": true}))
        .send()
        .await
        .expect("withdraw all");
    assert_eq!(response.status(), 201);
    let last = claims_of(
        response.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token"),
    );
    assert_eq!(
        serde_json::to_value(last.cat).expect("cat"),
        json!(["necessary"])
    );
    assert!(
        last.pa,
        "the policy withdrawal is a request; the acceptance stands until the operator acts"
    );

    let history = server.history(&subject, &token).await;
    let kinds: Vec<&str> = history["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["consent", "withdrawal", "policy_withdrawal_request"]
    );
    assert_eq!(history["records"][1]["withdraws"], id.as_str());
}

/// A withdrawal starts from the subject's newest record, not from the token presented:
/// consent A grants marketing, a later consent B refuses it (and the policy); withdrawing
/// analytics with A's token must not grant marketing or the policy acceptance again.
#[tokio::test]
async fn withdrawal_with_an_older_token_never_regrants_what_a_later_consent_refused() {
    let server = TestServer::start(&[]).await;
    let subject = new_id();
    let mut a = consent_body(&new_id(), &subject);
    a["categories"]["marketing"] = json!(true);
    let (status, first) = server.post_consent(&a).await;
    assert_eq!(status, 201, "{first}");
    let a_token = first["token"].as_str().expect("token").to_owned();
    let a_id = a["id"].as_str().expect("id").to_owned();
    let mut b = consent_body(&new_id(), &subject);
    b["policyAccepted"] = json!(false);
    let (status, second) = server.post_consent(&b).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        serde_json::to_value(claims_of(second["token"].as_str().expect("token")).cat).expect("cat"),
        json!(["necessary", "analytics"])
    );

    let withdraw_id = new_id();
    let request = json!({"id": withdraw_id, "categories": ["analytics"]});
    let url = server.url(&format!("/v1/consents/{a_id}/withdraw"));
    let response = server
        .client
        .post(&url)
        .bearer_auth(&a_token)
        .json(&request)
        .send()
        .await
        .expect("withdraw");
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.expect("json");
    let claims = claims_of(answer["token"].as_str().expect("token"));
    assert_eq!(
        serde_json::to_value(claims.cat).expect("cat"),
        json!(["necessary"]),
        "marketing was refused by the later consent"
    );
    assert!(!claims.pa, "the later consent refused the policy");

    let history = server.history(&subject, &a_token).await;
    let last = &history["records"][2];
    assert_eq!(last["kind"], "withdrawal");
    assert_eq!(last["withdraws"], a_id.as_str());
    assert_eq!(last["categories"], json!(["necessary"]));
    assert_eq!(last["policyAccepted"], false);

    // A retry after yet another record still gets its original answer.
    server.consent(&subject).await;
    let again = server
        .client
        .post(&url)
        .bearer_auth(&a_token)
        .json(&request)
        .send()
        .await
        .expect("retry");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json"), answer);
}

#[tokio::test]
async fn withdrawal_needs_the_token_of_that_consent() {
    let server = TestServer::start(&[]).await;
    let (body, token) = server.consent(&new_id()).await;
    let (_, other_token) = server.consent(&new_id()).await;
    let id = body["id"].as_str().expect("id");
    let url = server.url(&format!("/v1/consents/{id}/withdraw"));
    let request = json!({"id": new_id()});

    let none = server
        .client
        .post(&url)
        .json(&request)
        .send()
        .await
        .expect("send");
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    assert_eq!(
        none.json::<Value>().await.expect("json")["code"],
        "missing_token"
    );

    let foreign = server
        .client
        .post(&url)
        .bearer_auth(&other_token)
        .json(&request)
        .send()
        .await
        .expect("send");
    assert_eq!(foreign.status(), 403);
    assert_eq!(
        foreign.json::<Value>().await.expect("json")["code"],
        "forbidden"
    );

    let necessary = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"id": new_id(), "categories": ["necessary"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(necessary.status(), 400);
    assert_eq!(
        necessary.json::<Value>().await.expect("json")["code"],
        "withdraw_necessary"
    );

    let empty = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"id": new_id(), "categories": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(empty.status(), 400);
    assert_eq!(
        empty.json::<Value>().await.expect("json")["code"],
        "nothing_to_withdraw"
    );

    let bad_path = server
        .client
        .post(server.url("/v1/consents/not-an-id/withdraw"))
        .bearer_auth(&token)
        .json(&request)
        .send()
        .await
        .expect("send");
    assert_eq!(bad_path.status(), 400);
    assert_eq!(
        bad_path.json::<Value>().await.expect("json")["code"],
        "invalid_id"
    );
}

#[tokio::test]
async fn history_is_readable_only_with_the_subjects_own_valid_token() {
    let server = TestServer::start(&[]).await;
    let subject = new_id();
    let (body, token) = server.consent(&subject).await;
    let (_, second) = server.consent(&subject).await;
    let (_, stranger) = server.consent(&new_id()).await;
    let url = server.url(&format!("/v1/subjects/{subject}/consents"));

    let response = server
        .client
        .get(&url)
        .bearer_auth(&second)
        .header("user-agent", "history-test")
        .send()
        .await
        .expect("history");
    assert_eq!(response.status(), 200);
    let history: Value = response.json().await.expect("json");
    assert_eq!(history["subject"], subject.as_str());
    let records = history["records"].as_array().expect("records");
    assert_eq!(records.len(), 2);
    let first = &records[0];
    assert_eq!(first["consentId"], body["id"]);
    assert_eq!(first["policyVersion"], policy::CURRENT.id);
    assert_eq!(first["categories"], json!(["necessary", "analytics"]));
    assert_eq!(first["source"], "banner");
    assert_eq!(
        first["clientNetwork"], "127.0.0.0/24",
        "the IP is stored masked"
    );
    assert!(first.get("token").is_none());

    // Another subject's valid token.
    let r = server
        .client
        .get(&url)
        .bearer_auth(&stranger)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);

    // The subject's own token with its claims edited (now the signature fails).
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&vivus_consent_core::base64url::decode(parts[1]).expect("b64"))
            .expect("claims");
    claims["cat"] = json!(["necessary", "analytics", "marketing"]);
    let forged_payload = vivus_consent_core::base64url::encode(claims.to_string().as_bytes());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let r = server
        .client
        .get(&url)
        .bearer_auth(&tampered)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.expect("json")["code"],
        "bad_signature"
    );

    // A well-formed token for this subject signed by a key the service does not have.
    let foreign_key = SigningKey::from_seed([9; 32]);
    let foreign = foreign_key.sign(&claims_of(&token));
    let r = server
        .client
        .get(&url)
        .bearer_auth(&foreign)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.expect("json")["code"],
        "unknown_key"
    );

    // Garbage and no token.
    let r = server
        .client
        .get(&url)
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.expect("json")["code"], "malformed");
    let r = server.client.get(&url).send().await.expect("send");
    assert_eq!(r.status(), 401);

    let r = server
        .client
        .get(server.url("/v1/subjects/nope/consents"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.expect("json")["code"], "invalid_id");

    // A genuine signature on a token for a policy this service never published.
    let other_policy = server
        .state
        .keys
        .signer()
        .expect("signing key")
        .sign(&Claims {
            pd: "00".repeat(32),
            ..claims_of(&token)
        });
    let r = server
        .client
        .get(&url)
        .bearer_auth(&other_policy)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.expect("json")["code"],
        "other_policy"
    );
    let verdict: Value = server.verify_token(&other_policy).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["code"].clone()),
        (json!(false), json!("other_policy")),
        "{verdict}"
    );
}

#[tokio::test]
async fn verify_endpoint_reports_valid_and_invalid_tokens() {
    let server = TestServer::start(&[]).await;
    let (_, token) = server.consent(&new_id()).await;
    let ok: Value = server.verify_token(&token).await;
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["claims"]["jti"], json!(claims_of(&token).jti));

    let mut bytes = token.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    let bad = server
        .post_json("/v1/verify", &json!({"token": tampered}))
        .await;
    assert_eq!(bad.status(), 200);
    let bad: Value = bad.json().await.expect("json");
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["code"], "bad_signature");

    let wrong = server.post_json("/v1/verify", &json!({"jwt": "x"})).await;
    assert_eq!(wrong.status(), 400);
}

#[tokio::test]
async fn rotation_publishes_both_keys_and_old_tokens_still_verify() {
    let server = TestServer::start(&[]).await;
    let subject = new_id();
    let (_, old_token) = server.consent(&subject).await;
    let key_dir = server.key_dir.clone();
    let (dir, database) = server.stop().await;

    let later = u64::try_from(vivus_consent_server::now_ms() / 1000).expect("time") + 10;
    vivus_consent_server::keys::generate(&key_dir, later).expect("rotate");
    let server = TestServer::start_in(dir, database, &[]).await;
    let jwks: Jwks = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks.keys.len(), 2);

    let (_, new_token) = server.consent(&subject).await;
    let old_kid = token_kid(&old_token);
    let new_kid = token_kid(&new_token);
    assert_ne!(old_kid, new_kid, "the newest key signs");
    assert_eq!(jwks.keys[0].kid.as_deref(), Some(new_kid.as_str()));

    // A backend with its own JOSE code: the published set lists the old key, and the old
    // token verifies against that set alone.
    assert!(
        jwks.keys
            .iter()
            .any(|k| k.kid.as_deref() == Some(old_kid.as_str())),
        "the old kid is published"
    );
    let expected = token::Expected {
        issuer: "vivus-consent",
        policy_digest: policy::CURRENT.digest,
        now: claims_of(&new_token).iat,
    };
    let claims = token::verify(&old_token, &jwks, &expected)
        .expect("the old token verifies against the fetched JWKS");
    assert_eq!(claims.sub.as_str(), subject);

    let check: Value = server.verify_token(&old_token).await;
    assert_eq!(check["valid"], true, "{check}");
    let history = server.history(&subject, &old_token).await;
    assert_eq!(history["records"].as_array().expect("records").len(), 2);
}

/// Every receipt carries the ledger's head signed by the service (a compact JWS any JOSE
/// library verifies with the published keys) covering its record; `GET /v1/ledger/head`
/// serves the newest; a retry's receipt is the original one.
#[tokio::test]
async fn receipts_carry_a_signed_head_that_covers_their_record() {
    let server = TestServer::start(&[]).await;
    let none = server
        .client
        .get(server.url("/v1/ledger/head"))
        .send()
        .await
        .expect("head");
    assert_eq!(none.status(), 404, "an empty ledger has no signed head");

    let body = consent_body(&new_id(), &new_id());
    let (status, first) = server.post_consent(&body).await;
    assert_eq!(status, 201);
    let receipt = &first["receipt"];
    let signed = receipt["signedHead"].as_str().expect("signedHead");
    let jwks: Jwks = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let (claims, kid) = vivus_consent_server::ledger::checkpoint::verify(signed, &jwks)
        .expect("a head signed by the service");
    assert_eq!(json!(claims.seq), receipt["sequence"]);
    assert_eq!(json!(claims.head), receipt["recordHash"]);
    assert_eq!(claims.iss, "vivus-consent");
    assert_eq!(kid, token_kid(first["token"].as_str().expect("token")));

    let head: Value = server
        .client
        .get(server.url("/v1/ledger/head"))
        .send()
        .await
        .expect("head")
        .json()
        .await
        .expect("json");
    assert_eq!(head["sequence"], 1);
    assert_eq!(head["recordHash"], receipt["recordHash"]);
    assert_eq!(head["kid"], kid.as_str());
    assert_eq!(head["signedAt"], claims.iat);
    assert_eq!(head["signedHead"], signed);

    server.consent(&new_id()).await;
    let (status, again) = server.post_consent(&body).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "a retry gets the original receipt, signed head included"
    );
    let head: Value = server
        .client
        .get(server.url("/v1/ledger/head"))
        .send()
        .await
        .expect("head")
        .json()
        .await
        .expect("json");
    assert_eq!(head["sequence"], 2);

    // A signed head is never taken for a consent token.
    let verdict: Value = server.verify_token(signed).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["code"].clone()),
        (json!(false), json!("malformed")),
        "{verdict}"
    );
}

fn token_kid(token: &str) -> String {
    let header = token.split('.').next().expect("header");
    let header: Value =
        serde_json::from_slice(&vivus_consent_core::base64url::decode(header).expect("b64"))
            .expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let server =
        TestServer::start(&["--rate-limit-per-second", "1", "--rate-limit-burst", "2"]).await;
    let subject = new_id();
    for _ in 0..2 {
        let (status, _) = server
            .post_consent(&consent_body(&new_id(), &subject))
            .await;
        assert_eq!(status, 201);
    }
    let response = server
        .post_json("/v1/consents", &consent_body(&new_id(), &subject))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(
        response.json::<Value>().await.expect("json")["code"],
        "rate_limited"
    );
    // Reads that are not limited still work.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn cors_and_the_consent_cookie_follow_the_allowlist() {
    let server = TestServer::start(&["--allowed-origin", "https://www.vivus.kz"]).await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url("/v1/consents"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://www.vivus.kz").await.expect("preflight");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://www.vivus.kz"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let denied = preflight("https://evil.example").await.expect("preflight");
    assert!(!denied.headers().contains_key("access-control-allow-origin"));

    // Same origin as the service (what the demo does): the cookie comes back.
    let same = server
        .client
        .post(server.url("/v1/consents"))
        .header("origin", server.base.clone())
        .json(&consent_body(&new_id(), &new_id()))
        .send()
        .await
        .expect("post");
    assert_eq!(same.status(), 201);
    let cookie = same.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let token = same.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        cookie,
        format!("vivus_consent={token}; Path=/; Max-Age=31536000; SameSite=Lax")
    );

    // A foreign origin: recorded (the API is public), but no CORS grant and no cookie.
    let foreign = server
        .client
        .post(server.url("/v1/consents"))
        .header("origin", "https://evil.example")
        .json(&consent_body(&new_id(), &new_id()))
        .send()
        .await
        .expect("post");
    assert_eq!(foreign.status(), 201);
    assert!(!foreign.headers().contains_key("set-cookie"));
    assert!(!foreign
        .headers()
        .contains_key("access-control-allow-origin"));
    assert_eq!(foreign.headers()["cache-control"], "no-store");
}

/// The consent service on its own host (`consent.vivus.kz`) and the site on a sibling
/// (`www.vivus.kz`): with `--cookie-domain vivus.kz` the answer sets a `Domain` cookie for
/// an allowed origin, `Secure` only for https, and none for an origin not on the list.
#[tokio::test]
async fn an_allowed_sibling_origin_gets_a_domain_cookie_over_http() {
    let server = TestServer::start(&[
        "--cookie-domain",
        "vivus.kz",
        "--allowed-origin",
        "https://www.vivus.kz",
        "--allowed-origin",
        "http://www.vivus.kz",
        "--allowed-origin",
        "https://partner.example",
    ])
    .await;
    let post = |origin: &'static str| {
        server
            .client
            .post(server.url("/v1/consents"))
            .header("host", "consent.vivus.kz")
            .header("origin", origin)
            .json(&consent_body(&new_id(), &new_id()))
            .send()
    };
    let https = post("https://www.vivus.kz").await.expect("post");
    assert_eq!(https.status(), 201);
    assert_eq!(
        https.headers()["access-control-allow-origin"],
        "https://www.vivus.kz"
    );
    let cookies: Vec<String> = https
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let token = https.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(cookies, [format!("vivus_consent={token}; Path=/; Max-Age=31536000; SameSite=Lax; Domain=vivus.kz; Secure")]);

    let http = post("http://www.vivus.kz").await.expect("post");
    assert_eq!(http.status(), 201);
    let cookie = http.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let token = http.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        cookie,
        format!("vivus_consent={token}; Path=/; Max-Age=31536000; SameSite=Lax; Domain=vivus.kz"),
        "no Secure over http"
    );

    // On the same site but not allowed, allowed but another site, and no Origin at all: recorded, no cookie.
    for origin in ["https://evil.vivus.kz", "https://partner.example"] {
        let r = post(origin).await.expect("post");
        assert_eq!(r.status(), 201, "{origin}");
        assert!(
            !r.headers().contains_key("set-cookie"),
            "{origin} got a cookie"
        );
    }
    let r = server
        .client
        .post(server.url("/v1/consents"))
        .header("host", "consent.vivus.kz")
        .json(&consent_body(&new_id(), &new_id()))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    assert!(!r.headers().contains_key("set-cookie"));
}

#[tokio::test]
async fn metrics_count_requests_errors_and_appends() {
    let server = TestServer::start(&[]).await;
    server.consent(&new_id()).await;
    let _ = server.post_json("/v1/consents", &json!({})).await;
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("vivus_http_requests_total{route=\"/v1/consents\",status=\"201\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vivus_http_requests_total{route=\"/v1/consents\",status=\"400\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vivus_http_errors_total{code=\"invalid_request\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vivus_ledger_appends_total{backend=\"sqlite\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vivus_http_request_duration_seconds_count{route=\"/v1/consents\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn demo_application_needs_a_valid_token_with_policy_acceptance() {
    let server = TestServer::start(&[]).await;
    let (_, token) = server.consent(&new_id()).await;
    let form = [
        ("consent_token", token.as_str()),
        ("name", "<b>Айгерим</b>"),
        ("amount", "50000"),
        ("iin", "900101300123"),
    ];
    let response = server
        .client
        .post(server.url("/demo/applications"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/html"));
    let html = response.text().await.expect("html");
    assert!(
        html.contains("&lt;b&gt;Айгерим&lt;/b&gt;"),
        "the name is escaped: {html}"
    );
    assert!(html.contains("50000"));
    assert!(!html.contains("900101300123"), "the IIN is not echoed");
    assert!(html.contains("Заявка принята") && html.contains("Өтінім қабылданды"));

    let none = server
        .client
        .post(server.url("/demo/applications"))
        .form(&[("name", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(none.status(), 403);
    let html = none.text().await.expect("html");
    assert!(html.contains("Заявка не принята") && html.contains("Өтінім қабылданбады"));

    let mut refused = consent_body(&new_id(), &new_id());
    refused["policyAccepted"] = json!(false);
    let (_, answer) = server.post_consent(&refused).await;
    let no_pa = answer["token"].as_str().expect("token");
    let response = server
        .client
        .post(server.url("/demo/applications"))
        .form(&[("consent_token", no_pa)])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("policy_not_accepted"));
}

#[tokio::test]
async fn static_files_carry_security_headers_and_wasm_is_typed() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(site.path().join("www")).expect("www");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg");
    std::fs::write(
        site.path().join("www/index.html"),
        "<!doctype html><title>demo</title>",
    )
    .expect("index");
    std::fs::write(site.path().join("pkg/sdk_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    let dir = site.path().display().to_string();
    let server = TestServer::start(&["--static-dir", &dir]).await;

    let index = server
        .client
        .get(server.url("/"))
        .send()
        .await
        .expect("index");
    assert_eq!(index.status(), 200);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        // The site frames its own pages (the video embed); other sites may not.
        ("x-frame-options", "SAMEORIGIN"),
    ] {
        assert_eq!(index.headers()[name], value, "{name}");
    }
    assert!(index.text().await.expect("html").contains("demo"));
    let wasm = server
        .client
        .get(server.url("/pkg/sdk_bg.wasm"))
        .send()
        .await
        .expect("wasm");
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    let missing = server
        .client
        .get(server.url("/pkg/nothing.js"))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
    // The API still wins over the static fallback.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}
