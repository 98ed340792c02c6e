//! The producer: the application's `send()` calls, the record accumulator, the sender thread
//! (max.in.flight, retries, retry.backoff.ms, delivery.timeout.ms, request.timeout.ms) and the
//! idempotent producer's sequence numbers.

use super::Sim;
use super::event::{Event, ProduceBatch, ProduceError, ProduceReply};
use super::log::{BATCH_OVERHEAD, Footprint, NO_PRODUCER_ID, Record};
use super::world::{Batch, Failure, InFlight, MessageState, Stall};
use crate::model::{Acks, Client, ClientPoint, FaultAction, Model, MsgId, Origin, PartitionIdx, RenderedLen, SendSpec};
use std::collections::VecDeque;
use std::ops::Bound;

/// Bytes a record adds to a batch beyond its key and value (varint headers, roughly).
const RECORD_OVERHEAD: u64 = 10;

impl Sim<'_> {
    pub(super) fn producer_live(&self, p: u32, inc: u32) -> bool {
        let s = &self.world.producers[p as usize];
        s.alive && s.incarnation == inc
    }

    pub(super) fn start_producer(&mut self, p: u32) {
        let cfg = &self.model.producers[p as usize];
        let idempotent = cfg.enable_idempotence;
        let s = &mut self.world.producers[p as usize];
        s.alive = true;
        s.restart_sequences();
        if cfg.transactional_id.is_some() {
            // The application calls initTransactions() when it starts sending (a processor:
            // when it starts); the producer id and epoch come from the coordinator.
            // (A processor's producer is initialized when the processor starts.)
            if cfg.processor.is_none() {
                self.schedule_next_send(p);
            }
            return;
        }
        let pid = if idempotent {
            self.world.next_producer_id += 1;
            self.world.next_producer_id - 1
        } else {
            NO_PRODUCER_ID
        };
        self.world.producers[p as usize].producer_id = pid;
        self.schedule_next_send(p);
    }

    /// When the application's next `send()` is due, if it has one.
    fn next_send_at(&self, p: u32) -> Option<u64> {
        let cfg = &self.model.producers[p as usize];
        let s = &self.world.producers[p as usize];
        if !s.resend.is_empty() {
            return Some(self.clock);
        }
        // A processor's producer sends when its consumer half processes a record.
        if cfg.processor.is_some() || s.next_send >= cfg.message_count {
            return None;
        }
        let (_, spec, i) = self.model.send_of(cfg.first_msg + s.next_send);
        Some((spec.at_ms + spec.every_ms * u64::from(i - 1)).max(self.clock))
    }

    pub(super) fn schedule_next_send(&mut self, p: u32) {
        if let Some(at) = self.next_send_at(p) {
            let inc = self.world.producers[p as usize].incarnation;
            self.queue.push(at, Event::AppSend { producer: p, inc }, false);
        }
    }

    /// The application's `send()` calls due now, one after another (one event for all of
    /// them, as one application thread makes them in a loop).
    pub(super) fn on_app_send(&mut self, p: u32, inc: u32) {
        if !self.producer_live(p, inc) {
            return;
        }
        if self.is_transactional(p) && !self.world.producers[p as usize].txn.ready {
            self.init_transactions(p);
            return;
        }
        loop {
            let cfg = &self.model.producers[p as usize];
            let s = &mut self.world.producers[p as usize];
            let msg = match s.resend.pop_front() {
                Some(m) => m,
                None => {
                    s.next_send += 1;
                    cfg.first_msg + s.next_send - 1
                }
            };
            self.begin_if_needed(p, msg);
            self.send_record(p, msg);
            let number = self.model.send_number(msg);
            if self.point(Client::Producer(p), ClientPoint::AfterSend(number)) {
                return;
            }
            if self.end_if_last(p, msg) {
                // The application waits in commitTransaction / abortTransaction.
                return;
            }
            if self.next_send_at(p) != Some(self.clock) {
                break;
            }
        }
        self.schedule_next_send(p);
    }

    /// `send()`: the record joins the partition's open batch or starts a new one.
    pub(super) fn send_record(&mut self, p: u32, msg: MsgId) {
        let origin = self.model.origin(msg);
        let bytes = record_size(origin);
        let partition = self.choose_partition(p, origin, bytes);
        let batch_size = self.model.producers[p as usize].batch_size;
        let now = self.clock;
        let first_send = self.world.messages[msg as usize].sent_at().is_none();
        if first_send {
            self.world.messages[msg as usize].set_sent_at(now);
        }
        let s = &mut self.world.producers[p as usize];
        let queue = s.queues.entry(partition).or_default();
        // A batch still in the accumulator (never sent) takes more records while they fit.
        let open = queue.back().copied().filter(|id| {
            let b = &s.batches[id];
            b.attempts == 0 && b.bytes + bytes <= batch_size.max(bytes)
        });
        // Whether the partition's first batch may have become sendable: a new batch, or the
        // first one now full (it stops lingering). A record added to a batch that was already
        // waiting changes nothing the Sender decides on: whatever else could let the first
        // batch go (a response, a backoff or linger.ms ending, new metadata) drains the
        // partition itself (`KafkaProducer.doSend` wakes the Sender only when `batchIsFull ||
        // newBatchCreated`, much the same).
        let wake = match open {
            Some(id) => {
                let b = s.batches.get_mut(&id).expect("queued batch exists");
                b.msgs.push(msg);
                b.bytes += bytes;
                queue.len() == 1 && b.bytes >= batch_size
            }
            None => {
                let id = s.next_batch;
                s.next_batch += 1;
                let expiry_seq = super::world::Unseen(self.queue.reserve());
                s.batches.insert(
                    id,
                    Batch {
                        partition,
                        msgs: vec![msg],
                        bytes,
                        base_sequence: -1,
                        epoch: 0,
                        attempts: 0,
                        created_at: now,
                        retry_at: now,
                        last_error: None,
                        expiry_seq,
                    },
                );
                queue.push_back(id);
                s.ready.insert(partition);
                let inc = s.incarnation;
                if !self.queue.armed(self.batch_expiry_timer(p)) {
                    self.arm_batch_expiry(p);
                }
                // The Sender wakes when the batch's linger.ms is up (`RecordAccumulator.ready`
                // returns the time to the next expiry as its `nextReadyCheckDelayMs`).
                let linger = self.model.producers[p as usize].linger_ms;
                if linger > 0 {
                    self.queue.push(now + linger, Event::SenderWake { producer: p, inc }, false);
                }
                true
            }
        };
        self.world.messages[msg as usize].set_partition(partition);
        self.log(|sim| {
            let pname = sim.model.partition_name(partition);
            let what = if first_send { "send()" } else { "send() again" };
            (sim.client_name(Client::Producer(p)), what.into(), sim.value(msg), format!("queued for {pname}"))
        });
        // KafkaProducer.doSend -> TransactionManager.maybeAddPartition: the partition joins the
        // transaction at send(), whatever its leader's state, so the transaction's EndTxn is
        // always sent and its markers wait for an offline partition.
        self.txn_holds_partition(p, partition);
        self.drain_partition(p, partition, !wake);
    }

    /// Explicit partition, else murmur2 of the key (Kafka's default partitioner), else the
    /// sticky partitioner (KIP-794): stay on one partition until a batch's worth was written.
    fn choose_partition(&mut self, p: u32, origin: Origin, bytes: u64) -> PartitionIdx {
        let topic_idx = origin.topic();
        let topic = &self.model.topics[topic_idx as usize];
        let (first, count) = (topic.first_partition, topic.partitions);
        if let Some(part) = origin.fixed_partition() {
            return first + part;
        }
        if let Some(hash) = origin.with_key(|key| murmur2(key.as_bytes())) {
            return first + (hash & 0x7fff_ffff) % count;
        }
        let batch_size = self.model.producers[p as usize].batch_size;
        let current = self.world.producers[p as usize].sticky.get(&topic_idx).copied();
        // BuiltInPartitioner picks among partitions with a live leader in the producer's
        // metadata (all, if none has one).
        let available: Vec<u32> =
            (0..count).filter(|k| self.cached_leader(Client::Producer(p), first + k).is_some()).collect();
        let choices = if available.is_empty() { (0..count).collect() } else { available };
        let (part, written) = match current {
            Some((part, written)) if written < batch_size && choices.contains(&part) => (part, written),
            _ => (choices[self.random(choices.len() as u64) as usize], 0),
        };
        self.world.producers[p as usize].sticky.insert(topic_idx, (part, written + bytes));
        first + part
    }

    /// The sender thread: sends every batch that may go now.
    pub(super) fn drain(&mut self, p: u32) {
        // The partitions with a batch queued, in partition order, each once (a partition with
        // nothing queued is not looked up at all). Once every connection is full, the rest
        // would each stop at the max.in.flight check having done nothing: they are skipped,
        // so a produce response that frees one slot costs the batch it lets go, not a visit to
        // every one of 10,000 waiting partitions.
        let s = &self.world.producers[p as usize];
        debug_assert!(
            s.queues.len() > 256 || s.queues.iter().filter(|(_, q)| !q.is_empty()).map(|(k, _)| k).eq(s.ready.iter()),
            "`ready` names exactly the partitions with a batch queued"
        );
        let mut after = None;
        loop {
            let ready = &self.world.producers[p as usize].ready;
            let next = match after {
                None => ready.first(),
                Some(a) => ready.range((Bound::Excluded(a), Bound::Unbounded)).next(),
            };
            let Some(&part) = next else { break };
            if self.every_connection_full(p) {
                break;
            }
            self.drain_partition(p, part, false);
            after = Some(part);
        }
    }

    /// Whether no queued batch of producer `p` can be sent now, nor its look-up change
    /// anything: every broker's connection has max.in.flight requests out, and each waiting
    /// partition's leader comes from a settled cache (no refresh) outside a transaction (no
    /// AddPartitionsToTxn): exactly the case where `drain_partition` stops at once.
    fn every_connection_full(&self, p: u32) -> bool {
        let cfg = &self.model.producers[p as usize];
        let s = &self.world.producers[p as usize];
        if cfg.acks == Acks::Zero || s.in_flight.len() < self.world.brokers.len() * cfg.max_in_flight as usize {
            return false;
        }
        if self.is_transactional(p) || !self.metadata_settled(Client::Producer(p)) {
            return false;
        }
        let mut out = vec![0u32; self.world.brokers.len()];
        for f in s.in_flight.values() {
            out[(f.broker - 1) as usize] += 1;
        }
        out.iter().all(|&n| n >= cfg.max_in_flight)
    }

    /// Sends the partition's batches that may go now, in order.
    /// With `look_only`, only as far as the leader look-up, unless it refreshed the metadata
    /// (which may name another leader): a `send()` that cannot have let the first batch go
    /// still counts as a look at the metadata, which refreshes it once metadata.max.age.ms is
    /// up (scn refreshes metadata when a look-up finds it stale).
    fn drain_partition(&mut self, p: u32, part: PartitionIdx, look_only: bool) {
        let cfg = &self.model.producers[p as usize];
        loop {
            let s = &self.world.producers[p as usize];
            let queued = &s.queues[&part];
            let Some(&id) = queued.front() else {
                break;
            };
            let batch = &s.batches[&id];
            if batch.retry_at > self.clock {
                break;
            }
            // linger.ms (`RecordAccumulator.ready`): a batch not sent yet waits until it is full
            // (`deque.size() > 1 || batch.isFull()`), linger.ms after it was created, or until
            // a flush is in progress (`flushInProgress()`: commitTransaction and, as scn's
            // applications do it, abortTransaction flush first). A retry waits its backoff.
            let lingering = batch.attempts == 0
                && self.clock < batch.created_at.saturating_add(cfg.linger_ms)
                && batch.bytes < cfg.batch_size
                && queued.len() == 1
                && s.txn.ending.is_none();
            if lingering {
                break;
            }
            // The producer sends to the leader its metadata names, and waits (without
            // spending an attempt) while no live leader is known.
            let (leader, refreshed) = self.look_up_leader(Client::Producer(p), part);
            let Some(leader) = leader else {
                break;
            };
            if look_only && !refreshed {
                break;
            }
            if self.txn_holds_partition(p, part) {
                break;
            }
            let s = &self.world.producers[p as usize];
            let to_leader = s.in_flight.values().filter(|f| f.broker == leader).count() as u32;
            if to_leader >= cfg.max_in_flight {
                break;
            }
            // max.in.flight.requests.per.connection 1 means guaranteeMessageOrder: the Sender
            // mutes a partition it drained until that batch completes
            // (RecordAccumulator.mutePartition), whichever broker it went to, so a leader
            // change cannot put a later batch ahead of a retried one.
            if cfg.max_in_flight == 1 && s.in_flight.values().any(|f| f.partition == part) {
                break;
            }
            // The idempotent producer's order rules (RecordAccumulator.shouldStopDrainBatchesForPartition,
            // Kafka 2.x-3.x). The partition's in-flight batches, as TransactionManager counts
            // them, are those sent and not yet done: a batch that expired in flight has left
            // them (`handleFailedBatch`), though its request may still be out.
            let s = &self.world.producers[p as usize];
            let numbered = |x: &super::world::Batch| {
                x.base_sequence >= 0 && s.sequence_reset.get(&part).is_none_or(|e| x.epoch >= *e)
            };
            let in_flight_batches = s.batches.values().filter(|x| x.partition == part && x.attempts > 0);
            if s.unresolved.contains_key(&part) && in_flight_batches.clone().next().is_none() {
                // `maybeResolveSequences`: a batch failed after it was sent, and none of the
                // partition's batches is in flight any more: resolved if a later
                // acknowledgement covers its sequence, else only a new epoch gets the
                // partition going again.
                let &(epoch, last) = &s.unresolved[&part];
                let covered = s.last_acked.get(&part).is_some_and(|&(e, acked)| e == epoch && acked >= last);
                if covered {
                    self.world.producers[p as usize].unresolved.remove(&part);
                } else {
                    self.bump_epoch(p, part, "a sent batch failed and its sequence is unresolved");
                }
                continue;
            }
            let batch = &s.batches[&id];
            let has_sequence = numbered(batch);
            // A batch that has its sequence (a retry) goes only as the partition's first
            // in-flight sequence, so the broker never sees a gap; one without waits while an
            // earlier sent batch's fate is unknown (`hasUnresolvedSequence`), and, numbered in
            // a new epoch, while batches of the partition from an older epoch are unfinished
            // (`hasStaleProducerIdAndEpoch`, after a bump for another partition, KIP-360).
            // (Looked for only for a retry: a scan of the producer's batches.)
            let out_of_turn = has_sequence
                && in_flight_batches
                    .filter(|x| numbered(x))
                    .map(|x| x.base_sequence)
                    .min()
                    .is_some_and(|f| f != batch.base_sequence);
            let unresolved = !has_sequence && s.unresolved.contains_key(&part);
            // (Older epochs are pending only after a bump: sequence_reset says there was one.)
            let old_epoch_pending = !has_sequence
                && !s.sequence_reset.is_empty()
                && (s.batches.values().any(|x| x.partition == part && s.keeps_old_epoch(x))
                    || s.in_flight.values().any(|f| {
                        f.partition == part && s.batches.get(&f.batch).is_some_and(|x| x.epoch < s.producer_epoch)
                    }));
            if cfg.enable_idempotence && (out_of_turn || unresolved || old_epoch_pending) {
                break;
            }
            let s = &mut self.world.producers[p as usize];
            let queue = s.queues.get_mut(&part).expect("queue");
            queue.pop_front();
            if queue.is_empty() {
                s.ready.remove(&part);
            }
            self.send_batch(p, id, leader);
        }
    }

    fn send_batch(&mut self, p: u32, id: u32, broker: u32) {
        let cfg = &self.model.producers[p as usize];
        let now = self.clock;
        let s = &mut self.world.producers[p as usize];
        let batch = s.batches.get_mut(&id).expect("batch");
        batch.attempts += 1;
        let attempt = batch.attempts;
        // A batch keeps the epoch and sequence it was first sent with (a retry must be
        // recognizable as one); a partition's sequences start at 0 in each new epoch.
        let reset = s.sequence_reset.get(&batch.partition).is_some_and(|e| batch.epoch < *e);
        if cfg.enable_idempotence && (batch.base_sequence < 0 || reset) {
            let epoch = s.producer_epoch;
            let next = s.next_sequence.entry(batch.partition).or_insert((epoch, 0));
            if next.0 != epoch {
                *next = (epoch, 0);
            }
            batch.base_sequence = next.1;
            batch.epoch = epoch;
            next.1 += batch.msgs.len() as i32;
        }
        if attempt > 1 {
            s.retries += 1;
        }
        let msgs = batch.msgs.clone();
        let req = s.next_request;
        s.next_request += 1;
        let inc = s.incarnation;
        for m in &msgs {
            self.world.messages[*m as usize].attempts += 1;
        }
        self.request_points(p, &msgs, attempt);
        let (mut lose_request, lose_ack) = self.request_faults(p, &msgs, attempt);
        // A connection that lost a request delivers nothing more until the client's request
        // timeout closes it (TCP keeps order: what follows a lost request is lost with it).
        let stalled = self.world.stalled.get(&(p, broker)).copied();
        if lose_request && cfg.acks != Acks::Zero {
            // (acks=0 tracks no request, so no timeout closes the connection: it resets.)
            self.world.stalled.insert((p, broker), Stall::Requests);
        } else if stalled == Some(Stall::Requests) {
            lose_request = true;
        }
        if cfg.acks != Acks::Zero {
            let partition = self.world.producers[p as usize].batches[&id].partition;
            self.world.producers[p as usize]
                .in_flight
                .insert(req, InFlight { batch: id, partition, broker, sent_at: now, attempt, lose_ack });
            self.queue.push(now + cfg.request_timeout_ms, Event::RequestTimeout { producer: p, inc, req }, false);
        }
        self.log(|sim| {
            let b = &sim.world.producers[p as usize].batches[&id];
            let part = sim.model.partition_name(b.partition);
            let what = if attempt == 1 { "produce request".to_string() } else { format!("retry {}", attempt - 1) };
            let seq = if b.base_sequence >= 0 {
                let last = b.base_sequence + b.msgs.len() as i32 - 1;
                if last == b.base_sequence {
                    format!(", seq {last}")
                } else {
                    format!(", seq {}-{last}", b.base_sequence)
                }
            } else {
                String::new()
            };
            let result = if lose_request && stalled == Some(Stall::Requests) {
                "lost: the connection is stalled".to_string()
            } else if lose_request {
                "request lost in the network".to_string()
            } else {
                format!("to broker {broker} for {part}{seq}")
            };
            (sim.client_name(Client::Producer(p)), what, sim.values(msgs.iter().copied()), result)
        });
        let s = &mut self.world.producers[p as usize];
        let b = &s.batches[&id];
        let batch = ProduceBatch {
            partition: b.partition,
            msgs,
            producer_id: s.producer_id,
            producer_epoch: if b.base_sequence >= 0 { b.epoch } else { s.producer_epoch },
            base_sequence: b.base_sequence,
            acks: cfg.acks,
            transactional: cfg.transactional_id.is_some(),
        };
        if cfg.acks == Acks::Zero {
            // acks=0: the record counts as sent once it is on the wire; no retry is possible
            // and no offset is known.
            let b = s.batches.remove(&id).expect("batch");
            s.acked += b.msgs.len() as u32;
            for m in &b.msgs {
                self.world.messages[*m as usize].set_acked_at(now);
            }
        }
        if !lose_request {
            self.send(Event::ProduceArrive { producer: p, inc, req, broker, batch });
        }
    }

    pub(super) fn on_produce_response(&mut self, p: u32, inc: u32, req: u32, reply: ProduceReply) {
        if !self.producer_live(p, inc) {
            return;
        }
        let Some(flight) = self.world.producers[p as usize].in_flight.get(&req).cloned() else {
            return;
        };
        let stalled = self.world.stalled.get(&(p, flight.broker)) == Some(&Stall::Responses);
        // (A connection reset by a crash is no answer to lose: every request on it fails now.)
        let reset =
            matches!(reply, ProduceReply::Err(ProduceError::Network)) && !self.world.broker(flight.broker).alive;
        if (flight.lose_ack || stalled) && !reset {
            // Responses after a lost one are stuck behind it on the connection (TCP keeps order)
            // until the client's request timeout closes it.
            self.world.stalled.insert((p, flight.broker), Stall::Responses);
            self.log(|sim| {
                let msgs = sim.flight_msgs(p, flight.batch);
                let what = if flight.lose_ack { "ack lost" } else { "ack stuck behind the lost one" };
                ("network".into(), "produce response".into(), sim.values(msgs), what.into())
            });
            return;
        }
        self.world.producers[p as usize].in_flight.remove(&req);
        match reply {
            ProduceReply::Ok { base_offset, duplicate } => {
                let s = &mut self.world.producers[p as usize];
                let Some(batch) = s.batches.remove(&flight.batch) else {
                    // (It expired in flight: the application was told it failed.)
                    self.expired_request_done(p);
                    return;
                };
                s.acked += batch.msgs.len() as u32;
                if batch.base_sequence >= 0 {
                    let last = (batch.epoch, batch.base_sequence + batch.msgs.len() as i32 - 1);
                    let acked = s.last_acked.entry(batch.partition).or_insert(last);
                    *acked = (*acked).max(last);
                }
                for (i, m) in batch.msgs.iter().enumerate() {
                    let st = &mut self.world.messages[*m as usize];
                    st.set_acked_at(self.clock);
                    st.set_offset(base_offset + i as u64);
                }
                self.log(|sim| {
                    let last = base_offset + batch.msgs.len() as u64 - 1;
                    let offs = if last == base_offset {
                        format!("offset {last}")
                    } else {
                        format!("offsets {base_offset}-{last}")
                    };
                    let note = if duplicate { " (original write)" } else { "" };
                    (
                        sim.client_name(Client::Producer(p)),
                        "ack".into(),
                        sim.values(batch.msgs.iter().copied()),
                        format!("acked, {offs}{note}"),
                    )
                });
                for m in &batch.msgs {
                    self.on_acked(p, *m);
                }
                self.drain(p);
                self.try_end_txn(p);
                self.processor_flushed(p);
            }
            ProduceReply::Err(e) => {
                // NotLeaderOrFollower and NetworkException are InvalidMetadataExceptions: the
                // sender asks for new metadata (Sender.completeBatch).
                if let Some(b) = self.world.producers[p as usize].batches.get(&flight.batch) {
                    match e {
                        ProduceError::NotLeader => self.invalidate_metadata(Client::Producer(p), b.partition, None),
                        ProduceError::Network => {
                            self.invalidate_metadata(Client::Producer(p), b.partition, Some(flight.broker))
                        }
                        _ => {}
                    }
                }
                self.batch_failed(p, flight.batch, e)
            }
        }
    }

    /// A request failed: retry the batch if attempts and delivery.timeout.ms allow, else fail it.
    fn batch_failed(&mut self, p: u32, id: u32, error: ProduceError) {
        if error == ProduceError::InvalidProducerEpoch {
            self.producer_fenced(p, Failure::Produce(error));
            return;
        }
        if matches!(error, ProduceError::InvalidPidMapping | ProduceError::InvalidTxnState) {
            // Not retriable: the batch fails and the transaction can only abort
            // (`TransactionManager.handleFailedBatch`: an abortable error, with an epoch bump
            // where the coordinator supports it); after InvalidPidMapping the abort gets a new
            // producer id (as `pid_unmapped`).
            let s = &mut self.world.producers[p as usize];
            s.txn.unmapped |= error == ProduceError::InvalidPidMapping;
            let Some(b) = s.take_batch(id) else { return };
            let why = match error {
                ProduceError::InvalidPidMapping => Failure::InvalidPidMapping,
                _ => Failure::Produce(error),
            };
            for m in &b.msgs {
                self.world.messages[*m as usize].fail(why);
            }
            self.batch_gave_up(p, b.partition, b.attempts, (b.epoch, b.base_sequence + b.msgs.len() as i32 - 1));
            return;
        }
        if error == ProduceError::OutOfOrderSequence {
            self.maybe_bump_epoch(p, id);
        }
        let cfg = &self.model.producers[p as usize];
        let now = self.clock;
        let s = &mut self.world.producers[p as usize];
        let Some(batch) = s.batches.get_mut(&id) else {
            // (It expired in flight.)
            self.expired_request_done(p);
            return;
        };
        batch.last_error = Some(error.name());
        let out_of_time = now >= batch.created_at + cfg.delivery_timeout_ms;
        let out_of_retries = batch.attempts > cfg.retries;
        if out_of_time || out_of_retries {
            let b = s.batches.remove(&id).expect("batch");
            let why = if out_of_time { ProduceError::Timeout } else { error };
            for m in &b.msgs {
                self.world.messages[*m as usize].set_failed(Failure::Produce(why));
            }
            self.log(|sim| {
                let reason = if out_of_time {
                    format!(
                        "failed: TimeoutException (delivery.timeout.ms {} ms) after {}",
                        cfg.delivery_timeout_ms,
                        error.name()
                    )
                } else if cfg.retries == 0 {
                    format!("failed: {} (retries 0)", error.name())
                } else {
                    format!("failed: {} (retries {} exhausted)", error.name(), cfg.retries)
                };
                (sim.client_name(Client::Producer(p)), "error".into(), sim.values(b.msgs.iter().copied()), reason)
            });
            self.batch_gave_up(p, b.partition, b.attempts, (b.epoch, b.base_sequence + b.msgs.len() as i32 - 1));
            return;
        }
        let backoff = self.model.cluster.retry_backoff(cfg.retry_backoff_ms, cfg.retry_backoff_max_ms, batch.attempts);
        batch.retry_at = now + backoff;
        let queue = s.queues.entry(batch.partition).or_default();
        if cfg.enable_idempotence {
            // RecordAccumulator.insertInSequenceOrder: a partition's batches were created, and
            // first numbered, in send order, which ids keep across epoch bumps.
            let pos = queue.iter().position(|q| *q > id);
            match pos {
                Some(i) => queue.insert(i, id),
                None => queue.push_back(id),
            }
        } else {
            // RecordAccumulator.reenqueue puts a retried batch at the front.
            queue.push_front(id);
        }
        s.ready.insert(batch.partition);
        let inc = s.incarnation;
        self.log(|sim| {
            let msgs = sim.world.producers[p as usize].batches[&id].msgs.clone();
            (
                sim.client_name(Client::Producer(p)),
                "error".into(),
                sim.values(msgs),
                format!("{}; will retry in {backoff} ms", error.name()),
            )
        });
        self.queue.push(now + backoff, Event::SenderWake { producer: p, inc }, false);
    }

    pub(super) fn on_request_timeout(&mut self, p: u32, inc: u32, req: u32) {
        if !self.producer_live(p, inc) {
            return;
        }
        let Some(flight) = self.world.producers[p as usize].in_flight.get(&req).cloned() else {
            return;
        };
        let timeout = self.model.producers[p as usize].request_timeout_ms;
        self.log(|sim| {
            let msgs = sim.flight_msgs(p, flight.batch);
            (
                sim.client_name(Client::Producer(p)),
                "request timeout".into(),
                sim.values(msgs),
                format!("no response in {timeout} ms; connection to broker {} closed", flight.broker),
            )
        });
        // NetworkClient closes the connection on a request timeout, which fails every other
        // request in flight on it as timed out too (`cancelInFlightRequests(.., timedOut)` ->
        // `Sender.handleProduceResponse`: REQUEST_TIMED_OUT, a TimeoutException; Kafka 3.6+).
        self.close_connection(p, flight.broker);
        let victims: Vec<(u32, u32)> = self.world.producers[p as usize]
            .in_flight
            .iter()
            .filter(|(_, f)| f.broker == flight.broker)
            .map(|(r, f)| (*r, f.batch))
            .collect();
        for (r, batch) in victims {
            self.world.producers[p as usize].in_flight.remove(&r);
            // A disconnect makes NetworkClient ask another broker for metadata.
            if let Some(b) = self.world.producers[p as usize].batches.get(&batch) {
                self.invalidate_metadata(Client::Producer(p), b.partition, Some(flight.broker));
            }
            self.batch_failed(p, batch, ProduceError::Timeout);
        }
    }

    /// `delivery.timeout.ms` (`Sender.getExpiredInflightBatches`,
    /// `RecordAccumulator.expiredBatches`) for the producer's oldest live batch: one timer per
    /// producer, re-armed each time it fires, instead of one event per batch, nearly all of
    /// which would fire for batches acknowledged long before (a million of them with acks=0).
    /// Each batch reserved its queue sequence number when it was created, so it expires exactly
    /// where an event of its own would have; batches expire in creation order, as they all
    /// have the producer's one timeout.
    pub(super) fn arm_batch_expiry(&mut self, p: u32) {
        let key = self.batch_expiry_timer(p);
        let timeout = self.model.producers[p as usize].delivery_timeout_ms;
        let s = &self.world.producers[p as usize];
        match s.batches.first().filter(|_| s.alive) {
            Some((id, b)) => {
                let event = Event::BatchExpiry { producer: p, inc: s.incarnation, batch: id };
                self.queue.arm_at(key, b.created_at + timeout, b.expiry_seq.0, event);
            }
            None => self.queue.cancel(key),
        }
    }

    pub(super) fn on_batch_expiry(&mut self, p: u32, inc: u32, id: u32) {
        let live = self.producer_live(p, inc);
        let s = &mut self.world.producers[p as usize];
        let Some(b) = live.then(|| s.batches.remove(&id)).flatten() else {
            // (Its batch completed since, or it belongs to an incarnation gone: it waits for
            // the oldest batch there is now.)
            self.arm_batch_expiry(p);
            return;
        };
        // Sender.getExpiredInflightBatches: a batch still in flight expires too; its request
        // stays out (it holds its max.in.flight slot) and its answer, if any, is ignored.
        let in_flight = s.in_flight.values().any(|f| f.batch == id);
        s.dequeue(id, b.partition);
        for m in &b.msgs {
            self.world.messages[*m as usize].set_failed(Failure::Produce(ProduceError::Timeout));
        }
        let ms = self.model.producers[p as usize].delivery_timeout_ms;
        self.log(|sim| {
            let part = sim.model.partition_name(b.partition);
            let why = if in_flight {
                format!(
                    "failed: TimeoutException (delivery.timeout.ms {ms} ms passed with its request to {part} in flight)"
                )
            } else {
                format!("failed: TimeoutException (expired in the accumulator for {part} after {ms} ms)")
            };
            (sim.client_name(Client::Producer(p)), "error".into(), sim.values(b.msgs.iter().copied()), why)
        });
        self.batch_gave_up(p, b.partition, b.attempts, (b.epoch, b.base_sequence + b.msgs.len() as i32 - 1));
        self.arm_batch_expiry(p);
    }

    /// A batch failed for good: a transaction holding it can only abort now, by bumping the
    /// epoch if the batch had been sent (its sequence may or may not be in the log; KIP-360).
    fn batch_gave_up(&mut self, p: u32, part: PartitionIdx, attempts: u32, last: (u16, i32)) {
        let idempotent = self.model.producers[p as usize].enable_idempotence && !self.is_transactional(p);
        let s = &mut self.world.producers[p as usize];
        // (It was sent: whether its sequence is in the log is unknown until a later ack covers
        // it; TransactionManager.maybeResolveSequences, KIP-360.)
        if idempotent && attempts > 0 && last.1 >= 0 {
            let u = s.unresolved.entry(part).or_insert(last);
            *u = (*u).max(last);
        }
        let txn = &mut s.txn;
        txn.abortable = true;
        txn.bump_needed |= attempts > 0;
        self.drain(p);
        self.try_end_txn(p);
        self.processor_flushed(p);
    }

    /// The request of a batch that expired in flight is answered or timed out: its slot is
    /// free, and a transaction waiting for its requests to settle can end.
    fn expired_request_done(&mut self, p: u32) {
        self.drain(p);
        self.try_end_txn(p);
        self.processor_flushed(p);
    }

    /// The records of an in-flight request's batch (none once the batch expired in flight).
    fn flight_msgs(&self, p: u32, batch: u32) -> Vec<MsgId> {
        self.world.producers[p as usize].batches.get(&batch).map_or_else(Vec::new, |b| b.msgs.clone())
    }

    /// Which `request lost` / `ack lost` faults hit this produce request.
    fn request_faults(&mut self, p: u32, msgs: &[MsgId], attempt: u32) -> (bool, bool) {
        let mut lose = (false, false);
        for (i, f) in self.faults.iter().enumerate() {
            let crate::model::Trigger::Request { producer, msg, attempt: a } = f.trigger else {
                continue;
            };
            if producer != p || a != attempt || !msgs.contains(&msg) || !self.world.fired[i].is_empty() {
                continue;
            }
            self.world.fired[i].push(self.clock);
            match f.action {
                FaultAction::LoseRequest => lose.0 = true,
                _ => lose.1 = true,
            }
        }
        lose
    }

    /// KIP-360: an idempotent (non-transactional) producer whose next expected batch is refused
    /// as out of order (the broker lost its state, e.g. after an unclean election) bumps its
    /// epoch and numbers its unacknowledged batches from 0 again.
    fn maybe_bump_epoch(&mut self, p: u32, id: u32) {
        if self.is_transactional(p) {
            return;
        }
        let s = &self.world.producers[p as usize];
        let Some(b) = s.batches.get(&id) else { return };
        // (A refusal of a batch from before the last bump is not news: one bump per epoch.)
        if b.epoch < s.producer_epoch {
            return;
        }
        let part = b.partition;
        let earlier_in_flight = s
            .in_flight
            .values()
            .any(|f| s.batches.get(&f.batch).is_some_and(|x| x.partition == part && x.base_sequence < b.base_sequence));
        let earlier_queued = s
            .batches
            .values()
            .any(|x| x.partition == part && x.base_sequence >= 0 && x.base_sequence < b.base_sequence);
        // TransactionManager.canRetry: only the partition's next sequence after the last
        // acknowledged one proves the broker lost its state; any other refused batch is simply
        // retried (until delivery.timeout.ms).
        let next = match s.last_acked.get(&part) {
            Some(&(epoch, last)) if epoch == b.epoch => last + 1,
            _ => 0,
        };
        if earlier_in_flight || earlier_queued || b.base_sequence != next {
            return;
        }
        self.bump_epoch(p, part, "OutOfOrderSequence for its next batch");
    }

    /// KIP-360: the idempotent producer bumps its epoch; the partition's batches are numbered
    /// afresh in the new epoch, other partitions' batches finish in the old one (KAFKA-8805).
    fn bump_epoch(&mut self, p: u32, part: PartitionIdx, why: &str) {
        let s = &mut self.world.producers[p as usize];
        s.producer_epoch += 1;
        s.next_sequence.remove(&part);
        s.unresolved.remove(&part);
        s.sequence_reset.insert(part, s.producer_epoch);
        let epoch = s.producer_epoch;
        self.log(|sim| {
            (
                sim.client_name(Client::Producer(p)),
                "bump epoch".into(),
                String::new(),
                format!("{why}: epoch {epoch}, sequences restart at 0 (KIP-360)"),
            )
        });
    }

    fn on_acked(&mut self, p: u32, msg: MsgId) {
        self.happened(super::fault::Happened::Acked { producer: p, msg });
    }

    pub(super) fn crash_producer(&mut self, p: u32) {
        self.world.metadata.remove(&Client::Producer(p));
        self.world.conns.retain(|(q, _), _| *q != p);
        self.world.stalled.retain(|(q, _), _| *q != p);
        let s = &mut self.world.producers[p as usize];
        s.alive = false;
        let lost: Vec<MsgId> = s.batches.values().flat_map(|b| b.msgs.iter().copied()).collect();
        s.batches.clear();
        s.queues.clear();
        s.ready.clear();
        s.in_flight.clear();
        s.sticky.clear();
        self.arm_batch_expiry(p);
        for m in lost {
            let st = &mut self.world.messages[m as usize];
            if st.acked_at().is_none() && st.attempts == 0 {
                st.dropped_by_crash = true;
            }
        }
    }

    /// The application restarts: a new producer id (KIP-98: idempotence holds per producer id)
    /// and it sends again, first, every record it never saw acknowledged.
    pub(super) fn restart_producer(&mut self, p: u32) {
        let cfg = &self.model.producers[p as usize];
        let sent = self.world.producers[p as usize].next_send;
        let resend: VecDeque<MsgId> = if self.is_transactional(p) {
            self.transactional_resend(p).into()
        } else {
            (cfg.first_msg..cfg.first_msg + sent)
                .filter(|m| {
                    let st = &self.world.messages[*m as usize];
                    st.acked_at().is_none() && st.failed().is_none()
                })
                .collect()
        };
        let s = &mut self.world.producers[p as usize];
        s.incarnation += 1;
        s.resend = resend;
        let done = std::mem::take(&mut s.txn.done);
        s.txn = super::world::TxnClient { done, ..Default::default() };
        self.start_producer(p);
    }
}

