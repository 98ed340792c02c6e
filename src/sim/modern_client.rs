//! KIP-848's consumer group protocol in the consumer (Kafka 4.0 `AsyncKafkaConsumer`,
//! `ConsumerMembershipManager`, `ConsumerHeartbeatRequestManager`): it joins with a heartbeat at
//! epoch 0, and reconciles each assignment a heartbeat answer brings on its background thread,
//! whatever the application is doing: with auto-commit it first commits what it consumed, then
//! drops the revoked partitions, adds the new ones (their committed offsets are fetched at the
//! next `poll()`), and acknowledges with a heartbeat at once.

use super::Sim;
use super::event::{Event, GroupRequest};
use super::modern::partition_names;
use super::world::Phase;
use crate::model::PartitionIdx;

impl Sim<'_> {
    /// Joins the group: a ConsumerGroupHeartbeat at epoch 0 with the member id this consumer
    /// instance made at its start (KIP-1082, Kafka 4.0: kept across rejoins).
    pub(super) fn modern_join(&mut self, c: u32, inc: u32, why: &str) {
        let g = self.model.consumers[c as usize].group as usize;
        let s = &self.world.consumers[c as usize];
        let member = match s.member {
            Some(id) => id,
            None => {
                let group = &mut self.world.groups[g];
                group.next_member += 1;
                group.next_member - 1
            }
        };
        let s = &mut self.world.consumers[c as usize];
        s.member = Some(member);
        // (Epoch 0 until the answer: joining. The application may still be processing what
        // it polled, or committing it; the join does not wait for it.)
        s.generation = 0;
        if !matches!(s.phase, Phase::Processing { .. } | Phase::Committing { .. } | Phase::Flushing) {
            s.phase = Phase::Joining;
        }
        s.rejoin_requested = false;
        s.reconciling = None;
        s.positions_needed = false;
        s.heartbeat_from = None;
        self.log(|sim| {
            let g = &sim.model.groups[g].name;
            (sim.cname(c), why.into(), String::new(), format!("ConsumerGroupHeartbeat {g}: member {member}, epoch 0"))
        });
        let request = GroupRequest::Heartbeat { member, epoch: 0, owned: Some(Vec::new()) };
        self.send(Event::GroupArrive { consumer: c, inc, request });
    }

    /// Sends a heartbeat now (after reconciling, with the partitions it owns), which also
    /// restarts the heartbeat interval.
    fn send_heartbeat(&mut self, c: u32, owned: Option<Vec<PartitionIdx>>) {
        let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
        let now = self.clock;
        let s = &mut self.world.consumers[c as usize];
        let Some(member) = s.member else { return };
        s.heartbeat_from = Some(now + hb);
        let (inc, epoch) = (s.incarnation, s.generation);
        self.queue.cancel(self.heartbeat_timer(c));
        self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::Heartbeat { member, epoch, owned } });
    }

    /// The coordinator has news for member `c`: its next regular heartbeat (every
    /// `group.consumer.heartbeat.interval.ms` from its last) will bring it.
    pub(super) fn heartbeat_soon(&mut self, c: u32, inc: u32) {
        let s = &self.world.consumers[c as usize];
        let (Some(from), true) = (s.heartbeat_from, s.incarnation == inc) else { return };
        let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
        let now = self.clock;
        let next = if now <= from { from } else { from + (now - from).div_ceil(hb) * hb };
        self.queue.arm(self.heartbeat_timer(c), next, Event::Heartbeat { consumer: c, inc }, false);
    }

    /// The heartbeat timer came due.
    pub(super) fn on_heartbeat_due(&mut self, c: u32, inc: u32) {
        let s = &self.world.consumers[c as usize];
        if self.consumer_live(c, inc) && s.heartbeat_from.is_some() && s.generation != 0 {
            self.send_heartbeat(c, None);
        }
    }

    /// It woke, or its link to the coordinator healed: its heartbeat timer ran out meanwhile,
    /// so it beats at once (and learns whether it is still a member). After a failed or lost
    /// heartbeat the next one is full (`HeartbeatState.reset`): it lists the owned partitions.
    pub(super) fn modern_heartbeat_now(&mut self, c: u32) {
        let s = &self.world.consumers[c as usize];
        if s.heartbeat_from.is_some() {
            let owned = Some(s.assignment.clone());
            self.send_heartbeat(c, owned);
        }
    }

    /// A heartbeat's answer: the member's epoch and the partitions it may own now.
    pub(super) fn on_heartbeat_answer(&mut self, c: u32, member: u32, epoch: u32, assignment: Vec<PartitionIdx>) {
        let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
        let now = self.clock;
        let s = &mut self.world.consumers[c as usize];
        if s.member != Some(member) || s.rejoin_requested {
            return;
        }
        let joined = s.generation == 0;
        s.generation = epoch;
        if joined {
            s.heartbeat_from = Some(now + hb);
        }
        if s.phase == Phase::Joining {
            s.phase = Phase::Polling;
        }
        if s.reconciling.is_some() {
            // A reconciliation waits for its commit: it takes the newest assignment.
            s.reconciling = Some(assignment);
            return;
        }
        if assignment == s.assignment {
            if joined && s.phase == Phase::Polling {
                self.poll(c);
            }
            return;
        }
        // `maybeAutoCommitSyncBeforeRevocation`: every reconciliation first commits all
        // consumed positions (a new member has none).
        let offsets = if self.model.consumers[c as usize].enable_auto_commit && !joined {
            self.uncommitted_positions(c)
        } else {
            Vec::new()
        };
        if offsets.is_empty() {
            self.finish_reconciliation(c, assignment);
            return;
        }
        let s = &mut self.world.consumers[c as usize];
        s.reconciling = Some(assignment);
        for (p, o) in &offsets {
            s.committed.insert(*p, *o);
        }
        let (inc, generation) = (s.incarnation, s.generation);
        self.log(|sim| {
            let what = format!("commit {} before reconciling", super::consumer::offsets_text(sim, &offsets));
            (sim.cname(c), "auto-commit".into(), String::new(), what)
        });
        let leader_epochs = self.position_epochs(c, &offsets);
        let request = GroupRequest::Commit { generation, offsets, leader_epochs, sync: false };
        self.send(Event::GroupArrive { consumer: c, inc, request });
    }

    /// The commit before a reconciliation came back (or failed: reconciliation goes on
    /// anyway). (An auto-commit sent before it may answer first; it travels the same link, so
    /// the coordinator still has both before the acknowledgement.)
    pub(super) fn reconciliation_commit_done(&mut self, c: u32) {
        if let Some(assignment) = self.world.consumers[c as usize].reconciling.take() {
            self.finish_reconciliation(c, assignment);
        }
    }

    /// `revokePartitions` then `assignPartitions`: the revoked partitions stop being fetched and
    /// their positions are forgotten (what the application still processes of them is not
    /// committed by it: `commitSync` commits the partitions it owns), the new ones need
    /// positions; the heartbeat that follows acknowledges the new assignment.
    fn finish_reconciliation(&mut self, c: u32, assignment: Vec<PartitionIdx>) {
        let now = self.clock;
        let s = &mut self.world.consumers[c as usize];
        let revoked: Vec<PartitionIdx> = s.assignment.iter().filter(|p| !assignment.contains(p)).copied().collect();
        let added: Vec<PartitionIdx> = assignment.iter().filter(|p| !s.assignment.contains(p)).copied().collect();
        for p in &revoked {
            s.forget_partition(*p);
        }
        s.assignment = assignment.clone();
        // (`resetAutoCommitTimer` once reconciled.)
        s.last_auto_commit = now;
        let epoch = s.generation;
        self.log(|sim| {
            let mut what = format!("epoch {epoch}: [{}]", partition_names(sim, &assignment));
            if !revoked.is_empty() {
                what += &format!("; revokes [{}]", partition_names(sim, &revoked));
            }
            if !added.is_empty() {
                what += &format!("; adds [{}]", partition_names(sim, &added));
            }
            (sim.cname(c), "assignment".into(), String::new(), what)
        });
        self.send_heartbeat(c, Some(assignment));
        if added.is_empty() {
            return;
        }
        let s = &mut self.world.consumers[c as usize];
        s.positions_needed = true;
        if s.phase == Phase::Polling {
            self.poll(c);
        }
    }

    /// At `poll()`: fetches the committed offsets of partitions added since the last one
    /// (`updateFetchPositions`); whether the poll waits for them.
    pub(super) fn modern_positions(&mut self, c: u32) -> bool {
        let s = &mut self.world.consumers[c as usize];
        if !s.positions_needed {
            return false;
        }
        s.positions_needed = false;
        s.phase = Phase::Initializing;
        let (inc, generation) = (s.incarnation, s.generation);
        self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::OffsetFetch { generation } });
        true
    }

    /// UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH to a heartbeat (`transitionToFenced`): the
    /// partitions are lost (no commit), and the member joins again at epoch 0 with its id.
    pub(super) fn modern_fenced(&mut self, c: u32, inc: u32) {
        let s = &mut self.world.consumers[c as usize];
        if s.generation == 0 {
            // (The answer to a heartbeat sent before it joined again.)
            return;
        }
        s.assignment.clear();
        s.forget_positions();
        s.fetching.clear();
        self.modern_join(c, inc, "fenced: partitions lost, rejoin");
    }

    /// `max.poll.interval.ms` ran out (the background thread's poll timer): the member leaves
    /// with a heartbeat at epoch -1 and gives up its partitions as lost, with no commit
    /// (state STALE); its next `poll()` joins again at epoch 0.
    pub(super) fn modern_leave_stale(&mut self, c: u32) {
        let s = &mut self.world.consumers[c as usize];
        s.rejoin_requested = true;
        s.assignment.clear();
        s.forget_positions();
        s.fetching.clear();
        s.reconciling = None;
        s.positions_needed = false;
        s.heartbeat_from = None;
        self.queue.cancel(self.heartbeat_timer(c));
        self.modern_leave(c);
    }

    /// The leave heartbeat (epoch -1) reaches the coordinator, which removes the member at once
    /// (`consumerGroupLeave`). (It is sent without waiting for anything and its answer is
    /// ignored: scn applies it directly, as for the classic LeaveGroup.)
    pub(super) fn modern_leave(&mut self, c: u32) {
        let g = self.model.consumers[c as usize].group as usize;
        let s = &self.world.consumers[c as usize];
        let (member, inc) = (s.member, s.incarnation);
        if self.group_unloaded(g) {
            return;
        }
        let group = &mut self.world.groups[g];
        let Some(i) = member.and_then(|id| group.members.iter().position(|m| m.id == id && m.inc == inc)) else {
            return;
        };
        group.members.remove(i);
        self.log(|sim| {
            let name = &sim.model.consumers[c as usize].name;
            let what = format!("{name} (member {}) left: its partitions are free", member.unwrap_or(0));
            (format!("group {}", sim.model.groups[g].name), "member left".into(), String::new(), what)
        });
        self.modern_member_removed(g);
    }
}
