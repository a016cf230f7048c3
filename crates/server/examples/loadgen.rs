//! Load generator for the consent service: a benchmark and the crash test's driver,
//! not a test.
//!
//! ```text
//! # throughput and latency at 1, 16 and 64 concurrent clients; merges into bench/service.json/.md
//! loadgen --url http://127.0.0.1:8080 --clients 1,16,64 --duration 10 --label sqlite --out bench/service.json
//! # crash test: keep posting, tolerate the server dying, log every acknowledged consent
//! loadgen --url http://127.0.0.1:8080 --clients 32 --duration 8 --acks acks.jsonl
//! # after the restart: every acknowledged consent must come back as recorded, unchanged
//! loadgen --url http://127.0.0.1:8080 --replay acks.jsonl
//! # a ledger of a million records spread over 90 days, for the operator's figures and exports
//! loadgen --fill 1000000 --days 90 --database /tmp/big.sqlite3 --key-dir /tmp/big-keys
//! ```
//!
//! `--fill` appends straight through the ledger (`ledger::open`, `Ledger::append`, the same
//! writer and batching as the service), without HTTP: the service stamps `recorded_at`
//! with the present, and a benchmark of the figures needs records spread over months.
//!
//! Each client is one keep-alive HTTP/1.1 connection posting unique, valid consents
//! back to back (a closed loop). Latency is measured from sending the request to having
//! the whole response; a 2xx means the consent was committed and synced.
#![allow(clippy::print_stdout, missing_docs)]

use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use vivus_consent_core::base64url;
use vivus_consent_core::policy;

#[derive(Debug, Parser)]
struct Args {
    /// Base URL of the service (http only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent client counts to run, one after the other.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Name of the configuration measured (e.g. `sqlite`, `postgres`).
    #[arg(long, default_value = "sqlite")]
    label: String,
    /// Results file to merge this run into (the .md next to it is regenerated).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Free text stored with the results (what else ran, settings).
    #[arg(long, default_value = "")]
    note: String,
    /// PID of the service, to report its CPU time per consent next to the load
    /// generator's own.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Append every acknowledged consent (request and receipt) to this file.
    #[arg(long)]
    acks: Option<PathBuf>,
    /// Check every consent in this acks file is recorded with the same receipt.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Append this many records straight to `--database`, spread over `--days` up to now.
    #[arg(long)]
    fill: Option<u64>,
    /// The ledger `--fill` appends to (an SQLite path or a postgres:// URL).
    #[arg(long, default_value = "data/consent.sqlite3")]
    database: String,
    /// Days the filled records span, ending now.
    #[arg(long, default_value_t = 90)]
    days: u64,
    /// Sign the filled records' tokens with the newest key here (created if empty), so
    /// they verify like the service's own.
    #[arg(long, default_value = "data/keys")]
    key_dir: PathBuf,
}

#[derive(Debug, Default)]
struct ClientStats {
    latencies_us: Vec<u32>,
    ok: u64,
    rejected: u64,
    errors: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(n) = args.fill {
        std::process::exit(fill(&args.database, &args.key_dir, n, args.days).await);
    }
    let addr = match resolve(&args.url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Some(path) = &args.replay {
        std::process::exit(replay(addr, path).await);
    }
    let mut results = Vec::new();
    for &clients in &args.clients {
        let r = run(
            addr,
            clients,
            args.warmup,
            args.duration,
            args.acks.clone(),
            args.server_pid,
        )
        .await;
        println!(
            "{label:>9} {clients:>3} clients: {rate:>8.0} consents/s  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  p99.9 {p999:>6.2} ms  max {max:>7.2} ms  ok {ok}  non-2xx {rej}  errors {err}  cpu server {scpu}% loadgen {lcpu}% ({us} µs/consent)  load {load}",
            label = args.label,
            rate = r["consents_per_sec"].as_f64().unwrap_or(0.0),
            p50 = r["p50_ms"].as_f64().unwrap_or(0.0),
            p99 = r["p99_ms"].as_f64().unwrap_or(0.0),
            p999 = r["p999_ms"].as_f64().unwrap_or(0.0),
            max = r["max_ms"].as_f64().unwrap_or(0.0),
            ok = r["ok"],
            rej = r["non_2xx"],
            err = r["errors"],
            scpu = r["server_cpu_pct"],
            lcpu = r["loadgen_cpu_pct"],
            us = r["server_cpu_us_per_consent"],
            load = r["loadavg_1m_before"],
        );
        results.push(r);
    }
    if let Some(out) = &args.out {
        if let Err(e) = merge(out, &args.label, &args.note, &results) {
            eprintln!("error: cannot write {}: {e}", out.display());
            std::process::exit(1);
        }
    }
}

fn resolve(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to nothing"))
}

async fn connect(addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(sender)
}

async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    body: String,
) -> Result<(u16, Bytes), ()> {
    let request = Request::post("/v1/consents")
        .header("host", host)
        .header("content-type", "application/json")
        .header("user-agent", "vivus-loadgen")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| ())?;
    sender.ready().await.map_err(|_| ())?;
    let response = sender.send_request(request).await.map_err(|_| ())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|_| ())?
        .to_bytes();
    Ok((status, bytes))
}

