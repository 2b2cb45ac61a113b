//! Reading a record in place. [`RecordView::parse`] checks every length and every field
//! whose range Java constrains (non-negative offsets and queue id, 16-bit ports, UTF-8 topic
//! and properties) once, so the accessors are plain loads.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::ids::OFFSET_MAX;
use super::{body_crc, pos, RecordFields, RecordVersion, SysFlag};
use super::{PhysicalOffset, QueueOffset, BLANK_SIZE_MIN, MAGIC_BLANK, RECORD_SIZE_MIN};
use crate::limits::{
    MESSAGE_BODY_SIZE_MAX, PROPERTIES_SIZE_MAX, RECORD_SIZE_MAX, RECORD_TOPIC_SIZE_MAX,
};
use crate::wire::properties::{self, keys};
use crate::wire::text;
use crate::wire::WireError;

/// One message record borrowed from a buffer.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// Exactly TOTALSIZE bytes.
    bytes: &'a [u8],
    version: RecordVersion,
    born_size: usize,
    store_size: usize,
    body_end: usize,
    topic: &'a str,
    properties: &'a str,
}

/// What the first eight bytes of a CommitLog position say.
pub(super) enum Head {
    /// The segment-end filler of this many bytes.
    Blank(u32),
    /// A message record of this version and size, wholly inside the buffer.
    Message(RecordVersion, usize),
}

/// Reads TOTALSIZE and MAGIC and decides whether the buffer can hold the item at all; a
/// buffer cut anywhere inside a record is `Incomplete`, never a half-read record.
pub(super) fn head(buf: &[u8]) -> Result<Head, WireError> {
    let (Some(total), Some(magic)) = (be_u32(buf, pos::TOTAL_SIZE), be_u32(buf, pos::MAGIC)) else {
        return Err(WireError::Incomplete {
            needed: BLANK_SIZE_MIN,
        });
    };
    // TOTALSIZE is a Java int: above i32::MAX it is negative there.
    let total = total as usize;
    if magic == MAGIC_BLANK {
        if total < BLANK_SIZE_MIN || total > i32::MAX as usize {
            return Err(invalid(format!("blank record of size {total}")));
        }
        return Ok(Head::Blank(total as u32));
    }
    let version = RecordVersion::from_magic(magic)
        .ok_or_else(|| invalid(format!("unknown magic code {magic:#010X}")))?;
    if !(RECORD_SIZE_MIN..=RECORD_SIZE_MAX).contains(&total) {
        return Err(invalid(format!("record size {total} out of range")));
    }
    if buf.len() < total {
        return Err(WireError::Incomplete { needed: total });
    }
    Ok(Head::Message(version, total))
}

