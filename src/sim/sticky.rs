//! KIP-429 cooperative rebalancing (Kafka 2.4+; the rules of the 3.9 Java client): the
//! cooperative-sticky assignor and what a cooperative member does with its assignment.
//!
//! The assignor (`AbstractStickyAssignor`'s constrained assignment, for members that all
//! subscribe to the same topics) keeps each member's owned partitions up to its quota and deals
//! the rest round-robin; `CooperativeStickyAssignor.adjustAssignment` then withholds a partition
//! that moves from one member to another, so that no partition has two owners: its old owner
//! revokes it on the answer (`ConsumerCoordinator.onJoinComplete`) and rejoins, and a second
//! rebalance gives it to its new owner. Members go on consuming what they keep throughout.

use super::Sim;
use super::event::{Event, GroupRequest};
use super::world::Phase;
use crate::model::{Assignors, PartitionIdx};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `ConstrainedAssignmentBuilder.build` (3.9): `members` in member-id order, each with its owned
/// partitions in Kafka's order (by partition number, then topic); `all` every subscribed
/// partition in topic-then-partition order. The assignment, and the partitions transferring
/// ownership (to their new owner) that the cooperative assignor withholds.
pub(super) fn constrained_assign(
    members: &[(u32, Vec<PartitionIdx>)],
    all: &[PartitionIdx],
) -> (BTreeMap<u32, Vec<PartitionIdx>>, BTreeMap<PartitionIdx, u32>) {
    let mut assignment: BTreeMap<u32, Vec<PartitionIdx>> = members.iter().map(|(id, _)| (*id, Vec::new())).collect();
    let mut transferring = BTreeMap::new();
    let n = members.len();
    if n == 0 {
        return (assignment, transferring);
    }
    let (min_quota, max_quota, expected_over) = (all.len() / n, all.len().div_ceil(n), all.len() % n);
    let mut over = 0;
    let mut claims: BTreeMap<PartitionIdx, u32> = BTreeMap::new();
    for p in members.iter().flat_map(|(_, owned)| owned) {
        *claims.entry(*p).or_default() += 1;
    }
    let doubly: BTreeSet<PartitionIdx> = claims.iter().filter(|(_, n)| **n > 1).map(|(p, _)| *p).collect();
    let mut maybe_revoked: BTreeMap<PartitionIdx, u32> = BTreeMap::new();
    let (mut under, mut exactly_min): (Vec<u32>, VecDeque<u32>) = (Vec::new(), VecDeque::new());
    let mut assigned = BTreeSet::new();
    // assignOwnedPartitions: keep what each owns, up to its quota.
    for (id, owned) in members {
        let owned: Vec<PartitionIdx> =
            owned.iter().filter(|p| all.contains(p) && !doubly.contains(p)).copied().collect();
        let keep = if owned.len() < min_quota {
            under.push(*id);
            owned.len()
        } else if owned.len() >= max_quota && over < expected_over {
            over += 1;
            if over == expected_over {
                exactly_min.clear();
            }
            max_quota
        } else {
            if over < expected_over {
                exactly_min.push_back(*id);
            }
            min_quota
        };
        for p in &owned[keep..] {
            maybe_revoked.insert(*p, *id);
        }
        assigned.extend(owned[..keep].iter().copied());
        assignment.get_mut(id).expect("member").extend_from_slice(&owned[..keep]);
    }
    under.sort_unstable();
    exactly_min.make_contiguous().sort_unstable();
    // assignRoundRobin: the rest to members under minQuota, then to those at exactly minQuota.
    let mut next = 0;
    for &p in all.iter().filter(|p| !assigned.contains(p)) {
        let consumer = if next < under.len() {
            next += 1;
            under[next - 1]
        } else if !under.is_empty() {
            next = 1;
            under[0]
        } else if let Some(c) = exactly_min.pop_front() {
            c
        } else {
            break;
        };
        let a = assignment.get_mut(&consumer).expect("member");
        a.push(p);
        if maybe_revoked.get(&p).is_some_and(|old| *old != consumer) || doubly.contains(&p) {
            transferring.insert(p, consumer);
        }
        if a.len() == min_quota && next > 0 && under.get(next - 1) == Some(&consumer) {
            under.remove(next - 1);
            next -= 1;
            exactly_min.push_back(consumer);
        }
    }
    (assignment, transferring)
}

