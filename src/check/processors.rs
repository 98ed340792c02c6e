//! `processor` blocks: a consumer half and a producer half configured with Kafka's own setting
//! names, guarantee presets, and every output record derived (statically) from every input
//! record the processor can read.

use super::clients::{CONSUMER_KEYS, PRODUCER_KEYS, consumer_config, producer_config};
use super::expr::{Val, eval};
use super::find_topic;
use super::settings::suggest;
use crate::ast::{self, CommitMode, Guarantee, Setting, Spanned, Value};
use crate::diag::Diagnostic;
use crate::model::{Derived, Model, MsgId, ProcessorConfig, limits};
use std::borrow::Cow;
use std::collections::BTreeMap;

const PROCESSOR_KEYS: &[&str] = &["seek.on.abort"];

pub fn processors(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let mut outputs_ast: Vec<Vec<(u32, &Spanned<ast::Output>)>> = Vec::new();
    for (pi, proc) in file.processors.iter().enumerate() {
        let name = &proc.name.node;
        // A processor is a producer and a consumer, so it counts against both client limits;
        // stopping here also keeps the name checks below from growing with the square of a huge
        // processor count.
        if model.producers.len() >= limits::MAX_CLIENTS || model.consumers.len() >= limits::MAX_CLIENTS {
            diags.push(Diagnostic::new("too many clients", proc.name.span).label(format!(
                "at most {} producers and {} consumers, processors counting as one of each",
                limits::MAX_CLIENTS,
                limits::MAX_CLIENTS
            )));
            break;
        }
        let taken = file.producers.iter().any(|p| &p.name.node == name)
            || file.consumers.iter().any(|c| &c.name.node == name)
            || file.processors[..pi].iter().any(|q| &q.name.node == name);
        if taken {
            diags.push(
                Diagnostic::new(format!("the name `{name}` is already taken by another client"), proc.name.span)
                    .label("producers, consumers and processors need distinct names"),
            );
            continue;
        }
        let guarantee = proc.guarantee.as_ref().map_or(Guarantee::AtLeastOnce, |g| g.node);
        let gspan = proc.guarantee.as_ref().map_or(proc.name.span, |g| g.span);
        let (mut psettings, mut csettings) = (Vec::new(), Vec::new());
        let mut seek_on_abort = guarantee == Guarantee::ExactlyOnce;
        for s in &proc.settings {
            let key = s.key.node.as_str();
            let (to_producer, to_consumer) = (PRODUCER_KEYS.contains(&key), CONSUMER_KEYS.contains(&key));
            if to_producer || to_consumer {
                // (A key of both clients, such as metadata.max.age.ms, configures both.)
                if to_producer {
                    psettings.push(s.clone());
                }
                if to_consumer {
                    csettings.push(s.clone());
                }
            } else if PROCESSOR_KEYS.contains(&key) {
                match s.value.node {
                    Value::Bool(b) => seek_on_abort = b,
                    _ => diags.push(
                        Diagnostic::new("invalid value for processor setting `seek.on.abort`", s.value.span)
                            .label("expected `true` or `false`"),
                    ),
                }
            } else {
                let all: Vec<&str> = PRODUCER_KEYS.iter().chain(CONSUMER_KEYS).chain(PROCESSOR_KEYS).copied().collect();
                let mut d = Diagnostic::new(format!("unknown processor setting `{key}`"), s.key.span)
                    .label("not a producer, consumer or processor setting");
                if let Some(k) = suggest(key, &all) {
                    d = d.note(format!("did you mean `{k}`?"));
                }
                diags.push(d);
            }
        }
        let preset = |key: &str, value: Value, list: &mut Vec<Setting>| {
            if !list.iter().any(|s| s.key.node == key) {
                list.push(Setting { key: Spanned::new(key.to_string(), gspan), value: Spanned::new(value, gspan) });
            }
        };
        // The consumer half never auto-commits: the processor commits (or sends its offsets to
        // the transaction) itself.
        preset("enable.auto.commit", Value::Bool(false), &mut csettings);
        // Kafka Streams overrides the consumer default: a new application reads from the start.
        preset("auto.offset.reset", Value::Word("earliest".into()), &mut csettings);
        let commit = match guarantee {
            Guarantee::AtMostOnce => CommitMode::BeforeProcessing,
            Guarantee::AtLeastOnce => CommitMode::AfterProcessing,
            Guarantee::ExactlyOnce => {
                // KIP-447: offsets go into the transaction; reads are read_committed.
                preset("transactional.id", Value::Str(name.clone()), &mut psettings);
                preset("isolation.level", Value::Word("read_committed".into()), &mut csettings);
                CommitMode::None
            }
        };
        let producer_ast = ast::Producer {
            name: proc.name.clone(),
            guarantee: Some(Spanned::new(guarantee, gspan)),
            settings: psettings,
            sends: Vec::new(),
            transactions: Vec::new(),
        };
        let consumer_ast = ast::Consumer {
            name: proc.name.clone(),
            guarantee: None,
            subscribes: proc.consumes.clone(),
            assigns: Vec::new(),
            commit: Some(Spanned::new(commit, gspan)),
            start_at: proc.start_at.clone(),
            settings: csettings,
        };
        if proc.consumes.is_empty() {
            diags.push(
                Diagnostic::new(format!("processor `{name}` consumes nothing"), proc.name.span)
                    .label("expected a `consume TOPIC group GROUP` line in this block"),
            );
            continue;
        }
        let mut next = u64::from(model.sent_messages);
        let Some(mut producer) = producer_config(&producer_ast, false, model, diags, &mut next) else { continue };
        let Some(mut consumer) = consumer_config(&consumer_ast, model, diags) else { continue };
        if consumer.assignors.cooperative() {
            let key = "partition.assignment.strategy";
            let span =
                consumer_ast.settings.iter().find(|f| f.key.node == key).map_or(proc.name.span, |f| f.value.span);
            diags.push(
                Diagnostic::new("a processor cannot use cooperative-sticky here", span)
                    .label("scn models cooperative rebalancing for plain consumers")
                    .note("use `range` or the default list for a processor's input"),
            );
        }
        let index = model.processors.len() as u32;
        producer.processor = Some(index);
        consumer.processor = Some(index);
        let mut outputs = Vec::new();
        let mut resolved = Vec::new();
        for o in &proc.outputs {
            if let Some(t) = find_topic(model, &o.node.topic, diags) {
                outputs.push(t);
                resolved.push((t, o));
            }
        }
        if proc.outputs.is_empty() {
            diags.push(
                Diagnostic::new(format!("processor `{name}` has no output"), proc.name.span)
                    .label("expected an `output TOPIC value EXPR` line in this block"),
            );
        }
        model.producers.push(producer);
        model.consumers.push(consumer);
        model.processors.push(ProcessorConfig {
            name: name.clone(),
            guarantee,
            consumer: (model.consumers.len() - 1) as u32,
            producer: (model.producers.len() - 1) as u32,
            outputs,
            seek_on_abort,
            outputs_of: Default::default(),
        });
        outputs_ast.push(resolved);
    }
    derive(model, &outputs_ast, diags);
}

