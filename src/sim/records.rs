//! A replica's records as it stores them: one header per batch (the fields its records share)
//! and one message id per offset, in chunks that replicas holding the same records share, so
//! a record costs about 4 bytes a partition instead of a whole `Record` a replica.

use super::log::{Kind, Record};
use crate::model::MsgId;
use std::sync::Arc;

/// The fields a run of consecutive records shares: a record batch as the leader appended it
/// (`DefaultRecordBatch`'s header: producer id and epoch, base sequence, partition leader
/// epoch, whether it is transactional or a control batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Run {
    /// Offset of its first record (32 bits, as `MessageState` keeps offsets: a partition of
    /// 2^32 records would take 16 GiB a replica). 24 bytes a run: transactions of a few
    /// records and their markers make a run every few records.
    base: u32,
    producer_id: u32,
    producer_epoch: u16,
    /// The first record's sequence (-1 without idempotence: then every record's).
    sequence: i32,
    leader_epoch: u32,
    kind: Kind,
    /// Whether its first record opens a produce batch (a run never spans two batches).
    batch_start: bool,
    /// A marker's timestamp (0 for data; a time fits in 32 bits: `MAX_DURATION_MS`).
    marker_time: u32,
}

impl Run {
    /// The record `k` places into this run.
    fn record(&self, k: u64, msg: MsgId) -> Record {
        Record {
            msg,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            sequence: self.sequence_at(k),
            leader_epoch: self.leader_epoch,
            batch_start: self.batch_start && k == 0,
            kind: self.kind,
            marker_time: u64::from(self.marker_time),
        }
    }

    fn sequence_at(&self, k: u64) -> i32 {
        if self.sequence < 0 { -1 } else { self.sequence.wrapping_add(k as i32) }
    }

    /// Whether `r`, appended right after the run's `len` records, continues it.
    fn continues(&self, len: u64, r: &Record) -> bool {
        r.continues_batch((self.kind, self.producer_id, self.producer_epoch, self.leader_epoch))
            && r.sequence == self.sequence_at(len)
    }
}

/// The records of one replica, offset 0 first. Records that continue the run before them
/// (same batch, the next sequence) share its header, so two logs holding the same records are
/// stored the same way and compare and hash equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Records {
    runs: Vec<Run>,
    msgs: MsgIds,
}

/// Message ids in a full chunk.
const CHUNK: usize = 1024;

/// Message ids, offset 0 first: full chunks of [`CHUNK`] that never change (a cut copies the
/// one it splits into the tail), then the tail. A follower's full chunk that holds what the
/// leader's does points to the leader's ([`Records::share_with`]): the replicas of a partition
/// store its records once, and a forked world copies pointers. Equal and hashed by content.
#[derive(Debug, Clone, Default)]
struct MsgIds {
    full: Vec<Arc<[MsgId; CHUNK]>>,
    tail: Vec<MsgId>,
}

impl MsgIds {
    fn len(&self) -> usize {
        self.full.len() * CHUNK + self.tail.len()
    }

    fn get(&self, i: usize) -> Option<MsgId> {
        match self.full.get(i / CHUNK) {
            Some(chunk) => Some(chunk[i % CHUNK]),
            None if i / CHUNK == self.full.len() => self.tail.get(i % CHUNK).copied(),
            None => None,
        }
    }

    #[inline]
    fn push(&mut self, msg: MsgId) {
        self.tail.push(msg);
        if self.tail.len() == CHUNK {
            self.seal();
        }
    }

    /// Makes the full tail a chunk.
    #[cold]
    fn seal(&mut self) {
        let chunk: [MsgId; CHUNK] = self.tail.as_slice().try_into().expect("a full chunk");
        self.full.push(Arc::new(chunk));
        self.tail.clear();
    }

    fn truncate(&mut self, len: usize) {
        if len < self.full.len() * CHUNK {
            let k = len / CHUNK;
            self.tail = self.full[k][..len % CHUNK].to_vec();
            self.full.truncate(k);
        } else {
            self.tail.truncate(len - self.full.len() * CHUNK);
        }
    }

    /// The ids from `from` up to (not including) `to`, as slices of the chunks.
    fn slices(&self, from: usize, to: usize) -> Slices<'_> {
        let to = to.min(self.len());
        Slices { ids: self, at: from.min(to), to }
    }
}

/// [`MsgIds::slices`]: one slice a chunk.
struct Slices<'a> {
    ids: &'a MsgIds,
    at: usize,
    to: usize,
}

impl<'a> Iterator for Slices<'a> {
    type Item = &'a [MsgId];

    fn next(&mut self) -> Option<&'a [MsgId]> {
        if self.at >= self.to {
            return None;
        }
        let k = self.at / CHUNK;
        let chunk = self.ids.full.get(k).map_or(&self.ids.tail[..], |c| &c[..]);
        let end = self.to.min((k + 1) * CHUNK);
        let slice = &chunk[self.at - k * CHUNK..end - k * CHUNK];
        self.at = end;
        Some(slice)
    }
}