/// The bytes a message's record takes in a batch: an overhead, its key and its value.
fn record_size(origin: Origin) -> u64 {
    match origin {
        Origin::Derived(d, text) => {
            RECORD_OVERHEAD + d.key(text).map_or(0, |k| k.len() as u64) + d.value(text).len() as u64
        }
        Origin::Sent { spec, index: i } => {
            let n = spec.first_number + i - 1;
            RECORD_OVERHEAD + sent_len(spec).at(i, n)
        }
    }
}

/// The length of a `send` statement's key and value.
fn sent_len(spec: &SendSpec) -> RenderedLen {
    RenderedLen::of(spec.key.iter().chain([&spec.value]))
}

/// A data record's timestamp and size in a segment ([`Footprint`]), which the log does not
/// store. CreateTime: the producer stamps a record at `send()` (`KafkaProducer.doSend`); its
/// size follows from its message's key and value (neither the log nor the message's state
/// stores it: 4 bytes a message); a batch's first record carries the batch header too.
pub(super) struct Data<'a> {
    model: &'a Model,
    messages: &'a [MessageState],
    /// `(lo, hi, size)`: messages `lo..hi` are sent by one statement with `{i}` and `{n}` as
    /// long as each other's, so their records take `size` bytes. An append's records mostly
    /// fall into one such span: sizing one is then a comparison, not a look-up of its send
    /// statement (two binary searches) and its digits.
    same_size: std::cell::Cell<(MsgId, MsgId, u32)>,
}

