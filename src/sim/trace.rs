//! The step-by-step record of a run: the process table's rows and the status tracker's values
//! after each step. Rows past the limit are counted, not formatted, so big runs stay fast;
//! with [`ALL`] every row goes to a temporary file instead of memory ([`crate::spill`]).

use serde::{Deserialize, Serialize};

/// One row of the process table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Step {
    pub step: u64,
    pub time_ms: u64,
    pub actor: String,
    pub action: String,
    pub message: String,
    pub result: String,
}

/// The tracked variables' values after a step (only steps that changed one of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrackerRow {
    /// "start", a step number, or "final".
    pub after: String,
    pub time_ms: u64,
    pub values: Vec<String>,
}

/// The trace limit that keeps every step, written to a temporary file as it happens
/// (`--max-rows 0`): memory does not grow with the steps.
pub const ALL: usize = usize::MAX;

/// Where the rows of a trace kept with [`ALL`] go.
#[derive(Debug, Clone)]
pub struct Spilling {
    pub steps: crate::spill::Writer<Step>,
    pub tracker: crate::spill::Writer<TrackerRow>,
}

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub steps: Vec<Step>,
    /// With [`ALL`]: the steps and tracker rows, on disk (`steps` and `tracker` stay empty).
    pub spill: Option<Spilling>,
    /// How many steps happened in all (recorded or not).
    pub total: u64,
    /// Keep at most this many steps.
    pub limit: usize,
    pub tracker: Vec<TrackerRow>,
    last: Vec<String>,
    /// Whether a tracker row was recorded yet.
    tracked: bool,
}

impl Trace {
    /// A trace keeping at most `limit` steps, and never more than
    /// [`limits::MAX_REPORT_ROWS`](crate::model::limits::MAX_REPORT_ROWS): a run of millions of
    /// steps with every one kept (`--max-rows 0`) ran out of memory.
    /// [`ALL`] keeps every step on disk instead; if no temporary file can be made, the row
    /// limit applies.
    pub fn new(limit: usize) -> Trace {
        let spill = (limit == ALL)
            .then(|| {
                Some(Spilling { steps: crate::spill::Writer::new().ok()?, tracker: crate::spill::Writer::new().ok()? })
            })
            .flatten();
        Trace { limit: limit.min(crate::model::limits::MAX_REPORT_ROWS), spill, ..Trace::default() }
    }

    /// Whether the next step will be recorded (callers skip formatting when not).
    pub fn wants(&self) -> bool {
        self.spill.is_some() || self.steps.len() < self.limit
    }

    pub fn push(&mut self, time_ms: u64, actor: String, action: String, message: String, result: String) {
        self.total += 1;
        let step = Step { step: self.total, time_ms, actor, action, message, result };
        if let Some(s) = &mut self.spill {
            s.steps.push(&step);
        } else if self.wants() {
            self.steps.push(step);
        }
    }

    /// Counts a step that was not formatted.
    pub fn skip(&mut self) {
        self.total += 1;
    }

    /// Records the tracked values if they changed since the last row.
    pub fn track(&mut self, after: String, time_ms: u64, values: Vec<String>) {
        if values != self.last || !self.tracked {
            self.tracked = true;
            self.last = values.clone();
            let row = TrackerRow { after, time_ms, values };
            match &mut self.spill {
                Some(s) => s.tracker.push(&row),
                None => self.tracker.push(row),
            }
        }
    }

    /// How many tracker rows there are (in memory or on disk).
    pub fn tracker_rows(&self) -> usize {
        self.spill.as_ref().map_or(self.tracker.len(), |s| s.tracker.len() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::Trace;
    use crate::model::limits::MAX_REPORT_ROWS;

    #[test]
    fn keeping_every_step_stops_at_the_row_limit() {
        let mut trace = Trace::new(MAX_REPORT_ROWS + 1);
        for t in 0..=MAX_REPORT_ROWS as u64 {
            trace.push(t, String::new(), String::new(), String::new(), String::new());
        }
        assert_eq!(trace.steps.len(), MAX_REPORT_ROWS);
        assert_eq!(trace.total, MAX_REPORT_ROWS as u64 + 1, "the step past the limit is counted");
        assert_eq!(Trace::new(5).limit, 5);
    }
}
