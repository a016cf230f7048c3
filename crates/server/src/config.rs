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
    #[arg(long, env = "VIVUS_DATABASE", default_value = "data/consent.sqlite3", global = true)]
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
    /// Read-only: it never creates, migrates or writes the database. On success it
    /// prints the record count and the head hash; keep them elsewhere and pass them back
    /// to detect deleted newest records, which the chain alone cannot show.
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
}

/// `keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generates a new signing key in the key directory; the running service picks it
    /// up on its next start (the newest key signs, all keys stay published).
    Rotate,
}

/// Settings of the running service.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "VIVUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the Ed25519 signing keys (`<unix-time>-<kid>.key`, owner-only).
    /// A key is generated on first start; the newest signs, all are published.
    #[arg(long, env = "VIVUS_KEY_DIR", default_value = "data/keys", global = true)]
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
    #[arg(long, env = "VIVUS_OPERATOR_FAILED_AUTH_PER_MINUTE", default_value_t = 10)]
    pub operator_failed_auth_per_minute: u32,

    /// Most later records a proof served by the operator API may carry (about 1 KB each);
    /// a record further behind the head is proven with `ledger prove`.
    #[arg(long, env = "VIVUS_OPERATOR_PROOF_MAX_RECORDS", default_value_t = crate::http::operator::DEFAULT_PROOF_MAX_RECORDS)]
    pub operator_proof_max_records: u64,

    /// Worker threads of the async runtime (default: one per core).
    #[arg(long, env = "VIVUS_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
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
        return Err(format!("{s:?} must be scheme://host[:port] with no path, user or trailing slash"));
    }
    Ok(s.to_ascii_lowercase())
}

fn parse_hash(s: &str) -> Result<[u8; 32], String> {
    let bytes = s.as_bytes();
    let nibble = |c: u8| (c as char).to_digit(16);
    if bytes.len() != 64 {
        return Err(format!("{s:?} is not a record hash; pass the 64 hex digits `ledger verify` printed as head"));
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
        _ => Err(format!("{s:?} is not a batch size; use a number from 1 to 65536")),
    }
}

fn parse_cookie_domain(s: &str) -> Result<String, String> {
    let d = s.trim_start_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("{s:?} is not a domain name; write it like vivus.kz"))
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
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a cookie name; use letters, digits, '_', '-' or '.'"))
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
        assert_eq!(cli.serve.allowed_origins, ["https://vivus.kz", "http://127.0.0.1:8080"]);
        for bad in ["vivus.kz", "https://vivus.kz/", "ftp://vivus.kz", "https://"] {
            let err = Cli::try_parse_from(["x", "--allowed-origin", bad]).expect_err(bad);
            assert!(err.to_string().contains("allowed-origin"), "{err}");
        }
    }

    #[test]
    fn ledger_verify_takes_the_database_flag_after_the_subcommand() {
        let cli = Cli::try_parse_from(["x", "ledger", "verify", "--database", "/tmp/l.sqlite3"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Ledger(LedgerCommand::Verify(_)))));
        assert_eq!(cli.database, "/tmp/l.sqlite3");
    }

    #[test]
    fn operator_and_proof_commands_parse() {
        let cli = Cli::try_parse_from(["x", "operator", "add", "alice", "--database", "/tmp/l.sqlite3"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Operator(OperatorCommand::Add { ref name })) if name == "alice"));
        assert_eq!(cli.database, "/tmp/l.sqlite3");
        let cli = Cli::try_parse_from(["x", "ledger", "check-proof", "p.json"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Ledger(LedgerCommand::CheckProof { .. }))));
        let cli = Cli::try_parse_from(["x", "ledger", "prove", "AAECAwQFBgcICQoLDA0ODw", "--out", "p.json"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Ledger(LedgerCommand::Prove(ref a))) if a.out.is_some()));
        assert_eq!(cli.serve.operator_failed_auth_per_minute, 10);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Cli::try_parse_from(["x", "--listen", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["x", "--token-ttl-days", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--cookie-domain", "a..b"]).is_err());
        assert!(Cli::try_parse_from(["x", "--cookie-name", "a b"]).is_err());
        assert!(Cli::try_parse_from(["x", "--ledger-batch-max", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--content-security-policy", "script-src 'self'\n"]).is_err());
    }

    #[test]
    fn csp_is_off_by_default() {
        let cli = Cli::try_parse_from(["x"]).expect("parse");
        assert_eq!(cli.serve.content_security_policy, None);
        assert!(!cli.serve.csp_report_collector);
    }
}
