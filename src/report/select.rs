//! Which rows a cut table keeps: the rows that matter (faults, errors, crashes, elections,
//! rebalances, the first appearance of every lost or duplicated message) with a few around
//! them, then the start of the run; and the row filters `--actor`, `--message`, `--from/--to`.

use crate::sim::trace::Step;
use std::collections::BTreeSet;

/// Which rows of the long tables to look at: each filter given narrows steps, tracker rows,
/// messages and log records to those it matches (the totals, flows and anomalies still cover
/// the whole run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Steps whose actor is this name (`ledger` matches `ledger` and `group ledger`), messages
    /// it sent or processed, log records it produced.
    pub actor: Option<String>,
    /// Steps, messages and records carrying this value.
    pub message: Option<String>,
    /// Steps and tracker rows at or after this time (ms).
    pub from_ms: Option<u64>,
    /// Steps and tracker rows at or before this time (ms).
    pub to_ms: Option<u64>,
}

impl Filter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The filters as the report's heading names them: `actor ledger, from 5000 ms`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.actor {
            parts.push(format!("actor {a}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message {m}"));
        }
        if let Some(t) = self.from_ms {
            parts.push(format!("from {t} ms"));
        }
        if let Some(t) = self.to_ms {
            parts.push(format!("to {t} ms"));
        }
        parts.join(", ")
    }

    /// `name` is the actor, or the last word of it (`group ledger`, `broker 1`).
    pub fn actor_is(&self, name: &str) -> bool {
        self.actor.as_ref().is_none_or(|a| name == a || name.rsplit(' ').next() == Some(a))
    }

    /// A comma-separated list of values (a step's message column) holds the value.
    pub fn carries(&self, values: &str) -> bool {
        self.message.as_ref().is_none_or(|m| values.split(", ").any(|v| v == m))
    }

    /// `t` (ms) is inside `--from`/`--to`.
    pub fn at(&self, t: u64) -> bool {
        self.from_ms.is_none_or(|f| t >= f) && self.to_ms.is_none_or(|e| t <= e)
    }

    /// Whether a step passes every filter.
    pub fn step(&self, s: &Step) -> bool {
        self.actor_is(&s.actor) && self.carries(&s.message) && self.at(s.time_ms)
    }
}

/// How much a step matters to a cut process table: `Some(0)` for a fault, a crash or restart,
/// a pause, a fencing, an election, a rebalance (KIP-848: a target assignment, a member's
/// reconciliation), a truncation or an error; `Some(1)` for the
/// first step naming one of `watched` (the lost and duplicated messages, each then taken off
/// the list); `None` for the rest.
pub fn rank(s: &Step, watched: &mut BTreeSet<String>) -> Option<u8> {
    const ACTIONS: [&str; 12] = [
        "crash",
        "restart",
        "pause",
        "resume",
        "fence",
        "leader of",
        "rebalance",
        "target assignment",
        "reconcile",
        "truncate",
        "isr of",
        "abort",
    ];
    const RESULTS: [&str; 8] = ["error", "ERROR", "failed", "rejected", "NOT_", "expired", "fenced", "timed out"];
    let named = s.message.split(", ").filter(|v| watched.remove(*v)).count() > 0;
    if s.actor == "fault"
        || ACTIONS.iter().any(|a| s.action.contains(a))
        || RESULTS.iter().any(|r| s.result.contains(r))
    {
        Some(0)
    } else if named {
        Some(1)
    } else {
        None
    }
}

/// The steps a process table keeps of `steps` when at most `max` fit (0: all), indices
/// ascending: those around the ones that matter ([`rank`], `watched` being the lost and
/// duplicated messages' values) first, then the earliest. The one selection the text tables,
/// the diagram and the HTML page share.
pub fn steps<'s>(steps: impl Iterator<Item = &'s Step>, mut watched: BTreeSet<String>, max: usize) -> Vec<usize> {
    let ranks: Vec<Option<u8>> = steps.map(|s| rank(s, &mut watched)).collect();
    pick(&ranks, max, 1, 3)
}

