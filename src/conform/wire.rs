//! Just enough of Kafka's wire protocol for the fault proxy: frame headers (api key, version,
//! correlation id); the two responses that name brokers' addresses (Metadata and
//! FindCoordinator), rewritten so that clients keep talking through the proxy; and what the
//! client library does not expose, read as it passes: the producer id and epoch an
//! InitProducerId response hands out, each Produce request's record batches (producer id,
//! epoch, base sequence) and the error its response gives each partition. Field layouts
//! follow Kafka's `clients/src/main/resources/common/message/*.json` (MetadataResponse,
//! FindCoordinatorResponse, InitProducerIdResponse, ProduceRequest, ProduceResponse) and the
//! record batch of `DefaultRecordBatch`.

/// Kafka's api keys the proxy tells apart.
pub mod api {
    pub const PRODUCE: i16 = 0;
    pub const FETCH: i16 = 1;
    pub const METADATA: i16 = 3;
    pub const OFFSET_COMMIT: i16 = 8;
    pub const FIND_COORDINATOR: i16 = 10;
    pub const INIT_PRODUCER_ID: i16 = 22;
    pub const ADD_PARTITIONS_TO_TXN: i16 = 24;
    pub const ADD_OFFSETS_TO_TXN: i16 = 25;
    pub const END_TXN: i16 = 26;
    pub const TXN_OFFSET_COMMIT: i16 = 28;
}

