//! `vivus-consent-server`: runs the consent service, or a maintenance command
//! (`ledger verify`, `keys rotate`).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vivus_consent_server::config::{Cli, Command, KeysCommand, LedgerCommand, VerifyArgs};
use vivus_consent_server::http::consent::hex;
use vivus_consent_server::ledger::{self, ChainStatus, Verified};

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
        Some(Command::Keys(KeysCommand::Rotate)) => rotate(&cli.serve.key_dir),
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

#[allow(clippy::print_stdout)] // the command's report is its output
async fn verify(database: &str, args: &VerifyArgs) -> ExitCode {
    let path = database.strip_prefix("sqlite://").unwrap_or(database);
    if !ledger::is_postgres_url(database) && !std::path::Path::new(path).is_file() {
        eprintln!("error: there is no ledger file at {path}; pass the service's --database");
        return ExitCode::FAILURE;
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
