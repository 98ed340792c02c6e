//! Draws a [`Diagram`] as one self-contained SVG: lanes, lifelines (broken while a lane is
//! down or paused), arrows and notes a row a step, faults in red, cut-link bands, red crosses
//! on lost messages, duplicate badges, and a time axis that compresses idle stretches.

use super::diagram::{Class, Diagram, Item, Mark, Row, SpanKind};
use std::fmt::Write;

const AXIS_W: f64 = 96.0;
const LANE_W: f64 = 168.0;
const HEAD_H: f64 = 92.0;
const ROW_H: f64 = 20.0;
const BREAK_H: f64 = 14.0;
const ELIDED_H: f64 = 26.0;
const LEGEND_H: f64 = 64.0;
/// A white outline under text, so lifelines do not strike it through.
const HALO: &str = " paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\"";
/// Average width of a character at the 10 px label size, for cutting labels to fit.
const CHAR_W: f64 = 5.6;

pub fn colour(c: Class) -> &'static str {
    match c {
        Class::Produce => "#1f5fbf",
        Class::Ack => "#1e8a3a",
        Class::Replicate => "#7a7a7a",
        Class::Fetch => "#0f8b8d",
        Class::Commit => "#7b3fb5",
        Class::Group => "#8a7a12",
        Class::Txn => "#a0522d",
        Class::Marker => "#b0307a",
        Class::Control => "#555555",
        Class::Local => "#333333",
        Class::Error | Class::Crash => "#d01c1c",
        Class::Restart => "#1e8a3a",
    }
}

const CLASSES: [Class; 13] = [
    Class::Produce,
    Class::Ack,
    Class::Replicate,
    Class::Fetch,
    Class::Commit,
    Class::Group,
    Class::Txn,
    Class::Marker,
    Class::Control,
    Class::Local,
    Class::Error,
    Class::Crash,
    Class::Restart,
];

/// XML text and attribute escaping; characters XML 1.0 forbids become `?`.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// At most `width` pixels of `s`, with an ellipsis when cut.
fn fit(s: &str, width: f64) -> String {
    let max = ((width / CHAR_W) as usize).max(4);
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn x_of(lane: usize) -> f64 {
    AXIS_W + LANE_W * lane as f64 + LANE_W / 2.0
}

/// The y of each row's centre, and the total height of the rows.
fn layout(rows: &[Row]) -> (Vec<f64>, f64) {
    let mut y = HEAD_H;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if r.idle_before_ms > 0 {
            y += BREAK_H;
        }
        let h = if matches!(r.item, Item::Elided { .. }) { ELIDED_H } else { ROW_H };
        out.push(y + h / 2.0);
        y += h;
    }
    (out, y)
}

/// The data attributes HTML uses to highlight a message's fate.
fn data(r: &Row) -> String {
    let msgs = r.msgs.join("|");
    format!(" data-step=\"{}\" data-msgs=\"{}\"", r.step, esc(&msgs))
}

/// The SVG document (standalone: with its XML declaration).
pub fn render(d: &Diagram) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", element(d))
}

