//! The transaction coordinator (KIP-98): InitProducerId with epoch bumps that abort what a
//! previous instance left open, AddPartitionsToTxn, EndTxn (the commit point is PrepareCommit),
//! COMMIT/ABORT markers written to every partition of the transaction, Complete*, and the
//! `transaction.timeout.ms` abort that fences the producer (PrepareEpochFence).

use super::Sim;
use super::event::{Event, TxnError, TxnReply, TxnRequest};
use super::log::{Kind, Record};
use super::world::{PendingProduce, TxnRecord, TxnState};
use crate::model::{BrokerId, Node, PartitionIdx};

/// How long the coordinator waits before re-sending a marker that could not be written.
pub(super) const MARKER_RETRY_MS: u64 = 100;

impl Sim<'_> {
    /// Index of a transactional id in `World::txns`.
    pub(super) fn txn_index(&self, id: &str) -> u32 {
        self.world.txns.iter().position(|t| t.transactional_id == id).expect("known transactional id") as u32
    }

    /// The broker hosting the coordinator: the leader of the id's `__transaction_state`
    /// partition, modelled as a hash of the id over the brokers, moving to the next live broker
    /// once the controller has fenced a dead one. `None` while its broker is down but not fenced.
    pub(super) fn coordinator_broker(&self, txn: u32) -> Option<BrokerId> {
        self.coordinator_for(self.world.txns[txn as usize].transactional_id.as_bytes())
    }

    /// The group coordinator's broker, the same way over `__consumer_offsets`. `None` also for
    /// a consumer without a group.id, which talks to no coordinator.
    pub(super) fn group_coordinator(&self, g: usize) -> Option<BrokerId> {
        let group = &self.model.groups[g];
        group.group_id.then(|| self.coordinator_for(group.name.as_bytes())).flatten()
    }

    /// The leader of the internal-topic partition a coordinator key hashes to.
    fn coordinator_for(&self, key: &[u8]) -> Option<BrokerId> {
        let n = self.model.cluster.brokers;
        let first = super::producer::murmur2(key) % n;
        for k in 0..n {
            let b = (first + k) % n + 1;
            let broker = self.world.broker(b);
            if broker.alive && !broker.fenced {
                return Some(b);
            }
            if !broker.fenced {
                return None;
            }
        }
        None
    }

    /// `txn coordinator (ledger-writer on broker 2)`
    fn coordinator_label(&self, t: u32) -> String {
        let id = &self.world.txns[t as usize].transactional_id;
        match self.coordinator_broker(t) {
            Some(b) => format!("txn coordinator ({id} on broker {b})"),
            None => format!("txn coordinator ({id})"),
        }
    }

    pub(super) fn on_txn_arrive(&mut self, p: u32, inc: u32, request: TxnRequest) {
        let id = self.model.producers[p as usize].transactional_id.clone().expect("transactional producer");
        let t = self.txn_index(&id);
        if self.coordinator_broker(t).is_none() {
            self.send(Event::TxnResponse {
                producer: p,
                inc,
                reply: TxnReply::Err { request, error: TxnError::CoordinatorNotAvailable },
            });
            return;
        }
        let forgotten = self.world.txns[t as usize].forgotten;
        let reply = match request.clone() {
            // `TransactionCoordinator` finds no metadata for the id: only InitProducerId creates it.
            TxnRequest::AddPartitionsToTxn { .. } | TxnRequest::EndTxn { .. } | TxnRequest::AddOffsets { .. }
                if forgotten =>
            {
                Err(TxnError::InvalidProducerIdMapping)
            }
            TxnRequest::InitProducerId { bump_from } => self.init_producer_id(t, bump_from),
            TxnRequest::AddPartitionsToTxn { epoch, partitions, .. } => {
                let timeout = self.model.producers[p as usize].transaction_timeout_ms;
                self.add_partitions(t, epoch, partitions, timeout)
            }
            TxnRequest::EndTxn { epoch, commit, .. } => self.end_txn(t, epoch, commit),
            TxnRequest::AddOffsets { producer_id, epoch, group, generation, member, offsets } => {
                let timeout = self.model.producers[p as usize].transaction_timeout_ms;
                self.add_offsets(t, producer_id, epoch, (group, generation, member), offsets, timeout)
            }
        };
        let reply = reply.unwrap_or_else(|error| TxnReply::Err { request, error });
        self.send(Event::TxnResponse { producer: p, inc, reply });
    }

    fn init_producer_id(&mut self, t: u32, bump_from: Option<u16>) -> Result<TxnReply, TxnError> {
        let meta = &self.world.txns[t as usize];
        // KIP-360: only the current producer may bump its own epoch (after its abort completed).
        // An id the coordinator forgot gets fresh metadata with no epoch, which any expected
        // producer id and epoch passes (`handleInitProducerId`, `isValidProducerId`).
        if !meta.forgotten && bump_from.is_some_and(|e| e != meta.epoch) {
            return Err(TxnError::ProducerFenced);
        }
        match meta.state {
            TxnState::Ongoing => {
                // A new instance: fence the old epoch and abort what it left open; the caller
                // retries on CONCURRENT_TRANSACTIONS until the abort completes.
                self.fence_and_abort(t, "aborted: fenced by a new instance (initTransactions)");
                Err(TxnError::Concurrent)
            }
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => Err(TxnError::Concurrent),
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                if !meta.initialized {
                    self.world.next_producer_id += 1;
                    let pid = self.world.next_producer_id - 1;
                    let meta = &mut self.world.txns[t as usize];
                    meta.producer_id = pid;
                    meta.epoch = 0;
                    meta.initialized = true;
                } else {
                    self.world.txns[t as usize].epoch += 1;
                }
                let now = self.clock;
                let meta = &mut self.world.txns[t as usize];
                meta.state = TxnState::Empty;
                meta.forgotten = false;
                meta.initialized_at = now;
                Ok(TxnReply::Initialized { producer_id: meta.producer_id, epoch: meta.epoch })
            }
        }
    }

    fn add_partitions(
        &mut self,
        t: u32,
        epoch: u16,
        partitions: Vec<PartitionIdx>,
        timeout: u64,
    ) -> Result<TxnReply, TxnError> {
        let now = self.clock;
        let meta = &mut self.world.txns[t as usize];
        if epoch < meta.epoch {
            return Err(TxnError::ProducerFenced);
        }
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(TxnError::Concurrent);
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                meta.state = TxnState::Ongoing;
                meta.started_at = now;
                meta.partitions.clear();
                meta.history.push(TxnRecord {
                    producer_id: meta.producer_id,
                    epoch: meta.epoch,
                    partitions: Vec::new(),
                    transitions: vec![(TxnState::Ongoing, now)],
                    outcome: "open".into(),
                });
                let scan = self.next_abort_scan(t, now + timeout);
                self.queue.push(scan, Event::TxnTimeout { txn: t, started_at: now }, false);
            }
            TxnState::Ongoing => {}
        }
        let meta = &mut self.world.txns[t as usize];
        for p in &partitions {
            meta.partitions.insert(*p);
            let rec = meta.history.last_mut().expect("open transaction");
            if !rec.partitions.contains(p) {
                rec.partitions.push(*p);
            }
        }
        Ok(TxnReply::Added { partitions })
    }

    /// Transaction partition verification before a transactional produce is appended
    /// (`ReplicaManager.maybeStartTransactionVerificationForPartitions` through
    /// `AddPartitionsToTxnManager`), skipped when the log already has the producer's
    /// transaction open at this epoch (`UnifiedLog.hasOngoingTransaction`). 3.6 to 3.9 (KIP-890
    /// part 1, `transaction.partition.verification.enable` true) only verify
    /// (`TransactionCoordinator.handleVerifyPartitionsInTransaction`): the partition must be in
    /// the ongoing transaction of this epoch, or the write would open a transaction the
    /// coordinator knows nothing of (a hanging transaction); transactions v2 (KIP-890 part 2,
    /// 4.0) add the partition, verifyOnly false. scn makes the leader's request to the
    /// coordinator in the same step: no round trip between the two brokers, though a cut link
    /// between them fails it.
    pub(super) fn verify_partition_for_produce(
        &mut self,
        p: u32,
        leader: BrokerId,
        part: PartitionIdx,
        (pid, epoch): (u32, u16),
    ) -> Result<(), TxnError> {
        let replica = self.world.partitions[part as usize].replica(leader).expect("the leader's replica");
        if replica.ongoing.contains_key(&pid) && replica.producers.get(&pid).is_some_and(|e| e.epoch == epoch) {
            return Ok(());
        }
        let cfg = &self.model.producers[p as usize];
        let (id, timeout) = (cfg.transactional_id.as_deref().expect("transactional"), cfg.transaction_timeout_ms);
        let t = self.txn_index(id);
        let Some(coordinator) = self.coordinator_broker(t) else { return Err(TxnError::CoordinatorNotAvailable) };
        if coordinator != leader && self.link_is_cut(Node::Broker(leader), Node::Broker(coordinator)) {
            return Err(TxnError::CoordinatorNotAvailable);
        }
        let meta = &self.world.txns[t as usize];
        if meta.forgotten || meta.producer_id != pid {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if self.model.cluster.transactions_v2() {
            return self.add_partitions(t, epoch, vec![part], timeout).map(|_| ());
        }
        if meta.epoch != epoch {
            return Err(TxnError::ProducerFenced);
        }
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => Err(TxnError::Concurrent),
            TxnState::Ongoing if meta.partitions.contains(&part) => Ok(()),
            _ => Err(TxnError::InvalidTxnState),
        }
    }

    /// AddOffsetsToTxn + TxnOffsetCommit: the group coordinator keeps the offsets pending
    /// until the transaction's marker; a member no longer in the group's generation is refused.
    fn add_offsets(
        &mut self,
        t: u32,
        pid: u32,
        epoch: u16,
        (group, generation, member): (u32, u32, u32),
        offsets: Vec<(PartitionIdx, u64)>,
        timeout: u64,
    ) -> Result<TxnReply, TxnError> {
        self.add_partitions(t, epoch, Vec::new(), timeout)?;
        // KIP-848 (4.0): the member's epoch, not the group's (`ConsumerGroup.validateOffsetCommit`
        // for a transactional commit answers STALE_MEMBER_EPOCH as ILLEGAL_GENERATION).
        let modern = self.modern_group(group as usize);
        let g = &mut self.world.groups[group as usize];
        let current =
            |m: &super::world::Member| if modern { m.epoch == generation } else { g.generation == generation };
        if !g.members.iter().any(|m| m.id == member && !m.crashed && current(m)) {
            return Err(TxnError::IllegalGeneration);
        }
        g.pending_offsets.insert(pid, offsets);
        self.world.txns[t as usize].offsets_group = Some(group);
        Ok(TxnReply::OffsetsAdded)
    }

    fn end_txn(&mut self, t: u32, epoch: u16, commit: bool) -> Result<TxnReply, TxnError> {
        if self.model.cluster.transactions_v2() {
            return self.end_txn_v2(t, epoch, commit);
        }
        // `TransactionCoordinator.endTransaction` (3.6 to 3.9): the client's epoch must be the
        // coordinator's; while the markers are being written (Prepare*, with CompleteX
        // pending) the answer is CONCURRENT_TRANSACTIONS, so a retried EndTxn returns only once
        // the transaction is complete; a decision already on record is answered NONE, and
        // one that contradicts it (or an EndTxn with no transaction) INVALID_TXN_STATE.
        let meta = &self.world.txns[t as usize];
        if epoch < meta.epoch {
            return Err(TxnError::ProducerFenced);
        }
        match (meta.state, commit) {
            (TxnState::Ongoing, _) => {
                let outcome = if commit { "committed" } else { "aborted by the application" };
                self.prepare(t, commit, outcome);
                Ok(TxnReply::Ended { commit, epoch: None })
            }
            (TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence, _) => {
                Err(TxnError::Concurrent)
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                Ok(TxnReply::Ended { commit, epoch: None })
            }
            _ => Err(TxnError::InvalidTxnState),
        }
    }

    /// EndTxn under transactions v2 (`TransactionCoordinator.endTransaction`, 4.0.0): every
    /// EndTxn that ends a transaction bumps the epoch, so a retry carries the epoch one below
    /// the coordinator's and a new EndTxn the coordinator's own (the table of KAFKA-14563).
    /// While markers are being written the answer is CONCURRENT_TRANSACTIONS, whatever the
    /// epoch (KAFKA-18464, 4.0.0). An abort with nothing in the transaction (the client sent
    /// records that never reached a leader) is an empty abort: the epoch is bumped, no marker
    /// is written.
    fn end_txn_v2(&mut self, t: u32, epoch: u16, commit: bool) -> Result<TxnReply, TxnError> {
        let meta = &self.world.txns[t as usize];
        let (state, current) = (meta.state, meta.epoch);
        let retry = current == epoch.wrapping_add(1);
        if matches!(state, TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence) {
            return Err(TxnError::Concurrent);
        }
        let valid = match state {
            TxnState::CompleteCommit | TxnState::CompleteAbort => retry || epoch == current,
            _ => epoch == current,
        };
        if !valid {
            return Err(TxnError::ProducerFenced);
        }
        match (state, commit) {
            (TxnState::Ongoing, _) => {
                let outcome = if commit { "committed" } else { "aborted by the application" };
                self.bump_epoch_v2(t);
                self.prepare(t, commit, outcome);
                Ok(TxnReply::Ended { commit, epoch: Some(self.world.txns[t as usize].epoch) })
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) if retry => {
                Ok(TxnReply::Ended { commit, epoch: Some(current) })
            }
            (TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort, false) if !retry => {
                self.bump_epoch_v2(t);
                let meta = &mut self.world.txns[t as usize];
                meta.state = TxnState::CompleteAbort;
                let epoch = meta.epoch;
                let coordinator_label = self.coordinator_label(t);
                self.log(|_| {
                    let what = format!("nothing in the transaction: CompleteAbort, no marker; epoch now {epoch}");
                    (coordinator_label, "empty abort".into(), String::new(), what)
                });
                Ok(TxnReply::Ended { commit, epoch: Some(epoch) })
            }
            _ => Err(TxnError::InvalidTxnState),
        }
    }

    /// `TransactionMetadata.prepareAbortOrCommit` with `TV_2`: the markers and the producer go
    /// on with the next epoch. (An epoch past 32766 would move to a new producer id,
    /// `isProducerEpochExhausted`; scn does not model that.)
    fn bump_epoch_v2(&mut self, t: u32) {
        let meta = &mut self.world.txns[t as usize];
        meta.epoch = meta.epoch.saturating_add(1);
    }

    /// Writes the decision (the commit point) and starts writing the markers.
    fn prepare(&mut self, t: u32, commit: bool, outcome: &str) {
        let now = self.clock;
        let meta = &mut self.world.txns[t as usize];
        let state = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
        meta.state = state;
        meta.marker_epoch = meta.epoch;
        meta.pending_markers = meta.partitions.clone();
        if let Some(rec) = meta.history.last_mut() {
            rec.transitions.push((state, now));
            rec.outcome = outcome.to_string();
        }
        let coordinator_label = self.coordinator_label(t);
        self.log(|_| {
            (
                coordinator_label,
                "decision".into(),
                String::new(),
                format!("{} written to the transaction log", state.name()),
            )
        });
        let parts: Vec<PartitionIdx> = self.world.txns[t as usize].pending_markers.iter().copied().collect();
        if parts.is_empty() {
            self.complete(t);
        }
        for p in parts {
            self.send_marker(t, p);
        }
    }

    /// PrepareEpochFence: bump the epoch so the old producer is fenced, then abort. Under
    /// transactions v2 the abort bumps it once more (4.0.0: `endTransaction` sets the fenced
    /// epoch, then `prepareAbortOrCommit` adds one; KAFKA-19367 made it one bump in 4.1), so
    /// the old producer's own EndTxn, one epoch behind neither, is fenced too.
    fn fence_and_abort(&mut self, t: u32, outcome: &str) {
        let now = self.clock;
        let meta = &mut self.world.txns[t as usize];
        meta.epoch = meta.epoch.saturating_add(1);
        if let Some(rec) = meta.history.last_mut() {
            rec.transitions.push((TxnState::PrepareEpochFence, now));
        }
        if self.model.cluster.transactions_v2() {
            self.bump_epoch_v2(t);
        }
        self.prepare(t, false, outcome);
    }

    fn send_marker(&mut self, t: u32, p: PartitionIdx) {
        let meta = &self.world.txns[t as usize];
        let (producer_id, epoch, commit) = (meta.producer_id, meta.marker_epoch, meta.state == TxnState::PrepareCommit);
        match self.world.partitions[p as usize].leader.filter(|b| self.world.broker(*b).alive) {
            Some(broker) => self.send(Event::MarkerArrive { txn: t, partition: p, broker, producer_id, epoch, commit }),
            None => self.retry_marker(t, p, MARKER_RETRY_MS),
        }
    }

    /// The coordinator tries the marker again after `delay` (as a failed attempt's answer). With
    /// nothing pending that could bring back a leader or a link, the retries go on idle: they
    /// do not keep the run going.
    pub(super) fn retry_marker(&mut self, t: u32, p: PartitionIdx, delay: u64) {
        let failed = Event::MarkerResponse { txn: t, partition: p, ok: false, from: None };
        let event = match self.faults_pending() {
            true => failed,
            false => Event::Resend { event: Box::new(failed), after_cut: false, futile: true, reclaim: false },
        };
        self.queue.push(self.clock + delay, event, false);
    }

    /// A partition leader appends the control record (WriteTxnMarkers).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_marker_arrive(
        &mut self,
        t: u32,
        p: PartitionIdx,
        broker: BrokerId,
        pid: u32,
        epoch: u16,
        commit: bool,
    ) {
        let pstate = &self.world.partitions[p as usize];
        if !self.world.broker(broker).alive || pstate.leader != Some(broker) {
            self.send(Event::MarkerResponse { txn: t, partition: p, ok: false, from: Some(broker) });
            return;
        }
        let ri = pstate.replica_index(broker).expect("leader replica");
        // KafkaApis.handleWriteTxnMarkersRequest appends with requiredAcks = -1: below the
        // (effective) min ISR the leader refuses it (NOT_ENOUGH_REPLICAS) and the coordinator
        // retries it for as long as it takes; the transaction stays in Prepare*.
        let isr = match self.zombie_view(broker, p) {
            Some(view) => view.isr.count_ones(),
            None => pstate.isr_size(),
        };
        let min = self.min_isr(p);
        if isr < min {
            self.log(|sim| {
                (
                    format!("broker {broker}"),
                    format!("append to {}", sim.model.partition_name(p)),
                    String::new(),
                    format!("marker rejected: NotEnoughReplicas (isr {isr} < min.insync.replicas {min}); the coordinator retries"),
                )
            });
            self.world.txns[t as usize].markers_stuck = !self.faults_pending();
            self.retry_marker(t, p, MARKER_RETRY_MS);
            return;
        }
        self.world.txns[t as usize].markers_stuck = false;
        // Every partition of the transaction gets the marker, data from this epoch or not; a
        // marker sent again (after a timeout or a coordinator move) is appended again.
        {
            let marker = Record {
                msg: 0,
                producer_id: pid,
                producer_epoch: epoch,
                sequence: -1,
                leader_epoch: pstate.leader_epoch,
                batch_start: true,
                kind: if commit { Kind::CommitMarker } else { Kind::AbortMarker },
                marker_time: self.clock,
            };
            let replica = &mut self.world.partitions[p as usize].replicas[ri];
            let offset = replica.log_end_offset();
            replica.append(&[marker], &|_: &Record| unreachable!("a marker's footprint is its own"));
            self.log(|sim| {
                let what = if commit { "COMMIT marker" } else { "ABORT marker" };
                (
                    format!("broker {broker}"),
                    format!("append to {}", sim.model.partition_name(p)),
                    String::new(),
                    format!("{what} at offset {offset} (producer id {pid}, epoch {epoch})"),
                )
            });
            // It counts once the ISR has it: it waits in the purgatory like an acks=all batch.
            let w = PendingProduce {
                producer: 0,
                inc: 0,
                req: 0,
                broker,
                base_offset: offset,
                last_offset: offset,
                marker: Some((t, p)),
            };
            if self.zombie_view(broker, p).is_some() {
                // A deposed leader cut off from the controller: no follower fetches from it.
                self.world.brokers[(broker - 1) as usize].orphaned.push(w);
            } else {
                self.world.partitions[p as usize].pending.push(w);
            }
            self.after_append(p);
        }
    }

    pub(super) fn on_marker_response(&mut self, t: u32, p: PartitionIdx, ok: bool) {
        if !self.world.txns[t as usize].pending_markers.contains(&p) {
            return;
        }
        if !ok {
            // Re-send to whoever leads the partition now, once the coordinator is reachable.
            if self.coordinator_broker(t).is_some() {
                self.send_marker(t, p);
            } else {
                self.retry_marker(t, p, MARKER_RETRY_MS);
            }
            return;
        }
        self.world.txns[t as usize].pending_markers.remove(&p);
        if self.world.txns[t as usize].pending_markers.is_empty() {
            self.complete(t);
        }
    }

    fn complete(&mut self, t: u32) {
        let now = self.clock;
        let meta = &mut self.world.txns[t as usize];
        let state =
            if meta.state == TxnState::PrepareCommit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        meta.state = state;
        // The marker reaches __consumer_offsets too: pending offsets become committed (or go).
        if let Some(g) = meta.offsets_group.take() {
            let pid = meta.producer_id;
            let group = &mut self.world.groups[g as usize];
            if let Some(offsets) = group.pending_offsets.remove(&pid) {
                if state == TxnState::CompleteCommit {
                    // (TxnOffsetCommit carries no leader epoch here: the offsets a processor
                    // sends are plain `OffsetAndMetadata(offset)`.)
                    group.commit(&offsets, &[]);
                }
            }
        }
        let meta = &mut self.world.txns[t as usize];
        if let Some(rec) = meta.history.last_mut() {
            rec.transitions.push((state, now));
        }
        let coordinator_label = self.coordinator_label(t);
        self.log(|_| (coordinator_label, "markers written".into(), String::new(), state.name().to_string()));
    }

    /// The first run of the coordinator's "transaction-abort" task that finds a transaction
    /// whose deadline is `deadline` timed out. `TransactionCoordinator.startup` schedules it
    /// every `transaction.abort.timed.out.transaction.cleanup.interval.ms` from the broker's
    /// start, and `TransactionStateManager.timedOutTransactions` takes only transactions with
    /// `txnStartTimestamp + txnTimeoutMs < now` (Kafka 3.x), so a transaction can outlive its
    /// timeout by up to one interval and still commit.
    fn next_abort_scan(&self, t: u32, deadline: u64) -> u64 {
        let interval = self.model.cluster.txn_abort_scan_interval_ms;
        let start = self.coordinator_broker(t).map_or(0, |b| self.world.broker(b).started_at);
        let after = deadline.saturating_sub(start);
        start.saturating_add((after / interval + 1).saturating_mul(interval))
    }

    pub(super) fn on_txn_timeout(&mut self, t: u32, started_at: u64) {
        let meta = &self.world.txns[t as usize];
        if meta.state != TxnState::Ongoing || meta.started_at != started_at {
            return;
        }
        let timeout = self
            .model
            .producers
            .iter()
            .find(|p| p.transactional_id.as_deref() == Some(meta.transactional_id.as_str()))
            .map_or(0, |p| p.transaction_timeout_ms);
        // The coordinator may have moved (or be down) since the timer was set: the scan that
        // finds the transaction is the one of whichever broker hosts the coordinator now.
        let on_schedule = self.coordinator_broker(t).map(|b| {
            let start = self.world.broker(b).started_at;
            let interval = self.model.cluster.txn_abort_scan_interval_ms;
            self.clock > start && (self.clock - start) % interval == 0
        });
        if on_schedule != Some(true) {
            let next = match on_schedule {
                Some(_) => self.next_abort_scan(t, self.clock.max(started_at + timeout)),
                None => self.clock + self.model.cluster.txn_abort_scan_interval_ms,
            };
            self.queue.push(next, Event::TxnTimeout { txn: t, started_at }, false);
            return;
        }
        let coordinator_label = self.coordinator_label(t);
        self.log(|_| {
            (
                coordinator_label,
                "transaction timeout".into(),
                String::new(),
                format!(
                    "found by the periodic scan: open longer than transaction.timeout.ms ({timeout} ms); fence and abort"
                ),
            )
        });
        self.fence_and_abort(t, "aborted: transaction.timeout.ms expired (producer fenced)");
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{TxnError, TxnReply};
    use super::super::world::TxnState;
    use crate::sim::{Options, Sim};

    /// Runs `source` until its first transaction reaches `state`.
    fn until(model: &crate::model::Model, state: TxnState) -> Sim<'_> {
        let mut sim = Sim::new(model, &Options::default());
        while sim.world.txns[0].state != state {
            assert!(sim.step_once().is_none(), "the run ended before {state:?}");
        }
        sim
    }

    fn model(version: &str) -> crate::model::Model {
        let source = include_str!("../../scenarios/run/transactions-commit-abort.scn")
            .replace("  brokers 3\n", &format!("  brokers 3\n  kafka.version {version}\n"));
        crate::load(&source).expect("valid scenario")
    }

    /// EndTxn's answers, 3.x (`TransactionCoordinator.endTransaction`): while the markers
    /// are written a retry waits (CONCURRENT_TRANSACTIONS); once complete, the same decision
    /// is answered NONE and the other one INVALID_TXN_STATE; an old epoch is fenced.
    #[test]
    fn end_txn_answers_3x() {
        let m = model("3.9");
        let mut sim = until(&m, TxnState::PrepareCommit);
        let epoch = sim.world.txns[0].epoch;
        assert_eq!(sim.end_txn(0, epoch, true), Err(TxnError::Concurrent));
        let mut sim = until(&m, TxnState::CompleteCommit);
        assert_eq!(sim.end_txn(0, epoch, true), Ok(TxnReply::Ended { commit: true, epoch: None }));
        assert_eq!(sim.end_txn(0, epoch, false), Err(TxnError::InvalidTxnState));
        sim.world.txns[0].epoch += 1;
        assert_eq!(sim.end_txn(0, epoch, true), Err(TxnError::ProducerFenced));
    }

    /// Transaction verification (KIP-890 part 1, 3.6+): a write to a partition of the ongoing
    /// transaction passes, one to a partition not added (or after the transaction completed)
    /// is INVALID_TXN_STATE, one with another epoch is fenced.
    #[test]
    fn verification_of_transactional_writes() {
        let m = model("3.9");
        let mut sim = until(&m, TxnState::Ongoing);
        let meta = &sim.world.txns[0];
        let (pid, epoch) = (meta.producer_id, meta.epoch);
        let added = *meta.partitions.iter().next().expect("a partition added");
        let other = 1 - added;
        let leader = |sim: &Sim<'_>, p: u32| sim.world.partitions[p as usize].leader.expect("a leader");
        let (la, lo) = (leader(&sim, added), leader(&sim, other));
        assert_eq!(sim.verify_partition_for_produce(0, la, added, (pid, epoch)), Ok(()));
        assert_eq!(sim.verify_partition_for_produce(0, lo, other, (pid, epoch)), Err(TxnError::InvalidTxnState));
        assert_eq!(sim.verify_partition_for_produce(0, la, added, (pid, epoch + 1)), Err(TxnError::ProducerFenced));
        let mut sim = until(&m, TxnState::CompleteCommit);
        let (la, _) = (leader(&sim, added), lo);
        assert_eq!(sim.verify_partition_for_produce(0, la, added, (pid, epoch)), Err(TxnError::InvalidTxnState));
    }

    /// Transactions v2 (4.0.0, the table of KAFKA-14563): the commit bumped the epoch; a
    /// retry (one epoch behind) of the same decision gets NONE with the current epoch, of the
    /// other one INVALID_TXN_STATE; a new abort at the current epoch is an empty abort that
    /// bumps it again; a new commit with nothing in the transaction is INVALID_TXN_STATE; an
    /// epoch two behind is fenced.
    #[test]
    fn end_txn_answers_v2() {
        let m = model("4.0");
        let mut sim = until(&m, TxnState::PrepareCommit);
        let bumped = sim.world.txns[0].epoch;
        assert_eq!(sim.end_txn(0, bumped - 1, true), Err(TxnError::Concurrent), "markers still being written");
        let mut sim = until(&m, TxnState::CompleteCommit);
        let retry = bumped - 1;
        assert_eq!(sim.end_txn(0, retry, true), Ok(TxnReply::Ended { commit: true, epoch: Some(bumped) }));
        assert_eq!(sim.end_txn(0, retry, false), Err(TxnError::InvalidTxnState));
        assert_eq!(sim.end_txn(0, bumped, true), Err(TxnError::InvalidTxnState));
        assert_eq!(sim.end_txn(0, bumped, false), Ok(TxnReply::Ended { commit: false, epoch: Some(bumped + 1) }));
        assert_eq!(sim.world.txns[0].state, TxnState::CompleteAbort);
        assert_eq!(sim.end_txn(0, bumped, false), Ok(TxnReply::Ended { commit: false, epoch: Some(bumped + 1) }));
        assert_eq!(sim.end_txn(0, retry, false), Err(TxnError::ProducerFenced));
    }
}
