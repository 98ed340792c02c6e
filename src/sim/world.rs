//! The simulated world as plain data: brokers, partitions and their replicas, clients, groups,
//! and what has happened to every message so far. Cloneable and hashable, so a fault-schedule
//! explorer can snapshot and compare states.

use super::log::{Record, Replica};
use crate::model::{BrokerId, Client, Model, MsgId, PartitionIdx};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct World {
    pub brokers: Vec<Broker>,
    pub partitions: Vec<Partition>,
    pub producers: Vec<Producer>,
    pub consumers: Vec<Consumer>,
    pub groups: Vec<Group>,
    pub messages: Vec<MessageState>,
    /// When, and why, a message's partition leader's log start offset first passed it
    /// (retention or DeleteRecords): no fetch reads it after. (Few messages have one.)
    pub deleted: BTreeMap<MsgId, (u64, super::log::Deletion)>,
    /// `processed[group][msg]`: how many times a member of the group processed the message.
    pub processed: Vec<Vec<u16>>,
    /// `consumed[group][msg]`: how many times a poll of a member returned it.
    pub consumed: Vec<Vec<u16>>,
    /// Every processing of a record, in order: (consumer, message, when it finished; in 32
    /// bits, 12 bytes an entry: no run lasts past `MAX_DURATION_MS`).
    pub processing: Vec<(u32, MsgId, u32)>,
    /// `seen[partition][offset]`: 1 + the message a consumer's poll returned at that offset
    /// (0: none yet), to detect an offset that held different messages ("inconsistent offsets").
    pub seen: Vec<Vec<u32>>,
    /// Polls that went backwards within one assignment: (consumer, partition, from, to).
    pub nonmonotonic: Vec<(u32, PartitionIdx, u64, u64)>,
    /// Offsets whose message changed between polls: (partition, offset, first msg, later msg).
    pub inconsistent: Vec<(PartitionIdx, u64, MsgId, MsgId)>,
    /// Offsets a group's position jumped over because the log start offset had passed them
    /// (OFFSET_OUT_OF_RANGE, or a first position at the log start): (group, partition, from,
    /// to). Records there that the group never processed are lost to retention.
    pub expired: Vec<(u32, PartitionIdx, u64, u64)>,
    /// DeleteRecords requests waiting in the leader's purgatory (`DelayedDeleteRecords`):
    /// (partition, offset, the leader that took it, when).
    pub pending_deletes: Vec<(PartitionIdx, u64, BrokerId, u64)>,
    /// Next producer id the (simulated) InitProducerId hands out.
    pub next_producer_id: u32,
    /// Faults that already fired, by index in `Model::faults`, with the time they fired.
    pub fired: Vec<Vec<u64>>,
    /// Members joining and leaving their groups, in order: (when, consumer, how), for the
    /// report's "why" texts. History, not state: the fingerprint skips it, as it skips `fired`.
    pub membership: Vec<(u64, u32, Membership)>,
    /// Fetch-wait tokens handed out so far.
    pub next_token: u64,
    /// When the last message on each network link arrives: links are TCP connections, so a
    /// message never overtakes an earlier one on the same link, whatever the jitter.
    pub links: BTreeMap<(u8, u32, u32), u64>,
    /// Transaction coordinator state, one per transactional id (sorted by id).
    pub txns: Vec<TxnMeta>,
    /// Producer connections at the brokers, by (producer, broker): a broker reads one request
    /// of a connection at a time and the next only after answering it.
    pub conns: BTreeMap<(u32, BrokerId), Connection>,
    /// Network links cut by a `partition` (pairs in order), until `heal`.
    pub cut: std::collections::BTreeSet<(crate::model::Node, crate::model::Node)>,
    /// Follower fetch generations, by (partition, follower): a timeout re-sends a fetch only if
    /// no newer fetch or response happened since.
    pub follower_fetches: BTreeMap<(PartitionIdx, BrokerId), u64>,
    /// Clients frozen by a `pause`, and the events that reached them meanwhile.
    pub paused: std::collections::BTreeSet<Client>,
    pub deferred: Vec<(Client, crate::sim::event::Event)>,
    /// Events that reached a paused broker, in arrival order.
    pub deferred_at_broker: Vec<(BrokerId, crate::sim::event::Event)>,
    /// Connections a lost request or ack stalled, by (producer, broker): nothing more gets
    /// through until the client's request timeout closes them.
    pub stalled: BTreeMap<(u32, BrokerId), Stall>,
    /// Each client's metadata cache (a processor's two halves are two clients).
    pub metadata: BTreeMap<Client, super::metadata::Metadata>,
    /// Requests sent and responses received so far, by client, kind and direction (what
    /// `request lost for C fetch N` counts).
    pub messages_sent: BTreeMap<(Client, u8, bool), u32>,
}

/// How a consumer's group membership changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Membership {
    /// A JoinGroup made it a new member.
    Joined,
    /// No poll within max.poll.interval.ms: its heartbeat thread sent LeaveGroup.
    MaxPollInterval,
    /// Silent for session.timeout.ms: the coordinator expired it.
    SessionTimeout,
    /// The application closed it after an error it does not handle (LeaveGroup).
    Closed,
    /// KIP-848: it did not revoke partitions within its rebalance timeout
    /// (max.poll.interval.ms): the coordinator fenced it.
    RebalanceTimeout,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Connection {
    /// A request is being handled (possibly waiting in purgatory for acks=all).
    pub busy: bool,
    /// Requests received but not read yet: (incarnation, request id, batch).
    pub queued: VecDeque<(u32, u32, crate::sim::event::ProduceBatch)>,
}