/// The `<svg>` element alone, for embedding in HTML.
pub fn element(d: &Diagram) -> String {
    let (ys, rows_end) = layout(&d.rows);
    let lanes = d.lanes.len().max(1);
    // Room on the right for the last lane's notes.
    let width = AXIS_W + LANE_W * lanes as f64 + 200.0;
    let height = rows_end + 24.0 + LEGEND_H;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"scn-diagram\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"10\">"
    );
    let _ = writeln!(o, "<title>{}</title>", esc(&d.title));
    o.push_str("<defs>\n");
    for c in CLASSES {
        let _ = writeln!(
            o,
            "<marker id=\"head-{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
            c.name(),
            colour(c)
        );
    }
    o.push_str("</defs>\n");
    let _ = writeln!(o, "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>");
    let _ = writeln!(o, "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>", esc(&d.title));
    let _ = writeln!(o, "<text x=\"8\" y=\"34\" fill=\"#555\">{}</text>", esc(&d.subtitle));
    let _ = writeln!(o, "<text x=\"8\" y=\"{}\" fill=\"#555\">time (ms)</text>", HEAD_H - 8.0);
    spans(&mut o, d, &ys, rows_end);
    lifelines(&mut o, d, &ys, rows_end);
    for (i, l) in d.lanes.iter().enumerate() {
        let x = x_of(i);
        let _ = writeln!(
            o,
            "<g class=\"lane\" data-lane=\"{}\"><rect x=\"{}\" y=\"44\" width=\"{}\" height=\"32\" rx=\"4\" fill=\"#eef2f8\" stroke=\"#8895aa\"/><text x=\"{x}\" y=\"58\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"11\">{}</text><text x=\"{x}\" y=\"71\" text-anchor=\"middle\" fill=\"#555\" font-size=\"9\">{}</text></g>",
            esc(&l.name),
            x - LANE_W / 2.0 + 6.0,
            LANE_W - 12.0,
            esc(&fit(&l.name, LANE_W - 16.0)),
            esc(&fit(&l.detail, LANE_W - 16.0)),
        );
    }
    let mut last_ms = None;
    for (r, y) in d.rows.iter().zip(&ys) {
        if r.idle_before_ms > 0 {
            idle_break(&mut o, *y - ROW_H / 2.0 - BREAK_H / 2.0, r.idle_before_ms, width);
        }
        if last_ms != Some(r.time_ms) && !matches!(r.item, Item::Elided { .. }) {
            let _ = writeln!(
                o,
                "<text class=\"t\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#444\">{}</text>",
                AXIS_W - 10.0,
                y + 3.5,
                r.time_ms
            );
            last_ms = Some(r.time_ms);
        }
        row(&mut o, d, r, *y, width);
    }
    legend(&mut o, rows_end + 24.0, width);
    o.push_str("</svg>\n");
    o
}

fn idle_break(o: &mut String, y: f64, ms: u64, width: f64) {
    let _ = writeln!(
        o,
        "<g class=\"idle\"><path d=\"M{},{} l6,-4 l6,8 l6,-4\" fill=\"none\" stroke=\"#999\"/><line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ccc\" stroke-dasharray=\"2 4\"/><text x=\"{}\" y=\"{}\" fill=\"#888\" font-style=\"italic\" font-size=\"9\">{ms} ms idle, compressed</text></g>",
        AXIS_W - 40.0,
        y,
        AXIS_W,
        width - 10.0,
        AXIS_W + 4.0,
        y + 3.0,
    );
}

/// Cut-link bands behind everything else.
fn spans(o: &mut String, d: &Diagram, ys: &[f64], end: f64) {
    let top = |i: usize| ys.get(i).map_or(end, |y| y - ROW_H / 2.0);
    for s in d.spans.iter().filter(|s| s.kind == SpanKind::Cut) {
        let (lo, hi) = match (s.lanes.iter().min(), s.lanes.iter().max()) {
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => (0, d.lanes.len().saturating_sub(1)),
        };
        let x = x_of(lo) - LANE_W / 2.0 + 4.0;
        let w = x_of(hi) - x_of(lo) + LANE_W - 8.0;
        let (y0, y1) = (top(s.first), top(s.end));
        let _ = writeln!(
            o,
            "<g class=\"cut\"><title>{}</title><rect x=\"{x}\" y=\"{y0}\" width=\"{w}\" height=\"{}\" fill=\"#d01c1c\" fill-opacity=\"0.07\" stroke=\"#d01c1c\" stroke-opacity=\"0.5\" stroke-dasharray=\"6 3\"/><text x=\"{}\" y=\"{}\" fill=\"#d01c1c\" font-size=\"9\">cut: {}</text></g>",
            esc(&s.label),
            (y1 - y0).max(4.0),
            x + 4.0,
            y0 + 10.0,
            esc(&fit(&s.label, w - 30.0)),
        );
    }
}

