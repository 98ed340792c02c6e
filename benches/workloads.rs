//! `cargo bench --bench workloads`: the engine's workloads (issue 12), each simulated and
//! analysed as `scn run` does (loaded once, outside the timing); divan's throughput counter
//! is messages sent.
//! The scenarios are `benches/workloads/*.scn` (and `benches/million.scn`, the plain one), so
//! `scn run` on the same files reproduces them from the command line (README, "Performance").

use scn::report::{Limits, build};
use scn::sim::{Options, run};

fn main() {
    divan::main();
}

fn workload(name: &str, bencher: divan::Bencher) {
    let path = match name {
        "plain" => format!("{}/benches/million.scn", env!("CARGO_MANIFEST_DIR")),
        _ => format!("{}/benches/workloads/{name}.scn", env!("CARGO_MANIFEST_DIR")),
    };
    let source = std::fs::read_to_string(path).expect("workload scenario");
    let model = scn::load(&source).expect("valid scenario");
    let messages = u64::from(model.total_messages);
    bencher.counter(divan::counter::ItemsCount::new(messages)).bench(|| {
        let run = run(&model, &Options { trace_limit: 200, ..Options::default() });
        build(&model, &run, Limits::rows(200)).passed
    });
}

/// A million messages each (the exactly-once processor: a million in, a million out).
#[divan::bench(
    args = ["plain", "acks-0", "acks-1", "leader-crash", "consumer-crash", "exactly-once-processor"],
    sample_count = 3,
    sample_size = 1
)]
fn million(bencher: divan::Bencher, name: &str) {
    workload(name, bencher);
}

/// 100,000 messages in 1,000 transactions of 100; 1,000 and 10,000 partitions with one
/// message each and a group of three consumers.
#[divan::bench(args = ["transactions", "partitions-1000", "partitions-10000"], sample_count = 3, sample_size = 1)]
fn scale(bencher: divan::Bencher, name: &str) {
    workload(name, bencher);
}
