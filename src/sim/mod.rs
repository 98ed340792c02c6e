//! The deterministic discrete-event simulation: `Sim { clock, queue, world, rng }` and `step`,
//! which applies one event to the world and schedules what follows from it.
//!
//! A run is a pure function of (model, seed, fault schedule): a logical clock in milliseconds,
//! ties broken by insertion order, ordered maps only, and one ChaCha RNG seeded from the
//! scenario (used for network jitter and the sticky partitioner).

pub mod batches;
mod broker;
mod consumer;
mod controller;
mod coordinator;
pub mod event;
mod expiration;
mod fault;
mod group;
mod group_load;
pub mod log;
mod metadata;
mod modern;
mod modern_client;
mod processor;
mod producer;
pub mod records;
mod retention;
mod retry;
mod skip;
mod sticky;
pub mod trace;
pub mod world;

use crate::model::{BrokerId, Client, Model, Node};
use event::{Event, Queue};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use trace::Trace;
use world::World;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// Nothing left that could change the outcome.
    Quiescent,
    /// The scenario's `run for` time ran out first.
    TimeLimit,
    /// The event budget ran out (a runaway scenario).
    EventLimit,
    /// The process reached its memory limit (`--max-memory`): the run stopped before the
    /// allocator would have aborted it, and its outcome is incomplete.
    MemoryLimit,
}

/// Options that do not change what a run computes, only what it records.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep at most this many process-table steps.
    pub trace_limit: usize,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Record every fault point the run passes through (see [`fault_points`]).
    pub record_points: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { trace_limit: 10_000, seed: None, record_points: false }
    }
}

/// Hard ceiling on events per run, far above what any scenario within the limits needs.
pub const MAX_EVENTS: u64 = 2_000_000_000;

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub world: World,
    pub trace: Trace,
    pub stop: Stop,
    pub end_ms: u64,
    pub events: u64,
    pub seed: u64,
    /// Fault points passed, written as fault lines (only with `record_points`).
    pub points: Vec<String>,
}

/// The fault points a fault-free run of `model` passes through, each written as the fault
/// line that would inject a fault there. These are the stable names of injection points.
pub fn fault_points(model: &Model) -> Vec<String> {
    let mut quiet = model.clone();
    quiet.faults.clear();
    quiet.expects.clear();
    let mut sim = Sim::new(&quiet, &Options { trace_limit: 0, seed: None, record_points: true });
    let stop = sim.run_to_end();
    sim.finish(stop).points
}

/// A place in a run where a fault could be injected, raised where the run passes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChoiceAt {
    /// A client reached a point of its program (`crash C after poll 3`).
    Point(Client, crate::model::ClientPoint),
    /// A client sends its N-th request of a kind, or gets its N-th response (`request lost for
    /// billing commit 2`, `ack lost for shop txn 1`).
    Message { client: Client, request: crate::ast::LostRequest, n: u32, response: bool },
    /// A produce request attempt is sent (`request lost` / `ack lost for P send N attempt A`).
    Request { producer: u32, msg: crate::model::MsgId, attempt: u32 },
    /// The cluster's state (a log, a high watermark, a leader or ISR, a group, a transaction)
    /// changes at this time: a timed fault (`crash broker 1 at T`) fires just before.
    Moment,
}

/// A choice point and where a run passed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Choice {
    /// The event (counted from 1) before which a fork must be taken to inject a fault here.
    pub event: u64,
    /// The simulated time of that event.
    pub time: u64,
    pub at: ChoiceAt,
}

/// What a run records for exploration: its choice points, first occurrence of each.
#[derive(Debug, Clone, Default)]
struct Recorder {
    choices: Vec<Choice>,
    seen: std::collections::HashSet<ChoiceAt>,
    /// The cluster digest after the last event (see [`Sim::cluster_digest`]).
    digest: u64,
    /// The time of the current events, and the index of its first event that is not a timed
    /// fault (where a new timed fault at that time would fire).
    mark: (u64, Option<u64>),
}

/// The simulation: model, clock, pending events, world state and RNG. It is plain data, so
/// a run can be forked (`clone`) at any event and continued with other faults.
#[derive(Clone)]
pub struct Sim<'m> {
    pub model: &'m Model,
    /// The fault lines in force: the model's, plus any `explore` added to this run.
    pub faults: Vec<crate::model::FaultSpec>,
    pub clock: u64,
    pub queue: Queue,
    pub world: World,
    rng: ChaCha8Rng,
    pub trace: Trace,
    /// Whether the event being handled is idle (its follow-ups are idle too).
    idle: bool,
    /// Events handled so far.
    pub events: u64,
    /// When the last event that did something happened.
    last_active: u64,
    seed: u64,
    recorder: Option<Recorder>,
    /// What a fault line added now could not know about the past (see [`Sim::fork_safe`]).
    past: Past,
    /// Sent messages whose value another message shares: fault lines name them by their send
    /// (`shop send 3`). Found on first use, shared by forks.
    shared_values: std::sync::Arc<std::sync::OnceLock<std::collections::HashSet<crate::model::MsgId>>>,
    /// The search for a period of idle polling to jump over (see `skip.rs`).
    skipper: skip::Skipper,
}

