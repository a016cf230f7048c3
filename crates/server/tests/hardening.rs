//! Hostile clients over a real socket (issue 8, "At the service"): bad and oversized
//! bodies, slow-loris clients, floods from one network, and attempts to read another
//! subject's history. Every case is bounded in count and time; each test runs in a few
//! seconds. docs/security.md ("Service") lists what each test covers.

mod common;

use std::time::{Duration, Instant};

use common::{consent_body, new_id, TestServer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vivus_consent_core::token::{self, Claims};
use vivus_consent_server::ledger::ChainStatus;

/// How long any single bad request may take to be answered (or cut off).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Records in the ledger (the chain must also be intact).
async fn records(server: &TestServer) -> u64 {
    match server.state.ledger.verify().await.expect("verify") {
        ChainStatus::Intact { records, .. } => records,
        broken => panic!("the ledger is broken: {broken:?}"),
    }
}

/// What the server sent back on a raw connection before closing it or going quiet.
struct Raw {
    status: Option<u16>,
    text: String,
}

impl Raw {
    fn code(&self) -> Option<String> {
        let body = self.text.split("\r\n\r\n").nth(1)?;
        // Chunked or not, the JSON object is the part between the outer braces.
        let start = body.find('{')?;
        let end = body.rfind('}')?;
        let v: Value = serde_json::from_str(&body[start..=end]).ok()?;
        v["code"].as_str().map(str::to_owned)
    }
}

/// Sends `head` then `body` on a fresh connection (no keep-alive) and reads the answer.
async fn raw(server: &TestServer, head: &str, body: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413, 415) and close before the body is all sent.
    let _ = stream.write_all(body).await;
    read_answer(&mut stream, ANSWER_WITHIN).await
}

async fn read_answer(stream: &mut TcpStream, within: Duration) -> Raw {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                // A complete response with Content-Length is enough; no need to wait for close.
                if complete(&buf) {
                    break;
                }
            }
            Err(_) => panic!(
                "no answer and no close within {within:?}; got so far: {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok());
    Raw { status, text }
}

fn complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .is_some_and(|len| body.len() >= len)
}

fn post_head(path: &str, content_type: Option<&str>, length: Option<usize>) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    match length {
        Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        None => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    head
}

