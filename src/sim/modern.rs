//! KIP-848's consumer group protocol at the coordinator (Kafka 4.0, `group.protocol
//! consumer`): members join and learn their partitions through ConsumerGroupHeartbeat, the
//! coordinator computes the target assignment (server-side assignors) and hands a partition to
//! its new owner only once the old one has revoked it. No rebalance stops the group.
//!
//! Kafka 4.0 `GroupMetadataManager.consumerGroupHeartbeat`, `CurrentAssignmentBuilder`,
//! `UniformHomogeneousAssignmentBuilder`, `RangeAssignor`. A group's epoch is
//! [`Group::generation`](super::world::Group), its target assignment `Group::assignment` (for
//! `Group::assignment_epoch`), each member's epoch, assigned partitions and partitions pending
//! revocation `Member::epoch`, `owned` and `revoking`. The group's state is written to
//! `__consumer_offsets` as it changes, so a new coordinator loads all of it.

use super::Sim;
use super::event::{Event, GroupReply};
use super::world::{Member, Membership};
use crate::model::{GroupProtocol, PartitionIdx};
use std::collections::{BTreeMap, BTreeSet};

impl Sim<'_> {
    /// Whether group `g` runs KIP-848's protocol (check keeps a group's members on one protocol).
    pub(super) fn modern_group(&self, g: usize) -> bool {
        let members = &self.model.groups[g].members;
        members.first().is_some_and(|c| self.model.consumers[*c as usize].group_protocol.modern())
    }

    /// Whether consumer `c` uses KIP-848's protocol.
    pub(super) fn modern_consumer(&self, c: u32) -> bool {
        self.model.consumers[c as usize].group_protocol.modern()
    }

    /// A ConsumerGroupHeartbeat from member `member` of consumer `c` arrives at the coordinator.
    pub(super) fn on_consumer_group_heartbeat(
        &mut self,
        c: u32,
        inc: u32,
        member: u32,
        epoch: u32,
        owned: Option<Vec<PartitionIdx>>,
    ) {
        let g = self.model.consumers[c as usize].group as usize;
        let now = self.clock;
        let group = &mut self.world.groups[g];
        let mut i = group.members.iter().position(|m| m.id == member);
        if epoch == 0 && i.is_none() {
            // A new member: its subscription bumps the group epoch
            // (`hasMemberSubscriptionChanged`), and it takes part in the next target assignment.
            let dead = self.world.consumers[c as usize].incarnation != inc;
            group.members.push(Member::new(member, c, inc, dead, now));
            group.generation += 1;
            i = Some(group.members.len() - 1);
            if !dead {
                self.world.membership.push((now, c, Membership::Joined));
            }
            self.log(|sim| {
                let name = &sim.model.consumers[c as usize].name;
                let epoch = sim.world.groups[g].generation;
                (
                    format!("group {}", sim.model.groups[g].name),
                    "member joined".into(),
                    String::new(),
                    format!("{name} (member {member}): group epoch {epoch}"),
                )
            });
            self.members_heartbeat_soon(g, Some(member));
        }
        let group = &mut self.world.groups[g];
        // UNKNOWN_MEMBER_ID for a member the group removed; FENCED_MEMBER_EPOCH for an epoch
        // that is not the member's (`throwIfConsumerGroupMemberEpochIsInvalid`), except its
        // previous epoch with a subset of its partitions: the answer that bumped it may have
        // been lost, or not read yet.
        let valid = |m: &Member| {
            epoch == 0
                || m.epoch == epoch
                || (epoch == m.previous_epoch && owned.as_ref().is_some_and(|o| o.iter().all(|p| m.owned.contains(p))))
        };
        let Some(i) = i.filter(|&i| valid(&group.members[i])) else {
            self.send(Event::GroupResponse { consumer: c, inc, reply: GroupReply::UnknownMember });
            return;
        };
        // Every heartbeat restarts the member's session (`scheduleConsumerGroupSessionTimeout`):
        // one that went silent after sending it expires a session from now.
        let m = &mut group.members[i];
        m.last_contact = now;
        if m.crashed {
            let timeout = self.model.consumers[c as usize].session_timeout_ms;
            self.queue.push(now + timeout, Event::MemberExpire { group: g as u32, member }, false);
        }
        self.update_target_assignment(g);
        let freed = self.reconcile_member(g, i, owned.as_deref());
        let m = &self.world.groups[g].members[i];
        let reply = GroupReply::Heartbeat { member, epoch: m.epoch, assignment: m.owned.clone() };
        self.send(Event::GroupResponse { consumer: c, inc, reply });
        if freed {
            self.members_heartbeat_soon(g, Some(member));
        }
    }

    /// `GroupMetadataManager.updateTargetAssignment`: once the group epoch has moved past the
    /// target assignment's, the next heartbeat computes a new one, from the previous target,
    /// with the group's server-side assignor.
    fn update_target_assignment(&mut self, g: usize) {
        let group = &self.world.groups[g];
        if group.assignment_epoch == group.generation {
            return;
        }
        let partitions = self.group_partitions(g);
        let ids: Vec<u32> = group.members.iter().map(|m| m.id).collect();
        let range = group.members.first().is_some_and(|m| {
            self.model.consumers[m.consumer as usize].group_protocol == GroupProtocol::Consumer { range: true }
        });
        let target = if range {
            let topics: Vec<Vec<PartitionIdx>> = self.model.groups[g]
                .topics
                .iter()
                .map(|t| {
                    partitions.iter().copied().filter(|p| self.model.partitions[*p as usize].topic == *t).collect()
                })
                .collect();
            range_assign(&ids, &topics)
        } else {
            uniform_assign(&ids, &partitions, &group.assignment)
        };
        let group = &mut self.world.groups[g];
        group.assignment = target;
        group.assignment_epoch = group.generation;
        self.log(|sim| {
            let group = &sim.world.groups[g];
            // (A restarted consumer's old member may still be there: then ids tell them apart.)
            let twice = |c: u32| group.members.iter().filter(|m| m.consumer == c).count() > 1;
            let each: Vec<String> = group
                .members
                .iter()
                .map(|m| {
                    let name = &sim.model.consumers[m.consumer as usize].name;
                    let who = if twice(m.consumer) { format!("{name} (member {})", m.id) } else { name.clone() };
                    format!("{who}: [{}]", partition_names(sim, &group.assignment[&m.id]))
                })
                .collect();
            let assignor = if range { "range" } else { "uniform" };
            (
                format!("group {}", sim.model.groups[g].name),
                "target assignment".into(),
                String::new(),
                format!("epoch {} ({assignor}): {}", group.generation, each.join("; ")),
            )
        });
    }

    /// `CurrentAssignmentBuilder`: member `i` moves towards its target with what its heartbeat
    /// reported owning (`None`: it sent no list, so it still owns what it had). It keeps what
    /// stays its own; it must revoke what moves before its epoch advances (UNREVOKED_PARTITIONS);
    /// then it reaches the target epoch and gets the target partitions no other member holds
    /// (UNRELEASED_PARTITIONS until it has them all). Whether partitions were released.
    fn reconcile_member(&mut self, g: usize, i: usize, owned: Option<&[PartitionIdx]>) -> bool {
        let timer = self.revocation_timer(self.world.groups[g].members[i].consumer);
        let group = &mut self.world.groups[g];
        let target_epoch = group.assignment_epoch;
        let target = group.assignment.get(&group.members[i].id).cloned().unwrap_or_default();
        let reports_any = |ps: &[PartitionIdx]| owned.is_none_or(|o| ps.iter().any(|p| o.contains(p)));
        let mut freed = false;
        let m = &group.members[i];
        if !m.revoking.is_empty() {
            if reports_any(&m.revoking) {
                return false;
            }
            group.members[i].revoking.clear();
            freed = true;
            // (`scheduleConsumerGroupRebalanceTimeout` is cancelled once it revoked.)
            self.queue.cancel(timer);
        }
        let m = &group.members[i];
        if m.epoch == target_epoch && m.owned == target {
            return freed;
        }
        let wanted: BTreeSet<PartitionIdx> = target.iter().copied().collect();
        let (kept, revoked): (Vec<PartitionIdx>, Vec<PartitionIdx>) = m.owned.iter().partition(|p| wanted.contains(p));
        if !revoked.is_empty() && reports_any(&revoked) {
            let m = &mut group.members[i];
            m.owned = kept;
            m.revoking = revoked;
            let (member, epoch, c) = (m.id, m.epoch, m.consumer);
            let timeout = self.model.consumers[c as usize].max_poll_interval_ms;
            let event = Event::RevocationTimeout { group: g as u32, member, epoch };
            self.queue.arm(timer, self.clock + timeout, event, false);
            self.log_member_state(g, i, "revoke first");
            return freed;
        }
        freed |= !revoked.is_empty();
        // (Sets: a group of thousands of partitions stays linear.)
        let held: BTreeSet<PartitionIdx> = group
            .members
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, o)| o.owned.iter().chain(&o.revoking).copied())
            .collect();
        let mut next: Vec<PartitionIdx> =
            target.iter().filter(|p| kept.binary_search(p).is_ok() || !held.contains(p)).copied().collect();
        next.sort_unstable();
        let unreleased = next.len() < target.len();
        let m = &mut group.members[i];
        let changed = m.owned != next || m.epoch != target_epoch;
        m.owned = next;
        if m.epoch != target_epoch {
            m.previous_epoch = m.epoch;
        }
        m.epoch = target_epoch;
        if changed {
            self.log_member_state(g, i, if unreleased { "wait for release" } else { "stable" });
        }
        freed
    }

    /// The rebalance timeout of a revocation: a member still at `epoch` with partitions to
    /// revoke is fenced (removed, as by a session timeout); one that revoked since, or left,
    /// makes this timer stale.
    pub(super) fn on_revocation_timeout(&mut self, g: u32, member: u32, epoch: u32) {
        let unloaded = self.group_unloaded(g as usize);
        let group = &mut self.world.groups[g as usize];
        let due = |m: &Member| m.id == member && m.epoch == epoch && !m.revoking.is_empty();
        let Some(i) = group.members.iter().position(due).filter(|_| !unloaded) else {
            self.idle = true;
            return;
        };
        let m = group.members.remove(i);
        self.world.membership.push((self.clock, m.consumer, Membership::RebalanceTimeout));
        self.log(|sim| {
            let name = &sim.model.consumers[m.consumer as usize].name;
            let t = sim.model.consumers[m.consumer as usize].max_poll_interval_ms;
            (
                format!("group {}", sim.model.groups[g as usize].name),
                "member fenced".into(),
                String::new(),
                format!("{name} (member {member}) did not revoke [{}] within its rebalance timeout (max.poll.interval.ms, {t} ms)", partition_names(sim, &m.revoking)),
            )
        });
        self.modern_member_removed(g as usize);
    }

    /// A trace row for member `i`'s reconciliation state.
    fn log_member_state(&mut self, g: usize, i: usize, state: &'static str) {
        self.log(|sim| {
            let m = &sim.world.groups[g].members[i];
            let name = &sim.model.consumers[m.consumer as usize].name;
            let what = match state {
                "revoke first" => format!(
                    "{name} at epoch {} keeps [{}], must revoke [{}] (UNREVOKED_PARTITIONS)",
                    m.epoch,
                    partition_names(sim, &m.owned),
                    partition_names(sim, &m.revoking)
                ),
                "wait for release" => format!(
                    "{name} at epoch {}: [{}], the rest once released (UNRELEASED_PARTITIONS)",
                    m.epoch,
                    partition_names(sim, &m.owned)
                ),
                _ => format!("{name} at epoch {}: [{}] (STABLE)", m.epoch, partition_names(sim, &m.owned)),
            };
            (format!("group {}", sim.model.groups[g].name), "reconcile".into(), String::new(), what)
        });
    }

    /// Member `member` left or was removed (LeaveGroup by heartbeat, session or rebalance
    /// timeout: `consumerGroupFenceMember`): its partitions are free at once and the group
    /// epoch moves on; the others learn of it at their next heartbeat.
    pub(super) fn modern_member_removed(&mut self, g: usize) {
        self.world.groups[g].generation += 1;
        // (The rebalance timeouts of members that are gone are cancelled with them.)
        for &c in &self.model.groups[g].members {
            if !self.world.groups[g].members.iter().any(|m| m.consumer == c && !m.revoking.is_empty()) {
                self.queue.cancel(self.revocation_timer(c));
            }
        }
        self.members_heartbeat_soon(g, None);
    }

    /// Every live member but `except` sends its next regular heartbeat (the coordinator has
    /// news: a new group epoch, or partitions released).
    fn members_heartbeat_soon(&mut self, g: usize, except: Option<u32>) {
        let members: Vec<(u32, u32)> =
            self.world.groups[g].members.iter().filter(|m| Some(m.id) != except).map(|m| (m.consumer, m.inc)).collect();
        for (c, inc) in members {
            self.heartbeat_soon(c, inc);
        }
    }
}

