//! The scenario's producers and consumers as real librdkafka clients, each a tokio task
//! following its program (sends, polls, processing, commits, transactions) through its own
//! fault proxy, recording every operation and its outcome into the history. A crash drops the
//! client without closing it (its proxy is killed first, so nothing it does on the way out
//! reaches the broker) and a new instance starts when the scenario restarts it.

use super::plan::Injection;
use super::proxy::{Lose, Proxy};
use super::wire::api;
use super::{Ctx, settings};
use crate::ast::CommitMode;
use crate::history::{ClientRef, Op, Polled, SendResult, TxnOutcome};
use crate::model::{Client, ClientPoint, MsgId, OffsetReset};
use rdkafka::consumer::{BaseConsumer, CommitMode as RdCommit, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The header that names a record's scenario message.
pub const MSG_HEADER: &str = "scn-msg";

/// Why a client's program stopped.
pub(super) enum Stop {
    Crashed,
    Done,
}

/// Drops a client on a thread of its own: librdkafka's destroy waits for requests its killed
/// proxy will never answer, and the run does not wait for it.
pub(super) fn abandon<T: Send + 'static>(client: T) {
    std::thread::spawn(move || drop(client));
}

pub(super) fn base_config(ctx: &Ctx, client: Client, proxy: &Proxy, incarnation: u32) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", format!("127.0.0.1:{}", proxy.port()))
        .set("client.id", format!("scn-{}-{incarnation}", ctx.model.client_name(client)))
        // Kafka's Java clients resolve every address they are given; the proxy's are 127.0.0.1.
        .set("broker.address.family", "v4")
        .set("log_level", if std::env::var_os("SCN_CONFORM_DEBUG").is_some() { "7" } else { "0" });
    if let Some(d) = std::env::var_os("SCN_CONFORM_DEBUG") {
        c.set("debug", d.to_string_lossy());
    }
    c
}

/// A producer: its sends in scenario-time order, its transactions, its crash points.
pub async fn producer(ctx: Arc<Ctx>, p: u32) {
    let model = ctx.model.clone();
    let cfg = &model.producers[p as usize];
    let mut schedule: Vec<(u64, MsgId)> = cfg
        .sends
        .iter()
        .flat_map(|s| (0..s.count).map(move |i| (s.at_ms + u64::from(i) * s.every_ms, s.first_msg + i)))
        .collect();
    schedule.sort_unstable();
    let client = Client::Producer(p);
    let mut next = 0usize;
    let mut resend: Vec<MsgId> = Vec::new();
    let mut incarnation = 0u32;
    let mut sends_done = 0u32;
    loop {
        let Ok(proxy) = Proxy::start(ctx.target) else { break };
        ctx.attach(client, &proxy);
        let Some(producer) = start_producer(&ctx, p, &proxy, incarnation) else { break };
        let crashed = Arc::new(AtomicBool::new(false));
        let stop = run_producer(
            &ctx,
            p,
            &producer,
            &proxy,
            incarnation,
            &crashed,
            &mut schedule_cursor(&schedule, &mut next, &mut resend),
            &mut sends_done,
        )
        .await;
        match stop {
            Stop::Done => {
                tokio::task::block_in_place(|| producer.flush(Duration::from_secs(30))).ok();
                break;
            }
            Stop::Crashed => {
                crashed.store(true, Ordering::SeqCst);
                proxy.kill();
                ctx.record(Op::Crash { at_ms: ctx.now_ms(), client: ClientRef::Producer(p), incarnation });
                abandon(producer);
                // The application sends again, first, every record it never saw acknowledged.
                let taken: Vec<MsgId> = schedule[..next].iter().map(|(_, m)| *m).collect();
                resend = ctx.unacknowledged(&taken);
                if !ctx.wait_restart(client).await {
                    break;
                }
                incarnation += 1;
            }
        }
    }
    ctx.producer_finished();
}

