//! The group coordinator: membership, generations, the range assignor, committed offsets,
//! session expiry of crashed members, and generation fencing of commits.

use super::Sim;
use super::event::{Event, GroupReply, GroupRequest};
use super::world::{Member, Phase};
use crate::model::{Client, Node, OffsetReset, PartitionIdx};
use std::collections::BTreeMap;

impl Sim<'_> {
    pub(super) fn on_group_arrive(&mut self, c: u32, inc: u32, request: GroupRequest) {
        let g = self.model.consumers[c as usize].group as usize;
        // (A consumer without a group.id has no coordinator to lose.)
        if self.model.groups[g].group_id && self.group_coordinator(g).is_none() {
            let reply = GroupReply::CoordinatorNotAvailable { request };
            self.send(Event::GroupResponse { consumer: c, inc, reply });
            return;
        }
        match request {
            GroupRequest::Heartbeat { member, epoch, owned } => {
                self.on_consumer_group_heartbeat(c, inc, member, epoch, owned);
            }
            GroupRequest::Join { member, offsets, leader_epochs } => {
                if self.world.consumers[c as usize].incarnation == inc {
                    self.world.consumers[c as usize].join_retrying = false;
                }
                // (A member that went silent after sending it is still the same member.)
                let now = self.clock;
                let owned = self.owned_partitions(c, inc);
                let group = &mut self.world.groups[g];
                if let Some(m) = group.members.iter_mut().find(|m| m.consumer == c && m.inc == inc) {
                    // A member rejoins the rebalance (keeping its member id), committing first.
                    m.last_contact = now;
                    let changed = m.owned != owned;
                    m.owned = owned;
                    group.commit(&offsets, &leader_epochs);
                    if !offsets.is_empty() {
                        self.log(|sim| {
                            let offsets = super::consumer::offsets_text(sim, &offsets);
                            (
                                sim.model.consumers[c as usize].name.clone(),
                                "auto-commit".into(),
                                String::new(),
                                format!("committed {offsets} before rejoining"),
                            )
                        });
                    }
                    if !changed && self.follower_rejoins_stable(g, c, inc) {
                        return;
                    }
                    let group = &mut self.world.groups[g];
                    if !group.joining.contains(&(c, inc)) {
                        group.joining.push((c, inc));
                    }
                    self.prepare_rebalance(g);
                    self.try_complete_rebalance(g);
                    return;
                }
                // A JoinGroup that arrives after its sender died still makes a member: the
                // coordinator cannot tell, and a member awaiting a join needs no heartbeat
                // (`MemberMetadata.hasSatisfiedHeartbeat`), so the join completes with it and its
                // session runs from there (`onCompleteJoin`), as for a member that crashed after
                // its JoinGroup arrived (`member-crash-during-rebalance`).
                let dead = self.world.consumers[c as usize].incarnation != inc;
                if !dead && self.static_rejoin(g, c, inc) {
                    return;
                }
                let Some(id) = self.new_member_id(g, c, inc, member) else {
                    return;
                };
                let group = &mut self.world.groups[g];
                let was_empty = group.members.is_empty() && !group.rebalancing;
                if let Some((_, added)) = group.initial_delay.as_mut() {
                    *added = true;
                }
                let now = self.clock;
                group.members.push(Member::new(id, c, inc, dead, now));
                group.joining.push((c, inc));
                if !dead {
                    self.world.membership.push((now, c, super::world::Membership::Joined));
                }
                if was_empty {
                    self.initial_delayed_join(g, c);
                    return;
                }
                self.prepare_rebalance(g);
                self.try_complete_rebalance(g);
            }
            GroupRequest::OffsetFetch { generation } => {
                let group = &self.world.groups[g];
                let member = group.members.iter().find(|m| m.consumer == c && m.inc == inc).map(|m| m.id);
                let assigned = match &self.model.consumers[c as usize].assigned {
                    Some(manual) => manual.clone(),
                    // A KIP-848 member's partitions are its current assignment, not its target.
                    None if self.modern_group(g) => group
                        .members
                        .iter()
                        .find(|m| m.consumer == c && m.inc == inc)
                        .map(|m| m.owned.clone())
                        .unwrap_or_default(),
                    None => member.and_then(|m| group.assignment.get(&m)).cloned().unwrap_or_default(),
                };
                // KIP-447: a read_committed consumer asks for stable offsets; while a
                // transaction holds offsets for one of its partitions the answer is
                // UNSTABLE_OFFSET_COMMIT and it asks again.
                let pending = group.pending_offsets.values().flatten().any(|(p, _)| assigned.contains(p));
                if pending && self.model.consumers[c as usize].read_committed {
                    self.send(Event::GroupResponse { consumer: c, inc, reply: GroupReply::Unstable { generation } });
                    return;
                }
                let reset = self.model.consumers[c as usize].auto_offset_reset;
                let positions = assigned
                    .iter()
                    .map(|p| match group.committed.get(p) {
                        Some(o) => (*p, Some(*o), group.committed_epochs.get(p).copied(), "committed"),
                        // ListOffsets: earliest is the log start, latest the high watermark.
                        None => match reset {
                            OffsetReset::Earliest => {
                                (*p, Some(self.earliest_offset(*p)), None, "auto.offset.reset earliest")
                            }
                            OffsetReset::Latest => {
                                (*p, Some(self.latest_offset(c, *p)), None, "auto.offset.reset latest")
                            }
                            OffsetReset::None => (*p, None, None, "no committed offset and auto.offset.reset none"),
                        },
                    })
                    .collect();
                self.send(Event::GroupResponse {
                    consumer: c,
                    inc,
                    reply: GroupReply::Offsets { generation, positions },
                });
            }
            GroupRequest::Commit { generation, offsets, leader_epochs, sync } => {
                let modern = self.modern_group(g);
                let group = &mut self.world.groups[g];
                // A commit that arrives before the coordinator expired its sender still counts.
                // KIP-848 (`ConsumerGroup.validateOffsetCommit`): the member's epoch exactly, or
                // STALE_MEMBER_EPOCH; an unknown member, UNKNOWN_MEMBER_ID (a client at epoch 0,
                // joining, sends no member id: `CommitRequestManager.onMemberEpochUpdated`).
                let member_ok = group
                    .members
                    .iter()
                    .any(|m| m.consumer == c && m.inc == inc && (!modern || (m.epoch == generation && generation > 0)));
                let generation = if modern { group.generation } else { generation };
                // A consumer that assigns its partitions commits without a generation, which a
                // group without members accepts (check keeps members out of such groups).
                let manual = self.model.consumers[c as usize].assigned.is_some();
                // OffsetCommit with a stale generation or an unknown member fails
                // (ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID -> CommitFailedException).
                let reply = if manual || (member_ok && generation == group.generation) {
                    group.commit(&offsets, &leader_epochs);
                    // (A KIP-848 member's session is kept by its heartbeats only:
                    // `OffsetMetadataManager.commitOffset` refreshes classic groups' only.)
                    if !manual && !modern {
                        self.offset_commit_contact(g, c, inc);
                    }
                    GroupReply::Committed { offsets, sync }
                } else {
                    GroupReply::CommitFailed { sync }
                };
                self.send(Event::GroupResponse { consumer: c, inc, reply });
            }
        }
    }

    /// The member id a JoinGroup from a consumer that is not a member joins with, or `None`
    /// when it is answered instead. KIP-394 (Kafka 2.2+, JoinGroup v4+):
    /// `GroupCoordinator.doDynamicNewMemberJoinGroup` gives a dynamic member's first JoinGroup
    /// a member id, records it as pending (`addPendingMember`, expiring after the member's
    /// session.timeout.ms) and answers MEMBER_ID_REQUIRED; the JoinGroup with that id makes
    /// it a member (`doCurrentMemberJoinGroup`, `isPendingMember`), an id that is neither
    /// pending nor a member gets UNKNOWN_MEMBER_ID. A static member (`group.instance.id`)
    /// joins at once. The 4.0 group coordinator's classic groups do the same
    /// (`GroupMetadataManager.classicGroupJoinNewDynamicMember`).
    fn new_member_id(&mut self, g: usize, c: u32, inc: u32, member: Option<u32>) -> Option<u32> {
        let group = &mut self.world.groups[g];
        let fresh = group.next_member;
        if self.model.consumers[c as usize].group_instance_id.is_some() {
            group.next_member += 1;
            return Some(fresh);
        }
        match member {
            None => {
                let id = fresh;
                group.next_member += 1;
                let timeout = self.model.consumers[c as usize].session_timeout_ms;
                group.pending.push((id, c, self.clock + timeout));
                self.arm_pending_expiry(g, c);
                let reply = GroupReply::MemberIdRequired { member: id };
                self.send(Event::GroupResponse { consumer: c, inc, reply });
                None
            }
            Some(id) => match group.pending.iter().position(|p| p.0 == id) {
                Some(i) => {
                    group.pending.remove(i);
                    self.arm_pending_expiry(g, c);
                    Some(id)
                }
                None => {
                    self.send(Event::GroupResponse { consumer: c, inc, reply: GroupReply::UnknownMember });
                    None
                }
            },
        }
    }

    /// A pending member's session ran out before it joined with its id
    /// (`onExpireHeartbeat` with `isPending`): it is dropped, and a rebalance that waited for
    /// it may complete (`removePendingMemberAndUpdateGroup`).
    pub(super) fn on_pending_member_expire(&mut self, g: u32, c: u32) {
        let now = self.clock;
        let group = &mut self.world.groups[g as usize];
        let expired: Vec<u32> = group.pending.iter().filter(|p| p.1 == c && p.2 <= now).map(|p| p.0).collect();
        group.pending.retain(|p| !(p.1 == c && p.2 <= now));
        for member in expired {
            self.log(|sim| {
                let t = sim.model.consumers[c as usize].session_timeout_ms;
                let name = &sim.model.consumers[c as usize].name;
                let what = format!(
                    "pending member {member} ({name}) did not join with its member id within session.timeout.ms ({t} ms)"
                );
                (format!("group {}", sim.model.groups[g as usize].name), "member expired".into(), String::new(), what)
            });
        }
        self.arm_pending_expiry(g as usize, c);
        self.try_complete_rebalance(g as usize);
    }

    /// Arms consumer `c`'s pending-member timer for the earliest of its pending members, or
    /// disarms it when it has none.
    fn arm_pending_expiry(&mut self, g: usize, c: u32) {
        let timer = self.pending_member_timer(c);
        let next = self.world.groups[g].pending.iter().filter(|p| p.1 == c).map(|p| p.2).min();
        match next {
            Some(at) => self.queue.arm(timer, at, Event::PendingMemberExpire { group: g as u32, consumer: c }, false),
            None => self.queue.cancel(timer),
        }
    }

    /// PreparingRebalance (eager protocol): every member must send JoinGroup again; members
    /// hear of it with their next heartbeat (heartbeat.interval.ms) and rejoin at their next
    /// poll(), keeping their partitions until then.
    fn prepare_rebalance(&mut self, g: usize) {
        let group = &mut self.world.groups[g];
        if group.rebalancing {
            return;
        }
        group.rebalancing = true;
        let notify: Vec<(u32, u32)> = group
            .members
            .iter()
            .filter(|m| !m.crashed && !group.joining.contains(&(m.consumer, m.inc)))
            .map(|m| (m.consumer, m.inc))
            .collect();
        if !notify.is_empty() {
            self.log(|sim| {
                let names: Vec<&str> =
                    notify.iter().map(|(c, _)| sim.model.consumers[*c as usize].name.as_str()).collect();
                (
                    format!("group {}", sim.model.groups[g].name),
                    "prepare rebalance".into(),
                    String::new(),
                    format!("waiting for {} to rejoin", names.join(", ")),
                )
            });
        }
        for (c, inc) in notify {
            let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
            self.queue.push(self.clock + hb, Event::RebalanceNotice { consumer: c, inc }, false);
        }
    }

    /// An Empty group's first join: `GroupCoordinator.prepareRebalance` puts an
    /// InitialDelayedJoin in the purgatory that cannot complete early (its `tryComplete` is
    /// false) for `group.initial.rebalance.delay.ms`, and waits once more for each interval in
    /// which a new member joined, up to the rebalance timeout (the member's
    /// max.poll.interval.ms). Kafka 3.x classic group protocol.
    fn initial_delayed_join(&mut self, g: usize, c: u32) {
        let delay = self.model.cluster.group_initial_rebalance_delay_ms;
        if delay == 0 {
            self.prepare_rebalance(g);
            self.try_complete_rebalance(g);
            return;
        }
        let rebalance_timeout = self.model.consumers[c as usize].max_poll_interval_ms;
        let group = &mut self.world.groups[g];
        group.rebalancing = true;
        group.initial_delay = Some((rebalance_timeout.saturating_sub(delay), false));
        group.initial_delays += 1;
        let token = group.initial_delays;
        self.queue.push(self.clock + delay, Event::InitialJoinDelay { group: g as u32, token, delay }, false);
        self.log(|sim| {
            (
                format!("group {}", sim.model.groups[g].name),
                "prepare rebalance".into(),
                String::new(),
                format!("empty group: waiting group.initial.rebalance.delay.ms ({delay} ms) for more members"),
            )
        });
    }

    pub(super) fn on_initial_join_delay(&mut self, g: u32, token: u32, delay: u64) {
        let group = &mut self.world.groups[g as usize];
        let Some((remaining, added)) = group.initial_delay.filter(|_| group.initial_delays == token) else {
            return;
        };
        if added && remaining != 0 {
            let configured = self.model.cluster.group_initial_rebalance_delay_ms;
            let next = configured.min(remaining);
            group.initial_delay = Some((remaining.saturating_sub(delay), false));
            self.queue.push(self.clock + next, Event::InitialJoinDelay { group: g, token, delay: next }, false);
            self.log(|sim| {
                (
                    format!("group {}", sim.model.groups[g as usize].name),
                    "prepare rebalance".into(),
                    String::new(),
                    format!("a member joined meanwhile: waiting {next} ms more"),
                )
            });
            return;
        }
        group.initial_delay = None;
        self.try_complete_rebalance(g as usize);
    }

    /// A rebalance completes once every member has rejoined; a crashed member is waited for
    /// until its session times out.
    fn try_complete_rebalance(&mut self, g: usize) {
        let group = &self.world.groups[g];
        if group.initial_delay.is_some() || self.group_unloaded(g) {
            return;
        }
        // (`hasAllMembersJoined`: pending members too must have joined, or expired.)
        let all_in =
            group.members.iter().all(|m| group.joining.contains(&(m.consumer, m.inc))) && group.pending.is_empty();
        if !group.rebalancing || group.joining.is_empty() || !all_in {
            let silent = |m: &Member| m.crashed && !group.joining.contains(&(m.consumer, m.inc));
            if group.joining.len() == 1 && group.members.iter().any(silent) {
                self.log(|sim| {
                    let name = &sim.model.groups[g].name;
                    (
                        format!("group {name}"),
                        "rebalance".into(),
                        String::new(),
                        "waiting for crashed members' session.timeout.ms".into(),
                    )
                });
            }
            return;
        }
        self.rebalance(g);
        // `GroupCoordinator.onCompleteJoin` reschedules every member's heartbeat expiration.
        let now = self.clock;
        let mut silent = Vec::new();
        for m in &mut self.world.groups[g].members {
            m.last_contact = now;
            if m.crashed {
                silent.push((m.id, self.model.consumers[m.consumer as usize].session_timeout_ms));
            }
        }
        for (member, timeout) in silent {
            self.queue.push(now + timeout, Event::MemberExpire { group: g as u32, member }, false);
        }
        // (SyncGroup, folded into the join here, stores the generation.)
        self.store_group(g);
        let group = &mut self.world.groups[g];
        group.rebalancing = false;
        let joining = std::mem::take(&mut group.joining);
        let generation = group.generation;
        for (c, inc) in joining {
            let group = &self.world.groups[g];
            let Some(m) = group.members.iter().find(|m| m.consumer == c && m.inc == inc) else {
                continue;
            };
            let assignment = group.assignment.get(&m.id).cloned().unwrap_or_default();
            let member = m.id;
            self.send(Event::GroupResponse {
                consumer: c,
                inc,
                reply: GroupReply::Joined { generation, member, assignment },
            });
        }
    }

    /// A new generation over the live members, with the assignor the group selected.
    fn rebalance(&mut self, g: usize) {
        let cfg = &self.model.groups[g];
        let sticky = self.sticky_selected(g).then(|| self.cooperative_sticky(g));
        let group = &mut self.world.groups[g];
        group.generation += 1;
        let ids: Vec<u32> = group.members.iter().map(|m| m.id).collect();
        let mut assignment: BTreeMap<u32, Vec<PartitionIdx>> = ids.iter().map(|id| (*id, Vec::new())).collect();
        let mut withheld = Vec::new();
        if let Some((sticky, moving)) = sticky {
            (assignment, withheld) = (sticky, moving);
        } else if !ids.is_empty() {
            // RangeAssignor: per topic, consecutive ranges; the first members take one extra.
            for t in &cfg.topics {
                let topic = &self.model.topics[*t as usize];
                let subscribed: Vec<u32> = group
                    .members
                    .iter()
                    .filter(|m| self.model.consumers[m.consumer as usize].topics.contains(t))
                    .map(|m| m.id)
                    .collect();
                if subscribed.is_empty() {
                    continue;
                }
                let n = topic.partitions as usize;
                let per = n / subscribed.len();
                let extra = n % subscribed.len();
                let mut next = 0;
                for (i, id) in subscribed.iter().enumerate() {
                    let take = per + usize::from(i < extra);
                    let parts = assignment.get_mut(id).expect("member");
                    parts.extend((next..next + take).map(|p| topic.first_partition + p as u32));
                    next += take;
                }
            }
        }
        let group = &mut self.world.groups[g];
        group.assignment = assignment;
        let generation = group.generation;
        self.log(|sim| {
            let group = &sim.world.groups[g];
            let parts: Vec<String> = group
                .members
                .iter()
                .map(|m| {
                    let ps: Vec<&str> = group.assignment[&m.id].iter().map(|p| sim.model.partition_name(*p)).collect();
                    format!("{}: [{}]", sim.model.consumers[m.consumer as usize].name, ps.join(", "))
                })
                .collect();
            (
                format!("group {}", sim.model.groups[g].name),
                "rebalance".into(),
                String::new(),
                match withheld.as_slice() {
                    [] => format!("generation {generation}; {}", parts.join("; ")),
                    moving => {
                        let ps: Vec<&str> = moving.iter().map(|p| sim.model.partition_name(*p)).collect();
                        let parts = parts.join("; ");
                        format!(
                            "generation {generation}; {parts}; [{}] withheld until revoked (cooperative-sticky)",
                            ps.join(", ")
                        )
                    }
                },
            )
        });
    }

    pub(super) fn on_member_expire(&mut self, g: u32, member: u32) {
        let now = self.clock;
        if self.group_unloaded(g as usize) {
            // No coordinator runs its session timers: the one that loads the group starts them anew.
            self.idle = true;
            return;
        }
        let group = &mut self.world.groups[g as usize];
        // Silent for a whole session.timeout.ms (an earlier pause's expiry does not count), and
        // not awaiting a join (`hasSatisfiedHeartbeat`: that one expires once the join completes).
        let joining = &group.joining;
        let expired = |m: &Member, sim_timeout: u64| {
            m.crashed && now >= m.last_contact + sim_timeout && !joining.contains(&(m.consumer, m.inc))
        };
        let Some(i) = group
            .members
            .iter()
            .position(|m| m.id == member && expired(m, self.model.consumers[m.consumer as usize].session_timeout_ms))
        else {
            // A stale timer (the member rejoined, was heard from since, or left): it did nothing,
            // so it must not stretch the run's end (`Sim::finish` ends at the last active event).
            self.idle = true;
            return;
        };
        let m = group.members.remove(i);
        group.joining.retain(|j| *j != (m.consumer, m.inc));
        self.world.membership.push((now, m.consumer, super::world::Membership::SessionTimeout));
        self.log(|sim| {
            let t = sim.model.consumers[m.consumer as usize].session_timeout_ms;
            (
                format!("group {}", sim.model.groups[g as usize].name),
                "member expired".into(),
                String::new(),
                format!(
                    "{} (member {member}) missed session.timeout.ms ({t} ms)",
                    sim.model.consumers[m.consumer as usize].name
                ),
            )
        });
        self.member_left(g as usize);
    }

    /// A member left (LeaveGroup, or its session expired): the rest rejoin.
    pub(super) fn member_left(&mut self, g: usize) {
        if self.modern_group(g) {
            self.modern_member_removed(g);
            return;
        }
        if self.world.groups[g].members.is_empty() {
            // Empty again: the next join waits the initial delay anew. (`onCompleteJoin`
            // stores the empty group.)
            self.world.groups[g].rebalancing = false;
            self.world.groups[g].initial_delay = None;
            self.store_group(g);
            return;
        }
        self.prepare_rebalance(g);
        self.try_complete_rebalance(g);
    }

    /// A member cut off from its group coordinator stops heartbeating: it expires after
    /// session.timeout.ms unless the link heals first, and meanwhile goes on consuming what it
    /// was assigned (it learns of its removal at its next group request). When the link heals
    /// its heartbeats resume, and tell it of a rebalance it missed.
    pub(super) fn group_links_changed(&mut self) {
        self.group_coordinators_changed();
        for k in 0..self.model.consumers.len() as u32 {
            let g = self.model.consumers[k as usize].group as usize;
            let s = &self.world.consumers[k as usize];
            if self.world.paused.contains(&Client::Consumer(k)) || s.phase == Phase::Down {
                continue;
            }
            let Some(b) = self.group_coordinator(g) else { continue };
            let inc = s.incarnation;
            let cut = self.cut_from_group_coordinator(k);
            let Some(m) = self.world.groups[g].members.iter().find(|m| m.consumer == k && m.inc == inc) else {
                if !cut && s.member.is_some() {
                    // Expired meanwhile: its first heartbeat gets UNKNOWN_MEMBER_ID.
                    self.log(|sim| {
                        let what = format!("reach the group coordinator (broker {b}) again");
                        (sim.model.consumers[k as usize].name.clone(), "heartbeats".into(), String::new(), what)
                    });
                    if self.model.consumers[k as usize].group_protocol.modern() {
                        // (A KIP-848 member beats at once, and is told UNKNOWN_MEMBER_ID.)
                        self.modern_heartbeat_now(k);
                    } else {
                        let hb = self.model.consumers[k as usize].heartbeat_interval_ms;
                        self.queue.push(self.clock + hb, Event::RebalanceNotice { consumer: k, inc }, false);
                    }
                }
                continue;
            };
            if cut == m.crashed {
                continue;
            }
            self.log(|sim| {
                let what = if cut {
                    format!("cannot reach the group coordinator (broker {b}): the session clock runs")
                } else {
                    format!("reach the group coordinator (broker {b}) again")
                };
                (sim.model.consumers[k as usize].name.clone(), "heartbeats".into(), String::new(), what)
            });
            if cut {
                self.member_crashed(k, inc);
                continue;
            }
            // Its heartbeats (retried all along) get through at once.
            let now = self.clock;
            let s = &mut self.world.consumers[k as usize];
            s.heartbeat_from = s.heartbeat_from.map(|_| now);
            let group = &mut self.world.groups[g];
            if let Some(m) = group.members.iter_mut().find(|m| m.consumer == k && m.inc == inc) {
                m.crashed = false;
                m.last_contact = now;
            }
            if self.model.consumers[k as usize].group_protocol.modern() {
                self.modern_heartbeat_now(k);
                continue;
            }
            if group.rebalancing && !group.joining.contains(&(k, inc)) {
                let hb = self.model.consumers[k as usize].heartbeat_interval_ms;
                self.queue.push(self.clock + hb, Event::RebalanceNotice { consumer: k, inc }, false);
            }
        }
    }

    /// Whether consumer `c` cannot reach its group coordinator (a cut link): it hears
    /// nothing from the group (no heartbeat answers) until the link heals.
    pub(super) fn cut_from_group_coordinator(&self, c: u32) -> bool {
        let g = self.model.consumers[c as usize].group as usize;
        !self.world.cut.is_empty()
            && self
                .group_coordinator(g)
                .is_some_and(|b| self.link_is_cut(Node::Broker(b), Node::Client(Client::Consumer(c))))
    }

    /// A known member's JoinGroup reaches a Stable group (after a coordinator move loaded the
    /// group, or a JoinGroup sent again after its answer was lost): Kafka 3.x classic protocol,
    /// `GroupCoordinator.doCurrentMemberJoinGroup`, Stable case. Only the leader's JoinGroup
    /// (it may have seen topic metadata change) or a member's changed protocol metadata calls
    /// `updateMemberAndRebalance`; a follower with unchanged metadata (scn's subscriptions
    /// never change mid-run; a cooperative member's owned partitions do, see
    /// [`Sim::owned_partitions`]) is answered with the current generation and, at its
    /// SyncGroup, its assignment, and the group stays Stable. The leader is the group's first
    /// member (`GroupMetadata.add`; when it leaves, `remove` takes `members.keys.headOption`
    /// of a hash map, for which scn takes the longest-standing member). Whether it was so.
    fn follower_rejoins_stable(&mut self, g: usize, c: u32, inc: u32) -> bool {
        let group = &mut self.world.groups[g];
        let leader = group.members.first().is_some_and(|l| l.consumer == c && l.inc == inc);
        if group.rebalancing || leader {
            return false;
        }
        let Some(m) = group.members.iter_mut().find(|m| m.consumer == c && m.inc == inc) else {
            return false;
        };
        let (member, silent) = (m.id, m.crashed);
        let generation = group.generation;
        let assignment = group.assignment.get(&member).cloned().unwrap_or_default();
        if silent {
            // (Its JoinGroup counts as contact; a silent one expires a session later.)
            let timeout = self.model.consumers[c as usize].session_timeout_ms;
            self.queue.push(self.clock + timeout, Event::MemberExpire { group: g as u32, member }, false);
        }
        self.log(|sim| {
            let name = &sim.model.consumers[c as usize].name;
            (
                format!("group {}", sim.model.groups[g].name),
                "rejoin, no rebalance".into(),
                String::new(),
                format!("follower {name} (member {member}), metadata unchanged: generation {generation} stands"),
            )
        });
        self.send(Event::GroupResponse {
            consumer: c,
            inc,
            reply: GroupReply::Joined { generation, member, assignment },
        });
        true
    }

    /// KIP-345 (Kafka 2.3+): a static member (`group.instance.id`) that restarts before its
    /// session expired takes its old place under a new member id; in a stable group it gets
    /// its old assignment back with no rebalance (`GroupCoordinator.updateStaticMemberAndRebalance`),
    /// during a rebalance it simply takes part. Whether it did.
    fn static_rejoin(&mut self, g: usize, c: u32, inc: u32) -> bool {
        if self.model.consumers[c as usize].group_instance_id.is_none() {
            return false;
        }
        let group = &mut self.world.groups[g];
        let Some(m) = group.members.iter_mut().find(|m| m.consumer == c) else {
            return false;
        };
        let (old, id) = (m.id, group.next_member);
        group.next_member += 1;
        *m = Member::new(id, c, inc, false, self.clock);
        if let Some(a) = group.assignment.remove(&old) {
            group.assignment.insert(id, a);
        }
        let generation = group.generation;
        let stable = !group.rebalancing;
        self.log(|sim| {
            let name = &sim.model.consumers[c as usize].name;
            let what = if stable {
                format!("static member {name} back as member {id} (was {old}): generation {generation} kept, no rebalance (KIP-345)")
            } else {
                format!("static member {name} back as member {id} (was {old}): joins the rebalance (KIP-345)")
            };
            (format!("group {}", sim.model.groups[g].name), "rejoin".into(), String::new(), what)
        });
        if stable {
            // (`updateStaticMemberAndRebalance` stores the new member id.)
            self.store_group(g);
            let assignment = self.world.groups[g].assignment.get(&id).cloned().unwrap_or_default();
            let reply = GroupReply::Joined { generation, member: id, assignment };
            self.send(Event::GroupResponse { consumer: c, inc, reply });
        } else {
            self.world.groups[g].joining.push((c, inc));
            self.try_complete_rebalance(g);
        }
        true
    }

    /// A member went silent (crashed, froze, or cut off from the coordinator): the coordinator
    /// notices when its session times out. A crashed or paused member keeps the JoinGroup it
    /// may have sent: the coordinator counts it as rejoined, and its session runs from the
    /// join's completion.
    pub(super) fn member_crashed(&mut self, c: u32, inc: u32) {
        let g = self.model.consumers[c as usize].group;
        let timeout = self.model.consumers[c as usize].session_timeout_ms;
        let now = self.clock;
        let group = &mut self.world.groups[g as usize];
        // A JoinGroup the coordinator holds stays there whether its sender crashed or froze:
        // the coordinator cannot tell, and counts the member as rejoined
        // (`GroupCoordinator.onCompleteJoin` puts it in the new generation).
        let awaiting_join = group.joining.contains(&(c, inc));
        let Some(m) = group.members.iter_mut().find(|m| m.consumer == c && m.inc == inc) else { return };
        // (Already silent, e.g. cut off and now paused too: its session clock runs on.)
        if m.crashed {
            return;
        }
        m.crashed = true;
        if awaiting_join {
            // `MemberMetadata.hasSatisfiedHeartbeat`: a member awaiting a join needs no
            // heartbeat; its session starts again when the join completes.
            m.last_contact = now;
            return;
        }
        // The session counts from the last contact, not from now
        // (`GroupCoordinator.completeAndScheduleNextHeartbeatExpiration` at each heartbeat):
        // its last heartbeat reaches the coordinator one network hop after it was sent. A
        // member awaiting a rebalance needs no heartbeat (`MemberMetadata.hasSatisfiedHeartbeat`).
        let s = &self.world.consumers[c as usize];
        let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
        let last_beat = s
            .heartbeat_from
            .filter(|from| *from <= now)
            .map(|from| from + (now - from) / hb * hb + self.model.network.latency_ms);
        m.last_contact = m.last_contact.max(last_beat.unwrap_or(0));
        let (member, at) = (m.id, (m.last_contact + timeout).max(now));
        self.queue.push(at, Event::MemberExpire { group: g, member }, false);
    }

    /// An OffsetCommit of the current generation counts as a heartbeat
    /// (`GroupCoordinator.doCommitOffsets`, Stable or PreparingRebalance): a silent member's
    /// session counts from its arrival.
    fn offset_commit_contact(&mut self, g: usize, c: u32, inc: u32) {
        let now = self.clock;
        let Some(m) = self.world.groups[g].members.iter_mut().find(|m| m.consumer == c && m.inc == inc) else {
            return;
        };
        m.last_contact = now;
        if m.crashed {
            let (member, timeout) = (m.id, self.model.consumers[c as usize].session_timeout_ms);
            self.queue.push(now + timeout, Event::MemberExpire { group: g as u32, member }, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{Options, Sim};

    const SCENARIO: &str = r#"
scenario "pending members"
run for 2m
cluster { brokers 1  topic orders { partitions 2 } }
producer shop { send 12 to orders value "m{i}" every 5s }
consumer a { subscribe orders group g  auto.offset.reset earliest }
consumer b { subscribe orders group g  auto.offset.reset earliest  start at 20s }
faults {
  pause b at 20001ms
  resume b at 70s
}
"#;

    /// KIP-394: b's first JoinGroup makes it a pending member (no rebalance, a keeps both
    /// partitions); paused past session.timeout.ms it loses that id, so its JoinGroup with
    /// it gets UNKNOWN_MEMBER_ID and it joins anew, as a member this time.
    #[test]
    fn pending_member_expires_and_joins_anew() {
        let model = crate::load(SCENARIO).expect("valid scenario");
        let mut sim = Sim::new(&model, &Options { trace_limit: 1000, ..Options::default() });
        while sim.clock < 20_010 {
            assert!(sim.step_once().is_none(), "the run goes on");
        }
        let g = &sim.world.groups[0];
        assert_eq!(g.pending.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>(), vec![(1, 20_001 + 45_000)]);
        assert_eq!(g.members.len(), 1, "only a is a member");
        assert!(!g.rebalancing, "a pending member does not start a rebalance");
        let stop = sim.run_to_end();
        let run = sim.finish(stop);
        let steps = &run.trace.steps;
        let at = |text: &str| steps.iter().find(|s| s.result.contains(text)).map(|s| s.time_ms);
        assert_eq!(at("pending member 2 (b) did not join"), Some(65_001));
        assert_eq!(at("UNKNOWN_MEMBER_ID"), Some(70_002));
        let b = run.world.groups[0].members.iter().find(|m| m.consumer == 1).expect("b joined in the end");
        assert_eq!(b.id, 3, "under a new member id");
    }
}
