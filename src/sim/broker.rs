//! Brokers: the leader's produce path (acks, min.insync.replicas, idempotent dedup), follower
//! replication by fetch, the high watermark, ISR expansion, and consumer fetches.

use super::Sim;
use super::event::{Event, FetchError, ProduceBatch, ProduceError, ProduceReply, TxnError};
use super::log::{Kind, NO_PRODUCER_ID, Record, SequenceCheck};
use super::producer::footprint;
use super::world::{HeldFetch, PendingProduce, bit};
use crate::model::{Acks, BrokerId, PartitionIdx};

/// Most records one fetch response carries (stands in for `max.partition.fetch.bytes`).
const FETCH_MAX_RECORDS: usize = 2_000;

/// `replica.socket.timeout.ms` (30000): a follower fetch with no answer by then is sent again.
const REPLICA_SOCKET_TIMEOUT_MS: u64 = 30_000;

impl Sim<'_> {
    fn broker_name(b: BrokerId) -> String {
        format!("broker {b}")
    }

    /// A request arrives on its connection: it is read now, or after the requests before it
    /// have been answered (the broker mutes a connection while it handles one request).
    pub(super) fn on_produce_arrive(&mut self, p: u32, inc: u32, req: u32, broker: BrokerId, batch: ProduceBatch) {
        if !self.world.broker(broker).alive {
            // The connection is gone; the producer learns of it from the crash (or times out).
            return;
        }
        let conn = self.world.conns.entry((p, broker)).or_default();
        if conn.busy {
            conn.queued.push_back((inc, req, batch));
            return;
        }
        conn.busy = true;
        self.handle_produce(p, inc, req, broker, batch);
    }

    /// Sends a produce response and reads the connection's next request.
    pub(super) fn respond(&mut self, p: u32, inc: u32, req: u32, broker: BrokerId, reply: Option<ProduceReply>) {
        if let Some(reply) = reply {
            self.send(Event::ProduceResponse { producer: p, inc, req, reply });
        }
        let Some(conn) = self.world.conns.get_mut(&(p, broker)) else { return };
        conn.busy = false;
        if let Some((inc, req, batch)) = conn.queued.pop_front() {
            conn.busy = true;
            self.handle_produce(p, inc, req, broker, batch);
        }
    }

    /// The connection closed (client timeout, crash): what was queued on it is gone.
    pub(super) fn close_connection(&mut self, p: u32, broker: BrokerId) {
        self.world.conns.remove(&(p, broker));
        self.world.stalled.remove(&(p, broker));
    }

    fn handle_produce(&mut self, p: u32, inc: u32, req: u32, broker: BrokerId, batch: ProduceBatch) {
        let part = batch.partition;
        let acks = batch.acks;
        let reply_to = |sim: &mut Self, reply: ProduceReply| {
            let reply = (acks != Acks::Zero).then_some(reply);
            sim.respond(p, inc, req, broker, reply);
        };
        if self.believed_leader(broker, part) != Some(broker) {
            self.log(|sim| {
                (
                    Self::broker_name(broker),
                    "produce".into(),
                    sim.values(batch.msgs.iter().copied()),
                    format!("rejected: not the leader of {}", sim.model.partition_name(part)),
                )
            });
            reply_to(self, ProduceReply::Err(ProduceError::NotLeader));
            return;
        }
        // A deposed leader cut off from the controller acts on the epoch and ISR it last knew.
        let zombie = self.zombie_view(broker, part);
        let pstate = &self.world.partitions[part as usize];
        let (isr, epoch) = match zombie {
            Some(view) => (view.isr.count_ones(), view.epoch),
            None => (pstate.isr_size(), pstate.leader_epoch),
        };
        // acks=all needs |ISR| >= min.insync.replicas before the append (NotEnoughReplicas:
        // nothing is written).
        let min = self.min_isr(part);
        if batch.acks == Acks::All && isr < min {
            self.log(|sim| {
                (
                    Self::broker_name(broker),
                    "produce".into(),
                    sim.values(batch.msgs.iter().copied()),
                    format!("rejected: NotEnoughReplicas (isr {isr} < min.insync.replicas {min})"),
                )
            });
            reply_to(self, ProduceReply::Err(ProduceError::NotEnoughReplicas));
            return;
        }
        if batch.transactional {
            let verified =
                self.verify_partition_for_produce(p, broker, part, (batch.producer_id, batch.producer_epoch));
            if let Err(error) = verified {
                // `ReplicaManager.appendRecords`' post-verification callback: a retriable
                // coordinator error becomes NOT_ENOUGH_REPLICAS (which every client retries
                // without refreshing metadata); `AddPartitionsToTxnManager` turns PRODUCER_FENCED
                // into INVALID_PRODUCER_EPOCH ("producers expect to handle" it); the others go
                // back as they are.
                let reply = match error {
                    TxnError::ProducerFenced => ProduceError::InvalidProducerEpoch,
                    TxnError::InvalidProducerIdMapping => ProduceError::InvalidPidMapping,
                    TxnError::InvalidTxnState => ProduceError::InvalidTxnState,
                    _ => ProduceError::NotEnoughReplicas,
                };
                self.log(|sim| {
                    let txn_id = sim.model.producers[p as usize].transactional_id.as_deref();
                    let current = txn_id.map_or(0, |id| sim.world.txns[sim.txn_index(id) as usize].epoch);
                    let why = match error {
                        TxnError::ProducerFenced => format!(
                            "rejected: InvalidProducerEpoch (epoch {} < {current}: fenced, transaction verification)",
                            batch.producer_epoch
                        ),
                        TxnError::InvalidTxnState => "rejected: InvalidTxnStateException (partition was not added to the transaction: transaction verification, KIP-890)".to_string(),
                        _ => format!(
                            "rejected: {} (transaction verification could not complete: {})",
                            reply.name(),
                            error.name()
                        ),
                    };
                    (Self::broker_name(broker), "produce".into(), sim.values(batch.msgs.iter().copied()), why)
                });
                reply_to(self, ProduceReply::Err(reply));
                return;
            }
        }
        let pstate = &self.world.partitions[part as usize];
        let ri = pstate.replica_index(broker).expect("leader is a replica");
        let n = batch.msgs.len() as i32;
        if batch.producer_id != NO_PRODUCER_ID {
            let last = batch.base_sequence + n - 1;
            match pstate.replicas[ri].check_sequence(batch.producer_id, batch.producer_epoch, batch.base_sequence, last)
            {
                SequenceCheck::Append => {}
                SequenceCheck::Duplicate(offset) => {
                    let seq =
                        if n == 1 { format!("seq {last}") } else { format!("seq {}-{last}", batch.base_sequence) };
                    self.log(|sim| {
                        (
                            Self::broker_name(broker),
                            "produce".into(),
                            sim.values(batch.msgs.iter().copied()),
                            format!("duplicate ignored ({seq}, producer id {})", batch.producer_id),
                        )
                    });
                    self.complete_or_wait(p, inc, req, broker, part, offset, offset + n as u64 - 1, batch.acks);
                    return;
                }
                SequenceCheck::Fenced { current } => {
                    self.log(|sim| {
                        let msgs = sim.values(batch.msgs.iter().copied());
                        let why = format!(
                            "rejected: InvalidProducerEpoch (epoch {} < {current}: fenced)",
                            batch.producer_epoch
                        );
                        (Self::broker_name(broker), "produce".into(), msgs, why)
                    });
                    reply_to(self, ProduceReply::Err(ProduceError::InvalidProducerEpoch));
                    return;
                }
                SequenceCheck::OutOfOrder { expected } => {
                    self.log(|sim| {
                        (
                            Self::broker_name(broker),
                            "produce".into(),
                            sim.values(batch.msgs.iter().copied()),
                            format!(
                                "rejected: OutOfOrderSequence (got seq {}, expected {expected})",
                                batch.base_sequence
                            ),
                        )
                    });
                    reply_to(self, ProduceReply::Err(ProduceError::OutOfOrderSequence));
                    return;
                }
            }
        }
        let records: Vec<Record> = batch
            .msgs
            .iter()
            .enumerate()
            .map(|(i, m)| Record {
                msg: *m,
                producer_id: batch.producer_id,
                producer_epoch: batch.producer_epoch,
                sequence: if batch.producer_id == NO_PRODUCER_ID { -1 } else { batch.base_sequence + i as i32 },
                leader_epoch: epoch,
                batch_start: i == 0,
                kind: if batch.transactional { Kind::TxnData } else { Kind::Data },
                marker_time: 0,
            })
            .collect();
        let replica = &mut self.world.partitions[part as usize].replicas[ri];
        // A producer id whose state expired here: its batch was accepted unchecked.
        let forgotten = replica.expired.get(&batch.producer_id).copied();
        let base = replica.log_end_offset();
        replica.append(&records, &footprint(self.model, &self.world.messages));
        for m in &batch.msgs {
            let st = &mut self.world.messages[*m as usize];
            st.appended = st.appended.saturating_add(1);
        }
        let last = base + n as u64 - 1;
        self.log(|sim| {
            let offs = if n == 1 { format!("offset {base}") } else { format!("offsets {base}-{last}") };
            let seq = match forgotten {
                _ if batch.producer_id == NO_PRODUCER_ID => String::new(),
                Some(at) => format!(
                    " (producer id {}, seq {}; its state expired here at {at} ms, producer.id.expiration.ms: accepted unchecked)",
                    batch.producer_id, batch.base_sequence
                ),
                None => format!(" (producer id {}, seq {})", batch.producer_id, batch.base_sequence),
            };
            let deposed = match zombie {
                Some(_) => format!("; deposed leader of epoch {epoch}, it does not know"),
                None => String::new(),
            };
            (
                Self::broker_name(broker),
                format!("append to {}", sim.model.partition_name(part)),
                sim.values(batch.msgs.iter().copied()),
                format!("written at {offs}{seq}{deposed}"),
            )
        });
        match zombie {
            // A deposed leader alone in its (old) ISR commits by itself: its high watermark is its
            // log end, and acks=all is satisfied (min.insync.replicas permitting, checked above).
            Some(view) if view.isr == bit(broker) => {
                let replica = &mut self.world.partitions[part as usize].replicas[ri];
                replica.high_watermark = replica.log_end_offset();
                let reply =
                    (batch.acks != Acks::Zero).then_some(ProduceReply::Ok { base_offset: base, duplicate: false });
                self.respond(p, inc, req, broker, reply);
            }
            _ => self.complete_or_wait(p, inc, req, broker, part, base, last, batch.acks),
        }
        if zombie.is_none() {
            self.after_append(part);
        }
    }

    /// New records wake held follower fetches and may move the high watermark; a marker may
    /// also move the last stable offset for read_committed consumers.
    pub(super) fn after_append(&mut self, part: PartitionIdx) {
        self.wake_held(part, true);
        self.advance_high_watermark(part);
        self.wake_held(part, false);
    }

    /// acks=1 answers at once; acks=all waits in purgatory until the high watermark passes
    /// the batch; acks=0 never answers.
    #[allow(clippy::too_many_arguments)]
    fn complete_or_wait(
        &mut self,
        p: u32,
        inc: u32,
        req: u32,
        broker: BrokerId,
        part: PartitionIdx,
        base: u64,
        last: u64,
        acks: Acks,
    ) {
        match acks {
            Acks::Zero => self.respond(p, inc, req, broker, None),
            Acks::One => {
                let reply = ProduceReply::Ok { base_offset: base, duplicate: false };
                self.respond(p, inc, req, broker, Some(reply));
            }
            Acks::All => {
                let w = PendingProduce {
                    producer: p,
                    inc,
                    req,
                    broker,
                    base_offset: base,
                    last_offset: last,
                    marker: None,
                };
                if self.zombie_view(broker, part).is_some() {
                    // No follower fetches from a deposed leader and it cannot shrink its ISR
                    // (AlterPartition needs the controller): the request waits until it learns.
                    self.world.brokers[(broker - 1) as usize].orphaned.push(w);
                    return;
                }
                self.world.partitions[part as usize].pending.push(w);
                self.complete_pending(part);
            }
        }
    }

    /// Answers a request that waited in the produce purgatory: a producer's, or the
    /// coordinator's WriteTxnMarkers (which only learns whether its marker is in).
    pub(super) fn answer_waiter(&mut self, w: &PendingProduce, reply: ProduceReply) {
        match w.marker {
            Some((txn, partition)) => {
                let ok = matches!(reply, ProduceReply::Ok { .. });
                self.send(Event::MarkerResponse { txn, partition, ok, from: Some(w.broker) });
            }
            None => self.respond(w.producer, w.inc, w.req, w.broker, Some(reply)),
        }
    }

    /// The min.insync.replicas a leader enforces. Kafka 3.7+ (KAFKA-15583,
    /// `Partition.effectiveMinIsr`): min(min.insync.replicas, replica count), for
    /// NotEnoughReplicas, NotEnoughReplicasAfterAppend and the high-watermark rule alike; before
    /// 3.7 (`high.watermark.min.isr false`) the configured value, so a topic whose
    /// min.insync.replicas exceeds its replication factor refuses every acks=all write.
    pub(super) fn min_isr(&self, part: PartitionIdx) -> u32 {
        let pc = &self.model.partitions[part as usize];
        let configured = self.model.topics[pc.topic as usize].min_insync_replicas;
        if self.model.cluster.high_watermark_min_isr { configured.min(pc.replicas.len() as u32) } else { configured }
    }

    /// Answers the acks=all requests the high watermark now covers.
    fn complete_pending(&mut self, part: PartitionIdx) {
        let pstate = &self.world.partitions[part as usize];
        let Some(hw) = pstate.leader_replica().map(|r| r.high_watermark) else {
            return;
        };
        let min_isr = self.min_isr(part);
        let enough = pstate.isr_size() >= min_isr;
        if !pstate.pending.iter().any(|w| w.last_offset < hw) {
            // (Nothing to answer: keep the purgatory's list as it is, allocation and all.)
            return;
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.world.partitions[part as usize].pending)
            .into_iter()
            .partition(|w| w.last_offset < hw);
        self.world.partitions[part as usize].pending = waiting;
        for w in done {
            // DelayedProduce: replicated to the ISR, but the ISR shrank below
            // min.insync.replicas meanwhile -> NotEnoughReplicasAfterAppend (already written).
            let reply = if enough {
                ProduceReply::Ok { base_offset: w.base_offset, duplicate: false }
            } else {
                ProduceReply::Err(ProduceError::NotEnoughReplicasAfterAppend)
            };
            self.answer_waiter(&w, reply);
        }
    }

    /// The leader's high watermark: the smallest log end offset among the in-sync replicas.
    pub(super) fn advance_high_watermark(&mut self, part: PartitionIdx) {
        let pstate = &self.world.partitions[part as usize];
        let Some(leader) = pstate.leader else { return };
        if self.world.broker(leader).paused {
            // A frozen leader does nothing (it catches up when it wakes).
            return;
        }
        let li = pstate.replica_index(leader).expect("leader replica");
        let leo = pstate.replicas[li].log_end_offset();
        let hw = pstate
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| pstate.isr & bit(r.broker) != 0)
            .map(|(i, _)| if i == li { leo } else { pstate.follower_leo[i] })
            .min()
            .unwrap_or(leo)
            .min(leo);
        let old = pstate.replicas[li].high_watermark;
        // Kafka 3.7+: no high-watermark progress while the ISR is below min.insync.replicas.
        let min_isr = self.min_isr(part);
        let held = self.model.cluster.high_watermark_min_isr && pstate.isr_size() < min_isr;
        if hw > old && !held {
            self.world.partitions[part as usize].replicas[li].high_watermark = hw;
            self.log(|sim| {
                (
                    Self::broker_name(leader),
                    format!("high watermark of {}", sim.model.partition_name(part)),
                    String::new(),
                    format!("{old} -> {hw}"),
                )
            });
            self.wake_held(part, false);
        }
        self.complete_pending(part);
    }

    /// The leader drops followers that have not caught up within replica.lag.time.max.ms from
    /// the ISR (AlterPartition; the controller accepts at once here).
    pub(super) fn on_isr_check(&mut self, part: PartitionIdx) {
        let lag = self.model.cluster.replica_lag_time_max_ms;
        self.queue.push(self.clock + (lag / 2).max(1), Event::IsrCheck { partition: part }, true);
        let pstate = &self.world.partitions[part as usize];
        // (A paused leader checks nothing; one cut off from the controller cannot shrink the
        // ISR: AlterPartition does not get through.)
        let Some(leader) = pstate.leader.filter(|b| {
            let br = self.world.broker(*b);
            br.alive && !br.paused && br.view.is_none()
        }) else {
            return;
        };
        let out: Vec<(usize, BrokerId)> = pstate
            .replicas
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                r.broker != leader
                    && pstate.isr & bit(r.broker) != 0
                    && self.clock.saturating_sub(pstate.caught_up_at[*i]) > lag
            })
            .map(|(i, r)| (i, r.broker))
            .collect();
        for (_, b) in out {
            self.world.partitions[part as usize].isr &= !bit(b);
            self.log_isr(
                part,
                Self::broker_name(leader),
                &format!("broker {b} fell behind for replica.lag.time.max.ms ({lag} ms)"),
            );
            self.advance_high_watermark(part);
        }
    }

    /// A process-table row for an ISR change: `what; isr [1,2]`.
    pub(super) fn log_isr(&mut self, part: PartitionIdx, actor: String, what: &str) {
        self.log(|sim| {
            let isr = super::controller::isr_text(sim.world.partitions[part as usize].isr);
            (actor, format!("isr of {}", sim.model.partition_name(part)), String::new(), format!("{what}; isr {isr}"))
        });
    }

    /// Every live follower replica starts fetching from the current leader.
    pub(super) fn start_followers(&mut self, part: PartitionIdx) {
        let pstate = &self.world.partitions[part as usize];
        let Some(leader) = pstate.leader else { return };
        let followers: Vec<BrokerId> = pstate.replicas.iter().map(|r| r.broker).filter(|b| *b != leader).collect();
        for f in followers {
            self.follower_fetch(part, f);
        }
    }

    /// A follower sends its next fetch: from its log end offset, under the epoch it knows.
    pub(super) fn follower_fetch(&mut self, part: PartitionIdx, follower: BrokerId) {
        let b = self.world.broker(follower);
        if !b.alive {
            return;
        }
        let finc = b.incarnation;
        let pstate = &self.world.partitions[part as usize];
        // (A deposed leader cut off from the controller still thinks it leads: it fetches
        // from nobody.)
        if pstate.leader.is_none() || self.believed_leader(follower, part) == Some(follower) {
            return;
        }
        let offset = pstate.replica(follower).expect("replica").log_end_offset();
        let epoch = pstate.leader_epoch;
        let paused = self.world.broker(follower).paused;
        // replica.socket.timeout.ms: a fetch lost on the network is sent again.
        let generation = self.world.follower_fetches.entry((part, follower)).or_insert(0);
        *generation += 1;
        let generation = *generation;
        // (The timeout of the fetch before is void: this one re-arms or disarms its timer.)
        let timer = self.follower_fetch_timer(part, follower);
        if paused {
            // A frozen follower fetches when it wakes (earlier fetches are void).
            let wake = Event::FollowerFetchTimeout { partition: part, follower, generation };
            self.world.deferred_at_broker.push((follower, wake));
            self.queue.cancel(timer);
            return;
        }
        self.send(Event::FollowerFetch { partition: part, follower, finc, epoch, offset });
        self.queue.arm(
            timer,
            self.clock + REPLICA_SOCKET_TIMEOUT_MS,
            Event::FollowerFetchTimeout { partition: part, follower, generation },
            true,
        );
    }

    pub(super) fn on_follower_fetch(
        &mut self,
        part: PartitionIdx,
        follower: BrokerId,
        finc: u32,
        epoch: u32,
        offset: u64,
    ) {
        let pstate = &self.world.partitions[part as usize];
        let Some(leader) = pstate.leader else { return };
        // A fetch from an earlier epoch or to a dead leader is dropped; the follower restarts
        // its fetcher when it learns of the new leader.
        if epoch != pstate.leader_epoch || !self.world.broker(leader).alive {
            return;
        }
        let fi = pstate.replica_index(follower).expect("follower replica");
        let leo_now = pstate.leader_replica().expect("leader").log_end_offset();
        self.world.partitions[part as usize].follower_leo[fi] = offset;
        // (The fetch carries the follower's log start offset.)
        let start = self.world.partitions[part as usize].replicas[fi].log_start_offset;
        self.world.partitions[part as usize].follower_log_start[fi] = start;
        self.try_complete_deletes(part);
        if offset >= leo_now {
            self.world.partitions[part as usize].caught_up_at[fi] = self.clock;
        }
        let pstate = &self.world.partitions[part as usize];
        let leader_hw = pstate.leader_replica().expect("leader").high_watermark;
        // ISR expansion (Partition.isFollowerInSync): a follower whose log reaches the leader's
        // high watermark and the start of the leader's epoch joins the ISR (AlterPartition;
        // the controller accepts at once here).
        let in_sync = offset >= leader_hw && offset >= pstate.epoch_start_offset;
        // AlterPartition needs the controller, which refuses a fenced follower (KIP-841).
        let accepted = !self.world.broker(follower).fenced && !self.cut_from_controller(leader);
        if pstate.isr & bit(follower) == 0 && in_sync && self.world.broker(follower).alive && accepted {
            self.world.partitions[part as usize].isr |= bit(follower);
            self.log_isr(part, Self::broker_name(leader), &format!("broker {follower} caught up"));
        }
        // Advancing the high watermark can answer an acks=all request and so let the leader
        // read (and append) the next request of that connection: look at the log end again.
        self.advance_high_watermark(part);
        let leader_leo = self.world.partitions[part as usize].leader_replica().map_or(0, |r| r.log_end_offset());
        if offset < leader_leo {
            self.answer_follower(part, follower, finc, offset);
        } else {
            let token = self.next_token();
            self.world.partitions[part as usize].held.push(HeldFetch::Follower { follower, finc, offset, token });
            let wait = self.model.cluster.replica_fetch_wait_max_ms;
            self.at(self.clock + wait, Event::FetchWaitExpired { partition: part, token });
        }
    }

    fn answer_follower(&mut self, part: PartitionIdx, follower: BrokerId, finc: u32, offset: u64) {
        let pstate = &self.world.partitions[part as usize];
        // (No leader any more: the fetch goes unanswered and times out.)
        let Some(leader) = pstate.leader_replica() else { return };
        let from = offset.min(leader.log.len());
        let records: Vec<Record> = leader.log.range(from, from + FETCH_MAX_RECORDS as u64).collect();
        let (high_watermark, log_start_offset) = (leader.high_watermark, leader.log_start_offset);
        let epoch = pstate.leader_epoch;
        self.send(Event::FollowerFetchResponse {
            partition: part,
            follower,
            finc,
            epoch,
            offset,
            records,
            high_watermark,
            log_start_offset,
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_follower_fetch_response(
        &mut self,
        part: PartitionIdx,
        follower: BrokerId,
        finc: u32,
        epoch: u32,
        offset: u64,
        records: Vec<Record>,
        (hw, leader_start): (u64, u64),
    ) {
        let b = self.world.broker(follower);
        if !b.alive || b.incarnation != finc || self.world.partitions[part as usize].leader_epoch != epoch {
            return;
        }
        // An answer to a fetch from another log end (a duplicate fetch that a timeout sent
        // again) is void: appending it would repeat records, and it ends its fetch chain.
        let pstate = &self.world.partitions[part as usize];
        if pstate.replica(follower).is_some_and(|r| r.log_end_offset() != offset) {
            return;
        }
        let pstate = &mut self.world.partitions[part as usize];
        let fi = pstate.replica_index(follower).expect("replica");
        let replica = &mut pstate.replicas[fi];
        let from = replica.log_end_offset();
        // A follower whose log end is below the leader's log start gets OFFSET_OUT_OF_RANGE
        // and starts its log afresh there (`AbstractFetcherThread.handleOffsetOutOfRange` ->
        // `truncateFullyAndStartAt(leaderStartOffset)`, 3.x), which clears its producer state
        // and its leader-epoch cache (`Replica::start_afresh`). Here the records below stay in its log for the report
        // (deleted: no fetch reads them), copied before the state is cleared, so only what
        // follows the leader's log start builds its producer state.
        let afresh = from < leader_start;
        let to = {
            let fp = footprint(self.model, &self.world.messages);
            let below = (leader_start.saturating_sub(from) as usize).min(records.len());
            replica.append(&records[..below], &fp);
            if afresh {
                replica.start_afresh();
            }
            replica.append(&records[below..], &fp);
            let to = replica.log_end_offset();
            replica.high_watermark = replica.high_watermark.max(hw.min(to));
            // The follower's log starts where the leader's does (`maybeIncrementLogStartOffset`,
            // LeaderOffsetIncremented); its next retention check deletes the segments below.
            replica.maybe_increment_log_start_offset(leader_start);
            to
        };
        // The records just fetched are the leader's: they share its chunks of message ids.
        if let Some(li) = pstate.leader.and_then(|l| pstate.replica_index(l)).filter(|&li| li != fi) {
            let (leader, replica) = if li < fi {
                let (a, b) = pstate.replicas.split_at_mut(fi);
                (&a[li], &mut b[0])
            } else {
                let (a, b) = pstate.replicas.split_at_mut(li);
                (&b[0], &mut a[fi])
            };
            replica.log.share_with(&leader.log, from);
        }
        if afresh {
            self.log(|sim| {
                (
                    Self::broker_name(follower),
                    format!("replicate {}", sim.model.partition_name(part)),
                    String::new(),
                    format!("log end {from} below the leader's log start offset {leader_start} (OFFSET_OUT_OF_RANGE): log restarted at {leader_start}, producer state cleared"),
                )
            });
        }
        // (What lies below the leader's log start was not fetched: it is there for the report.)
        let first = from.max(leader_start.min(to));
        if to > first {
            self.log(|sim| {
                let skip = (first - from) as usize;
                let msgs = records[skip..].iter().filter(|r| !r.is_marker()).map(|r| r.msg);
                (
                    Self::broker_name(follower),
                    format!("replicate {}", sim.model.partition_name(part)),
                    sim.values(msgs),
                    format!("fetched offsets {first}-{}", to - 1),
                )
            });
        }
        self.follower_fetch(part, follower);
    }

    pub(super) fn on_fetch_wait_expired(&mut self, part: PartitionIdx, token: u64) {
        let held = &mut self.world.partitions[part as usize].held;
        let Some(i) = held.iter().position(|h| match h {
            HeldFetch::Follower { token: t, .. } | HeldFetch::Consumer { token: t, .. } => *t == token,
        }) else {
            return;
        };
        match held.remove(i) {
            // (Nothing new arrived, or the fetch would have been answered: an empty answer.)
            HeldFetch::Follower { follower, finc, offset, .. } => self.answer_follower(part, follower, finc, offset),
            HeldFetch::Consumer { consumer, inc, offset, .. } => {
                let Some(leader) = self.world.partitions[part as usize].leader else { return };
                self.send(Event::empty_fetch(consumer, inc, part, offset, None, leader));
            }
        }
    }

    /// New data (`appended`) wakes held follower fetches; a higher high watermark wakes held
    /// consumer fetches.
    fn wake_held(&mut self, part: PartitionIdx, appended: bool) {
        let Some(leader) = self.world.partitions[part as usize].leader else { return };
        let held = std::mem::take(&mut self.world.partitions[part as usize].held);
        let mut keep = Vec::new();
        for h in held {
            match h {
                HeldFetch::Follower { follower, finc, offset, .. } if appended => {
                    self.answer_follower(part, follower, finc, offset)
                }
                HeldFetch::Consumer { consumer, inc, offset, .. }
                    if !appended && self.readable(part, leader, consumer, offset) > 0 =>
                {
                    self.answer_consumer(part, leader, consumer, inc, offset)
                }
                other => keep.push(other),
            }
        }
        self.world.partitions[part as usize].held.extend(keep);
    }

    /// How far consumer `c` may read from `offset`: to the high watermark, or for
    /// read_committed to the last stable offset.
    fn readable(&self, part: PartitionIdx, broker: BrokerId, c: u32, offset: u64) -> u64 {
        let r = self.world.partitions[part as usize].replica(broker).expect("serving replica");
        let limit =
            if self.model.consumers[c as usize].read_committed { r.last_stable_offset() } else { r.high_watermark };
        limit.saturating_sub(offset)
    }

    fn next_token(&mut self) -> u64 {
        self.world.next_token += 1;
        self.world.next_token
    }

    pub(super) fn on_consumer_fetch(
        &mut self,
        c: u32,
        inc: u32,
        part: PartitionIdx,
        offset: u64,
        (broker, current_epoch): (BrokerId, u32),
    ) {
        let (believed, epoch) = self.believed(broker, part);
        if !self.world.broker(broker).alive || believed != Some(broker) {
            // Disconnected or NotLeaderOrFollower: the consumer refreshes metadata and retries.
            self.send(Event::empty_fetch(c, inc, part, offset, Some(FetchError::NotLeader), broker));
            return;
        }
        // `Partition.localLogWithEpochOrThrow` (KIP-320): the fetch's current leader epoch must
        // be the leader's own; older is FENCED_LEADER_EPOCH (the same broker leads again, in a
        // newer epoch, and the consumer has not heard), newer UNKNOWN_LEADER_EPOCH.
        let fenced = match current_epoch.cmp(&epoch) {
            std::cmp::Ordering::Less => Some(FetchError::FencedLeaderEpoch),
            std::cmp::Ordering::Greater => Some(FetchError::UnknownLeaderEpoch),
            std::cmp::Ordering::Equal => None,
        };
        if fenced.is_some() {
            self.send(Event::empty_fetch(c, inc, part, offset, fenced, broker));
            return;
        }
        let pstate = &self.world.partitions[part as usize];
        let r = pstate.replica(broker).expect("serving replica");
        // (`UnifiedLog.read` -> `checkLogStartOffset`: below the log start offset is out of
        // range too.)
        if offset > r.log_end_offset() || offset < r.log_start_offset {
            // OFFSET_OUT_OF_RANGE: the consumer applies auto.offset.reset.
            self.send(Event::empty_fetch(c, inc, part, offset, Some(FetchError::OutOfRange), broker));
            return;
        }
        if self.readable(part, broker, c, offset) > 0 {
            self.answer_consumer(part, broker, c, inc, offset);
        } else if self.zombie_view(broker, part).is_some() {
            // A deposed leader that does not know it serves below its own high watermark, which
            // nothing moves any more (its followers left): an empty answer after the wait.
            let wait = self.model.consumers[c as usize].fetch_max_wait_ms;
            self.send_after(wait, Event::empty_fetch(c, inc, part, offset, None, broker));
        } else {
            let token = self.next_token();
            self.world.partitions[part as usize].held.push(HeldFetch::Consumer { consumer: c, inc, offset, token });
            let wait = self.model.consumers[c as usize].fetch_max_wait_ms;
            self.at(self.clock + wait, Event::FetchWaitExpired { partition: part, token });
        }
    }

    /// OffsetsForLeaderEpoch from a consumer, answered by the leader from its epoch cache
    /// (`Partition.lastOffsetForLeaderEpoch`); anyone else answers NOT_LEADER_OR_FOLLOWER.
    pub(super) fn on_epoch_query(
        &mut self,
        c: u32,
        inc: u32,
        part: PartitionIdx,
        offset: u64,
        epoch: u32,
        broker: BrokerId,
    ) {
        let (believed, leader_epoch) = self.believed(broker, part);
        let answer = match self.world.partitions[part as usize].replica(broker) {
            Some(r) if self.world.broker(broker).alive && believed == Some(broker) => {
                Ok(r.end_offset_for(epoch, leader_epoch))
            }
            _ => Err(FetchError::NotLeader),
        };
        self.send(Event::EpochAnswer { consumer: c, inc, broker, partition: part, offset, answer, leader_epoch });
    }

    /// A consumer reads below the high watermark (read_committed: below the last stable
    /// offset, without aborted records); control records are never returned.
    fn answer_consumer(&mut self, part: PartitionIdx, broker: BrokerId, c: u32, inc: u32, offset: u64) {
        let r = self.world.partitions[part as usize].replica(broker).expect("serving replica");
        let cfg = &self.model.consumers[c as usize];
        let cap = (cfg.max_poll_records as usize).max(FETCH_MAX_RECORDS) as u64;
        let limit = offset + self.readable(part, broker, c, offset).min(cap);
        let any_txn = !r.aborted.is_empty();
        let records: Vec<(u64, u32, u32)> = (offset..limit)
            .zip(r.log.range(offset, limit))
            .filter(|(o, rec)| !(rec.is_marker() || (cfg.read_committed && any_txn && r.is_aborted(*o))))
            .map(|(o, rec)| (o, rec.msg, rec.leader_epoch))
            .collect();
        let end_epoch = (limit > offset).then(|| r.log.at(limit - 1).leader_epoch);
        self.send(Event::ConsumerFetchResponse {
            consumer: c,
            inc,
            broker,
            partition: part,
            offset,
            records,
            next_offset: limit,
            end_epoch,
            error: None,
        });
    }
}