/// A new instance of producer `p` (a plain one or a processor's half) through `proxy`: its
/// wire watched, its lost-request faults armed, initTransactions run for a transactional one;
/// None (with a note) when it cannot start.
pub(super) fn start_producer(ctx: &Arc<Ctx>, p: u32, proxy: &Proxy, incarnation: u32) -> Option<FutureProducer> {
    let cfg = &ctx.model.producers[p as usize];
    let client = Client::Producer(p);
    ctx.observe_wire(proxy, p, incarnation);
    let mut conf = base_config(ctx, client, proxy, incarnation);
    settings::producer(&mut conf, cfg, &ctx.names);
    ctx.record(Op::Start { at_ms: ctx.now_ms(), client: ClientRef::Producer(p), incarnation });
    let producer: FutureProducer = match conf.create() {
        Ok(x) => x,
        Err(e) => {
            ctx.note(format!("{}: cannot create the producer: {e}", cfg.name));
            return None;
        }
    };
    arm_requests(ctx, client, proxy);
    if cfg.transactional_id.is_some()
        && let Err(e) = tokio::task::block_in_place(|| producer.init_transactions(Duration::from_secs(30)))
    {
        ctx.note(format!("{}: initTransactions failed: {e}", cfg.name));
        abandon(producer);
        return None;
    }
    Some(producer)
}

/// The messages still to send: the re-sends first, then the schedule from `next`.
struct Cursor<'a> {
    schedule: &'a [(u64, MsgId)],
    next: &'a mut usize,
    resend: &'a mut Vec<MsgId>,
}

fn schedule_cursor<'a>(schedule: &'a [(u64, MsgId)], next: &'a mut usize, resend: &'a mut Vec<MsgId>) -> Cursor<'a> {
    Cursor { schedule, next, resend }
}

