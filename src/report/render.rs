//! Renders a [`Report`] as ASCII tables, markdown, JSON or YAML; one entry point for all.

use super::layout::{Layout, Narrow, fit, wrap_line};
use super::long_table::{self, Source};
use super::{Report, cells};
use crate::model::limits::MAX_REPORT_ROWS;
use std::io::{self, Write};

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

/// The report in `format`, its text tables laid out as `layout` says.
pub fn render(report: &Report, format: Format, sections: &[Section], layout: Layout) -> String {
    let mut out = Vec::new();
    write(report, format, sections, layout, &mut out).expect("a report writes to memory");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// Writes the report as [`render`] gives it; a report that keeps its rows on disk
/// ([`Report::streamed`]) is written row by row.
pub fn write(
    report: &Report,
    format: Format,
    sections: &[Section],
    layout: Layout,
    w: &mut dyn Write,
) -> io::Result<()> {
    match (format, &report.streamed) {
        (Format::Json, Some(s)) => s.json(filtered(report, sections), w),
        (Format::Yaml, Some(s)) => s.yaml(filtered(report, sections), w),
        (Format::Json, None) => w.write_all(
            (serde_json::to_string_pretty(&filtered(report, sections)).map_err(io::Error::other)? + "\n").as_bytes(),
        ),
        (Format::Yaml, None) => {
            w.write_all(serde_norway::to_string(&filtered(report, sections)).map_err(io::Error::other)?.as_bytes())
        }
        (Format::Table | Format::Markdown, _) => text(report, format == Format::Markdown, sections, layout, w),
        (Format::Svg | Format::Mermaid | Format::Html, _) => {
            w.write_all(super::picture(report, format, 0, None).as_bytes())
        }
    }
}

/// The report as a JSON value with unselected sections removed.
/// The version of the JSON and YAML report's shape; it grows when a field changes meaning or
/// goes away (new fields keep it).
pub const SCHEMA_VERSION: u32 = 2;

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

fn text(r: &Report, md: bool, sections: &[Section], layout: Layout, w: &mut dyn Write) -> io::Result<()> {
    let mut out = String::new();
    let heading = |out: &mut String, title: &str| heading(out, md, title);
    let table = |headers: &[&str], rows: Vec<Vec<String>>, narrow: Narrow<'_>| fit(layout, headers, rows, md, narrow);
    let line = |text: String| note(layout, md, &text);
    if md {
        out.push_str(&format!("# {}\n", r.scenario));
    } else {
        out.push_str(&format!("scenario: {}\n", r.scenario));
    }
    if let Some(d) = &r.description {
        out.push_str(&line(format!("{}{d}\n", if md { "\n" } else { "" })));
    }
    out.push_str(&format!(
        "{}seed {}; {}; {} events, {} steps\n",
        if md { "\n" } else { "" },
        r.seed,
        r.run.ended(),
        r.run.events,
        r.run.steps
    ));
    if let Some(f) = &r.filter {
        out.push_str(&line(format!(
            "{}rows: only {f} (the totals, flows and anomalies cover the whole run)\n",
            if md { "\n" } else { "" }
        )));
    }
    for s in sections {
        w.write_all(out.as_bytes())?;
        out.clear();
        // A report keeping every row on disk writes its long tables row by row.
        let long = |w: &mut dyn Write, out: &mut String, headers: &[&str], source: Source<'_>, narrow| {
            w.write_all(out.as_bytes())?;
            out.clear();
            long_table::write(w, layout, headers, source, md, narrow)
        };
        match s {
            Section::Steps if r.streamed.is_some() => {
                let s = r.streamed.as_ref().expect("streamed");
                heading(&mut out, "Process");
                long(w, &mut out, &STEP_HEADERS, &|| Box::new(s.steps().map(|s| step_cells(&s))), Narrow::default())?;
            }
            Section::Steps => {
                heading(&mut out, "Process");
                let rows = r.steps.iter().map(step_cells).collect();
                out.push_str(&table(&STEP_HEADERS, rows, Narrow::default()));
                out.push_str(&omitted(layout, md, r.steps.len(), r.steps_omitted, "steps"));
            }
            Section::Tracker if !r.tracker.columns.is_empty() => {
                heading(&mut out, "Status tracker");
                let mut headers = vec!["after", "time (ms)"];
                headers.extend(r.tracker.columns.iter().map(String::as_str));
                w.write_all(out.as_bytes())?;
                out.clear();
                match &r.streamed {
                    Some(s) => tracker(w, layout, md, &headers, &|| Box::new(s.tracker().map(|t| tracker_cells(&t)))),
                    None => tracker(w, layout, md, &headers, &|| Box::new(r.tracker.rows.iter().map(tracker_cells))),
                }?;
                out.push_str(&omitted(layout, md, r.tracker.rows.len(), r.tracker.rows_omitted, "tracker rows"));
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
                    Narrow::default(),
                ));
                for (i, p) in r.partitions.iter().enumerate() {
                    heading(&mut out, &format!("Log of {}", p.partition));
                    let streamed = r.streamed.as_ref().filter(|s| s.records(i).next().is_some());
                    if let Some(s) = streamed {
                        let source: Source<'_> = &|| Box::new(s.records(i).map(|x| cells::record(&x)));
                        long(w, &mut out, &cells::RECORD_HEADERS, source, cells::RECORD_NARROW)?;
                        continue;
                    }
                    if p.records.is_empty() && p.records_omitted == 0 {
                        out.push_str(if r.filter.is_some() && p.log_end_offset > 0 {
                            "(no record matches)\n"
                        } else {
                            "(empty)\n"
                        });
                        continue;
                    }
                    let rows = p.records.iter().map(cells::record).collect();
                    out.push_str(&table(&cells::RECORD_HEADERS, rows, cells::RECORD_NARROW));
                    out.push_str(&omitted(layout, md, p.records.len(), p.records_omitted, "records"));
                }
            }
            Section::Messages => {
                heading(&mut out, "Messages");
                if let Some(s) = &r.streamed {
                    let source: Source<'_> = &|| Box::new(s.messages().map(|m| cells::message(&m)));
                    long(w, &mut out, &cells::MESSAGE_HEADERS, source, cells::MESSAGE_NARROW)?;
                } else {
                    let rows = r.messages.iter().map(cells::message).collect();
                    out.push_str(&table(&cells::MESSAGE_HEADERS, rows, cells::MESSAGE_NARROW));
                }
                out.push_str(&omitted(layout, md, r.messages.len(), r.messages_omitted, "messages"));
                let t = &r.totals;
                out.push_str(&line(format!(
                    "{}{} messages: {} delivered once, {} lost, {} duplicated, {} failed, {} not sent{}\n",
                    if md { "\n" } else { "" },
                    t.messages,
                    t.delivered_once,
                    t.lost,
                    t.duplicated,
                    t.failed,
                    t.not_sent,
                    if t.aborted > 0 { format!(", {} aborted", t.aborted) } else { String::new() }
                )));
            }
            Section::Flows => {
                heading(&mut out, "Flows");
                if layout.width.is_some() && !md {
                    out.push_str(&table(
                        &cells::FLOW_NARROW_HEADERS,
                        r.flows.iter().map(cells::flow_narrow).collect(),
                        cells::FLOW_NARROW,
                    ));
                } else {
                    out.push_str(&table(
                        &cells::FLOW_HEADERS,
                        r.flows.iter().map(cells::flow).collect(),
                        Narrow::default(),
                    ));
                }
                let c = &r.cost;
                out.push_str(&line(format!(
                    "{}cost: {} produce requests ({} retries); {:.1} records/s over {} ms of simulated time; latency p50 / p99 / max: produce {} ms, send to processing {} ms\n",
                    if md { "\n" } else { "" },
                    c.produce_requests,
                    c.retries,
                    c.throughput_per_s,
                    c.simulated_ms,
                    crate::outcome::Latency::text(&c.produce_latency),
                    crate::outcome::Latency::text(&c.end_to_end_latency),
                )));
            }
            Section::Anomalies => {
                heading(&mut out, "Anomalies");
                let rows = r.anomalies.iter().map(|a| cells::anomaly(a, &r.flows)).collect();
                out.push_str(&table(&cells::ANOMALY_HEADERS, rows, cells::ANOMALY_NARROW));
            }
            Section::Transactions if !r.transactions.is_empty() => {
                heading(&mut out, "Transactions");
                let rows = r.transactions.iter().map(cells::transaction).collect();
                out.push_str(&table(&cells::TRANSACTION_HEADERS, rows, cells::TRANSACTION_NARROW));
            }
            Section::Transactions => {}
            Section::Faults if !r.faults.is_empty() => {
                heading(&mut out, "Faults");
                let rows = r.faults.iter().map(cells::fault).collect();
                out.push_str(&table(&cells::FAULT_HEADERS, rows, Narrow::default()));
                let idle = r.faults.iter().filter(|f| f.changed_nothing == Some(true)).count();
                if idle > 0 {
                    let (n, them) =
                        if idle == 1 { ("1 fault".to_string(), "it") } else { (format!("{idle} faults"), "each") };
                    let text = format!(
                        "{}({n} changed nothing: the same run without {them} gives every message the same sends, acks, offsets, processing, times and outcome; a fault tests something only where it meets work in flight)\n",
                        if md { "\n" } else { "" }
                    );
                    out.push_str(&note(layout, md, &text));
                }
            }
            Section::Faults => {}
            Section::Expect if !r.expectations.is_empty() => {
                heading(&mut out, "Expectations");
                let rows = r.expectations.iter().map(cells::expectation).collect();
                out.push_str(&table(&cells::EXPECTATION_HEADERS, rows, cells::EXPECTATION_NARROW));
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
                unstated(&mut out, r, md, layout);
            }
            Section::Expect => unstated(&mut out, r, md, layout),
        }
    }
    w.write_all(out.as_bytes())
}

