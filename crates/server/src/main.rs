//! `vivus-consent-server`: runs the consent service, or a maintenance command
//! (`ledger verify|prove|check-proof|purge`, `keys rotate|retire|list`, `operator add|list|revoke`).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vivus_consent_core::jwk::Jwks;
use vivus_consent_server::config::{
    Cli, Command, KeysCommand, LedgerCommand, OperatorCommand, ProveArgs, PurgeArgs, VerifyArgs,
};
use vivus_consent_server::keys::{self, KeyRing, KeyState};
use vivus_consent_server::ledger::proof::{self, ProofHead};
use vivus_consent_server::ledger::{self, checkpoint, hex, Audit, ChainStatus, Verified};
use vivus_consent_server::operator::{self as accounts, OperatorName};
use vivus_consent_server::period::{format_time, UtcOffset};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
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
        Some(Command::Ledger(LedgerCommand::Verify(args))) => {
            verify(&cli.database, &cli.serve.key_dir, &args).await
        }
        Some(Command::Ledger(LedgerCommand::Purge(args))) => purge(&cli.database, &args).await,
        Some(Command::Ledger(LedgerCommand::Prove(args))) => {
            prove(&cli.database, &cli.serve.key_dir, &args).await
        }
        Some(Command::Ledger(LedgerCommand::CheckProof { file })) => check_proof(&file),
        Some(Command::Operator(command)) => operator(&cli.database, command).await,
        Some(Command::Keys(KeysCommand::Rotate(args))) => rotate(
            &cli.serve.key_dir,
            args.activate_after,
            cli.serve.jwks_max_age_secs,
        ),
        Some(Command::Keys(KeysCommand::Retire { kid })) => retire(&cli.serve.key_dir, &kid),
        Some(Command::Keys(KeysCommand::List)) => list(&cli.serve.key_dir),
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
            eprintln!(
                "error: cannot listen on {}: {e}; pick a free address with --listen",
                cli.serve.listen
            );
            return ExitCode::FAILURE;
        }
    };
    let bound = listener
        .local_addr()
        .map_or_else(|_| cli.serve.listen.to_string(), |a| a.to_string());
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

