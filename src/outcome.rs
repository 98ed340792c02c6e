//! What happened to every message (delivered once, lost, duplicated, failed), per flow
//! (producer to topic, topic to group) against the configured guarantee, and whether the
//! scenario's expectations hold.

use crate::ast::{CommitMode, Guarantee, OutcomeKind};
use crate::model::{Acks, ExpectCheck, Model, MsgId, PartitionIdx, Who};
use crate::sim::Run;
use serde::Serialize;

mod why;

/// The class of a message's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    Delivered,
    Lost,
    Duplicated,
    Failed,
    NotSent,
    /// Sent in a transaction the application chose to abort, and never committed.
    Aborted,
}

/// One message's fate: its class and, for duplicates, how many times (4 bytes: one per message
/// of the run is kept; the times come from 16-bit copy and processing counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MessageFate {
    pub fate: Fate,
    pub times: u16,
}

/// The analysis of a run. Per-message facts that every pass needs (copies, home partition,
/// topic, the groups reading it) are computed once here, in one pass over the logs, so the
/// passes that follow (fates, flows, anomalies, cost) look them up by index.
pub struct Analysis<'a> {
    pub model: &'a Model,
    pub run: &'a Run,
    /// `copies[msg]`: copies of the message in its partition's committed log.
    pub copies: Vec<u16>,
    /// `home[msg]`: the partition whose committed log holds it (a keyless record re-sent after a
    /// producer restart may land elsewhere than first chosen), else the one send() chose
    /// (`NO_HOME`: none). Read through [`Analysis::home`].
    home: Vec<u16>,
    /// `topic[msg]`: the topic it was sent to (`Model::topic_of`, looked up once).
    topic: Vec<u16>,
    /// `readers[topic]`: the groups reading the topic as a destination (a processor's own group
    /// is not one: what it makes of a record is its output records, whose fates count apart).
    readers: Vec<Vec<u32>>,
}

/// A span of simulated time in 32 bits (no run lasts longer than `MAX_DURATION_MS`).
fn ms32(ms: u64) -> u32 {
    u32::try_from(ms).expect("a time within MAX_DURATION_MS")
}

/// `Analysis::home` of a message no partition holds and none was chosen for (a partition
/// fits in 16 bits: there are at most `MAX_PARTITIONS`, 10,000).
const NO_HOME: u16 = u16::MAX;

/// Result of one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ExpectResult {
    pub expectation: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
}

/// One anomaly check, named as Jepsen's Kafka checker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Anomaly {
    pub anomaly: String,
    pub count: u64,
    /// Up to three examples.
    pub examples: Vec<String>,
    /// Whether the configured guarantees allow it.
    pub expected: bool,
    pub meaning: String,
}

/// Latency percentiles in simulated milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Latency {
    pub samples: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    /// Nearest-rank percentiles of `v`, in ms (None when empty). A run's latencies fit in 32
    /// bits (it lasts at most `MAX_DURATION_MS`), so the long lists take 4 bytes a sample.
    pub fn of<T: Copy + Ord + Into<u64>>(mut v: Vec<T>) -> Option<Latency> {
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let rank = |q: f64| (((n as f64) * q).ceil() as usize).clamp(1, n) - 1;
        // Order statistics by selection, not a full sort: each `select_nth_unstable` leaves
        // the smaller values before the index, so the next, lower rank selects among them.
        let max_ms = (*v.iter().max().expect("not empty")).into();
        let (r99, r50) = (rank(0.99), rank(0.50));
        let p99_ms = (*v.select_nth_unstable(r99).1).into();
        let p50_ms = (*v[..=r99].select_nth_unstable(r50).1).into();
        Some(Latency { samples: n as u64, p50_ms, p99_ms, max_ms })
    }

    pub fn text(l: &Option<Latency>) -> String {
        l.map_or("-".into(), |l| format!("{} / {} / {}", l.p50_ms, l.p99_ms, l.max_ms))
    }
}

/// What a run cost, in simulated time and requests.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Cost {
    pub produce_requests: u64,
    pub retries: u64,
    pub simulated_ms: u64,
    /// Records delivered (processed, or written when nobody reads) per simulated second.
    pub throughput_per_s: f64,
    /// From send() to the producer's acknowledgement.
    pub produce_latency: Option<Latency>,
    /// From send() to the first processing by a group.
    pub end_to_end_latency: Option<Latency>,
}

/// One row of the flow summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Flow {
    pub flow: String,
    /// A topic-to-consumers flow (counts processing), not a producer-to-topic one (counts acks).
    #[serde(skip)]
    pub consuming: bool,
    pub config: String,
    pub guarantee: String,
    pub sent: u64,
    pub acked: u64,
    pub processed: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub failed: u64,
    pub holds: bool,
    pub verdict: String,
    /// Producer flows: send() to ack; group flows: send() to first processing.
    pub latency: Option<Latency>,
}

