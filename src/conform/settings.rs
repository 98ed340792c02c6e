//! The scenario's client settings as librdkafka configuration (names as librdkafka's
//! CONFIGURATION.md spells them; where it differs from the Java client's, the comment says).

use super::Names;
use crate::model::{Acks, ConsumerConfig, Model, OffsetReset, ProducerConfig};
use rdkafka::ClientConfig;

pub fn producer(c: &mut ClientConfig, p: &ProducerConfig, names: &Names) {
    c.set(
        "acks",
        match p.acks {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        },
    )
    .set("retries", p.retries.min(i32::MAX as u32).to_string())
    .set("enable.idempotence", p.enable_idempotence.to_string())
    .set("max.in.flight.requests.per.connection", p.max_in_flight.max(1).to_string())
    .set("delivery.timeout.ms", p.delivery_timeout_ms.to_string())
    .set("request.timeout.ms", p.request_timeout_ms.to_string())
    // librdkafka's request.timeout.ms covers Produce requests only; its socket.timeout.ms is
    // the timeout of every other request (InitProducerId, Metadata...), as the Java client's
    // request.timeout.ms is.
    .set("socket.timeout.ms", p.request_timeout_ms.max(10).to_string())
    .set("retry.backoff.ms", p.retry_backoff_ms.max(1).to_string())
    .set("metadata.max.age.ms", p.metadata_max_age_ms.to_string())
    // librdkafka's batch.size is in bytes too; linger.ms 0 as the Java client's before 4.0.
    .set("batch.size", p.batch_size.clamp(1, 2_147_483_647).to_string())
    .set("linger.ms", "0")
    // The Java client's partitioner: murmur2 of the key (librdkafka's default is crc32).
    .set("partitioner", "murmur2_random");
    if let Some(id) = &p.transactional_id {
        // librdkafka refuses a delivery timeout above the transaction timeout.
        c.set("transactional.id", names.transactional_id(id))
            .set("transaction.timeout.ms", p.transaction_timeout_ms.to_string())
            .set("delivery.timeout.ms", p.delivery_timeout_ms.min(p.transaction_timeout_ms).to_string());
    }
}

pub fn consumer(c: &mut ClientConfig, model: &Model, k: &ConsumerConfig, names: &Names) {
    let group = &model.groups[k.group as usize];
    // librdkafka wants a group.id even to assign(): a group-less consumer gets one of its own
    // and commits nothing.
    let group_id = if group.group_id { names.group(&group.name) } else { names.group(&format!("{}-nogroup", k.name)) };
    c.set("group.id", group_id)
        .set("enable.auto.commit", (k.enable_auto_commit && group.group_id).to_string())
        .set("auto.commit.interval.ms", k.auto_commit_interval_ms.max(1).to_string())
        // The scenario's commits are explicit; the stored offset moves only with them.
        .set("enable.auto.offset.store", "true")
        .set(
            "auto.offset.reset",
            match k.auto_offset_reset {
                OffsetReset::Earliest => "earliest",
                OffsetReset::Latest => "latest",
                OffsetReset::None => "error",
            },
        )
        .set("isolation.level", if k.read_committed { "read_committed" } else { "read_uncommitted" })
        .set("max.poll.interval.ms", k.max_poll_interval_ms.max(k.session_timeout_ms).to_string())
        .set("fetch.wait.max.ms", k.fetch_max_wait_ms.to_string())
        .set("metadata.max.age.ms", k.metadata_max_age_ms.to_string())
        .set("enable.partition.eof", "false");
    match k.group_protocol {
        // KIP-848 (librdkafka 2.4+, against a broker that runs it, Apache Kafka 4.0): the
        // broker sets the session and the heartbeat interval, and assigns.
        crate::model::GroupProtocol::Consumer { range } => {
            c.set("group.protocol", "consumer").set("group.remote.assignor", if range { "range" } else { "uniform" })
        }
        crate::model::GroupProtocol::Classic => c
            .set("session.timeout.ms", k.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", k.heartbeat_interval_ms.min(k.session_timeout_ms / 3).max(1).to_string()),
    };
}
