//! The `track` and `expect` blocks: status-tracker variables and end-of-run expectations.

use super::faults::message;
use super::{find_partition, unknown};
use crate::ast::{self, CountKind, Expect, OutcomeKind, PartitionRef, Spanned};
use crate::diag::Diagnostic;
use crate::model::{ExpectCheck, ExpectSpec, Model, TrackVar, Who};

const PARTITION_VARS: &[&str] =
    &["high_watermark", "last_stable_offset", "log_end_offset", "log_start_offset", "leader", "isr"];
const CONSUMER_VARS: &[&str] = &["position", "committed", "state"];
const PRODUCER_VARS: &[&str] = &["retries", "acked"];
/// How many variables the tracker picks by itself when the file has no `track` line.
const DEFAULT_TRACKED: usize = 8;

pub fn track(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let Some(vars) = &file.track else {
        model.track = default_track(model);
        return;
    };
    for v in vars {
        if let Some(t) = track_var(model, v, diags) {
            if !model.track.contains(&t) {
                model.track.push(t);
            }
        }
    }
}

fn default_track(model: &Model) -> Vec<TrackVar> {
    let mut out = Vec::new();
    if model.total_messages <= 3 {
        out.extend((0..model.total_messages).map(TrackVar::MessageState));
    }
    out.extend((0..model.partitions.len() as u32).map(TrackVar::HighWatermark));
    for c in 0..model.consumers.len() as u32 {
        out.push(TrackVar::Position(c));
        out.push(TrackVar::Committed(c));
    }
    out.extend((0..model.producers.len() as u32).map(TrackVar::Retries));
    out.truncate(DEFAULT_TRACKED);
    out
}

fn track_var(model: &Model, v: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<TrackVar> {
    let text = v.node.as_str();
    if let Some((who, var)) = text.rsplit_once('.') {
        if PARTITION_VARS.contains(&var) {
            let Some((topic, n)) = who.rsplit_once('-').and_then(|(t, n)| Some((t, n.parse::<u64>().ok()?))) else {
                diags.push(
                    Diagnostic::new(format!("`{var}` belongs to a partition"), v.span)
                        .label(format!("expected a partition such as `orders-0.{var}`")),
                );
                return None;
            };
            let r = Spanned::new(PartitionRef { topic: topic.to_string(), partition: n }, v.span);
            let p = find_partition(model, &r, diags)?;
            return Some(match var {
                "high_watermark" => TrackVar::HighWatermark(p),
                "log_end_offset" => TrackVar::LogEndOffset(p),
                "log_start_offset" => TrackVar::LogStartOffset(p),
                "last_stable_offset" => TrackVar::LastStableOffset(p),
                "leader" => TrackVar::Leader(p),
                _ => TrackVar::Isr(p),
            });
        }
        if CONSUMER_VARS.contains(&var) {
            let c = consumer(model, &Spanned::new(who.to_string(), v.span), diags)?;
            return Some(match var {
                "position" => TrackVar::Position(c),
                "committed" => TrackVar::Committed(c),
                _ => TrackVar::ConsumerState(c),
            });
        }
        if PRODUCER_VARS.contains(&var) {
            let Some(p) = model.producers.iter().position(|p| p.name == who) else {
                let known: Vec<&str> = model.producers.iter().map(|p| p.name.as_str()).collect();
                diags.push(unknown("producer", &Spanned::new(who.to_string(), v.span), &known));
                return None;
            };
            return Some(if var == "retries" { TrackVar::Retries(p as u32) } else { TrackVar::Acked(p as u32) });
        }
        if var == "state" {
            let m = message(model, &Spanned::new(ast::MessageRef(who.to_string(), None), v.span), diags)?;
            return Some(TrackVar::MessageState(m));
        }
    }
    let found = super::faults::find_messages(model, text, 2);
    if found.len() == 1 {
        return Some(TrackVar::MessageState(found[0]));
    }
    diags.push(
        Diagnostic::new(format!("cannot track `{text}`"), v.span)
            .label("expected a message value or NAME.VARIABLE")
            .note(format!(
                "partition variables: {}; consumer: {}; producer: {}",
                PARTITION_VARS.join(", "),
                CONSUMER_VARS.join(", "),
                PRODUCER_VARS.join(", ")
            )),
    );
    None
}

fn consumer(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    super::faults::consumer_named(model, name, diags)
}

/// A consumer by name, else a group by name.
fn who(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<Who> {
    if let Some(i) = model.consumers.iter().position(|c| c.name == name.node) {
        return Some(Who::Consumer(i as u32));
    }
    if let Some(i) = model.groups.iter().position(|g| g.name == name.node) {
        return Some(Who::Group(i as u32));
    }
    let known: Vec<&str> =
        model.consumers.iter().map(|c| c.name.as_str()).chain(model.groups.iter().map(|g| g.name.as_str())).collect();
    diags.push(unknown("consumer or group", name, &known));
    None
}

pub fn expects(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    for e in &file.expects {
        let (text, check) = match &e.node {
            Expect::Count { kind, value, scope } => {
                let scope_who = scope.as_ref().map(|s| who(model, s, diags));
                if let Some(None) = scope_who {
                    continue;
                }
                let scope_who = scope_who.flatten();
                let word = match kind {
                    CountKind::Lost => "lost",
                    CountKind::Duplicates => "duplicates",
                    CountKind::Delivered => "delivered",
                    CountKind::LostToRetention => "lost to retention",
                };
                let text = match scope {
                    Some(s) => format!("{word} {value} for {}", s.node),
                    None => format!("{word} {value}"),
                };
                let value = *value;
                let check = match kind {
                    CountKind::Lost => ExpectCheck::Lost { value, scope: scope_who },
                    CountKind::Duplicates => ExpectCheck::Duplicates { value, scope: scope_who },
                    CountKind::Delivered => ExpectCheck::Delivered { value, scope: scope_who },
                    CountKind::LostToRetention => ExpectCheck::LostToRetention { value, scope: scope_who },
                };
                (text, check)
            }
            Expect::Message { message: m, outcome } => {
                let Some(msg) = message(model, m, diags) else {
                    continue;
                };
                let word = match outcome {
                    OutcomeKind::Lost => "lost",
                    OutcomeKind::Delivered => "delivered",
                    OutcomeKind::Duplicated => "duplicated",
                    OutcomeKind::Failed => "failed",
                    OutcomeKind::Aborted => "aborted",
                };
                (format!("message {} {word}", m.node.0), ExpectCheck::Message { msg, outcome: *outcome })
            }
            Expect::Log { partition, values } => {
                let Some(p) = find_partition(model, partition, diags) else {
                    continue;
                };
                let values: Vec<String> = values.iter().map(|v| v.node.0.clone()).collect();
                let text = format!("log {} [{}]", model.partition_name(p), values.join(", "));
                (text, ExpectCheck::Log { partition: p, values })
            }
            Expect::ProcessedList { who: w, values } => {
                let Some(w2) = who(model, w, diags) else {
                    continue;
                };
                let values: Vec<String> = values.iter().map(|v| v.node.0.clone()).collect();
                (
                    format!("{} processed [{}]", w.node, values.join(", ")),
                    ExpectCheck::ProcessedList { who: w2, values },
                )
            }
            Expect::ProcessedCount { who: w, count } => {
                let Some(w2) = who(model, w, diags) else {
                    continue;
                };
                (format!("{} processed {count}", w.node), ExpectCheck::ProcessedCount { who: w2, count: *count })
            }
        };
        model.expects.push(ExpectSpec { text, span: e.span, check });
    }
}
