//! The message record (docs/protocol.md §3.1): the unit of the CommitLog and the body of pull,
//! view, query and transaction-check responses, which return stored records verbatim.
//!
//! * [`RecordFields::encode`] writes a record straight into the caller's buffer; the store
//!   fills in physical offset, queue offset and store time at append time with
//!   [`set_physical_offset`], [`set_queue_offset`] and [`set_store_timestamp`].
//! * [`RecordView`] reads one record in place; every length is checked once when the view
//!   is made, so its accessors cannot fail.
//! * [`check`] is what recovery and reput run over the CommitLog: structure, body CRC and
//!   the fields the consume queue and index need, with the segment-end blank reported as
//!   its own case.
//! * [`message_size`] and [`store_timestamp`] read a record's first bytes only.
//!
//! Layout, with `b` and `s` the born and store host sizes (8 for IPv4, 20 for IPv6, chosen
//! by the SYSFLAG bits):
//!
//! ```text
//! 0 TOTALSIZE i32 | 4 MAGIC i32 | 8 BODYCRC i32 | 12 QUEUEID i32 | 16 FLAG i32
//! 20 QUEUEOFFSET i64 | 28 PHYSICALOFFSET i64 | 36 SYSFLAG i32 | 40 BORNTIMESTAMP i64
//! 48 BORNHOST b | 48+b STORETIMESTAMP i64 | 56+b STOREHOST s | 56+b+s RECONSUMETIMES i32
//! 60+b+s PREPARED_TRANSACTION_OFFSET i64 | 68+b+s BODYLEN i32 | 72+b+s BODY
//! TOPICLEN (1 byte in v1, 2 in v2) | TOPIC | PROPLEN i16 | PROPERTIES
//! ```

mod check;
mod encode;
mod ids;
mod prefix;
mod sysflag;
mod view;

#[cfg(test)]
mod tests;

pub use check::{
    check, check_verified, filing_properties, BlankRecord, FilingProperties, RecordMeta, Scan,
};
pub use encode::{set_physical_offset, set_queue_offset, set_store_timestamp, RecordFields};
pub use ids::{PhysicalOffset, QueueOffset};
pub use prefix::{message_size, physical_offset, store_timestamp, STORE_TIMESTAMP_PREFIX};
pub use sysflag::{Compression, SysFlag, TransactionType};
pub use view::RecordView;

/// Magic code of a v1 record: the topic length is one (signed) byte.
pub const MAGIC_V1: u32 = 0xDAA3_20A7;
/// Magic code of a v2 record: the topic length is an i16.
pub const MAGIC_V2: u32 = 0xDAA3_20AB;
/// Magic code of the filler that ends a CommitLog segment (docs/protocol.md §4.2).
pub const MAGIC_BLANK: u32 = 0xCBD4_3194;

/// Size of the smallest record: v1, IPv4 hosts, empty body, topic and properties.
pub const RECORD_SIZE_MIN: usize = 91;
/// Size of a blank filler's meaningful part: TOTALSIZE and MAGIC.
pub const BLANK_SIZE_MIN: usize = 8;

/// Which magic code, and so which topic-length width, a record uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordVersion {
    V1,
    V2,
}

impl RecordVersion {
    /// The version Java's broker picks: v1 whenever the topic fits its signed length byte,
    /// because clients before 5.1.0 only read v1.
    pub fn for_topic(topic: &str) -> RecordVersion {
        if topic.len() <= i8::MAX as usize {
            RecordVersion::V1
        } else {
            RecordVersion::V2
        }
    }

    pub fn magic(self) -> u32 {
        match self {
            RecordVersion::V1 => MAGIC_V1,
            RecordVersion::V2 => MAGIC_V2,
        }
    }

    fn from_magic(magic: u32) -> Option<RecordVersion> {
        match magic {
            MAGIC_V1 => Some(RecordVersion::V1),
            MAGIC_V2 => Some(RecordVersion::V2),
            _ => None,
        }
    }

    fn topic_len_size(self) -> usize {
        match self {
            RecordVersion::V1 => 1,
            RecordVersion::V2 => 2,
        }
    }
}

/// Byte positions of the fixed fields; those after BORNHOST move with the host sizes.
mod pos {
    pub const TOTAL_SIZE: usize = 0;
    pub const MAGIC: usize = 4;
    pub const BODY_CRC: usize = 8;
    pub const QUEUE_ID: usize = 12;
    pub const FLAG: usize = 16;
    pub const QUEUE_OFFSET: usize = 20;
    pub const PHYSICAL_OFFSET: usize = 28;
    pub const SYSFLAG: usize = 36;
    pub const BORN_TIMESTAMP: usize = 40;
    pub const BORN_HOST: usize = 48;

    /// Size of a host field: address, then the port as an i32.
    pub fn host_size(v6: bool) -> usize {
        if v6 {
            20
        } else {
            8
        }
    }

    pub fn store_timestamp(born: usize) -> usize {
        BORN_HOST + born
    }

    pub fn store_host(born: usize) -> usize {
        BORN_HOST + born + 8
    }

    pub fn reconsume_times(born: usize, store: usize) -> usize {
        store_host(born) + store
    }

    pub fn prepared_offset(born: usize, store: usize) -> usize {
        reconsume_times(born, store) + 4
    }

    pub fn body_len(born: usize, store: usize) -> usize {
        prepared_offset(born, store) + 8
    }

    pub fn body(born: usize, store: usize) -> usize {
        body_len(born, store) + 4
    }
}

/// The masked CRC-32 (IEEE, as `java.util.zip.CRC32`) stored in BODYCRC (docs/protocol.md §3.8).
pub fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body) & 0x7FFF_FFFF
}
