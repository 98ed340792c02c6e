//! Metadata: each client's cached view of the partition leaders (refreshed after an error or
//! every `metadata.max.age.ms`, from the least loaded broker it can reach; never to an older
//! leader epoch, KIP-320), and the frozen view a broker that hears nothing from the controller
//! (paused, or cut off) keeps acting on: a deposed "zombie" leader.

use super::Sim;
use super::world::LeaderView;
use crate::model::{BrokerId, Client, Node, PartitionIdx};
use std::collections::BTreeSet;

/// A client's metadata cache (Kafka's `Metadata` / `MetadataCache` on the client side).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// The leader of each partition and its leader epoch, as the newest MetadataResponse said
    /// (empty before the first).
    pub leaders: Vec<(Option<BrokerId>, u32)>,
    /// Partitions whose leader an error proved wrong (InvalidMetadataException, a disconnect):
    /// the next look-up refreshes first.
    pub invalid: BTreeSet<PartitionIdx>,
    pub refreshed_at: Option<u64>,
    /// Refreshes so far: where the search for the least loaded broker starts (stands in for
    /// the random start of `NetworkClient.leastLoadedNode`).
    pub refreshes: u32,
    /// The broker whose connection just failed: in reconnect backoff, so not asked next.
    pub avoid: Option<BrokerId>,
    /// Every partition in `leaders` has a leader (derived from it, set with it).
    pub all_led: bool,
}

