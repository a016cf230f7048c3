//! Arbitrary text as the pending choice kept in localStorage until the service records it.
//! Any page script can write that key, so reading it must never panic, and what is accepted
//! must be exactly what the SDK itself would write (it is resent under the same consent id).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vivus_consent::json::{consent_request, read_consent_request};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(request) = read_consent_request(text) {
        let written = consent_request(&request);
        let again = read_consent_request(&written).expect("what the SDK writes, it reads back");
        assert_eq!(again, request);
        assert_eq!(consent_request(&again), written);
    }
});
