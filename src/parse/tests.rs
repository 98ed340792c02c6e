//! Unit tests of the parser: the exact tree of a scenario using every statement, and that no
//! truncated or damaged input makes it panic. Diagnostics are tested in `tests/diagnostics.rs`.

mod diagnostics;

use super::parse;
use crate::ast::{
    CommitMode, Condition, CountKind, Expect, Fault, File, Guarantee, MessageRef, OutcomeKind, PartitionRef, Point,
    RestartTime, Spanned, Target, Value,
};
use crate::diag::{Diagnostic, Span};

/// A scenario that uses every statement and option of the grammar at least once.
const RICH: &str = r##"# A scenario touching every statement of the language.
scenario "Rich: \"quoted\" \\ tab\there\nnext"
description "Covers every statement."
seed 7
run for 10m
network { latency 2ms }
network { jitter 1ms }
cluster {
  brokers 3
  topic orders { partitions 1  replication.factor 3  min.insync.replicas 2 }
  topic example-topic { partitions 13 }
  unclean.leader.election.enable false
}
producer shop {
  guarantee at-least-once
  acks all
  retries -1
  enable.idempotence true
  delivery.timeout.ms 120000
  transactional.id "tx-1"
  linger.ms 5ms
  send 5 to orders value "message{i}"
  send to orders key "k" value "v \"q\"" partition 0 at 100ms
  send 3 to orders key "order-{i}" value "x{i}" every 10ms
}
consumer billing {
  guarantee at-most-once
  subscribe orders, example-topic group billing-group
  subscribe orders group second
  max.poll.records 2
  auto.offset.reset earliest
  commit before-processing
  start at 50ms
}
consumer audit { subscribe orders group audit  commit after-processing }
consumer lazy { subscribe orders group lazy  commit none }
faults {
  ack lost for shop send 2                 # the broker wrote it; the producer retries
  request lost for shop send 4 attempt 2
  crash billing after commit, before processing message3
  restart billing after 100ms
  crash broker 1 at 120ms
  restart broker 1 at 2s
  crash leader of example-topic-12 at 50ms
  restart leader of orders-0 at 3s
  crash shop after send 3
  crash billing after poll 2
  crash billing after commit 2
  crash billing after commit
  crash billing before processing "message 4"
  crash billing after processing "message 4"
  crash audit
  when billing commits offset 4 crash broker 1
  when billing commits offset 5 on orders-0 then crash billing at 1s
  when shop send 3 is acked then restart broker 2 after 1s
  when billing processes message2, crash billing
}
track [billing.position, orders-0.high_watermark, message3,]
expect {
  billing processed [message1, message2, message5]
  billing processed 3
  lost 2
  duplicates 0 for billing
  delivered 3
  message message3 lost
  message "message 4" delivered
  message message1 duplicated
  message message2 failed
  log orders-0 [message1, "message 2",]
  log example-topic-12 []
}
"##;

fn rich() -> File {
    match parse(RICH) {
        Ok(file) => file,
        Err(diags) => panic!("rich scenario failed:\n{}", diags.render("rich.scn", RICH)),
    }
}

/// The span of the `nth` (0-based) occurrence of `needle` in `source`.
fn span_in(source: &str, needle: &str, nth: usize) -> Span {
    let start = source.match_indices(needle).nth(nth).map(|(i, _)| i).expect("needle in source");
    Span::new(start, start + needle.len())
}

fn s(text: &str) -> String {
    text.to_string()
}

fn msg(text: &str) -> MessageRef {
    MessageRef(s(text), None)
}

/// The one diagnostic a broken scenario gives.
fn error(source: &str) -> Diagnostic {
    match parse(source) {
        Ok(_) => panic!("parsed without error:\n{source}"),
        Err(diags) => {
            assert_eq!(diags.0.len(), 1, "{diags}");
            diags.0.into_iter().next().expect("one diagnostic")
        }
    }
}

