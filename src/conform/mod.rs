//! `scn conform`: the scenario's producers, consumers and processors run as real Kafka clients
//! (librdkafka through rdkafka, on tokio) against a real broker on loopback, with the
//! scenario's faults injected for real (a fault proxy per client, client crashes, pauses,
//! broker crashes where scn manages the broker), every operation recorded as a
//! [`History`], and that history judged by the same checker as the simulated run's
//! ([`crate::history::check`]), side by side. tokio lives here only, never in the simulator.

mod broker;
mod clients;
mod plan;
mod processor;
mod proxy;
mod report;
mod settings;
pub mod wire;

pub use report::{Conformance, FaultRow, Finding};

use crate::history::{History, Op, PartitionRead, Polled, SendResult};
use crate::model::{Client, ClientPoint, Model, MsgId, PartitionIdx};
use broker::{Managed, Target};
use plan::{Injection, Planned, Timed};
use proxy::Proxy;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run a conformance check.
#[derive(Debug, Clone)]
pub struct Options {
    /// A broker or cluster to use instead of the managed noida-db (loopback only).
    pub bootstrap: Option<String>,
    /// A shell command that crashes the user's broker (`--broker-crash-cmd`).
    pub broker_crash_cmd: Option<String>,
    /// A shell command that restarts it (`--broker-restart-cmd`).
    pub broker_restart_cmd: Option<String>,
    /// The run stops by itself after this long, whatever is left.
    pub timeout: Duration,
    /// Real milliseconds per scenario millisecond for the program's schedule and the faults'
    /// times (None: fit the schedule in about 2 s). Kafka settings are never scaled.
    pub time_scale: Option<f64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            bootstrap: None,
            broker_crash_cmd: None,
            broker_restart_cmd: None,
            timeout: Duration::from_secs(60),
            time_scale: None,
        }
    }
}

/// Run-unique names for the scenario's topics, groups and transactional ids, so that runs
/// against the same broker never meet.
pub struct Names {
    tag: String,
    topics: Vec<String>,
    /// (topic index, first partition, partitions) per topic.
    parts: Vec<(u32, u32, u32)>,
}

impl Names {
    fn new(model: &Model) -> Names {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let tag = format!("scn-{}-{:x}", std::process::id(), nanos % 0xffff_ffff);
        let topics = model.topics.iter().map(|t| format!("{tag}-{}", t.name)).collect();
        let parts = model.topics.iter().enumerate().map(|(i, t)| (i as u32, t.first_partition, t.partitions)).collect();
        Names { tag, topics, parts }
    }
    pub fn topic(&self, t: u32) -> String {
        self.topics[t as usize].clone()
    }
    /// A partition's topic name and index within its topic.
    pub fn partition(&self, p: PartitionIdx) -> (String, i32) {
        let (t, first, _) = self.parts.iter().rev().find(|(_, first, _)| *first <= p).copied().unwrap_or((0, 0, 0));
        (self.topic(t), (p - first) as i32)
    }
    pub fn group(&self, g: &str) -> String {
        format!("{}-{g}", self.tag)
    }
    pub fn transactional_id(&self, id: &str) -> String {
        format!("{}-{id}", self.tag)
    }
}

/// What a client's task is told from outside its program.
#[derive(Default)]
struct Control {
    crash: AtomicBool,
    paused: Option<tokio::sync::watch::Sender<bool>>,
    restart: tokio::sync::Notify,
    cut: AtomicBool,
    proxy: Mutex<Option<Proxy>>,
}