impl<'a> Analysis<'a> {
    pub fn new(model: &'a Model, run: &'a Run) -> Analysis<'a> {
        let mut copies = vec![0u16; model.total_messages as usize];
        let narrow = |p: PartitionIdx| u16::try_from(p).expect("fewer partitions than MAX_PARTITIONS");
        let mut home: Vec<u16> = run.world.messages.iter().map(|m| m.partition().map_or(NO_HOME, narrow)).collect();
        for p in 0..model.partitions.len() as u32 {
            for (_, m) in run.world.committed_msgs(p) {
                copies[m as usize] = copies[m as usize].saturating_add(1);
                home[m as usize] = narrow(p);
            }
        }
        let readers = (0..model.topics.len() as u32)
            .map(|t| {
                (0..model.groups.len() as u32)
                    .filter(|&g| {
                        let group = &model.groups[g as usize];
                        group.topics.contains(&t)
                            && !group.members.iter().all(|c| model.consumers[*c as usize].processor.is_some())
                    })
                    .collect()
            })
            .collect();
        Analysis { model, run, copies, home, topic: topics(model), readers }
    }

    /// The partition whose committed log holds `msg`, else the one send() chose for it.
    pub fn home(&self, msg: MsgId) -> Option<PartitionIdx> {
        Some(self.home[msg as usize]).filter(|&p| p != NO_HOME).map(PartitionIdx::from)
    }

    /// Groups that read `msg` as a destination: those subscribed to its topic and, for a group
    /// whose members `assign` partitions, holding the partition it is in.
    fn groups_for(&self, msg: MsgId) -> impl Iterator<Item = u32> + '_ {
        self.readers[usize::from(self.topic[msg as usize])]
            .iter()
            .copied()
            .filter(move |&g| self.in_assigned(&self.model.groups[g as usize], msg))
    }

    /// For a group whose members `assign` partitions, whether `msg` is in one of them.
    fn in_assigned(&self, group: &crate::model::GroupConfig, msg: MsgId) -> bool {
        !group.manual || self.home(msg).is_some_and(|p| group.partitions.contains(&p))
    }

    /// Times each group subscribed to the message's topic processed it: (group, times).
    pub fn processed_by(&self, msg: MsgId) -> Vec<(u32, u32)> {
        let w = &self.run.world;
        self.groups_for(msg).map(|g| (g, u32::from(w.processed[g as usize][msg as usize]))).collect()
    }

    pub fn fate(&self, msg: MsgId) -> MessageFate {
        let w = &self.run.world;
        let st = &w.messages[msg as usize];
        let copies = u32::from(self.copies[msg as usize]);
        let mk = |fate, times: u32| MessageFate { fate, times: u16::try_from(times).unwrap_or(u16::MAX) };
        if st.sent_at().is_none() {
            // An output a processor never produced, although its input was there, is lost.
            let parent_seen = self.model.is_derived(msg) && self.copies[self.model.derived(msg).parent as usize] > 0;
            return mk(if parent_seen { Fate::Lost } else { Fate::NotSent }, 0);
        }
        if copies == 0 && self.aborted(msg) {
            return mk(Fate::Aborted, 0);
        }
        // A processor output's failure reaches the processor, not a person: if it never lands,
        // its input went unprocessed, which is a loss.
        let told = st.failed().is_some() && !self.model.is_derived(msg);
        // Acknowledged, then gone from the committed log (a failover truncated it) with no
        // error to the producer: lost, even where a group had read it before (a lost write:
        // no later reader will see it).
        if copies == 0 && st.acked_at().is_some() && !told {
            return mk(Fate::Lost, 0);
        }
        let mut any_group = false;
        let mut missing = false;
        let mut max = 0u32;
        for g in self.groups_for(msg) {
            any_group = true;
            let n = u32::from(w.processed[g as usize][msg as usize]);
            missing |= n == 0;
            max = max.max(n);
        }
        if !any_group {
            return match copies {
                0 if told => mk(Fate::Failed, 0),
                0 => mk(Fate::Lost, 0),
                1 => mk(Fate::Delivered, 1),
                n => mk(Fate::Duplicated, n),
            };
        }
        if missing {
            return if told && copies == 0 { mk(Fate::Failed, 0) } else { mk(Fate::Lost, 0) };
        }
        if max > 1 { mk(Fate::Duplicated, max) } else { mk(Fate::Delivered, 1) }
    }

    /// Whether the message's only copy in the log belongs to a transaction that ended in an
    /// ABORT marker (the coordinator aborted it: a timeout, or a newer instance fencing it).
    /// Its send() had succeeded; the application learns of the abort from commitTransaction.
    fn aborted_in_log(&self, msg: MsgId) -> bool {
        let st = &self.run.world.messages[msg as usize];
        let (Some(p), Some(offset)) = (self.home(msg), st.offset()) else { return false };
        if self.model.txn_of(msg).is_none() || st.acked_at().is_none() {
            return false;
        }
        let r = self.run.world.log_replica(p);
        r.log.get(offset).is_some_and(|rec| rec.msg == msg && rec.kind == crate::sim::log::Kind::TxnData)
            && r.is_aborted(offset)
    }

    /// The transaction outcome (as the Transactions table states it) of a record whose
    /// transaction the coordinator aborted on its own, outside a `transaction { } abort` block.
    fn coordinator_abort(&self, msg: MsgId) -> Option<&str> {
        if self.in_aborted_block(msg) || !self.aborted_in_log(msg) {
            return None;
        }
        let w = &self.run.world;
        let st = &w.messages[msg as usize];
        let (p, offset, acked_at) = (self.home(msg)?, st.offset()?, st.acked_at()?);
        let rec = w.log_replica(p).log.at(offset);
        // The producer's transactions share its id and epoch: the record's is the first to
        // end after the record was acknowledged.
        w.txns
            .iter()
            .flat_map(|t| &t.history)
            .find(|h| {
                h.producer_id == rec.producer_id
                    && h.epoch == rec.producer_epoch
                    && h.partitions.contains(&p)
                    && h.transitions.last().is_some_and(|(_, at)| *at >= acked_at)
            })
            .map(|h| h.outcome.as_str())
    }

    /// Whether the message's transaction aborted: an `abort` block, or the coordinator's abort.
    pub(crate) fn aborted(&self, msg: MsgId) -> bool {
        self.in_aborted_block(msg) || self.aborted_in_log(msg)
    }

    /// Whether the message belongs to a `transaction { } abort` block.
    fn in_aborted_block(&self, msg: MsgId) -> bool {
        let p = self.model.producer_of(msg);
        self.model.txn_of(msg).is_some_and(|t| !self.model.producers[p as usize].transactions[t as usize].commit)
    }

    /// Why the message ended as it did, in a phrase.
    pub fn detail(&self, msg: MsgId) -> String {
        let st = &self.run.world.messages[msg as usize];
        let copies = u32::from(self.copies[msg as usize]);
        let processed = self.processed_by(msg);
        let failed_note = st.failed().map(|e| format!("producer got {e}")).unwrap_or_default();
        let f = self.fate(msg);
        match f.fate {
            Fate::NotSent => "send() never called (producer down or run over)".into(),
            Fate::Aborted => {
                let seen: Vec<String> = processed
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(g, _)| format!("{} (read_uncommitted) read it anyway", self.model.groups[*g as usize].name))
                    .collect();
                let how = match self.coordinator_abort(msg) {
                    Some(outcome) => {
                        // A commit block the application aborts: one of its records failed.
                        let p = &self.model.producers[self.model.producer_of(msg) as usize];
                        let by_app = outcome == "aborted by the application";
                        let t = self.model.txn_of(msg).filter(|_| by_app).map(|t| &p.transactions[t as usize]);
                        let first_failed = t.and_then(|t| {
                            (t.first_msg..t.end_msg).find_map(|m| {
                                let e = self.run.world.messages[m as usize].failed()?;
                                Some(format!(" after {} got {e}", self.model.value(m)))
                            })
                        });
                        format!("its transaction was {outcome}{}", first_failed.unwrap_or_default())
                    }
                    None => "in a transaction the producer aborted".into(),
                };
                join(&[&how, &seen.join(", ")])
            }
            Fate::Failed => failed_note,
            Fate::Lost if st.sent_at().is_none() => {
                let d = self.model.derived(msg);
                format!(
                    "{} never produced it from {} (its input was skipped)",
                    self.model.processors[d.processor as usize].name,
                    self.model.value(d.parent)
                )
            }
            Fate::Lost if self.model.is_derived(msg) && st.failed().is_some() => {
                let d = self.model.derived(msg);
                let proc = &self.model.processors[d.processor as usize];
                let how = if proc.seek_on_abort { "" } else { " and it did not seek back (seek.on.abort false)" };
                format!("{}'s transaction aborted after {}{how}", proc.name, st.failed().unwrap_or("an error"))
            }
            Fate::Lost => {
                if copies == 0 {
                    let read: Vec<String> = processed
                        .iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(g, _)| format!("{} had processed it", self.model.groups[*g as usize].name))
                        .collect();
                    join(&[&self.why_not_written(msg), &read.join(", ")])
                } else {
                    let g = processed.iter().find(|(_, n)| *n == 0).map_or(0, |(g, _)| *g);
                    self.why_not_processed(msg, g)
                }
            }
            Fate::Delivered if processed.is_empty() => join(&["written once", &failed_note]),
            Fate::Delivered => join(&["processed once", &failed_note]),
            Fate::Duplicated if processed.is_empty() => {
                join(&[&format!("{copies} copies in the log"), &self.why_copies(msg)])
            }
            Fate::Duplicated => {
                let (g, max) = processed.iter().max_by_key(|(_, n)| *n).copied().unwrap_or((0, 0));
                let group = &self.model.groups[g as usize];
                let name = &group.name;
                let why = if copies > 1 {
                    format!("{copies} copies in the log; processed x{max} by {name}")
                } else if !group.group_id {
                    format!(
                        "processed x{max} by {name}: with no group.id nothing is committed, so a restart reads again from auto.offset.reset"
                    )
                } else {
                    format!("processed x{max} by {name}: {}", self.why_redelivered(msg, g))
                };
                join(&[&why, &self.why_copies(msg)])
            }
        }
    }

    pub fn fates(&self) -> Vec<MessageFate> {
        (0..self.model.total_messages).map(|m| self.fate(m)).collect()
    }

    /// Messages the expectation scope counts: all, or those sent to a group's topics.
    fn in_scope(&self, msg: MsgId, scope: Option<Who>) -> Option<u32> {
        match scope {
            None => Some(u32::MAX),
            Some(w) => {
                let g = self.group_of(w);
                self.groups_for(msg).any(|x| x == g).then_some(g)
            }
        }
    }

    fn group_of(&self, w: Who) -> u32 {
        match w {
            Who::Group(g) => g,
            Who::Consumer(c) => self.model.consumers[c as usize].group,
        }
    }

    fn count(&self, fates: &[MessageFate], scope: Option<Who>, want: Fate) -> u64 {
        let w = &self.run.world;
        (0..self.model.total_messages)
            .filter(|m| {
                let f = &fates[*m as usize];
                match self.in_scope(*m, scope) {
                    None => false,
                    Some(u32::MAX) => f.fate == want,
                    Some(g) => {
                        let n = w.processed[g as usize][*m as usize];
                        match want {
                            Fate::Lost => n == 0 && f.fate != Fate::Failed && f.fate != Fate::NotSent,
                            Fate::Duplicated => n > 1,
                            Fate::Delivered => n == 1,
                            _ => f.fate == want,
                        }
                    }
                }
            })
            .count() as u64
    }

    /// Messages lost to retention: for one group, or for any group that reads their topic.
    fn count_lost_to_retention(&self, scope: Option<Who>) -> u64 {
        let groups: Vec<u32> = match scope {
            Some(w) => vec![self.group_of(w)],
            None => (0..self.model.groups.len() as u32).collect(),
        };
        (0..self.model.total_messages)
            .filter(|m| groups.iter().any(|g| self.lost_to_retention(*m, *g).is_some()))
            .count() as u64
    }

    /// Values processed by a consumer or a group, in processing order.
    pub fn processed_values(&self, who: Who) -> Vec<String> {
        self.run
            .world
            .processing
            .iter()
            .filter(|(c, _, _)| match who {
                Who::Consumer(x) => *c == x,
                Who::Group(g) => self.model.consumers[*c as usize].group == g,
            })
            .map(|(_, m, _)| self.model.value(*m))
            .collect()
    }

    pub fn expectations(&self, fates: &[MessageFate]) -> Vec<ExpectResult> {
        let facts = ExpectFacts {
            fate: &|m| fates[m as usize].fate,
            count: &|scope, want| self.count(fates, scope, want),
            log: &|p| self.run.world.committed_log(p).map(|(_, r)| r.msg).collect(),
            processed: &|who| self.processed_values(who),
            lost_to_retention: &|scope| Ok(self.count_lost_to_retention(scope)),
        };
        judge_expectations(self.model, &facts)
    }

    /// The anomaly checks: duplicate, lost write, unseen, aborted read (G1a), nonmonotonic
    /// poll, inconsistent offsets; each marked expected or not for the configured guarantees.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        let w = &self.run.world;
        let m = self.model;
        // One pass over the messages: each is checked against every anomaly once, and each
        // "expected for this configuration" verdict is judged until one is not.
        let [mut dups, mut lost, mut expired, mut unseen, mut g1a]: [Vec<MsgId>; 5] = Default::default();
        let found = |list: &mut Vec<MsgId>, x: MsgId| {
            list.push(x);
            true
        };
        let (mut dup_expected, mut lost_expected, mut expired_allowed, mut unseen_expected, mut g1a_expected) =
            (true, true, true, true, true);
        for x in 0..m.total_messages {
            let i = x as usize;
            let copies = self.copies[i];
            let st = &w.messages[i];
            let processed = |g: u32| w.processed[g as usize][i];
            // duplicate: two committed copies, or processed twice by one group.
            if (copies > 1 || self.groups_for(x).any(|g| processed(g) > 1)) && found(&mut dups, x) && dup_expected {
                let twice: Vec<u32> = self.groups_for(x).filter(|&g| copies > 0 && processed(g) > 1).collect();
                dup_expected = duplicate_allowed(m, x, u32::from(copies), &twice);
            }
            // lost write: acknowledged (not transactional) yet not in the committed log.
            if st.acked_at().is_some()
                && st.offset().is_some()
                && copies == 0
                && m.txn_of(x).is_none()
                && found(&mut lost, x)
                && lost_expected
            {
                lost_expected = loss_allowed(m, x);
            }
            // lost to retention: deleted before a group reading its topic processed it.
            let is_expired = copies > 0
                && !w.expired.is_empty()
                && self.groups_for(x).any(|g| self.lost_to_retention(x, g).is_some());
            if is_expired && found(&mut expired, x) && expired_allowed {
                expired_allowed = self
                    .groups_for(x)
                    .filter(|&g| self.lost_to_retention(x, g).is_some())
                    .all(|g| consumer_guarantee(&m.consumers[m.groups[g as usize].members[0] as usize]).1);
            }
            // unseen: committed, yet no group reading its topic ever polled it (nor lost it to
            // retention, counted above).
            let mut readers = self.groups_for(x).peekable();
            if copies > 0
                && readers.peek().is_some()
                && readers.all(|g| w.consumed[g as usize][i] == 0)
                && !is_expired
                && found(&mut unseen, x)
                && unseen_expected
            {
                unseen_expected = self.groups_for(x).any(|g| {
                    let c = &m.consumers[m.groups[g as usize].members[0] as usize];
                    c.auto_offset_reset == crate::model::OffsetReset::Latest
                });
            }
            // aborted read (G1a): a group processed a record that was never committed.
            if copies == 0
                && st.appended > 0
                && (m.is_derived(x) || m.txn_of(x).is_some())
                && self.groups_for(x).any(|g| processed(g) > 0)
                && found(&mut g1a, x)
                && g1a_expected
            {
                g1a_expected = self.groups_for(x).all(|g| {
                    let c = &m.consumers[m.groups[g as usize].members[0] as usize];
                    !c.read_committed || processed(g) == 0
                });
            }
        }
        let name = |msg: MsgId| m.value(msg);
        let pick = |v: Vec<String>| v.into_iter().take(3).collect::<Vec<_>>();
        let row = |anomaly: &str, found: &[MsgId], expected: bool, meaning: &str| Anomaly {
            anomaly: anomaly.into(),
            count: found.len() as u64,
            examples: found.iter().take(3).map(|x| name(*x)).collect(),
            expected: found.is_empty() || expected,
            meaning: meaning.into(),
        };
        let mut out = vec![
            row("duplicate", &dups, dup_expected, "a record committed twice, or processed twice by one group"),
            row("lost write", &lost, lost_expected, "acknowledged, then missing from the committed log"),
            row("unseen", &unseen, unseen_expected, "committed, but never polled by a group that reads its topic"),
            row("aborted read (G1a)", &g1a, g1a_expected, "a group processed a record that was never committed"),
        ];
        // (Only where retention or DeleteRecords can delete: other runs keep their table.)
        let deletes = m.faults.iter().any(|f| matches!(f.action, crate::model::FaultAction::DeleteRecords(..)));
        if deletes || m.topics.iter().any(|t| t.log.may_delete(m.run_for_ms)) || !expired.is_empty() {
            out.insert(
                2,
                row(
                    "lost to retention",
                    &expired,
                    expired_allowed,
                    "deleted (retention or DeleteRecords) before a group that reads its topic processed it",
                ),
            );
        }
        let nonmono: Vec<String> = w
            .nonmonotonic
            .iter()
            .map(|(c, p, from, to)| {
                format!("{} {}: {from} -> {to}", m.consumers[*c as usize].name, m.partition_name(*p))
            })
            .collect();
        out.push(Anomaly {
            anomaly: "nonmonotonic poll".into(),
            count: nonmono.len() as u64,
            examples: pick(nonmono),
            expected: w.nonmonotonic.is_empty(),
            meaning:
                "a poll returned an offset at or before one an earlier poll returned, with no seek or rebalance between"
                    .into(),
        });
        let inconsistent: Vec<String> = w
            .inconsistent
            .iter()
            .map(|(p, o, a, b)| format!("{}@{o}: {} then {}", m.partition_name(*p), m.value(*a), m.value(*b)))
            .collect();
        out.push(Anomaly {
            anomaly: "inconsistent offsets".into(),
            count: inconsistent.len() as u64,
            examples: pick(inconsistent),
            // Only a leader that lost acknowledged records (acks 0/1, unclean election) can
            // hand out an offset twice.
            expected: w.inconsistent.is_empty()
                || m.cluster.unclean_elections()
                || m.producers.iter().any(|p| p.acks != Acks::All),
            meaning: "one offset of a partition held different records at different polls".into(),
        });
        out
    }

    /// Records written out of send order: per producer and partition of the committed log, the
    /// records that come after a later send of the same producer.
    pub fn reordered(&self) -> u64 {
        let mut count = 0;
        for p in 0..self.model.partitions.len() as u32 {
            let mut latest: std::collections::BTreeMap<u32, MsgId> = std::collections::BTreeMap::new();
            for (_, r) in self.run.world.committed_log(p) {
                let producer = self.model.producer_of(r.msg);
                let seen = latest.entry(producer).or_insert(r.msg);
                if r.msg < *seen {
                    count += 1;
                } else {
                    *seen = r.msg;
                }
            }
        }
        count
    }

    /// The latency from `send()` to each first processing, in processing order, by the
    /// consumers `of` accepts: one pass over the processing history, which is in time order,
    /// with a bit a message (not a time a message and group: 16 MB for an exactly-once run of
    /// a million inputs).
    fn first_processing_latencies(&self, of: impl Fn(u32) -> bool, mut f: impl FnMut(MsgId, u32)) {
        let w = &self.run.world;
        let mut done = vec![0u64; (self.model.total_messages as usize).div_ceil(64)];
        for &(c, m, t) in &w.processing {
            let (word, bit) = (&mut done[m as usize / 64], 1 << (m % 64));
            if *word & bit != 0 || !of(c) {
                continue;
            }
            *word |= bit;
            if let Some(l) = w.messages[m as usize].sent_at().and_then(|sent| u64::from(t).checked_sub(sent)) {
                f(m, ms32(l));
            }
        }
    }

    pub fn cost(&self, fates: &[MessageFate]) -> Cost {
        let w = &self.run.world;
        let delivered = fates.iter().filter(|f| f.fate == Fate::Delivered || f.fate == Fate::Duplicated).count() as u64;
        // (Each list of latencies is reduced to its percentiles before the next is made.)
        let produce_latency = Latency::of(
            (0..self.model.total_messages)
                .filter_map(|m| {
                    let st = &w.messages[m as usize];
                    Some(ms32(st.acked_at()? - st.sent_at()?)).filter(|_| st.offset().is_some())
                })
                .collect::<Vec<u32>>(),
        );
        let mut end_to_end = Vec::new();
        self.first_processing_latencies(|_| true, |_, l| end_to_end.push(l));
        let end_to_end_latency = Latency::of(end_to_end);
        let simulated_ms = self.run.end_ms;
        Cost {
            produce_requests: w.producers.iter().map(|p| u64::from(p.next_request)).sum(),
            retries: w.producers.iter().map(|p| u64::from(p.retries)).sum(),
            simulated_ms,
            throughput_per_s: delivered as f64 * 1000.0 / simulated_ms.max(1) as f64,
            produce_latency,
            end_to_end_latency,
        }
    }

    pub fn flows(&self, fates: &[MessageFate]) -> Vec<Flow> {
        let mut out = Vec::new();
        let retried_once = self.duplicates_retried_under_one_producer_id();
        let w = &self.run.world;
        for p in &self.model.producers {
            // A processor instance sharing its application's outputs has no flow of its own.
            if p.processor.is_some() && p.message_count == 0 {
                continue;
            }
            let mut topics: Vec<u32> = match p.processor {
                Some(pi) => self.model.processors[pi as usize].outputs.clone(),
                None => p.sends.iter().map(|s| s.topic).collect(),
            };
            topics.sort_unstable();
            topics.dedup();
            for t in topics {
                // One pass over the producer's messages in the topic.
                let (mut sent, mut acked, mut failed, mut lost, mut duplicated) = (0u64, 0u64, 0u64, 0u64, 0u64);
                let mut retried_duplicate = false;
                let mut latencies = Vec::new();
                for m in
                    (p.first_msg..p.first_msg + p.message_count).filter(|m| u32::from(self.topic[*m as usize]) == t)
                {
                    let st = &w.messages[m as usize];
                    let copies = self.copies[m as usize];
                    sent += u64::from(st.sent_at().is_some());
                    acked += u64::from(st.acked_at().is_some());
                    failed += u64::from(st.failed().is_some() && copies == 0);
                    lost +=
                        u64::from(st.sent_at().is_some() && st.failed().is_none() && copies == 0 && !self.aborted(m));
                    duplicated += u64::from(copies > 1);
                    retried_duplicate = retried_duplicate || (copies > 1 && retried_once.contains(&m));
                    if let (Some(a), Some(at)) = (st.acked_at(), st.sent_at())
                        && st.offset().is_some()
                    {
                        latencies.push(ms32(a - at));
                    }
                }
                let (guarantee, may_lose, may_dup) = producer_guarantee(p);
                let problems = problems(lost, may_lose, duplicated, may_dup);
                let config = format!(
                    "acks={} retries={} idempotence={}",
                    p.acks.as_str(),
                    if p.retries == i32::MAX as u32 { "MAX".to_string() } else { p.retries.to_string() },
                    p.enable_idempotence
                );
                let latency = Latency::of(latencies);
                out.push(Flow {
                    consuming: false,
                    latency,
                    flow: format!("{} -> {}", p.name, self.model.topics[t as usize].name),
                    config,
                    guarantee: guarantee.into(),
                    sent,
                    acked,
                    processed: 0,
                    lost,
                    duplicated,
                    failed,
                    holds: problems.is_empty(),
                    verdict: verdict(&problems, p, retried_duplicate),
                });
            }
        }
        for (g, group) in self.model.groups.iter().enumerate() {
            let Some(&first) = group.members.first() else {
                continue;
            };
            let cfg = &self.model.consumers[first as usize];
            let by_outputs = processors_group(self.model, group);
            // Send to first processing, per topic of the group, for the records in the log.
            let mut latencies_of = vec![Vec::new(); group.topics.len()];
            let of_group = |c: u32| self.model.consumers[c as usize].group as usize == g;
            self.first_processing_latencies(of_group, |m, l| {
                if self.in_assigned(group, m) && self.copies[m as usize] > 0 {
                    for (k, _) in
                        group.topics.iter().enumerate().filter(|(_, t)| **t == u32::from(self.topic[m as usize]))
                    {
                        latencies_of[k].push(l);
                    }
                }
            });
            for (t, latencies) in group.topics.iter().zip(latencies_of) {
                // One pass over the topic's records in the log (those of the partitions the
                // group holds, for `assign`).
                let (mut in_log, mut processed, mut lost, mut duplicated, mut expired) = (0u64, 0u64, 0u64, 0u64, 0u64);
                for m in (0..self.model.total_messages).filter(|m| {
                    u32::from(self.topic[*m as usize]) == *t
                        && self.in_assigned(group, *m)
                        && self.copies[*m as usize] > 0
                }) {
                    in_log += 1;
                    let n = u32::from(w.processed[g][m as usize]);
                    let times =
                        if by_outputs { group_times(self.model, group, m, n, &|o| self.output_times(o)) } else { n };
                    processed += u64::from(times > 0);
                    lost += u64::from(times == 0);
                    duplicated += u64::from(times > 1);
                    // Records lost to retention are named apart from other losses.
                    expired += u64::from(self.lost_to_retention(m, g as u32).is_some());
                }
                let (guarantee, may_lose, may_dup) = consumer_guarantee(cfg);
                let mut problems = problems(lost.saturating_sub(expired), may_lose, duplicated, may_dup);
                if expired > 0 && !may_lose {
                    problems.insert(0, format!("{expired} lost to retention"));
                }
                let _ = fates;
                let config = match (cfg.commit, cfg.enable_auto_commit) {
                    (CommitMode::None, false) if cfg.processor.is_some() => "sendOffsetsToTransaction".to_string(),
                    (CommitMode::BeforeProcessing, _) => "commit before processing".to_string(),
                    (CommitMode::AfterProcessing, _) => "commit after processing".to_string(),
                    (CommitMode::None, true) => {
                        format!("auto-commit every {} ms", cfg.auto_commit_interval_ms)
                    }
                    (CommitMode::None, false) => "no commits".to_string(),
                };
                let latency = Latency::of(latencies);
                out.push(Flow {
                    consuming: true,
                    latency,
                    flow: format!("{} -> {}", self.model.topics[*t as usize].name, group.label()),
                    config,
                    guarantee: guarantee.into(),
                    sent: in_log,
                    acked: 0,
                    processed,
                    lost,
                    duplicated,
                    failed: 0,
                    holds: problems.is_empty(),
                    verdict: group_verdict(&problems, self.model, group),
                });
            }
        }
        out
    }

    /// A processor output's copies in the committed log, or 1 for one the processor's
    /// producer took on (sent, neither failed nor aborted) that the log then lost: that loss
    /// is the producer flow's, not its input's.
    fn output_times(&self, o: MsgId) -> u32 {
        let st = &self.run.world.messages[o as usize];
        match self.copies[o as usize] {
            0 => u32::from(st.sent_at().is_some() && st.failed().is_none() && !self.aborted(o)),
            n => u32::from(n),
        }
    }
}