/// Every output record of every processor, in processor order: a processor reads the plain
/// producers' records and the outputs of processors declared before it.
fn derive(model: &mut Model, outputs: &[Vec<(u32, &Spanned<ast::Output>)>], diags: &mut Vec<Diagnostic>) {
    let mut next: MsgId = model.sent_messages;
    model.total_messages = next;
    if outputs.is_empty() {
        return;
    }
    // The messages of each topic so far, so that each processor reads its inputs without
    // scanning every earlier message (which made check quadratic in the processor count).
    let mut by_topic: Vec<Vec<MsgId>> = vec![Vec::new(); model.topics.len()];
    for send in model.producers.iter().filter(|p| p.processor.is_none()).flat_map(|p| &p.sends) {
        by_topic[send.topic as usize].extend(send.first_msg..send.first_msg + send.count);
    }
    // (Ids ascend producer by producer and send by send, so each list is in id order.)
    // Instances of one application (same group, same outputs) split the input partitions
    // between them: each input is transformed once, into one shared set of outputs.
    let mut apps: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    let mut instance_of = Vec::with_capacity(outputs.len());
    for (pi, outs) in outputs.iter().enumerate() {
        let group = model.consumers[model.processors[pi].consumer as usize].group;
        let list = apps.entry(group).or_default();
        let same = list.iter().copied().find(|&pj| same_outputs(&outputs[pj], outs));
        if same.is_none() {
            list.push(pi);
        }
        instance_of.push(same);
    }
    if let Some(pi) = over_limit(model, outputs, &instance_of, &by_topic) {
        diags.push(too_many_messages(outputs[pi][0].1.node.topic.span));
        return;
    }
    let mut derived_bytes = 0usize;
    for (pi, outs) in outputs.iter().enumerate() {
        if let Some(pj) = instance_of[pi] {
            model.processors[pi].outputs_of = model.processors[pj].outputs_of.clone();
            let producer = model.processors[pi].producer as usize;
            model.producers[producer].first_msg = next;
            model.producers[producer].message_count = 0;
            continue;
        }
        let cfg = &model.processors[pi];
        let producer = cfg.producer as usize;
        let first = next;
        if outs.is_empty() {
            // No output (already a diagnostic, or every output topic unknown): nothing to derive.
            model.producers[producer].first_msg = first;
            model.producers[producer].message_count = 0;
            continue;
        }
        let mut inputs: Vec<MsgId> = model.consumers[cfg.consumer as usize]
            .topics
            .iter()
            .flat_map(|&t| by_topic[t as usize].iter().copied())
            .collect();
        inputs.sort_unstable();
        inputs.dedup();
        let mut outputs_of = crate::model::OutputsOf::default();
        let mut failed = vec![false; outs.len()];
        // (Each input's key and value rendered into the same two buffers, and an output's
        // key and value borrowed from them where the expression passes them on.)
        let (mut key_buf, mut value_buf) = (String::new(), String::new());
        for m in inputs {
            let origin = model.origin(m);
            let has_key = origin.key_into(&mut key_buf);
            origin.value_into(&mut value_buf);
            let key = has_key.then_some(key_buf.as_str());
            let value = value_buf.as_str();
            let start = next;
            for (k, (topic, o)) in outs.iter().enumerate() {
                if failed[k] {
                    continue;
                }
                if let Some(w) = &o.node.when {
                    match eval_or_report(w, key, value, "condition", &mut failed[k], diags) {
                        Some(Val::Bool(true)) => {}
                        Some(Val::Bool(false)) | None => continue,
                        Some(other) => {
                            failed[k] = true;
                            diags.push(
                                Diagnostic::new("`when` needs a condition", w.span)
                                    .label(format!("this gives {:?}, not true or false", other.text())),
                            );
                            continue;
                        }
                    }
                }
                let out_key = match &o.node.key {
                    Some(e) => eval_or_report(e, key, value, "key", &mut failed[k], diags).map(|v| Some(v.into_cow())),
                    None => Some(key.map(Cow::Borrowed)),
                };
                let out_value = match &o.node.value {
                    Some(e) => eval_or_report(e, key, value, "value", &mut failed[k], diags).map(Val::into_cow),
                    None => Some(Cow::Borrowed(value)),
                };
                let (Some(out_key), Some(out_value)) = (out_key, out_value) else { continue };
                if u64::from(next) >= limits::MAX_MESSAGES {
                    diags.push(too_many_messages(o.node.topic.span));
                    return;
                }
                derived_bytes += out_key.as_ref().map_or(0, |k| k.len()) + out_value.len();
                if derived_bytes > limits::MAX_DERIVED_BYTES {
                    diags.push(Diagnostic::new("processors' output records too large", o.node.topic.span).label(
                        format!("their keys and values hold at most {} MiB in all", limits::MAX_DERIVED_BYTES >> 20),
                    ));
                    return;
                }
                let d = Derived::new(pi as u32, m, *topic, out_key.as_deref(), &out_value, &mut model.derived_text);
                model.derived.push(d);
                by_topic[*topic as usize].push(next);
                next += 1;
            }
            if next > start {
                outputs_of.insert(m, (start, next - start));
            }
        }
        model.processors[pi].outputs_of = outputs_of;
        model.producers[producer].first_msg = first;
        model.producers[producer].message_count = next - first;
    }
    model.total_messages = next;
}