/// The run's shared state: the model, the target, the clients' controls and the history.
pub struct Ctx {
    model: Arc<Model>,
    target: SocketAddr,
    names: Names,
    start: Instant,
    deadline: Instant,
    scale: f64,
    ops: Mutex<Vec<Op>>,
    notes: Mutex<Vec<String>>,
    plan: Vec<Planned>,
    /// Fault line -> whether it fired.
    fired: Mutex<BTreeMap<String, bool>>,
    watched: Mutex<Vec<(String, Arc<AtomicBool>)>>,
    used_points: Mutex<Vec<usize>>,
    controls: Vec<Control>,
    /// Plain producers (not a processor's half) still running.
    producers_running: AtomicUsize,
    /// Per processor: whether it finished.
    processors_done: Vec<AtomicBool>,
    broker: tokio::sync::Mutex<Target>,
    hooks: (Option<String>, Option<String>),
    /// `when` faults whose condition the history met: (fault line, delay, action).
    /// (The last: whether it already acted.)
    triggers: tokio::sync::mpsc::UnboundedSender<(String, u64, Timed, bool)>,
    /// Plan indexes of the `when` faults already triggered (each fires once).
    when_fired: Mutex<Vec<usize>>,
}

impl Ctx {
    /// A client's control; a processor's two halves share its consumer half's.
    fn control(&self, c: Client) -> &Control {
        match c {
            Client::Producer(p) => match self.model.producers[p as usize].processor {
                Some(pi) => self.control(Client::Consumer(self.model.processors[pi as usize].consumer)),
                None => &self.controls[p as usize],
            },
            Client::Consumer(k) => &self.controls[self.model.producers.len() + k as usize],
        }
    }
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
    fn record(&self, op: Op) {
        self.trigger_when(&op);
        self.ops.lock().expect("history lock").push(op);
    }
    /// Fires each `when` fault whose condition this operation meets, the first time.
    fn trigger_when(&self, op: &Op) {
        for (i, p) in self.plan.iter().enumerate() {
            let Ok(Injection::When { condition, delay_ms, action }) = &p.injection else { continue };
            if !plan::holds(condition, op) {
                continue;
            }
            let mut fired = self.when_fired.lock().expect("when lock");
            if fired.contains(&i) {
                continue;
            }
            fired.push(i);
            drop(fired);
            // Without a delay a client's fault acts now, before the client's next operation
            // (as the simulator's does); the rest waits on the runtime.
            let acted = *delay_ms == 0 && self.act_on_client(&p.fault, *action);
            let _ = self.triggers.send((p.fault.clone(), *delay_ms, *action, acted));
        }
    }
    fn note(&self, s: String) {
        self.notes.lock().expect("notes lock").push(s);
    }
    fn scaled(&self, ms: u64) -> Duration {
        Duration::from_secs_f64(ms as f64 * self.scale / 1000.0)
    }
    async fn sleep_until_scenario(&self, at_ms: u64) {
        let when = self.start + self.scaled(at_ms);
        tokio::time::sleep_until(tokio::time::Instant::from_std(when.min(self.deadline))).await;
    }
    fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }
    fn injections(&self) -> Vec<(String, Injection)> {
        self.plan.iter().filter_map(|p| Some((p.fault.clone(), p.injection.clone().ok()?))).collect()
    }
    /// A fault was carried out now: the report says so and the history records when.
    fn mark(&self, fault: &str) {
        self.fired.lock().expect("fired lock").insert(fault.to_string(), true);
        self.record(Op::Fault { at_ms: self.now_ms(), fault: fault.to_string(), injected: true, note: String::new() });
    }
    fn watch_fired(&self, fault: String, flag: Arc<AtomicBool>) {
        self.watched.lock().expect("watch lock").push((fault, flag));
    }
    /// The current proxy of a client, for the time-based faults.
    fn attach(&self, c: Client, proxy: &Proxy) {
        let control = self.control(c);
        proxy.blackhole(control.cut.load(Ordering::SeqCst));
        // The scenario's network latency, on every frame each way (a real setting: unscaled).
        proxy.set_latency(self.model.network.latency_ms);
        *control.proxy.lock().expect("proxy lock") = Some(proxy.clone());
    }
    /// Records what a producer's proxy reads on the wire: the producer ids and epochs
    /// InitProducerId hands out, each Produce batch and its partition's answer.
    fn observe_wire(self: &Arc<Ctx>, proxy: &Proxy, producer: u32, incarnation: u32) {
        let ctx = Arc::downgrade(self);
        proxy.observe(Arc::new(move |seen| {
            let Some(ctx) = ctx.upgrade() else { return };
            let at_ms = ctx.now_ms();
            let op = match seen {
                proxy::Seen::ProducerId { error, producer_id, epoch } => {
                    let error = (error != 0).then(|| wire::error_name(error));
                    Op::ProducerId { at_ms, producer, incarnation, producer_id, epoch, error }
                }
                proxy::Seen::Produce { batch, error } => {
                    let Some(partition) = ctx.partition_of(&batch.topic, batch.partition) else { return };
                    Op::Produce {
                        at_ms,
                        producer,
                        incarnation,
                        partition,
                        producer_id: batch.producer_id,
                        epoch: batch.epoch,
                        base_sequence: batch.base_sequence,
                        records: batch.records,
                        error: error.filter(|e| *e != 0).map(wire::error_name),
                        answered: error.is_some(),
                    }
                }
            };
            ctx.record(op);
        }));
    }
    /// The lost request or ack planned for a message's Produce request: (fault line,
    /// attempt, whether the response is lost).
    fn produce_fault(&self, p: u32, msg: MsgId) -> Option<(String, u32, bool)> {
        self.injections().into_iter().find_map(|(fault, inj)| match inj {
            Injection::Produce { producer, msg: m, attempt, response } if producer == p && m == msg => {
                Some((fault, attempt, response))
            }
            _ => None,
        })
    }
    /// Whether the client crashes here (each crash line fires once).
    fn crash_point(&self, c: Client, point: ClientPoint) -> bool {
        let mut used = self.used_points.lock().expect("points lock");
        let hit = self.plan.iter().enumerate().find(|(i, p)| {
            !used.contains(i)
                && matches!(&p.injection, Ok(Injection::CrashAt { client, point: q }) if *client == c && *q == point)
        });
        let Some((i, p)) = hit else { return false };
        used.push(i);
        self.mark(&p.fault);
        true
    }
    /// Whether a crash line not yet fired waits at this point (without using it).
    fn crash_planned(&self, c: Client, point: ClientPoint) -> bool {
        let used = self.used_points.lock().expect("points lock");
        self.plan.iter().enumerate().any(|(i, p)| {
            !used.contains(&i)
                && matches!(&p.injection, Ok(Injection::CrashAt { client, point: q }) if *client == c && *q == point)
        })
    }
    /// Waits while the client is paused; Err when a crash was ordered.
    async fn checkpoint(&self, c: Client) -> Result<(), ()> {
        let control = self.control(c);
        if let Some(paused) = &control.paused {
            let mut rx = paused.subscribe();
            let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(self.deadline), rx.wait_for(|p| !*p)).await;
        }
        if control.crash.swap(false, Ordering::SeqCst) { Err(()) } else { Ok(()) }
    }
    /// After a crash: whether (and when) a new instance starts.
    async fn wait_restart(&self, c: Client) -> bool {
        let after = self.injections().into_iter().find_map(|(fault, inj)| match inj {
            Injection::RestartAfter { client, after_ms } if client == c => Some((fault, after_ms)),
            _ => None,
        });
        if let Some((fault, after_ms)) = after {
            tokio::time::sleep(self.scaled(after_ms)).await;
            self.mark(&fault);
            return !self.past_deadline();
        }
        let timed = self
            .injections()
            .iter()
            .any(|(_, inj)| matches!(inj, Injection::At { action: Timed::Restart(x), .. } if *x == c));
        if !timed {
            return false;
        }
        let control = self.control(c);
        tokio::time::timeout_at(tokio::time::Instant::from_std(self.deadline), control.restart.notified()).await.is_ok()
    }
    fn producer_finished(&self) {
        self.producers_running.fetch_sub(1, Ordering::SeqCst);
    }
    /// Whether every record a plain consumer may read was written: the producers and the
    /// processors finished.
    fn consumers_may_stop(&self) -> bool {
        self.producers_running.load(Ordering::SeqCst) == 0
            && self.processors_done.iter().all(|d| d.load(Ordering::SeqCst))
    }
    /// Whether every input a processor may read was written: the producers and the processors
    /// declared before it (whose outputs it may read) finished.
    fn processor_may_stop(&self, pi: u32) -> bool {
        self.producers_running.load(Ordering::SeqCst) == 0
            && self.processors_done[..pi as usize].iter().all(|d| d.load(Ordering::SeqCst))
    }
    fn processor_finished(&self, pi: u32) {
        self.processors_done[pi as usize].store(true, Ordering::SeqCst);
    }
    /// A producer's messages sent so far that it never saw acknowledged or failed.
    fn unacknowledged(&self, taken: &[MsgId]) -> Vec<MsgId> {
        let ops = self.ops.lock().expect("history lock");
        taken
            .iter()
            .copied()
            .filter(|m| {
                !ops.iter().any(|op| {
                    matches!(op, Op::Send { msg, result: SendResult::Acked { .. } | SendResult::Failed { .. }, .. } if msg == m)
                })
            })
            .collect()
    }
    fn partition_of(&self, topic: &str, idx: i32) -> Option<PartitionIdx> {
        let t = self.names.topics.iter().position(|n| n == topic)?;
        Some(self.model.topics[t].first_partition + idx as u32)
    }

    /// Carries out a fault on a client at once (every action but the broker's); false for a
    /// broker action, which [`Ctx::act`] carries out.
    fn act_on_client(&self, fault: &str, action: Timed) -> bool {
        match action {
            Timed::Crash(c) => self.control(c).crash.store(true, Ordering::SeqCst),
            Timed::Restart(c) => self.control(c).restart.notify_one(),
            Timed::Pause(c) | Timed::Resume(c) => {
                if let Some(p) = &self.control(c).paused {
                    p.send_replace(matches!(action, Timed::Pause(_)));
                }
            }
            Timed::Cut(c) => {
                let control = self.control(c);
                control.cut.store(true, Ordering::SeqCst);
                if let Some(p) = &*control.proxy.lock().expect("proxy lock") {
                    p.blackhole(true);
                }
            }
            Timed::Heal => {
                for control in &self.controls {
                    control.cut.store(false, Ordering::SeqCst);
                    if let Some(p) = &*control.proxy.lock().expect("proxy lock") {
                        p.blackhole(false);
                    }
                }
            }
            Timed::BrokerCrash | Timed::BrokerRestart | Timed::BrokerPause(_) => return false,
        }
        self.mark(fault);
        true
    }

    /// Carries out a fault at a scenario time (or when its condition was met).
    async fn act(&self, fault: &str, action: Timed) {
        if self.act_on_client(fault, action) {
            return;
        }
        let mut ok = true;
        match action {
            Timed::BrokerCrash | Timed::BrokerRestart | Timed::BrokerPause(_) => {
                let mut target = self.broker.lock().await;
                let result = match (&mut *target, action) {
                    (Target::Managed(m), Timed::BrokerCrash) => {
                        m.crash();
                        Ok(())
                    }
                    (Target::Managed(m), Timed::BrokerRestart) => tokio::task::block_in_place(|| m.restart()),
                    (Target::Managed(m), Timed::BrokerPause(on)) => m.pause(on),
                    (Target::External { .. }, Timed::BrokerCrash) => hook(self.hooks.0.as_deref()),
                    (Target::External { .. }, _) => hook(self.hooks.1.as_deref()),
                    _ => Ok(()),
                };
                if let Err(e) = result {
                    ok = false;
                    self.note(format!("{fault}: {e}"));
                    let at_ms = self.now_ms();
                    self.record(Op::Fault { at_ms, fault: fault.to_string(), injected: false, note: e });
                }
            }
            _ => {}
        }
        if ok {
            self.mark(fault);
        }
    }
}

