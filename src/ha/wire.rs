//! The two frames of RocketMQ's classic HA protocol (docs/replication.md "Wire"), all
//! integers big-endian:
//!
//! - slave → master, on connect, after each transfer and at each heartbeat: the offset its
//!   log ends at, 8 bytes;
//! - master → slave: a header of the offset the bytes start at (8 bytes) and their length
//!   (4 bytes), then the bytes: whole records of the master's log. A length of 0 is a
//!   heartbeat.

/// Length of a slave's offset report.
pub const REPORT_LEN: usize = 8;

/// Length of a transfer header.
pub const HEADER_LEN: usize = 12;

/// A slave's report of where its log ends.
pub fn report(offset: u64) -> [u8; REPORT_LEN] {
    offset.to_be_bytes()
}

/// The offset a slave reports; a negative one cannot be a log's end.
pub fn parse_report(bytes: [u8; REPORT_LEN]) -> Result<u64, String> {
    let offset = i64::from_be_bytes(bytes);
    u64::try_from(offset).map_err(|_| format!("a slave reported offset {offset}"))
}

/// A transfer's header: where its bytes start in the master's log, and how many follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub offset: u64,
    pub size: usize,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..8].copy_from_slice(&self.offset.to_be_bytes());
        let size = u32::try_from(self.size).unwrap_or(u32::MAX);
        out[8..].copy_from_slice(&size.to_be_bytes());
        out
    }

    /// Reads a header, refusing a negative offset or more than `size_max` bytes (which no
    /// master sends: it would be a corrupt or foreign stream).
    pub fn parse(bytes: [u8; HEADER_LEN], size_max: usize) -> Result<Header, String> {
        let mut offset = [0; 8];
        offset.copy_from_slice(&bytes[..8]);
        let offset = i64::from_be_bytes(offset);
        let mut size = [0; 4];
        size.copy_from_slice(&bytes[8..]);
        let size = i32::from_be_bytes(size);
        let offset = u64::try_from(offset).map_err(|_| format!("transfer at offset {offset}"))?;
        match usize::try_from(size) {
            Ok(size) if size <= size_max => Ok(Header { offset, size }),
            _ => Err(format!("transfer of {size} bytes (at most {size_max})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_nonsense_is_refused() {
        assert_eq!(parse_report(report(1 << 40)), Ok(1 << 40));
        assert!(parse_report((-1i64).to_be_bytes()).is_err());
        let header = Header {
            offset: 4096,
            size: 300,
        };
        assert_eq!(Header::parse(header.encode(), 300), Ok(header));
        assert!(Header::parse(header.encode(), 299).is_err());
        let mut negative = header.encode();
        negative[8..].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(Header::parse(negative, 1 << 20).is_err());
        negative[..8].copy_from_slice(&(-1i64).to_be_bytes());
        assert!(Header::parse(negative, 1 << 20).is_err());
    }
}
