//! `cargo bench`: the scale target (1,000,000 messages through a 3-partition topic to a group
//! of three consumers) and a few small scenarios, each parsed, checked, simulated and analysed.

use scn::report::{Limits, build};
use scn::sim::{Options, run};

fn main() {
    divan::main();
}

fn whole_pipeline(source: &str) -> bool {
    let model = scn::load(source).expect("valid scenario");
    let run = run(&model, &Options { trace_limit: 200, ..Options::default() });
    build(&model, &run, Limits::rows(200)).passed
}

/// The target: under 1 s and 500 MB on a 2-core machine (README, "Performance").
#[divan::bench(sample_count = 5, sample_size = 1)]
fn million_messages() -> bool {
    let source = include_str!("million.scn");
    assert!(whole_pipeline(source));
    true
}

#[divan::bench(args = ["at-most-once-consumer", "acks-1-leader-crash", "delivery-guarantees"])]
fn seed_scenario(name: &str) -> bool {
    let path = format!("{}/scenarios/run/{name}.scn", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(path).expect("scenario");
    whole_pipeline(&source)
}
