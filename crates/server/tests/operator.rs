//! The operator API (`/v1/operator/...`) over a real socket, against SQLite always and
//! PostgreSQL when `VIVUS_TEST_POSTGRES_URL` is set (each test in its own schema): sign-in
//! and what it refuses, a consent with its proof, a subject's history, the export and
//! the figures, and the console's files.

mod common;

use common::{consent_body, new_id, TestServer};
use serde_json::{json, Value};
use vivus_consent_core::policy;
use vivus_consent_server::ledger::proof::{self, ProofError, RecordFields};
use vivus_consent_server::ledger::{Entry, Personal, RecordKind};
use vivus_consent_server::operator::{self, OperatorName};

/// A server on SQLite or on a fresh PostgreSQL schema, with `extra` flags.
struct Setup {
    server: TestServer,
    postgres: Option<(String, String)>,
}

impl Setup {
    async fn sqlite(extra: &[&str]) -> Self {
        Self {
            server: TestServer::start(extra).await,
            postgres: None,
        }
    }

    async fn postgres(test: &str, extra: &[&str]) -> Option<Self> {
        let url = common::postgres_url(test)?;
        let (url, schema) = common::postgres_schema(&url).await;
        let server =
            TestServer::start_in(tempfile::tempdir().expect("tempdir"), url.clone(), extra).await;
        Some(Self {
            server,
            postgres: Some((url, schema)),
        })
    }

    async fn cleanup(self) {
        let postgres = self.postgres.clone();
        drop(self.server.stop().await);
        if let Some((url, schema)) = postgres {
            common::drop_postgres_schema(&url, &schema).await;
        }
    }
}

