//! The resolved scenario: names turned into indices, Kafka defaults filled in, presets expanded.
//!
//! `check` builds it from the AST; `sim` runs it. It is plain data: cloneable, hashable, and free
//! of spans except where a report must point back at the source (faults, expectations).

use crate::ast::{CommitMode, Guarantee, OutcomeKind};
use crate::diag::Span;

/// Sizes past which a scenario is refused (documented in docs/language.md, "Limits").
pub mod limits {
    pub const MAX_BROKERS: u64 = 64;
    pub const MAX_PARTITIONS: u64 = 10_000;
    pub const MAX_MESSAGES: u64 = 10_000_000;
    pub const MAX_CLIENTS: usize = 1_000;
    pub const MAX_DURATION_MS: u64 = 30 * 24 * 3_600_000;
    pub const MAX_FAULTS: usize = 10_000;
    /// Bytes in one quoted string (after escapes), and in a setting's unquoted word.
    pub const MAX_STRING_BYTES: usize = 4_096;
    /// Bytes in a name (topic, client, group, setting key); Kafka's own topic-name limit.
    pub const MAX_NAME_BYTES: usize = 249;
    /// `{i}` and `{n}` placeholders in one `send` key or value.
    pub const MAX_PLACEHOLDERS: usize = 16;
    /// Nesting of parentheses and function calls in a processor expression.
    pub const MAX_EXPR_DEPTH: usize = 32;
    /// Operands and operators in one processor expression.
    pub const MAX_EXPR_TERMS: usize = 256;
    /// Bytes of a value a processor expression computes.
    pub const MAX_VALUE_BYTES: usize = 65_536;
    /// Bytes of all processors' output keys and values together.
    pub const MAX_DERIVED_BYTES: usize = 256 << 20;
    /// Rows one report table keeps (steps, tracker, each log, messages), even with
    /// `--max-rows 0`; at about 2.7 KB a message row, a million rows took gigabytes.
    pub const MAX_REPORT_ROWS: usize = 100_000;
    /// Configurations one `scn compare` runs (the product of its `--vary` lists).
    pub const MAX_COMPARE_CONFIGS: usize = 256;
    /// Bytes of a scenario file (a scenario at every other limit is far smaller).
    pub const MAX_FILE_BYTES: u64 = 16 << 20;
}

pub type BrokerId = u32;
/// Index of a partition in [`Model::partitions`].
pub type PartitionIdx = u32;
/// Index of a message in send order (producer by producer, statement by statement).
pub type MsgId = u32;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Model {
    pub title: String,
    pub description: Option<String>,
    pub seed: u64,
    /// Simulated time after which the run stops even if work remains.
    pub run_for_ms: u64,
    pub network: Network,
    pub cluster: ClusterConfig,
    pub topics: Vec<TopicConfig>,
    /// Every partition of every topic, topic by topic.
    pub partitions: Vec<PartitionConfig>,
    pub producers: Vec<ProducerConfig>,
    pub consumers: Vec<ConsumerConfig>,
    pub groups: Vec<GroupConfig>,
    /// Consume-transform-produce applications; each runs one of `consumers` and one of
    /// `producers` (those come after the plain ones).
    pub processors: Vec<ProcessorConfig>,
    /// How many messages the plain producers' `send` statements make (ids `0..sent_messages`).
    pub sent_messages: u32,
    /// Every message: sent ones, then the output records processors derive from their inputs
    /// (ids `sent_messages..total_messages`, processor by processor).
    pub total_messages: u32,
    /// The derived (output) messages, in id order from `sent_messages`.
    pub derived: Vec<Derived>,
    /// The keys and values of the derived messages, one after another.
    pub derived_text: String,
    pub faults: Vec<FaultSpec>,
    pub track: Vec<TrackVar>,
    pub expects: Vec<ExpectSpec>,
}

/// `network { latency 1ms  jitter 0ms }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Network {
    /// One-way latency of every link.
    pub latency_ms: u64,
    /// Uniform extra delay in `0..=jitter_ms`, drawn from the scenario's seeded RNG.
    pub jitter_ms: u64,
    /// One-way latency between brokers (replication fetches); defaults to `latency_ms`.
    pub replication_latency_ms: u64,
    /// Extra one-way delay of every message to or from a broker (`broker.2.latency 20ms`): a
    /// slow broker, or a slow follower. Indexed by broker id - 1.
    pub broker_extra_ms: Vec<u64>,
}

/// A Kafka release line scn models (`kafka.version`). What differs between them:
/// - 3.7: the high watermark waits for the effective min ISR (KAFKA-15583, `high.watermark.min.isr`);
///   clients back off exponentially up to `retry.backoff.max.ms` (KIP-580).
/// - 3.9: the KRaft controller acts on `unclean.leader.election.enable` (KAFKA-12670); before,
///   it never elects an out-of-sync replica by itself.
/// - 4.0: `linger.ms` defaults to 5 (KIP-1030), and a new cluster runs transactions v2
///   (`transaction.version` 2, KIP-890 part 2): every EndTxn bumps the producer epoch, and the
///   partition leader adds a partition to the transaction when the first produce of it arrives
///   (the client sends no AddPartitionsToTxn).
///
/// Every line from 3.6 has transaction partition verification (KIP-890 part 1) and consumers
/// that validate positions by leader epoch (KIP-320, 2.3+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KafkaVersion {
    pub major: u8,
    pub minor: u8,
}

