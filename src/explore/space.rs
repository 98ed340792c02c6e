//! The fault space: which faults `explore` tries at each choice point a run passes, written as
//! the fault lines a scenario would hold (`crash leader of t-0 at 5ms` + `restart broker 1
//! after 10s`), and resolved to the same triggers and actions the checker gives those lines.

use crate::check::ms;
use crate::diag::Span;
use crate::model::{BrokerId, Client, FaultAction, FaultSpec, Model, Node, Trigger};
use crate::sim::{Choice, ChoiceAt, Sim};

/// A kind of fault, as `--kinds` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `crash C <point>` at every program point of a client, with its restart.
    ClientCrash,
    /// `pause C at T` at every moment, resumed after the client's session timeout (a zombie).
    ClientPause,
    /// `crash leader of P at T`: leader failover.
    LeaderCrash,
    /// `crash broker N at T`, with its restart.
    BrokerCrash,
    /// `pause broker N at T`, resumed after broker.session.timeout.ms (a zombie broker).
    BrokerPause,
    /// `shutdown broker N at T` (controlled shutdown): only when asked for.
    Shutdown,
    /// `partition A from B at T` between any two nodes that talk, healed later.
    Partition,
    /// `request lost` / `ack lost` for every produce request attempt, fetch response with
    /// records, OffsetCommit, transactional request and marker (and their responses).
    Lost,
}

impl Kind {
    /// Every kind, in the order candidates are tried at one choice point.
    pub const ALL: [Kind; 8] = [
        Kind::ClientCrash,
        Kind::Lost,
        Kind::LeaderCrash,
        Kind::BrokerCrash,
        Kind::BrokerPause,
        Kind::ClientPause,
        Kind::Partition,
        Kind::Shutdown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::ClientCrash => "client-crash",
            Kind::ClientPause => "client-pause",
            Kind::LeaderCrash => "leader-crash",
            Kind::BrokerCrash => "broker-crash",
            Kind::BrokerPause => "broker-pause",
            Kind::Shutdown => "shutdown",
            Kind::Partition => "partition",
            Kind::Lost => "lost",
        }
    }

    /// The kinds a `--kinds` word stands for: a group (`client`, `broker`, `network`, `all`),
    /// a verb (`crash`, `pause`) or one kind by name.
    pub fn parse_word(word: &str) -> Result<Vec<Kind>, String> {
        Ok(match word {
            "client" => vec![Kind::ClientCrash, Kind::ClientPause],
            "broker" => vec![Kind::LeaderCrash, Kind::BrokerCrash, Kind::BrokerPause],
            "network" => vec![Kind::Partition, Kind::Lost],
            "crash" => vec![Kind::ClientCrash, Kind::LeaderCrash, Kind::BrokerCrash],
            "pause" => vec![Kind::ClientPause, Kind::BrokerPause],
            "all" => Kind::ALL.to_vec(),
            w => match Kind::ALL.iter().find(|k| k.name() == w) {
                Some(k) => vec![*k],
                None => {
                    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                    return Err(format!(
                        "unknown fault kind `{w}`: expected client, broker, network, crash, pause, all or one of {}",
                        names.join(", ")
                    ));
                }
            },
        })
    }

    /// The default space: everything but controlled shutdowns (a planned operation, not a
    /// failure).
    pub fn default_set() -> Vec<Kind> {
        Kind::ALL.iter().copied().filter(|k| *k != Kind::Shutdown).collect()
    }
}

/// How long injected faults last before the paired recovery line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Durations {
    /// A crashed client restarts after this long.
    pub client_restart_ms: u64,
    /// A crashed broker restarts after this long (default: broker.session.timeout.ms + 1 s,
    /// so that the controller fences it and moves its leaderships first).
    pub broker_restart_ms: u64,
    /// A cut link heals after this long.
    pub heal_ms: u64,
    /// A paused node resumes after this long; `None`: its own session timeout + 1 s, so it
    /// comes back as a zombie (expired from its group, or fenced by the controller).
    pub pause_ms: Option<u64>,
}

impl Durations {
    pub fn defaults(model: &Model) -> Durations {
        let broker = model.cluster.broker_session_timeout_ms + 1000;
        Durations { client_restart_ms: 1000, broker_restart_ms: broker, heal_ms: broker, pause_ms: None }
    }
}

/// One fault `explore` adds to a run: its lines (the fault and its paired recovery) and where
/// the run must be forked to inject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The event before which the run is forked.
    pub fork: u64,
    /// The fault lines, the fault first.
    pub lines: Vec<String>,
    pub specs: Vec<FaultSpec>,
}

/// What `explore` may inject.
#[derive(Debug, Clone)]
pub struct Space {
    pub kinds: Vec<Kind>,
    pub durations: Durations,
    /// The network nodes that talk to each other, paired once: (a, b, a's name, b's name).
    links: Vec<(Node, Node, String, String)>,
    /// Clients that are processes of their own (a processor as its consumer half): the ones
    /// client faults may hit.
    clients: Vec<Client>,
}

