//! A group coordinator that moves: the old one's in-memory group state is gone, the new one
//! loads the group's last completed generation from `__consumer_offsets`.
//!
//! Kafka 3.x classic group protocol (`kafka.coordinator.group.GroupCoordinator`, 3.9):
//! `onResignation` -> `onGroupUnloaded` answers the JoinGroups a rebalance holds
//! NOT_COORDINATOR (a crashed broker's clients see their connection break instead: the same
//! retry), `onElection` -> `GroupMetadataManager.loadGroupsAndOffsets` -> `onGroupLoaded`
//! brings back the group as its last `storeGroup` (at SyncGroup; at an empty group's join)
//! wrote it, Stable or Empty, and starts every member's session anew
//! (`completeAndScheduleNextHeartbeatExpiration`). While no coordinator holds the group
//! nothing happens to it: no rebalance completes and no session expires.

use super::Sim;
use super::event::{Event, GroupReply, GroupRequest};
use super::world::{Member, Phase, StoredGroup};
use crate::model::Client;

impl Sim<'_> {
    /// `storeGroup`: the generation just completed is what a new coordinator will load.
    pub(super) fn store_group(&mut self, g: usize) {
        let group = &mut self.world.groups[g];
        group.stored = StoredGroup {
            generation: group.generation,
            members: group.members.iter().map(|m| (m.id, m.consumer, m.inc)).collect(),
            assignment: group.assignment.clone(),
            owned: group.members.iter().map(|m| (m.id, m.owned.clone())).collect(),
        };
    }

    /// Whether no coordinator holds the group now (its state is lost until one loads it).
    pub(super) fn group_unloaded(&self, g: usize) -> bool {
        self.model.groups[g].group_id && self.world.groups[g].host.is_none()
    }

    /// Called whenever a broker's liveness or fencing changes: each group whose coordinator
    /// broker is no longer the one holding it is unloaded there, and loaded by the new one.
    pub(super) fn group_coordinators_changed(&mut self) {
        for g in 0..self.model.groups.len() {
            if !self.model.groups[g].group_id {
                continue;
            }
            let now = self.group_coordinator(g);
            let host = self.world.groups[g].host;
            if host == now {
                continue;
            }
            let lost = host.map(|old| self.unload_group(g, old));
            let loaded = now.and_then(|new| self.load_group(g, new));
            let what = match (lost, loaded) {
                (Some(lost), Some(loaded)) => format!("{lost}; {loaded}"),
                (Some(lost), None) => match now {
                    Some(new) => format!("{lost}; broker {new} takes the group over"),
                    None => format!("{lost}; the group waits for a new coordinator"),
                },
                (None, Some(loaded)) => loaded,
                (None, None) => continue,
            };
            let action = if now.is_some() { "coordinator moved" } else { "coordinator lost" };
            self.log(|sim| (format!("group {}", sim.model.groups[g].name), action.into(), String::new(), what));
        }
    }

    /// Unloads the group from broker `old`; what it lost, for the trace.
    fn unload_group(&mut self, g: usize, old: u32) -> String {
        let alive = self.world.broker(old).alive;
        let modern = self.modern_group(g);
        let group = &mut self.world.groups[g];
        group.host = None;
        if modern {
            // A KIP-848 group's every change is a record in `__consumer_offsets`, written before
            // its heartbeat is answered (`CoordinatorRuntime`): the next coordinator loads all
            // of it. Heartbeats meanwhile are refused and sent again.
            return format!("broker {old} {}", if alive { "resigned" } else { "crashed" });
        }
        let lost = group.rebalancing;
        let joining = std::mem::take(&mut group.joining);
        // (Pending members live in the old coordinator's memory only: their ids are unknown
        // to the next one, which answers them UNKNOWN_MEMBER_ID.)
        let pending: Vec<u32> = group.pending.drain(..).map(|p| p.1).collect();
        for c in pending {
            let timer = self.pending_member_timer(c);
            self.queue.cancel(timer);
        }
        let group = &mut self.world.groups[g];
        let stored = group.stored.clone();
        group.generation = stored.generation;
        group.assignment = stored.assignment;
        let kept: Vec<Member> = group.members.clone();
        group.members = stored
            .members
            .iter()
            .map(|&(id, consumer, inc)| {
                let known = kept.iter().find(|m| m.id == id);
                let crashed = known.is_none_or(|m| m.crashed);
                let owned = stored.owned.get(&id).cloned().unwrap_or_default();
                Member {
                    id,
                    consumer,
                    inc,
                    crashed,
                    last_contact: 0,
                    owned,
                    epoch: 0,
                    previous_epoch: 0,
                    revoking: Vec::new(),
                }
            })
            .collect();
        group.rebalancing = false;
        group.initial_delay = None;
        // (A pending InitialDelayedJoin timer is now stale.)
        group.initial_delays += 1;
        let held = match stored.generation {
            0 => "no generation completed yet".to_string(),
            n => format!("the log holds generation {n}"),
        };
        let what = match (alive, lost) {
            (false, true) => format!("broker {old} crashed: the rebalance in progress is lost ({held})"),
            (true, true) => format!("broker {old} resigned: the rebalance in progress is lost ({held})"),
            (false, false) => format!("broker {old} crashed"),
            (true, false) => format!("broker {old} resigned"),
        };
        for (c, inc) in joining {
            if !self.consumer_live(c, inc) {
                continue;
            }
            // The JoinGroup is sent again; its commit already counted.
            let member = kept.iter().find(|m| m.consumer == c && m.inc == inc).map(|m| m.id);
            let request = GroupRequest::join(member);
            let reply = GroupReply::NotCoordinator { request, crashed: !alive };
            self.send(Event::GroupResponse { consumer: c, inc, reply });
        }
        what
    }

    /// Broker `new` loads the group; what it loaded, for the trace (nothing for a group that
    /// never had members).
    fn load_group(&mut self, g: usize, new: u32) -> Option<String> {
        let now = self.clock;
        let group = &self.world.groups[g];
        let (generation, empty) = (group.generation, group.members.is_empty());
        let members: Vec<(u32, u32, u32)> = group.members.iter().map(|m| (m.id, m.consumer, m.inc)).collect();
        let silent: Vec<bool> = members.iter().map(|&(_, c, inc)| self.member_silent(c, inc)).collect();
        let group = &mut self.world.groups[g];
        group.host = Some(new);
        let mut expiring = Vec::new();
        for (m, silent) in group.members.iter_mut().zip(silent) {
            m.crashed = silent;
            m.last_contact = now;
            if silent {
                expiring.push((m.id, m.consumer));
            }
        }
        for (member, c) in expiring {
            let timeout = self.model.consumers[c as usize].session_timeout_ms;
            self.queue.push(now + timeout, Event::MemberExpire { group: g as u32, member }, false);
        }
        if empty && generation == 0 {
            return None;
        }
        let names: Vec<&str> =
            members.iter().map(|(_, c, _)| self.model.consumers[*c as usize].name.as_str()).collect();
        let epoch = if self.modern_group(g) { "group epoch" } else { "generation" };
        Some(if names.is_empty() {
            format!("broker {new} loads it from __consumer_offsets: {epoch} {generation}, empty")
        } else {
            format!(
                "broker {new} loads it from __consumer_offsets: {epoch} {generation} ({}), sessions start anew",
                names.join(", ")
            )
        })
    }

    /// Whether a member's consumer sends no heartbeats: it crashed, closed, froze or restarted
    /// (a new incarnation is a new member), or it cannot reach the coordinator.
    fn member_silent(&self, c: u32, inc: u32) -> bool {
        !self.consumer_live(c, inc)
            || self.world.paused.contains(&Client::Consumer(c))
            || self.world.consumers[c as usize].phase == Phase::Down
            || self.cut_from_group_coordinator(c)
    }
}
