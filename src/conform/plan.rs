//! Which of a scenario's faults a target can inject, and how: each fault line becomes an
//! injection for a client's proxy or program, a broker action, or a refusal with its reason
//! (reported, never silently skipped).

use super::wire::api;
use crate::ast::LostRequest;
use crate::model::{Client, ClientPoint, FaultAction, Model, MsgId, Node, Trigger};

/// How one fault line is carried out against a real broker.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// Lose the `attempt`-th Produce request carrying `msg` (or its response).
    Produce { producer: u32, msg: MsgId, attempt: u32, response: bool },
    /// Lose a client's `n`-th request of these api keys (or its response).
    Request { client: Client, apis: Vec<i16>, n: u32, response: bool },
    /// Crash a client at a point of its program.
    CrashAt { client: Client, point: ClientPoint },
    /// Act at a scenario time.
    At { at_ms: u64, action: Timed },
    /// Restart a client this long after each of its crashes.
    RestartAfter { client: Client, after_ms: u64 },
    /// Resume a client this long after each pause.
    ResumeAfter { client: Client, after_ms: u64 },
}

/// A fault acted at a scenario time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timed {
    Crash(Client),
    Restart(Client),
    Pause(Client),
    Resume(Client),
    /// Blackhole a client's connections (a partition between it and the brokers).
    Cut(Client),
    /// Heal every partition.
    Heal,
    BrokerCrash,
    BrokerRestart,
    BrokerPause(bool),
}

/// One fault line and its plan.
#[derive(Debug, Clone)]
pub struct Planned {
    pub fault: String,
    pub injection: Result<Injection, String>,
}

/// Plans every fault of the model for a target: `managed` says whether scn runs the broker
/// process (broker crashes, restarts and pauses), `hooks` whether the user gave commands.
pub fn plan(model: &Model, managed: bool, hooks: (bool, bool)) -> Vec<Planned> {
    model.faults.iter().map(|f| Planned { fault: f.name.clone(), injection: one(model, f, managed, hooks) }).collect()
}

fn one(model: &Model, f: &crate::model::FaultSpec, managed: bool, hooks: (bool, bool)) -> Result<Injection, String> {
    let single = model.cluster.brokers == 1;
    let broker = |what: &str, ok: bool| -> Result<(), String> {
        if !single {
            return Err(format!(
                "{what}: the target runs one broker for the scenario's {}; a single-node broker cannot show one broker of several failing",
                model.cluster.brokers
            ));
        }
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: the broker is not scn's to {what} (give --broker-crash-cmd / --broker-restart-cmd)"))
        }
    };
    match (&f.trigger, &f.action) {
        (Trigger::Request { producer, msg, attempt }, FaultAction::LoseRequest | FaultAction::LoseAck) => {
            Ok(Injection::Produce {
                producer: *producer,
                msg: *msg,
                attempt: *attempt,
                response: f.action == FaultAction::LoseAck,
            })
        }
        (Trigger::Message { client, request, n, response }, _) => {
            let apis = match request {
                LostRequest::Fetch => vec![api::FETCH],
                LostRequest::Commit => vec![api::OFFSET_COMMIT],
                LostRequest::Txn => vec![
                    api::INIT_PRODUCER_ID,
                    api::ADD_PARTITIONS_TO_TXN,
                    api::ADD_OFFSETS_TO_TXN,
                    api::END_TXN,
                    api::TXN_OFFSET_COMMIT,
                ],
                LostRequest::Marker => {
                    return Err("a WriteTxnMarkers request goes between brokers, not through a client's proxy".into());
                }
            };
            Ok(Injection::Request { client: *client, apis, n: *n, response: *response })
        }
        (Trigger::Point(_, point), FaultAction::CrashClient(c)) => Ok(Injection::CrashAt { client: *c, point: *point }),
        (Trigger::AfterCrash(d), FaultAction::RestartClient(c)) => {
            Ok(Injection::RestartAfter { client: *c, after_ms: *d })
        }
        (Trigger::AfterPause(d), FaultAction::ResumeClient(c)) => {
            Ok(Injection::ResumeAfter { client: *c, after_ms: *d })
        }
        (Trigger::At(t), action) => {
            let timed = match action {
                FaultAction::CrashClient(c) => Timed::Crash(*c),
                FaultAction::RestartClient(c) => Timed::Restart(*c),
                FaultAction::PauseClient(c) => Timed::Pause(*c),
                FaultAction::ResumeClient(c) => Timed::Resume(*c),
                FaultAction::Heal => Timed::Heal,
                FaultAction::Partition(links) => {
                    // A client cut from the brokers is its proxy blackholed; links between
                    // brokers (or to the controller) are inside the target.
                    let clients: Vec<Client> = links
                        .iter()
                        .filter_map(|(a, b)| match (a, b) {
                            (Node::Client(c), Node::Broker(_)) | (Node::Broker(_), Node::Client(c)) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    if clients.len() != links.len() || clients.is_empty() {
                        return Err("only a partition between a client and the brokers can be injected (links between brokers are inside the target)".into());
                    }
                    if !single {
                        return Err(
                            "the target runs one broker: a client cut from some brokers but not others cannot be shown"
                                .into(),
                        );
                    }
                    Timed::Cut(clients[0])
                }
                FaultAction::CrashBroker(_) | FaultAction::CrashLeaderOf(_) => {
                    broker("crash", managed || hooks.0)?;
                    Timed::BrokerCrash
                }
                FaultAction::RestartBroker(_) => {
                    broker("restart", managed || hooks.1)?;
                    Timed::BrokerRestart
                }
                FaultAction::PauseBroker(_) | FaultAction::ResumeBroker(_) => {
                    broker("pause", managed)?;
                    Timed::BrokerPause(matches!(action, FaultAction::PauseBroker(_)))
                }
                FaultAction::ShutdownBroker(_) => {
                    return Err(
                        "a controlled shutdown moves leadership to another broker: a single-node broker has none"
                            .into(),
                    );
                }
                FaultAction::LoseRequest | FaultAction::LoseAck => {
                    return Err("a request lost at a time names no request a proxy can match".into());
                }
            };
            Ok(Injection::At { at_ms: *t, action: timed })
        }
        (Trigger::When(..), _) => {
            Err("`when` conditions are read from the simulator's state; conform cannot watch them on a real broker"
                .into())
        }
        _ => Err("this trigger and action are not injected by conform".into()),
    }
}