pub(super) fn footprint<'a>(model: &'a Model, messages: &'a [MessageState]) -> Data<'a> {
    Data { model, messages, same_size: std::cell::Cell::new((0, 0, 0)) }
}

impl Footprint for Data<'_> {
    fn timestamp(&self, r: &Record) -> u64 {
        let st = &self.messages[r.msg as usize];
        debug_assert!(st.sent_at().is_some(), "a record's message was sent");
        st.sent_at().unwrap_or(0)
    }

    fn bytes(&self, r: &Record) -> u32 {
        let header = if r.batch_start { BATCH_OVERHEAD } else { 0 };
        let (lo, hi, size) = self.same_size.get();
        if (lo..hi).contains(&r.msg) {
            return size + header;
        }
        let origin = self.model.origin(r.msg);
        let size = record_size(origin) as u32;
        if let Origin::Sent { spec, index } = origin {
            let (lo, hi) = same_digits(spec, index);
            self.same_size.set((spec.first_msg + lo - 1, spec.first_msg + hi - 1, size));
        }
        size + header
    }
}

/// The indexes `lo..hi` (1-based, in the statement, around `i`) whose `{i}` and `{n}` have
/// as many digits as `i`'s: their records are as long as its.
fn same_digits(spec: &SendSpec, i: u32) -> (u32, u32) {
    // The numbers with as many digits as `x`: 0..10, 10..100, ...
    let span = |x: u64| match x.checked_ilog10() {
        None | Some(0) => (0, 10),
        Some(d) => (10u64.pow(d), 10u64.pow(d + 1)),
    };
    // `{n}` is the producer-wide send number: i + first_number - 1.
    let shift = u64::from(spec.first_number);
    let (i_lo, i_hi) = span(u64::from(i));
    let (n_lo, n_hi) = span(u64::from(i) + shift - 1);
    let lo = i_lo.max((n_lo + 1).saturating_sub(shift)).max(1);
    let hi = i_hi.min((n_hi + 1).saturating_sub(shift)).min(u64::from(spec.count) + 1);
    (lo as u32, hi as u32)
}