impl Cursor<'_> {
    /// The next message and the scenario time it is due (re-sends are due at once).
    fn take(&mut self) -> Option<(Option<u64>, MsgId)> {
        if !self.resend.is_empty() {
            return Some((None, self.resend.remove(0)));
        }
        let (at, m) = *self.schedule.get(*self.next)?;
        *self.next += 1;
        Some((Some(at), m))
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_producer(
    ctx: &Arc<Ctx>,
    p: u32,
    producer: &FutureProducer,
    proxy: &Proxy,
    incarnation: u32,
    crashed: &Arc<AtomicBool>,
    cursor: &mut Cursor<'_>,
    sends_done: &mut u32,
) -> Stop {
    let model = ctx.model.clone();
    let cfg = &model.producers[p as usize];
    let client = Client::Producer(p);
    let mut pending: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut txn_msgs: Vec<MsgId> = Vec::new();
    while let Some((due, msg)) = cursor.take() {
        if let Some(at) = due {
            ctx.sleep_until_scenario(at).await;
        }
        if ctx.checkpoint(client).await.is_err() {
            return Stop::Crashed;
        }
        let txn = model.txn_of(msg).map(|t| &cfg.transactions[t as usize]);
        if let Some(t) = txn
            && (msg == t.first_msg || txn_msgs.is_empty())
        {
            if let Err(e) = producer.begin_transaction() {
                ctx.note(format!("{}: beginTransaction failed: {e}", cfg.name));
            }
        }
        let fault = arm_produce_fault(ctx, proxy, p, msg, &mut pending).await;
        match send_record(ctx, producer, p, incarnation, msg, crashed) {
            Some(h) if fault => {
                let _ = h.await;
            }
            Some(h) => pending.push(h),
            None => {}
        }
        *sends_done += 1;
        if ctx.crash_point(client, ClientPoint::AfterSend(*sends_done)) {
            return Stop::Crashed;
        }
        if let Some(t) = txn {
            txn_msgs.push(msg);
            if msg + 1 == t.end_msg {
                let msgs = std::mem::take(&mut txn_msgs);
                let timeout = Duration::from_secs(30);
                let (outcome, error) = if t.commit {
                    match tokio::task::block_in_place(|| producer.commit_transaction(timeout)) {
                        Ok(()) => (TxnOutcome::Committed, None),
                        Err(e) => {
                            let _ = tokio::task::block_in_place(|| producer.abort_transaction(timeout));
                            (TxnOutcome::Aborted, Some(super::error_name(&e)))
                        }
                    }
                } else {
                    match tokio::task::block_in_place(|| producer.abort_transaction(timeout)) {
                        Ok(()) => (TxnOutcome::Aborted, None),
                        Err(e) => (TxnOutcome::Unknown, Some(super::error_name(&e))),
                    }
                };
                for h in pending.drain(..) {
                    let _ = h.await;
                }
                ctx.record(Op::Txn { at_ms: ctx.now_ms(), producer: p, incarnation, msgs, outcome, error });
            }
        }
    }
    for h in pending {
        let _ = h.await;
    }
    Stop::Done
}

/// A lost request or ack planned for this record: everything sent before it is acknowledged
/// first, so that the next Produce request on the wire is the one that carries it. Whether one
/// was armed (the caller then waits for this record's outcome too).
pub(super) async fn arm_produce_fault(
    ctx: &Arc<Ctx>,
    proxy: &Proxy,
    p: u32,
    msg: MsgId,
    pending: &mut Vec<tokio::task::JoinHandle<()>>,
) -> bool {
    let Some((line, attempt, response)) = ctx.produce_fault(p, msg) else { return false };
    for h in pending.drain(..) {
        let _ = h.await;
    }
    let lose = if response { Lose::Response } else { Lose::Request };
    ctx.watch_fired(line, proxy.arm(&[api::PRODUCE], attempt, lose));
    true
}

/// Hands one record of the scenario (a send, or a processor's output) to librdkafka with its
/// `scn-msg` header; the returned task records the send's outcome when the delivery report
/// comes (unknown once the client crashed). None when librdkafka refused it at once (recorded
/// as failed).
pub(super) fn send_record(
    ctx: &Arc<Ctx>,
    producer: &FutureProducer,
    p: u32,
    incarnation: u32,
    msg: MsgId,
    crashed: &Arc<AtomicBool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let model = &ctx.model;
    let topic = ctx.names.topic(model.topic_of(msg));
    let value = model.value(msg);
    let key = model.key(msg);
    let id = msg.to_string();
    let headers = OwnedHeaders::new().insert(Header { key: MSG_HEADER, value: Some(id.as_bytes()) });
    let mut record = FutureRecord::<String, String>::to(&topic).payload(&value).headers(headers);
    if let Some(k) = &key {
        record = record.key(k);
    }
    if let Some(part) = model.fixed_partition(msg) {
        record = record.partition(part as i32);
    }
    let at_ms = ctx.now_ms();
    let first_partition = model.topics[model.topic_of(msg) as usize].first_partition;
    match producer.send_result(record) {
        Ok(delivery) => {
            let (ctx2, crashed) = (ctx.clone(), crashed.clone());
            Some(tokio::spawn(async move {
                let result = match delivery.await {
                    _ if crashed.load(Ordering::SeqCst) => SendResult::Unknown,
                    Ok(Ok(d)) => SendResult::Acked {
                        partition: first_partition + d.partition.max(0) as u32,
                        offset: (d.offset >= 0).then_some(d.offset as u64),
                    },
                    Ok(Err((e, _))) => SendResult::Failed { error: super::error_name(&e) },
                    Err(_) => SendResult::Unknown,
                };
                let done_ms = Some(ctx2.now_ms());
                ctx2.record(Op::Send { at_ms, producer: p, incarnation, msg, result, done_ms });
            }))
        }
        Err((e, _)) => {
            let result = SendResult::Failed { error: super::error_name(&e) };
            ctx.record(Op::Send { at_ms, producer: p, incarnation, msg, result, done_ms: Some(at_ms) });
            None
        }
    }
}

/// Arms the client's `lost fetch/commit/txn request N` faults on its new proxy.
pub(super) fn arm_requests(ctx: &Arc<Ctx>, client: Client, proxy: &Proxy) {
    for (fault, inj) in ctx.injections() {
        if let Injection::Request { client: c, apis, n, response } = inj
            && c == client
        {
            let lose = if response { Lose::Response } else { Lose::Request };
            ctx.watch_fired(fault, proxy.arm(&apis, n, lose));
        }
    }
}

/// Records the group's assignments as they change.
pub(super) struct Recorder {
    ctx: Arc<Ctx>,
    consumer: u32,
    incarnation: u32,
}

impl ClientContext for Recorder {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        if std::env::var_os("SCN_CONFORM_DEBUG").is_some() {
            eprintln!("[{} #{}] {level:?} {fac}: {log_message}", self.consumer, self.incarnation);
        }
    }
}

impl ConsumerContext for Recorder {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let partitions =
                tpl.elements().iter().filter_map(|e| self.ctx.partition_of(e.topic(), e.partition())).collect();
            let at_ms = self.ctx.now_ms();
            self.ctx.record(Op::Assigned { at_ms, consumer: self.consumer, incarnation: self.incarnation, partitions });
        }
    }
}

