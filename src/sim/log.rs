//! One replica of a partition: its log, segments and log start offset, leader-epoch cache, high
//! watermark and the idempotent producer state (the last five batches per producer id) that
//! Kafka rebuilds from the log.

use super::records::Records;
use crate::model::{BrokerId, LogConfig, MsgId};
use std::collections::{BTreeMap, VecDeque};

/// No producer id: a record from a non-idempotent producer.
pub const NO_PRODUCER_ID: u32 = u32::MAX;

/// What a record is: data, or a transaction marker (a control record, KIP-98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Data,
    /// Data written inside a transaction.
    TxnData,
    CommitMarker,
    AbortMarker,
}

impl Kind {
    pub fn is_marker(self) -> bool {
        matches!(self, Kind::CommitMarker | Kind::AbortMarker)
    }
}

/// One record of a partition log. The offset is its index in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Record {
    /// The message it carries (meaningless for markers).
    pub msg: MsgId,
    pub producer_id: u32,
    pub producer_epoch: u16,
    /// Sequence number (-1 without idempotence, and for markers).
    pub sequence: i32,
    /// Leader epoch under which the leader appended it.
    pub leader_epoch: u32,
    /// Whether it opens its batch (batch boundaries matter for idempotent dedup).
    pub batch_start: bool,
    pub kind: Kind,
    /// A marker's timestamp, when the leader wrote it; 0 for data. A data record's timestamp
    /// (CreateTime, the producer's `send()` time) and size follow from its message, so the log
    /// does not store them: see [`Footprint`].
    pub marker_time: u64,
}

/// A data record's timestamp and the bytes it takes in a segment (its batch's header, 61,
/// counted with the batch's first record), which retention (`retention.ms`, `retention.bytes`)
/// and segment rolls go by. The simulation derives both from the record's message; a test
/// gives a closure of both.
pub trait Footprint {
    /// A data record's timestamp (CreateTime).
    fn timestamp(&self, r: &Record) -> u64;
    /// The bytes a data record takes in a segment.
    fn bytes(&self, r: &Record) -> u32;
}

impl<F: Fn(&Record) -> (u64, u32)> Footprint for F {
    fn timestamp(&self, r: &Record) -> u64 {
        self(r).0
    }

    fn bytes(&self, r: &Record) -> u32 {
        self(r).1
    }
}

/// A record's timestamp: a data record's from `data`, a marker's from itself.
fn timestamp(r: &Record, data: &impl Footprint) -> u64 {
    if r.is_marker() { r.marker_time } else { data.timestamp(r) }
}

/// A record's timestamp and size: a data record's from `data`, a marker's from itself.
fn footprint(r: &Record, data: &impl Footprint) -> (u64, u32) {
    if r.is_marker() { (r.marker_time, MARKER_BYTES) } else { (data.timestamp(r), data.bytes(r)) }
}

/// `DefaultRecordBatch.RECORD_BATCH_OVERHEAD`: a record batch's header.
pub const BATCH_OVERHEAD: u32 = 61;
/// A transaction marker's control batch: the header and one control record (a 4-byte key, the
/// 6-byte `EndTransactionMarker` value and 7 bytes of varints).
pub const MARKER_BYTES: u32 = BATCH_OVERHEAD + 17;

/// One segment of a replica's log (`LogSegment`): from its base offset to the next one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    pub base: u64,
    pub bytes: u64,
    /// `LogSegment.maxTimestampSoFar`: retention.ms counts from it.
    pub largest_timestamp: u64,
    /// `rollingBasedTimestamp`: the newest timestamp of its first append; segment.ms counts
    /// from it.
    pub rolling_timestamp: Option<u64>,
}

impl Segment {
    fn empty(base: u64) -> Segment {
        Segment { base, bytes: 0, largest_timestamp: 0, rolling_timestamp: None }
    }
}

