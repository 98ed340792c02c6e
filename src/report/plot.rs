//! `scn compare --format svg`: the comparison as charts drawn with plotters (its SVG backend):
//! per configuration, bars for lost / duplicated / reordered / failed messages and for latency
//! p50 / p99, and the seeds' mode / risk / guarantee table as a chart of coloured cells.

use crate::compare::Row;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: u32 = 960;
const COUNTS: [(&str, RGBColor); 4] = [
    ("lost", RGBColor(208, 28, 28)),
    ("duplicated", RGBColor(224, 138, 0)),
    ("reordered", RGBColor(123, 63, 181)),
    ("failed", RGBColor(85, 85, 85)),
];
const LATENCY: [(&str, RGBColor); 2] = [("p50", RGBColor(31, 95, 191)), ("p99", RGBColor(15, 139, 141))];

fn counts(r: &Row) -> [u64; 4] {
    [r.lost, r.duplicated, r.reordered, r.failed]
}

fn latency(r: &Row) -> [u64; 2] {
    r.latency.map_or([0, 0], |l| [l.p50_ms, l.p99_ms])
}

/// Grouped bars: one group per configuration, one bar per series.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    rows: &[Row],
    series: &[(&str, RGBColor)],
    value: &dyn Fn(&Row) -> Vec<u64>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let n = rows.len().max(1) as u32;
    let k = series.len() as u32;
    let top = rows.iter().flat_map(value).max().unwrap_or(0).max(1);
    // Each configuration is k + 1 slots wide: its bars and a gap; headroom above for the legend.
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0u32..n * (k + 1), 0u64..top + top * 2 / 5 + 1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(2)
        .x_label_formatter(&|_| String::new())
        .y_desc(y_desc)
        .y_label_formatter(&|v| v.to_string())
        .draw()?;
    for (i, r) in rows.iter().enumerate() {
        let base = i as u32 * (k + 1);
        for (j, v) in value(r).into_iter().enumerate() {
            let x = base + j as u32;
            let colour = series[j].1;
            chart.draw_series(std::iter::once(Rectangle::new([(x, 0), (x + 1, v)], colour.filled())))?;
            // The value over the bar's middle, in pixels of this area.
            let (l, t) = chart.backend_coord(&(x, v));
            let (r, _) = chart.backend_coord(&(x + 1, v));
            let (bx, by) = area.get_base_pixel();
            area.draw(&Text::new(
                v.to_string(),
                ((l + r) / 2 - bx, t - by - 3),
                TextStyle::from(("sans-serif", 11).into_font())
                    .color(&colour)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
        }
        let label_at = chart.backend_coord(&(base + k / 2, 0));
        area.draw(&Text::new(
            r.config.clone(),
            (label_at.0 - area.get_base_pixel().0, label_at.1 - area.get_base_pixel().1 + 8),
            TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    for (name, colour) in series {
        chart
            .draw_series(std::iter::empty::<Rectangle<(u32, u64)>>())?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// The mode / risk / guarantee table as coloured cells: a row per configuration.
fn verdicts<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    rows: &[Row],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let columns = ["configuration (mode)", "risk seen", "every flow keeps its guarantee?"];
    let widths = [260i32, 260, 400];
    let (x0, y0, h) = (12i32, 34i32, 26i32);
    area.draw(&Text::new("Mode, risk and guarantee", (x0, 8), ("sans-serif", 16)))?;
    let mut x = x0;
    for (c, w) in columns.iter().zip(widths) {
        area.draw(&Rectangle::new([(x, y0), (x + w, y0 + h)], RGBColor(238, 242, 248).filled()))?;
        area.draw(&Text::new(c.to_string(), (x + 6, y0 + 7), ("sans-serif", 13).into_font().style(FontStyle::Bold)))?;
        x += w;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = y0 + h * (i as i32 + 1);
        let risk: Vec<String> =
            COUNTS.iter().zip(counts(r)).filter(|(_, n)| *n > 0).map(|((name, _), n)| format!("{n} {name}")).collect();
        let (risk, risk_colour) = if risk.is_empty() {
            ("none".to_string(), RGBColor(220, 240, 225))
        } else {
            (risk.join(", "), RGBColor(255, 228, 200))
        };
        let (holds, holds_colour) = if r.guarantee_holds {
            ("yes".to_string(), RGBColor(220, 240, 225))
        } else {
            (format!("no: {}", r.note), RGBColor(255, 215, 215))
        };
        let cells = [(r.config.clone(), WHITE), (risk, risk_colour), (holds, holds_colour)];
        let mut x = x0;
        for ((text, fill), w) in cells.into_iter().zip(widths) {
            area.draw(&Rectangle::new([(x, y), (x + w, y + h)], fill.filled()))?;
            area.draw(&Rectangle::new([(x, y), (x + w, y + h)], BLACK.mix(0.2)))?;
            let max = (w as usize - 12) / 7;
            let shown: String = if text.chars().count() > max {
                text.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
            } else {
                text
            };
            area.draw(&Text::new(shown, (x + 6, y + 7), ("sans-serif", 12)))?;
            x += w;
        }
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    scenario: &str,
    rows: &[Row],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (title, rest) = root.split_vertically(36);
    title.draw(&Text::new(
        format!("scn compare: {scenario}"),
        (12, 10),
        ("sans-serif", 18).into_font().style(FontStyle::Bold),
    ))?;
    let (top, rest) = rest.split_vertically(300);
    let (middle, bottom) = rest.split_vertically(300);
    bars(&top, "Messages lost, duplicated, reordered, failed", "messages", rows, &COUNTS, &|r| counts(r).to_vec())?;
    bars(&middle, "Latency (send to first processing, else to ack)", "ms", rows, &LATENCY, &|r| latency(r).to_vec())?;
    verdicts(&bottom, rows)?;
    root.present()?;
    Ok(())
}

/// The charts as one SVG document.
pub fn render(scenario: &str, rows: &[Row]) -> String {
    let table_h = 60 + 26 * rows.len() as u32;
    let height = 36 + 300 + 300 + table_h;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        draw(root, scenario, rows).expect("drawing into a string cannot fail");
    }
    out
}