#[test]
fn header_and_singletons() {
    let file = rich();
    assert_eq!(file.title.node, "Rich: \"quoted\" \\ tab\there\nnext");
    assert_eq!(file.title.span, span_in(RICH, r#""Rich: \"quoted\" \\ tab\there\nnext""#, 0));
    assert_eq!(file.description.map(|d| d.node), Some(s("Covers every statement.")));
    assert_eq!(file.seed, Some(Spanned::new(7, span_in(RICH, "7", 0))));
    assert_eq!(file.run_for.map(|r| r.node), Some(600_000));
    let network: Vec<(String, Value)> = file.network.into_iter().map(|s| (s.key.node, s.value.node)).collect();
    assert_eq!(network, [(s("latency"), Value::Duration(2)), (s("jitter"), Value::Duration(1))]);
}

#[test]
fn cluster_block() {
    let cluster = rich().cluster.expect("cluster");
    assert_eq!(cluster.span.start, RICH.find("cluster {").expect("cluster"));
    assert!(RICH[cluster.span.start..cluster.span.end].ends_with("enable false\n}"));
    let cluster = cluster.node;
    assert_eq!(cluster.brokers.map(|b| b.node), Some(3));
    let topics: Vec<&str> = cluster.topics.iter().map(|t| t.name.node.as_str()).collect();
    assert_eq!(topics, ["orders", "example-topic"]);
    let orders = &cluster.topics[0].settings;
    assert_eq!(orders.len(), 3);
    assert_eq!(orders[1].key.node, "replication.factor");
    assert_eq!(orders[1].key.span, span_in(RICH, "replication.factor", 0));
    assert_eq!(orders[2].value, Spanned::new(Value::Int(2), span_in(RICH, "2 }", 0).start_len(1)));
    assert_eq!(cluster.settings.len(), 1);
    assert_eq!(cluster.settings[0].key.node, "unclean.leader.election.enable");
    assert_eq!(cluster.settings[0].value.node, Value::Bool(false));
}

/// `Span` from a start and a length, for readable span assertions.
trait StartLen {
    fn start_len(self, len: usize) -> Span;
}

impl StartLen for Span {
    fn start_len(self, len: usize) -> Span {
        Span::new(self.start, self.start + len)
    }
}

#[test]
fn producer_block() {
    let file = rich();
    assert_eq!(file.producers.len(), 1);
    let shop = &file.producers[0];
    assert_eq!(shop.name.node, "shop");
    assert_eq!(shop.name.span, span_in(RICH, "shop", 0));
    assert_eq!(shop.guarantee.as_ref().map(|g| g.node), Some(Guarantee::AtLeastOnce));
    assert_eq!(shop.guarantee.as_ref().map(|g| g.span), Some(span_in(RICH, "at-least-once", 0)));
    let settings: Vec<(&str, &Value)> = shop.settings.iter().map(|s| (s.key.node.as_str(), &s.value.node)).collect();
    assert_eq!(
        settings,
        [
            ("acks", &Value::Word(s("all"))),
            ("retries", &Value::Int(-1)),
            ("enable.idempotence", &Value::Bool(true)),
            ("delivery.timeout.ms", &Value::Int(120_000)),
            ("transactional.id", &Value::Str(s("tx-1"))),
            ("linger.ms", &Value::Duration(5)),
        ]
    );
    assert_eq!(shop.settings[1].value.span, span_in(RICH, "-1", 0));

    assert_eq!(shop.sends.len(), 3);
    let first = &shop.sends[0];
    assert_eq!(first.span, span_in(RICH, r#"send 5 to orders value "message{i}""#, 0));
    let first = &first.node;
    assert_eq!(first.count, Some(Spanned::new(5, span_in(RICH, "5 to", 0).start_len(1))));
    assert_eq!(first.topic.node, "orders");
    assert_eq!(first.value.as_ref().map(|v| v.node.as_str()), Some("message{i}"));
    assert_eq!(first.value.as_ref().map(|v| v.span), Some(span_in(RICH, r#""message{i}""#, 0)));
    assert!(first.key.is_none() && first.partition.is_none() && first.at.is_none());
    assert!(first.every.is_none());

    let second = &shop.sends[1].node;
    assert_eq!(second.count, None);
    assert_eq!(second.key.as_ref().map(|k| k.node.as_str()), Some("k"));
    assert_eq!(second.value.as_ref().map(|v| v.node.as_str()), Some("v \"q\""));
    assert_eq!(second.partition.as_ref().map(|p| p.node), Some(0));
    assert_eq!(second.at.as_ref().map(|a| a.node), Some(100));
    assert_eq!(second.at.as_ref().map(|a| a.span), Some(span_in(RICH, "100ms", 0)));

    let third = &shop.sends[2].node;
    assert_eq!(third.count.as_ref().map(|c| c.node), Some(3));
    assert_eq!(third.key.as_ref().map(|k| k.node.as_str()), Some("order-{i}"));
    assert_eq!(third.value.as_ref().map(|v| v.node.as_str()), Some("x{i}"));
    assert_eq!(third.every.as_ref().map(|e| e.node), Some(10));
}

#[test]
fn consumer_blocks() {
    let file = rich();
    let names: Vec<&str> = file.consumers.iter().map(|c| c.name.node.as_str()).collect();
    assert_eq!(names, ["billing", "audit", "lazy"]);
    let billing = &file.consumers[0];
    assert_eq!(billing.guarantee.as_ref().map(|g| g.node), Some(Guarantee::AtMostOnce));
    assert_eq!(billing.subscribes.len(), 2, "every subscribe is kept; check rejects extras");
    let first = &billing.subscribes[0].node;
    let topics: Vec<&str> = first.topics.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(topics, ["orders", "example-topic"]);
    assert_eq!(first.group, Spanned::new(s("billing-group"), span_in(RICH, "billing-group", 0)));
    assert_eq!(billing.subscribes[1].node.group.node, "second");
    assert_eq!(billing.commit.as_ref().map(|c| c.node), Some(CommitMode::BeforeProcessing));
    assert_eq!(billing.start_at.as_ref().map(|s| s.node), Some(50));
    let settings: Vec<(&str, &Value)> = billing.settings.iter().map(|s| (s.key.node.as_str(), &s.value.node)).collect();
    assert_eq!(settings, [("max.poll.records", &Value::Int(2)), ("auto.offset.reset", &Value::Word(s("earliest")))]);
    assert_eq!(file.consumers[1].commit.as_ref().map(|c| c.node), Some(CommitMode::AfterProcessing));
    assert_eq!(file.consumers[2].commit.as_ref().map(|c| c.node), Some(CommitMode::None));
    assert!(file.consumers[2].guarantee.is_none() && file.consumers[2].start_at.is_none());
}

/// The target and point of a `crash` fault.
fn crash(fault: &Fault) -> (Target, Option<Point>) {
    match fault {
        Fault::Crash { target, point } => (target.node.clone(), point.as_ref().map(|p| p.node.clone())),
        other => panic!("not a crash: {other:?}"),
    }
}

/// The target and time of a `restart` fault.
fn restart(fault: &Fault) -> (Target, RestartTime) {
    match fault {
        Fault::Restart { target, time } => (target.node.clone(), time.node),
        other => panic!("not a restart: {other:?}"),
    }
}

fn client(name: &str) -> Target {
    Target::Client(s(name))
}

#[test]
fn lost_faults() {
    let faults = rich().faults;
    assert_eq!(faults.len(), 19);
    let Fault::AckLost { producer, send, attempt } = &faults[0].node else {
        panic!("{:?}", faults[0]);
    };
    assert_eq!(producer.node, "shop");
    assert_eq!(send.node, 2);
    assert_eq!(*attempt, None);
    assert_eq!(faults[0].span, span_in(RICH, "ack lost for shop send 2", 0));
    let Fault::RequestLost { producer, send, attempt } = &faults[1].node else {
        panic!("{:?}", faults[1]);
    };
    assert_eq!((producer.node.as_str(), send.node), ("shop", 4));
    assert_eq!(attempt.as_ref().map(|a| a.node), Some(2));
}

#[test]
fn crash_and_restart_faults() {
    let faults = rich().faults;
    let f: Vec<&Fault> = faults.iter().map(|f| &f.node).collect();
    assert_eq!(crash(f[2]), (client("billing"), Some(Point::AfterCommitBeforeProcessing(msg("message3")))));
    assert_eq!(restart(f[3]), (client("billing"), RestartTime::After(100)));
    assert_eq!(crash(f[4]), (Target::Broker(1), Some(Point::At(120))));
    assert_eq!(restart(f[5]), (Target::Broker(1), RestartTime::At(2000)));
    let example_12 = PartitionRef { topic: s("example-topic"), partition: 12 };
    assert_eq!(crash(f[6]), (Target::LeaderOf(example_12), Some(Point::At(50))));
    let orders_0 = PartitionRef { topic: s("orders"), partition: 0 };
    assert_eq!(restart(f[7]), (Target::LeaderOf(orders_0), RestartTime::At(3000)));
    assert_eq!(crash(f[8]), (client("shop"), Some(Point::AfterSend(3))));
    assert_eq!(crash(f[9]), (client("billing"), Some(Point::AfterPoll(2))));
    assert_eq!(crash(f[10]), (client("billing"), Some(Point::AfterCommit(Some(2)))));
    assert_eq!(crash(f[11]), (client("billing"), Some(Point::AfterCommit(None))));
    assert_eq!(crash(f[12]), (client("billing"), Some(Point::BeforeProcessing(msg("message 4")))));
    assert_eq!(crash(f[13]), (client("billing"), Some(Point::AfterProcessing(msg("message 4")))));
    assert_eq!(crash(f[14]), (client("audit"), None));

    let Fault::Crash { target, point } = f[6] else { panic!() };
    assert_eq!(target.span, span_in(RICH, "leader of example-topic-12", 0));
    assert_eq!(point.as_ref().map(|p| p.span), Some(span_in(RICH, "at 50ms", 1)));
}

#[test]
fn when_faults() {
    let faults = rich().faults;
    let when = |i: usize| match &faults[i].node {
        Fault::When { condition, action } => (condition.clone(), action.clone()),
        other => panic!("not a when: {other:?}"),
    };

    let (condition, action) = when(15);
    let Condition::Commits { consumer, offset, partition } = &condition.node else { panic!() };
    assert_eq!((consumer.node.as_str(), *offset, partition), ("billing", 4, &None));
    assert_eq!(crash(&action.node), (Target::Broker(1), None));
    assert_eq!(action.span, span_in(RICH, "crash broker 1", 1));
    assert_eq!(condition.span, span_in(RICH, "billing commits offset 4", 0));

    let (condition, action) = when(16);
    let Condition::Commits { offset, partition, .. } = &condition.node else { panic!() };
    assert_eq!(*offset, 5);
    let partition = partition.as_ref().expect("on orders-0");
    assert_eq!(partition.node, PartitionRef { topic: s("orders"), partition: 0 });
    assert_eq!(partition.span, span_in(RICH, "orders-0 then", 0).start_len(8));
    assert_eq!(crash(&action.node), (client("billing"), Some(Point::At(1000))));

    let (condition, action) = when(17);
    let Condition::Acked { producer, send } = &condition.node else { panic!() };
    assert_eq!((producer.node.as_str(), *send), ("shop", 3));
    assert_eq!(restart(&action.node), (Target::Broker(2), RestartTime::After(1000)));

    let (condition, action) = when(18);
    let Condition::Processes { consumer, message } = &condition.node else { panic!() };
    assert_eq!((consumer.node.as_str(), &message.node), ("billing", &msg("message2")));
    assert_eq!(crash(&action.node), (client("billing"), None));
}

#[test]
fn track_block() {
    let track = rich().track.expect("track");
    let vars: Vec<&str> = track.iter().map(|v| v.node.as_str()).collect();
    assert_eq!(vars, ["billing.position", "orders-0.high_watermark", "message3"]);
    assert_eq!(track[1].span, span_in(RICH, "orders-0.high_watermark", 0));
}

#[test]
fn expect_block() {
    let expects = rich().expects;
    assert_eq!(expects.len(), 11);
    let e: Vec<&Expect> = expects.iter().map(|e| &e.node).collect();
    let Expect::ProcessedList { who, values } = e[0] else { panic!("{:?}", e[0]) };
    assert_eq!(who.node, "billing");
    let values: Vec<&MessageRef> = values.iter().map(|v| &v.node).collect();
    assert_eq!(values, [&msg("message1"), &msg("message2"), &msg("message5")]);
    let Expect::ProcessedCount { who, count } = e[1] else { panic!("{:?}", e[1]) };
    assert_eq!((who.node.as_str(), *count), ("billing", 3));
    let count = |i: usize| match e[i] {
        Expect::Count { kind, value, scope } => (*kind, *value, scope.as_ref().map(|s| s.node.clone())),
        other => panic!("not a count: {other:?}"),
    };
    assert_eq!(count(2), (CountKind::Lost, 2, None));
    assert_eq!(count(3), (CountKind::Duplicates, 0, Some(s("billing"))));
    assert_eq!(count(4), (CountKind::Delivered, 3, None));
    let message = |i: usize| match e[i] {
        Expect::Message { message, outcome } => (message.node.clone(), *outcome),
        other => panic!("not a message: {other:?}"),
    };
    assert_eq!(message(5), (msg("message3"), OutcomeKind::Lost));
    assert_eq!(message(6), (msg("message 4"), OutcomeKind::Delivered));
    assert_eq!(message(7), (msg("message1"), OutcomeKind::Duplicated));
    assert_eq!(message(8), (msg("message2"), OutcomeKind::Failed));
    let Expect::Log { partition, values } = e[9] else { panic!("{:?}", e[9]) };
    assert_eq!(partition.node, PartitionRef { topic: s("orders"), partition: 0 });
    assert_eq!(partition.span, span_in(RICH, "orders-0 [", 0).start_len(8));
    let texts: Vec<&str> = values.iter().map(|v| v.node.0.as_str()).collect();
    assert_eq!(texts, ["message1", "message 2"]);
    assert_eq!(values[1].span, span_in(RICH, r#""message 2""#, 0));
    let Expect::Log { partition, values } = e[10] else { panic!("{:?}", e[10]) };
    assert_eq!(partition.node, PartitionRef { topic: s("example-topic"), partition: 12 });
    assert!(values.is_empty());
    assert_eq!(expects[2].span, span_in(RICH, "lost 2", 0));
}

// ------------------------------------------------------------------ robustness

#[test]
fn truncations_never_panic() {
    for (cut, _) in RICH.char_indices().chain([(RICH.len(), ' ')]) {
        let _ = parse(&RICH[..cut]);
    }
}

#[test]
fn damaged_input_never_panics() {
    let junk = ["}", "\"", "9999999999999999999999", "é", "-", ",", "{", "\\"];
    for (i, (at, c)) in RICH.char_indices().enumerate() {
        let _ = parse(&format!("{}{}", &RICH[..at], &RICH[at + c.len_utf8()..]));
        if i % 3 == 0 {
            let junk = junk[i / 3 % junk.len()];
            let _ = parse(&format!("{}{junk}{}", &RICH[..at], &RICH[at..]));
        }
    }
}

/// Words of the language and some troublemakers, for token-soup property tests.
const WORDS: &[&str] = &[
    "scenario",
    "\"t\"",
    "seed",
    "7",
    "run",
    "for",
    "10m",
    "network",
    "{",
    "}",
    "[",
    "]",
    ",",
    "cluster",
    "brokers",
    "topic",
    "orders",
    "orders-0",
    "producer",
    "consumer",
    "send",
    "to",
    "key",
    "value",
    "partition",
    "at",
    "every",
    "100ms",
    "faults",
    "crash",
    "restart",
    "when",
    "then",
    "after",
    "before",
    "commit",
    "poll",
    "processing",
    "processes",
    "commits",
    "offset",
    "on",
    "is",
    "acked",
    "broker",
    "leader",
    "of",
    "lost",
    "ack",
    "request",
    "attempt",
    "track",
    "expect",
    "message",
    "log",
    "processed",
    "duplicates",
    "delivered",
    "-1",
    "\"a\\",
    "é",
    "#c\n",
    "\n",
    "guarantee",
    "exactly-once",
    "subscribe",
    "group",
    "start",
    "none",
    "true",
    "x.y",
    "99999999999999999999999",
    "\"open",
];

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn token_soup_never_panics(
        words in proptest::collection::vec(proptest::sample::select(WORDS), 0..60),
        breaks in proptest::collection::vec(proptest::bool::ANY, 60),
    ) {
        let mut src = String::from("scenario \"x\"\n");
        for (word, newline) in words.iter().zip(&breaks) {
            src.push_str(word);
            src.push(if *newline { '\n' } else { ' ' });
        }
        if let Err(diags) = parse(&src) {
            proptest::prop_assert!(diags.render("f.scn", &src).contains("--> f.scn:"));
        }
    }
}

#[test]
fn assign_lines() {
    let src = "scenario \"a\"\ncluster { brokers 1\n topic orders { partitions 2 } }\nconsumer audit {\n  assign orders-0, orders-1\n}\nconsumer replayer {\n  assign orders-1 group replay\n}\n";
    let file = match parse(src) {
        Ok(file) => file,
        Err(diags) => panic!("assign scenario failed:\n{}", diags.render("a.scn", src)),
    };
    let audit = &file.consumers[0];
    assert!(audit.subscribes.is_empty());
    let parts: Vec<(String, u64)> =
        audit.assigns[0].node.partitions.iter().map(|p| (p.node.topic.clone(), p.node.partition)).collect();
    assert_eq!(parts, [(s("orders"), 0), (s("orders"), 1)]);
    assert!(audit.assigns[0].node.group.is_none());
    let replay = &file.consumers[1].assigns[0].node;
    assert_eq!(replay.group, Some(Spanned::new(s("replay"), span_in(src, "replay", 1))));
    assert_eq!(replay.partitions[0].span, span_in(src, "orders-1", 1));
}

#[test]
fn durations_take_hours_fractions_and_parts() {
    let run_for = |d: &str| {
        let source = format!("scenario \"d\"\nrun for {d}\ncluster {{ brokers 1 }}\n");
        parse(&source).map(|f| f.run_for.map(|r| r.node)).map_err(|d| d.0[0].message.clone())
    };
    assert_eq!(run_for("250ms"), Ok(Some(250)));
    assert_eq!(run_for("1.5s"), Ok(Some(1_500)));
    assert_eq!(run_for("2m30s"), Ok(Some(150_000)));
    assert_eq!(run_for("1h"), Ok(Some(3_600_000)));
    assert_eq!(run_for("1h30m"), Ok(Some(5_400_000)));
    assert_eq!(run_for("0.25m"), Ok(Some(15_000)));
    assert_eq!(run_for("1.5ms"), Err("duration is not a whole number of milliseconds".to_string()));
    assert!(run_for("99999999999999999999h").is_err());
}

#[test]
fn lost_to_retention_count() {
    let source = "scenario \"r\"\nexpect {\n  lost to retention 6 for billing\n  lost  to\tretention 2\n  lost 3\n}\n";
    let file = crate::parse::parse(source).expect("parses");
    let kinds: Vec<(CountKind, u64, Option<String>)> = file
        .expects
        .iter()
        .map(|e| match &e.node {
            Expect::Count { kind, value, scope } => (*kind, *value, scope.as_ref().map(|s| s.node.clone())),
            other => panic!("not a count: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (CountKind::LostToRetention, 6, Some(s("billing"))),
            (CountKind::LostToRetention, 2, None),
            (CountKind::Lost, 3, None)
        ]
    );
}
