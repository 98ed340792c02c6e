//! Producer-id expiry: every log forgets the idempotence state of producer ids idle longer
//! than `producer.id.expiration.ms` (KIP-854), checked every
//! `producer.id.expiration.check.interval.ms`; a retry that comes after that is appended again.
//! Transactional-id expiry: the transaction coordinator forgets a transactional id idle longer
//! than `transactional.id.expiration.ms`.

use super::Sim;
use super::event::Event;
use super::world::TxnState;
use crate::model::{BrokerId, PartitionIdx};

impl Sim<'_> {
    /// A broker (at its start, or its restart) schedules its logs' expiration checks: the
    /// `UnifiedLog` constructor schedules PeriodicProducerExpirationCheck one interval after the
    /// log is loaded, then every interval (3.6-3.9). Only in runs long enough for a producer id
    /// to expire: the checks of a shorter run change nothing.
    pub(super) fn schedule_producer_expiration(&mut self, b: BrokerId) {
        let cluster = &self.model.cluster;
        if !cluster.producer_ids_may_expire(self.model.run_for_ms) {
            return;
        }
        let inc = self.world.broker(b).incarnation;
        let at = self.clock + cluster.producer_id_expiration_check_interval_ms;
        self.queue.push(at, Event::ProducerExpirationCheck { broker: b, inc }, true);
    }

    /// `UnifiedLog.removeExpiredProducers` on every log of the broker.
    pub(super) fn on_producer_expiration_check(&mut self, b: BrokerId, inc: u32) {
        let every = self.model.cluster.producer_id_expiration_check_interval_ms;
        if !self.rearm_broker_task(b, inc, every, Event::ProducerExpirationCheck { broker: b, inc }) {
            return;
        }
        self.expire_producers(b, "expire producer ids", "forgotten");
    }

    /// A restarted broker loads each log's producer state from its snapshot without the
    /// producer ids expired by now (`ProducerStateManager.loadFromSnapshot` filters
    /// `isProducerExpired`).
    pub(super) fn load_producer_state(&mut self, b: BrokerId) {
        if self.model.cluster.producer_id_expiration_ms < self.model.run_for_ms {
            self.expire_producers(b, "load producer state", "not loaded: expired");
        }
    }

    /// Removes the expired producer ids of every replica on `b`, one step per partition.
    fn expire_producers(&mut self, b: BrokerId, action: &str, what: &str) {
        let (now, expiration) = (self.clock, self.model.cluster.producer_id_expiration_ms);
        for part in 0..self.world.partitions.len() as PartitionIdx {
            let pstate = &mut self.world.partitions[part as usize];
            let Some(ri) = pstate.replica_index(b) else { continue };
            let gone = pstate.replicas[ri].remove_expired_producers(now, expiration);
            if gone.is_empty() {
                continue;
            }
            self.log(|sim| {
                let ids: Vec<String> =
                    gone.iter().map(|(pid, last)| format!("{pid} (last batch at {last} ms)")).collect();
                let noun = if gone.len() == 1 { "producer id" } else { "producer ids" };
                (
                    format!("broker {b}"),
                    format!("{action} of {}", sim.model.partition_name(part)),
                    String::new(),
                    format!(
                        "{noun} {} {what}: idle for producer.id.expiration.ms ({expiration} ms) or more; a later batch is not checked for duplicates",
                        ids.join(", ")
                    ),
                )
            });
        }
    }

    /// `TransactionStateManager` schedules removeExpiredTransactionalIds every
    /// `transaction.remove.expired.transaction.cleanup.interval.ms` from its broker's start
    /// (3.x); only in runs long enough for an id to expire.
    pub(super) fn schedule_txn_id_expiration(&mut self, b: BrokerId) {
        let cluster = &self.model.cluster;
        if self.world.txns.is_empty() || !cluster.transactional_ids_may_expire(self.model.run_for_ms) {
            return;
        }
        let inc = self.world.broker(b).incarnation;
        let at = self.clock + cluster.transactional_id_cleanup_interval_ms;
        self.queue.push(at, Event::TxnIdExpirationCheck { broker: b, inc }, true);
    }

    /// `TransactionStateManager.removeExpiredTransactionalIds` (KIP-98, 3.x): of the ids this
    /// broker coordinates, each in Empty, CompleteCommit or CompleteAbort whose
    /// `txnLastUpdateTimestamp` is `transactional.id.expiration.ms` old is removed (a tombstone
    /// in `__transaction_state`). Its producer's next AddPartitionsToTxn, AddOffsetsToTxn or
    /// EndTxn gets INVALID_PRODUCER_ID_MAPPING; its next InitProducerId a new producer id.
    pub(super) fn on_txn_id_expiration_check(&mut self, b: BrokerId, inc: u32) {
        let every = self.model.cluster.transactional_id_cleanup_interval_ms;
        if !self.rearm_broker_task(b, inc, every, Event::TxnIdExpirationCheck { broker: b, inc }) {
            return;
        }
        let (now, expiration) = (self.clock, self.model.cluster.transactional_id_expiration_ms);
        for t in 0..self.world.txns.len() as u32 {
            if self.coordinator_broker(t) != Some(b) {
                continue;
            }
            let meta = &self.world.txns[t as usize];
            let idle = matches!(meta.state, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort);
            let last =
                meta.history.last().and_then(|r| r.transitions.last()).map_or(0, |x| x.1).max(meta.initialized_at);
            if meta.forgotten || !meta.initialized || !idle || now < last + expiration {
                continue;
            }
            let meta = &mut self.world.txns[t as usize];
            meta.forgotten = true;
            meta.initialized = false;
            let (id, pid, epoch) = (meta.transactional_id.clone(), meta.producer_id, meta.epoch);
            self.log(|_| {
                (
                    format!("txn coordinator ({id} on broker {b})"),
                    "expire transactional id".into(),
                    String::new(),
                    format!(
                        "{id} (producer id {pid}, epoch {epoch}) removed: idle since {last} ms, transactional.id.expiration.ms ({expiration} ms)"
                    ),
                )
            });
        }
    }
}