impl PartialEq for MsgIds {
    fn eq(&self, other: &MsgIds) -> bool {
        self.full.len() == other.full.len()
            && self.full.iter().zip(&other.full).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
            && self.tail == other.tail
    }
}

impl Eq for MsgIds {}

impl std::hash::Hash for MsgIds {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.len().hash(h);
        for s in self.slices(0, self.len()) {
            MsgId::hash_slice(s, h);
        }
    }
}

impl Records {
    pub fn len(&self) -> u64 {
        self.msgs.len() as u64
    }

    /// The run holding `offset` (which must be below the log end).
    fn run_of(&self, offset: u64) -> usize {
        self.runs.partition_point(|r| u64::from(r.base) <= offset) - 1
    }

    /// The record at `offset`, if the log reaches it.
    pub fn get(&self, offset: u64) -> Option<Record> {
        let msg = self.msgs.get(offset as usize)?;
        let run = &self.runs[self.run_of(offset)];
        Some(run.record(offset - u64::from(run.base), msg))
    }

    /// The record at `offset`; the log must reach it.
    pub fn at(&self, offset: u64) -> Record {
        self.get(offset).unwrap_or_else(|| panic!("offset {offset} is past the log end {}", self.len()))
    }

    /// The records from `from` up to (not including) `to`, both within the log.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = Record> + '_ {
        let to = to.min(self.len());
        let mut k = if from < to { self.run_of(from) } else { self.runs.len() };
        let msgs = self.msgs.slices(from as usize, to as usize).flatten();
        (from..to).zip(msgs).map(move |(o, &msg)| {
            while self.runs.get(k + 1).is_some_and(|r| u64::from(r.base) <= o) {
                k += 1;
            }
            let run = &self.runs[k];
            run.record(o - u64::from(run.base), msg)
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Record> + '_ {
        self.range(0, self.len())
    }

    /// Each record's kind and message id, offset 0 first, without making its `Record`.
    pub fn kinds(&self) -> impl Iterator<Item = (Kind, MsgId)> + '_ {
        self.runs.iter().enumerate().flat_map(move |(k, run)| {
            let end = self.runs.get(k + 1).map_or(self.msgs.len(), |next| next.base as usize);
            self.msgs.slices(run.base as usize, end).flatten().map(move |&m| (run.kind, m))
        })
    }

    /// Appends `r` at the log end.
    #[inline]
    pub fn push(&mut self, r: &Record) {
        let len = self.len();
        let continues = self.runs.last().is_some_and(|run| run.continues(len - u64::from(run.base), r));
        if !continues {
            self.runs.push(Run {
                base: u32::try_from(len).expect("a partition holds fewer than 2^32 records"),
                producer_id: r.producer_id,
                producer_epoch: r.producer_epoch,
                sequence: r.sequence,
                leader_epoch: r.leader_epoch,
                kind: r.kind,
                batch_start: r.batch_start,
                marker_time: u32::try_from(r.marker_time).expect("a time within MAX_DURATION_MS"),
            });
        }
        self.msgs.push(r.msg);
    }

    /// Cuts the log back to `offset` and returns the records cut, oldest first.
    pub fn split_off(&mut self, offset: u64) -> Vec<Record> {
        if offset >= self.len() {
            return Vec::new();
        }
        let cut: Vec<Record> = self.range(offset, self.len()).collect();
        self.msgs.truncate(offset as usize);
        // The runs starting at or past the cut go; one it splits keeps its head.
        let keep = self.runs.partition_point(|r| u64::from(r.base) < offset);
        self.runs.truncate(keep);
        cut
    }

    /// Points each full chunk of message ids from `from` on that holds what `leader`'s chunk
    /// at the same offsets does to the leader's (a follower's log, just appended from `from`
    /// on: its new chunks are the leader's records, unless the logs diverged).
    pub fn share_with(&mut self, leader: &Records, from: u64) {
        let (mine, theirs) = (&mut self.msgs.full, &leader.msgs.full);
        for k in from as usize / CHUNK..mine.len().min(theirs.len()) {
            if !Arc::ptr_eq(&mine[k], &theirs[k]) && mine[k] == theirs[k] {
                mine[k] = Arc::clone(&theirs[k]);
            }
        }
    }

