//! The report of a run: one serializable structure built from the run and its analysis, which
//! `render` turns into tables, markdown, JSON or YAML (so the formats never drift apart).

mod cells;
pub mod diagram;
pub(crate) mod effect;
mod explore;
mod explore_picture;
mod html;
mod layout;
mod long_table;
mod mermaid;
mod plot;
mod render;
mod schema;
mod select;
mod stated;
mod stream;
mod svg;

pub use explore::{render_explore, summary as explore_summary};
pub use layout::{ColorChoice, DEFAULT_WIDTH, Layout};
#[cfg(feature = "conform")]
pub(crate) use render::table;
pub use render::{Format, SCHEMA_VERSION, Section, render, render_compare, write};
pub use schema::schema;
pub use select::Filter;
pub use stream::Streamed;
pub(crate) use svg::esc as xml_escape;

use crate::model::limits::MAX_REPORT_ROWS;
use crate::model::{Model, MsgId, TrackVar};
use crate::outcome::{Analysis, ExpectResult, Fate, Flow, fate_word};
use crate::sim::log::{Kind, NO_PRODUCER_ID, Record};
use crate::sim::trace::{Step, TrackerRow};
use crate::sim::world::members;
use crate::sim::{Run, Stop};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub scenario: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub seed: u64,
    /// The row filters the long tables were cut with (`--actor`, `--message`, `--from/--to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub run: RunInfo,
    pub steps: Vec<Step>,
    pub steps_omitted: u64,
    pub tracker: Tracker,
    pub partitions: Vec<PartitionView>,
    pub messages: Vec<MessageRow>,
    pub messages_omitted: u64,
    pub totals: Totals,
    pub flows: Vec<Flow>,
    /// What the run cost: requests, retries, throughput, latency percentiles.
    pub cost: crate::outcome::Cost,
    pub faults: Vec<FaultRow>,
    /// Every transaction a transaction coordinator ran.
    pub transactions: Vec<TxnRow>,
    /// Jepsen-style anomaly checks.
    pub anomalies: Vec<crate::outcome::Anomaly>,
    pub expectations: Vec<ExpectResult>,
    /// Flows whose configured guarantee is violated and that no `expect` line states.
    pub unstated_violations: Vec<String>,
    /// Whether every expectation held and every violated guarantee was expected.
    pub passed: bool,
    /// With every row kept on disk (a run with [`ALL`](crate::sim::trace::ALL) steps): the
    /// long tables' rows, read back when rendered; `steps`, `tracker.rows`, `messages` and each
    /// partition's `records` are empty then.
    #[serde(skip)]
    pub streamed: Option<Streamed>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunInfo {
    /// When the run stopped, in simulated ms: the `run for` limit when that stopped it,
    /// otherwise its last event.
    pub stopped_at_ms: u64,
    /// Why it stopped.
    pub stop: Stop,
    /// When its last event happened (before the `run for` limit, when that stopped it).
    pub last_event_ms: u64,
    pub events: u64,
    pub steps: u64,
}

impl RunInfo {
    fn of(run: &crate::sim::Run, run_for_ms: u64) -> RunInfo {
        // A `run for` limit stops the run at the limit, whenever its last event was (the sim
        // stops at the first event due after it).
        let stopped_at_ms = if run.stop == Stop::TimeLimit { run_for_ms } else { run.end_ms };
        RunInfo { stopped_at_ms, stop: run.stop, last_event_ms: run.end_ms, events: run.events, steps: run.trace.total }
    }