/// Every message's topic, in one pass over the producers' sends and the processors' outputs
/// (what `Model::topic_of` finds for each by binary search), in 16 bits: every topic has a
/// partition, and there are at most `MAX_PARTITIONS` (10,000).
fn topics(model: &Model) -> Vec<u16> {
    const _: () = assert!(crate::model::limits::MAX_PARTITIONS < u16::MAX as u64);
    let narrow = |t: u32| u16::try_from(t).expect("fewer topics than MAX_PARTITIONS");
    let mut topic = vec![u16::MAX; model.total_messages as usize];
    for s in model.producers.iter().filter(|p| p.processor.is_none()).flat_map(|p| &p.sends) {
        let range = s.first_msg as usize..(s.first_msg + s.count) as usize;
        topic.get_mut(range).into_iter().flatten().for_each(|t| *t = narrow(s.topic));
    }
    for (i, d) in model.derived.iter().enumerate() {
        if let Some(t) = topic.get_mut(model.sent_messages as usize + i) {
            *t = narrow(d.topic);
        }
    }
    debug_assert!(topic.iter().enumerate().all(|(m, &t)| u32::from(t) == model.topic_of(m as MsgId)));
    topic
}

/// Whether every member of `group` (it has some) is a processor's consumer: then its
/// processing counts by its outputs ([`group_times`]).
pub(crate) fn processors_group(model: &Model, group: &crate::model::GroupConfig) -> bool {
    !group.members.is_empty() && group.members.iter().all(|c| model.consumers[*c as usize].processor.is_some())
}