impl Space {
    pub fn new(model: &Model, kinds: Vec<Kind>, durations: Durations) -> Space {
        Space::only(model, kinds, durations, None)
    }

    /// The space with client faults (crashes, pauses, lost requests, cut links) only for the
    /// clients named in `only`.
    pub fn only(model: &Model, kinds: Vec<Kind>, durations: Durations, only: Option<&[String]>) -> Space {
        let mut clients: Vec<Client> = (0..model.producers.len() as u32)
            .filter(|p| model.producers[*p as usize].processor.is_none())
            .map(Client::Producer)
            .collect();
        clients.extend((0..model.consumers.len() as u32).map(Client::Consumer));
        if let Some(names) = only {
            clients.retain(|c| names.contains(&node_name(model, *c)));
        }
        let brokers: Vec<BrokerId> = (1..=model.cluster.brokers).collect();
        let mut links = Vec::new();
        for (i, a) in brokers.iter().enumerate() {
            for b in &brokers[i + 1..] {
                links.push((Node::Broker(*a), Node::Broker(*b), format!("broker {a}"), format!("broker {b}")));
            }
        }
        for b in &brokers {
            links.push((Node::Broker(*b), Node::Controller, format!("broker {b}"), "controller".into()));
        }
        for c in &clients {
            for b in &brokers {
                let name = node_name(model, *c);
                links.push((Node::Client(*c), Node::Broker(*b), name, format!("broker {b}")));
            }
        }
        Space { kinds, durations, links, clients }
    }

    fn has(&self, k: Kind) -> bool {
        self.kinds.contains(&k)
    }

    /// The faults to try at choice `c` of a run whose state just before it is `sim`, in a
    /// fixed order.
    pub fn moves(&self, sim: &Sim, c: &Choice) -> Vec<Move> {
        let model = sim.model;
        let mut out = Vec::new();
        let mut push = |lines: Vec<(String, Trigger, FaultAction)>| {
            let specs: Vec<FaultSpec> = lines
                .iter()
                .map(|(name, trigger, action)| FaultSpec {
                    name: name.clone(),
                    span: Span::default(),
                    trigger: trigger.clone(),
                    action: action.clone(),
                })
                .collect();
            out.push(Move { fork: c.event, lines: lines.into_iter().map(|l| l.0).collect(), specs });
        };
        let d = self.durations;
        match c.at {
            ChoiceAt::Point(client, at) => {
                if !self.has(Kind::ClientCrash) {
                    return out;
                }
                // A processor's producer half reaches `after send N`; the process crashes whole.
                let target = crash_target(model, client);
                if !self.clients.contains(&target) {
                    return out;
                }
                let name = node_name(model, target);
                let restart = d.client_restart_ms;
                push(vec![
                    (
                        format!("crash {name} {}", sim.point_text(at)),
                        Trigger::Point(client, at),
                        FaultAction::CrashClient(target),
                    ),
                    (
                        format!("restart {name} after {}", ms(restart)),
                        Trigger::AfterCrash(restart),
                        FaultAction::RestartClient(target),
                    ),
                ]);
            }
            ChoiceAt::Request { producer, msg, attempt } => {
                if !self.has(Kind::Lost) || !self.clients.contains(&Client::Producer(producer)) {
                    return out;
                }
                let name = model.client_name(Client::Producer(producer)).to_string();
                let n = model.send_number(msg);
                for (kind, action) in [("request", FaultAction::LoseRequest), ("ack", FaultAction::LoseAck)] {
                    push(vec![(
                        format!("{kind} lost for {name} send {n} attempt {attempt}"),
                        Trigger::Request { producer, msg, attempt },
                        action,
                    )]);
                }
            }
            ChoiceAt::Message { client, request, n, response } => {
                if !self.has(Kind::Lost) || !self.clients.contains(&crash_target(model, client)) {
                    return out;
                }
                let kind = if response { "ack" } else { "request" };
                let action = if response { FaultAction::LoseAck } else { FaultAction::LoseRequest };
                push(vec![(
                    format!("{kind} lost for {} {} {n}", sim.process_name(client), request.word()),
                    Trigger::Message { client, request, n, response },
                    action,
                )]);
            }
            ChoiceAt::Moment => {
                let t = c.time;
                let at = Trigger::At(t);
                let restart = d.broker_restart_ms;
                let restart_line = |b: BrokerId| {
                    (
                        format!("restart broker {b} after {}", ms(restart)),
                        Trigger::AfterCrash(restart),
                        FaultAction::RestartBroker(b),
                    )
                };
                if self.has(Kind::LeaderCrash) {
                    for (p, part) in sim.world.partitions.iter().enumerate() {
                        let Some(b) = part.leader.filter(|b| sim.world.broker(*b).alive) else { continue };
                        push(vec![
                            (
                                format!("crash leader of {} at {}", model.partition_name(p as u32), ms(t)),
                                at.clone(),
                                FaultAction::CrashLeaderOf(p as u32),
                            ),
                            restart_line(b),
                        ]);
                    }
                }
                let alive: Vec<BrokerId> = (1..=model.cluster.brokers).filter(|b| sim.world.broker(*b).alive).collect();
                if self.has(Kind::BrokerCrash) {
                    for &b in &alive {
                        push(vec![
                            (format!("crash broker {b} at {}", ms(t)), at.clone(), FaultAction::CrashBroker(b)),
                            restart_line(b),
                        ]);
                    }
                }
                if self.has(Kind::BrokerPause) {
                    let resume = d.pause_ms.unwrap_or(model.cluster.broker_session_timeout_ms + 1000);
                    for &b in alive.iter().filter(|b| !sim.world.broker(**b).paused) {
                        push(vec![
                            (format!("pause broker {b} at {}", ms(t)), at.clone(), FaultAction::PauseBroker(b)),
                            (
                                format!("resume broker {b} after {}", ms(resume)),
                                Trigger::AfterPause(resume),
                                FaultAction::ResumeBroker(b),
                            ),
                        ]);
                    }
                }
                if self.has(Kind::ClientPause) {
                    for &cl in self.clients.iter().filter(|cl| !sim.world.paused.contains(cl)) {
                        let resume = d.pause_ms.unwrap_or_else(|| pause_for(model, &cl));
                        let name = node_name(model, cl);
                        push(vec![
                            (format!("pause {name} at {}", ms(t)), at.clone(), FaultAction::PauseClient(cl)),
                            (
                                format!("resume {name} after {}", ms(resume)),
                                Trigger::AfterPause(resume),
                                FaultAction::ResumeClient(cl),
                            ),
                        ]);
                    }
                }
                if self.has(Kind::Partition) {
                    let heal = t.saturating_add(d.heal_ms);
                    for (a, b, an, bn) in &self.links {
                        push(vec![
                            (
                                format!("partition {an} from {bn} at {}", ms(t)),
                                at.clone(),
                                FaultAction::Partition(vec![(*a, *b)]),
                            ),
                            (format!("heal at {}", ms(heal)), Trigger::At(heal), FaultAction::Heal),
                        ]);
                    }
                }
                if self.has(Kind::Shutdown) {
                    for &b in &alive {
                        push(vec![
                            (format!("shutdown broker {b} at {}", ms(t)), at.clone(), FaultAction::ShutdownBroker(b)),
                            restart_line(b),
                        ]);
                    }
                }
            }
        }
        out
    }