/// Why a retention check moved a log start offset (`SegmentDeletionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Deletion {
    /// Segments wholly below the log start offset (DeleteRecords, or a leader's log start).
    LogStart,
    RetentionBytes,
    RetentionMs,
    /// An administrator's DeleteRecords.
    DeleteRecords,
}

impl Deletion {
    pub fn setting(self) -> &'static str {
        match self {
            Deletion::LogStart => "the log start offset",
            Deletion::RetentionBytes => "retention.bytes",
            Deletion::RetentionMs => "retention.ms",
            Deletion::DeleteRecords => "DeleteRecords",
        }
    }
}

impl Record {
    pub fn is_marker(&self) -> bool {
        self.kind.is_marker()
    }

    /// What the records of one produce batch share: kind, producer id and epoch, leader epoch.
    pub fn batch_key(&self) -> (Kind, u32, u16, u32) {
        (self.kind, self.producer_id, self.producer_epoch, self.leader_epoch)
    }

    /// Whether this record, right after a record with `batch_key` `key`, continues that
    /// produce batch's data (the next sequence aside): neither a batch start nor a marker, and
    /// the same key.
    pub fn continues_batch(&self, key: (Kind, u32, u16, u32)) -> bool {
        !self.batch_start && !self.is_marker() && self.batch_key() == key
    }
}

/// The last batches of one producer id, as `ProducerStateManager` keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProducerEntry {
    pub epoch: u16,
    /// (first sequence, last sequence, base offset), oldest first, at most five.
    pub batches: VecDeque<(i32, i32, u64)>,
    /// `ProducerStateEntry.lastTimestamp`: the newest timestamp of its last batch (CreateTime,
    /// the producer's `send()` time; a marker's, when it was written). Expiry counts from it.
    pub last_timestamp: u64,
}