/// How many times a group's processing of `msg` took effect: for a consumer group, the times
/// it processed it; for a processor's group, judged on the record's outputs, since a
/// processing whose transaction aborted leaves nothing (KIP-98): the most `output` gives any
/// of them, or for a record with no outputs (`when` false) whether it was processed at all.
/// The simulator's analysis and the history checker each give `output` from their facts.
pub(crate) fn group_times(
    model: &Model,
    group: &crate::model::GroupConfig,
    msg: MsgId,
    processed: u32,
    output: &dyn Fn(MsgId) -> u32,
) -> u32 {
    let processor = |c: &u32| model.consumers[*c as usize].processor;
    if !processors_group(model, group) {
        return processed;
    }
    // Instances of one application share its outputs.
    match group.members.iter().filter_map(processor).find_map(|p| model.processors[p as usize].outputs_of.get(&msg)) {
        Some(&(first, n)) => (first..first + n).map(output).max().unwrap_or(0),
        None => processed.min(1),
    }
}

/// A group flow's (processed, lost, duplicated) from each record's `group_times`.
pub(crate) fn tally(times: &[u32]) -> (u64, u64, u64) {
    let count = |p: &dyn Fn(u32) -> bool| times.iter().filter(|n| p(**n)).count() as u64;
    (count(&|n| n > 0), count(&|n| n == 0), count(&|n| n > 1))
}

