//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `vivus-consent-server`: records consent in a tamper-evident ledger and returns
/// signed consent tokens.
#[derive(Debug, Parser)]
#[command(name = "vivus-consent-server", version, about)]
pub struct Cli {
    /// A maintenance command; without one the service runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The ledger database: an SQLite file path, or a `postgres://` URL to use PostgreSQL.
    #[arg(
        long,
        env = "VIVUS_DATABASE",
        default_value = "data/consent.sqlite3",
        global = true
    )]
    pub database: String,

    /// Service settings.
    #[command(flatten)]
    pub serve: ServeConfig,
}

/// Maintenance commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ledger maintenance.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Signing key maintenance.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Operator accounts (the console at /operator/ and the API under /v1/operator/).
    #[command(subcommand)]
    Operator(OperatorCommand),
}

/// `operator …`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Creates an operator and prints its API token, once: only its hash is kept.
    Add {
        /// The operator's name (letters, digits, '.', '_', '-', '@'); it names them in the log.
        name: String,
    },
    /// Lists the operators, active and revoked.
    List,
    /// Revokes an operator: their token stops working at once. The name is never reused.
    Revoke {
        /// The operator's name.
        name: String,
    },
}

/// `ledger …`
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Walks the whole hash chain and reports the first broken record (exit status 1).
    /// Read-only: it never creates, migrates or writes the database. With the keys of
    /// --key-dir (or --jwks) it also verifies every record's token and its claims against
    /// the record, and every signed checkpoint, and reports the records after the newest
    /// checkpoint as unanchored. On success it prints the record count and the head hash;
    /// keep a signed head (--checkpoint) to detect a rewritten or cut-off history.
    Verify(VerifyArgs),
    /// Prints the proof that a consent is in the ledger: the record, every later record up
    /// to the head (their canonical bytes) and the head; `ledger check-proof` checks it.
    Prove(ProveArgs),
    /// Checks a proof file offline, with nothing but the file (exit status 1 if it does
    /// not check out).
    CheckProof {
        /// The proof file (`-` reads standard input).
        file: PathBuf,
    },
    /// Deletes the user agent and client network (and their salt) of the records before
    /// a date. The chain commits to salted hashes of them (format 2), so the ledger still
    /// verifies; records of format 1 (written before it) keep theirs.
    Purge(PurgeArgs),
}

/// `ledger prove` options.
#[derive(Debug, Clone, Args)]
pub struct ProveArgs {
    /// The consent id (the `jti` of its token, e.g. the one a loan application carries).
    pub consent_id: String,
    /// Write the proof to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ledger purge` options.
#[derive(Debug, Clone, Args)]
pub struct PurgeArgs {
    /// Purge the records recorded before this day (YYYY-MM-DD, 00:00 UTC); not in the future.
    #[arg(long, value_parser = parse_date)]
    pub before: Date,
}

/// A calendar day, as milliseconds since the epoch at 00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// `YYYY-MM-DD`.
    pub text: [u8; 10],
    /// 00:00 UTC of that day, in milliseconds since the Unix epoch.
    pub start_ms: i64,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.text).unwrap_or("?"))
    }
}

/// `ledger verify` options.
#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// A head hash printed by an earlier `ledger verify` (or a receipt's `recordHash`):
    /// it must be the hash of a record in the chain, else the records from it on were
    /// deleted (exit status 1).
    #[arg(long, value_parser = parse_hash)]
    pub expect_head: Option<[u8; 32]>,

    /// The ledger must hold at least this many records (a count noted earlier), else the
    /// newest records were deleted (exit status 1).
    #[arg(long)]
    pub min_records: Option<u64>,

    /// A signed head kept outside the database: a file with the compact JWS (a receipt's
    /// `signedHead`), a receipt or answer holding one, or the JSON of `GET /v1/ledger/head`.
    /// Its signature must verify and the chain must still have that hash at that sequence,
    /// else the history was rewritten or cut off (exit status 1). Repeatable.
    #[arg(long = "checkpoint", value_name = "FILE")]
    pub checkpoints: Vec<PathBuf>,

    /// Verify tokens and checkpoints against this JWK set (a saved
    /// `/.well-known/jwks.json`) instead of the keys in --key-dir.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,

    /// Records that no signed checkpoint covers fail the verification once they are older
    /// than this many seconds (checkpoints are written with the records, or within
    /// --checkpoint-interval-secs; an older unanchored record means checkpoints were deleted).
    #[arg(long, default_value_t = 60)]
    pub unanchored_grace_secs: u64,
}

