//! The store's door to the record codec ([`crate::wire::record`]): what recovery and reput
//! learn from the bytes at a log position, the fields the shard assigns at append time, and
//! the segment-end filler. Keeping this one small file between the store and the codec means
//! the store never depends on the codec's wider API.
//!
//! Recovery feeds this arbitrary torn data: it answers `Invalid`, never panics.

use std::net::{Ipv4Addr, SocketAddr};

use super::offsets::{PhysicalOffset, QueueId, QueueOffset};
use crate::wire::properties::java_hash;
use crate::wire::record::TransactionType;
use crate::wire::record::{self as codec, RecordVersion, RecordView, Scan};
use crate::wire::WireError;

pub use crate::wire::record::{
    filing_properties, message_size, physical_offset, store_timestamp, FilingProperties,
    RecordFields, RecordMeta, SysFlag, MAGIC_BLANK, RECORD_SIZE_MIN, STORE_TIMESTAMP_PREFIX,
};

/// Size of the filler's header; a segment always keeps this much room for it.
pub const BLANK_HEADER: usize = codec::BLANK_SIZE_MIN;

/// What a scan found at a position of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// A complete record with a sound structure and body CRC.
    Record(RecordMeta<'a>),
    /// The end-of-segment filler; the next record starts in the next segment.
    Blank,
    /// Zeros: nothing was ever written here.
    End,
    /// Torn or corrupt bytes; the log ends before them.
    Invalid,
}

/// Verifies the item at the start of `buf` (which runs at least to the end of the data the
/// caller has, usually the segment end) and reads its fields.
pub fn scan(buf: &[u8]) -> Scanned<'_> {
    scan_with(buf, codec::check)
}

/// [`scan`] without the body CRC, for log bytes already verified (see
/// [`codec::check_verified`]).
pub fn scan_verified(buf: &[u8]) -> Scanned<'_> {
    scan_with(buf, codec::check_verified)
}

/// `bytes`, whole records of the log already verified (what
/// [`CommitLog::read_copy`](super::commit_log::CommitLog::read_copy) returns), cut at record
/// boundaries into pieces of at most `max` bytes; a record larger than `max` is a piece of
/// its own.
pub fn pieces(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at < bytes.len() {
        let size = match scan_verified(&bytes[at..]) {
            Scanned::Record(meta) => meta.total_size as usize,
            // A filler ends the bytes; anything else cannot be cut, so it goes as it is.
            _ => bytes.len() - at,
        };
        if at > start && at + size - start > max {
            out.push(&bytes[start..at]);
            start = at;
        }
        at += size;
    }
    if at > start {
        out.push(&bytes[start..]);
    }
    out
}

fn scan_with<'a>(
    buf: &'a [u8],
    check: fn(&'a [u8]) -> Result<codec::Scan<'a>, WireError>,
) -> Scanned<'a> {
    let head = &buf[..buf.len().min(BLANK_HEADER)];
    if head.iter().all(|&b| b == 0) {
        return Scanned::End;
    }
    match check(buf) {
        Ok(Scan::Message(meta)) => Scanned::Record(meta),
        Ok(Scan::Blank(_)) => Scanned::Blank,
        Err(WireError::Incomplete { .. } | WireError::Invalid(_)) => Scanned::Invalid,
    }
}

/// Whether `bytes` are exactly the record of (`topic`, `queue`) written at `offset`: sound
/// lengths, that position, that owner, and a matching body CRC. What a pull checks before it
/// serves bytes read from the device; lighter than [`scan`], which also reads the properties.
pub fn is_record_of(bytes: &[u8], offset: PhysicalOffset, topic: &str, queue: QueueId) -> bool {
    RecordView::parse(bytes).is_ok_and(|view| {
        view.total_size() as usize == bytes.len()
            && view.physical_offset() == offset
            && view.queue_id() == queue.0
            && view.topic() == topic
            && view.body_crc_matches()
    })
}

/// Whether reput puts a record with `sysflag` in a ConsumeQueue: half (prepared) and
/// rollback records are never consumable (docs/protocol.md §3.2).
pub fn consumable(sysflag: SysFlag) -> bool {
    !matches!(
        sysflag.transaction(),
        TransactionType::Prepared | TransactionType::Rollback
    )
}

/// The ConsumeQueue tag code: the TAGS hash sign-extended, as Java stores it.
pub fn tags_code(meta: &RecordMeta<'_>) -> i64 {
    i64::from(meta.tags_hash)
}

/// [`tags_code`] of a record with `tags`, not yet encoded.
pub fn tags_code_of(tags: Option<&str>) -> i64 {
    tags.map_or(0, |t| i64::from(java_hash(t)))
}