/// A flow's problems: the losses and duplicates its guarantee does not allow.
pub(crate) fn problems(lost: u64, may_lose: bool, duplicated: u64, may_dup: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if lost > 0 && !may_lose {
        problems.push(format!("{lost} lost"));
    }
    if duplicated > 0 && !may_dup {
        problems.push(format!("{duplicated} duplicated"));
    }
    problems
}

/// A group flow's verdict: `holds`, or its problems with a hint at the setting to blame.
pub(crate) fn group_verdict(problems: &[String], model: &Model, group: &crate::model::GroupConfig) -> String {
    if problems.is_empty() {
        return "holds".into();
    }
    // After an aborted transaction a read-process-write loop goes back to the committed
    // offsets (Kafka Streams: TaskManager.closeDirtyAndRevive); one that goes on from its
    // position skips the aborted transaction's inputs.
    let skipped = group.members.iter().filter_map(|c| model.consumers[*c as usize].processor).any(|p| {
        let p = &model.processors[p as usize];
        p.guarantee == Guarantee::ExactlyOnce && !p.seek_on_abort
    });
    let hint = if skipped && problems.iter().any(|x| x.contains("lost")) {
        " (seek.on.abort false: the inputs of an aborted transaction were skipped)"
    } else {
        ""
    };
    format!("violated: {}{hint}", problems.join(", "))
}