impl Sim<'_> {
    /// `GroupMetadata.selectProtocol`: each member votes for the first assignor it lists that
    /// every member supports. With every member listing range (alone or before
    /// cooperative-sticky, 3.x's default) range wins; one member listing cooperative-sticky
    /// alone leaves only cooperative-sticky (check refuses a group with no common assignor).
    pub(super) fn sticky_selected(&self, g: usize) -> bool {
        let group = &self.world.groups[g];
        group
            .members
            .iter()
            .any(|m| self.model.consumers[m.consumer as usize].assignors == Assignors::CooperativeSticky)
    }

    /// The `ownedPartitions` a JoinGroup's subscription carries (KIP-429,
    /// `ConsumerProtocolSubscription` v1+): a cooperative member's current partitions (they
    /// do not change while its JoinGroup is out), nothing for an eager member (it revoked them
    /// all first, `onJoinPrepare`) or a new one.
    pub(super) fn owned_partitions(&self, c: u32, inc: u32) -> Vec<PartitionIdx> {
        let s = &self.world.consumers[c as usize];
        if !self.model.consumers[c as usize].assignors.cooperative() || s.incarnation != inc || s.member.is_none() {
            return Vec::new();
        }
        s.assignment.clone()
    }

    /// Every partition of the topics group `g` subscribes to, topic by topic, in order.
    pub(super) fn group_partitions(&self, g: usize) -> Vec<PartitionIdx> {
        self.model.groups[g]
            .topics
            .iter()
            .flat_map(|t| {
                let topic = &self.model.topics[*t as usize];
                (0..topic.partitions).map(move |p| topic.first_partition + p)
            })
            .collect()
    }

    /// The cooperative-sticky assignment of group `g` over its members' owned partitions, with
    /// the moving partitions withheld (`CooperativeStickyAssignor.adjustAssignment`).
    pub(super) fn cooperative_sticky(&self, g: usize) -> (BTreeMap<u32, Vec<PartitionIdx>>, Vec<PartitionIdx>) {
        let topic_of = |p: &PartitionIdx| {
            let cfg = &self.model.partitions[*p as usize];
            (self.model.topics[cfg.topic as usize].name.as_str(), cfg.partition)
        };
        let mut all = self.group_partitions(g);
        all.sort_by_key(topic_of);
        let members: Vec<(u32, Vec<PartitionIdx>)> = self.world.groups[g]
            .members
            .iter()
            .map(|m| {
                let mut owned = m.owned.clone();
                owned.sort_by_key(|p| (topic_of(p).1, topic_of(p).0));
                (m.id, owned)
            })
            .collect();
        let (mut assignment, transferring) = constrained_assign(&members, &all);
        for (p, to) in &transferring {
            assignment.get_mut(to).expect("member").retain(|q| q != p);
        }
        (assignment, transferring.into_keys().collect())
    }

    /// A cooperative member rejoins (`onJoinPrepare`, COOPERATIVE): with auto-commit it commits
    /// its positions first, as an eager one does, but revokes nothing and goes on consuming.
    pub(super) fn cooperative_rejoin(&mut self, c: u32) {
        let cfg = &self.model.consumers[c as usize];
        let offsets = if cfg.enable_auto_commit { self.uncommitted_positions(c) } else { Vec::new() };
        let s = &mut self.world.consumers[c as usize];
        let (inc, generation, revoked, member) = (s.incarnation, s.generation, s.rejoin_requested, s.member);
        s.cooperative_join = true;
        s.rejoin_requested = false;
        s.heartbeat_from = None;
        for (p, o) in &offsets {
            s.committed.insert(*p, *o);
        }
        self.log(|sim| {
            let why = if revoked { "revoked partitions" } else { "group rebalancing" };
            let what = format!("{why}: JoinGroup, keeping generation {generation}'s partitions (cooperative)");
            (sim.cname(c), "rejoin".into(), String::new(), what)
        });
        let leader_epochs = self.position_epochs(c, &offsets);
        self.send(Event::GroupArrive {
            consumer: c,
            inc,
            request: GroupRequest::Join { member, offsets, leader_epochs },
        });
    }

    /// `ConsumerCoordinator.onJoinComplete` for a cooperative member that owned partitions:
    /// it revokes what it lost (and must rejoin), keeps the positions of what it keeps, and
    /// fetches the committed offsets of what it gained. Whether `poll()` must wait for them.
    pub(super) fn cooperative_adopt(
        &mut self,
        c: u32,
        generation: u32,
        member: u32,
        assignment: Vec<PartitionIdx>,
    ) -> bool {
        let hb = self.model.consumers[c as usize].heartbeat_interval_ms;
        let now = self.clock;
        let s = &mut self.world.consumers[c as usize];
        let revoked: Vec<PartitionIdx> = s.assignment.iter().filter(|p| !assignment.contains(p)).copied().collect();
        let added: Vec<PartitionIdx> = assignment.iter().filter(|p| !s.assignment.contains(p)).copied().collect();
        s.member = Some(member);
        s.generation = generation;
        s.cooperative_join = false;
        s.heartbeat_from = Some(now + hb);
        // (`onJoinComplete` restarts the auto-commit timer.)
        s.last_auto_commit = now;
        for p in &revoked {
            s.forget_partition(*p);
        }
        s.rejoin_requested = !revoked.is_empty();
        s.assignment = assignment.clone();
        self.log(|sim| {
            let names =
                |ps: &[PartitionIdx]| ps.iter().map(|p| sim.model.partition_name(*p)).collect::<Vec<_>>().join(", ");
            let mut what = format!("generation {generation}: [{}] (cooperative", names(&assignment));
            if !revoked.is_empty() {
                what += &format!("; revokes [{}] and rejoins", names(&revoked));
            }
            if !added.is_empty() {
                what += &format!("; adds [{}]", names(&added));
            }
            (sim.cname(c), "assignment".into(), String::new(), what + ")")
        });
        if added.is_empty() {
            return false;
        }
        let inc = self.world.consumers[c as usize].incarnation;
        self.world.consumers[c as usize].phase = Phase::Initializing;
        self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::OffsetFetch { generation } });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::constrained_assign;

    #[test]
    fn a_new_member_gets_partitions_only_once_they_are_revoked() {
        // Member 1 owns 0-3; member 2 joins: 1 keeps 0 and 1, 2 and 3 move to member 2.
        let (a, moving) = constrained_assign(&[(1, vec![0, 1, 2, 3]), (2, vec![])], &[0, 1, 2, 3]);
        assert_eq!(a[&1], vec![0, 1]);
        assert_eq!(a[&2], vec![2, 3]);
        assert_eq!(moving.into_iter().collect::<Vec<_>>(), vec![(2, 2), (3, 2)]);
        // Once member 1 revoked them, nobody owns them: nothing is withheld.
        let (a, moving) = constrained_assign(&[(1, vec![0, 1]), (2, vec![])], &[0, 1, 2, 3]);
        assert_eq!((a[&1].clone(), a[&2].clone()), (vec![0, 1], vec![2, 3]));
        assert!(moving.is_empty());
    }

    #[test]
    fn odd_counts_keep_max_quota_for_the_first_owners() {
        // 5 partitions over 2: one member keeps 3 (maxQuota), the other gets 2.
        let (a, moving) = constrained_assign(&[(1, vec![0, 1, 2]), (2, vec![3, 4])], &[0, 1, 2, 3, 4]);
        assert_eq!((a[&1].clone(), a[&2].clone()), (vec![0, 1, 2], vec![3, 4]));
        assert!(moving.is_empty());
        // A third member joins: each keeps up to its quota (2, 2, 1).
        let (a, moving) = constrained_assign(&[(1, vec![0, 1, 2]), (2, vec![3, 4]), (3, vec![])], &[0, 1, 2, 3, 4]);
        assert_eq!((a[&1].clone(), a[&2].clone(), a[&3].clone()), (vec![0, 1], vec![3, 4], vec![2]));
        assert_eq!(moving.into_iter().collect::<Vec<_>>(), vec![(2, 3)]);
    }
}
