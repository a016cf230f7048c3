//! The command line as the binary parses it (`Cli::try_parse_from`, with every flag's
//! value parser): arbitrary arguments, split at NUL bytes and not necessarily UTF-8, must
//! give a configuration or a clap error, never a panic. The VIVUS_* environment is not
//! varied here; each variable uses the same value parser as its flag.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use vivus_consent_server::config::Cli;

fuzz_target!(|data: &[u8]| {
    let args = std::iter::once(OsString::from("vivus-consent-server"))
        .chain(data.split(|b| *b == 0).map(|a| OsString::from_vec(a.to_vec())));
    if let Ok(cli) = Cli::try_parse_from(args) {
        // What `main` does next with a parsed configuration, short of serving.
        let settings = vivus_consent_server::http::Settings::from_config(&cli.serve);
        assert!(settings.token_ttl_secs >= 86_400);
        assert!(settings.max_connections >= 1);
    }
});