/// Whether the flows that count a duplicate of `msg` allow it, as the Flows table judges: its
/// producer's guarantee when the log holds `copies` > 1, and the guarantee of each group in
/// `twice` (groups that processed it more than once).
pub(crate) fn duplicate_allowed(model: &Model, msg: MsgId, copies: u32, twice: &[u32]) -> bool {
    let producer = &model.producers[model.producer_of(msg) as usize];
    (copies <= 1 || producer_guarantee(producer).2)
        && twice.iter().all(|g| consumer_guarantee(&model.consumers[model.groups[*g as usize].members[0] as usize]).2)
}

/// Whether the guarantee of the producer flow that counts `msg` lost allows the loss.
pub(crate) fn loss_allowed(model: &Model, msg: MsgId) -> bool {
    producer_guarantee(&model.producers[model.producer_of(msg) as usize]).1
}

/// The guarantee a producer's config gives, and whether it allows loss and duplicates.
pub(crate) fn producer_guarantee(p: &crate::model::ProducerConfig) -> (&'static str, bool, bool) {
    if p.transactional_id.is_some() {
        ("exactly-once (transactional)", false, false)
    } else if p.acks == Acks::Zero || p.retries == 0 {
        ("at-most-once", true, false)
    } else if p.enable_idempotence {
        ("exactly-once per partition (idempotent)", false, false)
    } else {
        ("at-least-once", false, true)
    }
}

