//! The conformance report: the real run's verdict beside the simulated one, per message, per
//! flow and per expectation; every difference is a finding. Rendered as tables or as JSON
//! (which carries the recorded history too).

use super::plan::Planned;
use crate::history::History;
use crate::history::check::Verdict;
use crate::model::Model;
use crate::report::table;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a conformance run found.
#[derive(Debug, Clone, Serialize)]
pub struct Conformance {
    pub scenario: String,
    pub target: String,
    /// The client library and its version.
    pub client: String,
    /// Real ms per scenario ms for the program's schedule and the faults' times.
    pub time_scale: f64,
    pub elapsed_ms: u64,
    /// What this target cannot show of the scenario.
    pub limits: Vec<String>,
    pub faults: Vec<FaultRow>,
    /// Each producer instance's ids and batches as the proxy read them on the wire.
    pub producers: Vec<WireRow>,
    /// Things that went wrong on the way (a client that could not start, the timeout).
    pub notes: Vec<String>,
    pub real: Verdict,
    pub simulated: Verdict,
    /// Where the real run differs from the simulated one.
    pub findings: Vec<Finding>,
    pub history: History,
    /// Every real expectation holds and no finding.
    pub passed: bool,
}

/// One fault line and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRow {
    pub fault: String,
    /// `injected`, `not injected` (with the reason) or `armed, never fired`.
    pub status: String,
    pub note: String,
}

/// One producer instance as its proxy saw it on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct WireRow {
    /// `shop #0` (the producer and its instance).
    pub producer: String,
    /// `id 1000 epoch 0` from each InitProducerId response, or `-` for a producer that
    /// asked for none.
    pub ids: String,
    /// Record batches sent, and how many of them the broker answered with an error.
    pub batches: u64,
    pub rejected: u64,
    /// The errors, `PRODUCER_FENCED x2`.
    pub errors: String,
    /// Batches that never got an answer (lost request or ack, crash).
    pub unanswered: u64,
}

