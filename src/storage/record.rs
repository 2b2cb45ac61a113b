//! The store's view of a CommitLog record (REMOTING.md §3.1): what recovery and reput need to
//! know about the bytes they scan (size, magic, body CRC, queue, offsets, store time, tag hash)
//! and the three fields the shard assigns at append time. The store never re-encodes a record;
//! it reads fields in place, so a pull response is a slice of the log.
//!
//! Every length read from the bytes is checked against the buffer before use: recovery feeds
//! this arbitrary torn data and it must answer `Invalid`, never panic.

use super::offsets::{PhysicalOffset, QueueId, QueueOffset};

pub const MAGIC_V1: u32 = 0xDAA3_20A7;
pub const MAGIC_V2: u32 = 0xDAA3_20AB;
/// Magic of the filler that ends a segment when the next record does not fit.
pub const MAGIC_BLANK: u32 = 0xCBD4_3194;
/// Size of the filler's header; a segment always keeps this much room for it.
pub const BLANK_HEADER: usize = 8;

const QUEUE_ID_AT: usize = 12;
const QUEUE_OFFSET_AT: usize = 20;
const PHYSICAL_OFFSET_AT: usize = 28;
const SYSFLAG_AT: usize = 36;
const BORN_HOST_AT: usize = 48;
const FLAG_BORN_V6: u32 = 0x10;
const FLAG_STORE_V6: u32 = 0x20;
const TRANSACTION_MASK: u32 = 0x0C;
const TRANSACTION_PREPARED: u32 = 0x04;
const TRANSACTION_ROLLBACK: u32 = 0x0C;

/// What a scan found at a position of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// A complete, verified record.
    Record(RecordMeta<'a>),
    /// The end-of-segment filler; the next record starts in the next segment.
    Blank,
    /// Zeros: nothing was ever written here.
    End,
    /// Torn or corrupt bytes; the log ends before them.
    Invalid(&'static str),
}

/// The fields of a verified record the store uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta<'a> {
    pub size: u32,
    pub queue_id: QueueId,
    pub queue_offset: QueueOffset,
    pub physical_offset: PhysicalOffset,
    pub store_timestamp: i64,
    pub topic: &'a str,
    /// Java `String.hashCode` of the TAGS property, 0 without tags.
    pub tags_code: i64,
    /// False for half (prepared) and rollback records, which never reach a ConsumeQueue.
    pub consumable: bool,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Bytes of the fixed part before BODYLEN for this sysflag (84 with two IPv4 hosts).
fn fixed_len(sysflag: u32) -> usize {
    let born = if sysflag & FLAG_BORN_V6 != 0 { 20 } else { 8 };
    let store = if sysflag & FLAG_STORE_V6 != 0 { 20 } else { 8 };
    BORN_HOST_AT + born + 8 + store + 4 + 8
}

/// Offset of STORETIMESTAMP for this sysflag.
fn store_timestamp_at(sysflag: u32) -> usize {
    BORN_HOST_AT + if sysflag & FLAG_BORN_V6 != 0 { 20 } else { 8 }
}

/// Verifies the record at the start of `buf` (which runs at least to the end of the data the
/// caller has, usually the segment end) and reads its fields.
pub fn scan(buf: &[u8]) -> Scanned<'_> {
    let Some(size) = u32_at(buf, 0) else {
        return Scanned::End;
    };
    let magic = u32_at(buf, 4).unwrap_or(0);
    if size == 0 && magic == 0 {
        return Scanned::End;
    }
    if magic == MAGIC_BLANK {
        return Scanned::Blank;
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Scanned::Invalid("bad magic");
    }
    if size as usize > buf.len() {
        return Scanned::Invalid("size past the data");
    }
    match parse(&buf[..size as usize], magic) {
        Some(Ok(meta)) => Scanned::Record(meta),
        Some(Err(why)) => Scanned::Invalid(why),
        None => Scanned::Invalid("fields past the record size"),
    }
}

fn parse(rec: &[u8], magic: u32) -> Option<Result<RecordMeta<'_>, &'static str>> {
    let sysflag = u32_at(rec, SYSFLAG_AT)?;
    let body_len_at = fixed_len(sysflag);
    let body_len = u32_at(rec, body_len_at)? as usize;
    let body = rec.get(body_len_at + 4..(body_len_at + 4).checked_add(body_len)?)?;
    let topic_len_at = body_len_at + 4 + body_len;
    let (topic_len, topic_at) = if magic == MAGIC_V1 {
        (usize::from(*rec.get(topic_len_at)?), topic_len_at + 1)
    } else {
        (usize::from(u16_at(rec, topic_len_at)?), topic_len_at + 2)
    };
    let topic = rec.get(topic_at..topic_at + topic_len)?;
    let props_len_at = topic_at + topic_len;
    let props_len = usize::from(u16_at(rec, props_len_at)?);
    let props = rec.get(props_len_at + 2..props_len_at + 2 + props_len)?;
    if props_len_at + 2 + props_len != rec.len() {
        return Some(Err("size does not match the fields"));
    }
    if u32_at(rec, 8)? != crc32fast::hash(body) & 0x7FFF_FFFF {
        return Some(Err("body CRC mismatch"));
    }
    let Ok(topic) = std::str::from_utf8(topic) else {
        return Some(Err("topic not UTF-8"));
    };
    let transaction = sysflag & TRANSACTION_MASK;
    Some(Ok(RecordMeta {
        size: rec.len() as u32,
        queue_id: QueueId(u32_at(rec, QUEUE_ID_AT)?),
        queue_offset: QueueOffset(u64_at(rec, QUEUE_OFFSET_AT)?),
        physical_offset: PhysicalOffset(u64_at(rec, PHYSICAL_OFFSET_AT)?),
        store_timestamp: u64_at(rec, store_timestamp_at(sysflag))? as i64,
        topic,
        tags_code: tags_code(props),
        consumable: transaction != TRANSACTION_PREPARED && transaction != TRANSACTION_ROLLBACK,
    }))
}

