//! The `faults` block: every line resolved to a trigger and an action with a stable name.

use super::{find_partition, unknown};
use crate::ast::{self, Condition, Fault, MessageRef, Point, RestartTime, Spanned, Target};
use crate::diag::{Diagnostic, Span};
use crate::model::{
    BrokerId, Client, ClientPoint, ConditionSpec, FaultAction, FaultSpec, Model, MsgId, Node, Piece, Trigger, limits,
};

pub fn faults(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    if file.faults.len() > limits::MAX_FAULTS {
        diags.push(
            Diagnostic::new("too many faults", file.faults[limits::MAX_FAULTS].span)
                .label(format!("a scenario holds at most {} fault lines", limits::MAX_FAULTS)),
        );
        return;
    }
    for f in &file.faults {
        if let Some(spec) = fault(model, f, diags) {
            model.faults.push(spec);
        }
    }
}

fn fault(model: &Model, f: &Spanned<Fault>, diags: &mut Vec<Diagnostic>) -> Option<FaultSpec> {
    let (trigger, action, name) = match &f.node {
        Fault::RequestLost { producer, send, attempt } | Fault::AckLost { producer, send, attempt } => {
            let lose_ack = matches!(f.node, Fault::AckLost { .. });
            let p = producer_named(model, producer, diags)?;
            let cfg = &model.producers[p as usize];
            let (first_msg, _) = model.message_range(p);
            if no_send(model, p, send.node, send.span, diags) {
                return None;
            }
            let attempt = match attempt {
                Some(a) if a.node == 0 || a.node > 1_000_000 => {
                    diags.push(Diagnostic::new("attempt out of range", a.span).label("attempts are numbered from 1"));
                    return None;
                }
                Some(a) => a.node as u32,
                None => 1,
            };
            let msg = first_msg + send.node as u32 - 1;
            let kind = if lose_ack { "ack" } else { "request" };
            let name = format!("{kind} lost for {} send {} attempt {attempt}", cfg.name, send.node);
            let action = if lose_ack { FaultAction::LoseAck } else { FaultAction::LoseRequest };
            (Trigger::Request { producer: p, msg, attempt }, action, name)
        }
        Fault::MessageLost { response, client, request, n } => {
            let c = client_named(model, client, diags)?;
            let c = lost_client(model, c, request.node).ok_or_else(|| {
                let (needs, kind) = match request.node {
                    crate::ast::LostRequest::Fetch | crate::ast::LostRequest::Commit => {
                        ("a consumer", "fetches and commits")
                    }
                    _ => ("a transactional producer", "transactional requests and markers"),
                };
                diags.push(
                    Diagnostic::new(
                        format!("`{}` sends no {} requests", client.node, request.node.word()),
                        request.span,
                    )
                    .label(format!("{kind} belong to {needs}")),
                );
            });
            let c = c.ok()?;
            if n.node == 0 || n.node > 1_000_000 {
                diags.push(Diagnostic::new("request number out of range", n.span).label("requests are counted from 1"));
                return None;
            }
            let kind = if *response { "ack" } else { "request" };
            let name = format!("{kind} lost for {} {} {}", client.node, request.node.word(), n.node);
            let action = if *response { FaultAction::LoseAck } else { FaultAction::LoseRequest };
            (Trigger::Message { client: c, request: request.node, n: n.node as u32, response: *response }, action, name)
        }
        Fault::Crash { target, point } => {
            let (action, who) = crash_target(model, target, diags)?;
            let Some(point) = point else {
                diags.push(
                    Diagnostic::new("a crash needs a moment", target.span)
                        .label("expected `at 100ms`, or for a client a point such as `after poll 1`"),
                );
                return None;
            };
            let (trigger, when) = crash_point(model, &action, point, diags)?;
            (trigger, action, format!("crash {who} {when}"))
        }
        Fault::Restart { target, time } => {
            let (crash, who) = crash_target(model, target, diags)?;
            let action = match crash {
                FaultAction::CrashBroker(b) => FaultAction::RestartBroker(b),
                FaultAction::CrashClient(c) => FaultAction::RestartClient(c),
                _ => {
                    diags.push(
                        Diagnostic::new("restart names a broker or a client", target.span)
                            .label("`leader of` names whoever leads now; restart `broker N` instead"),
                    );
                    return None;
                }
            };
            let (trigger, when) = match time.node {
                RestartTime::At(t) => (Trigger::At(t), format!("at {}", ms(t))),
                RestartTime::After(t) => (Trigger::AfterCrash(t), format!("after {}", ms(t))),
            };
            (trigger, action, format!("restart {who} {when}"))
        }
        Fault::Partition { from, to, at } => {
            let (pairs, name) = partition(model, from, to, diags)?;
            (Trigger::At(at.node), FaultAction::Partition(pairs), format!("{name} at {}", ms(at.node)))
        }
        Fault::Heal { at } => (Trigger::At(at.node), FaultAction::Heal, format!("heal at {}", ms(at.node))),
        Fault::DeleteRecords { partition, before, at } => {
            let p = crate::check::find_partition(model, partition, diags)?;
            let name = format!("delete records {} before {} at {}", model.partition_name(p), before.node, ms(at.node));
            (Trigger::At(at.node), FaultAction::DeleteRecords(p, before.node), name)
        }
        Fault::Shutdown { broker, at } => {
            let b = broker_id(model, broker.node, broker.span, diags)?;
            (Trigger::At(at.node), FaultAction::ShutdownBroker(b), format!("shutdown broker {b} at {}", ms(at.node)))
        }
        Fault::Pause { who, at } => {
            let (action, name) = match process(model, who, diags)? {
                (Node::Broker(b), name) => (FaultAction::PauseBroker(b), name),
                (Node::Client(c), name) => (FaultAction::PauseClient(c), name),
                (Node::Controller, _) => unreachable!("process() names no controller"),
            };
            (Trigger::At(at.node), action, format!("pause {name} at {}", ms(at.node)))
        }
        Fault::Resume { who, time } => {
            let (action, name) = match process(model, who, diags)? {
                (Node::Broker(b), name) => (FaultAction::ResumeBroker(b), name),
                (Node::Client(c), name) => (FaultAction::ResumeClient(c), name),
                (Node::Controller, _) => unreachable!("process() names no controller"),
            };
            let (trigger, when) = match time.node {
                RestartTime::At(t) => (Trigger::At(t), format!("at {}", ms(t))),
                RestartTime::After(t) => (Trigger::AfterPause(t), format!("after {}", ms(t))),
            };
            (trigger, action, format!("resume {name} {when}"))
        }
        Fault::When { condition, action } => {
            let cond = condition_spec(model, condition, diags);
            let mut partition_name = None;
            let (act, delay) = match &action.node {
                Fault::Crash { target, point: None } => (crash_target(model, target, diags)?.0, 0),
                Fault::Crash { point: Some(point), .. } => {
                    diags.push(
                        Diagnostic::new("a `when` crash happens when its condition holds", point.span)
                            .label("remove this point: the condition is the moment"),
                    );
                    return None;
                }
                Fault::Restart { target, time } => {
                    let delay = match time.node {
                        RestartTime::After(t) => t,
                        RestartTime::At(_) => {
                            diags.push(
                                Diagnostic::new("a `when` restart cannot also happen at a fixed time", time.span)
                                    .label("expected `after T` (a delay after the condition)"),
                            );
                            return None;
                        }
                    };
                    let act = match crash_target(model, target, diags)?.0 {
                        FaultAction::CrashBroker(b) => FaultAction::RestartBroker(b),
                        FaultAction::CrashClient(c) => FaultAction::RestartClient(c),
                        _ => {
                            diags.push(
                                Diagnostic::new("restart names a broker or a client", target.span)
                                    .label("`leader of` names whoever leads now; restart `broker N` instead"),
                            );
                            return None;
                        }
                    };
                    (act, delay)
                }
                Fault::Pause { who, at } => (pause_action(model, who, diags)?, at.node),
                Fault::Resume { who, time } => {
                    let RestartTime::After(delay) = time.node else {
                        unreachable!("grammar: a `when` resume has no fixed time")
                    };
                    let act = match pause_action(model, who, diags)? {
                        FaultAction::PauseBroker(b) => FaultAction::ResumeBroker(b),
                        FaultAction::PauseClient(c) => FaultAction::ResumeClient(c),
                        _ => unreachable!("pause_action gives pauses"),
                    };
                    (act, delay)
                }
                Fault::Shutdown { broker, at } => {
                    (FaultAction::ShutdownBroker(broker_id(model, broker.node, broker.span, diags)?), at.node)
                }
                Fault::Partition { from, to, at } => {
                    partition_name = Some(partition(model, from, to, diags)?);
                    (FaultAction::Partition(partition_name.clone().expect("set").0), at.node)
                }
                Fault::Heal { at } => (FaultAction::Heal, at.node),
                _ => {
                    diags
                        .push(Diagnostic::new("`when` is followed by a fault", action.span).label(
                            "expected `crash`, `restart`, `pause`, `resume`, `shutdown`, `partition` or `heal`",
                        ));
                    return None;
                }
            };
            let cond = cond?;
            let what = match partition_name {
                Some((_, name)) => name,
                None => action_text(model, &act),
            };
            let then = if delay > 0 { format!(" after {}", ms(delay)) } else { String::new() };
            let name = format!("when {} {what}{then}", condition_text(model, &cond));
            (Trigger::When(cond, delay), act, name)
        }
    };
    if let Some(t) = trigger_time(&trigger) {
        if t > limits::MAX_DURATION_MS {
            diags.push(Diagnostic::new("fault time out of range", f.span).label("at most 30 days"));
            return None;
        }
    }
    Some(FaultSpec { name, span: f.span, trigger, action })
}

