//! The topic rules of a send (docs/protocol.md §2.4.1 steps 2, 5 and 6): which names a producer
//! may write, and when a message sent back to a retry topic goes to the group's dead-letter
//! topic instead. Pure functions of the request; the send handler applies them.

use crate::broker::BrokerError;
use crate::limits::TOPIC_NAME_MAX;
use crate::wire::headers::SendMessageRequestHeader;

/// Prefix of a consumer group's retry topic.
pub const RETRY_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_TOPIC_PREFIX: &str = "%DLQ%";
/// Longest retry or DLQ topic (the group name makes them longer than ordinary topics).
const RETRY_TOPIC_NAME_MAX: usize = 255;

/// System topics only the broker writes (Java `TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Java's topic rules for a send: `[%|a-zA-Z0-9_-]`, at most 127 bytes (255 for retry and
/// DLQ topics), not a broker-only system topic, and no batch into a retry topic.
pub fn check_topic(topic: &str, batch: bool) -> Result<(), BrokerError> {
    let invalid = |why| BrokerError::InvalidTopic {
        topic: topic.to_owned(),
        why,
    };
    if topic.is_empty() {
        return Err(invalid("the topic is blank"));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-');
    if !topic.bytes().all(allowed) {
        return Err(invalid("only the characters %|a-zA-Z0-9_- are allowed"));
    }
    let retry = topic.starts_with(RETRY_TOPIC_PREFIX) || topic.starts_with(DLQ_TOPIC_PREFIX);
    let max = if retry {
        RETRY_TOPIC_NAME_MAX
    } else {
        TOPIC_NAME_MAX
    };
    if topic.len() > max {
        let why = format!("topic length {} exceeds the maximum of {max}", topic.len());
        return Err(BrokerError::MessageIllegal(why));
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(BrokerError::ForbiddenTopic(topic.to_owned()));
    }
    if batch && topic.starts_with(RETRY_TOPIC_PREFIX) {
        let why = "batch messages cannot be sent to a retry topic".to_owned();
        return Err(BrokerError::MessageIllegal(why));
    }
    Ok(())
}

/// Java 5.x's default `retryMaxTimes` of a consumer group.
pub const RETRY_MAX_TIMES_DEFAULT: i32 = 16;

/// The dead-letter topic a send to `%RETRY%<group>` must go to instead: when the message
/// was already redelivered more often than allowed (`reconsumeTimes > maxReconsumeTimes`,
/// the 5.x rule; the group default when the client sent no maximum).
pub fn dead_letter_topic(h: &SendMessageRequestHeader) -> Option<String> {
    let group = h.topic.strip_prefix(RETRY_TOPIC_PREFIX)?;
    let max = h.max_reconsume_times.unwrap_or(RETRY_MAX_TIMES_DEFAULT);
    (h.reconsume_times.unwrap_or(0) > max).then(|| dlq_topic_of(group))
}

/// `%RETRY%<group>`.
pub fn retry_topic_of(group: &str) -> String {
    format!("{RETRY_TOPIC_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic_of(group: &str) -> String {
    format!("{DLQ_TOPIC_PREFIX}{group}")
}