pub(crate) fn consumer_guarantee(c: &crate::model::ConsumerConfig) -> (&'static str, bool, bool) {
    // A processor's input: whether a record counts as processed is judged on its outputs
    // (`group_times`), so a processing whose transaction aborted does not count.
    if c.processor.is_some() && c.commit == CommitMode::None {
        return ("exactly-once (offsets in transactions)", false, false);
    }
    match (c.commit, c.enable_auto_commit, c.guarantee) {
        (CommitMode::BeforeProcessing, _, _) | (_, _, Some(Guarantee::AtMostOnce)) => ("at-most-once", true, false),
        (CommitMode::AfterProcessing, _, _) | (CommitMode::None, true, _) => ("at-least-once", false, true),
        (CommitMode::None, false, _) => ("none (no commits)", true, true),
    }
}

/// A producer flow's verdict: `holds`, or its problems with a hint at the setting to blame.
/// `expired`: a duplicate is a retry under the same producer id, whose state had expired.
pub(crate) fn verdict(problems: &[String], cfg: &crate::model::ProducerConfig, expired: bool) -> String {
    if problems.is_empty() {
        return "holds".into();
    }
    let hint = if cfg.acks == Acks::One && problems.iter().any(|x| x.contains("lost")) {
        " (acks=1: acked before replication)"
    } else if expired && problems.iter().any(|x| x.contains("duplicated")) {
        " (idempotence holds while the partition keeps the producer id's state: producer.id.expiration.ms)"
    } else if cfg.enable_idempotence && problems.iter().any(|x| x.contains("duplicated")) {
        " (idempotence holds per producer id; a restart gets a new one)"
    } else {
        ""
    };
    format!("violated: {}{hint}", problems.join(", "))
}

