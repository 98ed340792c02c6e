//! A table of any length printed row by row, as [`fit`](super::layout::fit) lays it out: its
//! rows are made once (read from their spill and rendered to cells) and measured, the cells
//! kept in a temporary file; narrow tables read them back to wrap and measure them again
//! (keeping the wrapped cells in a second file), and the last file is read to print. No more
//! than one row is in memory at a time.

use super::layout::{
    Floor, Layout, Narrow, VERDICT_HEADERS, allocate_widths, drop_columns, note, shown, tone, wrap_cell,
};
use crate::spill::{CellRows, CellWriter};
use std::io::{self, Write};
use tabled::settings::Color;
use unicode_width::UnicodeWidthStr;

/// The rows of a long table, from the first, as often as asked.
pub(super) type Source<'a> = &'a dyn Fn() -> Box<dyn Iterator<Item = Vec<String>> + 'a>;

/// What one pass over the rows finds about each column.
struct Columns {
    rows: u64,
    /// Widest line, in characters (what the widths are shared out by).
    chars: Vec<usize>,
    /// Widest line, in terminal columns (what the cells are padded to).
    display: Vec<usize>,
    floors: Vec<Floor>,
    first: Vec<String>,
    constant: Vec<bool>,
}

/// Measures the rows; `words`: also each column's floors and which columns are
/// constant (the first pass; the wrapped rows need only their widths).
fn measure(headers: &[String], rows: &mut dyn Iterator<Item = Vec<String>>, words: bool) -> Columns {
    let n = headers.len();
    let mut c = Columns {
        rows: 0,
        chars: vec![0; n],
        display: vec![0; n],
        floors: vec![Floor::default(); n],
        first: Vec::new(),
        constant: vec![true; n],
    };
    let take = |c: &mut Columns, row: &[String]| {
        for (i, cell) in row.iter().enumerate() {
            // (An ASCII line is as many characters and columns as bytes: most cells.)
            if cell.is_ascii() && !cell.bytes().any(|b| b.is_ascii_control() && b != b'\n') {
                let widest = cell.lines().map(str::len).max().unwrap_or(0);
                c.chars[i] = c.chars[i].max(widest);
                c.display[i] = c.display[i].max(widest);
            } else {
                for l in cell.lines() {
                    c.chars[i] = c.chars[i].max(l.chars().count());
                    c.display[i] = c.display[i].max(l.width());
                }
            }
            if words {
                c.floors[i].widen(cell);
            }
        }
    };
    take(&mut c, headers);
    for row in rows {
        take(&mut c, &row);
        if words && c.rows == 0 {
            c.first = row;
        } else if words {
            for (i, cell) in row.iter().enumerate() {
                c.constant[i] &= *cell == c.first[i];
            }
        }
        c.rows += 1;
    }
    c
}