/// `keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generates a new signing key in the key directory, published from the service's
    /// next start and signing only from `--activate-after` on (publish before sign).
    Rotate(RotateArgs),
    /// Retires a key: it stays published and verifies what it signed, and never signs again.
    Retire {
        /// The key's kid (`keys list`).
        kid: String,
    },
    /// Lists the keys with their state (pending, active, retired) and which one signs.
    List,
}

/// `keys rotate` options.
#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// How long after now the new key starts signing (`90s`, `15m`, `1h`, `2d`). At least
    /// --jwks-max-age-secs; copy the key to every instance and restart them well before.
    #[arg(long, default_value = "1h", value_parser = parse_duration_secs)]
    pub activate_after: u64,
}

/// Settings of the running service.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "VIVUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the Ed25519 signing keys (`<unix-time>-<kid>.key`, owner-only).
    /// A key is generated on first start; the newest signs, all are published.
    #[arg(
        long,
        env = "VIVUS_KEY_DIR",
        default_value = "data/keys",
        global = true
    )]
    pub key_dir: PathBuf,

    /// An origin allowed to call the API from a browser (CORS), e.g.
    /// `https://vivus.kz`. Repeat the flag (or comma-separate the variable) for more.
    #[arg(long = "allowed-origin", env = "VIVUS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// Domain attribute of the consent cookie (e.g. `vivus.kz`); without it the cookie
    /// is host-only.
    #[arg(long, env = "VIVUS_COOKIE_DOMAIN", value_parser = parse_cookie_domain)]
    pub cookie_domain: Option<String>,

    /// Name of the consent cookie.
    #[arg(long, env = "VIVUS_COOKIE_NAME", default_value = "vivus_consent", value_parser = parse_cookie_name)]
    pub cookie_name: String,

    /// Directory with the demo site: `www/` is served at `/`, `pkg/` at `/pkg/`.
    #[arg(long, env = "VIVUS_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// How long an issued consent token stays valid, in days.
    #[arg(long, env = "VIVUS_TOKEN_TTL_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub token_ttl_days: u32,

    /// The `iss` claim of issued tokens, checked on tokens presented back.
    #[arg(long, env = "VIVUS_ISSUER", default_value = "vivus-consent")]
    pub issuer: String,

    /// Take the client IP from the last `X-Forwarded-For` entry (behind a reverse proxy
    /// that sets it). Off: the socket peer address.
    #[arg(long, env = "VIVUS_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Requests per second allowed per client network (/24 or /48) on the API; 0 turns
    /// rate limiting off (benchmarks from one address).
    #[arg(long, env = "VIVUS_RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    pub rate_limit_per_second: u32,

    /// Burst size of the per-client rate limit.
    #[arg(long, env = "VIVUS_RATE_LIMIT_BURST", default_value_t = 40)]
    pub rate_limit_burst: u32,

    /// Most appends the ledger writer commits in one transaction.
    #[arg(long, env = "VIVUS_LEDGER_BATCH_MAX", default_value_t = crate::ledger::DEFAULT_BATCH_MAX, value_parser = parse_batch_max)]
    pub ledger_batch_max: usize,

    /// `Content-Security-Policy` of the demo site's HTML pages (default: none). `{nonce}`
    /// in it becomes a fresh random nonce per response, and so does every `__CSP_NONCE__`
    /// in the page, so inline (gated) scripts can carry `nonce="__CSP_NONCE__"`. See
    /// docs/security.md for the policy a site needs.
    #[arg(long, env = "VIVUS_CONTENT_SECURITY_POLICY", value_parser = parse_csp)]
    pub content_security_policy: Option<String>,

    /// Collect CSP violation reports at `POST /csp-reports` (`application/csp-report` or
    /// `application/reports+json`) and list the last 100 at `GET /csp-reports`. For tests and
    /// staging only: anyone may post to it.
    #[arg(long, env = "VIVUS_CSP_REPORT_COLLECTOR")]
    pub csp_report_collector: bool,

    /// Seconds a client has to send a request's headers (from the connection's first
    /// byte, and between requests on a kept-alive connection); then the connection is
    /// closed. Slow-loris clients cannot hold a connection longer.
    #[arg(long, env = "VIVUS_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a whole request body, from the end of its headers;
    /// later it gets `408 request_timeout` and the connection is closed.
    #[arg(long, env = "VIVUS_BODY_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_read_timeout_secs: u64,

    /// Most client connections open at once; further clients wait in the listen backlog
    /// until one closes. Keep it below the process's open-file limit (`ulimit -n`).
    #[arg(long, env = "VIVUS_MAX_CONNECTIONS", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Failed operator sign-ins a client network may make per minute (and at once);
    /// then it is refused with 429 until the minute refills, whatever token it sends.
    /// 0 turns the limit off.
    #[arg(
        long,
        env = "VIVUS_OPERATOR_FAILED_AUTH_PER_MINUTE",
        default_value_t = 10
    )]
    pub operator_failed_auth_per_minute: u32,

    /// Most later records a proof served by the operator API may carry (about 1 KB each);
    /// a record further behind the head is proven with `ledger prove`.
    #[arg(long, env = "VIVUS_OPERATOR_PROOF_MAX_RECORDS", default_value_t = crate::http::operator::DEFAULT_PROOF_MAX_RECORDS)]
    pub operator_proof_max_records: u64,

    /// Worker threads of the async runtime (default: one per core).
    #[arg(long, env = "VIVUS_WORKER_THREADS")]
    pub worker_threads: Option<usize>,

    /// Seconds browsers and other instances may cache the JWK set (`Cache-Control:
    /// public, max-age` of /.well-known/jwks.json). `keys rotate` publishes a new key at
    /// least this long before it signs.
    #[arg(long, env = "VIVUS_JWKS_MAX_AGE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub jwks_max_age_secs: u64,

    /// Generate a signing key when the key directory is empty although the ledger holds
    /// tokens. Without it the service refuses to start then: the keys were lost or
    /// --key-dir is wrong, and a new key would leave every earlier token unverifiable.
    #[arg(long, env = "VIVUS_GENERATE_KEY")]
    pub generate_key: bool,

    /// Sign a checkpoint of the ledger's head once this many records are not covered by
    /// one. 1 (the default): every batch, in the batch's transaction, so every receipt
    /// carries a signed head that covers its record.
    #[arg(long, env = "VIVUS_CHECKPOINT_EVERY", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub checkpoint_every: u64,

    /// With --checkpoint-every above 1, the longest a record stays without a checkpoint.
    #[arg(long, env = "VIVUS_CHECKPOINT_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub checkpoint_interval_secs: u64,

    /// PostgreSQL `lock_timeout` of the service's sessions, in ms: a batch waits this long
    /// for the chain lock (held by another instance), then answers 503.
    #[arg(long, env = "VIVUS_POSTGRES_LOCK_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub postgres_lock_timeout_ms: u64,

    /// PostgreSQL `statement_timeout` of the service's sessions, in ms.
    #[arg(long, env = "VIVUS_POSTGRES_STATEMENT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub postgres_statement_timeout_ms: u64,

    /// PostgreSQL `idle_in_transaction_session_timeout` of the service's sessions, in ms: a
    /// frozen instance's session holding the chain lock is terminated after this long.
    #[arg(long, env = "VIVUS_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub postgres_idle_in_transaction_timeout_ms: u64,
}