fn trigger_time(t: &Trigger) -> Option<u64> {
    match t {
        Trigger::At(t) | Trigger::AfterCrash(t) | Trigger::AfterPause(t) | Trigger::When(_, t) => Some(*t),
        _ => None,
    }
}

/// Whether producer `p` has no send `n`; says so unless the send was declared and only refused
/// for the message limit (that refusal is the diagnostic already).
fn no_send(model: &Model, p: u32, n: u64, span: Span, diags: &mut Vec<Diagnostic>) -> bool {
    let count = u64::from(model.message_range(p).1);
    if n >= 1 && n <= count {
        return false;
    }
    let cfg = &model.producers[p as usize];
    // A processor's output half declares no sends: its outputs are all it has.
    let declared = if cfg.processor.is_some() { count } else { cfg.declared_messages.max(count) };
    if n == 0 || n > declared {
        let what = if declared > count { " as declared (some were refused above)" } else { "" };
        diags.push(
            Diagnostic::new(format!("producer `{}` has no send {n}", cfg.name), span)
                .label(format!("its sends are numbered 1 to {declared}{what}")),
        );
    }
    true
}

/// Broker `b`, if the cluster has it.
fn broker_id(model: &Model, b: u64, span: Span, diags: &mut Vec<Diagnostic>) -> Option<BrokerId> {
    if b == 0 || b > u64::from(model.cluster.brokers) {
        diags.push(
            Diagnostic::new(format!("there is no broker {b}"), span)
                .label(format!("brokers are numbered 1 to {}", model.cluster.brokers)),
        );
        return None;
    }
    Some(b as BrokerId)
}