/// The parts of a run's past that decide whether a fault line added at a fork acts as it
/// would have, had it been in the file from the start.
#[derive(Clone, Debug, Default)]
struct Past {
    /// Some decision asked whether any timed fault was still to come, and none was (a
    /// resend on a cut link went idle): a timed fault added now would have changed it.
    no_fault_pending: bool,
    /// The recoveries (`restart X`, `resume X`) that crashes and pauses so far looked for: a
    /// `restart X after T` added now would also have followed those.
    recoveries: Vec<crate::model::FaultAction>,
}

/// Runs a scenario to the end.
pub fn run(model: &Model, options: &Options) -> Run {
    let mut sim = Sim::new(model, options);
    let stop = sim.run_to_end();
    sim.finish(stop)
}

impl<'m> Sim<'m> {
    /// A simulation at time 0, its start events scheduled.
    pub fn new(model: &'m Model, options: &Options) -> Sim<'m> {
        let seed = options.seed.unwrap_or(model.seed);
        let mut sim = Sim {
            model,
            faults: model.faults.clone(),
            clock: 0,
            queue: Queue::default(),
            world: World::new(model),
            rng: ChaCha8Rng::seed_from_u64(seed),
            trace: Trace::new(options.trace_limit),
            idle: false,
            events: 0,
            last_active: 0,
            seed,
            recorder: options.record_points.then(Recorder::default),
            past: Past::default(),
            shared_values: Default::default(),
            skipper: skip::Skipper::new(!skip::worth_it(model)),
        };
        sim.track("start");
        sim.start();
        sim
    }

    /// Handles the next event, or says why the run is over.
    pub fn step_once(&mut self) -> Option<Stop> {
        if self.queue.active() == 0 && !self.busy() {
            return Some(Stop::Quiescent);
        }
        let time = self.queue.peek_time()?;
        if time > self.model.run_for_ms {
            return Some(Stop::TimeLimit);
        }
        if self.events >= MAX_EVENTS {
            return Some(Stop::EventLimit);
        }
        // (Reading the resident memory costs a file read: every 65,536 events, some ms of work.)
        if self.events % 65_536 == 0 && crate::memory::exceeded() {
            return Some(Stop::MemoryLimit);
        }
        if self.skip_idle(time) {
            return None;
        }
        let (time, idle, event) = self.queue.pop()?;
        self.events += 1;
        self.clock = time;
        self.idle = idle;
        if let Some(r) = &mut self.recorder {
            if r.mark.0 != time {
                r.mark = (time, None);
            }
            let timed = matches!(event, Event::Fault { fault }
                if matches!(self.faults[fault as usize].trigger, crate::model::Trigger::At(_)));
            if !timed && r.mark.1.is_none() {
                r.mark.1 = Some(self.events);
            }
        }
        let traced = self.trace.total;
        self.step(event);
        // (A handler may find its timer stale and mark itself idle: `on_member_expire`.)
        if !self.idle || self.trace.total != traced {
            self.last_active = time;
        }
        if self.recorder.is_some() {
            self.note_moment();
        }
        None
    }

    /// Steps until the run is over.
    pub fn run_to_end(&mut self) -> Stop {
        loop {
            if let Some(stop) = self.step_once() {
                return stop;
            }
        }
    }

    /// Steps until `events` events have been handled (or the run is over first).
    pub fn run_until(&mut self, events: u64) -> Option<Stop> {
        while self.events < events {
            if let Some(stop) = self.step_once() {
                return Some(stop);
            }
        }
        None
    }

    /// Ends the run: its final tracker row and everything it produced.
    pub fn finish(mut self, stop: Stop) -> Run {
        // The run ends with the last event that did something (idle polling after it is not news).
        let end_ms = if stop == Stop::Quiescent { self.last_active } else { self.clock };
        self.clock = end_ms;
        if self.trace.tracker_rows() < self.trace.limit || self.trace.spill.is_some() {
            self.track("final");
        }
        let points = match self.recorder.take() {
            Some(r) => r.choices.iter().flat_map(|c| self.choice_lines(c)).collect(),
            None => Vec::new(),
        };
        Run { world: self.world, trace: self.trace, stop, end_ms, events: self.events, seed: self.seed, points }
    }

    /// Adds a fault line to this run from now on, as if it had been in the file: a timed one
    /// is scheduled (it fires before anything else due at its time).
    pub fn add_fault(&mut self, fault: crate::model::FaultSpec) {
        // (Marks taken before cannot match the run with the fault: drop them.)
        self.skipper.reset();
        let i = self.faults.len() as u32;
        if let crate::model::Trigger::At(t) = fault.trigger {
            self.queue.push_timed_fault(t.max(self.clock), i);
        }
        self.faults.push(fault);
        self.world.fired.push(Vec::new());
    }

    /// Whether adding `fault` now gives the run it would have had with the line in the file
    /// from the start: a timed fault, unless something already decided on there being no
    /// fault to come; a recovery line, unless a crash or pause of its target already happened.
    pub fn fork_safe(&self, fault: &crate::model::FaultSpec) -> bool {
        use crate::model::Trigger;
        match fault.trigger {
            Trigger::At(_) => !self.past.no_fault_pending,
            Trigger::AfterCrash(_) | Trigger::AfterPause(_) => !self.past.recoveries.contains(&fault.action),
            Trigger::Point(..) | Trigger::Request { .. } | Trigger::Message { .. } | Trigger::When(..) => true,
        }
    }

    /// Whether a fault (or a fence) is still to come; remembered when none is (see
    /// [`Sim::fork_safe`]).
    fn faults_pending(&mut self) -> bool {
        let pending = self.queue.faults_pending();
        self.past.no_fault_pending |= !pending;
        pending
    }

    /// Notes that a crash or pause looked for its recovery lines.
    fn recovery_looked_for(&mut self, recovery: &crate::model::FaultAction) {
        if !self.past.recoveries.contains(recovery) {
            self.past.recoveries.push(recovery.clone());
        }
    }

    /// Whether message `m` (sent, or a processor's output) shares its value with another.
    fn value_is_shared(&self, m: crate::model::MsgId) -> bool {
        let shared = self.shared_values.get_or_init(|| {
            let mut by_value: std::collections::HashMap<String, Vec<crate::model::MsgId>> = Default::default();
            for m in 0..self.model.total_messages {
                by_value.entry(self.model.value(m)).or_default().push(m);
            }
            by_value.into_values().filter(|v| v.len() > 1).flatten().collect()
        });
        shared.contains(&m)
    }

    /// A message as a fault line names it: its value, or where another message shares the
    /// value, its send (`shop send 3`).
    pub fn message_text(&self, m: crate::model::MsgId) -> String {
        // (A processor's output record is its producer's send: `q send 2` is q's second output.)
        if self.value_is_shared(m) {
            let p = self.model.producer_of(m);
            return format!("{} send {}", self.model.producers[p as usize].name, self.model.send_number(m));
        }
        crate::ast::MessageRef::source_text(&self.model.value(m))
    }

    /// Whether fault `i` has fired.
    pub fn fired(&self, i: usize) -> bool {
        !self.world.fired[i].is_empty()
    }

    /// Starts recording choice points from here on (a fork's own points).
    pub fn record_choices(&mut self) {
        self.recorder = Some(Recorder::default());
        let d = self.cluster_digest();
        if let Some(r) = &mut self.recorder {
            r.digest = d;
            r.mark = (self.clock, None);
        }
    }

    /// The choice points recorded so far, in the order a run passes their forks (recording
    /// stops). A moment is noted after its event, with the fork before the first event of its
    /// time, so the list is put in fork order here (stable: ties keep the order they came in).
    pub fn take_choices(&mut self) -> Vec<Choice> {
        let mut choices = self.recorder.take().map(|r| r.choices).unwrap_or_default();
        choices.sort_by_key(|c| c.event);
        choices
    }

    /// A stable fingerprint of everything that decides the rest of the run and its outcome:
    /// the world (history included, so that equal states have equal verdicts; fault firing
    /// times left out), the pending events in order, the RNG's position and the faults still
    /// to fire. Two forks with equal fingerprints run the same from here on.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let fired: Vec<bool> = self.world.fired.iter().map(|f| !f.is_empty()).collect();
        self.world.hash_without_fired(&mut h);
        self.pending_with_expiries().hash(&mut h);
        self.rng.get_word_pos().hash(&mut h);
        for (i, f) in self.faults.iter().enumerate() {
            // A one-shot fault that fired has no future; restarts follow every crash.
            let once =
                !matches!(f.trigger, crate::model::Trigger::AfterCrash(_) | crate::model::Trigger::AfterPause(_));
            if !(once && fired[i]) {
                (i, &f.trigger, &f.action).hash(&mut h);
            }
        }
        h.finish()
    }

