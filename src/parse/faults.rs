//! Lowering of the `faults { ... }` block: lost requests and acks, crashes, restarts and the
//! `when CONDITION ACTION` triggers, into [`crate::ast::Fault`].

use super::{Lower, Rule, only, parts, span_of, unexpected};
use crate::ast::{Condition, Fault, LostRequest, Point, RestartTime, Spanned, Target};
use pest::iterators::Pair;

impl Lower<'_> {
    /// `faults { ... }`: one fault per line, in order.
    pub(super) fn faults_block(&mut self, pair: Pair<'_, Rule>) -> Vec<Spanned<Fault>> {
        parts(pair)
            .map(|stmt| {
                let span = span_of(&stmt);
                let fault = match stmt.as_rule() {
                    Rule::lost_stmt => self.lost_stmt(stmt),
                    Rule::when_stmt => self.when_stmt(stmt),
                    Rule::crash_stmt => self.crash_stmt(stmt),
                    Rule::restart_stmt => self.restart_stmt(stmt),
                    Rule::partition_stmt => self.partition(stmt),
                    Rule::heal_stmt => self.heal(stmt),
                    Rule::shutdown_stmt => self.shutdown(stmt),
                    Rule::pause_stmt => self.pause(stmt),
                    Rule::resume_stmt => self.resume(stmt),
                    Rule::delete_stmt => self.delete_records(stmt),
                    _ => unexpected(&stmt, "faults_block"),
                };
                Spanned::new(fault, span)
            })
            .collect()
    }

    /// `request lost for shop send 2 [attempt 1]` / `ack lost for shop send 2 [attempt 1]`, or
    /// `request lost for billing fetch 3` (and `commit`, `txn`, `marker`)
    fn lost_stmt(&mut self, pair: Pair<'_, Rule>) -> Fault {
        let mut inner = parts(pair);
        let kind = inner.next().expect("grammar: lost_stmt starts with its kind");
        let client = self.name(inner.next().expect("grammar: lost_stmt names a client"));
        let next = inner.next().expect("grammar: lost_stmt says which request");
        let response = matches!(self.lost_kind(&kind), LostKind::Ack);
        if next.as_rule() == Rule::lost_other {
            let mut what = parts(next);
            let word = what.next().expect("grammar: lost_other names a request");
            let request = match word.as_str() {
                "fetch" => LostRequest::Fetch,
                "commit" => LostRequest::Commit,
                "txn" => LostRequest::Txn,
                "marker" => LostRequest::Marker,
                other => unreachable!("grammar: lost request {other:?}"),
            };
            let request = Spanned::new(request, span_of(&word));
            let n = self.int(what.next().expect("grammar: lost_other counts"));
            return Fault::MessageLost { response, client, request, n };
        }
        let send = self.int(next);
        let attempt = inner.next().map(|p| self.attempt(p));
        match response {
            false => Fault::RequestLost { producer: client, send, attempt },
            true => Fault::AckLost { producer: client, send, attempt },
        }
    }

    /// `request` / `ack`
    fn lost_kind(&mut self, pair: &Pair<'_, Rule>) -> LostKind {
        match pair.as_str() {
            "request" => LostKind::Request,
            "ack" => LostKind::Ack,
            other => unreachable!("grammar: lost kind {other:?}"),
        }
    }

    /// `attempt 2`
    fn attempt(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.int(only(pair))
    }

    /// `when CONDITION [then|,] crash ... | restart ...`
    fn when_stmt(&mut self, pair: Pair<'_, Rule>) -> Fault {
        let mut inner = parts(pair);
        let condition = self.condition(inner.next().expect("grammar: when has a condition"));
        let action = inner.next().expect("grammar: when has an action");
        let span = span_of(&action);
        let action = match action.as_rule() {
            Rule::crash_action => self.crash_action(action),
            Rule::restart_action => self.restart_action(action),
            Rule::when_pause => self.pause(action),
            Rule::when_resume => self.resume(action),
            Rule::when_shutdown => self.shutdown(action),
            Rule::when_partition => self.partition(action),
            Rule::when_heal => self.heal(action),
            _ => unexpected(&action, "when_stmt"),
        };
        Fault::When { condition, action: Box::new(Spanned::new(action, span)) }
    }

    /// The moment of a fault line: `at T`, or in a `when` line its optional `after T` (the
    /// delay after the condition; 0 without one).
    fn moment(&mut self, time: Option<Pair<'_, Rule>>, end: crate::diag::Span) -> Spanned<u64> {
        match time {
            Some(t) => self.duration(only(t)),
            None => Spanned::new(0, crate::diag::Span { start: end.end, end: end.end }),
        }
    }

    /// `partition A from B[, C...] at T` (or, after `when`, `[after T]`)
    fn partition(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let end = span_of(&stmt);
        let mut ends = Vec::new();
        let mut at = None;
        for part in parts(stmt) {
            match part.as_rule() {
                Rule::endpoint => {
                    let span = span_of(&part);
                    let inner = only(part);
                    let target = match inner.as_rule() {
                        Rule::broker_target => self.broker_target(inner),
                        Rule::controller_target => Target::Controller,
                        _ => self.client_target(inner),
                    };
                    ends.push(Spanned::new(target, span));
                }
                Rule::point_at | Rule::when_delay => at = Some(part),
                _ => unexpected(&part, "partition"),
            }
        }
        let from = ends.remove(0);
        let at = self.moment(at, end);
        Fault::Partition { from, to: ends, at }
    }

    /// `delete records orders-0 before 10 at T`
    fn delete_records(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let mut inner = parts(stmt);
        let partition = self.partition_ref(inner.next().expect("grammar: delete names a partition"));
        let before = self.int(inner.next().expect("grammar: delete names an offset"));
        let at = self.duration(only(inner.next().expect("grammar: delete has a moment")));
        Fault::DeleteRecords { partition, before, at }
    }

    /// `heal at T` (or, after `when`, `heal [after T]`)
    fn heal(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let end = span_of(&stmt);
        let time = parts(stmt).next();
        Fault::Heal { at: self.moment(time, end) }
    }

    /// `shutdown broker N at T` (or, after `when`, `[after T]`)
    fn shutdown(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let end = span_of(&stmt);
        let mut inner = parts(stmt);
        let target = inner.next().expect("grammar: shutdown names a broker");
        let span = span_of(&target);
        let broker = self.int(only(target));
        let at = self.moment(inner.next(), end);
        Fault::Shutdown { broker: Spanned::new(broker.node, span), at }
    }

    /// `pause CLIENT|broker N at T` (or, after `when`, `[after T]`)
    fn pause(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let end = span_of(&stmt);
        let mut inner = parts(stmt);
        let who = self.process(inner.next().expect("grammar: pause names a process"));
        let at = self.moment(inner.next(), end);
        Fault::Pause { who, at }
    }

    /// `resume CLIENT|broker N at|after T` (or, after `when`, `[after T]`)
    fn resume(&mut self, stmt: Pair<'_, Rule>) -> Fault {
        let end = span_of(&stmt);
        let when = stmt.as_rule() == Rule::when_resume;
        let mut inner = parts(stmt);
        let who = self.process(inner.next().expect("grammar: resume names a process"));
        let time = match (when, inner.next()) {
            (false, Some(t)) => self.restart_time(t),
            (_, t) => {
                let d = self.moment(t, end);
                Spanned::new(RestartTime::After(d.node), d.span)
            }
        };
        Fault::Resume { who, time }
    }

    /// `crash TARGET [POINT]` on a line of its own.
    fn crash_stmt(&mut self, pair: Pair<'_, Rule>) -> Fault {
        self.crash_action(only(pair))
    }

    /// `restart TARGET at|after T` on a line of its own.
    fn restart_stmt(&mut self, pair: Pair<'_, Rule>) -> Fault {
        self.restart_action(only(pair))
    }

    /// `crash TARGET [POINT]`
    fn crash_action(&mut self, pair: Pair<'_, Rule>) -> Fault {
        let mut inner = parts(pair);
        let target = self.target(inner.next().expect("grammar: crash has a target"));
        let point = inner.next().map(|p| self.crash_point(p));
        Fault::Crash { target, point }
    }

    /// `restart TARGET at|after T`
    fn restart_action(&mut self, pair: Pair<'_, Rule>) -> Fault {
        let mut inner = parts(pair);
        let target = self.target(inner.next().expect("grammar: restart has a target"));
        let time = self.restart_time(inner.next().expect("grammar: restart has a time"));
        Fault::Restart { target, time }
    }

    /// `broker 1`, `leader of orders-0` or a client name.
    fn target(&mut self, pair: Pair<'_, Rule>) -> Spanned<Target> {
        let span = span_of(&pair);
        let inner = only(pair);
        let target = match inner.as_rule() {
            Rule::broker_target => self.broker_target(inner),
            Rule::leader_target => self.leader_target(inner),
            Rule::client_target => self.client_target(inner),
            _ => unexpected(&inner, "target"),
        };
        Spanned::new(target, span)
    }

    /// `broker 1` or a client name: what can be paused and resumed.
    fn process(&mut self, pair: Pair<'_, Rule>) -> Spanned<Target> {
        let span = span_of(&pair);
        let target = match pair.as_rule() {
            Rule::broker_target => self.broker_target(pair),
            _ => self.client_target(pair),
        };
        Spanned::new(target, span)
    }

    /// `broker 1`
    fn broker_target(&mut self, pair: Pair<'_, Rule>) -> Target {
        Target::Broker(self.int(only(pair)).node)
    }

    /// `leader of orders-0`
    fn leader_target(&mut self, pair: Pair<'_, Rule>) -> Target {
        Target::LeaderOf(self.partition_ref(only(pair)).node)
    }

    /// `billing`
    fn client_target(&mut self, pair: Pair<'_, Rule>) -> Target {
        Target::Client(self.name(only(pair)).node)
    }

    /// `at 300ms` / `after 100ms`
    fn restart_time(&mut self, pair: Pair<'_, Rule>) -> Spanned<RestartTime> {
        let span = span_of(&pair);
        let inner = only(pair);
        let time = match inner.as_rule() {
            Rule::restart_at => RestartTime::At(self.duration(only(inner)).node),
            Rule::restart_after => RestartTime::After(self.duration(only(inner)).node),
            _ => unexpected(&inner, "restart_time"),
        };
        Spanned::new(time, span)
    }

    /// When a crash happens: `at T`, `after poll N`, `after commit [N]`, ...
    fn crash_point(&mut self, pair: Pair<'_, Rule>) -> Spanned<Point> {
        let span = span_of(&pair);
        let inner = only(pair);
        let point = match inner.as_rule() {
            Rule::point_at => Point::At(self.duration(only(inner)).node),
            Rule::point_after_poll => Point::AfterPoll(self.int(only(inner)).node),
            Rule::point_after_commit_before => Point::AfterCommitBeforeProcessing(self.message_ref(only(inner)).node),
            Rule::point_after_commit => Point::AfterCommit(parts(inner).next().map(|n| self.int(n).node)),
            Rule::point_after_send => Point::AfterSend(self.int(only(inner)).node),
            Rule::point_before_processing => Point::BeforeProcessing(self.message_ref(only(inner)).node),
            Rule::point_after_processing => Point::AfterProcessing(self.message_ref(only(inner)).node),
            Rule::point_after_offsets => Point::AfterOffsets(self.int(only(inner)).node),
            Rule::point_after_commit_request => Point::AfterCommitRequest(self.int(only(inner)).node),
            _ => unexpected(&inner, "crash_point"),
        };
        Spanned::new(point, span)
    }

    /// The event a `when` waits for.
    fn condition(&mut self, pair: Pair<'_, Rule>) -> Spanned<Condition> {
        let span = span_of(&pair);
        let inner = only(pair);
        let condition = match inner.as_rule() {
            Rule::cond_commits => self.cond_commits(inner),
            Rule::cond_acked => self.cond_acked(inner),
            Rule::cond_processes => self.cond_processes(inner),
            _ => unexpected(&inner, "condition"),
        };
        Spanned::new(condition, span)
    }

    /// `billing commits offset 4 [on orders-0]`
    fn cond_commits(&mut self, pair: Pair<'_, Rule>) -> Condition {
        let mut inner = parts(pair);
        let consumer = self.name(inner.next().expect("grammar: commits names a consumer"));
        let offset = self.int(inner.next().expect("grammar: commits has an offset")).node;
        let partition = inner.next().map(|p| self.partition_ref(p));
        Condition::Commits { consumer, offset, partition }
    }

    /// `shop send 3 is acked`
    fn cond_acked(&mut self, pair: Pair<'_, Rule>) -> Condition {
        let mut inner = parts(pair);
        let producer = self.name(inner.next().expect("grammar: acked names a producer"));
        let send = self.int(inner.next().expect("grammar: acked numbers the send")).node;
        Condition::Acked { producer, send }
    }

    /// `billing processes message3`
    fn cond_processes(&mut self, pair: Pair<'_, Rule>) -> Condition {
        let mut inner = parts(pair);
        let consumer = self.name(inner.next().expect("grammar: processes names a consumer"));
        let message = self.message_ref(inner.next().expect("grammar: processes names a message"));
        Condition::Processes { consumer, message }
    }
}

/// Which half of a produce round trip a `lost` fault drops.
enum LostKind {
    Request,
    Ack,
}
