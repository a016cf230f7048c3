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
            // "<member path>: <what was expected>", e.g. "net.maxAttempts: must be ...";
            // a member name that is not an identifier is quoted as a JSON string.
            let path_end = if message.starts_with('"') {
                closing_quote(&message).map(|i| i + 1)
            } else {
                message.find(": ")
            };
            assert!(
                path_end.is_some_and(|end| end > 0
                    && message[end..].starts_with(": ")
                    && message.len() > end + 2),
                "a config error must start with the member's path: {message:?}"
            );
        }
        Err(other) => panic!("config parsing gave a non-config error: {other:?}"),
    }
});

/// The byte index of the quote that closes the JSON string at the start of `text`.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}