/// The producer instances' wire rows, in the order they started.
fn wire_rows(model: &Model, history: &History) -> Vec<WireRow> {
    use crate::history::Op;
    let mut rows: Vec<((u32, u32), WireRow)> = Vec::new();
    let row = |rows: &mut Vec<((u32, u32), WireRow)>, p: u32, i: u32| -> usize {
        if let Some(k) = rows.iter().position(|(key, _)| *key == (p, i)) {
            return k;
        }
        let producer = format!("{} #{i}", model.producers[p as usize].name);
        let r = WireRow { producer, ids: String::new(), batches: 0, rejected: 0, errors: String::new(), unanswered: 0 };
        rows.push(((p, i), r));
        rows.len() - 1
    };
    let mut errors: BTreeMap<usize, BTreeMap<String, u32>> = BTreeMap::new();
    for op in &history.ops {
        match op {
            Op::ProducerId { producer, incarnation, producer_id, epoch, error, .. } => {
                let k = row(&mut rows, *producer, *incarnation);
                let r = &mut rows[k].1;
                if !r.ids.is_empty() {
                    r.ids += ", ";
                }
                r.ids += &match error {
                    None => format!("id {producer_id} epoch {epoch}"),
                    Some(e) => e.clone(),
                };
            }
            Op::Produce { producer, incarnation, error, answered, .. } => {
                let k = row(&mut rows, *producer, *incarnation);
                let r = &mut rows[k].1;
                r.batches += 1;
                r.unanswered += u64::from(!answered);
                if let Some(e) = error {
                    r.rejected += 1;
                    *errors.entry(k).or_default().entry(e.clone()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    for (k, errs) in errors {
        rows[k].1.errors = errs.iter().map(|(e, n)| format!("{e} x{n}")).collect::<Vec<_>>().join(", ");
    }
    rows.into_iter()
        .map(|(_, mut r)| {
            if r.ids.is_empty() {
                r.ids = "-".into();
            }
            r
        })
        .collect()
}

/// A difference between the real and the simulated run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `message shop #2`, `flow shop -> orders`, `expect lost 2`.
    pub what: String,
    pub simulated: String,
    pub real: String,
}

pub(super) struct Parts {
    pub target: String,
    pub managed: bool,
    pub scale: f64,
    pub elapsed_ms: u64,
    pub plan: Vec<Planned>,
    pub fired: BTreeMap<String, bool>,
    pub notes: Vec<String>,
    pub history: History,
    pub real: Verdict,
    pub simulated: Verdict,
}

fn limits(model: &Model, managed: bool) -> Vec<String> {
    let mut out = Vec::new();
    let rf = model.topics.iter().map(|t| t.replication_factor).max().unwrap_or(1);
    if managed && (model.cluster.brokers > 1 || rf > 1) {
        out.push(format!(
            "single node: the scenario's {} brokers run as one, replication.factor {rf} as 1; min.insync.replicas, ISR changes, leader elections and truncation cannot be shown",
            model.cluster.brokers
        ));
    }
    out.push("max.poll.records: librdkafka hands records one by one; a poll is what arrives within 250 ms, up to max.poll.records".into());
    out
}

pub(super) fn build(model: &Model, parts: Parts) -> Conformance {
    let faults = parts
        .plan
        .iter()
        .map(|p| match &p.injection {
            Err(why) => FaultRow { fault: p.fault.clone(), status: "not injected".into(), note: why.clone() },
            Ok(_) if parts.fired.get(&p.fault).copied().unwrap_or(false) => {
                FaultRow { fault: p.fault.clone(), status: "injected".into(), note: String::new() }
            }
            Ok(_) => FaultRow {
                fault: p.fault.clone(),
                status: "armed, never fired".into(),
                note: "the run never reached the request or point it waits for".into(),
            },
        })
        .collect();
    let findings = findings(&parts.real, &parts.simulated);
    let passed = findings.is_empty() && parts.real.expectations.iter().all(|e| e.passed);
    let (_, version) = rdkafka::util::get_rdkafka_version();
    let producers = wire_rows(model, &parts.history);
    Conformance {
        scenario: model.title.clone(),
        target: parts.target,
        client: format!("librdkafka {version} (rdkafka crate)"),
        time_scale: parts.scale,
        elapsed_ms: parts.elapsed_ms,
        limits: limits(model, parts.managed),
        faults,
        producers,
        notes: parts.notes,
        findings,
        passed,
        real: parts.real,
        simulated: parts.simulated,
        history: parts.history,
    }
}

fn findings(real: &Verdict, sim: &Verdict) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut diff = |what: String, s: String, r: String| {
        if s != r {
            out.push(Finding { what, simulated: s, real: r });
        }
    };
    for (r, s) in real.messages.iter().zip(&sim.messages) {
        diff(format!("message {} ({})", r.send, r.value), s.outcome.clone(), r.outcome.clone());
    }
    for (r, s) in real.flows.iter().zip(&sim.flows) {
        let show = |f: &crate::outcome::Flow| format!("{} (lost {}, duplicated {})", f.verdict, f.lost, f.duplicated);
        diff(format!("flow {}", r.flow), show(s), show(r));
    }
    for (r, s) in real.anomalies.iter().zip(&sim.anomalies) {
        diff(format!("anomaly {}", r.anomaly), s.count.to_string(), r.count.to_string());
    }
    for (r, s) in real.expectations.iter().zip(&sim.expectations) {
        diff(format!("expect {}", r.expectation), s.actual.clone(), r.actual.clone());
    }
    out
}

impl Conformance {
    /// The report as tables (ASCII) or markdown.
    pub fn render_table(&self, md: bool) -> String {
        let mut out = format!("scn conform: {}\n", self.scenario);
        out += &format!(
            "target: {}; client: {}; time scale {}; ran {} ms\n",
            self.target, self.client, self.time_scale, self.elapsed_ms
        );
        for l in &self.limits {
            out += &format!("limit: {l}\n");
        }
        for n in &self.notes {
            out += &format!("note: {n}\n");
        }
        if !self.faults.is_empty() {
            out += "\nFaults\n";
            let rows = self.faults.iter().map(|f| vec![f.fault.clone(), f.status.clone(), f.note.clone()]).collect();
            out += &table(&["fault", "status", "note"], rows, md);
        }
        if !self.producers.is_empty() {
            out += "\nProducers on the wire (InitProducerId and Produce, read by the proxy)\n";
            let rows = self
                .producers
                .iter()
                .map(|r| {
                    vec![
                        r.producer.clone(),
                        r.ids.clone(),
                        r.batches.to_string(),
                        r.unanswered.to_string(),
                        r.rejected.to_string(),
                        r.errors.clone(),
                    ]
                })
                .collect();
            out += &table(&["producer", "producer ids", "batches", "unanswered", "rejected", "errors"], rows, md);
        }
        out += "\nMessages (real vs simulated)\n";
        let rows = self
            .real
            .messages
            .iter()
            .zip(&self.simulated.messages)
            .map(|(r, s)| {
                vec![
                    r.send.clone(),
                    r.value.clone(),
                    r.copies_in_log.to_string(),
                    r.processed.clone(),
                    r.outcome.clone(),
                    s.outcome.clone(),
                    if r.outcome == s.outcome { "same".into() } else { "DIFFERS".into() },
                    r.detail.clone(),
                ]
            })
            .collect();
        out += &table(&["send", "value", "copies", "processed", "real", "simulated", "", "real detail"], rows, md);
        out += "\nFlows (real vs simulated)\n";
        let rows = self
            .real
            .flows
            .iter()
            .zip(&self.simulated.flows)
            .map(|(r, s)| vec![r.flow.clone(), r.guarantee.clone(), r.verdict.clone(), s.verdict.clone()])
            .collect();
        out += &table(&["flow", "guarantee", "real", "simulated"], rows, md);
        out += "\nAnomalies (real history)\n";
        let rows = self
            .real
            .anomalies
            .iter()
            .zip(&self.simulated.anomalies)
            .map(|(r, s)| {
                vec![
                    r.anomaly.clone(),
                    r.count.to_string(),
                    s.count.to_string(),
                    if r.count == 0 {
                        "-".into()
                    } else if r.expected {
                        "expected".into()
                    } else {
                        "UNEXPECTED".into()
                    },
                    r.examples.join(", "),
                ]
            })
            .collect();
        out += &table(&["anomaly", "real", "simulated", "allowed", "examples"], rows, md);
        if !self.real.expectations.is_empty() {
            out += "\nExpectations (real vs simulated)\n";
            let rows = self
                .real
                .expectations
                .iter()
                .zip(&self.simulated.expectations)
                .map(|(r, s)| {
                    vec![
                        r.expectation.clone(),
                        r.expected.clone(),
                        r.actual.clone(),
                        s.actual.clone(),
                        if r.passed { "pass".into() } else { "FAIL".into() },
                    ]
                })
                .collect();
            out += &table(&["expectation", "expected", "real", "simulated", "real result"], rows, md);
        }
        out += "\n";
        if self.findings.is_empty() {
            out += "no findings: the real run matches the simulation\n";
        } else {
            out += &format!("{} findings: the real run differs from the simulation\n", self.findings.len());
            let rows =
                self.findings.iter().map(|f| vec![f.what.clone(), f.simulated.clone(), f.real.clone()]).collect();
            out += &table(&["what", "simulated", "real"], rows, md);
        }
        out
    }

    /// The whole report with the recorded history, as JSON.
    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }
}