/// `UniformHomogeneousAssignmentBuilder` (every member subscribes to the same topics): each
/// member keeps its previous target partitions up to its quota (`N / M`, one more for the first
/// `N % M` members), in partition order; the partitions left over go, in order, to the members
/// below their quota. Kafka walks the members in a hash map's order; scn in join order.
fn uniform_assign(
    members: &[u32],
    partitions: &[PartitionIdx],
    previous: &BTreeMap<u32, Vec<PartitionIdx>>,
) -> BTreeMap<u32, Vec<PartitionIdx>> {
    let mut target: BTreeMap<u32, Vec<PartitionIdx>> = BTreeMap::new();
    if members.is_empty() {
        return target;
    }
    let owned: BTreeSet<PartitionIdx> = members.iter().filter_map(|m| previous.get(m)).flatten().copied().collect();
    let subscribed: BTreeSet<PartitionIdx> = partitions.iter().copied().collect();
    let mut pool: Vec<PartitionIdx> = partitions.iter().filter(|p| !owned.contains(p)).copied().collect();
    let (min, mut extra) = (partitions.len() / members.len(), partitions.len() % members.len());
    let mut unfilled = Vec::new();
    for &m in members {
        let mut quota = min + usize::from(extra > 0);
        extra = extra.saturating_sub(1);
        let mut old: Vec<PartitionIdx> =
            previous.get(&m).into_iter().flatten().filter(|p| subscribed.contains(p)).copied().collect();
        old.sort_unstable();
        let keep = old.len().min(quota);
        pool.extend_from_slice(&old[keep..]);
        old.truncate(keep);
        quota -= keep;
        if quota > 0 {
            unfilled.push((m, quota));
        }
        target.insert(m, old);
    }
    let mut next = pool.into_iter();
    for (m, quota) in unfilled {
        let parts = target.get_mut(&m).expect("member");
        parts.extend(next.by_ref().take(quota));
        parts.sort_unstable();
    }
    target
}

