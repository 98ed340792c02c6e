//! The typed syntax tree of a `.scn` file: what the user wrote, with a span on every piece.
//!
//! Nothing here is resolved or defaulted; `check` turns it into a [`crate::model::Model`].

use crate::diag::Span;

/// A value with the byte range of the source text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A whole scenario file.
#[derive(Debug, Clone)]
pub struct File {
    /// `scenario "title"`
    pub title: Spanned<String>,
    /// `description "..."`
    pub description: Option<Spanned<String>>,
    /// `seed 42`
    pub seed: Option<Spanned<u64>>,
    /// `run for 60s`
    pub run_for: Option<Spanned<u64>>,
    /// `network { latency 2ms }`: every `network` block's settings, in order.
    pub network: Vec<Setting>,
    /// `cluster { ... }`; `None` when the file has no cluster block.
    pub cluster: Option<Spanned<Cluster>>,
    pub producers: Vec<Producer>,
    pub consumers: Vec<Consumer>,
    pub processors: Vec<Processor>,
    pub faults: Vec<Spanned<Fault>>,
    /// `track [a, b]`; `None` picks the default variables.
    pub track: Option<Vec<Spanned<String>>>,
    pub expects: Vec<Spanned<Expect>>,
}

/// `config.key value`
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: Spanned<String>,
    pub value: Spanned<Value>,
}

/// A config value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `42`, `-1`
    Int(i64),
    /// `250ms`, `2s`, `1m` (stored in milliseconds)
    Duration(u64),
    /// `true` / `false`
    Bool(bool),
    /// `"text"`
    Str(String),
    /// `all`, `earliest`
    Word(String),
}

/// `cluster { brokers 3  topic orders { ... }  default.replication.factor 3 }`
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// `brokers 3`
    pub brokers: Option<Spanned<u64>>,
    pub topics: Vec<Topic>,
    /// Broker-level settings such as `unclean.leader.election.enable`.
    pub settings: Vec<Setting>,
}

/// `topic orders { partitions 3  replication.factor 3  min.insync.replicas 2 }`
#[derive(Debug, Clone)]
pub struct Topic {
    pub name: Spanned<String>,
    pub settings: Vec<Setting>,
}

/// The three delivery guarantees a preset can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// `guarantee at-most-once`
    AtMostOnce,
    /// `guarantee at-least-once`
    AtLeastOnce,
    /// `guarantee exactly-once`
    ExactlyOnce,
}

impl Guarantee {
    pub fn as_str(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::AtLeastOnce => "at-least-once",
            Guarantee::ExactlyOnce => "exactly-once",
        }
    }
}

/// `producer shop { guarantee ...  acks all  send 5 to orders ... }`
#[derive(Debug, Clone)]
pub struct Producer {
    pub name: Spanned<String>,
    pub guarantee: Option<Spanned<Guarantee>>,
    pub settings: Vec<Setting>,
    /// Every send, in order, including those inside `transaction` blocks.
    pub sends: Vec<Spanned<Send>>,
    /// `transaction { ... } commit`: which of `sends` each transaction holds.
    pub transactions: Vec<Spanned<Transaction>>,
}

/// `transaction { send ... } commit` / `transaction { send ... } abort`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Index in `Producer::sends` of the first send inside the block.
    pub first_send: usize,
    /// How many send statements the block holds.
    pub sends: usize,
    /// `commit` (true) or `abort` (false).
    pub commit: bool,
}

/// `send [N] to TOPIC [key "k{i}"] [value "v{i}"] [partition P] [at T] [every T]`
#[derive(Debug, Clone)]
pub struct Send {
    /// `N`; `None` means one message.
    pub count: Option<Spanned<u64>>,
    pub topic: Spanned<String>,
    pub key: Option<Spanned<String>>,
    pub value: Option<Spanned<String>>,
    pub partition: Option<Spanned<u64>>,
    /// `at 100ms`: when the first of these sends happens.
    pub at: Option<Spanned<u64>>,
    /// `every 10ms`: the gap between generated sends.
    pub every: Option<Spanned<u64>>,
}

/// Where a consumer commits its offsets relative to processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitMode {
    /// `commit before-processing`: commitSync right after poll returns.
    BeforeProcessing,
    /// `commit after-processing`: commitSync after the polled records are processed.
    AfterProcessing,
    /// `commit none`: no manual commit (auto-commit may still commit).
    None,
}