/// The rows a table of messages or records keeps when at most `max` fit (0: all), indices
/// ascending: the notable ones (not delivered once; held twice in the log) first, then the
/// earliest.
pub fn rows(notable: impl Iterator<Item = bool>, max: usize) -> Vec<usize> {
    let ranks: Vec<Option<u8>> = notable.map(|n| n.then_some(0)).collect();
    pick(&ranks, max, 0, 0)
}

/// The rows to keep of `ranks.len()` (indices, ascending) when at most `max` fit (0: all):
/// the ranked rows, lowest rank first; then `after` rows after and `before` rows before each
/// of them; then the earliest rows, until `max` are kept.
pub fn pick(ranks: &[Option<u8>], max: usize, before: usize, after: usize) -> Vec<usize> {
    let n = ranks.len();
    if max == 0 || n <= max {
        return (0..n).collect();
    }
    let mut marked: Vec<usize> = (0..n).filter(|&i| ranks[i].is_some()).collect();
    marked.sort_by_key(|&i| (ranks[i], i));
    let mut kept = BTreeSet::new();
    let add = |i: usize, kept: &mut BTreeSet<usize>| {
        if kept.len() < max && i < n {
            kept.insert(i);
        }
    };
    for &i in &marked {
        add(i, &mut kept);
    }
    for d in 1..=after.max(before) {
        for &i in &marked {
            if d <= after {
                add(i + d, &mut kept);
            }
            if d <= before && i >= d {
                add(i - d, &mut kept);
            }
        }
    }
    for i in 0..n {
        add(i, &mut kept);
    }
    kept.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::{Filter, pick, rank};
    use crate::sim::trace::Step;
    use std::collections::BTreeSet;

    fn step(actor: &str, action: &str, message: &str, time_ms: u64) -> Step {
        Step {
            step: 1,
            time_ms,
            actor: actor.into(),
            action: action.into(),
            message: message.into(),
            result: "ok".into(),
        }
    }

    #[test]
    fn marked_rows_and_their_neighbours_come_before_the_start() {
        let mut ranks = vec![None; 100];
        ranks[50] = Some(1);
        ranks[90] = Some(0);
        assert_eq!(pick(&ranks, 8, 1, 2), vec![49, 50, 51, 52, 89, 90, 91, 92]);
        assert_eq!(pick(&ranks, 2, 1, 2), vec![50, 90]);
        assert_eq!(pick(&ranks, 1, 1, 2), vec![90], "rank 0 first");
        assert_eq!(pick(&ranks, 4, 1, 2), vec![50, 89, 90, 91], "then the neighbours, rank 0's first");
        assert_eq!(pick(&ranks, 9, 1, 2), vec![0, 49, 50, 51, 52, 89, 90, 91, 92]);
        assert_eq!(pick(&ranks, 0, 1, 2).len(), 100);
        assert_eq!(pick(&ranks[..5], 8, 1, 2), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_first_step_of_a_lost_message_is_notable_once() {
        let mut watched: BTreeSet<String> = ["payment2".to_string()].into();
        assert_eq!(rank(&step("api", "send()", "payment1", 0), &mut watched), None);
        assert_eq!(rank(&step("api", "send()", "payment2", 0), &mut watched), Some(1));
        assert_eq!(rank(&step("api", "ack", "payment2", 0), &mut watched), None);
        assert_eq!(rank(&step("controller", "leader of payments-0", "", 0), &mut watched), Some(0));
    }

    #[test]
    fn filters_match_actors_by_name_values_in_lists_and_times() {
        let f = Filter { actor: Some("ledger".into()), from_ms: Some(10), ..Filter::default() };
        assert!(f.step(&step("group ledger", "rebalance", "", 10)));
        assert!(f.step(&step("ledger", "poll 1", "a", 11)));
        assert!(!f.step(&step("ledger", "poll 1", "a", 9)));
        assert!(!f.step(&step("ledger-2", "poll 1", "a", 11)));
        let m = Filter { message: Some("b".into()), ..Filter::default() };
        assert!(m.step(&step("broker 1", "truncate p-0", "a, b", 0)));
        assert!(!m.step(&step("broker 1", "truncate p-0", "a, bb", 0)));
        assert_eq!(Filter { to_ms: Some(5), ..f }.describe(), "actor ledger, from 10 ms, to 5 ms");
    }
}
