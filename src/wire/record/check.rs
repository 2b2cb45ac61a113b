//! The CommitLog scan used by recovery and reput: one call per position, reporting either a
//! verified record with what the consume queue and index need, or the segment-end filler.

use super::view::{head, Head};
use super::{PhysicalOffset, QueueOffset, RecordView, SysFlag};
use crate::wire::properties::{self, java_hash, keys};
use crate::wire::WireError;

/// What [`check`] found at a CommitLog position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan<'a> {
    /// A message record whose structure and body CRC are sound.
    Message(RecordMeta<'a>),
    /// The filler that ends a segment; the next record starts at the next segment.
    Blank(BlankRecord),
}

/// The segment-end filler `[i32 size][i32 MAGIC_BLANK]`; its remaining bytes are unspecified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlankRecord {
    /// Bytes from the filler to the end of its segment as written; at least 8. The segment
    /// size is the store's to know, so checking this against it is too.
    pub total_size: u32,
}

/// What reput dispatches to the consume queue and index for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta<'a> {
    pub total_size: u32,
    pub queue_id: u32,
    pub queue_offset: QueueOffset,
    pub physical_offset: PhysicalOffset,
    pub prepared_transaction_offset: PhysicalOffset,
    pub sysflag: SysFlag,
    pub store_timestamp_ms: i64,
    pub topic: &'a str,
    /// The whole properties string, for keys reput needs beyond these (DELAY, REAL_TOPIC…).
    pub properties: &'a str,
    pub tags: Option<&'a str>,
    /// Java hash of TAGS, 0 without tags: the consume-queue tag code (docs/protocol.md §4.3).
    pub tags_hash: i32,
    /// Space-separated business keys, each indexed as `topic#key`.
    pub keys: Option<&'a str>,
    pub uniq_key: Option<&'a str>,
}

/// Checks the item at the start of `buf` (a CommitLog position): TOTALSIZE within bounds,
/// magic code, every inner length, and the body CRC.
///
/// `Incomplete` means the buffer ends inside the item: during recovery of the last segment
/// that is a torn tail, elsewhere read more. `Invalid` means the bytes can never be a
/// record (including the zeroes of never-written space): recovery takes the position as the
/// end of valid data, as Java's does.
pub fn check(buf: &[u8]) -> Result<Scan<'_>, WireError> {
    inspect(buf, true)
}

/// [`check`] without the body CRC, for bytes verified before: reput reads only records this
/// process appended or recovery checked, and the CRC is most of a check's cost.
pub fn check_verified(buf: &[u8]) -> Result<Scan<'_>, WireError> {
    inspect(buf, false)
}

fn inspect(buf: &[u8], crc: bool) -> Result<Scan<'_>, WireError> {
    if let Head::Blank(total_size) = head(buf)? {
        return Ok(Scan::Blank(BlankRecord { total_size }));
    }
    let view = RecordView::parse(buf)?;
    if crc && !view.body_crc_matches() {
        return Err(WireError::Invalid(format!(
            "body CRC mismatch at physical offset {}",
            view.physical_offset()
        )));
    }
    Ok(Scan::Message(meta(&view)))
}

/// The properties a record is filed by: its tags (the consume queue's tag code) and the keys
/// the index holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilingProperties<'a> {
    pub tags: Option<&'a str>,
    /// Space-separated business keys.
    pub keys: Option<&'a str>,
    pub uniq_key: Option<&'a str>,
}

/// Reads [`FilingProperties`] from a properties string in one pass; later duplicates win,
/// as in Java's map.
pub fn filing_properties(properties: &str) -> FilingProperties<'_> {
    let mut found = FilingProperties::default();
    for (key, value) in properties::iter(properties) {
        match key {
            keys::TAGS => found.tags = Some(value),
            keys::KEYS => found.keys = Some(value),
            keys::UNIQ_KEY => found.uniq_key = Some(value),
            _ => {}
        }
    }
    found
}

impl<'a> RecordMeta<'a> {
    /// The properties it is filed by.
    pub fn filing_properties(&self) -> FilingProperties<'a> {
        FilingProperties {
            tags: self.tags,
            keys: self.keys,
            uniq_key: self.uniq_key,
        }
    }
}

fn meta<'a>(view: &RecordView<'a>) -> RecordMeta<'a> {
    let FilingProperties {
        tags,
        keys: keys_value,
        uniq_key,
    } = filing_properties(view.properties());
    RecordMeta {
        total_size: view.total_size(),
        queue_id: view.queue_id(),
        queue_offset: view.queue_offset(),
        physical_offset: view.physical_offset(),
        prepared_transaction_offset: view.prepared_transaction_offset(),
        sysflag: view.sysflag(),
        store_timestamp_ms: view.store_timestamp_ms(),
        topic: view.topic(),
        properties: view.properties(),
        tags,
        tags_hash: tags.map_or(0, java_hash),
        keys: keys_value,
        uniq_key,
    }
}
