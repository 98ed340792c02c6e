//! The exhaustive search: every schedule of k faults before any of k+1, each child forked from
//! its parent's run just before its fault (the prefix is simulated once per parent, not once
//! per child), states seen before skipped by fingerprint, parents spread over threads and
//! their results gathered in a fixed order, so the answer never depends on the thread count.

use super::space::Move;
use super::verdict::{Broken, judge};
use super::{Budget, Found, Level, Settings, ShardResult};
use crate::model::Model;
use crate::report::{self, Limits};
use crate::sim::{self, Choice, Sim, Stop};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A schedule explored: its faults, and what its run showed.
#[derive(Debug, Clone)]
struct Node {
    moves: Vec<Move>,
    /// The event at which its last fault fired: further faults go after it.
    last_event: u64,
    /// Its run's choice points (kept only while it may be extended).
    choices: Vec<Choice>,
    /// Run from the start with every line in place, not forked (a fork would not have been
    /// exact, see `Sim::fork_safe`).
    scratch: bool,
}

/// One child a parent's replay produced.
struct Child {
    /// Its place in the search order: parent's rank, choice, move.
    key: Vec<u64>,
    fingerprint: u64,
    /// Skipped: a state already explored (its verdict is that state's).
    dup: bool,
    broken: Vec<Broken>,
    node: Node,
}

/// Tasks per batch between budget checks (fixed, so a run budget cuts at the same place
/// whatever the thread count).
const BATCH: usize = 16;

/// Explores this process's share of the schedules (all of them without `--shard`).
pub fn search(model: &Model, settings: &Settings, progress: &(dyn Fn(Progress) + Sync)) -> ShardResult {
    let started = std::time::Instant::now();
    let mut result = ShardResult::default();
    let root = crate::memory::guarded(|| run_root(model, settings));
    let cut_short = root.is_err();
    let (root, root_broken, root_fp) = root.unwrap_or_else(|r| r);
    result.fingerprints.insert(root_fp);
    if cut_short {
        result.levels.push(Level { depth: 0, schedules: 1, complete: false });
        result.memory_spent = true;
        result.budget_spent = true;
        return result;
    }
    result.levels.push(Level { depth: 0, schedules: 1, complete: true });
    if !root_broken.is_empty() {
        result.found.push(Found { depth: 0, key: vec![0, 0], moves: Vec::new(), broken: root_broken });
        if !settings.all {
            return result;
        }
    }
    let mut seen: HashMap<u64, Vec<Broken>> = HashMap::new();
    seen.insert(root_fp, Vec::new());
    let mut parents = vec![root];
    let mut runs = 1u64;
    let mut groups: BTreeSet<String> = result.found.iter().map(|f| super::verdict::group(&f.broken)).collect();
    for depth in 1..=settings.max_faults {
        let last = depth == settings.max_faults;
        let total: u64 = parents.iter().map(|p| estimate(model, settings, p)).sum();
        progress(Progress::Level { depth, estimate: total });
        let mut level = Level { depth, schedules: 0, complete: true };
        let mut next = Vec::new();
        let mut stopped_at = None;
        let work = tasks(&parents);
        for (b, batch) in work.chunks(BATCH).enumerate() {
            if budget_spent(&settings.budget, runs, started) {
                stopped_at = Some(b * BATCH);
                break;
            }
            let outs = crate::memory::guarded(|| -> Vec<(Vec<Child>, Vec<Vec<Vec<String>>>)> {
                batch
                    .par_iter()
                    .map(|t| {
                        let out = children(model, settings, t, last, &seen);
                        progress(Progress::Done(out.0.len() as u64));
                        out
                    })
                    .collect()
            });
            let Some(outs) = outs.ok().filter(|_| !crate::memory::exceeded()) else {
                // A child that stopped at the limit has no verdict: drop the whole batch (so
                // the count stays a whole number of batches) and stop as a budget would.
                result.memory_spent = true;
                stopped_at = Some(b * BATCH);
                // (`schedules_left` below counts this batch as untried.)
                break;
            };
            let mut kids = Vec::new();
            for (k, d) in outs {
                kids.extend(k);
                result.divergences.extend(d);
            }
            for k in kids {
                level.schedules += 1;
                runs += u64::from(!k.dup);
                result.fingerprints.insert(k.fingerprint);
                let fresh = !k.dup && !seen.contains_key(&k.fingerprint);
                if !k.broken.is_empty() {
                    let g = super::verdict::group(&k.broken);
                    let first = result.found.is_empty();
                    if (settings.all && groups.insert(g)) || (!settings.all && first) {
                        let moves = k.node.moves.iter().map(|m| m.lines.clone()).collect();
                        result.found.push(Found { depth, key: k.key.clone(), moves, broken: k.broken.clone() });
                    }
                }
                if fresh {
                    seen.insert(k.fingerprint, k.broken);
                    if !last {
                        next.push(k.node);
                    }
                }
            }
        }
        if let Some(at) = stopped_at {
            level.complete = false;
            result.schedules_left = work[at..].iter().map(|t| estimate_task(model, settings, t)).sum();
            result.levels.push(level);
            result.budget_spent = true;
            return result;
        }
        result.levels.push(level);
        if !result.found.is_empty() && !settings.all {
            return result;
        }
        parents = next;
        if parents.is_empty() {
            break;
        }
    }
    result
}