/// Which direction of a connection stopped delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stall {
    Requests,
    Responses,
}

/// A transaction coordinator's state for one transactional id (KIP-98), as its
/// `__transaction_state` log would hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnMeta {
    pub transactional_id: String,
    pub producer_id: u32,
    pub epoch: u16,
    /// Whether InitProducerId has run once (the first gets epoch 0).
    pub initialized: bool,
    pub state: TxnState,
    pub partitions: std::collections::BTreeSet<PartitionIdx>,
    pub started_at: u64,
    /// Partitions still waiting for their COMMIT/ABORT marker.
    pub pending_markers: std::collections::BTreeSet<PartitionIdx>,
    /// The epoch the markers carry.
    pub marker_epoch: u16,
    /// The consumer group whose offsets the open transaction carries.
    pub offsets_group: Option<u32>,
    /// Every transaction this id ran, for the transactions table.
    pub history: Vec<TxnRecord>,
    /// A marker was refused for want of in-sync replicas and no fault is pending that could
    /// bring them back: the transaction cannot complete, and retries against it change nothing.
    pub markers_stuck: bool,
    /// When InitProducerId last handed out an epoch (with the history's transitions, the
    /// coordinator's `txnLastUpdateTimestamp`).
    pub initialized_at: u64,
    /// Removed by `transactional.id.expiration.ms`: the coordinator has no state for the id.
    pub forgotten: bool,
}

/// The coordinator's transaction states (TransactionState in Kafka).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    PrepareEpochFence,
}

