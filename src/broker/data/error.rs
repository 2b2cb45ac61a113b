//! Why a SEND or PULL was refused, and the one place that maps each reason to its RocketMQ
//! response code and remark. Handlers return these; [`DataError::response_to`] builds the
//! answer, so clients see Java's codes (and, where tools match on them, Java's remarks).

use std::fmt;

use crate::broker::metadata::topics::InvalidTopicName;
use crate::storage::StoreError;
use crate::wire::codes::response_code;
use crate::wire::{HeaderError, RemotingCommand};

/// A refused send or pull.
#[derive(Debug, Clone)]
pub enum DataError {
    Header(HeaderError),
    /// Characters or length outside Java's topic rules.
    InvalidTopic(InvalidTopicName),
    /// A system topic clients may not send to.
    ForbiddenTopic {
        topic: String,
    },
    TopicNotExist {
        topic: String,
    },
    /// The broker or the topic does not allow this operation.
    NoPermission {
        remark: String,
    },
    InvalidQueueId {
        topic: String,
        queue_id: i32,
        max: u32,
    },
    MessageIllegal {
        why: String,
    },
    SubscriptionParse {
        expression: String,
    },
    SubscriptionNotExist {
        group: String,
        topic: String,
    },
    /// A consumer group the broker neither knows nor may create.
    SubscriptionGroupNotExist {
        group: String,
    },
    SubscriptionNotLatest {
        group: String,
        topic: String,
    },
    /// SQL92 and other expression types need a property filter this broker does not run.
    FilterNotSupported {
        expression_type: String,
    },
    Store(StoreError),
}

impl DataError {
    pub fn response_code(&self) -> i32 {
        use response_code::*;
        match self {
            DataError::Header(_) | DataError::FilterNotSupported { .. } => SYSTEM_ERROR,
            DataError::InvalidTopic(_) | DataError::InvalidQueueId { .. } => INVALID_PARAMETER,
            DataError::ForbiddenTopic { .. } | DataError::NoPermission { .. } => NO_PERMISSION,
            DataError::TopicNotExist { .. } => TOPIC_NOT_EXIST,
            DataError::MessageIllegal { .. } => MESSAGE_ILLEGAL,
            DataError::SubscriptionParse { .. } => SUBSCRIPTION_PARSE_FAILED,
            DataError::SubscriptionNotExist { .. } => SUBSCRIPTION_NOT_EXIST,
            DataError::SubscriptionGroupNotExist { .. } => SUBSCRIPTION_GROUP_NOT_EXIST,
            DataError::SubscriptionNotLatest { .. } => SUBSCRIPTION_NOT_LATEST,
            DataError::Store(e) => match e {
                // Producers retry both on another broker.
                StoreError::DiskFull => SERVICE_NOT_AVAILABLE,
                StoreError::Busy => SYSTEM_BUSY,
                StoreError::RecordTooLarge { .. } => MESSAGE_ILLEGAL,
                _ => SYSTEM_ERROR,
            },
        }
    }

    /// The error response to `request`.
    pub fn response_to(&self, request: &RemotingCommand) -> RemotingCommand {
        RemotingCommand::response_to(request, self.response_code(), Some(self.to_string()))
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Header(e) => write!(f, "bad request header: {e}"),
            DataError::InvalidTopic(invalid) => invalid.fmt(f),
            DataError::ForbiddenTopic { topic } => {
                write!(f, "Sending message to topic[{topic}] is forbidden.")
            }
            DataError::TopicNotExist { topic } => write!(
                f,
                "topic[{topic}] not exist, apply first please! \
                 https://rocketmq.apache.org/docs/bestPractice/06FAQ"
            ),
            DataError::NoPermission { remark } => f.write_str(remark),
            DataError::InvalidQueueId {
                topic,
                queue_id,
                max,
            } => write!(
                f,
                "request queueId[{queue_id}] is illegal, topic[{topic}] has {max} queues"
            ),
            DataError::MessageIllegal { why } => f.write_str(why),
            DataError::SubscriptionParse { expression } => {
                write!(f, "parse the consumer's subscription[{expression}] failed")
            }
            // Java's remark, which tools print.
            DataError::SubscriptionGroupNotExist { group } => write!(
                f,
                "subscription group [{group}] does not exist, \nSee \
                 https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
            ),
            DataError::SubscriptionNotExist { group, topic } => write!(
                f,
                "the consumer's subscription not exist, group: {group} topic: {topic}"
            ),
            DataError::SubscriptionNotLatest { group, topic } => write!(
                f,
                "the consumer's subscription not latest, group: {group} topic: {topic}"
            ),
            DataError::FilterNotSupported { expression_type } => write!(
                f,
                "The broker does not support consumer to filter message by {expression_type}"
            ),
            DataError::Store(e) => store_remark(e, f),
        }
    }
}

/// Remarks that say what the operator (or the producer) can do about it.
fn store_remark(e: &StoreError, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match e {
        StoreError::DiskFull => f.write_str(
            "service not available now: the store's disk is full; free space or lower \
             fileReservedTime so retention deletes old segments (reads still work)",
        ),
        StoreError::Busy => f.write_str(
            "[PC_SYNCHRONIZED]broker busy, start flow control for a while: \
             the disk is behind the producers",
        ),
        StoreError::RecordTooLarge { size, max } => {
            write!(f, "the message record of {size} bytes exceeds {max} bytes")
        }
        other => write!(f, "store error: {other}"),
    }
}

impl From<HeaderError> for DataError {
    fn from(e: HeaderError) -> Self {
        DataError::Header(e)
    }
}

impl From<InvalidTopicName> for DataError {
    fn from(e: InvalidTopicName) -> Self {
        DataError::InvalidTopic(e)
    }
}

impl From<StoreError> for DataError {
    fn from(e: StoreError) -> Self {
        DataError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_codes_producers_act_on() {
        let cases = [
            (StoreError::DiskFull, response_code::SERVICE_NOT_AVAILABLE),
            (StoreError::Busy, response_code::SYSTEM_BUSY),
            (
                StoreError::RecordTooLarge { size: 9, max: 8 },
                response_code::MESSAGE_ILLEGAL,
            ),
            (StoreError::Failed, response_code::SYSTEM_ERROR),
        ];
        for (e, code) in cases {
            assert_eq!(DataError::Store(e.clone()).response_code(), code, "{e}");
        }
        let busy = DataError::Store(StoreError::Busy).to_string();
        assert!(busy.starts_with("[PC_SYNCHRONIZED]"), "{busy}");
        let full = DataError::Store(StoreError::DiskFull).to_string();
        assert!(full.contains("disk is full"), "{full}");
    }
}
