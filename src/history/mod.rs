//! A recorded history: every operation the scenario's clients did and what came of it (sends
//! with their acknowledgements, errors and offsets, polls with their records, processing,
//! commits, transactions' outcomes, crashes), plus a final read of every partition. The
//! checker in [`check`] judges a history alone, so a simulated run ([`sim::from_run`]) and a
//! run against a real broker (`scn conform`) are judged by the same code.

pub mod check;
pub mod sim;

use crate::model::{MsgId, PartitionIdx};
use serde::Serialize;

/// Everything a run recorded, in the order it happened.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct History {
    /// Where the history comes from: `simulation` or the broker's address.
    pub source: String,
    pub ops: Vec<Op>,
    /// What a read_committed reader found in each partition once the clients had stopped, from
    /// offset 0 (Jepsen's final read): the committed log.
    pub final_read: Vec<PartitionRead>,
}

/// One partition's records as the final read returned them.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct PartitionRead {
    pub partition: PartitionIdx,
    pub records: Vec<Polled>,
    /// Why the read stopped short, when it did (the run's deadline, an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// A record a poll returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Polled {
    pub partition: PartitionIdx,
    /// None where the recorder does not know it (a simulated history's polls).
    pub offset: Option<u64>,
    /// The scenario's message the record carries (its `scn-msg` header), None for a record no
    /// scenario client wrote.
    pub msg: Option<MsgId>,
}

/// The outcome of one send().
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SendResult {
    /// The producer got an acknowledgement (with acks=0: the send was handed to the network).
    Acked { partition: PartitionIdx, offset: Option<u64> },
    /// The producer got this error.
    Failed { error: String },
    /// No answer before the producer crashed or the run ended.
    Unknown,
}

/// How a transaction ended, as its producer learnt it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TxnOutcome {
    /// commitTransaction returned.
    Committed,
    /// abortTransaction returned, or commitTransaction failed and the transaction aborted.
    Aborted,
    /// The producer crashed (or the run ended) before the transaction ended.
    Unknown,
}

/// A client of the scenario, by its index in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClientRef {
    Producer(u32),
    Consumer(u32),
}

/// One operation of a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// A producer's send() of a scenario message (at `at_ms`) and its outcome (at `done_ms`).
    Send {
        at_ms: u64,
        producer: u32,
        incarnation: u32,
        msg: MsgId,
        result: SendResult,
        #[serde(skip_serializing_if = "Option::is_none")]
        done_ms: Option<u64>,
    },
    /// A consumer's poll and the records it returned.
    Poll { at_ms: u64, consumer: u32, incarnation: u32, records: Vec<Polled> },
    /// A consumer finished processing a record.
    Process { at_ms: u64, consumer: u32, incarnation: u32, record: Polled },
    /// A consumer's commit of the offsets it names (the next offset to read).
    Commit {
        at_ms: u64,
        consumer: u32,
        incarnation: u32,
        offsets: Vec<(PartitionIdx, u64)>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A consumer moved its positions back to these offsets (an exactly-once processor after
    /// an aborted transaction seeks to its committed offsets).
    Seek { at_ms: u64, consumer: u32, incarnation: u32, offsets: Vec<(PartitionIdx, u64)> },
    /// The group gave a consumer these partitions (after it had revoked the earlier ones).
    Assigned { at_ms: u64, consumer: u32, incarnation: u32, partitions: Vec<PartitionIdx> },
    /// A transaction of a producer, with the messages sent in it.
    Txn {
        at_ms: u64,
        producer: u32,
        incarnation: u32,
        msgs: Vec<MsgId>,
        outcome: TxnOutcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The producer id and epoch an InitProducerId response handed a producer (read on the
    /// wire by the fault proxy: the client library does not expose them).
    ProducerId {
        at_ms: u64,
        producer: u32,
        incarnation: u32,
        producer_id: i64,
        epoch: i16,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A record batch of a Produce request as it went on the wire (producer id -1: neither
    /// idempotent nor transactional), and what the response said of its partition.
    Produce {
        at_ms: u64,
        producer: u32,
        incarnation: u32,
        partition: PartitionIdx,
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
        records: i32,
        /// None: accepted; else Kafka's error name.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Whether a response reached the client (a lost request or ack, a crash: no).
        answered: bool,
    },
    /// A client crashed (dropped without closing).
    Crash { at_ms: u64, client: ClientRef, incarnation: u32 },
    /// A new instance of a client started.
    Start { at_ms: u64, client: ClientRef, incarnation: u32 },
    /// A fault was injected, or could not be: its fault line and what became of it.
    Fault { at_ms: u64, fault: String, injected: bool, note: String },
}