#[allow(clippy::print_stdout)] // the command's report is its output
async fn verify(database: &str, key_dir: &std::path::Path, args: &VerifyArgs) -> ExitCode {
    if let Err(code) = ledger_exists(database) {
        return code;
    }
    let jwks = match verification_keys(key_dir, args.jwks.as_deref()) {
        Ok(jwks) => jwks,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut kept = Vec::new();
    for file in &args.checkpoints {
        match kept_checkpoint(file, &jwks) {
            Ok(claims) => kept.push((file.display().to_string(), claims)),
            Err(e) => {
                println!("checkpoint {} REFUSED: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let keys = jwks.keys.len();
    let audit = Audit {
        expect_head: args.expect_head,
        jwks: Some(jwks),
        kept,
    };
    // Read-only: opening through `ledger::open` would migrate, and on the wrong database
    // create an empty ledger that then "verifies".
    let report = match ledger::verify_read_only(database, audit).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Verified {
        status,
        expected_head_at,
        anchored,
        unanchored,
        checkpoints,
        beyond_end,
        formats,
    } = report;
    let records = match status {
        ChainStatus::Intact { records, head } => {
            let head = head.map(|h| hex(&h)).unwrap_or_else(|| "-".to_owned());
            println!("ledger intact: {records} records, head {head}");
            println!(
                "records: {} in format 1 (personal data in clear), {} in format 2 ({} of them purged); every token verifies against the key set ({keys} {}) and matches its record",
                formats.0,
                formats.1,
                formats.2,
                if keys == 1 { "key" } else { "keys" }
            );
            records
        }
        ChainStatus::Broken {
            sequence,
            reason,
            checked,
        } => {
            println!("ledger BROKEN at record {sequence}: {reason} ({checked} records before it check out)");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    match &anchored {
        Some((sequence, signed_at, source)) => println!(
            "anchored: records 1 to {sequence} match a head the service signed at {signed_at} (unix time; {source}); {checkpoints} signed checkpoints checked"
        ),
        None if records > 0 => println!("anchored: no signed checkpoint covers any record"),
        None => {}
    }
    for (sequence, source) in &beyond_end {
        println!(
            "ledger TRUNCATED: a head the service signed ({source}) covers record {sequence}, but the ledger ends at record {records} (the newest records were deleted)"
        );
        ok = false;
    }
    if let Some((count, oldest)) = unanchored {
        let after = anchored.as_ref().map_or(0, |(s, _, _)| *s);
        let age_ms = (vivus_consent_server::now_ms() - oldest).max(0);
        let grace = args.unanchored_grace_secs;
        if age_ms > i64::try_from(grace.saturating_mul(1000)).unwrap_or(i64::MAX) {
            let why = if anchored.is_some() {
                "checkpoints were deleted, or they were rewritten"
            } else {
                "no checkpoint at all: deleted, or a ledger written before checkpoints that no service of this version has opened yet (it anchors its head when it starts)"
            };
            println!(
                "ledger UNANCHORED: {count} records after record {after} are covered by no signed checkpoint, the oldest recorded {} s ago (more than --unanchored-grace-secs {grace}): {why}",
                age_ms / 1000
            );
            ok = false;
        } else {
            println!("unanchored: {count} records after record {after}, recorded in the last {grace} s (their checkpoint may still be coming)");
        }
    }
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

/// The public keys to verify against: the `--jwks` file, or the key directory's keys.
fn verification_keys(
    key_dir: &std::path::Path,
    jwks_file: Option<&std::path::Path>,
) -> Result<Jwks, String> {
    let jwks = match jwks_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the key set {}: {e}", file.display()))?;
            serde_json::from_str::<Jwks>(&text).map_err(|e| {
                format!(
                    "{} is not a JWK set ({e}); save /.well-known/jwks.json as it is",
                    file.display()
                )
            })?
        }
        None => KeyRing::load(key_dir)
            .map_err(|e| e.to_string())?
            .jwks()
            .clone(),
    };
    if jwks.keys.is_empty() {
        return Err(format!(
            "no keys to verify the tokens and checkpoints against in {}; pass the service's --key-dir, or --jwks with its published key set",
            jwks_file.unwrap_or(key_dir).display()
        ));
    }
    Ok(jwks)
}

/// A signed head kept outside the database, from a file holding the JWS itself, or JSON
/// with a `signedHead` member (the head endpoint's answer), or a receipt or a consent
/// answer holding one.
fn kept_checkpoint(file: &std::path::Path, jwks: &Jwks) -> Result<checkpoint::HeadClaims, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read it: {e}"))?;
    let text = text.trim();
    let jws = if text.starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let found = [&json["signedHead"], &json["receipt"]["signedHead"]]
            .into_iter()
            .find_map(|v| v.as_str().map(str::to_owned));
        found.ok_or("no signedHead in it; pass a receipt, the answer of GET /v1/ledger/head, or the JWS itself")?
    } else {
        text.to_owned()
    };
    checkpoint::verify(&jws, jwks)
        .map(|(claims, _kid)| claims)
        .map_err(|e| format!("it is not a head signed by one of these keys ({e})"))
}

#[allow(clippy::print_stdout)]
async fn purge(database: &str, args: &PurgeArgs) -> ExitCode {
    match ledger::purge(database, args.before.start_ms).await {
        Ok(purged) => {
            println!(
                "purged the user agent and client network of {} records recorded before {}",
                purged.purged, args.before
            );
            if purged.kept_v1 > 0 {
                println!(
                    "kept those of {} older records in format 1: their hash covers the values, so blanking them would break the chain",
                    purged.kept_v1
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn rotate(dir: &std::path::Path, activate_after: u64, max_age: u64) -> ExitCode {
    let now = vivus_consent_server::now_secs();
    let result = std::fs::create_dir_all(dir)
        .map_err(|source| keys::KeyError::Dir {
            path: dir.to_owned(),
            source,
        })
        .and_then(|()| keys::rotate(dir, now, activate_after, max_age));
    match result {
        Ok(path) => {
            println!(
                "new signing key {}; it is published from each instance's next start and signs from unix time {} on ({activate_after} s from now): copy it (and its .json) to every instance and restart them before then",
                path.display(),
                now + activate_after
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn retire(dir: &std::path::Path, kid: &str) -> ExitCode {
    match keys::retire(dir, kid, vivus_consent_server::now_secs()) {
        Ok(path) => {
            println!("retired {kid} ({}): it stays published and never signs again; restart the instances", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn list(dir: &std::path::Path) -> ExitCode {
    let ring = match KeyRing::load(dir) {
        Ok(ring) => ring,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for status in ring.statuses(vivus_consent_server::now_secs()) {
        let state = match status.state {
            KeyState::Pending { activate_at } => format!("pending until {activate_at}"),
            KeyState::Active if status.signing => "active, signing".to_owned(),
            KeyState::Active => "active".to_owned(),
            KeyState::Retired => "retired".to_owned(),
        };
        println!("{} created {} {state}", status.kid, status.created);
    }
    ExitCode::SUCCESS
}

/// `Err` (with the message printed) when `database` is an SQLite path with no file: a
/// command on the wrong path must not create an empty ledger.
fn ledger_exists(database: &str) -> Result<(), ExitCode> {
    let path = ledger::sqlite_path(database);
    if !ledger::is_postgres_url(database) && !path.is_file() {
        eprintln!("error: there is no ledger file at {}; pass the service's --database (the service creates the ledger on its first start)", path.display());
        return Err(ExitCode::FAILURE);
    }
    Ok(())
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
    let head = match ProofHead::for_record(ledger.as_ref(), record.sequence).await {
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
            match &checked.head_signed {
                Some((claims, kid)) => println!(
                    "the head is signed by the service (issuer {}) with key {kid} at {}: compare the kid with its /.well-known/jwks.json",
                    claims.iss,
                    format_time(i64::try_from(claims.iat).unwrap_or(0) * 1000, UtcOffset::UTC)
                ),
                None => println!(
                    "the head is NOT signed (no checkpoint covered the record when the proof was made): compare its hash with a receipt or a head kept outside the database"
                ),
            }
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