fn consent_json(id: &str, subject: &str, n: u64) -> String {
    // Vary the choices so records differ like real traffic does.
    format!(
        r#"{{"id":"{id}","subject":"{subject}","policy":{{"version":"{v}","digest":"{d}"}},"language":"{lang}","categories":{{"necessary":true,"analytics":{a},"marketing":{m}}},"policyAccepted":true,"source":"banner","gpc":false}}"#,
        v = policy::CURRENT.id,
        d = policy::CURRENT.digest,
        lang = if n % 3 == 0 { "kk" } else { "ru" },
        a = n % 2 == 0,
        m = n % 4 == 0,
    )
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0_u8; N];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("os rng: {e}"));
    b
}

/// The 1-minute load average: how busy the machine was with other work.
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(-1.0)
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// Records the service has appended since it started, from its `/metrics`.
async fn ledger_appends(addr: SocketAddr) -> Option<u64> {
    let mut sender = connect(addr).await?;
    let request = Request::get("/metrics")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let body = response.into_body().collect().await.ok()?.to_bytes();
    String::from_utf8_lossy(&body)
        .lines()
        .find(|l| l.starts_with("vivus_ledger_appends_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn run(
    addr: SocketAddr,
    clients: usize,
    warmup: f64,
    duration: f64,
    acks: Option<PathBuf>,
    server_pid: Option<u32>,
) -> Value {
    let host = addr.to_string();
    let load_before = loadavg();
    let records_before = ledger_appends(addr).await;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(warmup);
    let stop_at = measure_from + Duration::from_secs_f64(duration);
    let server_pid = server_pid.map(|p| p.to_string());
    let measure_cpu = {
        let server_pid = server_pid.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let before = (
                server_pid.as_deref().and_then(cpu_seconds),
                cpu_seconds("self"),
            );
            tokio::time::sleep_until(stop_at.into()).await;
            let after = (
                server_pid.as_deref().and_then(cpu_seconds),
                cpu_seconds("self"),
            );
            (before, after)
        })
    };
    let run_id: [u8; 8] = random_bytes();
    let (ack_tx, ack_task) = match acks {
        Some(path) => {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let task = tokio::task::spawn(async move {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
                while let Some(line) = rx.recv().await {
                    let _ = writeln!(file, "{line}");
                }
                let _ = file.sync_all();
            });
            (Some(tx), Some(task))
        }
        None => (None, None),
    };
    let mut tasks = Vec::new();
    for c in 0..clients {
        let host = host.clone();
        let ack_tx = ack_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = ClientStats::default();
            let subject = base64url::encode(&random_bytes::<16>());
            let mut sender = connect(addr).await;
            let mut n: u64 = 0;
            while Instant::now() < stop_at {
                let Some(s) = sender.as_mut() else {
                    // The server is down (crash test): count it and try again shortly.
                    stats.errors += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    sender = connect(addr).await;
                    continue;
                };
                let mut id = [0_u8; 16];
                id[..8].copy_from_slice(&run_id);
                id[8..10].copy_from_slice(&u16::try_from(c).unwrap_or(u16::MAX).to_be_bytes());
                id[10..].copy_from_slice(&n.to_be_bytes()[2..]);
                n += 1;
                let body = consent_json(&base64url::encode(&id), &subject, n);
                let t0 = Instant::now();
                match post(s, &host, body.clone()).await {
                    Ok((status, bytes)) if status == 200 || status == 201 => {
                        stats.ok += u64::from(t0 >= measure_from);
                        if t0 >= measure_from {
                            stats
                                .latencies_us
                                .push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                        }
                        if let Some(tx) = &ack_tx {
                            let receipt: Value =
                                serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let _ = tx.send(
                                json!({"body": body, "receipt": receipt["receipt"]}).to_string(),
                            );
                        }
                    }
                    Ok(_) => stats.rejected += 1,
                    Err(()) => {
                        stats.errors += 1;
                        sender = None;
                    }
                }
            }
            stats
        }));
    }
    drop(ack_tx);
    let mut all = ClientStats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            all.latencies_us.extend(s.latencies_us);
            all.ok += s.ok;
            all.rejected += s.rejected;
            all.errors += s.errors;
        }
    }
    if let Some(task) = ack_task {
        let _ = task.await;
    }
    all.latencies_us.sort_unstable();
    let cpu_share = |b: Option<f64>, a: Option<f64>| match (b, a) {
        (Some(b), Some(a)) => Value::from(((a - b) / duration * 100.0).round()),
        _ => Value::Null,
    };
    let ((server_before, self_before), (server_after, self_after)) =
        measure_cpu.await.unwrap_or(((None, None), (None, None)));
    let server_cpu_pct = cpu_share(server_before, server_after);
    let loadgen_cpu_pct = cpu_share(self_before, self_after);
    let server_us_per_consent = match (server_before, server_after) {
        (Some(b), Some(a)) if all.ok > 0 => Value::from(((a - b) * 1e6 / all.ok as f64).round()),
        _ => Value::Null,
    };
    let pct = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((all.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all.latencies_us[i]) / 1000.0
    };
    json!({
        "clients": clients,
        "duration_s": duration,
        "ok": all.ok,
        "non_2xx": all.rejected,
        "errors": all.errors,
        "consents_per_sec": (all.ok as f64 / duration).round() as u64,
        "p50_ms": round2(pct(0.50)),
        "p99_ms": round2(pct(0.99)),
        "p999_ms": round2(pct(0.999)),
        "max_ms": round2(pct(1.0)),
        "loadavg_1m_before": load_before,
        "ledger_records_before": records_before,
        "server_cpu_pct": server_cpu_pct,
        "loadgen_cpu_pct": loadgen_cpu_pct,
        "server_cpu_us_per_consent": server_us_per_consent,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Re-posts every acknowledged consent; each must answer 200 with the receipt it got
/// before the crash (same sequence, record hash and signed head: a retry gets the
/// checkpoint that first covered its record, the one committed with it). Returns the exit
/// code.
async fn replay(addr: SocketAddr, path: &PathBuf) -> i32 {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return 2;
        }
    };
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .collect();
    let host = addr.to_string();
    if lines.is_empty() {
        // An empty acknowledgement log would "replay" without checking anything.
        println!(
            "replay: {} holds no acknowledged consents, so nothing can be checked",
            path.display()
        );
        return 1;
    }
    let chunks: Vec<Vec<String>> = lines
        .chunks(lines.len().div_ceil(16).max(1))
        .map(<[String]>::to_vec)
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let (mut checked, mut missing) = (0_u64, Vec::new());
            let Some(mut sender) = connect(addr).await else {
                return (0, vec!["cannot connect".to_owned()]);
            };
            for line in chunk {
                let ack: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                let body = ack["body"].as_str().unwrap_or("").to_owned();
                match post(&mut sender, &host, body).await {
                    Ok((200, bytes)) => {
                        let now: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        if now["receipt"] == ack["receipt"] {
                            checked += 1;
                        } else {
                            missing.push(format!(
                                "receipt changed: before {} now {}",
                                ack["receipt"], now["receipt"]
                            ));
                        }
                    }
                    Ok((status, bytes)) => missing.push(format!(
                        "{} answered {status} ({}), so it was not recorded",
                        ack["receipt"]["consentId"],
                        String::from_utf8_lossy(&bytes)
                    )),
                    Err(()) => missing.push("request failed".to_owned()),
                }
            }
            (checked, missing)
        }));
    }
    let (mut checked, mut missing) = (0, Vec::new());
    for t in tasks {
        if let Ok((c, m)) = t.await {
            checked += c;
            missing.extend(m);
        }
    }
    println!(
        "replay: {checked} of {} acknowledged consents are recorded with their original receipt",
        lines.len()
    );
    for m in missing.iter().take(10) {
        println!("  MISSING {m}");
    }
    i32::from(!missing.is_empty() || checked as usize != lines.len())
}