const STEP_HEADERS: [&str; 6] = ["step", "time (ms)", "actor", "action", "message", "result"];

fn step_cells(s: &crate::sim::trace::Step) -> Vec<String> {
    vec![
        s.step.to_string(),
        s.time_ms.to_string(),
        s.actor.clone(),
        s.action.clone(),
        s.message.clone(),
        s.result.clone(),
    ]
}

fn tracker_cells(t: &crate::sim::trace::TrackerRow) -> Vec<String> {
    let mut row = vec![after_label(&t.after), t.time_ms.to_string()];
    row.extend(t.values.iter().cloned());
    row
}

/// Plain text under the tables, each line wrapped to the layout's width (markdown as it is).
fn note(layout: Layout, md: bool, text: &str) -> String {
    match layout.width {
        Some(width) if !md => text.split_inclusive('\n').map(|l| wrap_line(l.trim_end_matches('\n'), width)).collect(),
        _ => text.to_string(),
    }
}

/// The status tracker: one table, or when its columns do not fit the width, several, each
/// with the `after` and `time` columns and as many tracked variables as fit; its rows read
/// from `source` (a few passes), held in memory or not.
fn tracker(w: &mut dyn Write, layout: Layout, md: bool, headers: &[&str], source: Source<'_>) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count() + 3).collect();
    for row in source() {
        for (c, cell) in row.iter().enumerate() {
            let widest = cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            widths[c] = widths[c].max(widest + 3);
        }
    }
    let width = match layout.width {
        Some(w) if !md && widths.iter().sum::<usize>() + 1 > w => w,
        _ => return long_table::write(w, layout, headers, source, md, Narrow::default()),
    };
    let groups = tracker_groups(&widths, width);
    let n = groups.len();
    for (g, cols) in groups.iter().enumerate() {
        let mut keep = vec![0, 1];
        keep.extend(cols);
        if n > 1 {
            let names: Vec<&str> = cols.iter().map(|&c| headers[c]).collect();
            w.write_all(wrap_line(&format!("({} of {n}: {})", g + 1, names.join(", ")), width).as_bytes())?;
        }
        let heads: Vec<&str> = keep.iter().map(|&i| headers[i]).collect();
        let part = || {
            Box::new(source().map(|r| keep.iter().map(|&i| r[i].clone()).collect()))
                as Box<dyn Iterator<Item = Vec<String>>>
        };
        long_table::write(w, layout, &heads, &part, md, Narrow::default())?;
    }
    Ok(())
}

