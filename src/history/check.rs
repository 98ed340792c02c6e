//! The history checker: each message's fate, the flows against their configured guarantees,
//! Jepsen's anomalies and the scenario's expectations, judged from a recorded [`History`]
//! alone (what the clients saw and the final read), never from a simulator's state.

use super::{History, Op, Polled, SendResult, TxnOutcome};
use crate::ast::CommitMode;
use crate::model::{Acks, Model, MsgId, PartitionIdx, Who};
use crate::outcome::{
    Anomaly, ExpectFacts, ExpectResult, Fate, Flow, Latency, consumer_guarantee, duplicate_allowed, fate_word,
    group_times, group_verdict, judge_expectations, loss_allowed, problems, producer_guarantee, tally, verdict,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the checker concluded from a history.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    pub messages: Vec<MessageVerdict>,
    pub totals: crate::report::Totals,
    pub flows: Vec<Flow>,
    pub anomalies: Vec<Anomaly>,
    pub expectations: Vec<ExpectResult>,
}

/// One message's fate as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MessageVerdict {
    /// `shop #3`
    pub send: String,
    pub value: String,
    pub partition: String,
    pub copies_in_log: u32,
    /// `billing x1, audit x0`
    pub processed: String,
    pub outcome: String,
    pub detail: String,
}

/// The history folded into per-message and per-group counts.
struct Facts<'m> {
    model: &'m Model,
    sent: Vec<bool>,
    /// send() to acknowledgement, in ms, for acknowledged sends with an offset.
    ack_latency: Vec<Option<u64>>,
    sent_at: Vec<Option<u64>>,
    acked: Vec<bool>,
    failed: Vec<Option<String>>,
    unanswered: Vec<bool>,
    aborted: Vec<bool>,
    copies: Vec<u32>,
    home: Vec<Option<PartitionIdx>>,
    processed: Vec<Vec<u32>>,
    consumed: Vec<Vec<u32>>,
    first_processed: Vec<Vec<Option<u64>>>,
    /// (consumer, message) in processing order.
    processing: Vec<(u32, MsgId)>,
    nonmonotonic: Vec<String>,
    inconsistent: Vec<String>,
    /// Producer id -> the newest epoch InitProducerId handed out so far.
    epochs: BTreeMap<i64, i16>,
    /// Batches of an older epoch accepted after a newer one was handed out.
    zombies: Vec<String>,
    log: BTreeMap<PartitionIdx, Vec<MsgId>>,
}

