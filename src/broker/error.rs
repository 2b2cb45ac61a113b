//! Every way a broker request fails, and the one place that maps it to a response code.
//!
//! Values cross shards (an owner shard's refusal travels back over the mesh), so the
//! enum is plain data: `Clone + Send`, causes kept as text.

use std::fmt;

use crate::broker::metadata::topics::InvalidTopicName;
use crate::wire::codes::response_code;
use crate::wire::HeaderError;

/// A broker request that could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// A request header that is missing a field or does not parse.
    BadHeader(String),
    /// A request field outside what the broker accepts.
    InvalidParameter(String),
    /// A topic name that breaks §5.1's rules.
    InvalidTopic(InvalidTopicName),
    /// A name reserved for the broker's own system topics.
    SystemTopic(String),
    /// An unknown topic that could not be created from its template.
    TopicNotExist(String),
    /// The topic table is at [`crate::limits::BROKER_TOPICS_MAX`].
    TooManyTopics,
    /// The subscription-group table is at
    /// [`crate::limits::BROKER_SUBSCRIPTION_GROUPS_MAX`].
    TooManyGroups,
    /// A config file (`topics.json`, `subscriptionGroup.json`) could not be written;
    /// nothing changed.
    Persist(String),
    /// The owner shard could not be asked (it has stopped: the broker is shutting down).
    Mesh(String),
    /// The shard's store failed to read what the request needs.
    Store(String),
    /// No record starts at the CommitLog offset a lookup named.
    MessageNotFound { offset: i64 },
    /// A consumer group name no group can have (Java's auto-created groups are refused).
    SubscriptionGroupNotExist(String),
    /// The broker or the topic does not allow this operation.
    NoPermission(String),
    /// CONSUMER_SEND_MSG_BACK named a physical offset where no message record starts.
    SendBackNotFound(i64),
    /// The store refused a message the broker moves itself (a retry or a dead letter).
    PutFailed(String),
}

impl BrokerError {
    /// The RocketMQ response code the client sees.
    pub fn response_code(&self) -> i32 {
        match self {
            // Java answers an unreadable header from its exception handler.
            BrokerError::BadHeader(_) => response_code::SYSTEM_ERROR,
            BrokerError::InvalidParameter(_)
            | BrokerError::InvalidTopic(_)
            | BrokerError::SystemTopic(_) => response_code::INVALID_PARAMETER,
            BrokerError::TopicNotExist(_) => response_code::TOPIC_NOT_EXIST,
            BrokerError::TooManyTopics
            | BrokerError::TooManyGroups
            | BrokerError::Persist(_)
            | BrokerError::Store(_)
            | BrokerError::MessageNotFound { .. }
            | BrokerError::SendBackNotFound(_)
            | BrokerError::PutFailed(_) => response_code::SYSTEM_ERROR,
            BrokerError::SubscriptionGroupNotExist(_) => {
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST
            }
            BrokerError::NoPermission(_) => response_code::NO_PERMISSION,
            BrokerError::Mesh(_) => response_code::SERVICE_NOT_AVAILABLE,
        }
    }
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::BadHeader(why) => f.write_str(why),
            BrokerError::InvalidParameter(why) => f.write_str(why),
            BrokerError::InvalidTopic(invalid) => invalid.fmt(f),
            BrokerError::SystemTopic(topic) => {
                write!(
                    f,
                    "The specified topic[{topic}] is conflict with system topic."
                )
            }
            BrokerError::TopicNotExist(topic) => {
                write!(f, "topic[{topic}] not exist, apply first please!")
            }
            BrokerError::TooManyTopics => write!(
                f,
                "the broker already holds {} topics",
                crate::limits::BROKER_TOPICS_MAX
            ),
            BrokerError::TooManyGroups => write!(
                f,
                "the broker already holds {} subscription groups",
                crate::limits::BROKER_SUBSCRIPTION_GROUPS_MAX
            ),
            BrokerError::Persist(why) => write!(f, "cannot persist a config table: {why}"),
            BrokerError::Mesh(why) => write!(f, "broker shard unavailable: {why}"),
            BrokerError::Store(why) => write!(f, "store read failed: {why}"),
            // Java's remark, word for word: tools print it.
            BrokerError::MessageNotFound { offset } => {
                write!(f, "can not find message by the offset, {offset}")
            }
            BrokerError::SubscriptionGroupNotExist(group) => {
                write!(f, "subscription group not exist, {group}")
            }
            BrokerError::NoPermission(why) => f.write_str(why),
            // Java's remark, which tools print.
            BrokerError::SendBackNotFound(offset) => {
                write!(f, "look message by offset failed, {offset}")
            }
            BrokerError::PutFailed(why) => write!(f, "message not stored: {why}"),
        }
    }
}

impl std::error::Error for BrokerError {}

impl From<crate::storage::StoreError> for BrokerError {
    fn from(err: crate::storage::StoreError) -> Self {
        BrokerError::Store(err.to_string())
    }
}

impl From<InvalidTopicName> for BrokerError {
    fn from(err: InvalidTopicName) -> Self {
        BrokerError::InvalidTopic(err)
    }
}

impl From<HeaderError> for BrokerError {
    fn from(err: HeaderError) -> Self {
        BrokerError::BadHeader(err.to_string())
    }
}
