//! KIP-848's consumer group protocol (`group.protocol consumer`, Kafka 4.0): what differs from
//! the classic protocol, asserted on the bundled scenarios' runs.

use scn::{RunOptions, Scenario};

/// `actor action result` of every step of a full run (no row limit).
fn steps(source: &str) -> Vec<(u64, String)> {
    let outcome = Scenario::parse(source).expect("valid").run(&RunOptions { max_rows: 0, ..RunOptions::default() });
    outcome.report().steps.iter().map(|s| (s.time_ms, format!("{} | {} | {}", s.actor, s.action, s.result))).collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).expect("readable scenario")
}

/// The time of the first step containing every one of `parts`.
fn first(steps: &[(u64, String)], parts: &[&str]) -> u64 {
    steps
        .iter()
        .find(|(_, s)| parts.iter().all(|p| s.contains(p)))
        .unwrap_or_else(|| panic!("no step with {parts:?}"))
        .0
}

/// No stop-the-world: while orders-3 moves from `b` to `c` (c joins at 8 s and gets it at its
/// next heartbeat, 5 s later), `a` and `b` go on processing, and `c` starts from the offset `b`
/// committed just before it revoked the partition.
#[test]
fn a_join_moves_one_partition_and_stops_nothing() {
    let steps = steps(&read("scenarios/run/consumer-protocol-rebalance.scn"));
    let joined = first(&steps, &["group g | member joined | c "]);
    let handed = first(&steps, &["c | assignment | ", "adds [orders-3]"]);
    assert_eq!(joined, 8001);
    assert!(handed >= joined + 5000, "c learns of orders-3 at its next heartbeat: {handed}");
    for who in ["a | process", "b | process"] {
        let busy = steps.iter().filter(|(t, s)| *t > joined && *t < handed && s.starts_with(who)).count();
        assert!(busy > 100, "{who} kept processing during the handover ({busy} records)");
    }
    let revoked = first(&steps, &["b | assignment | ", "revokes [orders-3]"]);
    let commit = steps
        .iter()
        .find(|(t, s)| *t <= revoked && s.starts_with("b | auto-commit | committed"))
        .expect("b commits before it revokes");
    let offset = commit.1.split("offset ").nth(2).and_then(|o| o.split(' ').next()).expect("orders-3's offset");
    assert!(commit.1.contains(&format!("offset {offset} on orders-3")), "{}", commit.1);
    assert!(
        steps.iter().any(|(_, s)| s == &format!("c | position on orders-3 | offset {offset} (committed)")),
        "c starts where b's commit left orders-3"
    );
    // (Each partition has one owner at a time: the coordinator answered b's revocation first.)
    assert!(first(&steps, &["group g | reconcile | b at epoch 3"]) < handed);
}

/// The same consumers under the classic protocol repeat nothing: only KIP-848's background
/// revocation, while the application processes a record of the revoked partition, leaves it out
/// of the commit.
#[test]
fn a_revocation_while_processing_repeats_a_record_only_under_the_consumer_protocol() {
    let source = read("scenarios/run/consumer-protocol-revoke-while-processing.scn");
    let classic: String = source
        .lines()
        .filter(|l| !l.contains("group.protocol consumer") && !l.contains("duplicate"))
        .map(|l| format!("{l}\n"))
        .collect();
    let duplicated = |source: &str| {
        let outcome = Scenario::parse(source).expect("valid").run(&RunOptions::default());
        outcome.report().totals.duplicated
    };
    assert_eq!(duplicated(&source), 1);
    assert_eq!(duplicated(&classic), 0);
    let steps = steps(&source);
    let revoked = first(&steps, &["a | assignment | ", "revokes [orders-1]"]);
    let polled = steps.iter().filter(|(t, s)| *t < revoked && s.starts_with("a | poll ")).last().expect("a polled");
    assert!(polled.1.ends_with("(offset 99)"), "the revocation came during offset 99's processing: {}", polled.1);
    let done = first(&steps, &["a | process | processed (orders-1 offset 99)"]);
    assert!(done > revoked, "a finished processing it after the revocation");
    let commit = steps.iter().find(|(t, s)| *t > done && s.starts_with("a | commitSync")).expect("a commits");
    assert!(!commit.1.contains("orders-1"), "the commit leaves the revoked partition out: {}", commit.1);
}

/// A member told to revoke that cannot (it froze right after its heartbeat) is fenced after its
/// rebalance timeout (max.poll.interval.ms, 10 s here), not its 45 s session; on waking it is
/// told UNKNOWN_MEMBER_ID, gives its partitions up, its commit fails, and it joins again with
/// the same member id.
#[test]
fn a_member_that_does_not_revoke_is_fenced_after_its_rebalance_timeout() {
    let source = read("scenarios/run/consumer-protocol-revoke-while-processing.scn")
        .replace("  processing.time.ms 20\n", "  processing.time.ms 20\n  max.poll.interval.ms 10s\n");
    let source = source[..source.find("expect {").expect("an expect block")].to_string()
        + "faults {\n  pause a at 5003ms\n  resume a at 25s\n}\n";
    let steps = steps(&source);
    assert_eq!(first(&steps, &["group g | reconcile | a at epoch 1 keeps [orders-0], must revoke [orders-1]"]), 5003);
    assert_eq!(first(&steps, &["group g | member fenced | a (member 1) did not revoke [orders-1]"]), 15003);
    assert!(!steps.iter().any(|(_, s)| s.contains("member expired")), "no session expired");
    let fenced = first(&steps, &["a | fenced: partitions lost, rejoin | ConsumerGroupHeartbeat g: member 1, epoch 0"]);
    assert!(fenced > 25000);
    assert!(steps.iter().any(|(t, s)| *t >= 25000 && s.starts_with("a | commit | failed: CommitFailedException")));
    assert!(steps.iter().any(|(t, s)| *t > fenced && s.starts_with("group g | member joined | a (member 1)")));
}