/// Adds an operator through the accounts of the server's database; returns the token.
async fn add_operator(server: &TestServer, name: &str) -> String {
    let (token, hash) = operator::new_token().expect("token");
    let name = OperatorName::parse(name).expect("name");
    server
        .state
        .operator
        .accounts
        .add(&name, hash, vivus_consent_server::now_ms())
        .await
        .expect("add operator");
    token
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = server.client.get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn get_json(server: &TestServer, path: &str, token: &str) -> Value {
    let response = get(server, path, Some(token)).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

/// An entry as the service would write it, at a chosen time (the figures and the export
/// select by time, and the HTTP API stamps the present).
fn entry_at(
    recorded_at: i64,
    language: &str,
    source: &str,
    categories: &str,
    gpc: bool,
    kind: RecordKind,
) -> Entry {
    Entry {
        consent_id: new_id(),
        subject_id: new_id(),
        kind,
        withdraws: None,
        recorded_at,
        policy_version: policy::CURRENT.id.to_owned(),
        policy_digest: policy::CURRENT.digest.to_owned(),
        language: language.to_owned(),
        categories: categories.to_owned(),
        policy_accepted: source == "form",
        source: source.to_owned(),
        gpc,
        user_agent: "Mozilla/5.0, \"quoted\"\nand a line break".to_owned(),
        client_network: "203.0.113.0/24".to_owned(),
        personal: Personal::seal(
            "Mozilla/5.0, \"quoted\"\nand a line break",
            "203.0.113.0/24",
        )
        .expect("salt"),
        request_hash: [9; 32],
        token: "not-a-jws".to_owned(),
    }
}

async fn every_failed_sign_in_gets_the_same_401(setup: &Setup) {
    let server = &setup.server;
    let good = add_operator(server, "alice").await;
    let revoked = add_operator(server, "bob").await;
    assert!(server
        .state
        .operator
        .accounts
        .revoke("bob", vivus_consent_server::now_ms())
        .await
        .expect("revoke"));
    let (_, visitor_token) = server.consent(&new_id()).await;
    let (unknown, _) = operator::new_token().expect("token");

    let me = get_json(server, "/v1/operator/me", &good).await;
    assert_eq!(me, json!({"operator": "alice"}));

    let headers: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("a malformed header", Some(format!("Token {good}"))),
        ("Bearer and nothing", Some("Bearer ".to_owned())),
        (
            "Basic credentials",
            Some("Basic YWxpY2U6c2VjcmV0".to_owned()),
        ),
        (
            "a visitor's consent token",
            Some(format!("Bearer {visitor_token}")),
        ),
        (
            "a revoked operator's token",
            Some(format!("Bearer {revoked}")),
        ),
        ("a token no operator has", Some(format!("Bearer {unknown}"))),
        (
            "a token cut short",
            Some(format!("Bearer {}", &good[..good.len() - 1])),
        ),
    ];
    let mut bodies = Vec::new();
    for (what, header) in &headers {
        for path in [
            "/v1/operator/me",
            &format!("/v1/operator/consents/{}", new_id()),
            "/v1/operator/export?format=csv",
        ] {
            let mut request = server.client.get(server.url(path));
            if let Some(h) = header {
                request = request.header("authorization", h);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 401, "{what} on {path}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"vivus-consent\"",
                "{what}"
            );
            let body = response.text().await.expect("body");
            assert!(
                !body.contains("bob") && !body.contains("alice") && !body.contains("revoked"),
                "{what}: {body}"
            );
            bodies.push(body);
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every refusal reads the same: {bodies:?}"
    );
    let body: Value = serde_json::from_str(&bodies[0]).expect("json");
    assert_eq!(body["code"], "unauthorized");

    // The visitor API does not take an operator token either.
    let subject = token_subject(&visitor_token);
    let response = get(
        server,
        &format!("/v1/subjects/{subject}/consents"),
        Some(&good),
    )
    .await;
    assert_eq!(response.status(), 401);
    let verify: Value = server.verify_token(&good).await;
    assert_eq!(verify["valid"], false);
}

fn token_subject(token: &str) -> String {
    vivus_consent_core::token::peek_claims(token)
        .expect("claims")
        .sub
        .as_str()
        .to_owned()
}

async fn a_consent_comes_with_its_policy_and_a_proof_that_checks(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "dpo@vivus.kz").await;
    let subject = new_id();
    let (body, visitor) = server.consent(&subject).await;
    let id = body["id"].as_str().expect("id").to_owned();
    // A withdrawal and other visitors' consents after it: the proof links across them.
    let withdrawal = new_id();
    let response = server
        .client
        .post(server.url(&format!("/v1/consents/{id}/withdraw")))
        .bearer_auth(&visitor)
        .json(&json!({"id": withdrawal, "categories": ["analytics"]}))
        .send()
        .await
        .expect("withdraw");
    assert_eq!(response.status(), 201);
    for _ in 0..3 {
        server.consent(&new_id()).await;
    }

    let answer = get_json(server, &format!("/v1/operator/consents/{id}"), &token).await;
    let record = &answer["record"];
    assert_eq!(record["consentId"], id.as_str());
    assert_eq!(record["subject"], subject.as_str());
    assert_eq!(record["kind"], "consent");
    assert_eq!(record["sequence"], 1);
    assert_eq!(record["categories"], json!(["necessary", "analytics"]));
    assert_eq!(record["source"], "banner");
    assert_eq!(
        answer["policy"],
        json!({
            "version": policy::CURRENT.id, "digest": policy::CURRENT.digest, "published": true, "current": true,
            "text": {"ru": format!("/v1/policy/{}/ru.md", policy::CURRENT.id), "kk": format!("/v1/policy/{}/kk.md", policy::CURRENT.id)},
        })
    );
    let proof_value = &answer["proof"];
    assert_eq!(proof_value["record"]["hash"], record["recordHash"]);
    assert_eq!(
        proof_value["links"].as_array().expect("links").len(),
        4,
        "the withdrawal and three consents follow"
    );
    assert_eq!(proof_value["head"]["sequence"], 5);

    // The proof file is what `ledger prove` writes, and it checks with nothing else.
    let file = get(
        server,
        &format!("/v1/operator/consents/{id}/proof"),
        Some(&token),
    )
    .await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["content-disposition"],
        format!("attachment; filename=\"vivus-consent-proof-{id}.json\"").as_str()
    );
    let bytes = file.bytes().await.expect("bytes");
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).expect("json"),
        *proof_value
    );
    let checked = proof::check(&bytes).expect("the proof checks out");
    assert_eq!(checked.links, 4);
    assert_eq!(
        checked.signed_by.as_deref(),
        server.state.keys.signer().map(|k| k.kid())
    );
    let head = server
        .state
        .ledger
        .head()
        .await
        .expect("head")
        .expect("some");
    assert_eq!(
        checked.head.hash,
        vivus_consent_server::ledger::hex(&head.1)
    );
    // The head is the newest checkpoint the service signed, and the proof says by which key.
    let (claims, kid) = checked.head_signed.clone().expect("a signed head");
    assert_eq!(
        (claims.seq, claims.head.as_str()),
        (5, checked.head.hash.as_str())
    );
    assert_eq!(
        Some(kid.as_str()),
        server.state.keys.signer().map(|k| k.kid())
    );
    assert_eq!(
        checked.record.record_format, 2,
        "the service writes format 2"
    );
    assert!(checked.record.salt.is_some() && checked.record.user_agent_hash.is_some());

    // The withdrawal is found by its own id, and points back.
    let answer = get_json(
        server,
        &format!("/v1/operator/consents/{withdrawal}"),
        &token,
    )
    .await;
    assert_eq!(answer["record"]["kind"], "withdrawal");
    assert_eq!(answer["record"]["withdraws"], id.as_str());
    assert_eq!(answer["record"]["categories"], json!(["necessary"]));
    let file = get(
        server,
        &format!("/v1/operator/consents/{withdrawal}/proof"),
        Some(&token),
    )
    .await
    .bytes()
    .await
    .expect("bytes");
    assert_eq!(
        serde_json::from_slice::<Value>(&file).expect("json"),
        answer["proof"],
        "the embedded proof is the file"
    );
    assert_eq!(proof::check(&file).expect("checks").links, 3);

    let missing = get(
        server,
        &format!("/v1/operator/consents/{}", new_id()),
        Some(&token),
    )
    .await;
    assert_eq!(missing.status(), 404);
    let malformed = get(server, "/v1/operator/consents/not-an-id", Some(&token)).await;
    assert_eq!(malformed.status(), 400);

    // A subject's whole history, oldest first.
    let history = get_json(
        server,
        &format!("/v1/operator/subjects/{subject}/consents"),
        &token,
    )
    .await;
    let kinds: Vec<&str> = history["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["consent", "withdrawal"]);
    assert_eq!(history["truncated"], false);
    let empty = get_json(
        server,
        &format!("/v1/operator/subjects/{}/consents", new_id()),
        &token,
    )
    .await;
    assert_eq!(empty["records"], json!([]));
}