/// Carries out a timed or triggered fault unless the run is over (or it `acted` already);
/// `resume X after T` follows each pause of X.
async fn fire(ctx: Arc<Ctx>, fault: String, action: Timed, acted: bool) {
    if ctx.past_deadline() {
        return;
    }
    if !acted {
        ctx.act(&fault, action).await;
    }
    if let Timed::Pause(c) = action {
        for (f, inj) in ctx.injections() {
            if let Injection::ResumeAfter { client, after_ms } = inj
                && client == c
            {
                tokio::time::sleep(ctx.scaled(after_ms)).await;
                ctx.act(&f, Timed::Resume(c)).await;
            }
        }
    }
}

fn hook(cmd: Option<&str>) -> Result<(), String> {
    let cmd = cmd.ok_or("no hook command given")?;
    let status = std::process::Command::new("sh").arg("-c").arg(cmd).status().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("`{cmd}` exited with {status}")) }
}

/// An rdkafka error as the Kafka error name it carries, when it carries one.
fn error_name(e: &rdkafka::error::KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => e.to_string(),
    }
}

/// The time scale that fits the program's schedule and the timed faults in about 2 s.
fn default_scale(model: &Model) -> f64 {
    let sends = model.producers.iter().flat_map(|p| &p.sends).map(|s| s.at_ms + u64::from(s.count) * s.every_ms);
    let faults = model.faults.iter().filter_map(|f| match f.trigger {
        crate::model::Trigger::At(t) => Some(t),
        _ => None,
    });
    let last = sends.chain(faults).max().unwrap_or(0);
    if last <= 2_000 { 1.0 } else { 2_000.0 / last as f64 }
}

