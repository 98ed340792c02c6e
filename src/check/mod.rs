//! The check stage: resolves names, fills in Kafka's defaults, expands presets and rejects
//! contradictory or meaningless scenarios, reporting every problem at once.

mod clients;
pub use clients::{CONSUMER_KEYS, PRODUCER_KEYS};
pub use faults::ms;
mod expects;
mod expr;
mod faults;
mod processors;
mod settings;

use crate::ast::{self, Spanned};
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{
    ClusterConfig, KafkaVersion, LogConfig, Model, Network, PartitionConfig, PartitionIdx, TopicConfig, limits,
};
use settings::{Settings, suggest};

/// Checks a parsed file and returns the model the simulator runs.
pub fn check(file: &ast::File) -> Result<Model, Diagnostics> {
    let mut diags = Vec::new();
    let network = network(&file.network, &mut diags);
    let (cluster, topics, partitions) = cluster(file, &mut diags);
    let mut model = Model {
        title: file.title.node.clone(),
        description: file.description.as_ref().map(|d| d.node.clone()),
        seed: file.seed.as_ref().map_or(0, |s| s.node),
        run_for_ms: 3_600_000,
        network,
        cluster,
        topics,
        partitions,
        producers: Vec::new(),
        consumers: Vec::new(),
        groups: Vec::new(),
        processors: Vec::new(),
        sent_messages: 0,
        total_messages: 0,
        derived: Vec::new(),
        derived_text: String::new(),
        faults: Vec::new(),
        track: Vec::new(),
        expects: Vec::new(),
    };
    if let Some(r) = &file.run_for {
        if r.node == 0 || r.node > limits::MAX_DURATION_MS {
            diags.push(
                Diagnostic::new("run length out of range", r.span)
                    .label(format!("expected a duration from 1ms to {}ms (30 days)", limits::MAX_DURATION_MS)),
            );
        } else {
            model.run_for_ms = r.node;
        }
    }
    clients::producers(file, &mut model, &mut diags);
    clients::consumers(file, &mut model, &mut diags);
    model.sent_messages = model.total_messages;
    processors::processors(file, &mut model, &mut diags);
    faults::faults(file, &mut model, &mut diags);
    expects::track(file, &mut model, &mut diags);
    expects::expects(file, &mut model, &mut diags);
    if diags.is_empty() {
        Ok(model)
    } else {
        diags.sort_by_key(|d| d.span.start);
        Err(Diagnostics(diags))
    }
}

