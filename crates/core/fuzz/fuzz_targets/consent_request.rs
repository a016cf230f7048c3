//! Arbitrary bytes as a consent request body: parsing and validation must never panic, and an
//! accepted request must survive its canonical form unchanged (the ledger hashes those bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vivus_consent_core::consent::{ConsentRequest, WithdrawRequest};
use vivus_consent_core::policy;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<ConsentRequest>(data) {
        let _ = request.validate(&policy::CURRENT);
        let _ = request.granted();
        let canonical = request.canonical_bytes();
        let again: ConsentRequest =
            serde_json::from_slice(&canonical).expect("canonical bytes parse back");
        assert_eq!(again, request);
        assert_eq!(again.canonical_bytes(), canonical);
    }
    if let Ok(withdraw) = serde_json::from_slice::<WithdrawRequest>(data) {
        let _ = withdraw.validate();
        let _ = withdraw.withdrawn();
        let again: WithdrawRequest = serde_json::from_slice(&withdraw.canonical_bytes())
            .expect("canonical bytes parse back");
        assert_eq!(again, withdraw);
    }
});
