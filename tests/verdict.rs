//! One verdict: the Messages table, the totals, the Flows table and the Anomalies table of a
//! run say the same thing, for every bundled scenario and for random fault schedules drawn
//! from each scenario's fault space (what `scn points` lists).

mod common;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use scn::Report;

/// Every disagreement between the report's sections, one line each.
fn disagreements(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let t = &r.totals;
    let count = |p: &dyn Fn(&str) -> bool| r.messages.iter().filter(|m| p(&m.outcome)).count() as u64;
    let by_outcome = [
        ("delivered once", t.delivered_once, count(&|o| o == "delivered once")),
        ("lost", t.lost, count(&|o| o == "lost")),
        ("duplicated", t.duplicated, count(&|o| o.starts_with("duplicated"))),
        ("failed", t.failed, count(&|o| o.starts_with("failed"))),
        ("not sent", t.not_sent, count(&|o| o == "not sent")),
        ("aborted", t.aborted, count(&|o| o == "aborted")),
    ];
    let sum: u64 = by_outcome.iter().map(|(_, n, _)| n).sum();
    if sum != t.messages {
        out.push(format!("totals: the outcomes add up to {sum}, not {} messages", t.messages));
    }
    if r.messages_omitted == 0 {
        for (what, total, rows) in by_outcome {
            if total != rows {
                out.push(format!("totals say {total} {what}, the Messages table {rows}"));
            }
        }
    }
    for f in &r.flows {
        if f.holds != (f.verdict == "holds") {
            out.push(format!("flow {}: holds = {} but the verdict reads `{}`", f.flow, f.holds, f.verdict));
        }
        if !f.holds && !f.verdict.starts_with("violated") {
            out.push(format!("flow {}: broken, but the verdict reads `{}`", f.flow, f.verdict));
        }
    }
    out
}

/// Where the Flows table's counts and the totals disagree about losses and duplicates (a
/// processor's input flow is judged on its outputs, so an input processed again after an
/// aborted transaction is no duplicate, and one an abort without a seek skipped is lost).
fn flow_counts_disagree(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let t = &r.totals;
    let producing = || r.flows.iter().filter(|f| f.acked > 0 || f.processed == 0);
    if t.lost > 0 && r.flows.iter().all(|f| f.lost == 0) {
        out.push(format!("totals say {} lost, no flow lost any", t.lost));
    }
    if t.lost == 0 && t.not_sent == 0 && producing().any(|f| f.lost > 0 && f.acked > 0) {
        out.push("a producer flow lost messages, the totals say none".into());
    }
    // (A record written twice that no group then processed is lost, not duplicated.)
    if t.duplicated == 0 && t.lost == 0 && r.flows.iter().any(|f| f.duplicated > 0) {
        out.push("a flow duplicated messages, the totals say none".into());
    }
    if t.duplicated > 0 && r.flows.iter().all(|f| f.duplicated == 0) {
        out.push(format!("totals say {} duplicated, no flow duplicated any", t.duplicated));
    }
    out
}

fn lost_writes_disagree(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let t = &r.totals;
    let anomaly = |name: &str| r.anomalies.iter().find(|a| a.anomaly == name);
    if let Some(a) = anomaly("lost write") {
        if a.count > t.lost {
            out.push(format!("{} lost writes, but only {} messages lost", a.count, t.lost));
        }
    }
    out
}