impl Sim<'_> {
    /// Whether broker `b` is cut off from the controller (no heartbeats, no metadata).
    pub(super) fn cut_from_controller(&self, b: BrokerId) -> bool {
        self.link_is_cut(Node::Broker(b), Node::Controller)
    }

    /// Who leads `part` as far as broker `b` knows. Cut off from the controller it still
    /// believes it leads what it led; where it follows, it is not modelled as stale.
    pub(super) fn believed_leader(&self, b: BrokerId, part: PartitionIdx) -> Option<BrokerId> {
        self.believed(b, part).0
    }

    /// The leader of `part` and its epoch, as broker `b` knows them.
    pub(super) fn believed(&self, b: BrokerId, part: PartitionIdx) -> (Option<BrokerId>, u32) {
        match &self.world.broker(b).view {
            Some(view) if view[part as usize].leader == Some(b) => (Some(b), view[part as usize].epoch),
            _ => {
                let p = &self.world.partitions[part as usize];
                (p.leader, p.leader_epoch)
            }
        }
    }

    /// Broker `b` still acts as the leader of `part` in an epoch the controller has ended.
    pub(super) fn zombie_view(&self, b: BrokerId, part: PartitionIdx) -> Option<LeaderView> {
        let view = self.world.broker(b).view.as_ref()?[part as usize];
        let p = &self.world.partitions[part as usize];
        (view.leader == Some(b) && (p.leader != Some(b) || p.leader_epoch != view.epoch)).then_some(view)
    }

    /// A broker that stops hearing from the controller (paused, or cut off) keeps the metadata
    /// it had, until it hears again; and the controller fences it broker.session.timeout.ms
    /// after its last heartbeat.
    pub(super) fn stop_heartbeats(&mut self, b: BrokerId) {
        if self.world.broker(b).silent_since.is_none() {
            self.world.brokers[(b - 1) as usize].silent_since = Some(self.clock);
            let inc = self.world.broker(b).incarnation;
            let timeout = self.model.cluster.broker_session_timeout_ms;
            self.queue.push(self.clock + timeout, super::event::Event::BrokerFenced { broker: b, inc }, false);
        }
        if self.world.broker(b).view.is_some() {
            return;
        }
        let view = self
            .world
            .partitions
            .iter()
            .map(|p| LeaderView { leader: p.leader, epoch: p.leader_epoch, isr: p.isr })
            .collect();
        self.world.brokers[(b - 1) as usize].view = Some(view);
    }

    pub(super) fn metadata_max_age(&self, c: Client) -> u64 {
        match c {
            Client::Producer(p) => self.model.producers[p as usize].metadata_max_age_ms,
            Client::Consumer(c) => self.model.consumers[c as usize].metadata_max_age_ms,
        }
    }

    /// The leader client `c` sends to for `part`: its cached one, refreshed first when an error
    /// invalidated it, when it is older than metadata.max.age.ms, or when the cached broker is
    /// down (the connection is refused). None while no live leader is known.
    pub(super) fn leader_for(&mut self, c: Client, part: PartitionIdx) -> Option<BrokerId> {
        self.look_up_leader(c, part).0
    }

    /// [`Sim::leader_for`], and whether the look-up refreshed the metadata.
    pub(super) fn look_up_leader(&mut self, c: Client, part: PartitionIdx) -> (Option<BrokerId>, bool) {
        let max_age = self.metadata_max_age(c);
        let now = self.clock;
        let m = self.world.metadata.entry(c).or_default();
        let fresh = m.refreshed_at.is_some_and(|t| now < t.saturating_add(max_age)) && !m.invalid.contains(&part);
        let cached = m.leaders.get(part as usize).and_then(|l| l.0);
        let refresh = !fresh || !cached.is_some_and(|b| self.world.broker(b).alive);
        if !refresh {
            // (What `cached_leader` would find: the entry is fresh and its leader up.)
            return (cached, false);
        }
        self.refresh_metadata(c);
        (self.cached_leader(c, part), true)
    }

    /// The cached leader of `part`, if it is up (no refresh).
    pub(super) fn cached_leader(&self, c: Client, part: PartitionIdx) -> Option<BrokerId> {
        let m = self.world.metadata.get(&c)?;
        m.leaders.get(part as usize).and_then(|l| l.0).filter(|b| self.world.broker(*b).alive)
    }

    /// An error proved the cached leader of `part` wrong; `failed` is the broker whose
    /// connection broke, if one did.
    pub(super) fn invalidate_metadata(&mut self, c: Client, part: PartitionIdx, failed: Option<BrokerId>) {
        let m = self.world.metadata.entry(c).or_default();
        m.invalid.insert(part);
        if failed.is_some() {
            m.avoid = failed;
        }
    }

    /// A MetadataRequest to the least loaded broker the client can reach, answered from that
    /// broker's view (a broker cut off from the controller answers with what it still believes).
    /// Nobody to ask: the cache stays as it is and the next look-up tries again.
    fn refresh_metadata(&mut self, c: Client) {
        let n = self.model.cluster.brokers;
        let m = self.world.metadata.entry(c).or_default();
        let avoid = m.avoid.take();
        let start = m.refreshes % n;
        m.refreshes += 1;
        let node = match c {
            Client::Producer(p) => self.producer_node(p),
            Client::Consumer(_) => Node::Client(c),
        };
        let load = |b: BrokerId| match c {
            Client::Producer(p) => {
                self.world.producers[p as usize].in_flight.values().filter(|f| f.broker == b).count()
            }
            Client::Consumer(_) => 0,
        };
        let source = (0..n)
            .map(|k| 1 + (start + k) % n)
            .filter(|b| {
                let br = self.world.broker(*b);
                br.alive && !br.paused && Some(*b) != avoid && !self.link_is_cut(node, Node::Broker(*b))
            })
            .min_by_key(|b| load(*b));
        let Some(source) = source else { return };
        let answer: Vec<(Option<BrokerId>, u32)> =
            (0..self.world.partitions.len() as PartitionIdx).map(|p| self.believed(source, p)).collect();
        let m = self.world.metadata.get_mut(&c).expect("entry made above");
        // KIP-320: metadata older than what the client knows (a lower leader epoch, such as a
        // deposed leader's own view) is ignored, partition by partition.
        m.leaders = match m.leaders.len() {
            0 => answer,
            _ => answer.into_iter().zip(&m.leaders).map(|(new, old)| if new.1 < old.1 { *old } else { new }).collect(),
        };
        m.all_led = m.leaders.iter().all(|l| l.0.is_some());
        m.invalid.clear();
        m.refreshed_at = Some(self.clock);
    }

    /// Whether `leader_for(c, part)` would answer from the cache for every partition, with no
    /// refresh: the cache is fresh, nothing in it is proved wrong, every partition has a
    /// leader and every broker is up.
    pub(super) fn metadata_settled(&self, c: Client) -> bool {
        let Some(m) = self.world.metadata.get(&c) else { return false };
        m.all_led
            && m.invalid.is_empty()
            && m.refreshed_at.is_some_and(|t| self.clock < t.saturating_add(self.metadata_max_age(c)))
            && self.world.brokers.iter().all(|b| b.alive)
    }
}