/// Runs the scenario against the target and judges both histories.
pub fn run(model: &Model, options: &Options) -> Result<Conformance, String> {
    let target = match &options.bootstrap {
        Some(b) => Target::External { bootstrap: broker::loopback(b)? },
        None => Target::Managed(Managed::start()?),
    };
    let managed = matches!(target, Target::Managed(_));
    let plan = plan::plan(model, managed, (options.broker_crash_cmd.is_some(), options.broker_restart_cmd.is_some()));
    let scale = options.time_scale.unwrap_or_else(|| default_scale(model));
    let describe = target.describe();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let started = Instant::now();
    let (history, notes, fired, plan) = runtime.block_on(drive(model, target, plan, scale, options))?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // The simulated run of the same file, written as a history and judged the same way.
    let sim_run = crate::sim::run(model, &crate::sim::Options::default());
    let simulated_history = crate::history::sim::from_run(model, &sim_run);
    let real = crate::history::check::judge(model, &history);
    let simulated = crate::history::check::judge(model, &simulated_history);
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(report::build(
        model,
        report::Parts { target: describe, managed, scale, elapsed_ms, plan, fired, notes, history, real, simulated },
    ))
}

type Driven = (History, Vec<String>, BTreeMap<String, bool>, Vec<Planned>);

async fn drive(
    model: &Model,
    target: Target,
    plan: Vec<Planned>,
    scale: f64,
    options: &Options,
) -> Result<Driven, String> {
    let names = Names::new(model);
    let addr = target.addr();
    create_topics(model, &names, addr).await?;
    let mut controls: Vec<Control> = Vec::new();
    for _ in 0..model.producers.len() + model.consumers.len() {
        controls.push(Control { paused: Some(tokio::sync::watch::channel(false).0), ..Control::default() });
    }
    let start = Instant::now();
    let (triggers, mut triggered) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(Ctx {
        model: Arc::new(model.clone()),
        target: addr,
        names,
        start,
        deadline: start + options.timeout,
        scale,
        ops: Mutex::new(Vec::new()),
        notes: Mutex::new(Vec::new()),
        plan,
        fired: Mutex::new(BTreeMap::new()),
        watched: Mutex::new(Vec::new()),
        used_points: Mutex::new(Vec::new()),
        controls,
        producers_running: AtomicUsize::new(model.producers.iter().filter(|p| p.processor.is_none()).count()),
        processors_done: model.processors.iter().map(|_| AtomicBool::new(false)).collect(),
        broker: tokio::sync::Mutex::new(target),
        hooks: (options.broker_crash_cmd.clone(), options.broker_restart_cmd.clone()),
        triggers,
        when_fired: Mutex::new(Vec::new()),
    });
    let mut tasks = Vec::new();
    // A processor's two halves are one task; the other clients one task each.
    for p in (0..model.producers.len() as u32).filter(|p| model.producers[*p as usize].processor.is_none()) {
        tasks.push(tokio::spawn(clients::producer(ctx.clone(), p)));
    }
    for c in (0..model.consumers.len() as u32).filter(|c| model.consumers[*c as usize].processor.is_none()) {
        tasks.push(tokio::spawn(clients::consumer(ctx.clone(), c)));
    }
    for pi in 0..model.processors.len() as u32 {
        tasks.push(tokio::spawn(processor::processor(ctx.clone(), pi)));
    }
    let mut timers = Vec::new();
    for (fault, inj) in ctx.injections() {
        if let Injection::At { at_ms, action } = inj {
            let ctx = ctx.clone();
            timers.push(tokio::spawn(async move {
                ctx.sleep_until_scenario(at_ms).await;
                fire(ctx, fault, action, false).await;
            }));
        }
    }
    // `when` faults: fired by the operation the history records, after their delay.
    let whens = ctx.clone();
    timers.push(tokio::spawn(async move {
        while let Some((fault, delay_ms, action, acted)) = triggered.recv().await {
            let ctx = whens.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ctx.scaled(delay_ms)).await;
                fire(ctx, fault, action, acted).await;
            });
        }
    }));
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    for t in tasks {
        if tokio::time::timeout_at(deadline, t).await.is_err() {
            ctx.note("the run reached its timeout before every client finished".into());
            break;
        }
    }
    for t in timers {
        t.abort();
    }
    // Whatever a fault proxy saw fire counts as injected.
    let watched: Vec<(String, bool)> = ctx
        .watched
        .lock()
        .expect("watch lock")
        .iter()
        .map(|(f, flag)| (f.clone(), flag.load(Ordering::SeqCst)))
        .collect();
    // (They fired inside a proxy; the history has the request and its outcome.)
    for (f, on) in watched {
        if on {
            ctx.fired.lock().expect("fired lock").insert(f, true);
        }
    }
    // The broker must be up for the final read: restart it if a fault left it down or frozen.
    if let Target::Managed(m) = &mut *ctx.broker.lock().await {
        let _ = m.pause(false);
        if std::net::TcpStream::connect_timeout(&m.addr(), Duration::from_millis(300)).is_err() {
            let _ = tokio::task::block_in_place(|| m.restart());
        }
    }
    let final_read = tokio::task::block_in_place(|| final_read(&ctx));
    // Abandoned clients keep the context alive: the managed broker is stopped here, not on drop.
    if let Target::Managed(m) = &mut *ctx.broker.lock().await {
        m.stop();
    }
    let ops = std::mem::take(&mut *ctx.ops.lock().expect("history lock"));
    let history = History { source: ctx.target.to_string(), ops, final_read };
    let notes = std::mem::take(&mut *ctx.notes.lock().expect("notes lock"));
    let fired = std::mem::take(&mut *ctx.fired.lock().expect("fired lock"));
    let plan = ctx.plan.clone();
    Ok((history, notes, fired, plan))
}