/// Writes the table `fit` would give for these rows (markdown escaped the same way).
pub(super) fn write(
    w: &mut dyn Write,
    layout: Layout,
    headers: &[&str],
    source: Source<'_>,
    md: bool,
    narrow: Narrow<'_>,
) -> io::Result<()> {
    let escape = |row: Vec<String>| -> Vec<String> {
        if md { row.into_iter().map(|c| c.replace('|', "\\|")).collect() } else { row }
    };
    let all: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut made = CellWriter::new()?;
    let first = measure(&all, &mut source().map(escape).inspect(|row| made.push(row)), true);
    let made = made.finish()?;
    // Which columns, in which order (as `fit`: verdicts first, constant ones folded).
    let mut order: Vec<usize> = (0..headers.len()).collect();
    let mut folded = Vec::new();
    if !md && layout.width.is_some() {
        order = narrow.first.to_vec();
        order.extend((0..headers.len()).filter(|c| !narrow.first.contains(c)));
        if first.rows > 1 {
            order.retain(|&c| {
                let constant = narrow.foldable.contains(&c) && first.constant[c];
                if constant {
                    folded.push(format!("{} {}", headers[c], shown(&first.first[c])));
                }
                !constant
            });
        }
    }
    let mut dropped = Vec::new();
    if let (false, Some(total)) = (md, layout.width) {
        dropped = drop_columns(&mut order, &first.chars, &first.floors, narrow, total);
    }
    let dropped: Vec<&str> = dropped.iter().map(|&c| headers[c]).collect();
    let heads: Vec<String> = order.iter().map(|&c| all[c].clone()).collect();
    let pick = |mut row: Vec<String>| -> Vec<String> { order.iter().map(|&c| std::mem::take(&mut row[c])).collect() };
    let width = if md { None } else { layout.width };
    // The cells to print, and each column's padding.
    let (wrap, pad, print): (Option<Vec<usize>>, Vec<usize>, Option<CellRows>) = match width {
        None => (None, order.iter().map(|&c| first.display[c]).collect(), None),
        Some(total) => {
            let chars = order.iter().map(|&c| first.chars[c]).collect();
            let floors: Vec<Floor> = order.iter().map(|&c| first.floors[c]).collect();
            let whole: Vec<bool> = order.iter().map(|c| narrow.whole.contains(c)).collect();
            let widths = allocate_widths(chars, &floors, &whole, total);
            let wrapped = |row: Vec<String>| -> Vec<String> {
                row.into_iter()
                    .zip(&widths)
                    .map(|(mut cell, &w)| {
                        wrap_cell(&mut cell, w);
                        cell
                    })
                    .collect()
            };
            let mut fitted = CellWriter::new()?;
            let second = measure(
                &wrapped(heads.clone()),
                &mut made.iter().map(pick).map(wrapped).inspect(|row| fitted.push(row)),
                false,
            );
            (Some(widths), second.display, Some(fitted.finish()?))
        }
    };
    let verdicts: Vec<bool> = heads.iter().map(|h| VERDICT_HEADERS.contains(&h.as_str())).collect();
    let rule = |w: &mut dyn Write, edge: char| -> io::Result<()> {
        let parts: Vec<String> = pad.iter().map(|&p| "-".repeat(p + 2)).collect();
        writeln!(w, "{edge}{}{edge}", parts.join(if md { "|" } else { "+" }))
    };
    // (`wrapped`: the cells are wrapped already.)
    // (`toned`: the row as made, before wrapping, whose verdicts give the colours.)
    let line = |w: &mut dyn Write, row: Vec<String>, toned: Option<&[String]>, wrapped: bool| -> io::Result<()> {
        let tones: Vec<Option<Color>> = match toned {
            Some(made) => made.iter().zip(&verdicts).map(|(cell, &v)| if v { tone(cell) } else { None }).collect(),
            None => vec![None; row.len()],
        };
        let mut row = row;
        if let (Some(widths), false) = (&wrap, wrapped) {
            for (cell, &width) in row.iter_mut().zip(widths) {
                wrap_cell(cell, width);
            }
        }
        let lines: Vec<Vec<&str>> =
            row.iter().map(|c| if c.is_empty() { vec![""] } else { c.lines().collect() }).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        let mut text = String::new();
        for i in 0..height {
            text.clear();
            text.push('|');
            for (c, cell) in lines.iter().enumerate() {
                let l = cell.get(i).copied().unwrap_or("");
                let width = if l.bytes().all(|b| (b' '..=b'~').contains(&b)) { l.len() } else { l.width() };
                text.push(' ');
                match &tones[c] {
                    Some(t) if !l.is_empty() => {
                        text.push_str(t.get_prefix());
                        text.push_str(l);
                        text.push_str(t.get_suffix());
                    }
                    _ => text.push_str(l),
                }
                text.extend(std::iter::repeat_n(' ', pad[c].saturating_sub(width)));
                text.push_str(" |");
            }
            w.write_all(text.trim_end().as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };
    if !md {
        rule(w, '+')?;
    }
    line(w, heads, None, false)?;
    rule(w, if md { '|' } else { '+' })?;
    let mut any = false;
    let color = layout.color && !md && verdicts.contains(&true);
    let rows: Box<dyn Iterator<Item = (Vec<String>, Option<Vec<String>>)>> = match &print {
        // Colours come from the verdicts as made: the wrapped cells are read alongside them.
        Some(fitted) if color => Box::new(fitted.iter().zip(made.iter().map(pick).map(Some))),
        Some(fitted) => Box::new(fitted.iter().map(|row| (row, None))),
        None => Box::new(made.iter().map(pick).map(|row| (row, None))),
    };
    for (row, made) in rows {
        // (Unwrapped rows are their own verdicts: a copy only for colour in a wide table.)
        let toned = if color { Some(made.unwrap_or_else(|| row.clone())) } else { None };
        line(w, row, toned.as_deref(), true)?;
        any = true;
    }
    // (With no rows, the rule under the header closes the table.)
    if !md && any {
        rule(w, '+')?;
    }
    if let Some(note) = width.and_then(|total| note(&folded, &dropped, total)) {
        w.write_all(note.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::layout::{Layout, Narrow, fit};
    use super::write;

    fn rows() -> Vec<Vec<String>> {
        (0..7)
            .map(|i| {
                vec![
                    format!("flow {i}"),
                    "-".to_string(),
                    if i == 3 { String::new() } else { "why | it happened, word after word ".repeat(i % 3 + 1) },
                    if i == 1 { "violated: 1 lost".into() } else { "holds".into() },
                    "a\nsecond line é→".into(),
                ]
            })
            .collect()
    }
    const HEADERS: [&str; 5] = ["flow", "key", "why", "guarantee holds?", "notes"];

    fn streamed(layout: Layout, rows: &[Vec<String>], md: bool, narrow: Narrow<'_>) -> String {
        let mut out = Vec::new();
        let source = || Box::new(rows.iter().cloned()) as Box<dyn Iterator<Item = Vec<String>>>;
        write(&mut out, layout, &HEADERS, &source, md, narrow).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn row_by_row_gives_the_same_table_as_all_at_once() {
        // (At 30 columns the words do not fit: the second narrowing drops `why`.)
        let keep = Narrow { first: &[0, 3], foldable: &[1, 4], whole: &[], drop: &[] };
        let drop = Narrow { drop: &[2, 4], ..keep };
        let mut dropped = false;
        for narrow in [keep, drop] {
            for layout in [
                Layout::default(),
                Layout { width: Some(50), color: false },
                Layout { width: Some(30), color: false },
                Layout { width: Some(100), color: true },
                Layout::WIDE,
            ] {
                for md in [false, true] {
                    for rows in [rows(), rows()[..1].to_vec(), Vec::new()] {
                        let all = fit(layout, &HEADERS, rows.clone(), md, narrow);
                        dropped |= all.contains("not shown to fit");
                        assert_eq!(streamed(layout, &rows, md, narrow), all, "{layout:?} md {md}");
                    }
                }
            }
        }
        assert!(dropped);
    }
}