impl TxnState {
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// One transaction of a transactional id, from its first AddPartitionsToTxn to Complete*.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnRecord {
    pub producer_id: u32,
    pub epoch: u16,
    pub partitions: Vec<PartitionIdx>,
    /// (state, time) in order.
    pub transitions: Vec<(TxnState, u64)>,
    /// committed / aborted / aborted: timed out / aborted: fenced by a new instance
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Broker {
    pub alive: bool,
    /// Bumped at each restart, so replies addressed to an earlier life are dropped.
    pub incarnation: u32,
    /// Fenced by the controller (it noticed the crash); unfenced when it restarts.
    pub fenced: bool,
    /// Frozen (`pause broker N`): it handles nothing and sends no heartbeats.
    pub paused: bool,
    /// Since when no heartbeat of it reaches the controller (paused, or cut off from it): it
    /// is fenced broker.session.timeout.ms later.
    pub silent_since: Option<u64>,
    /// acks=all requests of partitions it stopped leading while paused or cut off from the
    /// controller: answered NotLeaderOrFollower when it wakes or reconnects.
    pub orphaned: Vec<PendingProduce>,
    /// While it hears nothing from the controller (paused, or cut off from it): the leaders,
    /// epochs and ISRs it last knew, by partition. It keeps acting as the leader of the
    /// partitions it led.
    pub view: Option<Vec<LeaderView>>,
    /// Restarted while cut off from the controller: it cannot register, and starts when the
    /// network heals.
    pub registering: bool,
    /// When this incarnation started: its coordinators' periodic tasks count from here.
    pub started_at: u64,
}

/// One partition as a broker's metadata has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaderView {
    pub leader: Option<BrokerId>,
    pub epoch: u32,
    pub isr: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    /// The controller's view: who leads, in which epoch, and the in-sync replicas (bitmask of
    /// broker ids).
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    /// The leader's log end offset when it took this epoch.
    pub epoch_start_offset: u64,
    pub isr: u64,
    /// One replica per broker in `PartitionConfig::replicas`, same order.
    pub replicas: Vec<Replica>,
    /// The leader's view of each follower's log end offset (same order as `replicas`).
    pub follower_leo: Vec<u64>,
    /// The leader's view of each follower's log start offset, from its last fetch (same
    /// order): what DeleteRecords waits on (`Partition.lowWatermarkIfLeader`).
    pub follower_log_start: Vec<u64>,
    /// When each follower last caught up with the leader's log end (same order).
    pub caught_up_at: Vec<u64>,
    /// acks=all produce requests waiting for the high watermark (Kafka's produce purgatory).
    pub pending: Vec<PendingProduce>,
    /// Fetches the leader is holding until data arrives or the wait runs out.
    pub held: Vec<HeldFetch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PendingProduce {
    pub producer: u32,
    pub inc: u32,
    pub req: u32,
    pub broker: BrokerId,
    pub base_offset: u64,
    pub last_offset: u64,
    /// A WriteTxnMarkers append (transaction index, partition) rather than a produce request:
    /// its answer goes to the transaction coordinator.
    pub marker: Option<(u32, PartitionIdx)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeldFetch {
    Follower { follower: BrokerId, finc: u32, offset: u64, token: u64 },
    Consumer { consumer: u32, inc: u32, offset: u64, token: u64 },
}

pub fn bit(b: BrokerId) -> u64 {
    1u64 << (b - 1)
}

/// Broker ids in a bitmask, ascending.
pub fn members(mask: u64) -> Vec<BrokerId> {
    (1..=64).filter(|b| mask & bit(*b) != 0).collect()
}

impl Partition {
    pub fn replica_index(&self, b: BrokerId) -> Option<usize> {
        self.replicas.iter().position(|r| r.broker == b)
    }

    pub fn replica(&self, b: BrokerId) -> Option<&Replica> {
        self.replicas.iter().find(|r| r.broker == b)
    }

    pub fn leader_replica(&self) -> Option<&Replica> {
        self.leader.and_then(|l| self.replica(l))
    }

    pub fn isr_size(&self) -> u32 {
        self.isr.count_ones()
    }
}

/// A batch of records for one partition, as the producer's accumulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Batch {
    pub partition: PartitionIdx,
    pub msgs: Vec<MsgId>,
    pub bytes: u64,
    /// First sequence number, assigned when the batch is first drained (-1 before, or without
    /// idempotence).
    pub base_sequence: i32,
    /// The producer epoch its sequence number belongs to.
    pub epoch: u16,
    pub attempts: u32,
    pub created_at: u64,
    /// Not sent again before this time (retry.backoff.ms).
    pub retry_at: u64,
    pub last_error: Option<&'static str>,
    /// The queue's sequence number for its `delivery.timeout.ms` expiry, taken when it was
    /// created (see `Sim::arm_batch_expiry`).
    pub expiry_seq: Unseen<u64>,
}

/// A value that equality and hashing do not see: a queue sequence number, which orders events
/// but is no part of the state (two runs reaching the same state number their events
/// differently). The fingerprint covers the order it gives instead (`Sim::fingerprint`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unseen<T>(pub T);

impl<T> PartialEq for Unseen<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Unseen<T> {}

impl<T> std::hash::Hash for Unseen<T> {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InFlight {
    pub batch: u32,
    pub partition: PartitionIdx,
    pub broker: BrokerId,
    pub sent_at: u64,
    pub attempt: u32,
    /// The response will be lost on the way back (an `ack lost` fault).
    pub lose_ack: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Producer {
    pub alive: bool,
    pub incarnation: u32,
    pub producer_id: u32,
    /// Index (within this producer's messages) of the next scheduled `send()`.
    pub next_send: u32,
    /// Messages to send again first after a restart (the application re-sends what it never
    /// saw acknowledged).
    pub resend: VecDeque<MsgId>,
    /// How many `send()` calls returned (for `after send N`).
    pub sends_done: u32,
    /// Per partition: the epoch its sequence numbers belong to, and the next one.
    pub next_sequence: BTreeMap<PartitionIdx, (u16, i32)>,
    /// Partitions whose sequences an epoch bump restarted, with that epoch: their batches of
    /// older epochs are numbered afresh when sent again (KIP-360).
    pub sequence_reset: BTreeMap<PartitionIdx, u16>,
    /// Per partition: the epoch and last sequence of the newest acknowledged batch.
    pub last_acked: BTreeMap<PartitionIdx, (u16, i32)>,
    /// Partitions where a sent batch failed for good (idempotent, non-transactional), with the
    /// highest such (epoch, last sequence): once nothing of the partition is in flight, it is
    /// resolved if a later acknowledgement covers it, else the epoch is bumped there.
    pub unresolved: BTreeMap<PartitionIdx, (u16, i32)>,
    pub queues: BTreeMap<PartitionIdx, VecDeque<u32>>,
    /// The partitions whose queue holds a batch: derived from `queues` and kept beside it, so
    /// a drain visits those partitions only, not every partition ever written.
    pub ready: BTreeSet<PartitionIdx>,
    pub batches: super::batches::Batches,
    pub next_batch: u32,
    pub in_flight: BTreeMap<u32, InFlight>,
    pub next_request: u32,
    /// Sticky partitioner (KIP-480/794) per topic: (partition, bytes written to it).
    pub sticky: BTreeMap<u32, (u32, u64)>,
    pub retries: u32,
    pub acked: u32,
    pub producer_epoch: u16,
    /// The transactional client's state (unused without `transactional.id`).
    pub txn: TxnClient,
}

/// A transactional producer's side of a transaction (Kafka's TransactionManager).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TxnClient {
    /// initTransactions completed.
    pub ready: bool,
    /// InitProducerId is on its way.
    pub initializing: bool,
    /// The transaction block (index in `ProducerConfig::transactions`) now open.
    pub current: Option<u32>,
    /// commitTransaction (true) or abortTransaction (false) was called and is completing.
    pub ending: Option<bool>,
    pub end_sent: bool,
    /// A record of the open transaction failed: it can only abort.
    pub abortable: bool,
    pub added: std::collections::BTreeSet<PartitionIdx>,
    pub adding: std::collections::BTreeSet<PartitionIdx>,
    /// A newer instance fenced this one; it stops for good.
    pub fenced: bool,
    /// A batch of the open transaction failed after it was sent: its sequence number may or may
    /// not be in the log, so the abort bumps the epoch (KIP-360) to start sequences afresh.
    pub bump_needed: bool,
    /// The coordinator knows of the open transaction (a partition or offsets were added).
    pub started: bool,
    /// Transaction blocks whose commit (or abort) completed.
    pub done: std::collections::BTreeSet<u32>,
    /// Consecutive retriable coordinator errors (for the exponential backoff).
    pub retries: u32,
    /// The coordinator answered INVALID_PRODUCER_ID_MAPPING (it forgot the transactional id):
    /// sends fail, and the abort goes straight to InitProducerId.
    pub unmapped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not started, or crashed.
    Down,
    /// A transactional processor waits for initTransactions() before its first poll.
    Starting,
    /// JoinGroup sent, waiting for the rebalance to finish.
    Joining,
    /// OffsetFetch sent, waiting for starting positions.
    Initializing,
    /// Waiting for fetched records.
    Polling,
    /// commitSync in flight; `then_process` says whether processing follows.
    Committing { then_process: bool },
    /// Processing the records of the last poll, `next` is the next one.
    Processing { next: usize },
    /// An at-least-once processor waits for its outputs' acks before committing.
    Flushing,
    /// Stopped for good (an unrecoverable error such as NoOffsetForPartition).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Consumer {
    pub phase: Phase,
    pub incarnation: u32,
    pub member: Option<u32>,
    pub generation: u32,
    pub assignment: Vec<PartitionIdx>,
    pub positions: BTreeMap<PartitionIdx, u64>,
    /// The consumer's own record of what it last committed (for the tracker).
    pub committed: BTreeMap<PartitionIdx, u64>,
    /// Records fetched but not yet returned by poll, per partition, with their leader epochs.
    pub buffer: BTreeMap<PartitionIdx, VecDeque<(u64, MsgId, u32)>>,
    /// The position's offset epoch (`FetchPosition.offsetEpoch`): the leader epoch of the
    /// record before it, where known (from a fetch or a committed offset).
    pub offset_epochs: BTreeMap<PartitionIdx, u32>,
    /// The leader epoch each position was last validated against (`FetchPosition.currentLeader`):
    /// when metadata shows another, the position is validated first (KIP-320).
    pub leader_epochs: BTreeMap<PartitionIdx, u32>,
    pub fetching: BTreeMap<PartitionIdx, bool>,
    /// How many fetches of each partition were sent: a fetch timeout names the one it guards.
    pub fetches_sent: BTreeMap<PartitionIdx, u64>,
    /// Where the last fetch of each partition ended (past skipped control/aborted records),
    /// and the leader epoch of the record before that.
    pub fetch_end: BTreeMap<PartitionIdx, (u64, Option<u32>)>,
    /// The last offset each partition's polls returned since the last seek or assignment.
    pub last_polled: BTreeMap<PartitionIdx, u64>,
    /// The records the last poll returned.
    pub batch: Vec<(PartitionIdx, u64, MsgId)>,
    /// A commit completed since the last poll (for `after commit, before processing`).
    pub committed_since_poll: bool,
    pub polls: u32,
    pub commits: u32,
    /// Group requests refused in a row for want of a coordinator (for the backoff).
    pub coordinator_retries: u32,
    /// Its JoinGroup has not reached the coordinator yet and will be sent again (a lost or
    /// refused attempt): nothing else needs to send one.
    pub join_retrying: bool,
    /// An exactly-once processor's sendOffsetsToTransaction calls and EndTxn(COMMIT) requests.
    pub offsets_sent: u32,
    pub commit_requests: u32,
    pub last_auto_commit: u64,
    /// When its heartbeat thread sends its next heartbeat (then every heartbeat.interval.ms):
    /// running from its JoinGroup answer until it sends the next JoinGroup or LeaveGroup
    /// (`AbstractCoordinator.HeartbeatThread`: disabled while `hasNotJoinedGroup`).
    pub heartbeat_from: Option<u64>,
    /// A cooperative member's JoinGroup is out (KIP-429): it goes on consuming what it owns,
    /// and its commits fail until the rebalance completes (RebalanceInProgressException).
    pub cooperative_join: bool,
    /// Its last assignment revoked partitions: it must join again
    /// (`ConsumerCoordinator.onJoinComplete` -> `requestRejoin`).
    pub rejoin_requested: bool,
    /// A JoinGroup answer (generation, member id, assignment) that arrived while a cooperative
    /// member was busy: `poll()` applies it (`onJoinComplete` runs in the application thread).
    pub joined: Option<(u32, u32, Vec<PartitionIdx>)>,
    /// KIP-848: an assignment from a ConsumerGroupHeartbeat response that waits for the
    /// auto-commit before reconciliation (`maybeAutoCommitSyncBeforeRevocation`).
    pub reconciling: Option<Vec<PartitionIdx>>,
    /// KIP-848: partitions assigned since the last poll that need their committed offsets:
    /// the next `poll()` fetches them (`updateFetchPositions`).
    pub positions_needed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    pub generation: u32,
    /// Members in join order: (member id, consumer, incarnation, alive as far as the
    /// coordinator knows: false once crashed, removed when the session expires).
    pub members: Vec<Member>,
    pub assignment: BTreeMap<u32, Vec<PartitionIdx>>,
    pub committed: BTreeMap<PartitionIdx, u64>,
    /// The leader epoch committed with each offset, where the committer knew one (KIP-320).
    pub committed_epochs: BTreeMap<PartitionIdx, u32>,
    /// Offsets sent to open transactions, by producer id: invisible until the COMMIT marker.
    pub pending_offsets: BTreeMap<u32, Vec<(PartitionIdx, u64)>>,
    /// Consumers waiting for a JoinGroup response.
    pub joining: Vec<(u32, u32)>,
    /// Pending members (KIP-394): (member id, consumer, expiry time) answered
    /// MEMBER_ID_REQUIRED, not members until they join again with that id; a rebalance waits
    /// for them (`GroupMetadata.hasAllMembersJoined`).
    pub pending: Vec<(u32, u32, u64)>,
    /// PreparingRebalance: the coordinator waits for every member to (re)join.
    pub rebalancing: bool,
    pub next_member: u32,
    /// The group left Empty: the first rebalance waits `group.initial.rebalance.delay.ms`
    /// (InitialDelayedJoin). (rebalance timeout left after this wait, a member joined meanwhile)
    pub initial_delay: Option<(u64, bool)>,
    /// Bumped at each InitialDelayedJoin, so a stale expiry is ignored.
    pub initial_delays: u32,
    /// KIP-848: the group epoch the target assignment (`assignment`) was computed for; the
    /// coordinator computes a new one at the first heartbeat after the group epoch
    /// (`generation`) moved past it (`GroupMetadataManager.updateTargetAssignment`).
    pub assignment_epoch: u32,
    /// The broker holding this state in memory; `None` while no coordinator has loaded it
    /// (its broker crashed or was fenced, and no other has been elected yet).
    pub host: Option<BrokerId>,
    /// What `__consumer_offsets` holds of the group besides its offsets: the last completed
    /// generation (`GroupMetadataManager.storeGroup` at SyncGroup), which a new coordinator
    /// loads.
    pub stored: StoredGroup,
}

/// A group's metadata record in `__consumer_offsets`: its generation, members (id, consumer,
/// incarnation) and their assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StoredGroup {
    pub generation: u32,
    pub members: Vec<(u32, u32, u32)>,
    pub assignment: BTreeMap<u32, Vec<PartitionIdx>>,
    /// Each member's subscription metadata as it joined: its owned partitions.
    pub owned: BTreeMap<u32, Vec<PartitionIdx>>,
}

impl Group {
    /// Stores committed offsets, each with its leader epoch where the request carried one.
    pub fn commit(&mut self, offsets: &[(PartitionIdx, u64)], leader_epochs: &[(PartitionIdx, u32)]) {
        for &(p, o) in offsets {
            self.committed.insert(p, o);
            match leader_epochs.iter().find(|e| e.0 == p) {
                Some(&(_, e)) => self.committed_epochs.insert(p, e),
                None => self.committed_epochs.remove(&p),
            };
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    pub id: u32,
    pub consumer: u32,
    pub inc: u32,
    /// No heartbeats (crashed or paused) and the coordinator has not expired it yet.
    pub crashed: bool,
    /// When the coordinator last heard from it (JoinGroup, a heartbeat, an OffsetCommit, the
    /// end of a rebalance it took part in): once silent it expires session.timeout.ms later.
    pub last_contact: u64,
    /// The `ownedPartitions` of its last JoinGroup's subscription (KIP-429: what a
    /// cooperative member held while it rejoined; an eager one gave everything up first).
    /// In a consumer-protocol group (KIP-848): its current assignment, as the coordinator
    /// gave it (`ConsumerGroupMember.assignedPartitions`).
    pub owned: Vec<PartitionIdx>,
    /// KIP-848: its member epoch (0 for a classic member), and the one before it.
    pub epoch: u32,
    pub previous_epoch: u32,
    /// KIP-848: the partitions it must revoke before its epoch moves on
    /// (`partitionsPendingRevocation`, state UNREVOKED_PARTITIONS); nobody else gets them
    /// meanwhile.
    pub revoking: Vec<PartitionIdx>,
}

impl Member {
    /// A member the coordinator just took in, heard from now, owning nothing yet.
    pub fn new(id: u32, consumer: u32, inc: u32, crashed: bool, now: u64) -> Member {
        Member {
            id,
            consumer,
            inc,
            crashed,
            last_contact: now,
            owned: Vec::new(),
            epoch: 0,
            previous_epoch: 0,
            revoking: Vec::new(),
        }
    }
}

/// What has happened to one message, for the outcome analysis. One per message of the run,
/// so it is kept small (24 bytes): optional times and offsets are stored in 4 bytes each
/// (`Maybe`) and read through methods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageState {
    /// When the application first called `send()` for it.
    sent_at: Maybe,
    /// When the producer saw it acknowledged, and at which offset (none for acks=0).
    acked_at: Maybe,
    offset: Maybe,
    /// The error the producer's callback got, if it gave up (2 bytes, not a 16-byte name).
    failure: Option<Failure>,
    /// Produce requests that carried it.
    pub attempts: u32,
    /// Times a leader appended it (saturating: 65,535 appends of one record say enough).
    pub appended: u16,
    /// Times a replica truncated a copy of it away (saturating).
    pub truncated: u16,
    /// The partition `send()` chose for it (`u16::MAX`: none yet; there are at most
    /// `MAX_PARTITIONS`, 10,000).
    partition: u16,
    /// Lost in a `send` that the producer's crash cut short.
    pub dropped_by_crash: bool,
}

/// Why the producer's callback failed a record: a produce error, or the transaction's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    Produce(super::event::ProduceError),
    /// A newer instance of the transactional id fenced the producer.
    ProducerFenced,
    /// A record of the transaction failed, so commitTransaction() threw.
    CommitFailed,
    /// The coordinator had forgotten the transactional id (transactional.id.expiration.ms).
    InvalidPidMapping,
    /// EndTxn answered INVALID_TXN_STATE (fatal).
    InvalidTxnState,
}

impl Failure {
    /// The exception the application sees, as Kafka names it.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Produce(e) => e.name(),
            Failure::ProducerFenced => "ProducerFencedException",
            Failure::CommitFailed => "KafkaException from commitTransaction()",
            Failure::InvalidPidMapping => "InvalidPidMappingException",
            Failure::InvalidTxnState => "InvalidTxnStateException",
        }
    }
}

