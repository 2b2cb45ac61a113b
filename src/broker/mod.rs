//! RocketMQ broker semantics, grouped by request family, one folder each; no sockets, no
//! files on the request path.
//!
//! # Each shard is a logical broker
//!
//! Shard `k` is a broker of its own in the cluster: it listens on its own ports (see
//! [`crate::server`]) and registers with every NameServer as broker name
//! `<brokerName>-<k>` ([`crate::config::BrokerConfig::shard_broker_name`]), broker id
//! `brokerId`, address `brokerIP1:<its main port>`. Every shard hosts the **full queue set of every topic**: a
//! 4-queue topic on a 2-shard process shows clients two `queueDatas` of 4 queues each, 8
//! queues in all, exactly as two Java brokers of one cluster would. This is the simplest
//! mapping that stock clients route correctly by themselves: a queue `(brokerName, queueId)`
//! lives on one shard, so sends and pulls reach the core that owns it with no hop between
//! cores, and queue ids stay `0..n` per broker as every client assumes. The cost is that a
//! topic's queue count is per shard: ask for 4 queues and a 2-shard process serves 8.
//!
//! # Control plane
//!
//! The topic table is shared by all shards and owned by shard 0
//! ([`metadata::topic_owner`]), persisted in `<storePathRootDir>/config/topics.json` (one
//! file per process, as the table is one per process); the subscription-group table
//! likewise ([`metadata::group_owner`], `subscriptionGroup.json`). Registration with the
//! NameServers is per shard ([`metadata::register`]). A shard's own topic (its broker-name
//! topic) is not shared.
//!
//! # Where things live
//!
//! | folder | owns |
//! | --- | --- |
//! | [`data`] | SEND, PULL and long polling; queue offsets and times; lookups of stored messages |
//! | [`clients`] | producers and consumers from HEART_BEAT; consumer offsets; orderly queue locks |
//! | [`metadata`] | the topic and subscription-group tables, their owner shard and files; NameServer registration |
//! | [`admin`] | mqadmin's topic, group and runtime-info requests; topic and consume statistics |
//! | [`scheduled`] | delayed messages and their delivery; messages consumers hand back (retry, DLQ) |
//!
//! Beside them, [`context`] holds [`BrokerContext`], what every handler of a shard gets, and
//! [`error`] holds [`BrokerError`]. A new request family gets a file in the folder whose
//! concern it shares, or a folder of its own.
//!
//! # Messages between shards
//!
//! All shards of a process share one mesh message type, [`ShardMsg`], answered with
//! [`ShardReply`]; [`BrokerContext::serve_mesh`] routes them. Request families that
//! need the mesh add variants here.

pub mod admin;
pub mod clients;
pub mod context;
pub mod data;
pub mod error;
pub mod handler;
pub mod metadata;
pub mod scheduled;

pub use context::{BrokerContext, ShardIdentity};
pub use error::BrokerError;
pub use metadata::topic_owner::{Topics, TOPICS_OWNER};

use crate::wire::body::TopicConfig;
use metadata::groups::SubscriptionGroupConfig;

/// The shard handle of a broker process.
pub type BrokerShard = shards::Shard<ShardMsg, ShardReply>;

/// A message between the shards of a broker process.
#[derive(Debug, Clone)]
pub enum ShardMsg {
    /// To the topic owner: apply a change. Reply [`ShardReply::Changed`].
    Topic(TopicChange),
    /// From the topic owner: reply once your copy holds `version` and you have re-registered
    /// with the NameServers. Reply [`ShardReply::Done`].
    TopicsChanged { version: u64 },
    /// To the subscription-group owner: apply a change. Reply [`ShardReply::Changed`].
    Group(GroupChange),
    /// From the shard that deleted a group with `cleanOffset`: drop the group's consumer
    /// offsets. Reply [`ShardReply::Done`].
    DeleteGroupOffsets(String),
    /// To shard 0: reply once you serve the mesh (your listeners, and the embedded
    /// NameServer, are bound by then). Reply [`ShardReply::Done`].
    Ready,
    /// From shard 0 at shutdown: unregister from every NameServer. Reply [`ShardReply::Done`].
    Unregister,
}

/// A change of the topic table.
#[derive(Debug, Clone)]
pub enum TopicChange {
    Create(TopicConfig),
    CreateIfAbsent(TopicConfig),
    Delete(String),
}

/// A change of the subscription-group table.
#[derive(Debug, Clone)]
pub enum GroupChange {
    Update(SubscriptionGroupConfig),
    CreateIfAbsent(SubscriptionGroupConfig),
    Delete(String),
}

/// The answer to a [`ShardMsg`].
#[derive(Debug)]
pub enum ShardReply {
    /// The table version that holds the change.
    Changed(Result<u64, BrokerError>),
    Done,
}
