//! `cargo bench --bench explore`: the explorer's schedules per second, exhaustive at K=1 on
//! bundled scenarios and at K=2 on the explore scenarios (each sample explores the whole
//! bound; divan's throughput counter is the number of schedules tried).

use scn::explore::{Settings, search};

fn main() {
    divan::main();
}

fn explore(dir: &str, name: &str, faults: usize, bencher: divan::Bencher) {
    let path = format!("{}/scenarios/{dir}/{name}.scn", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(path).expect("scenario");
    let model = scn::load(&source).expect("valid scenario");
    let mut settings = Settings::new(&model);
    settings.max_faults = faults;
    // Nothing counts as broken, so every bound is explored whole.
    settings.checks = vec![scn::explore::verdict::Check::Nonmonotonic];
    let schedules: u64 = search(&model, &settings, &|_| {}).levels.iter().map(|l| l.schedules).sum();
    bencher.counter(divan::counter::ItemsCount::new(schedules)).bench(|| search(&model, &settings, &|_| {}));
}

#[divan::bench(args = ["acks-1-leader-crash", "at-least-once-consumer-reprocess", "exactly-once-processor", "zombie-leader"], sample_count = 3, sample_size = 1)]
fn k1(bencher: divan::Bencher, name: &str) {
    explore("run", name, 1, bencher);
}

#[divan::bench(args = ["acks-1-pipeline", "at-least-once-consumer", "exactly-once-read-committed", "idempotent-producer"], sample_count = 3, sample_size = 1)]
fn k2(bencher: divan::Bencher, name: &str) {
    explore("explore", name, 2, bencher);
}