/// An optional time or offset in 4 bytes: `u32::MAX` stands for none. A time never reaches
/// it (runs last at most `MAX_DURATION_MS`, 30 days: 2.6e9 ms), nor does an offset (a
/// partition holding 2^32 records would take 16 GiB a replica at 4 bytes a record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Maybe(u32);

impl Default for Maybe {
    fn default() -> Maybe {
        Maybe(u32::MAX)
    }
}

impl Maybe {
    fn get(self) -> Option<u64> {
        (self.0 != u32::MAX).then_some(u64::from(self.0))
    }

    fn set(&mut self, v: u64) {
        const _: () = assert!(crate::model::limits::MAX_DURATION_MS < u32::MAX as u64);
        debug_assert!(v < u64::from(u32::MAX), "a time or offset past 32 bits");
        self.0 = v.min(u64::from(u32::MAX - 1)) as u32;
    }
}

impl Default for MessageState {
    fn default() -> MessageState {
        MessageState {
            sent_at: Maybe::default(),
            acked_at: Maybe::default(),
            offset: Maybe::default(),
            failure: None,
            attempts: 0,
            appended: 0,
            truncated: 0,
            partition: u16::MAX,
            dropped_by_crash: false,
        }
    }
}

impl MessageState {
    /// The error the producer's callback got, as Kafka names it, if it gave up.
    pub fn failed(&self) -> Option<&'static str> {
        self.failure.map(Failure::name)
    }

    /// Records why the producer failed it, unless it already failed.
    pub fn fail(&mut self, why: Failure) {
        self.failure.get_or_insert(why);
    }

    /// Records why the producer failed it (its latest failure).
    pub fn set_failed(&mut self, why: Failure) {
        self.failure = Some(why);
    }

    pub fn sent_at(&self) -> Option<u64> {
        self.sent_at.get()
    }

    pub fn set_sent_at(&mut self, t: u64) {
        self.sent_at.set(t);
    }

    pub fn acked_at(&self) -> Option<u64> {
        self.acked_at.get()
    }

    pub fn set_acked_at(&mut self, t: u64) {
        self.acked_at.set(t);
    }

    pub fn offset(&self) -> Option<u64> {
        self.offset.get()
    }

    pub fn set_offset(&mut self, o: u64) {
        self.offset.set(o);
    }

    pub fn partition(&self) -> Option<PartitionIdx> {
        (self.partition != u16::MAX).then_some(PartitionIdx::from(self.partition))
    }

    pub fn set_partition(&mut self, p: PartitionIdx) {
        const _: () = assert!(crate::model::limits::MAX_PARTITIONS < u16::MAX as u64);
        self.partition = u16::try_from(p).expect("fewer partitions than MAX_PARTITIONS");
    }
}