/// What `pause` and `resume` name: a broker or a client process, and its name.
/// The client half that sends `request` (a processor's consumer fetches and commits, its
/// producer sends the transactional requests), if it sends any.
pub(crate) fn lost_client(model: &Model, c: Client, request: crate::ast::LostRequest) -> Option<Client> {
    use crate::ast::LostRequest::*;
    match (request, c) {
        (Fetch | Commit, Client::Consumer(_)) => Some(c),
        (Txn | Marker, Client::Producer(p)) => model.producers[p as usize].transactional_id.as_ref().map(|_| c),
        (Txn | Marker, Client::Consumer(k)) => {
            let pi = model.consumers[k as usize].processor?;
            let p = model.processors[pi as usize].producer;
            model.producers[p as usize].transactional_id.as_ref().map(|_| Client::Producer(p))
        }
        (Fetch | Commit, Client::Producer(_)) => None,
    }
}

/// `pause X`'s action.
fn pause_action(model: &Model, who: &Spanned<Target>, diags: &mut Vec<Diagnostic>) -> Option<FaultAction> {
    Some(match process(model, who, diags)?.0 {
        Node::Broker(b) => FaultAction::PauseBroker(b),
        Node::Client(c) => FaultAction::PauseClient(c),
        Node::Controller => unreachable!("process() names no controller"),
    })
}

