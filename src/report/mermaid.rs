//! Writes a [`Diagram`] as a Mermaid `sequenceDiagram`, to paste into a GitHub issue or a
//! Markdown file: participants per lane, arrows and notes a step, faults as red boxes, lost
//! messages as crossed arrows, the idle stretches and elided steps as notes.

use super::diagram::{Class, Diagram, Item, Mark, SpanKind};
use std::fmt::Write;

/// Mermaid's text: `#` and `;` are its own (entity codes, statement ends), `<` `>` read as
/// HTML; the rest passes.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Labels past this many characters are cut: Mermaid sizes each row to its longest label.
const MAX_LABEL: usize = 60;

fn short(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL {
        return text(s);
    }
    let cut: String = s.chars().take(MAX_LABEL - 1).collect();
    text(&cut) + "…"
}

pub fn render(d: &Diagram) -> String {
    let mut o = String::from("sequenceDiagram\n");
    let _ = writeln!(o, "    title {}", text(&d.title));
    for (i, l) in d.lanes.iter().enumerate() {
        let _ = writeln!(o, "    participant L{i} as {}", text(&l.name));
    }
    let (first, last) = (0, d.lanes.len().saturating_sub(1));
    let all = |o: &mut String, body: &str| {
        let _ = if d.lanes.len() > 1 {
            writeln!(o, "    Note over L{first},L{last}: {body}")
        } else {
            writeln!(o, "    Note over L{first}: {body}")
        };
    };
    if d.lanes.is_empty() {
        return o + "    Note over nobody: no steps\n";
    }
    let mut last_ms = None;
    let mut cut_open: Option<usize> = None;
    for (i, r) in d.rows.iter().enumerate() {
        // A cut link is a red rectangle around its rows (Mermaid's `rect` must nest, so only
        // one is open at a time).
        if r.idle_before_ms > 0 {
            all(&mut o, &format!("… {} ms idle …", r.idle_before_ms));
        }
        if cut_open == Some(i) {
            let _ = writeln!(o, "    end");
            cut_open = None;
        }
        if cut_open.is_none() {
            if let Some(s) = d.spans.iter().find(|s| s.kind == SpanKind::Cut && s.first == i && s.end > i) {
                let _ = writeln!(o, "    rect rgba(208, 28, 28, 0.08)");
                cut_open = Some(s.end);
            }
        }
        // send() is said again by the produce request right after it.
        if matches!(&r.item, Item::Note { class: Class::Local, label, .. } if label.starts_with("send()")) {
            continue;
        }
        let at = if last_ms != Some(r.time_ms) && !matches!(r.item, Item::Elided { .. }) {
            last_ms = Some(r.time_ms);
            format!("[{} ms] ", r.time_ms)
        } else {
            String::new()
        };
        match &r.item {
            Item::Note { lane, label, class } => {
                let mark = match (r.mark, class) {
                    (Mark::Lost, _) => "✕ LOST: ",
                    (Mark::Duplicate, _) => "DUPLICATE: ",
                    (_, Class::Crash) => "✕ ",
                    (_, Class::Error) => "⚠ ",
                    _ => "",
                };
                let _ = writeln!(o, "    Note over L{lane}: {at}{mark}{}", short(label));
            }
            Item::Arrow { from, to, label, class } => {
                for t in to {
                    let head = match (r.mark, class.is_reply()) {
                        (Mark::Lost, _) => "-x",
                        (_, true) => "-->>",
                        (_, false) => "->>",
                    };
                    let mark = match r.mark {
                        Mark::Lost => "✕ LOST: ",
                        Mark::Duplicate => "DUPLICATE: ",
                        Mark::None => "",
                    };
                    let _ = writeln!(o, "    L{from}{head}L{t}: {at}{mark}{}", short(label));
                }
            }
            Item::Fault { label, .. } => {
                let _ = writeln!(o, "    rect rgb(255, 205, 205)");
                all(&mut o, &format!("{at}⚡ fault: {}", short(label)));
                let _ = writeln!(o, "    end");
            }
            Item::Elided { steps, from_ms, to_ms, why } => {
                all(&mut o, &format!("… {steps} steps elided ({from_ms} ms to {to_ms} ms): {}", text(why)));
            }
        }
    }
    if cut_open.is_some() {
        let _ = writeln!(o, "    end");
    }
    o
}
