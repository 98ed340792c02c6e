//! The deterministic discrete-event simulation: `Sim { clock, queue, world, rng }` and `step`,
//! which applies one event to the world and schedules what follows from it.
//!
//! A run is a pure function of (model, seed, fault schedule): a logical clock in milliseconds,
//! ties broken by insertion order, ordered maps only, and one ChaCha RNG seeded from the
//! scenario (used for network jitter and the sticky partitioner).

mod broker;
mod consumer;
mod controller;
mod coordinator;
pub mod event;
mod fault;
mod group;
pub mod log;
mod metadata;
mod processor;
mod producer;
mod retry;
pub mod trace;
pub mod world;

use crate::model::{BrokerId, Client, Model, Node};
use event::{Event, Queue};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use trace::Trace;
use world::World;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// Nothing left that could change the outcome.
    Quiescent,
    /// The scenario's `run for` time ran out first.
    TimeLimit,
    /// The event budget ran out (a runaway scenario).
    EventLimit,
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
    let run = run(&quiet, &Options { trace_limit: 0, seed: None, record_points: true });
    run.points
}

pub struct Sim<'m> {
    pub model: &'m Model,
    pub clock: u64,
    pub queue: Queue,
    pub world: World,
    rng: ChaCha8Rng,
    pub trace: Trace,
    /// Whether the event being handled is idle (its follow-ups are idle too).
    idle: bool,
    points: Option<Vec<String>>,
}

/// Runs a scenario to the end.
pub fn run(model: &Model, options: &Options) -> Run {
    let seed = options.seed.unwrap_or(model.seed);
    let mut sim = Sim {
        model,
        clock: 0,
        queue: Queue::default(),
        world: World::new(model),
        rng: ChaCha8Rng::seed_from_u64(seed),
        trace: Trace::new(options.trace_limit),
        idle: false,
        points: options.record_points.then(Vec::new),
    };
    sim.track("start");
    sim.start();
    let mut events = 0u64;
    let mut last_active = 0u64;
    let stop = loop {
        if sim.queue.active() == 0 && !sim.busy() {
            break Stop::Quiescent;
        }
        let Some(time) = sim.queue.peek_time() else {
            break Stop::Quiescent;
        };
        if time > model.run_for_ms {
            break Stop::TimeLimit;
        }
        if events >= MAX_EVENTS {
            break Stop::EventLimit;
        }
        let Some((time, idle, event)) = sim.queue.pop() else {
            break Stop::Quiescent;
        };
        events += 1;
        sim.clock = time;
        sim.idle = idle;
        let traced = sim.trace.total;
        sim.step(event);
        if !idle || sim.trace.total != traced {
            last_active = time;
        }
    };
    // The run ends with the last event that did something (idle polling after it is not news).
    let end_ms = if stop == Stop::Quiescent { last_active } else { sim.clock };
    sim.clock = end_ms;
    if sim.trace.tracker.len() < sim.trace.limit {
        sim.track("final");
    }
    let points = sim.points.take().unwrap_or_default();
    Run { world: sim.world, trace: sim.trace, stop, end_ms, events, seed, points }
}

impl Sim<'_> {
    fn start(&mut self) {
        for (i, f) in self.model.faults.iter().enumerate() {
            if let crate::model::Trigger::At(t) = f.trigger {
                self.queue.push(t, Event::Fault { fault: i as u32 }, false);
            }
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
    }

    /// Whether a live producer still holds a batch, or a transaction is open (their timers may
    /// still fail, retry or abort them).
    fn busy(&self) -> bool {
        // (A request whose batch expired in flight still holds up its producer's transaction.)
        self.world.producers.iter().any(|p| p.alive && (!p.batches.is_empty() || !p.in_flight.is_empty()))
            || self.world.txns.iter().any(|t| t.state == world::TxnState::Ongoing)
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
                    let limit =
                        if self.model.consumers[c].read_committed { r.last_stable_offset() } else { r.high_watermark };
                    limit > *pos + s.buffer.get(p).map_or(0, |b| b.len() as u64)
                })
        });
        consumers
            || self.world.partitions.iter().enumerate().any(|(p, part)| {
                let Some(leader) = part.leader_replica().filter(|r| self.world.broker(r.broker).alive) else {
                    return false;
                };
                part.replicas.iter().any(|r| {
                    r.broker != leader.broker
                        && self.world.broker(r.broker).alive
                        && r.log_end_offset() < leader.log_end_offset()
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
            Event::FollowerFetchResponse { partition, follower, finc, epoch, offset, records, high_watermark } => {
                self.on_follower_fetch_response(partition, follower, finc, epoch, offset, records, high_watermark)
            }
            Event::FetchWaitExpired { partition, token } => self.on_fetch_wait_expired(partition, token),
            Event::ConsumerFetch { consumer, inc, partition, offset, broker } => {
                self.on_consumer_fetch(consumer, inc, partition, offset, broker)
            }
            Event::ConsumerFetchResponse { consumer, inc, partition, offset, records, next_offset, error, .. } => {
                self.on_consumer_fetch_response(consumer, inc, partition, offset, records, next_offset, error)
            }
            Event::ConsumerStep { consumer, inc } => self.on_consumer_step(consumer, inc),
            Event::GroupArrive { consumer, inc, request } => self.on_group_arrive(consumer, inc, request),
            Event::GroupResponse { consumer, inc, reply } => self.on_group_response(consumer, inc, reply),
            Event::MemberExpire { group, member } => self.on_member_expire(group, member),
            Event::RebalanceNotice { consumer, inc } => self.on_rebalance_notice(consumer, inc),
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
            Event::ConsumerFetch { consumer, broker, .. } => {
                (Node::Client(Client::Consumer(consumer)), Node::Broker(broker))
            }
            Event::ConsumerFetchResponse { consumer, broker, .. } => {
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
            | Event::MarkerArrive { broker, .. } => of(Some(broker)),
            Event::ProduceResponse { producer, req, .. } => {
                of(self.world.producers[producer as usize].in_flight.get(&req).map(|f| f.broker))
            }
            Event::FollowerFetch { partition, follower, .. }
            | Event::FollowerFetchResponse { partition, follower, .. } => of(Some(follower)) + of(leader(partition)),
            Event::ConsumerFetchResponse { broker, .. } => of(Some(broker)),
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
        | Event::ConsumerStep { consumer, .. }
        | Event::GroupResponse { consumer, .. }
        | Event::RebalanceNotice { consumer, .. }
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
            | Event::MarkerArrive { broker, .. } => Some(broker),
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
        Event::ConsumerFetch { consumer, broker, .. } => (4, consumer, broker),
        Event::ConsumerFetchResponse { consumer, .. } => (5, consumer, 0),
        Event::GroupArrive { consumer, .. } => (6, consumer, 0),
        Event::GroupResponse { consumer, .. } => (7, consumer, 0),
        Event::TxnArrive { producer, .. } => (8, producer, 0),
        Event::TxnResponse { producer, .. } => (9, producer, 0),
        Event::MarkerArrive { txn, partition, .. } => (10, txn, partition),
        Event::MarkerResponse { txn, partition, .. } => (11, txn, partition),
        _ => return None,
    })
}
