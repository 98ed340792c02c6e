//! A simulated run written as a history, so the checker that judges a real broker's history
//! judges the simulation the same way (`scn conform` puts the two side by side).
//!
//! The simulator keeps counts, not every poll, so its polls carry no offsets; what its
//! consumers saw of offsets (a poll that went back within an assignment, an offset that held
//! two records) is written as the polls that saw it, each in an instance of its own, so the
//! checker's nonmonotonic-poll and inconsistent-offset checks count what the simulator saw.

use super::{History, Op, PartitionRead, Polled, SendResult, TxnOutcome};
use crate::model::{Model, MsgId, PartitionIdx};
use crate::outcome::Analysis;
use crate::sim::Run;

/// The history of a simulated run.
pub fn from_run(model: &Model, run: &Run) -> History {
    let w = &run.world;
    let analysis = Analysis::new(model, run);
    let mut ops = Vec::new();
    for m in 0..model.total_messages {
        let st = &w.messages[m as usize];
        let Some(at_ms) = st.sent_at() else { continue };
        let result = match (st.acked_at(), st.failed(), analysis.home(m)) {
            (Some(_), _, Some(partition)) => SendResult::Acked { partition, offset: st.offset() },
            (_, Some(error), _) => SendResult::Failed { error: error.to_string() },
            _ => SendResult::Unknown,
        };
        let producer = model.producer_of(m);
        ops.push(Op::Send { at_ms, producer, incarnation: 0, msg: m, result, done_ms: st.acked_at() });
    }
    for (p, cfg) in model.producers.iter().enumerate() {
        for t in &cfg.transactions {
            let mut msgs: Vec<u32> =
                (t.first_msg..t.end_msg).filter(|m| w.messages[*m as usize].sent_at().is_some()).collect();
            let outcome = if msgs.iter().any(|m| analysis.aborted(*m)) {
                // A record whose send failed is the application's failure, not the abort's.
                msgs.retain(|m| analysis.aborted(*m));
                TxnOutcome::Aborted
            } else if msgs.iter().all(|m| analysis.copies[*m as usize] > 0) {
                TxnOutcome::Committed
            } else {
                TxnOutcome::Unknown
            };
            ops.push(Op::Txn { at_ms: 0, producer: p as u32, incarnation: 0, msgs, outcome, error: None });
        }
    }
    for (g, group) in model.groups.iter().enumerate() {
        let Some(&consumer) = group.members.first() else { continue };
        for m in 0..model.total_messages {
            for _ in 0..w.consumed[g][m as usize] {
                let partition = analysis.home(m).unwrap_or(0);
                let records = vec![Polled { partition, offset: None, msg: Some(m) }];
                ops.push(Op::Poll { at_ms: 0, consumer, incarnation: 0, records });
            }
        }
    }
    observed_offsets(&mut ops, &w.nonmonotonic, &w.inconsistent);
    for &(consumer, m, at_ms) in &w.processing {
        let partition = analysis.home(m).unwrap_or(0);
        let record = Polled { partition, offset: None, msg: Some(m) };
        ops.push(Op::Process { at_ms: u64::from(at_ms), consumer, incarnation: 0, record });
    }
    let final_read = (0..model.partitions.len() as u32)
        .map(|p| PartitionRead {
            partition: p,
            records: w
                .committed_log(p)
                .into_iter()
                .map(|(o, r)| Polled { partition: p, offset: Some(o), msg: Some(r.msg) })
                .collect(),
            incomplete: None,
        })
        .collect();
    History { source: "simulation".into(), ops, final_read }
}

/// The simulator's offset observations as polls: each nonmonotonic poll as two polls of one
/// consumer instance (the offset, then the one at or before it), each inconsistent offset as
/// the two polls that returned different records there (offsets given to polls already
/// written, so that no record is counted twice). Instances of their own (numbered down from
/// `u32::MAX`) keep them apart from each other and from the offset-less polls.
fn observed_offsets(
    ops: &mut Vec<Op>,
    nonmonotonic: &[(u32, PartitionIdx, u64, u64)],
    inconsistent: &[(PartitionIdx, u64, MsgId, MsgId)],
) {
    let mut instance = u32::MAX;
    for &(consumer, partition, from, to) in nonmonotonic {
        for offset in [from, to] {
            let records = vec![Polled { partition, offset: Some(offset), msg: None }];
            ops.push(Op::Poll { at_ms: 0, consumer, incarnation: instance, records });
        }
        instance -= 1;
    }
    for &(partition, offset, first, later) in inconsistent {
        for m in [first, later] {
            let poll = ops.iter_mut().find_map(|op| match op {
                Op::Poll { records, incarnation, .. }
                    if records.first().is_some_and(|r| r.msg == Some(m) && r.offset.is_none()) =>
                {
                    Some((records, incarnation))
                }
                _ => None,
            });
            if let Some((records, incarnation)) = poll {
                records[0] = Polled { partition, offset: Some(offset), msg: Some(m) };
                *incarnation = instance;
                instance -= 1;
            }
        }
    }
}