/// What the search reports as it goes.
pub enum Progress {
    /// A new depth starts, with about this many schedules.
    Level { depth: usize, estimate: u64 },
    /// This many more schedules are done.
    Done(u64),
}

fn budget_spent(budget: &Budget, runs: u64, started: std::time::Instant) -> bool {
    match *budget {
        Budget::None => false,
        Budget::Runs(n) => runs >= n,
        Budget::Time(d) => started.elapsed() >= d,
    }
}

fn options(settings: &Settings) -> sim::Options {
    sim::Options { trace_limit: 0, seed: settings.seed, record_points: true }
}

/// The fault-free run (the file's own faults only).
fn run_root(model: &Model, settings: &Settings) -> (Node, Vec<Broken>, u64) {
    let mut sim = Sim::new(model, &options(settings));
    let fp = sim.fingerprint();
    let stop = sim.run_to_end();
    let choices = sim.take_choices();
    let broken = verdict(model, settings, sim, stop);
    (Node { moves: Vec::new(), last_event: 0, choices, scratch: false }, broken, fp)
}

fn verdict(model: &Model, settings: &Settings, sim: Sim, stop: Stop) -> Vec<Broken> {
    let run = sim.finish(stop);
    let report = report::build(model, &run, Limits::rows(1));
    judge(&report, &settings.checks)
}

/// Adds a move's lines to a run (a recovery line it already holds is not added twice).
pub(super) fn apply(sim: &mut Sim, m: &Move) {
    for spec in &m.specs {
        if !sim.faults.iter().any(|f| f.name == spec.name) {
            sim.add_fault(spec.clone());
        }
    }
}

/// Whether adding `m` at this point of `sim` is exact (see `Sim::fork_safe`).
fn fork_safe(sim: &Sim, m: &Move) -> bool {
    m.specs.iter().all(|s| sim.faults.iter().any(|f| f.name == s.name) || sim.fork_safe(s))
}

/// A run with `moves` in place from the start, as the scenario text with those lines would
/// run; stepped until the last move's fault fired. Returns the run and that event.
fn from_scratch<'m>(model: &'m Model, options: &sim::Options, moves: &[Move]) -> (Sim<'m>, u64) {
    let mut sim = Sim::new(model, options);
    for m in moves {
        apply(&mut sim, m);
    }
    let last =
        moves.last().and_then(|m| m.specs.first()).and_then(|f| sim.faults.iter().position(|x| x.name == f.name));
    let mut at = 0;
    if let Some(i) = last {
        while !sim.fired(i) {
            if sim.step_once().is_some() {
                break;
            }
        }
        at = sim.events;
    }
    (sim, at)
}