/// `partition A from B, C`: the links it cuts and its text (without its moment).
fn partition(
    model: &Model,
    from: &Spanned<Target>,
    to: &[Spanned<Target>],
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<(Node, Node)>, String)> {
    let (a, a_name) = node(model, from, diags)?;
    let mut pairs = Vec::new();
    let mut names = Vec::new();
    for t in to {
        let (b, b_name) = node(model, t, diags)?;
        if a == b {
            diags.push(
                Diagnostic::new("a node cannot be partitioned from itself", t.span)
                    .label("name another broker or client"),
            );
            return None;
        }
        if matches!((a, b), (Node::Client(_), Node::Client(_))) {
            diags.push(
                Diagnostic::new("clients do not talk to each other", t.span).label("partition a client from a broker"),
            );
            return None;
        }
        if matches!((a, b), (Node::Client(_), Node::Controller) | (Node::Controller, Node::Client(_))) {
            let span = if a == Node::Controller { t.span } else { from.span };
            diags.push(
                Diagnostic::new("clients do not talk to the controller", span)
                    .label("KRaft clients reach brokers only; partition a broker from the controller"),
            );
            return None;
        }
        pairs.push((a, b));
        names.push(b_name);
    }
    Some((pairs, format!("partition {a_name} from {}", names.join(", "))))
}

fn process(model: &Model, who: &Spanned<Target>, diags: &mut Vec<Diagnostic>) -> Option<(Node, String)> {
    // (The grammar allows `controller` only as a partition endpoint.)
    node(model, who, diags).filter(|(n, _)| *n != Node::Controller)
}

/// What `partition` names: a broker, a client or the controller, and its name.
fn node(model: &Model, who: &Spanned<Target>, diags: &mut Vec<Diagnostic>) -> Option<(Node, String)> {
    match &who.node {
        Target::Controller => Some((Node::Controller, "controller".into())),
        Target::Broker(b) => Some((Node::Broker(broker_id(model, *b, who.span, diags)?), format!("broker {b}"))),
        Target::Client(name) => {
            Some((Node::Client(client_named(model, &Spanned::new(name.clone(), who.span), diags)?), name.clone()))
        }
        Target::LeaderOf(_) => {
            diags.push(
                Diagnostic::new("`leader of` names a role, not a node", who.span)
                    .label("expected `broker N` or a client name"),
            );
            None
        }
    }
}

fn crash_target(model: &Model, target: &Spanned<Target>, diags: &mut Vec<Diagnostic>) -> Option<(FaultAction, String)> {
    match &target.node {
        Target::Broker(b) => {
            let b = broker_id(model, *b, target.span, diags)?;
            Some((FaultAction::CrashBroker(b), format!("broker {b}")))
        }
        Target::LeaderOf(r) => {
            let p = find_partition(model, &Spanned::new(r.clone(), target.span), diags)?;
            Some((FaultAction::CrashLeaderOf(p), format!("leader of {}", model.partition_name(p))))
        }
        Target::Client(name) => {
            let c = client_named(model, &Spanned::new(name.clone(), target.span), diags)?;
            Some((FaultAction::CrashClient(c), name.clone()))
        }
        Target::Controller => None, // (the grammar never makes one here)
    }
}