/// Java `String.hashCode` of the TAGS value in a properties string, sign-extended; 0 when
/// there is no TAGS property.
fn tags_code(props: &[u8]) -> i64 {
    let tags = props.split(|&b| b == 2).rev().find_map(|pair| {
        let sep = pair.iter().position(|&b| b == 1)?;
        (&pair[..sep] == b"TAGS" && sep + 1 < pair.len()).then(|| &pair[sep + 1..])
    });

    match tags.map(std::str::from_utf8) {
        Some(Ok(tags)) => i64::from(java_string_hash(tags)),
        _ => 0,
    }
}

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Writes the fields the shard assigns at append time into an encoded record.
pub fn patch(rec: &mut [u8], queue: QueueOffset, physical: PhysicalOffset, store_timestamp: i64) {
    rec[QUEUE_OFFSET_AT..QUEUE_OFFSET_AT + 8].copy_from_slice(&queue.0.to_be_bytes());
    rec[PHYSICAL_OFFSET_AT..PHYSICAL_OFFSET_AT + 8].copy_from_slice(&physical.0.to_be_bytes());
    let sysflag = u32_at(rec, SYSFLAG_AT).unwrap_or(0);
    let at = store_timestamp_at(sysflag);
    rec[at..at + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

/// The filler header written where a segment ends early: the bytes left and the blank magic.
pub fn blank_header(remaining: u32) -> [u8; BLANK_HEADER] {
    let mut h = [0u8; BLANK_HEADER];
    h[..4].copy_from_slice(&remaining.to_be_bytes());
    h[4..].copy_from_slice(&MAGIC_BLANK.to_be_bytes());
    h
}

/// Encodes a v1 record with IPv4 hosts: what tests, benches and simulations append. The
/// offsets and store time are left zero for [`patch`].
pub fn encode(topic: &str, queue_id: QueueId, body: &[u8], tags: Option<&str>) -> Vec<u8> {
    let props = tags
        .map(|t| format!("TAGS\u{1}{t}\u{2}"))
        .unwrap_or_default();
    let size = 91 + body.len() + topic.len() + props.len();
    let mut r = Vec::with_capacity(size);
    r.extend_from_slice(&(size as u32).to_be_bytes());
    r.extend_from_slice(&MAGIC_V1.to_be_bytes());
    r.extend_from_slice(&(crc32fast::hash(body) & 0x7FFF_FFFF).to_be_bytes());
    r.extend_from_slice(&queue_id.0.to_be_bytes());
    r.extend_from_slice(&[0; 4 + 8 + 8 + 4 + 8]); // flag, queue/physical offset, sysflag, born
    r.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0x2A, 0x9F]); // born host
    r.extend_from_slice(&[0; 8]); // store timestamp
    r.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0x2A, 0x9F]); // store host
    r.extend_from_slice(&[0; 4 + 8]); // reconsume times, prepared transaction offset
    r.extend_from_slice(&(body.len() as u32).to_be_bytes());
    r.extend_from_slice(body);
    r.push(topic.len() as u8);
    r.extend_from_slice(topic.as_bytes());
    r.extend_from_slice(&(props.len() as u16).to_be_bytes());
    r.extend_from_slice(props.as_bytes());
    debug_assert_eq!(r.len(), size);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(meta.size as usize, rec.len());
        assert_eq!(meta.queue_id, QueueId(3));
        assert_eq!(meta.queue_offset, QueueOffset(7));
        assert_eq!(meta.physical_offset, PhysicalOffset(4096));
        assert_eq!(meta.store_timestamp, 1_700_000_000_000);
        assert_eq!(meta.topic, "TopicA");
        assert_eq!(meta.tags_code, i64::from(java_string_hash("TagA")));
        assert!(meta.consumable);
    }

    #[test]
    fn java_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("hello world"), 1_794_106_052);
    }

    #[test]
    fn every_truncation_and_byte_flip_is_rejected_not_panicking() {
        let rec = encode("T", QueueId(0), b"0123456789", Some("x"));
        for cut in 0..rec.len() {
            assert!(
                !matches!(scan(&rec[..cut]), Scanned::Record(_)),
                "cut at {cut}"
            );
        }
        // Size, magic, CRC, body length, body, topic length and properties length frame the
        // record or are covered by the CRC; the other fields are not checked by the format.
        let framing = (0..12).chain(84..99).chain(100..102);
        for i in framing {
            let mut bad = rec.clone();
            bad[i] ^= 0x01;
            assert!(
                !matches!(scan(&bad), Scanned::Record(_)),
                "flip at {i} accepted"
            );
        }
        assert_eq!(scan(&[0u8; 64]), Scanned::End);
        assert_eq!(scan(&blank_header(100)), Scanned::Blank);
    }
}
