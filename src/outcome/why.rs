//! The "why" column: the cause a run shows for each message that did not end delivered once
//! (which fault, timeout or setting, and who it hit), read from the world the run ended in and
//! from its history (fired faults, processings, group membership changes).

use super::Analysis;
use crate::ast::CommitMode;
use crate::model::{Acks, Client, FaultAction, MsgId, Node, OffsetReset};
use crate::sim::world::{Membership, Phase};

impl Analysis<'_> {
    /// Why group `g` processed `msg` again: which member processed it first, what the run did
    /// to that member before its offset was committed (a fault line that fired, a timeout that
    /// expired, another member joining or leaving), and the commit configuration that left the
    /// offset uncommitted.
    pub(super) fn why_redelivered(&self, msg: MsgId, g: u32) -> String {
        let m = self.model;
        let w = &self.run.world;
        let times: Vec<(u32, u64)> = w
            .processing
            .iter()
            .filter(|(c, x, _)| *x == msg && m.consumers[*c as usize].group == g)
            .map(|&(c, _, t)| (c, u64::from(t)))
            .collect();
        let (Some(&(first, t1)), Some(&(again, t2))) = (times.first(), times.get(1)) else {
            return "redelivered before its offset was committed".into();
        };
        let c = &m.consumers[first as usize];
        if !c.read_committed {
            if let Some(at) = self.aborted_copy(msg) {
                let again =
                    if again == first { String::new() } else { format!(" by {}", m.consumers[again as usize].name) };
                return format!(
                    "{} (read_uncommitted) processed it at {t1} ms from its copy at {at}, whose transaction aborted, and again at {t2} ms{again} from the copy a later transaction committed",
                    c.name
                );
            }
        }
        // Kafka's consumer commits what it processed only when told (commitSync after
        // processing) or on the auto-commit timer (auto.commit.interval.ms, checked in poll).
        let window = match c.commit {
            _ if c.enable_auto_commit => format!(
                "before auto-commit (auto.commit.interval.ms {} ms) committed its offset",
                c.auto_commit_interval_ms
            ),
            CommitMode::AfterProcessing => "before it committed its offset (commit after-processing)".into(),
            CommitMode::BeforeProcessing => "before its offset was committed".into(),
            CommitMode::None => "and nothing commits its offset (commit none)".into(),
        };
        let hit = m.faults.iter().enumerate().find_map(|(i, f)| {
            let on_first = matches!(f.action,
                FaultAction::CrashClient(Client::Consumer(x)) | FaultAction::PauseClient(Client::Consumer(x)) if x == first);
            let fired = w.fired[i].iter().find(|&&t| t >= t1 && t <= t2)?;
            on_first.then(|| format!("`{}` fired at {fired} ms", f.name))
        });
        let who = &c.name;
        let again_name = &m.consumers[again as usize].name;
        // A member that left (or was expired) goes on with the records it has until its next
        // commit or group request tells it that it is out (a cut-off one keeps fetching).
        let out_since = |x: u32, t: u64| match w.membership.iter().filter(|(at, c, _)| *c == x && *at <= t).last() {
            Some(&(
                td,
                _,
                how @ (Membership::MaxPollInterval | Membership::SessionTimeout | Membership::RebalanceTimeout),
            )) => Some(self.change_text(td, x, how)),
            _ => None,
        };
        if again != first {
            if let Some(change) = out_since(first, t1) {
                return format!(
                    "{who} processed it at {t1} ms, out of the group since {change} without knowing it yet; {again_name}, which had its partition, read it at {t2} ms"
                );
            }
            if let Some(change) = out_since(again, t2) {
                return format!(
                    "{who} processed it at {t1} ms; {again_name}, out of the group since {change} without knowing it yet, processed it again at {t2} ms"
                );
            }
        }
        let moved = if again == first {
            "its group rebalanced".to_string()
        } else {
            format!("the group gave its partition to {again_name}")
        };
        let then = match (hit, self.membership_change(g, first, t1, t2)) {
            (Some(fault), _) => fault,
            (None, Some((change, true))) => format!("{change} and {moved}"),
            (None, Some((change, false))) if again == first => format!("its group rebalanced after {change}"),
            (None, Some((change, false))) => format!("the rebalance after {change} gave its partition to {again_name}"),
            (None, None) => moved,
        };
        let what = format!("{who} processed it at {t1} ms, then {then}");
        let reread = if again == first {
            format!("it read it again at {t2} ms")
        } else {
            format!("{again_name} read it again at {t2} ms")
        };
        format!("{what}, {window}; {reread}")
    }

    /// Where the log holds a copy of `msg` in an aborted transaction (`partition@offset`),
    /// beside the copy that counts: what a read_uncommitted reader reads as well.
    fn aborted_copy(&self, msg: MsgId) -> Option<String> {
        let p = self.home(msg)?;
        let r = self.run.world.log_replica(p);
        let o = r.log.iter().enumerate().position(|(o, rec)| {
            rec.msg == msg && rec.kind == crate::sim::log::Kind::TxnData && r.is_aborted(o as u64)
        })?;
        Some(format!("{}@{o}", self.model.partition_name(p)))
    }

    /// The membership change in group `g` that moved `member`'s partition after it processed
    /// a record at `from` and before another read it at `to`: its own departure in between
    /// (max.poll.interval.ms, session.timeout.ms, close), else the last change of anyone up to
    /// `to` (a join or a departure that started the rebalance), as a phrase.
    /// Also says whether it is `member`'s own departure.
    fn membership_change(&self, g: u32, member: u32, from: u64, to: u64) -> Option<(String, bool)> {
        let m = self.model;
        let w = &self.run.world;
        let changes = || w.membership.iter().filter(|(t, c, _)| *t <= to && m.consumers[*c as usize].group == g);
        let own = changes().find(|(t, c, how)| *t >= from && *c == member && *how != Membership::Joined);
        let (&(t, c, how), own) = match own {
            Some(x) => (x, true),
            None => (changes().last()?, false),
        };
        Some((self.change_text(t, c, how), own))
    }

    /// One membership change as a phrase: who, what expired (with its setting) or joined, when.
    fn change_text(&self, t: u64, c: u32, how: Membership) -> String {
        let m = self.model;
        let w = &self.run.world;
        let cfg = &m.consumers[c as usize];
        let name = &cfg.name;
        match how {
            Membership::Joined => format!("{name} joined the group at {t} ms"),
            Membership::MaxPollInterval => {
                format!("max.poll.interval.ms ({} ms) expired for {name} at {t} ms", cfg.max_poll_interval_ms)
            }
            Membership::RebalanceTimeout => format!(
                "the rebalance timeout (max.poll.interval.ms, {} ms) of a revocation expired for {name} at {t} ms",
                cfg.max_poll_interval_ms
            ),
            Membership::SessionTimeout => {
                // What silenced it: the last fault before the expiry that crashed, paused or
                // cut it off.
                let silenced = m
                    .faults
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| self.silences(f, c))
                    .filter_map(|(i, f)| w.fired[i].iter().filter(|&&x| x <= t).max().map(|x| (*x, &f.name)))
                    .max()
                    .map(|(x, f)| format!(" (silent since `{f}` fired at {x} ms)"))
                    .unwrap_or_default();
                format!("session.timeout.ms ({} ms) expired for {name} at {t} ms{silenced}", cfg.session_timeout_ms)
            }
            Membership::Closed => format!("{name} closed after an error at {t} ms"),
        }
    }

    /// Whether the fault line stops consumer `c`'s heartbeats: crashes or pauses it, or cuts
    /// its links.
    fn silences(&self, f: &crate::model::FaultSpec, c: u32) -> bool {
        let me = Node::Client(Client::Consumer(c));
        match &f.action {
            FaultAction::CrashClient(Client::Consumer(x)) | FaultAction::PauseClient(Client::Consumer(x)) => *x == c,
            FaultAction::Partition(links) => links.iter().any(|(a, b)| *a == me || *b == me),
            _ => false,
        }
    }

    /// The first fired fault line that crashed or paused a member of group `g`: (member, line,
    /// when).
    fn member_crash(&self, g: u32) -> Option<(u32, &str, u64)> {
        let m = self.model;
        m.faults
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f.action {
                FaultAction::CrashClient(Client::Consumer(c)) | FaultAction::PauseClient(Client::Consumer(c))
                    if m.consumers[c as usize].group == g =>
                {
                    Some((c, f.name.as_str(), *self.run.world.fired[i].first()?))
                }
                _ => None,
            })
            .min_by_key(|(_, _, t)| *t)
    }

    pub(super) fn why_not_written(&self, msg: MsgId) -> String {
        let st = &self.run.world.messages[msg as usize];
        let p = self.model.producer_of(msg) as usize;
        if st.appended > 0 && st.truncated >= st.appended {
            let acked = if st.acked_at().is_some() { "acked, then " } else { "" };
            return format!("{acked}truncated away after a leader failover");
        }
        if st.attempts == 0 {
            return if st.dropped_by_crash { "producer crashed before sending it".into() } else { "never sent".into() };
        }
        if self.model.producers[p].acks == Acks::Zero {
            return "never written (acks=0: no ack, no retry)".into();
        }
        if let Some(why) = self.unstable(msg) {
            return why;
        }
        if st.acked_at().is_none() {
            if !self.run.world.producers[p].alive {
                return "never written; the producer crashed before it was acknowledged".into();
            }
            return format!("never written; not acknowledged when the run ended: {}", self.outstanding(msg));
        }
        // Acknowledged, never truncated from a replica, yet not in the committed log: the
        // replica that took over as leader never had it.
        let how =
            if self.model.cluster.unclean_elections() { "an unclean leader election" } else { "a leader failover" };
        format!("acked, then gone after {how}: the new leader never had it")
    }

    /// Where an unacknowledged message was when the run ended: in a request to a broker (and
    /// what held that request up), waiting to be retried, or still in the producer's buffer.
    fn outstanding(&self, msg: MsgId) -> String {
        let w = &self.run.world;
        let p = self.model.producer_of(msg);
        let prod = &w.producers[p as usize];
        let Some((&id, batch)) = prod.batches.iter().find(|(_, b)| b.msgs.contains(&msg)) else {
            return "it was in no batch of the producer".into();
        };
        let part = self.model.partition_name(batch.partition);
        let Some((&req, f)) = prod.in_flight.iter().find(|(_, f)| f.batch == id) else {
            return match batch.last_error {
                Some(e) => format!("waiting to retry after {e} (attempt {} done)", batch.attempts),
                None => format!("in the producer's buffer for {part}, not yet sent"),
            };
        };
        let b = f.broker;
        let sent = format!("attempt {} sent to broker {b} at {} ms", f.attempt, f.sent_at);
        let partition = &w.partitions[batch.partition as usize];
        if partition.pending.iter().any(|x| x.producer == p && x.req == req && x.broker == b) {
            // acks=all: the leader answers once the in-sync replicas have the batch
            // (`DelayedProduce`), and with fewer than min.insync.replicas it fails instead.
            let isr = crate::sim::world::members(partition.isr);
            let min = self.model.topics[self.model.topic_of(msg) as usize].min_insync_replicas;
            return format!(
                "{sent}, appended there and waiting for the isr {isr:?} to replicate it (acks=all, min.insync.replicas {min})"
            );
        }
        let me = Node::Client(Client::Producer(p));
        let broker = w.broker(b);
        let held = if !broker.alive {
            "; broker {b} was down"
        } else if broker.paused {
            "; broker {b} was paused"
        } else if w.cut.contains(&(me, Node::Broker(b))) || w.cut.contains(&(Node::Broker(b), me)) {
            "; the link to broker {b} was cut"
        } else if w.stalled.contains_key(&(p, b)) {
            "; a lost request or response stalled the connection until the request timeout"
        } else {
            ""
        };
        format!("{sent}, no answer yet{}", held.replace("{b}", &b.to_string()))
    }

    /// A transactional record in the log past the last stable offset: its transaction never
    /// completed (its markers never all reached the in-sync replicas), so no read_committed
    /// reader and no committed-log count can pass it.
    fn unstable(&self, msg: MsgId) -> Option<String> {
        let w = &self.run.world;
        let (p, offset) = (w.messages[msg as usize].partition()?, w.messages[msg as usize].offset()?);
        let r = w.log_replica(p);
        let here = r.log.get(offset).is_some_and(|rec| rec.msg == msg && rec.kind == crate::sim::log::Kind::TxnData);
        if !here || offset < r.last_stable_offset() {
            return None;
        }
        let rec = r.log.at(offset);
        let txn = w.txns.iter().find(|t| t.producer_id == rec.producer_id)?;
        Some(format!(
            "in the log at {}@{offset} but past the last stable offset {}: its transaction never completed ({})",
            self.model.partition_name(p),
            r.last_stable_offset(),
            txn.state.name()
        ))
    }

    /// When and why `msg` was deleted, if group `g` never processed it because its position
    /// jumped over it after the log start offset had passed it (retention or DeleteRecords):
    /// a record lost to retention.
    pub(crate) fn lost_to_retention(&self, msg: MsgId, g: u32) -> Option<(u64, crate::sim::log::Deletion)> {
        let w = &self.run.world;
        let st = &w.messages[msg as usize];
        let (p, offset) = (self.home(msg)?, st.offset()?);
        let skipped = w.expired.iter().any(|&(eg, ep, from, to)| eg == g && ep == p && from <= offset && offset < to);
        (skipped && w.processed[g as usize][msg as usize] == 0).then_some(*w.deleted.get(&msg)?)
    }

    pub(super) fn why_not_processed(&self, msg: MsgId, g: u32) -> String {
        let name = &self.model.groups[g as usize].name;
        if let Some((at, why)) = self.lost_to_retention(msg, g) {
            return format!(
                "lost to retention: deleted ({}) at {at} ms before {name} consumed it; its position was reset past it",
                why.setting()
            );
        }
        if self.run.world.consumed[g as usize][msg as usize] > 0 {
            format!("polled by {name} but never processed: {}", self.why_polled_only(g))
        } else {
            format!("never read by {name}: {}", self.why_unread(msg, g))
        }
    }

    /// Why a record a member of group `g` polled was never processed by any member: the commit
    /// setting that moved its offset past it (or did not) and what stopped the member.
    fn why_polled_only(&self, g: u32) -> String {
        let m = self.model;
        let group = &m.groups[g as usize];
        let Some(&c0) = group.members.first() else { return "the run ended first".into() };
        let cfg = &m.consumers[c0 as usize];
        let stopped = self.member_crash(g).map(|(c, line, t)| (&m.consumers[c as usize].name, line, t));
        match (cfg.commit, stopped) {
            // commitSync before processing: the restarted member (or the next owner) resumes
            // after the offset it committed.
            (CommitMode::BeforeProcessing, Some((who, line, t))) => format!(
                "its offset was committed before processing (commit before-processing), then `{line}` stopped {who} at {t} ms before it processed it"
            ),
            (CommitMode::BeforeProcessing, None) => {
                "its offset was committed before processing (commit before-processing) and the run ended before it was processed".into()
            }
            (_, Some((who, line, t))) => {
                format!("`{line}` stopped {who} at {t} ms before it processed it, and no member read it again before the run ended")
            }
            (_, None) => "the run ended before it was processed".into(),
        }
    }

    /// Why no member of group `g` ever polled `msg`: its position started past it
    /// (auto.offset.reset latest), no member held its partition, the member that held it was
    /// down or paused, or the run ended before it fetched that far.
    fn why_unread(&self, msg: MsgId, g: u32) -> String {
        let m = self.model;
        let w = &self.run.world;
        let group = &m.groups[g as usize];
        let (Some(p), Some(offset)) = (self.home(msg), w.messages[msg as usize].offset()) else {
            return "it was in no partition's log when the group read".into();
        };
        let part = m.partition_name(p);
        // A position (or a committed offset) past the record that never returned it: the
        // position started past it. Only the reset policy sets a position without a fetch
        // (`SubscriptionState.resetInitializingPositions`).
        let past = w.groups[g as usize].committed.get(&p).is_some_and(|o| *o > offset)
            || group.members.iter().any(|c| w.consumers[*c as usize].positions.get(&p).is_some_and(|o| *o > offset));
        let latest = group.members.iter().any(|c| m.consumers[*c as usize].auto_offset_reset == OffsetReset::Latest);
        // Without `latest` a position passes a record it never returned when the record's
        // offset held another record by the time the group read it: the log was truncated under
        // it and rewritten, and the run ended (a `run for` limit, a crash) before the consumer
        // validated its position against the new leader epoch (KIP-320).
        if past && latest {
            return format!(
                "it started at the end of {part} (auto.offset.reset latest, Kafka's default), past offset {offset}"
            );
        }
        if past {
            return format!("its position on {part} passed offset {offset} without returning it");
        }
        let holder = group.members.iter().copied().find(|c| {
            let s = &w.consumers[*c as usize];
            match &m.consumers[*c as usize].assigned {
                Some(manual) => manual.contains(&p) && s.phase != Phase::Down,
                None => s.assignment.contains(&p),
            }
        });
        let crash = self.member_crash(g).map(|(c, line, t)| (&m.consumers[c as usize].name, line, t));
        let Some(c) = holder else {
            return match crash {
                Some((who, line, t)) => {
                    format!("no member held {part} when the run ended (`{line}` stopped {who} at {t} ms)")
                }
                None => format!("no member held {part} when the run ended"),
            };
        };
        let s = &w.consumers[c as usize];
        let name = &m.consumers[c as usize].name;
        if s.phase == Phase::Down || s.phase == Phase::Failed {
            let how = crash.map(|(_, line, t)| format!(" (`{line}` fired at {t} ms)")).unwrap_or_default();
            return format!("{name}, which held {part}, was down when the run ended{how}");
        }
        if w.paused.contains(&Client::Consumer(c)) {
            return format!("{name}, which held {part}, was paused when the run ended");
        }
        match s.positions.get(&p) {
            Some(pos) => format!("the run ended before {name} fetched it (its position on {part} was {pos})"),
            None => format!("the run ended before {name} had a position on {part}"),
        }
    }

    pub(super) fn why_copies(&self, msg: MsgId) -> String {
        let st = &self.run.world.messages[msg as usize];
        if self.copies[msg as usize] > 1 && self.model.is_derived(msg) {
            let d = self.model.derived(msg);
            let name = &self.model.processors[d.processor as usize].name;
            let input = self.model.value(d.parent);
            // The processor's consumer half read its input twice: the same causes as a group's
            // redelivery, in the processor's own group.
            let own = self.model.consumers.iter().find(|c| c.processor == Some(d.processor)).map(|c| c.group);
            return match own {
                Some(g) => format!("{name} processed {input} again: {}", self.why_redelivered(d.parent, g)),
                None => format!("{name} processed {input} again before its offsets were committed"),
            };
        }
        if self.copies[msg as usize] > 1 {
            let p = &self.model.producers[self.model.producer_of(msg) as usize];
            if p.enable_idempotence {
                if let Some(pid) = self.retried_under_one_producer_id(msg) {
                    // (Without expiry in the run, the state went with a log restarted at the
                    // leader's log start offset.)
                    let why = if self.model.cluster.producer_ids_may_expire(self.model.run_for_ms) {
                        "the partition had forgotten its state (producer.id.expiration.ms)"
                    } else {
                        "its leader's log had restarted at the log start offset, without its state"
                    };
                    return format!("a retry was appended again under the same producer id {pid}: {why}");
                }
                return "the producer re-sent it under a new producer id after a restart".into();
            }
            return format!("written again by a retry ({} attempts, no idempotence)", st.attempts);
        }
        String::new()
    }

    /// The messages [`Analysis::retried_under_one_producer_id`] names a producer id for, among
    /// those the committed log holds more than once: one pass over the logs (asking each
    /// duplicated message alone scans its partition's log once per message).
    pub(super) fn duplicates_retried_under_one_producer_id(&self) -> std::collections::BTreeSet<MsgId> {
        use std::collections::btree_map::{BTreeMap, Entry};
        type Key = (u32, u16, i32);
        // Each duplicated message's first copy's (producer id, epoch, sequence), and whether
        // every later copy has the same.
        let mut seen: BTreeMap<MsgId, (Key, bool)> = BTreeMap::new();
        if self.copies.iter().all(|&c| c <= 1) {
            return Default::default();
        }
        for p in 0..self.model.partitions.len() as u32 {
            for x in self.run.world.log_replica(p).log.iter() {
                if x.is_marker() || self.copies[x.msg as usize] <= 1 || self.home(x.msg) != Some(p) {
                    continue;
                }
                let key = (x.producer_id, x.producer_epoch, x.sequence);
                match seen.entry(x.msg) {
                    Entry::Vacant(v) => {
                        v.insert((key, true));
                    }
                    Entry::Occupied(mut o) => {
                        let (first, same) = o.get_mut();
                        *same &= *first == key;
                    }
                }
            }
        }
        seen.into_iter()
            .filter(|(_, (first, same))| *same && first.0 != crate::sim::log::NO_PRODUCER_ID)
            .map(|(m, _)| m)
            .collect()
    }

    /// The producer id of a message whose copies all carry the same producer id, epoch and
    /// sequence: a retry the partition accepted because it no longer had the producer id's
    /// state (`producer.id.expiration.ms`; scn keeps the last five batches of a live one).
    pub(super) fn retried_under_one_producer_id(&self, msg: MsgId) -> Option<u32> {
        let r = self.run.world.log_replica(self.home(msg)?);
        let mut ids = r
            .log
            .iter()
            .filter(|x| x.msg == msg && !x.is_marker())
            .map(|x| (x.producer_id, x.producer_epoch, x.sequence));
        let first = ids.next()?;
        (first.0 != crate::sim::log::NO_PRODUCER_ID && ids.all(|x| x == first)).then_some(first.0)
    }
}
