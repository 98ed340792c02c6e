//! One replica of a partition: its log, leader-epoch cache, high watermark and the idempotent
//! producer state (the last five batches per producer id) that Kafka rebuilds from the log.

use crate::model::{BrokerId, MsgId};
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
}

impl Record {
    pub fn is_marker(&self) -> bool {
        matches!(self.kind, Kind::CommitMarker | Kind::AbortMarker)
    }
}

/// The last batches of one producer id, as `ProducerStateManager` keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProducerEntry {
    pub epoch: u16,
    /// (first sequence, last sequence, base offset), oldest first, at most five.
    pub batches: VecDeque<(i32, i32, u64)>,
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
    pub log: Vec<Record>,
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
}

impl Replica {
    pub fn new(broker: BrokerId) -> Replica {
        Replica {
            broker,
            log: Vec::new(),
            epochs: Vec::new(),
            high_watermark: 0,
            producers: BTreeMap::new(),
            ongoing: BTreeMap::new(),
            aborted: Vec::new(),
            unreplicated: Vec::new(),
        }
    }

    pub fn log_end_offset(&self) -> u64 {
        self.log.len() as u64
    }

    /// The last stable offset: no record at or past it may be read by a read_committed
    /// consumer, because an open transaction starts there (or the high watermark does).
    /// A transaction whose marker is written but not yet below the high watermark still holds
    /// it (`ProducerStateManager.firstUnstableOffset` counts `unreplicatedTxns` until
    /// `onHighWatermarkUpdated` passes their last offset).
    pub fn last_stable_offset(&self) -> u64 {
        let hw = self.high_watermark;
        let unreplicated = self.unreplicated.iter().filter(|&&(_, marker)| marker >= hw).map(|&(first, _)| first);
        self.ongoing.values().copied().chain(unreplicated).min().map_or(hw, |o| o.min(hw))
    }

    /// Whether the record at `offset` belongs to an aborted transaction.
    pub fn is_aborted(&self, offset: u64) -> bool {
        let r = &self.log[offset as usize];
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

    /// Appends records (leader or follower), keeping the epoch cache and producer state.
    pub fn append(&mut self, records: &[Record]) {
        for r in records {
            let offset = self.log.len() as u64;
            if self.epochs.last().is_none_or(|&(e, _)| e < r.leader_epoch) {
                self.epochs.push((r.leader_epoch, offset));
            }
            self.log.push(*r);
            self.track_producer(r, offset);
        }
    }

    fn track_producer(&mut self, r: &Record, offset: u64) {
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
        let entry = self.producers.entry(r.producer_id).or_default();
        if r.producer_epoch > entry.epoch {
            entry.epoch = r.producer_epoch;
            entry.batches.clear();
        }
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
    pub fn truncate_to(&mut self, offset: u64) -> Vec<Record> {
        if offset >= self.log_end_offset() {
            return Vec::new();
        }
        let cut = self.log.split_off(offset as usize);
        self.epochs.retain(|&(_, start)| start < offset);
        self.high_watermark = self.high_watermark.min(offset);
        self.producers.clear();
        self.ongoing.clear();
        self.aborted.clear();
        self.unreplicated.clear();
        let log = std::mem::take(&mut self.log);
        for (i, r) in log.iter().enumerate() {
            self.track_producer(r, i as u64);
        }
        self.log = log;
        cut
    }

    /// Where this replica's log stops agreeing with `leader`'s: the first offset whose record
    /// differs, or either log's end. With leader epochs (KIP-101/KIP-279) a follower truncates
    /// exactly there.
    pub fn divergence(&self, leader: &Replica) -> u64 {
        let common = self.log.len().min(leader.log.len());
        let first_diff = (0..common).find(|&i| self.log[i] != leader.log[i]).unwrap_or(common);
        first_diff as u64
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

    fn replica(epochs: &[u32]) -> Replica {
        let mut r = Replica::new(1);
        for (i, &leader_epoch) in epochs.iter().enumerate() {
            let rec = Record {
                msg: i as MsgId,
                producer_id: NO_PRODUCER_ID,
                producer_epoch: 0,
                sequence: -1,
                leader_epoch,
                batch_start: true,
                kind: Kind::Data,
            };
            r.append(&[rec]);
        }
        r
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
}
