//! Per-stage cost of recording a consent, without HTTP: signing the token, hashing the
//! request, and the ledger append (SQLite, or PostgreSQL with `--database`), with CPU
//! time per operation. Shows which stage limits the service (a measurement, not a test).
//!
//! ```text
//! stages [--database postgres://…] [--seconds 3] [--concurrency 64]
//! ```
#![allow(clippy::print_stdout, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sha2::{Digest, Sha256};
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::language::Language;
use vivus_consent_core::policy;
use vivus_consent_core::token::{Claims, SigningKey};
use vivus_consent_server::ledger::{self, Entry, Ledger, Personal, RecordKind};

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

#[derive(Debug, Parser)]
struct Args {
    /// Ledger to append to (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    database: Option<String>,
    /// Seconds of appending.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Concurrent appenders.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Append without signed checkpoints (the service signs one per batch), to see what
    /// they cost.
    #[arg(long)]
    no_checkpoints: bool,
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn id(n: u64, salt: u8) -> String {
    let mut b = [salt; 16];
    b[8..].copy_from_slice(&n.to_be_bytes());
    // Spread the keys like random ids do.
    let h = Sha256::digest(b);
    vivus_consent_core::base64url::encode(&h[..16])
}

fn claims(n: u64) -> Claims {
    Claims {
        iss: "vivus-consent".to_owned(),
        sub: SubjectId::parse(&id(n, 1)).unwrap_or_else(|e| panic!("{e}")),
        jti: ConsentId::parse(&id(n, 2)).unwrap_or_else(|e| panic!("{e}")),
        iat: 1_795_600_000,
        exp: 1_827_136_000,
        pv: policy::CURRENT.id.to_owned(),
        pd: policy::CURRENT.digest.to_owned(),
        lang: Language::Ru,
        cat: serde_json::from_str(r#"["necessary","analytics"]"#).unwrap_or_default(),
        pa: true,
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let key = SigningKey::from_seed([7; 32]);

    let n = 5_000;
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut token = String::new();
    for i in 0..n {
        token = key.sign(&claims(i));
    }
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    println!(
        "sign token      {:>7.1} µs/op wall, {:>7.1} µs/op cpu",
        wall * 1e6 / n as f64,
        cpu * 1e6 / n as f64
    );

    let body = br#"{"id":"AAECAwQFBgcICQoLDA0ODw","subject":"q83vEjRWeJCrze8SNFZ4kA","policy":{"version":"v1","digest":"e1784e8f9e6382881223b0c8d00efe668bc92e1b7468ad13288d6964189ffd11"},"language":"ru","categories":{"necessary":true,"analytics":false,"marketing":true},"policyAccepted":true,"source":"banner","gpc":false}"#;
    let t = Instant::now();
    for _ in 0..n {
        let r: vivus_consent_core::consent::ConsentRequest =
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
        std::hint::black_box(Sha256::digest(r.canonical_bytes()));
    }
    println!(
        "parse + hash    {:>7.1} µs/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| dir.path().join("l.sqlite3").display().to_string());
    let keys = Arc::new(
        vivus_consent_server::keys::KeyRing::load_or_generate(
            &dir.path().join("keys"),
            vivus_consent_server::now_secs(),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let options = ledger::Options {
        checkpoints: (!args.no_checkpoints).then(|| {
            Arc::new(ledger::Checkpointer::new(
                keys,
                "vivus-consent".to_owned(),
                1,
                Duration::from_secs(10),
            ))
        }),
        ..ledger::Options::default()
    };
    let ledger: Arc<dyn Ledger> = ledger::open_with(&database, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stop = Instant::now() + Duration::from_secs_f64(args.seconds);
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let ledger = ledger.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0_u64;
            while Instant::now() < stop {
                let n = (w as u64) << 40 | i;
                i += 1;
                let entry = Entry {
                    consent_id: id(n, 3),
                    subject_id: id(n, 4),
                    kind: RecordKind::Consent,
                    withdraws: None,
                    recorded_at: vivus_consent_server::now_ms(),
                    policy_version: policy::CURRENT.id.to_owned(),
                    policy_digest: policy::CURRENT.digest.to_owned(),
                    language: "ru".to_owned(),
                    categories: "necessary,analytics".to_owned(),
                    policy_accepted: true,
                    source: "banner".to_owned(),
                    gpc: false,
                    user_agent: USER_AGENT.to_owned(),
                    client_network: "203.0.113.0/24".to_owned(),
                    personal: Personal::seal(USER_AGENT, "203.0.113.0/24")
                        .unwrap_or_else(|e| panic!("{e}")),
                    request_hash: [5; 32],
                    token: token.clone(),
                };
                let t = Instant::now();
                ledger.append(entry).await.unwrap_or_else(|e| panic!("{e}"));
                latencies.push(t.elapsed().as_micros() as u64);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |v| *v as f64 / 1000.0)
    };
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let stats = ledger.stats();
    println!(
        "ledger append   {:>7.0} appends/s with {} appenders on {}, {:.1} µs cpu/append (whole process), {} batches, mean batch {:.1}, max {}, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        stats.appended as f64 / wall,
        args.concurrency,
        ledger.backend(),
        cpu * 1e6 / stats.appended as f64,
        stats.batches,
        stats.appended as f64 / stats.batches.max(1) as f64,
        stats.max_batch,
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
}
