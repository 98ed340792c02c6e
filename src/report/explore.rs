//! Renders what `scn explore` found: the bound, how much was explored, and each minimal
//! counterexample as a ready-to-paste `faults` block with the report of its run.

use super::layout::{Layout, Narrow, fit};
use super::render::{Format, Section, heading, render};
use crate::explore::Outcome;

/// The sections of a counterexample's report (its process table is left to `scn run`).
const SECTIONS: [Section; 5] =
    [Section::Messages, Section::Flows, Section::Anomalies, Section::Faults, Section::Expect];

/// What explore found in `format`, its text tables laid out as `layout` says.
pub fn render_explore(o: &Outcome, format: Format, layout: Layout) -> String {
    match format {
        // The counterexample's run recorded --max-rows steps already: draw them all.
        Format::Svg | Format::Mermaid => super::explore_picture::render(o, format, 0),
        Format::Json => serde_json::to_string_pretty(&document(o)).expect("outcome serializes") + "\n",
        Format::Yaml => serde_norway::to_string(&document(o)).expect("outcome serializes"),
        // (explore_cmd refuses html: one page per run.)
        Format::Table | Format::Markdown | Format::Html => text(o, format, layout),
    }
}

/// The outcome as JSON, each counterexample's report cut to the sections the text shows.
fn document(o: &Outcome) -> serde_json::Value {
    let mut v = serde_json::to_value(o).expect("outcome serializes");
    if let Some(list) = v.get_mut("counterexamples").and_then(|c| c.as_array_mut()) {
        for (c, ce) in list.iter_mut().zip(&o.counterexamples) {
            let report: serde_json::Value =
                serde_json::from_str(&render(&ce.report, Format::Json, &SECTIONS, Layout::WIDE)).expect("json");
            c["report"] = report;
        }
    }
    v
}

/// One line saying what the search covered.
pub fn summary(o: &Outcome) -> String {
    let kinds: Vec<&str> = o.kinds.iter().map(|k| k.name()).collect();
    let checks: Vec<&str> = o.checks.iter().map(|c| c.name()).collect();
    let faults = if o.max_faults == 1 { "1 fault".to_string() } else { format!("up to {} faults", o.max_faults) };
    format!("{faults} of kinds {}; broken means: {}", kinds.join(", "), checks.join(", "))
}

fn text(o: &Outcome, format: Format, layout: Layout) -> String {
    let md = format == Format::Markdown;
    let mut out = String::new();
    let heading = |out: &mut String, title: &str| heading(out, md, title);
    if md {
        out.push_str(&format!("# explore: {}\n\n", o.scenario));
    } else {
        out.push_str(&format!("explore: {}\n", o.scenario));
    }
    out.push_str(&format!("space: {}\n", summary(o)));
    let d = &o.durations;
    let pause = d.pause_ms.map_or("their session timeout + 1s".to_string(), crate::check::ms);
    out.push_str(&format!(
        "recovery: clients restart after {}, brokers after {}; cut links heal after {}; paused nodes resume after {pause}\n",
        crate::check::ms(d.client_restart_ms),
        crate::check::ms(d.broker_restart_ms),
        crate::check::ms(d.heal_ms),
    ));
    match &o.random {
        Some(r) => {
            out.push_str(&format!(
                "explored: {} random schedules from seed {}, {} broke the scenario\n",
                r.schedules, r.seed, r.violated
            ));
        }
        None => {
            let rows: Vec<Vec<String>> = o
                .levels
                .iter()
                .map(|l| {
                    vec![
                        l.depth.to_string(),
                        l.schedules.to_string(),
                        if l.complete {
                            "yes".into()
                        } else if o.stopped_by_memory {
                            "no (memory)".into()
                        } else {
                            "no (budget)".into()
                        },
                    ]
                })
                .collect();
            out.push_str(&format!(
                "explored: {} schedules, {} distinct states ({}% deduplicated){}\n",
                o.schedules,
                o.distinct_states,
                dedup_percent(o),
                if o.complete {
                    String::new()
                } else {
                    let by = if o.stopped_by_memory { "at the memory limit" } else { "by the budget" };
                    format!("; stopped {by} with about {} schedules left", o.schedules_left)
                }
            ));
            if md {
                out.push('\n');
            }
            out.push_str(&fit(layout, &["faults", "schedules", "all tried"], rows, md, Narrow::default()));
        }
    }
    if o.determinism_checked {
        if o.divergences.is_empty() {
            out.push_str("determinism: every schedule ran the same forked and from scratch\n");
        } else {
            out.push_str(&format!("determinism: {} schedules DIVERGED\n", o.divergences.len()));
            for dv in &o.divergences {
                out.push_str(&format!("  --seed {}: {}\n", dv.seed, dv.faults.join("; ")));
            }
        }
    }
    if o.counterexamples.is_empty() {
        let how = if o.random.is_some() {
            "in the schedules tried"
        } else if !o.complete {
            "in the schedules tried (the search stopped before the end of the bound)"
        } else {
            "within the bound"
        };
        out.push_str(&format!("\nresult: nothing breaks {how}\n"));
        return out;
    }
    let n = o.counterexamples.len();
    let plural = if n == 1 { "counterexample" } else { "counterexamples" };
    out.push_str(&format!("\nresult: BROKEN ({n} {plural})\n"));
    for (i, c) in o.counterexamples.iter().enumerate() {
        let k = c.moves.len();
        let title = match (n, k) {
            (1, 0) => "Counterexample: the scenario as written".to_string(),
            (1, _) => format!("Counterexample: {k} fault{}", if k == 1 { "" } else { "s" }),
            (_, _) => format!("Counterexample {}: {k} fault{}", i + 1, if k == 1 { "" } else { "s" }),
        };
        heading(&mut out, &title);
        out.push_str("broke:\n");
        for b in &c.broken {
            out.push_str(&format!("  {}\n", b.detail));
        }
        if !c.faults.is_empty() {
            out.push_str(&format!(
                "minimal: removing any one of its faults makes this disappear{}\n",
                if c.found_with > k { format!(" (shrunk from {} faults)", c.found_with) } else { String::new() }
            ));
            out.push_str(&format!("reproduce: add this block and run `scn run FILE --seed {}`\n", c.seed));
            if md {
                out.push_str("\n```\n");
            }
            out.push_str("faults {\n");
            for l in &c.faults {
                out.push_str(&format!("  {l}\n"));
            }
            out.push_str("}\n");
            if md {
                out.push_str("```\n");
            }
        }
        let report = render(&c.report, format, &SECTIONS, layout);
        // The counterexample's own heading replaces the report's scenario line.
        let body = report.split_once('\n').map_or("", |(_, rest)| rest);
        out.push_str(body);
    }
    out
}

fn dedup_percent(o: &Outcome) -> u64 {
    if o.schedules == 0 { 0 } else { 100 - (o.distinct_states * 100).div_ceil(o.schedules).min(100) }
}
