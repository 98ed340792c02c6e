//! The long tables of a report that keeps every row (`scn run --max-rows 0`): written to
//! temporary files while the report is built ([`crate::spill`]) and read back one row at a
//! time when it is rendered, so memory does not grow with the rows printed. JSON and YAML
//! print the same bytes as an in-memory report: the rest of the report is serialized as
//! usual with a marker where each long list goes, and each list is written there row by row.

use super::{Filter, LogRow, MessageRow, Model, Run};
use crate::outcome::{Analysis, MessageFate};
use crate::sim::trace::{Spilling, Step, TrackerRow};
use crate::spill::{Rows, Writer};
use std::io::{self, Write};

/// Every row of the long tables, on disk.
#[derive(Debug, Clone)]
pub struct Streamed {
    /// Every step of the run (the filter is applied as they are read).
    steps: Rows<Step>,
    /// Every tracker row (the filter is applied as they are read).
    tracker: Rows<TrackerRow>,
    /// The messages the filter matches.
    messages: Rows<MessageRow>,
    /// Each partition's records the filter matches.
    records: Vec<Rows<LogRow>>,
    filter: Filter,
}

/// Where each long list sits in a serialized report.
#[derive(Debug, Clone, Copy)]
enum List {
    Steps,
    Tracker,
    Messages,
    Records(usize),
}

impl Streamed {
    /// The rows of the run's spilled trace, and the messages and log records the filter
    /// matches written beside them; `None` if a temporary file could not be written.
    pub(super) fn write(
        model: &Model,
        run: &Run,
        analysis: &Analysis<'_>,
        spill: &Spilling,
        filter: &Filter,
        messages: impl Iterator<Item = (u32, MessageFate)>,
    ) -> Option<Streamed> {
        // Where each message sits in the committed logs, by message (stable: partition, then
        // offset, as the in-memory report lists them).
        let mut places: Vec<(u32, u32, u64)> = Vec::new();
        for p in 0..model.partitions.len() as u32 {
            places.extend(run.world.committed_log(p).into_iter().map(|(o, r)| (r.msg, p, o)));
        }
        places.sort_by_key(|&(m, _, _)| m);
        let mut rows = Writer::new().ok()?;
        let mut k = 0;
        for (m, fate) in messages {
            while k < places.len() && places[k].0 < m {
                k += 1;
            }
            let mut at = Vec::new();
            while k < places.len() && places[k].0 == m {
                at.push(format!("{}@{}", model.partition_name(places[k].1), places[k].2));
                k += 1;
            }
            rows.push(&super::message_row(model, run, analysis, m, fate, at));
        }
        let records = (0..model.partitions.len() as u32)
            .map(|p| {
                let mut w = Writer::new().ok()?;
                for o in super::partition_rows(model, run, p, filter) {
                    w.push(&super::log_row(model, run, p, o));
                }
                w.finish().ok()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Streamed {
            steps: spill.steps.clone().finish().ok()?,
            tracker: spill.tracker.clone().finish().ok()?,
            messages: rows.finish().ok()?,
            records,
            filter: filter.clone(),
        })
    }

    /// The steps the filter matches.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        self.steps.iter().filter(|s| self.filter.step(s))
    }

