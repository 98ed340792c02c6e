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

/// A producer with `blocks` transaction blocks of one send each.
fn transaction_blocks(blocks: usize) -> String {
    let mut s = String::from(
        "scenario \"transaction blocks\"\ncluster {\n  brokers 3\n  topic orders { partitions 3  replication.factor 3  min.insync.replicas 2 }\n}\nproducer shop {\n  transactional.id \"shop-1\"\n",
    );
    for i in 0..blocks {
        s.push_str(&format!("  transaction {{\n    send 1 to orders value \"o-{i}\"\n  }} commit\n"));
    }
    s.push_str("}\n");
    s
}

/// `scn check` on 5,000 / 10,000 / 20,000 transaction blocks: linear, so the 20,000 case costs
/// twice the 10,000 case (issue 12; it was quadratic, a scan of every send per block).
#[divan::bench(args = [5_000, 10_000, 20_000], sample_count = 3, sample_size = 1)]
fn check_transactions(bencher: divan::Bencher, blocks: usize) {
    let source = transaction_blocks(blocks);
    bencher.counter(divan::counter::ItemsCount::new(blocks)).bench(|| scn::load(&source).is_ok());
}

/// `scn check` rendering one diagnostic per line of a 5,000 / 10,000 / 20,000-line producer
/// (every send names an unknown topic): linear, each diagnostic renders only its own lines (it
/// was quadratic, the whole source scanned per diagnostic).
#[divan::bench(args = [5_000, 10_000, 20_000], sample_count = 3, sample_size = 1)]
fn check_diagnostics(bencher: divan::Bencher, sends: usize) {
    let mut source = String::from(
        "scenario \"bad\"\ncluster {\n  brokers 3\n  topic orders { partitions 3  replication.factor 3  min.insync.replicas 2 }\n}\nproducer shop {\n",
    );
    for i in 0..sends {
        source.push_str(&format!("  send 1 to nowhere value \"o-{i}\"\n"));
    }
    source.push_str("}\n");
    bencher.counter(divan::counter::ItemsCount::new(sends)).bench(|| match scn::load(&source) {
        Ok(_) => 0,
        Err(diags) => diags.render("bad.scn", &source).len(),
    });
}