impl<'m> Facts<'m> {
    fn new(model: &'m Model, h: &History) -> Facts<'m> {
        let n = model.total_messages as usize;
        let groups = model.groups.len();
        let mut f = Facts {
            model,
            sent: vec![false; n],
            ack_latency: vec![None; n],
            sent_at: vec![None; n],
            acked: vec![false; n],
            failed: vec![None; n],
            unanswered: vec![false; n],
            aborted: vec![false; n],
            copies: vec![0; n],
            home: vec![None; n],
            processed: vec![vec![0; n]; groups],
            consumed: vec![vec![0; n]; groups],
            first_processed: vec![vec![None; n]; groups],
            processing: Vec::new(),
            nonmonotonic: Vec::new(),
            inconsistent: Vec::new(),
            epochs: BTreeMap::new(),
            zombies: Vec::new(),
            log: BTreeMap::new(),
        };
        let mut at_offset: BTreeMap<(PartitionIdx, u64), MsgId> = BTreeMap::new();
        let mut last_polled: BTreeMap<(u32, u32, PartitionIdx), u64> = BTreeMap::new();
        let mut note_offset = |f: &mut Facts, r: &Polled| {
            let (Some(o), Some(m)) = (r.offset, r.msg) else { return };
            match at_offset.insert((r.partition, o), m) {
                Some(before) if before != m => f.inconsistent.push(format!(
                    "{}@{o}: {} then {}",
                    model.partition_name(r.partition),
                    model.value(before),
                    model.value(m)
                )),
                _ => {}
            }
        };
        for op in &h.ops {
            match op {
                Op::Send { at_ms, msg, result, done_ms, .. } => {
                    let m = *msg as usize;
                    f.sent[m] = true;
                    f.sent_at[m].get_or_insert(*at_ms);
                    match result {
                        SendResult::Acked { partition, offset } => {
                            f.acked[m] = true;
                            f.failed[m] = None;
                            f.unanswered[m] = false;
                            f.home[m].get_or_insert(*partition);
                            if offset.is_some() {
                                f.ack_latency[m] = done_ms.map(|d| d.saturating_sub(*at_ms));
                            }
                        }
                        SendResult::Failed { error } if !f.acked[m] => f.failed[m] = Some(error.clone()),
                        SendResult::Unknown if !f.acked[m] => f.unanswered[m] = true,
                        _ => {}
                    }
                }
                Op::Txn { msgs, outcome, .. } => {
                    for m in msgs {
                        f.aborted[*m as usize] = *outcome == TxnOutcome::Aborted;
                    }
                }
                Op::Poll { consumer, incarnation, records, .. } => {
                    let g = model.consumers[*consumer as usize].group as usize;
                    for r in records {
                        note_offset(&mut f, r);
                        if let Some(m) = r.msg {
                            f.consumed[g][m as usize] += 1;
                        }
                        let Some(o) = r.offset else { continue };
                        // KafkaConsumer's positions only move forward between rebalances: an
                        // offset at or before the last one polled is a nonmonotonic poll.
                        if let Some(last) = last_polled.insert((*consumer, *incarnation, r.partition), o)
                            && o <= last
                        {
                            f.nonmonotonic.push(format!(
                                "{} {}: {last} -> {o}",
                                model.consumers[*consumer as usize].name,
                                model.partition_name(r.partition)
                            ));
                        }
                    }
                }
                Op::Assigned { consumer, incarnation, .. } | Op::Seek { consumer, incarnation, .. } => {
                    last_polled.retain(|(c, i, _), _| (*c, *i) != (*consumer, *incarnation));
                }
                Op::Process { at_ms, consumer, record, .. } => {
                    let Some(m) = record.msg else { continue };
                    let g = model.consumers[*consumer as usize].group as usize;
                    f.processed[g][m as usize] += 1;
                    f.first_processed[g][m as usize].get_or_insert(*at_ms);
                    f.processing.push((*consumer, m));
                }
                Op::ProducerId { producer_id, epoch, error: None, .. } => {
                    let newest = f.epochs.entry(*producer_id).or_insert(*epoch);
                    *newest = (*newest).max(*epoch);
                }
                Op::Produce { producer, producer_id, epoch, partition, error: None, answered: true, .. }
                    if *producer_id >= 0 && f.epochs.get(producer_id).is_some_and(|newest| epoch < newest) =>
                {
                    f.zombies.push(format!(
                        "{} id {producer_id} epoch {epoch} to {}",
                        model.producers[*producer as usize].name,
                        model.partition_name(*partition)
                    ));
                }
                Op::Commit { .. }
                | Op::Crash { .. }
                | Op::Start { .. }
                | Op::Fault { .. }
                | Op::ProducerId { .. }
                | Op::Produce { .. } => {}
            }
        }
        for read in &h.final_read {
            let log = f.log.entry(read.partition).or_default();
            for r in &read.records {
                let Some(m) = r.msg else { continue };
                log.push(m);
                f.copies[m as usize] += 1;
                f.home[m as usize] = Some(read.partition);
            }
            for r in &read.records {
                note_offset(&mut f, r);
            }
        }
        f
    }

    /// Groups that read the message's topic (a processor's own group is no destination: what
    /// it makes of a record is judged on its outputs).
    fn groups_for(&self, msg: MsgId) -> Vec<u32> {
        let m = self.model;
        (0..m.groups.len() as u32)
            .filter(|g| {
                let group = &m.groups[*g as usize];
                group.topics.contains(&m.topic_of(msg))
                    && (!group.manual || self.home[msg as usize].is_some_and(|p| group.partitions.contains(&p)))
                    && !group.members.iter().all(|c| m.consumers[*c as usize].processor.is_some())
            })
            .collect()
    }

    fn fate(&self, msg: MsgId) -> Fate {
        let i = msg as usize;
        let m = self.model;
        if !self.sent[i] {
            let parent_seen = m.is_derived(msg) && self.copies[m.derived(msg).parent as usize] > 0;
            return if parent_seen { Fate::Lost } else { Fate::NotSent };
        }
        let copies = self.copies[i];
        if copies == 0 && self.aborted[i] {
            return Fate::Aborted;
        }
        let told = self.failed[i].is_some() && !m.is_derived(msg);
        // As the simulator's analysis judges: acknowledged, then missing with no error to the
        // producer, is lost (read or not).
        if copies == 0 && self.acked[i] && !told {
            return Fate::Lost;
        }
        let groups = self.groups_for(msg);
        if groups.is_empty() {
            return match copies {
                0 if told => Fate::Failed,
                0 => Fate::Lost,
                1 => Fate::Delivered,
                _ => Fate::Duplicated,
            };
        }
        let counts: Vec<u32> = groups.iter().map(|g| self.processed[*g as usize][i]).collect();
        if counts.contains(&0) {
            return if told && copies == 0 { Fate::Failed } else { Fate::Lost };
        }
        if counts.iter().any(|n| *n > 1) { Fate::Duplicated } else { Fate::Delivered }
    }

    fn detail(&self, msg: MsgId, fate: Fate) -> String {
        let i = msg as usize;
        let copies = self.copies[i];
        let processed: Vec<(u32, u32)> =
            self.groups_for(msg).into_iter().map(|g| (g, self.processed[g as usize][i])).collect();
        let group = |g: u32| self.model.groups[g as usize].name.clone();
        match fate {
            Fate::NotSent => "send() never called".into(),
            Fate::Aborted => {
                let read: Vec<String> =
                    processed.iter().filter(|(_, n)| *n > 0).map(|(g, _)| format!("{} read it", group(*g))).collect();
                std::iter::once("its transaction aborted".to_string()).chain(read).collect::<Vec<_>>().join("; ")
            }
            Fate::Failed => format!("producer got {}", self.failed[i].as_deref().unwrap_or("an error")),
            Fate::Lost if copies == 0 && self.acked[i] => "acknowledged, then missing from the final read".into(),
            Fate::Lost if copies == 0 && self.unanswered[i] => "never in the final read; send() got no answer".into(),
            Fate::Lost if copies == 0 => "never in the final read".into(),
            Fate::Lost => {
                let g = processed.iter().find(|(_, n)| *n == 0).map_or(0, |(g, _)| *g);
                if self.consumed[g as usize][i] > 0 {
                    format!("polled by {} but never processed", group(g))
                } else {
                    format!("in the log but never polled by {}", group(g))
                }
            }
            Fate::Delivered if processed.is_empty() => "written once".into(),
            Fate::Delivered => "processed once".into(),
            Fate::Duplicated if copies > 1 => format!("{copies} copies in the log"),
            Fate::Duplicated => {
                let (g, n) = processed.iter().max_by_key(|(_, n)| *n).copied().unwrap_or((0, 0));
                format!("processed x{n} by {}", group(g))
            }
        }
    }

    fn count(&self, fates: &[Fate], scope: Option<Who>, want: Fate) -> u64 {
        let g = scope.map(|w| match w {
            Who::Group(g) => g,
            Who::Consumer(c) => self.model.consumers[c as usize].group,
        });
        (0..self.model.total_messages)
            .filter(|m| {
                let f = fates[*m as usize];
                let Some(g) = g else { return f == want };
                if !self.groups_for(*m).contains(&g) {
                    return false;
                }
                let n = self.processed[g as usize][*m as usize];
                match want {
                    Fate::Lost => n == 0 && f != Fate::Failed && f != Fate::NotSent,
                    Fate::Duplicated => n > 1,
                    Fate::Delivered => n == 1,
                    _ => f == want,
                }
            })
            .count() as u64
    }

    fn processed_values(&self, who: Who) -> Vec<String> {
        self.processing
            .iter()
            .filter(|(c, _)| match who {
                Who::Consumer(x) => *c == x,
                Who::Group(g) => self.model.consumers[*c as usize].group == g,
            })
            .map(|(_, m)| self.model.value(*m))
            .collect()
    }
}

/// Judges a history against the scenario it ran.
pub fn judge(model: &Model, history: &History) -> Verdict {
    let f = Facts::new(model, history);
    let fates: Vec<Fate> = (0..model.total_messages).map(|m| f.fate(m)).collect();
    let mut totals = crate::report::Totals { messages: u64::from(model.total_messages), ..Default::default() };
    for fate in &fates {
        match fate {
            Fate::Delivered => totals.delivered_once += 1,
            Fate::Lost => totals.lost += 1,
            Fate::Duplicated => totals.duplicated += 1,
            Fate::Failed => totals.failed += 1,
            Fate::NotSent => totals.not_sent += 1,
            Fate::Aborted => totals.aborted += 1,
        }
    }
    let messages = (0..model.total_messages)
        .map(|m| {
            let fate = fates[m as usize];
            let processed = f
                .groups_for(m)
                .iter()
                .map(|g| format!("{} x{}", model.groups[*g as usize].name, f.processed[*g as usize][m as usize]))
                .collect::<Vec<_>>()
                .join(", ");
            let p = model.producer_of(m);
            MessageVerdict {
                send: format!("{} #{}", model.producers[p as usize].name, model.send_number(m)),
                value: model.value(m),
                partition: f.home[m as usize].map_or("-".into(), |p| model.partition_name(p).to_string()),
                copies_in_log: f.copies[m as usize],
                processed: if processed.is_empty() { "-".into() } else { processed },
                outcome: fate_word(fate).into(),
                detail: f.detail(m, fate),
            }
        })
        .collect();
    Verdict { messages, totals, flows: flows(&f), anomalies: anomalies(&f), expectations: expectations(&f, &fates) }
}

fn flows(f: &Facts) -> Vec<Flow> {
    let m = f.model;
    let mut out = Vec::new();
    for p in &m.producers {
        if p.processor.is_some() && p.message_count == 0 {
            continue;
        }
        let mut topics: Vec<u32> = match p.processor {
            Some(pi) => m.processors[pi as usize].outputs.clone(),
            None => p.sends.iter().map(|s| s.topic).collect(),
        };
        topics.sort_unstable();
        topics.dedup();
        for t in topics {
            let msgs: Vec<usize> = (p.first_msg..p.first_msg + p.message_count)
                .filter(|x| m.topic_of(*x) == t)
                .map(|x| x as usize)
                .collect();
            let count = |pred: &dyn Fn(usize) -> bool| msgs.iter().filter(|x| pred(**x)).count() as u64;
            let sent = count(&|x| f.sent[x]);
            let acked = count(&|x| f.acked[x]);
            let failed = count(&|x| f.failed[x].is_some() && f.copies[x] == 0);
            let lost = count(&|x| f.sent[x] && f.failed[x].is_none() && f.copies[x] == 0 && !f.aborted[x]);
            let duplicated = count(&|x| f.copies[x] > 1);
            let (guarantee, may_lose, may_dup) = producer_guarantee(p);
            let problems = problems(lost, may_lose, duplicated, may_dup);
            let retries = if p.retries == i32::MAX as u32 { "MAX".to_string() } else { p.retries.to_string() };
            out.push(Flow {
                flow: format!("{} -> {}", p.name, m.topics[t as usize].name),
                consuming: false,
                config: format!("acks={} retries={retries} idempotence={}", p.acks.as_str(), p.enable_idempotence),
                guarantee: guarantee.into(),
                sent,
                acked,
                processed: 0,
                lost,
                duplicated,
                failed,
                holds: problems.is_empty(),
                verdict: verdict(&problems, p, false),
                latency: Latency::of(msgs.iter().filter_map(|x| f.ack_latency[*x]).collect()),
            });
        }
    }
    for (g, group) in m.groups.iter().enumerate() {
        let Some(&first) = group.members.first() else { continue };
        let cfg = &m.consumers[first as usize];
        for t in &group.topics {
            let in_log: Vec<usize> = (0..m.total_messages)
                .filter(|x| {
                    // Every group reading the topic, a processor's own included (as the
                    // simulator's analysis counts its flows).
                    m.topic_of(*x) == *t
                        && (!group.manual || f.home[*x as usize].is_some_and(|p| group.partitions.contains(&p)))
                        && f.copies[*x as usize] > 0
                })
                .map(|x| x as usize)
                .collect();
            // A processor's input is judged on its outputs, as the simulator's analysis does.
            let output = |o: MsgId| match f.copies[o as usize] {
                0 => u32::from(f.sent[o as usize] && f.failed[o as usize].is_none() && !f.aborted[o as usize]),
                n => u32::from(n),
            };
            let times: Vec<u32> =
                in_log.iter().map(|x| group_times(m, group, *x as MsgId, f.processed[g][*x], &output)).collect();
            let (processed, lost, duplicated) = tally(&times);
            let (guarantee, may_lose, may_dup) = consumer_guarantee(cfg);
            let problems = problems(lost, may_lose, duplicated, may_dup);
            let config = match (cfg.commit, cfg.enable_auto_commit) {
                (CommitMode::None, false) if cfg.processor.is_some() => "sendOffsetsToTransaction".to_string(),
                (CommitMode::BeforeProcessing, _) => "commit before processing".to_string(),
                (CommitMode::AfterProcessing, _) => "commit after processing".to_string(),
                (CommitMode::None, true) => format!("auto-commit every {} ms", cfg.auto_commit_interval_ms),
                (CommitMode::None, false) => "no commits".to_string(),
            };
            let latency = Latency::of(
                in_log.iter().filter_map(|x| f.first_processed[g][*x]?.checked_sub(f.sent_at[*x]?)).collect(),
            );
            out.push(Flow {
                flow: format!("{} -> {}", m.topics[*t as usize].name, group.label()),
                consuming: true,
                config,
                guarantee: guarantee.into(),
                sent: in_log.len() as u64,
                acked: 0,
                processed,
                lost,
                duplicated,
                failed: 0,
                holds: problems.is_empty(),
                verdict: group_verdict(&problems, m, group),
                latency,
            });
        }
    }
    out
}

fn anomalies(f: &Facts) -> Vec<Anomaly> {
    let m = f.model;
    let all = || 0..m.total_messages;
    let first_member = |g: u32| &m.consumers[m.groups[g as usize].members[0] as usize];
    let row = |anomaly: &str, found: Vec<String>, expected: bool, meaning: &str| Anomaly {
        anomaly: anomaly.into(),
        count: found.len() as u64,
        expected: found.is_empty() || expected,
        examples: found.into_iter().take(3).collect(),
        meaning: meaning.into(),
    };
    let dups: Vec<MsgId> = all()
        .filter(|x| {
            f.copies[*x as usize] > 1 || f.groups_for(*x).iter().any(|g| f.processed[*g as usize][*x as usize] > 1)
        })
        .collect();
    let dup_expected = dups.iter().all(|x| {
        let copies = f.copies[*x as usize];
        let twice: Vec<u32> =
            f.groups_for(*x).into_iter().filter(|g| copies > 0 && f.processed[*g as usize][*x as usize] > 1).collect();
        duplicate_allowed(m, *x, copies, &twice)
    });
    let lost: Vec<MsgId> =
        all().filter(|x| f.acked[*x as usize] && m.txn_of(*x).is_none() && f.copies[*x as usize] == 0).collect();
    let lost_expected = lost.iter().all(|x| loss_allowed(m, *x));
    let unseen: Vec<MsgId> = all()
        .filter(|x| {
            let gs = f.groups_for(*x);
            f.copies[*x as usize] > 0 && !gs.is_empty() && gs.iter().all(|g| f.consumed[*g as usize][*x as usize] == 0)
        })
        .collect();
    let unseen_expected = unseen.iter().all(|x| {
        f.groups_for(*x).iter().any(|g| first_member(*g).auto_offset_reset == crate::model::OffsetReset::Latest)
    });
    // aborted read (G1a): a group processed a record whose transaction its producer saw
    // abort, or a transactional record the final read_committed read does not hold.
    let g1a: Vec<MsgId> = all()
        .filter(|x| {
            let i = *x as usize;
            (f.aborted[i] || (f.copies[i] == 0 && f.acked[i] && (m.txn_of(*x).is_some() || m.is_derived(*x))))
                && f.groups_for(*x).iter().any(|g| f.processed[*g as usize][i] > 0)
        })
        .collect();
    let g1a_expected = g1a.iter().all(|x| {
        f.groups_for(*x).iter().all(|g| !first_member(*g).read_committed || f.processed[*g as usize][*x as usize] == 0)
    });
    let names = |v: &[MsgId]| v.iter().map(|x| m.value(*x)).collect::<Vec<_>>();
    let inconsistent_expected = f.inconsistent.is_empty()
        || m.cluster.unclean_leader_election
        || m.producers.iter().any(|p| p.acks != Acks::All);
    vec![
        row("duplicate", names(&dups), dup_expected, "a record committed twice, or processed twice by one group"),
        row("lost write", names(&lost), lost_expected, "acknowledged, then missing from the committed log"),
        row("unseen", names(&unseen), unseen_expected, "committed, but never polled by a group that reads its topic"),
        row("aborted read (G1a)", names(&g1a), g1a_expected, "a group processed a record that was never committed"),
        row(
            "nonmonotonic poll",
            f.nonmonotonic.clone(),
            false,
            "a poll returned an offset at or before one an earlier poll returned, with no seek or rebalance between",
        ),
        row(
            "inconsistent offsets",
            f.inconsistent.clone(),
            inconsistent_expected,
            "one offset of a partition held different records at different polls",
        ),
        // Kafka fences an epoch once a newer one is handed out for its producer id
        // (`ProducerStateManager` rejects it: INVALID_PRODUCER_EPOCH / PRODUCER_FENCED).
        row(
            "zombie write",
            f.zombies.clone(),
            false,
            "a batch of an older producer epoch accepted after a newer epoch of its producer id was handed out",
        ),
    ]
}

fn expectations(f: &Facts, fates: &[Fate]) -> Vec<ExpectResult> {
    let facts = ExpectFacts {
        fate: &|m| fates[m as usize],
        count: &|scope, want| f.count(fates, scope, want),
        log: &|p| f.log.get(&p).cloned().unwrap_or_default(),
        processed: &|who| f.processed_values(who),
        // (A recorded history has no log start offsets to tell a deletion from a skip.)
        lost_to_retention: &|_| Err("unknown: the recorded history has no log start offsets"),
    };
    judge_expectations(f.model, &facts)
}
