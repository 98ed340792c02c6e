//! The controller and broker lifecycle: crash, fencing after `broker.session.timeout.ms`,
//! leader election from the ISR (or unclean), restart, and truncation of a returning replica
//! to where its log diverges from the new leader's (leader epochs, KIP-101 / KIP-279).

use super::Sim;
use super::event::{Event, ProduceError, ProduceReply};
use super::world::{HeldFetch, bit, members};
use crate::model::{BrokerId, PartitionIdx};

impl Sim<'_> {
    pub(super) fn crash_broker(&mut self, b: BrokerId) {
        if !self.world.broker(b).alive {
            // (A process waiting to register dies too.)
            let registering = std::mem::take(&mut self.world.brokers[(b - 1) as usize].registering);
            let what = if registering { "crashed while waiting to register" } else { "already down" };
            self.log(|_| ("controller".into(), format!("crash broker {b}"), String::new(), what.into()));
            return;
        }
        self.world.brokers[(b - 1) as usize].alive = false;
        // A paused broker that crashes never handles what reached it: each waiting message is
        // delivered to the dead broker now, whose handlers answer as for any dead broker.
        let br = &mut self.world.brokers[(b - 1) as usize];
        br.paused = false;
        br.orphaned.clear();
        // Its metadata dies with it: a restart asks the controller afresh.
        br.view = None;
        self.release_deferred(b);
        self.world.conns.retain(|(_, x), _| *x != b);
        self.world.stalled.retain(|(_, x), _| *x != b);
        let inc = self.world.broker(b).incarnation;
        self.log(|_| (format!("broker {b}"), "crash".into(), String::new(), "crashed (connections reset)".into()));
        self.group_coordinators_changed();
        // Clients see their connections to the broker break: requests in flight fail with a
        // NetworkException (the broker may or may not have written them).
        for p in 0..self.world.producers.len() {
            let s = &self.world.producers[p];
            if !s.alive {
                continue;
            }
            let inc = s.incarnation;
            let reqs: Vec<u32> = s.in_flight.iter().filter(|(_, f)| f.broker == b).map(|(r, _)| *r).collect();
            for req in reqs {
                self.send(Event::ProduceResponse {
                    producer: p as u32,
                    inc,
                    req,
                    reply: ProduceReply::Err(ProduceError::Network),
                });
            }
        }
        for part in 0..self.world.partitions.len() as PartitionIdx {
            if self.world.partitions[part as usize].leader == Some(b) {
                self.drop_leader_state(part);
            }
        }
        // (A controlled shutdown was fenced already.)
        if !self.world.broker(b).fenced {
            let timeout = self.model.cluster.broker_session_timeout_ms;
            self.queue.push(self.clock + timeout, Event::BrokerFenced { broker: b, inc }, false);
        }
    }

    /// A leader that stops leading loses its purgatory and held fetches; held consumer
    /// fetches fail so the consumers look for the new leader.
    /// A controlled shutdown: the controller moves the broker's leaderships and shrinks the
    /// ISRs first (no broker.session.timeout.ms wait), then the broker stops.
    pub(super) fn shutdown_broker(&mut self, b: BrokerId) {
        if !self.world.broker(b).alive {
            self.log(|_| ("controller".into(), format!("shutdown broker {b}"), String::new(), "already down".into()));
            return;
        }
        if self.cut_from_controller(b) || self.world.broker(b).paused {
            // The controller must approve a controlled shutdown (KRaft: through heartbeats);
            // it hears nothing, so the broker just stops, and is fenced when its session ends.
            let why = "cannot reach the controller: it stops without moving its leaderships";
            self.log(|_| (format!("broker {b}"), "controlled shutdown".into(), String::new(), why.into()));
            self.crash_broker(b);
            return;
        }
        self.log(|_| {
            (
                format!("broker {b}"),
                "controlled shutdown".into(),
                String::new(),
                "leaderships move before it stops".into(),
            )
        });
        self.fence(b, "controlled shutdown");
        self.crash_broker(b);
    }

    fn drop_leader_state(&mut self, part: PartitionIdx) {
        // A running ex-leader answers its acks=all requests NotLeaderOrFollower (DelayedProduce
        // completes when the partition becomes a follower); a paused one when it wakes; a
        // crashed one never (its connections are gone).
        for w in std::mem::take(&mut self.world.partitions[part as usize].pending) {
            let b = self.world.broker(w.broker);
            if !b.alive {
                // The coordinator's connection to it broke: a marker waiting here is sent
                // again to whoever leads then (`TransactionMarkerRequestCompletionHandler`,
                // a disconnected response re-enqueues the partition's marker).
                if let Some((t, p)) = w.marker {
                    self.retry_marker(t, p, super::coordinator::MARKER_RETRY_MS);
                }
                continue;
            }
            if b.paused || b.view.is_some() {
                // Frozen, or cut off from the controller: it does not know yet.
                self.world.brokers[(w.broker - 1) as usize].orphaned.push(w);
            } else {
                self.answer_waiter(&w, ProduceReply::Err(ProduceError::NotLeader));
            }
        }
        let pstate = &mut self.world.partitions[part as usize];
        let leader = pstate.leader;
        let held = std::mem::take(&mut pstate.held);
        for h in held {
            if let (HeldFetch::Consumer { consumer, inc, offset, .. }, Some(old)) = (h, leader) {
                // An ex-leader cut off from the controller does not know: its wait just ends.
                let error = (!self.cut_from_controller(old)).then_some(super::event::FetchError::NotLeader);
                let reply = Event::empty_fetch(consumer, inc, part, offset, error, old);
                if self.world.broker(old).paused {
                    // A frozen ex-leader answers when it wakes.
                    self.world.deferred_at_broker.push((old, reply));
                } else {
                    self.send(reply);
                }
            }
        }
    }

    pub(super) fn on_broker_fenced(&mut self, b: BrokerId, inc: u32) {
        let broker = self.world.broker(b);
        let t = self.model.cluster.broker_session_timeout_ms;
        // Still heartbeating: running, or silent (paused, cut off) for less than the session
        // timeout.
        let heartbeating = broker.alive && broker.silent_since.is_none_or(|since| self.clock < since + t);
        if heartbeating || broker.incarnation != inc || broker.fenced {
            return;
        }
        self.fence(b, &format!("no heartbeat for broker.session.timeout.ms ({t} ms)"));
        // A restarted process that waited for this registers now.
        if !self.world.broker(b).alive && std::mem::take(&mut self.world.brokers[(b - 1) as usize].registering) {
            self.restart_broker(b);
        }
    }

    /// A frozen broker process (a long GC pause, SIGSTOP): it handles nothing and stops
    /// heartbeating, so the controller fences it after broker.session.timeout.ms. Its
    /// connections stay open: clients wait for their request timeouts.
    pub(super) fn pause_broker(&mut self, b: BrokerId) {
        let broker = self.world.broker(b);
        if !broker.alive || broker.paused {
            let why = if broker.alive { "already paused" } else { "down" };
            self.log(|_| (format!("broker {b}"), "pause".into(), String::new(), why.into()));
            return;
        }
        self.world.brokers[(b - 1) as usize].paused = true;
        self.log(|_| {
            (format!("broker {b}"), "pause".into(), String::new(), "frozen: no heartbeats, nothing handled".into())
        });
        self.stop_heartbeats(b);
    }

    /// The broker wakes up. If the controller fenced it meanwhile, its next heartbeat brings
    /// the metadata it missed: it follows the new leaders (truncating where its log diverged)
    /// and is unfenced. Then it handles the requests that reached it, in order.
    pub(super) fn resume_broker(&mut self, b: BrokerId) {
        if !self.world.broker(b).paused {
            self.log(|_| (format!("broker {b}"), "resume".into(), String::new(), "not paused".into()));
            return;
        }
        self.world.brokers[(b - 1) as usize].paused = false;
        if self.cut_from_controller(b) {
            // It learns nothing until the network heals.
            let what = "awake again; still cut off from the controller";
            self.log(|_| (format!("broker {b}"), "resume".into(), String::new(), what.into()));
        } else {
            let fenced = self.world.broker(b).fenced;
            let what = if fenced { "awake again; it was fenced: it learns the new leaders" } else { "awake again" };
            self.log(|_| (format!("broker {b}"), "resume".into(), String::new(), what.into()));
            self.catch_up(b);
        }
        self.release_deferred(b);
        // (It can answer metadata requests again.)
        self.wake_producers();
    }

    /// A broker hears from the controller again (after a pause or a cut): if it was fenced meanwhile,
    /// it follows the new leaders (truncating where its log diverged) and is unfenced; it
    /// answers the acks=all requests of partitions it no longer leads NotLeaderOrFollower.
    fn catch_up(&mut self, b: BrokerId) {
        let br = &mut self.world.brokers[(b - 1) as usize];
        let fenced = br.fenced;
        br.fenced = false;
        br.silent_since = None;
        br.view = None;
        if fenced {
            // It registers anew: replies to its earlier fetches are void.
            self.world.brokers[(b - 1) as usize].incarnation += 1;
            self.schedule_broker_tasks(b);
            self.rejoin(b);
        } else {
            // It may have missed a leader change: truncate where its log diverges.
            for part in 0..self.world.partitions.len() as PartitionIdx {
                let pstate = &self.world.partitions[part as usize];
                if pstate.replica_index(b).is_some() && pstate.leader.is_some_and(|l| l != b) {
                    self.truncate_follower(part, b);
                }
            }
        }
        for w in std::mem::take(&mut self.world.brokers[(b - 1) as usize].orphaned) {
            self.answer_waiter(&w, ProduceReply::Err(ProduceError::NotLeader));
        }
        // What the ISR changes while it was away allow (a frozen leader moved nothing).
        for part in 0..self.world.partitions.len() as PartitionIdx {
            if self.world.partitions[part as usize].leader == Some(b) {
                self.advance_high_watermark(part);
            }
        }
    }

    /// `partition broker N from controller`: its heartbeats stop arriving (the controller fences
    /// it broker.session.timeout.ms later) and no metadata reaches it: it goes on leading what it
    /// led, for clients that still send to it.
    pub(super) fn cut_off_controller(&mut self, b: BrokerId) {
        if self.world.broker(b).alive {
            self.stop_heartbeats(b);
        }
    }

    /// The network heals: brokers cut off from the controller heartbeat again and catch up
    /// with the metadata they missed (a paused one when it wakes); one restarted meanwhile
    /// registers now.
    pub(super) fn reconnect_controller(&mut self) {
        for b in 1..=self.model.cluster.brokers {
            if std::mem::take(&mut self.world.brokers[(b - 1) as usize].registering) {
                self.restart_broker(b);
                continue;
            }
            // (A paused one hears again when it wakes.)
            let br = self.world.broker(b);
            if br.view.is_none() || !br.alive || br.paused {
                continue;
            }
            let what = if br.fenced {
                "reaches the controller again; it was fenced: it learns the new leaders"
            } else {
                "reaches the controller again"
            };
            self.log(|_| (format!("broker {b}"), "reconnect".into(), String::new(), what.into()));
            self.catch_up(b);
        }
    }

    /// What reached broker `b` while it was paused is handled now, in arrival order.
    fn release_deferred(&mut self, b: BrokerId) {
        let (mine, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.world.deferred_at_broker).into_iter().partition(|(x, _)| *x == b);
        self.world.deferred_at_broker = rest;
        for (_, e) in mine {
            self.queue.push(self.clock, e, false);
        }
    }

    /// The controller removes a dead broker from every ISR and moves its leaderships (and the
    /// coordinators it hosted: their members may now be cut off from them, or no longer).
    fn fence(&mut self, b: BrokerId, why: &str) {
        self.fence_partitions(b, why);
        self.group_links_changed();
    }

    fn fence_partitions(&mut self, b: BrokerId, why: &str) {
        self.world.brokers[(b - 1) as usize].fenced = true;
        let why = why.to_string();
        self.log(|_| ("controller".into(), format!("fence broker {b}"), String::new(), why));
        for part in 0..self.world.partitions.len() as PartitionIdx {
            let pstate = &self.world.partitions[part as usize];
            if pstate.replica_index(b).is_none() {
                continue;
            }
            // The last ISR member stays in the ISR (so that it can be elected cleanly later).
            let removed = pstate.isr & bit(b) != 0 && pstate.isr != bit(b);
            if removed {
                self.world.partitions[part as usize].isr &= !bit(b);
            }
            if self.world.partitions[part as usize].leader == Some(b) {
                self.elect(part, Some(b));
            } else if removed && self.world.partitions[part as usize].leader.is_some() {
                self.log_isr(part, "controller".into(), &format!("broker {b} removed"));
                self.advance_high_watermark(part);
            }
        }
    }

    /// Elects a new leader for `part` (the old one, if any, is `old`).
    fn elect(&mut self, part: PartitionIdx, old: Option<BrokerId>) {
        let pstate = &self.world.partitions[part as usize];
        let alive = |b: &BrokerId| {
            let broker = self.world.broker(*b);
            broker.alive && !broker.fenced && Some(*b) != old
        };
        let replicas: Vec<BrokerId> = pstate.replicas.iter().map(|r| r.broker).collect();
        let clean = replicas.iter().copied().find(|b| pstate.isr & bit(*b) != 0 && alive(b));
        let unclean = self.model.cluster.unclean_elections();
        let (leader, how) = match clean {
            Some(l) => (Some(l), "elected from the isr"),
            None if unclean => match replicas.iter().copied().find(alive) {
                Some(l) => (Some(l), "UNCLEAN election (unclean.leader.election.enable): out-of-sync replica leads"),
                None => (None, "offline: no live replica"),
            },
            None if self.model.cluster.unclean_leader_election => (
                None,
                "offline: no live in-sync replica (KRaft acts on unclean.leader.election.enable only from 3.9, KAFKA-12670)",
            ),
            None => (None, "offline: no live in-sync replica (unclean.leader.election.enable false)"),
        };
        match leader {
            Some(l) => {
                if clean.is_none() {
                    self.world.partitions[part as usize].isr = bit(l);
                }
                self.become_leader(part, l, how);
            }
            None => {
                // The old leader stops leading: its purgatory and held fetches go.
                if self.world.partitions[part as usize].leader.is_some() {
                    self.drop_leader_state(part);
                }
                self.world.partitions[part as usize].leader = None;
                self.log(|sim| {
                    (
                        "controller".into(),
                        format!("leader of {}", sim.model.partition_name(part)),
                        String::new(),
                        how.to_string(),
                    )
                });
            }
        }
    }

    fn become_leader(&mut self, part: PartitionIdx, l: BrokerId, how: &str) {
        let old = self.world.partitions[part as usize].leader;
        if let Some(o) = old {
            if o != l {
                self.drop_leader_state(part);
            }
        }
        let pstate = &mut self.world.partitions[part as usize];
        pstate.leader = Some(l);
        pstate.leader_epoch += 1;
        pstate.epoch_start_offset = pstate.replica(l).map_or(0, |r| r.log_end_offset());
        pstate.follower_leo.iter_mut().for_each(|x| *x = 0);
        pstate.follower_log_start.iter_mut().for_each(|x| *x = 0);
        let now = self.clock;
        pstate.caught_up_at.iter_mut().for_each(|x| *x = now);
        let epoch = pstate.leader_epoch;
        self.log(|sim| {
            let p = &sim.world.partitions[part as usize];
            let from = old.map_or("none".into(), |o| o.to_string());
            (
                "controller".into(),
                format!("leader of {}", sim.model.partition_name(part)),
                String::new(),
                format!("{from} -> {l} (epoch {epoch}, {how}); isr {}", isr_text(p.isr)),
            )
        });
        let followers: Vec<BrokerId> =
            self.world.partitions[part as usize].replicas.iter().map(|r| r.broker).filter(|b| *b != l).collect();
        for f in followers {
            // (A paused follower truncates when it wakes; a deposed leader cut off from the
            // controller when it reconnects.)
            let knows = self.believed_leader(f, part) != Some(f);
            if self.world.broker(f).alive && !self.world.broker(f).paused && knows {
                self.truncate_follower(part, f);
            }
        }
        self.start_followers(part);
        self.advance_high_watermark(part);
        // Clients refresh metadata and find the new leader.
        self.wake_producers();
    }

    /// Every live producer's sender looks at its queued batches again: metadata it could not
    /// fetch (no broker reachable) may be had now. Kafka's Sender retries its metadata request
    /// every `retry.backoff.ms` and reconnects every `reconnect.backoff.ms` (50 ms to 1 s);
    /// scn wakes it when the cluster or the network changes (a new leader, a heal, a broker that
    /// wakes).
    pub(super) fn wake_producers(&mut self) {
        for p in 0..self.world.producers.len() as u32 {
            if self.world.producers[p as usize].alive {
                self.drain(p);
            }
        }
    }

    /// A follower of a new leader truncates to where its log diverges from the leader's.
    fn truncate_follower(&mut self, part: PartitionIdx, f: BrokerId) {
        let pstate = &self.world.partitions[part as usize];
        let leader = pstate.leader_replica().expect("leader");
        let fi = pstate.replica_index(f).expect("replica");
        // KIP-101/279: where the logs diverge; before them, the follower's own high watermark
        // (which is how acknowledged records used to be lost or logs to diverge).
        let at = if self.model.cluster.truncate_to_high_watermark {
            pstate.replicas[fi].high_watermark.min(leader.log_end_offset())
        } else {
            pstate.replicas[fi].divergence(leader)
        };
        let data = super::producer::footprint(self.model, &self.world.messages);
        let cut = self.world.partitions[part as usize].replicas[fi].truncate_to(at, &data);
        drop(data);
        if cut.is_empty() {
            return;
        }
        for r in &cut {
            let st = &mut self.world.messages[r.msg as usize];
            st.truncated = st.truncated.saturating_add(1);
        }
        let to = at + cut.len() as u64;
        self.log(|sim| {
            let msgs = cut.iter().filter(|r| !r.is_marker()).map(|r| r.msg);
            let why = if sim.model.cluster.truncate_to_high_watermark {
                "to its high watermark (follower.truncation high-watermark)"
            } else {
                "diverged from the leader's log (leader epochs)"
            };
            (
                format!("broker {f}"),
                format!("truncate {}", sim.model.partition_name(part)),
                sim.values(msgs),
                format!("log end {to} -> {at}: {why}"),
            )
        });
    }

    pub(super) fn restart_broker(&mut self, b: BrokerId) {
        if self.world.broker(b).alive {
            self.log(|_| (format!("broker {b}"), "restart".into(), String::new(), "already running".into()));
            return;
        }
        if self.cut_from_controller(b) {
            // A KRaft broker starts serving only once the controller has its registration.
            self.world.brokers[(b - 1) as usize].registering = true;
            let why = "cannot register: cut off from the controller; it starts when the network heals";
            self.log(|_| (format!("broker {b}"), "restart".into(), String::new(), why.into()));
            return;
        }
        if !self.world.broker(b).fenced {
            // ClusterControlManager.registerBroker (KRaft, 3.x): while the old incarnation's
            // session is valid the controller refuses the new registration
            // (DUPLICATE_BROKER_REGISTRATION); the broker keeps retrying, and registers once the
            // old session expired and the controller fenced it (broker.session.timeout.ms).
            self.world.brokers[(b - 1) as usize].registering = true;
            let why = "registration refused while its old session is valid (DUPLICATE_BROKER_REGISTRATION): it retries until the controller fences that";
            self.log(|_| (format!("broker {b}"), "restart".into(), String::new(), why.into()));
            return;
        }
        let br = &mut self.world.brokers[(b - 1) as usize];
        br.alive = true;
        br.fenced = false;
        br.silent_since = None;
        br.incarnation += 1;
        br.started_at = self.clock;
        self.schedule_broker_tasks(b);
        self.load_producer_state(b);
        self.log(|_| {
            (format!("broker {b}"), "restart".into(), String::new(), "back online; log recovered from disk".into())
        });
        self.rejoin(b);
    }

    /// A broker back from a crash or a fenced pause takes up its replicas: it leads a partition
    /// left without a leader, or truncates to the current leader's log and fetches from it.
    fn rejoin(&mut self, b: BrokerId) {
        // (Unfenced, it hosts its coordinators again.)
        self.group_links_changed();
        for part in 0..self.world.partitions.len() as PartitionIdx {
            let pstate = &self.world.partitions[part as usize];
            if pstate.replica_index(b).is_none() {
                continue;
            }
            match pstate.leader {
                None => {
                    if pstate.isr & bit(b) != 0 {
                        self.become_leader(part, b, "last in-sync replica is back");
                    } else if self.model.cluster.unclean_elections() {
                        self.world.partitions[part as usize].isr = bit(b);
                        self.become_leader(part, b, "UNCLEAN election (unclean.leader.election.enable)");
                    }
                }
                Some(l) if l != b => {
                    self.truncate_follower(part, b);
                    self.follower_fetch(part, b);
                }
                Some(_) => {}
            }
        }
    }
}

/// `[1,2,3]`
pub(super) fn isr_text(mask: u64) -> String {
    let ids: Vec<String> = members(mask).iter().map(|b| b.to_string()).collect();
    format!("[{}]", ids.join(","))
}
