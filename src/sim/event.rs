//! Events and the time-ordered queue: ties are broken by insertion order, so a run is a pure
//! function of its inputs.

use crate::model::{BrokerId, MsgId, PartitionIdx};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// A produce error as Kafka names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProduceError {
    /// The connection broke (broker crashed) before a response came.
    Network,
    /// No response within `request.timeout.ms`.
    Timeout,
    NotLeader,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    OutOfOrderSequence,
    /// The batch's producer epoch is stale: a newer instance of this transactional id took
    /// over (fatal for the producer: it must stop).
    InvalidProducerEpoch,
    /// Transactions v2: the coordinator has no state for the transactional id
    /// (transactional.id.expiration.ms): the batch fails and the transaction can only abort.
    InvalidPidMapping,
    /// Transaction verification (KIP-890 part 1, 3.6+): the partition is not in the producer's
    /// ongoing transaction ("Partition was not added to the transaction"); the batch fails
    /// and the transaction can only abort.
    InvalidTxnState,
}

impl ProduceError {
    pub fn name(self) -> &'static str {
        match self {
            ProduceError::Network => "NetworkException",
            ProduceError::Timeout => "TimeoutException",
            ProduceError::NotLeader => "NotLeaderOrFollowerException",
            ProduceError::NotEnoughReplicas => "NotEnoughReplicasException",
            ProduceError::NotEnoughReplicasAfterAppend => "NotEnoughReplicasAfterAppendException",
            ProduceError::OutOfOrderSequence => "OutOfOrderSequenceException",
            ProduceError::InvalidProducerEpoch => "InvalidProducerEpochException",
            ProduceError::InvalidPidMapping => "InvalidPidMappingException",
            ProduceError::InvalidTxnState => "InvalidTxnStateException",
        }
    }
}

/// The broker's answer to a produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProduceReply {
    /// Written (or found already written, for an idempotent retry) at `base_offset`.
    Ok {
        base_offset: u64,
        duplicate: bool,
    },
    Err(ProduceError),
}

/// Why a consumer fetch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchError {
    /// Disconnected or NOT_LEADER_OR_FOLLOWER: refresh metadata and retry.
    NotLeader,
    /// OFFSET_OUT_OF_RANGE: the position is past the leader's log end; apply auto.offset.reset.
    OutOfRange,
    /// FENCED_LEADER_EPOCH: the fetch's current leader epoch is older than the leader's (the
    /// consumer's metadata is stale): refresh metadata, which validates the position (KIP-320).
    FencedLeaderEpoch,
    /// UNKNOWN_LEADER_EPOCH: the fetch's epoch is newer than the broker knows: retry.
    UnknownLeaderEpoch,
}

/// Requests a transactional producer sends to its transaction coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TxnRequest {
    /// initTransactions: bump the epoch, abort what the previous instance left open. With
    /// `bump_from`, a running producer bumps its own epoch instead of aborting (KIP-360: its
    /// transaction failed with a sequence number it cannot resolve).
    InitProducerId {
        bump_from: Option<u16>,
    },
    AddPartitionsToTxn {
        producer_id: u32,
        epoch: u16,
        partitions: Vec<PartitionIdx>,
    },
    EndTxn {
        producer_id: u32,
        epoch: u16,
        commit: bool,
    },
    /// sendOffsetsToTransaction: AddOffsetsToTxn plus TxnOffsetCommit with the consumer's group
    /// metadata (KIP-447), so stale generations are rejected.
    AddOffsets {
        producer_id: u32,
        epoch: u16,
        group: u32,
        generation: u32,
        member: u32,
        offsets: Vec<(PartitionIdx, u64)>,
    },
}

/// Errors a transaction coordinator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnError {
    /// CONCURRENT_TRANSACTIONS: the previous transaction is still completing; retry.
    Concurrent,
    /// COORDINATOR_NOT_AVAILABLE: its broker is down and not yet replaced; retry.
    CoordinatorNotAvailable,
    /// PRODUCER_FENCED: a newer instance of this transactional id has a higher epoch.
    ProducerFenced,
    /// INVALID_PRODUCER_ID_MAPPING: the coordinator has no state for the transactional id (it
    /// expired, `transactional.id.expiration.ms`); abortable, and the abort gets a new producer id.
    InvalidProducerIdMapping,
    /// ILLEGAL_GENERATION on TxnOffsetCommit: the member left the group's generation; the
    /// transaction can only abort (CommitFailedException).
    IllegalGeneration,
    /// INVALID_TXN_STATE: an EndTxn the transaction's state does not allow (transactions v2: a
    /// commit with nothing in the transaction, or against the other outcome); fatal.
    InvalidTxnState,
}

impl TxnError {
    pub fn name(self) -> &'static str {
        match self {
            TxnError::Concurrent => "CONCURRENT_TRANSACTIONS",
            TxnError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            TxnError::ProducerFenced => "PRODUCER_FENCED",
            TxnError::IllegalGeneration => "ILLEGAL_GENERATION",
            TxnError::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            TxnError::InvalidTxnState => "INVALID_TXN_STATE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TxnReply {
    Initialized {
        producer_id: u32,
        epoch: u16,
    },
    Added {
        partitions: Vec<PartitionIdx>,
    },
    /// EndTxn done; with transactions v2 it carries the producer epoch to go on with (the
    /// coordinator bumped it, EndTxn v5).
    Ended {
        commit: bool,
        epoch: Option<u16>,
    },
    OffsetsAdded,
    Err {
        request: TxnRequest,
        error: TxnError,
    },
}

/// The batch a produce request carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProduceBatch {
    pub partition: PartitionIdx,
    pub msgs: Vec<MsgId>,
    pub producer_id: u32,
    pub producer_epoch: u16,
    pub base_sequence: i32,
    pub acks: crate::model::Acks,
    pub transactional: bool,
}

