//! `vivus-consent-server`: runs the consent service, or a maintenance command
//! (`ledger verify|prove|check-proof`, `keys rotate`, `operator add|list|revoke`).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vivus_consent_server::config::{Cli, Command, KeysCommand, LedgerCommand, OperatorCommand, ProveArgs, VerifyArgs};
use vivus_consent_server::http::consent::hex;
use vivus_consent_server::ledger::proof::{self, ProofHead};
use vivus_consent_server::ledger::{self, ChainStatus, Verified};
use vivus_consent_server::operator::{self as accounts, OperatorName};
use vivus_consent_server::period::{format_time, UtcOffset};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = cli.serve.worker_threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = match runtime.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None => serve(cli).await,
        Some(Command::Ledger(LedgerCommand::Verify(args))) => verify(&cli.database, &args).await,
        Some(Command::Ledger(LedgerCommand::Prove(args))) => prove(&cli.database, &cli.serve.key_dir, &args).await,
        Some(Command::Ledger(LedgerCommand::CheckProof { file })) => check_proof(&file),
        Some(Command::Keys(KeysCommand::Rotate)) => rotate(&cli.serve.key_dir),
        Some(Command::Operator(command)) => operator(&cli.database, command).await,
    }
}

async fn serve(cli: Cli) -> ExitCode {
    let state = match vivus_consent_server::start(&cli.serve, &cli.database).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(cli.serve.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}; pick a free address with --listen", cli.serve.listen);
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().map_or_else(|_| cli.serve.listen.to_string(), |a| a.to_string());
    tracing::info!(listen = %bound, "vivus-consent-server listening");
    tracing::info!("operator console at http://{bound}/operator/; sign in with a token from `vivus-consent-server operator add NAME`");
    match vivus_consent_server::serve(listener, state, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// `Err` (with the message printed) when `database` is an SQLite path with no file: a
/// command on the wrong path must not create an empty ledger.
fn ledger_exists(database: &str) -> Result<(), ExitCode> {
    let path = database.strip_prefix("sqlite://").unwrap_or(database);
    if !ledger::is_postgres_url(database) && !std::path::Path::new(path).is_file() {
        eprintln!("error: there is no ledger file at {path}; pass the service's --database (the service creates the ledger on its first start)");
        return Err(ExitCode::FAILURE);
    }
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's report is its output
async fn verify(database: &str, args: &VerifyArgs) -> ExitCode {
    if let Err(code) = ledger_exists(database) {
        return code;
    }
    // Read-only: opening through `ledger::open` would migrate, and on the wrong database
    // create an empty ledger that then "verifies".
    let Verified { status, expected_head_at } = match ledger::verify_read_only(database, args.expect_head).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let records = match status {
        ChainStatus::Intact { records, head } => {
            let head = head.map(|h| hex(&h)).unwrap_or_else(|| "-".to_owned());
            println!("ledger intact: {records} records, head {head}");
            records
        }
        ChainStatus::Broken { sequence, reason, checked } => {
            println!("ledger BROKEN at record {sequence}: {reason} ({checked} records before it check out)");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    if let Some(expected) = args.expect_head {
        match expected_head_at {
            Some(sequence) => println!("expected head {} is record {sequence}", hex(&expected)),
            None => {
                println!(
                    "ledger TRUNCATED: the expected head {} is not in the ledger (the records from it on were deleted, or it is another ledger's hash)",
                    hex(&expected)
                );
                ok = false;
            }
        }
    }
    if let Some(min) = args.min_records.filter(|min| records < *min) {
        println!("ledger TRUNCATED: {records} records, fewer than --min-records {min} (the newest records were deleted)");
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[allow(clippy::print_stdout)]
fn rotate(dir: &std::path::Path) -> ExitCode {
    let now = u64::try_from(vivus_consent_server::now_ms() / 1000).unwrap_or(0);
    let result = std::fs::create_dir_all(dir)
        .map_err(|source| vivus_consent_server::keys::KeyError::Dir { path: dir.to_owned(), source })
        .and_then(|()| vivus_consent_server::keys::generate(dir, now));
    match result {
        Ok(path) => {
            println!("new signing key {}; restart the service to sign with it", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ledger prove ID`: the proof file, on standard output or `--out`, read page by page.
async fn prove(database: &str, key_dir: &std::path::Path, args: &ProveArgs) -> ExitCode {
    if let Err(code) = ledger_exists(database) {
        return code;
    }
    let keys = match vivus_consent_server::keys::KeyRing::load(key_dir) {
        Ok(keys) => keys.jwks().clone(),
        Err(e) => {
            eprintln!("warning: the proof carries no key, so the token's signature cannot be checked with it: {e}");
            vivus_consent_core::jwk::Jwks::default()
        }
    };
    let ledger = match ledger::open(database, 1).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let record = match ledger.find(&args.consent_id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            eprintln!(
                "error: no record with consent id {:?} is in the ledger at {}",
                args.consent_id,
                ledger::redact_url(database)
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let head = match ProofHead::current(ledger.as_ref()).await {
        Ok(Some(head)) => head,
        Ok(None) => {
            eprintln!("error: the ledger is empty");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out: Box<dyn std::io::Write + Send> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let mut out = std::io::BufWriter::new(out);
    let written = proof::write_proof(ledger.as_ref(), &record, &head, &keys, None, &mut out)
        .await
        .and_then(|()| std::io::Write::flush(&mut out).map_err(Into::into));
    match written {
        Ok(()) => {
            eprintln!(
                "proof of consent {} (record {}) to head {} {}: {} later records",
                record.entry.consent_id,
                record.sequence,
                head.sequence,
                head.hash,
                head.sequence - record.sequence
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ledger check-proof FILE`: checks a proof with nothing but the file.
#[allow(clippy::print_stdout)]
fn check_proof(file: &std::path::Path) -> ExitCode {
    let bytes = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(file)
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match proof::check(&bytes) {
        Ok(checked) => {
            let r = &checked.record;
            println!(
                "proof intact: consent {} ({} of subject {}, record {}, recorded {}) links to head {} {} through {} later records",
                r.consent_id,
                r.kind,
                r.subject_id,
                r.sequence,
                format_time(r.recorded_at, UtcOffset::UTC),
                checked.head.sequence,
                checked.head.hash,
                checked.links
            );
            match (&checked.signed_by, &checked.token_kid) {
                (Some(kid), _) => println!(
                    "its consent token is signed by key {kid}, and its claims match the record (compare the kid with the service's /.well-known/jwks.json)"
                ),
                (None, kid) => println!(
                    "its consent token's signature was NOT checked: the proof carries no key (the token names key {})",
                    kid.as_deref().unwrap_or("-")
                ),
            }
            println!("the head is only as good as where you got it: compare it with a receipt or a head kept outside the database");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("proof BROKEN: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `operator add|list|revoke`.
#[allow(clippy::print_stdout)]
async fn operator(database: &str, command: OperatorCommand) -> ExitCode {
    if let Err(code) = ledger_exists(database) {
        return code;
    }
    // Opening the ledger runs its migrations, which create the accounts table.
    let result = async {
        drop(ledger::open(database, 1).await?);
        let accounts = accounts::open(database).await?;
        let now = vivus_consent_server::now_ms();
        match command {
            OperatorCommand::Add { name } => {
                let name = OperatorName::parse(&name)?;
                let (token, hash) = accounts::new_token()?;
                accounts.add(&name, hash, now).await?;
                eprintln!("operator {name} added; their token follows, shown this once (only its hash is kept):");
                println!("{token}");
                eprintln!("sign in with it at <service>/operator/, or send it as Authorization: Bearer <token> to /v1/operator/...");
            }
            OperatorCommand::List => {
                let list = accounts.list().await?;
                if list.is_empty() {
                    eprintln!(
                        "no operators yet; add one with `vivus-consent-server operator add NAME`"
                    );
                }
                for account in list {
                    let status = match account.revoked_at {
                        Some(at) => format!("revoked {}", format_time(at, UtcOffset::UTC)),
                        None => "active".to_owned(),
                    };
                    println!(
                        "{}\tcreated {}\t{status}",
                        account.name,
                        format_time(account.created_at, UtcOffset::UTC)
                    );
                }
            }
            OperatorCommand::Revoke { name } => {
                if accounts.revoke(&name, now).await? {
                    println!("operator {name} revoked: their token no longer works");
                } else {
                    println!("operator {name} was already revoked");
                }
            }
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