/// `e` evaluated for an input, or `None` with a diagnostic (and `failed` set: the output is not
/// evaluated for later inputs).
fn eval_or_report<'a>(
    e: &'a Spanned<ast::Expr>,
    key: Option<&'a str>,
    value: &'a str,
    what: &str,
    failed: &mut bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<Val<'a>> {
    match eval(e, key, value) {
        Ok(v) => Some(v),
        Err(err) => {
            *failed = true;
            diags.push(
                Diagnostic::new(format!("cannot evaluate this {what} for the input `{}`", clip(value)), err.span)
                    .label(err.message),
            );
            None
        }
    }
}

/// The first processor past which the output records certainly exceed the message limit,
/// counted before deriving any: an output without `when` makes one record per input (one
/// with `when` may make none). Refusing here keeps an absurd scenario from filling memory.
fn over_limit(
    model: &Model,
    outputs: &[Vec<(u32, &Spanned<ast::Output>)>],
    instance_of: &[Option<usize>],
    by_topic: &[Vec<MsgId>],
) -> Option<usize> {
    let mut count: Vec<u64> = by_topic.iter().map(|v| v.len() as u64).collect();
    let mut total = u64::from(model.sent_messages);
    for (pi, outs) in outputs.iter().enumerate() {
        if instance_of[pi].is_some() {
            continue;
        }
        let mut topics = model.consumers[model.processors[pi].consumer as usize].topics.clone();
        topics.sort_unstable();
        topics.dedup();
        let inputs = topics.iter().fold(0u64, |n, &t| n.saturating_add(count[t as usize]));
        for (topic, o) in outs {
            if o.node.when.is_none() {
                count[*topic as usize] = count[*topic as usize].saturating_add(inputs);
                total = total.saturating_add(inputs);
            }
        }
        if total > limits::MAX_MESSAGES {
            return Some(pi);
        }
    }
    None
}