    /// The pending events in firing order, with the `delivery.timeout.ms` expiry of every live
    /// batch among them: the queue holds only each producer's next one (`arm_batch_expiry`),
    /// but where the others fall among the events pending now is part of what comes next.
    fn pending_with_expiries(&self) -> Vec<(u64, bool, std::borrow::Cow<'_, Event>)> {
        use std::borrow::Cow;
        let mut v: Vec<_> = self
            .queue
            .pending_keyed()
            .into_iter()
            .map(|(time, seq, idle, e)| (time, seq, idle, Cow::Borrowed(e)))
            .collect();
        for (p, s) in self.world.producers.iter().enumerate().filter(|(_, s)| s.alive) {
            let timeout = self.model.producers[p].delivery_timeout_ms;
            // (The first is the one armed, unless it completed since.)
            let armed = |id: u32| {
                v.iter().any(|(_, _, _, e)| {
                    matches!(**e, Event::BatchExpiry { producer, batch, .. } if producer == p as u32 && batch == id)
                })
            };
            let virtual_expiries: Vec<_> = s
                .batches
                .iter()
                .filter(|(id, _)| !armed(**id))
                .map(|(id, b)| {
                    let e = Event::BatchExpiry { producer: p as u32, inc: s.incarnation, batch: *id };
                    (b.created_at + timeout, b.expiry_seq.0, true, Cow::Owned(e))
                })
                .collect();
            v.extend(virtual_expiries);
        }
        v.sort_by_key(|e| (e.0, e.1));
        v.into_iter().map(|(time, _, idle, e)| (time, idle, e)).collect()
    }

