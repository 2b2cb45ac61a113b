//! Administration requests to the broker (docs/protocol.md §2.8), as mqadmin sends them.

use super::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request.
    pub struct CreateTopicRequestHeader {
        req topic: String = "topic",
        req default_topic: String = "defaultTopic",
        req read_queue_nums: i32 = "readQueueNums",
        req write_queue_nums: i32 = "writeQueueNums",
        /// Permission bits (docs/protocol.md §5.1).
        req perm: i32 = "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        req topic_filter_type: String = "topicFilterType",
        opt topic_sys_flag: i32 = "topicSysFlag",
        req order: bool = "order",
        /// 5.x, e.g. `+message.type=NORMAL`.
        opt attributes: String = "attributes",
        opt force: bool = "force",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215) request.
    pub struct DeleteTopicRequestHeader {
        req topic: String = "topic",
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207) request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        req group_name: String = "groupName",
        /// Also drop the group's consumer offsets.
        opt clean_offset: bool = "cleanOffset",
    }
}

command_header! {
    /// GET_TOPIC_STATS_INFO (202) request.
    pub struct GetTopicStatsInfoRequestHeader {
        req topic: String = "topic",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208) request.
    pub struct GetConsumeStatsRequestHeader {
        req consumer_group: String = "consumerGroup",
        opt topic: String = "topic",
        /// 5.x: topics separated by `;`.
        opt topic_list: String = "topicList",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request.
    pub struct GetConsumerConnectionListRequestHeader {
        req consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) request from mqadmin, and RESET_CONSUMER_CLIENT_OFFSET
    /// (220) from a 4.9 broker to its consumers (which read only the first three fields).
    pub struct ResetOffsetRequestHeader {
        req topic: String = "topic",
        req group: String = "group",
        /// Milliseconds since the epoch; -1 means the max offset.
        req timestamp: i64 = "timestamp",
        /// Java's key name for `force`.
        req is_force: bool = "isForce",
        /// 5.x; absent or -1 means every queue.
        opt queue_id: i32 = "queueId",
        /// 5.x; absent or -1 means "use the timestamp".
        opt offset: i64 = "offset",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request.
    pub struct GetProducerConnectionListRequestHeader {
        req producer_group: String = "producerGroup",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::*;

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&CreateTopicRequestHeader::sample());
        assert_round_trip(&DeleteTopicRequestHeader::sample());
        assert_round_trip(&DeleteSubscriptionGroupRequestHeader::sample());
        assert_round_trip(&GetTopicStatsInfoRequestHeader::sample());
        assert_round_trip(&GetConsumeStatsRequestHeader::sample());
        assert_round_trip(&GetConsumerConnectionListRequestHeader::sample());
        assert_round_trip(&ResetOffsetRequestHeader::sample());
        assert_round_trip(&GetProducerConnectionListRequestHeader::sample());
    }
}
