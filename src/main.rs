//! The `scn` command line: read arguments, call the library, print, pick the exit code.

use clap::{CommandFactory, Parser, Subcommand};
use scn::report::{self, Format, Section};
use std::process::ExitCode;

#[cfg(feature = "conform")]
mod conform_cmd;
mod explore_cmd;
mod test_cmd;

/// Deterministic simulation of Kafka delivery semantics from declarative .scn scenarios.
#[derive(Parser)]
#[command(name = "scn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Stop a run or an exploration once scn's resident memory passes this (512MiB, 2GB,
    /// 1.5GiB), with a message instead of an allocation failure. Default: three quarters of
    /// the memory available when scn starts.
    #[arg(long, global = true, value_name = "SIZE", env = "SCN_MAX_MEMORY", value_parser = scn::memory::parse_size)]
    max_memory: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios and print what happened to every message.
    ///
    /// Exit code 0: every expectation holds; 1: an expectation failed, or a flow's configured
    /// guarantee is violated and no expect line states it; 2: a scenario is invalid or
    /// unreadable. With several files, the worst of their codes.
    Run {
        /// The .scn files (`-`: standard input); each report is printed in turn.
        #[arg(required = true)]
        files: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Sections to print, comma-separated (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        sections: Vec<Section>,
        /// Rows kept in the long tables (steps, tracker, logs, messages), up to 100000 a
        /// table; 0 keeps every row, streamed from a temporary file so memory stays flat (a
        /// picture draws up to 100000 steps). A cut table keeps the rows around faults, errors, crashes, elections
        /// and rebalances and the first appearance of every lost or duplicated message, then
        /// the earliest, and says how many it left out.
        #[arg(long, default_value_t = 200)]
        max_rows: usize,
        /// Overrides the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        rows: Rows,
        #[command(flatten)]
        look: Look,
    },
    /// Check scenarios without running them (exit 0 all valid, 2 one is invalid).
    Check {
        /// The .scn files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Run the scenario under several configurations and print one row per configuration.
    ///
    /// Without --vary: the three guarantee presets. Each --vary KEY=V1,V2 varies a producer or
    /// consumer setting (or `guarantee`) for every client that has it; several give the matrix.
    /// Exit code 0: every configuration ran and its expectations hold; 1: an expectation failed
    /// under some configuration; 2: a configuration is invalid (its row says why), or the file
    /// or --vary is.
    Compare {
        /// The .scn files; each comparison is printed in turn.
        #[arg(required = true)]
        files: Vec<String>,
        /// KEY=V1,V2,... (repeatable).
        #[arg(long)]
        vary: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Overrides the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Also write the comparison's charts (lost / duplicated / failed, latency, guarantees)
        /// to this SVG file.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<String>,
        #[command(flatten)]
        look: Look,
    },
    /// List the fault space: every fault line `explore` tries at depth 1, with its recovery.
    ///
    /// Without --kinds: the default space (everything but controlled shutdowns).
    Points {
        /// The .scn files; with several, each file's lines follow a `# FILE` comment line.
        #[arg(required = true)]
        files: Vec<String>,
        /// Fault kinds, comma-separated (see `scn explore --help`).
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
    },
    /// Try every fault schedule up to --faults faults and print the smallest one that breaks
    /// the scenario.
    ///
    /// Broken means: an `expect` line fails; without an expect block, a flow's configured
    /// guarantee does not hold or an anomaly the configuration does not allow occurs
    /// (--check picks other checks). Exit code 0: nothing breaks within the bound; 1: a
    /// counterexample was found (or, with --check-determinism, a run diverged); 2: the
    /// scenario or the arguments are invalid.
    Explore(Box<ExploreArgs>),
    /// Run every scenario under PATHs and compare its report with its committed snapshot.
    ///
    /// A scenario's snapshot is `snapshots/NAME.snap` in the scenario's folder: its `scn run`
    /// table, or for a file with a `# scn-test: reject` line, its diagnostics. A new or changed
    /// snapshot fails with a diff and is written beside it as `NAME.snap.new`; failed
    /// expectations fail too. Under CI=true nothing is written. Exit code 0: every scenario
    /// passed; 1: one failed; 2: a path or the arguments are wrong.
    Test(TestArgs),
    /// Run the scenario's clients against a real Kafka-protocol broker, inject its faults for
    /// real, and judge the recorded history beside the simulation.
    ///
    /// Without --bootstrap, scn starts noida-db (`pip install noida-db`) on 127.0.0.1 and stops
    /// it after the run. Exit code 0: the real run's expectations hold and it matches the
    /// simulation; 1: a finding (a difference) or a failed expectation; 2: the scenario, the
    /// arguments or the broker are unusable.
    #[cfg(feature = "conform")]
    Conform(Box<conform_cmd::ConformArgs>),
    /// Print the JSON Schema of `scn run --format json` (and yaml) output.
    Schema,
    /// Print a shell completion script: `scn completions bash > /etc/bash_completion.d/scn`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `scn man > ~/.local/share/man/man1/scn.1`.
    Man,
}

/// Which rows the long tables show (the totals, flows and anomalies cover the whole run).
#[derive(clap::Args)]
struct Rows {
    /// Only the steps of this actor (`ledger` also matches `group ledger`), the messages it
    /// sent or processed and the records it produced.
    #[arg(long, value_name = "NAME")]
    actor: Option<String>,
    /// Only the steps, messages and log records carrying this value.
    #[arg(long, value_name = "VALUE")]
    message: Option<String>,
    /// Only the steps and tracker rows at or after this time (`5s`, `1.5s`, `2m30s`).
    #[arg(long, value_name = "TIME", value_parser = scn::explore::parse_duration)]
    from: Option<u64>,
    /// Only the steps and tracker rows at or before this time.
    #[arg(long, value_name = "TIME", value_parser = scn::explore::parse_duration)]
    to: Option<u64>,
}

impl Rows {
    fn filter(&self) -> scn::Filter {
        scn::Filter { actor: self.actor.clone(), message: self.message.clone(), from_ms: self.from, to_ms: self.to }
    }
}

/// How text tables look on standard output.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct Look {
    /// Every table at full width, in its full column order (default: fit the terminal, or
    /// COLUMNS, or 100 columns in a pipe).
    #[arg(long)]
    wide: bool,
    /// Colour the verdicts: auto (a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = scn::ColorChoice::Auto)]
    color: scn::ColorChoice,
}

