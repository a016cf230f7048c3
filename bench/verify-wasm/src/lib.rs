//! Token verification, timed in the browser by bench/run.mjs.
//!
//! The page writes the token, the key set (JSON), the issuer and the policy digest into
//! buffers it gets from `input`, calls `prepare()` (parses the key set, untimed), then
//! `verify(n, now)`, which runs `vivus_consent_core::token::verify` `n` times. The page
//! times that call; the first one also pays for V8 compiling the code it reaches.

use std::cell::RefCell;

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::{self, Expected};

/// The slots the page writes: token, JWKS JSON, issuer, policy digest.
const SLOTS: usize = 4;

/// `TokenError::code()` values; `verify` returns 1 + the index of the failure's code.
const CODES: [&str; 8] = [
    "malformed",
    "unsupported_algorithm",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "other_policy",
];

/// Returned when the key set is not valid JSON for `Jwks` (or was not prepared).
const BAD_JWKS: u32 = 100;

thread_local! {
    static INPUTS: RefCell<[Vec<u8>; SLOTS]> = RefCell::new(Default::default());
    static KEYS: RefCell<Option<Jwks>> = const { RefCell::new(None) };
}

/// Makes slot `slot` (0..4) `len` bytes long and returns where the page writes them.
#[no_mangle]
pub extern "C" fn input(slot: usize, len: usize) -> *mut u8 {
    INPUTS.with(|i| {
        let mut i = i.borrow_mut();
        i[slot] = vec![0; len];
        i[slot].as_mut_ptr()
    })
}

/// Parses the key set in slot 1. 0: parsed; `BAD_JWKS`: it did not.
#[no_mangle]
pub extern "C" fn prepare() -> u32 {
    let parsed = INPUTS.with(|i| serde_json::from_slice::<Jwks>(&i.borrow()[1]).ok());
    let ok = parsed.is_some();
    KEYS.with(|k| *k.borrow_mut() = parsed);
    if ok {
        0
    } else {
        BAD_JWKS
    }
}

/// Verifies the token `n` times at `now` (seconds since the epoch) against the prepared key
/// set, issuer in slot 2 and policy digest in slot 3. 0: every verification succeeded;
/// 1 + i: failed with `CODES[i]`; `BAD_JWKS`: `prepare` has not succeeded.
#[no_mangle]
pub extern "C" fn verify(n: u32, now: f64) -> u32 {
    KEYS.with(|k| {
        let k = k.borrow();
        let Some(jwks) = k.as_ref() else { return BAD_JWKS };
        INPUTS.with(|i| {
            let i = i.borrow();
            let text = |k: usize| core::str::from_utf8(&i[k]).unwrap_or("");
            let expected = Expected { issuer: text(2), policy_digest: text(3), now: now as u64 };
            let mut result = 0;
            for _ in 0..n {
                if let Err(e) = token::verify(text(0), jwks, &expected) {
                    result = 1 + CODES.iter().position(|c| *c == e.code()).unwrap_or(CODES.len()) as u32;
                }
            }
            result
        })
    })
}
