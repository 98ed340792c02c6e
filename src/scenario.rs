//! The library's front door: load a scenario, run it, render or inspect what happened.
//!
//! Three calls cover a user's test: [`Scenario::parse`] (or [`Scenario::from_file`]),
//! [`Scenario::run`], then [`Outcome::render`] and [`Outcome::passed`].

use crate::report::{self, Format, Layout, Limits, Report, Section};
use crate::{ast, check, diag, model, parse, sim};
use std::fmt;
use std::path::Path;

/// A scenario that parsed and checked: ready to run, as often as wanted.
#[derive(Debug, Clone)]
pub struct Scenario {
    source: String,
    file: ast::File,
    model: model::Model,
}

/// How to run a scenario; `RunOptions::default()` is what `scn run` does without flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Overrides the scenario's `seed`.
    pub seed: Option<u64>,
    /// Rows kept in the long tables (steps, tracker, logs, messages); 0 keeps all. A cut table
    /// keeps the rows around faults, errors, crashes, elections and rebalances and the first
    /// appearance of every lost or duplicated message, then the earliest.
    pub max_rows: usize,
    /// Which rows the long tables look at (`--actor`, `--message`, `--from/--to`).
    pub filter: report::Filter,
    /// With `max_rows` 0: write the long tables' rows to a temporary file as the run makes
    /// them and read them back when rendering (`scn run --max-rows 0`), so memory does not grow
    /// with the rows. [`Outcome::report`]'s row lists are then empty; [`Outcome::write_to`]
    /// and [`Outcome::render`] print them all. Without it, `max_rows` 0 keeps at most
    /// 100,000 rows a table in memory.
    pub stream: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions { seed: None, max_rows: 200, filter: report::Filter::default(), stream: false }
    }
}

/// What one run of a scenario did: the report every format is rendered from.
#[derive(Debug, Clone)]
pub struct Outcome {
    report: Report,
}

/// One scenario under several configurations: one row each, as `scn compare` prints.
#[derive(Debug, Clone)]
pub struct Comparison {
    title: String,
    rows: Vec<crate::compare::Row>,
}

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file could not be read (missing, unreadable, past the size limit); the message says why.
    Unreadable(String),
    /// The text is not a valid scenario.
    Rejected(Rejection),
}

/// A scenario's problems, all of them, with the text they point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    name: String,
    source: String,
    diagnostics: diag::Diagnostics,
}

impl Scenario {
    /// Parses and checks `source`; diagnostics name the file `<scenario>`.
    pub fn parse(source: &str) -> Result<Scenario, Rejection> {
        Scenario::parse_as("<scenario>", source)
    }

    /// Parses and checks `source`, naming it `name` (a file name) in diagnostics.
    pub fn parse_as(name: &str, source: &str) -> Result<Scenario, Rejection> {
        let reject = |diagnostics| Rejection { name: name.to_string(), source: source.to_string(), diagnostics };
        let file = parse::parse(source).map_err(reject)?;
        let model = check::check(&file).map_err(reject)?;
        Ok(Scenario { source: source.to_string(), file, model })
    }

