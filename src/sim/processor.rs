//! Consume-transform-produce processors: the consumer half polls and processes, the producer
//! half sends each input's output records. at-most-once commits before processing;
//! at-least-once flushes the outputs, then commits; exactly-once runs each poll's work in a
//! transaction with its offsets (sendOffsetsToTransaction, KIP-447) and, after an abort, seeks
//! back to the committed offsets unless `seek.on.abort false`.

use super::Sim;
use super::event::{Event, GroupRequest, TxnRequest};
use super::world::Phase;
use crate::ast::Guarantee;
use crate::model::{Client, ClientPoint, MsgId, PartitionIdx};

impl Sim<'_> {
    /// The processor a consumer is the input half of.
    pub(super) fn processor_of(&self, c: u32) -> Option<u32> {
        self.model.consumers[c as usize].processor
    }

    fn processor_producer(&self, c: u32) -> Option<u32> {
        self.processor_of(c).map(|pi| self.model.processors[pi as usize].producer)
    }

    fn guarantee_of(&self, c: u32) -> Option<Guarantee> {
        self.processor_of(c).map(|pi| self.model.processors[pi as usize].guarantee)
    }

    /// Before processing a poll's records: an exactly-once processor begins a transaction.
    pub(super) fn processor_begin(&mut self, c: u32) {
        let (Some(p), Some(Guarantee::ExactlyOnce)) = (self.processor_producer(c), self.guarantee_of(c)) else {
            return;
        };
        let s = &mut self.world.producers[p as usize];
        let n = s.txn.done.len() as u32 + 1;
        s.txn.current = Some(n);
        self.log(|sim| {
            (
                sim.client_name(Client::Consumer(c)),
                "beginTransaction()".into(),
                String::new(),
                format!("transaction {n}"),
            )
        });
    }

    /// Processing a record sends its output records.
    pub(super) fn processor_emit(&mut self, c: u32, msg: MsgId) {
        let (Some(pi), Some(p)) = (self.processor_of(c), self.processor_producer(c)) else { return };
        let Some(&(first, count)) = self.model.processors[pi as usize].outputs_of.get(&msg) else { return };
        if !self.world.producers[p as usize].alive {
            return;
        }
        for out in first..first + count {
            self.send_record(p, out);
            let n = self.world.producers[p as usize].sends_done + 1;
            self.world.producers[p as usize].sends_done = n;
            if self.point(Client::Producer(p), ClientPoint::AfterSend(n)) {
                return;
            }
        }
    }

    /// The poll's records are processed: commit the way the guarantee says. Returns false for
    /// a plain consumer (the caller commits or polls as usual).
    pub(super) fn processor_finish(&mut self, c: u32) -> bool {
        let (Some(p), Some(g)) = (self.processor_producer(c), self.guarantee_of(c)) else { return false };
        match g {
            Guarantee::AtMostOnce => false,
            Guarantee::AtLeastOnce => {
                // Offsets are committed only once every output is acknowledged (flush()).
                self.world.consumers[c as usize].phase = Phase::Flushing;
                self.flush(p);
                self.processor_flushed(p);
                true
            }
            Guarantee::ExactlyOnce => {
                let s = &self.world.consumers[c as usize];
                let offsets: Vec<(PartitionIdx, u64)> = s.positions.iter().map(|(k, o)| (*k, *o)).collect();
                let (generation, member) = (s.generation, s.member.unwrap_or(0));
                let group = self.model.consumers[c as usize].group;
                let prod = &self.world.producers[p as usize];
                let (producer_id, epoch) = (prod.producer_id, prod.producer_epoch);
                self.world.consumers[c as usize].phase = Phase::Committing { then_process: false };
                self.log(|sim| {
                    let offs: Vec<String> =
                        offsets.iter().map(|(k, o)| format!("{}:{o}", sim.model.partition_name(*k))).collect();
                    (
                        sim.client_name(Client::Consumer(c)),
                        "sendOffsetsToTransaction()".into(),
                        String::new(),
                        format!("{} (generation {generation})", offs.join(" ")),
                    )
                });
                let inc = self.world.producers[p as usize].incarnation;
                let request = TxnRequest::AddOffsets { producer_id, epoch, group, generation, member, offsets };
                self.send(Event::TxnArrive { producer: p, inc, request });
                true
            }
        }
    }

    /// The exactly-once processor's offsets are in the transaction: commit it.
    pub(super) fn processor_offsets_added(&mut self, p: u32) {
        if let Some(pi) = self.model.producers[p as usize].processor {
            let c = self.model.processors[pi as usize].consumer;
            let n = self.world.consumers[c as usize].offsets_sent + 1;
            self.world.consumers[c as usize].offsets_sent = n;
            if self.point(Client::Consumer(c), ClientPoint::AfterOffsets(n)) {
                return;
            }
        }
        let s = &mut self.world.producers[p as usize];
        s.txn.ending = Some(true);
        self.log(|sim| {
            (
                sim.client_name(Client::Producer(p)),
                "commitTransaction()".into(),
                String::new(),
                "flushing, then EndTxn(COMMIT)".into(),
            )
        });
        self.flush(p);
        self.try_end_txn(p);
    }

    /// An exactly-once processor's EndTxn(COMMIT) is on its way (the crash point between the
    /// commit request and its markers).
    pub(super) fn processor_commit_requested(&mut self, p: u32) {
        let Some(pi) = self.model.producers[p as usize].processor else { return };
        let c = self.model.processors[pi as usize].consumer;
        let n = self.world.consumers[c as usize].commit_requests + 1;
        self.world.consumers[c as usize].commit_requests = n;
        self.point(Client::Consumer(c), ClientPoint::AfterCommitRequest(n));
    }

    /// An at-least-once processor's outputs may all be acknowledged now: commit its offsets.
    pub(super) fn processor_flushed(&mut self, p: u32) {
        let Some(pi) = self.model.producers[p as usize].processor else { return };
        let c = self.model.processors[pi as usize].consumer;
        let s = &self.world.producers[p as usize];
        if self.world.consumers[c as usize].phase != Phase::Flushing || !s.batches.is_empty() {
            return;
        }
        self.world.consumers[c as usize].phase = Phase::Processing { next: usize::MAX };
        self.commit_after_flush(c);
    }

    /// The exactly-once processor's transaction ended: go on polling, after an abort from the
    /// committed offsets (seek) or from where it was (no seek: the aborted records are skipped).
    pub(super) fn processor_txn_ended(&mut self, p: u32, commit: bool) {
        let Some(pi) = self.model.producers[p as usize].processor else { return };
        let cfg = &self.model.processors[pi as usize];
        let c = cfg.consumer;
        let seek = cfg.seek_on_abort;
        let s = &self.world.consumers[c as usize];
        if !matches!(s.phase, Phase::Committing { .. }) {
            return;
        }
        if commit {
            let n = s.commits + 1;
            let offsets: Vec<(PartitionIdx, u64)> = s.positions.iter().map(|(k, o)| (*k, *o)).collect();
            self.world.consumers[c as usize].commits = n;
            for (k, o) in offsets {
                self.world.consumers[c as usize].committed.insert(k, o);
                self.happened(super::fault::Happened::Committed { consumer: c, partition: k, offset: o });
            }
            if self.point(Client::Consumer(c), ClientPoint::AfterCommit(n)) {
                return;
            }
        } else if seek {
            self.log(|sim| {
                (
                    sim.client_name(Client::Consumer(c)),
                    "seek".into(),
                    String::new(),
                    "back to the committed offsets after the abort".into(),
                )
            });
            let s = &mut self.world.consumers[c as usize];
            s.forget_positions();
            s.phase = Phase::Initializing;
            let (inc, generation) = (s.incarnation, s.generation);
            self.send(Event::GroupArrive { consumer: c, inc, request: GroupRequest::OffsetFetch { generation } });
            return;
        } else {
            self.log(|sim| {
                (
                    sim.client_name(Client::Consumer(c)),
                    "no seek".into(),
                    String::new(),
                    "positions stay past the aborted records: they will not be read again".into(),
                )
            });
        }
        self.world.consumers[c as usize].phase = Phase::Polling;
        self.poll(c);
    }
}