/// Each lane's vertical bar: solid while up, a thin red dash while crashed, orange dots
/// while paused.
fn lifelines(o: &mut String, d: &Diagram, ys: &[f64], end: f64) {
    let top = |i: usize| ys.get(i).map_or(end, |y| y - ROW_H / 2.0);
    for lane in 0..d.lanes.len() {
        let x = x_of(lane);
        let mut gaps: Vec<(f64, f64, SpanKind)> = d
            .spans
            .iter()
            .filter(|s| s.kind != SpanKind::Cut && s.lanes == [lane])
            .map(|s| (top(s.first) + ROW_H / 2.0, top(s.end), s.kind))
            .collect();
        gaps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut y = HEAD_H - 16.0;
        for (g0, g1, kind) in gaps {
            if g0 > y {
                let _ = writeln!(
                    o,
                    "<line x1=\"{x}\" y1=\"{y}\" x2=\"{x}\" y2=\"{g0}\" stroke=\"#8895aa\" stroke-width=\"2\"/>"
                );
            }
            let (stroke, dash, what) = match kind {
                SpanKind::Paused => ("#e08a00", "2 3", "paused"),
                _ => ("#d01c1c", "4 6", "down"),
            };
            let _ = writeln!(
                o,
                "<line class=\"{what}\" x1=\"{x}\" y1=\"{g0}\" x2=\"{x}\" y2=\"{g1}\" stroke=\"{stroke}\" stroke-opacity=\"0.6\" stroke-dasharray=\"{dash}\"/>"
            );
            y = y.max(g1);
        }
        if end > y {
            let _ = writeln!(
                o,
                "<line x1=\"{x}\" y1=\"{y}\" x2=\"{x}\" y2=\"{end}\" stroke=\"#8895aa\" stroke-width=\"2\"/>"
            );
        }
    }
}

fn cross(o: &mut String, x: f64, y: f64) {
    let _ = write!(
        o,
        "<path class=\"lost\" d=\"M{},{} l10,10 M{},{} l10,-10\" stroke=\"#d01c1c\" stroke-width=\"2.5\"/>",
        x - 5.0,
        y - 5.0,
        x - 5.0,
        y + 5.0
    );
}

fn badge(o: &mut String, x: f64, y: f64) {
    let _ = write!(
        o,
        "<g class=\"dup\"><rect x=\"{}\" y=\"{}\" width=\"26\" height=\"12\" rx=\"3\" fill=\"#e08a00\"/><text x=\"{}\" y=\"{}\" fill=\"#fff\" font-size=\"8\" text-anchor=\"middle\">dup</text></g>",
        x,
        y - 6.0,
        x + 13.0,
        y + 3.0
    );
}