fn merge(out: &PathBuf, label: &str, note: &str, results: &[Value]) -> std::io::Result<()> {
    let mut doc: Value = std::fs::read(out)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}));
    doc["machine"] = json!({
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        "note": "the load generator runs on the same machine and shares its cores with the service",
    });
    if !doc["runs"].is_object() {
        doc["runs"] = json!({});
    }
    doc["runs"][label] = json!({ "note": note, "results": results });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        out,
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
    )?;

    let mut md = String::from(
        "# Consent service throughput and latency\n\n\
         Generated by `crates/server/examples/loadgen.rs` (see `bench/service.sh`). Each client is one\n\
         keep-alive HTTP/1.1 connection posting unique valid consents back to back; a 2xx means the\n\
         record was committed and synced (SQLite WAL with `synchronous=FULL`; PostgreSQL with\n\
         `synchronous_commit=on`). The load generator shares the machine's cores with the service.\n\n\
         The last column is the machine's 1-minute load average just before the run: above ~2 on\n\
         this 2-core machine, other work was competing for the cores and the figures are low.\n\n\
         `server CPU` and `loadgen CPU` are the share of one core each used during the measured\n\
         seconds (200% is the whole machine); `µs/consent` is the service's CPU time per consent.\n\n\
         `records before` is the size of the ledger when the run started: the runs share one ledger,\n\
         and appends get dearer as the random-keyed indexes outgrow the page cache.\n\n\
         | configuration | clients | consents/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx | errors | server CPU | loadgen CPU | µs/consent | load before | records before |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    if let Some(runs) = doc["runs"].as_object() {
        for (label, run) in runs {
            for r in run["results"].as_array().into_iter().flatten() {
                md.push_str(&format!(
                    "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {}% | {}% | {} | {} | {} |\n",
                    r["clients"], r["consents_per_sec"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"], r["non_2xx"], r["errors"],
                    r["server_cpu_pct"], r["loadgen_cpu_pct"], r["server_cpu_us_per_consent"], r["loadavg_1m_before"],
                    r["ledger_records_before"]
                ));
            }
        }
        md.push('\n');
        for (label, run) in runs {
            if let Some(note) = run["note"].as_str().filter(|n| !n.is_empty()) {
                md.push_str(&format!("- **{label}**: {note}\n"));
            }
        }
    }
    std::fs::write(out.with_extension("md"), md)
}