    /// The tracker rows in `--from/--to` and, with `--actor` or `--message`, those after a
    /// step the filters match (the start and the end always), as the in-memory report keeps.
    pub fn tracker(&self) -> impl Iterator<Item = TrackerRow> + '_ {
        let by_step = self.filter.actor.is_some() || self.filter.message.is_some();
        // Both lists are in step order: walk the steps alongside the rows.
        let mut steps = self.steps.iter().peekable();
        self.tracker.iter().filter(move |t| {
            if !self.filter.at(t.time_ms) {
                return false;
            }
            let Ok(after) = t.after.parse::<u64>() else { return true };
            if !by_step {
                return true;
            }
            while steps.next_if(|s| s.step < after).is_some() {}
            steps.peek().is_some_and(|s| s.step == after && self.filter.step(s))
        })
    }

    /// The messages the filter matches.
    pub fn messages(&self) -> impl Iterator<Item = MessageRow> + '_ {
        self.messages.iter()
    }

    /// Partition `p`'s records the filter matches.
    pub fn records(&self, p: usize) -> impl Iterator<Item = LogRow> + '_ {
        self.records[p].iter()
    }

    fn list(&self, list: List) -> Box<dyn Iterator<Item = serde_json::Value> + '_> {
        fn value(row: impl serde::Serialize) -> serde_json::Value {
            serde_json::to_value(row).expect("row serializes")
        }
        match list {
            List::Steps => Box::new(self.steps().map(value)),
            List::Tracker => Box::new(self.tracker().map(value)),
            List::Messages => Box::new(self.messages().map(value)),
            List::Records(p) => Box::new(self.records(p).map(value)),
        }
    }

    /// Puts a marker where each long list goes in the report's JSON value.
    fn mark(v: &mut serde_json::Value) {
        let marker = |l: List| serde_json::Value::String(format!("\u{0}{l:?}"));
        let Some(obj) = v.as_object_mut() else { return };
        if let Some(s) = obj.get_mut("steps") {
            *s = marker(List::Steps);
        }
        if let Some(rows) = obj.get_mut("tracker").and_then(|t| t.get_mut("rows")) {
            *rows = marker(List::Tracker);
        }
        if let Some(m) = obj.get_mut("messages") {
            *m = marker(List::Messages);
        }
        if let Some(ps) = obj.get_mut("partitions").and_then(|p| p.as_array_mut()) {
            for (i, p) in ps.iter_mut().enumerate() {
                if let Some(r) = p.get_mut("records") {
                    *r = marker(List::Records(i));
                }
            }
        }
    }

    /// Which list a marker line names (`"steps": "\u0000Steps",` in JSON, `steps: "\0Steps"`
    /// in YAML), and where its value starts.
    fn marked(line: &str, escape: &str) -> Option<(usize, List)> {
        let at = line.find(&format!("\"{escape}"))?;
        let name = line[at + 1 + escape.len()..].split('"').next()?;
        let list = match name {
            "Steps" => List::Steps,
            "Tracker" => List::Tracker,
            "Messages" => List::Messages,
            r => List::Records(r.strip_prefix("Records(")?.strip_suffix(')')?.parse().ok()?),
        };
        Some((at, list))
    }

    /// The report's JSON value (sections already left out), its long lists written row by row.
    pub(super) fn json(&self, mut v: serde_json::Value, w: &mut dyn Write) -> io::Result<()> {
        Self::mark(&mut v);
        let text = serde_json::to_string_pretty(&v).map_err(io::Error::other)?;
        for line in text.lines() {
            let Some((at, list)) = Self::marked(line, "\\u0000") else {
                writeln!(w, "{line}")?;
                continue;
            };
            let indent = line.len() - line.trim_start().len();
            let comma = if line.ends_with(',') { "," } else { "" };
            w.write_all(line[..at].as_bytes())?;
            let mut any = false;
            let pad = vec![b' '; indent + 2];
            for row in self.list(list) {
                w.write_all(if any { b",\n" } else { b"[\n" })?;
                w.write_all(&pad)?;
                any = true;
                serde_json::to_writer_pretty(Indented { w: &mut *w, pad: &pad }, &row).map_err(io::Error::other)?;
            }
            if any {
                writeln!(w, "\n{:indent$}]{comma}", "")?;
            } else {
                writeln!(w, "[]{comma}")?;
            }
        }
        Ok(())
    }

    /// The report's YAML (from its JSON value, sections already left out), its long lists
    /// written row by row.
    pub(super) fn yaml(&self, mut v: serde_json::Value, w: &mut dyn Write) -> io::Result<()> {
        Self::mark(&mut v);
        let text = serde_norway::to_string(&v).map_err(io::Error::other)?;
        for line in text.lines() {
            let Some((at, list)) = Self::marked(line, "\\0") else {
                writeln!(w, "{line}")?;
                continue;
            };
            // The list's items sit at its key's indentation (`- ` after a list item's dash).
            let key = line.trim_start_matches([' ', '-']);
            let indent = line.len() - key.len();
            let mut rows = self.list(list).peekable();
            if rows.peek().is_none() {
                writeln!(w, "{}[]", &line[..at])?;
                continue;
            }
            writeln!(w, "{}", line[..at].trim_end())?;
            for row in rows {
                let text = serde_norway::to_string(&[row]).map_err(io::Error::other)?;
                for l in text.lines() {
                    writeln!(w, "{:indent$}{l}", "")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes through `w`, starting each new line with `pad`: a row's pretty JSON at its list's
/// indentation, with no intermediate string (a JSON string holds no raw newline).
struct Indented<'a> {
    w: &'a mut dyn Write,
    pad: &'a [u8],
}

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.w.write_all(&rest[..=i])?;
            self.w.write_all(self.pad)?;
            rest = &rest[i + 1..];
        }
        self.w.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
