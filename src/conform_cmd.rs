//! `scn conform FILE`: the arguments, the run against a real broker, the report, the exit code.

use scn::report::Format;
use std::process::ExitCode;

/// Arguments of `scn conform`.
#[derive(clap::Args)]
pub struct ConformArgs {
    /// The .scn file.
    file: String,
    /// A broker or cluster on loopback (HOST:PORT) instead of the managed noida-db.
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    /// With --bootstrap: a shell command that crashes the broker (for `crash broker N at T`).
    #[arg(long, requires = "bootstrap")]
    broker_crash_cmd: Option<String>,
    /// With --bootstrap: a shell command that restarts it (for `restart broker N ...`).
    #[arg(long, requires = "bootstrap")]
    broker_restart_cmd: Option<String>,
    /// Output format: table, markdown or json (json carries the recorded history).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The run stops by itself after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Real ms per scenario ms for the program's schedule and the faults' times (default:
    /// fit the schedule in about 2 s). Kafka settings (timeouts) are never scaled.
    #[arg(long)]
    time_scale: Option<f64>,
}

pub fn run(args: &ConformArgs) -> ExitCode {
    let scenario = match scn::Scenario::from_file(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    if !matches!(args.format, Format::Table | Format::Markdown | Format::Json) {
        eprintln!("error: conform writes table, markdown or json");
        return ExitCode::from(2);
    }
    if !(1..=3600).contains(&args.timeout) || args.time_scale.is_some_and(|s| !(s > 0.0 && s <= 10.0)) {
        eprintln!("error: --timeout is 1..3600 s and --time-scale in (0, 10]");
        return ExitCode::from(2);
    }
    let options = scn::conform::Options {
        bootstrap: args.bootstrap.clone(),
        broker_crash_cmd: args.broker_crash_cmd.clone(),
        broker_restart_cmd: args.broker_restart_cmd.clone(),
        timeout: std::time::Duration::from_secs(args.timeout),
        time_scale: args.time_scale,
    };
    match scn::conform::run(scenario.model(), &options) {
        Ok(c) => {
            let out = match args.format {
                Format::Json => c.render_json(),
                f => c.render_table(f == Format::Markdown),
            };
            print!("{out}");
            if c.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.file);
            ExitCode::from(2)
        }
    }
}