impl ServeConfig {
    /// The PostgreSQL session timeouts.
    pub fn postgres_timeouts(&self) -> crate::ledger::PostgresTimeouts {
        use std::time::Duration;
        crate::ledger::PostgresTimeouts {
            lock: Duration::from_millis(self.postgres_lock_timeout_ms),
            statement: Duration::from_millis(self.postgres_statement_timeout_ms),
            idle_in_transaction: Duration::from_millis(
                self.postgres_idle_in_transaction_timeout_ms,
            ),
        }
    }
}

/// A browser origin: `scheme://host[:port]`, no path, no trailing slash.
fn parse_origin(s: &str) -> Result<String, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("{s:?} is not an origin; write it as https://host[:port]"))?;
    if scheme != "https" && scheme != "http" {
        return Err(format!("{s:?} must start with https:// or http://"));
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!(
            "{s:?} must be scheme://host[:port] with no path, user or trailing slash"
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// `90`, `90s`, `15m`, `1h` or `2d`, in seconds.
fn parse_duration_secs(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a duration; write it like 90s, 15m, 1h or 2d");
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// `YYYY-MM-DD`, a real calendar day, not after today (UTC).
fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || {
        format!("{s:?} is not a date; write it as YYYY-MM-DD (the day the retention period ends)")
    };
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().map_err(|_| bad());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month[(m - 1) as usize]
    {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let start_ms = days * 86_400_000;
    if start_ms > crate::now_ms() {
        return Err(format!(
            "{s} is in the future; purge only what is past the retention period"
        ));
    }
    let mut text = [0_u8; 10];
    text.copy_from_slice(b);
    Ok(Date { text, start_ms })
}

fn parse_hash(s: &str) -> Result<[u8; 32], String> {
    let bytes = s.as_bytes();
    let nibble = |c: u8| (c as char).to_digit(16);
    if bytes.len() != 64 {
        return Err(format!(
            "{s:?} is not a record hash; pass the 64 hex digits `ledger verify` printed as head"
        ));
    }
    let mut out = [0_u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(format!("{s:?} is not a record hash; pass the 64 hex digits `ledger verify` printed as head")),
        }
    }
    Ok(out)
}

fn parse_batch_max(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=65_536).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?} is not a batch size; use a number from 1 to 65536"
        )),
    }
}