fn crash_point(
    model: &Model,
    action: &FaultAction,
    point: &Spanned<Point>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Trigger, String)> {
    if let Point::At(t) = point.node {
        return Some((Trigger::At(t), format!("at {}", ms(t))));
    }
    let FaultAction::CrashClient(client) = *action else {
        diags.push(
            Diagnostic::new("a broker crashes at a time", point.span)
                .label("expected `at 100ms`; points like `after poll 1` belong to clients"),
        );
        return None;
    };
    let consumer_only = |diags: &mut Vec<Diagnostic>| {
        diags.push(
            Diagnostic::new(format!("`{}` is a producer", model.client_name(client)), point.span)
                .label("producers crash `after send N` or `at T`; this point belongs to consumers"),
        );
    };
    let (cp, text) = match (&point.node, client) {
        (Point::AfterSend(n), Client::Producer(p)) => {
            if no_send(model, p, *n, point.span, diags) {
                return None;
            }
            (ClientPoint::AfterSend(*n as u32), format!("after send {n}"))
        }
        (Point::AfterSend(n), Client::Consumer(c)) if model.consumers[c as usize].processor.is_some() => {
            // A processor's N-th output record: its producer half reaches the point.
            let pi = model.consumers[c as usize].processor.expect("processor");
            let prod = model.processors[pi as usize].producer;
            return Some((
                Trigger::Point(Client::Producer(prod), ClientPoint::AfterSend(nonzero(*n, point.span, diags)?)),
                format!("after send {n}"),
            ));
        }
        (Point::AfterSend(_), Client::Consumer(_)) => {
            diags.push(
                Diagnostic::new(format!("`{}` is a consumer", model.client_name(client)), point.span)
                    .label("consumers crash after a poll, a commit, or around processing a message"),
            );
            return None;
        }
        (_, Client::Producer(_)) => {
            consumer_only(diags);
            return None;
        }
        (Point::AfterOffsets(n) | Point::AfterCommitRequest(n), Client::Consumer(c)) => {
            let eos = model.consumers[c as usize]
                .processor
                .is_some_and(|pi| model.processors[pi as usize].guarantee == crate::ast::Guarantee::ExactlyOnce);
            if !eos {
                diags.push(
                    Diagnostic::new("this point belongs to exactly-once processors", point.span)
                        .label(format!("`{}` runs no transactions", model.client_name(client))),
                );
                return None;
            }
            let k = nonzero(*n, point.span, diags)?;
            match point.node {
                Point::AfterOffsets(_) => (ClientPoint::AfterOffsets(k), format!("after sending offsets {n}")),
                _ => (ClientPoint::AfterCommitRequest(k), format!("after requesting commit {n}")),
            }
        }
        (Point::AfterPoll(n), _) => {
            (ClientPoint::AfterPoll(nonzero(*n, point.span, diags)?), format!("after poll {n}"))
        }
        (Point::AfterCommit(n), _) => {
            let n = n.unwrap_or(1);
            (ClientPoint::AfterCommit(nonzero(n, point.span, diags)?), format!("after commit {n}"))
        }
        (Point::AfterCommitBeforeProcessing(m), _) => {
            let msg = message(model, &Spanned::new(m.clone(), point.span), diags)?;
            (ClientPoint::AfterCommitBeforeProcessing(msg), format!("after commit, before processing {}", m.text()))
        }
        (Point::BeforeProcessing(m), _) => {
            let msg = message(model, &Spanned::new(m.clone(), point.span), diags)?;
            (ClientPoint::BeforeProcessing(msg), format!("before processing {}", m.text()))
        }
        (Point::AfterProcessing(m), _) => {
            let msg = message(model, &Spanned::new(m.clone(), point.span), diags)?;
            (ClientPoint::AfterProcessing(msg), format!("after processing {}", m.text()))
        }
        (Point::At(_), _) => unreachable!("handled above"),
    };
    Some((Trigger::Point(client, cp), text))
}

fn nonzero(n: u64, span: Span, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    if n == 0 || n > u64::from(u32::MAX) {
        diags.push(Diagnostic::new("count out of range", span).label("counted from 1"));
        return None;
    }
    Some(n as u32)
}