    /// The first offset at which the two logs hold different records (or the shorter's end).
    pub fn first_difference(&self, other: &Records) -> u64 {
        let common = self.len().min(other.len());
        self.range(0, common).zip(other.range(0, common)).take_while(|(a, b)| a == b).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::log::NO_PRODUCER_ID;

    fn rec(msg: MsgId, producer_id: u32, sequence: i32, batch_start: bool, kind: Kind) -> Record {
        let marker_time = if kind == Kind::CommitMarker { 104 } else { 0 };
        Record { msg, producer_id, producer_epoch: 0, sequence, leader_epoch: 1, batch_start, kind, marker_time }
    }

    /// Two batches of an idempotent producer, a marker, then plain records.
    fn sample() -> Vec<Record> {
        vec![
            rec(7, 3, 0, true, Kind::TxnData),
            rec(2, 3, 1, false, Kind::TxnData),
            rec(9, 3, 2, true, Kind::TxnData),
            rec(4, 3, 3, false, Kind::TxnData),
            // A gap in the sequence starts a run of its own, batch start or not.
            rec(8, 3, 9, false, Kind::TxnData),
            rec(0, 3, -1, true, Kind::CommitMarker),
            rec(5, NO_PRODUCER_ID, -1, true, Kind::Data),
            rec(6, NO_PRODUCER_ID, -1, false, Kind::Data),
        ]
    }

    fn records_of(rs: &[Record]) -> Records {
        let mut log = Records::default();
        for r in rs {
            log.push(r);
        }
        log
    }

    #[test]
    fn a_run_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<Run>(), 24);
    }

    #[test]
    fn kinds_name_every_record_in_order() {
        let rs = sample();
        let log = records_of(&rs);
        let kinds: Vec<(Kind, MsgId)> = log.kinds().collect();
        assert_eq!(kinds, rs.iter().map(|r| (r.kind, r.msg)).collect::<Vec<_>>());
    }

    #[test]
    fn every_record_reads_back_as_appended() {
        let rs = sample();
        let log = records_of(&rs);
        assert_eq!(log.runs.len(), 5, "runs: {:?}", log.runs);
        assert_eq!(log.iter().collect::<Vec<_>>(), rs);
        for (o, r) in rs.iter().enumerate() {
            assert_eq!(log.at(o as u64), *r);
            assert_eq!(log.range(o as u64, 8).next(), Some(*r));
        }
        assert_eq!(log.get(8), None);
    }

    #[test]
    fn a_cut_log_equals_one_that_never_had_the_tail() {
        let rs = sample();
        for at in 0..=rs.len() {
            let mut log = records_of(&rs);
            let cut = log.split_off(at as u64);
            assert_eq!(cut, rs[at..]);
            assert_eq!(log, records_of(&rs[..at]), "cut at {at}");
            // Appending the tail again rebuilds the same log.
            for r in &cut {
                log.push(r);
            }
            assert_eq!(log, records_of(&rs));
        }
    }

    /// 2,500 plain records (two full chunks and a tail), message `i` at offset `i`.
    fn long() -> Vec<Record> {
        (0..2_500).map(|i| rec(i, NO_PRODUCER_ID, -1, i % 100 == 0, Kind::Data)).collect()
    }

    fn hash_of(log: &Records) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        log.hash(&mut h);
        h.finish()
    }

    #[test]
    fn a_follower_shares_the_leaders_full_chunks_and_cuts_its_own() {
        let rs = long();
        let leader = records_of(&rs);
        let mut follower = records_of(&rs);
        follower.share_with(&leader, 0);
        assert!(follower.msgs.full.iter().zip(&leader.msgs.full).all(|(a, b)| Arc::ptr_eq(a, b)));
        assert_eq!(follower.msgs.full.len(), 2);
        assert_eq!(follower, leader);
        assert_eq!(hash_of(&follower), hash_of(&records_of(&rs)), "hashed by content, shared or not");
        // Reading across chunk boundaries.
        assert_eq!(follower.range(1_000, 1_100).collect::<Vec<_>>(), rs[1_000..1_100]);
        assert_eq!(follower.kinds().map(|(_, m)| m).collect::<Vec<_>>(), (0..2_500).collect::<Vec<_>>());
        assert_eq!(follower.get(2_047), Some(rs[2_047]));
        assert_eq!(follower.get(2_500), None);
        // A cut inside a shared chunk copies its head; the leader keeps its records.
        let cut = follower.split_off(1_500);
        assert_eq!(cut, rs[1_500..]);
        assert_eq!(follower, records_of(&rs[..1_500]));
        assert_eq!(leader, records_of(&rs));
        for r in &cut {
            follower.push(r);
        }
        assert_eq!(follower, leader);
        assert!(!Arc::ptr_eq(&follower.msgs.full[1], &leader.msgs.full[1]), "rebuilt, not shared yet");
        // Logs that diverged share nothing.
        let mut other = rs.clone();
        other[10].msg = 9_999;
        let mut diverged = records_of(&other);
        diverged.share_with(&leader, 0);
        assert!(!Arc::ptr_eq(&diverged.msgs.full[0], &leader.msgs.full[0]));
        assert!(Arc::ptr_eq(&diverged.msgs.full[1], &leader.msgs.full[1]));
        assert_ne!(diverged, leader);
    }

    #[test]
    fn first_difference_finds_the_diverging_offset() {
        let rs = sample();
        let a = records_of(&rs);
        let mut other = rs.clone();
        other[6].leader_epoch = 2;
        other[7].leader_epoch = 2;
        assert_eq!(a.first_difference(&records_of(&other)), 6);
        assert_eq!(a.first_difference(&records_of(&rs[..3])), 3);
        assert_eq!(a.first_difference(&a), 8);
    }
}