/// Every single changed byte of a proof is caught, wherever it is: in the record, a link,
/// the head, the key, or the JSON around them.
async fn a_proof_with_any_byte_changed_is_rejected(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "audit").await;
    let (body, _) = server.consent(&new_id()).await;
    let id = body["id"].as_str().expect("id").to_owned();
    for _ in 0..2 {
        server.consent(&new_id()).await;
    }
    let bytes = get(
        server,
        &format!("/v1/operator/consents/{id}/proof"),
        Some(&token),
    )
    .await
    .bytes()
    .await
    .expect("bytes");
    let bytes = bytes.to_vec();
    proof::check(&bytes).expect("the original checks out");
    let mut rejected = 0;
    for i in 0..bytes.len() {
        for flip in [0x01_u8, 0x20, 0x80] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            let err =
                proof::check(&changed).expect_err(&format!("byte {i} ^ {flip:#x} went unnoticed"));
            assert!(!err.to_string().is_empty());
            rejected += 1;
        }
    }
    assert_eq!(rejected, bytes.len() * 3);
    // A cut-off file and an appended byte too.
    assert!(proof::check(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(b' ');
    assert!(proof::check(&longer).is_err());
    // Reformatted (pretty-printed) JSON means the same but is not the file as written.
    let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&bytes).expect("json"))
        .expect("pretty");
    assert_eq!(proof::check(&pretty), Err(ProofError::NotAsWritten));
}

