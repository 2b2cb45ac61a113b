//! Every way a broker request fails, with the RocketMQ response code and remark each one
//! gets. Handlers return these; [`RemotingCommand::refusal`](crate::wire::RemotingCommand::refusal)
//! turns one into its response, so clients see Java's codes (and, where tools match on
//! them, Java's remarks).
//!
//! Values cross shards (an owner shard's refusal travels back over the mesh), so the enum is
//! plain data: `Clone + Send`, causes kept as text.

use std::fmt;

use crate::broker::metadata::topics::InvalidTopicName;
use crate::limits;
use crate::storage::StoreError;
use crate::wire::body::BodyError;
use crate::wire::codes::response_code;
use crate::wire::{HeaderError, Refusal};

/// Java's remark for a group with no stored offset, which some tools print.
const OFFSET_NOT_FOUND_REMARK: &str =
    "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first";

/// Where Java's remarks send a user who asked for a topic or group that does not exist.
const FAQ_URL: &str = "https://rocketmq.apache.org/docs/bestPractice/06FAQ";

/// A broker request that could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    // The request itself.
    /// A request header that is missing a field or does not parse.
    Header(HeaderError),
    /// A JSON body that does not parse.
    Body(BodyError),
    /// A request that needs a body came without one.
    MissingBody { what: &'static str },
    /// A request field outside what the broker accepts.
    InvalidParameter(String),
    /// A topic name that breaks docs/protocol.md §5.1's rules.
    InvalidTopic(InvalidTopicName),
    /// A queue id the topic does not have.
    InvalidQueueId {
        topic: String,
        queue_id: i32,
        max: u32,
    },
    /// A message the broker will not store (size, properties, batch form).
    MessageIllegal(String),

    // Topics, groups and permissions.
    /// A topic name reserved for the broker's own system topics (topic creation).
    SystemTopic(String),
    /// A system topic clients may not send to.
    ForbiddenTopic(String),
    /// An unknown topic that could not be created from its template.
    TopicNotExist(String),
    /// The broker or the topic does not allow this operation; the remark says which.
    NoPermission(String),
    /// A consumer group the broker neither knows nor may create.
    SubscriptionGroupNotExist(String),
    /// A pull whose expression does not parse.
    SubscriptionParse { expression: String },
    /// A pull without a subscription, from a consumer the broker has not registered.
    SubscriptionNotExist { group: String, topic: String },
    /// A pull with a subscription older than the registered one.
    SubscriptionNotLatest { group: String, topic: String },
    /// SQL92 and other expression types need a property filter this broker does not run.
    FilterNotSupported { expression_type: String },

    // Lookups that found nothing.
    /// GET_CONSUMER_LIST_BY_GROUP for a group without live consumers.
    NoConsumer(String),
    /// GET_CONSUMER/PRODUCER_CONNECTION_LIST for a group without live connections.
    NotOnline(String),
    /// A request forwarded to a consumer could not be (it is not connected here, or too old
    /// to answer), or failed on the way; the remark is Java's.
    ClientCall(String),
    /// A request forwarded to a consumer had no answer in time.
    ClientTimeout(String),
    /// No stored consumer offset, and the queue cannot be said to start at 0.
    OffsetNotFound,
    /// No record starts at the CommitLog offset a lookup named.
    MessageNotFound { offset: i64 },
    /// END_TRANSACTION named no pending half message (none there, or it has ended).
    TransactionNotFound(String),
    /// An operation the broker refuses in the state it is in; the remark says why.
    IllegalOperation(String),
    /// INVOKE_BROKER_TO_RESET_OFFSET that cannot be done (on a slave, an offset outside its
    /// queue); Java's remark.
    ResetRefused(String),
    /// CONSUMER_SEND_MSG_BACK named a physical offset where no message record starts.
    SendBackNotFound(i64),
    /// A negative queue id, or a topic or group that could not be written to the offsets
    /// file.
    InvalidOffsetKey {
        topic: String,
        group: String,
        queue_id: i32,
    },

    // Limits.
    /// The topic table is at [`limits::BROKER_TOPICS_MAX`].
    TooManyTopics,
    /// The subscription-group table is at [`limits::BROKER_SUBSCRIPTION_GROUPS_MAX`].
    TooManyGroups,
    /// The client registry is at [`limits::BROKER_CLIENT_GROUPS_MAX`] groups.
    TooManyClientGroups,
    /// A heartbeat lists more than [`limits::BROKER_GROUP_SUBSCRIPTIONS_MAX`]
    /// subscriptions for one group.
    TooManySubscriptions { group: String },
    /// The offsets table is at [`limits::CONSUMER_OFFSET_ENTRIES_MAX`] entries.
    TooManyOffsets,

    // The broker's own trouble.
    /// A config file (`topics.json`, `subscriptionGroup.json`) could not be written;
    /// nothing changed.
    Persist(String),
    /// The owner shard could not be asked (it has stopped: the broker is shutting down).
    Mesh(String),
    /// The store's disk is full: appends are refused, reads still served.
    DiskFull,
    /// A send to a slave (`brokerRole=SLAVE`): only its master stores messages.
    Slave,
    /// The store's log buffer is full of bytes the disk has not taken yet.
    StoreBusy,
    /// A record larger than the store can ever hold.
    RecordTooLarge { size: usize, max: usize },
    /// Any other store failure.
    Store(String),
    /// The store refused a message the broker moves itself (a retry or a dead letter).
    PutFailed(String),
}