    /// Reads, parses and checks a `.scn` file (UTF-8, at most 16 MiB); `-` reads standard input
    /// (named `<stdin>` in diagnostics).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, Error> {
        let path = path.as_ref();
        let name = path.to_string_lossy();
        let bytes = diag::read_bytes(&name).map_err(Error::Unreadable)?;
        Scenario::from_bytes(if name == "-" { "<stdin>" } else { &name }, bytes)
    }

    /// Decodes, parses and checks a file's bytes, naming it `name` in diagnostics.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Scenario, Error> {
        match diag::decode(bytes) {
            Ok(source) => Scenario::parse_as(name, &source).map_err(Error::Rejected),
            Err((diagnostics, shown)) => {
                Err(Error::Rejected(Rejection { name: name.to_string(), source: shown, diagnostics }))
            }
        }
    }

    /// The scenario's title, as quoted after `scenario`.
    pub fn title(&self) -> &str {
        &self.file.title.node
    }

    /// Simulates the scenario once; the same scenario and options give the same outcome.
    pub fn run(&self, options: &RunOptions) -> Outcome {
        // The trace keeps more steps than the tables show: the status tracker's rows are the
        // steps that changed a tracked variable, found anywhere in the kept trace.
        let kept = sim::Options::default().trace_limit;
        let trace_limit = match options.max_rows {
            0 if options.stream => sim::trace::ALL,
            0 => crate::model::limits::MAX_REPORT_ROWS,
            n => n.max(kept),
        };
        let run = sim::run(&self.model, &sim::Options { trace_limit, seed: options.seed, ..sim::Options::default() });
        let mut report =
            report::build(&self.model, &run, Limits { max_rows: options.max_rows, filter: options.filter.clone() });
        report::effect::judge(&self.model, &run, &mut report.faults);
        Outcome { report }
    }

    /// Runs the scenario under every configuration of `vary`, options as `scn compare --vary`
    /// takes them (`"acks=0,1,all"`; none: the three guarantee presets). The error says which
    /// option is wrong.
    pub fn compare(&self, vary: &[impl AsRef<str>], seed: Option<u64>) -> Result<Comparison, String> {
        let options: Vec<String> = vary.iter().map(|v| v.as_ref().to_string()).collect();
        let vary = crate::compare::parse_vary(&options)?;
        let variants = crate::compare::variants(&vary);
        let rows = crate::memory::guarded(|| crate::compare::compare(&self.file, &variants, seed))
            .map_err(|_| crate::memory::stopped_message("the comparison"))?;
        Ok(Comparison { title: self.title().to_string(), rows })
    }

    /// The text the scenario was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The checked model the simulator runs.
    pub fn model(&self) -> &model::Model {
        &self.model
    }

    /// The parsed file (what `compare` varies).
    pub fn ast(&self) -> &ast::File {
        &self.file
    }
}

impl Outcome {
    /// Whether every `expect` line held.
    pub fn passed(&self) -> bool {
        self.report.passed
    }

    /// The report in one format: `Format::Table` is what `scn run` prints into a pipe (tables
    /// fit [`DEFAULT_WIDTH`](crate::DEFAULT_WIDTH) columns, no colour). An empty `sections`
    /// means all of them.
    pub fn render(&self, format: Format, sections: &[Section]) -> String {
        self.render_with(format, sections, Layout::default())
    }

    /// The report as [`render`](Outcome::render) gives it, its tables laid out as `layout`
    /// says ([`Layout::WIDE`]: every column at full width).
    pub fn render_with(&self, format: Format, sections: &[Section], layout: Layout) -> String {
        let sections = if sections.is_empty() { &Section::ALL[..] } else { sections };
        report::render(&self.report, format, sections, layout)
    }

    /// Writes the report as [`render_with`](Outcome::render_with) gives it; a run with
    /// [`RunOptions::stream`] writes its long tables row by row from disk.
    pub fn write_to(
        &self,
        w: &mut dyn std::io::Write,
        format: Format,
        sections: &[Section],
        layout: Layout,
    ) -> std::io::Result<()> {
        let sections = if sections.is_empty() { &Section::ALL[..] } else { sections };
        report::write(&self.report, format, sections, layout, w)
    }

    /// Everything the run found, as data (what JSON and YAML serialize).
    pub fn report(&self) -> &Report {
        &self.report
    }
}

impl Comparison {
    /// The comparison in one format (`Format::Table` is what `scn compare` prints).
    pub fn render(&self, format: Format) -> String {
        self.render_with(format, Layout::default())
    }

    /// The comparison, its table laid out as `layout` says.
    pub fn render_with(&self, format: Format, layout: Layout) -> String {
        report::render_compare(&self.title, &self.rows, format, layout)
    }

    /// Whether a configuration did not check (it did not run): `scn compare` exits 2.
    pub fn any_invalid(&self) -> bool {
        self.rows.iter().any(|r| !r.valid)
    }

    /// Whether an `expect` line failed under some configuration: `scn compare` exits 1.
    pub fn any_expectation_failed(&self) -> bool {
        self.rows.iter().any(|r| !r.expectations_failed.is_empty())
    }

    /// One row per configuration, in the order the matrix gives.
    pub fn rows(&self) -> &[crate::compare::Row] {
        &self.rows
    }
}

impl Rejection {
    /// Every problem, each with `file:line:column`, the source line and a caret, then a count.
    pub fn render(&self) -> String {
        self.diagnostics.render(&self.name, &self.source)
    }

    /// How many problems were found.
    pub fn count(&self) -> usize {
        self.diagnostics.0.len()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreadable(message) => f.write_str(message),
            Error::Rejected(r) => f.write_str(&r.render()),
        }
    }
}

impl std::error::Error for Rejection {}
impl std::error::Error for Error {}