/// A request's header: (api key, api version, correlation id), or None for a frame too short.
pub fn request_header(frame: &[u8]) -> Option<(i16, i16, i32)> {
    let b = frame.get(..8)?;
    Some((
        i16::from_be_bytes([b[0], b[1]]),
        i16::from_be_bytes([b[2], b[3]]),
        i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

/// A response's correlation id.
pub fn response_correlation(frame: &[u8]) -> Option<i32> {
    let b = frame.get(..4)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|s| i16::from_be_bytes([s[0], s[1]]))
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8).map(|s| i64::from_be_bytes(s.try_into().expect("8 bytes")))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A (nullable) string, compact (uvarint length + 1) in flexible versions.
    fn string(&mut self, compact: bool) -> Option<Option<&'a str>> {
        let len: i64 = if compact { self.uvarint()? as i64 - 1 } else { i64::from(self.i16()?) };
        if len < 0 {
            return Some(None);
        }
        std::str::from_utf8(self.take(len as usize)?).ok().map(Some)
    }
    /// (Nullable) bytes, compact in flexible versions.
    fn bytes(&mut self, compact: bool) -> Option<Option<&'a [u8]>> {
        let len: i64 = if compact { self.uvarint()? as i64 - 1 } else { i64::from(self.i32()?) };
        if len < 0 {
            return Some(None);
        }
        self.take(len as usize).map(Some)
    }
    fn array_len(&mut self, compact: bool) -> Option<usize> {
        let n: i64 = if compact { self.uvarint()? as i64 - 1 } else { i64::from(self.i32()?) };
        Some(n.max(0) as usize)
    }
    /// Skips a tagged-fields section.
    fn tagged(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Some(())
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_string(out: &mut Vec<u8>, s: &str, compact: bool) {
    if compact {
        put_uvarint(out, s.len() as u64 + 1);
    } else {
        out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Rewrites the broker addresses a Metadata or FindCoordinator response names: `map(host,
/// port)` gives the address the client should use instead. None when the frame is not one
/// of them or does not parse (it is then forwarded as it is).
pub fn rewrite_addresses(
    api_key: i16,
    version: i16,
    frame: &[u8],
    map: &mut dyn FnMut(&str, i32) -> (String, i32),
) -> Option<Vec<u8>> {
    match api_key {
        api::METADATA => rewrite_metadata(version, frame, map),
        api::FIND_COORDINATOR => rewrite_find_coordinator(version, frame, map),
        _ => None,
    }
}

/// One broker's (node id, host, port) as both responses lay it out, rewritten through `map`.
fn broker_address(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    flexible: bool,
    map: &mut dyn FnMut(&str, i32) -> (String, i32),
) -> Option<()> {
    let node = r.i32()?;
    let host = r.string(flexible)??;
    let port = r.i32()?;
    let (host, port) = map(host, port);
    out.extend_from_slice(&node.to_be_bytes());
    put_string(out, &host, flexible);
    out.extend_from_slice(&port.to_be_bytes());
    Some(())
}

fn rewrite_metadata(v: i16, frame: &[u8], map: &mut dyn FnMut(&str, i32) -> (String, i32)) -> Option<Vec<u8>> {
    let flexible = v >= 9;
    let mut r = Reader { b: frame, at: 4 };
    if flexible {
        r.tagged()?;
    }
    if v >= 3 {
        r.i32()?;
    }
    let mut out = frame[..r.at].to_vec();
    let n = r.array_len(flexible)?;
    if flexible {
        put_uvarint(&mut out, n as u64 + 1);
    } else {
        out.extend_from_slice(&(n as i32).to_be_bytes());
    }
    for _ in 0..n {
        broker_address(&mut r, &mut out, flexible, map)?;
        let rest = r.at;
        if v >= 1 {
            r.string(flexible)?;
        }
        if flexible {
            r.tagged()?;
        }
        out.extend_from_slice(&frame[rest..r.at]);
    }
    out.extend_from_slice(&frame[r.at..]);
    Some(out)
}

fn rewrite_find_coordinator(v: i16, frame: &[u8], map: &mut dyn FnMut(&str, i32) -> (String, i32)) -> Option<Vec<u8>> {
    let flexible = v >= 3;
    let mut r = Reader { b: frame, at: 4 };
    if flexible {
        r.tagged()?;
    }
    if v >= 1 {
        r.i32()?;
    }
    let mut out = Vec::new();
    // One coordinator (v0-3) or an array of them, each keyed (v4+, KIP-699).
    let n = if v >= 4 { r.array_len(true)? } else { 1 };
    if v < 4 {
        r.i16()?;
        if v >= 1 {
            r.string(flexible)?;
        }
    }
    out.extend_from_slice(&frame[..r.at]);
    for _ in 0..n {
        if v >= 4 {
            let start = r.at;
            r.string(true)?;
            out.extend_from_slice(&frame[start..r.at]);
        }
        broker_address(&mut r, &mut out, flexible, map)?;
        if v >= 4 {
            let start = r.at;
            r.i16()?;
            r.string(true)?;
            r.tagged()?;
            out.extend_from_slice(&frame[start..r.at]);
        }
    }
    out.extend_from_slice(&frame[r.at..]);
    Some(out)
}

/// One record batch of a Produce request, as the broker will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceBatch {
    pub topic: String,
    pub partition: i32,
    /// -1 for a producer that is neither idempotent nor transactional.
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub records: i32,
}

/// The record batches of a Produce request (versions 3 to 12: topics by name; a later version
/// names topics by id and gives None).
pub fn produce_request(version: i16, frame: &[u8]) -> Option<Vec<ProduceBatch>> {
    if !(3..=12).contains(&version) {
        return None;
    }
    let flexible = version >= 9;
    let mut r = Reader { b: frame, at: 8 };
    r.string(false)?; // client id: never compact, even in a flexible header
    if flexible {
        r.tagged()?;
    }
    r.string(flexible)?; // transactional id
    r.i16()?; // acks
    r.i32()?; // timeout
    let mut out = Vec::new();
    for _ in 0..r.array_len(flexible)? {
        let topic = r.string(flexible)??.to_string();
        for _ in 0..r.array_len(flexible)? {
            let partition = r.i32()?;
            if let Some(records) = r.bytes(flexible)? {
                // DefaultRecordBatch: base offset, length, leader epoch, magic, crc,
                // attributes, last offset delta, two timestamps, then the producer's fields.
                let mut b = Reader { b: records, at: 43 };
                let (producer_id, epoch, base_sequence, count) = (b.i64()?, b.i16()?, b.i32()?, b.i32()?);
                out.push(ProduceBatch {
                    topic: topic.clone(),
                    partition,
                    producer_id,
                    epoch,
                    base_sequence,
                    records: count,
                });
            }
            if flexible {
                r.tagged()?;
            }
        }
        if flexible {
            r.tagged()?;
        }
    }
    Some(out)
}

/// A Produce response's error code per (topic, partition) (versions 3 to 12).
pub fn produce_response(version: i16, frame: &[u8]) -> Option<Vec<(String, i32, i16)>> {
    if !(3..=12).contains(&version) {
        return None;
    }
    let flexible = version >= 9;
    let mut r = Reader { b: frame, at: 4 };
    if flexible {
        r.tagged()?;
    }
    let mut out = Vec::new();
    for _ in 0..r.array_len(flexible)? {
        let topic = r.string(flexible)??.to_string();
        for _ in 0..r.array_len(flexible)? {
            let (partition, error) = (r.i32()?, r.i16()?);
            r.take(8 + 8)?; // base offset, log append time
            if version >= 5 {
                r.i64()?;
            }
            if version >= 8 {
                for _ in 0..r.array_len(flexible)? {
                    r.i32()?;
                    r.string(flexible)?;
                    if flexible {
                        r.tagged()?;
                    }
                }
                r.string(flexible)?;
            }
            if flexible {
                r.tagged()?;
            }
            out.push((topic.clone(), partition, error));
        }
        if flexible {
            r.tagged()?;
        }
    }
    Some(out)
}

/// An InitProducerId response: (error code, producer id, epoch) (flexible from version 2).
pub fn init_producer_id_response(version: i16, frame: &[u8]) -> Option<(i16, i64, i16)> {
    let mut r = Reader { b: frame, at: 4 };
    if version >= 2 {
        r.tagged()?;
    }
    r.i32()?; // throttle time
    Some((r.i16()?, r.i64()?, r.i16()?))
}

/// Kafka's name for the error codes a producer's requests meet most (`Errors.java`).
pub fn error_name(code: i16) -> String {
    let name = match code {
        -1 => "UNKNOWN_SERVER_ERROR",
        0 => "NONE",
        3 => "UNKNOWN_TOPIC_OR_PARTITION",
        6 => "NOT_LEADER_OR_FOLLOWER",
        7 => "REQUEST_TIMED_OUT",
        15 => "COORDINATOR_NOT_AVAILABLE",
        16 => "NOT_COORDINATOR",
        19 => "NOT_ENOUGH_REPLICAS",
        20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        45 => "OUT_OF_ORDER_SEQUENCE_NUMBER",
        46 => "DUPLICATE_SEQUENCE_NUMBER",
        47 => "INVALID_PRODUCER_EPOCH",
        48 => "INVALID_TXN_STATE",
        49 => "INVALID_PRODUCER_ID_MAPPING",
        51 => "CONCURRENT_TRANSACTIONS",
        59 => "UNKNOWN_PRODUCER_ID",
        90 => "PRODUCER_FENCED",
        _ => return format!("error {code}"),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_v12_brokers_point_at_the_proxy() {
        // correlation 7, no tagged fields, throttle 0, one broker (node 1, "127.0.0.1", 9092,
        // rack null, no tags), then a trailing byte the rewrite keeps.
        let mut f = vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 10];
        f.extend_from_slice(b"127.0.0.1");
        f.extend_from_slice(&9092i32.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0xAB]);
        let out = rewrite_addresses(api::METADATA, 12, &f, &mut |h, p| {
            assert_eq!((h, p), ("127.0.0.1", 9092));
            ("localhost".into(), 40001)
        })
        .unwrap();
        let mut want = vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 10];
        want.extend_from_slice(b"localhost");
        want.extend_from_slice(&40001i32.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0xAB]);
        assert_eq!(out, want);
    }

    #[test]
    fn find_coordinator_v2_is_rewritten_and_garbage_is_left_alone() {
        let mut f = vec![0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1, 0, 9];
        f.extend_from_slice(b"127.0.0.1");
        f.extend_from_slice(&9092i32.to_be_bytes());
        let out = rewrite_addresses(api::FIND_COORDINATOR, 2, &f, &mut |_, _| ("127.0.0.1".into(), 5)).unwrap();
        assert_eq!(&out[out.len() - 4..], &5i32.to_be_bytes());
        assert_eq!(out.len(), f.len());
        assert!(rewrite_addresses(api::FIND_COORDINATOR, 2, &f[..12], &mut |_, _| ("x".into(), 1)).is_none());
    }

    #[test]
    fn a_produce_request_and_its_response_name_the_producer_and_the_error() {
        // Produce v7 (not flexible): header (api 0, v7, correlation 3, client id "c"), null
        // transactional id, acks -1, timeout 30000, one topic "t" with partition 2 and a batch.
        let mut f = vec![0, 0, 0, 7, 0, 0, 0, 3, 0, 1, b'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30];
        f.extend_from_slice(&[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 2]);
        let mut batch = vec![0u8; 43];
        batch.extend_from_slice(&1001i64.to_be_bytes());
        batch.extend_from_slice(&4i16.to_be_bytes());
        batch.extend_from_slice(&17i32.to_be_bytes());
        batch.extend_from_slice(&2i32.to_be_bytes());
        f.extend_from_slice(&(batch.len() as i32).to_be_bytes());
        f.extend_from_slice(&batch);
        let got = produce_request(7, &f).unwrap();
        let want = ProduceBatch {
            topic: "t".into(),
            partition: 2,
            producer_id: 1001,
            epoch: 4,
            base_sequence: 17,
            records: 2,
        };
        assert_eq!(got, [want]);
        assert_eq!(request_header(&f), Some((api::PRODUCE, 7, 3)));
        // Its response: topic "t", partition 2, PRODUCER_FENCED, then the v5+ fields, no
        // record errors, a null message, throttle time.
        let mut resp = vec![0, 0, 0, 3, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 90];
        resp.extend_from_slice(&[0; 24]);
        resp.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(produce_response(8, &resp), Some(vec![("t".into(), 2, 90)]));
        assert_eq!(error_name(90), "PRODUCER_FENCED");
        assert!(produce_request(7, &f[..f.len() - 3]).is_none(), "a truncated batch parses as nothing");
    }

    #[test]
    fn init_producer_id_v4_hands_out_an_id_and_an_epoch() {
        let mut f = vec![0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0];
        f.extend_from_slice(&42i64.to_be_bytes());
        f.extend_from_slice(&3i16.to_be_bytes());
        f.push(0);
        assert_eq!(init_producer_id_response(4, &f), Some((0, 42, 3)));
    }
}
