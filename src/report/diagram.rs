//! The sequence diagram of a run, read off the report's process table (one source of truth):
//! a lane per actor, a row per step, faults, crash and pause gaps, cut links, lost and
//! duplicated messages. `svg` and `mermaid` draw it.

use super::Report;
use crate::sim::trace::Step;
use std::collections::{BTreeMap, BTreeSet};

/// Who a lane is, which also orders the lanes left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LaneKind {
    Producer,
    TxnCoordinator,
    Broker,
    Controller,
    GroupCoordinator,
    /// Reads and writes: a processor.
    Processor,
    Consumer,
}

#[derive(Debug, Clone)]
pub struct Lane {
    pub name: String,
    pub kind: LaneKind,
    /// Under the name: `leads orders-0` for a broker at the start of the run.
    pub detail: String,
}

/// What an arrow or a note is about; it picks the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Produce,
    Ack,
    Replicate,
    Fetch,
    Commit,
    Group,
    Txn,
    Marker,
    Control,
    Local,
    Error,
    Crash,
    Restart,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Produce => "produce",
            Class::Ack => "ack",
            Class::Replicate => "replicate",
            Class::Fetch => "fetch",
            Class::Commit => "commit",
            Class::Group => "group",
            Class::Txn => "txn",
            Class::Marker => "marker",
            Class::Control => "control",
            Class::Local => "local",
            Class::Error => "error",
            Class::Crash => "crash",
            Class::Restart => "restart",
        }
    }

    /// Answers (acks, records, assignments) are drawn dashed.
    pub fn is_reply(self) -> bool {
        matches!(self, Class::Ack | Class::Fetch | Class::Replicate)
    }
}

/// What happened to the message a row carries, when it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    /// The last the run saw of a lost (or failed) message: a red cross.
    Lost,
    /// A second (or later) copy of a duplicated message.
    Duplicate,
}

#[derive(Debug, Clone)]
pub enum Item {
    /// A request or an answer between lanes (several targets: markers to several leaders).
    Arrow { from: usize, to: Vec<usize>, label: String, class: Class },
    /// Something a lane did on its own.
    Note { lane: usize, label: String, class: Class },
    /// A fault firing; the lanes it names.
    Fault { label: String, lanes: Vec<usize> },
    /// Steps not drawn.
    Elided { steps: u64, from_ms: u64, to_ms: u64, why: String },
}

#[derive(Debug, Clone)]
pub struct Row {
    pub step: u64,
    pub time_ms: u64,
    /// Idle simulated time compressed away just before this row (0: none).
    pub idle_before_ms: u64,
    pub item: Item,
    /// Message values the row carries.
    pub msgs: Vec<String>,
    pub mark: Mark,
    /// The process table's row, in full.
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Crashed: the lane's bar stops until its restart.
    Down,
    Paused,
    /// A cut link: a band over the lanes the fault names.
    Cut,
}

