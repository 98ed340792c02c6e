//! Retention: each broker's log manager deletes old segments every
//! `log.retention.check.interval.ms` (`LogManager.cleanupLogs`), which raises the log start
//! offset; a fetch below it is OFFSET_OUT_OF_RANGE.

use super::Sim;
use super::event::Event;
use super::log::Deletion;
use crate::model::{BrokerId, PartitionIdx};

/// The admin client's `default.api.timeout.ms` (60000), which DeleteRecords sends as the
/// request's timeout (`KafkaAdminClient.deleteRecords`, 3.9).
const DELETE_RECORDS_TIMEOUT_MS: u64 = 60_000;

impl Sim<'_> {
    /// A broker's periodic task (a retention or producer-expiration check) is due: whether the
    /// broker incarnation `inc` that scheduled it still runs; if so, its next run is scheduled
    /// `every` ms later (Kafka's `KafkaScheduler` tasks die with the broker).
    pub(super) fn rearm_broker_task(&mut self, b: BrokerId, inc: u32, every: u64, next: Event) -> bool {
        let broker = self.world.broker(b);
        if !broker.alive || broker.incarnation != inc {
            return false;
        }
        self.queue.push(self.clock + every, next, true);
        true
    }

    /// Whether any topic's retention can delete records within the run (only then do brokers
    /// run their retention checks: the checks of a run that cannot delete change nothing).
    pub(super) fn retention_in_play(&self) -> bool {
        self.model.topics.iter().any(|t| t.log.may_delete(self.model.run_for_ms))
    }

    /// A broker process's periodic tasks (retention, producer-id and transactional-id expiry),
    /// scheduled at its start and restart, and again when a fenced broker registers anew: the
    /// tasks belong to an incarnation, which that re-registration bumps (its tasks then start
    /// over from the registration, where Kafka's keep their phase from the process start).
    pub(super) fn schedule_broker_tasks(&mut self, b: BrokerId) {
        self.schedule_retention(b);
        self.schedule_producer_expiration(b);
        self.schedule_txn_id_expiration(b);
    }

    /// A broker (at its start, or its restart) schedules its first retention check:
    /// `log.initial.task.delay.ms` (30 s) after it started, then one every interval.
    pub(super) fn schedule_retention(&mut self, b: BrokerId) {
        if !self.retention_in_play() {
            return;
        }
        let inc = self.world.broker(b).incarnation;
        let at = self.clock + self.model.cluster.log_initial_task_delay_ms;
        self.queue.push(at, Event::RetentionCheck { broker: b, inc }, true);
    }

    /// `LogManager.cleanupLogs`: every log on the broker deletes what retention no longer keeps
    /// (`UnifiedLog.deleteOldSegments`). Records the leader deletes are gone for every consumer
    /// that had not fetched them.
    pub(super) fn on_retention_check(&mut self, b: BrokerId, inc: u32) {
        let every = self.model.cluster.log_retention_check_interval_ms;
        if !self.rearm_broker_task(b, inc, every, Event::RetentionCheck { broker: b, inc }) {
            return;
        }
        for part in 0..self.world.partitions.len() as PartitionIdx {
            let pstate = &mut self.world.partitions[part as usize];
            let leads = pstate.leader == Some(b);
            let Some(fi) = pstate.replica_index(b) else { continue };
            let Some((before, after, why)) = pstate.replicas[fi].delete_old_segments(self.clock) else { continue };
            let why = why.into_iter().filter(|d| *d != Deletion::LogStart).max();
            if leads {
                self.records_deleted(part, b, before, after, why.unwrap_or(Deletion::LogStart));
            }
            self.log(|sim| {
                let cfg = &sim.model.topics[sim.model.partitions[part as usize].topic as usize].log;
                let reason = match why {
                    Some(Deletion::RetentionMs) => {
                        format!("segments older than retention.ms {} deleted", cfg.retention_ms.unwrap_or(0))
                    }
                    Some(Deletion::RetentionBytes) => format!(
                        "oldest segments deleted to keep the log within retention.bytes {}",
                        cfg.retention_bytes.unwrap_or(0)
                    ),
                    _ => "segments below the log start offset deleted".to_string(),
                };
                let r = sim.world.partitions[part as usize].replica(b).expect("replica");
                let msgs = r.log.range(before, after).filter(|r| !r.is_marker()).map(|r| r.msg);
                (
                    format!("broker {b}"),
                    format!("delete segments of {}", sim.model.partition_name(part)),
                    sim.values(msgs),
                    format!("log start offset {before} -> {after}: {reason}"),
                )
            });
        }
    }

    /// DeleteRecords (`ReplicaManager.deleteRecords` -> `Partition.deleteRecordsOnLeader`): the
    /// leader raises its log start offset to `before` at once, refusing an offset past its
    /// high watermark (OFFSET_OUT_OF_RANGE); followers follow at their next fetch, and the
    /// segments below go at each replica's next retention check. The answer waits in the
    /// leader's purgatory (`DelayedDeleteRecords`) until every live replica's log start offset,
    /// as their fetches report it, reached `before`, or the admin's `default.api.timeout.ms`
    /// (60 s) passed. The admin's round trip is folded in; nothing in a scenario waits on the
    /// answer, which only the trace shows (a run goes on until it came, `Sim::busy`).
    pub(super) fn delete_records(&mut self, part: PartitionIdx, before: u64) {
        let pstate = &self.world.partitions[part as usize];
        let leader = pstate.leader.filter(|b| self.world.broker(*b).alive && !self.world.broker(*b).paused);
        let result = match leader.and_then(|b| Some((b, pstate.replica(b)?))) {
            None => Err("no leader: NOT_LEADER_OR_FOLLOWER (the admin client retries until its timeout)".to_string()),
            Some((_, r)) if before > r.high_watermark => {
                Err(format!("OFFSET_OUT_OF_RANGE: offset {before} is past the high watermark {}", r.high_watermark))
            }
            Some((b, r)) if before <= r.log_start_offset => {
                Ok((b, format!("log start offset already {}: nothing to delete", r.log_start_offset)))
            }
            Some((b, r)) => {
                let from = r.log_start_offset;
                let fi = pstate.replica_index(b).expect("leader replica");
                self.world.partitions[part as usize].replicas[fi].maybe_increment_log_start_offset(before);
                self.records_deleted(part, b, from, before, Deletion::DeleteRecords);
                Ok((b, format!("log start offset {from} -> {before}")))
            }
        };
        if let Ok((b, _)) = result {
            self.world.pending_deletes.push((part, before, b, self.clock));
            let timeout = self.clock + DELETE_RECORDS_TIMEOUT_MS;
            // (Idle, `Event::is_idle`: the answer changes nothing in the run, so it does not
            // keep the run going.)
            self.queue.push(timeout, Event::DeleteRecordsTimeout { partition: part, before }, false);
        }
        self.log(|sim| {
            let (actor, what) = match result {
                Ok((b, what)) => (format!("broker {b}"), what),
                Err(what) => ("admin".to_string(), what),
            };
            (actor, format!("DeleteRecords {}", sim.model.partition_name(part)), String::new(), what)
        });
        self.try_complete_deletes(part);
    }

    /// `DelayedDeleteRecords.tryComplete`: answers the requests on `part` whose offset the low
    /// watermark reached (`Partition.lowWatermarkIfLeader`: the least log start offset of the
    /// leader and of the followers on unfenced brokers), or whose leader is no longer the leader.
    pub(super) fn try_complete_deletes(&mut self, part: PartitionIdx) {
        if !self.world.pending_deletes.iter().any(|d| d.0 == part) {
            return;
        }
        let pstate = &self.world.partitions[part as usize];
        let leader = pstate.leader;
        let low = leader.and_then(|l| pstate.replica(l)).map(|r| {
            // (`metadataCache.hasAliveBroker`: registered and not fenced, as the controller
            // knows it; a crashed broker counts until the controller fences it.)
            let live = |i: usize| {
                let b = pstate.replicas[i].broker;
                !self.world.broker(b).fenced && Some(b) != leader
            };
            (0..pstate.replicas.len())
                .filter(|&i| live(i))
                .map(|i| pstate.follower_log_start[i])
                .fold(r.log_start_offset, u64::min)
        });
        let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.world.pending_deletes)
            .into_iter()
            .partition(|&(p, before, b, _)| p == part && (leader != Some(b) || low.is_some_and(|w| w >= before)));
        self.world.pending_deletes = rest;
        for (_, before, b, since) in done {
            let waited = self.clock - since;
            let what = match low {
                Some(w) if leader == Some(b) => format!(
                    "answered after {waited} ms: low watermark {w}, every live replica's log start at {before} or past"
                ),
                _ => format!("NOT_LEADER_OR_FOLLOWER after {waited} ms: broker {b} no longer leads"),
            };
            self.log(|sim| {
                (
                    "admin".into(),
                    format!("DeleteRecords {} before {before}", sim.model.partition_name(part)),
                    String::new(),
                    what,
                )
            });
        }
    }

    /// The request's timeout: REQUEST_TIMED_OUT, a TimeoutException for the admin (its API
    /// timeout has passed too); the log start offset stays raised.
    pub(super) fn on_delete_records_timeout(&mut self, part: PartitionIdx, before: u64) {
        let Some(i) = self.world.pending_deletes.iter().position(|d| d.0 == part && d.1 == before) else {
            self.idle = true;
            return;
        };
        self.world.pending_deletes.remove(i);
        self.log(|sim| {
            let what = format!("REQUEST_TIMED_OUT after {DELETE_RECORDS_TIMEOUT_MS} ms (default.api.timeout.ms): a live replica's log start offset stayed below {before}");
            ("admin".into(), format!("DeleteRecords {} before {before}", sim.model.partition_name(part)), String::new(), what)
        });
    }

    /// The leader's log start offset passed `before..after`: those records are deleted, which
    /// the report counts against every group that had not consumed them.
    pub(super) fn records_deleted(&mut self, part: PartitionIdx, b: BrokerId, before: u64, after: u64, why: Deletion) {
        let now = self.clock;
        let r = self.world.partitions[part as usize].replica(b).expect("replica");
        let msgs: Vec<u32> = r.log.range(before, after).filter(|r| !r.is_marker()).map(|r| r.msg).collect();
        for m in msgs {
            self.world.deleted.entry(m).or_insert((now, why));
        }
    }
}
