//! Which of a scenario's faults a target can inject, and how: each fault line becomes an
//! injection for a client's proxy or program, a broker action, or a refusal with its reason
//! (reported, never silently skipped).

use super::wire::api;
use crate::ast::LostRequest;
use crate::model::{Client, ClientPoint, ConditionSpec, FaultAction, Model, MsgId, Node, Trigger};

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
    /// Act `delay_ms` after the history first records the operation the condition names (a
    /// commit, an acknowledgement, a processing: each observed where the client does it).
    When { condition: ConditionSpec, delay_ms: u64, action: Timed },
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
        (Trigger::At(t), action) => Ok(Injection::At { at_ms: *t, action: timed(model, action, managed, hooks)? }),
        (Trigger::When(condition, delay), action) => Ok(Injection::When {
            condition: condition.clone(),
            delay_ms: *delay,
            action: timed(model, action, managed, hooks)?,
        }),
        _ => Err("this trigger and action are not injected by conform".into()),
    }
}

/// The action of a fault at a time or on a condition, as the target can carry it out.
fn timed(model: &Model, action: &FaultAction, managed: bool, hooks: (bool, bool)) -> Result<Timed, String> {
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
    Ok(match action {
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
                    "the target runs one broker: a client cut from some brokers but not others cannot be shown".into(),
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
                "a controlled shutdown moves leadership to another broker: a single-node broker has none".into()
            );
        }
        FaultAction::LoseRequest | FaultAction::LoseAck => {
            return Err("a request lost at a time names no request a proxy can match".into());
        }
        FaultAction::DeleteRecords(..) => {
            return Err("DeleteRecords is an admin request conform does not send yet".into());
        }
    })
}

/// Whether a recorded operation meets a `when` condition (as the simulator's
/// `Happened` events do: the commit of exactly that offset, the acknowledgement of that
/// send, the processing of that message).
pub fn holds(condition: &ConditionSpec, op: &crate::history::Op) -> bool {
    use crate::history::{Op, SendResult};
    match (condition, op) {
        (
            ConditionSpec::Commits { consumer, offset, partition },
            Op::Commit { consumer: c, offsets, error: None, .. },
        ) => consumer == c && offsets.iter().any(|(p, o)| o == offset && partition.is_none_or(|x| x == *p)),
        (ConditionSpec::Acked { msg, .. }, Op::Send { msg: m, result: SendResult::Acked { .. }, .. }) => msg == m,
        (ConditionSpec::Processes { consumer, msg }, Op::Process { consumer: c, record, .. }) => {
            consumer == c && record.msg == Some(*msg)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(brokers: u32) -> Model {
        let source = format!(
            "scenario \"w\"\ncluster {{\n  brokers {brokers}\n  topic t {{ partitions 1 }}\n}}\nproducer p {{ send 3 to t }}\nconsumer c {{ subscribe t group g }}\nfaults {{\n  when p send 2 is acked crash broker 1\n  when c processes p send 1 pause c\n  resume c after 1s\n}}\n"
        );
        crate::check::check(&crate::parse::parse(&source).expect("parses")).expect("checks")
    }

    #[test]
    fn when_faults_are_planned_on_one_broker_and_refused_with_a_reason_on_three() {
        let one = plan(&model(1), true, (false, false));
        assert!(matches!(
            one[0].injection,
            Ok(Injection::When {
                condition: ConditionSpec::Acked { msg: 1, .. },
                delay_ms: 0,
                action: Timed::BrokerCrash
            })
        ));
        assert!(matches!(one[1].injection, Ok(Injection::When { action: Timed::Pause(Client::Consumer(0)), .. })));
        let three = plan(&model(3), true, (false, false));
        let why = three[0].injection.as_ref().expect_err("one broker of three cannot crash on one node");
        assert!(why.contains("single-node broker"), "{why}");
        // The client's pause needs no second broker.
        assert!(three[1].injection.is_ok());
    }
}