/// The Anomalies table's verdict words agree with the Flows table: a loss or duplicate a flow
/// calls a violation is not "allowed" in the Anomalies table, and one no flow calls a
/// violation is not "violated" there.
fn words_disagree(name: &str, outcome: &scn::Outcome) -> Vec<String> {
    let r = outcome.report();
    let text = outcome.render(scn::Format::Markdown, &[scn::Section::Anomalies]);
    let mut out = Vec::new();
    for (anomaly, word) in [("lost write", "lost"), ("duplicate", "duplicated")] {
        let violated = r.flows.iter().any(|f| !f.holds && f.verdict.contains(word));
        let Some(row) = text.lines().find(|l| l.starts_with(&format!("| {anomaly} "))) else { continue };
        let counted = r.anomalies.iter().any(|a| a.anomaly == anomaly && a.count > 0);
        if counted && violated && row.contains("allowed") {
            out.push(format!("{name}: Flows says violated ({word}), Anomalies says: {row}"));
        }
        if !violated && row.contains("violated") {
            out.push(format!("{name}: Anomalies says violated, no flow does: {row}"));
        }
    }
    // A committed record no group polled is lost by a consuming flow: when one is violated by
    // losses, the unseen row says so instead of "no flow counts it".
    let consuming_lost = r.flows.iter().any(|f| f.consuming && !f.holds && f.verdict.contains("lost"));
    let unseen = r.anomalies.iter().any(|a| a.anomaly == "unseen" && a.count > 0);
    if let Some(row) = text.lines().find(|l| l.starts_with("| unseen ")) {
        if unseen && consuming_lost && row.contains("no flow counts it") {
            out.push(format!("{name}: a consuming flow is violated by losses, Anomalies says: {row}"));
        }
    }
    out
}

/// Checks one scenario text, every section against the others. False when the text does not
/// check.
fn check(name: &str, source: &str, found: &mut Vec<String>) -> bool {
    let Ok(scenario) = scn::Scenario::parse(source) else { return false };
    let outcome = scenario.run(&scn::RunOptions { max_rows: 0, ..scn::RunOptions::default() });
    for d in disagreements(outcome.report()) {
        found.push(format!("{name}: {d}"));
    }
    for d in flow_counts_disagree(outcome.report()).into_iter().chain(lost_writes_disagree(outcome.report())) {
        found.push(format!("{name}: {d}"));
    }
    found.extend(words_disagree(name, &outcome));
    true
}

#[test]
fn every_bundled_scenario_has_one_verdict() {
    let mut found = Vec::new();
    for dir in ["scenarios/run", "scenarios/explore", "scenarios/compare"] {
        for path in common::files(dir) {
            let source = std::fs::read_to_string(&path).expect("readable");
            let name = common::display(&path);
            assert!(check(&name, &source, &mut found), "{name} should check");
        }
    }
    assert!(found.is_empty(), "the report contradicts itself:\n{}", found.join("\n"));
}

/// Random schedules of one or two fault lines from each scenario's fault space, added to the
/// file's `faults` block (or a new one).
#[test]
fn random_fault_schedules_have_one_verdict() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut found = Vec::new();
    let mut ran = 0;
    for dir in ["scenarios/run", "scenarios/explore"] {
        for path in common::files(dir) {
            let source = std::fs::read_to_string(&path).expect("readable");
            let scenario = common::scenario(&path);
            let settings = scn::explore::Settings::new(scenario.model());
            let space = scn::explore::space_lines(scenario.model(), &settings);
            if space.is_empty() {
                continue;
            }
            for _ in 0..2 {
                let k = 1 + (rng.next_u32() as usize % 2);
                let lines: Vec<&str> = (0..k).map(|_| space[rng.next_u32() as usize % space.len()].as_str()).collect();
                let block = format!("faults {{\n  {}\n", lines.join("\n  "));
                let text = match source.find("\nfaults {") {
                    Some(at) => format!("{}\n{block}{}", &source[..at], &source[at + "\nfaults {".len()..]),
                    None => format!("{source}\n{block}}}\n"),
                };
                let name = format!("{} + {}", common::display(&path), lines.join("; "));
                if check(&name, &text, &mut found) {
                    ran += 1;
                }
            }
        }
    }
    assert!(ran > 40, "only {ran} random schedules checked");
    assert!(found.is_empty(), "the report contradicts itself:\n{}", found.join("\n"));
}