async fn the_export_streams_the_period_in_chain_order(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "compliance").await;
    // 2026-03-01 and 2026-03-02 in Almaty (UTC+5), and one record on each side of them.
    let day = 86_400_000_i64;
    let march_1_almaty = 1_772_305_200_000_i64; // 2026-03-01T00:00:00+05:00
    let times = [
        march_1_almaty - 1,
        march_1_almaty,
        march_1_almaty + day - 1,
        march_1_almaty + day + 5,
        march_1_almaty + 2 * day,
    ];
    let mut inside = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let appended = server
            .state
            .ledger
            .append(entry_at(
                *at,
                "kk",
                "banner",
                "necessary,marketing",
                i % 2 == 0,
                RecordKind::Consent,
            ))
            .await
            .expect("append");
        let vivus_consent_server::ledger::Appended::New(record) = appended else {
            panic!("new record")
        };
        if (1..=3).contains(&i) {
            inside.push(record.sequence);
        }
    }

    let url = "/v1/operator/export?from=2026-03-01&to=2026-03-02&utcOffset=%2B05:00&format=jsonl";
    let response = get(server, url, Some(&token)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-ndjson; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"vivus-consents-2026-03-01-to-2026-03-02.jsonl\""
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.expect("text");
    let rows: Vec<RecordFields> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record per line"))
        .collect();
    assert_eq!(rows.iter().map(|r| r.sequence).collect::<Vec<_>>(), inside);
    for row in &rows {
        let record = row.to_record().expect("fields");
        assert_eq!(
            vivus_consent_server::ledger::record_hash(
                &record.prev_hash,
                record.sequence,
                &record.entry
            ),
            record.hash,
            "each exported record recomputes to its hash"
        );
        let stored = server
            .state
            .ledger
            .find(&row.consent_id)
            .await
            .expect("find")
            .expect("stored");
        assert_eq!(stored, record, "and is the record in the ledger");
    }

    let csv = get(server, &url.replace("jsonl", "csv"), Some(&token)).await;
    assert_eq!(
        csv.headers()["content-type"],
        "text/csv; charset=utf-8; header=present"
    );
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .ends_with(".csv\""));
    let csv = csv.text().await.expect("csv");
    let header = csv.split("\r\n").next().expect("header");
    assert_eq!(header, proof::FIELD_NAMES.join(","));
    // The user agent holds a comma, quotes and a line break: quoted, quotes doubled.
    assert!(
        csv.contains("\"Mozilla/5.0, \"\"quoted\"\"\nand a line break\""),
        "{csv}"
    );
    assert_eq!(csv.matches("\r\n").count(), 1 + inside.len());

    // Whole days given in UTC, and an instant as the end: other records.
    let utc = get(
        server,
        "/v1/operator/export?from=2026-02-28T18:59:59.999Z&to=2026-02-28T19:00:00.001Z",
        Some(&token),
    )
    .await;
    assert_eq!(utc.text().await.expect("text").lines().count(), 2);
    let nothing = get(
        server,
        "/v1/operator/export?from=2030-01-01&to=2030-01-02&format=csv",
        Some(&token),
    )
    .await;
    assert_eq!(
        nothing.text().await.expect("text"),
        format!("{}\r\n", proof::FIELD_NAMES.join(","))
    );
    let all = get(server, "/v1/operator/export", Some(&token))
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(
        all.lines().count(),
        times.len(),
        "no period: the whole ledger"
    );

    for (query, says) in [
        (
            "from=yesterday",
            "from: \"yesterday\" is not a date or time",
        ),
        ("format=xml", "format: \"xml\" is not jsonl or csv"),
        ("from=2026-03-02&to=2026-03-01", "the period is empty"),
        ("utcOffset=%2B5", "utcOffset"),
        ("form=2026-03-01", "unknown field `form`"),
    ] {
        let response = get(
            server,
            &format!("/v1/operator/export?{query}"),
            Some(&token),
        )
        .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "invalid_query", "{query}");
        assert!(
            body["message"].as_str().expect("message").contains(says),
            "{query}: {body}"
        );
    }
}