impl World {
    pub fn new(model: &Model) -> World {
        let n = model.total_messages as usize;
        World {
            brokers: (0..model.cluster.brokers)
                .map(|_| Broker {
                    alive: true,
                    incarnation: 0,
                    fenced: false,
                    paused: false,
                    silent_since: None,
                    orphaned: Vec::new(),
                    view: None,
                    registering: false,
                    started_at: 0,
                })
                .collect(),
            partitions: model
                .partitions
                .iter()
                .map(|p| Partition {
                    leader: p.replicas.first().copied(),
                    leader_epoch: 0,
                    epoch_start_offset: 0,
                    isr: p.replicas.iter().fold(0, |m, b| m | bit(*b)),
                    replicas: p.replicas.iter().map(|b| Replica::new(*b, model.topics[p.topic as usize].log)).collect(),
                    follower_leo: vec![0; p.replicas.len()],
                    follower_log_start: vec![0; p.replicas.len()],
                    caught_up_at: vec![0; p.replicas.len()],
                    pending: Vec::new(),
                    held: Vec::new(),
                })
                .collect(),
            producers: model.producers.iter().map(|_| Producer::new()).collect(),
            consumers: model.consumers.iter().map(|_| Consumer::new()).collect(),
            groups: model
                .groups
                .iter()
                .map(|_| Group {
                    generation: 0,
                    members: Vec::new(),
                    assignment: BTreeMap::new(),
                    committed: BTreeMap::new(),
                    committed_epochs: BTreeMap::new(),
                    pending_offsets: BTreeMap::new(),
                    joining: Vec::new(),
                    pending: Vec::new(),
                    rebalancing: false,
                    next_member: 1,
                    initial_delay: None,
                    initial_delays: 0,
                    assignment_epoch: 0,
                    host: None,
                    stored: StoredGroup::default(),
                })
                .collect(),
            messages: vec![MessageState::default(); n],
            deleted: BTreeMap::new(),
            processed: model.groups.iter().map(|_| vec![0; n]).collect(),
            consumed: model.groups.iter().map(|_| vec![0; n]).collect(),
            processing: Vec::new(),
            seen: model.partitions.iter().map(|_| Vec::new()).collect(),
            nonmonotonic: Vec::new(),
            inconsistent: Vec::new(),
            expired: Vec::new(),
            pending_deletes: Vec::new(),
            next_producer_id: 1000,
            fired: model.faults.iter().map(|_| Vec::new()).collect(),
            membership: Vec::new(),
            next_token: 0,
            links: BTreeMap::new(),
            conns: BTreeMap::new(),
            paused: Default::default(),
            cut: Default::default(),
            follower_fetches: BTreeMap::new(),
            deferred: Vec::new(),
            deferred_at_broker: Vec::new(),
            stalled: BTreeMap::new(),
            metadata: BTreeMap::new(),
            messages_sent: BTreeMap::new(),
            txns: {
                let mut ids: Vec<&String> =
                    model.producers.iter().filter_map(|p| p.transactional_id.as_ref()).collect();
                ids.sort();
                ids.dedup();
                ids.into_iter()
                    .map(|id| TxnMeta {
                        transactional_id: id.clone(),
                        producer_id: 0,
                        epoch: 0,
                        initialized: false,
                        state: TxnState::Empty,
                        partitions: Default::default(),
                        started_at: 0,
                        pending_markers: Default::default(),
                        marker_epoch: 0,
                        offsets_group: None,
                        history: Vec::new(),
                        markers_stuck: false,
                        initialized_at: 0,
                        forgotten: false,
                    })
                    .collect()
            },
        }
    }