fn row(o: &mut String, d: &Diagram, r: &Row, y: f64, width: f64) {
    let title = format!("<title>{}</title>", esc(&r.title));
    match &r.item {
        Item::Arrow { from, to, label, class } => {
            let col = colour(*class);
            let x1 = x_of(*from);
            let far = to.iter().copied().max_by(|a, b| x_of(*a).total_cmp(&x_of(*b)).then(a.cmp(b)));
            let near = to.iter().copied().min();
            let (Some(far), Some(near)) = (far, near) else { return };
            // Markers to lanes on both sides: draw to each in turn.
            let _ = write!(o, "<g class=\"row arrow c-{}\"{}>{title}", class.name(), data(r));
            let dash = if class.is_reply() { " stroke-dasharray=\"5 3\"" } else { "" };
            for t in to {
                let x2 = x_of(*t);
                let x2 = if x2 > x1 { x2 - 2.0 } else { x2 + 2.0 };
                let _ = write!(
                    o,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{col}\" stroke-width=\"1.3\"{dash} marker-end=\"url(#head-{})\"/>",
                    class.name()
                );
            }
            // One item a row: the label may run past the arrow, to the right edge.
            let left = x1.min(x_of(near)) + 8.0;
            let mid = (x1 + x_of(far)) / 2.0;
            let _ = write!(
                o,
                "<text x=\"{left}\" y=\"{}\" fill=\"{col}\"{HALO}>{}</text>",
                y - 3.5,
                esc(&fit(label, width - left - 10.0))
            );
            match r.mark {
                Mark::Lost if *class == super::diagram::Class::Error => cross(o, mid, y),
                Mark::Lost => cross(o, x_of(far), y),
                Mark::Duplicate => badge(o, x_of(far) + 4.0, y),
                Mark::None => {}
            }
            o.push_str("</g>\n");
        }
        Item::Note { lane, label, class } => {
            let col = colour(*class);
            let x = x_of(*lane);
            let bold = if matches!(class, Class::Crash | Class::Error) { " font-weight=\"bold\"" } else { "" };
            let _ = write!(
                o,
                "<g class=\"row note c-{}\"{}>{title}<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{col}\"/><text x=\"{}\" y=\"{}\" fill=\"{col}\"{bold}{HALO}>{}</text>",
                class.name(),
                data(r),
                x + 6.0,
                y + 3.5,
                esc(&fit(label, width - x - 16.0))
            );
            match r.mark {
                Mark::Lost => cross(o, x, y),
                Mark::Duplicate => badge(o, x - 32.0, y),
                Mark::None => {}
            }
            o.push_str("</g>\n");
        }
        Item::Fault { label, lanes } => {
            let _ = write!(
                o,
                "<g class=\"row fault\"{}>{title}<line x1=\"{AXIS_W}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#d01c1c\" stroke-width=\"1\" stroke-dasharray=\"3 2\"/>",
                data(r),
                width - 10.0
            );
            for l in lanes {
                let _ = write!(o, "<circle cx=\"{}\" cy=\"{y}\" r=\"5\" fill=\"#d01c1c\"/>", x_of(*l));
            }
            let x = lanes.first().map_or(AXIS_W + 4.0, |l| x_of(*l) + 8.0);
            let text = format!("⚡ fault: {label}");
            let room = (width - x - 10.0).max(LANE_W);
            let _ = write!(
                o,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"#fff\" fill-opacity=\"0.85\"/><text x=\"{x}\" y=\"{}\" fill=\"#d01c1c\" font-weight=\"bold\">{}</text></g>\n",
                x - 1.0,
                y - 8.0,
                (text.chars().count() as f64 * CHAR_W + 4.0).min(room),
                y + 2.0,
                esc(&fit(&text, room))
            );
        }
        Item::Elided { steps, from_ms, to_ms, why } => {
            let text = format!("… {steps} steps elided ({from_ms} ms to {to_ms} ms): {why}");
            let _ = writeln!(
                o,
                "<g class=\"row elided\"{}><rect x=\"8\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f1f1f1\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/><text x=\"{}\" y=\"{}\" fill=\"#555\" font-style=\"italic\">{}</text></g>",
                data(r),
                y - ELIDED_H / 2.0 + 3.0,
                width - 18.0,
                ELIDED_H - 6.0,
                AXIS_W + 4.0,
                y + 3.5,
                esc(&text)
            );
        }
    }
    let _ = d;
}

