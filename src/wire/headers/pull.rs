//! Consuming (docs/protocol.md §2.5.1): PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) share one
//! request header and one response header.

use super::command_header;

/// Pull sysFlag bits (docs/protocol.md §2.5.1).
pub mod pull_sys_flag {
    /// Store `commitOffset` as the group's consumed offset.
    pub const COMMIT_OFFSET: i32 = 0x01;
    /// The broker may hold the request (long polling).
    pub const SUSPEND: i32 = 0x02;
    /// Filter with the header's subscription, not the heartbeat's.
    pub const SUBSCRIPTION: i32 = 0x04;
    pub const CLASS_FILTER: i32 = 0x08;
    pub const LITE_PULL: i32 = 0x10;
}

command_header! {
    /// PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361) request.
    pub struct PullMessageRequestHeader {
        req consumer_group: String = "consumerGroup",
        req topic: String = "topic",
        req queue_id: i32 = "queueId",
        /// First queue offset wanted.
        req queue_offset: i64 = "queueOffset",
        req max_msg_nums: i32 = "maxMsgNums",
        req sys_flag: i32 = "sysFlag",
        /// The consumer's offset, stored only with the COMMIT_OFFSET bit.
        req commit_offset: i64 = "commitOffset",
        /// Long-poll hold time.
        req suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// Only meaningful with the SUBSCRIPTION bit.
        opt subscription: String = "subscription",
        req sub_version: i64 = "subVersion",
        /// `TAG` when absent.
        opt expression_type: String = "expressionType",
        opt max_msg_bytes: i32 = "maxMsgBytes",
        opt request_source: i32 = "requestSource",
        /// Misspelt as in Java.
        opt proxy_forward_client_id: String = "proxyFrowardClientId",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// The pull response. The four required fields must be sent with every one of the normal
    /// response codes (SUCCESS, PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED).
    pub struct PullMessageResponseHeader {
        /// 0 (the master) on a single node.
        req suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        req next_begin_offset: i64 = "nextBeginOffset",
        req min_offset: i64 = "minOffset",
        req max_offset: i64 = "maxOffset",
        opt offset_delta: i64 = "offsetDelta",
        opt topic_sys_flag: i32 = "topicSysFlag",
        opt group_sys_flag: i32 = "groupSysFlag",
        opt forbidden_type: i32 = "forbiddenType",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::super::CommandHeader;
    use super::*;
    use crate::wire::ExtFields;

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&PullMessageRequestHeader::sample());
        assert_round_trip(&PullMessageResponseHeader::sample());
    }

    #[test]
    fn rust_client_pull_decodes() {
        let fields: ExtFields = [
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "0"),
            ("queueOffset", "0"),
            ("maxMsgNums", "32"),
            ("sysFlag", "2"),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "15000"),
            ("subscription", ""),
            ("subVersion", "1700000000000"),
        ]
        .into_iter()
        .collect();
        let header = PullMessageRequestHeader::decode(&fields).expect("valid");
        assert_eq!(header.sys_flag, pull_sys_flag::SUSPEND);
        assert_eq!(header.subscription.as_deref(), Some(""));
        assert_eq!(header.expression_type, None);
    }
}