    /// Records a choice point passed during the current event (first occurrence only).
    fn note_choice(&mut self, at: ChoiceAt) {
        let (event, time) = (self.events, self.clock);
        if let Some(r) = &mut self.recorder {
            if r.seen.insert(at.clone()) {
                r.choices.push(Choice { event, time, at });
            }
        }
    }

    /// After an event: if it changed the cluster, its time is a moment for timed faults.
    fn note_moment(&mut self) {
        let d = self.cluster_digest();
        let Some(r) = &mut self.recorder else { return };
        if d == r.digest {
            return;
        }
        r.digest = d;
        let Some(event) = r.mark.1 else { return };
        if r.choices.iter().rev().any(|c| c.at == ChoiceAt::Moment && c.time == r.mark.0) {
            return;
        }
        r.choices.push(Choice { event, time: r.mark.0, at: ChoiceAt::Moment });
    }

    /// A cheap digest of the cluster's state: replicas' log ends and high watermarks,
    /// leaders, epochs and ISRs, brokers' liveness, groups' generations and committed offsets,
    /// transactions' states.
    fn cluster_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        // (Computed after every recorded event: a fast hash, not a fingerprint.)
        let mut h = rustc_hash::FxHasher::default();
        for p in &self.world.partitions {
            (p.leader, p.leader_epoch, p.isr).hash(&mut h);
            for r in &p.replicas {
                (r.log.len(), r.high_watermark, r.log_start_offset, r.producers.len()).hash(&mut h);
            }
        }
        for b in &self.world.brokers {
            (b.alive, b.fenced, b.paused).hash(&mut h);
        }
        for g in &self.world.groups {
            (g.generation, &g.committed, g.rebalancing).hash(&mut h);
        }
        for t in &self.world.txns {
            (t.state, t.epoch).hash(&mut h);
        }
        h.finish()
    }
}

