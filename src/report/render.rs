//! Renders a [`Report`] as ASCII tables, markdown, JSON or YAML; one entry point for all.

use super::{Report, cells};
use crate::model::limits::MAX_REPORT_ROWS;
use tabled::builder::Builder;
use tabled::settings::Style;
use tabled::settings::style::HorizontalLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Yaml,
    /// A sequence diagram (run, explore) or charts (compare), as one SVG file.
    Svg,
    /// A Mermaid `sequenceDiagram` (run, explore).
    Mermaid,
    /// One offline HTML page: source, diagram, tables (run).
    Html,
}

/// The report's sections, in print order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Section {
    /// The step-by-step process table.
    Steps,
    /// The status tracker: chosen variables after each step.
    Tracker,
    /// Each partition's replicas and log.
    Logs,
    /// One row per sent message and its outcome.
    Messages,
    /// Per-flow summary against the configured guarantee.
    Flows,
    /// Jepsen-style anomaly checks, each expected or not for the configured guarantees.
    Anomalies,
    /// Every transaction: id, producer id, epoch, partitions, state transitions, outcome.
    Transactions,
    /// Which faults fired, and when.
    Faults,
    /// The expectations, pass or fail.
    Expect,
}

impl Section {
    pub const ALL: [Section; 9] = [
        Section::Steps,
        Section::Tracker,
        Section::Logs,
        Section::Messages,
        Section::Flows,
        Section::Anomalies,
        Section::Transactions,
        Section::Faults,
        Section::Expect,
    ];
}

pub fn render(report: &Report, format: Format, sections: &[Section]) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(&filtered(report, sections)).expect("report serializes") + "\n",
        Format::Yaml => serde_norway::to_string(&filtered(report, sections)).expect("report serializes"),
        Format::Table | Format::Markdown => text(report, format == Format::Markdown, sections),
        Format::Svg | Format::Mermaid | Format::Html => super::picture(report, format, 0, None),
    }
}

/// The report as a JSON value with unselected sections removed.
/// The version of the JSON and YAML report's shape; it grows when a field changes meaning or
/// goes away (new fields keep it).
pub const SCHEMA_VERSION: u32 = 1;

fn filtered(report: &Report, sections: &[Section]) -> serde_json::Value {
    let mut v = serde_json::to_value(report).expect("report serializes");
    let obj = v.as_object_mut().expect("object");
    let drop = |obj: &mut serde_json::Map<String, serde_json::Value>, keys: &[&str]| {
        for k in keys {
            obj.remove(*k);
        }
    };
    for s in Section::ALL {
        if sections.contains(&s) {
            continue;
        }
        match s {
            Section::Steps => drop(obj, &["steps", "steps_omitted"]),
            Section::Tracker => drop(obj, &["tracker"]),
            Section::Logs => drop(obj, &["partitions"]),
            // Totals and flows stay whatever the sections: a script always finds the verdict.
            Section::Messages => drop(obj, &["messages", "messages_omitted"]),
            Section::Flows => drop(obj, &["cost"]),
            Section::Faults => drop(obj, &["faults"]),
            Section::Anomalies => drop(obj, &["anomalies"]),
            Section::Transactions => drop(obj, &["transactions"]),
            Section::Expect => drop(obj, &["expectations"]),
        }
    }
    obj.insert("schema_version".into(), SCHEMA_VERSION.into());
    v
}

/// A section heading: a markdown `##` or a plain line.
pub(super) fn heading(out: &mut String, md: bool, title: &str) {
    if md {
        out.push_str(&format!("\n## {title}\n\n"));
    } else {
        out.push_str(&format!("\n{title}\n"));
    }
}

