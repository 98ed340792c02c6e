//! Fault injection: timed faults, faults at a client's program points, faults on conditions,
//! and restarts that follow each crash. Every fault keeps the times it fired.

use super::Sim;
use super::event::Event;
use crate::model::{Client, ClientPoint, ConditionSpec, FaultAction, MsgId, Node, PartitionIdx, Trigger};

/// Something that happened which a `when` condition may be waiting for.
pub(super) enum Happened {
    Committed { consumer: u32, partition: PartitionIdx, offset: u64 },
    Acked { producer: u32, msg: MsgId },
    Processed { consumer: u32, msg: MsgId },
}
impl Sim<'_> {
    /// The client reached `at`; crashes it if a fault waits there. Returns whether it crashed.
    pub(super) fn point(&mut self, client: Client, at: ClientPoint) -> bool {
        self.note_choice(super::ChoiceAt::Point(client, at));
        let hit = self
            .faults
            .iter()
            .enumerate()
            .find(|(i, f)| self.world.fired[*i].is_empty() && f.trigger == Trigger::Point(client, at));
        let Some((i, _)) = hit else { return false };
        self.world.fired[i].push(self.clock);
        self.apply(i);
        true
    }

    /// The fault lines that would inject a fault at choice `c` (`crash C <point>`, or a lost
    /// request and a lost ack); none for a moment (any timed fault fits there).
    pub fn choice_lines(&self, c: &super::Choice) -> Vec<String> {
        match c.at {
            super::ChoiceAt::Point(client, at) => {
                vec![format!("crash {} {}", self.client_name(client), self.point_text(at))]
            }
            super::ChoiceAt::Request { producer, msg, attempt } => {
                let name = self.client_name(Client::Producer(producer));
                let n = self.model.send_number(msg);
                vec![
                    format!("request lost for {name} send {n} attempt {attempt}"),
                    format!("ack lost for {name} send {n} attempt {attempt}"),
                ]
            }
            super::ChoiceAt::Message { client, request, n, response } => {
                let kind = if response { "ack" } else { "request" };
                vec![format!("{kind} lost for {} {} {n}", self.process_name(client), request.word())]
            }
            super::ChoiceAt::Moment => Vec::new(),
        }
    }

    /// A client's name as fault lines write it: a processor's halves by the processor's name.
    pub fn process_name(&self, c: Client) -> String {
        let processor = match c {
            Client::Consumer(k) => self.model.consumers[k as usize].processor,
            Client::Producer(p) => self.model.producers[p as usize].processor,
        };
        match processor {
            Some(pi) => self.model.processors[pi as usize].name.clone(),
            None => self.client_name(c),
        }
    }

    /// The text of a client point, as a fault line writes it after the client's name.
    pub fn point_text(&self, at: ClientPoint) -> String {
        match at {
            ClientPoint::AfterPoll(n) => format!("after poll {n}"),
            ClientPoint::AfterCommit(n) => format!("after commit {n}"),
            ClientPoint::AfterCommitBeforeProcessing(m) => {
                format!("after commit, before processing {}", self.message_text(m))
            }
            ClientPoint::BeforeProcessing(m) => {
                format!("before processing {}", self.message_text(m))
            }
            ClientPoint::AfterProcessing(m) => {
                format!("after processing {}", self.message_text(m))
            }
            ClientPoint::AfterSend(n) => format!("after send {n}"),
            ClientPoint::AfterOffsets(n) => format!("after sending offsets {n}"),
            ClientPoint::AfterCommitRequest(n) => format!("after requesting commit {n}"),
        }
    }

    /// Records the produce-request fault points of one attempt.
    pub(super) fn request_points(&mut self, p: u32, msgs: &[MsgId], attempt: u32) {
        for m in msgs {
            self.note_choice(super::ChoiceAt::Request { producer: p, msg: *m, attempt });
        }
    }

    /// Counts a request or response `request lost for C fetch N` and its kin count, and says
    /// whether such a fault loses this one.
    pub(super) fn message_lost(&mut self, event: &Event) -> bool {
        use crate::ast::LostRequest;
        let (client, request, response, worth) = match event {
            Event::ConsumerFetch { consumer, .. } => (Client::Consumer(*consumer), LostRequest::Fetch, false, false),
            Event::ConsumerFetchResponse { consumer, records, .. } => {
                (Client::Consumer(*consumer), LostRequest::Fetch, true, !records.is_empty())
            }
            Event::GroupArrive { consumer, request: super::event::GroupRequest::Commit { .. }, .. } => {
                (Client::Consumer(*consumer), LostRequest::Commit, false, true)
            }
            Event::GroupResponse {
                consumer,
                reply: super::event::GroupReply::Committed { .. } | super::event::GroupReply::CommitFailed { .. },
                ..
            } => (Client::Consumer(*consumer), LostRequest::Commit, true, true),
            Event::TxnArrive { producer, .. } => (Client::Producer(*producer), LostRequest::Txn, false, true),
            Event::TxnResponse { producer, .. } => (Client::Producer(*producer), LostRequest::Txn, true, true),
            Event::MarkerArrive { txn, .. } | Event::MarkerResponse { txn, from: Some(_), .. } => {
                let Some(p) = self.txn_owner(*txn) else { return false };
                (Client::Producer(p), LostRequest::Marker, matches!(event, Event::MarkerResponse { .. }), true)
            }
            _ => return false,
        };
        let n = self.world.messages_sent.entry((client, request as u8, response)).or_insert(0);
        *n += 1;
        let n = *n;
        if worth {
            self.note_choice(super::ChoiceAt::Message { client, request, n, response });
        }
        let wanted = Trigger::Message { client, request, n, response };
        let Some(i) = self.faults.iter().position(|f| f.trigger == wanted) else { return false };
        if !self.world.fired[i].is_empty() {
            return false;
        }
        self.world.fired[i].push(self.clock);
        let name = self.faults[i].name.clone();
        self.log(|_| ("fault".into(), name, String::new(), "lost on the network".into()));
        true
    }

    /// The producer whose transactional id transaction-coordinator entry `t` is.
    fn txn_owner(&self, t: u32) -> Option<u32> {
        let id = &self.world.txns.get(t as usize)?.transactional_id;
        self.model.producers.iter().position(|p| p.transactional_id.as_ref() == Some(id)).map(|p| p as u32)
    }

    /// A timed (or delayed) fault's moment has come.
    pub(super) fn fire(&mut self, i: usize) {
        if !matches!(self.faults[i].trigger, Trigger::When(..)) {
            self.world.fired[i].push(self.clock);
        }
        self.apply(i);
    }

    pub(super) fn happened(&mut self, what: Happened) {
        for (i, f) in self.faults.iter().enumerate() {
            let Trigger::When(cond, delay) = &f.trigger else {
                continue;
            };
            if !self.world.fired[i].is_empty() {
                continue;
            }
            let hit = match (cond, &what) {
                (
                    ConditionSpec::Commits { consumer, offset, partition },
                    Happened::Committed { consumer: c, partition: p, offset: o },
                ) => consumer == c && offset == o && partition.is_none_or(|x| x == *p),
                (ConditionSpec::Acked { producer, msg }, Happened::Acked { producer: p, msg: m }) => {
                    producer == p && msg == m
                }
                (ConditionSpec::Processes { consumer, msg }, Happened::Processed { consumer: c, msg: m }) => {
                    consumer == c && msg == m
                }
                _ => false,
            };
            if hit {
                self.world.fired[i].push(self.clock + delay);
                self.queue.push(self.clock + delay, Event::Fault { fault: i as u32 }, false);
            }
        }
    }

    fn apply(&mut self, i: usize) {
        let f = self.faults[i].clone();
        let name = f.name.clone();
        self.log(|_| ("fault".into(), name, String::new(), "injected".into()));
        match f.action {
            FaultAction::CrashBroker(b) => {
                self.crash_broker(b);
                self.restarts_after_crash(FaultAction::RestartBroker(b));
            }
            FaultAction::CrashLeaderOf(p) => match self.world.partitions[p as usize].leader {
                Some(b) => {
                    self.crash_broker(b);
                    self.restarts_after_crash(FaultAction::RestartBroker(b));
                }
                None => {
                    self.log(|sim| {
                        (
                            "fault".into(),
                            format!("crash leader of {}", sim.model.partition_name(p)),
                            String::new(),
                            "no leader to crash".into(),
                        )
                    });
                }
            },
            FaultAction::CrashClient(c) => {
                self.crash_client(c);
                self.restarts_after_crash(FaultAction::RestartClient(c));
            }
            FaultAction::PauseClient(c) => {
                self.pause_client(c);
                self.resumes_after_pause(FaultAction::ResumeClient(c));
            }
            FaultAction::ResumeClient(c) => self.resume_client(c),
            FaultAction::PauseBroker(b) => {
                self.pause_broker(b);
                self.resumes_after_pause(FaultAction::ResumeBroker(b));
            }
            FaultAction::ResumeBroker(b) => self.resume_broker(b),
            FaultAction::ShutdownBroker(b) => {
                self.shutdown_broker(b);
                self.restarts_after_crash(FaultAction::RestartBroker(b));
            }
            FaultAction::Partition(ref pairs) => {
                for &(a, b) in pairs {
                    self.world.cut.insert(if a <= b { (a, b) } else { (b, a) });
                    if let (Node::Broker(x), Node::Controller) | (Node::Controller, Node::Broker(x)) = (a, b) {
                        self.cut_off_controller(x);
                    }
                }
                self.group_links_changed();
            }
            FaultAction::Heal => {
                self.world.cut.clear();
                self.reconnect_controller();
                self.group_links_changed();
                // (A producer cut off from every broker before it had metadata sends now.)
                self.wake_producers();
            }
            FaultAction::RestartBroker(b) => self.restart_broker(b),
            FaultAction::RestartClient(c) => self.restart_client(c),
            FaultAction::DeleteRecords(p, before) => self.delete_records(p, before),
            // Lost requests and acks act inside the producer, where the request is sent.
            FaultAction::LoseRequest | FaultAction::LoseAck => {}
        }
    }

    /// `restart X after T` lines follow every crash of X.
    fn restarts_after_crash(&mut self, restart: FaultAction) {
        self.recovery_looked_for(&restart);
        for (i, f) in self.faults.iter().enumerate() {
            if let Trigger::AfterCrash(delay) = f.trigger {
                if f.action == restart {
                    self.queue.push(self.clock + delay, Event::Fault { fault: i as u32 }, false);
                }
            }
        }
    }

    /// `resume X after T` lines follow every pause of X.
    fn resumes_after_pause(&mut self, resume: FaultAction) {
        self.recovery_looked_for(&resume);
        for (i, f) in self.faults.iter().enumerate() {
            if let Trigger::AfterPause(delay) = f.trigger {
                if f.action == resume {
                    self.queue.push(self.clock + delay, Event::Fault { fault: i as u32 }, false);
                }
            }
        }
    }

    /// The client and, for a processor, its other half.
    fn halves(&self, c: Client) -> Vec<Client> {
        match c {
            Client::Consumer(k) => match self.processor_of(k) {
                Some(pi) => vec![c, Client::Producer(self.model.processors[pi as usize].producer)],
                None => vec![c],
            },
            Client::Producer(_) => vec![c],
        }
    }

    /// A frozen process (a long GC pause, a stopped container): it handles nothing and sends
    /// no heartbeats, so its group expires it after session.timeout.ms.
    fn pause_client(&mut self, c: Client) {
        if self.world.paused.contains(&c) {
            return;
        }
        self.log(|sim| {
            (sim.client_name(c), "pause".into(), String::new(), "frozen: no heartbeats, nothing handled".into())
        });
        for h in self.halves(c) {
            self.world.paused.insert(h);
            if let Client::Consumer(k) = h {
                let inc = self.world.consumers[k as usize].incarnation;
                self.member_crashed(k, inc);
            }
        }
    }

    /// The client wakes up and handles what reached it meanwhile, as if no time had passed.
    fn resume_client(&mut self, c: Client) {
        if !self.world.paused.contains(&c) {
            return;
        }
        self.log(|sim| {
            (sim.client_name(c), "resume".into(), String::new(), "awake again, unaware of the time it lost".into())
        });
        for h in self.halves(c) {
            self.world.paused.remove(&h);
            let (mine, rest): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.world.deferred).into_iter().partition(|(x, _)| *x == h);
            self.world.deferred = rest;
            if let Client::Consumer(k) = h {
                // Heartbeats resume (if they get through): a member not yet expired stays in the
                // group.
                let cut = self.cut_from_group_coordinator(k);
                // Its heartbeat timer ran out meanwhile: the thread beats at once.
                let now = self.clock;
                let s = &mut self.world.consumers[k as usize];
                s.heartbeat_from = s.heartbeat_from.map(|_| now);
                let s = &self.world.consumers[k as usize];
                let (g, inc) = (self.model.consumers[k as usize].group as usize, s.incarnation);
                let group = &mut self.world.groups[g];
                if let Some(m) = group.members.iter_mut().find(|m| m.consumer == k && m.inc == inc) {
                    m.crashed = cut;
                    if !cut {
                        m.last_contact = now;
                    }
                }
                let modern = self.model.consumers[k as usize].group_protocol.modern();
                // Its JoinGroup was dropped with its expired membership: it joins again (unless
                // one is still on its way).
                let answered = mine.iter().any(|(_, e)| matches!(e, Event::GroupResponse { .. }));
                let coming = s.join_retrying;
                let joins = s.phase == super::world::Phase::Joining || s.cooperative_join;
                if modern {
                    // (Its heartbeat tells it whether it is still a member.)
                    if !cut {
                        self.modern_heartbeat_now(k);
                    }
                } else if joins && !answered && !coming && !group.joining.contains(&(k, inc)) {
                    if !group.members.iter().any(|m| m.consumer == k && m.inc == inc) {
                        self.world.consumers[k as usize].member = None;
                    }
                    let member = self.world.consumers[k as usize].member;
                    let join = super::event::GroupRequest::join(member);
                    self.send(Event::GroupArrive { consumer: k, inc, request: join });
                }
            }
            for (_, e) in mine {
                self.queue.push(self.clock, e, false);
            }
        }
    }

    fn crash_client(&mut self, c: Client) {
        let alive = match c {
            Client::Producer(p) => self.world.producers[p as usize].alive,
            Client::Consumer(k) => self.world.consumers[k as usize].phase != super::world::Phase::Down,
        };
        if !alive {
            self.log(|sim| (sim.client_name(c), "crash".into(), String::new(), "already down".into()));
            return;
        }
        self.log(|sim| (sim.client_name(c), "crash".into(), String::new(), "crashed".into()));
        match c {
            Client::Producer(p) => self.crash_producer(p),
            Client::Consumer(k) => {
                self.crash_consumer(k);
                // A processor is one process: its producer half dies with it.
                if let Some(pi) = self.processor_of(k) {
                    let p = self.model.processors[pi as usize].producer;
                    self.crash_producer(p);
                }
            }
        }
    }

    fn restart_client(&mut self, c: Client) {
        let alive = match c {
            Client::Producer(p) => self.world.producers[p as usize].alive,
            Client::Consumer(k) => self.world.consumers[k as usize].phase != super::world::Phase::Down,
        };
        if alive {
            self.log(|sim| (sim.client_name(c), "restart".into(), String::new(), "already running".into()));
            return;
        }
        self.log(|sim| (sim.client_name(c), "restart".into(), String::new(), "restarted".into()));
        match c {
            Client::Producer(p) => self.restart_producer(p),
            Client::Consumer(k) => {
                // A restarted processor initializes its producer again (initTransactions bumps
                // the epoch and aborts what the crashed instance left open).
                if let Some(pi) = self.processor_of(k) {
                    let p = self.model.processors[pi as usize].producer;
                    self.restart_producer(p);
                }
                self.restart_consumer(k);
            }
        }
    }
}