#[tokio::test]
async fn bad_bodies_get_a_4xx_quickly_and_record_nothing() {
    let server = TestServer::start(&[]).await;
    let valid = consent_body(&new_id(), &new_id()).to_string();
    let json = Some("application/json");

    let mut unknown_member = consent_body(&new_id(), &new_id());
    unknown_member["admin"] = json!(true);
    let mut wrong_type = consent_body(&new_id(), &new_id());
    wrong_type["categories"] = json!(["necessary", "marketing"]);
    let mut wrong_number = consent_body(&new_id(), &new_id());
    wrong_number["policyAccepted"] = json!(1);
    let mut invalid_utf8 = consent_body(&new_id(), &new_id()).to_string().into_bytes();
    let at = invalid_utf8
        .windows(6)
        .position(|w| w == b"banner")
        .expect("source")
        + 1;
    invalid_utf8[at] = 0xff;
    let deep_under_limit = "[".repeat(8_000);
    let deep_over_limit = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(1_500);
    let duplicate = valid.replacen("\"gpc\":false", "\"gpc\":false,\"gpc\":true", 1);
    let withdraw = json!({"id": new_id()}).to_string();
    let nul_in_string = valid.replacen("banner", "ban\\u0000ner", 1);

    // Deep nesting is refused at its first level: the decoder expects an object of known
    // members (deny_unknown_fields), so it never recurses into the rest; the 8 KiB limit
    // caps the input anyway.
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "truncated JSON",
            post_head("/v1/consents", json, Some(7)),
            b"{\"id\":\"".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "not JSON at all",
            post_head("/v1/consents", json, Some(5)),
            b"hello".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "JSON null",
            post_head("/v1/consents", json, Some(4)),
            b"null".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "empty body",
            post_head("/v1/consents", json, Some(0)),
            Vec::new(),
            400,
            "malformed_json",
        ),
        (
            "unknown member",
            post_head("/v1/consents", json, Some(unknown_member.to_string().len())),
            unknown_member.to_string().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "array for an object",
            post_head("/v1/consents", json, Some(wrong_type.to_string().len())),
            wrong_type.to_string().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "number for a bool",
            post_head("/v1/consents", json, Some(wrong_number.to_string().len())),
            wrong_number.to_string().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "duplicate member",
            post_head("/v1/consents", json, Some(duplicate.len())),
            duplicate.clone().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "NUL in a string",
            post_head("/v1/consents", json, Some(nul_in_string.len())),
            nul_in_string.clone().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "invalid UTF-8",
            post_head("/v1/consents", json, Some(invalid_utf8.len())),
            invalid_utf8.clone(),
            400,
            "malformed_json",
        ),
        (
            "8 000 nested arrays",
            post_head("/v1/consents", json, Some(deep_under_limit.len())),
            deep_under_limit.clone().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "1 500 nested objects",
            post_head("/v1/consents", json, Some(deep_object.len())),
            deep_object.clone().into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "100 000 nested arrays",
            post_head("/v1/consents", json, Some(deep_over_limit.len())),
            deep_over_limit.clone().into_bytes(),
            413,
            "payload_too_large",
        ),
        // Only the head is sent: the limit is enforced on the declared length, before reading.
        (
            "Content-Length of 1 GB",
            post_head("/v1/consents", json, Some(1_000_000_000)),
            Vec::new(),
            413,
            "payload_too_large",
        ),
        (
            "text/plain",
            post_head("/v1/consents", Some("text/plain"), Some(valid.len())),
            valid.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "form encoding",
            post_head(
                "/v1/consents",
                Some("application/x-www-form-urlencoded"),
                Some(valid.len()),
            ),
            valid.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "no Content-Type",
            post_head("/v1/consents", None, Some(valid.len())),
            valid.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/jsonp",
            post_head("/v1/consents", Some("application/jsonx"), Some(valid.len())),
            valid.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "verify: wrong type",
            post_head("/v1/verify", json, Some(13)),
            b"{\"token\":123}".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "withdraw: no token",
            post_head(
                &format!("/v1/consents/{}/withdraw", new_id()),
                json,
                Some(withdraw.len()),
            ),
            withdraw.clone().into_bytes(),
            401,
            "missing_token",
        ),
    ];
    for (name, head, body, status, code) in cases {
        let started = Instant::now();
        let answer = raw(&server, &head, &body).await;
        assert!(
            started.elapsed() < ANSWER_WITHIN,
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(answer.status, Some(status), "{name}: {}", answer.text);
        assert_eq!(
            answer.code().as_deref(),
            Some(code),
            "{name}: {}",
            answer.text
        );
    }

    // Chunked, no length: 64 KiB in 1 KiB chunks is cut at the 8 KiB limit.
    let mut chunked = Vec::new();
    for _ in 0..64 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b' '; 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = raw(&server, &post_head("/v1/consents", json, None), &chunked).await;
    assert_eq!(answer.status, Some(413), "{}", answer.text);
    assert_eq!(answer.code().as_deref(), Some("payload_too_large"));

    // Garbage instead of HTTP, and a header line far over any sane size: a 4xx or a close.
    for head in [
        "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n\r\n".to_owned(),
        format!(
            "GET /healthz HTTP/1.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(512 * 1024)
        ),
    ] {
        let answer = raw(&server, &head, b"").await;
        assert!(
            answer.status.is_none_or(|s| (400..500).contains(&s)),
            "{}",
            answer.text
        );
    }

    assert_eq!(records(&server).await, 0, "no bad request left a record");
    // And the service still answers normally.
    let (status, _) = server
        .post_consent(&consent_body(&new_id(), &new_id()))
        .await;
    assert_eq!(status, 201);
}