impl Refusal for BrokerError {
    fn response_code(&self) -> i32 {
        use response_code::*;
        match self {
            // Java answers unreadable input from its exception handler.
            BrokerError::Header(_) | BrokerError::Body(_) | BrokerError::MissingBody { .. } => {
                SYSTEM_ERROR
            }
            BrokerError::InvalidParameter(_)
            | BrokerError::InvalidTopic(_)
            | BrokerError::InvalidQueueId { .. }
            | BrokerError::SystemTopic(_)
            | BrokerError::InvalidOffsetKey { .. } => INVALID_PARAMETER,
            BrokerError::MessageIllegal(_) | BrokerError::RecordTooLarge { .. } => MESSAGE_ILLEGAL,
            BrokerError::ForbiddenTopic(_) | BrokerError::NoPermission(_) => NO_PERMISSION,
            BrokerError::TopicNotExist(_) => TOPIC_NOT_EXIST,
            BrokerError::SubscriptionGroupNotExist(_) => SUBSCRIPTION_GROUP_NOT_EXIST,
            BrokerError::SubscriptionParse { .. } => SUBSCRIPTION_PARSE_FAILED,
            BrokerError::SubscriptionNotExist { .. } => SUBSCRIPTION_NOT_EXIST,
            BrokerError::SubscriptionNotLatest { .. } => SUBSCRIPTION_NOT_LATEST,
            BrokerError::NotOnline(_) => CONSUMER_NOT_ONLINE,
            BrokerError::OffsetNotFound => QUERY_NOT_FOUND,
            // Producers retry both on another broker.
            BrokerError::DiskFull | BrokerError::Slave | BrokerError::Mesh(_) => {
                SERVICE_NOT_AVAILABLE
            }
            BrokerError::StoreBusy => SYSTEM_BUSY,
            BrokerError::IllegalOperation(_) => ILLEGAL_OPERATION,
            BrokerError::ClientTimeout(_) => CONSUME_MSG_TIMEOUT,
            BrokerError::FilterNotSupported { .. }
            | BrokerError::NoConsumer(_)
            | BrokerError::ClientCall(_)
            | BrokerError::MessageNotFound { .. }
            | BrokerError::SendBackNotFound(_)
            | BrokerError::TransactionNotFound(_)
            | BrokerError::ResetRefused(_)
            | BrokerError::TooManyTopics
            | BrokerError::TooManyGroups
            | BrokerError::TooManyClientGroups
            | BrokerError::TooManySubscriptions { .. }
            | BrokerError::TooManyOffsets
            | BrokerError::Persist(_)
            | BrokerError::Store(_)
            | BrokerError::PutFailed(_) => SYSTEM_ERROR,
        }
    }

