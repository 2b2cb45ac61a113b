//! The header of a send as a 5.x Java producer writes it (default topic TBW102 with 4 queues,
//! queue 3, a broker name, no batch), for the benches of the send path. Included by path
//! where needed.

use shardmq::wire::headers::SendMessageRequestHeader;

/// A Java producer's send of a message with `properties` to `topic`, from `group`.
pub fn java_send_header<'a>(
    group: &'a str,
    topic: &'a str,
    properties: &'a str,
) -> SendMessageRequestHeader<'a> {
    SendMessageRequestHeader {
        producer_group: group.into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_123,
        flag: 0,
        properties: Some(properties.into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    }
}