/// Kafka's `Utils.murmur2`, which the default partitioner applies to the serialized key.
pub fn murmur2(data: &[u8]) -> u32 {
    let seed: u32 = 0x9747_b28c;
    let m: u32 = 0x5bd1_e995;
    let r = 24;
    let len = data.len();
    let mut h: u32 = seed ^ len as u32;
    for chunk in data.chunks_exact(4) {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(m);
        k ^= k >> r;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    let tail = &data[len & !3..];
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::{Footprint, footprint, murmur2, record_size};
    use crate::sim::log::{Kind, Record};

    /// A record's size from its send statement's span of equally long numbers is the size
    /// worked out from its key and value, for every message, in any order (`{n}` counted
    /// from 1 and from 995, `{i}` alone, and no placeholder).
    #[test]
    fn a_span_of_equally_long_numbers_sizes_every_record_as_its_own_key_and_value_do() {
        let source = "scenario \"sizes\"
cluster {
  brokers 1
  topic t { partitions 1 }
}
producer a {
  send 1200 to t key \"k-{i}\" value \"v-{n}-{i}\"
  send 30 to t value \"fixed\"
}
producer b {
  send 994 to t value \"x\"
  send 1100 to t key \"{n}\" value \"{i}{i}\"
}
";
        let model = crate::load(source).expect("valid scenario");
        let messages = vec![crate::sim::world::MessageState::default(); model.total_messages as usize];
        let data = footprint(&model, &messages);
        let n = model.total_messages;
        let order = (0..n).chain((0..n).rev()).chain((0..n).map(|m| (m * 7919) % n));
        for msg in order {
            let r = Record {
                msg,
                producer_id: 0,
                producer_epoch: 0,
                sequence: -1,
                leader_epoch: 0,
                batch_start: false,
                kind: Kind::Data,
                marker_time: 0,
            };
            assert_eq!(u64::from(data.bytes(&r)), record_size(model.origin(msg)), "message {msg}");
        }
    }

    #[test]
    fn murmur2_matches_kafka_utils_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data) as i32, *want, "{}", String::from_utf8_lossy(data));
        }
    }
}