impl Look {
    pub(crate) fn layout(self) -> scn::Layout {
        scn::Layout::for_stdout(self.wide, self.color)
    }
}

#[derive(clap::Args)]
struct TestArgs {
    /// Scenario files, or folders searched for `.scn` files (default: the current folder).
    paths: Vec<String>,
    /// Make every new or changed snapshot the committed one.
    #[arg(long, conflicts_with = "review")]
    accept: bool,
    /// Show each new or changed snapshot and ask: accept, reject or skip (one answer a line
    /// on stdin).
    #[arg(long)]
    review: bool,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<String>,
}

#[derive(clap::Args)]
struct ExploreArgs {
    /// The .scn files (not with --merge), each explored in turn with the same options.
    #[arg(required_unless_present = "merge", value_name = "FILE")]
    files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// At most this many faults per schedule.
    #[arg(long, default_value_t = 2)]
    faults: usize,
    /// Fault kinds, comma-separated: client, broker, network, crash, pause, all, or
    /// client-crash, client-pause, leader-crash, broker-crash, broker-pause, partition, lost,
    /// shutdown (default: all but shutdown).
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Client faults (crashes, pauses, lost requests, cut client links) only for these
    /// clients, comma-separated (default: every client).
    #[arg(long, value_delimiter = ',')]
    clients: Vec<String>,
    /// What counts as broken, comma-separated: expect, guarantee, anomaly, lost, duplicate,
    /// unseen, aborted-read, nonmonotonic, inconsistent, failed.
    #[arg(long, value_delimiter = ',')]
    check: Vec<String>,
    /// One minimal counterexample per distinct violation, not only the first.
    #[arg(long)]
    all: bool,
    /// Stop after this many schedules (5000) or this much time (30s) and say how far it got.
    #[arg(long)]
    budget: Option<String>,
    /// Try N seeded random schedules instead of all of them.
    #[arg(long, value_name = "N")]
    random: Option<u64>,
    /// The simulation seed (with --random: the seed the random schedules come from).
    #[arg(long)]
    seed: Option<u64>,
    /// With --random: run each schedule forked and from scratch and compare.
    #[arg(long)]
    check_determinism: bool,
    /// Threads (default: every core). The output does not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Explore the i-th of n hash-assigned shares and print a shard file (JSON) for --merge.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Combine shard files into what one process would have printed.
    #[arg(long, num_args = 1.., value_name = "SHARD.json", conflicts_with_all = ["shard", "random"])]
    merge: Vec<String>,
    /// A crashed client restarts after this long.
    #[arg(long, default_value = "1s")]
    restart_after: String,
    /// A crashed broker restarts after this long (default: broker.session.timeout.ms + 1s).
    #[arg(long)]
    broker_restart_after: Option<String>,
    /// A cut link heals after this long (default: broker.session.timeout.ms + 1s).
    #[arg(long)]
    heal_after: Option<String>,
    /// A paused node resumes after this long (default: its session timeout + 1s: a zombie).
    #[arg(long)]
    pause_for: Option<String>,
    /// Rows kept in the counterexample's tables; 0 keeps all.
    #[arg(long, default_value_t = 200)]
    max_rows: usize,
    #[command(flatten)]
    look: Look,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    scn::memory::set_limit(cli.max_memory.or_else(scn::memory::default_limit));
    let files = match &cli.command {
        Command::Run { files, .. } | Command::Check { files } => files.clone(),
        Command::Points { files, .. } | Command::Compare { files, .. } => files.clone(),
        Command::Explore(args) if args.files.is_empty() => return ExitCode::from(explore_cmd::merge(args)),
        Command::Explore(args) => args.files.clone(),
        Command::Test(args) => return test_cmd::run(args),
        #[cfg(feature = "conform")]
        Command::Conform(args) => return conform_cmd::run(args),
        Command::Schema => {
            emit(&(serde_json::to_string_pretty(&scn::report::schema()).expect("schema serializes") + "\n"));
            return ExitCode::SUCCESS;
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "scn", &mut out);
            emit(&String::from_utf8_lossy(&out));
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            let mut out = Vec::new();
            if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            emit(&String::from_utf8_lossy(&out));
            return ExitCode::SUCCESS;
        }
    };
    if let (Command::Explore(args), true) = (&cli.command, files.len() > 1) {
        if args.shard.is_some() {
            eprintln!("error: --shard explores one file: give one");
            return ExitCode::from(2);
        }
    }
    if let (Command::Compare { plot: Some(_), .. }, true) = (&cli.command, files.len() > 1) {
        eprintln!("error: --plot draws one comparison: give one file");
        return ExitCode::from(2);
    }
    let mut worst = 0;
    for (i, file) in files.iter().enumerate() {
        if i > 0 && matches!(cli.command, Command::Run { .. } | Command::Compare { .. } | Command::Explore(_)) {
            emit("\n");
        }
        if files.len() > 1 && matches!(cli.command, Command::Points { .. }) {
            emit(&format!("{}# {file}\n", if i > 0 { "\n" } else { "" }));
        }
        worst = worst.max(one(&cli.command, file));
    }
    ExitCode::from(worst)
}