    /// Hashes the world as its derived `Hash` would with `fired` and `membership` empty, without a copy of
    /// it (a fork's fingerprint; every field is named, so a new one cannot be left out).
    pub fn hash_without_fired<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        let World {
            brokers,
            partitions,
            producers,
            consumers,
            groups,
            messages,
            deleted,
            processed,
            consumed,
            processing,
            seen,
            nonmonotonic,
            inconsistent,
            expired,
            pending_deletes,
            next_producer_id,
            fired: _,
            membership: _,
            next_token,
            links,
            txns,
            conns,
            cut,
            follower_fetches,
            paused,
            deferred,
            deferred_at_broker,
            stalled,
            metadata,
            messages_sent,
        } = self;
        // (In declaration order, as the derive hashes them.)
        brokers.hash(h);
        partitions.hash(h);
        producers.hash(h);
        consumers.hash(h);
        groups.hash(h);
        messages.hash(h);
        deleted.hash(h);
        processed.hash(h);
        consumed.hash(h);
        processing.hash(h);
        seen.hash(h);
        nonmonotonic.hash(h);
        inconsistent.hash(h);
        expired.hash(h);
        pending_deletes.hash(h);
        next_producer_id.hash(h);
        Vec::<Vec<u64>>::new().hash(h);
        Vec::<(u64, u32, Membership)>::new().hash(h);
        next_token.hash(h);
        links.hash(h);
        txns.hash(h);
        conns.hash(h);
        cut.hash(h);
        follower_fetches.hash(h);
        paused.hash(h);
        deferred.hash(h);
        deferred_at_broker.hash(h);
        stalled.hash(h);
        metadata.hash(h);
        messages_sent.hash(h);
    }

    pub fn broker(&self, b: BrokerId) -> &Broker {
        &self.brokers[(b - 1) as usize]
    }

    /// The replica that speaks for the partition: its leader, or with no leader the replica with
    /// the longest committed log.
    pub fn log_replica(&self, p: PartitionIdx) -> &Replica {
        let part = &self.partitions[p as usize];
        match part.leader_replica() {
            Some(r) => r,
            None => {
                part.replicas.iter().max_by_key(|r| (r.high_watermark, std::cmp::Reverse(r.broker))).expect("rf >= 1")
            }
        }
    }

    /// The offsets and messages of [`World::committed_log`], without making a `Record` for each
    /// (one is made only where an aborted transaction is to be looked for).
    pub fn committed_msgs(&self, p: PartitionIdx) -> impl Iterator<Item = (u64, MsgId)> + '_ {
        let r = self.log_replica(p);
        (0..r.last_stable_offset())
            .zip(r.log.kinds())
            .filter_map(move |(o, (kind, msg))| r.committed_at(o, kind).then_some((o, msg)))
    }

    /// The committed log as a read_committed consumer sees it: data records below the last
    /// stable offset, without control records or aborted transactions, with their offsets.
    pub fn committed_log(&self, p: PartitionIdx) -> impl Iterator<Item = (u64, Record)> + '_ {
        let r = self.log_replica(p);
        let lso = r.last_stable_offset();
        (0..lso).zip(r.log.range(0, lso)).filter(move |(o, rec)| r.committed_at(*o, rec.kind))
    }
}

