//! From what the search found to what `explore` prints: each counterexample shrunk until
//! removing any one of its faults makes the violation disappear, then run from its text (the
//! scenario with the printed `faults` block added), as `scn run` would run it.

use super::search::{both_ways, random_schedule};
use super::space::Move;
use super::verdict::{Broken, group, judge};
use super::{Found, Level, Settings, ShardResult};
use crate::model::Model;
use crate::report::{self, Limits, Report};
use rayon::prelude::*;

/// What `scn explore` answers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub schema_version: u32,
    pub scenario: String,
    /// The bound: at most this many faults, of these kinds, judged by these checks.
    pub max_faults: usize,
    pub kinds: Vec<super::space::Kind>,
    pub checks: Vec<super::verdict::Check>,
    pub durations: super::space::Durations,
    pub levels: Vec<Level>,
    /// Schedules tried in all (fault-free run included).
    pub schedules: u64,
    /// Distinct states they reached just after their last fault.
    pub distinct_states: u64,
    /// Every schedule within the bound was tried.
    pub complete: bool,
    /// About how many schedules the budget left untried.
    pub schedules_left: u64,
    /// What stopped the search short: the memory limit rather than `--budget`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped_by_memory: bool,
    pub counterexamples: Vec<Counterexample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomInfo>,
    /// With `--check-determinism`: every schedule was also run from scratch (and, in random
    /// mode, twice) and compared.
    pub determinism_checked: bool,
    /// The schedules whose runs differed.
    pub divergences: Vec<Divergence>,
    /// Wall-clock time (not part of any rendering that must be reproducible).
    #[serde(skip)]
    pub elapsed: std::time::Duration,
}

/// A minimal fault schedule that breaks the scenario, and the run it gives.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Counterexample {
    /// The fault lines to add, ready to paste as a `faults { ... }` block.
    pub faults: Vec<String>,
    /// The same lines by fault: each fault first, then the recovery paired with it.
    pub moves: Vec<Vec<String>>,
    /// How many faults the search's schedule had before shrinking.
    pub found_with: usize,
    /// What broke, with what the run showed.
    pub broken: Vec<Broken>,
    /// The simulation seed the run used (random mode gives each schedule its own).
    pub seed: u64,
    /// Removing any one of its faults makes this violation disappear (checked by running).
    pub minimal: bool,
    /// The run of the scenario with these lines added.
    pub report: Report,
}

/// What random mode did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RandomInfo {
    pub seed: u64,
    pub schedules: u64,
    pub violated: u64,
}

/// A schedule whose forked run and run from scratch differed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Divergence {
    pub seed: u64,
    pub faults: Vec<String>,
}

/// Shrinks and reports what a search (or the merge of all its shards) found.
pub fn conclude(
    model: &Model,
    source: &str,
    settings: &Settings,
    result: ShardResult,
    elapsed: std::time::Duration,
) -> Result<Outcome, String> {
    let seed = settings.seed.unwrap_or(model.seed);
    let counterexamples =
        result.found.iter().map(|f| counterexample(source, settings, f, seed)).collect::<Result<Vec<_>, _>>()?;
    Ok(Outcome {
        schedules: result.levels.iter().map(|l| l.schedules).sum(),
        distinct_states: result.fingerprints.len() as u64,
        complete: !result.budget_spent && result.levels.iter().all(|l| l.complete),
        schedules_left: result.schedules_left,
        stopped_by_memory: result.memory_spent,
        levels: result.levels,
        counterexamples,
        elapsed,
        determinism_checked: settings.check_determinism,
        divergences: result
            .divergences
            .iter()
            .map(|moves| Divergence { seed: settings.seed.unwrap_or(model.seed), faults: dedup(moves.concat()) })
            .collect(),
        ..Outcome::empty(model, settings)
    })
}

impl Outcome {
    /// The outcome's bound, before anything was explored.
    fn empty(model: &Model, settings: &Settings) -> Outcome {
        Outcome {
            schema_version: 1,
            scenario: model.title.clone(),
            max_faults: settings.max_faults,
            kinds: settings.space.kinds.clone(),
            checks: settings.checks.clone(),
            durations: settings.space.durations,
            levels: Vec::new(),
            schedules: 0,
            distinct_states: 0,
            complete: false,
            schedules_left: 0,
            stopped_by_memory: false,
            counterexamples: Vec::new(),
            random: None,
            determinism_checked: false,
            divergences: Vec::new(),
            elapsed: std::time::Duration::ZERO,
        }
    }
}

/// The scenario with `lines` added as a faults block of its own.
pub fn with_faults(source: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return source.to_string();
    }
    let body: String = lines.iter().map(|l| format!("  {l}\n")).collect();
    format!("{source}\n# added by scn explore\nfaults {{\n{body}}}\n")
}