fn network(settings: &[ast::Setting], diags: &mut Vec<Diagnostic>) -> Network {
    // `broker.N.latency` keys are checked against the broker count by the caller.
    let (per_broker, rest): (Vec<ast::Setting>, Vec<ast::Setting>) = settings.iter().cloned().partition(|st| {
        st.key
            .node
            .strip_prefix("broker.")
            .and_then(|k| k.strip_suffix(".latency"))
            .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    let mut s = Settings::new("network", &rest, &["latency", "jitter", "replication.latency"]);
    let latency_ms = s.duration("latency", 1, 60_000);
    let jitter_ms = s.duration("jitter", 0, 60_000);
    let replication_latency_ms = s.duration("replication.latency", latency_ms, 60_000);
    diags.append(&mut s.diags);
    let mut broker_extra_ms = vec![0; limits::MAX_BROKERS as usize];
    for st in per_broker {
        let n: usize = st.key.node["broker.".len()..st.key.node.len() - ".latency".len()].parse().unwrap_or(0);
        let value = match st.value.node {
            ast::Value::Duration(ms) => Some(ms),
            ast::Value::Int(ms) => u64::try_from(ms).ok(),
            _ => None,
        };
        let ms = match value {
            Some(ms) if ms <= 60_000 => ms,
            _ => {
                diags.push(
                    Diagnostic::new("invalid value for network setting", st.value.span)
                        .label("expected a duration like `20ms`, at most 60000ms"),
                );
                continue;
            }
        };
        if n == 0 || n > limits::MAX_BROKERS as usize {
            diags.push(
                Diagnostic::new(format!("there is no broker {n}"), st.key.span).label("brokers are numbered from 1"),
            );
            continue;
        }
        broker_extra_ms[n - 1] = ms;
    }
    Network { latency_ms, jitter_ms, replication_latency_ms, broker_extra_ms }
}

pub const CLUSTER_KEYS: &[&str] = &[
    "kafka.version",
    "transaction.version",
    "default.replication.factor",
    "num.partitions",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "broker.session.timeout.ms",
    "replica.fetch.wait.max.ms",
    "replica.lag.time.max.ms",
    "high.watermark.min.isr",
    "follower.truncation",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "group.initial.rebalance.delay.ms",
    "group.consumer.session.timeout.ms",
    "group.consumer.heartbeat.interval.ms",
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.retention.check.interval.ms",
    "log.initial.task.delay.ms",
    "producer.id.expiration.ms",
    "producer.id.expiration.check.interval.ms",
    "transactional.id.expiration.ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
];
const TOPIC_KEYS: &[&str] = &[
    "partitions",
    "replication.factor",
    "min.insync.replicas",
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
];

/// Kafka's log defaults: `log.retention.hours` 168, `log.retention.bytes` -1,
/// `log.segment.bytes` 1 GiB, `log.roll.hours` 168.
const WEEK_MS: u64 = 7 * 24 * 3_600_000;
const GIB: u64 = 1 << 30;
/// `segment.bytes` is at least `LegacyRecord.RECORD_OVERHEAD_V0` (14) in Kafka 3.x.
const MIN_SEGMENT_BYTES: u64 = 14;

/// A topic's (or with `prefix` "log.", the cluster's default) retention and segment settings.
fn log_config(s: &mut Settings, prefix: &str, default: LogConfig) -> LogConfig {
    let roll = if prefix.is_empty() { "segment.ms" } else { "log.roll.ms" };
    LogConfig {
        retention_ms: s.limit(&format!("{prefix}retention.ms"), default.retention_ms),
        retention_bytes: s.limit(&format!("{prefix}retention.bytes"), default.retention_bytes),
        segment_bytes: s.number(
            &format!("{prefix}segment.bytes"),
            default.segment_bytes,
            MIN_SEGMENT_BYTES,
            i32::MAX as u64,
        ),
        segment_ms: s.number(roll, default.segment_ms, 1, i64::MAX as u64),
    }
}

fn cluster(file: &ast::File, diags: &mut Vec<Diagnostic>) -> (ClusterConfig, Vec<TopicConfig>, Vec<PartitionConfig>) {
    let empty = ast::Cluster::default();
    let (c, cspan) = match &file.cluster {
        Some(c) => (&c.node, c.span),
        None => {
            diags.push(
                Diagnostic::new("the scenario has no cluster", file.title.span)
                    .label("this scenario needs a `cluster { brokers N  topic NAME { ... } }` block"),
            );
            (&empty, file.title.span)
        }
    };
    let brokers = match &c.brokers {
        Some(b) if b.node >= 1 && b.node <= limits::MAX_BROKERS => b.node as u32,
        Some(b) => {
            diags.push(
                Diagnostic::new("broker count out of range", b.span)
                    .label(format!("expected 1 to {} brokers", limits::MAX_BROKERS)),
            );
            1
        }
        None => 1,
    };
    let mut s = Settings::new("cluster", &c.settings, CLUSTER_KEYS);
    // Broker defaults of Kafka 3.x: default.replication.factor 1, num.partitions 1,
    // min.insync.replicas 1, unclean.leader.election.enable false.
    let default_rf = s.number("default.replication.factor", 1, 1, limits::MAX_BROKERS);
    let default_parts = s.number("num.partitions", 1, 1, limits::MAX_PARTITIONS);
    let default_min_isr = s.number("min.insync.replicas", 1, 1, limits::MAX_BROKERS);
    let kafka_version = KafkaVersion::parse(s.choice("kafka.version", KafkaVersion::DEFAULT, KafkaVersion::SUPPORTED))
        .expect("a supported version");
    // `TransactionVersion` TV_1 and TV_2 bootstrap at metadata.version 4.0-IV2: a new 4.0
    // cluster runs TV_2, and no 3.x cluster can finalize either.
    let tv_default = if kafka_version.at_least(4, 0) { "2" } else { "0" };
    let transaction_version: u8 = s.choice("transaction.version", tv_default, &["0", "1", "2"]).parse().unwrap_or(0);
    if let Some(span) =
        s.span_of("transaction.version").filter(|_| transaction_version > 0 && !kafka_version.at_least(4, 0))
    {
        s.diags.push(Diagnostic::new("`transaction.version` 1 or 2 needs kafka.version 4.0", span).label(format!(
            "kafka.version {kafka_version} runs transaction.version 0 (TV_1 and TV_2 need metadata.version 4.0-IV2)"
        )));
    }
    let cluster = ClusterConfig {
        brokers,
        kafka_version,
        transaction_version,
        unclean_leader_election: s.boolean("unclean.leader.election.enable", false),
        broker_session_timeout_ms: s.number("broker.session.timeout.ms", 9_000, 1, limits::MAX_DURATION_MS),
        replica_fetch_wait_max_ms: s.number("replica.fetch.wait.max.ms", 500, 0, 600_000),
        replica_lag_time_max_ms: s.number("replica.lag.time.max.ms", 30_000, 1, limits::MAX_DURATION_MS),
        high_watermark_min_isr: s.boolean("high.watermark.min.isr", kafka_version.at_least(3, 7)),
        truncate_to_high_watermark: s.choice(
            "follower.truncation",
            "leader-epoch",
            &["leader-epoch", "high-watermark"],
        ) == "high-watermark",
        txn_abort_scan_interval_ms: s.number(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            10_000,
            1,
            limits::MAX_DURATION_MS,
        ),
        group_initial_rebalance_delay_ms: s.number(
            "group.initial.rebalance.delay.ms",
            3_000,
            0,
            limits::MAX_DURATION_MS,
        ),
        // GroupCoordinatorConfig (4.0): 45 s within [45 s, 60 s], 5 s within [5 s, 15 s].
        group_consumer_session_timeout_ms: s.number("group.consumer.session.timeout.ms", 45_000, 45_000, 60_000),
        group_consumer_heartbeat_interval_ms: s.number("group.consumer.heartbeat.interval.ms", 5_000, 5_000, 15_000),
        log_retention_check_interval_ms: s.number(
            "log.retention.check.interval.ms",
            300_000,
            1,
            limits::MAX_DURATION_MS,
        ),
        log_initial_task_delay_ms: s.number("log.initial.task.delay.ms", 30_000, 0, limits::MAX_DURATION_MS),
        // KafkaConfig: both `atLeast(1)`, ints (so at most i32::MAX ms, about 24.8 days).
        producer_id_expiration_ms: s.number("producer.id.expiration.ms", 86_400_000, 1, i32::MAX as u64),
        producer_id_expiration_check_interval_ms: s.number(
            "producer.id.expiration.check.interval.ms",
            600_000,
            1,
            i32::MAX as u64,
        ),
        // TransactionStateManagerConfig: both `atLeast(1)`, ints.
        transactional_id_expiration_ms: s.number("transactional.id.expiration.ms", 604_800_000, 1, i32::MAX as u64),
        transactional_id_cleanup_interval_ms: s.number(
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            3_600_000,
            1,
            i32::MAX as u64,
        ),
    };
    // `log.initial.task.delay.ms` came with 3.8 (LogManager's InitialTaskDelayMs was a
    // constant 30 s before).
    if let Some(span) = s.span_of("log.initial.task.delay.ms").filter(|_| !kafka_version.at_least(3, 8)) {
        s.diags.push(Diagnostic::new("`log.initial.task.delay.ms` needs kafka.version 3.8 or later", span).label(
            format!(
                "kafka.version {kafka_version} has no such setting (its first retention check runs 30 s after start)"
            ),
        ));
    }
    let default_log = log_config(
        &mut s,
        "log.",
        LogConfig { retention_ms: Some(WEEK_MS), retention_bytes: None, segment_bytes: GIB, segment_ms: WEEK_MS },
    );
    diags.append(&mut s.diags);

    let mut topics: Vec<TopicConfig> = Vec::new();
    let mut partitions = Vec::new();
    let mut total_parts = 0u64;
    for t in &c.topics {
        if topics.iter().any(|x| x.name == t.name.node) {
            let first = c.topics.iter().find(|x| x.name.node == t.name.node).map_or(t.name.span, |x| x.name.span);
            diags.push(
                Diagnostic::new(format!("topic `{}` is declared twice", t.name.node), t.name.span)
                    .label("second declaration")
                    .related(first, "first declared here"),
            );
            continue;
        }
        let mut s = Settings::new("topic", &t.settings, TOPIC_KEYS);
        let parts = s.number("partitions", default_parts, 1, limits::MAX_PARTITIONS) as u32;
        let rf = s.number("replication.factor", default_rf, 1, limits::MAX_BROKERS) as u32;
        let min_isr = s.number("min.insync.replicas", default_min_isr, 1, limits::MAX_BROKERS) as u32;
        let log = log_config(&mut s, "", default_log);
        if rf > brokers {
            // CreateTopics fails with InvalidReplicationFactorException.
            let span = s.span_of("replication.factor").unwrap_or(t.name.span);
            diags.push(
                Diagnostic::new(format!("replication factor {rf} larger than available brokers: {brokers}"), span)
                    .label(format!("at most {brokers} (InvalidReplicationFactorException)")),
            );
        }
        diags.append(&mut s.diags);
        total_parts += u64::from(parts);
        if total_parts > limits::MAX_PARTITIONS {
            diags.push(
                Diagnostic::new("too many partitions", t.name.span)
                    .label(format!("the cluster holds at most {} partitions in all", limits::MAX_PARTITIONS)),
            );
            continue;
        }
        let topic_idx = topics.len() as u32;
        let first_partition = partitions.len() as PartitionIdx;
        for p in 0..parts {
            // Replica placement as Kafka's round-robin assignment: partition p starts at broker
            // p mod N and takes the next rf brokers; the first replica is the preferred leader.
            let rf = rf.min(brokers);
            let replicas = (0..rf).map(|j| (p + j) % brokers + 1).collect();
            partitions.push(PartitionConfig {
                topic: topic_idx,
                partition: p,
                replicas,
                name: format!("{}-{p}", t.name.node),
            });
        }
        topics.push(TopicConfig {
            name: t.name.node.clone(),
            partitions: parts,
            replication_factor: rf,
            min_insync_replicas: min_isr,
            first_partition,
            log,
        });
    }
    if c.topics.is_empty() && file.cluster.is_some() {
        diags.push(
            Diagnostic::new("the cluster has no topic", cspan)
                .label("add `topic NAME { partitions 1  replication.factor 1 }`"),
        );
    }
    (cluster, topics, partitions)
}

/// Looks up names declared elsewhere in the file, with spans for "unknown name" diagnostics.
pub(crate) fn find_topic(model: &Model, name: &Spanned<String>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    if let Some(i) = model.topics.iter().position(|t| t.name == name.node) {
        return Some(i as u32);
    }
    let names: Vec<&str> = model.topics.iter().map(|t| t.name.as_str()).collect();
    diags.push(unknown("topic", name, &names));
    None
}

pub(crate) fn find_partition(
    model: &Model,
    r: &Spanned<ast::PartitionRef>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PartitionIdx> {
    let name = Spanned::new(r.node.topic.clone(), r.span);
    let t = find_topic(model, &name, diags)?;
    let topic = &model.topics[t as usize];
    if r.node.partition >= u64::from(topic.partitions) {
        diags.push(
            Diagnostic::new(format!("topic `{}` has no partition {}", topic.name, r.node.partition), r.span)
                .label(format!("partitions are 0 to {}", topic.partitions - 1)),
        );
        return None;
    }
    Some(topic.first_partition + r.node.partition as u32)
}

/// "unknown X `name`", with the closest known name or the list of known names.
pub(crate) fn unknown(kind: &str, name: &Spanned<String>, known: &[&str]) -> Diagnostic {
    let d =
        Diagnostic::new(format!("unknown {kind} `{}`", name.node), name.span).label(format!("no {kind} has this name"));
    match suggest(&name.node, known) {
        Some(k) => d.note(format!("did you mean `{k}`?")),
        None if known.is_empty() => d.note(format!("the scenario declares no {kind}")),
        None => d.note(format!("known: {}", known.join(", "))),
    }
}
