//! Offsets and lookups (docs/protocol.md §2.5.2–§2.5.3, §2.7): consumer offsets, queue offset
//! bounds, time search, message lookups by offset and by key.

use super::{command_header, FieldValue};

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request.
    pub struct QueryConsumerOffsetRequestHeader {
        req consumer_group: String = "consumerGroup",
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        opt set_zero_if_not_found: bool = "setZeroIfNotFound",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// The response of QUERY_CONSUMER_OFFSET (14), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31)
    /// and SEARCH_OFFSET_BY_TIMESTAMP (29): one queue offset.
    pub struct OffsetResponseHeader {
        req offset: i64 = "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request, oneway or two-way; the response has no header.
    pub struct UpdateConsumerOffsetRequestHeader {
        req consumer_group: String = "consumerGroup",
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        /// The next offset to consume.
        req commit_offset: i64 = "commitOffset",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) request.
    pub struct GetMaxOffsetRequestHeader {
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        /// 5.x; true when absent.
        opt committed: bool = "committed",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) request.
    pub struct GetMinOffsetRequestHeader {
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        opt broker_name: String = "bname",
    }
}

/// Which side of a timestamp SEARCH_OFFSET_BY_TIMESTAMP answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BoundaryType {
    /// The first message stored at or after the timestamp.
    #[default]
    Lower,
    /// The last message stored at or before the timestamp.
    Upper,
}

impl FieldValue for BoundaryType {
    const EXPECTED: &'static str = "LOWER or UPPER";
    /// Case-insensitive; anything but UPPER means LOWER, the default, as in Java.
    fn parse(text: &str) -> Option<Self> {
        match text.eq_ignore_ascii_case("upper") {
            true => Some(BoundaryType::Upper),
            false => Some(BoundaryType::Lower),
        }
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        })
    }
    #[cfg(test)]
    fn sample(_: u32) -> Self {
        BoundaryType::Upper
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request.
    pub struct SearchOffsetRequestHeader {
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        /// Milliseconds since the epoch.
        req timestamp: i64 = "timestamp",
        opt boundary_type: BoundaryType = "boundaryType",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response; -1 when unavailable.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        req timestamp: i64 = "timestamp",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request: the offset decoded from an offset message id.
    pub struct ViewMessageRequestHeader {
        /// Commit-log (physical) offset.
        req offset: i64 = "offset",
        opt topic: String = "topic",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) request: query by key or unique key.
    pub struct QueryMessageRequestHeader {
        req topic: String = "topic",
        req key: String = "key",
        req max_num: i32 = "maxNum",
        req begin_timestamp: i64 = "beginTimestamp",
        req end_timestamp: i64 = "endTimestamp",
        /// `true` when `key` is a unique key (UNIQ_KEY).
        opt unique_key_query: bool = "_UNIQUE_KEY_QUERY",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response.
    pub struct QueryMessageResponseHeader {
        req index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        req index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::*;

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&QueryConsumerOffsetRequestHeader::sample());
        assert_round_trip(&OffsetResponseHeader::sample());
        assert_round_trip(&UpdateConsumerOffsetRequestHeader::sample());
        assert_round_trip(&GetMaxOffsetRequestHeader::sample());
        assert_round_trip(&GetMinOffsetRequestHeader::sample());
        assert_round_trip(&SearchOffsetRequestHeader::sample());
        assert_round_trip(&GetEarliestMsgStoretimeRequestHeader::sample());
        assert_round_trip(&GetEarliestMsgStoretimeResponseHeader::sample());
        assert_round_trip(&ViewMessageRequestHeader::sample());
        assert_round_trip(&QueryMessageRequestHeader::sample());
        assert_round_trip(&QueryMessageResponseHeader::sample());
    }

    #[test]
    fn boundary_type_reads_case_insensitively() {
        assert_eq!(BoundaryType::parse("upper"), Some(BoundaryType::Upper));
        assert_eq!(BoundaryType::parse("LOWER"), Some(BoundaryType::Lower));
        assert_eq!(BoundaryType::parse("sideways"), Some(BoundaryType::Lower));
    }
}
