//! `scn explore`: every fault schedule up to K faults, and the smallest one that breaks the
//! scenario.
//!
//! The search (`search`) forks the simulation at each choice point a run passes (client
//! program points, produce attempts, moments where the cluster's state changes) and tries
//! every fault of the space ([`space`]) there, fewest faults first; what counts as broken is
//! [`verdict`]'s. A counterexample is then shrunk and re-run from its text (`conclude`):
//! what `explore` prints is what `scn run` gives with the printed `faults` block pasted in.

mod conclude;
mod search;
pub mod space;
pub mod verdict;

pub use conclude::{Counterexample, Divergence, Outcome, RandomInfo, conclude, random};
pub use search::{Progress, search};
use space::{Kind, Space};
use std::collections::BTreeSet;
use verdict::{Broken, Check};

use crate::model::Model;

/// How far to search and what counts as broken.
#[derive(Debug, Clone)]
pub struct Settings {
    /// At most this many faults per schedule (`--faults`, default 2).
    pub max_faults: usize,
    pub space: Space,
    pub checks: Vec<Check>,
    /// One minimal counterexample per distinct violation, not just the first.
    pub all: bool,
    pub budget: Budget,
    /// `(i, n)`: explore the i-th of n hash-assigned shares (`(0, 1)`: all of it).
    pub shard: (u32, u32),
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Rows kept in the counterexample's report tables.
    pub max_rows: usize,
    /// `--clients`: client faults only for these clients.
    pub clients: Option<Vec<String>>,
    /// Also run every schedule from scratch and compare (`--check-determinism`).
    pub check_determinism: bool,
}

impl Settings {
    /// The defaults for `model`: 2 faults, the default kinds and checks, the whole space.
    pub fn new(model: &Model) -> Settings {
        Settings {
            max_faults: 2,
            space: Space::new(model, Kind::default_set(), space::Durations::defaults(model)),
            checks: Check::defaults(!model.expects.is_empty()),
            all: false,
            budget: Budget::None,
            shard: (0, 1),
            seed: None,
            max_rows: 200,
            clients: None,
            check_determinism: false,
        }
    }
}

/// When to stop before the bound is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    None,
    /// After this many simulated schedules (deterministic).
    Runs(u64),
    /// After this much wall-clock time.
    Time(std::time::Duration),
}

/// How many schedules of one depth were explored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Level {
    pub depth: usize,
    pub schedules: u64,
    /// Every schedule of this depth was tried.
    pub complete: bool,
}

/// A schedule that broke something, as the search found it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Found {
    pub depth: usize,
    /// Its place in the search order (parent's rank at the depth above, then its ordinal).
    pub key: Vec<u64>,
    /// The fault lines of each of its faults.
    pub moves: Vec<Vec<String>>,
    pub broken: Vec<Broken>,
}

/// What one process explored: everything `--merge` needs to print what a single process
/// would have printed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ShardResult {
    pub levels: Vec<Level>,
    /// Fingerprints of the distinct states explored.
    #[serde(with = "hex_set")]
    pub fingerprints: BTreeSet<u64>,
    pub found: Vec<Found>,
    pub budget_spent: bool,
    /// The search stopped because the process reached its memory limit (`--max-memory`);
    /// `budget_spent` is then set too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub memory_spent: bool,
    pub schedules_left: u64,
    /// With `--check-determinism`: the schedules whose search run and run from scratch
    /// differed (their fault lines).
    #[serde(default)]
    pub divergences: Vec<Vec<Vec<String>>>,
}

/// The shard file: a shard's result and what it explored, so shards can be checked to match.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ShardFile {
    pub schema: String,
    pub file: String,
    pub source: String,
    pub shard: (u32, u32),
    pub args: ShardArgs,
    pub result: ShardResult,
}

/// The settings a shard ran with (all shards of one exploration must agree).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardArgs {
    pub max_faults: usize,
    pub kinds: Vec<String>,
    pub checks: Vec<String>,
    pub all: bool,
    pub seed: Option<u64>,
    pub client_restart_ms: u64,
    pub broker_restart_ms: u64,
    pub heal_ms: u64,
    pub pause_ms: Option<u64>,
    pub clients: Option<Vec<String>>,
}

pub const SHARD_SCHEMA: &str = "scn-explore-shard/1";

impl ShardArgs {
    pub fn of(settings: &Settings) -> ShardArgs {
        let d = settings.space.durations;
        ShardArgs {
            max_faults: settings.max_faults,
            kinds: settings.space.kinds.iter().map(|k| k.name().to_string()).collect(),
            checks: settings.checks.iter().map(|c| c.name().to_string()).collect(),
            all: settings.all,
            seed: settings.seed,
            client_restart_ms: d.client_restart_ms,
            broker_restart_ms: d.broker_restart_ms,
            heal_ms: d.heal_ms,
            pause_ms: d.pause_ms,
            clients: settings.clients.clone(),
        }
    }

    /// The settings these arguments stand for, on `model`.
    pub fn settings(&self, model: &Model) -> Result<Settings, String> {
        let mut kinds = Vec::new();
        for k in &self.kinds {
            kinds.extend(Kind::parse_word(k)?);
        }
        let checks = self.checks.iter().map(|c| Check::parse(c)).collect::<Result<Vec<_>, _>>()?;
        let durations = space::Durations {
            client_restart_ms: self.client_restart_ms,
            broker_restart_ms: self.broker_restart_ms,
            heal_ms: self.heal_ms,
            pause_ms: self.pause_ms,
        };
        Ok(Settings {
            max_faults: self.max_faults,
            space: Space::only(model, kinds, durations, self.clients.as_deref()),
            checks,
            all: self.all,
            budget: Budget::None,
            shard: (0, 1),
            seed: self.seed,
            max_rows: 200,
            clients: self.clients.clone(),
            check_determinism: false,
        })
    }
}