/// Kafka keeps the metadata of the last 5 batches per producer id
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`), matching max.in.flight <= 5.
pub const BATCHES_TO_RETAIN: usize = 5;

/// What an idempotent append found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    /// This exact batch is already in the log at this base offset.
    Duplicate(u64),
    OutOfOrder {
        expected: i32,
    },
    /// The batch's producer epoch is older than the partition's: a zombie (ProducerFenced /
    /// InvalidProducerEpoch).
    Fenced {
        current: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replica {
    pub broker: BrokerId,
    /// Every record ever appended and not truncated; those below `log_start_offset` are
    /// deleted (no fetch reads them) and kept only for the report.
    pub log: Records,
    /// The first offset a fetch may read (`UnifiedLog.logStartOffset`): retention and
    /// DeleteRecords raise it, never past the high watermark.
    pub log_start_offset: u64,
    /// The segments from the one holding `log_start_offset`, oldest first (never empty).
    pub segments: Vec<Segment>,
    /// The topic's retention and roll settings.
    pub config: LogConfig,
    /// (leader epoch, start offset) in increasing order: the leader-epoch cache (KIP-101).
    pub epochs: Vec<(u32, u64)>,
    pub high_watermark: u64,
    pub producers: BTreeMap<u32, ProducerEntry>,
    /// Open transactions: producer id -> offset of its first record here.
    pub ongoing: BTreeMap<u32, u64>,
    /// Aborted transactions: (producer id, first offset, marker offset).
    pub aborted: Vec<(u32, u64, u64)>,
    /// Completed transactions whose marker the high watermark has not passed yet: (first
    /// offset, marker offset). They still hold the last stable offset.
    pub unreplicated: Vec<(u64, u64)>,
    /// Producer ids whose state this replica removed (`producer.id.expiration.ms`), and when:
    /// a batch of one finds no state to check its sequence against. (Only for the report's
    /// account of it; a new batch of the producer id takes it off.)
    pub expired: BTreeMap<u32, u64>,
}

impl Replica {
    pub fn new(broker: BrokerId, config: LogConfig) -> Replica {
        Replica {
            broker,
            log: Records::default(),
            log_start_offset: 0,
            segments: vec![Segment::empty(0)],
            config,
            epochs: Vec::new(),
            high_watermark: 0,
            producers: BTreeMap::new(),
            ongoing: BTreeMap::new(),
            aborted: Vec::new(),
            unreplicated: Vec::new(),
            expired: BTreeMap::new(),
        }
    }

    pub fn log_end_offset(&self) -> u64 {
        self.log.len()
    }

    /// The last stable offset: no record at or past it may be read by a read_committed
    /// consumer, because an open transaction starts there (or the high watermark does).
    /// A transaction whose marker is written but not yet below the high watermark still holds
    /// it (`ProducerStateManager.firstUnstableOffset` counts `unreplicatedTxns` until
    /// `onHighWatermarkUpdated` passes their last offset).
    pub fn last_stable_offset(&self) -> u64 {
        let hw = self.high_watermark;
        let unreplicated = self.unreplicated.iter().filter(|&&(_, marker)| marker >= hw).map(|&(first, _)| first);
        // (An unstable offset below the log start offset counts from the log start:
        // `UnifiedLog.maybeIncrementFirstUnstableOffset`.)
        let start = self.log_start_offset;
        self.ongoing.values().copied().chain(unreplicated).min().map_or(hw, |o| o.max(start).min(hw))
    }

    /// Whether a read_committed view keeps the record of `kind` at `offset`: data, not of an
    /// aborted transaction.
    pub fn committed_at(&self, offset: u64, kind: Kind) -> bool {
        !kind.is_marker() && (self.aborted.is_empty() || !self.is_aborted(offset))
    }

    /// Whether the record at `offset` belongs to an aborted transaction.
    pub fn is_aborted(&self, offset: u64) -> bool {
        let r = self.log.at(offset);
        r.kind == Kind::TxnData
            && self.aborted.iter().any(|&(p, first, last)| p == r.producer_id && first <= offset && offset < last)
    }

    /// Checks an idempotent batch's epoch and sequence against the producer's last batches.
    pub fn check_sequence(&self, producer_id: u32, epoch: u16, first: i32, last: i32) -> SequenceCheck {
        // ProducerAppendInfo.checkSequence: with no state for the producer id any sequence is
        // accepted; a new epoch of a known producer id must start at 0.
        let Some(entry) = self.producers.get(&producer_id) else {
            return SequenceCheck::Append;
        };
        let fresh = if first == 0 { SequenceCheck::Append } else { SequenceCheck::OutOfOrder { expected: 0 } };
        if epoch < entry.epoch {
            return SequenceCheck::Fenced { current: entry.epoch };
        }
        if epoch > entry.epoch {
            // A new epoch starts its sequence numbers over.
            return fresh;
        }
        if let Some(&(_, _, offset)) = entry.batches.iter().find(|b| b.0 == first && b.1 == last) {
            return SequenceCheck::Duplicate(offset);
        }
        let expected = entry.batches.back().map_or(0, |b| b.1 + 1);
        if first == expected { SequenceCheck::Append } else { SequenceCheck::OutOfOrder { expected } }
    }

    /// Appends records (leader or follower: one produce batch or one fetch's records),
    /// keeping the epoch cache, producer state and segments.
    pub fn append(&mut self, records: &[Record], data: &impl Footprint) {
        if records.is_empty() {
            return;
        }
        let (newest, bytes) = records
            .iter()
            .map(|r| footprint(r, data))
            .fold((0, 0), |(newest, sum), (t, b)| (newest.max(t), sum + u64::from(b)));
        self.maybe_roll(newest, bytes);
        let seg = self.segments.last_mut().expect("a log has a segment");
        seg.bytes += bytes;
        seg.largest_timestamp = seg.largest_timestamp.max(newest);
        let mut i = 0;
        while i < records.len() {
            let r = &records[i];
            let offset = self.log.len();
            if self.epochs.last().is_none_or(|&(e, _)| e < r.leader_epoch) {
                self.epochs.push((r.leader_epoch, offset));
            }
            self.log.push(r);
            self.track_producer(r, offset, timestamp(r, data));
            i += 1;
            // The rest of `r`'s batch changes its producer's state only in the last sequence
            // and the newest timestamp: one look-up for the batch, not one per record.
            if r.producer_id == NO_PRODUCER_ID || r.is_marker() {
                continue;
            }
            let start = i;
            let mut newest = 0;
            while let Some(q) = records.get(i).filter(|q| q.continues_batch(r.batch_key())) {
                self.log.push(q);
                newest = newest.max(timestamp(q, data));
                i += 1;
            }
            if i > start {
                let entry = self.producers.get_mut(&r.producer_id).expect("tracked with the batch's first record");
                entry.last_timestamp = entry.last_timestamp.max(newest);
                entry.batches.back_mut().expect("the batch's first record left one").1 = records[i - 1].sequence;
            }
        }
    }

    /// `UnifiedLog.maybeRoll` / `LogSegment.shouldRoll`: a new segment starts at the log end
    /// when the active one is not empty and the append would take it past `segment.bytes`, or
    /// its newest record is more than `segment.ms` newer than the segment's first append.
    /// `newest` is the appended records' newest timestamp, `bytes` their size.
    fn maybe_roll(&mut self, newest: u64, bytes: u64) {
        let leo = self.log_end_offset();
        let seg = self.segments.last_mut().expect("a log has a segment");
        if seg.bytes == 0 {
            seg.rolling_timestamp = Some(newest);
            return;
        }
        let waited = seg.rolling_timestamp.map_or(0, |t| newest.saturating_sub(t));
        if seg.bytes + bytes > self.config.segment_bytes || waited > self.config.segment_ms {
            let mut next = Segment::empty(leo);
            next.rolling_timestamp = Some(newest);
            self.segments.push(next);
        }
    }

    /// Raises the log start offset (never past the high watermark; `maybeIncrementLogStartOffset`
    /// refuses that with OffsetOutOfRange): DeleteRecords, a follower learning its leader's,
    /// or deleted segments. Producer state is kept (KIP-360: until producer.id.expiration.ms).
    pub fn maybe_increment_log_start_offset(&mut self, offset: u64) -> bool {
        let offset = offset.min(self.high_watermark);
        if offset <= self.log_start_offset {
            return false;
        }
        self.log_start_offset = offset;
        // ProducerStateManager.onLogStartOffsetIncremented: completed transactions below it
        // no longer hold the last stable offset.
        self.unreplicated.retain(|&(_, marker)| marker >= offset);
        true
    }

    /// `ProducerStateManager.removeExpiredProducers` at `now`: forgets every producer id with no
    /// open transaction here whose last batch is `expiration_ms` old or older
    /// (`isProducerExpired`). Its next batch then passes `ProducerAppendInfo.checkSequence`
    /// whatever its sequence (no epoch is known), so a retry is appended again. Returns the
    /// producer ids removed, with their last batch's timestamp.
    pub fn remove_expired_producers(&mut self, now: u64, expiration_ms: u64) -> Vec<(u32, u64)> {
        let ongoing = &self.ongoing;
        let gone: Vec<(u32, u64)> = self
            .producers
            .iter()
            .filter(|(pid, e)| !ongoing.contains_key(pid) && now.saturating_sub(e.last_timestamp) >= expiration_ms)
            .map(|(pid, e)| (*pid, e.last_timestamp))
            .collect();
        for (pid, _) in &gone {
            self.producers.remove(pid);
            self.expired.insert(*pid, now);
        }
        gone
    }

    /// `UnifiedLog.deleteOldSegments` at `now`: the segments wholly below the log start offset,
    /// then the oldest ones while the log is over `retention.bytes` without them, then those
    /// whose newest record is older than `retention.ms`; never a segment that reaches past the
    /// high watermark (`deletableSegments`), so the log start offset never passes it. Returns
    /// the log start offset before and after and why it moved, if it did.
    pub fn delete_old_segments(&mut self, now: u64) -> Option<(u64, u64, Vec<Deletion>)> {
        let before = self.log_start_offset;
        let mut why = Vec::new();
        let start = self.log_start_offset;
        if self.delete_segments(|_, next| next.is_some_and(|n| n.base <= start)) {
            why.push(Deletion::LogStart);
        }
        if let Some(limit) = self.config.retention_bytes {
            let size: u64 = self.segments.iter().map(|s| s.bytes).sum();
            if size >= limit {
                let mut diff = size - limit;
                let deleted = self.delete_segments(|seg, _| {
                    let fits = diff >= seg.bytes;
                    if fits {
                        diff -= seg.bytes;
                    }
                    fits
                });
                if deleted {
                    why.push(Deletion::RetentionBytes);
                }
            }
        }
        if let Some(ms) = self.config.retention_ms {
            if self.delete_segments(|seg, _| now.saturating_sub(seg.largest_timestamp) > ms) {
                why.push(Deletion::RetentionMs);
            }
        }
        (self.log_start_offset > before).then_some((before, self.log_start_offset, why))
    }

    /// Deletes the oldest segments while `deletable` holds (`deletableSegments` and
    /// `deleteSegments`): a segment reaching past the high watermark and an empty last one
    /// stay; deleting every segment first rolls a new one at the log end. Whether any went.
    fn delete_segments(&mut self, mut deletable: impl FnMut(&Segment, Option<&Segment>) -> bool) -> bool {
        let leo = self.log_end_offset();
        let mut n = 0;
        while n < self.segments.len() {
            let (seg, next) = (&self.segments[n], self.segments.get(n + 1));
            let upper = next.map_or(leo, |s| s.base);
            let last_and_empty = next.is_none() && seg.bytes == 0;
            if !(self.high_watermark >= upper && deletable(seg, next)) || last_and_empty {
                break;
            }
            n += 1;
        }
        if n == 0 {
            return false;
        }
        if n == self.segments.len() {
            self.segments.push(Segment::empty(leo));
        }
        self.segments.drain(..n);
        let base = self.segments[0].base;
        self.maybe_increment_log_start_offset(base);
        true
    }

    /// `timestamp` is the record's ([`Footprint`]).
    fn track_producer(&mut self, r: &Record, offset: u64, timestamp: u64) {
        if r.producer_id == NO_PRODUCER_ID {
            return;
        }
        match r.kind {
            Kind::TxnData => {
                self.ongoing.entry(r.producer_id).or_insert(offset);
            }
            Kind::CommitMarker | Kind::AbortMarker => {
                if let Some(first) = self.ongoing.remove(&r.producer_id) {
                    if r.kind == Kind::AbortMarker {
                        self.aborted.push((r.producer_id, first, offset));
                    }
                    let hw = self.high_watermark;
                    self.unreplicated.retain(|&(_, marker)| marker >= hw);
                    self.unreplicated.push((first, offset));
                }
            }
            Kind::Data => {}
        }
        self.expired.remove(&r.producer_id);
        let entry = self.producers.entry(r.producer_id).or_default();
        if r.producer_epoch > entry.epoch {
            entry.epoch = r.producer_epoch;
            entry.batches.clear();
        }
        // (`ProducerStateEntry.addBatch` / `update`: a batch's max timestamp; within a batch the
        // records come in send() order.)
        entry.last_timestamp =
            if r.batch_start || r.is_marker() { timestamp } else { entry.last_timestamp.max(timestamp) };
        if r.is_marker() {
            return;
        }
        match entry.batches.back_mut() {
            Some(b) if !r.batch_start => b.1 = r.sequence,
            _ => {
                entry.batches.push_back((r.sequence, r.sequence, offset));
                if entry.batches.len() > BATCHES_TO_RETAIN {
                    entry.batches.pop_front();
                }
            }
        }
    }

    /// Cuts the log back to `offset` and rebuilds the state derived from it, as a replica does
    /// when it truncates after a leader change.
    pub fn truncate_to(&mut self, offset: u64, data: &impl Footprint) -> Vec<Record> {
        if offset >= self.log_end_offset() {
            return Vec::new();
        }
        let cut = self.log.split_off(offset);
        // (`UnifiedLog.truncateTo` below the log start offset starts the log afresh there.)
        self.log_start_offset = self.log_start_offset.min(offset);
        self.segments.retain(|s| s.base < offset);
        if self.segments.is_empty() {
            self.segments.push(Segment::empty(offset));
        }
        let last = self.segments.last_mut().expect("a segment");
        let kept: Vec<(bool, (u64, u32))> =
            self.log.range(last.base, offset).map(|r| (r.batch_start, footprint(&r, data))).collect();
        last.bytes = kept.iter().map(|(_, f)| u64::from(f.1)).sum();
        last.largest_timestamp = kept.iter().map(|(_, f)| f.0).max().unwrap_or(0);
        let first_batch = kept.iter().enumerate().take_while(|(i, (start, _))| *i == 0 || !start);
        last.rolling_timestamp = first_batch.map(|(_, (_, f))| f.0).max();
        self.epochs.retain(|&(_, start)| start < offset);
        self.high_watermark = self.high_watermark.min(offset);
        self.producers.clear();
        self.ongoing.clear();
        self.aborted.clear();
        self.unreplicated.clear();
        let expired = std::mem::take(&mut self.expired);
        let log = std::mem::take(&mut self.log);
        for (i, r) in log.iter().enumerate() {
            self.track_producer(&r, i as u64, timestamp(&r, data));
        }
        self.log = log;
        // A producer id expired before stays forgotten (`truncateAndReload` loads a snapshot
        // without expired producers; scn does not model replaying the batches after it).
        for (pid, at) in expired {
            self.producers.remove(&pid);
            self.expired.insert(pid, at);
        }
        cut
    }

    /// What `UnifiedLog.truncateFullyAndStartAt` (Kafka 3.x; a follower below the leader's log
    /// start, `AbstractFetcherThread.handleOffsetOutOfRange`) clears of the state derived from
    /// the log: the producer state (`ProducerStateManager.truncateFullyAndStartAt`: producer
    /// ids, ongoing and unreplicated transactions) and the leader-epoch cache
    /// (`leaderEpochCache.clearAndFlush`): epochs are learnt again from the records fetched
    /// from the new start on. (The records below stay in scn's log for the report.)
    pub fn start_afresh(&mut self) {
        self.producers.clear();
        self.expired.clear();
        self.ongoing.clear();
        self.unreplicated.clear();
        self.epochs.clear();
    }

    /// Where this replica's log stops agreeing with `leader`'s: the first offset whose record
    /// differs, or either log's end. With leader epochs (KIP-101/KIP-279) a follower truncates
    /// exactly there.
    pub fn divergence(&self, leader: &Replica) -> u64 {
        self.log.first_difference(&leader.log)
    }

    /// OffsetsForLeaderEpoch answered from this replica's leader-epoch cache
    /// (`LeaderEpochFileCache.endOffsetFor`, KIP-101/KIP-320): the largest epoch at or below
    /// `requested` and the offset where the next epoch starts (the log end for the current
    /// epoch), or None (UNDEFINED_EPOCH_OFFSET) when the log holds no such epoch. `current` is
    /// the leader's own epoch: Kafka writes it into the cache on election
    /// (`Partition.makeLeader`); here the cache learns an epoch from its first record, so a
    /// leader that has appended nothing yet counts its epoch as starting at the log end.
    pub fn end_offset_for(&self, requested: u32, current: u32) -> Option<(u32, u64)> {
        let leo = self.log_end_offset();
        let mut epochs = self.epochs.clone();
        if epochs.last().is_none_or(|&(e, _)| e < current) {
            epochs.push((current, leo));
        }
        if epochs.last().is_some_and(|&(e, _)| e == requested) {
            return Some((requested, leo));
        }
        let higher = epochs.iter().position(|&(e, _)| e > requested)?;
        let next_start = epochs[higher].1;
        match higher {
            // Older than the log's first epoch: the requested epoch, ending where the log starts.
            0 => Some((requested, next_start)),
            i => Some((epochs[i - 1].0, next_start)),
        }
    }

    /// The latest leader epoch in this replica's log.
    pub fn latest_epoch(&self) -> Option<u32> {
        self.epochs.last().map(|e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replica of one-record batches of 100 bytes, record `i` in leader epoch `epochs[i]`
    /// stamped `ts[i]` (ms), all below the high watermark.
    fn log_of(config: LogConfig, epochs: &[u32], ts: &[u64]) -> Replica {
        let mut r = Replica::new(1, config);
        for (i, &leader_epoch) in epochs.iter().enumerate() {
            r.append(&[data(i as MsgId, leader_epoch)], &|r: &Record| (ts[r.msg as usize], 100));
        }
        r.high_watermark = r.log_end_offset();
        r
    }

    /// Message `msg` alone in a batch of no producer, written in `leader_epoch`.
    fn data(msg: MsgId, leader_epoch: u32) -> Record {
        Record {
            msg,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: 0,
            sequence: -1,
            leader_epoch,
            batch_start: true,
            kind: Kind::Data,
            marker_time: 0,
        }
    }

    fn replica(epochs: &[u32]) -> Replica {
        let config = LogConfig { segment_bytes: 1 << 30, ..SMALL };
        log_of(config, epochs, &vec![0; epochs.len()])
    }

    fn stamped(config: LogConfig, ts: &[u64]) -> Replica {
        log_of(config, &vec![0; ts.len()], ts)
    }

    const SMALL: LogConfig =
        LogConfig { retention_ms: None, retention_bytes: None, segment_bytes: 250, segment_ms: 1 << 40 };

    #[test]
    fn segments_roll_at_segment_bytes_and_segment_ms() {
        // Two 100-byte records fit in 250 bytes; the third rolls (`LogSegment.shouldRoll`).
        let r = stamped(SMALL, &[0, 1, 2, 3, 4]);
        assert_eq!(r.segments.iter().map(|s| s.base).collect::<Vec<_>>(), [0, 2, 4]);
        assert_eq!(r.segments[1].bytes, 200);
        assert_eq!(r.segments[1].largest_timestamp, 3);
        // segment.ms 10: an append more than 10 ms newer than the segment's first rolls.
        let by_time = LogConfig { segment_bytes: 1 << 30, segment_ms: 10, ..SMALL };
        let r = stamped(by_time, &[0, 5, 10, 11, 12]);
        assert_eq!(r.segments.iter().map(|s| s.base).collect::<Vec<_>>(), [0, 3]);
    }

    #[test]
    fn retention_deletes_whole_segments_below_the_high_watermark() {
        // retention.ms 100 at 105: only the first segment's newest record (1) is older.
        let cfg = LogConfig { retention_ms: Some(100), ..SMALL };
        let mut r = stamped(cfg, &[0, 1, 2, 3, 4]);
        assert_eq!(r.delete_old_segments(102), Some((0, 2, vec![Deletion::RetentionMs])));
        assert_eq!(r.delete_old_segments(102), None, "nothing more is old enough");
        // Everything expired, but a segment reaching past the high watermark stays.
        r.high_watermark = 3;
        assert_eq!(r.delete_old_segments(1_000), None, "offsets 2-3 reach past the high watermark 3");
        r.high_watermark = 4;
        assert_eq!(r.delete_old_segments(1_000), Some((2, 4, vec![Deletion::RetentionMs])));
        // With the high watermark at the log end the active segment goes too, and a new,
        // empty one starts at the log end (`deleteSegments` rolls first).
        r.high_watermark = 5;
        assert_eq!(r.delete_old_segments(1_000), Some((4, 5, vec![Deletion::RetentionMs])));
        assert_eq!(r.segments, vec![Segment::empty(5)]);
        assert_eq!(r.delete_old_segments(2_000), None, "an empty last segment stays");
    }

    #[test]
    fn retention_bytes_deletes_the_oldest_segments_that_fit_the_excess() {
        // 500 bytes in segments of 200, 200, 100; retention.bytes 250 leaves an excess of 250:
        // the first segment (200) goes, the second would take the log below the limit.
        let cfg = LogConfig { retention_bytes: Some(250), ..SMALL };
        let mut r = stamped(cfg, &[0, 1, 2, 3, 4]);
        assert_eq!(r.delete_old_segments(0), Some((0, 2, vec![Deletion::RetentionBytes])));
        assert_eq!(r.delete_old_segments(0), None);
    }

    #[test]
    fn log_start_offset_moves_only_up_to_the_high_watermark() {
        let mut r = stamped(SMALL, &[0, 1, 2, 3, 4]);
        r.high_watermark = 3;
        assert!(r.maybe_increment_log_start_offset(9));
        assert_eq!(r.log_start_offset, 3, "capped at the high watermark");
        assert!(!r.maybe_increment_log_start_offset(1), "never backwards");
        // The segment wholly below it goes at the next check; the one holding it stays.
        assert_eq!(r.delete_old_segments(0), None, "the log start offset did not move");
        assert_eq!(r.segments.iter().map(|s| s.base).collect::<Vec<_>>(), [2, 4]);
        // A truncation below the log start offset starts the log there.
        r.truncate_to(1, &|_: &Record| (0, 100));
        assert_eq!((r.log_start_offset, r.log_end_offset()), (1, 1));
        assert_eq!(r.segments, vec![Segment::empty(1)]);
    }

    #[test]
    fn end_offset_for_follows_the_leader_epoch_cache() {
        // Offsets 0-1 in epoch 0, 2-3 in epoch 2; the leader now leads epoch 3 with no record yet.
        let r = replica(&[0, 0, 2, 2]);
        assert_eq!(r.end_offset_for(0, 3), Some((0, 2)));
        // Epoch 1 never wrote here: the epoch before it and where the next one starts.
        assert_eq!(r.end_offset_for(1, 3), Some((0, 2)));
        assert_eq!(r.end_offset_for(2, 3), Some((2, 4)));
        assert_eq!(r.end_offset_for(3, 3), Some((3, 4)));
        // Newer than anything the leader knows: UNDEFINED_EPOCH_OFFSET.
        assert_eq!(r.end_offset_for(4, 3), None);
        // Older than the log's first epoch: ends where that epoch starts.
        let late = replica(&[5, 5]);
        assert_eq!(late.end_offset_for(2, 5), Some((2, 0)));
    }

    #[test]
    fn a_log_started_afresh_learns_its_leader_epochs_again() {
        // Offsets 0-1 in epoch 0, 2-3 in epoch 2; then the log starts afresh at 4 and fetches
        // offset 4, written in epoch 3.
        let mut r = replica(&[0, 0, 2, 2]);
        assert_eq!(r.end_offset_for(1, 3), Some((0, 2)));
        r.start_afresh();
        r.append(&[data(4, 3)], &|_: &Record| (0, 100));
        assert_eq!(r.epochs, vec![(3, 4)], "only the epochs of what it fetched since");
        // Epoch 1 is now older than anything the cache holds: it ends where epoch 3 starts.
        assert_eq!(r.end_offset_for(1, 3), Some((1, 4)));
        assert!(r.producers.is_empty());
    }
}