/// `consumer billing { subscribe orders group billing  max.poll.records 2  commit after-processing }`
#[derive(Debug, Clone)]
pub struct Consumer {
    pub name: Spanned<String>,
    pub guarantee: Option<Spanned<Guarantee>>,
    /// `subscribe t1, t2 group g`; several statements are an error reported by `check`.
    pub subscribes: Vec<Spanned<Subscribe>>,
    /// `assign t-0, t-1 [group g]`; instead of `subscribe`.
    pub assigns: Vec<Spanned<Assign>>,
    pub commit: Option<Spanned<CommitMode>>,
    /// `start at 100ms`
    pub start_at: Option<Spanned<u64>>,
    pub settings: Vec<Setting>,
}

/// `assign orders-0, orders-1 [group billing]`: partitions chosen by the application; the
/// group, if any, only stores committed offsets.
#[derive(Debug, Clone)]
pub struct Assign {
    pub partitions: Vec<Spanned<PartitionRef>>,
    pub group: Option<Spanned<String>>,
}

/// `subscribe orders, payments group billing`
#[derive(Debug, Clone)]
pub struct Subscribe {
    pub topics: Vec<Spanned<String>>,
    pub group: Spanned<String>,
}

/// `processor NAME { guarantee exactly-once  consume T group G  output T2 value EXPR ... }`
#[derive(Debug, Clone)]
pub struct Processor {
    pub name: Spanned<String>,
    pub guarantee: Option<Spanned<Guarantee>>,
    /// `consume t1, t2 group g` (like a consumer's `subscribe`).
    pub consumes: Vec<Spanned<Subscribe>>,
    pub outputs: Vec<Spanned<Output>>,
    /// `start at 100ms`
    pub start_at: Option<Spanned<u64>>,
    /// Consumer and producer settings, and the processor's own (`seek.on.abort`).
    pub settings: Vec<Setting>,
}

/// `output TOPIC [key EXPR] [value EXPR] [when EXPR]`
#[derive(Debug, Clone)]
pub struct Output {
    pub topic: Spanned<String>,
    /// Without `key` the output keeps the input's key.
    pub key: Option<Spanned<Expr>>,
    /// Without `value` the output keeps the input's value.
    pub value: Option<Spanned<Expr>>,
    /// Without `when` every input record gives one output record.
    pub when: Option<Spanned<Expr>>,
}

/// An expression over the input record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `"text"`
    Str(String),
    /// `42`
    Int(i64),
    /// `key`
    Key,
    /// `value`
    Value,
    /// `upper(value)`
    Call(Func, Vec<Spanned<Expr>>),
    /// `a + b`, `a == b`, `a && b`
    Binary(BinOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    /// `!a`
    Not(Box<Spanned<Expr>>),
}

/// A built-in function of the expression language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Upper,
    Lower,
    Int,
    Str,
    Len,
}

/// A binary operator, lowest precedence first: `||`, `&&`, comparisons, `+ -`, `* / %`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// One line of the `faults` block.
#[derive(Debug, Clone)]
pub enum Fault {
    /// `request lost for shop send 2 [attempt 1]`: the produce request never reaches the broker.
    RequestLost { producer: Spanned<String>, send: Spanned<u64>, attempt: Option<Spanned<u64>> },
    /// `ack lost for shop send 2 [attempt 1]`: the broker wrote the batch; its response is lost.
    AckLost { producer: Spanned<String>, send: Spanned<u64>, attempt: Option<Spanned<u64>> },
    /// `request lost for billing fetch 3` / `ack lost for shop txn 1`: the N-th request of a
    /// kind a client sends (retries count), or its response.
    MessageLost { response: bool, client: Spanned<String>, request: Spanned<LostRequest>, n: Spanned<u64> },
    /// `crash TARGET [POINT]` (no point: crash at time 0 is an error; `check` demands one)
    Crash { target: Spanned<Target>, point: Option<Spanned<Point>> },
    /// `restart TARGET at T` / `restart TARGET after T`
    Restart { target: Spanned<Target>, time: Spanned<RestartTime> },
    /// `partition A from B[, C...] at T`: the links between A and each of B, C... lose every
    /// message until healed. An endpoint is `broker N` or a client.
    Partition { from: Spanned<Target>, to: Vec<Spanned<Target>>, at: Spanned<u64> },
    /// `heal at T`: every partitioned link works again.
    Heal { at: Spanned<u64> },
    /// `shutdown broker N at T`: a controlled shutdown.
    Shutdown { broker: Spanned<u64>, at: Spanned<u64> },
    /// `pause CLIENT at T` / `pause broker N at T`: the process freezes; events for it wait
    /// until it resumes.
    Pause { who: Spanned<Target>, at: Spanned<u64> },
    /// `resume CLIENT|broker N at T` / `... after T` (after each pause)
    Resume { who: Spanned<Target>, time: Spanned<RestartTime> },
    /// `delete records orders-0 before 10 at T`: DeleteRecords raises the partition's log start
    /// offset to 10 (an administrator's action, not a fault).
    DeleteRecords { partition: Spanned<PartitionRef>, before: Spanned<u64>, at: Spanned<u64> },
    /// `when CONDITION crash ...` / `when CONDITION restart ...`
    When { condition: Spanned<Condition>, action: Box<Spanned<Fault>> },
}

