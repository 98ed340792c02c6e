//! Whether a fault that fired changed anything for any message: the same scenario and seed run
//! again without that one fault line, and the two runs compared message by message (when it
//! was sent, acknowledged, written, at which offset, after how many attempts, who processed it
//! and when, and its outcome) and log by log (every replica's log, every leader epoch). A fault that fired while
//! nothing it could hit was in flight (a pause of an idle client, a crash of a broker that leads
//! nothing and that no one fetches from) leaves every message's history as it was, and the
//! Faults table says so, as it says "never fired": a naive scenario should not reassure. A fault
//! that Kafka absorbs (a leader crash whose records are retried elsewhere) does change histories
//! (later acks, other offsets) and is not flagged.

use super::FaultRow;
use crate::model::Model;
use crate::outcome::{Analysis, MessageFate};
use crate::sim::{self, Run};

/// Runs larger than this many events are not run again (the check would double their cost
/// per fault): their fault rows say nothing about it.
pub const MAX_EVENTS: u64 = 200_000;

/// What happened to the messages of a run: their histories, outcomes and logs.
#[derive(PartialEq, Eq)]
struct Ending {
    fates: Vec<MessageFate>,
    messages: Vec<crate::sim::world::MessageState>,
    /// When and why retention or DeleteRecords passed a message.
    deleted: std::collections::BTreeMap<crate::model::MsgId, (u64, crate::sim::log::Deletion)>,
    /// Every processing: (consumer, message, when).
    processing: Vec<(u32, crate::model::MsgId, u32)>,
    committed: Vec<Vec<crate::model::MsgId>>,
    /// Each partition's leader epoch and each replica's log (a leader change, a truncation).
    logs: Vec<(u32, Vec<crate::sim::records::Records>)>,
}

fn ending(model: &Model, run: &Run) -> Ending {
    Ending {
        fates: Analysis::new(model, run).fates(),
        messages: run.world.messages.clone(),
        deleted: run.world.deleted.clone(),
        processing: run.world.processing.clone(),
        committed: (0..model.partitions.len() as u32)
            .map(|p| run.world.committed_log(p).into_iter().map(|(_, r)| r.msg).collect())
            .collect(),
        logs: run
            .world
            .partitions
            .iter()
            .map(|p| (p.leader_epoch, p.replicas.iter().map(|r| r.log.clone()).collect()))
            .collect(),
    }
}

/// Sets `changed_nothing` on each fault row whose fault fired, by running `model` again
/// without it (same seed: the run is deterministic). Not for runs over [`MAX_EVENTS`].
pub fn judge(model: &Model, run: &Run, faults: &mut [FaultRow]) {
    if run.events > MAX_EVENTS || faults.len() != model.faults.len() {
        return;
    }
    let mut base = None;
    for (i, row) in faults.iter_mut().enumerate() {
        if row.fired_at_ms.is_empty() {
            continue;
        }
        let base = base.get_or_insert_with(|| ending(model, run));
        let mut without = model.clone();
        without.faults.remove(i);
        // (Its expectations do not change what the run does.)
        without.expects.clear();
        let other = sim::run(&without, &sim::Options { trace_limit: 0, seed: Some(run.seed), record_points: false });
        row.changed_nothing = Some(ending(&without, &other) == *base);
    }
}