/// Requests a consumer sends to its group coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupRequest {
    /// JoinGroup with the member id the consumer holds (`None`: UNKNOWN_MEMBER_ID, a first
    /// join); a member that rejoins first commits `offsets` (auto-commit's commitSync in
    /// onJoinPrepare, folded into the request so that it lands before the new generation).
    Join { member: Option<u32>, offsets: Vec<(PartitionIdx, u64)>, leader_epochs: Vec<(PartitionIdx, u32)> },
    /// ConsumerGroupHeartbeat (KIP-848, `group.protocol consumer`): the member id the client
    /// made (KIP-1082, 4.0), its member epoch (0 to join) and, after it reconciled (or as it
    /// joins), the partitions it owns (`ownedTopicPartitions`; `None`: not sent).
    Heartbeat { member: u32, epoch: u32, owned: Option<Vec<PartitionIdx>> },
    /// OffsetFetch for the member's assigned partitions (plus auto.offset.reset for the rest).
    OffsetFetch { generation: u32 },
    /// OffsetCommit; `sync` is commitSync (the consumer waits), else commitAsync (auto-commit).
    /// `leader_epochs`: each offset's committed leader epoch where the consumer knows it
    /// (KIP-320: `OffsetAndMetadata.leaderEpoch`, from the position's epoch).
    Commit { generation: u32, offsets: Vec<(PartitionIdx, u64)>, leader_epochs: Vec<(PartitionIdx, u32)>, sync: bool },
}

