//! `scn explore` on the command line: arguments to settings, a progress bar on a terminal,
//! the rates on stderr, the outcome on stdout, and the exit code.

use crate::{ExploreArgs, emit};
use scn::explore::{self, Budget, Outcome, Progress, Settings, ShardFile, ShardResult, space};
use scn::model::Model;
use std::io::IsTerminal;

/// Applies `--kinds` and `--clients` to `settings`.
pub fn kinds(model: &Model, words: &[String], clients: &[String], settings: &mut Settings) -> Result<(), String> {
    for c in clients {
        let known = model
            .producers
            .iter()
            .filter(|p| p.processor.is_none())
            .map(|p| &p.name)
            .chain(model.consumers.iter().filter(|c| c.processor.is_none()).map(|c| &c.name))
            .chain(model.processors.iter().map(|p| &p.name));
        if !known.clone().any(|k| k == c) {
            let names: Vec<&String> = known.collect();
            return Err(format!(
                "--clients: no client `{c}` (clients: {})",
                names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let only = (!clients.is_empty()).then_some(clients);
    settings.clients = only.map(|c| c.to_vec());
    let mut kinds = if words.is_empty() { settings.space.kinds.clone() } else { Vec::new() };
    for w in words {
        for k in space::Kind::parse_word(w.trim())? {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    kinds.sort();
    settings.space = space::Space::only(model, kinds, settings.space.durations, settings.clients.as_deref());
    Ok(())
}

fn settings(model: &Model, a: &ExploreArgs) -> Result<Settings, String> {
    let mut s = Settings::new(model);
    if a.format == scn::report::Format::Html {
        return Err("--format html is one page for one run: draw a counterexample with --format svg or mermaid, or run it with `scn run FILE --format html`".into());
    }
    if a.faults == 0 || a.faults > 5 {
        return Err(format!("--faults {} is out of range: 1 to 5", a.faults));
    }
    s.max_faults = a.faults;
    let mut d = s.space.durations;
    d.client_restart_ms = explore::parse_duration(&a.restart_after)?;
    if let Some(t) = &a.broker_restart_after {
        d.broker_restart_ms = explore::parse_duration(t)?;
    }
    if let Some(t) = &a.heal_after {
        d.heal_ms = explore::parse_duration(t)?;
    }
    if let Some(t) = &a.pause_for {
        d.pause_ms = Some(explore::parse_duration(t)?);
    }
    s.space = space::Space::new(model, s.space.kinds.clone(), d);
    kinds(model, &a.kinds, &a.clients, &mut s)?;
    if !a.check.is_empty() {
        let mut checks = Vec::new();
        for c in &a.check {
            let c = explore::verdict::Check::parse(c.trim())?;
            if !checks.contains(&c) {
                checks.push(c);
            }
        }
        checks.sort();
        s.checks = checks;
    }
    s.all = a.all;
    if let Some(b) = &a.budget {
        s.budget = explore::parse_budget(b)?;
    }
    if let Some(sh) = &a.shard {
        s.shard = explore::parse_shard(sh)?;
    }
    if a.random.is_none() {
        s.seed = a.seed;
    }
    s.max_rows = a.max_rows;
    s.check_determinism = a.check_determinism;
    Ok(s)
}

fn pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        if j == 0 {
            return Err("--jobs must be at least 1".into());
        }
        b = b.num_threads(j);
    }
    b.build().map_err(|e| format!("cannot start threads: {e}"))
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} schedules, {rate}, ETA {eta}")
                .expect("template")
                .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} schedules/s", s.per_sec());
                })
                .progress_chars("=> "),
        );
        Bar(Some(bar))
    }

    fn report(&self, p: Progress) {
        let Some(bar) = &self.0 else { return };
        match p {
            Progress::Level { depth, estimate } => {
                bar.set_prefix(format!("{depth} fault{}", if depth == 1 { "" } else { "s" }));
                bar.set_position(0);
                bar.set_length(estimate);
            }
            Progress::Done(n) => bar.inc(n),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn fail(e: String) -> u8 {
    eprintln!("error: {e}");
    2
}

/// Explores one file; the exit code: 0 nothing breaks, 1 a counterexample or divergence, 2 an error.
pub fn run(model: &Model, file: &str, source: &str, a: &ExploreArgs) -> u8 {
    let settings = match settings(model, a) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let pool = match pool(a.jobs) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let started = std::time::Instant::now();
    if let Some(n) = a.random {
        let seed = a.seed.unwrap_or(model.seed);
        let outcome = pool.install(|| explore::random(model, source, &settings, n, seed, a.check_determinism));
        return finish(outcome, a);
    }
    let bar = Bar::new();
    let result = pool.install(|| explore::search(model, &settings, &|p| bar.report(p)));
    bar.finish();
    if settings.shard.1 > 1 || a.shard.is_some() {
        let shard = ShardFile {
            schema: explore::SHARD_SCHEMA.into(),
            file: file.to_string(),
            source: source.to_string(),
            shard: settings.shard,
            args: explore::ShardArgs::of(&settings),
            result,
        };
        emit(&(serde_json::to_string(&shard).expect("shard serializes") + "\n"));
        return 0;
    }
    rates(&result, started.elapsed());
    let outcome = pool.install(|| explore::conclude(model, source, &settings, result, started.elapsed()));
    finish(outcome, a)
}

/// Schedules/s, states/s and the dedup ratio, on stderr (they vary from run to run).
fn rates(r: &ShardResult, elapsed: std::time::Duration) {
    let schedules: u64 = r.levels.iter().map(|l| l.schedules).sum();
    let states = r.fingerprints.len() as u64;
    let secs = elapsed.as_secs_f64().max(1e-6);
    let dedup = if schedules == 0 { 0.0 } else { 100.0 * (1.0 - states as f64 / schedules as f64) };
    eprintln!(
        "explored {schedules} schedules, {states} distinct states in {secs:.2}s: {:.0} schedules/s, {:.0} states/s, {dedup:.0}% deduplicated",
        schedules as f64 / secs,
        states as f64 / secs,
    );
}

fn finish(outcome: Result<Outcome, String>, a: &ExploreArgs) -> u8 {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    emit(&scn::report::render_explore(&outcome, a.format, a.look.layout()));
    let diverged = !outcome.divergences.is_empty();
    if outcome.counterexamples.is_empty() && !diverged { 0 } else { 1 }
}

/// `--merge`: the shard files' union, concluded as one process would have.
pub fn merge(a: &ExploreArgs) -> u8 {
    let mut files = Vec::new();
    for path in &a.merge {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return fail(format!("cannot read {path}: {e}")),
        };
        match serde_json::from_str::<ShardFile>(&text) {
            Ok(f) => files.push(f),
            Err(e) => return fail(format!("{path} is not a shard file of `scn explore --shard`: {e}")),
        }
    }
    let merged = match explore::merge(&files) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let first = &files[0];
    let model = match scn::load(&first.source) {
        Ok(m) => m,
        Err(d) => {
            eprint!("{}", d.render(&first.file, &first.source));
            return 2;
        }
    };
    let mut settings = match first.args.settings(&model) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    settings.max_rows = a.max_rows;
    settings.budget = Budget::None;
    let pool = match pool(a.jobs) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let outcome =
        pool.install(|| explore::conclude(&model, &first.source, &settings, merged, std::time::Duration::ZERO));
    finish(outcome, a)
}
