//! A transactional producer's client side (Kafka's TransactionManager): initTransactions,
//! beginTransaction, AddPartitionsToTxn before the first send to a partition, flush then
//! EndTxn on commit, drop-and-wait then EndTxn on abort, and fencing.

use super::Sim;
use super::event::{Event, TxnError, TxnReply, TxnRequest};
use super::world::Failure;
use crate::model::{Client, MsgId, PartitionIdx};

impl Sim<'_> {
    pub(super) fn is_transactional(&self, p: u32) -> bool {
        self.model.producers[p as usize].transactional_id.is_some()
    }

    fn txn_request(&mut self, p: u32, request: TxnRequest) {
        let inc = self.world.producers[p as usize].incarnation;
        self.send(Event::TxnArrive { producer: p, inc, request });
    }

    /// initTransactions: nothing is sent until the coordinator hands out the epoch.
    pub(super) fn init_transactions(&mut self, p: u32) {
        if std::mem::replace(&mut self.world.producers[p as usize].txn.initializing, true) {
            return;
        }
        self.world.producers[p as usize].txn.ready = false;
        self.log(|sim| {
            (
                sim.client_name(Client::Producer(p)),
                "initTransactions()".into(),
                String::new(),
                "InitProducerId sent".into(),
            )
        });
        self.txn_request(p, TxnRequest::InitProducerId { bump_from: None });
    }

    pub(super) fn on_txn_response(&mut self, p: u32, inc: u32, reply: TxnReply) {
        if !self.producer_live(p, inc) || self.world.producers[p as usize].txn.fenced {
            return;
        }
        let name = self.client_name(Client::Producer(p));
        match reply {
            TxnReply::Initialized { producer_id, epoch } if self.world.producers[p as usize].txn.end_sent => {
                // abortTransaction() by an epoch bump (KIP-360): aborted, new epoch, sequences
                // from 0.
                let s = &mut self.world.producers[p as usize];
                s.take_epoch(producer_id, epoch);
                s.txn.bump_needed = false;
                self.log(|_| {
                    let what = format!("producer id {producer_id} now has epoch {epoch}; sequences restart at 0");
                    (name.clone(), "bump epoch".into(), String::new(), what)
                });
                self.txn_ended(p, false);
            }
            TxnReply::Initialized { producer_id, epoch } => {
                let s = &mut self.world.producers[p as usize];
                s.txn.retries = 0;
                s.take_epoch(producer_id, epoch);
                s.txn.ready = true;
                s.txn.initializing = false;
                self.log(|_| {
                    (
                        name,
                        "initTransactions()".into(),
                        String::new(),
                        format!("producer id {producer_id}, epoch {epoch}"),
                    )
                });
                self.schedule_next_send(p);
                // A processor's consumer half starts polling now.
                if let Some(pi) = self.model.producers[p as usize].processor {
                    let c = self.model.processors[pi as usize].consumer;
                    let cinc = self.world.consumers[c as usize].incarnation;
                    if self.world.consumers[c as usize].phase == super::world::Phase::Starting {
                        self.queue.push(self.clock, Event::ConsumerStep { consumer: c, inc: cinc }, false);
                    }
                }
            }
            TxnReply::Added { partitions } => {
                let s = &mut self.world.producers[p as usize];
                // (An answer for a transaction that already ended is stale.)
                if !partitions.iter().any(|part| s.txn.adding.contains(part)) {
                    return;
                }
                s.txn.started = true;
                s.txn.retries = 0;
                for part in &partitions {
                    s.txn.adding.remove(part);
                    s.txn.added.insert(*part);
                }
                self.drain(p);
                // EndTxn waits for AddPartitionsToTxn (TransactionManager sends one request at a
                // time, in priority order).
                self.try_end_txn(p);
            }
            TxnReply::Ended { commit, epoch: Some(epoch) } => {
                // Transactions v2 (4.0, `TransactionManager.EndTxnHandler`): the answer carries
                // the epoch the coordinator bumped to; the producer takes it and starts its
                // sequences again at 0. No InitProducerId bump is needed after an abort, the
                // server bumped already.
                let what = if commit { "commitTransaction()" } else { "abortTransaction()" };
                let s = &mut self.world.producers[p as usize];
                let producer_id = s.producer_id;
                s.take_epoch(producer_id, epoch);
                s.txn.bump_needed = false;
                self.log(|_| {
                    let how = if commit { "committed" } else { "aborted" };
                    (name, what.into(), String::new(), format!("{how}; epoch now {epoch} (transactions v2)"))
                });
                self.txn_ended(p, commit);
            }
            TxnReply::Ended { commit, epoch: None } => {
                let what = if commit { "commitTransaction()" } else { "abortTransaction()" };
                let s = &self.world.producers[p as usize];
                if !commit && s.txn.bump_needed {
                    // KIP-360: a sequence number it cannot resolve: after the abort, the producer
                    // bumps its epoch (InitProducerId with its current one) and restarts its
                    // sequences; the transaction ends when the new epoch arrives.
                    let epoch = s.producer_epoch;
                    self.log(|_| (name, what.into(), String::new(), "aborted; bumping the epoch (KIP-360)".into()));
                    self.txn_request(p, TxnRequest::InitProducerId { bump_from: Some(epoch) });
                    return;
                }
                self.log(|_| {
                    (name, what.into(), String::new(), if commit { "committed".into() } else { "aborted".into() })
                });
                self.txn_ended(p, commit);
            }
            TxnReply::OffsetsAdded => {
                self.world.producers[p as usize].txn.started = true;
                self.processor_offsets_added(p);
            }
            TxnReply::Err { error: TxnError::IllegalGeneration, .. } => {
                // CommitFailedException: the group moved on; the transaction can only abort.
                let why = "failed: ILLEGAL_GENERATION (CommitFailedException); aborting";
                self.log(|_| (name, "sendOffsetsToTransaction()".into(), String::new(), why.into()));
                // AddOffsetsToTxn went through (the coordinator has the transaction open); the
                // TxnOffsetCommit was refused.
                let txn = &mut self.world.producers[p as usize].txn;
                txn.abortable = true;
                txn.started = true;
                self.processor_offsets_added(p);
            }
            TxnReply::Err { error: TxnError::ProducerFenced, .. } => self.producer_fenced(p, Failure::ProducerFenced),
            TxnReply::Err { error: TxnError::InvalidTxnState, .. } => self.producer_fenced(p, Failure::InvalidTxnState),
            TxnReply::Err { request, error: TxnError::InvalidProducerIdMapping } => self.pid_unmapped(p, request),
            TxnReply::Err { request, error } => {
                // CONCURRENT_TRANSACTIONS / COORDINATOR_NOT_AVAILABLE are retriable, with
                // the retry backoff (exponential from 3.7, KIP-580).
                let s = &mut self.world.producers[p as usize];
                s.txn.retries += 1;
                let cfg = &self.model.producers[p as usize];
                let backoff =
                    self.model.cluster.retry_backoff(cfg.retry_backoff_ms, cfg.retry_backoff_max_ms, s.txn.retries);
                self.log(|_| {
                    (
                        name,
                        "transaction request".into(),
                        String::new(),
                        format!("{}; retry in {backoff} ms", error.name()),
                    )
                });
                let inc = self.world.producers[p as usize].incarnation;
                let event = Event::TxnArrive { producer: p, inc, request };
                let id = self.model.producers[p as usize].transactional_id.as_deref();
                let stuck = id.is_some_and(|id| self.world.txns[self.txn_index(id) as usize].markers_stuck);
                if error == TxnError::Concurrent && stuck && !self.faults_pending() {
                    // Waiting on a transaction that cannot complete: it does not keep the run going.
                    let resend =
                        Event::Resend { event: Box::new(event), after_cut: false, futile: true, reclaim: false };
                    self.queue.push(self.clock + backoff, resend, false);
                } else {
                    self.schedule_resend(self.clock + backoff, event, false, false);
                }
            }
        }
    }

    /// The transaction completed (committed, or aborted): the next one may begin.
    fn txn_ended(&mut self, p: u32, commit: bool) {
        let s = &mut self.world.producers[p as usize];
        s.txn.retries = 0;
        if let Some(t) = s.txn.current.take() {
            s.txn.done.insert(t);
        }
        s.txn.ending = None;
        s.txn.end_sent = false;
        s.txn.abortable = false;
        s.txn.unmapped = false;
        s.txn.started = false;
        s.txn.added.clear();
        s.txn.adding.clear();
        self.schedule_next_send(p);
        self.processor_txn_ended(p, commit);
    }

    /// beginTransaction, when `msg` is the first send of a transaction block.
    pub(super) fn begin_if_needed(&mut self, p: u32, msg: MsgId) {
        let Some(t) = self.model.txn_of(msg) else { return };
        if self.world.producers[p as usize].txn.current == Some(t) {
            return;
        }
        self.world.producers[p as usize].txn.current = Some(t);
        self.log(|sim| {
            (
                sim.client_name(Client::Producer(p)),
                "beginTransaction()".into(),
                String::new(),
                format!("transaction {}", t + 1),
            )
        });
    }

    /// After the last send of a block the application calls commit or abort and waits.
    /// Returns whether it is now waiting.
    pub(super) fn end_if_last(&mut self, p: u32, msg: MsgId) -> bool {
        let Some(t) = self.model.txn_of(msg) else { return false };
        let spec = &self.model.producers[p as usize].transactions[t as usize];
        if msg + 1 != spec.end_msg {
            return false;
        }
        let commit = spec.commit;
        self.world.producers[p as usize].txn.ending = Some(commit);
        self.log(|sim| {
            let what = if commit { "commitTransaction()" } else { "flush(), abortTransaction()" };
            let how = if commit { "flushing, then EndTxn(COMMIT)" } else { "flushing, then EndTxn(ABORT)" };
            (sim.client_name(Client::Producer(p)), what.into(), String::new(), how.into())
        });
        self.flush(p);
        self.try_end_txn(p);
        true
    }

    /// The flush that commitTransaction / abortTransaction start (`RecordAccumulator.beginFlush`):
    /// batches still lingering (linger.ms) are sent now.
    pub(super) fn flush(&mut self, p: u32) {
        if self.model.producers[p as usize].linger_ms > 0 {
            self.drain(p);
        }
    }

    /// Sends EndTxn once every record of the transaction has been answered.
    pub(super) fn try_end_txn(&mut self, p: u32) {
        let s = &self.world.producers[p as usize];
        let Some(mut commit) = s.txn.ending else { return };
        if s.txn.end_sent || !s.batches.is_empty() || !s.in_flight.is_empty() || !s.txn.adding.is_empty() {
            return;
        }
        if commit && s.txn.abortable {
            // A record of the transaction failed: commitTransaction fails, the transaction can
            // only be aborted (an abortable error).
            commit = false;
            self.log(|sim| {
                (
                    sim.client_name(Client::Producer(p)),
                    "commitTransaction()".into(),
                    String::new(),
                    "failed: a record of the transaction failed; aborting".into(),
                )
            });
            // The application is told: the block's records (acknowledged or not) failed.
            let cfg = &self.model.producers[p as usize];
            let s = &self.world.producers[p as usize];
            if let (Some(t), None) = (s.txn.current, cfg.processor) {
                let spec = &cfg.transactions[t as usize];
                for m in spec.first_msg..spec.end_msg.min(cfg.first_msg + s.next_send) {
                    self.world.messages[m as usize].fail(Failure::CommitFailed);
                }
            }
        }
        let s = &mut self.world.producers[p as usize];
        if s.txn.unmapped {
            // `TransactionManager.beginCompletingTransaction` (3.9): after
            // InvalidPidMappingException no EndTxn, the coordinator would refuse it; the abort
            // is InitProducerId with the current producer id and epoch, which gets a new id.
            s.txn.end_sent = true;
            let epoch = s.producer_epoch;
            self.log(|sim| {
                let why = "aborting: no EndTxn after INVALID_PRODUCER_ID_MAPPING; InitProducerId for a new producer id";
                (sim.client_name(Client::Producer(p)), "abortTransaction()".into(), String::new(), why.into())
            });
            self.txn_request(p, TxnRequest::InitProducerId { bump_from: Some(epoch) });
            return;
        }
        if !s.txn.started && s.txn.adding.is_empty() {
            // Nothing of it reached the coordinator: TransactionManager completes it locally,
            // without EndTxn.
            let what = if commit { "commitTransaction()" } else { "abortTransaction()" };
            let how = if commit { "committed" } else { "aborted" };
            self.log(|sim| {
                let why = format!("{how} locally: the coordinator never heard of it (no EndTxn)");
                (sim.client_name(Client::Producer(p)), what.into(), String::new(), why)
            });
            self.txn_ended(p, commit);
            return;
        }
        s.txn.end_sent = true;
        s.txn.ending = Some(commit);
        let (producer_id, epoch) = (s.producer_id, s.producer_epoch);
        self.txn_request(p, TxnRequest::EndTxn { producer_id, epoch, commit });
        if commit {
            self.processor_commit_requested(p);
        }
    }

    /// A transactional producer sends to a partition only once the coordinator added it to the
    /// transaction. Returns whether the partition must wait.
    pub(super) fn txn_holds_partition(&mut self, p: u32, part: PartitionIdx) -> bool {
        if !self.is_transactional(p) {
            return false;
        }
        let s = &mut self.world.producers[p as usize];
        if s.txn.added.contains(&part) {
            return false;
        }
        if s.txn.unmapped {
            // In the abortable error state a send() fails at once (`maybeFailWithError`).
            self.fail_unadded(p, part);
            return true;
        }
        if self.model.cluster.transactions_v2() {
            // Transactions v2 (`TransactionManager.maybeAddPartition`, 4.0): no AddPartitionsToTxn;
            // the partition is in the transaction for the client at once (`transactionStarted`,
            // so EndTxn is sent), and its leader adds it when the first produce arrives.
            s.txn.added.insert(part);
            s.txn.started = true;
            return false;
        }
        if s.txn.adding.insert(part) {
            let (producer_id, epoch) = (s.producer_id, s.producer_epoch);
            self.txn_request(p, TxnRequest::AddPartitionsToTxn { producer_id, epoch, partitions: vec![part] });
        }
        true
    }

    /// ProducerFenced / InvalidProducerEpoch: a newer instance owns the transactional id; this
    /// one must stop, and what it had not committed fails.
    pub(super) fn producer_fenced(&mut self, p: u32, why: Failure) {
        let error = why.name();
        let s = &mut self.world.producers[p as usize];
        if s.txn.fenced {
            return;
        }
        s.txn.fenced = true;
        s.alive = false;
        let mut pending: Vec<MsgId> = s.batches.values().flat_map(|b| b.msgs.iter().copied()).collect();
        // commitTransaction can no longer succeed: every record of the open transaction fails.
        let cfg = &self.model.producers[p as usize];
        if let (Some(t), None) = (s.txn.current, cfg.processor) {
            let spec = &cfg.transactions[t as usize];
            let sent_end = cfg.first_msg + s.next_send;
            pending.extend(spec.first_msg..spec.end_msg.min(sent_end));
        }
        s.batches.clear();
        s.queues.clear();
        s.ready.clear();
        s.in_flight.clear();
        self.arm_batch_expiry(p);
        // A record already acknowledged had its send() callback succeed (KafkaProducer's
        // future completed): it is not failed, its transaction is aborted by the coordinator.
        for m in pending {
            let st = &mut self.world.messages[m as usize];
            if st.acked_at().is_none() {
                st.fail(why);
            }
        }
        // Whose bump fenced it: its own transaction timing out, or a newer instance.
        let epoch = self.world.producers[p as usize].producer_epoch;
        let timed_out = self.model.producers[p as usize]
            .transactional_id
            .as_deref()
            .and_then(|id| self.world.txns[self.txn_index(id) as usize].history.last())
            .is_some_and(|r| r.epoch == epoch && r.outcome.contains("transaction.timeout.ms"));
        // KIP-588 does not save it in 3.x: the error is abortable, but the abortTransaction()
        // that follows sends EndTxn(ABORT) with the old epoch, which
        // `TransactionCoordinator.endTransaction` (3.6 to 3.9) answers PRODUCER_FENCED: client
        // requests need the exact epoch. Transactions v2 would take an EndTxn one epoch behind
        // as a retry, but 4.0.0's timeout abort bumps the epoch twice (KAFKA-19367, fixed in
        // 4.1), so it is fenced there too.
        let v2 = self.model.cluster.transactions_v2();
        let why = if why == Failure::InvalidTxnState {
            "the coordinator refused its EndTxn (INVALID_TXN_STATE, fatal)"
        } else if timed_out && v2 {
            "its transaction outlived transaction.timeout.ms and the coordinator bumped the epoch \
             twice (fence, then the abort's own bump: 4.0.0); its abort, two epochs behind, gets PRODUCER_FENCED"
        } else if timed_out {
            "its transaction outlived transaction.timeout.ms and the coordinator bumped the epoch; \
             its abort, with the old epoch, gets PRODUCER_FENCED (no KIP-588 recovery in 3.x)"
        } else {
            "a newer instance owns the transactional id"
        };
        self.log(|sim| {
            (
                sim.client_name(Client::Producer(p)),
                "fenced".into(),
                String::new(),
                format!("{error}: {why}; this producer stops"),
            )
        });
        // A fenced processor instance is a zombie: it stops for good.
        if let Some(pi) = self.model.producers[p as usize].processor {
            let c = self.model.processors[pi as usize].consumer;
            self.fail_consumer(c);
        }
    }

    /// What a restarted transactional application sends again: every record of the
    /// transactions that never completed, from each one's start.
    pub(super) fn transactional_resend(&self, p: u32) -> Vec<MsgId> {
        let cfg = &self.model.producers[p as usize];
        let s = &self.world.producers[p as usize];
        let sent_end = cfg.first_msg + s.next_send;
        cfg.transactions
            .iter()
            .enumerate()
            .filter(|(t, _)| !s.txn.done.contains(&(*t as u32)))
            .flat_map(|(_, spec)| spec.first_msg..spec.end_msg.min(sent_end))
            .collect()
    }

    /// INVALID_PRODUCER_ID_MAPPING (the coordinator forgot the transactional id,
    /// `transactional.id.expiration.ms`): `TransactionManager.AddPartitionsToTxnHandler` (3.9)
    /// calls `abortableErrorIfPossible`, an abortable error with an epoch bump required. The
    /// records waiting for the partition fail with it, so does every later send() of the
    /// transaction; the application's abortTransaction() gets the producer a new producer id.
    fn pid_unmapped(&mut self, p: u32, request: TxnRequest) {
        let txn = &mut self.world.producers[p as usize].txn;
        txn.abortable = true;
        txn.bump_needed = true;
        txn.unmapped = true;
        self.log(|sim| {
            let why = "INVALID_PRODUCER_ID_MAPPING: the coordinator forgot the transactional id (transactional.id.expiration.ms); the transaction can only abort";
            (sim.client_name(Client::Producer(p)), "transaction request".into(), String::new(), why.into())
        });
        match request {
            TxnRequest::AddPartitionsToTxn { partitions, .. } => {
                for part in partitions {
                    self.world.producers[p as usize].txn.adding.remove(&part);
                    self.fail_unadded(p, part);
                }
            }
            TxnRequest::AddOffsets { .. } => self.processor_offsets_added(p),
            _ => {}
        }
        self.try_end_txn(p);
        self.processor_flushed(p);
    }

    /// The batches queued for a partition the transaction could not add fail.
    fn fail_unadded(&mut self, p: u32, part: PartitionIdx) {
        let s = &mut self.world.producers[p as usize];
        let ids: Vec<u32> = s.queues.get_mut(&part).map(|q| q.drain(..).collect()).unwrap_or_default();
        s.ready.remove(&part);
        let msgs: Vec<MsgId> = ids.iter().filter_map(|id| s.batches.remove(id)).flat_map(|b| b.msgs).collect();
        if msgs.is_empty() {
            return;
        }
        for m in &msgs {
            self.world.messages[*m as usize].fail(Failure::InvalidPidMapping);
        }
        self.log(|sim| {
            let why = format!(
                "failed: InvalidPidMappingException ({} not added to the transaction)",
                sim.model.partition_name(part)
            );
            (sim.client_name(Client::Producer(p)), "error".into(), sim.values(msgs.iter().copied()), why)
        });
    }
}
