//! A processor (consume-transform-produce) as real clients: its consumer and producer halves
//! share one task and one fault proxy and follow the guarantee's program. at-most-once
//! commits before processing; at-least-once waits for every output's acknowledgement, then
//! commits; exactly-once runs each poll in a transaction (beginTransaction, the outputs,
//! sendOffsetsToTransaction with the consumer's group metadata, commitTransaction: KIP-447)
//! and after an abort seeks back to the committed offsets unless `seek.on.abort false`. A
//! crash drops both halves without closing them; the restarted instance's initTransactions
//! fences the old producer and aborts its open transaction (Kafka's
//! `TransactionCoordinator.handleInitProducerId`).

use super::Ctx;
use super::clients::{self, Recorder, Stop};
use super::proxy::{Lose, Proxy};
use super::wire::api;
use crate::ast::Guarantee;
use crate::history::{ClientRef, Op, Polled, TxnOutcome};
use crate::model::{Client, ClientPoint, MsgId};
use rdkafka::Offset;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, Producer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a transactional call may block (librdkafka's own retries run inside it).
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// Processor `pi`: instances one after the other, a new one after each crash it restarts from.
pub async fn processor(ctx: Arc<Ctx>, pi: u32) {
    let model = ctx.model.clone();
    let proc = &model.processors[pi as usize];
    let (c, p) = (proc.consumer, proc.producer);
    let client = Client::Consumer(c);
    let mut incarnation = 0u32;
    let mut sends_done = 0u32;
    ctx.sleep_until_scenario(model.consumers[c as usize].start_at_ms).await;
    loop {
        let Ok(proxy) = Proxy::start(ctx.target) else { break };
        ctx.attach(client, &proxy);
        let Some(producer) = clients::start_producer(&ctx, p, &proxy, incarnation).map(Arc::new) else { break };
        let Some(consumer) = clients::start_consumer(&ctx, c, &proxy, incarnation) else {
            clients::abandon(producer);
            break;
        };
        let crashed = Arc::new(AtomicBool::new(false));
        let mut instance = Instance {
            ctx: &ctx,
            pi,
            incarnation,
            consumer: &consumer,
            producer: &producer,
            proxy: &proxy,
            crashed: &crashed,
            sends_done: &mut sends_done,
        };
        match instance.run().await {
            Stop::Done => {
                tokio::task::block_in_place(|| producer.flush(Duration::from_secs(30))).ok();
                clients::abandon(consumer);
                clients::abandon(producer);
                break;
            }
            Stop::Crashed => {
                crashed.store(true, Ordering::SeqCst);
                proxy.kill();
                let at_ms = ctx.now_ms();
                ctx.record(Op::Crash { at_ms, client: ClientRef::Consumer(c), incarnation });
                ctx.record(Op::Crash { at_ms, client: ClientRef::Producer(p), incarnation });
                clients::abandon(consumer);
                clients::abandon(producer);
                if !ctx.wait_restart(client).await {
                    break;
                }
                incarnation += 1;
            }
        }
    }
    ctx.processor_finished(pi);
}

/// One instance of a processor and its counters.
struct Instance<'a> {
    ctx: &'a Arc<Ctx>,
    pi: u32,
    incarnation: u32,
    consumer: &'a StreamConsumer<Recorder>,
    producer: &'a Arc<FutureProducer>,
    proxy: &'a Proxy,
    crashed: &'a Arc<AtomicBool>,
    /// Output records sent, over every instance (`after send N`).
    sends_done: &'a mut u32,
}

/// How a poll's work ended.
enum Batch {
    Next,
    Stop(Stop),
}