/// A value short enough to quote in a message: its first 40 characters and `...`.
fn clip(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_string(),
    }
}

fn too_many_messages(span: crate::diag::Span) -> Diagnostic {
    Diagnostic::new("too many messages", span).label(format!(
        "a scenario holds at most {} messages in all, processors' output records included",
        limits::MAX_MESSAGES
    ))
}

fn same_outputs(a: &[(u32, &Spanned<ast::Output>)], b: &[(u32, &Spanned<ast::Output>)]) -> bool {
    let same = |x: &Option<Spanned<ast::Expr>>, y: &Option<Spanned<ast::Expr>>| match (x, y) {
        (Some(x), Some(y)) => same_expr(&x.node, &y.node),
        (None, None) => true,
        _ => false,
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|((t1, o1), (t2, o2))| {
            t1 == t2
                && same(&o1.node.key, &o2.node.key)
                && same(&o1.node.value, &o2.node.value)
                && same(&o1.node.when, &o2.node.when)
        })
}

/// Whether two expressions say the same thing (wherever they were written).
fn same_expr(a: &ast::Expr, b: &ast::Expr) -> bool {
    use ast::Expr::*;
    match (a, b) {
        (Str(x), Str(y)) => x == y,
        (Int(x), Int(y)) => x == y,
        (Key, Key) | (Value, Value) => true,
        (Not(x), Not(y)) => same_expr(&x.node, &y.node),
        (Call(f, xs), Call(g, ys)) => {
            f == g && xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_expr(&x.node, &y.node))
        }
        (Binary(o, x1, x2), Binary(p, y1, y2)) => {
            o == p && same_expr(&x1.node, &y1.node) && same_expr(&x2.node, &y2.node)
        }
        _ => false,
    }
}
