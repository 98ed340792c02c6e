//! Producers and consumers: Kafka 3.x client defaults, guarantee presets, and the config
//! contradictions Kafka itself rejects (`ProducerConfig` / `ConsumerConfig` validation).

use super::settings::{Settings, word};
use super::{find_partition, find_topic};
use crate::ast::{self, CommitMode, Guarantee, Spanned, Value};
use crate::diag::{Diagnostic, Span};
use crate::model::{
    Acks, Assignors, ConsumerConfig, GroupConfig, GroupProtocol, Model, OffsetReset, PartitionIdx, ProducerConfig,
    SendSpec, Template, TxnSpec, limits,
};

pub const PRODUCER_KEYS: &[&str] = &[
    "acks",
    "retries",
    "enable.idempotence",
    "max.in.flight.requests.per.connection",
    "delivery.timeout.ms",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "batch.size",
    "linger.ms",
    "transactional.id",
    "transaction.timeout.ms",
    "metadata.max.age.ms",
];

pub const CONSUMER_KEYS: &[&str] = &[
    "max.poll.records",
    "auto.offset.reset",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "fetch.max.wait.ms",
    "isolation.level",
    "processing.time.ms",
    "metadata.max.age.ms",
    "group.instance.id",
    "partition.assignment.strategy",
    "group.protocol",
    "group.remote.assignor",
];

const INT_MAX: u64 = i32::MAX as u64;

pub fn producers(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let mut next_msg: u64 = 0;
    for p in &file.producers {
        if let Some(prev) =
            file.producers.iter().take_while(|q| !std::ptr::eq(*q, p)).find(|q| q.name.node == p.name.node)
        {
            diags.push(
                Diagnostic::new(format!("producer `{}` is declared twice", p.name.node), p.name.span)
                    .label("second declaration")
                    .related(prev.name.span, "first declared here"),
            );
            continue;
        }
        if model.producers.len() >= limits::MAX_CLIENTS {
            diags.push(
                Diagnostic::new("too many producers", p.name.span).label(format!("at most {}", limits::MAX_CLIENTS)),
            );
            break;
        }
        if let Some(cfg) = producer_config(p, file.producers.len() == 1, model, diags, &mut next_msg) {
            model.producers.push(cfg);
        }
    }
    model.total_messages = next_msg as u32;
}