impl<'a> RecordView<'a> {
    /// Reads the message record at the start of `buf`; bytes after it are ignored. A blank
    /// filler is `Invalid` here because it is no message; [`super::check`] reports it. The
    /// body CRC is not verified (pull serves records the store already checked); use
    /// [`RecordView::body_crc_matches`] or [`super::check`] where it matters.
    pub fn parse(buf: &'a [u8]) -> Result<RecordView<'a>, WireError> {
        match head(buf)? {
            Head::Blank(_) => Err(invalid("blank record where a message was expected".into())),
            Head::Message(version, total) => match buf.get(..total) {
                Some(bytes) => RecordView::parse_exact(bytes, version),
                None => Err(WireError::Incomplete { needed: total }),
            },
        }
    }

    /// Checks the body of a record whose TOTALSIZE is `bytes.len()`.
    fn parse_exact(bytes: &'a [u8], version: RecordVersion) -> Result<RecordView<'a>, WireError> {
        let sysflag = SysFlag(be_u32(bytes, pos::SYSFLAG).unwrap_or(0));
        let born_size = pos::host_size(sysflag.born_host_v6());
        let store_size = pos::host_size(sysflag.store_host_v6());
        let body_at = pos::body(born_size, store_size);
        let body_len = be_u32(bytes, pos::body_len(born_size, store_size))
            .ok_or_else(|| invalid("record too short for its hosts".into()))?
            as usize;
        if body_len > MESSAGE_BODY_SIZE_MAX {
            return Err(invalid(format!("body length {body_len} out of range")));
        }
        let body_end = body_at + body_len;
        let (topic, topic_end) = read_topic(bytes, version, body_end)?;
        let prop_len = be_u16(bytes, topic_end)
            .ok_or_else(|| invalid("record ends inside its topic".into()))?
            as usize;
        // PROPLEN is a Java short: 32768 and above are negative there.
        if prop_len > PROPERTIES_SIZE_MAX {
            return Err(invalid(format!(
                "properties length {prop_len} out of range"
            )));
        }
        let prop_at = topic_end + 2;
        if prop_at + prop_len != bytes.len() {
            return Err(invalid("field lengths disagree with TOTALSIZE".into()));
        }
        let properties = utf8(&bytes[prop_at..], "properties")?;
        let view = RecordView {
            bytes,
            version,
            born_size,
            store_size,
            body_end,
            topic,
            properties,
        };
        view.check_ranges()?;
        Ok(view)
    }

    /// Rejects values Java could not have written: negative offsets and queue ids, ports
    /// outside 16 bits.
    fn check_ranges(&self) -> Result<(), WireError> {
        let offsets = [
            self.u64_at(pos::QUEUE_OFFSET),
            self.u64_at(pos::PHYSICAL_OFFSET),
            self.u64_at(pos::prepared_offset(self.born_size, self.store_size)),
        ];
        if offsets.iter().any(|&offset| offset > OFFSET_MAX) {
            return Err(invalid("negative offset".into()));
        }
        if self.u32_at(pos::QUEUE_ID) > i32::MAX as u32 {
            return Err(invalid("negative queue id".into()));
        }
        let ports = [
            self.u32_at(pos::BORN_HOST + self.born_size - 4),
            self.u32_at(pos::store_host(self.born_size) + self.store_size - 4),
        ];
        if ports.iter().any(|&port| port > u32::from(u16::MAX)) {
            return Err(invalid("port out of range".into()));
        }
        Ok(())
    }

    /// The record's bytes, exactly TOTALSIZE of them (what a pull response returns).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn total_size(&self) -> u32 {
        self.bytes.len() as u32
    }

    pub fn version(&self) -> RecordVersion {
        self.version
    }

    /// BODYCRC as stored; see [`RecordView::body_crc_matches`].
    pub fn body_crc(&self) -> u32 {
        self.u32_at(pos::BODY_CRC)
    }

    pub fn body_crc_matches(&self) -> bool {
        self.body_crc() == body_crc(self.body())
    }

    pub fn queue_id(&self) -> u32 {
        self.u32_at(pos::QUEUE_ID)
    }

    pub fn flag(&self) -> i32 {
        self.u32_at(pos::FLAG) as i32
    }

    pub fn queue_offset(&self) -> QueueOffset {
        QueueOffset(self.u64_at(pos::QUEUE_OFFSET))
    }

    pub fn physical_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.u64_at(pos::PHYSICAL_OFFSET))
    }

    pub fn sysflag(&self) -> SysFlag {
        SysFlag(self.u32_at(pos::SYSFLAG))
    }

    pub fn born_timestamp_ms(&self) -> i64 {
        self.u64_at(pos::BORN_TIMESTAMP) as i64
    }

    pub fn born_host(&self) -> SocketAddr {
        self.host_at(pos::BORN_HOST, self.born_size)
    }

    pub fn store_timestamp_ms(&self) -> i64 {
        self.u64_at(pos::store_timestamp(self.born_size)) as i64
    }

    pub fn store_host(&self) -> SocketAddr {
        self.host_at(pos::store_host(self.born_size), self.store_size)
    }

    pub fn reconsume_times(&self) -> i32 {
        self.u32_at(pos::reconsume_times(self.born_size, self.store_size)) as i32
    }

    pub fn prepared_transaction_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.u64_at(pos::prepared_offset(self.born_size, self.store_size)))
    }

    pub fn body(&self) -> &'a [u8] {
        let at = pos::body(self.born_size, self.store_size);
        self.bytes.get(at..self.body_end).unwrap_or_default()
    }

    pub fn topic(&self) -> &'a str {
        self.topic
    }

    pub fn properties(&self) -> &'a str {
        self.properties
    }

    /// One property, Java's "later duplicate wins" rule.
    pub fn property(&self, key: &str) -> Option<&'a str> {
        properties::get(self.properties, key)
    }

    pub fn tags(&self) -> Option<&'a str> {
        self.property(keys::TAGS)
    }

    pub fn keys(&self) -> Option<&'a str> {
        self.property(keys::KEYS)
    }

    pub fn uniq_key(&self) -> Option<&'a str> {
        self.property(keys::UNIQ_KEY)
    }

    /// The fields, for re-storing this message elsewhere (retry, DLQ, schedule, commit) after
    /// changing some of them.
    pub fn fields(&self) -> RecordFields<'a> {
        RecordFields {
            version: self.version,
            queue_id: self.queue_id(),
            flag: self.flag(),
            queue_offset: self.queue_offset(),
            physical_offset: self.physical_offset(),
            sysflag: self.sysflag(),
            born_timestamp_ms: self.born_timestamp_ms(),
            born_host: self.born_host(),
            store_timestamp_ms: self.store_timestamp_ms(),
            store_host: self.store_host(),
            reconsume_times: self.reconsume_times(),
            prepared_transaction_offset: self.prepared_transaction_offset(),
            body: self.body(),
            topic: self.topic,
            properties: self.properties,
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        be_u32(self.bytes, at).unwrap_or(0)
    }

    fn u64_at(&self, at: usize) -> u64 {
        let high = u64::from(self.u32_at(at));
        (high << 32) | u64::from(self.u32_at(at + 4))
    }

    fn host_at(&self, at: usize, size: usize) -> SocketAddr {
        let port = self.u32_at(at + size - 4) as u16;
        match self.bytes.get(at..at + size - 4) {
            Some(&[a, b, c, d]) => SocketAddr::new(Ipv4Addr::new(a, b, c, d).into(), port),
            Some(ip) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(ip);
                SocketAddr::new(Ipv6Addr::from(octets).into(), port)
            }
            None => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
        }
    }
}

