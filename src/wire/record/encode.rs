//! Writing records. One pass, straight into the destination: the store encodes into its
//! segment buffer (or a batch's staging buffer) and patches the three append-time fields in
//! place once it holds the write position.

use std::net::SocketAddr;

use bytes::{BufMut, BytesMut};

use super::ids::OFFSET_MAX;
use super::{body_crc, pos, PhysicalOffset, QueueOffset, RecordVersion, SysFlag};
use crate::limits::{
    MESSAGE_BODY_SIZE_MAX, PROPERTIES_SIZE_MAX, RECORD_SIZE_MAX, RECORD_TOPIC_SIZE_MAX,
};
use crate::wire::WireError;

/// Every field of a record, borrowed from wherever the message lives (a send request, a
/// batch entry, a stored record being re-stored for retry or commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordFields<'a> {
    pub version: RecordVersion,
    pub queue_id: u32,
    pub flag: i32,
    pub queue_offset: QueueOffset,
    pub physical_offset: PhysicalOffset,
    /// The host-family bits are ignored here: [`RecordFields::stored_sysflag`] derives them
    /// from `born_host` and `store_host`, so the flags can never disagree with the layout.
    pub sysflag: SysFlag,
    pub born_timestamp_ms: i64,
    pub born_host: SocketAddr,
    pub store_timestamp_ms: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    /// Zero except on a committed transactional message: the half message's offset.
    pub prepared_transaction_offset: PhysicalOffset,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a str,
}

impl RecordFields<'_> {
    /// The SYSFLAG as written: the given flags with BORN_HOST_V6 and STORE_HOST_V6 set from
    /// the address families.
    pub fn stored_sysflag(&self) -> SysFlag {
        let mut flag = self
            .sysflag
            .without(SysFlag::BORN_HOST_V6 | SysFlag::STORE_HOST_V6);
        if self.born_host.is_ipv6() {
            flag = flag.with(SysFlag::BORN_HOST_V6);
        }
        if self.store_host.is_ipv6() {
            flag = flag.with(SysFlag::STORE_HOST_V6);
        }
        flag
    }

    /// TOTALSIZE of the encoded record, after checking every field against the format and
    /// [`crate::limits`].
    pub fn encoded_len(&self) -> Result<usize, WireError> {
        self.validate()?;
        let born = pos::host_size(self.born_host.is_ipv6());
        let store = pos::host_size(self.store_host.is_ipv6());
        let len = pos::body(born, store)
            + self.body.len()
            + self.version.topic_len_size()
            + self.topic.len()
            + 2
            + self.properties.len();
        debug_assert!(len <= RECORD_SIZE_MAX);
        Ok(len)
    }

    /// Appends the record to `out`; returns its size.
    pub fn encode(&self, out: &mut BytesMut) -> Result<usize, WireError> {
        let len = self.encoded_len()?;
        out.reserve(len);
        self.write(out, len);
        Ok(len)
    }

    /// The record in a buffer of its own: for records kept or sent apart from any log (a
    /// retry handed to another shard, a transaction's check, a re-stored message).
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut out = vec![0u8; self.encoded_len()?];
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Writes the record at the start of `out`, which must hold [`Self::encoded_len`] bytes;
    /// returns its size.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let len = self.encoded_len()?;
        let Some(mut dest) = out.get_mut(..len) else {
            return Err(WireError::Invalid(format!(
                "record of {len} bytes does not fit in {} bytes",
                out.len()
            )));
        };
        self.write(&mut dest, len);
        Ok(len)
    }

    /// Writes the record into `out`, exactly [`RecordFields::encoded_len`] bytes, whose `Ok`
    /// the caller has seen (so the fields are valid): a record encoded in place in the log.
    pub fn write_sized(&self, out: &mut [u8]) {
        let len = out.len();
        debug_assert_eq!(self.encoded_len().ok(), Some(len));
        let mut dest = out;
        self.write(&mut dest, len);
    }

    fn validate(&self) -> Result<(), WireError> {
        let topic_max = match self.version {
            RecordVersion::V1 => i8::MAX as usize,
            RecordVersion::V2 => RECORD_TOPIC_SIZE_MAX,
        };
        // Tested in turn, nothing built unless one fails: this runs for every record stored.
        let why = if self.queue_id > i32::MAX as u32 {
            "queue id above i32::MAX"
        } else if self.queue_offset.0 > OFFSET_MAX {
            "queue offset above i64::MAX"
        } else if self.physical_offset.0 > OFFSET_MAX {
            "physical offset above i64::MAX"
        } else if self.prepared_transaction_offset.0 > OFFSET_MAX {
            "prepared transaction offset above i64::MAX"
        } else if self.body.len() > MESSAGE_BODY_SIZE_MAX {
            "body too long"
        } else if self.topic.len() > topic_max {
            "topic too long for the record version"
        } else if self.properties.len() > PROPERTIES_SIZE_MAX {
            "properties too long"
        } else {
            return Ok(());
        };
        Err(WireError::Invalid(why.into()))
    }

    /// Writes exactly `len` bytes; `out` has room for them (checked by the callers).
    fn write<B: BufMut>(&self, out: &mut B, len: usize) {
        // Lengths were validated against limits far below i32::MAX, so the casts are exact.
        out.put_u32(len as u32);
        out.put_u32(self.version.magic());
        out.put_u32(body_crc(self.body));
        out.put_u32(self.queue_id);
        out.put_i32(self.flag);
        out.put_u64(self.queue_offset.0);
        out.put_u64(self.physical_offset.0);
        out.put_u32(self.stored_sysflag().0);
        out.put_i64(self.born_timestamp_ms);
        put_host(out, self.born_host);
        out.put_i64(self.store_timestamp_ms);
        put_host(out, self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_u64(self.prepared_transaction_offset.0);
        out.put_u32(self.body.len() as u32);
        out.put_slice(self.body);
        match self.version {
            RecordVersion::V1 => out.put_u8(self.topic.len() as u8),
            RecordVersion::V2 => out.put_u16(self.topic.len() as u16),
        }
        out.put_slice(self.topic.as_bytes());
        out.put_u16(self.properties.len() as u16);
        out.put_slice(self.properties.as_bytes());
    }
}