/// Runs the scenario with `lines` added, from its text; what broke and the report.
fn run_text(
    source: &str,
    lines: &[String],
    settings: &Settings,
    seed: u64,
    rows: usize,
) -> Result<(Vec<Broken>, Report), String> {
    let text = with_faults(source, lines);
    let model = crate::load(&text).map_err(|d| {
        format!("internal error: a fault block explore wrote does not check:\n{}", d.render("<explore>", &text))
    })?;
    let trace_limit = if rows == 0 { crate::model::limits::MAX_REPORT_ROWS } else { rows };
    let run = crate::sim::run(&model, &crate::sim::Options { trace_limit, seed: Some(seed), record_points: false });
    let report = report::build(&model, &run, Limits::rows(rows));
    Ok((judge(&report, &settings.checks), report))
}

/// Whether `broken` is the violation being shrunk: any violation, or under `--all` one of
/// the same group.
fn same(settings: &Settings, target: &str, broken: &[Broken]) -> bool {
    !broken.is_empty() && (!settings.all || group(broken) == target)
}

fn counterexample(source: &str, settings: &Settings, f: &Found, seed: u64) -> Result<Counterexample, String> {
    let target = group(&f.broken);
    let mut moves = f.moves.clone();
    let flat = |m: &[Vec<String>]| m.iter().flatten().cloned().collect::<Vec<String>>();
    // Remove faults one at a time while the violation stays (ddmin over single faults: the
    // search already tried every smaller schedule it could reach, but a fault's trigger may
    // not need the others).
    let mut minimal = false;
    while !minimal {
        minimal = true;
        for i in 0..moves.len() {
            let mut fewer = moves.clone();
            fewer.remove(i);
            let (broken, _) = run_text(source, &flat(&fewer), settings, seed, 1)?;
            if same(settings, &target, &broken) {
                moves = fewer;
                minimal = false;
                break;
            }
        }
    }
    let lines = dedup(flat(&moves));
    let (broken, report) = run_text(source, &lines, settings, seed, settings.max_rows)?;
    if !same(settings, &target, &broken) {
        return Err(format!(
            "internal error: the schedule explore found does not break the scenario when run from its text:\n{}",
            lines.join("\n")
        ));
    }
    Ok(Counterexample { faults: lines, moves, found_with: f.moves.len(), broken, seed, minimal: true, report })
}

/// The lines without repeats (two crashes of one broker share one restart line).
fn dedup(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// `n` random schedules from `seed`, each with its own simulation seed; with
/// `check_determinism`, each is also run from scratch and twice, and compared.
pub fn random(
    model: &Model,
    source: &str,
    settings: &Settings,
    n: u64,
    seed: u64,
    check_determinism: bool,
) -> Result<Outcome, String> {
    use rand_core::{Rng, SeedableRng};
    let started = std::time::Instant::now();
    struct One {
        seed: u64,
        moves: Vec<Move>,
        broken: Vec<Broken>,
        diverged: bool,
    }
    let runs = crate::memory::guarded(|| -> Vec<One> {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let sim_seed = rng.next_u64() % 1_000_000_000;
                let s = Settings { seed: Some(sim_seed), ..settings.clone() };
                let (moves, from_start) = random_schedule(model, &s, &mut rng);
                let (forked, scratch) = both_ways(model, &s, &moves, from_start);
                let diverged =
                    check_determinism && (forked != scratch || both_ways(model, &s, &moves, from_start).0 != forked);
                One { seed: sim_seed, moves, broken: forked.1, diverged }
            })
            .collect()
    })
    .map_err(|_| crate::memory::stopped_message("the random exploration"))?;
    let mut found = Vec::new();
    let mut groups = std::collections::BTreeSet::new();
    for (i, r) in runs.iter().enumerate() {
        if r.broken.is_empty() {
            continue;
        }
        if (settings.all && groups.insert(group(&r.broken))) || (!settings.all && found.is_empty()) {
            found.push((i, r));
        }
    }
    let counterexamples = found
        .iter()
        .map(|(i, r)| {
            let f = Found {
                depth: r.moves.len(),
                key: vec![*i as u64],
                moves: r.moves.iter().map(|m| m.lines.clone()).collect(),
                broken: r.broken.clone(),
            };
            counterexample(source, settings, &f, r.seed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let divergences = runs
        .iter()
        .filter(|r| r.diverged)
        .map(|r| Divergence { seed: r.seed, faults: dedup(r.moves.iter().flat_map(|m| m.lines.clone()).collect()) })
        .collect();
    Ok(Outcome {
        schedules: n,
        counterexamples,
        random: Some(RandomInfo {
            seed,
            schedules: n,
            violated: runs.iter().filter(|r| !r.broken.is_empty()).count() as u64,
        }),
        determinism_checked: check_determinism,
        divergences,
        elapsed: started.elapsed(),
        ..Outcome::empty(model, settings)
    })
}