fn legend(o: &mut String, y: f64, width: f64) {
    let _ = writeln!(
        o,
        "<g class=\"legend\"><line x1=\"8\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
        y - 8.0,
        width - 8.0,
        y - 8.0
    );
    let items: [(Class, &str); 9] = [
        (Class::Produce, "produce"),
        (Class::Ack, "ack"),
        (Class::Replicate, "replication fetch"),
        (Class::Fetch, "poll (records)"),
        (Class::Commit, "offset commit"),
        (Class::Group, "group protocol"),
        (Class::Txn, "transaction"),
        (Class::Marker, "markers"),
        (Class::Error, "error"),
    ];
    let mut x = 12.0;
    for (c, name) in items {
        let dash = if c.is_reply() { " stroke-dasharray=\"5 3\"" } else { "" };
        let _ = write!(
            o,
            "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"{dash} marker-end=\"url(#head-{})\"/><text x=\"{}\" y=\"{}\">{name}</text>",
            x + 24.0,
            colour(c),
            c.name(),
            x + 28.0,
            y + 3.5
        );
        x += 40.0 + name.len() as f64 * CHAR_W;
    }
    let y2 = y + 22.0;
    let mut x = 12.0;
    let _ = write!(
        o,
        "<circle cx=\"{}\" cy=\"{y2}\" r=\"5\" fill=\"#d01c1c\"/><text x=\"{}\" y=\"{}\" fill=\"#d01c1c\">fault</text>",
        x + 5.0,
        x + 14.0,
        y2 + 3.5
    );
    x += 60.0;
    cross(o, x + 5.0, y2);
    let _ = write!(o, "<text x=\"{}\" y=\"{}\">lost message (its last step)</text>", x + 14.0, y2 + 3.5);
    x += 170.0;
    badge(o, x, y2);
    let _ = write!(o, "<text x=\"{}\" y=\"{}\">a duplicate's second copy</text>", x + 30.0, y2 + 3.5);
    x += 170.0;
    let _ = write!(
        o,
        "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#d01c1c\" stroke-dasharray=\"4 6\"/><text x=\"{}\" y=\"{}\">down (crashed)</text>",
        y2 - 8.0,
        y2 + 8.0,
        x + 6.0,
        y2 + 3.5
    );
    x += 100.0;
    let _ = write!(
        o,
        "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#e08a00\" stroke-dasharray=\"2 3\"/><text x=\"{}\" y=\"{}\">paused</text>",
        y2 - 8.0,
        y2 + 8.0,
        x + 6.0,
        y2 + 3.5
    );
    x += 60.0;
    let _ = writeln!(
        o,
        "<rect x=\"{x}\" y=\"{}\" width=\"24\" height=\"14\" fill=\"#d01c1c\" fill-opacity=\"0.07\" stroke=\"#d01c1c\" stroke-dasharray=\"6 3\"/><text x=\"{}\" y=\"{}\">cut link</text></g>",
        y2 - 7.0,
        x + 30.0,
        y2 + 3.5
    );
}

/// Several diagrams one under the other in one SVG document.
pub fn stack(ds: &[Diagram]) -> String {
    let parts: Vec<(String, f64, f64)> = ds
        .iter()
        .map(|d| {
            let e = element(d);
            let size = |attr: &str| {
                e.split_once(&format!(" {attr}=\""))
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .and_then(|(v, _)| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let (w, h) = (size("width"), size("height"));
            (e, w, h)
        })
        .collect();
    let width = parts.iter().map(|p| p.1).fold(0.0, f64::max);
    let height: f64 = parts.iter().map(|p| p.2 + 16.0).sum();
    let mut o = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n"
    );
    let mut y = 0.0;
    for (e, _, h) in parts {
        // A nested <svg> placed by its x/y attributes.
        let _ = write!(o, "{}", e.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1));
        y += h + 16.0;
    }
    o.push_str("</svg>\n");
    o
}

/// An SVG holding one line of text (nothing to draw).
pub fn message(line: &str) -> String {
    let width = 40.0 + line.chars().count() as f64 * 6.5;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"40\" viewBox=\"0 0 {width} 40\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\"><rect width=\"{width}\" height=\"40\" fill=\"#ffffff\"/><text x=\"12\" y=\"24\">{}</text></svg>\n",
        esc(line)
    )
}