fn condition_spec(model: &Model, c: &Spanned<Condition>, diags: &mut Vec<Diagnostic>) -> Option<ConditionSpec> {
    match &c.node {
        Condition::Commits { consumer, offset, partition } => {
            let cons = consumer_named(model, consumer, diags);
            let part = match partition {
                Some(p) => Some(find_partition(model, p, diags)?),
                None => None,
            };
            Some(ConditionSpec::Commits { consumer: cons?, offset: *offset, partition: part })
        }
        Condition::Acked { producer, send } => {
            let p = producer_named(model, producer, diags)?;
            let (first_msg, _) = model.message_range(p);
            if no_send(model, p, *send, c.span, diags) {
                return None;
            }
            Some(ConditionSpec::Acked { producer: p, msg: first_msg + *send as u32 - 1 })
        }
        Condition::Processes { consumer, message: m } => {
            let cons = consumer_named(model, consumer, diags);
            let msg = message(model, m, diags)?;
            Some(ConditionSpec::Processes { consumer: cons?, msg })
        }
    }
}

fn action_text(model: &Model, a: &FaultAction) -> String {
    match a {
        FaultAction::CrashBroker(b) => format!("crash broker {b}"),
        FaultAction::ShutdownBroker(b) => format!("shutdown broker {b}"),
        FaultAction::CrashLeaderOf(p) => format!("crash leader of {}", model.partition_name(*p)),
        FaultAction::CrashClient(c) => format!("crash {}", model.client_name(*c)),
        FaultAction::RestartBroker(b) => format!("restart broker {b}"),
        FaultAction::RestartClient(c) => format!("restart {}", model.client_name(*c)),
        FaultAction::PauseClient(c) => format!("pause {}", model.client_name(*c)),
        FaultAction::ResumeClient(c) => format!("resume {}", model.client_name(*c)),
        FaultAction::PauseBroker(b) => format!("pause broker {b}"),
        FaultAction::ResumeBroker(b) => format!("resume broker {b}"),
        FaultAction::Partition(_) => "partition".into(),
        FaultAction::Heal => "heal".into(),
        FaultAction::DeleteRecords(p, o) => format!("delete records {} before {o}", model.partition_name(*p)),
        FaultAction::LoseRequest | FaultAction::LoseAck => String::new(),
    }
}

fn condition_text(model: &Model, c: &ConditionSpec) -> String {
    match c {
        ConditionSpec::Commits { consumer, offset, partition } => {
            let on = partition.map(|p| format!(" on {}", model.partition_name(p))).unwrap_or_default();
            format!("{} commits offset {offset}{on}", model.consumers[*consumer as usize].name)
        }
        ConditionSpec::Acked { producer, msg } => {
            format!("{} send {} is acked", model.producers[*producer as usize].name, model.send_number(*msg))
        }
        ConditionSpec::Processes { consumer, msg } => {
            let value = model.value(*msg);
            let named = if !model.is_derived(*msg) && find_messages(model, &value, 2).len() > 1 {
                let p = model.producer_of(*msg);
                format!("{} send {}", model.producers[p as usize].name, model.send_number(*msg))
            } else {
                MessageRef::source_text(&value)
            };
            format!("{} processes {named}", model.consumers[*consumer as usize].name)
        }
    }
}