impl GroupRequest {
    /// A JoinGroup that commits nothing first, with the member id the consumer holds.
    pub fn join(member: Option<u32>) -> GroupRequest {
        GroupRequest::Join { member, offsets: Vec::new(), leader_epochs: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupReply {
    Joined {
        generation: u32,
        member: u32,
        assignment: Vec<PartitionIdx>,
    },
    /// MEMBER_ID_REQUIRED (KIP-394): a dynamic member's first JoinGroup only gets its member
    /// id; it joins again with it at once.
    MemberIdRequired {
        member: u32,
    },
    /// UNKNOWN_MEMBER_ID to a JoinGroup: the id it sent is neither a member nor pending (it
    /// expired, or a new coordinator never knew it); the consumer resets it and joins anew.
    /// To a ConsumerGroupHeartbeat (KIP-848): UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH, after
    /// which the member gives its partitions up as lost and joins again at epoch 0.
    UnknownMember,
    /// A ConsumerGroupHeartbeat's answer (KIP-848): the member's epoch and the partitions it
    /// may own now (`assignedPartitions`: the target less what others have yet to release).
    Heartbeat {
        member: u32,
        epoch: u32,
        assignment: Vec<PartitionIdx>,
    },
    /// Starting positions; `None` for a partition means NoOffsetForPartition (reset `none`).
    Offsets {
        generation: u32,
        /// (partition, offset, its committed leader epoch, where it came from).
        positions: Vec<(PartitionIdx, Option<u64>, Option<u32>, &'static str)>,
    },
    /// UNSTABLE_OFFSET_COMMIT: a transaction holding offsets for these partitions is still
    /// open; the consumer waits and asks again (KIP-447).
    Unstable {
        generation: u32,
    },
    Committed {
        offsets: Vec<(PartitionIdx, u64)>,
        sync: bool,
    },
    /// ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID: the consumer left the group's current generation.
    CommitFailed {
        sync: bool,
    },
    /// COORDINATOR_NOT_AVAILABLE: the coordinator's broker is down and not yet replaced; the
    /// consumer sends the request again after retry.backoff.ms.
    CoordinatorNotAvailable {
        request: GroupRequest,
    },
    /// The coordinator holding a JoinGroup lost the group (`GroupCoordinator.onGroupUnloaded`
    /// answers NOT_COORDINATOR; a crashed one's connection breaks): the consumer finds the
    /// new coordinator and sends it again.
    NotCoordinator {
        request: GroupRequest,
        crashed: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// The producer application calls `send()` for its next scheduled message.
    AppSend {
        producer: u32,
        inc: u32,
    },
    /// The producer's sender thread wakes (after a retry backoff).
    SenderWake {
        producer: u32,
        inc: u32,
    },
    /// A coordinator request (or its answer) is sent again: after a retriable error's backoff,
    /// or when a cut link lost it (`after_cut`: the next attempt needs a new connection). A
    /// client's request is dropped if that instance died meanwhile.
    Resend {
        event: Box<Event>,
        after_cut: bool,
        /// No fault (a heal) is pending: the link stays cut, the retry changes nothing, and it
        /// does not keep the run going.
        futile: bool,
        /// The first copy waits unread at a frozen broker: the client's timeout closes that
        /// connection, so it is dropped there (and if the broker already read it, nothing is
        /// sent again).
        reclaim: bool,
    },
    /// A produce request reaches a broker; it carries its batch.
    ProduceArrive {
        producer: u32,
        inc: u32,
        req: u32,
        broker: BrokerId,
        batch: ProduceBatch,
    },
    ProduceResponse {
        producer: u32,
        inc: u32,
        req: u32,
        reply: ProduceReply,
    },
    RequestTimeout {
        producer: u32,
        inc: u32,
        req: u32,
    },
    /// `delivery.timeout.ms` ran out for a batch still waiting in the accumulator.
    BatchExpiry {
        producer: u32,
        inc: u32,
        batch: u32,
    },
    /// A follower's fetch reaches the leader.
    FollowerFetch {
        partition: PartitionIdx,
        follower: BrokerId,
        finc: u32,
        epoch: u32,
        offset: u64,
    },
    /// The leader's fetch response reaches the follower (records `from..to` of the leader's log).
    FollowerFetchResponse {
        partition: PartitionIdx,
        follower: BrokerId,
        finc: u32,
        epoch: u32,
        /// The fetch offset it answers.
        offset: u64,
        records: Vec<crate::sim::log::Record>,
        high_watermark: u64,
        /// The leader's log start offset, which the follower takes up
        /// (`ReplicaFetcherThread.processPartitionData`).
        log_start_offset: u64,
    },
    /// A held (empty) fetch's `*.fetch.wait.max.ms` ran out.
    FetchWaitExpired {
        partition: PartitionIdx,
        token: u64,
    },
    ConsumerFetch {
        consumer: u32,
        inc: u32,
        partition: PartitionIdx,
        offset: u64,
        broker: BrokerId,
        /// The leader epoch of the consumer's metadata (FetchRequest's `current_leader_epoch`).
        leader_epoch: u32,
    },
    /// Data records from `offset`; the consumer's next fetch starts at `next_offset` (past
    /// control records and, for read_committed, aborted records).
    ConsumerFetchResponse {
        consumer: u32,
        inc: u32,
        /// The broker that answers (the leader, or a deposed one that does not know it).
        broker: BrokerId,
        partition: PartitionIdx,
        offset: u64,
        /// (offset, message, leader epoch of its batch).
        records: Vec<(u64, MsgId, u32)>,
        next_offset: u64,
        /// The leader epoch of the record just before `next_offset` (the position's epoch once
        /// the consumer skips to it).
        end_epoch: Option<u32>,
        error: Option<FetchError>,
    },
    /// OffsetsForLeaderEpoch (KIP-320): after a leader change a consumer asks the new leader
    /// where `epoch`, the epoch of the record before its position `offset`, ends.
    EpochQuery {
        consumer: u32,
        inc: u32,
        partition: PartitionIdx,
        offset: u64,
        epoch: u32,
        broker: BrokerId,
    },
    /// Its answer: (epoch, end offset), None for UNDEFINED_EPOCH_OFFSET; `leader_epoch` is the
    /// epoch the answering leader leads in.
    EpochAnswer {
        consumer: u32,
        inc: u32,
        broker: BrokerId,
        partition: PartitionIdx,
        offset: u64,
        answer: Result<Option<(u32, u64)>, FetchError>,
        leader_epoch: u32,
    },
    /// The consumer's program continues (processing time elapsed, a retry is due...).
    ConsumerStep {
        consumer: u32,
        inc: u32,
    },
    GroupArrive {
        consumer: u32,
        inc: u32,
        request: GroupRequest,
    },
    GroupResponse {
        consumer: u32,
        inc: u32,
        reply: GroupReply,
    },
    /// A member's heartbeat response says the group rebalanced (REBALANCE_IN_PROGRESS): an
    /// idle consumer polls now and rejoins; a busy one rejoins at its next poll.
    RebalanceNotice {
        consumer: u32,
        inc: u32,
    },
    /// A consumer fetch got no answer within request.timeout.ms (30000): fetch again.
    ConsumerFetchTimeout {
        consumer: u32,
        inc: u32,
        partition: PartitionIdx,
        fetch: u64,
    },
    /// A follower fetch got no answer within replica.socket.timeout.ms (30000): fetch again.
    FollowerFetchTimeout {
        partition: PartitionIdx,
        follower: BrokerId,
        generation: u64,
    },
    /// A KIP-848 member's heartbeat timer (`group.consumer.heartbeat.interval.ms`) comes due
    /// while the coordinator has news for it: it sends ConsumerGroupHeartbeat. (Heartbeats
    /// with nothing to tell either side are not simulated as events: a member's session
    /// counts from its last one, as for the classic protocol.)
    Heartbeat {
        consumer: u32,
        inc: u32,
    },
    /// `max.poll.interval.ms` after the consumer's poll number `polls`.
    PollDeadline {
        consumer: u32,
        inc: u32,
        polls: u32,
    },
    /// An InitialDelayedJoin expires (`group.initial.rebalance.delay.ms`).
    InitialJoinDelay {
        group: u32,
        token: u32,
        delay: u64,
    },
    /// The coordinator gives up on a member that stopped heartbeating (`session.timeout.ms`).
    MemberExpire {
        group: u32,
        member: u32,
    },
    /// KIP-848: a member still owns partitions it was told to revoke `rebalanceTimeoutMs`
    /// (its max.poll.interval.ms) after it was told (`scheduleConsumerGroupRebalanceTimeout`):
    /// the coordinator fences it, if it is still at epoch `epoch`.
    RevocationTimeout {
        group: u32,
        member: u32,
        epoch: u32,
    },
    /// The coordinator drops consumer `consumer`'s pending members (KIP-394) that did not join
    /// again with their member id within `session.timeout.ms` (`DelayedHeartbeat` with
    /// `isPending`); one timer per consumer, armed for its earliest.
    PendingMemberExpire {
        group: u32,
        consumer: u32,
    },
    /// The controller fences a broker that stopped heartbeating (`broker.session.timeout.ms`).
    BrokerFenced {
        broker: BrokerId,
        inc: u32,
    },
    /// A request reaches the transaction coordinator of the producer's transactional id.
    TxnArrive {
        producer: u32,
        inc: u32,
        request: TxnRequest,
    },
    TxnResponse {
        producer: u32,
        inc: u32,
        reply: TxnReply,
    },
    /// WriteTxnMarkers: the coordinator asks a partition leader to append a COMMIT or ABORT
    /// control record for the producer id.
    MarkerArrive {
        txn: u32,
        partition: PartitionIdx,
        broker: BrokerId,
        producer_id: u32,
        epoch: u16,
        commit: bool,
    },
    MarkerResponse {
        txn: u32,
        partition: PartitionIdx,
        ok: bool,
        /// The broker that answers (None: the coordinator found no leader to ask).
        from: Option<BrokerId>,
    },
    /// The leader's periodic check for followers that fell out of sync
    /// (`replica.lag.time.max.ms`; Kafka checks every half of it).
    IsrCheck {
        partition: PartitionIdx,
    },
    /// A broker's periodic retention check (`log.retention.check.interval.ms`).
    RetentionCheck {
        broker: BrokerId,
        inc: u32,
    },
    /// A broker's periodic producer-id expiration check
    /// (`producer.id.expiration.check.interval.ms`).
    ProducerExpirationCheck {
        broker: BrokerId,
        inc: u32,
    },
    /// A broker's periodic removal of expired transactional ids
    /// (`transaction.remove.expired.transaction.cleanup.interval.ms`).
    TxnIdExpirationCheck {
        broker: BrokerId,
        inc: u32,
    },
    /// A DeleteRecords request's timeout in the leader's purgatory (the admin's
    /// `default.api.timeout.ms`).
    DeleteRecordsTimeout {
        partition: PartitionIdx,
        before: u64,
    },
    /// `transaction.timeout.ms` after a transaction started.
    TxnTimeout {
        txn: u32,
        started_at: u64,
    },
    /// A fault scheduled at a time (or after a condition / crash) fires.
    Fault {
        fault: u32,
    },
}

impl Event {
    /// A consumer fetch response without records: a held fetch that timed out, or an error.
    pub fn empty_fetch(
        consumer: u32,
        inc: u32,
        partition: PartitionIdx,
        offset: u64,
        error: Option<FetchError>,
        broker: BrokerId,
    ) -> Event {
        Event::ConsumerFetchResponse {
            consumer,
            inc,
            broker,
            partition,
            offset,
            records: Vec::new(),
            next_offset: offset,
            end_epoch: None,
            error,
        }
    }

    /// Idle events (held fetches timing out and the empty fetches that follow) never change
    /// what a run computes; a run whose queue holds only idle events is over.
    pub fn is_idle(&self) -> bool {
        match self {
            // Timers that only matter while a batch is pending: the run loop keeps going while
            // any producer still holds a batch (see `Sim::busy`).
            // The transaction timeout likewise matters only while a transaction is open.
            Event::RequestTimeout { .. }
            | Event::BatchExpiry { .. }
            | Event::TxnTimeout { .. }
            | Event::IsrCheck { .. }
            | Event::RetentionCheck { .. }
            | Event::ProducerExpirationCheck { .. }
            | Event::TxnIdExpirationCheck { .. }
            | Event::DeleteRecordsTimeout { .. }
            | Event::PollDeadline { .. }
            | Event::ConsumerFetchTimeout { .. }
            | Event::FollowerFetchTimeout { .. } => true,
            Event::FetchWaitExpired { .. } => true,
            Event::Resend { futile, .. } => *futile,
            Event::FollowerFetchResponse { records, .. } => records.is_empty(),
            Event::ConsumerFetchResponse { records, offset, next_offset, error, .. } => {
                records.is_empty() && next_offset <= offset && *error != Some(FetchError::OutOfRange)
            }
            _ => false,
        }
    }

    /// Requests from a client to its coordinator, and their answers, that the client retries
    /// until they get through, so that a cut link delays them instead of losing them. (Not an
    /// auto-commit: an async commit that fails is not retried; the next one tries again.)
    pub fn is_retried_client_request(&self) -> bool {
        match self {
            // A KIP-848 heartbeat lost on the way is not sent again as it was: the next one
            // (at the heal or the wake, or at the interval) carries the member's state of then.
            Event::GroupArrive { request: GroupRequest::Heartbeat { .. }, .. }
            | Event::GroupResponse { reply: GroupReply::Heartbeat { .. }, .. } => false,
            Event::GroupArrive { request: GroupRequest::Commit { sync, .. }, .. }
            | Event::GroupResponse {
                reply: GroupReply::Committed { sync, .. } | GroupReply::CommitFailed { sync, .. },
                ..
            } => *sync,
            Event::GroupArrive { .. }
            | Event::GroupResponse { .. }
            | Event::TxnArrive { .. }
            | Event::TxnResponse { .. } => true,
            _ => false,
        }
    }

    /// Events that only poll for data: they inherit the idleness of the event that caused
    /// them. Everything else (data, commits, faults, group changes) is always active.
    fn is_poll(&self) -> bool {
        matches!(
            self,
            Event::FollowerFetch { .. }
                | Event::ConsumerFetch { .. }
                | Event::EpochQuery { .. }
                | Event::ConsumerStep { .. }
        )
    }
}

/// Sequence numbers of events other than timed faults start here.
const FIRST_SEQ: u64 = 1 << 32;

/// A pending event's place in the heap: small, so sifting moves 24 bytes, not the event.
#[derive(Debug, Clone, Copy)]
struct Scheduled {
    time: u64,
    seq: u64,
    /// Where the event waits in `Queue::slots`.
    slot: u32,
    idle: bool,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: the earliest (time, seq) must compare greatest.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// The pending events, earliest first; counts the non-idle ones.
///
/// Ties are broken by sequence number. A timed fault (`crash broker 1 at 5s`) takes its index
/// in the fault list as its sequence number and every other event one from `1 << 32` on, so a
/// timed fault fires before anything else due at its time, in fault-list order, whether it was
/// scheduled at the start or added by `explore` when it forks a run just before that time.
///
/// A large queue needs the heap little: events scheduled the same delay ahead (a consumer's
/// next step at once, a network hop of the configured latency, a request timeout, a fetch wait)
/// come due in the order they were scheduled, so once the heap holds `SMALL_HEAP` entries each
/// delay in use gets a FIFO lane of its own, kept in (time, seq) order; what fits no lane goes
/// to the heap. The next event is the earliest of the heap's top and the lanes' fronts, so the
/// order is exactly the heap's alone. (A small queue, as a scenario's or an explored run's is,
/// stays in the heap: a few dozen entries sift faster than the lanes are scanned.)
///
/// An event pushed to come before everything pending (a consumer's next step at once, while
/// the next event is later) waits apart in `express`, with no slot, heap or lane: most of a
/// big run's events are such steps. It stays the earliest: an entry scheduled before it later
/// (a timer armed at an earlier reserved key) moves it into the heap first.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The earliest pending event, kept apart (see above): (time, seq, idle, event).
    express: Option<(u64, u64, bool, Event)>,
    heap: Heap,
    /// FIFO lanes, each in (time, seq) order, with the delay each was last used for.
    lanes: [VecDeque<Scheduled>; LANES],
    delays: [u64; LANES],
    /// Entries in the lanes (none: the heap's top is the head).
    in_lanes: usize,
    /// Each lane's front key, `(u64::MAX, u64::MAX)` when it is empty (so finding the next
    /// event reads one small array).
    fronts: [(u64, u64); LANES],
    /// The earliest pending event: `None` for the heap's top, else a lane.
    head: Option<Head>,
    /// The time of the last event popped (delays count from it).
    now: u64,
    /// The events themselves, by slot; `free` lists the empty slots.
    slots: Vec<Option<Event>>,
    free: Vec<u32>,
    seq: u64,
    active: usize,
    /// Pending events that may change where a request goes or whether it gets through: faults
    /// (a heal may be among them) and fences (which move leaders and coordinators).
    faults: usize,
    /// Timers kept one per key (see [`Queue::arm`]), by key.
    timers: Vec<Timer>,
}

/// A timer that each new request re-arms (a fetch's request timeout): the queue holds one
/// entry for it however often it is re-armed, instead of one dead timeout per request.
#[derive(Debug, Clone, Default)]
struct Timer {
    /// The live timer: its key, whether it is idle, and its event.
    armed: Option<(u64, u64, bool, Event)>,
    /// The key of the entry waiting for it in the heap or a lane (at or before the armed
    /// key): when it comes due before the armed key, it is put back at the armed key.
    queued: Option<(u64, u64)>,
}

/// A `Scheduled::slot` with this bit set is timer number `slot & !TIMER`, not a slot.
const TIMER: u32 = 1 << 31;

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            express: None,
            heap: Heap::default(),
            lanes: Default::default(),
            delays: [0; LANES],
            in_lanes: 0,
            fronts: [EMPTY; LANES],
            head: None,
            now: 0,
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            active: 0,
            faults: 0,
            timers: Vec::new(),
        }
    }
}

/// The front key of an empty lane.
const EMPTY: (u64, u64) = (u64::MAX, u64::MAX);

/// Where the earliest pending event waits: its key and its lane (`None`: the heap).
#[derive(Debug, Clone, Copy)]
struct Head {
    time: u64,
    seq: u64,
    lane: Option<usize>,
}

/// The events that wait in no lane, earliest first: a sorted array while there are few (a
/// pop is a `Vec::pop`, an insertion a binary search and a short move), a binary heap for
/// the rest. The earliest is the least of the two tops.
#[derive(Debug, Clone, Default)]
struct Heap {
    /// Sorted latest first, at most [`SORTED`] entries.
    sorted: Vec<Scheduled>,
    more: BinaryHeap<Scheduled>,
}

/// Entries the sorted array of [`Heap`] takes before the binary heap takes the rest.
const SORTED: usize = 128;

impl Heap {
    fn len(&self) -> usize {
        self.sorted.len() + self.more.len()
    }

    fn push(&mut self, s: Scheduled) {
        if self.sorted.len() < SORTED {
            // (Latest first: the entries from `i` on are all earlier than `s`.)
            let i = self.sorted.partition_point(|x| (x.time, x.seq) > (s.time, s.seq));
            self.sorted.insert(i, s);
        } else {
            self.more.push(s);
        }
    }

    fn peek(&self) -> Option<&Scheduled> {
        match (self.sorted.last(), self.more.peek()) {
            (Some(a), Some(b)) => Some(if (b.time, b.seq) < (a.time, a.seq) { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    fn pop(&mut self) -> Option<Scheduled> {
        let from_more = match (self.sorted.last(), self.more.peek()) {
            (Some(a), Some(b)) => (b.time, b.seq) < (a.time, a.seq),
            (None, Some(_)) => true,
            _ => false,
        };
        if from_more { self.more.pop() } else { self.sorted.pop() }
    }

    fn iter(&self) -> impl Iterator<Item = &Scheduled> {
        self.sorted.iter().chain(self.more.iter())
    }
}

/// Below this many entries in the heap, new events go to the heap.
const SMALL_HEAP: usize = 64;

/// Lanes: enough for the delays a run uses at once (none, latency, replication latency,
/// fetch waits, a handful of timeouts).
const LANES: usize = 8;

impl Queue {
    /// Schedules `event` at `time`; `idle_chain` marks polls that follow idle work as idle.
    pub fn push(&mut self, time: u64, event: Event, idle_chain: bool) {
        let idle = event.is_idle() || (idle_chain && event.is_poll());
        self.seq += 1;
        let seq = FIRST_SEQ + self.seq;
        if self.express.is_none() && self.head.is_none_or(|h| (time, seq) < (h.time, h.seq)) {
            self.count(idle, &event, 1);
            self.express = Some((time, seq, idle, event));
            return;
        }
        let lane = self.lane_of(time);
        self.insert(time, seq, idle, event, lane);
    }

    /// Counts a pending event in (`by` 1) or out (`by` -1) of `active` and `faults`.
    fn count(&mut self, idle: bool, event: &Event, by: isize) {
        if !idle {
            self.active = self.active.wrapping_add_signed(by);
        }
        if matches!(event, Event::Fault { .. } | Event::BrokerFenced { .. }) {
            self.faults = self.faults.wrapping_add_signed(by);
        }
    }

    /// Moves the express event into the heap if an entry at `key` is to come before it.
    fn demote_express(&mut self, key: (u64, u64)) {
        if self.express.as_ref().is_some_and(|e| key < (e.0, e.1)) {
            let (time, seq, idle, event) = self.express.take().expect("checked above");
            // (Already counted; its old sequence number keeps it out of the lanes.)
            self.place(time, seq, idle, event, None);
        }
    }

    /// Where an event due at `time` waits: in the heap while it is small (a heap of a few
    /// dozen entries is cheaper than the lanes), else in the lane of its delay if one fits.
    fn lane_of(&mut self, time: u64) -> Option<usize> {
        if self.heap.len() < SMALL_HEAP {
            return None;
        }
        time.checked_sub(self.now).and_then(|delay| self.lane_for(delay, time))
    }

    /// The lane of events `delay` ahead, or an empty one to take that delay; it takes an event
    /// only behind its last one (sequence numbers only grow, so (time, seq) order holds).
    fn lane_for(&mut self, delay: u64, time: u64) -> Option<usize> {
        let mut empty = None;
        for l in 0..LANES {
            match self.lanes[l].back() {
                Some(b) if self.delays[l] == delay => return (b.time <= time).then_some(l),
                None if empty.is_none() || self.delays[l] == delay => empty = Some(l),
                _ => {}
            }
        }
        let l = empty?;
        self.delays[l] = delay;
        Some(l)
    }

    /// Arms timer `key` to deliver `event` at `time`, replacing what it was armed with: the
    /// timer then fires exactly where a fresh `push` of `event` would have (it takes the next
    /// sequence number as `push` does), but an earlier arming that never fired leaves no event
    /// behind.
    pub fn arm(&mut self, key: u32, time: u64, event: Event, idle_chain: bool) {
        let idle = event.is_idle() || (idle_chain && event.is_poll());
        let seq = self.reserve();
        self.arm_keyed(key, (time, seq), idle, event, true);
    }

    /// Takes the sequence number a `push` would take now, for an event that may be scheduled
    /// later with [`Queue::arm_at`]: it then fires exactly where a `push` made now would have.
    pub fn reserve(&mut self) -> u64 {
        self.seq += 1;
        FIRST_SEQ + self.seq
    }

    /// Arms timer `key` as [`Queue::arm`] does, at the key `(time, seq)` of a sequence number
    /// taken earlier by [`Queue::reserve`] (so it waits in the heap: a lane takes only new
    /// sequence numbers).
    pub fn arm_at(&mut self, key: u32, time: u64, seq: u64, event: Event) {
        let idle = event.is_idle();
        self.arm_keyed(key, (time, seq), idle, event, false);
    }

    /// Whether timer `key` is armed.
    pub fn armed(&self, key: u32) -> bool {
        self.timers.get(key as usize).is_some_and(|t| t.armed.is_some())
    }

    /// `fresh`: `seq` is the newest sequence number, so the entry may wait in a lane.
    fn arm_keyed(&mut self, key: u32, (time, seq): (u64, u64), idle: bool, event: Event, fresh: bool) {
        self.disarm(key);
        if !idle {
            self.active += 1;
        }
        let t = &mut self.timers[key as usize];
        t.armed = Some((time, seq, idle, event));
        // (An entry already waiting at or before this key comes back for it when due.)
        if t.queued.is_none_or(|q| q > (time, seq)) {
            t.queued = Some((time, seq));
            let lane = if fresh { self.lane_of(time) } else { None };
            self.enqueue(Scheduled { time, seq, slot: TIMER | key, idle }, lane);
        }
        self.settle();
    }

    /// Disarms timer `key` (what it was armed for will not happen).
    pub fn cancel(&mut self, key: u32) {
        self.disarm(key);
        self.settle();
    }

    fn disarm(&mut self, key: u32) {
        if self.timers.len() <= key as usize {
            self.timers.resize_with(key as usize + 1, Timer::default);
        }
        if let Some((_, _, idle, _)) = self.timers[key as usize].armed.take() {
            if !idle {
                self.active -= 1;
            }
        }
    }

    /// Drops or moves the timer entries at the head that are not due: afterwards the head is
    /// an event to deliver (or there is none).
    fn settle(&mut self) {
        while let Some(h) = self.head {
            let s = *self.head_entry().expect("the head is pending");
            if s.slot & TIMER == 0 {
                return;
            }
            let t = &self.timers[(s.slot & !TIMER) as usize];
            if t.queued == Some((s.time, s.seq)) && t.armed.as_ref().is_some_and(|a| (a.0, a.1) == (s.time, s.seq)) {
                return;
            }
            self.remove_head(h);
            let t = &mut self.timers[(s.slot & !TIMER) as usize];
            if t.queued != Some((s.time, s.seq)) {
                // (Superseded by an earlier entry.)
                continue;
            }
            t.queued = None;
            if let Some((time, seq, idle, _)) = t.armed {
                // Re-armed since: wait again, at the armed key (out of lane order, so in the heap).
                t.queued = Some((time, seq));
                self.enqueue(Scheduled { time, seq, slot: s.slot, idle }, None);
            }
        }
    }

    /// Takes the head's entry out of its lane or the heap.
    fn remove_head(&mut self, head: Head) -> Scheduled {
        let s = match head.lane {
            Some(l) => {
                let s = self.lanes[l].pop_front();
                self.fronts[l] = self.lanes[l].front().map_or(EMPTY, |f| (f.time, f.seq));
                self.in_lanes -= 1;
                s
            }
            None => self.heap.pop(),
        }
        .expect("the head is pending");
        self.head = self.find_head();
        s
    }

    /// Schedules the timed fault number `fault` (see the type's note on ordering).
    pub fn push_timed_fault(&mut self, time: u64, fault: u32) {
        // (Its sequence number is below every other's: it goes to the heap.)
        self.insert(time, u64::from(fault), false, Event::Fault { fault }, None);
    }

    fn insert(&mut self, time: u64, seq: u64, idle: bool, event: Event, lane: Option<usize>) {
        self.count(idle, &event, 1);
        self.place(time, seq, idle, event, lane);
    }

    /// Puts a counted event in a slot and its entry in a lane or the heap.
    fn place(&mut self, time: u64, seq: u64, idle: bool, event: Event, lane: Option<usize>) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(event);
                s
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.enqueue(Scheduled { time, seq, slot, idle }, lane);
    }

    /// Puts an entry in its lane (or the heap) and updates the head.
    fn enqueue(&mut self, s: Scheduled, lane: Option<usize>) {
        let (time, seq) = (s.time, s.seq);
        self.demote_express((time, seq));
        match lane {
            Some(l) => {
                if self.lanes[l].is_empty() {
                    self.fronts[l] = (time, seq);
                }
                self.in_lanes += 1;
                self.lanes[l].push_back(s)
            }
            None => self.heap.push(s),
        }
        if self.head.is_none_or(|h| (time, seq) < (h.time, h.seq)) {
            self.head = Some(Head { time, seq, lane });
        }
    }

    /// The earliest of the heap's top and the lanes' fronts.
    fn find_head(&self) -> Option<Head> {
        if self.in_lanes == 0 {
            return self.heap.peek().map(|s| Head { time: s.time, seq: s.seq, lane: None });
        }
        let mut best = 0;
        for l in 1..LANES {
            if self.fronts[l] < self.fronts[best] {
                best = l;
            }
        }
        let lane = (self.fronts[best] != EMPTY).then(|| Head {
            time: self.fronts[best].0,
            seq: self.fronts[best].1,
            lane: Some(best),
        });
        match self.heap.peek() {
            Some(s) if lane.is_none_or(|h| (s.time, s.seq) < (h.time, h.seq)) => {
                Some(Head { time: s.time, seq: s.seq, lane: None })
            }
            _ => lane,
        }
    }

    /// The pending events in the order they will fire, with their (time, sequence number)
    /// keys and idleness.
    pub fn pending_keyed(&self) -> Vec<(u64, u64, bool, &Event)> {
        let queued = self.heap.iter().chain(self.lanes.iter().flatten()).filter(|s| s.slot & TIMER == 0);
        let mut v = Vec::with_capacity(self.heap.len() + self.in_lanes + self.timers.len());
        v.extend(
            queued.map(|s| (s.time, s.seq, s.idle, self.slots[s.slot as usize].as_ref().expect("a pending event"))),
        );
        v.extend(
            self.timers.iter().filter_map(|t| t.armed.as_ref()).map(|(time, seq, idle, e)| (*time, *seq, *idle, e)),
        );
        v.extend(self.express.as_ref().map(|(time, seq, idle, e)| (*time, *seq, *idle, e)));
        // ((time, sequence number) keys are unique: an unstable sort gives the one order.)
        v.sort_unstable_by_key(|s| (s.0, s.1));
        v
    }

    /// The next event, with its time and whether it was idle.
    pub fn pop(&mut self) -> Option<(u64, bool, Event)> {
        if let Some((time, _, idle, event)) = self.express.take() {
            self.now = time;
            self.count(idle, &event, -1);
            return Some((time, idle, event));
        }
        let head = self.head?;
        let s = self.remove_head(head);
        self.now = s.time;
        let event = if s.slot & TIMER != 0 {
            // (`settle` left only a due timer at the head.)
            let t = &mut self.timers[(s.slot & !TIMER) as usize];
            t.queued = None;
            t.armed.take().expect("a due timer").3
        } else {
            let event = self.slots[s.slot as usize].take().expect("a pending event");
            self.free.push(s.slot);
            event
        };
        self.settle();
        self.count(s.idle, &event, -1);
        Some((s.time, s.idle, event))
    }

    /// Whether a fault is still to fire (at a time, or after a crash or pause) or a fence to
    /// happen: until then a cut link or a lost route may yet change.
    pub fn faults_pending(&self) -> bool {
        self.faults > 0
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.express.as_ref().map(|e| e.0).or(self.head.map(|h| h.time))
    }

    /// Non-idle events still pending.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The entry at the head of the heap and lanes (the express event comes before it).
    fn head_entry(&self) -> Option<&Scheduled> {
        let h = self.head?;
        match h.lane {
            Some(l) => self.lanes[l].front(),
            None => self.heap.peek(),
        }
    }

    /// The next event (a due timer's, once `settle` ran).
    pub(super) fn head_event(&self) -> Option<&Event> {
        if let Some(e) = &self.express {
            return Some(&e.3);
        }
        let s = self.head_entry()?;
        if s.slot & TIMER != 0 {
            return self.timers[(s.slot & !TIMER) as usize].armed.as_ref().map(|a| &a.3);
        }
        self.slots[s.slot as usize].as_ref()
    }

    /// Whether the next event is idle.
    pub(super) fn head_idle(&self) -> Option<bool> {
        self.express.as_ref().map(|e| e.2).or_else(|| self.head_entry().map(|s| s.idle))
    }

    /// Moves the pending events `shift` picks `by` ms later, as if a run had gone on polling
    /// for that long (see `Sim::skip_idle`): `shift` gets each event's place in the pending
    /// order, may update its counters, and says whether it moves. A moved event takes a new
    /// sequence number, in the pending order (it would have been scheduled after every event
    /// pending now); the others keep their place. The clock of the last event popped becomes
    /// `now`.
    pub(super) fn shift(&mut self, now: u64, by: u64, mut shift: impl FnMut(usize, &mut Event) -> bool) {
        let mut entries: Vec<(u64, u64, bool, Event, Option<u32>)> = Vec::with_capacity(self.slots.len() + 8);
        entries.extend(self.express.take().map(|(time, seq, idle, event)| (time, seq, idle, event, None)));
        for s in self.heap.iter().chain(self.lanes.iter().flatten()).filter(|s| s.slot & TIMER == 0) {
            let event = self.slots[s.slot as usize].take().expect("a pending event");
            entries.push((s.time, s.seq, s.idle, event, None));
        }
        for (key, t) in self.timers.iter_mut().enumerate() {
            if let Some((time, seq, idle, event)) = t.armed.take() {
                entries.push((time, seq, idle, event, Some(key as u32)));
            }
        }
        entries.sort_by_key(|e| (e.0, e.1));
        // (Keeping the buffers: a jump happens every few seconds of an idle run.)
        let (seq, mut slots, mut timers, mut sorted) = (
            self.seq,
            std::mem::take(&mut self.slots),
            std::mem::take(&mut self.timers),
            std::mem::take(&mut self.heap.sorted),
        );
        slots.clear();
        sorted.clear();
        timers.iter_mut().for_each(|t| *t = Timer::default());
        *self = Queue { seq, now, slots, timers, ..Queue::default() };
        self.heap.sorted = sorted;
        for (i, (mut time, mut seq, idle, mut event, timer)) in entries.into_iter().enumerate() {
            if shift(i, &mut event) {
                time += by;
                self.seq += 1;
                seq = FIRST_SEQ + self.seq;
            }
            match timer {
                Some(key) => {
                    if !idle {
                        self.active += 1;
                    }
                    let t = &mut self.timers[key as usize];
                    t.armed = Some((time, seq, idle, event));
                    t.queued = Some((time, seq));
                    self.enqueue(Scheduled { time, seq, slot: TIMER | key, idle }, None);
                }
                None => self.insert(time, seq, idle, event, None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for the tests' random mixes.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// An event pushed before everything pending waits apart, and gives way to a timer armed
    /// at an earlier reserved key or a timed fault; the counts and the listing include it.
    #[test]
    fn the_express_event_gives_way_to_anything_earlier() {
        let producer = |e: Event| match e {
            Event::AppSend { producer, .. } => producer,
            Event::Fault { fault } => 100 + fault,
            _ => panic!("unexpected event"),
        };
        let mut q = Queue::default();
        let early = q.reserve();
        q.push(0, Event::AppSend { producer: 1, inc: 0 }, false);
        assert!(q.express.is_some(), "the first event waits apart");
        // A timer armed at a key reserved before it, and a timed fault, both come first.
        q.arm_at(0, 0, early, Event::AppSend { producer: 2, inc: 0 });
        assert!(q.express.is_none(), "moved into the heap");
        q.push_timed_fault(0, 7);
        q.push(5, Event::AppSend { producer: 3, inc: 0 }, false);
        q.push(1, Event::AppSend { producer: 4, inc: 0 }, false);
        assert_eq!(q.active(), 5);
        assert_eq!(q.peek_time(), Some(0));
        let order: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop()).map(|(t, _, e)| (t, producer(e))).collect();
        assert_eq!(order, [(0, 107), (0, 2), (0, 1), (1, 4), (5, 3)]);
        assert_eq!((q.active(), q.faults_pending()), (0, false));
        // Once the queue is empty the next push waits apart again, and shows in the listing.
        q.push(9, Event::AppSend { producer: 5, inc: 0 }, false);
        assert!(q.express.is_some());
        assert_eq!(q.pending_keyed().len(), 1);
    }

    /// The lanes change where events wait, never the order they come out in: a random mix of
    /// delays (lane-sized and not), timed faults and interleaved pops comes out in exactly
    /// (time, seq) order, as a plain heap of the same keys gives it.
    #[test]
    fn lanes_keep_the_heap_order() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let delays = [0, 0, 1, 1, 3, 500, 500, 30_000, 120_000, 7, 11, 13, 17, 19, 23];
        let mut q = Queue::default();
        // (time, 0 and fault number for a timed fault, else 1 and insertion order; the event)
        let mut reference: Vec<(u64, (u8, u64), u32)> = Vec::new();
        let (mut now, mut seq, mut id) = (0u64, 0u64, 0u32);
        for _ in 0..20_000 {
            let r = next();
            if r % 3 == 0 && !reference.is_empty() {
                reference.sort();
                let (time, _, want) = reference.remove(0);
                let (t, _, e) = q.pop().expect("pending");
                let (Event::AppSend { producer, .. } | Event::Fault { fault: producer }) = e else { panic!() };
                assert_eq!((t, producer), (time, want));
                now = t;
                continue;
            }
            id += 1;
            if r % 29 == 1 {
                let time = now + next() % 1000;
                q.push_timed_fault(time, id);
                reference.push((time, (0, u64::from(id)), id));
            } else {
                let delay = if r % 7 == 0 { next() % 2000 } else { delays[(next() % delays.len() as u64) as usize] };
                q.push(now + delay, Event::AppSend { producer: id, inc: 0 }, false);
                seq += 1;
                reference.push((now + delay, (1, seq), id));
            }
        }
        reference.sort();
        for (time, _, want) in reference {
            let (t, _, e) = q.pop().expect("pending");
            let (Event::AppSend { producer, .. } | Event::Fault { fault: producer }) = e else { panic!() };
            assert_eq!((t, producer), (time, want));
        }
        assert!(q.pop().is_none());
    }

    /// A timer re-armed or cancelled leaves no event behind, and what it was last armed with
    /// comes out exactly where a plain push of it at arming time would have: the same run of
    /// pops as a queue that pushes every arming and drops, when popped, those armed over.
    #[test]
    fn timers_fire_where_their_last_arming_would() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let (mut q, mut plain) = (Queue::default(), Queue::default());
        // The last arming of each timer (None: cancelled), as the plain queue's payload.
        let mut live: [Option<u32>; 4] = [None; 4];
        let (mut now, mut id) = (0u64, 0u32);
        let mut out = Vec::new();
        let mut want = Vec::new();
        for _ in 0..20_000 {
            let r = next();
            match r % 5 {
                0 | 1 => {
                    id += 1;
                    let key = (next() % 4) as u32;
                    // Armed for the same delay ahead mostly (a request timeout), sometimes more.
                    let at = now + if r % 7 == 0 { 30_000 + next() % 500 } else { 30_000 };
                    q.arm(key, at, Event::AppSend { producer: id, inc: key }, false);
                    plain.push(at, Event::AppSend { producer: id, inc: key }, false);
                    live[key as usize] = Some(id);
                }
                2 => {
                    let key = (next() % 4) as usize;
                    q.cancel(key as u32);
                    live[key] = None;
                }
                _ => {
                    id += 1;
                    let at = now + [0, 1, 500, 30_000][(next() % 4) as usize];
                    q.push(at, Event::AppSend { producer: id, inc: 9 }, false);
                    plain.push(at, Event::AppSend { producer: id, inc: 9 }, false);
                }
            }
            // Pop as far as the queue gets; the plain queue pops its dead timers silently.
            if r % 3 == 0 {
                let Some((t, _, e)) = q.pop() else { continue };
                now = t;
                out.push((t, e));
                while let Some((t, _, e)) = plain.pop() {
                    let Event::AppSend { producer, inc } = e else { panic!() };
                    if inc == 9 || live[inc as usize] == Some(producer) {
                        if inc != 9 {
                            live[inc as usize] = None;
                        }
                        want.push((t, e));
                        break;
                    }
                }
                assert_eq!(out.last(), want.last());
            }
        }
        assert!(out.len() > 1000);
        assert_eq!(out, want);
    }

    /// One timer for a series of deadlines taken in order (a producer's batches and their
    /// `delivery.timeout.ms`), armed with sequence numbers reserved when each deadline was set,
    /// and re-armed for the oldest one left each time it fires: the live deadlines come out
    /// exactly where an event pushed for each would have, among other events, and the
    /// deadlines dropped in between (batches acknowledged) leave nothing behind.
    #[test]
    fn reserved_timers_fire_where_their_push_would() {
        let mut next = xorshift(0x1234_5678_9abc_def1);
        let (mut q, mut plain) = (Queue::default(), Queue::default());
        // The live deadlines, oldest first: (time, reserved seq, id).
        let mut live: VecDeque<(u64, u64, u32)> = VecDeque::new();
        let rearm = |q: &mut Queue, live: &VecDeque<(u64, u64, u32)>| match live.front() {
            Some(&(at, seq, id)) => q.arm_at(0, at, seq, Event::AppSend { producer: id, inc: 1 }),
            None => q.cancel(0),
        };
        let (mut now, mut id, mut dead) = (0u64, 0u32, std::collections::BTreeSet::new());
        let (mut out, mut want) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let r = next();
            id += 1;
            match r % 4 {
                0 => {
                    let at = now + 120_000;
                    let seq = q.reserve();
                    plain.push(at, Event::AppSend { producer: id, inc: 1 }, false);
                    live.push_back((at, seq, id));
                    if !q.armed(0) {
                        rearm(&mut q, &live);
                    }
                }
                1 if !live.is_empty() => {
                    // A deadline that will not be met (its batch completed): anywhere in the
                    // series, the armed one too.
                    let i = (next() % live.len() as u64) as usize;
                    dead.insert(live.remove(i).expect("in range").2);
                }
                _ => {
                    let at = now + [0, 1, 500, 120_000][(next() % 4) as usize];
                    q.push(at, Event::AppSend { producer: id, inc: 9 }, false);
                    plain.push(at, Event::AppSend { producer: id, inc: 9 }, false);
                }
            }
            if r % 3 != 0 {
                continue;
            }
            let Some((t, _, e)) = q.pop() else { continue };
            now = t;
            let Event::AppSend { producer, inc } = e else { panic!() };
            if inc == 1 {
                // Fired for the oldest deadline it was armed with: live, or dropped since.
                if live.front().is_some_and(|l| l.2 == producer) {
                    live.pop_front();
                    out.push((t, producer));
                }
                rearm(&mut q, &live);
            } else {
                out.push((t, producer));
            }
            while want.len() < out.len() {
                let (t, _, e) = plain.pop().expect("the plain queue has it");
                let Event::AppSend { producer, .. } = e else { panic!() };
                if !dead.contains(&producer) {
                    want.push((t, producer));
                }
            }
            assert_eq!(out.last(), want.last());
        }
        assert!(out.len() > 1000);
        assert!(
            q.pending_keyed().iter().filter(|(_, _, _, e)| matches!(e, Event::AppSend { inc: 1, .. })).count() <= 1
        );
    }
}
