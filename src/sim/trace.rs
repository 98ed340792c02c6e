//! The step-by-step record of a run: the process table's rows and the status tracker's values
//! after each step. Rows past the limit are counted, not formatted, so big runs stay fast.

use serde::Serialize;

/// One row of the process table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Step {
    pub step: u64,
    pub time_ms: u64,
    pub actor: String,
    pub action: String,
    pub message: String,
    pub result: String,
}

/// The tracked variables' values after a step (only steps that changed one of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TrackerRow {
    /// "start", a step number, or "final".
    pub after: String,
    pub time_ms: u64,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub steps: Vec<Step>,
    /// How many steps happened in all (recorded or not).
    pub total: u64,
    /// Keep at most this many steps.
    pub limit: usize,
    pub tracker: Vec<TrackerRow>,
    last: Vec<String>,
}

impl Trace {
    /// A trace keeping at most `limit` steps, and never more than
    /// [`limits::MAX_REPORT_ROWS`](crate::model::limits::MAX_REPORT_ROWS): a run of millions of
    /// steps with every one kept (`--max-rows 0`) ran out of memory.
    pub fn new(limit: usize) -> Trace {
        Trace { limit: limit.min(crate::model::limits::MAX_REPORT_ROWS), ..Trace::default() }
    }

    /// Whether the next step will be recorded (callers skip formatting when not).
    pub fn wants(&self) -> bool {
        self.steps.len() < self.limit
    }

    pub fn push(&mut self, time_ms: u64, actor: String, action: String, message: String, result: String) {
        self.total += 1;
        if self.wants() {
            self.steps.push(Step { step: self.total, time_ms, actor, action, message, result });
        }
    }

    /// Counts a step that was not formatted.
    pub fn skip(&mut self) {
        self.total += 1;
    }

    /// Records the tracked values if they changed since the last row.
    pub fn track(&mut self, after: String, time_ms: u64, values: Vec<String>) {
        if values != self.last || self.tracker.is_empty() {
            self.last = values.clone();
            self.tracker.push(TrackerRow { after, time_ms, values });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Trace;
    use crate::model::limits::MAX_REPORT_ROWS;

    #[test]
    fn keeping_every_step_stops_at_the_row_limit() {
        let mut trace = Trace::new(usize::MAX);
        for t in 0..=MAX_REPORT_ROWS as u64 {
            trace.push(t, String::new(), String::new(), String::new(), String::new());
        }
        assert_eq!(trace.steps.len(), MAX_REPORT_ROWS);
        assert_eq!(trace.total, MAX_REPORT_ROWS as u64 + 1, "the step past the limit is counted");
        assert_eq!(Trace::new(5).limit, 5);
    }
}