impl KafkaVersion {
    /// The lines scn models, oldest first.
    pub const SUPPORTED: &'static [&'static str] = &["3.6", "3.7", "3.8", "3.9", "4.0"];
    /// The line a scenario without `kafka.version` runs: 3.9 still, so that a scenario written
    /// before 4.0 was modelled keeps its outcome (4.0 changes batching and every transaction).
    pub const DEFAULT: &'static str = "3.9";

    /// `3.8` -> 3.8 (one of `SUPPORTED`).
    pub fn parse(text: &str) -> Option<KafkaVersion> {
        let (major, minor) = text.split_once('.')?;
        Some(KafkaVersion { major: major.parse().ok()?, minor: minor.parse().ok()? })
            .filter(|_| Self::SUPPORTED.contains(&text))
    }

    pub fn at_least(self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ClusterConfig {
    /// Whether a producer id can expire within `run_for_ms`: a log's first expiration check
    /// runs one interval after its broker starts, and a batch's timestamp is at least 0.
    pub fn producer_ids_may_expire(&self, run_for_ms: u64) -> bool {
        self.producer_id_expiration_check_interval_ms < run_for_ms && self.producer_id_expiration_ms < run_for_ms
    }

    /// Whether a transactional id can expire within `run_for_ms` (the first check runs one
    /// interval after its broker starts).
    pub fn transactional_ids_may_expire(&self, run_for_ms: u64) -> bool {
        self.transactional_id_cleanup_interval_ms < run_for_ms && self.transactional_id_expiration_ms < run_for_ms
    }

    /// Whether the controller elects an out-of-sync replica when no in-sync one is left:
    /// `unclean.leader.election.enable`, which KRaft acts on from 3.9 (KAFKA-12670; before,
    /// `ConfigurationControlManager.uncleanLeaderElectionEnabledForTopic` returned false).
    pub fn unclean_elections(&self) -> bool {
        self.unclean_leader_election && self.kafka_version.at_least(3, 9)
    }

    /// Transactions v2 (KIP-890 part 2, `TransactionVersion.TV_2`, 4.0): the coordinator bumps
    /// the producer epoch at every EndTxn and hands the new one back, and a transactional
    /// produce adds its partition to the transaction at the leader.
    pub fn transactions_v2(&self) -> bool {
        self.transaction_version >= 2
    }

    /// KIP-580 (3.7): the n-th retry in a row waits `base * 2^(n-1)`, capped by
    /// `retry.backoff.max.ms` (`max`); a `retry.backoff.ms` at or above the max makes the max
    /// a constant backoff (`ExponentialBackoff` takes min(initial, max) as its initial interval
    /// and has no exponent left; `CommonClientConfigs.warnDisablingExponentialBackoff`: "a
    /// static backoff with value retry.backoff.max.ms"). Before 3.7 every retry waits
    /// `retry.backoff.ms`. (The ±20% jitter is not modelled.)
    pub fn retry_backoff(&self, base: u64, max: u64, n: u32) -> u64 {
        if !self.kafka_version.at_least(3, 7) {
            return base;
        }
        base.min(max).saturating_mul(1 << n.saturating_sub(1).min(20)).min(max)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterConfig {
    pub brokers: u32,
    /// `kafka.version` (3.9): the release line of the brokers and clients, which selects the
    /// rules that changed between versions (see `KafkaVersion`).
    pub kafka_version: KafkaVersion,
    /// The `transaction.version` feature level (0 before 4.0, 2 for a new 4.0 cluster):
    /// see `transactions_v2`.
    pub transaction_version: u8,
    /// KRaft `broker.session.timeout.ms` (9000): how long the controller waits before it fences
    /// a broker that stopped heartbeating and moves its leaderships.
    pub broker_session_timeout_ms: u64,
    /// `replica.fetch.wait.max.ms` (500): how long a leader holds an empty follower fetch.
    pub replica_fetch_wait_max_ms: u64,
    /// `unclean.leader.election.enable` (false), as configured: see `unclean_elections`.
    pub unclean_leader_election: bool,
    /// `replica.lag.time.max.ms` (30000): a follower that has not caught up with the leader's
    /// log end for this long leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// scn's `high.watermark.min.isr` (true from `kafka.version` 3.7, KAFKA-15583): the high
    /// watermark does not advance while the ISR is smaller than the effective
    /// min.insync.replicas. `false` is the older behaviour.
    pub high_watermark_min_isr: bool,
    /// scn's `follower.truncation`: `leader-epoch` (KIP-101/279, default) truncates a returning
    /// replica to where its log diverges from the leader's; `high-watermark` (before Kafka
    /// 0.11) truncates it to its own high watermark.
    pub truncate_to_high_watermark: bool,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10000): how often a
    /// transaction coordinator scans for transactions open longer than their timeout.
    pub txn_abort_scan_interval_ms: u64,
    /// `group.initial.rebalance.delay.ms` (3000): how long a group coordinator waits for more
    /// members before the first rebalance of an empty group.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.consumer.session.timeout.ms` (45000, 45000 to 60000): the session of a member of
    /// a consumer-protocol group (KIP-848, `GroupCoordinatorConfig`), set by the broker.
    pub group_consumer_session_timeout_ms: u64,
    /// `group.consumer.heartbeat.interval.ms` (5000, 5000 to 15000): how often such a member
    /// heartbeats (the coordinator sends it in every ConsumerGroupHeartbeat response).
    pub group_consumer_heartbeat_interval_ms: u64,
    /// `log.retention.check.interval.ms` (300000): how often a broker's log manager deletes
    /// the segments retention no longer keeps (`LogManager.cleanupLogs`).
    pub log_retention_check_interval_ms: u64,
    /// `log.initial.task.delay.ms` (30000; settable from 3.8): how long after a broker starts
    /// its first retention check runs.
    pub log_initial_task_delay_ms: u64,
    /// `producer.id.expiration.ms` (86400000, KIP-854): how long a partition keeps the state of
    /// a producer id (its last batches' sequence numbers) after the producer's last batch.
    pub producer_id_expiration_ms: u64,
    /// `producer.id.expiration.check.interval.ms` (600000): how often each log removes the
    /// producer ids idle longer than that (`UnifiedLog`'s PeriodicProducerExpirationCheck).
    pub producer_id_expiration_check_interval_ms: u64,
    /// `transactional.id.expiration.ms` (604800000, 7 days, KIP-98): how long the transaction
    /// coordinator keeps a transactional id idle in Empty, CompleteCommit or CompleteAbort.
    pub transactional_id_expiration_ms: u64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms` (3600000): how often each
    /// coordinator removes the expired ones (`TransactionStateManager.removeExpiredTransactionalIds`).
    pub transactional_id_cleanup_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicConfig {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    /// Index of partition 0 of this topic in [`Model::partitions`].
    pub first_partition: PartitionIdx,
    /// Retention and segment settings of its partitions' logs.
    pub log: LogConfig,
}

/// How a topic's logs roll segments and delete old ones (`cleanup.policy delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogConfig {
    /// `retention.ms` (7 days; -1, None, keeps everything): a segment whose newest record is
    /// older than this is deleted.
    pub retention_ms: Option<u64>,
    /// `retention.bytes` (-1, None: no limit): the oldest segments are deleted while the log
    /// stays above this size without them.
    pub retention_bytes: Option<u64>,
    /// `segment.bytes` (1 GiB): a segment rolls when the next append would pass this size.
    pub segment_bytes: u64,
    /// `segment.ms` (7 days): a segment rolls when an append's newest record is this much
    /// newer than the segment's first batch.
    pub segment_ms: u64,
}

impl LogConfig {
    /// Whether retention can delete anything within `run_for_ms`: a record's timestamp is at
    /// least 0, so a `retention.ms` at or above the run's length never deletes.
    pub fn may_delete(&self, run_for_ms: u64) -> bool {
        self.retention_bytes.is_some() || self.retention_ms.is_some_and(|ms| ms < run_for_ms)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionConfig {
    pub topic: u32,
    pub partition: u32,
    /// Replica brokers, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// `orders-0`
    pub name: String,
}

/// `acks`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Acks {
    Zero,
    One,
    All,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerConfig {
    pub name: String,
    pub guarantee: Option<Guarantee>,
    pub acks: Acks,
    pub retries: u32,
    pub enable_idempotence: bool,
    pub max_in_flight: u32,
    pub delivery_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// `linger.ms`: a new batch waits this long for more records before it may be sent, unless
    /// it fills up (a later batch of its partition exists) or a flush is in progress (commit or
    /// abort). 0 before 4.0, 5 from 4.0 (KIP-1030).
    pub linger_ms: u64,
    /// `metadata.max.age.ms` (300000): the client refreshes its metadata at least this often
    /// (otherwise only after an error), so it may keep writing to a deposed leader meanwhile.
    pub metadata_max_age_ms: u64,
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms` (1000, KIP-580, 3.7+): the cap of the exponential backoff.
    pub retry_backoff_max_ms: u64,
    /// `batch.size` in bytes (16384): records queued behind in-flight requests share a batch.
    pub batch_size: u64,
    pub sends: Vec<SendSpec>,
    /// `transactional.id`: the producer runs transactions (KIP-98) under this id.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (60000): the coordinator aborts a transaction open longer.
    pub transaction_timeout_ms: u64,
    /// The `transaction { } commit|abort` blocks, in order.
    pub transactions: Vec<TxnSpec>,
    /// Messages `first_msg..first_msg + message_count` belong to this producer.
    pub first_msg: MsgId,
    pub message_count: u32,
    /// Messages its `send` statements declare, counting sends refused for the message limit
    /// (then more than `message_count`); for diagnostics that quote the declared numbering.
    pub declared_messages: u64,
    /// The processor this producer is the output half of.
    pub processor: Option<u32>,
}

/// A consume-transform-produce application (`processor` block).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessorConfig {
    pub name: String,
    pub guarantee: Guarantee,
    /// Its consumer half (index in `Model::consumers`).
    pub consumer: u32,
    /// Its producer half (index in `Model::producers`).
    pub producer: u32,
    /// Output topics, one per `output` line.
    pub outputs: Vec<u32>,
    /// `seek.on.abort` (exactly-once default true): after an aborted transaction, seek back to
    /// the committed offsets; without it the records of the aborted transaction are skipped.
    pub seek_on_abort: bool,
    /// The output records of each input record that has any.
    pub outputs_of: OutputsOf,
}

/// A processor application's output records by input record: for each input with outputs,
/// in ascending input order, the first output's id and how many there are (12 bytes an
/// input, looked up by binary search).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OutputsOf(Vec<(MsgId, (MsgId, u32))>);

impl OutputsOf {
    /// The outputs of `input`: (first id, count).
    pub fn get(&self, input: &MsgId) -> Option<&(MsgId, u32)> {
        self.0.binary_search_by_key(input, |e| e.0).ok().map(|i| &self.0[i].1)
    }

    /// Every input's (first id, count), in input order.
    pub fn values(&self) -> impl Iterator<Item = &(MsgId, u32)> {
        self.0.iter().map(|e| &e.1)
    }

    /// Records `input`'s outputs; inputs come in ascending order.
    pub(crate) fn insert(&mut self, input: MsgId, outputs: (MsgId, u32)) {
        debug_assert!(self.0.last().is_none_or(|l| l.0 < input), "inputs in ascending order");
        self.0.push((input, outputs));
    }
}

/// An output record a processor makes from an input record. Its key and value are in
/// `Model::derived_text` (one string for all of them, not two allocations a record).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Derived {
    pub processor: u32,
    pub parent: MsgId,
    pub topic: u32,
    /// Where its key (if any) then its value start in `Model::derived_text`.
    text: u32,
    /// The key's length in bytes, `NO_KEY` for a record without one.
    key_len: u32,
    value_len: u32,
}

/// Where a message comes from: a `send` statement (and its 1-based index in it), or a
/// processor's output record (and the model's `derived_text`, which holds its key and value).
#[derive(Debug, Clone, Copy)]
pub enum Origin<'m> {
    Sent { spec: &'m SendSpec, index: u32 },
    Derived(&'m Derived, &'m str),
}

impl Origin<'_> {
    pub fn topic(&self) -> u32 {
        match self {
            Origin::Sent { spec, .. } => spec.topic,
            Origin::Derived(d, _) => d.topic,
        }
    }

    /// The partition a `send ... partition P` fixed, if any.
    pub fn fixed_partition(&self) -> Option<u32> {
        match self {
            Origin::Sent { spec, .. } => spec.partition,
            Origin::Derived(..) => None,
        }
    }

    /// Puts the message's key, if it has one, in `buf` (cleared first), and says whether it had one.
    pub fn key_into(&self, buf: &mut String) -> bool {
        buf.clear();
        match *self {
            Origin::Derived(d, text) => d.key(text).map(|k| buf.push_str(k)).is_some(),
            Origin::Sent { spec, index } => {
                spec.key.as_ref().map(|k| k.render_into(buf, index, spec.first_number + index - 1)).is_some()
            }
        }
    }

    /// Puts the message's value in `buf` (cleared first).
    pub fn value_into(&self, buf: &mut String) {
        buf.clear();
        match *self {
            Origin::Derived(d, text) => buf.push_str(d.value(text)),
            Origin::Sent { spec, index } => spec.value.render_into(buf, index, spec.first_number + index - 1),
        }
    }

    /// `f` of the message's key, if it has one, without allocating it: the partitioner hashes
    /// every message's key.
    pub fn with_key<R>(&self, f: impl FnOnce(&str) -> R) -> Option<R> {
        thread_local! {
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        match *self {
            Origin::Derived(d, text) => d.key(text).map(f),
            // (Rendered here rather than through `key_into`, which does not inline: this is
            // every send()'s partitioner.)
            Origin::Sent { spec, index } => {
                let key = spec.key.as_ref()?;
                KEY.with_borrow_mut(|buf| {
                    buf.clear();
                    key.render_into(buf, index, spec.first_number + index - 1);
                    Some(f(buf))
                })
            }
        }
    }
}

/// `Derived::key_len` of a record without a key.
const NO_KEY: u32 = u32::MAX;

impl Derived {
    /// The output record of `processor` made from `parent`, its key and value appended to
    /// `text` (the model's `derived_text`, which must stay under 4 GiB: `MAX_DERIVED_BYTES`).
    pub(crate) fn new(
        processor: u32,
        parent: MsgId,
        topic: u32,
        key: Option<&str>,
        value: &str,
        text: &mut String,
    ) -> Derived {
        let start = text.len() as u32;
        text.push_str(key.unwrap_or_default());
        text.push_str(value);
        Derived {
            processor,
            parent,
            topic,
            text: start,
            key_len: key.map_or(NO_KEY, |k| k.len() as u32),
            value_len: value.len() as u32,
        }
    }

    /// Its key, read from the model's `derived_text`.
    pub fn key<'t>(&self, text: &'t str) -> Option<&'t str> {
        let start = self.text as usize;
        (self.key_len != NO_KEY).then(|| &text[start..start + self.key_len as usize])
    }

    /// Its value, read from the model's `derived_text`.
    pub fn value<'t>(&self, text: &'t str) -> &'t str {
        let start = self.text as usize + if self.key_len == NO_KEY { 0 } else { self.key_len as usize };
        &text[start..start + self.value_len as usize]
    }
}

/// One `send` statement, expanded lazily: message `first_msg + i - 1` is its `i`-th send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendSpec {
    pub topic: u32,
    pub partition: Option<u32>,
    pub key: Option<Template>,
    pub value: Template,
    pub count: u32,
    pub at_ms: u64,
    pub every_ms: u64,
    pub first_msg: MsgId,
    /// 1-based number of this statement's first send among the producer's sends.
    pub first_number: u32,
    /// The transaction (index in `ProducerConfig::transactions`) the sends belong to.
    pub txn: Option<u32>,
}

/// One `transaction { ... } commit|abort` block: its messages and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnSpec {
    pub first_msg: MsgId,
    /// One past the last message.
    pub end_msg: MsgId,
    pub commit: bool,
}

/// A key or value with `{i}` (index in the statement) and `{n}` (producer-wide send number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    pieces: Vec<Piece>,
    /// The bytes of its text pieces, and how many `{i}` and `{n}` it holds: a rendering's
    /// length without rendering it (the producer sizes every record).
    text_len: u64,
    indexes: u64,
    numbers: u64,
}

/// The length of some templates' renderings together, without rendering them: the bytes of
/// their text and how many `{i}` and `{n}` they hold (the producer sizes every record each
/// replica appends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderedLen {
    text: u64,
    indexes: u64,
    numbers: u64,
}

impl RenderedLen {
    pub fn of<'t>(templates: impl IntoIterator<Item = &'t Template>) -> RenderedLen {
        templates.into_iter().fold(RenderedLen::default(), |sum, t| RenderedLen {
            text: sum.text + t.text_len,
            indexes: sum.indexes + t.indexes,
            numbers: sum.numbers + t.numbers,
        })
    }

    /// The length in bytes of their `render(index, number)` (the digits of each counted once,
    /// and only if a template holds it).
    pub fn at(self, index: u32, number: u32) -> u64 {
        let digits = |x: u32| u64::from(x.checked_ilog10().unwrap_or(0) + 1);
        let mut len = self.text;
        if self.indexes > 0 {
            let d = digits(index);
            len += self.indexes * d;
            if self.numbers > 0 {
                len += self.numbers * if number == index { d } else { digits(number) };
            }
        } else if self.numbers > 0 {
            len += self.numbers * digits(number);
        }
        len
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    Text(String),
    Index,
    Number,
}

impl Template {
    pub fn parse(s: &str) -> Template {
        // One pass over the text: a search per placeholder kind from the start of what is left
        // made many placeholders quadratic.
        let mut pieces = Vec::new();
        let mut text_start = 0;
        let mut i = 0;
        let bytes = s.as_bytes();
        while i + 3 <= bytes.len() {
            let piece = match &bytes[i..i + 3] {
                b"{i}" => Piece::Index,
                b"{n}" => Piece::Number,
                _ => {
                    i += 1;
                    continue;
                }
            };
            if i > text_start {
                pieces.push(Piece::Text(s[text_start..i].to_string()));
            }
            pieces.push(piece);
            i += 3;
            text_start = i;
        }
        if text_start < s.len() {
            pieces.push(Piece::Text(s[text_start..].to_string()));
        }
        let count = |want: &Piece| pieces.iter().filter(|p| *p == want).count() as u64;
        let (indexes, numbers) = (count(&Piece::Index), count(&Piece::Number));
        let text_len = pieces.iter().map(|p| if let Piece::Text(t) = p { t.len() as u64 } else { 0 }).sum();
        Template { pieces, text_len, indexes, numbers }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// How many `{i}` and `{n}` the template holds.
    pub fn placeholders(&self) -> usize {
        (self.indexes + self.numbers) as usize
    }

    pub fn render(&self, index: u32, number: u32) -> String {
        let mut out = String::new();
        self.render_into(&mut out, index, number);
        out
    }

    /// Appends the rendered template to `out`.
    pub fn render_into(&self, out: &mut String, index: u32, number: u32) {
        // (Numbers written in place with `itoa`, not through `fmt`: the partitioner renders
        // every message's key.)
        let mut digits = itoa::Buffer::new();
        for p in &self.pieces {
            out.push_str(match p {
                Piece::Text(t) => t,
                Piece::Index => digits.format(index),
                Piece::Number => digits.format(number),
            });
        }
    }

    pub fn is_constant(&self) -> bool {
        self.placeholders() == 0
    }
}

/// `auto.offset.reset`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

/// `partition.assignment.strategy`: the assignors a member lists, in its order of preference
/// (Kafka 3.x Java consumer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Assignors {
    /// `range` (RangeAssignor, eager protocol).
    Range,
    /// `cooperative-sticky` (CooperativeStickyAssignor, KIP-429, 2.4+): the cooperative
    /// protocol.
    CooperativeSticky,
    /// `range,cooperative-sticky`, the 3.x default: the group uses range while every member
    /// lists it, and the member's protocol is eager (range supports no other).
    RangeCooperativeSticky,
}

impl Assignors {
    /// `ConsumerCoordinator`'s rebalance protocol: COOPERATIVE only when every assignor the
    /// member lists supports it.
    pub fn cooperative(self) -> bool {
        self == Assignors::CooperativeSticky
    }
}

/// A consumer's `group.protocol` and, for KIP-848's, the server-side assignor it asks for
/// (`group.remote.assignor`; the coordinator's default is the first of
/// `group.consumer.assignors`, `uniform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum GroupProtocol {
    Classic,
    /// `group.protocol consumer` with `UniformAssignor` (`uniform`, the default) or `RangeAssignor`.
    Consumer {
        range: bool,
    },
}

impl GroupProtocol {
    /// Whether this is KIP-848's consumer protocol.
    pub fn modern(self) -> bool {
        self != GroupProtocol::Classic
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerConfig {
    pub name: String,
    pub guarantee: Option<Guarantee>,
    pub group: u32,
    pub topics: Vec<u32>,
    pub max_poll_records: u32,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    pub commit: CommitMode,
    /// scn's own setting: simulated time to process one record.
    pub processing_time_ms: u64,
    pub session_timeout_ms: u64,
    /// `group.instance.id` (KIP-345): a static member, which a restart within
    /// session.timeout.ms does not take out of the group.
    pub group_instance_id: Option<String>,
    /// `partition.assignment.strategy` (default `range,cooperative-sticky`).
    pub assignors: Assignors,
    /// `group.protocol` (`classic`): `consumer` is KIP-848's protocol (Kafka 4.0), in which
    /// the coordinator assigns the partitions and heartbeats carry the assignment. Its members'
    /// `session_timeout_ms` and `heartbeat_interval_ms` are the broker's
    /// `group.consumer.*` settings.
    pub group_protocol: GroupProtocol,
    /// `heartbeat.interval.ms` (3000): how soon a member hears that its group rebalanced.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (300000): a member that does not poll again within it leaves
    /// the group (its heartbeat thread sends LeaveGroup).
    pub max_poll_interval_ms: u64,
    /// `fetch.max.wait.ms` (500): how long the leader holds an empty fetch.
    pub fetch_max_wait_ms: u64,
    /// `metadata.max.age.ms` (300000), as for producers.
    pub metadata_max_age_ms: u64,
    pub start_at_ms: u64,
    /// `isolation.level read_committed`: read below the last stable offset, skip aborted records.
    pub read_committed: bool,
    /// The processor this consumer is the input half of.
    pub processor: Option<u32>,
    /// `assign`: the partitions it reads, chosen by the application (no group membership).
    pub assigned: Option<Vec<PartitionIdx>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupConfig {
    pub name: String,
    /// Consumers (indices) that ever belong to this group.
    pub members: Vec<u32>,
    /// Topics any member subscribes to.
    pub topics: Vec<u32>,
    /// A real `group.id`. Without one (`assign` with no `group`), this entry only accounts for
    /// one consumer's processing and is named after it.
    pub group_id: bool,
    /// Its members `assign` their partitions (no membership, no rebalances).
    pub manual: bool,
    /// The partitions its members assign (empty for a subscribed group).
    pub partitions: Vec<PartitionIdx>,
}

impl GroupConfig {
    pub fn new(name: &str, group_id: bool, manual: bool) -> GroupConfig {
        GroupConfig {
            name: name.to_string(),
            members: Vec::new(),
            topics: Vec::new(),
            group_id,
            manual,
            partitions: Vec::new(),
        }
    }

    /// `group billing`, or `billing (no group)` for a consumer without a group.id.
    pub fn label(&self) -> String {
        if self.group_id { format!("group {}", self.name) } else { format!("{} (no group)", self.name) }
    }
}

/// A producer or consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Producer(u32),
    Consumer(u32),
}

/// One end of a network link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    Broker(BrokerId),
    /// A client (a processor as its consumer half: both halves share its network).
    Client(Client),
    /// The KRaft controller: brokers heartbeat to it and learn metadata from it.
    Controller,
}

/// One fault line, resolved. `name` is its stable identity, printed the way it is written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FaultSpec {
    pub name: String,
    pub span: Span,
    pub trigger: Trigger,
    pub action: FaultAction,
}

/// When a fault fires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// At a simulated time.
    At(u64),
    /// When the named client reaches a point of its own program.
    Point(Client, ClientPoint),
    /// When a condition first holds, plus a delay (`when ... restart X after 1s`).
    When(ConditionSpec, u64),
    /// For `restart X after T`: T after each crash of X.
    AfterCrash(u64),
    /// For `resume X after T`: T after each pause of X.
    AfterPause(u64),
    /// For `request lost` / `ack lost`: the matching produce request itself is the trigger.
    Request { producer: u32, msg: MsgId, attempt: u32 },
    /// For `request lost for C fetch N` and the like: the N-th request of that kind the client
    /// sends (or, `response`, the N-th response it gets).
    Message { client: Client, request: crate::ast::LostRequest, n: u32, response: bool },
}

/// A precise place in a client's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientPoint {
    AfterPoll(u32),
    AfterCommit(u32),
    /// Before processing a message, but only once a commit followed the poll that returned it.
    AfterCommitBeforeProcessing(MsgId),
    BeforeProcessing(MsgId),
    AfterProcessing(MsgId),
    AfterSend(u32),
    /// An exactly-once processor's N-th sendOffsetsToTransaction returned.
    AfterOffsets(u32),
    /// An exactly-once processor's N-th EndTxn(COMMIT) was sent.
    AfterCommitRequest(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConditionSpec {
    Commits { consumer: u32, offset: u64, partition: Option<PartitionIdx> },
    Acked { producer: u32, msg: MsgId },
    Processes { consumer: u32, msg: MsgId },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FaultAction {
    LoseRequest,
    LoseAck,
    CrashBroker(BrokerId),
    /// A controlled shutdown: leaderships move first, then the broker stops.
    ShutdownBroker(BrokerId),
    CrashLeaderOf(PartitionIdx),
    CrashClient(Client),
    RestartBroker(BrokerId),
    RestartClient(Client),
    PauseClient(Client),
    ResumeClient(Client),
    PauseBroker(BrokerId),
    ResumeBroker(BrokerId),
    /// Cut these links (both directions).
    Partition(Vec<(Node, Node)>),
    /// Restore every cut link.
    Heal,
    /// DeleteRecords (`Admin.deleteRecords`): the leader's log start offset up to this offset.
    DeleteRecords(PartitionIdx, u64),
}

/// A variable of the status tracker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrackVar {
    HighWatermark(PartitionIdx),
    LogEndOffset(PartitionIdx),
    /// The leader's log start offset (retention and DeleteRecords raise it).
    LogStartOffset(PartitionIdx),
    LastStableOffset(PartitionIdx),
    Leader(PartitionIdx),
    Isr(PartitionIdx),
    Position(u32),
    Committed(u32),
    ConsumerState(u32),
    Retries(u32),
    Acked(u32),
    MessageState(MsgId),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExpectSpec {
    /// The expectation as written, for the report.
    pub text: String,
    pub span: Span,
    pub check: ExpectCheck,
}

/// Whose processing an expectation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Consumer(u32),
    Group(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExpectCheck {
    Lost {
        value: u64,
        scope: Option<Who>,
    },
    Duplicates {
        value: u64,
        scope: Option<Who>,
    },
    Delivered {
        value: u64,
        scope: Option<Who>,
    },
    /// Messages a group never processed because they were deleted (retention, DeleteRecords)
    /// before its position reached them: in one group's scope, or in any group's.
    LostToRetention {
        value: u64,
        scope: Option<Who>,
    },
    Message {
        msg: MsgId,
        outcome: OutcomeKind,
    },
    Log {
        partition: PartitionIdx,
        values: Vec<String>,
    },
    ProcessedList {
        who: Who,
        values: Vec<String>,
    },
    ProcessedCount {
        who: Who,
        count: u64,
    },
}

impl Model {
    /// Whether `msg` is a processor's output record.
    pub fn is_derived(&self, msg: MsgId) -> bool {
        msg >= self.sent_messages
    }

    pub fn derived(&self, msg: MsgId) -> &Derived {
        &self.derived[(msg - self.sent_messages) as usize]
    }

    /// The send statement that produced `msg`, and the message's 1-based index in it
    /// (plain producers' messages only).
    pub fn send_of(&self, msg: MsgId) -> (u32, &SendSpec, u32) {
        let p = self.producer_of(msg);
        let sends = &self.producers[p as usize].sends;
        let k = sends.partition_point(|s| s.first_msg <= msg) - 1;
        let s = &sends[k];
        (p, s, msg - s.first_msg + 1)
    }

    /// The statement's transaction block, if the message was sent in one.
    pub fn txn_of(&self, msg: MsgId) -> Option<u32> {
        if self.is_derived(msg) { None } else { self.send_of(msg).1.txn }
    }

    pub fn producer_of(&self, msg: MsgId) -> u32 {
        // Producers are in message order; one with no messages shares its first id with the next,
        // which wins the tie.
        (self.producers.partition_point(|p| p.first_msg <= msg) - 1) as u32
    }

    /// Where `msg` comes from, looked up once for a caller that asks several things of it.
    pub fn origin(&self, msg: MsgId) -> Origin<'_> {
        if self.is_derived(msg) {
            Origin::Derived(self.derived(msg), &self.derived_text)
        } else {
            let (_, spec, index) = self.send_of(msg);
            Origin::Sent { spec, index }
        }
    }

    pub fn topic_of(&self, msg: MsgId) -> u32 {
        self.origin(msg).topic()
    }

    /// The partition a `send ... partition P` fixed, if any.
    pub fn fixed_partition(&self, msg: MsgId) -> Option<u32> {
        self.origin(msg).fixed_partition()
    }

    /// The message's value as the producer sent it.
    pub fn value(&self, msg: MsgId) -> String {
        let mut value = String::new();
        self.origin(msg).value_into(&mut value);
        value
    }

    /// `f` of the message's key, if it has one, without allocating it: the partitioner hashes
    /// every message's key.
    pub fn with_key<R>(&self, msg: MsgId, f: impl FnOnce(&str) -> R) -> Option<R> {
        self.origin(msg).with_key(f)
    }

    pub fn key(&self, msg: MsgId) -> Option<String> {
        let mut key = String::new();
        self.origin(msg).key_into(&mut key).then_some(key)
    }

    /// The messages a producer sends: its own, or for a processor instance the outputs of its
    /// application (instances of one application share them): (first id, count).
    pub fn message_range(&self, p: u32) -> (MsgId, u32) {
        let cfg = &self.producers[p as usize];
        match cfg.processor {
            Some(pi) => {
                let outs = &self.processors[pi as usize].outputs_of;
                let first = outs.values().map(|v| v.0).min().unwrap_or(cfg.first_msg);
                let end = outs.values().map(|v| v.0 + v.1).max().unwrap_or(cfg.first_msg);
                (first, end - first)
            }
            None => (cfg.first_msg, cfg.message_count),
        }
    }

    /// 1-based send number of `msg` within its producer (`shop send 3`).
    pub fn send_number(&self, msg: MsgId) -> u32 {
        let p = self.producer_of(msg);
        msg - self.producers[p as usize].first_msg + 1
    }

    pub fn partition_name(&self, p: PartitionIdx) -> &str {
        &self.partitions[p as usize].name
    }

    pub fn client_name(&self, c: Client) -> &str {
        match c {
            Client::Producer(p) => &self.producers[p as usize].name,
            Client::Consumer(c) => &self.consumers[c as usize].name,
        }
    }
}

#[cfg(test)]
mod version_tests {
    use super::KafkaVersion;

    fn cluster(version: &str, unclean: bool) -> super::ClusterConfig {
        let source = format!(
            "scenario \"v\"\ncluster {{\n  brokers 1\n  kafka.version {version}\n  unclean.leader.election.enable {unclean}\n  topic t {{ partitions 1 }}\n}}\nproducer p {{ send 1 to t }}\n"
        );
        crate::check::check(&crate::parse::parse(&source).expect("parses")).expect("checks").cluster
    }

    #[test]
    fn versions_select_their_rules() {
        assert_eq!(KafkaVersion::parse("3.8"), Some(KafkaVersion { major: 3, minor: 8 }));
        assert_eq!(KafkaVersion::parse("4.0"), Some(KafkaVersion { major: 4, minor: 0 }));
        assert_eq!(KafkaVersion::parse("4.1"), None, "4.1 is not modelled");
        assert_eq!(KafkaVersion::parse(KafkaVersion::DEFAULT).map(|v| v.to_string()).as_deref(), Some("3.9"));
        // KIP-580 (3.7): exponential, capped at retry.backoff.max.ms; before, constant.
        let (old, new) = (cluster("3.6", false), cluster("3.7", false));
        assert_eq!([1, 2, 3, 5, 9].map(|n| old.retry_backoff(100, 1000, n)), [100; 5]);
        assert_eq!([1, 2, 3, 5, 9].map(|n| new.retry_backoff(100, 1000, n)), [100, 200, 400, 1000, 1000]);
        assert_eq!([1, 2, 3].map(|n| new.retry_backoff(100, 250, n)), [100, 200, 250]);
        assert_eq!(new.retry_backoff(2000, 1000, 3), 1000, "a retry.backoff.ms above the max: the max, constant");
        assert_eq!(new.retry_backoff(2000, 1000, 1), 1000, "from the first retry");
        assert_eq!(old.retry_backoff(2000, 1000, 1), 2000, "before 3.7 retry.backoff.max.ms does not exist");
        // KAFKA-15583 (3.7): the high watermark waits for the effective min ISR.
        assert!(!old.high_watermark_min_isr && new.high_watermark_min_isr);
        // KAFKA-12670 (3.9): KRaft acts on unclean.leader.election.enable.
        assert!(!cluster("3.8", true).unclean_elections());
        assert!(cluster("3.9", true).unclean_elections());
        assert!(!cluster("3.9", false).unclean_elections());
        // KIP-890 part 2: a new 4.0 cluster runs transaction.version 2; 3.x cannot.
        assert!(cluster("4.0", false).transactions_v2());
        assert!(!cluster("3.9", false).transactions_v2());
    }

    /// `transaction.version` 0 on 4.0 turns transactions v2 off; 1 or 2 on 3.x is an error at
    /// the setting; linger.ms defaults to 5 from 4.0 (KIP-1030).
    #[test]
    fn kafka_4_0_defaults_and_transaction_version() {
        let model = |cluster: &str, producer: &str| {
            let source = format!(
                "scenario \"v\"\ncluster {{\n  brokers 1\n{cluster}\n  topic t {{ partitions 1 }}\n}}\nproducer p {{\n{producer}\n  send 1 to t\n}}\n"
            );
            crate::check::check(&crate::parse::parse(&source).expect("parses"))
        };
        let m = model("  kafka.version 4.0\n  transaction.version 0", "").expect("checks");
        assert!(!m.cluster.transactions_v2());
        assert_eq!(m.producers[0].linger_ms, 5);
        assert_eq!(model("  kafka.version 3.9", "").expect("checks").producers[0].linger_ms, 0);
        assert_eq!(model("  kafka.version 4.0", "  linger.ms 0").expect("checks").producers[0].linger_ms, 0);
        let err = model("  kafka.version 3.9\n  transaction.version 2", "").expect_err("3.9 has no TV_2");
        let text = format!("{err:?}");
        assert!(text.contains("needs kafka.version 4.0"), "{text}");
    }
}