/// Combines the results of shards `0/n .. n-1/n` into the result one process would have.
pub fn merge(files: &[ShardFile]) -> Result<ShardResult, String> {
    let first = files.first().ok_or("nothing to merge")?;
    let n = first.shard.1;
    let mut have: Vec<u32> = files.iter().map(|f| f.shard.0).collect();
    have.sort_unstable();
    if files.iter().any(|f| f.shard.1 != n) || have != (0..n).collect::<Vec<_>>() {
        let got: Vec<String> = files.iter().map(|f| format!("{}/{}", f.shard.0, f.shard.1)).collect();
        return Err(format!("the shards do not cover 0/{n} .. {}/{n} exactly once (got {})", n - 1, got.join(", ")));
    }
    for f in files {
        if f.schema != SHARD_SCHEMA {
            return Err(format!("{}: not a shard file of this version (schema `{}`)", f.file, f.schema));
        }
        if f.source != first.source || f.args != first.args {
            return Err(format!(
                "shard {}/{n} explored a different scenario or settings than shard {}/{n}",
                f.shard.0, first.shard.0
            ));
        }
    }
    let mut out = ShardResult::default();
    let depths = files.iter().map(|f| f.result.levels.len()).max().unwrap_or(0);
    for d in 0..depths {
        let rows: Vec<&Level> = files.iter().filter_map(|f| f.result.levels.get(d)).collect();
        let last = d + 1 == depths && d == first.args.max_faults;
        // Depths above the last are explored whole by every shard; the last is split.
        let schedules = if last { rows.iter().map(|l| l.schedules).sum() } else { rows[0].schedules };
        out.levels.push(Level { depth: d, schedules, complete: rows.iter().all(|l| l.complete) });
    }
    for f in files {
        out.fingerprints.extend(&f.result.fingerprints);
        out.budget_spent |= f.result.budget_spent;
        out.memory_spent |= f.result.memory_spent;
        out.divergences.extend(f.result.divergences.iter().cloned());
        out.schedules_left += f.result.schedules_left;
    }
    let mut found: Vec<Found> = files.iter().flat_map(|f| f.result.found.clone()).collect();
    found.sort_by(|a, b| (a.depth, &a.key).cmp(&(b.depth, &b.key)));
    found.dedup();
    if first.args.all {
        let mut groups = BTreeSet::new();
        found.retain(|f| groups.insert(verdict::group(&f.broken)));
    } else {
        found.truncate(1);
    }
    out.found = found;
    Ok(out)
}

/// The whole fault space at depth 1, as fault lines (`scn points`): every line `explore`
/// tries in a run with the file's own faults.
pub fn space_lines(model: &Model, settings: &Settings) -> Vec<String> {
    let mut sim =
        crate::sim::Sim::new(model, &crate::sim::Options { trace_limit: 0, seed: settings.seed, record_points: true });
    let mut probe = sim.clone();
    probe.run_to_end();
    let mut out = Vec::new();
    for c in probe.take_choices() {
        if sim.run_until(c.event - 1).is_some() {
            break;
        }
        for m in settings.space.moves(&sim, &c) {
            let (fault, recovery) = m.lines.split_first().expect("a move has a fault line");
            out.push(match recovery.is_empty() {
                true => fault.clone(),
                false => format!("{fault}  # then {}", recovery.join(", ")),
            });
        }
    }
    out
}

/// Fingerprints as hex strings in JSON (u64 does not survive every JSON reader).
mod hex_set {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeSet;

    pub fn serialize<S: Serializer>(set: &BTreeSet<u64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(set.iter().map(|f| format!("{f:016x}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<u64>, D::Error> {
        let v: Vec<String> = Vec::deserialize(d)?;
        v.iter().map(|s| u64::from_str_radix(s, 16).map_err(serde::de::Error::custom)).collect()
    }
}

/// `250ms`, `2s`, `1.5s`, `2m30s`, `1h`: a duration in milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a duration: expected e.g. 500ms, 10s, 1.5s, 2m30s or 1h");
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        rest = &rest[u..];
        total += value * unit;
    }
    if !(0.0..=crate::model::limits::MAX_DURATION_MS as f64).contains(&total) {
        return Err(format!("`{text}` is out of range (at most 30 days)"));
    }
    Ok(total.round() as u64)
}

/// `--budget`: a duration (`30s`) or a number of schedules (`5000`).
pub fn parse_budget(text: &str) -> Result<Budget, String> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(Budget::Runs(n.max(1)));
    }
    parse_duration(text)
        .map(|ms| Budget::Time(std::time::Duration::from_millis(ms)))
        .map_err(|_| format!("`{text}` is not a budget: expected a number of schedules (5000) or a time (30s, 2m)"))
}

/// `--shard i/n` with 0 <= i < n.
pub fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{text}` is not a shard: expected i/n with 0 <= i < n, e.g. 0/3");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n || n > 100_000 {
        return Err(bad());
    }
    Ok((i, n))
}