impl Sim<'_> {
    fn start(&mut self) {
        for (i, f) in self.faults.iter().enumerate() {
            if let crate::model::Trigger::At(t) = f.trigger {
                self.queue.push_timed_fault(t, i as u32);
            }
        }
        for g in 0..self.model.groups.len() {
            self.world.groups[g].host = self.group_coordinator(g);
        }
        for p in 0..self.model.producers.len() as u32 {
            self.start_producer(p);
        }
        for c in 0..self.model.consumers.len() as u32 {
            let at = self.model.consumers[c as usize].start_at_ms;
            self.world.consumers[c as usize].incarnation = 0;
            self.queue.push(at, Event::ConsumerStep { consumer: c, inc: 0 }, false);
        }
        for p in 0..self.model.partitions.len() as u32 {
            self.start_followers(p);
            let every = (self.model.cluster.replica_lag_time_max_ms / 2).max(1);
            self.queue.push(every, Event::IsrCheck { partition: p }, true);
        }
        for b in 1..=self.model.cluster.brokers {
            self.schedule_broker_tasks(b);
        }
    }

    /// Whether a live producer still holds a batch, or a transaction is open (their timers may
    /// still fail, retry or abort them).
    fn busy(&self) -> bool {
        // (A request whose batch expired in flight still holds up its producer's transaction.)
        self.world.producers.iter().any(|p| p.alive && (!p.batches.is_empty() || !p.in_flight.is_empty()))
            || self.world.txns.iter().any(|t| t.state == world::TxnState::Ongoing)
            // (A DeleteRecords in the leader's purgatory: its answer, or its timeout, is due.)
            || !self.world.pending_deletes.is_empty()
            || self.data_waiting()
    }

    /// Whether a live consumer could read records it has not fetched yet, or a live follower is
    /// behind its leader: only idle fetches would find them, so the run is not over. (Not over a
    /// cut link: until a heal, which is an event of its own, nothing gets through.)
    fn data_waiting(&self) -> bool {
        let consumers = self.world.consumers.iter().enumerate().any(|(c, s)| {
            s.phase == world::Phase::Polling
                && s.positions.iter().any(|(p, pos)| {
                    let part = &self.world.partitions[*p as usize];
                    let Some(r) =
                        part.leader.filter(|b| self.world.broker(*b).alive).and_then(|_| part.leader_replica())
                    else {
                        return false;
                    };
                    // (Nor for a frozen consumer: it fetches nothing until it wakes.)
                    if self.link_is_cut(Node::Broker(r.broker), Node::Client(Client::Consumer(c as u32)))
                        || self.world.paused.contains(&Client::Consumer(c as u32))
                    {
                        return false;
                    }
                    // KIP-320: a position still to be validated against the leader's epoch
                    // (by the consumer's next fetch, once its metadata shows that epoch) whose
                    // log diverges below it will move (a seek back to the rewritten records, a
                    // reset, or LogTruncationException), even at the high watermark.
                    if let Some(epoch) = s.epoch_to_validate(*p, part.leader_epoch) {
                        if consumer::diverges(r.end_offset_for(epoch, part.leader_epoch), *pos) {
                            return true;
                        }
                    }
                    let buffered = s.buffer.get(p).map_or(0, |b| b.len() as u64);
                    let limit =
                        if self.model.consumers[c].read_committed { r.last_stable_offset() } else { r.high_watermark };
                    limit > *pos + buffered
                })
        });
        consumers
            || self.world.partitions.iter().enumerate().any(|(p, part)| {
                let Some(leader) = part.leader_replica().filter(|r| self.world.broker(r.broker).alive) else {
                    return false;
                };
                part.replicas.iter().enumerate().any(|(i, r)| {
                    // Behind the leader, or ahead of what the leader knows of it (its last
                    // fetch was lost): its next fetch moves the high watermark.
                    let behind =
                        r.log_end_offset() < leader.log_end_offset() || part.follower_leo[i] < r.log_end_offset();
                    r.broker != leader.broker
                        && self.world.broker(r.broker).alive
                        && behind
                        && !self.link_is_cut(Node::Broker(r.broker), Node::Broker(leader.broker))
                        && !self.world.broker(r.broker).paused
                        && self.believed_leader(r.broker, p as crate::model::PartitionIdx) != Some(r.broker)
                })
            })
    }

    /// Applies one event.
    fn step(&mut self, event: Event) {
        // A paused client handles nothing: its events wait until it resumes.
        if let Some(c) = event_client(&event) {
            if self.world.paused.contains(&c) {
                self.world.deferred.push((c, event));
                return;
            }
        }
        // So does a paused broker (looked up only while one is).
        let any_paused = self.world.brokers.iter().any(|b| b.paused);
        if let Some(b) =
            any_paused.then(|| self.event_broker(&event)).flatten().filter(|b| self.world.broker(*b).paused)
        {
            self.request_waits_at_frozen_broker(&event);
            self.world.deferred_at_broker.push((b, event));
            return;
        }
        match event {
            Event::AppSend { producer, inc } => self.on_app_send(producer, inc),
            Event::SenderWake { producer, inc } => {
                if self.producer_live(producer, inc) {
                    self.drain(producer);
                }
            }
            Event::Resend { event, after_cut, reclaim, .. } => self.resend(*event, after_cut, reclaim),
            Event::ProduceArrive { producer, inc, req, broker, batch } => {
                self.on_produce_arrive(producer, inc, req, broker, batch)
            }
            Event::ProduceResponse { producer, inc, req, reply } => self.on_produce_response(producer, inc, req, reply),
            Event::RequestTimeout { producer, inc, req } => self.on_request_timeout(producer, inc, req),
            Event::BatchExpiry { producer, inc, batch } => self.on_batch_expiry(producer, inc, batch),
            Event::FollowerFetch { partition, follower, finc, epoch, offset } => {
                self.on_follower_fetch(partition, follower, finc, epoch, offset)
            }
            Event::FollowerFetchResponse {
                partition,
                follower,
                finc,
                epoch,
                offset,
                records,
                high_watermark,
                log_start_offset,
            } => self.on_follower_fetch_response(
                partition,
                follower,
                finc,
                epoch,
                offset,
                records,
                (high_watermark, log_start_offset),
            ),
            Event::FetchWaitExpired { partition, token } => self.on_fetch_wait_expired(partition, token),
            Event::ConsumerFetch { consumer, inc, partition, offset, broker, leader_epoch } => {
                self.on_consumer_fetch(consumer, inc, partition, offset, (broker, leader_epoch))
            }
            Event::ConsumerFetchResponse {
                consumer,
                inc,
                partition,
                offset,
                records,
                next_offset,
                end_epoch,
                error,
                ..
            } => self.on_consumer_fetch_response(
                consumer,
                inc,
                partition,
                offset,
                records,
                next_offset,
                end_epoch,
                error,
            ),
            Event::EpochQuery { consumer, inc, partition, offset, epoch, broker } => {
                self.on_epoch_query(consumer, inc, partition, offset, epoch, broker)
            }
            Event::EpochAnswer { consumer, inc, partition, offset, answer, leader_epoch, .. } => {
                self.on_epoch_answer(consumer, inc, partition, offset, answer, leader_epoch)
            }
            Event::ConsumerStep { consumer, inc } => self.on_consumer_step(consumer, inc),
            Event::GroupArrive { consumer, inc, request } => self.on_group_arrive(consumer, inc, request),
            Event::GroupResponse { consumer, inc, reply } => self.on_group_response(consumer, inc, reply),
            Event::MemberExpire { group, member } => self.on_member_expire(group, member),
            Event::PendingMemberExpire { group, consumer } => self.on_pending_member_expire(group, consumer),
            Event::InitialJoinDelay { group, token, delay } => self.on_initial_join_delay(group, token, delay),
            Event::RebalanceNotice { consumer, inc } => self.on_rebalance_notice(consumer, inc),
            Event::Heartbeat { consumer, inc } => self.on_heartbeat_due(consumer, inc),
            Event::RevocationTimeout { group, member, epoch } => self.on_revocation_timeout(group, member, epoch),
            Event::PollDeadline { consumer, inc, polls } => self.on_poll_deadline(consumer, inc, polls),
            Event::ConsumerFetchTimeout { consumer, inc, partition, fetch } => {
                self.on_consumer_fetch_timeout(consumer, inc, partition, fetch)
            }
            Event::FollowerFetchTimeout { partition, follower, generation } => {
                if self.world.follower_fetches.get(&(partition, follower)) == Some(&generation) {
                    self.follower_fetch(partition, follower);
                }
            }
            Event::BrokerFenced { broker, inc } => self.on_broker_fenced(broker, inc),
            Event::Fault { fault } => self.fire(fault as usize),
            Event::TxnArrive { producer, inc, request } => self.on_txn_arrive(producer, inc, request),
            Event::TxnResponse { producer, inc, reply } => self.on_txn_response(producer, inc, reply),
            Event::MarkerArrive { txn, partition, broker, producer_id, epoch, commit } => {
                self.on_marker_arrive(txn, partition, broker, producer_id, epoch, commit)
            }
            Event::MarkerResponse { txn, partition, ok, .. } => self.on_marker_response(txn, partition, ok),
            Event::TxnTimeout { txn, started_at } => self.on_txn_timeout(txn, started_at),
            Event::IsrCheck { partition } => self.on_isr_check(partition),
            Event::RetentionCheck { broker, inc } => self.on_retention_check(broker, inc),
            Event::ProducerExpirationCheck { broker, inc } => self.on_producer_expiration_check(broker, inc),
            Event::TxnIdExpirationCheck { broker, inc } => self.on_txn_id_expiration_check(broker, inc),
            Event::DeleteRecordsTimeout { partition, before } => self.on_delete_records_timeout(partition, before),
        }
    }

    /// One-way network delay of a message sent now.
    fn latency(&mut self, replication: bool) -> u64 {
        let n = &self.model.network;
        let base = if replication { n.replication_latency_ms } else { n.latency_ms };
        if n.jitter_ms == 0 { base } else { base + self.rng.next_u64() % (n.jitter_ms + 1) }
    }

    fn random(&mut self, below: u64) -> u64 {
        if below <= 1 { 0 } else { self.rng.next_u64() % below }
    }

    /// Schedules `event` after a network hop, in order behind earlier messages on its link;
    /// replication traffic takes the broker-to-broker latency.
    fn send(&mut self, event: Event) {
        // A `request lost` / `ack lost` fault for the N-th message of a kind (see fault.rs).
        if self.message_lost(&event) {
            self.lost_once(event);
            return;
        }
        // A message on a partitioned link is lost (its sender times out; coordinator requests
        // are sent again, see retry.rs).
        if self.event_is_cut(&event) {
            self.lost_on_cut(event);
            return;
        }
        let replication = matches!(event, Event::FollowerFetch { .. } | Event::FollowerFetchResponse { .. });
        let mut at = self.clock + self.latency(replication) + self.broker_delay(&event);
        if let Some(link) = link(&event) {
            let last = self.world.links.entry(link).or_insert(0);
            at = at.max(*last);
            *last = at;
        }
        self.queue.push(at, event, self.idle);
    }

    /// The queue's timer for the fetch timeout of `follower`'s replica of `part` (see
    /// [`event::Queue::arm`]): one per (partition, broker).
    fn follower_fetch_timer(&self, part: crate::model::PartitionIdx, follower: BrokerId) -> u32 {
        part * self.model.cluster.brokers + (follower - 1)
    }

    /// The queue's timer for consumer `c`'s fetch timeout on `part`: one per (consumer,
    /// partition), after the followers'.
    fn consumer_fetch_timer(&self, c: u32, part: crate::model::PartitionIdx) -> u32 {
        let partitions = self.model.partitions.len() as u32;
        partitions * self.model.cluster.brokers + c * partitions + part
    }

    /// The queue's timer for producer `p`'s oldest batch's `delivery.timeout.ms`, after the
    /// consumers'.
    fn batch_expiry_timer(&self, p: u32) -> u32 {
        let partitions = self.model.partitions.len() as u32;
        partitions * (self.model.cluster.brokers + self.model.consumers.len() as u32) + p
    }

    /// The queue's timer for the earliest expiry of consumer `c`'s pending members (KIP-394),
    /// after the producers'.
    fn pending_member_timer(&self, c: u32) -> u32 {
        self.batch_expiry_timer(self.model.producers.len() as u32) + c
    }

    /// The queue's timer for KIP-848 member `c`'s next heartbeat, after the pending members'.
    fn heartbeat_timer(&self, c: u32) -> u32 {
        self.pending_member_timer(self.model.consumers.len() as u32) + c
    }

    /// The queue's timer for the rebalance timeout of KIP-848 consumer `c`'s revocation, after
    /// the heartbeats'.
    fn revocation_timer(&self, c: u32) -> u32 {
        self.heartbeat_timer(self.model.consumers.len() as u32) + c
    }

    /// Whether the link between `a` and `b` is cut by a `partition` (until `heal`).
    fn link_is_cut(&self, a: Node, b: Node) -> bool {
        !self.world.cut.is_empty() && self.world.cut.contains(&if a <= b { (a, b) } else { (b, a) })
    }

    /// Whether the network message `e` travels on a cut link.
    fn event_is_cut(&self, e: &Event) -> bool {
        !self.world.cut.is_empty() && self.endpoints(e).is_some_and(|(a, b)| self.link_is_cut(a, b))
    }

    /// The network node of a producer (a processor's producer shares its consumer's node).
    fn producer_node(&self, p: u32) -> Node {
        match self.model.producers[p as usize].processor {
            Some(pi) => Node::Client(Client::Consumer(self.model.processors[pi as usize].consumer)),
            None => Node::Client(Client::Producer(p)),
        }
    }

    /// The two ends of the link a network message travels on.
    fn endpoints(&self, e: &Event) -> Option<(Node, Node)> {
        let leader = |p: u32| self.world.partitions[p as usize].leader.map(Node::Broker);
        Some(match *e {
            Event::ProduceArrive { producer, broker, .. } => (self.producer_node(producer), Node::Broker(broker)),
            Event::ProduceResponse { producer, req, .. } => {
                let b = self.world.producers[producer as usize].in_flight.get(&req)?.broker;
                (Node::Broker(b), self.producer_node(producer))
            }
            Event::FollowerFetch { partition, follower, .. }
            | Event::FollowerFetchResponse { partition, follower, .. } => (Node::Broker(follower), leader(partition)?),
            Event::ConsumerFetch { consumer, broker, .. } | Event::EpochQuery { consumer, broker, .. } => {
                (Node::Client(Client::Consumer(consumer)), Node::Broker(broker))
            }
            Event::ConsumerFetchResponse { consumer, broker, .. } | Event::EpochAnswer { consumer, broker, .. } => {
                (Node::Broker(broker), Node::Client(Client::Consumer(consumer)))
            }
            Event::GroupArrive { consumer, .. } | Event::GroupResponse { consumer, .. } => {
                let g = self.model.consumers[consumer as usize].group as usize;
                (Node::Client(Client::Consumer(consumer)), Node::Broker(self.group_coordinator(g)?))
            }
            Event::TxnArrive { producer, .. } | Event::TxnResponse { producer, .. } => {
                let id = self.model.producers[producer as usize].transactional_id.as_deref()?;
                (self.producer_node(producer), Node::Broker(self.coordinator_broker(self.txn_index(id))?))
            }
            Event::MarkerArrive { txn, broker, .. } | Event::MarkerResponse { txn, from: Some(broker), .. } => {
                (Node::Broker(self.coordinator_broker(txn)?), Node::Broker(broker))
            }
            _ => return None,
        })
    }

    /// The extra delay of the brokers a message leaves or reaches (`broker.N.latency`).
    fn broker_delay(&self, e: &Event) -> u64 {
        let extra = &self.model.network.broker_extra_ms;
        let of = |b: Option<BrokerId>| b.map_or(0, |b| extra.get((b - 1) as usize).copied().unwrap_or(0));
        let leader = |p: u32| self.world.partitions[p as usize].leader;
        match *e {
            Event::ProduceArrive { broker, .. }
            | Event::ConsumerFetch { broker, .. }
            | Event::EpochQuery { broker, .. }
            | Event::MarkerArrive { broker, .. } => of(Some(broker)),
            Event::ProduceResponse { producer, req, .. } => {
                of(self.world.producers[producer as usize].in_flight.get(&req).map(|f| f.broker))
            }
            Event::FollowerFetch { partition, follower, .. }
            | Event::FollowerFetchResponse { partition, follower, .. } => of(Some(follower)) + of(leader(partition)),
            Event::ConsumerFetchResponse { broker, .. } | Event::EpochAnswer { broker, .. } => of(Some(broker)),
            _ => 0,
        }
    }

    /// Sends `event` once `delay` has passed (a broker answering after a wait).
    fn send_after(&mut self, delay: u64, event: Event) {
        let clock = self.clock;
        self.clock += delay;
        self.send(event);
        self.clock = clock;
    }

    fn at(&mut self, time: u64, event: Event) {
        self.queue.push(time, event, self.idle);
    }

    /// Adds a process-table row; the closure only runs when the row will be kept.
    fn log(&mut self, row: impl FnOnce(&Self) -> (String, String, String, String)) {
        if self.trace.wants() {
            let (actor, action, message, result) = row(self);
            self.trace.push(self.clock, actor, action, message, result);
            let step = self.trace.total.to_string();
            self.track(&step);
        } else {
            self.trace.skip();
        }
    }

    fn track(&mut self, after: &str) {
        let values = self.model.track.iter().map(|v| self.tracked_value(v)).collect();
        self.trace.track(after.to_string(), self.clock, values);
    }

    fn client_name(&self, c: Client) -> String {
        self.model.client_name(c).to_string()
    }

    fn value(&self, msg: u32) -> String {
        self.model.value(msg)
    }

    /// `[message1, message2]`, shortened past a handful.
    fn values(&self, msgs: impl IntoIterator<Item = u32>) -> String {
        let msgs: Vec<u32> = msgs.into_iter().collect();
        let mut parts: Vec<String> = msgs.iter().take(4).map(|m| self.value(*m)).collect();
        if msgs.len() > 4 {
            parts.push(format!("... {} more", msgs.len() - 4));
        }
        parts.join(", ")
    }
}