/// The server-side `RangeAssignor` (`assignHomogeneousGroup`): each topic's partitions (one
/// list a topic) in consecutive ranges, one more for the first `N % M` members (Kafka sorts
/// dynamic members by member id; scn takes join order).
fn range_assign(members: &[u32], topics: &[Vec<PartitionIdx>]) -> BTreeMap<u32, Vec<PartitionIdx>> {
    let mut target: BTreeMap<u32, Vec<PartitionIdx>> = members.iter().map(|m| (*m, Vec::new())).collect();
    if members.is_empty() {
        return target;
    }
    for partitions in topics {
        let (per, extra) = (partitions.len() / members.len(), partitions.len() % members.len());
        let mut next = partitions.iter().copied();
        for (i, m) in members.iter().enumerate() {
            target.get_mut(m).expect("member").extend(next.by_ref().take(per + usize::from(i < extra)));
        }
    }
    target
}

/// `orders-0, orders-1`.
pub(super) fn partition_names(sim: &Sim<'_>, ps: &[PartitionIdx]) -> String {
    ps.iter().map(|p| sim.model.partition_name(*p)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::{range_assign, uniform_assign};
    use std::collections::BTreeMap;

    /// A second member takes half of what the first held; a third takes one from each, and
    /// nothing else moves (balance first, then stickiness).
    #[test]
    fn uniform_moves_as_little_as_balance_allows() {
        let parts: Vec<u32> = (0..6).collect();
        let one = uniform_assign(&[1], &parts, &BTreeMap::new());
        assert_eq!(one[&1], vec![0, 1, 2, 3, 4, 5]);
        let two = uniform_assign(&[1, 2], &parts, &one);
        assert_eq!((two[&1].clone(), two[&2].clone()), (vec![0, 1, 2], vec![3, 4, 5]));
        let three = uniform_assign(&[1, 2, 3], &parts, &two);
        assert_eq!(three[&1], vec![0, 1]);
        assert_eq!(three[&2], vec![3, 4]);
        assert_eq!(three[&3], vec![2, 5]);
        // The first member leaves: its partitions go to the others, who keep theirs.
        let after = uniform_assign(&[2, 3], &parts, &three);
        assert_eq!((after[&2].clone(), after[&3].clone()), (vec![0, 3, 4], vec![1, 2, 5]));
    }

    /// Seven partitions over three members: [0-2], [3-4], [5-6], whatever they held; with a
    /// second topic, one range of each topic (two topics of two partitions over two members:
    /// one partition of each, not one topic each).
    #[test]
    fn range_takes_consecutive_ranges_of_each_topic() {
        let parts: Vec<u32> = (0..7).collect();
        let t = range_assign(&[4, 7, 9], &[parts]);
        assert_eq!((t[&4].clone(), t[&7].clone(), t[&9].clone()), (vec![0, 1, 2], vec![3, 4], vec![5, 6]));
        let t = range_assign(&[1, 2], &[vec![0, 1], vec![2, 3]]);
        assert_eq!((t[&1].clone(), t[&2].clone()), (vec![0, 2], vec![1, 3]));
    }
}