/// A consumer: polls of up to max.poll.records, processing, commits where the scenario
/// places them, crash points; it stops once its group has read to the end of every partition
/// it holds after the producers finished, or at the run's deadline.
pub async fn consumer(ctx: Arc<Ctx>, c: u32) {
    let client = Client::Consumer(c);
    let mut incarnation = 0u32;
    ctx.sleep_until_scenario(ctx.model.consumers[c as usize].start_at_ms).await;
    loop {
        let Ok(proxy) = Proxy::start(ctx.target) else { break };
        ctx.attach(client, &proxy);
        let Some(consumer) = start_consumer(&ctx, c, &proxy, incarnation) else { break };
        let stop = run_consumer(&ctx, c, &consumer, incarnation).await;
        match stop {
            Stop::Done => {
                abandon(consumer);
                break;
            }
            Stop::Crashed => {
                proxy.kill();
                ctx.record(Op::Crash { at_ms: ctx.now_ms(), client: ClientRef::Consumer(c), incarnation });
                abandon(consumer);
                if !ctx.wait_restart(client).await {
                    break;
                }
                incarnation += 1;
            }
        }
    }
}

/// A new instance of consumer `c` through `proxy`, subscribed (or assigned) as the scenario
/// says, its lost-request faults armed; None (with a note) when librdkafka refuses it.
pub(super) fn start_consumer(
    ctx: &Arc<Ctx>,
    c: u32,
    proxy: &Proxy,
    incarnation: u32,
) -> Option<StreamConsumer<Recorder>> {
    let model = &ctx.model;
    let cfg = &model.consumers[c as usize];
    let client = Client::Consumer(c);
    let mut conf = base_config(ctx, client, proxy, incarnation);
    settings::consumer(&mut conf, model, cfg, &ctx.names);
    ctx.record(Op::Start { at_ms: ctx.now_ms(), client: ClientRef::Consumer(c), incarnation });
    let recorder = Recorder { ctx: ctx.clone(), consumer: c, incarnation };
    let consumer: StreamConsumer<Recorder> = match conf.create_with_context(recorder) {
        Ok(x) => x,
        Err(e) => {
            ctx.note(format!("{}: cannot create the consumer: {e}", cfg.name));
            return None;
        }
    };
    arm_requests(ctx, client, proxy);
    let group = &model.groups[cfg.group as usize];
    let started = if group.group_id && !group.manual {
        let topics: Vec<String> = cfg.topics.iter().map(|t| ctx.names.topic(*t)).collect();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&refs)
    } else {
        // No group.id, or `assign`: the partitions are taken, not given by a group.
        let mut tpl = TopicPartitionList::new();
        let parts: Vec<u32> = match &cfg.assigned {
            Some(ps) => ps.clone(),
            None => cfg
                .topics
                .iter()
                .flat_map(|t| {
                    let tc = &model.topics[*t as usize];
                    tc.first_partition..tc.first_partition + tc.partitions
                })
                .collect(),
        };
        let start = match cfg.auto_offset_reset {
            OffsetReset::Latest => Offset::End,
            _ => Offset::Beginning,
        };
        for p in &parts {
            let (topic, idx) = ctx.names.partition(*p);
            let _ = tpl.add_partition_offset(&topic, idx, if group.group_id { Offset::Stored } else { start });
        }
        ctx.record(Op::Assigned { at_ms: ctx.now_ms(), consumer: c, incarnation, partitions: parts });
        consumer.assign(&tpl)
    };
    if let Err(e) = started {
        ctx.note(format!("{}: cannot subscribe: {e}", cfg.name));
        return None;
    }
    Some(consumer)
}

/// One poll: what arrives within 250 ms (then 20 ms after each record), up to
/// max.poll.records records (librdkafka hands records one by one; the batch is the
/// scenario's poll).
pub(super) async fn poll_batch(ctx: &Ctx, consumer: &StreamConsumer<Recorder>, max: u32) -> Vec<Polled> {
    let mut batch: Vec<Polled> = Vec::new();
    let mut wait = Duration::from_millis(250);
    while batch.len() < max as usize {
        match tokio::time::timeout(wait, consumer.recv()).await {
            Ok(Ok(m)) => {
                let msg = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == MSG_HEADER))
                    .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok());
                let partition = ctx.partition_of(m.topic(), m.partition()).unwrap_or(0);
                batch.push(Polled { partition, offset: Some(m.offset() as u64), msg });
                wait = Duration::from_millis(20);
            }
            Ok(Err(_)) | Err(_) => break,
        }
    }
    batch
}

