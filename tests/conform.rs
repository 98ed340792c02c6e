//! `scn conform` against the managed broker (noida-db from PyPI, which `.ci/run` installs):
//! the seed situations run as real librdkafka clients with real faults, asserting the real
//! outcome; and the history checker on its own (no broker): it agrees with the simulator's
//! analysis on every bundled scenario and flags an aborted read in a recorded history.

use scn::history::{self, History, Op, PartitionRead, Polled, SendResult, TxnOutcome};
use serde_json::Value;
use std::process::Command;

/// Whether the managed broker can run here; without it a test says so and passes, except
/// under CI=true, where `.ci/run` installed it and its absence is a failure.
fn broker_installed() -> bool {
    let found = std::env::var_os("SCN_NOIDA_DB").is_some()
        || std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("noida-db").is_file()));
    if !found {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "noida-db is not installed (`pip install noida-db`)");
        eprintln!("skipped: noida-db is not installed (`pip install noida-db`); conform's broker tests need it");
    }
    found
}

/// Runs `scn conform FILE --format json` and returns the report and the exit code.
fn conform(file: &str, extra: &[&str]) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_scn"))
        .args(["conform", file, "--format", "json"])
        .args(extra)
        .output()
        .expect("scn runs");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{file}: no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().expect("exit code"))
}

fn outcomes(r: &Value, side: &str) -> Vec<String> {
    r[side]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["outcome"].as_str().unwrap().to_string())
        .collect()
}

fn fault_status(r: &Value) -> Vec<String> {
    r["faults"].as_array().expect("faults").iter().map(|f| f["status"].as_str().unwrap().to_string()).collect()
}

