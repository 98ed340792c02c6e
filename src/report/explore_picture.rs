//! `scn explore --format svg|mermaid`: each minimal counterexample's run drawn as the same
//! sequence diagram `scn run` draws, titled with the faults that break it and what broke.

use super::diagram::{self, Diagram};
use super::render::Format;
use super::{mermaid, svg};
use crate::explore::Outcome;

/// Each counterexample's diagram, its subtitle naming the faults and what broke.
fn diagrams(o: &Outcome, max_rows: usize) -> Vec<Diagram> {
    let n = o.counterexamples.len();
    o.counterexamples
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut d = diagram::build(&c.report, max_rows);
            let which = if n == 1 { "counterexample".to_string() } else { format!("counterexample {}", i + 1) };
            let faults = if c.faults.is_empty() { "the scenario as written".to_string() } else { c.faults.join("; ") };
            let broke: Vec<&str> = c.broken.iter().map(|b| b.detail.as_str()).collect();
            d.title = format!("explore {}: {which}: {faults}", o.scenario);
            d.subtitle = format!("broke: {}; {}", broke.join("; "), d.subtitle);
            d
        })
        .collect()
}

pub fn render(o: &Outcome, format: Format, max_rows: usize) -> String {
    let ds = diagrams(o, max_rows);
    if ds.is_empty() {
        let how = if o.random.is_some() { "in the schedules tried" } else { "within the bound" };
        let line = format!("explore {}: nothing breaks {how} ({})", o.scenario, super::explore_summary(o));
        return match format {
            Format::Mermaid => format!(
                "sequenceDiagram\n    title {}\n    Note over nobody: no counterexample\n",
                line.replace([';', '#'], ",")
            ),
            _ => svg::message(&line),
        };
    }
    match format {
        Format::Mermaid if ds.len() == 1 => mermaid::render(&ds[0]),
        // Several diagrams: a Markdown page of fenced diagrams (one Mermaid block holds one).
        Format::Mermaid => {
            ds.iter().map(|d| format!("## {}\n\n```mermaid\n{}```\n\n", d.title, mermaid::render(d))).collect()
        }
        _ => svg::stack(&ds),
    }
}