    /// Unknown topics, groups without consumers, offsets and messages not found are the
    /// clients' everyday lookups, not the broker's trouble; so is a transaction's second end
    /// (a check's answer after the producer's own).
    fn is_routine(&self) -> bool {
        matches!(
            self,
            BrokerError::TopicNotExist(_)
                | BrokerError::MessageNotFound { .. }
                | BrokerError::NoConsumer(_)
                | BrokerError::NotOnline(_)
                | BrokerError::OffsetNotFound
                | BrokerError::TransactionNotFound(_)
        )
    }
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Header(err) => err.fmt(f),
            BrokerError::Body(err) => err.fmt(f),
            BrokerError::MissingBody { what } => write!(f, "the {what} is missing"),
            BrokerError::InvalidParameter(why)
            | BrokerError::MessageIllegal(why)
            | BrokerError::TransactionNotFound(why)
            | BrokerError::IllegalOperation(why)
            | BrokerError::ClientCall(why)
            | BrokerError::ClientTimeout(why)
            | BrokerError::ResetRefused(why) => f.write_str(why),
            BrokerError::InvalidTopic(invalid) => invalid.fmt(f),
            BrokerError::InvalidQueueId {
                topic,
                queue_id,
                max,
            } => write!(
                f,
                "request queueId[{queue_id}] is illegal, topic[{topic}] has {max} queues"
            ),
            BrokerError::SystemTopic(topic) => {
                write!(
                    f,
                    "The specified topic[{topic}] is conflict with system topic."
                )
            }
            BrokerError::ForbiddenTopic(topic) => {
                write!(f, "Sending message to topic[{topic}] is forbidden.")
            }
            BrokerError::TopicNotExist(topic) => {
                write!(f, "topic[{topic}] not exist, apply first please! {FAQ_URL}")
            }
            BrokerError::NoPermission(why) => f.write_str(why),
            BrokerError::SubscriptionGroupNotExist(group) => write!(
                f,
                "subscription group [{group}] does not exist, \nSee {FAQ_URL} for further details."
            ),
            BrokerError::SubscriptionParse { expression } => {
                write!(f, "parse the consumer's subscription[{expression}] failed")
            }
            BrokerError::SubscriptionNotExist { group, topic } => write!(
                f,
                "the consumer's subscription not exist, group: {group} topic: {topic}"
            ),
            BrokerError::SubscriptionNotLatest { group, topic } => write!(
                f,
                "the consumer's subscription not latest, group: {group} topic: {topic}"
            ),
            BrokerError::FilterNotSupported { expression_type } => write!(
                f,
                "The broker does not support consumer to filter message by {expression_type}"
            ),
            // docs/protocol.md §2.5.4's remark.
            BrokerError::NoConsumer(group) => write!(f, "no consumer for this group, {group}"),
            BrokerError::NotOnline(group) => {
                write!(f, "the group {group} has no live connection on this broker")
            }
            BrokerError::OffsetNotFound => f.write_str(OFFSET_NOT_FOUND_REMARK),
            // Java's remark, word for word: tools print it.
            BrokerError::MessageNotFound { offset } => {
                write!(f, "can not find message by the offset, {offset}")
            }
            BrokerError::SendBackNotFound(offset) => {
                write!(f, "look message by offset failed, {offset}")
            }
            BrokerError::InvalidOffsetKey {
                topic,
                group,
                queue_id,
            } => write!(
                f,
                "no offset can be kept for group {group:?}, topic {topic:?}, queue {queue_id}: \
                 names must be non-empty without '@' and queue ids not negative"
            ),
            BrokerError::TooManyTopics => write!(
                f,
                "the broker already holds {} topics",
                limits::BROKER_TOPICS_MAX
            ),
            BrokerError::TooManyGroups => write!(
                f,
                "the broker already holds {} subscription groups",
                limits::BROKER_SUBSCRIPTION_GROUPS_MAX
            ),
            BrokerError::TooManyClientGroups => write!(
                f,
                "this broker already tracks {} client groups",
                limits::BROKER_CLIENT_GROUPS_MAX
            ),
            BrokerError::TooManySubscriptions { group } => write!(
                f,
                "consumer group {group} lists more than {} subscriptions",
                limits::BROKER_GROUP_SUBSCRIPTIONS_MAX
            ),
            BrokerError::TooManyOffsets => write!(
                f,
                "this broker already stores {} consumer offsets",
                limits::CONSUMER_OFFSET_ENTRIES_MAX
            ),
            BrokerError::Persist(why) => write!(f, "cannot persist a config table: {why}"),
            BrokerError::Mesh(why) => write!(f, "broker shard unavailable: {why}"),
            // Remarks that say what the operator (or the producer) can do about it.
            BrokerError::Slave => f.write_str(
                "service not available now: this broker is a slave (brokerRole=SLAVE); send to \
                 its master",
            ),
            BrokerError::DiskFull => f.write_str(
                "service not available now: the store's disk is full; free space or lower \
                 fileReservedTime so retention deletes old segments (reads still work)",
            ),
            BrokerError::StoreBusy => f.write_str(
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while: \
                 the disk is behind the producers",
            ),
            BrokerError::RecordTooLarge { size, max } => {
                write!(
                    f,
                    "the message records, {size} bytes, exceed the {max} bytes a commit log \
                     segment holds"
                )
            }
            BrokerError::Store(why) => write!(f, "store error: {why}"),
            BrokerError::PutFailed(why) => write!(f, "message not stored: {why}"),
        }
    }
}

impl std::error::Error for BrokerError {}

impl From<StoreError> for BrokerError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DiskFull => BrokerError::DiskFull,
            StoreError::CopiesOnly => BrokerError::Slave,
            StoreError::Busy => BrokerError::StoreBusy,
            StoreError::RecordTooLarge { size, max } => BrokerError::RecordTooLarge { size, max },
            other => BrokerError::Store(other.to_string()),
        }
    }
}

impl From<InvalidTopicName> for BrokerError {
    fn from(err: InvalidTopicName) -> Self {
        BrokerError::InvalidTopic(err)
    }
}

impl From<HeaderError> for BrokerError {
    fn from(err: HeaderError) -> Self {
        BrokerError::Header(err)
    }
}

impl From<BodyError> for BrokerError {
    fn from(err: BodyError) -> Self {
        BrokerError::Body(err)
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
            assert_eq!(BrokerError::from(e.clone()).response_code(), code, "{e}");
        }
        let busy = BrokerError::from(StoreError::Busy).to_string();
        assert!(busy.starts_with("[PC_SYNCHRONIZED]"), "{busy}");
        let full = BrokerError::from(StoreError::DiskFull).to_string();
        assert!(full.contains("disk is full"), "{full}");
    }
}