/// A parent's run up to its last fault, replayed the way it was first run.
fn replay<'m>(model: &'m Model, options: &sim::Options, parent: &Node) -> Sim<'m> {
    if parent.scratch {
        let mut sim = Sim::new(model, options);
        for m in &parent.moves {
            apply(&mut sim, m);
        }
        return sim;
    }
    let mut sim = Sim::new(model, options);
    for m in &parent.moves {
        sim.run_until(m.fork - 1);
        apply(&mut sim, m);
    }
    sim
}

/// About how many children a parent has (the exact number depends on the states it passes).
fn estimate(model: &Model, settings: &Settings, p: &Node) -> u64 {
    p.choices.iter().filter(|c| c.event > p.last_event).map(|c| settings.space.estimate(model, c) as u64).sum()
}

fn estimate_task(model: &Model, settings: &Settings, t: &Task) -> u64 {
    let later = t.parent.choices.iter().filter(|c| c.event > t.parent.last_event);
    later.skip(t.first).take(t.count).map(|c| settings.space.estimate(model, c) as u64).sum()
}

/// Which shard a schedule belongs to: a stable hash of its fault lines.
pub(super) fn shard_of(moves: &[Move], extra: &Move, count: u32) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for m in moves.iter().chain(std::iter::once(extra)) {
        m.lines.hash(&mut h);
    }
    (h.finish() % u64::from(count)) as u32
}

/// Choice points of one parent handled by one task: the parent's prefix is replayed once per
/// task (a fixed size, so the work split never depends on the thread count).
const CHOICES_PER_TASK: usize = 24;

/// One task: a parent and a run of its later choice points.
struct Task<'a> {
    rank: usize,
    parent: &'a Node,
    /// Index of the first choice (among the parent's later ones) and how many.
    first: usize,
    count: usize,
}

fn tasks(parents: &[Node]) -> Vec<Task<'_>> {
    let mut out = Vec::new();
    for (rank, p) in parents.iter().enumerate() {
        let n = p.choices.iter().filter(|c| c.event > p.last_event).count();
        let mut first = 0;
        while first < n {
            let count = CHOICES_PER_TASK.min(n - first);
            out.push(Task { rank, parent: p, first, count });
            first += count;
        }
    }
    out
}

/// Replays a parent and forks one child per move at each choice point of the task.
/// A task's children, and the schedules (with `--check-determinism`) whose run from scratch
/// differed.
fn children(
    model: &Model,
    settings: &Settings,
    task: &Task,
    last: bool,
    seen: &HashMap<u64, Vec<Broken>>,
) -> (Vec<Child>, Vec<Vec<Vec<String>>>) {
    let parent = task.parent;
    // The last depth's children are not extended: their runs need no choice points.
    let options = sim::Options { record_points: !last, ..options(settings) };
    let mut sim = replay(model, &options, parent);
    let mut out = Vec::new();
    let mut divergences = Vec::new();
    let mut local: HashMap<u64, Vec<Broken>> = HashMap::new();
    let later = parent.choices.iter().filter(|c| c.event > parent.last_event).enumerate();
    for (ci, c) in later.skip(task.first).take(task.count) {
        if sim.run_until(c.event - 1).is_some() {
            break;
        }
        for (mi, mv) in settings.space.moves(&sim, c).into_iter().enumerate() {
            let (index, count) = settings.shard;
            if last && count > 1 && shard_of(&parent.moves, &mv, count) != index {
                continue;
            }
            let scratch = parent.scratch || !fork_safe(&sim, &mv);
            let mut moves = parent.moves.clone();
            moves.push(mv);
            let (mut child, last_event, stop) = if scratch {
                let (child, at) = from_scratch(model, &options, &moves);
                (child, at, None)
            } else {
                let mut child = sim.clone();
                apply(&mut child, moves.last().expect("a move"));
                // The fault fires in the next event (a timed one is that event).
                let stop = child.step_once();
                (child, c.event, stop)
            };
            let fingerprint = child.fingerprint();
            let known = seen.get(&fingerprint).or_else(|| local.get(&fingerprint)).cloned();
            let node = Node { moves, last_event, choices: Vec::new(), scratch };
            let key = vec![task.rank as u64, ci as u64, mi as u64];
            if let Some(broken) = known {
                out.push(Child { key, fingerprint, dup: true, broken, node });
                continue;
            }
            let stop = match stop {
                Some(s) => s,
                None => child.run_to_end(),
            };
            // (Only the choices after its fault: the ones its children can take.)
            let choices = if last {
                Vec::new()
            } else {
                let mut cs: Vec<Choice> = child.take_choices().into_iter().filter(|x| x.event > last_event).collect();
                cs.shrink_to_fit();
                cs
            };
            let end = settings.check_determinism.then(|| child.fingerprint());
            let broken = verdict(model, settings, child, stop);
            if let Some(end) = end {
                // The same schedule from scratch, as its text runs: the same end and verdict.
                let (fp, again) = scratch_end(model, settings, &node.moves);
                if fp != end || again != broken {
                    divergences.push(node.moves.iter().map(|m| m.lines.clone()).collect());
                }
            }
            local.insert(fingerprint, broken.clone());
            out.push(Child { key, fingerprint, dup: false, broken, node: Node { choices, ..node } });
        }
    }
    (out, divergences)
}