/// Writes the fields the shard assigns at append time into an encoded record.
pub fn patch(rec: &mut [u8], queue: QueueOffset, physical: PhysicalOffset, store_timestamp: i64) {
    // The store only patches records it sized itself, so the fields are always there.
    let patched = codec::set_queue_offset(rec, queue)
        .and_then(|()| codec::set_physical_offset(rec, physical))
        .and_then(|()| codec::set_store_timestamp(rec, store_timestamp));
    assert!(
        patched.is_ok(),
        "patching a record too short to be one: {patched:?}"
    );
}

/// The filler header written where a segment ends early: the bytes left and the blank magic.
pub fn blank_header(remaining: u32) -> [u8; BLANK_HEADER] {
    let mut h = [0u8; BLANK_HEADER];
    h[..4].copy_from_slice(&remaining.to_be_bytes());
    h[4..].copy_from_slice(&MAGIC_BLANK.to_be_bytes());
    h
}

/// Encodes a record with IPv4 hosts, as tests, benches and simulations append them. The
/// offsets and store time are left zero for [`patch`].
pub fn encode(topic: &str, queue_id: QueueId, body: &[u8], tags: Option<&str>) -> Vec<u8> {
    let props = tags
        .map(|t| format!("TAGS\u{1}{t}\u{2}"))
        .unwrap_or_default();
    encode_with_properties(topic, queue_id, body, &props)
}

/// [`encode`] with a whole properties string (docs/protocol.md §3.3), e.g. with `KEYS` and
/// `UNIQ_KEY`.
pub fn encode_with_properties(topic: &str, queue_id: QueueId, body: &[u8], props: &str) -> Vec<u8> {
    let fields = fields_with_properties(topic, queue_id, body, props);
    let len = fields
        .encoded_len()
        .expect("test records are within limits");
    let mut out = vec![0u8; len];
    fields.encode_into(&mut out).expect("sized by encoded_len");
    out
}

/// The fields [`encode_with_properties`] encodes, for [`super::store::Store::put_fields`].
pub fn fields_with_properties<'a>(
    topic: &'a str,
    queue_id: QueueId,
    body: &'a [u8],
    props: &'a str,
) -> RecordFields<'a> {
    let host = SocketAddr::from((Ipv4Addr::LOCALHOST, 10911));
    RecordFields {
        version: RecordVersion::for_topic(topic),
        queue_id: queue_id.0,
        flag: 0,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        sysflag: SysFlag::default(),
        born_timestamp_ms: 0,
        born_host: host,
        store_timestamp_ms: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: PhysicalOffset(0),
        body,
        topic,
        properties: props,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::properties::java_hash;

    #[test]
    fn encode_patch_scan_round_trip() {
        let mut rec = encode("TopicA", QueueId(3), b"hello", Some("TagA"));
        patch(
            &mut rec,
            QueueOffset(7),
            PhysicalOffset(4096),
            1_700_000_000_000,
        );
        let Scanned::Record(meta) = scan(&rec) else {
            panic!("not a record")
        };
        assert_eq!(meta.total_size as usize, rec.len());
        assert_eq!(meta.queue_id, 3);
        assert_eq!(meta.queue_offset, QueueOffset(7));
        assert_eq!(meta.physical_offset, PhysicalOffset(4096));
        assert_eq!(meta.store_timestamp_ms, 1_700_000_000_000);
        assert_eq!(meta.topic, "TopicA");
        assert_eq!(tags_code(&meta), i64::from(java_hash("TagA")));
        assert!(consumable(meta.sysflag));
        assert_eq!(tags_code_of(Some("TagA")), tags_code(&meta));
    }

    #[test]
    fn torn_zero_and_blank_positions() {
        let rec = encode("T", QueueId(0), b"0123456789", Some("x"));
        for cut in 1..rec.len() {
            assert!(
                !matches!(scan(&rec[..cut]), Scanned::Record(_)),
                "cut at {cut}"
            );
        }
        let mut bad = rec.clone();
        bad[90] ^= 1; // inside the body: the CRC catches it
        assert_eq!(scan(&bad), Scanned::Invalid);
        assert_eq!(scan(&[0u8; 64]), Scanned::End);
        assert_eq!(scan(&[]), Scanned::End);
        let mut blank = blank_header(100).to_vec();
        blank.resize(100, 0);
        assert_eq!(scan(&blank), Scanned::Blank);
    }

    #[test]
    fn pieces_cut_at_records_and_keep_a_large_one_whole() {
        let small = encode("T", QueueId(0), &[1; 100], None);
        let large = encode("T", QueueId(0), &[2; 1000], None);
        let bytes = [&small[..], &small, &large, &small, &blank_header(40)].concat();
        let lens: Vec<usize> = pieces(&bytes, 2 * small.len())
            .iter()
            .map(|piece| piece.len())
            .collect();
        let s = small.len();
        assert_eq!(lens, [2 * s, large.len(), s + BLANK_HEADER]);
        assert_eq!(pieces(&bytes, usize::MAX).len(), 1);
        assert!(pieces(&[], 10).is_empty());
    }
}