/// The tracked variables (column indices from 2) in groups that each fit `width` beside the
/// `after` and `time` columns: greedy, each group taking columns while they fit.
fn tracker_groups(widths: &[usize], width: usize) -> Vec<Vec<usize>> {
    let fixed = 1 + widths[0] + widths[1];
    let mut groups: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = fixed;
    for (c, &w) in widths.iter().enumerate().skip(2) {
        if used + w > width && used > fixed {
            groups.push(Vec::new());
            used = fixed;
        }
        groups.last_mut().expect("a group").push(c);
        used += w;
    }
    groups
}

/// The broken guarantees no expectation states: each fails the run.
fn unstated(out: &mut String, r: &Report, md: bool, layout: Layout) {
    if r.unstated_violations.is_empty() {
        return;
    }
    let n = r.unstated_violations.len();
    out.push_str(&note(layout, md, &format!(
        "{}FAILED: {n} flow{} violate{} the configured guarantee and no expect line states it (add one, e.g. `lost N`, to make it expected):\n",
        if md { "\n" } else { "" },
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    )));
    for v in &r.unstated_violations {
        out.push_str(&note(layout, md, &format!("{}{v}\n", if md { "- " } else { "  " })));
    }
}

fn after_label(after: &str) -> String {
    match after {
        "start" | "final" => after.to_string(),
        n => format!("step {n}"),
    }
}

