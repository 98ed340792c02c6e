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
    /// ILLEGAL_GENERATION on TxnOffsetCommit: the member left the group's generation; the
    /// transaction can only abort (CommitFailedException).
    IllegalGeneration,
}

impl TxnError {
    pub fn name(self) -> &'static str {
        match self {
            TxnError::Concurrent => "CONCURRENT_TRANSACTIONS",
            TxnError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            TxnError::ProducerFenced => "PRODUCER_FENCED",
            TxnError::IllegalGeneration => "ILLEGAL_GENERATION",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TxnReply {
    Initialized { producer_id: u32, epoch: u16 },
    Added { partitions: Vec<PartitionIdx> },
    Ended { commit: bool },
    OffsetsAdded,
    Err { request: TxnRequest, error: TxnError },
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
    /// JoinGroup; a member that rejoins first commits `offsets` (auto-commit's commitSync in
    /// onJoinPrepare, folded into the request so that it lands before the new generation).
    Join { offsets: Vec<(PartitionIdx, u64)>, leader_epochs: Vec<(PartitionIdx, u32)> },
    /// OffsetFetch for the member's assigned partitions (plus auto.offset.reset for the rest).
    OffsetFetch { generation: u32 },
    /// OffsetCommit; `sync` is commitSync (the consumer waits), else commitAsync (auto-commit).
    /// `leader_epochs`: each offset's committed leader epoch where the consumer knows it
    /// (KIP-320: `OffsetAndMetadata.leaderEpoch`, from the position's epoch).
    Commit { generation: u32, offsets: Vec<(PartitionIdx, u64)>, leader_epochs: Vec<(PartitionIdx, u32)>, sync: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupReply {
    Joined {
        generation: u32,
        member: u32,
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
/// Most events never need the heap: events scheduled the same delay ahead (a consumer's next
/// step at once, a network hop of the configured latency, a request timeout, a fetch wait) come
/// due in the order they were scheduled, so each delay in use gets a FIFO lane of its own, kept
/// in (time, seq) order; what fits no lane goes to the heap. The next event is the earliest of
/// the heap's top and the lanes' fronts, so the order is exactly the heap's alone.
#[derive(Debug, Clone)]
pub struct Queue {
    heap: BinaryHeap<Scheduled>,
    /// FIFO lanes, each in (time, seq) order, with the delay each was last used for.
    lanes: [VecDeque<Scheduled>; LANES],
    delays: [u64; LANES],
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
}

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            heap: BinaryHeap::new(),
            lanes: Default::default(),
            delays: [0; LANES],
            fronts: [EMPTY; LANES],
            head: None,
            now: 0,
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            active: 0,
            faults: 0,
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

/// Lanes: enough for the delays a run uses at once (none, latency, replication latency,
/// fetch waits, a handful of timeouts).
const LANES: usize = 8;

impl Queue {
    /// Schedules `event` at `time`; `idle_chain` marks polls that follow idle work as idle.
    pub fn push(&mut self, time: u64, event: Event, idle_chain: bool) {
        let idle = event.is_idle() || (idle_chain && event.is_poll());
        self.seq += 1;
        let lane = time.checked_sub(self.now).and_then(|delay| self.lane_for(delay, time));
        self.insert(time, FIRST_SEQ + self.seq, idle, event, lane);
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

    /// Schedules the timed fault number `fault` (see the type's note on ordering).
    pub fn push_timed_fault(&mut self, time: u64, fault: u32) {
        // (Its sequence number is below every other's: it goes to the heap.)
        self.insert(time, u64::from(fault), false, Event::Fault { fault }, None);
    }

    fn insert(&mut self, time: u64, seq: u64, idle: bool, event: Event, lane: Option<usize>) {
        if !idle {
            self.active += 1;
        }
        if matches!(event, Event::Fault { .. } | Event::BrokerFenced { .. }) {
            self.faults += 1;
        }
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
        let s = Scheduled { time, seq, slot, idle };
        match lane {
            Some(l) => {
                if self.lanes[l].is_empty() {
                    self.fronts[l] = (time, seq);
                }
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

    /// The pending events in the order they will fire, with their times and idleness (the
    /// state a fingerprint covers: sequence numbers and slots are left out, only the order
    /// counts).
    pub fn pending(&self) -> Vec<(u64, bool, &Event)> {
        let mut v: Vec<&Scheduled> = self.heap.iter().chain(self.lanes.iter().flatten()).collect();
        v.sort_by_key(|s| (s.time, s.seq));
        v.into_iter()
            .map(|s| (s.time, s.idle, self.slots[s.slot as usize].as_ref().expect("a pending event")))
            .collect()
    }

    /// The next event, with its time and whether it was idle.
    pub fn pop(&mut self) -> Option<(u64, bool, Event)> {
        let head = self.head?;
        let s = match head.lane {
            Some(l) => {
                let s = self.lanes[l].pop_front();
                self.fronts[l] = self.lanes[l].front().map_or(EMPTY, |f| (f.time, f.seq));
                s
            }
            None => self.heap.pop(),
        }
        .expect("the head is pending");
        self.head = self.find_head();
        self.now = s.time;
        let event = self.slots[s.slot as usize].take().expect("a pending event");
        self.free.push(s.slot);
        if !s.idle {
            self.active -= 1;
        }
        if matches!(event, Event::Fault { .. } | Event::BrokerFenced { .. }) {
            self.faults -= 1;
        }
        Some((s.time, s.idle, event))
    }

    /// Whether a fault is still to fire (at a time, or after a crash or pause) or a fence to
    /// happen: until then a cut link or a lost route may yet change.
    pub fn faults_pending(&self) -> bool {
        self.faults > 0
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.head.map(|h| h.time)
    }

    /// Non-idle events still pending.
    pub fn active(&self) -> usize {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lanes change where events wait, never the order they come out in: a random mix of
    /// delays (lane-sized and not), timed faults and interleaved pops comes out in exactly
    /// (time, seq) order, as a plain heap of the same keys gives it.
    #[test]
    fn lanes_keep_the_heap_order() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
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
}