async fn create_topics(model: &Model, names: &Names, addr: SocketAddr) -> Result<(), String> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("broker.address.family", "v4")
        .set("log_level", "0")
        .create()
        .map_err(|e| format!("cannot reach the broker at {addr}: {e}"))?;
    let brokers = tokio::task::block_in_place(|| admin.inner().fetch_metadata(None, Duration::from_secs(10)))
        .map_err(|e| format!("no metadata from the broker at {addr}: {e}"))?
        .brokers()
        .len()
        .max(1) as i32;
    let topics: Vec<String> = (0..model.topics.len() as u32).map(|t| names.topic(t)).collect();
    let new: Vec<NewTopic> = model
        .topics
        .iter()
        .zip(&topics)
        .map(|(t, name)| {
            NewTopic::new(
                name,
                t.partitions as i32,
                TopicReplication::Fixed((t.replication_factor as i32).min(brokers)),
            )
        })
        .collect();
    let results = admin
        .create_topics(&new, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
        .await
        .map_err(|e| format!("CreateTopics failed: {e}"))?;
    for r in results {
        if let Err((topic, code)) = r {
            return Err(format!("cannot create topic {topic}: {code:?}"));
        }
    }
    Ok(())
}

/// Jepsen's final read: every partition from offset 0 with read_committed, straight to the
/// broker (no proxy), until the high watermark or 15 s.
fn final_read(ctx: &Ctx) -> Vec<PartitionRead> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let model = &ctx.model;
    let mut reads: Vec<PartitionRead> = (0..model.partitions.len() as u32)
        .map(|p| PartitionRead { partition: p, records: Vec::new(), incomplete: None })
        .collect();
    let consumer: BaseConsumer = match rdkafka::ClientConfig::new()
        .set("bootstrap.servers", ctx.target.to_string())
        .set("broker.address.family", "v4")
        .set("group.id", ctx.names.group("final-read"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("log_level", "0")
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            for r in &mut reads {
                r.incomplete = Some(format!("no final reader: {e}"));
            }
            return reads;
        }
    };
    let mut tpl = rdkafka::TopicPartitionList::new();
    let mut high: BTreeMap<u32, i64> = BTreeMap::new();
    for p in 0..model.partitions.len() as u32 {
        let (topic, idx) = ctx.names.partition(p);
        let _ = tpl.add_partition_offset(&topic, idx, rdkafka::Offset::Beginning);
        match consumer.fetch_watermarks(&topic, idx, Duration::from_secs(5)) {
            Ok((_, h)) => {
                high.insert(p, h);
            }
            Err(e) => reads[p as usize].incomplete = Some(format!("no high watermark: {e}")),
        }
    }
    if consumer.assign(&tpl).is_err() {
        return reads;
    }
    let until = Instant::now() + Duration::from_secs(15);
    let mut position: BTreeMap<u32, i64> = BTreeMap::new();
    let done = |position: &BTreeMap<u32, i64>| {
        high.iter().all(|(p, h)| *h == 0 || position.get(p).is_some_and(|o| o + 1 >= *h))
    };
    while Instant::now() < until && !done(&position) {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
            // A transaction's marker ends the partition: the position passes it.
            if let Ok(pos) = consumer.position() {
                for e in pos.elements() {
                    if let (rdkafka::Offset::Offset(o), Some(p)) =
                        (e.offset(), ctx.partition_of(e.topic(), e.partition()))
                    {
                        if high.get(&p).is_some_and(|h| o >= *h) {
                            position.insert(p, o - 1);
                        }
                    }
                }
            }
            continue;
        };
        let Some(p) = ctx.partition_of(m.topic(), m.partition()) else { continue };
        let msg = m
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == clients::MSG_HEADER))
            .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok());
        reads[p as usize].records.push(Polled { partition: p, offset: Some(m.offset() as u64), msg });
        position.insert(p, m.offset());
    }
    if !done(&position) {
        for (p, r) in reads.iter_mut().enumerate() {
            if r.incomplete.is_none()
                && !high
                    .get(&(p as u32))
                    .is_none_or(|h| *h == 0 || position.get(&(p as u32)).is_some_and(|o| o + 1 >= *h))
            {
                r.incomplete = Some("the final read stopped at 15 s before the high watermark".into());
            }
        }
    }
    reads
}