/// Reads TOPICLEN and TOPIC starting at `at`; returns the topic and the position after it.
fn read_topic(bytes: &[u8], version: RecordVersion, at: usize) -> Result<(&str, usize), WireError> {
    let short = || invalid("record ends inside its body".into());
    // Both widths are signed in Java; a negative length is corruption.
    let len = match version {
        RecordVersion::V1 => *bytes.get(at).ok_or_else(short)? as i8 as i32,
        RecordVersion::V2 => be_u16(bytes, at).ok_or_else(short)? as i16 as i32,
    };
    let len = usize::try_from(len).map_err(|_| invalid("negative topic length".into()))?;
    if len > RECORD_TOPIC_SIZE_MAX {
        return Err(invalid(format!("topic length {len} out of range")));
    }
    let start = at + version.topic_len_size();
    let raw = bytes
        .get(start..start + len)
        .ok_or_else(|| invalid("record ends inside its topic".into()))?;
    Ok((utf8(raw, "topic")?, start + len))
}

fn utf8<'a>(raw: &'a [u8], what: &str) -> Result<&'a str, WireError> {
    text::utf8(raw).ok_or_else(|| invalid(format!("{what} is not UTF-8")))
}

fn invalid(why: String) -> WireError {
    WireError::Invalid(why)
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at.checked_add(4)?)? {
        &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at.checked_add(2)?)? {
        &[a, b] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}
