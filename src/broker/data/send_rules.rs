//! The topic rules of a send (docs/protocol.md §2.4.1 steps 2, 5 and 6): which names a producer
//! may write, and when a message sent back to a retry topic goes to the group's dead-letter
//! topic instead. Pure functions of the request; the send handler applies them.

use crate::broker::metadata::groups::RETRY_MAX_TIMES_DEFAULT;
use crate::broker::metadata::topics;
use crate::broker::BrokerError;
use crate::wire::headers::SendMessageRequestHeader;
use crate::wire::topics::{DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX};

/// Java's topic rules for a send (`msgCheck`): a valid name ([`topics::validate_topic`],
/// INVALID_PARAMETER), not a broker-only system topic (NO_PERMISSION), and no batch into a
/// retry topic (MESSAGE_ILLEGAL).
pub fn check_topic(topic: &str, batch: bool) -> Result<(), BrokerError> {
    topics::validate_topic(topic)?;
    if topics::is_send_forbidden(topic) {
        return Err(BrokerError::ForbiddenTopic(topic.to_owned()));
    }
    if batch && topic.starts_with(RETRY_TOPIC_PREFIX) {
        let why = "batch messages cannot be sent to a retry topic".to_owned();
        return Err(BrokerError::MessageIllegal(why));
    }
    Ok(())
}

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
