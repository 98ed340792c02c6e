//! The invariants every input must keep, shared by the fuzz targets (`fuzz/`) and the stable
//! mutation test (`tests/fuzz_smoke.rs`): each function panics when one breaks.
//!
//! For any bytes: no panic, no hang; a rejected file's every diagnostic points inside it and
//! renders with a line:column on one of its lines; the same bytes give the same diagnostics.
//! For a valid file run with small limits: the totals sum to the message count and match the
//! per-message outcomes; each outcome agrees with the message's copies in the log and the
//! groups' processing counts; every fault point `scn points` lists checks as a fault line;
//! `scn compare` gives one row per configuration, the same twice; `passed` is the conjunction of the expectations and of no unstated broken guarantee; steps never go back in
//! time; no high watermark passes its log end offset; the JSON and YAML parse; the same file and
//! seed give byte-identical output.

#![allow(dead_code)]

use scn::diag::Diagnostics;
use scn::model::Model;
use scn::report::{self, Format, Limits, Section};

/// A file with processors over more sent messages than this is parsed but not checked.
pub const CHECK_MAX_PROCESSOR_INPUTS: u64 = 100_000;
/// Inputs past these are checked but not run: the fuzzer looks for bugs, not for long runs.
pub const RUN_MAX_MESSAGES: u32 = 200;
pub const RUN_MAX_CLIENTS: usize = 20;
pub const RUN_MAX_MS: u64 = 120_000;

/// Decodes, parses and checks `bytes`; the text and its model when the file is valid.
pub fn check_bytes(bytes: &[u8]) -> Option<(String, Model)> {
    let source = match scn::diag::decode(bytes.to_vec()) {
        Ok(s) => s,
        Err((diags, shown)) => {
            located(&diags, &shown);
            return None;
        }
    };
    if let Ok(file) = scn::parse::parse(&source) {
        let declared = file
            .producers
            .iter()
            .flat_map(|p| &p.sends)
            .fold(0u64, |n, s| n.saturating_add(s.node.count.as_ref().map_or(1, |c| c.node)));
        if !file.processors.is_empty() && declared > CHECK_MAX_PROCESSOR_INPUTS {
            // Deriving millions of records is linear, legitimate work (tests/limits.rs times
            // the 10M case); under the fuzzer it only costs time and reads as a hang.
            return None;
        }
    }
    match scn::load(&source) {
        Ok(model) => Some((source, model)),
        Err(diags) => {
            located(&diags, &source);
            assert_eq!(scn::load(&source).err(), Some(diags), "the same file gave other diagnostics");
            None
        }
    }
}

/// Every diagnostic points inside `source`, and its rendered `file:line:column` names one of
/// the file's lines.
pub fn located(diags: &Diagnostics, source: &str) {
    assert!(!diags.0.is_empty(), "rejected without a diagnostic");
    for d in &diags.0 {
        assert!(d.span.start <= d.span.end && d.span.end <= source.len(), "`{}` points outside the file", d.message);
        assert!(!d.label.is_empty(), "`{}` does not say what was expected", d.message);
    }
    let lines: Vec<&str> = source.split('\n').collect();
    let text = diags.render("f.scn", source);
    let mut headers = 0;
    for at in text.lines().filter_map(|l| l.trim_start().strip_prefix("--> f.scn:")) {
        let (line, col) = at.split_once(':').expect("line:column");
        let (line, col): (usize, usize) = (line.parse().expect("line"), col.parse().expect("column"));
        assert!(line >= 1 && line <= lines.len(), "line {line} of a {}-line file\n{text}", lines.len());
        // Columns count characters, a tab perhaps as more than one: a loose bound.
        assert!(col >= 1 && col <= 4 * lines[line - 1].len() + 1, "column {col} past line {line}\n{text}");
        headers += 1;
    }
    assert!(headers >= diags.0.len(), "a diagnostic without file:line:column\n{text}");
}

/// Whether a valid model is small enough to run under the fuzzer.
pub fn small(model: &Model) -> bool {
    model.total_messages <= RUN_MAX_MESSAGES && model.producers.len() + model.consumers.len() <= RUN_MAX_CLIENTS
}

/// Every fault point `scn points` lists is a fault line: added to the file, each checks.
/// A message whose value others share (a sent one, or a processor's output record) is named
/// by its send (`shop send 3`, `q send 2`).
pub fn points_parse_back(source: &str, model: &Model) {
    let points = scn::sim::fault_points(model);
    for p in points.iter().take(20) {
        let again = format!("{source}\nfaults {{\n  {p}\n}}\n");
        if let Err(d) = scn::load(&again) {
            panic!("the point `{p}` does not check back:\n{}", d.render("f.scn", &again));
        }
    }
}

