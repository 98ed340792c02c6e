//! Coverage-guided fuzzing of decode, parse and check: any bytes are rejected with located
//! diagnostics or accepted, never a panic or a hang (invariants in tests/support/invariants.rs).
#![no_main]

#[path = "../../tests/support/invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = invariants::check_bytes(data);
});