pub(super) fn client_named(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<Client> {
    // A processor is named by its consumer half (which crashes and restarts both halves).
    if let Some(p) = model.processors.iter().find(|p| p.name == name.node) {
        return Some(Client::Consumer(p.consumer));
    }
    if let Some(i) = model.producers.iter().position(|p| p.name == name.node) {
        return Some(Client::Producer(i as u32));
    }
    if let Some(i) = model.consumers.iter().position(|c| c.name == name.node) {
        return Some(Client::Consumer(i as u32));
    }
    let known: Vec<&str> = model
        .producers
        .iter()
        .map(|p| p.name.as_str())
        .chain(model.consumers.iter().map(|c| c.name.as_str()))
        .collect();
    diags.push(unknown("client", name, &known));
    None
}

pub(super) fn producer_named(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    named(model.producers.iter().map(|p| p.name.as_str()), "producer", name, diags)
}

pub(super) fn consumer_named(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    named(model.consumers.iter().map(|c| c.name.as_str()), "consumer", name, diags)
}

/// The index of `name` among `names`, or an "unknown KIND" diagnostic.
fn named<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    kind: &str,
    name: &Spanned<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<u32> {
    if let Some(i) = names.clone().position(|n| n == name.node) {
        return Some(i as u32);
    }
    let known: Vec<&str> = names.collect();
    diags.push(unknown(kind, name, &known));
    None
}

/// Resolves a message named by its value to the one message that carries it.
pub(super) fn message(model: &Model, m: &Spanned<MessageRef>, diags: &mut Vec<Diagnostic>) -> Option<MsgId> {
    if let Some((producer, n)) = &m.node.1 {
        let p = producer_named(model, &Spanned::new(producer.clone(), m.span), diags)?;
        let (first, count) = model.message_range(p);
        if *n == 0 || *n > u64::from(count) {
            diags.push(
                Diagnostic::new(format!("producer `{producer}` has no send {n}"), m.span)
                    .label(format!("its sends are numbered 1 to {count}")),
            );
            return None;
        }
        return Some(first + *n as u32 - 1);
    }
    let found = find_messages(model, &m.node.0, 2);
    match found.as_slice() {
        [one] => Some(*one),
        [] => {
            diags.push(
                Diagnostic::new(format!("no message has the value `{}`", m.node.0), m.span)
                    .label("expected the value of a sent message, e.g. `message3`"),
            );
            None
        }
        [a, b, ..] => {
            diags.push(
                Diagnostic::new(format!("the value `{}` names more than one message", m.node.0), m.span)
                    .label("ambiguous message")
                    .note(format!(
                        "{} send {} and {} send {} both carry it; give messages distinct values",
                        model.producers[model.producer_of(*a) as usize].name,
                        model.send_number(*a),
                        model.producers[model.producer_of(*b) as usize].name,
                        model.send_number(*b)
                    )),
            );
            None
        }
    }
}

/// Up to `limit` messages whose value is `value`, found without rendering every message when the
/// template has a single placeholder.
pub(crate) fn find_messages(model: &Model, value: &str, limit: usize) -> Vec<MsgId> {
    let mut out = Vec::new();
    // Output records of processors, by value.
    for (i, d) in model.derived.iter().enumerate() {
        if d.value(&model.derived_text) == value {
            out.push(model.sent_messages + i as u32);
            if out.len() >= limit {
                return out;
            }
        }
    }
    for p in &model.producers {
        for s in &p.sends {
            let pieces = s.value.pieces();
            let holes = pieces.iter().filter(|x| !matches!(x, Piece::Text(_))).count();
            if holes == 1 {
                let k = pieces.iter().position(|x| !matches!(x, Piece::Text(_))).unwrap_or(0);
                let prefix: String =
                    pieces[..k].iter().map(|x| if let Piece::Text(t) = x { t.as_str() } else { "" }).collect();
                let suffix: String =
                    pieces[k + 1..].iter().map(|x| if let Piece::Text(t) = x { t.as_str() } else { "" }).collect();
                let Some(mid) = value.strip_prefix(prefix.as_str()).and_then(|v| v.strip_suffix(suffix.as_str()))
                else {
                    continue;
                };
                if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_digit()) || (mid.len() > 1 && mid.starts_with('0'))
                {
                    continue;
                }
                let Ok(n) = mid.parse::<u64>() else { continue };
                // `{n}` numbers the producer's sends: this statement holds first_number onwards.
                let Some(i) = (match pieces[k] {
                    Piece::Index => Some(n),
                    _ => n.checked_sub(u64::from(s.first_number)).map(|d| d + 1),
                }) else {
                    continue;
                };
                if i >= 1 && i <= u64::from(s.count) {
                    out.push(s.first_msg + i as u32 - 1);
                }
            } else {
                for i in 1..=s.count {
                    if s.value.render(i, s.first_number + i - 1) == value {
                        out.push(s.first_msg + i - 1);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
            }
            if out.len() >= limit {
                return out;
            }
        }
    }
    out
}

/// `250ms`, `2s`, `1m` the way the language writes durations.
pub fn ms(t: u64) -> String {
    if t != 0 && t % 60_000 == 0 {
        format!("{}m", t / 60_000)
    } else if t != 0 && t % 1000 == 0 {
        format!("{}s", t / 1000)
    } else {
        format!("{t}ms")
    }
}
