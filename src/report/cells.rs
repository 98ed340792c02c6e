//! The headers and cells of the report's tables, shared by the text renderers and the HTML page.

use super::{FaultRow, LogRow, MessageRow, TxnRow};
use crate::outcome::{Anomaly, ExpectResult};

pub const MESSAGE_HEADERS: [&str; 9] =
    ["send", "key", "value", "in log at", "attempts", "copies", "processed", "outcome", "why"];
pub const RECORD_HEADERS: [&str; 7] =
    ["offset", "key", "value", "producer", "producer id / seq", "leader epoch", "state"];
pub const ANOMALY_HEADERS: [&str; 5] = ["anomaly", "count", "examples", "verdict", "meaning"];
pub const EXPECTATION_HEADERS: [&str; 4] = ["expectation", "expected", "actual", "result"];
pub const TRANSACTION_HEADERS: [&str; 6] =
    ["transactional id", "producer id", "epoch", "partitions", "states (@ ms)", "outcome"];
pub const FAULT_HEADERS: [&str; 2] = ["fault", "fired at"];

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

pub fn anomaly(a: &Anomaly) -> Vec<String> {
    let verdict = match (a.count, a.expected) {
        (0, _) => "none",
        (_, true) => "expected for this configuration",
        (_, false) => "UNEXPECTED for the configured guarantees",
    };
    vec![a.anomaly.clone(), a.count.to_string(), a.examples.join("; "), verdict.into(), a.meaning.clone()]
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
        f.fired_at_ms.iter().map(|t| format!("{t} ms")).collect::<Vec<_>>().join(", ")
    };
    vec![f.fault.clone(), when]
}