fn parse_cookie_domain(s: &str) -> Result<String, String> {
    let d = s.trim_start_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!(
            "{s:?} is not a domain name; write it like vivus.kz"
        ))
    }
}

fn parse_csp(s: &str) -> Result<String, String> {
    // It goes into a header as it is: visible ASCII and spaces only.
    let ok = !s.trim().is_empty() && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    if ok {
        Ok(s.trim().to_owned())
    } else {
        Err(format!("{s:?} is not a Content-Security-Policy; use printable ASCII, directives separated by ';'"))
    }
}

fn parse_cookie_name(s: &str) -> Result<String, String> {
    // RFC 6265 token characters, minus the ones browsers treat specially.
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a cookie name; use letters, digits, '_', '-' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let cli = Cli::try_parse_from(["vivus-consent-server"]).expect("defaults parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.database, "data/consent.sqlite3");
        assert_eq!(cli.serve.listen, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(cli.serve.key_dir, PathBuf::from("data/keys"));
        assert_eq!(cli.serve.token_ttl_days, 365);
        assert_eq!(cli.serve.rate_limit_per_second, 20);
    }

    #[test]
    fn origins_repeat_and_are_validated() {
        let cli = Cli::try_parse_from([
            "x",
            "--allowed-origin",
            "https://vivus.kz",
            "--allowed-origin",
            "http://127.0.0.1:8080",
        ])
        .expect("parse");
        assert_eq!(
            cli.serve.allowed_origins,
            ["https://vivus.kz", "http://127.0.0.1:8080"]
        );
        for bad in [
            "vivus.kz",
            "https://vivus.kz/",
            "ftp://vivus.kz",
            "https://",
        ] {
            let err = Cli::try_parse_from(["x", "--allowed-origin", bad]).expect_err(bad);
            assert!(err.to_string().contains("allowed-origin"), "{err}");
        }
    }

    #[test]
    fn ledger_verify_takes_the_database_flag_after_the_subcommand() {
        let cli = Cli::try_parse_from(["x", "ledger", "verify", "--database", "/tmp/l.sqlite3"])
            .expect("parse");
        assert!(matches!(
            cli.command,
            Some(Command::Ledger(LedgerCommand::Verify(_)))
        ));
        assert_eq!(cli.database, "/tmp/l.sqlite3");
    }

    #[test]
    fn operator_and_proof_commands_parse() {
        let cli = Cli::try_parse_from([
            "x",
            "operator",
            "add",
            "alice",
            "--database",
            "/tmp/l.sqlite3",
        ])
        .expect("parse");
        assert!(
            matches!(cli.command, Some(Command::Operator(OperatorCommand::Add { ref name })) if name == "alice")
        );
        assert_eq!(cli.database, "/tmp/l.sqlite3");
        let cli = Cli::try_parse_from(["x", "ledger", "check-proof", "p.json"]).expect("parse");
        assert!(matches!(
            cli.command,
            Some(Command::Ledger(LedgerCommand::CheckProof { .. }))
        ));
        let cli = Cli::try_parse_from([
            "x",
            "ledger",
            "prove",
            "AAECAwQFBgcICQoLDA0ODw",
            "--out",
            "p.json",
        ])
        .expect("parse");
        assert!(
            matches!(cli.command, Some(Command::Ledger(LedgerCommand::Prove(ref a))) if a.out.is_some())
        );
        assert_eq!(cli.serve.operator_failed_auth_per_minute, 10);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Cli::try_parse_from(["x", "--listen", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["x", "--token-ttl-days", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--cookie-domain", "a..b"]).is_err());
        assert!(Cli::try_parse_from(["x", "--cookie-name", "a b"]).is_err());
        assert!(Cli::try_parse_from(["x", "--ledger-batch-max", "0"]).is_err());
        assert!(
            Cli::try_parse_from(["x", "--content-security-policy", "script-src 'self'\n"]).is_err()
        );
    }

    #[test]
    fn durations_and_dates_parse_or_say_how_to_write_them() {
        assert_eq!(parse_duration_secs("90"), Ok(90));
        assert_eq!(parse_duration_secs("15m"), Ok(900));
        assert_eq!(parse_duration_secs("1h"), Ok(3600));
        assert_eq!(parse_duration_secs("2d"), Ok(172_800));
        for bad in ["", "1w", "h", "-1s", "1.5h"] {
            assert!(
                parse_duration_secs(bad)
                    .expect_err(bad)
                    .contains("like 90s"),
                "{bad}"
            );
        }
        assert_eq!(parse_date("1970-01-01").map(|d| d.start_ms), Ok(0));
        assert_eq!(
            parse_date("2024-02-29").map(|d| d.start_ms),
            Ok(1_709_164_800_000)
        );
        assert_eq!(
            parse_date("2000-03-01").map(|d| d.to_string()),
            Ok("2000-03-01".to_owned())
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "1969-12-31",
        ] {
            assert!(
                parse_date(bad).expect_err(bad).contains("YYYY-MM-DD"),
                "{bad}"
            );
        }
        assert!(parse_date("9999-12-31")
            .expect_err("future")
            .contains("in the future"));
    }

    #[test]
    fn issue_15_defaults() {
        let cli = Cli::try_parse_from(["x"]).expect("parse");
        assert_eq!(cli.serve.jwks_max_age_secs, 300);
        assert_eq!(cli.serve.checkpoint_every, 1);
        assert!(!cli.serve.generate_key);
        assert_eq!(
            cli.serve.postgres_timeouts(),
            crate::ledger::PostgresTimeouts::default()
        );
        let cli = Cli::try_parse_from(["x", "keys", "rotate", "--jwks-max-age-secs", "60"])
            .expect("parse");
        assert!(matches!(
            cli.command,
            Some(Command::Keys(KeysCommand::Rotate(RotateArgs {
                activate_after: 3600
            })))
        ));
        assert_eq!(cli.serve.jwks_max_age_secs, 60);
    }

    #[test]
    fn csp_is_off_by_default() {
        let cli = Cli::try_parse_from(["x"]).expect("parse");
        assert_eq!(cli.serve.content_security_policy, None);
        assert!(!cli.serve.csp_report_collector);
    }
}