impl Producer {
    /// A new producer id or epoch: sequence numbers start again at 0 on every partition
    /// (`TransactionManager.resetSequenceNumbers`).
    pub fn take_epoch(&mut self, producer_id: u32, epoch: u16) {
        self.producer_id = producer_id;
        self.producer_epoch = epoch;
        self.restart_sequences();
    }

    /// Removes batch `id` from the producer and from its partition's queue.
    pub fn take_batch(&mut self, id: u32) -> Option<Batch> {
        let b = self.batches.remove(&id)?;
        self.dequeue(id, b.partition);
        Some(b)
    }

    /// Takes batch `id` off the queue of `partition`.
    pub fn dequeue(&mut self, id: u32, partition: PartitionIdx) {
        if let Some(q) = self.queues.get_mut(&partition) {
            q.retain(|x| *x != id);
            if q.is_empty() {
                self.ready.remove(&partition);
            }
        }
    }

    pub fn restart_sequences(&mut self) {
        self.next_sequence.clear();
        self.sequence_reset.clear();
        self.last_acked.clear();
        self.unresolved.clear();
    }

    /// A batch that finishes in the epoch it was first sent with, older than the producer's
    /// (after a bump for another partition; KAFKA-8805).
    pub fn keeps_old_epoch(&self, b: &Batch) -> bool {
        b.base_sequence >= 0
            && b.epoch < self.producer_epoch
            && self.sequence_reset.get(&b.partition).is_none_or(|e| b.epoch >= *e)
    }