/// `--fill`: `n` records through the ledger's own writer, `recorded_at` spread evenly over
/// the last `days` days, with the mix a lender's site might see: ru/kk 2:1, banner,
/// preferences and form consents, 5% withdrawals, 8% with GPC, a third of the visitors
/// coming back.
async fn fill(database: &str, key_dir: &std::path::Path, n: u64, days: u64) -> i32 {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use vivus_consent_core::category::{Categories, Category};
    use vivus_consent_core::consent::{ConsentId, SubjectId};
    use vivus_consent_core::language::Language;
    use vivus_consent_core::token::Claims;
    use vivus_consent_server::ledger::{self, Entry, RecordKind};

    const USER_AGENT: &str =
        "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    let now = u64::try_from(vivus_consent_server::now_ms() / 1000).unwrap_or(0);
    let keys = match vivus_consent_server::keys::KeyRing::load_or_generate(key_dir, now) {
        Ok(k) => Arc::new(k),
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    // Signed checkpoints on every batch, as the service makes them by default.
    let options = ledger::Options {
        checkpoints: Some(Arc::new(ledger::Checkpointer::new(
            keys.clone(),
            "vivus-consent".to_owned(),
            1,
            Duration::from_secs(10),
        ))),
        ..ledger::Options::default()
    };
    let ledger = match ledger::open_with(database, &options).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let end = vivus_consent_server::now_ms();
    let span = i64::try_from(days * 86_400_000).unwrap_or(i64::MAX);
    let start = end - span;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    // Enough appenders in flight that the writer's batches stay full.
    let workers: Vec<_> = (0..2048)
        .map(|_| {
            let (ledger, keys, next) = (ledger.clone(), keys.clone(), next.clone());
            tokio::spawn(async move {
                let signer = keys.signer().expect("a key");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
                    let recorded_at = start
                        + i64::try_from(u128::from(i) * span as u128 / u128::from(n.max(1)))
                            .unwrap_or(0);
                    let lang = if h % 3 == 0 {
                        Language::Kk
                    } else {
                        Language::Ru
                    };
                    let withdrawal = h % 20 == 7;
                    let source = if withdrawal {
                        "api"
                    } else {
                        ["banner", "banner", "banner", "preferences", "form"][(h >> 8) as usize % 5]
                    };
                    let mut cat: Categories = [Category::Necessary].into_iter().collect();
                    if !withdrawal && (h >> 12) % 5 < 3 {
                        cat.insert(Category::Analytics);
                    }
                    if !withdrawal && (h >> 16) % 5 < 2 {
                        cat.insert(Category::Marketing);
                    }
                    // A third of the records come from a returning visitor.
                    let subject = if (h >> 20) % 3 == 0 {
                        (h >> 24) % (n / 3).max(1)
                    } else {
                        n + i
                    };
                    let subject_bytes: [u8; 16] = (u128::from(subject)
                        ^ 0x5bd1_e995_5bd1_e995_5bd1_e995_5bd1_e995)
                        .to_be_bytes();
                    let id = ConsentId::parse(&base64url::encode(&random_bytes::<16>()))
                        .map_err(|e| e.to_string())?;
                    let sub = SubjectId::parse(&base64url::encode(&subject_bytes))
                        .map_err(|e| e.to_string())?;
                    let iat = u64::try_from(recorded_at / 1000).unwrap_or(0);
                    let network = format!("95.{}.{}.0/24", (h >> 32) % 256, (h >> 40) % 256);
                    let claims = Claims {
                        iss: "vivus-consent".to_owned(),
                        sub,
                        jti: id,
                        iat,
                        exp: iat + 365 * 86_400,
                        pv: policy::CURRENT.id.to_owned(),
                        pd: policy::CURRENT.digest.to_owned(),
                        lang,
                        cat,
                        pa: source == "form",
                    };
                    let entry = Entry {
                        consent_id: claims.jti.as_str().to_owned(),
                        subject_id: claims.sub.as_str().to_owned(),
                        kind: if withdrawal {
                            RecordKind::Withdrawal
                        } else {
                            RecordKind::Consent
                        },
                        withdraws: withdrawal.then(|| base64url::encode(&random_bytes::<16>())),
                        recorded_at,
                        policy_version: claims.pv.clone(),
                        policy_digest: claims.pd.clone(),
                        language: lang.as_str().to_owned(),
                        categories: Category::ALL
                            .iter()
                            .filter(|c| cat.contains(**c))
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        policy_accepted: claims.pa,
                        source: source.to_owned(),
                        gpc: (h >> 28) % 100 < 8,
                        user_agent: USER_AGENT.to_owned(),
                        client_network: network.clone(),
                        personal: ledger::Personal::seal_with(
                            random_bytes::<16>(),
                            USER_AGENT,
                            &network,
                        ),
                        request_hash: random_bytes::<32>(),
                        token: signer.sign(&claims),
                    };
                    ledger.append(entry).await.map_err(|e| e.to_string())?;
                    if i > 0 && i % 100_000 == 0 {
                        eprintln!("{i} records, {:.0} s", started.elapsed().as_secs_f64());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        match worker.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                return 1;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "filled {n} records over {days} days into {} in {secs:.0} s ({:.0}/s)",
        ledger::redact_url(database),
        n as f64 / secs
    );
    0
}