fn text(r: &Report, md: bool, sections: &[Section]) -> String {
    let mut out = String::new();
    let heading = |out: &mut String, title: &str| heading(out, md, title);
    if md {
        out.push_str(&format!("# {}\n", r.scenario));
    } else {
        out.push_str(&format!("scenario: {}\n", r.scenario));
    }
    if let Some(d) = &r.description {
        out.push_str(&format!("{}{d}\n", if md { "\n" } else { "" }));
    }
    let stop = match r.run.stop {
        crate::sim::Stop::Quiescent => "nothing left to happen",
        crate::sim::Stop::TimeLimit => "`run for` time limit reached",
        crate::sim::Stop::EventLimit => "event limit reached",
    };
    out.push_str(&format!(
        "{}seed {}; ended at {} ms ({stop}); {} events, {} steps\n",
        if md { "\n" } else { "" },
        r.seed,
        r.run.end_ms,
        r.run.events,
        r.run.steps
    ));
    for s in sections {
        match s {
            Section::Steps => {
                heading(&mut out, "Process");
                let rows = r
                    .steps
                    .iter()
                    .map(|s| {
                        vec![
                            s.step.to_string(),
                            s.time_ms.to_string(),
                            s.actor.clone(),
                            s.action.clone(),
                            s.message.clone(),
                            s.result.clone(),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["step", "time (ms)", "actor", "action", "message", "result"], rows, md));
                omitted(&mut out, r.steps.len(), r.steps_omitted, "steps");
            }
            Section::Tracker if !r.tracker.columns.is_empty() => {
                heading(&mut out, "Status tracker");
                let mut headers = vec!["after", "time (ms)"];
                headers.extend(r.tracker.columns.iter().map(String::as_str));
                let rows = r
                    .tracker
                    .rows
                    .iter()
                    .map(|t| {
                        let mut row = vec![after_label(&t.after), t.time_ms.to_string()];
                        row.extend(t.values.iter().cloned());
                        row
                    })
                    .collect();
                out.push_str(&table(&headers, rows, md));
                omitted(&mut out, r.tracker.rows.len(), r.tracker.rows_omitted, "tracker rows");
            }
            Section::Tracker => {}
            Section::Logs => {
                heading(&mut out, "Partitions");
                let rows = r
                    .partitions
                    .iter()
                    .map(|p| {
                        let replicas: Vec<String> = p
                            .replicas
                            .iter()
                            .map(|x| {
                                format!(
                                    "{}{}: leo {} hw {}",
                                    x.broker,
                                    if x.alive { "" } else { " (down)" },
                                    x.log_end_offset,
                                    x.high_watermark
                                )
                            })
                            .collect();
                        let isr: Vec<String> = p.isr.iter().map(u32::to_string).collect();
                        vec![
                            p.partition.clone(),
                            p.leader.map_or("none".into(), |l| l.to_string()),
                            p.leader_epoch.to_string(),
                            format!("[{}]", isr.join(",")),
                            p.high_watermark.to_string(),
                            p.log_end_offset.to_string(),
                            replicas.join("; "),
                        ]
                    })
                    .collect();
                out.push_str(&table(
                    &["partition", "leader", "epoch", "isr", "high watermark", "log end", "replicas"],
                    rows,
                    md,
                ));
                for p in &r.partitions {
                    heading(&mut out, &format!("Log of {}", p.partition));
                    if p.records.is_empty() {
                        out.push_str("(empty)\n");
                        continue;
                    }
                    let rows = p.records.iter().map(cells::record).collect();
                    out.push_str(&table(&cells::RECORD_HEADERS, rows, md));
                    omitted(&mut out, p.records.len(), p.records_omitted, "records");
                }
            }
            Section::Messages => {
                heading(&mut out, "Messages");
                let rows = r.messages.iter().map(cells::message).collect();
                out.push_str(&table(&cells::MESSAGE_HEADERS, rows, md));
                omitted(&mut out, r.messages.len(), r.messages_omitted, "messages");
                let t = &r.totals;
                out.push_str(&format!(
                    "{}{} messages: {} delivered once, {} lost, {} duplicated, {} failed, {} not sent{}\n",
                    if md { "\n" } else { "" },
                    t.messages,
                    t.delivered_once,
                    t.lost,
                    t.duplicated,
                    t.failed,
                    t.not_sent,
                    if t.aborted > 0 { format!(", {} aborted", t.aborted) } else { String::new() }
                ));
            }
            Section::Flows => {
                heading(&mut out, "Flows");
                let rows = r
                    .flows
                    .iter()
                    .map(|f| {
                        vec![
                            f.flow.clone(),
                            f.config.clone(),
                            f.guarantee.clone(),
                            f.sent.to_string(),
                            if f.consuming { "-".into() } else { f.acked.to_string() },
                            if f.consuming { f.processed.to_string() } else { "-".into() },
                            f.lost.to_string(),
                            f.duplicated.to_string(),
                            f.failed.to_string(),
                            crate::outcome::Latency::text(&f.latency),
                            f.verdict.clone(),
                        ]
                    })
                    .collect();
                let headers = [
                    "flow",
                    "config",
                    "guarantee",
                    "in",
                    "acked",
                    "processed",
                    "lost",
                    "duplicated",
                    "failed",
                    "latency p50 / p99 / max (ms)",
                    "guarantee holds?",
                ];
                out.push_str(&table(&headers, rows, md));
                let c = &r.cost;
                out.push_str(&format!(
                    "{}cost: {} produce requests ({} retries); {:.1} records/s over {} ms of simulated time; latency p50 / p99 / max: produce {} ms, send to processing {} ms\n",
                    if md { "\n" } else { "" },
                    c.produce_requests,
                    c.retries,
                    c.throughput_per_s,
                    c.simulated_ms,
                    crate::outcome::Latency::text(&c.produce_latency),
                    crate::outcome::Latency::text(&c.end_to_end_latency),
                ));
            }
            Section::Anomalies => {
                heading(&mut out, "Anomalies");
                let rows = r.anomalies.iter().map(cells::anomaly).collect();
                out.push_str(&table(&cells::ANOMALY_HEADERS, rows, md));
            }
            Section::Transactions if !r.transactions.is_empty() => {
                heading(&mut out, "Transactions");
                let rows = r.transactions.iter().map(cells::transaction).collect();
                out.push_str(&table(&cells::TRANSACTION_HEADERS, rows, md));
            }
            Section::Transactions => {}
            Section::Faults if !r.faults.is_empty() => {
                heading(&mut out, "Faults");
                let rows = r.faults.iter().map(cells::fault).collect();
                out.push_str(&table(&cells::FAULT_HEADERS, rows, md));
            }
            Section::Faults => {}
            Section::Expect if !r.expectations.is_empty() => {
                heading(&mut out, "Expectations");
                let rows = r.expectations.iter().map(cells::expectation).collect();
                out.push_str(&table(&cells::EXPECTATION_HEADERS, rows, md));
                let failed = r.expectations.iter().filter(|e| !e.passed).count();
                out.push_str(&format!(
                    "{}{}\n",
                    if md { "\n" } else { "" },
                    if failed == 0 {
                        "all expectations hold".to_string()
                    } else {
                        format!("{failed} expectation(s) FAILED")
                    }
                ));
                unstated(&mut out, r, md);
            }
            Section::Expect => unstated(&mut out, r, md),
        }
    }
    out
}

/// The broken guarantees no expectation states: each fails the run.
fn unstated(out: &mut String, r: &Report, md: bool) {
    if r.unstated_violations.is_empty() {
        return;
    }
    let n = r.unstated_violations.len();
    out.push_str(&format!(
        "{}FAILED: {n} flow{} violate{} the configured guarantee and no expect line states it (add one, e.g. `lost N`, to make it expected):\n",
        if md { "\n" } else { "" },
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    ));
    for v in &r.unstated_violations {
        out.push_str(&format!("{}{v}\n", if md { "- " } else { "  " }));
    }
}

fn after_label(after: &str) -> String {
    match after {
        "start" | "final" => after.to_string(),
        n => format!("step {n}"),
    }
}

/// The line under a cut table: how many rows are missing, and how to see them, unless the
/// table holds the most any report keeps.
fn omitted(out: &mut String, shown: usize, n: u64, what: &str) {
    if n == 0 {
        return;
    }
    if shown >= MAX_REPORT_ROWS {
        out.push_str(&format!("... {n} more {what} not shown (a report keeps at most {MAX_REPORT_ROWS})\n"));
    } else {
        out.push_str(&format!("... {n} more {what} not shown (--max-rows 0 shows all)\n"));
    }
}

/// The compare-mode table in any format.
pub fn render_compare(scenario: &str, rows: &[crate::compare::Row], format: Format) -> String {
    #[derive(serde::Serialize)]
    struct Comparison<'a> {
        scenario: &'a str,
        configurations: &'a [crate::compare::Row],
    }
    let doc = Comparison { scenario, configurations: rows };
    match format {
        Format::Json => serde_json::to_string_pretty(&doc).expect("comparison serializes") + "\n",
        Format::Yaml => serde_norway::to_string(&doc).expect("comparison serializes"),
        Format::Svg => super::plot::render(scenario, rows),
        // (main refuses mermaid and html for compare.)
        Format::Table | Format::Markdown | Format::Mermaid | Format::Html => {
            let md = format == Format::Markdown;
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let holds = if r.guarantee_holds { "yes".to_string() } else { format!("no: {}", r.note) };
                    vec![
                        r.config.clone(),
                        r.lost.to_string(),
                        r.duplicated.to_string(),
                        r.reordered.to_string(),
                        r.failed.to_string(),
                        crate::outcome::Latency::text(&r.latency),
                        holds,
                    ]
                })
                .collect();
            let head = if md { format!("# {scenario}\n\n") } else { format!("scenario: {scenario}\n\n") };
            let mut broken = String::new();
            for r in rows.iter().filter(|r| !r.expectations_failed.is_empty()) {
                broken.push_str(&format!(
                    "expectations FAILED under {}: {}\n",
                    r.config,
                    r.expectations_failed.join("; ")
                ));
            }
            head + &table(
                &[
                    "configuration",
                    "lost",
                    "duplicated",
                    "reordered",
                    "failed",
                    "latency p50 / p99 / max (ms)",
                    "every flow keeps its guarantee?",
                ],
                body,
                md,
            ) + if md && !broken.is_empty() { "\n" } else { "" }
                + &broken
        }
    }
}

/// One table in the house style: ASCII for terminals and snapshots, or markdown.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>, md: bool) -> String {
    let mut b = Builder::default();
    b.push_record(headers.iter().map(|h| h.to_string()));
    for row in rows {
        b.push_record(row.into_iter().map(|c| if md { c.replace('|', "\\|") } else { c }));
    }
    let mut t = b.build();
    let s = if md {
        t.with(Style::markdown()).to_string()
    } else {
        // ASCII frame with a rule under the header only.
        let style = Style::ascii().remove_horizontal().horizontals([(1, HorizontalLine::full('-', '+', '+', '+'))]);
        t.with(style).to_string()
    };
    let mut out: String = s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}
