//! Arbitrary text as the integrator's config (`init(config)`, the one-tag JSON block):
//! parsing and validation must never panic, and every refusal must name what was wrong.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vivus_consent::config::Config;
use vivus_consent::error::SdkError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_json(text) {
        Ok(_) => {}
        Err(SdkError::Config(message)) => {
            // "<member path>: <what was expected>", e.g. "net.maxAttempts: must be ..."
            let path = message.split(": ").next().unwrap_or_default();
            assert!(
                message.len() > path.len() + 2
                    && !path.is_empty()
                    && path.chars().all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c)),
                "a config error must start with the member's path: {message:?}"
            );
        }
        Err(other) => panic!("config parsing gave a non-config error: {other:?}"),
    }
});
