//! The `scn` command line: read arguments, call the library, print, pick the exit code.

use clap::{Parser, Subcommand};
use scn::report::{self, Format, Limits, Section};
use scn::sim;
use std::process::ExitCode;

/// Deterministic simulation of Kafka delivery semantics from declarative .scn scenarios.
#[derive(Parser)]
#[command(name = "scn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print what happened to every message.
    ///
    /// Exit code 0: every expectation holds; 1: an expectation failed; 2: the scenario is invalid
    /// or unreadable.
    Run {
        /// The .scn file.
        file: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Sections to print, comma-separated (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        sections: Vec<Section>,
        /// Rows kept in the long tables (steps, tracker, logs, messages); 0 keeps all, up to 100000 a table.
        #[arg(long, default_value_t = 200)]
        max_rows: usize,
        /// Overrides the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Check a scenario without running it (exit 0 valid, 2 invalid).
    Check {
        /// The .scn file.
        file: String,
    },
    /// Run the scenario under several configurations and print one row per configuration.
    ///
    /// Without --vary: the three guarantee presets. Each --vary KEY=V1,V2 varies a producer or
    /// consumer setting (or `guarantee`) for every client that has it; several give the matrix.
    Compare {
        /// The .scn file.
        file: String,
        /// KEY=V1,V2,... (repeatable).
        #[arg(long)]
        vary: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Overrides the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List the fault points a fault-free run passes through, written as fault lines.
    Points {
        /// The .scn file.
        file: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = match &cli.command {
        Command::Run { file, .. }
        | Command::Check { file }
        | Command::Points { file }
        | Command::Compare { file, .. } => file.clone(),
    };
    let source = match scn::diag::read_file(&file) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Compare { vary, format, seed, .. } = &cli.command {
        let vary = match scn::compare::parse_vary(vary) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let file_ast = match scn::load(&source) {
            Ok(_) => scn::parse::parse(&source).expect("parsed once already"),
            Err(diags) => {
                eprint!("{}", diags.render(&file, &source));
                return ExitCode::from(2);
            }
        };
        let variants = scn::compare::variants(&vary);
        let rows = scn::compare::compare(&file_ast, &variants, *seed);
        emit(&report::render_compare(&file_ast.title.node, &rows, *format));
        return ExitCode::SUCCESS;
    }
    let model = match scn::load(&source) {
        Ok(m) => m,
        Err(diags) => {
            eprint!("{}", diags.render(&file, &source));
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check { .. } => {
            println!(
                "{file}: ok ({} brokers, {} partitions, {} producers, {} consumers, {} messages, {} faults, {} expectations)",
                model.cluster.brokers,
                model.partitions.len(),
                model.producers.len(),
                model.consumers.len(),
                model.total_messages,
                model.faults.len(),
                model.expects.len()
            );
            ExitCode::SUCCESS
        }
        Command::Compare { .. } => unreachable!("handled above"),
        Command::Points { .. } => {
            let points: String = sim::fault_points(&model).into_iter().map(|p| p + "\n").collect();
            emit(&points);
            ExitCode::SUCCESS
        }
        Command::Run { format, sections, max_rows, seed, .. } => {
            let trace_limit = if max_rows == 0 { usize::MAX } else { max_rows };
            let run = sim::run(&model, &sim::Options { trace_limit, seed, ..sim::Options::default() });
            let report = report::build(&model, &run, Limits { max_rows });
            let sections = if sections.is_empty() { Section::ALL.to_vec() } else { sections };
            emit(&report::render(&report, format, &sections));
            if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
    }
}

/// Writes to stdout; a closed pipe (`scn run ... | head`) ends the output quietly.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