/// What a run showed, as the expectations ask it: a message's fate, how many messages (of a
/// flow) had a fate, a partition's committed log, what a client processed. The simulator's
/// analysis and the recorded-history checker (`history::check`) each answer from their facts.
pub(crate) struct ExpectFacts<'a> {
    pub fate: &'a dyn Fn(MsgId) -> Fate,
    pub count: &'a dyn Fn(Option<Who>, Fate) -> u64,
    pub log: &'a dyn Fn(PartitionIdx) -> Vec<MsgId>,
    pub processed: &'a dyn Fn(Who) -> Vec<String>,
    /// How many messages (in a group's scope, or any group's) were lost to retention, or why
    /// that is not known.
    pub lost_to_retention: &'a dyn Fn(Option<Who>) -> Result<u64, &'static str>,
}

/// The scenario's `expect` lines judged against one run's facts.
pub(crate) fn judge_expectations(model: &Model, f: &ExpectFacts<'_>) -> Vec<ExpectResult> {
    model
        .expects
        .iter()
        .map(|e| {
            let (expected, actual) = match &e.check {
                ExpectCheck::Lost { value, scope } => (value.to_string(), (f.count)(*scope, Fate::Lost).to_string()),
                ExpectCheck::Duplicates { value, scope } => {
                    (value.to_string(), (f.count)(*scope, Fate::Duplicated).to_string())
                }
                ExpectCheck::Delivered { value, scope } => {
                    (value.to_string(), (f.count)(*scope, Fate::Delivered).to_string())
                }
                ExpectCheck::LostToRetention { value, scope } => {
                    let actual = (f.lost_to_retention)(*scope).map_or_else(|why| why.to_string(), |n| n.to_string());
                    (value.to_string(), actual)
                }
                ExpectCheck::Message { msg, outcome } => {
                    let want = match outcome {
                        OutcomeKind::Lost => "lost",
                        OutcomeKind::Delivered => "delivered",
                        OutcomeKind::Duplicated => "duplicated",
                        OutcomeKind::Failed => "failed",
                        OutcomeKind::Aborted => "aborted",
                    };
                    (want.to_string(), fate_word((f.fate)(*msg)).to_string())
                }
                ExpectCheck::Log { partition, values } => {
                    let log: Vec<String> = (f.log)(*partition).into_iter().map(|m| model.value(m)).collect();
                    (list(values), list(&log))
                }
                ExpectCheck::ProcessedList { who, values } => (list(values), list(&(f.processed)(*who))),
                ExpectCheck::ProcessedCount { who, count } => {
                    (count.to_string(), (f.processed)(*who).len().to_string())
                }
            };
            ExpectResult { expectation: e.text.clone(), passed: expected == actual, expected, actual }
        })
        .collect()
}

pub fn fate_word(f: Fate) -> &'static str {
    match f {
        Fate::Delivered => "delivered",
        Fate::Lost => "lost",
        Fate::Duplicated => "duplicated",
        Fate::Failed => "failed",
        Fate::NotSent => "not sent",
        Fate::Aborted => "aborted",
    }
}

pub(crate) fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

fn join(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("; ")
}
