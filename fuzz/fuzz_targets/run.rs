//! Coverage-guided fuzzing of whole runs: a valid, small input (at most 200 messages and 20
//! clients, run length capped at 2 minutes) is run twice and its report held to the invariants
//! in tests/support/invariants.rs.
#![no_main]

#[path = "../../tests/support/invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((source, model)) = invariants::check_bytes(data) {
        if invariants::small(&model) {
            invariants::points_parse_back(&source, &model);
            invariants::run_model(model);
            invariants::compare_runs(&source);
        }
    }
});
