//! Newtypes for the three numbers RocketMQ calls "offset", so they cannot be mixed up: a
//! byte position in the shard's CommitLog, an entry index in one ConsumeQueue, and a queue id.

pub use crate::wire::record::{PhysicalOffset, QueueOffset};

/// Queue number within a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct QueueId(pub u32);

/// A file name for a segment that starts at byte `start`: 20 zero-padded decimal digits, as
/// RocketMQ names its CommitLog and ConsumeQueue files.
pub fn segment_name(start: u64) -> String {
    format!("{start:020}")
}

/// The start offset a segment file name stands for, or `None` for any other file.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_name(1073741824), "00000000001073741824");
        assert_eq!(parse_segment_name("00000000001073741824"), Some(1073741824));
        assert_eq!(parse_segment_name("0000000000107374182"), None);
        assert_eq!(parse_segment_name(".dma-probe"), None);
    }
}