    /// How many moves a choice offers at most (for progress bars; the exact count depends on
    /// the state at the choice).
    pub fn estimate(&self, model: &Model, c: &Choice) -> usize {
        let brokers = model.cluster.brokers as usize;
        match c.at {
            ChoiceAt::Point(..) => usize::from(self.has(Kind::ClientCrash)),
            ChoiceAt::Request { .. } => 2 * usize::from(self.has(Kind::Lost)),
            ChoiceAt::Message { .. } => usize::from(self.has(Kind::Lost)),
            ChoiceAt::Moment => {
                let per = |k: Kind, n: usize| if self.has(k) { n } else { 0 };
                per(Kind::LeaderCrash, model.partitions.len())
                    + per(Kind::BrokerCrash, brokers)
                    + per(Kind::BrokerPause, brokers)
                    + per(Kind::ClientPause, self.clients.len())
                    + per(Kind::Partition, self.links.len())
                    + per(Kind::Shutdown, brokers)
            }
        }
    }
}

/// The process a crash at a client's point takes down: a processor's producer half is part
/// of the processor, named by its consumer half.
fn crash_target(model: &Model, c: Client) -> Client {
    match c {
        Client::Producer(p) => match model.producers[p as usize].processor {
            Some(pi) => Client::Consumer(model.processors[pi as usize].consumer),
            None => c,
        },
        Client::Consumer(_) => c,
    }
}

/// A client's name as fault lines write it (a processor by its own name).
fn node_name(model: &Model, c: Client) -> String {
    if let Client::Consumer(k) = c {
        if let Some(pi) = model.consumers[k as usize].processor {
            return model.processors[pi as usize].name.clone();
        }
    }
    model.client_name(c).to_string()
}

/// A paused client stays frozen past its group's session timeout (a consumer) or its request
/// timeout (a producer), plus a second: long enough to come back as a zombie.
fn pause_for(model: &Model, c: &Client) -> u64 {
    match *c {
        Client::Consumer(k) => model.consumers[k as usize].session_timeout_ms + 1000,
        Client::Producer(p) => model.producers[p as usize].request_timeout_ms + 1000,
    }
}