/// A kind of request a `lost` fault counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LostRequest {
    /// A consumer's fetch.
    Fetch,
    /// A consumer's OffsetCommit.
    Commit,
    /// A transactional producer's request to its transaction coordinator.
    Txn,
    /// A WriteTxnMarkers the coordinator sends for a transactional producer.
    Marker,
}

impl LostRequest {
    pub fn word(self) -> &'static str {
        match self {
            LostRequest::Fetch => "fetch",
            LostRequest::Commit => "commit",
            LostRequest::Txn => "txn",
            LostRequest::Marker => "marker",
        }
    }
}

/// What a crash or restart applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `broker 1`
    Broker(u64),
    /// `leader of orders-0`: whichever broker leads the partition when the fault fires.
    LeaderOf(PartitionRef),
    /// `billing`, `shop`: a producer or consumer by name.
    Client(String),
    /// `controller` (only as a `partition` endpoint).
    Controller,
}

/// `orders-0`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRef {
    pub topic: String,
    pub partition: u64,
}

/// When a crash happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// `at 120ms`
    At(u64),
    /// `after poll N`: after the N-th poll that returned records.
    AfterPoll(u64),
    /// `after commit [N]`: after the N-th successful offset commit (default 1).
    AfterCommit(Option<u64>),
    /// `after commit, before processing MSG`
    AfterCommitBeforeProcessing(MessageRef),
    /// `after send N`: after the producer's N-th `send()` returned.
    AfterSend(u64),
    /// `before processing MSG`
    BeforeProcessing(MessageRef),
    /// `after processing MSG`
    AfterProcessing(MessageRef),
    /// `after sending offsets N`: the N-th sendOffsetsToTransaction returned.
    AfterOffsets(u64),
    /// `after requesting commit N`: the N-th EndTxn(COMMIT) is on its way.
    AfterCommitRequest(u64),
}

/// A message named by its value: `message3` or `"order 3"`; or by its send, `shop send 3`
/// (then the text is `shop send 3` and the second field names the producer and the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef(pub String, pub Option<(String, u64)>);

impl MessageRef {
    /// The reference as the language writes it: `shop send 3`, or the value (see
    /// [`MessageRef::source_text`]).
    pub fn text(&self) -> String {
        match self.1 {
            Some(_) => self.0.clone(),
            None => MessageRef::source_text(&self.0),
        }
    }

    /// The value as the language writes it, so that a fault name pastes back into a scenario:
    /// bare when it is a `name` (`message3`), else quoted with the string escapes (`"500"`).
    pub fn source_text(value: &str) -> String {
        let bare = value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if bare {
            return value.to_string();
        }
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// `at T` or `after T` (relative to the target's crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartTime {
    /// `at 300ms`
    At(u64),
    /// `after 100ms`
    After(u64),
}

/// The event a `when` fault waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `billing commits offset 4 [on orders-0]`
    Commits { consumer: Spanned<String>, offset: u64, partition: Option<Spanned<PartitionRef>> },
    /// `shop send 3 is acked`
    Acked { producer: Spanned<String>, send: u64 },
    /// `billing processes message3`
    Processes { consumer: Spanned<String>, message: Spanned<MessageRef> },
}

/// Outcome classes an expectation can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    Lost,
    Delivered,
    Duplicated,
    Failed,
    Aborted,
}

/// Which count an expectation checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountKind {
    Lost,
    Duplicates,
    Delivered,
    /// `lost to retention`: never processed because retention or DeleteRecords deleted them
    /// before the group's position reached them.
    LostToRetention,
}

/// One line of the `expect` block.
#[derive(Debug, Clone)]
pub enum Expect {
    /// `lost 2`, `duplicates 0 for billing`, `delivered 5`, `lost to retention 6`
    Count { kind: CountKind, value: u64, scope: Option<Spanned<String>> },
    /// `message message3 lost`
    Message { message: Spanned<MessageRef>, outcome: OutcomeKind },
    /// `log orders-0 [message1, message2]`
    Log { partition: Spanned<PartitionRef>, values: Vec<Spanned<MessageRef>> },
    /// `billing processed [message1, message2]` (a consumer or a group)
    ProcessedList { who: Spanned<String>, values: Vec<Spanned<MessageRef>> },
    /// `billing processed 3`
    ProcessedCount { who: Spanned<String>, count: u64 },
}