mod tracked;
mod txn_client;

/// The client an event is handled by, if it is handled by a client.
fn event_client(e: &Event) -> Option<Client> {
    Some(match *e {
        // A client's own retry waits while it is frozen.
        Event::Resend { ref event, .. } => match **event {
            Event::GroupArrive { consumer, .. } => Client::Consumer(consumer),
            Event::TxnArrive { producer, .. } => Client::Producer(producer),
            _ => return None,
        },
        Event::AppSend { producer, .. }
        | Event::SenderWake { producer, .. }
        | Event::ProduceResponse { producer, .. }
        | Event::RequestTimeout { producer, .. }
        | Event::BatchExpiry { producer, .. }
        | Event::TxnResponse { producer, .. } => Client::Producer(producer),
        Event::ConsumerFetchResponse { consumer, .. }
        | Event::EpochAnswer { consumer, .. }
        | Event::ConsumerStep { consumer, .. }
        | Event::GroupResponse { consumer, .. }
        | Event::RebalanceNotice { consumer, .. }
        | Event::Heartbeat { consumer, .. }
        | Event::PollDeadline { consumer, .. }
        | Event::ConsumerFetchTimeout { consumer, .. } => Client::Consumer(consumer),
        _ => return None,
    })
}

impl Sim<'_> {
    /// The broker an event is handled by, if it is handled by a broker.
    fn event_broker(&self, e: &Event) -> Option<BrokerId> {
        match *e {
            Event::ProduceArrive { broker, .. }
            | Event::ConsumerFetch { broker, .. }
            | Event::EpochQuery { broker, .. }
            | Event::MarkerArrive { broker, .. }
            | Event::RetentionCheck { broker, .. }
            | Event::ProducerExpirationCheck { broker, .. }
            | Event::TxnIdExpirationCheck { broker, .. } => Some(broker),
            Event::FollowerFetch { partition, .. } | Event::FetchWaitExpired { partition, .. } => {
                self.world.partitions[partition as usize].leader
            }
            Event::FollowerFetchResponse { follower, .. } | Event::FollowerFetchTimeout { follower, .. } => {
                Some(follower)
            }
            Event::TxnArrive { producer, .. } => {
                let id = self.model.producers[producer as usize].transactional_id.as_deref()?;
                self.coordinator_broker(self.txn_index(id))
            }
            Event::GroupArrive { consumer, .. } => {
                self.group_coordinator(self.model.consumers[consumer as usize].group as usize)
            }
            _ => None,
        }
    }
}

/// The connection a network message travels on: (kind, from, to).
fn link(e: &Event) -> Option<(u8, u32, u32)> {
    Some(match *e {
        Event::ProduceArrive { producer, broker, .. } => (0, producer, broker),
        Event::ProduceResponse { producer, .. } => (1, producer, 0),
        Event::FollowerFetch { follower, partition, .. } => (2, follower, partition),
        Event::FollowerFetchResponse { follower, partition, .. } => (3, follower, partition),
        Event::ConsumerFetch { consumer, broker, .. } | Event::EpochQuery { consumer, broker, .. } => {
            (4, consumer, broker)
        }
        Event::ConsumerFetchResponse { consumer, .. } | Event::EpochAnswer { consumer, .. } => (5, consumer, 0),
        Event::GroupArrive { consumer, .. } => (6, consumer, 0),
        Event::GroupResponse { consumer, .. } => (7, consumer, 0),
        Event::TxnArrive { producer, .. } => (8, producer, 0),
        Event::TxnResponse { producer, .. } => (9, producer, 0),
        Event::MarkerArrive { txn, partition, .. } => (10, txn, partition),
        Event::MarkerResponse { txn, partition, .. } => (11, txn, partition),
        _ => return None,
    })
}
