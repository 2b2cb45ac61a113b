//! RocketMQ broker semantics, grouped by request family, one folder each; no sockets, no
//! files on the request path.
//!
//! # Each shard is a logical broker
//!
//! Shard `k` is a broker of its own in the cluster: it listens on its own ports (see
//! [`crate::server`]) and registers with every NameServer as broker name
//! `<brokerName>-<k>` ([`crate::config::BrokerConfig::shard_broker_name`]), broker id
//! `brokerId`, address `brokerIP1:<its main port>`. A topic's queues are **placed** over the
//! shards, each on exactly one ([`metadata::placement`]): a 4-queue topic on a 2-shard
//! process shows clients two `queueDatas` of 2 queues each, 4 queues in all, and a 1-queue
//! topic one queue on one shard. Stock clients route every queue `(brokerName, queueId)` to
//! the shard that owns it by themselves, so sends and pulls reach that core with no hop
//! between cores, and queue ids stay `0..n` per broker as every client assumes. System topics
//! are hosted whole by every shard, as by every Java broker.
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
//! | [`transaction`] | half messages, END_TRANSACTION, check-backs to producers |
//! | [`replication`] | a slave's master as registration names it; its copy of the master's tables and offsets |
//!
//! Beside them, [`context`] holds [`BrokerContext`], what every handler of a shard gets, and
//! [`error`] holds [`BrokerError`]. A new request family gets a file in the folder whose
//! concern it shares, or a folder of its own.
//!
//! # Messages between shards
//!
//! All shards of a process share one mesh message type, [`ShardMsg`], answered with
//! [`ShardReply`]; [`BrokerContext::serve_mesh`] routes them. Request families that
//! need the mesh add variants here. On the data path only sends that reach a shard hosting
//! none of their topic's write queues cross the mesh (a producer still routing by the
//! auto-creation template, see [`data::path`]), and messages handed back whose retry or
//! dead-letter queue lives on another shard ([`scheduled::send_back`]).

pub mod access;
pub mod admin;
pub mod clients;
pub mod context;
pub mod data;
pub mod error;
pub mod handler;
pub mod metadata;
pub mod replication;
pub mod scheduled;
pub mod transaction;

pub use context::{BrokerContext, ShardIdentity};
pub use error::BrokerError;
pub use metadata::topic_owner::{Topics, TOPICS_OWNER};

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use crate::wire::body::TopicConfig;
use crate::wire::frame::Encoded;
use metadata::groups::{SubscriptionGroupConfig, SubscriptionGroupWrapper};
use metadata::topics::CopiedTopics;

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
    /// To the shard hosting a write queue of the send's topic: store this send from
    /// `born_host`, which reached a shard hosting none. Reply [`ShardReply::Sent`].
    Send {
        born_host: SocketAddr,
        command: Encoded,
    },
    /// To the shard hosting a group's retry or dead-letter queue: store this record, a
    /// message handed back on another shard. Reply [`ShardReply::Resent`].
    Resend(Bytes),
    /// To the configuration owner: apply UPDATE_BROKER_CONFIG's keys. Reply
    /// [`ShardReply::Changed`] with the configuration's new version.
    UpdateConfig(Vec<(String, String)>),
    /// From the metrics endpoint: reply [`ShardReply::Metrics`] with this shard's metrics.
    Metrics,
    /// From the configuration owner: put `config` in force. Reply [`ShardReply::Done`].
    Reconfigure {
        config: Arc<crate::config::BrokerConfig>,
        version: crate::wire::body::DataVersion,
    },
}

/// A forwarded send's request or answer that did not survive its trip between shards as a
/// frame ([`Encoded`]): a fault of this process, answered as an unavailable shard.
pub(crate) fn forwarding_fault(error: crate::wire::WireError) -> BrokerError {
    BrokerError::Mesh(format!("forwarded send: {error}"))
}

/// A change of the topic table.
#[derive(Debug, Clone)]
pub enum TopicChange {
    Create(TopicConfig),
    /// UPDATE_AND_CREATE_TOPIC_LIST: every config, or none.
    CreateList(Vec<TopicConfig>),
    CreateIfAbsent(TopicConfig),
    Delete(String),
    /// A slave takes its master's table whole, version included.
    Adopt(Arc<CopiedTopics>),
}

/// A change of the subscription-group table.
#[derive(Debug, Clone)]
pub enum GroupChange {
    Update(SubscriptionGroupConfig),
    CreateIfAbsent(SubscriptionGroupConfig),
    Delete(String),
    /// A slave takes its master's table whole, version included.
    Adopt(Arc<SubscriptionGroupWrapper>),
}

/// The answer to a [`ShardMsg`].
#[derive(Debug)]
pub enum ShardReply {
    /// The table version that holds the change.
    Changed(Result<u64, BrokerError>),
    /// The answer to a forwarded send.
    Sent(Result<Encoded, BrokerError>),
    /// Whether a handed-back message was stored.
    Resent(Result<(), BrokerError>),
    Metrics(Box<admin::meters::ShardMetrics>),
    Done,
}
