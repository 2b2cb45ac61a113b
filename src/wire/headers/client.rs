//! Client registration and group membership (docs/protocol.md §2.3, §2.5.4–§2.5.5). HEART_BEAT
//! (34) and CHECK_CLIENT_CONFIG (46) carry their data in JSON bodies, not headers.

use super::command_header;

command_header! {
    /// HEART_BEAT (34) response ext fields of a 5.x broker.
    pub struct HeartbeatResponseHeader {
        opt is_support_heart_beat_v2: bool = "IS_SUPPORT_HEART_BEAT_V2",
        /// Always `true` is safe: it makes the client send full heartbeats.
        opt is_sub_change: bool = "IS_SUB_CHANGE",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request, once per group at client shutdown.
    pub struct UnregisterClientRequestHeader {
        req client_id: String = "clientID",
        opt producer_group: String = "producerGroup",
        opt consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request; the ids come back in a JSON body.
    pub struct GetConsumerListByGroupRequestHeader {
        req consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), broker to client, oneway.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        req consumer_group: String = "consumerGroup",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::*;

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&HeartbeatResponseHeader::sample());
        assert_round_trip(&UnregisterClientRequestHeader::sample());
        assert_round_trip(&GetConsumerListByGroupRequestHeader::sample());
        assert_round_trip(&NotifyConsumerIdsChangedRequestHeader::sample());
    }
}