/// One producer's resolved config; its messages are numbered from `*next_msg`.
pub(super) fn producer_config(
    p: &ast::Producer,
    lone: bool,
    model: &Model,
    diags: &mut Vec<Diagnostic>,
    next_msg_ref: &mut u64,
) -> Option<ProducerConfig> {
    let mut next_msg = *next_msg_ref;
    let mut s = Settings::new("producer", &p.settings, PRODUCER_KEYS);
    if let Some(g) = &p.guarantee {
        // Presets as the seeds describe them; explicit settings win.
        match g.node {
            Guarantee::AtMostOnce => {
                s.preset("acks", word("1"), g.span);
                s.preset("retries", Value::Int(0), g.span);
                s.preset("enable.idempotence", Value::Bool(false), g.span);
            }
            Guarantee::AtLeastOnce => {
                s.preset("acks", word("all"), g.span);
                s.preset("retries", Value::Int(INT_MAX as i64), g.span);
                s.preset("enable.idempotence", Value::Bool(false), g.span);
            }
            Guarantee::ExactlyOnce => {
                // Without transactions the producer's share of exactly-once is idempotence:
                // exactly-once per partition for the life of one producer id.
                s.preset("acks", word("all"), g.span);
                s.preset("enable.idempotence", Value::Bool(true), g.span);
            }
        }
    }
    let transactional_id = match s.get("transactional.id").map(|f| f.value.clone()) {
        Some(Value::Str(id) | Value::Word(id)) if !id.is_empty() => Some(id),
        Some(_) => {
            let span = s.span_of("transactional.id").unwrap_or(p.name.span);
            s.diags.push(
                Diagnostic::new("invalid value for producer setting `transactional.id`", span)
                    .label("expected a non-empty name or string"),
            );
            None
        }
        None => None,
    };
    // The broker's transaction.max.timeout.ms (900000) bounds it (InvalidTxnTimeoutException).
    let transaction_timeout_ms = s.number("transaction.timeout.ms", 60_000, 1, 900_000);
    let acks = match s.choice("acks", "all", &["0", "1", "all", "-1"]) {
        "0" => Acks::Zero,
        "1" => Acks::One,
        _ => Acks::All,
    };
    let retries = s.number("retries", INT_MAX, 0, INT_MAX) as u32;
    let max_in_flight = s.number("max.in.flight.requests.per.connection", 5, 1, INT_MAX) as u32;
    let request_timeout_ms = s.number("request.timeout.ms", 30_000, 0, INT_MAX);
    let metadata_max_age_ms = s.number("metadata.max.age.ms", 300_000, 0, INT_MAX);
    // KIP-1030 (4.0): the default went from 0 to 5 (ProducerConfig, `LINGER_MS_CONFIG`).
    let default_linger = if model.cluster.kafka_version.at_least(4, 0) { 5 } else { 0 };
    let linger_ms = s.number("linger.ms", default_linger, 0, INT_MAX);
    let mut delivery_timeout_ms = s.number("delivery.timeout.ms", 120_000, 0, INT_MAX);
    if delivery_timeout_ms < linger_ms + request_timeout_ms {
        if s.configured("delivery.timeout.ms") {
            // ProducerConfig: "delivery.timeout.ms should be equal to or larger than
            // linger.ms + request.timeout.ms".
            let span = s.span_of("delivery.timeout.ms").unwrap_or(p.name.span);
            s.diags.push(
                Diagnostic::new("delivery.timeout.ms is shorter than linger.ms + request.timeout.ms", span)
                    .label(format!("expected at least {} (ConfigException)", linger_ms + request_timeout_ms)),
            );
        } else {
            delivery_timeout_ms = linger_ms + request_timeout_ms;
        }
    }
    // Kafka 3.x: enable.idempotence defaults to true; an explicit `true` that conflicts with
    // acks / retries / max.in.flight is a ConfigException, an implicit one is turned off.
    let explicit = s.configured("enable.idempotence");
    let mut idempotence = s.boolean("enable.idempotence", true);
    if idempotence {
        let conflicts = [
            (acks != Acks::All, "acks", "Must set acks to all in order to use the idempotent producer"),
            (retries == 0, "retries", "Must set retries to non-zero when using the idempotent producer"),
            (
                max_in_flight > 5,
                "max.in.flight.requests.per.connection",
                "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer",
            ),
        ];
        for (bad, key, msg) in conflicts {
            if !bad {
                continue;
            }
            if explicit {
                let span = s.span_of(key).unwrap_or(p.name.span);
                let idem_span = s.span_of("enable.idempotence").unwrap_or(span);
                let mut d = Diagnostic::new(format!("`{key}` conflicts with `enable.idempotence true`"), span)
                    .label(format!("{msg} (ConfigException)"))
                    .related(idem_span, "idempotence enabled here");
                if let Some(n) = s.origin_note("enable.idempotence").or_else(|| s.origin_note(key)) {
                    d = d.note(n);
                }
                s.diags.push(d);
            }
            idempotence = false;
        }
    }
    if let (Some(_), false) = (&transactional_id, idempotence) {
        // ProducerConfig: "Cannot set a transactional.id without also enabling idempotence."
        let span = s.span_of("transactional.id").unwrap_or(p.name.span);
        s.diags.push(
                Diagnostic::new("a transactional.id needs idempotence", span)
                    .label("Cannot set a transactional.id without also enabling idempotence (ConfigException)")
                    .note("idempotence is off because of enable.idempotence false, acks other than all, retries 0 or more than 5 in flight"),
            );
    }
    let batch_size = s.number("batch.size", 16_384, 0, INT_MAX);
    let retry_backoff_ms = s.number("retry.backoff.ms", 100, 0, INT_MAX);
    let retry_backoff_max_ms = s.number("retry.backoff.max.ms", 1_000, 0, INT_MAX);
    diags.append(&mut s.diags);

    let first_msg = next_msg;
    let mut sends = Vec::new();
    // Which transaction block each send statement sits in: one pass over the blocks, so a
    // producer with 20,000 blocks checks in linear time.
    let mut txn_of = vec![None; p.sends.len()];
    for (t, block) in p.transactions.iter().enumerate() {
        let range = block.node.first_send..block.node.first_send + block.node.sends;
        for slot in txn_of.get_mut(range).into_iter().flatten() {
            *slot = Some(t as u32);
        }
    }
    // Each block's message range, filled in as its sends take message ids.
    let mut txn_msgs: Vec<Option<(u32, u32)>> = vec![None; p.transactions.len()];
    if transactional_id.is_none() {
        if let Some(t) = p.transactions.first() {
            diags.push(
                Diagnostic::new("a transaction needs a transactional.id", t.span)
                    .label("this producer has no `transactional.id`")
                    .note("add e.g. `transactional.id \"shop-1\"` to the producer"),
            );
        }
    }
    let mut number: u64 = 1;
    let mut clock = 0u64;
    let mut declared = 0u64;
    for (si, send) in p.sends.iter().enumerate() {
        let sn = &send.node;
        let txn = txn_of[si];
        if transactional_id.is_some() && txn.is_none() {
            // TransactionManager: a send outside a transaction is an IllegalStateException.
            diags.push(
                Diagnostic::new("a transactional producer sends inside transactions", send.span)
                    .label("wrap this in `transaction { ... } commit`")
                    .note("Kafka rejects a send outside beginTransaction/commitTransaction (IllegalStateException)"),
            );
        }
        let Some(topic) = find_topic(model, &sn.topic, diags) else {
            continue;
        };
        let count = sn.count.as_ref().map_or(1, |c| c.node);
        if count == 0 {
            let span = sn.count.as_ref().map_or(send.span, |c| c.span);
            diags.push(Diagnostic::new("a send of zero messages", span).label("expected at least 1"));
            continue;
        }
        declared = declared.saturating_add(count);
        // Checked: a count near u64::MAX must not wrap past the limit. A refused send takes no
        // message ids, so no later stage meets ids that have no send statement.
        if next_msg.checked_add(count).is_none_or(|end| end > limits::MAX_MESSAGES) {
            let span = sn.count.as_ref().map_or(send.span, |c| c.span);
            diags.push(Diagnostic::new("too many messages", span).label(format!(
                "a scenario sends at most {} messages in all; this send brings the total to {}",
                limits::MAX_MESSAGES,
                u128::from(next_msg) + u128::from(count)
            )));
            continue;
        }
        let parts = model.topics[topic as usize].partitions;
        let partition = match &sn.partition {
            Some(pt) if pt.node < u64::from(parts) => Some(pt.node as u32),
            Some(pt) => {
                diags.push(
                    Diagnostic::new(format!("topic `{}` has no partition {}", sn.topic.node, pt.node), pt.span)
                        .label(format!("partitions are 0 to {}", parts - 1)),
                );
                None
            }
            None => None,
        };
        let every_ms = sn.every.as_ref().map_or(0, |e| e.node);
        if let Some(at) = &sn.at {
            clock = at.node;
        }
        let end = clock.saturating_add(every_ms.saturating_mul(count - 1));
        if end > limits::MAX_DURATION_MS {
            diags.push(
                Diagnostic::new("sends run past the longest allowed run", send.span).label(format!(
                    "the last send would happen at {end}ms; the limit is {}ms",
                    limits::MAX_DURATION_MS
                )),
            );
        }
        let value = match &sn.value {
            Some(v) => template(v, diags),
            None if lone => Template::parse("message{n}"),
            None => Template::parse(&format!("{}-{{n}}", p.name.node)),
        };
        if let Some(t) = txn {
            let range = txn_msgs[t as usize].get_or_insert((next_msg as u32, next_msg as u32));
            range.1 = (next_msg + count) as u32;
        }
        sends.push(SendSpec {
            topic,
            partition,
            key: sn.key.as_ref().map(|k| template(k, diags)),
            value,
            count: count as u32,
            at_ms: clock,
            every_ms,
            first_msg: next_msg as u32,
            first_number: number as u32,
            txn,
        });
        clock = end;
        next_msg += count;
        number += count;
    }
    let transactions = p
        .transactions
        .iter()
        .enumerate()
        .map(|(t, block)| {
            let (first, end) = txn_msgs[t].unwrap_or((next_msg as u32, next_msg as u32));
            TxnSpec { first_msg: first, end_msg: end, commit: block.node.commit }
        })
        .collect();
    *next_msg_ref = next_msg;
    Some(ProducerConfig {
        name: p.name.node.clone(),
        transactional_id,
        transaction_timeout_ms,
        transactions,
        guarantee: p.guarantee.as_ref().map(|g| g.node),
        acks,
        retries,
        enable_idempotence: idempotence,
        max_in_flight,
        delivery_timeout_ms,
        request_timeout_ms,
        linger_ms,
        metadata_max_age_ms,
        retry_backoff_ms,
        retry_backoff_max_ms,
        batch_size,
        sends,
        first_msg: first_msg as u32,
        message_count: (next_msg - first_msg) as u32,
        declared_messages: declared,
        processor: None,
    })
}

