//! Values of the status tracker's variables, read off the world after a step.

use super::Sim;
use super::world::{Phase, members};
use crate::model::TrackVar;

impl Sim<'_> {
    pub(super) fn tracked_value(&self, v: &TrackVar) -> String {
        let w = &self.world;
        match *v {
            TrackVar::HighWatermark(p) => match w.partitions[p as usize].leader_replica() {
                Some(r) => r.high_watermark.to_string(),
                None => "offline".into(),
            },
            TrackVar::LastStableOffset(p) => match w.partitions[p as usize].leader_replica() {
                Some(r) => r.last_stable_offset().to_string(),
                None => "offline".into(),
            },
            TrackVar::LogEndOffset(p) => match w.partitions[p as usize].leader_replica() {
                Some(r) => r.log_end_offset().to_string(),
                None => "offline".into(),
            },
            TrackVar::LogStartOffset(p) => match w.partitions[p as usize].leader_replica() {
                Some(r) => r.log_start_offset.to_string(),
                None => "offline".into(),
            },
            TrackVar::Leader(p) => w.partitions[p as usize].leader.map_or("none".into(), |b| b.to_string()),
            TrackVar::Isr(p) => {
                let isr: Vec<String> = members(w.partitions[p as usize].isr).iter().map(|b| b.to_string()).collect();
                format!("[{}]", isr.join(","))
            }
            TrackVar::Position(c) => {
                offsets(&w.consumers[c as usize].positions, &self.model.consumers[c as usize].topics, self)
            }
            TrackVar::Committed(c) => {
                // What the group coordinator holds for this consumer's group and topics.
                let cfg = &self.model.consumers[c as usize];
                offsets(&w.groups[cfg.group as usize].committed, &cfg.topics, self)
            }
            TrackVar::ConsumerState(c) => match &w.consumers[c as usize].phase {
                Phase::Down => "down".into(),
                Phase::Starting => "initializing transactions".into(),
                Phase::Joining => "joining".into(),
                Phase::Initializing => "fetching offsets".into(),
                Phase::Polling => "polling".into(),
                Phase::Committing { .. } => "committing".into(),
                Phase::Processing { .. } => "processing".into(),
                Phase::Flushing => "flushing".into(),
                Phase::Failed => "failed".into(),
            },
            TrackVar::Retries(p) => w.producers[p as usize].retries.to_string(),
            TrackVar::Acked(p) => w.producers[p as usize].acked.to_string(),
            TrackVar::MessageState(m) => self.message_state(m),
        }
    }

    fn message_state(&self, m: u32) -> String {
        let w = &self.world;
        let s = &w.messages[m as usize];
        let processed: u32 = w.processed.iter().map(|g| u32::from(g[m as usize])).sum();
        let consumed: u32 = w.consumed.iter().map(|g| u32::from(g[m as usize])).sum();
        if let Some(e) = s.failed() {
            return format!("failed ({e})");
        }
        if processed > 1 {
            return format!("processed x{processed}");
        }
        if processed == 1 {
            return "processed".into();
        }
        if consumed > 0 {
            return "received by consumer".into();
        }
        let copies = s.appended - s.truncated.min(s.appended);
        let written = match copies {
            0 if s.appended > 0 => "truncated".to_string(),
            0 => String::new(),
            1 => "written".to_string(),
            n => format!("written x{n}"),
        };
        match (s.acked_at(), s.offset()) {
            (Some(_), Some(o)) if copies <= 1 => return format!("acked (offset {o})"),
            (Some(_), _) if !written.is_empty() => return format!("{written}, acked"),
            (Some(_), None) => return "sent (acks=0)".into(),
            _ => {}
        }
        if !written.is_empty() {
            return written;
        }
        if s.attempts > 0 {
            return "in flight".into();
        }
        if s.dropped_by_crash {
            return "dropped (producer crashed)".into();
        }
        if s.sent_at().is_some() { "queued".into() } else { "not sent".into() }
    }
}

/// `3` for one partition, `orders-0:3 orders-1:5` for several, `-` when unknown.
fn offsets(map: &std::collections::BTreeMap<u32, u64>, topics: &[u32], sim: &Sim<'_>) -> String {
    let parts: Vec<u32> = topics
        .iter()
        .flat_map(|t| {
            let tc = &sim.model.topics[*t as usize];
            tc.first_partition..tc.first_partition + tc.partitions
        })
        .collect();
    if parts.len() == 1 {
        return map.get(&parts[0]).map_or("-".into(), |o| o.to_string());
    }
    let shown: Vec<String> =
        parts.iter().filter_map(|p| map.get(p).map(|o| format!("{}:{o}", sim.model.partition_name(*p)))).collect();
    if shown.is_empty() { "-".into() } else { shown.join(" ") }
}