fn expectation(r: &Value, text: &str) -> (String, bool) {
    let e = r["real"]["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["expectation"] == text)
        .unwrap_or_else(|| panic!("no expectation {text}"));
    (e["actual"].as_str().unwrap().to_string(), e["passed"].as_bool().unwrap())
}

#[test]
fn idempotent_producer_with_lost_acks_writes_each_record_once() {
    if !broker_installed() {
        return;
    }
    let (r, code) = conform("scenarios/run/idempotent-producer-dedup.scn", &[]);
    // Both acks were really lost (the responses dropped and the connections reset) and the
    // idempotent retries were deduplicated by the broker.
    assert_eq!(fault_status(&r), ["injected", "injected"]);
    assert_eq!(outcomes(&r, "real"), ["delivered"; 5]);
    assert_eq!(expectation(&r, "log orders-0 [message1, message2, message3, message4, message5]").1, true);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{}", r["findings"]);
    assert_eq!(code, 0);
    // The history is in the JSON: five acknowledged sends at offsets 0..4.
    let offsets: Vec<u64> = r["history"]["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["op"] == "send")
        .map(|op| op["result"]["acked"]["offset"].as_u64().expect("acked with an offset"))
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
}

#[test]
fn a_committed_and_an_aborted_transaction() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/run/transactions-commit-abort.scn", &[]);
    assert_eq!(outcomes(&r, "real"), ["delivered", "delivered", "aborted", "aborted"]);
    let txns: Vec<&str> = r["history"]["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["op"] == "txn")
        .map(|op| op["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(txns, ["committed", "aborted"]);
    // The read_committed auditor never saw a debit; the final read holds credit1 on ledger-0.
    assert_eq!(expectation(&r, "log ledger-0 [credit1]"), ("[credit1]".into(), true));
    let auditor = expectation(&r, "auditor processed [credit1, credit2]").0;
    assert!(!auditor.contains("debit"), "{auditor}");
    let g1a = &r["real"]["anomalies"].as_array().unwrap()[3];
    assert_eq!((g1a["anomaly"].as_str(), g1a["count"].as_u64()), (Some("aborted read (G1a)"), Some(0)));
}

#[test]
fn at_most_once_consumer_loses_what_it_committed_before_processing() {
    if !broker_installed() {
        return;
    }
    let (r, code) = conform("scenarios/run/at-most-once-consumer.scn", &["--timeout", "20"]);
    assert_eq!(fault_status(&r), ["injected"; 3]);
    let real = outcomes(&r, "real");
    // Committed offset 4 before processing message3 and message4, then crashed: both lost, as
    // simulated.
    assert_eq!(real[..4], ["delivered", "delivered", "lost", "lost"]);
    // noida-db does not expire the crashed member after session.timeout.ms (Kafka's
    // GroupCoordinator.onExpireHeartbeat does), so the restarted instance never gets the
    // partition back and message5 is never polled: a finding, not what Kafka does.
    assert_eq!(real[4], "lost");
    assert!(r["findings"].as_array().unwrap().iter().any(|f| f["what"] == "message shop #5 (message5)"));
    assert_eq!(code, 1);
}

#[test]
fn at_least_once_consumer_crash_before_the_commit() {
    if !broker_installed() {
        return;
    }
    let (r, code) = conform("scenarios/run/at-least-once-consumer-reprocess.scn", &["--timeout", "20"]);
    assert_eq!(fault_status(&r), ["injected", "injected"]);
    // message3 was processed, then the consumer crashed before committing offset 4.
    let processed: Vec<&str> =
        r["real"]["messages"].as_array().unwrap().iter().map(|m| m["processed"].as_str().unwrap()).collect();
    assert_eq!(processed[..3], ["billing x1"; 3]);
    let crashes = r["history"]["ops"].as_array().unwrap().iter().filter(|op| op["op"] == "crash").count();
    assert_eq!(crashes, 1);
    // As above, the restarted instance is never given the partition by noida-db: the
    // redelivery Kafka makes (message3 twice) does not happen, and the checker says so.
    assert_eq!(outcomes(&r, "simulated")[2], "duplicated");
    assert_ne!(outcomes(&r, "real")[2], "duplicated");
    assert_eq!(code, 1);
}

#[test]
fn remote_brokers_are_refused_with_a_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_scn"))
        .args(["conform", "scenarios/run/idempotent-producer-dedup.scn", "--bootstrap", "192.0.2.1:9092"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn ops<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["history"]["ops"].as_array().expect("ops").iter().filter(|op| op["op"] == kind).collect()
}

/// When the fault line was carried out, in the run's ms (the history's `fault` ops).
fn fault_at(r: &Value, line: &str) -> u64 {
    let op = ops(r, "fault").into_iter().find(|op| op["fault"] == line).unwrap_or_else(|| panic!("no fault {line}"));
    assert_eq!(op["injected"], true, "{op}");
    op["at_ms"].as_u64().unwrap()
}

/// When `consumer` (its index) processed the record of `msg`.
fn processed_at(r: &Value, consumer: u64, msg: u64) -> Vec<u64> {
    ops(r, "process")
        .into_iter()
        .filter(|op| op["consumer"] == consumer && op["record"]["msg"] == msg)
        .map(|op| op["at_ms"].as_u64().unwrap())
        .collect()
}

/// The exactly-once processor crashes after processing "500", inside its second transaction.
/// The restarted instance's initTransactions fences the first (the same producer id with a
/// newer epoch, both read on the wire) and aborts its open transaction: the read_committed
/// auditor sees the first transaction's debits once and nothing of the second. What Kafka
/// does next (the crashed member expires after session.timeout.ms and the new instance
/// writes debit 400 to 600) noida-db does not do: it never expires the crashed member, so the
/// partition is never handed back, and the report says so as findings, against the simulation.
#[test]
fn exactly_once_processor_crash_is_fenced_and_judged_against_the_simulation() {
    if !broker_installed() {
        return;
    }
    let (r, code) = conform("scenarios/run/exactly-once-processor.scn", &["--timeout", "12"]);
    assert_eq!(fault_status(&r), ["injected", "injected"], "{}", r["faults"]);
    // The processor's producer half (producer 1): one producer id, the epoch bumped.
    let ids: Vec<(i64, i64)> = ops(&r, "producer-id")
        .iter()
        .filter(|op| op["producer"] == 1)
        .map(|op| (op["producer_id"].as_i64().unwrap(), op["epoch"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0].0, ids[1].0, "the same transactional.id keeps its producer id");
    assert!(ids[1].1 > ids[0].1, "the restarted instance has a newer epoch: {ids:?}");
    // The first instance committed its first transaction; its second never ended.
    let txns: Vec<&str> = ops(&r, "txn").iter().map(|op| op["outcome"].as_str().unwrap()).collect();
    assert_eq!(txns[..2], ["committed", "unknown"], "{txns:?}");
    let processed =
        expectation(&r, "auditor processed [debit 100, debit 200, debit 300, debit 400, debit 500, debit 600]").0;
    assert_eq!(processed, "[debit 100, debit 200, debit 300]");
    let anomalies = r["real"]["anomalies"].as_array().unwrap();
    for a in anomalies {
        if a["anomaly"] != "unseen" {
            assert_eq!(a["count"], 0, "{a}");
        }
    }
    // Real vs simulated: the same up to debit 300, then noida-db's group.
    let (real, simulated) = (outcomes(&r, "real"), outcomes(&r, "simulated"));
    assert_eq!(simulated, ["delivered"; 12]);
    assert_eq!(real[..9], simulated[..9]);
    assert_eq!(real[9..], ["lost"; 3]);
    assert!(r["findings"].as_array().unwrap().iter().any(|f| f["what"] == "message ledger-writer #4 (debit 400)"));
    assert_eq!(code, 1);
}

/// A non-transactional processor's lost ack: without idempotence the producer half's retry
/// writes debit 200 twice, the at-least-once processor's duplicate, as simulated.
#[test]
fn at_least_once_processor_writes_a_duplicate_when_its_ack_is_lost() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/conform/processor-lost-ack-duplicates.scn", &["--timeout", "20"]);
    assert_eq!(fault_status(&r), ["injected"], "{}", r["faults"]);
    let copies: Vec<u64> =
        r["real"]["messages"].as_array().unwrap().iter().map(|m| m["copies_in_log"].as_u64().unwrap()).collect();
    assert_eq!(copies[..5], [1, 1, 1, 1, 2], "the inputs once, debit 100 once, debit 200 twice");
    assert_eq!(outcomes(&r, "real")[4], "duplicated");
    assert_eq!(outcomes(&r, "simulated")[4], "duplicated");
    let dup = &r["real"]["anomalies"].as_array().unwrap()[0];
    assert_eq!((dup["anomaly"].as_str(), dup["expected"].as_bool()), (Some("duplicate"), Some(true)));
    assert_eq!(expectation(&r, "message debit 200 duplicated"), ("duplicated".into(), true));
    // Its producer half asked for no producer id; the retried batch went on the wire twice.
    let batches = ops(&r, "produce").into_iter().filter(|op| op["producer"] == 1).collect::<Vec<_>>();
    assert!(batches.iter().all(|op| op["producer_id"] == -1), "{batches:?}");
    assert!(batches.iter().any(|op| op["answered"] == false), "the lost ack's batch got no answer");
}

/// The managed broker is killed and started again: the sends made while it was down are
/// acknowledged only after the restart.
#[test]
fn broker_crash_and_restart_delay_the_acknowledgements() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/conform/broker-crash-restart.scn", &["--timeout", "30"]);
    assert_eq!(fault_status(&r), ["injected", "injected"], "{}", r["faults"]);
    let (down, up) = (fault_at(&r, "crash broker 1 at 500ms"), fault_at(&r, "restart broker 1 at 1200ms"));
    let during: Vec<&Value> =
        ops(&r, "send").into_iter().filter(|op| (down..up).contains(&op["at_ms"].as_u64().unwrap())).collect();
    assert!(!during.is_empty(), "no send while the broker was down");
    for op in during {
        assert!(op["result"]["acked"].is_object(), "{op}");
        assert!(op["done_ms"].as_u64().unwrap() >= up, "acknowledged while the broker was down: {op}");
    }
}

/// The producer is cut from the broker and healed: what it sent meanwhile is acknowledged
/// only after the heal, and nothing is lost or written twice.
#[test]
fn a_blackholed_producer_is_acknowledged_after_the_heal() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/conform/client-blackhole-heal.scn", &["--timeout", "30"]);
    assert_eq!(fault_status(&r), ["injected", "injected"], "{}", r["faults"]);
    let (cut, heal) = (fault_at(&r, "partition shop from broker 1 at 300ms"), fault_at(&r, "heal at 1300ms"));
    let during: Vec<&Value> =
        ops(&r, "send").into_iter().filter(|op| (cut..heal).contains(&op["at_ms"].as_u64().unwrap())).collect();
    assert!(!during.is_empty(), "no send during the partition");
    for op in during {
        assert!(op["done_ms"].as_u64().unwrap() >= heal, "acknowledged through a blackhole: {op}");
    }
    assert_eq!(outcomes(&r, "real"), ["delivered"; 5]);
}

/// 150 ms each way on every frame: no acknowledgement in less than 300 ms.
#[test]
fn network_latency_delays_every_acknowledgement() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/conform/network-latency.scn", &["--timeout", "30"]);
    let sends = ops(&r, "send");
    assert_eq!(sends.len(), 3);
    for op in sends {
        let took = op["done_ms"].as_u64().unwrap() - op["at_ms"].as_u64().unwrap();
        assert!(took >= 300, "acknowledged in {took} ms: {op}");
    }
}

/// A `when` fault fired by the history: billing is paused as soon as it processed order1 and
/// resumed a second later, so order2 is processed at least a second after order1.
#[test]
fn a_when_trigger_pauses_the_consumer_once_it_processed_order1() {
    if !broker_installed() {
        return;
    }
    let (r, _) = conform("scenarios/conform/pause-when-processed.scn", &["--timeout", "30"]);
    assert_eq!(fault_status(&r), ["injected", "injected"], "{}", r["faults"]);
    let paused = fault_at(&r, "when billing processes order1 pause billing");
    let (first, second) = (processed_at(&r, 0, 0), processed_at(&r, 0, 1));
    assert_eq!((first.len(), second.len()), (1, 1), "{first:?} {second:?}");
    assert!(paused >= first[0], "paused before order1 was processed");
    assert!(second[0] >= first[0] + 1000, "order2 processed {} ms after order1", second[0] - first[0]);
    assert_eq!(outcomes(&r, "real"), ["delivered"; 3]);
}

/// The simulated run written as a history and judged by the history checker gives every
/// message the fate the simulator's own analysis gives it, on every bundled scenario: the
/// two judges agree, so a difference in `conform` comes from the broker, not the checker.
#[test]
fn the_history_checker_agrees_with_the_simulators_analysis() {
    let (mut checked, mut offset_findings) = (0, 0);
    let dirs = ["scenarios/run", "scenarios/conform"];
    for entry in dirs.iter().flat_map(|d| std::fs::read_dir(d).unwrap()) {
        let path = entry.unwrap().path();
        let scenario = scn::Scenario::from_file(&path).unwrap();
        let model = scenario.model();
        let run = scn::sim::run(model, &scn::sim::Options::default());
        let analysis = scn::outcome::Analysis::new(model, &run);
        let verdict = history::check::judge(model, &history::sim::from_run(model, &run));
        let want: Vec<&str> = analysis.fates().iter().map(|f| scn::outcome::fate_word(f.fate)).collect();
        let got: Vec<&str> = verdict.messages.iter().map(|m| m.outcome.as_str()).collect();
        assert_eq!(got, want, "{}", path.display());
        let flows = |v: Vec<scn::outcome::Flow>| v.into_iter().map(|f| (f.flow, f.holds, f.lost)).collect::<Vec<_>>();
        assert_eq!(flows(verdict.flows), flows(analysis.flows(&analysis.fates())), "{}", path.display());
        // The offset anomalies, which need the polls' offsets, count what the simulator saw.
        let offsets = |v: Vec<scn::outcome::Anomaly>| {
            v.into_iter()
                .filter(|a| a.anomaly == "nonmonotonic poll" || a.anomaly == "inconsistent offsets")
                .map(|a| (a.anomaly, a.count))
                .collect::<Vec<_>>()
        };
        let want = offsets(analysis.anomalies());
        offset_findings += want.iter().map(|(_, n)| n).sum::<u64>();
        assert_eq!(offsets(verdict.anomalies), want, "{}", path.display());
        checked += 1;
    }
    assert!(checked > 40);
    assert!(offset_findings > 0, "some bundled scenario shows a nonmonotonic poll or an inconsistent offset");
}

/// A broker that does not filter aborted records under read_committed (the reason the
/// checker judges transactions from the producer's history, not from the broker's log): a
/// read_committed group that processed a record of an aborted transaction is an aborted read
/// the configuration does not allow.
#[test]
fn an_aborted_record_read_under_read_committed_is_an_aborted_read() {
    let scenario = scn::Scenario::from_file("scenarios/run/transactions-commit-abort.scn").unwrap();
    let model = scenario.model();
    let acked = |msg: u32, offset: u64| Op::Send {
        at_ms: 0,
        producer: 0,
        incarnation: 0,
        msg,
        result: SendResult::Acked { partition: 0, offset: Some(offset) },
        done_ms: Some(1),
    };
    let rec = |msg: u32, offset: u64| Polled { partition: 0, offset: Some(offset), msg: Some(msg) };
    // credit1 committed; debit1 aborted, yet returned to the read_committed auditor (consumer 0)
    // and kept by the broker's "committed" final read.
    let h = History {
        source: "a broker that does not filter".into(),
        ops: vec![
            acked(0, 0),
            Op::Txn {
                at_ms: 1,
                producer: 0,
                incarnation: 0,
                msgs: vec![0],
                outcome: TxnOutcome::Committed,
                error: None,
            },
            acked(2, 2),
            Op::Txn { at_ms: 2, producer: 0, incarnation: 0, msgs: vec![2], outcome: TxnOutcome::Aborted, error: None },
            Op::Poll { at_ms: 3, consumer: 0, incarnation: 0, records: vec![rec(0, 0), rec(2, 2)] },
            Op::Process { at_ms: 3, consumer: 0, incarnation: 0, record: rec(0, 0) },
            Op::Process { at_ms: 3, consumer: 0, incarnation: 0, record: rec(2, 2) },
        ],
        final_read: vec![PartitionRead { partition: 0, records: vec![rec(0, 0), rec(2, 2)], incomplete: None }],
    };
    let v = history::check::judge(model, &h);
    let g1a = v.anomalies.iter().find(|a| a.anomaly == "aborted read (G1a)").unwrap();
    assert_eq!(g1a.count, 1);
    assert_eq!(g1a.examples, ["debit1"]);
    assert!(!g1a.expected, "read_committed allows no aborted read");
}