/// The end fingerprint and verdict of `moves` run from the start with every line in place.
fn scratch_end(model: &Model, settings: &Settings, moves: &[Move]) -> (u64, Vec<Broken>) {
    let mut sim = Sim::new(model, &sim::Options { record_points: false, ..options(settings) });
    for m in moves {
        apply(&mut sim, m);
    }
    let stop = sim.run_to_end();
    let fp = sim.fingerprint();
    (fp, verdict(model, settings, sim, stop))
}

/// Runs the schedule `moves` both ways: as the search runs it (forked where that is exact,
/// `scratch` once it was not) and from the start with every line in place; returns the two
/// final fingerprints and verdicts.
pub(super) fn both_ways(
    model: &Model,
    settings: &Settings,
    moves: &[Move],
    scratch: bool,
) -> ((u64, Vec<Broken>), (u64, Vec<Broken>)) {
    let parent = Node { moves: moves.to_vec(), last_event: 0, choices: Vec::new(), scratch };
    let searched = replay(model, &options(settings), &parent);
    let mut from_start = Sim::new(model, &options(settings));
    for m in moves {
        apply(&mut from_start, m);
    }
    let end = |mut s: Sim| {
        let stop = s.run_to_end();
        let fp = s.fingerprint();
        (fp, verdict(model, settings, s, stop))
    };
    (end(searched), end(from_start))
}

/// One random schedule of up to `settings.max_faults` faults, picked by `rng` among the choice
/// points each run passes; and whether it had to be run from scratch.
pub(super) fn random_schedule(model: &Model, settings: &Settings, rng: &mut impl rand_core::Rng) -> (Vec<Move>, bool) {
    let mut sim = Sim::new(model, &options(settings));
    let mut moves: Vec<Move> = Vec::new();
    let mut last = 0u64;
    let mut scratch = false;
    for _ in 0..settings.max_faults {
        let mut probe = sim.clone();
        probe.run_to_end();
        // (Not before where the run already is: a choice that offered nothing moved it on.)
        let from = last.max(sim.events);
        let choices: Vec<Choice> = probe.take_choices().into_iter().filter(|c| c.event > from).collect();
        if choices.is_empty() {
            break;
        }
        let c = &choices[(rng.next_u64() % choices.len() as u64) as usize];
        if sim.run_until(c.event - 1).is_some() {
            break;
        }
        let options = settings.space.moves(&sim, c);
        if options.is_empty() {
            // A choice this space offers nothing at (e.g. a client point with only broker
            // kinds asked for): try another.
            continue;
        }
        let mv = options[(rng.next_u64() % options.len() as u64) as usize].clone();

        moves.push(mv);
        if scratch || !fork_safe(&sim, moves.last().expect("a move")) {
            scratch = true;
            let (s, at) = from_scratch(model, &self::options(settings), &moves);
            sim = s;
            last = at;
        } else {
            apply(&mut sim, moves.last().expect("a move"));
            last = c.event;
        }
    }
    (moves, scratch)
}
