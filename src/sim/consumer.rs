//! The consumer's poll loop: join, starting positions, fetch, poll (max.poll.records),
//! commit before or after processing, auto-commit at poll, and processing record by record.

use super::Sim;
use super::event::{Event, FetchError, GroupReply, GroupRequest};
use super::fault::Happened;
use super::world::Phase;
use crate::ast::CommitMode;
use crate::model::OffsetReset;
use crate::model::{Client, ClientPoint, PartitionIdx};
use std::collections::VecDeque;

/// How long a consumer waits before fetching again after an error (`retry.backoff.ms`).
const FETCH_RETRY_MS: u64 = 100;
/// `request.timeout.ms` (30000): a fetch with no answer by then is sent again.
pub(super) const REQUEST_TIMEOUT_MS: u64 = 30_000;

impl Sim<'_> {
    /// ListOffsets(LATEST) for consumer `c`: the high watermark, or for a read_committed
    /// consumer the last stable offset (`Partition.fetchOffsetForTimestamp` with
    /// IsolationLevel.READ_COMMITTED), so it does not start inside an open transaction.
    pub(super) fn latest_offset(&self, c: u32, p: PartitionIdx) -> u64 {
        let Some(r) = self.world.partitions[p as usize].leader_replica() else { return 0 };
        if self.model.consumers[c as usize].read_committed { r.last_stable_offset() } else { r.high_watermark }
    }

    /// ListOffsets(EARLIEST): the leader's log start offset, which retention and DeleteRecords
    /// raise (`UnifiedLog.fetchOffsetByTimestamp` with EARLIEST_TIMESTAMP).
    pub(super) fn earliest_offset(&self, p: PartitionIdx) -> u64 {
        self.world.partitions[p as usize].leader_replica().map_or(0, |r| r.log_start_offset)
    }

    pub(super) fn consumer_live(&self, c: u32, inc: u32) -> bool {
        let s = &self.world.consumers[c as usize];
        s.incarnation == inc && !matches!(s.phase, Phase::Down | Phase::Failed)
    }

    pub(super) fn cname(&self, c: u32) -> String {
        self.client_name(Client::Consumer(c))
    }

    fn group_of(&self, c: u32) -> usize {
        self.model.consumers[c as usize].group as usize
    }

    pub(super) fn on_consumer_step(&mut self, c: u32, inc: u32) {
        let s = &self.world.consumers[c as usize];
        if s.incarnation != inc {
            return;
        }
        match s.phase {
            Phase::Down | Phase::Starting => {
                // A transactional processor calls initTransactions() as it starts, and polls (so
                // joins its group) only once that returned; the answer steps it again.
                if let Some(pi) = self.processor_of(c) {
                    let p = self.model.processors[pi as usize].producer;
                    if self.is_transactional(p) && !self.world.producers[p as usize].txn.ready {
                        self.world.consumers[c as usize].phase = Phase::Starting;
                        self.init_transactions(p);
                        return;
                    }
                }
                if let Some(assigned) = self.model.consumers[c as usize].assigned.clone() {
                    // assign(): no JoinGroup, no rebalances; positions from the group's
                    // committed offsets (if it has a group.id) or auto.offset.reset.
                    self.log(|sim| {
                        (sim.cname(c), "start".into(), String::new(), "assign(), no group membership".into())
                    });
                    self.adopt(c, 0, assigned);
                    return;
                }
                if self.modern_consumer(c) {
                    self.modern_join(c, inc, "start");
                    return;
                }
                self.world.consumers[c as usize].phase = Phase::Joining;
                self.log(|sim| {
                    let g = &sim.model.groups[sim.group_of(c)].name;
                    (sim.cname(c), "start".into(), String::new(), format!("JoinGroup {g}"))
                });
                self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::join(None) });
            }
            Phase::Polling => self.poll(c),
            Phase::Processing { next } => self.processed(c, next),
            _ => {}
        }
    }

    /// UNKNOWN_MEMBER_ID (`resetStateAndRejoin`): the consumer forgets its member id and
    /// joins again at once as a new member.
    fn join_anew(&mut self, c: u32, inc: u32, why: String) {
        self.log(|sim| (sim.cname(c), "rejoin".into(), String::new(), why));
        let s = &mut self.world.consumers[c as usize];
        s.member = None;
        s.cooperative_join = false;
        s.phase = Phase::Joining;
        s.heartbeat_from = None;
        self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::join(None) });
    }

    pub(super) fn on_group_response(&mut self, c: u32, inc: u32, reply: GroupReply) {
        if !self.consumer_live(c, inc) {
            return;
        }
        if !matches!(reply, GroupReply::CoordinatorNotAvailable { .. } | GroupReply::NotCoordinator { .. }) {
            self.world.consumers[c as usize].coordinator_retries = 0;
        }
        match reply {
            GroupReply::Joined { generation, member, assignment } => {
                let s = &mut self.world.consumers[c as usize];
                if self.model.consumers[c as usize].assignors.cooperative() && s.phase != Phase::Joining {
                    // A cooperative member rejoined while consuming: its next poll() applies
                    // the answer (`onJoinComplete` runs in the application thread).
                    s.joined = Some((generation, member, assignment));
                    if s.phase == Phase::Polling {
                        self.poll(c);
                    }
                    return;
                }
                let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
                let s = &mut self.world.consumers[c as usize];
                s.member = Some(member);
                // `AbstractCoordinator.HeartbeatThread` beats every heartbeat.interval.ms from
                // the join (`Heartbeat.resetTimeouts`, then `sentHeartbeat` resets the timer).
                s.heartbeat_from = Some(self.clock + hb);
                self.adopt(c, generation, assignment);
            }
            GroupReply::MemberIdRequired { member } => {
                // `AbstractCoordinator.JoinGroupResponseHandler`: take the id and join again at
                // once (`joinGroupIfNeeded` retries a MemberIdRequiredException without backoff).
                // (The answer to a JoinGroup sent before one that timed out finds it joined.)
                let s = &self.world.consumers[c as usize];
                if s.phase != Phase::Joining || s.member.is_some() {
                    return;
                }
                let request = GroupRequest::join(Some(member));
                self.send(Event::GroupArrive { consumer: c, inc, request });
            }
            GroupReply::UnknownMember if self.modern_consumer(c) => self.modern_fenced(c, inc),
            GroupReply::UnknownMember => self.join_anew(c, inc, "JoinGroup: UNKNOWN_MEMBER_ID, JoinGroup anew".into()),
            GroupReply::Heartbeat { member, epoch, assignment } => {
                self.on_heartbeat_answer(c, member, epoch, assignment)
            }
            GroupReply::Offsets { generation, positions } => {
                // (A KIP-848 member's epoch may move on meanwhile: its positions still apply.)
                let modern = self.modern_consumer(c);
                if self.world.consumers[c as usize].generation != generation && !modern {
                    return;
                }
                // A cooperative (or KIP-848) member fetches the committed offsets of the
                // partitions it gained only (`initWithCommittedOffsetsIfNeeded`: the
                // initializing ones), and still owns.
                let cooperative = self.model.consumers[c as usize].assignors.cooperative() || modern;
                let s = &self.world.consumers[c as usize];
                let positions: Vec<_> = positions
                    .into_iter()
                    .filter(|(p, ..)| !cooperative || (!s.positions.contains_key(p) && s.assignment.contains(p)))
                    .collect();
                for (p, pos, epoch, how) in positions {
                    match pos {
                        Some(o) => {
                            // A committed offset with its leader epoch is validated before the
                            // first fetch (`refreshCommittedOffsets` -> `seekUnvalidated`); a
                            // reset position has no epoch and is not (`resetPositionIfNeeded`).
                            if how == "auto.offset.reset earliest" && o > 0 {
                                // The log starts past what retention deleted: the group never
                                // gets to read those records.
                                let g = self.model.consumers[c as usize].group;
                                self.world.expired.push((g, p, 0, o));
                            }
                            let s = &mut self.world.consumers[c as usize];
                            s.positions.insert(p, o);
                            s.leader_epochs.remove(&p);
                            match epoch {
                                Some(e) => s.offset_epochs.insert(p, e),
                                None => s.offset_epochs.remove(&p),
                            };
                            self.log(|sim| {
                                (
                                    sim.cname(c),
                                    format!("position on {}", sim.model.partition_name(p)),
                                    String::new(),
                                    format!("offset {o} ({how})"),
                                )
                            });
                        }
                        None => {
                            self.fail_consumer(c);
                            self.log(|sim| {
                                (
                                    sim.cname(c),
                                    "poll".into(),
                                    String::new(),
                                    format!(
                                        "failed: NoOffsetForPartitionException on {} ({how})",
                                        sim.model.partition_name(p)
                                    ),
                                )
                            });
                            return;
                        }
                    }
                }
                self.world.consumers[c as usize].phase = Phase::Polling;
                self.poll(c);
            }
            GroupReply::CoordinatorNotAvailable { request } => {
                let reconciling = self.world.consumers[c as usize].reconciling.is_some();
                if let (GroupRequest::Commit { sync: false, .. }, false) = (&request, reconciling) {
                    // An auto-commit is not retried: the next one carries newer offsets.
                    self.log(|sim| {
                        let what = "failed: COORDINATOR_NOT_AVAILABLE (the next auto-commit tries again)";
                        (sim.cname(c), "auto-commit".into(), String::new(), what.into())
                    });
                    return;
                }
                // Rediscover the coordinator after the retry backoff (exponential from 3.7,
                // KIP-580).
                let s = &mut self.world.consumers[c as usize];
                s.coordinator_retries += 1;
                let backoff = self.model.cluster.retry_backoff(FETCH_RETRY_MS, 1_000, s.coordinator_retries);
                self.log(|sim| {
                    let what = format!("COORDINATOR_NOT_AVAILABLE: its broker is down; retry in {backoff} ms");
                    (sim.cname(c), "group request".into(), String::new(), what)
                });
                self.schedule_resend(
                    self.clock + backoff,
                    Event::GroupArrive { consumer: c, inc, request },
                    false,
                    false,
                );
            }
            GroupReply::NotCoordinator { request, crashed } => {
                // `AbstractCoordinator.markCoordinatorUnknown`, then FindCoordinator after the
                // retry backoff.
                let s = &mut self.world.consumers[c as usize];
                s.coordinator_retries += 1;
                let backoff = self.model.cluster.retry_backoff(FETCH_RETRY_MS, 1_000, s.coordinator_retries);
                self.log(|sim| {
                    let why = if crashed { "disconnected: its coordinator crashed" } else { "NOT_COORDINATOR" };
                    (sim.cname(c), "JoinGroup".into(), String::new(), format!("{why}; JoinGroup again in {backoff} ms"))
                });
                let event = Event::GroupArrive { consumer: c, inc, request };
                self.schedule_resend(self.clock + backoff, event, false, false);
            }
            GroupReply::Unstable { generation } => {
                self.log(|sim| {
                    (
                        sim.cname(c),
                        "fetch offsets".into(),
                        String::new(),
                        "UNSTABLE_OFFSET_COMMIT: a transaction holds offsets here; retry in 100 ms".into(),
                    )
                });
                let event = Event::GroupArrive { consumer: c, inc, request: GroupRequest::OffsetFetch { generation } };
                self.schedule_resend(self.clock + FETCH_RETRY_MS, event, false, false);
            }
            GroupReply::Committed { offsets, sync } => {
                let s = &mut self.world.consumers[c as usize];
                s.commits += 1;
                for (p, o) in &offsets {
                    s.committed.insert(*p, *o);
                }
                let n = s.commits;
                self.log(|sim| {
                    let what = if sync { "commitSync" } else { "auto-commit" };
                    (sim.cname(c), what.into(), String::new(), format!("committed {}", offsets_text(sim, &offsets)))
                });
                for (p, o) in offsets {
                    self.happened(Happened::Committed { consumer: c, partition: p, offset: o });
                }
                if self.point(Client::Consumer(c), ClientPoint::AfterCommit(n)) {
                    return;
                }
                if sync {
                    self.after_commit(c, true);
                } else {
                    self.reconciliation_commit_done(c);
                }
            }
            GroupReply::CommitFailed { sync } if self.modern_consumer(c) => {
                self.commit_failed(c, sync, "STALE_MEMBER_EPOCH or UNKNOWN_MEMBER_ID: not this member's epoch");
                if !sync {
                    self.reconciliation_commit_done(c);
                }
            }
            GroupReply::CommitFailed { sync } => {
                self.commit_failed(c, sync, "the group rebalanced; this member's generation is stale")
            }
        }
    }

    fn commit_failed(&mut self, c: u32, sync: bool, why: &str) {
        self.commit_fails(c, sync, &format!("failed: CommitFailedException ({why})"));
    }

    fn commit_fails(&mut self, c: u32, sync: bool, what: &str) {
        self.log(|sim| (sim.cname(c), "commit".into(), String::new(), what.to_string()));
        if sync {
            // The application catches the exception and polls again, which rejoins;
            // the uncommitted records go to whoever owns the partition next.
            self.world.consumers[c as usize].batch.clear();
            self.world.consumers[c as usize].phase = Phase::Polling;
            self.poll(c);
        }
    }

    /// Fetch number `fetch` of partition `p` got no answer: if it is still the one outstanding,
    /// give it up and fetch again.
    pub(super) fn on_consumer_fetch_timeout(&mut self, c: u32, inc: u32, p: PartitionIdx, fetch: u64) {
        let s = &self.world.consumers[c as usize];
        let waiting = s.fetching.get(&p).copied().unwrap_or(false) && s.fetches_sent.get(&p) == Some(&fetch);
        if !self.consumer_live(c, inc) || !waiting {
            return;
        }
        self.world.consumers[c as usize].fetching.insert(p, false);
        // The request timeout closes the connection: the next fetch asks for metadata first.
        let broker = self.cached_leader(Client::Consumer(c), p);
        self.invalidate_metadata(Client::Consumer(c), p, broker);
        if self.world.consumers[c as usize].phase == Phase::Polling {
            self.poll(c);
        }
    }

    /// No poll within max.poll.interval.ms: the heartbeat thread leaves the group, which
    /// rebalances; the consumer's next commit fails and its next poll rejoins.
    pub(super) fn on_poll_deadline(&mut self, c: u32, inc: u32, polls: u32) {
        let s = &self.world.consumers[c as usize];
        // Waiting inside poll() counts as polling; only application code (processing,
        // committing) can overrun the interval.
        let outside_poll = matches!(s.phase, Phase::Processing { .. } | Phase::Committing { .. } | Phase::Flushing);
        if !self.consumer_live(c, inc) || s.polls != polls || !outside_poll {
            return;
        }
        if s.member.is_none() || s.rejoin_requested && self.modern_consumer(c) {
            return;
        }
        self.log(|sim| {
            let t = sim.model.consumers[c as usize].max_poll_interval_ms;
            (sim.cname(c), "leave group".into(), String::new(), format!("no poll within max.poll.interval.ms ({t} ms)"))
        });
        self.world.membership.push((self.clock, c, super::world::Membership::MaxPollInterval));
        if self.modern_consumer(c) {
            self.modern_leave_stale(c);
            return;
        }
        self.leave_group(c);
    }

    pub(super) fn on_rebalance_notice(&mut self, c: u32, inc: u32) {
        if self.consumer_live(c, inc) && self.modern_consumer(c) {
            self.modern_heartbeat_now(c);
            return;
        }
        if self.consumer_live(c, inc) && self.world.consumers[c as usize].phase == Phase::Polling {
            self.poll(c);
        }
    }

    /// Records what a poll returned, for the nonmonotonic-poll and inconsistent-offset checks.
    fn observe(&mut self, c: u32, p: PartitionIdx, o: u64, m: u32) {
        let s = &mut self.world.consumers[c as usize];
        if let Some(&last) = s.last_polled.get(&p) {
            if o <= last {
                self.world.nonmonotonic.push((c, p, last, o));
            }
        }
        s.last_polled.insert(p, o);
        let seen = &mut self.world.seen[p as usize];
        if seen.len() <= o as usize {
            seen.resize(o as usize + 1, 0);
        }
        match seen[o as usize] {
            0 => seen[o as usize] = m + 1,
            prev if prev != m + 1 => self.world.inconsistent.push((p, o, prev - 1, m)),
            _ => {}
        }
    }

    /// Takes a new assignment: revoked partitions are forgotten, new ones need positions.
    fn adopt(&mut self, c: u32, generation: u32, assignment: Vec<PartitionIdx>) {
        let inc = self.world.consumers[c as usize].incarnation;
        let s = &mut self.world.consumers[c as usize];
        s.generation = generation;
        // An eager rebalance revokes everything: positions are fetched again from the committed
        // offsets, and what was fetched but not returned is dropped.
        s.forget_positions();
        s.fetching.clear();
        s.assignment = assignment.clone();
        s.phase = Phase::Initializing;
        self.log(|sim| {
            let ps: Vec<&str> = assignment.iter().map(|p| sim.model.partition_name(*p)).collect();
            let from = match sim.model.consumers[c as usize].assigned {
                Some(_) => "assigned by the application".to_string(),
                None => format!("generation {generation}"),
            };
            (sim.cname(c), "assignment".into(), String::new(), format!("{from}: [{}]", ps.join(", ")))
        });
        self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::OffsetFetch { generation } });
    }

    /// `poll()`: rejoin if the group moved on, auto-commit if due, then return buffered
    /// records or fetch more.
    pub(super) fn poll(&mut self, c: u32) {
        if let Some((generation, member, assignment)) = self.world.consumers[c as usize].joined.take() {
            if self.cooperative_adopt(c, generation, member, assignment) {
                return;
            }
        }
        let g = self.group_of(c);
        let s = &self.world.consumers[c as usize];
        let inc = s.incarnation;
        if self.modern_consumer(c) {
            if s.rejoin_requested {
                self.modern_join(c, inc, "rejoin");
                return;
            }
            if self.modern_positions(c) {
                return;
            }
        } else if s.member.is_none() && s.generation > 0 {
            // It left the group (max.poll.interval.ms): poll() joins again.
            self.world.consumers[c as usize].phase = Phase::Joining;
            self.world.consumers[c as usize].generation = 0;
            self.world.consumers[c as usize].heartbeat_from = None;
            self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::join(None) });
            return;
        }
        // (Cut off from its coordinator it hears nothing of the group: it goes on as it was. A
        // KIP-848 member hears of the group through its heartbeats' answers, not here.)
        let s = &self.world.consumers[c as usize];
        let group = &self.world.groups[g];
        let member = s.member.filter(|_| !self.cut_from_group_coordinator(c) && !self.modern_consumer(c));
        if let Some(member) = member {
            if !group.members.iter().any(|m| m.id == member) {
                // Expired or removed: join again as a new member.
                let why = format!("member {member} is no longer in the group (UNKNOWN_MEMBER_ID): JoinGroup anew");
                self.join_anew(c, inc, why);
                return;
            }
            let rejoin = (group.rebalancing && !group.joining.contains(&(c, inc))) || s.rejoin_requested;
            if rejoin && self.model.consumers[c as usize].assignors.cooperative() {
                if !s.cooperative_join {
                    self.cooperative_rejoin(c);
                }
            } else if rejoin {
                // The group is rebalancing: give up the partitions and rejoin; with auto-commit,
                // commit the positions first (onJoinPrepare).
                let cfg = &self.model.consumers[c as usize];
                let offsets = if cfg.enable_auto_commit { self.uncommitted_positions(c) } else { Vec::new() };
                let generation = s.generation;
                self.world.consumers[c as usize].phase = Phase::Joining;
                self.world.consumers[c as usize].heartbeat_from = None;
                self.log(|sim| {
                    (
                        sim.cname(c),
                        "rejoin".into(),
                        String::new(),
                        format!("group rebalancing: revoke generation {generation}'s partitions, JoinGroup"),
                    )
                });
                for (p, o) in &offsets {
                    self.world.consumers[c as usize].committed.insert(*p, *o);
                }
                let leader_epochs = self.position_epochs(c, &offsets);
                self.send(Event::GroupArrive {
                    consumer: c,
                    inc,
                    request: GroupRequest::Join { member: Some(member), offsets, leader_epochs },
                });
                return;
            }
        }
        let cfg = &self.model.consumers[c as usize];
        // Auto-commit runs inside poll() and commits the positions of earlier polls.
        let s = &self.world.consumers[c as usize];
        // (While a cooperative member's JoinGroup is out it has no stable generation: an
        // auto-commit fails in the client, `sendOffsetCommitRequest`: RebalanceInProgressException.)
        let due = self.clock >= s.last_auto_commit + cfg.auto_commit_interval_ms;
        if cfg.enable_auto_commit && due && !s.cooperative_join {
            let generation = s.generation;
            let offsets = self.uncommitted_positions(c);
            self.world.consumers[c as usize].last_auto_commit = self.clock;
            if !offsets.is_empty() {
                let leader_epochs = self.position_epochs(c, &offsets);
                self.send(Event::GroupArrive {
                    consumer: c,
                    inc,
                    request: GroupRequest::Commit { generation, offsets, leader_epochs, sync: false },
                });
            }
        }
        let s = &mut self.world.consumers[c as usize];
        let max = cfg.max_poll_records as usize;
        let mut batch = Vec::new();
        for i in 0..s.assignment.len() {
            let p = s.assignment[i];
            let Some(buf) = s.buffer.get_mut(&p) else {
                continue;
            };
            while batch.len() < max {
                let Some((o, m, epoch)) = buf.pop_front() else { break };
                batch.push((p, o, m));
                s.positions.insert(p, o + 1);
                s.offset_epochs.insert(p, epoch);
            }
            if buf.is_empty() {
                // Past the control / aborted records the fetch skipped at its end.
                let (end, epoch) = s.fetch_end.get(&p).copied().unwrap_or((0, None));
                let pos = s.positions.get(&p).copied().unwrap_or(0);
                if end > pos {
                    s.positions.insert(p, end);
                    if let Some(e) = epoch {
                        s.offset_epochs.insert(p, e);
                    }
                }
            }
        }
        if batch.is_empty() {
            self.world.consumers[c as usize].phase = Phase::Polling;
            self.fetch(c);
            return;
        }
        s.polls += 1;
        s.committed_since_poll = false;
        let n = s.polls;
        let deadline = self.clock + cfg.max_poll_interval_ms;
        self.queue.push(deadline, Event::PollDeadline { consumer: c, inc, polls: n }, true);
        for &(p, o, m) in &batch {
            self.world.consumed[g][m as usize] = self.world.consumed[g][m as usize].saturating_add(1);
            self.observe(c, p, o, m);
        }
        self.world.consumers[c as usize].batch = batch.clone();
        self.log(|sim| {
            // Per partition, in the order the poll returned them.
            let mut parts: Vec<(PartitionIdx, u64, u64)> = Vec::new();
            for &(p, o, _) in &batch {
                match parts.iter_mut().find(|x| x.0 == p) {
                    Some(x) => x.2 = o,
                    None => parts.push((p, o, o)),
                }
            }
            let span = |&(_, first, last): &(PartitionIdx, u64, u64)| {
                if first == last { format!("offset {first}") } else { format!("offsets {first}-{last}") }
            };
            let range = match parts.as_slice() {
                [one] => span(one),
                many => {
                    let each: Vec<String> =
                        many.iter().map(|x| format!("{} {}", sim.model.partition_name(x.0), span(x))).collect();
                    each.join(", ")
                }
            };
            (
                sim.cname(c),
                format!("poll {n}"),
                sim.values(batch.iter().map(|b| b.2)),
                format!("returned {} record{} ({range})", batch.len(), if batch.len() == 1 { "" } else { "s" }),
            )
        });
        if self.point(Client::Consumer(c), ClientPoint::AfterPoll(n)) {
            return;
        }
        if cfg.commit == CommitMode::BeforeProcessing {
            self.commit_sync(c, true);
        } else {
            self.begin_processing(c);
        }
    }

    /// Sends a fetch for every assigned partition that has a position and no fetch out.
    fn fetch(&mut self, c: u32) {
        let s = &self.world.consumers[c as usize];
        let inc = s.incarnation;
        let mut sent = false;
        let mut outstanding = false;
        for p in s.assignment.clone() {
            let s = &self.world.consumers[c as usize];
            if s.fetching.get(&p).copied().unwrap_or(false) {
                outstanding = true;
                continue;
            }
            let Some(&pos) = s.positions.get(&p) else {
                continue;
            };
            let buffered = s.buffer.get(&p).map_or(0, |b| b.len() as u64);
            let offset = pos + buffered;
            let Some(leader) = self.leader_for(Client::Consumer(c), p) else {
                continue;
            };
            let leader_epoch = self.world.metadata[&Client::Consumer(c)].leaders[p as usize].1;
            let s = &mut self.world.consumers[c as usize];
            s.fetching.insert(p, true);
            let fetch = s.fetches_sent.entry(p).or_insert(0);
            *fetch += 1;
            let fetch = *fetch;
            // (A position with nothing to validate counts as validated against this epoch.)
            let validate = s.epoch_to_validate(p, leader_epoch);
            if validate.is_none() {
                s.leader_epochs.insert(p, leader_epoch);
            }
            match validate {
                Some(epoch) => {
                    self.send(Event::EpochQuery { consumer: c, inc, partition: p, offset, epoch, broker: leader })
                }
                None => self.send(Event::ConsumerFetch {
                    consumer: c,
                    inc,
                    partition: p,
                    offset,
                    broker: leader,
                    leader_epoch,
                }),
            }
            // request.timeout.ms (30000): a fetch lost on the network is sent again.
            let timer = self.consumer_fetch_timer(c, p);
            self.queue.arm(
                timer,
                self.clock + REQUEST_TIMEOUT_MS,
                Event::ConsumerFetchTimeout { consumer: c, inc, partition: p, fetch },
                true,
            );
            sent = true;
        }
        if !sent && !outstanding {
            // No leader for any partition (or nothing assigned): look again later.
            self.queue.push(self.clock + FETCH_RETRY_MS, Event::ConsumerStep { consumer: c, inc }, true);
        }
    }

    /// A fetch or a validation of partition `p` from `offset` was answered: it is no longer
    /// out, and it counts only if the consumer is the same instance and its position did not
    /// move meanwhile (a seek or reassignment voids it).
    fn answer_counts(&mut self, c: u32, inc: u32, p: PartitionIdx, offset: u64) -> bool {
        if !self.consumer_live(c, inc) {
            return false;
        }
        let s = &mut self.world.consumers[c as usize];
        s.fetching.insert(p, false);
        let buffered = s.buffer.get(&p).is_some_and(|b| !b.is_empty());
        !buffered && s.positions.get(&p) == Some(&offset)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_consumer_fetch_response(
        &mut self,
        c: u32,
        inc: u32,
        p: PartitionIdx,
        offset: u64,
        records: Vec<(u64, u32, u32)>,
        next_offset: u64,
        end_epoch: Option<u32>,
        error: Option<FetchError>,
    ) {
        if !self.answer_counts(c, inc, p, offset) {
            return;
        }
        let timer = self.consumer_fetch_timer(c, p);
        // (Its timeout is void: no fetch is out, and the next one re-arms it.)
        self.queue.cancel(timer);
        let s = &mut self.world.consumers[c as usize];
        match error {
            Some(FetchError::NotLeader | FetchError::FencedLeaderEpoch) => {
                // (`FetchCollector.handleInitializeErrors`: both ask for a metadata update.)
                let polling = s.phase == Phase::Polling;
                if error == Some(FetchError::FencedLeaderEpoch) {
                    let known = s.leader_epochs.get(&p).copied();
                    self.log(|sim| {
                        let what = format!(
                            "FENCED_LEADER_EPOCH: its metadata's leader epoch {} is older than the leader's; refreshing metadata",
                            known.map_or("-".to_string(), |e| e.to_string())
                        );
                        (sim.cname(c), format!("fetch {}", sim.model.partition_name(p)), String::new(), what)
                    });
                }
                self.invalidate_metadata(Client::Consumer(c), p, None);
                if polling {
                    self.queue.push(self.clock + FETCH_RETRY_MS, Event::ConsumerStep { consumer: c, inc }, true);
                }
                return;
            }
            Some(FetchError::UnknownLeaderEpoch) => {
                // The broker is behind the consumer's metadata: the next fetch tries again.
                if s.phase == Phase::Polling {
                    self.queue.push(self.clock + FETCH_RETRY_MS, Event::ConsumerStep { consumer: c, inc }, true);
                }
                return;
            }
            Some(FetchError::OutOfRange) => {
                // OFFSET_OUT_OF_RANGE: the position is past the leader's log (it was truncated
                // after an unclean election) or below its log start offset (retention or
                // DeleteRecords deleted it); auto.offset.reset decides where to go
                // (`Fetcher.handleOffsetOutOfRange`; earliest is the log start offset).
                let reset = self.model.consumers[c as usize].auto_offset_reset;
                let to = match reset {
                    OffsetReset::Earliest => Some(self.earliest_offset(p)),
                    OffsetReset::Latest => Some(self.latest_offset(c, p)),
                    OffsetReset::None => None,
                };
                self.log(|sim| {
                    let what = to
                        .map_or("failed: OffsetOutOfRangeException (auto.offset.reset none)".to_string(), |o| {
                            format!("OFFSET_OUT_OF_RANGE at {offset}: reset to {o}")
                        });
                    (sim.cname(c), format!("fetch {}", sim.model.partition_name(p)), String::new(), what)
                });
                match to {
                    Some(o) => {
                        let start = self.earliest_offset(p);
                        if offset < start && o > offset {
                            // Deleted before the group read them: lost to retention.
                            let g = self.model.consumers[c as usize].group;
                            self.world.expired.push((g, p, offset, o));
                        }
                        // A seek: where the last fetch ended no longer counts.
                        let s = &mut self.world.consumers[c as usize];
                        s.positions.insert(p, o);
                        s.offset_epochs.remove(&p);
                        s.last_polled.remove(&p);
                        s.fetch_end.remove(&p);
                    }
                    None => {
                        self.fail_consumer(c);
                        return;
                    }
                }
            }
            None => {
                s.buffer.entry(p).or_default().extend(records);
                s.fetch_end.insert(p, (next_offset, end_epoch));
                if s.buffer.get(&p).is_some_and(VecDeque::is_empty) && next_offset > offset {
                    // Only control or aborted records: skip past them.
                    s.positions.insert(p, next_offset);
                    if let Some(e) = end_epoch {
                        s.offset_epochs.insert(p, e);
                    }
                }
            }
        }
        if self.world.consumers[c as usize].phase == Phase::Polling {
            self.poll(c);
        }
    }

    /// The OffsetsForLeaderEpoch answer (`SubscriptionState.maybeCompleteValidation`, Kafka
    /// 2.3+, KIP-320): an epoch that ends before the position means the log was truncated
    /// under it; the consumer seeks to the first offset known to diverge ("Truncation detected
    /// ... resetting offset to the first offset known to diverge"), or with
    /// `auto.offset.reset none` fails with LogTruncationException. An undefined answer resets
    /// by auto.offset.reset.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_epoch_answer(
        &mut self,
        c: u32,
        inc: u32,
        p: PartitionIdx,
        offset: u64,
        answer: Result<Option<(u32, u64)>, FetchError>,
        leader_epoch: u32,
    ) {
        if !self.answer_counts(c, inc, p, offset) {
            return;
        }
        let reset = self.model.consumers[c as usize].auto_offset_reset;
        match answer {
            Err(_) => {
                self.invalidate_metadata(Client::Consumer(c), p, None);
                if self.world.consumers[c as usize].phase == Phase::Polling {
                    self.queue.push(self.clock + FETCH_RETRY_MS, Event::ConsumerStep { consumer: c, inc }, true);
                }
                return;
            }
            Ok(answer) if !diverges(answer, offset) => {
                self.world.consumers[c as usize].leader_epochs.insert(p, leader_epoch);
            }
            Ok(diverged) => {
                let to = match (diverged, reset) {
                    (_, OffsetReset::None) => None,
                    (Some((epoch, end)), _) => Some((end, Some(epoch), "the first offset known to diverge")),
                    (None, OffsetReset::Earliest) => {
                        Some((self.earliest_offset(p), None, "auto.offset.reset earliest"))
                    }
                    (None, OffsetReset::Latest) => Some((self.latest_offset(c, p), None, "auto.offset.reset latest")),
                };
                self.log(|sim| {
                    let at = match diverged {
                        Some((epoch, end)) => format!("epoch {epoch} ends at {end}"),
                        None => "epoch unknown to the leader".to_string(),
                    };
                    let what = match to {
                        Some((o, _, how)) => {
                            format!("truncation detected at offset {offset} ({at}): reset to {o} ({how})")
                        }
                        None => {
                            format!("failed: LogTruncationException at offset {offset} ({at}; auto.offset.reset none)")
                        }
                    };
                    (
                        sim.cname(c),
                        format!("OffsetsForLeaderEpoch {}", sim.model.partition_name(p)),
                        String::new(),
                        what,
                    )
                });
                let Some((o, epoch, _)) = to else {
                    self.fail_consumer(c);
                    return;
                };
                let s = &mut self.world.consumers[c as usize];
                s.positions.insert(p, o);
                match epoch {
                    Some(e) => s.offset_epochs.insert(p, e),
                    None => s.offset_epochs.remove(&p),
                };
                s.leader_epochs.insert(p, leader_epoch);
                s.last_polled.remove(&p);
                s.fetch_end.remove(&p);
            }
        }
        if self.world.consumers[c as usize].phase == Phase::Polling {
            self.poll(c);
        }
    }

    /// An at-least-once processor's outputs are all acknowledged: commit its offsets.
    pub(super) fn commit_after_flush(&mut self, c: u32) {
        self.commit_sync(c, false);
    }

    fn commit_sync(&mut self, c: u32, then_process: bool) {
        let s = &mut self.world.consumers[c as usize];
        s.phase = Phase::Committing { then_process };
        if s.member.is_none() && self.model.consumers[c as usize].assigned.is_none() {
            // A member that left the group (max.poll.interval.ms) has no generation: the commit
            // fails in the client, with no request (`ConsumerCoordinator.sendOffsetCommitRequest`:
            // "not part of an active group").
            let why = "not part of an active group: it left after max.poll.interval.ms";
            self.commit_failed(c, true, why);
            return;
        }
        if s.cooperative_join {
            // `sendOffsetCommitRequest`: no stable generation while rejoining.
            self.commit_fails(c, true, "failed: RebalanceInProgressException (a cooperative rebalance is in progress)");
            return;
        }
        let offsets: Vec<(PartitionIdx, u64)> = s.positions.iter().map(|(p, o)| (*p, *o)).collect();
        let (inc, generation) = (s.incarnation, s.generation);
        self.send(Event::GroupArrive {
            consumer: c,
            inc,
            request: GroupRequest::Commit {
                generation,
                leader_epochs: self.position_epochs(c, &offsets),
                offsets,
                sync: true,
            },
        });
    }

    fn after_commit(&mut self, c: u32, ok: bool) {
        let Phase::Committing { then_process } = self.world.consumers[c as usize].phase else {
            return;
        };
        self.world.consumers[c as usize].committed_since_poll = ok;
        if then_process {
            self.begin_processing(c);
        } else {
            self.world.consumers[c as usize].phase = Phase::Polling;
            self.poll(c);
        }
    }

    fn begin_processing(&mut self, c: u32) {
        self.processor_begin(c);
        self.world.consumers[c as usize].phase = Phase::Processing { next: 0 };
        self.process(c, 0);
    }

    /// Starts processing record `i` of the last poll (or finishes the batch).
    fn process(&mut self, c: u32, i: usize) {
        let s = &self.world.consumers[c as usize];
        let inc = s.incarnation;
        let Some(&(_, _, msg)) = s.batch.get(i) else {
            if self.processor_finish(c) {
                return;
            }
            let cfg = &self.model.consumers[c as usize];
            if cfg.commit == CommitMode::AfterProcessing {
                self.commit_sync(c, false);
            } else {
                self.world.consumers[c as usize].phase = Phase::Polling;
                self.poll(c);
            }
            return;
        };
        if s.committed_since_poll && self.point(Client::Consumer(c), ClientPoint::AfterCommitBeforeProcessing(msg)) {
            return;
        }
        if self.point(Client::Consumer(c), ClientPoint::BeforeProcessing(msg)) {
            return;
        }
        self.world.consumers[c as usize].phase = Phase::Processing { next: i };
        let t = self.model.consumers[c as usize].processing_time_ms;
        self.queue.push(self.clock + t, Event::ConsumerStep { consumer: c, inc }, false);
    }

    /// Record `i` finished processing.
    fn processed(&mut self, c: u32, i: usize) {
        let g = self.group_of(c);
        let Some(&(p, o, msg)) = self.world.consumers[c as usize].batch.get(i) else {
            return;
        };
        let count = &mut self.world.processed[g][msg as usize];
        *count = count.saturating_add(1);
        let times = *count;
        self.world.processing.push((c, msg, u32::try_from(self.clock).expect("a time within MAX_DURATION_MS")));
        self.log(|sim| {
            let again = if times > 1 {
                format!(" (again: x{times} in {})", sim.model.groups[g].label())
            } else {
                String::new()
            };
            (
                sim.cname(c),
                "process".into(),
                sim.value(msg),
                format!("processed ({} offset {o}){again}", sim.model.partition_name(p)),
            )
        });
        self.happened(Happened::Processed { consumer: c, msg });
        self.processor_emit(c, msg);
        if !self.consumer_live(c, self.world.consumers[c as usize].incarnation) {
            return;
        }
        if self.point(Client::Consumer(c), ClientPoint::AfterProcessing(msg)) {
            return;
        }
        if !self.consumer_live(c, self.world.consumers[c as usize].incarnation) {
            return;
        }
        self.process(c, i + 1);
    }

    /// The application gave up (an exception it does not handle) and closed the consumer:
    /// close() sends LeaveGroup, so the rest of the group rebalances without waiting for it.
    pub(super) fn fail_consumer(&mut self, c: u32) {
        self.world.consumers[c as usize].phase = Phase::Failed;
        self.world.membership.push((self.clock, c, super::world::Membership::Closed));
        if self.modern_consumer(c) {
            self.modern_leave(c);
            return;
        }
        self.leave_group(c);
    }

    /// LeaveGroup: the member is gone at once and the rest of the group rebalances.
    fn leave_group(&mut self, c: u32) {
        let s = &mut self.world.consumers[c as usize];
        let (member, inc) = (s.member.take(), s.incarnation);
        s.heartbeat_from = None;
        s.cooperative_join = false;
        s.rejoin_requested = false;
        let g = self.group_of(c);
        if self.group_unloaded(g) {
            // No coordinator to hear it: the member stays until its session expires after
            // a new coordinator loads the group.
            return;
        }
        let group = &mut self.world.groups[g];
        group.joining.retain(|j| *j != (c, inc));
        if let Some(i) = member.and_then(|member| group.members.iter().position(|m| m.id == member)) {
            group.members.remove(i);
            self.member_left(g);
        }
    }

    /// The offset epochs of the positions being committed (`SubscriptionState.allConsumed`
    /// commits each position with its `offsetEpoch`, KIP-320).
    pub(super) fn position_epochs(&self, c: u32, offsets: &[(PartitionIdx, u64)]) -> Vec<(PartitionIdx, u32)> {
        let s = &self.world.consumers[c as usize];
        offsets.iter().filter_map(|(p, _)| s.offset_epochs.get(p).map(|e| (*p, *e))).collect()
    }

    /// Positions not yet committed: what an auto-commit sends.
    pub(super) fn uncommitted_positions(&self, c: u32) -> Vec<(PartitionIdx, u64)> {
        let s = &self.world.consumers[c as usize];
        s.positions.iter().filter(|(p, o)| s.committed.get(p) != Some(o)).map(|(p, o)| (*p, *o)).collect()
    }

    pub(super) fn crash_consumer(&mut self, c: u32) {
        self.world.metadata.remove(&Client::Consumer(c));
        let s = &mut self.world.consumers[c as usize];
        s.join_retrying = false;
        let inc = s.incarnation;
        s.phase = Phase::Down;
        s.incarnation += 1;
        s.member = None;
        s.generation = 0;
        s.assignment.clear();
        s.forget_positions();
        s.fetching.clear();
        s.batch.clear();
        s.cooperative_join = false;
        s.rejoin_requested = false;
        s.joined = None;
        s.reconciling = None;
        s.positions_needed = false;
        self.member_crashed(c, inc);
        self.world.consumers[c as usize].heartbeat_from = None;
    }

    pub(super) fn restart_consumer(&mut self, c: u32) {
        let inc = self.world.consumers[c as usize].incarnation;
        self.world.consumers[c as usize].last_auto_commit = self.clock;
        self.queue.push(self.clock, Event::ConsumerStep { consumer: c, inc }, false);
    }
}

pub(super) fn offsets_text(sim: &Sim<'_>, offsets: &[(PartitionIdx, u64)]) -> String {
    let parts: Vec<String> =
        offsets.iter().map(|(p, o)| format!("offset {o} on {}", sim.model.partition_name(*p))).collect();
    if parts.is_empty() { "nothing".into() } else { parts.join(", ") }
}

/// Whether an OffsetsForLeaderEpoch answer (the requested epoch's end offset, `None` when the
/// leader does not know it) means the log diverges below a position at `offset`
/// (`SubscriptionState.maybeCompleteValidation`): the consumer then moves.
pub(super) fn diverges(answer: Option<(u32, u64)>, offset: u64) -> bool {
    answer.is_none_or(|(_, end)| end < offset)
}
