//! The headers and cells of the report's tables, shared by the text renderers and the HTML page.

use super::layout::Narrow;
use super::{FaultRow, LogRow, MessageRow, TxnRow};
use crate::outcome::{Anomaly, ExpectResult, Flow, Latency};

pub const MESSAGE_HEADERS: [&str; 9] =
    ["send", "key", "value", "in log at", "attempts", "copies", "processed", "outcome", "why"];
pub const RECORD_HEADERS: [&str; 7] =
    ["offset", "key", "value", "producer", "producer id / seq", "leader epoch", "state"];
pub const ANOMALY_HEADERS: [&str; 5] = ["anomaly", "count", "examples", "verdict", "meaning"];
pub const EXPECTATION_HEADERS: [&str; 4] = ["expectation", "expected", "actual", "result"];
pub const TRANSACTION_HEADERS: [&str; 6] =
    ["transactional id", "producer id", "epoch", "partitions", "states (@ ms)", "outcome"];
pub const FAULT_HEADERS: [&str; 2] = ["fault", "fired at"];
pub const FLOW_HEADERS: [&str; 11] = [
    "flow",
    "config",
    "guarantee",
    "in",
    "acked",
    "processed",
    "lost",
    "duplicated",
    "failed",
    "latency p50 / p99 / max (ms)",
    "guarantee holds?",
];
/// Flows in a narrow table: the config under the flow's name, acked or processed as one column.
pub const FLOW_NARROW_HEADERS: [&str; 9] = [
    "flow (config)",
    "guarantee holds?",
    "guarantee",
    "in",
    "out",
    "lost",
    "duplicated",
    "failed",
    "latency (ms) p50 / p99 / max",
];

// How each table narrows to fit a terminal: its verdict next to what it is about; columns that
// often say the same in every row (no keys, one attempt each) fold into a note when they do.
pub const FLOW_NARROW: Narrow<'static> = Narrow { first: &[], foldable: &[7], whole: &[], drop: &[8] };
pub const MESSAGE_NARROW: Narrow<'static> =
    Narrow { first: &[0, 1, 2, 7], foldable: &[1, 4, 5, 6], whole: &[], drop: &[5, 4, 1] };
pub const RECORD_NARROW: Narrow<'static> = Narrow { first: &[0, 6], foldable: &[1, 3, 4, 5], whole: &[], drop: &[] };
pub const ANOMALY_NARROW: Narrow<'static> = Narrow { first: &[0, 3, 1], foldable: &[], whole: &[], drop: &[] };
pub const EXPECTATION_NARROW: Narrow<'static> = Narrow { first: &[0, 3], foldable: &[], whole: &[], drop: &[] };
pub const TRANSACTION_NARROW: Narrow<'static> = Narrow { first: &[0, 5], foldable: &[], whole: &[], drop: &[] };

pub fn message(m: &MessageRow) -> Vec<String> {
    vec![
        m.send.clone(),
        m.key.clone(),
        m.value.clone(),
        m.partition.clone(),
        m.attempts.to_string(),
        m.copies_in_log.to_string(),
        m.processed.clone(),
        m.outcome.clone(),
        m.detail.clone(),
    ]
}

pub fn flow(f: &Flow) -> Vec<String> {
    vec![
        f.flow.clone(),
        f.config.clone(),
        f.guarantee.clone(),
        f.sent.to_string(),
        if f.consuming { "-".into() } else { f.acked.to_string() },
        if f.consuming { f.processed.to_string() } else { "-".into() },
        f.lost.to_string(),
        f.duplicated.to_string(),
        f.failed.to_string(),
        Latency::text(&f.latency),
        f.verdict.clone(),
    ]
}

pub fn flow_narrow(f: &Flow) -> Vec<String> {
    vec![
        format!("{}\n({})", f.flow, f.config),
        f.verdict.clone(),
        f.guarantee.clone(),
        f.sent.to_string(),
        if f.consuming { format!("{} processed", f.processed) } else { format!("{} acked", f.acked) },
        f.lost.to_string(),
        f.duplicated.to_string(),
        f.failed.to_string(),
        Latency::text(&f.latency),
    ]
}

pub fn record(x: &LogRow) -> Vec<String> {
    vec![
        x.offset.to_string(),
        x.key.clone(),
        x.value.clone(),
        x.producer.clone(),
        x.producer_id_seq.clone(),
        x.leader_epoch.to_string(),
        x.state.clone(),
    ]
}

/// An anomaly's row. Its verdict says what the Flows table says: a loss or duplicate is
/// allowed when the guarantee of every flow that counts it allows it, and otherwise reads
/// `violated` with the broken flows named (their verdicts say how many and why).
pub fn anomaly(a: &Anomaly, flows: &[Flow]) -> Vec<String> {
    // (An unseen record was committed: only a consuming flow can have lost it.)
    let consuming = a.anomaly == "unseen";
    let breaks = |word: &str| {
        let broken: Vec<&str> = flows
            .iter()
            .filter(|f| !f.holds && f.verdict.contains(word) && (f.consuming || !consuming))
            .map(|f| f.flow.as_str())
            .collect();
        (!broken.is_empty()).then(|| broken.join(", "))
    };
    let flow_word = match a.anomaly.as_str() {
        // (A group's flow counts a committed record it never polled as lost.)
        "lost write" | "unseen" => Some("lost"),
        "duplicate" => Some("duplicated"),
        // (A flow's verdict names records deleted before its group read them apart.)
        "lost to retention" => Some("lost to retention"),
        _ => None,
    };
    let verdict = match (a.count, a.expected, flow_word.and_then(breaks)) {
        (0, _, _) => "none".to_string(),
        (_, true, _) => "allowed by this configuration".into(),
        (_, false, Some(broken)) => format!("violated: the guarantee of {broken}"),
        // Reordering, inconsistent offsets, aborted reads: no flow counts them, so no flow's
        // verdict says it; the anomaly alone does.
        (_, false, None) => "UNEXPECTED: no flow counts it (flows count lost and duplicated messages)".into(),
    };
    vec![a.anomaly.clone(), a.count.to_string(), a.examples.join("; "), verdict, a.meaning.clone()]
}

pub fn expectation(e: &ExpectResult) -> Vec<String> {
    let result = if e.passed { "pass" } else { "FAIL" };
    vec![e.expectation.clone(), e.expected.clone(), e.actual.clone(), result.into()]
}

pub fn transaction(t: &TxnRow) -> Vec<String> {
    vec![
        t.transactional_id.clone(),
        t.producer_id.to_string(),
        t.epoch.to_string(),
        t.partitions.join(", "),
        t.states.clone(),
        t.outcome.clone(),
    ]
}

pub fn fault(f: &FaultRow) -> Vec<String> {
    let when = if f.fired_at_ms.is_empty() {
        "never fired".to_string()
    } else {
        let at = f.fired_at_ms.iter().map(|t| format!("{t} ms")).collect::<Vec<_>>().join(", ");
        if f.changed_nothing == Some(true) { format!("{at}: changed nothing") } else { at }
    };
    vec![f.fault.clone(), when]
}
