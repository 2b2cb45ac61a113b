//! What the first bytes of a record tell without the rest: its size, so a reader given only
//! a position knows how much to read, and its store time, which stats and lookups need for
//! many records without reading bodies of up to 4 MiB each.

use super::view::{head, Head};
use super::{pos, SysFlag, BLANK_SIZE_MIN};
use crate::wire::WireError;

/// Leading bytes of a record that always hold its STORETIMESTAMP (the born host before it
/// may be IPv6). Shorter than the smallest record, so reading them never runs past one.
pub const STORE_TIMESTAMP_PREFIX: usize = pos::BORN_HOST + 20 + 8;

const _: () = assert!(STORE_TIMESTAMP_PREFIX <= super::RECORD_SIZE_MIN);

/// TOTALSIZE of the message record that `head` (at least its first [`BLANK_SIZE_MIN`]
/// bytes) begins; `None` for the segment-end filler or bytes that cannot begin a record
/// (bad magic, size out of range).
pub fn message_size(head_bytes: &[u8]) -> Option<usize> {
    match head(head_bytes) {
        Ok(Head::Message(_, size)) => Some(size),
        // The magic and size are sound; only the rest of the record is missing.
        Err(WireError::Incomplete { needed }) if head_bytes.len() >= BLANK_SIZE_MIN => Some(needed),
        _ => None,
    }
}

/// STORETIMESTAMP of the message record that `prefix` begins, which must hold at least
/// [`STORE_TIMESTAMP_PREFIX`] bytes; `None` when they cannot begin a record.
pub fn store_timestamp(prefix: &[u8]) -> Option<i64> {
    message_size(prefix)?;
    let sysflag = SysFlag(u32::from_be_bytes(array(prefix, pos::SYSFLAG)?));
    let at = pos::store_timestamp(pos::host_size(sysflag.born_host_v6()));
    let timestamp = i64::from_be_bytes(array(prefix, at)?);
    (timestamp >= 0).then_some(timestamp)
}

/// PHYSICALOFFSET of the message record that `prefix` begins, which must hold at least
/// [`STORE_TIMESTAMP_PREFIX`] bytes; `None` when they cannot begin a record. Every record
/// carries the log offset it was written at, so this is how a reader finds the next record
/// after damaged bytes.
pub fn physical_offset(prefix: &[u8]) -> Option<u64> {
    message_size(prefix)?;
    Some(u64::from_be_bytes(array(prefix, pos::PHYSICAL_OFFSET)?))
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::wire::record::{PhysicalOffset, QueueOffset, RecordFields, RecordVersion};

    fn record(born_host: &str) -> Vec<u8> {
        let host: SocketAddr = born_host.parse().expect("address");
        let fields = RecordFields {
            version: RecordVersion::V1,
            queue_id: 1,
            flag: 0,
            queue_offset: QueueOffset(3),
            physical_offset: PhysicalOffset(4096),
            sysflag: SysFlag::default(),
            born_timestamp_ms: 1,
            born_host: host,
            store_timestamp_ms: 1_700_000_000_123,
            store_host: "127.0.0.1:10911".parse().expect("address"),
            reconsume_times: 0,
            prepared_transaction_offset: PhysicalOffset(0),
            body: b"body",
            topic: "T",
            properties: "",
        };
        fields.to_vec().expect("in limits")
    }

    #[test]
    fn size_and_store_time_come_from_the_first_bytes() {
        for born in ["10.0.0.1:5000", "[::1]:5000"] {
            let rec = record(born);
            assert_eq!(
                message_size(&rec[..BLANK_SIZE_MIN]),
                Some(rec.len()),
                "{born}"
            );
            assert_eq!(message_size(&rec), Some(rec.len()));
            let prefix = &rec[..STORE_TIMESTAMP_PREFIX];
            assert_eq!(store_timestamp(prefix), Some(1_700_000_000_123), "{born}");
            assert_eq!(physical_offset(prefix), Some(4096), "{born}");
        }
    }

    #[test]
    fn bytes_that_begin_no_record_give_nothing() {
        let rec = record("10.0.0.1:5000");
        assert_eq!(message_size(&rec[..7]), None, "too short to tell");
        assert_eq!(message_size(&[0u8; 8]), None, "never written");
        assert_eq!(message_size(&rec[4..12]), None, "inside a record");
        let mut blank = [0u8; 8];
        blank[..4].copy_from_slice(&100u32.to_be_bytes());
        blank[4..].copy_from_slice(&super::super::MAGIC_BLANK.to_be_bytes());
        assert_eq!(message_size(&blank), None, "segment filler");
        let mut huge = rec.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(message_size(&huge), None, "size out of range");
        assert_eq!(store_timestamp(&rec[..40]), None, "prefix too short");
        assert_eq!(store_timestamp(&[0u8; STORE_TIMESTAMP_PREFIX]), None);
        assert_eq!(physical_offset(&[0u8; STORE_TIMESTAMP_PREFIX]), None);
    }
}