/// Runs one command on one file; the exit code.
fn one(command: &Command, file: &str) -> u8 {
    let scenario = match scn::Scenario::from_file(file) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return 2;
        }
    };
    let model = scenario.model();
    match command {
        Command::Check { .. } => {
            let counts = [
                (u64::from(model.cluster.brokers), "broker"),
                (model.partitions.len() as u64, "partition"),
                (model.producers.len() as u64, "producer"),
                (model.consumers.len() as u64, "consumer"),
                (u64::from(model.total_messages), "message"),
                (model.faults.len() as u64, "fault"),
                (model.expects.len() as u64, "expectation"),
            ];
            let counts: Vec<String> =
                counts.iter().map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" })).collect();
            println!("{file}: ok ({})", counts.join(", "));
            0
        }
        Command::Compare { format: Format::Mermaid | Format::Html, .. } => {
            eprintln!("error: compare prints --format table, markdown, json, yaml or svg (charts)");
            2
        }
        Command::Compare { vary, format, seed, plot, look, .. } => match scenario.compare(vary, *seed) {
            Ok(comparison) => {
                if let Some(path) = plot {
                    if let Err(e) = std::fs::write(path, comparison.render(Format::Svg)) {
                        eprintln!("error: cannot write {path}: {e}");
                        return 2;
                    }
                }
                emit(&comparison.render_with(*format, look.layout()));
                if comparison.any_invalid() {
                    2
                } else if comparison.any_expectation_failed() {
                    1
                } else {
                    0
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Command::Test(_) | Command::Schema | Command::Completions { .. } | Command::Man => {
            unreachable!("handled above")
        }
        #[cfg(feature = "conform")]
        Command::Conform(_) => unreachable!("handled above"),
        Command::Points { kinds, .. } => {
            let mut settings = scn::explore::Settings::new(model);
            if let Err(e) = explore_cmd::kinds(model, kinds, &[], &mut settings) {
                eprintln!("error: {e}");
                return 2;
            }
            let Ok(points) = scn::memory::guarded(|| scn::explore::space_lines(model, &settings)) else {
                eprintln!("error: {}", scn::memory::stopped_message(&format!("{file}: listing the points")));
                return 2;
            };
            emit(&points.into_iter().map(|p| p + "\n").collect::<String>());
            0
        }
        Command::Explore(args) => explore_cmd::run(model, file, scenario.source(), args),
        Command::Run { format, sections, max_rows, seed, rows: filters, look, .. } => {
            // A picture records every step (up to the row limit) and draws --max-rows of them,
            // those around the faults in a longer run; the tables keep the first --max-rows.
            let picture = matches!(*format, Format::Svg | Format::Mermaid | Format::Html);
            let rows = if picture { 0 } else { *max_rows };
            // --max-rows 0 streams the long tables from a temporary file (memory stays flat).
            let outcome = scenario.run(&scn::RunOptions {
                seed: *seed,
                max_rows: rows,
                filter: filters.filter(),
                stream: !picture,
            });
            let run = &outcome.report().run;
            if run.stop == scn::sim::Stop::MemoryLimit {
                let what = format!("{file}: the run");
                eprintln!(
                    "error: {} after {} events, at {} ms of simulated time; an incomplete run is not reported",
                    scn::memory::stopped_message(&what),
                    run.events,
                    run.stopped_at_ms
                );
                return 2;
            }
            if picture {
                emit(&report::picture(outcome.report(), *format, *max_rows, Some(scenario.source())));
                // A picture draws from the steps kept in memory, the first MAX_REPORT_ROWS.
                let (cap, steps) = (scn::model::limits::MAX_REPORT_ROWS as u64, outcome.report().run.steps);
                if steps > cap {
                    eprintln!(
                        "note: {file}: the picture draws at most the first {cap} of the run's {steps} steps (the rest is one elided row); the text tables show every step with --max-rows 0"
                    );
                }
            } else {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                // A closed pipe (`scn run ... | head`) ends the output quietly.
                let _ = outcome
                    .write_to(&mut out, *format, sections, look.layout())
                    .and_then(|()| std::io::Write::flush(&mut out));
            }
            if outcome.passed() { 0 } else { 1 }
        }
    }
}

/// Writes to stdout; a closed pipe (`scn run ... | head`) ends the output quietly.
pub(crate) fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