    /// How the run ended, in the words every format uses: `ended at 40002 ms (nothing left to
    /// happen)`, `stopped at the `run for` limit at 4000 ms (last event at 3509 ms)`.
    pub fn ended(&self) -> String {
        match self.stop {
            Stop::Quiescent => format!("ended at {} ms (nothing left to happen)", self.stopped_at_ms),
            Stop::TimeLimit => format!(
                "stopped at the `run for` limit at {} ms (last event at {} ms)",
                self.stopped_at_ms, self.last_event_ms
            ),
            Stop::EventLimit => format!("stopped at {} ms (event limit reached)", self.stopped_at_ms),
            Stop::MemoryLimit => {
                format!("stopped at {} ms (memory limit reached: the outcome is incomplete)", self.stopped_at_ms)
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tracker {
    pub columns: Vec<String>,
    pub rows: Vec<TrackerRow>,
    pub rows_omitted: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PartitionView {
    pub partition: String,
    pub leader: Option<u32>,
    pub leader_epoch: u32,
    pub isr: Vec<u32>,
    pub high_watermark: u64,
    pub log_end_offset: u64,
    pub replicas: Vec<ReplicaView>,
    pub records: Vec<LogRow>,
    pub records_omitted: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReplicaView {
    pub broker: u32,
    pub alive: bool,
    pub log_end_offset: u64,
    pub high_watermark: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LogRow {
    pub offset: u64,
    pub key: String,
    pub value: String,
    pub producer: String,
    /// `producer id / sequence`, or `-` without idempotence.
    pub producer_id_seq: String,
    pub leader_epoch: u32,
    /// `committed` below the high watermark, else `uncommitted`.
    pub state: String,
    /// Whether the log holds this record's message more than once (cut tables keep these).
    #[serde(skip)]
    pub repeated: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MessageRow {
    /// `shop #3`
    pub send: String,
    pub key: String,
    pub value: String,
    pub partition: String,
    pub attempts: u32,
    pub copies_in_log: u32,
    /// `billing x1, audit x0`
    pub processed: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Totals {
    pub messages: u64,
    pub delivered_once: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub failed: u64,
    pub not_sent: u64,
    /// Sent in a transaction the application aborted.
    pub aborted: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TxnRow {
    pub transactional_id: String,
    pub producer_id: u32,
    pub epoch: u16,
    pub partitions: Vec<String>,
    /// `Ongoing@4 -> PrepareCommit@9 -> CompleteCommit@11`
    pub states: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FaultRow {
    pub fault: String,
    pub fired_at_ms: Vec<u64>,
    /// It fired, and the run without this fault line gives every message the same history
    /// (sends, acks, offsets, attempts, processings and their times), outcome and committed log
    /// (true), or not (false); absent when it never fired or the run was too big to run again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_nothing: Option<bool>,
}

/// A run's picture: its sequence diagram as SVG or Mermaid, or the HTML page (with the
/// scenario's `source` when given). At most `max_rows` steps are drawn (0: all), those around
/// the faults when the run has more.
pub fn picture(report: &Report, format: Format, max_rows: usize, source: Option<&str>) -> String {
    let d = diagram::build(report, max_rows);
    match format {
        Format::Mermaid => mermaid::render(&d),
        Format::Html => html::render(report, &d, max_rows, source),
        _ => svg::render(&d),
    }
}

/// How many rows of the long tables to keep (0: all), and which rows to look at.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub max_rows: usize,
    pub filter: Filter,
}

impl Limits {
    /// At most `max_rows` rows a table (0: all), no filter.
    pub fn rows(max_rows: usize) -> Limits {
        Limits { max_rows, filter: Filter::default() }
    }

    /// The most rows a table keeps: `max_rows` (0: all), never past `MAX_REPORT_ROWS`.
    fn max(&self) -> usize {
        if self.max_rows == 0 { MAX_REPORT_ROWS } else { self.max_rows.min(MAX_REPORT_ROWS) }
    }
}

/// Rows kept of `n`: `max_rows` (0: all), never past `MAX_REPORT_ROWS`.
#[cfg(test)]
fn cap(n: usize, limits: Limits) -> usize {
    n.min(limits.max())
}

/// Builds the report of a finished run.
pub fn build(model: &Model, run: &Run, limits: Limits) -> Report {
    let analysis = Analysis::new(model, run);
    let fates = analysis.fates();
    let mut totals = Totals { messages: u64::from(model.total_messages), ..Totals::default() };
    for f in &fates {
        match f.fate {
            Fate::Delivered => totals.delivered_once += 1,
            Fate::Lost => totals.lost += 1,
            Fate::Duplicated => totals.duplicated += 1,
            Fate::Failed => totals.failed += 1,
            Fate::NotSent => totals.not_sent += 1,
            Fate::Aborted => totals.aborted += 1,
        }
    }
    let filter = &limits.filter;
    // Messages: those the filters match (`None`: all of them, with no list made), the ones
    // not delivered once first.
    let chosen: Option<Vec<u32>> = (filter.message.is_some() || filter.actor.is_some()).then(|| {
        (0..fates.len() as u32)
            .filter(|&m| {
                // (Each message's value and sender looked up only when a filter asks for it.)
                let by_sender = || filter.actor_is(&model.producers[model.producer_of(m) as usize].name);
                let by_group =
                    || analysis.processed_by(m).iter().any(|(g, _)| filter.actor_is(&model.groups[*g as usize].name));
                (filter.message.is_none() || filter.carries(&model.value(m)))
                    && (filter.actor.is_none() || by_sender() || by_group())
            })
            .collect()
    });
    let chosen_count = chosen.as_ref().map_or(fates.len(), Vec::len);
    let chosen_at = |i: usize| chosen.as_ref().map_or(i as u32, |c| c[i]);
    let streaming = run.trace.spill.is_some();
    let shown: Vec<u32> = if streaming {
        Vec::new()
    } else {
        let notable = (0..chosen_count).map(|i| fates[chosen_at(i) as usize].fate != Fate::Delivered);
        select::rows(notable, limits.max()).into_iter().map(chosen_at).collect()
    };
    // Where each shown message sits in the committed logs, found in one pass over the logs.
    // (A bit a message says which are shown, so a record of one not shown costs no look-up.)
    let mut places: std::collections::BTreeMap<u32, Vec<String>> = shown.iter().map(|&m| (m, Vec::new())).collect();
    let mut is_shown = vec![0u64; fates.len().div_ceil(64)];
    shown.iter().for_each(|&m| is_shown[m as usize / 64] |= 1 << (m % 64));
    for p in 0..model.partitions.len() as u32 {
        for (o, m) in run.world.committed_msgs(p) {
            if is_shown[m as usize / 64] & (1 << (m % 64)) == 0 {
                continue;
            }
            if let Some(v) = places.get_mut(&m) {
                v.push(format!("{}@{o}", model.partition_name(p)));
            }
        }
    }
    let messages_omitted = if streaming { 0 } else { (chosen_count - shown.len()) as u64 };
    let messages =
        places.into_iter().map(|(m, at)| message_row(model, run, &analysis, m, fates[m as usize], at)).collect();
    // Steps: those the filters match; around the ones that matter first.
    let watched = (0..fates.len() as u32)
        .filter(|&m| matches!(fates[m as usize].fate, Fate::Lost | Fate::Duplicated))
        .map(|m| model.value(m))
        .collect();
    let matching: Vec<&Step> = run.trace.steps.iter().filter(|s| filter.step(s)).collect();
    let steps: Vec<Step> = select::steps(matching.iter().copied(), watched, limits.max())
        .into_iter()
        .map(|i| matching[i].clone())
        .collect();
    // (A streamed trace records every step, on disk.)
    let unrecorded = if run.trace.spill.is_some() { 0 } else { run.trace.total - run.trace.steps.len() as u64 };
    let steps_omitted = (matching.len() - steps.len()) as u64 + if filter.is_empty() { unrecorded } else { 0 };
    let streamed = run.trace.spill.as_ref().and_then(|spill| {
        Streamed::write(
            model,
            run,
            &analysis,
            spill,
            filter,
            (0..chosen_count).map(chosen_at).map(|m| (m, fates[m as usize])),
        )
    });
    // Tracker rows: those in --from/--to and, with --actor or --message, those after a step the
    // filters match (the start and the end always); after a kept step first.
    let kept_steps: std::collections::BTreeSet<String> = steps.iter().map(|s| s.step.to_string()).collect();
    let by_step = filter.actor.is_some() || filter.message.is_some();
    let matched: std::collections::BTreeSet<String> =
        if by_step { matching.iter().map(|s| s.step.to_string()).collect() } else { Default::default() };
    let rows: Vec<&TrackerRow> = run
        .trace
        .tracker
        .iter()
        .filter(|t| {
            filter.at(t.time_ms)
                && (!by_step || matches!(t.after.as_str(), "start" | "final") || matched.contains(&t.after))
        })
        .collect();
    let ranks: Vec<Option<u8>> = rows.iter().map(|t| kept_steps.contains(&t.after).then_some(0)).collect();
    let tracker_rows: Vec<TrackerRow> =
        select::pick(&ranks, limits.max(), 0, 0).into_iter().map(|i| rows[i].clone()).collect();
    let expectations = analysis.expectations(&fates);
    let flows = analysis.flows(&fates);
    let unstated_violations = stated::unstated(model, &flows);
    Report {
        scenario: model.title.clone(),
        description: model.description.clone(),
        seed: run.seed,
        filter: if filter.is_empty() { None } else { Some(filter.describe()) },
        run: RunInfo::of(run, model.run_for_ms),
        steps,
        steps_omitted,
        tracker: Tracker {
            columns: model.track.iter().map(|v| track_name(model, v)).collect(),
            rows_omitted: (rows.len() - tracker_rows.len()) as u64,
            rows: tracker_rows,
        },
        partitions: (0..model.partitions.len() as u32)
            .map(|p| partition_view(model, run, p, &limits, &analysis))
            .collect(),
        messages,
        messages_omitted,
        totals,
        flows,
        cost: analysis.cost(&fates),
        faults: model
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| FaultRow {
                fault: f.name.clone(),
                fired_at_ms: run.world.fired[i].clone(),
                changed_nothing: None,
            })
            .collect(),
        anomalies: analysis.anomalies(),
        transactions: run
            .world
            .txns
            .iter()
            .flat_map(|t| {
                t.history.iter().map(|h| TxnRow {
                    transactional_id: t.transactional_id.clone(),
                    producer_id: h.producer_id,
                    epoch: h.epoch,
                    partitions: h.partitions.iter().map(|p| model.partition_name(*p).to_string()).collect(),
                    states: h
                        .transitions
                        .iter()
                        .map(|(s, at)| format!("{}@{at}", s.name()))
                        .collect::<Vec<_>>()
                        .join(" -> "),
                    outcome: h.outcome.clone(),
                })
            })
            .collect(),
        passed: expectations.iter().all(|e| e.passed) && unstated_violations.is_empty(),
        streamed,
        unstated_violations,
        expectations,
    }
}

fn message_row(
    model: &Model,
    run: &Run,
    a: &Analysis<'_>,
    m: u32,
    fate: crate::outcome::MessageFate,
    offsets: Vec<String>,
) -> MessageRow {
    let p = model.producer_of(m);
    let st = &run.world.messages[m as usize];
    let processed: Vec<String> = a
        .processed_by(m)
        .iter()
        .map(|(g, n)| {
            // Say which isolation level the group reads with when it matters (transactions).
            let group = &model.groups[*g as usize];
            let rc = model.consumers[group.members[0] as usize].read_committed;
            let level = if run.world.txns.is_empty() {
                ""
            } else if rc {
                " (read_committed)"
            } else {
                " (read_uncommitted)"
            };
            format!("{}{level} x{n}", group.name)
        })
        .collect();
    let outcome = match fate.fate {
        Fate::Delivered => "delivered once".to_string(),
        Fate::Duplicated => format!("duplicated x{}", fate.times),
        Fate::Failed => format!("failed: {}", st.failed().unwrap_or("error")),
        f => fate_word(f).to_string(),
    };
    MessageRow {
        send: format!("{} #{}", model.producers[p as usize].name, model.send_number(m)),
        key: model.key(m).unwrap_or_else(|| "-".into()),
        value: model.value(m),
        partition: if offsets.is_empty() { "-".into() } else { offsets.join(", ") },
        attempts: st.attempts,
        copies_in_log: a.copies[m as usize].into(),
        processed: if processed.is_empty() { "-".into() } else { processed.join(", ") },
        outcome,
        detail: a.detail(m),
    }
}

/// The offsets of partition `p`'s shown log that the filter matches, in order.
fn partition_rows<'r>(model: &'r Model, run: &'r Run, p: u32, filter: &'r Filter) -> impl Iterator<Item = usize> + 'r {
    partition_records(model, run, p, filter).map(|(o, _)| o)
}

/// [`partition_rows`] with each offset's record, read in one pass over the log.
fn partition_records<'r>(
    model: &'r Model,
    run: &'r Run,
    p: u32,
    filter: &'r Filter,
) -> impl Iterator<Item = (usize, Record)> + 'r {
    let log = &run.world.log_replica(p).log;
    let everything = filter.is_empty();
    (0..log.len() as usize).zip(log.iter()).filter(move |(_, r)| {
        everything
            || !r.is_marker()
                && filter.carries(&model.value(r.msg))
                && filter.actor_is(&model.producers[model.producer_of(r.msg) as usize].name)
    })
}

fn partition_view(model: &Model, run: &Run, p: u32, limits: &Limits, a: &Analysis<'_>) -> PartitionView {
    let part = &run.world.partitions[p as usize];
    let shown_replica = run.world.log_replica(p);
    let hw = shown_replica.high_watermark;
    let streaming = run.trace.spill.is_some();
    // Each shown offset, and whether its record is of a message the log holds more than once
    // (those first).
    // (Unfiltered, the rows are the offsets themselves: no list of them is made.)
    let repeated = |kind: Kind, msg: MsgId| !kind.is_marker() && a.copies[msg as usize] > 1;
    let chosen: Option<Vec<(usize, bool)>> = (!streaming && !limits.filter.is_empty())
        .then(|| partition_records(model, run, p, &limits.filter).map(|(o, r)| (o, repeated(r.kind, r.msg))).collect());
    let (picked, total) = match &chosen {
        Some(c) => (select::rows(c.iter().map(|&(_, repeated)| repeated), limits.max()), c.len()),
        None if streaming => (Vec::new(), 0),
        None => {
            let log = &shown_replica.log;
            (select::rows(log.kinds().map(|(kind, msg)| repeated(kind, msg)), limits.max()), log.len() as usize)
        }
    };
    let records: Vec<LogRow> = picked
        .into_iter()
        .map(|i| {
            let (o, repeated) = match &chosen {
                Some(c) => c[i],
                None => {
                    let r = shown_replica.log.at(i as u64);
                    (i, repeated(r.kind, r.msg))
                }
            };
            LogRow { repeated, ..log_row(model, run, p, o) }
        })
        .collect();
    PartitionView {
        partition: model.partition_name(p).to_string(),
        leader: part.leader,
        leader_epoch: part.leader_epoch,
        isr: members(part.isr),
        high_watermark: hw,
        log_end_offset: shown_replica.log_end_offset(),
        replicas: part
            .replicas
            .iter()
            .map(|r| ReplicaView {
                broker: r.broker,
                alive: run.world.broker(r.broker).alive,
                log_end_offset: r.log_end_offset(),
                high_watermark: r.high_watermark,
            })
            .collect(),
        records_omitted: (total - records.len()) as u64,
        records,
    }
}

/// The row of offset `o` in partition `p`'s shown log.
fn log_row(model: &Model, run: &Run, p: u32, o: usize) -> LogRow {
    let shown_replica = run.world.log_replica(p);
    let hw = shown_replica.high_watermark;
    let lso = shown_replica.last_stable_offset();
    let r = &shown_replica.log.at(o as u64);
    let o = o as u64;
    let marker = match r.kind {
        Kind::CommitMarker => Some("COMMIT marker"),
        Kind::AbortMarker => Some("ABORT marker"),
        _ => None,
    };
    let state = if o < shown_replica.log_start_offset {
        // Below the log start offset: retention or DeleteRecords deleted it.
        "deleted"
    } else if marker.is_some() {
        "control"
    } else if r.kind == Kind::TxnData && shown_replica.is_aborted(o) {
        "aborted"
    } else if o >= hw {
        "uncommitted"
    } else if o >= lso && r.kind == Kind::TxnData {
        "open transaction"
    } else {
        "committed"
    };
    let id_seq = match (r.producer_id == NO_PRODUCER_ID, marker.is_some(), r.kind == Kind::TxnData) {
        (true, _, _) => "-".to_string(),
        (false, true, _) => format!("{} (epoch {})", r.producer_id, r.producer_epoch),
        (false, false, true) => format!("{} / {} (epoch {})", r.producer_id, r.sequence, r.producer_epoch),
        (false, false, false) => format!("{} / {}", r.producer_id, r.sequence),
    };
    LogRow {
        offset: o,
        key: if marker.is_some() { "-".into() } else { model.key(r.msg).unwrap_or_else(|| "-".into()) },
        value: marker.map_or_else(|| model.value(r.msg), str::to_string),
        producer: if marker.is_some() {
            "-".into()
        } else {
            model.producers[model.producer_of(r.msg) as usize].name.clone()
        },
        producer_id_seq: id_seq,
        leader_epoch: r.leader_epoch,
        state: state.into(),
        repeated: false,
    }
}

/// The name a tracked variable is written with in `track [...]`.
pub fn track_name(model: &Model, v: &TrackVar) -> String {
    match *v {
        TrackVar::HighWatermark(p) => format!("{}.high_watermark", model.partition_name(p)),
        TrackVar::LogEndOffset(p) => format!("{}.log_end_offset", model.partition_name(p)),
        TrackVar::LogStartOffset(p) => format!("{}.log_start_offset", model.partition_name(p)),
        TrackVar::LastStableOffset(p) => format!("{}.last_stable_offset", model.partition_name(p)),
        TrackVar::Leader(p) => format!("{}.leader", model.partition_name(p)),
        TrackVar::Isr(p) => format!("{}.isr", model.partition_name(p)),
        TrackVar::Position(c) => format!("{}.position", model.consumers[c as usize].name),
        TrackVar::Committed(c) => format!("{}.committed", model.consumers[c as usize].name),
        TrackVar::ConsumerState(c) => format!("{}.state", model.consumers[c as usize].name),
        TrackVar::Retries(p) => format!("{}.retries", model.producers[p as usize].name),
        TrackVar::Acked(p) => format!("{}.acked", model.producers[p as usize].name),
        TrackVar::MessageState(m) => model.value(m),
    }
}

#[cfg(test)]
mod tests {
    use super::{Limits, MAX_REPORT_ROWS, cap};

    #[test]
    fn max_rows_zero_keeps_all_up_to_the_row_limit() {
        assert_eq!(cap(5_000_000, Limits::rows(0)), MAX_REPORT_ROWS);
        assert_eq!(cap(5_000_000, Limits::rows(usize::MAX)), MAX_REPORT_ROWS);
        assert_eq!(cap(7, Limits::rows(0)), 7);
        assert_eq!(cap(7, Limits::rows(3)), 3);
    }
}