async fn the_figures_count_per_day_language_and_source(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "analyst").await;
    let march_1_almaty = 1_772_305_200_000_i64;
    let hour = 3_600_000_i64;
    let entries = [
        // Day 1: three consents (one refusing everything), one withdrawal.
        entry_at(
            march_1_almaty + hour,
            "ru",
            "banner",
            "necessary,analytics,marketing",
            false,
            RecordKind::Consent,
        ),
        entry_at(
            march_1_almaty + 2 * hour,
            "ru",
            "form",
            "necessary,analytics",
            true,
            RecordKind::Consent,
        ),
        entry_at(
            march_1_almaty + 2 * hour + 1,
            "kk",
            "banner",
            "necessary",
            false,
            RecordKind::Consent,
        ),
        entry_at(
            march_1_almaty + 3 * hour,
            "kk",
            "api",
            "necessary",
            false,
            RecordKind::Withdrawal,
        ),
        // Day 2: one consent from preferences.
        entry_at(
            march_1_almaty + 30 * hour,
            "kk",
            "preferences",
            "necessary,marketing",
            true,
            RecordKind::Consent,
        ),
        // Before the period (the day before in Almaty): not counted.
        entry_at(
            march_1_almaty - 1,
            "ru",
            "banner",
            "necessary,analytics,marketing",
            true,
            RecordKind::Consent,
        ),
    ];
    for e in entries {
        server.state.ledger.append(e).await.expect("append");
    }
    let stats = get_json(
        server,
        "/v1/operator/stats?from=2026-03-01&to=2026-03-02&utcOffset=%2B05:00",
        &token,
    )
    .await;
    assert_eq!(stats["from"], "2026-03-01T00:00:00+05:00");
    assert_eq!(stats["to"], "2026-03-03T00:00:00+05:00");
    assert_eq!(stats["bucket"], "day");
    assert_eq!(stats["categories"], json!(["analytics", "marketing"]));
    let buckets = stats["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0]["start"], "2026-03-01");
    assert_eq!(buckets[0]["startMs"], march_1_almaty);
    assert_eq!(buckets[0]["consents"], 3);
    assert_eq!(buckets[0]["withdrawals"], 1);
    assert_eq!(buckets[0]["records"], 4);
    assert_eq!(
        buckets[0]["policyAcceptances"], 1,
        "the form consent accepts the policy"
    );
    assert_eq!(
        buckets[0]["granted"]["analytics"],
        json!({"count": 2, "share": 0.6667})
    );
    assert_eq!(
        buckets[0]["granted"]["marketing"],
        json!({"count": 1, "share": 0.3333})
    );
    assert_eq!(buckets[1]["start"], "2026-03-02");
    assert_eq!(
        buckets[1]["granted"]["marketing"],
        json!({"count": 1, "share": 1.0})
    );
    assert_eq!(stats["totals"]["consents"], 4);
    let by_language: Vec<(String, u64)> = stats["byLanguage"]
        .as_array()
        .expect("languages")
        .iter()
        .map(|g| {
            (
                g["language"].as_str().expect("lang").to_owned(),
                g["consents"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(by_language, [("kk".to_owned(), 2), ("ru".to_owned(), 2)]);
    let sources: Vec<&str> = stats["bySource"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|g| g["source"].as_str().expect("s"))
        .collect();
    assert_eq!(sources, ["api", "banner", "form", "preferences"]);
    assert_eq!(
        stats["visitors"],
        json!({"total": 5, "withGpc": 2, "gpcShare": 0.4})
    );

    // By hour, in UTC: the first day's records fall in three hours.
    let hours = get_json(
        server,
        "/v1/operator/stats?from=2026-02-28T19:00:00Z&to=2026-02-28T23:00:00Z&bucket=hour",
        &token,
    )
    .await;
    let starts: Vec<&str> = hours["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["start"].as_str().expect("start"))
        .collect();
    assert_eq!(
        starts,
        [
            "2026-02-28T20:00:00Z",
            "2026-02-28T21:00:00Z",
            "2026-02-28T22:00:00Z"
        ]
    );

    // A period with nothing in it: zero counts, shares null.
    let empty = get_json(
        server,
        "/v1/operator/stats?from=2030-01-01&to=2030-01-02",
        &token,
    )
    .await;
    assert_eq!(empty["buckets"], json!([]));
    assert_eq!(
        empty["totals"]["granted"]["analytics"],
        json!({"count": 0, "share": null})
    );
    assert_eq!(empty["visitors"]["gpcShare"], Value::Null);
    let bad = get(server, "/v1/operator/stats?bucket=week", Some(&token)).await;
    assert_eq!(bad.status(), 400);
}

async fn a_proof_longer_than_allowed_says_how_to_make_it(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "support").await;
    let (body, _) = server.consent(&new_id()).await;
    let id = body["id"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        server.consent(&new_id()).await;
    }
    let answer = get_json(server, &format!("/v1/operator/consents/{id}"), &token).await;
    assert_eq!(answer["proof"], Value::Null);
    assert_eq!(answer["proofUnavailable"]["code"], "proof_too_long");
    assert!(answer["proofUnavailable"]["message"]
        .as_str()
        .expect("message")
        .contains(&format!("ledger prove {id}")));
    assert_eq!(
        answer["record"]["consentId"],
        id.as_str(),
        "the record is still there"
    );
    let file = get(
        server,
        &format!("/v1/operator/consents/{id}/proof"),
        Some(&token),
    )
    .await;
    assert_eq!(file.status(), 400);
}

/// With checkpoints every N records, a record newer than the newest checkpoint is proven
/// to the ledger's head, unsigned, and the proof says so; the record a checkpoint covers
/// is proven to that signed head.
async fn a_record_after_the_newest_checkpoint_has_an_unsigned_head(setup: &Setup) {
    let server = &setup.server;
    let token = add_operator(server, "audit").await;
    let (first, _) = server.consent(&new_id()).await;
    let (second, _) = server.consent(&new_id()).await;
    let proof_of = |body: &Value| {
        format!(
            "/v1/operator/consents/{}/proof",
            body["id"].as_str().expect("id")
        )
    };
    let bytes = get(server, &proof_of(&first), Some(&token))
        .await
        .bytes()
        .await
        .expect("bytes");
    let checked = proof::check(&bytes).expect("checks");
    assert_eq!(
        (checked.head.sequence, checked.links),
        (1, 0),
        "the first batch is checkpointed"
    );
    assert!(checked.head_signed.is_some());
    let bytes = get(server, &proof_of(&second), Some(&token))
        .await
        .bytes()
        .await
        .expect("bytes");
    let checked = proof::check(&bytes).expect("checks");
    assert_eq!(checked.head.sequence, 2);
    assert_eq!(checked.head.signed, None);
    assert!(checked.head_signed.is_none());
}

macro_rules! both_backends {
    ($($name:ident $(: $flags:expr)?),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let flags: &[&str] = &[$($flags)?];
                    let setup = Setup::sqlite(flags).await;
                    super::$name(&setup).await;
                    setup.cleanup().await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let flags: &[&str] = &[$($flags)?];
                    if let Some(setup) = Setup::postgres(concat!("postgres::", stringify!($name)), flags).await {
                        super::$name(&setup).await;
                        setup.cleanup().await;
                    }
                }
            )*
        }
    };
}

both_backends!(
    every_failed_sign_in_gets_the_same_401,
    a_consent_comes_with_its_policy_and_a_proof_that_checks,
    a_proof_with_any_byte_changed_is_rejected,
    the_export_streams_the_period_in_chain_order,
    the_figures_count_per_day_language_and_source,
    a_proof_longer_than_allowed_says_how_to_make_it: "--operator-proof-max-records=2",
    a_record_after_the_newest_checkpoint_has_an_unsigned_head: "--checkpoint-every=1000",
);

/// After a few failures a network is refused before its token is looked at: the right
/// token then gets 429 too, until the minute refills.
#[tokio::test]
async fn repeated_failures_are_refused_before_any_token_is_checked() {
    let server = TestServer::start(&["--operator-failed-auth-per-minute", "3"]).await;
    let good = add_operator(&server, "alice").await;
    assert_eq!(
        get(&server, "/v1/operator/me", Some(&good)).await.status(),
        200,
        "successes cost nothing"
    );
    for _ in 0..3 {
        let (guess, _) = operator::new_token().expect("token");
        assert_eq!(
            get(&server, "/v1/operator/me", Some(&guess)).await.status(),
            401
        );
    }
    for token in [good.as_str(), "wrong"] {
        let refused = get(&server, "/v1/operator/me", Some(token)).await;
        assert_eq!(refused.status(), 429);
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=20).contains(&wait), "{wait}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["code"], "rate_limited");
    }
    // The visitor API is not affected.
    assert_eq!(
        server
            .post_consent(&consent_body(&new_id(), &new_id()))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn the_console_is_served_under_its_own_strict_policy() {
    let server = TestServer::start(&[
        "--content-security-policy",
        "script-src 'self' 'nonce-{nonce}'",
    ])
    .await;
    let page = get(&server, "/operator/", None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policies: Vec<&str> = page
        .headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(
        policies.len(),
        2,
        "the site's policy and the console's own: {policies:?}"
    );
    assert!(
        policies
            .iter()
            .any(|p| p.starts_with("script-src 'self' 'nonce-")),
        "{policies:?}"
    );
    assert!(
        policies
            .iter()
            .any(|p| p.contains("trusted-types 'none'") && p.contains("frame-ancestors 'none'")),
        "{policies:?}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<script type=\"module\" src=\"/operator/console.js\"></script>"),
        "{html}"
    );
    let js = get(&server, "/operator/console.js", None).await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        get(&server, "/operator/nothing.js", None).await.status(),
        404
    );
    let bare = server
        .client
        .get(server.url("/operator"))
        .send()
        .await
        .expect("redirect followed");
    assert_eq!(bare.url().path(), "/operator/");
}

/// The proof the console's Node test checks (`tests/node/operator-proof.test.mjs`, a proof
/// of a real run) checks here too: one documented format, two implementations.
#[test]
fn the_committed_proof_checks_in_rust_too() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/node/fixtures/proof.json"
    ))
    .expect("the fixture");
    let checked = proof::check(&bytes).expect("it checks");
    assert_eq!(checked.links, 3);
    assert_eq!(checked.record.record_format, 2);
    assert!(checked.signed_by.is_some() && checked.head_signed.is_some());
}