/// The line under a cut table: how many rows are missing, which were kept, and how to see
/// them all, unless the table holds the most any report keeps.
fn omitted(layout: Layout, md: bool, shown: usize, n: u64, what: &str) -> String {
    if n == 0 {
        return String::new();
    }
    let text = if shown >= MAX_REPORT_ROWS {
        format!("... {n} more {what} not shown (a report keeps at most {MAX_REPORT_ROWS})\n")
    } else {
        let kept = match what {
            "steps" => {
                "those around faults, errors, crashes, elections, rebalances and the first step of every lost or duplicated message, then the earliest"
            }
            "messages" => "every message not delivered once, then the earliest",
            "records" => "the records of messages the log holds twice, then the earliest",
            _ => "those after the steps shown, then the earliest",
        };
        format!("... {n} more {what} not shown; kept {kept} (--max-rows 0 shows all)\n")
    };
    note(layout, md, &text)
}

/// The compare-mode table in any format.
pub fn render_compare(scenario: &str, rows: &[crate::compare::Row], format: Format, layout: Layout) -> String {
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
                broken.push_str(&note(
                    layout,
                    md,
                    &format!("expectations FAILED under {}: {}\n", r.config, r.expectations_failed.join("; ")),
                ));
            }
            head + &fit(
                layout,
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
                Narrow { first: &[0, 6], foldable: &[], whole: &[0], drop: &[] },
            ) + if md && !broken.is_empty() { "\n" } else { "" }
                + &broken
        }
    }
}

/// One table in the house style at full width (for `scn conform`'s report).
#[cfg(feature = "conform")]
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>, md: bool) -> String {
    fit(Layout::WIDE, headers, rows, md, Narrow { first: &[], foldable: &[], whole: &[], drop: &[] })
}