async fn run_consumer(ctx: &Arc<Ctx>, c: u32, consumer: &StreamConsumer<Recorder>, incarnation: u32) -> Stop {
    let model = ctx.model.clone();
    let cfg = &model.consumers[c as usize];
    let client = Client::Consumer(c);
    let (mut polls, mut commits) = (0u32, 0u32);
    loop {
        if ctx.checkpoint(client).await.is_err() {
            return Stop::Crashed;
        }
        if ctx.past_deadline() {
            return Stop::Done;
        }
        let batch = poll_batch(ctx, consumer, cfg.max_poll_records).await;
        if batch.is_empty() {
            if ctx.consumers_may_stop() && caught_up(consumer) {
                return Stop::Done;
            }
            continue;
        }
        polls += 1;
        ctx.record(Op::Poll { at_ms: ctx.now_ms(), consumer: c, incarnation, records: batch.clone() });
        if ctx.crash_point(client, ClientPoint::AfterPoll(polls)) {
            return Stop::Crashed;
        }
        // The scenario's commits are commitSync calls, whatever enable.auto.commit says.
        let commits_on = model.groups[cfg.group as usize].group_id && cfg.commit != CommitMode::None;
        let committed_first = commits_on && cfg.commit == CommitMode::BeforeProcessing;
        if committed_first {
            commits += 1;
            commit(ctx, c, consumer, incarnation, &batch);
            if ctx.crash_point(client, ClientPoint::AfterCommit(commits)) {
                return Stop::Crashed;
            }
        }
        for r in &batch {
            if let Some(m) = r.msg {
                let before = if committed_first {
                    ClientPoint::AfterCommitBeforeProcessing(m)
                } else {
                    ClientPoint::BeforeProcessing(m)
                };
                if ctx.crash_point(client, before) || ctx.crash_point(client, ClientPoint::BeforeProcessing(m)) {
                    return Stop::Crashed;
                }
            }
            if cfg.processing_time_ms > 0 {
                tokio::time::sleep(ctx.scaled(cfg.processing_time_ms)).await;
            }
            ctx.record(Op::Process { at_ms: ctx.now_ms(), consumer: c, incarnation, record: *r });
            if let Some(m) = r.msg
                && ctx.crash_point(client, ClientPoint::AfterProcessing(m))
            {
                return Stop::Crashed;
            }
        }
        if commits_on && cfg.commit == CommitMode::AfterProcessing {
            commits += 1;
            commit(ctx, c, consumer, incarnation, &batch);
            if ctx.crash_point(client, ClientPoint::AfterCommit(commits)) {
                return Stop::Crashed;
            }
        }
    }
}

/// The offsets after the batch's last record of each partition (the next to read).
pub(super) fn next_offsets(batch: &[Polled]) -> Vec<(u32, u64)> {
    let mut next: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for r in batch {
        if let Some(o) = r.offset {
            next.insert(r.partition, o + 1);
        }
    }
    next.into_iter().collect()
}

/// Offsets as librdkafka's list, under the run's topic names.
pub(super) fn offset_list(ctx: &Ctx, offsets: &[(u32, u64)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        let (topic, idx) = ctx.names.partition(*p);
        let _ = tpl.add_partition_offset(&topic, idx, Offset::Offset(*o as i64));
    }
    tpl
}

/// commitSync of the offsets after the batch's last record of each partition.
pub(super) fn commit(ctx: &Arc<Ctx>, c: u32, consumer: &StreamConsumer<Recorder>, incarnation: u32, batch: &[Polled]) {
    let offsets = next_offsets(batch);
    let tpl = offset_list(ctx, &offsets);
    let result = tokio::task::block_in_place(|| consumer.commit(&tpl, RdCommit::Sync));
    let error = result.err().map(|e| super::error_name(&e));
    ctx.record(Op::Commit { at_ms: ctx.now_ms(), consumer: c, incarnation, offsets, error });
}

/// Whether the consumer's position reached the high watermark of every partition it holds.
pub(super) fn caught_up(consumer: &StreamConsumer<Recorder>) -> bool {
    let Ok(assignment) = consumer.assignment() else { return false };
    if assignment.count() == 0 {
        return false;
    }
    let Ok(positions) = consumer.position() else { return false };
    positions.elements().iter().all(|e| {
        let marks =
            tokio::task::block_in_place(|| consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(2)));
        match (e.offset(), marks) {
            (Offset::Offset(pos), Ok((_, high))) => pos >= high,
            // No position yet: caught up only with an empty partition.
            (_, Ok((low, high))) => low == high,
            _ => false,
        }
    })
}