/// Writes `bytes` one at a time, `gap` apart, until done or the server closes.
async fn dribble(stream: &mut TcpStream, bytes: &[u8], gap: Duration) -> bool {
    for b in bytes {
        if stream.write_all(&[*b]).await.is_err() {
            return false;
        }
        tokio::time::sleep(gap).await;
    }
    true
}

#[tokio::test]
async fn slow_loris_clients_are_cut_off_and_others_are_served_meanwhile() {
    let server = TestServer::start(&[
        "--header-read-timeout-secs",
        "1",
        "--body-read-timeout-secs",
        "1",
    ])
    .await;
    let body = consent_body(&new_id(), &new_id()).to_string();
    let started = Instant::now();
    let mut attackers = Vec::new();
    for i in 0..50 {
        let addr = server.addr;
        let body = body.clone();
        attackers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let head = post_head("/v1/consents", Some("application/json"), Some(body.len()));
            if i % 2 == 0 {
                // Headers a byte every 100 ms: 10 s for the head alone.
                dribble(&mut stream, head.as_bytes(), Duration::from_millis(100)).await;
            } else {
                // The whole head at once, then the body a byte every 100 ms.
                stream.write_all(head.as_bytes()).await.expect("head");
                dribble(&mut stream, body.as_bytes(), Duration::from_millis(100)).await;
            }
            let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
            (i, answer.status, answer.code(), started.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While all 50 are open: normal clients, each on its own connection, are served at once.
    for _ in 0..5 {
        let client = reqwest::Client::new();
        let t = Instant::now();
        let response = client
            .post(server.url("/v1/consents"))
            .json(&consent_body(&new_id(), &new_id()))
            .send()
            .await
            .expect("normal consent");
        assert_eq!(response.status(), 201);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a normal consent took {:?} during the attack",
            t.elapsed()
        );
    }

    for attacker in attackers {
        let (i, status, code, at) = attacker.await.expect("attacker task");
        // Cut off about 1 s after connecting (header timeout) or after the head (body deadline).
        assert!(
            at < Duration::from_secs(4),
            "slow client {i} held on for {at:?}"
        );
        if i % 2 == 0 {
            assert!(
                status.is_none() || status == Some(408),
                "slow headers: {status:?}"
            );
        } else {
            assert_eq!(status, Some(408), "slow body");
            assert_eq!(code.as_deref(), Some("request_timeout"));
        }
    }
    assert_eq!(
        records(&server).await,
        5,
        "only the normal clients' consents are recorded"
    );
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_header_timeout() {
    let server = TestServer::start(&["--header-read-timeout-secs", "1"]).await;
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    let t = Instant::now();
    let answer = read_answer(&mut idle, Duration::from_secs(3)).await;
    assert!(answer.status.is_none_or(|s| s == 408), "{}", answer.text);
    assert!(
        t.elapsed() >= Duration::from_millis(900) && t.elapsed() < Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn the_connection_cap_queues_clients_instead_of_failing_them() {
    let server =
        TestServer::start(&["--max-connections", "2", "--header-read-timeout-secs", "1"]).await;
    // Two idle connections take both slots; the third client waits until the header
    // timeout frees one, then is served.
    let _a = TcpStream::connect(server.addr).await.expect("a");
    let _b = TcpStream::connect(server.addr).await.expect("b");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let health = reqwest::Client::new()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("queued client");
    assert_eq!(health.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn a_flood_from_one_network_is_limited_while_another_is_served() {
    let server = TestServer::start(&[
        "--trust-forwarded-for",
        "--rate-limit-per-second",
        "5",
        "--rate-limit-burst",
        "10",
    ])
    .await;
    let started = Instant::now();
    let mut flood = Vec::new();
    for worker in 0..8 {
        let client = server.client.clone();
        let url = server.url("/v1/consents");
        flood.push(tokio::spawn(async move {
            let mut counts = (0_u32, 0_u32);
            for n in 0..25 {
                // Rotating the address inside the /24 does not escape the limit.
                let ip = format!("203.0.113.{}", (worker * 25 + n) % 250 + 1);
                let r = client
                    .post(&url)
                    .header("x-forwarded-for", format!("10.9.9.9, {ip}"))
                    .json(&consent_body(&new_id(), &new_id()))
                    .send()
                    .await
                    .expect("flood request");
                match r.status().as_u16() {
                    201 => counts.0 += 1,
                    429 => {
                        assert!(r.headers().contains_key("retry-after"));
                        counts.1 += 1;
                    }
                    other => panic!("flood got {other}"),
                }
            }
            counts
        }));
    }
    // Meanwhile, another network is served every time.
    for _ in 0..8 {
        let t = Instant::now();
        let r = server
            .client
            .post(server.url("/v1/consents"))
            .header("x-forwarded-for", "198.51.100.20")
            .json(&consent_body(&new_id(), &new_id()))
            .send()
            .await
            .expect("other network");
        assert_eq!(r.status(), 201, "the other network was limited");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut accepted, mut limited) = (0, 0);
    for f in flood {
        let (a, l) = f.await.expect("flood task");
        accepted += a;
        limited += l;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 10.0 + 5.0 * elapsed + 1.0;
    assert_eq!(accepted + limited, 200);
    assert!(
        f64::from(accepted) <= allowed,
        "{accepted} of the flood accepted in {elapsed:.2} s (at most {allowed:.0})"
    );
    assert!(limited > 0, "the flood was never limited");
    assert_eq!(records(&server).await, u64::from(accepted) + 8);
}

#[tokio::test]
async fn a_spoofed_forwarded_for_is_ignored_unless_the_proxy_is_trusted() {
    let server =
        TestServer::start(&["--rate-limit-per-second", "1", "--rate-limit-burst", "3"]).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let r = server
            .client
            .post(server.url("/v1/verify"))
            .header("x-forwarded-for", format!("192.0.2.{n}"))
            .json(&json!({"token": "x"}))
            .send()
            .await
            .expect("verify");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
}

fn server_signed(server: &TestServer, claims: &Claims) -> String {
    server
        .state
        .keys
        .signer()
        .expect("signing key")
        .sign(claims)
}

#[tokio::test]
async fn history_never_shows_another_subjects_records() {
    let server = TestServer::start(&[]).await;
    let alice = new_id();
    let bob = new_id();
    let (alice_body, alice_token) = server.consent(&alice).await;
    let (bob_body, bob_token) = server.consent(&bob).await;
    let alice_url = server.url(&format!("/v1/subjects/{alice}/consents"));
    let bob_url = server.url(&format!("/v1/subjects/{bob}/consents"));
    let bob_id = bob_body["id"].as_str().expect("id").to_owned();
    let alice_claims = token::peek_claims(&alice_token).expect("claims");

    let expired = server_signed(
        &server,
        &Claims {
            iat: 1_000_000,
            exp: 1_000_100,
            ..alice_claims.clone()
        },
    );
    let other_issuer = server_signed(
        &server,
        &Claims {
            iss: "someone-else".to_owned(),
            ..alice_claims.clone()
        },
    );
    let future = server_signed(
        &server,
        &Claims {
            iat: alice_claims.iat + 3_600,
            ..alice_claims.clone()
        },
    );
    let header = vivus_consent_core::base64url::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = alice_token.split('.').nth(1).expect("payload");
    let bob_payload = alice_token.split('.').nth(1).map(|_| {
        let mut c: Value =
            serde_json::from_slice(&vivus_consent_core::base64url::decode(payload).expect("b64"))
                .expect("json");
        c["sub"] = json!(bob);
        vivus_consent_core::base64url::encode(c.to_string().as_bytes())
    });
    let resigned_payload = format!(
        "{}.{}.{}",
        alice_token.split('.').next().expect("h"),
        bob_payload.expect("p"),
        alice_token.split('.').nth(2).expect("s")
    );
    let alg_none = format!("{header}.{payload}.");

    let cases: Vec<(&str, &str, Option<&str>, u16, &str)> = vec![
        (
            "Alice's valid token on Bob's path",
            &bob_url,
            Some(&alice_token),
            403,
            "forbidden",
        ),
        (
            "Bob's valid token on Alice's path",
            &alice_url,
            Some(&bob_token),
            403,
            "forbidden",
        ),
        (
            "Alice's token with sub changed to Bob",
            &bob_url,
            Some(&resigned_payload),
            401,
            "bad_signature",
        ),
        (
            "Alice's token, expired, on her own path",
            &alice_url,
            Some(&expired),
            401,
            "expired",
        ),
        (
            "Alice's token from another issuer",
            &alice_url,
            Some(&other_issuer),
            401,
            "wrong_issuer",
        ),
        (
            "Alice's token issued an hour ahead",
            &alice_url,
            Some(&future),
            401,
            "not_yet_valid",
        ),
        (
            "alg none",
            &alice_url,
            Some(&alg_none),
            401,
            "unsupported_algorithm",
        ),
        (
            "no token on Bob's path",
            &bob_url,
            None,
            401,
            "missing_token",
        ),
    ];
    for (name, url, bearer, status, code) in cases {
        let mut request = server.client.get(url);
        if let Some(t) = bearer {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.expect("history");
        assert_eq!(r.status().as_u16(), status, "{name}");
        let text = r.text().await.expect("body");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["code"], code, "{name}: {text}");
        assert!(
            !text.contains(&bob_id) && !text.contains("records"),
            "{name} leaked records: {text}"
        );
    }
    // Path tricks: another case, a trailing slash, an encoded slash, a query string.
    for path in [
        format!("/v1/subjects/{}/consents", bob.to_ascii_uppercase()),
        format!("/v1/subjects/{bob}/consents/"),
        format!("/v1/subjects/{alice}%2F..%2F{bob}/consents"),
        format!("/v1/subjects/{bob}/consents?subject={alice}"),
    ] {
        let r = server
            .client
            .get(server.url(&path))
            .bearer_auth(&alice_token)
            .send()
            .await
            .expect("history");
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
        let text = r.text().await.expect("body");
        assert!(!text.contains(&bob_id), "{path} leaked: {text}");
    }
    // Withdrawing from Bob's consent with Alice's token: refused, nothing recorded.
    let before = records(&server).await;
    let r = server
        .client
        .post(server.url(&format!("/v1/consents/{bob_id}/withdraw")))
        .bearer_auth(&alice_token)
        .json(&json!({"id": new_id()}))
        .send()
        .await
        .expect("withdraw");
    assert_eq!(r.status(), 403);
    assert_eq!(records(&server).await, before);
    // Her own token still reads exactly her own record.
    let own: Value = server
        .client
        .get(&alice_url)
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("own")
        .json()
        .await
        .expect("json");
    let list = own["records"].as_array().expect("records");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["consentId"], alice_body["id"]);
}

/// A body that cannot be read as HTTP (a chunk size that is not hex) is `400
/// unreadable_body`, not a 5xx, and records nothing.
#[tokio::test]
async fn a_body_that_cannot_be_read_is_unreadable_body() {
    let server = TestServer::start(&[]).await;
    let answer = raw(
        &server,
        &post_head("/v1/consents", Some("application/json"), None),
        b"zz\r\n{}\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, Some(400), "{}", answer.text);
    assert_eq!(
        answer.code().as_deref(),
        Some("unreadable_body"),
        "{}",
        answer.text
    );
    assert_eq!(records(&server).await, 0);
}