/// A stretch of rows (`first..end`) during which lanes are down, paused or cut off.
#[derive(Debug, Clone)]
pub struct Span {
    pub kind: SpanKind,
    pub lanes: Vec<usize>,
    pub first: usize,
    pub end: usize,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Diagram {
    pub title: String,
    /// `seed 0; ended at 20060 ms (nothing left to happen); 42 steps`
    pub subtitle: String,
    pub lanes: Vec<Lane>,
    pub rows: Vec<Row>,
    pub spans: Vec<Span>,
}

/// Silences shorter than this are drawn to scale (one row a step anyway); longer ones are
/// compressed into a break on the time axis.
pub const IDLE_MS: u64 = 100;

/// Which steps to draw, as runs of consecutive indices: those the process table keeps with
/// `--max-rows` (`select::steps`, 0: all), so the diagram, the HTML
/// process table and the text tables show the same rows.
pub fn keep(report: &Report, max_rows: usize) -> Vec<std::ops::Range<usize>> {
    let watched = report
        .messages
        .iter()
        .filter(|m| m.outcome.starts_with("lost") || m.outcome.starts_with("duplicated"))
        .map(|m| m.value.clone())
        .collect();
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for i in super::select::steps(report.steps.iter(), watched, max_rows) {
        match runs.last_mut() {
            Some(last) if last.end == i => last.end += 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// The lane names a text mentions, as whole words (`broker 1` is not in `broker 12`).
fn mentioned(text: &str, lanes: &[Lane]) -> Vec<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut found: Vec<usize> = Vec::new();
    for (i, l) in lanes.iter().enumerate() {
        let mut from = 0;
        while let Some(at) = text[from..].find(&l.name) {
            let s = from + at;
            let e = s + l.name.len();
            let before = text[..s].chars().next_back().is_none_or(|c| !word(c));
            let after = text[e..].chars().next().is_none_or(|c| !word(c));
            if before && after {
                found.push(i);
                break;
            }
            from = e;
        }
    }
    // `broker 1` inside `leader of ...` names no partition lane; drop lanes contained in a
    // longer one found at the same place (`group billing` vs `billing`).
    let names: Vec<&str> = found.iter().map(|i| lanes[*i].name.as_str()).collect();
    found
        .iter()
        .copied()
        .filter(|i| {
            let n = &lanes[*i].name;
            !names.iter().any(|m| m.len() > n.len() && m.contains(n.as_str()) && text.contains(m))
        })
        .collect()
}

/// `m1, m2, ... 3 more` into the values.
fn values(message: &str) -> Vec<String> {
    if message.is_empty() {
        return Vec::new();
    }
    message.split(", ").filter(|v| !v.starts_with("... ")).map(str::to_string).collect()
}

/// `to broker 2 for payments-0, seq 0` -> (`broker 2`, `payments-0`).
fn target(result: &str) -> Option<(String, String)> {
    let rest = result.strip_prefix("to ")?;
    let (broker, rest) = rest.split_once(" for ")?;
    let partition = rest.split([',', ' ']).next()?;
    Some((broker.to_string(), partition.to_string()))
}

fn kind_of(actor: &str, actions: &BTreeSet<&str>) -> LaneKind {
    if actor.starts_with("broker ") {
        return LaneKind::Broker;
    }
    if actor == "controller" {
        return LaneKind::Controller;
    }
    if actor.starts_with("group ") {
        return LaneKind::GroupCoordinator;
    }
    if actor.starts_with("txn coordinator") {
        return LaneKind::TxnCoordinator;
    }
    let reads =
        actions.iter().any(|a| matches!(*a, "start" | "assignment" | "process" | "rejoin") || a.starts_with("poll "));
    let writes = actions.iter().any(|a| matches!(*a, "send()" | "produce request" | "initTransactions()"));
    match (reads, writes) {
        (true, true) => LaneKind::Processor,
        (true, false) => LaneKind::Consumer,
        _ => LaneKind::Producer,
    }
}

/// Lanes in diagram order: producers, transaction coordinators, brokers, the controller, group
/// coordinators, processors, consumers; each kind in order of first appearance (brokers by id).
fn lanes(report: &Report) -> Vec<Lane> {
    let mut actions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for s in &report.steps {
        if s.actor == "fault" || s.actor == "network" {
            continue;
        }
        if !actions.contains_key(s.actor.as_str()) {
            order.push(&s.actor);
        }
        actions.entry(&s.actor).or_default().insert(&s.action);
    }
    let mut brokers: BTreeSet<u32> =
        report.partitions.iter().flat_map(|p| p.replicas.iter().map(|r| r.broker)).collect();
    brokers.extend(order.iter().filter_map(|a| a.strip_prefix("broker ")?.parse::<u32>().ok()));
    let mut out: Vec<Lane> = Vec::new();
    let empty = BTreeSet::new();
    for a in &order {
        let kind = kind_of(a, actions.get(a).unwrap_or(&empty));
        if kind != LaneKind::Broker {
            out.push(Lane { name: a.to_string(), kind, detail: String::new() });
        }
    }
    for b in brokers {
        let leads: Vec<&str> = report
            .partitions
            .iter()
            .filter(|p| p.replicas.first().map(|r| r.broker) == Some(b))
            .map(|p| p.partition.as_str())
            .collect();
        let detail = if leads.is_empty() { String::new() } else { format!("leads {}", leads.join(", ")) };
        out.push(Lane { name: format!("broker {b}"), kind: LaneKind::Broker, detail });
    }
    out.sort_by_key(|l| l.kind);
    for l in &mut out {
        l.detail = match l.kind {
            LaneKind::GroupCoordinator => "group coordinator".into(),
            LaneKind::TxnCoordinator => "transaction coordinator".into(),
            LaneKind::Processor => "processor".into(),
            LaneKind::Consumer => "consumer".into(),
            LaneKind::Producer => "producer".into(),
            LaneKind::Controller => "KRaft controller".into(),
            LaneKind::Broker => std::mem::take(&mut l.detail),
        }
    }
    out
}

/// What the builder knows so far, learned from every step (drawn or not).
struct State {
    lanes: Vec<Lane>,
    index: BTreeMap<String, usize>,
    leader: BTreeMap<String, usize>,
    partition_of: BTreeMap<String, String>,
    broker_of: BTreeMap<String, usize>,
    producer_of: BTreeMap<String, usize>,
    group_of: BTreeMap<usize, usize>,
    txn_of: BTreeMap<usize, usize>,
    copies: BTreeMap<(String, String), u32>,
    duplicated: BTreeSet<String>,
}

impl State {
    fn lane(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    fn leader_of(&self, partition: &str) -> Option<usize> {
        self.leader.get(partition).copied()
    }
}

/// Which transaction coordinator each transactional producer talks to: the coordinator lane
/// named after it, else the coordinator whose next decision follows the producer's request.
fn txn_coordinators(steps: &[Step], st: &State) -> BTreeMap<usize, usize> {
    let coordinators: Vec<usize> =
        st.lanes.iter().enumerate().filter(|(_, l)| l.kind == LaneKind::TxnCoordinator).map(|(i, _)| i).collect();
    let mut map = BTreeMap::new();
    let mut pending: Vec<usize> = Vec::new();
    for s in steps {
        let Some(a) = st.lane(&s.actor) else { continue };
        if s.result.contains("EndTxn") || s.result == "InitProducerId sent" {
            if !map.contains_key(&a) && !pending.contains(&a) {
                pending.push(a);
            }
        } else if s.action == "decision" && st.lanes[a].kind == LaneKind::TxnCoordinator && !pending.is_empty() {
            let p = pending.remove(0);
            map.entry(p).or_insert(a);
        }
    }
    for (i, l) in st.lanes.iter().enumerate() {
        if matches!(l.kind, LaneKind::Producer | LaneKind::Processor) && !map.contains_key(&i) {
            let named = coordinators.iter().find(|c| st.lanes[**c].name.contains(&format!("({} on", l.name)));
            if let Some(c) = named.or(if coordinators.len() == 1 { coordinators.first() } else { None }) {
                map.insert(i, *c);
            }
        }
    }
    map
}

/// Reads the report's process table into a diagram, drawing at most `max_rows` steps (0: all).
pub fn build(report: &Report, max_rows: usize) -> Diagram {
    let lanes = lanes(report);
    let index = lanes.iter().enumerate().map(|(i, l)| (l.name.clone(), i)).collect();
    let mut st = State {
        lanes,
        index,
        leader: BTreeMap::new(),
        partition_of: BTreeMap::new(),
        broker_of: BTreeMap::new(),
        producer_of: BTreeMap::new(),
        group_of: BTreeMap::new(),
        txn_of: BTreeMap::new(),
        copies: BTreeMap::new(),
        duplicated: report
            .messages
            .iter()
            .filter(|m| m.outcome.starts_with("duplicated"))
            .map(|m| m.value.clone())
            .collect(),
    };
    for p in &report.partitions {
        if let Some(l) = p.replicas.first().and_then(|r| st.lane(&format!("broker {}", r.broker))) {
            st.leader.insert(p.partition.clone(), l);
        }
    }
    st.txn_of = txn_coordinators(&report.steps, &st);
    let windows = keep(report, max_rows);
    let mut rows: Vec<Row> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    let mut open: Vec<Span> = Vec::new();
    let mut next = 0usize;
    let mut last_ms = 0u64;
    for w in windows.iter().cloned().chain(std::iter::once(report.steps.len()..report.steps.len())) {
        if w.start > next {
            let skipped = &report.steps[next..w.start];
            for s in skipped {
                learn(&mut st, s, report);
                track_spans(&st, s, rows.len(), &mut open, &mut spans);
            }
            let (from_ms, to_ms) = (skipped[0].time_ms, skipped[skipped.len() - 1].time_ms);
            rows.push(Row {
                step: skipped[0].step,
                time_ms: from_ms,
                idle_before_ms: 0,
                item: Item::Elided {
                    steps: skipped.len() as u64,
                    from_ms,
                    to_ms,
                    why: "not among the rows that matter; --max-rows 0 draws all".into(),
                },
                msgs: Vec::new(),
                mark: Mark::None,
                title: String::new(),
            });
            last_ms = to_ms;
        }
        for s in &report.steps[w.clone()] {
            let idle = s.time_ms.saturating_sub(last_ms);
            last_ms = s.time_ms;
            track_spans(&st, s, rows.len(), &mut open, &mut spans);
            let (item, msgs, mark) = row_item(&mut st, s, report);
            rows.push(Row {
                step: s.step,
                time_ms: s.time_ms,
                idle_before_ms: if idle >= IDLE_MS { idle } else { 0 },
                item,
                msgs,
                mark,
                title: format!(
                    "step {} at {} ms: {} | {} | {} | {}",
                    s.step, s.time_ms, s.actor, s.action, s.message, s.result
                ),
            });
        }
        next = w.end.max(next);
    }
    if report.steps_omitted > 0 {
        rows.push(Row {
            step: report.run.steps - report.steps_omitted + 1,
            time_ms: last_ms,
            idle_before_ms: 0,
            item: Item::Elided {
                steps: report.steps_omitted,
                from_ms: last_ms,
                to_ms: report.run.last_event_ms,
                // A picture is drawn from the steps in memory: at most MAX_REPORT_ROWS of them,
                // the first ones (the text tables stream every step with --max-rows 0).
                why: format!(
                    "not recorded: a picture draws at most the first {} steps of a run; the text tables show every step with --max-rows 0",
                    crate::model::limits::MAX_REPORT_ROWS
                ),
            },
            msgs: Vec::new(),
            mark: Mark::None,
            title: String::new(),
        });
    }
    for mut s in open {
        s.end = rows.len();
        spans.push(s);
    }
    spans.sort_by_key(|s| (s.first, s.end));
    mark_lost(&mut rows, report);
    Diagram {
        title: report.scenario.clone(),
        subtitle: format!(
            "seed {}; {}; {} steps; time flows down, one row a step, idle stretches over {IDLE_MS} ms compressed",
            report.seed,
            report.run.ended(),
            report.run.steps
        ),
        lanes: st.lanes,
        rows,
        spans,
    }
}

/// Opens and closes the crash, pause and cut-link spans at this step.
fn track_spans(st: &State, s: &Step, row: usize, open: &mut Vec<Span>, done: &mut Vec<Span>) {
    let close = |open: &mut Vec<Span>, done: &mut Vec<Span>, pick: &dyn Fn(&Span) -> bool| {
        let (ended, kept): (Vec<Span>, Vec<Span>) = open.drain(..).partition(|x| pick(x));
        *open = kept;
        for mut x in ended {
            x.end = row;
            done.push(x);
        }
    };
    if s.actor == "fault" {
        if s.action.starts_with("partition ") {
            let lanes = mentioned(&s.action, &st.lanes);
            open.push(Span { kind: SpanKind::Cut, lanes, first: row, end: row, label: s.action.clone() });
        } else if s.action.starts_with("heal") || s.action.contains(" heal ") {
            close(open, done, &|x| x.kind == SpanKind::Cut);
        }
        return;
    }
    let Some(a) = st.lane(&s.actor) else { return };
    let mine = |k: SpanKind| move |x: &Span| x.kind == k && x.lanes == [a];
    match s.action.as_str() {
        "crash" => {
            open.push(Span { kind: SpanKind::Down, lanes: vec![a], first: row, end: row, label: s.result.clone() })
        }
        "restart" => close(open, done, &mine(SpanKind::Down)),
        "pause" if s.result.starts_with("frozen") => {
            open.push(Span { kind: SpanKind::Paused, lanes: vec![a], first: row, end: row, label: s.result.clone() })
        }
        "resume" => close(open, done, &mine(SpanKind::Paused)),
        _ => {}
    }
}

/// Updates what the builder knows from a step it does not draw.
fn learn(st: &mut State, s: &Step, report: &Report) {
    let _ = row_item(st, s, report);
}

fn row_item(st: &mut State, s: &Step, report: &Report) -> (Item, Vec<String>, Mark) {
    let msgs = values(&s.message);
    let first = msgs.first().cloned().unwrap_or_default();
    let mut mark = Mark::None;
    let Some(a) = st.lane(&s.actor) else {
        if s.actor == "fault" {
            let lanes = mentioned(&s.action, &st.lanes);
            return (Item::Fault { label: s.action.clone(), lanes }, msgs, mark);
        }
        if s.actor == "network" {
            if let (Some(b), Some(p)) = (st.broker_of.get(&first), st.producer_of.get(&first)) {
                let label = format!("{}: {}", s.action, s.result);
                return (Item::Arrow { from: *b, to: vec![*p], label, class: Class::Error }, msgs, Mark::Lost);
            }
        }
        let label = format!("{}: {} {}", s.actor, s.action, s.result);
        return (Item::Fault { label, lanes: Vec::new() }, msgs, mark);
    };
    let note = |label: String, class: Class| Item::Note { lane: a, label, class };
    let arrow = |to: usize, label: String, class: Class| Item::Arrow { from: a, to: vec![to], label, class };
    let act = s.action.as_str();
    let with_msg = |what: &str| if s.message.is_empty() { what.to_string() } else { format!("{what} {}", s.message) };
    let item = if act == "send()" || act == "send() again" {
        for m in &msgs {
            st.producer_of.insert(m.clone(), a);
            if let Some(p) = s.result.strip_prefix("queued for ") {
                st.partition_of.insert(m.clone(), p.to_string());
            }
        }
        note(format!("{act} {} -> {}", s.message, s.result.trim_start_matches("queued for ")), Class::Local)
    } else if act == "produce request" || act.starts_with("retry ") {
        match target(&s.result).and_then(|(b, p)| Some((st.lane(&b)?, p))) {
            Some((b, p)) => {
                for m in &msgs {
                    st.broker_of.insert(m.clone(), b);
                }
                let seq = s.result.split_once(", ").map(|(_, x)| format!(", {x}")).unwrap_or_default();
                let verb = if act == "produce request" { "produce" } else { act };
                arrow(b, format!("{verb} {} ({p}{seq})", s.message), Class::Produce)
            }
            None => note(format!("{act} {}: {}", s.message, s.result), Class::Produce),
        }
    } else if let Some(p) = act.strip_prefix("append to ") {
        st.leader.insert(p.to_string(), a);
        for m in &msgs {
            let n = st.copies.entry((p.to_string(), m.clone())).or_default();
            *n += 1;
            if *n > 1 && st.duplicated.contains(m) {
                mark = Mark::Duplicate;
            }
        }
        let at = s.result.trim_start_matches("written ");
        let at = at.split(" (").next().unwrap_or(at);
        let class = if s.result.contains(" marker at ") {
            Class::Marker
        } else if s.result.starts_with("written") {
            Class::Local
        } else {
            Class::Error
        };
        note(format!("append {} {at}", s.message), class)
    } else if act == "ack" {
        let from = st.broker_of.get(&first).copied();
        match from {
            Some(b) => Item::Arrow {
                from: b,
                to: vec![a],
                label: format!("ack {} ({})", s.message, s.result),
                class: Class::Ack,
            },
            None => note(format!("ack {}: {}", s.message, s.result), Class::Ack),
        }
    } else if act == "produce" {
        match st.producer_of.get(&first) {
            Some(p) => arrow(*p, format!("{} {}", s.message, s.result), Class::Error),
            None => note(format!("{} {}", s.message, s.result), Class::Error),
        }
    } else if let Some(p) = act.strip_prefix("replicate ") {
        match st.leader_of(p) {
            Some(l) if l != a => Item::Arrow {
                from: l,
                to: vec![a],
                label: format!("fetch {p}: {} ({})", s.message, s.result.trim_start_matches("fetched ")),
                class: Class::Replicate,
            },
            _ => note(format!("replicate {p}: {} {}", s.message, s.result), Class::Replicate),
        }
    } else if let Some(p) = act.strip_prefix("high watermark of ") {
        note(format!("{p} high watermark {}", s.result), Class::Local)
    } else if let Some(p) = act.strip_prefix("leader of ") {
        // `1 -> 2 (epoch 1, ...)`: the new leader.
        if let Some(new) = s.result.split(" -> ").nth(1).and_then(|x| x.split(' ').next()) {
            match st.lane(&format!("broker {new}")) {
                Some(b) => st.leader.insert(p.to_string(), b),
                None => st.leader.remove(p),
            };
        }
        note(format!("leader of {p}: {}", s.result), Class::Control)
    } else if act.starts_with("isr of ") || act.starts_with("fence ") || act == "reconnect" {
        note(format!("{act}: {}", s.result), Class::Control)
    } else if act.starts_with("truncate ") {
        note(format!("{act}: {} ({})", s.message, s.result), Class::Error)
    } else if act == "start" || act == "rejoin" {
        if let Some(g) = s.result.strip_prefix("JoinGroup ").and_then(|g| st.lane(&format!("group {g}"))) {
            st.group_of.insert(a, g);
        }
        match st.group_of.get(&a) {
            Some(g) if s.result.starts_with("JoinGroup") => arrow(*g, s.result.clone(), Class::Group),
            Some(g) => arrow(*g, format!("JoinGroup ({})", s.result), Class::Group),
            None => note(format!("{act}: {}", s.result), Class::Group),
        }
    } else if act == "assignment" {
        match st.group_of.get(&a) {
            Some(g) => {
                Item::Arrow { from: *g, to: vec![a], label: format!("assignment {}", s.result), class: Class::Group }
            }
            None => note(format!("assignment {}", s.result), Class::Group),
        }
    } else if act.starts_with("poll ") {
        let leader = st.partition_of.get(&first).and_then(|p| st.leader_of(p));
        match leader {
            Some(l) => Item::Arrow {
                from: l,
                to: vec![a],
                label: format!("{act}: {} ({})", s.message, s.result),
                class: Class::Fetch,
            },
            None => note(format!("{act}: {} ({})", s.message, s.result), Class::Fetch),
        }
    } else if act == "process" {
        let group = st.group_of.get(&a).copied().unwrap_or(a);
        for m in &msgs {
            let n = st.copies.entry((format!("group {group}"), m.clone())).or_default();
            *n += 1;
            if *n > 1 && st.duplicated.contains(m) {
                mark = Mark::Duplicate;
            }
        }
        note(with_msg("process"), Class::Local)
    } else if matches!(act, "commitSync" | "auto-commit" | "commit" | "leave group" | "heartbeats" | "group request") {
        let class = if s.result.starts_with("failed") || s.result.contains("COORDINATOR_NOT_AVAILABLE") {
            Class::Error
        } else if act == "leave group" || act == "heartbeats" || act == "group request" {
            Class::Group
        } else {
            Class::Commit
        };
        match st.group_of.get(&a) {
            Some(g) if class != Class::Error => arrow(*g, format!("{act}: {}", s.result), class),
            _ => note(format!("{act}: {}", s.result), class),
        }
    } else if matches!(
        act,
        "initTransactions()"
            | "sendOffsetsToTransaction()"
            | "commitTransaction()"
            | "flush(), abortTransaction()"
            | "transaction request"
    ) {
        let request = s.result.contains("EndTxn") || s.result.ends_with(" sent") || act == "sendOffsetsToTransaction()";
        let reply = s.result.starts_with("producer id ");
        let class =
            if s.result.starts_with("failed") || act == "transaction request" { Class::Error } else { Class::Txn };
        match st.txn_of.get(&a) {
            Some(c) if request => arrow(*c, format!("{act}: {}", s.result), class),
            Some(c) if reply => {
                Item::Arrow { from: *c, to: vec![a], label: format!("InitProducerId: {}", s.result), class }
            }
            _ => note(format!("{act}: {}", s.result), class),
        }
    } else if act == "markers written" {
        let targets = markers(st, &s.actor, s, report);
        if targets.is_empty() {
            note(format!("markers written: {}", s.result), Class::Marker)
        } else {
            let kind = if s.result.contains("Abort") { "ABORT" } else { "COMMIT" };
            Item::Arrow { from: a, to: targets, label: format!("{kind} markers ({})", s.result), class: Class::Marker }
        }
    } else if act == "crash" {
        note(format!("crash: {}", s.result), Class::Crash)
    } else if act == "restart" || act == "resume" {
        note(format!("{act}: {}", s.result), Class::Restart)
    } else if act == "pause" || act == "controlled shutdown" {
        note(format!("{act}: {}", s.result), Class::Crash)
    } else if act == "error" || act == "request timeout" || act == "fenced" || s.result.starts_with("failed") {
        note(format!("{}: {}", with_msg(act), s.result), Class::Error)
    } else if matches!(
        act,
        "decision" | "transaction timeout" | "beginTransaction()" | "abortTransaction()" | "bump epoch"
    ) {
        note(format!("{act}: {}", s.result), Class::Txn)
    } else if st.lanes[a].kind == LaneKind::GroupCoordinator {
        note(format!("{act}: {}", s.result), Class::Group)
    } else {
        let text = if s.result.is_empty() { with_msg(act) } else { format!("{}: {}", with_msg(act), s.result) };
        note(text, Class::Local)
    };
    (item, msgs, mark)
}

/// The leaders of a transaction's partitions when its coordinator wrote the markers: the
/// transaction (by id and the time of its `Complete*` state) comes from the transactions table.
fn markers(st: &State, coordinator: &str, s: &Step, report: &Report) -> Vec<usize> {
    let Some(id) = coordinator.strip_prefix("txn coordinator (").and_then(|x| x.rsplit_once(" on ")).map(|x| x.0)
    else {
        return Vec::new();
    };
    let state = format!("{}@{}", s.result, s.time_ms);
    let Some(t) = report.transactions.iter().find(|t| t.transactional_id == id && t.states.contains(&state)) else {
        return Vec::new();
    };
    let mut out: Vec<usize> = t.partitions.iter().filter_map(|p| st.leader_of(p)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A red cross on the last drawn row of each lost or failed message.
fn mark_lost(rows: &mut [Row], report: &Report) {
    for m in &report.messages {
        if !(m.outcome == "lost" || m.outcome.starts_with("failed")) {
            continue;
        }
        if let Some(r) = rows.iter_mut().rev().find(|r| r.msgs.contains(&m.value)) {
            r.mark = Mark::Lost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Lane, LaneKind, keep, mentioned};
    use crate::sim::trace::Step;

    fn step(i: u64, actor: &str) -> Step {
        Step {
            step: i + 1,
            time_ms: i,
            actor: actor.into(),
            action: String::new(),
            message: String::new(),
            result: String::new(),
        }
    }

    #[test]
    fn long_runs_keep_the_rows_the_tables_keep() {
        let steps: Vec<Step> = (0..1000).map(|i| step(i, if i == 600 { "fault" } else { "a" })).collect();
        let mut report = crate::Scenario::parse(
            "scenario \"s\"\ncluster { brokers 1 topic t { partitions 1 } }\nproducer p { send 1 to t }",
        )
        .expect("checks")
        .run(&crate::RunOptions::default())
        .report()
        .clone();
        report.steps = steps;
        assert_eq!(keep(&report, 0), vec![0..1000]);
        assert_eq!(keep(&report, 2000), vec![0..1000]);
        // The fault, a step before and three after it, then the start of the run.
        assert_eq!(keep(&report, 100), vec![0..95, 599..604]);
    }

    #[test]
    fn lane_names_match_whole_words() {
        let lane = |n: &str| Lane { name: n.into(), kind: LaneKind::Broker, detail: String::new() };
        let lanes = [lane("broker 1"), lane("broker 12"), lane("billing"), lane("group billing")];
        assert_eq!(mentioned("partition broker 12 from controller", &lanes), vec![1]);
        assert_eq!(mentioned("crash billing after processing", &lanes), vec![2]);
        assert_eq!(mentioned("group billing is cut", &lanes), vec![3]);
    }
}
