//! A deterministic mutation fuzzer on the stable toolchain: mutants of every bundled scenario
//! (cut, repeat, splice, keyword and number insertion) through check, and the valid small ones
//! through run, each held to the invariants in `support/invariants.rs`. The coverage-guided
//! fuzzer in `fuzz/` searches far wider; this keeps its invariants in every `cargo test`.
//!
//! `SCN_FUZZ_CASES=100000 cargo test --release --test fuzz_smoke` runs more mutants (300 by
//! default); `SCN_FUZZ_SEED` picks another sequence of them.

#[path = "support/invariants.rs"]
mod invariants;

use std::path::Path;

/// Words and numbers that reach deep into the grammar and the limits.
const TOKENS: &[&str] = &[
    "scenario \"s\"\n",
    "cluster { brokers 3 topic t { partitions 2 } }\n",
    "producer p { send 3 to t }\n",
    "consumer c { subscribe t group g }\n",
    "processor q { consume t group g output t value upper(value) }\n",
    "faults { crash broker 1 at 5ms }\n",
    "expect { lost 0 }\n",
    "transaction { send to t } commit",
    "{",
    "}",
    "(",
    ")",
    "\"",
    "\\",
    "\n",
    "\r",
    "\u{FEFF}",
    "#",
    ",",
    "!",
    "+",
    "{i}",
    "{n}",
    "at 1ms",
    "after send 1",
    "18446744073709551615",
    "9223372036854775808",
    "-1",
    "0",
    "10000001",
    "30000000ms",
    "2147483648",
    "when c processes message1 then crash c",
    "restart broker 1 after 1s",
    "partition broker 1 from broker 2 at 1ms",
    "heal at 2ms",
    "pause c at 1ms",
    "resume c after 1ms",
    "acks all",
    "retries 0",
    "enable.idempotence true",
    "transactional.id \"x\"",
    "isolation.level read_committed",
    "max.poll.records 1",
    "track [t-0.high_watermark]",
    "log t-0 [message1]",
    "c processed 2",
    "ack lost for p send 1",
    "guarantee exactly-once",
];

/// splitmix64: a small, fixed, portable sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios/run", "scenarios/invalid", "scenarios/compare", "tests/regressions"] {
        let mut paths: Vec<_> =
            std::fs::read_dir(root.join(dir)).expect("seed folder").map(|e| e.expect("entry").path()).collect();
        paths.sort();
        files.extend(paths.into_iter().map(|p| std::fs::read(p).expect("readable")));
    }
    // Huge seeds (the deep-expression repros) would make every mutant slow to parse.
    files.retain(|f| f.len() < 16_384);
    files
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        let len = rng.below(64).min(data.len() - at);
        match rng.below(6) {
            0 => drop(data.drain(at..at + len)),
            1 => {
                let piece = data[at..at + len].to_vec();
                data.splice(at..at, piece.iter().copied().cycle().take(len * (1 + rng.below(8))));
            }
            2 | 3 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let piece = other[from..(from + rng.below(200)).min(other.len())].to_vec();
                data.splice(at..at + len, piece);
            }
            _ => {
                if let Some(b) = data.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
        }
    }
    data
}

#[test]
fn mutants_keep_the_invariants() {
    let cases: usize = std::env::var("SCN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed: u64 = std::env::var("SCN_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let seeds = seeds();
    assert!(seeds.len() >= 50, "seed corpus missing");
    let mut rng = Rng(seed);
    let (mut valid, mut runs) = (0, 0);
    for i in 0..cases {
        let data = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| {
            let (source, model) = invariants::check_bytes(&data)?;
            let small = invariants::small(&model);
            if small {
                invariants::points_parse_back(&source, &model);
                invariants::run_model(model);
                invariants::compare_runs(&source);
            }
            Some(small)
        });
        match outcome {
            Ok(Some(ran)) => {
                valid += 1;
                runs += usize::from(ran);
            }
            Ok(None) => {}
            Err(_) => {
                let path = std::env::temp_dir().join(format!("scn-fuzz-{seed}-{i}.scn"));
                std::fs::write(&path, &data).expect("write the failing input");
                panic!("mutant {i} broke an invariant; input saved to {}", path.display());
            }
        }
    }
    eprintln!("{cases} mutants (seed {seed}): {valid} checked, {runs} of them ran");
    // The mutants must reach both halves: some still check, some are rejected.
    assert!(valid > 0 && valid < cases, "{valid} of {cases} mutants valid");
    assert!(runs > 0, "no mutant was small enough to run");
}

#[test]
fn the_seeds_themselves_keep_the_invariants() {
    let mut ran = 0;
    for data in seeds() {
        if let Some((source, model)) = invariants::check_bytes(&data) {
            if invariants::small(&model) {
                invariants::points_parse_back(&source, &model);
                invariants::run_model(model);
                invariants::compare_runs(&source);
                ran += 1;
            }
        }
    }
    assert!(ran >= 20, "only {ran} seeds ran");
}