/// A send's key or value template, with at most `MAX_PLACEHOLDERS` placeholders.
fn template(text: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Template {
    let t = Template::parse(&text.node);
    if t.placeholders() > limits::MAX_PLACEHOLDERS {
        diags.push(Diagnostic::new("too many placeholders in this string", text.span).label(format!(
            "expected at most {} `{{i}}` or `{{n}}`, found {}",
            limits::MAX_PLACEHOLDERS,
            t.placeholders()
        )));
    }
    t
}

pub fn consumers(file: &ast::File, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    for c in &file.consumers {
        let dup = file.consumers.iter().take_while(|q| !std::ptr::eq(*q, c)).any(|q| q.name.node == c.name.node)
            || file.producers.iter().any(|p| p.name.node == c.name.node);
        if dup {
            diags.push(
                Diagnostic::new(format!("the name `{}` is already taken by another client", c.name.node), c.name.span)
                    .label("producers and consumers need distinct names"),
            );
            continue;
        }
        if model.consumers.len() >= limits::MAX_CLIENTS {
            diags.push(
                Diagnostic::new("too many consumers", c.name.span).label(format!("at most {}", limits::MAX_CLIENTS)),
            );
            break;
        }
        if let Some(cfg) = consumer_config(c, model, diags) {
            assignors_fit_group(c, &cfg, model, diags);
            model.consumers.push(cfg);
        }
    }
}

/// Whether a member's `partition.assignment.strategy` fits its group's earlier members: the
/// coordinator refuses a JoinGroup that shares no assignor with the group
/// (INCONSISTENT_GROUP_PROTOCOL, `GroupMetadata.supportsProtocols`), and scn's
/// cooperative-sticky is `AbstractStickyAssignor`'s constrained assignment, for members that
/// all subscribe to the same topics.
fn assignors_fit_group(c: &ast::Consumer, cfg: &ConsumerConfig, model: &Model, diags: &mut Vec<Diagnostic>) {
    if cfg.assigned.is_some() || !model.groups[cfg.group as usize].group_id {
        return;
    }
    let span =
        c.settings.iter().find(|f| f.key.node == "partition.assignment.strategy").map_or(c.name.span, |f| f.value.span);
    let group = &model.groups[cfg.group as usize].name;
    for other in model.consumers.iter().filter(|o| o.group == cfg.group && o.assigned.is_none()) {
        use Assignors::{CooperativeSticky, Range};
        if other.group_protocol.modern() != cfg.group_protocol.modern() {
            // (Kafka 4.0 lets classic members join a consumer group during an upgrade,
            // KIP-848's online migration; scn does not model mixed groups.)
            diags.push(
                Diagnostic::new(
                    format!("group `{group}` mixes `group.protocol` classic and consumer"),
                    span_of_protocol(c),
                )
                .label(format!("`{}` and `{}` use different group protocols", other.name, cfg.name))
                .note("scn models a group whose members all use one protocol"),
            );
            return;
        }
        if cfg.group_protocol.modern() {
            if other.topics != cfg.topics {
                diags.push(
                    Diagnostic::new(format!("group `{group}` has members subscribed to different topics"), c.name.span)
                        .label(format!("`{}` and `{}` subscribe to different topics", other.name, cfg.name))
                        .note("scn models the server-side assignors for members that all subscribe to the same topics"),
                );
                return;
            }
            if other.group_protocol != cfg.group_protocol {
                diags.push(
                    Diagnostic::new(format!("group `{group}` asks for two server-side assignors"), span_of_protocol(c))
                        .label(format!("`{}` and `{}` set different `group.remote.assignor`s", other.name, cfg.name))
                        .note("the coordinator uses the one most members ask for; scn needs them to agree"),
                );
                return;
            }
            continue;
        }
        if matches!((cfg.assignors, other.assignors), (Range, CooperativeSticky) | (CooperativeSticky, Range)) {
            diags.push(
                Diagnostic::new(format!("`{}` and `{}` share no assignor in group `{group}`", other.name, cfg.name), span)
                    .label("one lists only `range`, the other only `cooperative-sticky`")
                    .note("the coordinator refuses the JoinGroup (INCONSISTENT_GROUP_PROTOCOL); list both, as Kafka's default \"range,cooperative-sticky\" does"),
            );
            return;
        }
        let sticky = cfg.assignors == CooperativeSticky || other.assignors == CooperativeSticky;
        if sticky && other.topics != cfg.topics {
            diags.push(
                Diagnostic::new(
                    format!("group `{group}` uses cooperative-sticky with members subscribed to different topics"),
                    span,
                )
                .label(format!("`{}` and `{}` subscribe to different topics", other.name, cfg.name))
                .note("scn models the sticky assignor for members that all subscribe to the same topics"),
            );
            return;
        }
    }
}

/// Where a consumer sets its group protocol (or its name).
fn span_of_protocol(c: &ast::Consumer) -> Span {
    c.settings
        .iter()
        .find(|f| f.key.node == "group.protocol" || f.key.node == "group.remote.assignor")
        .map_or(c.name.span, |f| f.value.span)
}

/// One consumer's resolved config; registers it with its group.
pub(super) fn consumer_config(
    c: &ast::Consumer,
    model: &mut Model,
    diags: &mut Vec<Diagnostic>,
) -> Option<ConsumerConfig> {
    let mut s = Settings::new("consumer", &c.settings, CONSUMER_KEYS);
    let mut commit = c.commit.as_ref().map(|m| m.node);
    if let Some(g) = &c.guarantee {
        match g.node {
                Guarantee::AtMostOnce => {
                    s.preset("enable.auto.commit", Value::Bool(false), g.span);
                    commit.get_or_insert(CommitMode::BeforeProcessing);
                }
                Guarantee::AtLeastOnce => {
                    s.preset("enable.auto.commit", Value::Bool(false), g.span);
                    commit.get_or_insert(CommitMode::AfterProcessing);
                }
                Guarantee::ExactlyOnce => diags.push(
                    Diagnostic::new("a plain consumer cannot be exactly-once", g.span)
                        .label("expected `at-most-once` or `at-least-once`")
                        .note("processing happens outside Kafka, so a crash between processing and commit repeats or skips it; exactly-once needs a transactional consume-transform-produce processor"),
                ),
            }
    }
    let source = source(c, model, diags)?;
    let topics = source.topics.clone();
    let max_poll_records = s.number("max.poll.records", 500, 1, INT_MAX) as u32;
    let auto_offset_reset = match s.choice("auto.offset.reset", "latest", &["earliest", "latest", "none"]) {
        "earliest" => OffsetReset::Earliest,
        "none" => OffsetReset::None,
        _ => OffsetReset::Latest,
    };
    // Without a group.id, enable.auto.commit defaults to false and cannot be true
    // (ConsumerConfig: InvalidConfigurationException).
    let enable_auto_commit = s.boolean("enable.auto.commit", source.group.is_some());
    let auto_commit_interval_ms = s.number("auto.commit.interval.ms", 5_000, 0, INT_MAX);
    // Brokers accept group.min.session.timeout.ms (6000) to group.max.session.timeout.ms
    // (1800000); outside that JoinGroup fails with InvalidSessionTimeout.
    let session_timeout_ms = s.number("session.timeout.ms", 45_000, 6_000, 1_800_000);
    let fetch_max_wait_ms = s.number("fetch.max.wait.ms", 500, 0, INT_MAX);
    let metadata_max_age_ms = s.number("metadata.max.age.ms", 300_000, 0, INT_MAX);
    let heartbeat_interval_ms = s.number("heartbeat.interval.ms", 3_000, 1, INT_MAX);
    let max_poll_interval_ms = s.number("max.poll.interval.ms", 300_000, 1, INT_MAX);
    if heartbeat_interval_ms >= session_timeout_ms {
        // ConsumerConfig / JoinGroup: the heartbeat must be shorter than the session.
        let span = s.span_of("heartbeat.interval.ms").or(s.span_of("session.timeout.ms")).unwrap_or(c.name.span);
        s.diags.push(
            Diagnostic::new("heartbeat.interval.ms must be lower than session.timeout.ms", span)
                .label(format!("expected below {session_timeout_ms}")),
        );
    }
    // KIP-345 (2.3+): a static member keeps its place across restarts within session.timeout.ms.
    let group_instance_id = match s.get("group.instance.id").map(|f| f.value.clone()) {
        Some(Value::Str(id) | Value::Word(id))
            if !id.is_empty() && source.group.is_some() && source.assigned.is_none() =>
        {
            Some(id)
        }
        Some(v) => {
            let span = s.span_of("group.instance.id").unwrap_or(c.name.span);
            let label = match v {
                Value::Str(_) | Value::Word(_) if source.group.is_none() || source.assigned.is_some() => {
                    "a static member needs a group it subscribes through"
                }
                _ => "expected a non-empty name or string",
            };
            s.diags.push(Diagnostic::new("invalid value for consumer setting `group.instance.id`", span).label(label));
            None
        }
        None => None,
    };
    // ConsumerConfig's default list in 3.x: [RangeAssignor, CooperativeStickyAssignor].
    let assignors = match s.get("partition.assignment.strategy").map(|f| (f.value.clone(), f.span)) {
        None => Assignors::RangeCooperativeSticky,
        Some((value, span)) => {
            let list: String = match value {
                Value::Str(v) | Value::Word(v) => v.chars().filter(|ch| !ch.is_whitespace()).collect(),
                _ => String::new(),
            };
            match list.as_str() {
                "range" => Assignors::Range,
                "cooperative-sticky" => Assignors::CooperativeSticky,
                "range,cooperative-sticky" => Assignors::RangeCooperativeSticky,
                _ => {
                    let label = "expected `range`, `cooperative-sticky` or \"range,cooperative-sticky\"";
                    let what = "invalid value for consumer setting `partition.assignment.strategy`";
                    s.diags.push(Diagnostic::new(what, span).label(label));
                    Assignors::RangeCooperativeSticky
                }
            }
        }
    };
    let group_protocol = group_protocol(&mut s, &source, model, c);
    let (session_timeout_ms, heartbeat_interval_ms) = match group_protocol {
        GroupProtocol::Classic => (session_timeout_ms, heartbeat_interval_ms),
        GroupProtocol::Consumer { .. } => {
            (model.cluster.group_consumer_session_timeout_ms, model.cluster.group_consumer_heartbeat_interval_ms)
        }
    };
    let read_committed =
        s.choice("isolation.level", "read_uncommitted", &["read_uncommitted", "read_committed"]) == "read_committed";
    let processing_time_ms = s.number("processing.time.ms", 1, 0, 3_600_000);
    let commit = commit.unwrap_or(CommitMode::None);
    if source.group.is_none() {
        // Commits go to a group's coordinator: without a group.id there is nowhere to commit.
        if enable_auto_commit {
            let span = s.span_of("enable.auto.commit").unwrap_or(c.name.span);
            s.diags.push(
                Diagnostic::new("enable.auto.commit needs a group.id", span)
                    .label("this consumer assigns its partitions without a group")
                    .note("add `group NAME` to the `assign` line, or set `enable.auto.commit false`"),
            );
        }
        if commit != CommitMode::None {
            let span =
                c.commit.as_ref().map(|m| m.span).or(c.guarantee.as_ref().map(|g| g.span)).unwrap_or(c.name.span);
            s.diags.push(
                Diagnostic::new("commits need a group.id", span)
                    .label("this consumer assigns its partitions without a group")
                    .note("add `group NAME` to the `assign` line (offsets are committed to that group)"),
            );
        }
    }
    diags.append(&mut s.diags);
    let manual = source.assigned.is_some();
    let group = match &source.group {
        Some(name) => match model.groups.iter().position(|g| g.group_id && g.name == name.node) {
            Some(i) => {
                if model.groups[i].manual != manual {
                    // An OffsetCommit without a generation is refused by a group with members.
                    diags.push(
                        Diagnostic::new(format!("group `{}` mixes `subscribe` and `assign`", name.node), name.span)
                            .label("a consumer that assigns its partitions commits to a group without members")
                            .note("give the assigning consumer a group of its own"),
                    );
                }
                i as u32
            }
            None => {
                model.groups.push(GroupConfig::new(&name.node, true, manual));
                (model.groups.len() - 1) as u32
            }
        },
        None => {
            model.groups.push(GroupConfig::new(&c.name.node, false, manual));
            (model.groups.len() - 1) as u32
        }
    };
    let idx = model.consumers.len() as u32;
    let g = &mut model.groups[group as usize];
    g.members.push(idx);
    for p in source.assigned.iter().flatten() {
        if !g.partitions.contains(p) {
            g.partitions.push(*p);
        }
    }
    for t in &topics {
        if !g.topics.contains(t) {
            g.topics.push(*t);
        }
    }
    Some(ConsumerConfig {
        name: c.name.node.clone(),
        guarantee: c.guarantee.as_ref().map(|g| g.node),
        group,
        topics,
        max_poll_records,
        auto_offset_reset,
        enable_auto_commit,
        auto_commit_interval_ms,
        commit,
        processing_time_ms,
        session_timeout_ms,
        group_instance_id,
        assignors,
        group_protocol,
        heartbeat_interval_ms,
        max_poll_interval_ms,
        fetch_max_wait_ms,
        metadata_max_age_ms,
        start_at_ms: c.start_at.as_ref().map_or(0, |s| s.node),
        read_committed,
        processor: None,
        assigned: source.assigned,
    })
}

/// `group.protocol` and `group.remote.assignor`. KIP-848's `consumer` protocol is modelled
/// as Kafka 4.0 runs it (GA there; early access in 3.7, preview in 3.8 and 3.9), for members
/// that subscribe; the client settings it does not use are refused rather than ignored (the
/// broker's `group.consumer.session.timeout.ms` and `group.consumer.heartbeat.interval.ms`
/// decide, and the coordinator assigns), and so is static membership, which scn models for
/// the classic protocol only.
fn group_protocol(s: &mut Settings, source: &Source, model: &Model, c: &ast::Consumer) -> GroupProtocol {
    let modern = s.choice("group.protocol", "classic", &["classic", "consumer"]) == "consumer";
    let range = s.choice("group.remote.assignor", "uniform", &["uniform", "range"]) == "range";
    let span = s.span_of("group.protocol").unwrap_or(c.name.span);
    if !modern {
        if let Some(at) = s.span_of("group.remote.assignor") {
            s.diags.push(
                Diagnostic::new("`group.remote.assignor` needs `group.protocol consumer`", at)
                    .label("the classic protocol assigns in the group's leader (partition.assignment.strategy)"),
            );
        }
        return GroupProtocol::Classic;
    }
    let version = model.cluster.kafka_version;
    // (Said once, at the first such consumer.)
    let first = !model.consumers.iter().any(|o| o.group_protocol.modern());
    if !version.at_least(4, 0) && first {
        s.diags.push(
            Diagnostic::new("`group.protocol consumer` needs kafka.version 4.0", span)
                .label(format!(
                    "kafka.version {version}: the KIP-848 protocol was early access in 3.7, preview in 3.8 and 3.9"
                ))
                .note("set `kafka.version 4.0` in the cluster block"),
        );
    }
    if source.group.is_none() || source.assigned.is_some() {
        s.diags.push(
            Diagnostic::new("`group.protocol consumer` needs a consumer that subscribes in a group", span)
                .label("an `assign` consumer joins no group"),
        );
    }
    for (key, instead) in [
        ("session.timeout.ms", "the broker's `group.consumer.session.timeout.ms` (45000) sets the session"),
        ("heartbeat.interval.ms", "the broker's `group.consumer.heartbeat.interval.ms` (5000) sets the interval"),
        ("partition.assignment.strategy", "the coordinator assigns: choose `group.remote.assignor uniform` or `range`"),
    ] {
        if let Some(at) = s.span_of(key) {
            s.diags.push(
                Diagnostic::new(format!("`{key}` is not used by `group.protocol consumer`"), at)
                    .label("a classic-protocol setting")
                    .note(instead),
            );
        }
    }
    if let Some(at) = s.span_of("group.instance.id") {
        s.diags.push(
            Diagnostic::new("static membership with `group.protocol consumer` is not modelled", at)
                .label("scn models `group.instance.id` for the classic protocol (KIP-345)"),
        );
    }
    GroupProtocol::Consumer { range }
}

/// Where a consumer reads: `subscribe` topics in a group, or `assign`ed partitions.
struct Source {
    topics: Vec<u32>,
    group: Option<Spanned<String>>,
    assigned: Option<Vec<PartitionIdx>>,
}

fn source(c: &ast::Consumer, model: &Model, diags: &mut Vec<Diagnostic>) -> Option<Source> {
    if let (Some(s), Some(a)) = (c.subscribes.first(), c.assigns.first()) {
        diags.push(
            Diagnostic::new("a consumer subscribes or assigns, not both", a.span)
                .label("`assign`")
                .related(s.span, "`subscribe`"),
        );
        return None;
    }
    let once = |what: &str, spans: &[Span], note: &str, diags: &mut Vec<Diagnostic>| {
        if let [first, second, ..] = spans {
            diags.push(
                Diagnostic::new(format!("a consumer {what}s once"), *second)
                    .label(format!("second `{what}`"))
                    .related(*first, format!("first `{what}`"))
                    .note(note),
            );
        }
    };
    if let Some(a) = c.assigns.first() {
        let spans: Vec<Span> = c.assigns.iter().map(|a| a.span).collect();
        once("assign", &spans, "list every partition in one line: `assign t-0, t-1`", diags);
        let mut topics = Vec::new();
        let mut assigned = Vec::new();
        for r in &a.node.partitions {
            if let Some(p) = find_partition(model, r, diags) {
                if !assigned.contains(&p) {
                    assigned.push(p);
                }
                let t = model.partitions[p as usize].topic;
                if !topics.contains(&t) {
                    topics.push(t);
                }
            }
        }
        return Some(Source { topics, group: a.node.group.clone(), assigned: Some(assigned) });
    }
    let Some(subscribe) = c.subscribes.first() else {
        diags.push(
            Diagnostic::new(format!("consumer `{}` reads nothing", c.name.node), c.name.span)
                .label("expected a `subscribe TOPIC group GROUP` or `assign TOPIC-N` line in this block"),
        );
        return None;
    };
    let spans: Vec<Span> = c.subscribes.iter().map(|s| s.span).collect();
    once("subscribe", &spans, "list every topic in one line: `subscribe a, b group g`", diags);
    let mut topics = Vec::new();
    for t in &subscribe.node.topics {
        if let Some(i) = find_topic(model, t, diags) {
            if !topics.contains(&i) {
                topics.push(i);
            }
        }
    }
    Some(Source { topics, group: Some(subscribe.node.group.clone()), assigned: None })
}