    fn new() -> Producer {
        Producer {
            alive: false,
            incarnation: 0,
            producer_id: super::log::NO_PRODUCER_ID,
            next_send: 0,
            resend: VecDeque::new(),
            sends_done: 0,
            next_sequence: BTreeMap::new(),
            sequence_reset: BTreeMap::new(),
            last_acked: BTreeMap::new(),
            unresolved: Default::default(),
            queues: BTreeMap::new(),
            ready: BTreeSet::new(),
            batches: Default::default(),
            next_batch: 0,
            in_flight: BTreeMap::new(),
            next_request: 0,
            sticky: BTreeMap::new(),
            retries: 0,
            acked: 0,
            producer_epoch: 0,
            txn: TxnClient::default(),
        }
    }
}

impl Consumer {
    /// Forgets every position and what was fetched for it (a seek back, a revocation, a crash).
    /// Forgets everything about partition `p`, which it no longer owns (a revocation).
    pub fn forget_partition(&mut self, p: PartitionIdx) {
        self.positions.remove(&p);
        self.offset_epochs.remove(&p);
        self.leader_epochs.remove(&p);
        self.buffer.remove(&p);
        self.fetch_end.remove(&p);
        self.last_polled.remove(&p);
        self.fetching.remove(&p);
    }

    pub fn forget_positions(&mut self) {
        self.positions.clear();
        self.offset_epochs.clear();
        self.leader_epochs.clear();
        self.buffer.clear();
        self.fetch_end.clear();
        self.last_polled.clear();
    }

    /// KIP-320 (2.3+): the offset epoch to validate the position on `p` with before fetching
    /// from a leader of `leader_epoch`, if it must be (`SubscriptionState.maybeValidatePositionForCurrentLeader`):
    /// a position not yet validated against that epoch, whose own epoch is known, with nothing
    /// buffered past it. Without an epoch there is nothing to validate.
    pub fn epoch_to_validate(&self, p: PartitionIdx, leader_epoch: u32) -> Option<u32> {
        if self.leader_epochs.get(&p) == Some(&leader_epoch) || self.buffer.get(&p).is_some_and(|b| !b.is_empty()) {
            return None;
        }
        self.offset_epochs.get(&p).copied()
    }

    fn new() -> Consumer {
        Consumer {
            phase: Phase::Down,
            incarnation: 0,
            member: None,
            generation: 0,
            assignment: Vec::new(),
            positions: BTreeMap::new(),
            committed: BTreeMap::new(),
            buffer: BTreeMap::new(),
            fetching: BTreeMap::new(),
            fetches_sent: BTreeMap::new(),
            fetch_end: BTreeMap::new(),
            offset_epochs: BTreeMap::new(),
            leader_epochs: BTreeMap::new(),
            last_polled: BTreeMap::new(),
            batch: Vec::new(),
            committed_since_poll: false,
            polls: 0,
            commits: 0,
            coordinator_retries: 0,
            join_retrying: false,
            offsets_sent: 0,
            commit_requests: 0,
            last_auto_commit: 0,
            heartbeat_from: None,
            cooperative_join: false,
            rejoin_requested: false,
            joined: None,
            reconciling: None,
            positions_needed: false,
        }
    }
}

pub type Groups = Vec<Group>;

#[cfg(test)]
mod tests {
    use std::hash::{Hash, Hasher};

    /// A message's state is kept for every message of a run (10 million at most): its size
    /// is a budget, not an accident of field order.
    #[test]
    fn message_state_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<super::MessageState>(), 24);
    }

    /// `hash_without_fired` hashes what the derived `Hash` of a copy with `fired` and
    /// `membership` emptied does
    /// (explore's fingerprints, and so its counts of distinct states, stay what they were).
    #[test]
    fn hash_without_fired_is_the_derived_hash_of_a_copy_without_it() {
        let source = include_str!("../../scenarios/run/acks-1-leader-crash.scn");
        let model = crate::load(source).expect("valid scenario");
        let run = crate::sim::run(&model, &crate::sim::Options::default());
        assert!(run.world.fired.iter().any(|f| !f.is_empty()), "a fault fired");
        assert!(!run.world.membership.is_empty(), "a member joined");
        let mut copy = run.world.clone();
        copy.fired.clear();
        copy.membership.clear();
        let mut derived = std::collections::hash_map::DefaultHasher::new();
        copy.hash(&mut derived);
        let mut direct = std::collections::hash_map::DefaultHasher::new();
        run.world.hash_without_fired(&mut direct);
        assert_eq!(derived.finish(), direct.finish());
    }
}