impl Instance<'_> {
    fn guarantee(&self) -> Guarantee {
        self.ctx.model.processors[self.pi as usize].guarantee
    }
    fn consumer_half(&self) -> u32 {
        self.ctx.model.processors[self.pi as usize].consumer
    }
    fn producer_half(&self) -> u32 {
        self.ctx.model.processors[self.pi as usize].producer
    }

    async fn run(&mut self) -> Stop {
        let ctx = self.ctx;
        let c = self.consumer_half();
        let client = Client::Consumer(c);
        let max = ctx.model.consumers[c as usize].max_poll_records;
        let mut counts = Counts::default();
        loop {
            if ctx.checkpoint(client).await.is_err() {
                return Stop::Crashed;
            }
            if ctx.past_deadline() {
                return Stop::Done;
            }
            let batch = clients::poll_batch(ctx, self.consumer, max).await;
            if batch.is_empty() {
                if ctx.processor_may_stop(self.pi) && clients::caught_up(self.consumer) {
                    return Stop::Done;
                }
                continue;
            }
            counts.polls += 1;
            ctx.record(Op::Poll {
                at_ms: ctx.now_ms(),
                consumer: c,
                incarnation: self.incarnation,
                records: batch.clone(),
            });
            if ctx.crash_point(client, ClientPoint::AfterPoll(counts.polls)) {
                return Stop::Crashed;
            }
            if let Batch::Stop(stop) = self.one_poll(&batch, &mut counts).await {
                return stop;
            }
        }
    }

    /// Processes a poll's records the way the guarantee says.
    async fn one_poll(&mut self, batch: &[Polled], counts: &mut Counts) -> Batch {
        let ctx = self.ctx;
        let model = ctx.model.clone();
        let proc = &model.processors[self.pi as usize];
        let (c, p) = (self.consumer_half(), self.producer_half());
        let client = Client::Consumer(c);
        let guarantee = self.guarantee();
        if guarantee == Guarantee::AtMostOnce {
            counts.commits += 1;
            clients::commit(ctx, c, self.consumer, self.incarnation, batch);
            if ctx.crash_point(client, ClientPoint::AfterCommit(counts.commits)) {
                return Batch::Stop(Stop::Crashed);
            }
        }
        if guarantee == Guarantee::ExactlyOnce
            && let Err(e) = self.producer.begin_transaction()
        {
            ctx.note(format!("{}: beginTransaction failed: {e}", proc.name));
        }
        let mut pending = Vec::new();
        let mut outputs: Vec<MsgId> = Vec::new();
        for r in batch {
            if let Some(m) = r.msg {
                let before = if guarantee == Guarantee::AtMostOnce {
                    ClientPoint::AfterCommitBeforeProcessing(m)
                } else {
                    ClientPoint::BeforeProcessing(m)
                };
                if ctx.crash_point(client, before) || ctx.crash_point(client, ClientPoint::BeforeProcessing(m)) {
                    return self.crashed_in(outputs);
                }
            }
            let processing_ms = model.consumers[c as usize].processing_time_ms;
            if processing_ms > 0 {
                tokio::time::sleep(ctx.scaled(processing_ms)).await;
            }
            ctx.record(Op::Process { at_ms: ctx.now_ms(), consumer: c, incarnation: self.incarnation, record: *r });
            let Some(m) = r.msg else { continue };
            // The record's outputs, sent as processing it (the transform is the model's).
            if let Some(&(first, count)) = proc.outputs_of.get(&m) {
                for out in first..first + count {
                    let fault = clients::arm_produce_fault(ctx, self.proxy, p, out, &mut pending).await;
                    let sent = clients::send_record(ctx, self.producer, p, self.incarnation, out, self.crashed);
                    match sent {
                        Some(h) if fault => {
                            let _ = h.await;
                        }
                        other => pending.extend(other),
                    }
                    outputs.push(out);
                    *self.sends_done += 1;
                    if ctx.crash_point(Client::Producer(p), ClientPoint::AfterSend(*self.sends_done)) {
                        return self.crashed_in(outputs);
                    }
                }
            }
            if ctx.crash_point(client, ClientPoint::AfterProcessing(m)) {
                return self.crashed_in(outputs);
            }
        }
        match guarantee {
            Guarantee::AtMostOnce => {
                for h in pending {
                    let _ = h.await;
                }
                Batch::Next
            }
            Guarantee::AtLeastOnce => {
                // flush(): every output acknowledged (or failed), then commitSync.
                for h in pending {
                    let _ = h.await;
                }
                counts.commits += 1;
                clients::commit(ctx, c, self.consumer, self.incarnation, batch);
                if ctx.crash_point(client, ClientPoint::AfterCommit(counts.commits)) {
                    return Batch::Stop(Stop::Crashed);
                }
                Batch::Next
            }
            Guarantee::ExactlyOnce => self.commit_transaction(batch, outputs, pending, counts).await,
        }
    }

    /// A crash inside the processing of a poll: an exactly-once processor's transaction is
    /// left open (the next instance's initTransactions aborts it).
    fn crashed_in(&self, outputs: Vec<MsgId>) -> Batch {
        if self.guarantee() == Guarantee::ExactlyOnce {
            self.txn(outputs, TxnOutcome::Unknown, None);
        }
        Batch::Stop(Stop::Crashed)
    }

    fn txn(&self, msgs: Vec<MsgId>, outcome: TxnOutcome, error: Option<String>) {
        let ctx = self.ctx;
        let (at_ms, producer, incarnation) = (ctx.now_ms(), self.producer_half(), self.incarnation);
        ctx.record(Op::Txn { at_ms, producer, incarnation, msgs, outcome, error });
    }

    /// sendOffsetsToTransaction, then commitTransaction; an abort after either fails.
    async fn commit_transaction(
        &mut self,
        batch: &[Polled],
        outputs: Vec<MsgId>,
        pending: Vec<tokio::task::JoinHandle<()>>,
        counts: &mut Counts,
    ) -> Batch {
        let ctx = self.ctx;
        let c = self.consumer_half();
        let client = Client::Consumer(c);
        let offsets = clients::next_offsets(batch);
        let list = clients::offset_list(ctx, &offsets);
        let sent = match self.consumer.group_metadata() {
            Some(cgm) => {
                tokio::task::block_in_place(|| self.producer.send_offsets_to_transaction(&list, &cgm, TXN_TIMEOUT))
                    .map_err(|e| super::error_name(&e))
            }
            None => Err("the consumer has no group metadata".into()),
        };
        if let Err(e) = sent {
            return self.abort(batch, outputs, e);
        }
        counts.offsets += 1;
        if ctx.crash_point(client, ClientPoint::AfterOffsets(counts.offsets)) {
            return self.crashed_in(outputs);
        }
        // `crash ... after requesting commit N`: the proxy forwards the EndTxn(COMMIT) request,
        // then dies with the client, so the broker has the request and the client never learns.
        counts.commit_requests += 1;
        let at_request = ClientPoint::AfterCommitRequest(counts.commit_requests);
        let fired = ctx.crash_planned(client, at_request).then(|| self.proxy.arm(&[api::END_TXN], 1, Lose::CrashAfter));
        let producer = self.producer.clone();
        let mut commit = tokio::task::spawn_blocking(move || producer.commit_transaction(TXN_TIMEOUT));
        let done = |f: &Option<Arc<AtomicBool>>| f.as_ref().is_some_and(|f| f.load(Ordering::SeqCst));
        let result = loop {
            tokio::select! {
                r = &mut commit => break Some(r),
                _ = tokio::time::sleep(Duration::from_millis(10)) => if done(&fired) { break None },
            }
        };
        if done(&fired) {
            ctx.crash_point(client, at_request);
            return self.crashed_in(outputs);
        }
        if let Some(f) = &fired {
            self.proxy.disarm(f);
        }
        match result {
            Some(Ok(Ok(()))) => {
                for h in pending {
                    let _ = h.await;
                }
                self.txn(outputs, TxnOutcome::Committed, None);
                let at_ms = ctx.now_ms();
                ctx.record(Op::Commit { at_ms, consumer: c, incarnation: self.incarnation, offsets, error: None });
                counts.commits += 1;
                if ctx.crash_point(client, ClientPoint::AfterCommit(counts.commits)) {
                    return Batch::Stop(Stop::Crashed);
                }
                Batch::Next
            }
            Some(Ok(Err(e))) => self.abort(batch, outputs, super::error_name(&e)),
            _ => self.abort(batch, outputs, "commitTransaction did not return".into()),
        }
    }

    /// abortTransaction after a failed step, then (seek.on.abort) back to the committed
    /// offsets. A producer that cannot abort (fenced: another instance took its
    /// transactional.id) stops, as Kafka Streams closes a fenced task.
    fn abort(&self, batch: &[Polled], outputs: Vec<MsgId>, error: String) -> Batch {
        let ctx = self.ctx;
        let proc = &ctx.model.processors[self.pi as usize];
        if let Err(e) = tokio::task::block_in_place(|| self.producer.abort_transaction(TXN_TIMEOUT)) {
            self.txn(outputs, TxnOutcome::Unknown, Some(error.clone()));
            ctx.note(format!("{}: transaction failed ({error}) and abortTransaction too ({e}): stopped", proc.name));
            return Batch::Stop(Stop::Done);
        }
        self.txn(outputs, TxnOutcome::Aborted, Some(error));
        if proc.seek_on_abort {
            self.seek_to_committed(batch);
        }
        Batch::Next
    }

    /// Moves the positions of the batch's partitions back to the group's committed offsets.
    fn seek_to_committed(&self, batch: &[Polled]) {
        let ctx = self.ctx;
        let c = self.consumer_half();
        let parts: Vec<(u32, u64)> = clients::next_offsets(batch);
        let list = clients::offset_list(ctx, &parts);
        let Ok(committed) = tokio::task::block_in_place(|| self.consumer.committed_offsets(list, TXN_TIMEOUT)) else {
            ctx.note(format!("{}: no committed offsets to seek back to", ctx.model.processors[self.pi as usize].name));
            return;
        };
        let mut offsets = Vec::new();
        for e in committed.elements() {
            let (to, at) = match e.offset() {
                Offset::Offset(o) => (Offset::Offset(o), o as u64),
                _ => (Offset::Beginning, 0),
            };
            let Some(p) = ctx.partition_of(e.topic(), e.partition()) else { continue };
            if self.consumer.seek(e.topic(), e.partition(), to, Duration::from_secs(5)).is_ok() {
                offsets.push((p, at));
            }
        }
        ctx.record(Op::Seek { at_ms: ctx.now_ms(), consumer: c, incarnation: self.incarnation, offsets });
    }
}

/// An instance's program points so far.
#[derive(Default)]
struct Counts {
    polls: u32,
    commits: u32,
    offsets: u32,
    commit_requests: u32,
}