/// Runs a small model (its run length capped at [`RUN_MAX_MS`]) twice and checks the report.
pub fn run_model(mut model: Model) {
    model.run_for_ms = model.run_for_ms.min(RUN_MAX_MS);
    let render = |model: &Model| {
        let run = scn::sim::run(model, &scn::sim::Options { trace_limit: 10_000, seed: None, record_points: false });
        let report = report::build(model, &run, Limits::rows(0));
        let json = report::render(&report, Format::Json, &Section::ALL, scn::Layout::default());
        let yaml = report::render(&report, Format::Yaml, &Section::ALL, scn::Layout::default());
        let table = report::render(&report, Format::Table, &Section::ALL, scn::Layout::default());
        (report, json + &yaml + &table)
    };
    let (report, text) = render(&model);
    let t = &report.totals;
    assert_eq!(t.messages, u64::from(model.total_messages));
    assert_eq!(t.delivered_once + t.lost + t.duplicated + t.failed + t.not_sent + t.aborted, t.messages, "{t:?}");
    assert_eq!(report.messages.len() as u64, t.messages, "max_rows 0 keeps every message");
    let count = |word: &str| report.messages.iter().filter(|m| m.outcome.starts_with(word)).count() as u64;
    assert_eq!(
        [
            count("delivered once"),
            count("lost"),
            count("duplicated"),
            count("failed"),
            count("not sent"),
            count("aborted")
        ],
        [t.delivered_once, t.lost, t.duplicated, t.failed, t.not_sent, t.aborted],
        "the totals and the per-message outcomes disagree"
    );
    for m in &report.messages {
        outcome_agrees(m);
    }
    assert_eq!(report.passed, report.expectations.iter().all(|e| e.passed) && report.unstated_violations.is_empty());
    assert!(report.unstated_violations.iter().all(|v| report.flows.iter().any(|f| !f.holds && v.starts_with(&f.flow))));
    assert!(report.steps.windows(2).all(|w| w[0].time_ms <= w[1].time_ms), "a step goes back in time");
    for p in &report.partitions {
        assert!(p.high_watermark <= p.log_end_offset, "{}: high watermark past the log end", p.partition);
    }
    let json = report::render(&report, Format::Json, &Section::ALL, scn::Layout::default());
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON parses");
    let yaml = report::render(&report, Format::Yaml, &Section::ALL, scn::Layout::default());
    serde_norway::from_str::<serde_norway::Value>(&yaml).expect("the YAML parses");
    assert!(text == render(&model).1, "the same file and seed gave different output");
}

/// A message's outcome against its copies in the log and each reading group's processing count
/// (outcome.rs, `Analysis::fate`): with no group reading it, the copies decide; with groups,
/// once means once in every group, duplicated xN means some group processed it N times, lost
/// means some group never did; failed, aborted and not sent mean no copy in the log.
fn outcome_agrees(m: &scn::report::MessageRow) {
    let counts: Option<Vec<u32>> = (m.processed != "-").then(|| {
        m.processed
            .split(", ")
            .map(|g| g.rsplit_once(" x").and_then(|(_, n)| n.parse().ok()).expect("`group xN`"))
            .collect()
    });
    let copies = m.copies_in_log;
    let ok = match (m.outcome.as_str(), &counts) {
        ("delivered once", None) => copies == 1,
        ("delivered once", Some(c)) => c.iter().all(|&n| n == 1),
        (o, _) if o.starts_with("duplicated x") => {
            let times: u32 = o["duplicated x".len()..].parse().expect("duplicated xN");
            match &counts {
                None => copies == times,
                Some(c) => c.iter().max() == Some(&times) && c.iter().all(|&n| n >= 1),
            }
        }
        ("lost", None) => copies == 0,
        // (An acknowledged record a failover truncated is lost even where a group read it.)
        ("lost", Some(c)) => c.contains(&0) || copies == 0,
        (o, _) if o.starts_with("failed") || o == "aborted" || o == "not sent" => copies == 0,
        _ => false,
    };
    assert!(ok, "{}: outcome `{}` with {copies} copies in the log, processed {}", m.send, m.outcome, m.processed);
}

/// `scn compare` under the three presets (run length capped as for [`run_model`]): one row
/// per configuration, the same rows twice.
pub fn compare_runs(source: &str) {
    let mut file = scn::parse::parse(source).expect("the file checked already");
    let ms = file.run_for.as_ref().map_or(3_600_000, |r| r.node).min(RUN_MAX_MS);
    file.run_for = Some(scn::ast::Spanned::new(ms, scn::diag::Span::default()));
    let variants = scn::compare::variants(&[]);
    let rows = scn::compare::compare(&file, &variants, None);
    assert_eq!(rows.len(), variants.len());
    assert!(rows == scn::compare::compare(&file, &variants, None), "compare gave other rows the second time");
    let table = scn::report::render_compare(&file.title.node, &rows, Format::Json, scn::Layout::default());
    serde_json::from_str::<serde_json::Value>(&table).expect("the compare JSON parses");
}