fn put_host<B: BufMut>(out: &mut B, host: SocketAddr) {
    match host {
        SocketAddr::V4(addr) => out.put_slice(&addr.ip().octets()),
        SocketAddr::V6(addr) => out.put_slice(&addr.ip().octets()),
    }
    out.put_u32(u32::from(host.port()));
}

/// Sets QUEUEOFFSET of an encoded record.
pub fn set_queue_offset(record: &mut [u8], offset: QueueOffset) -> Result<(), WireError> {
    patch_offset(record, pos::QUEUE_OFFSET, offset.0)
}

/// Sets PHYSICALOFFSET of an encoded record.
pub fn set_physical_offset(record: &mut [u8], offset: PhysicalOffset) -> Result<(), WireError> {
    patch_offset(record, pos::PHYSICAL_OFFSET, offset.0)
}

/// Sets STORETIMESTAMP of an encoded record; its position depends on the born host's family,
/// which is read from the record's SYSFLAG.
pub fn set_store_timestamp(record: &mut [u8], timestamp_ms: i64) -> Result<(), WireError> {
    let sysflag = record
        .get(pos::SYSFLAG..pos::SYSFLAG + 4)
        .map(|b| SysFlag(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        .ok_or_else(|| WireError::Invalid("record too short to patch".into()))?;
    let at = pos::store_timestamp(pos::host_size(sysflag.born_host_v6()));
    patch(record, at, timestamp_ms.to_be_bytes())
}

fn patch_offset(record: &mut [u8], at: usize, offset: u64) -> Result<(), WireError> {
    if offset > OFFSET_MAX {
        return Err(WireError::Invalid("offset above i64::MAX".into()));
    }
    patch(record, at, offset.to_be_bytes())
}

fn patch(record: &mut [u8], at: usize, value: [u8; 8]) -> Result<(), WireError> {
    record
        .get_mut(at..at + 8)
        .ok_or_else(|| WireError::Invalid("record too short to patch".into()))?
        .copy_from_slice(&value);
    Ok(())
}
