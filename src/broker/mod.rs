//! RocketMQ broker semantics, one file per request family; no sockets, no files on the
//! request path.
//!
//! # Each shard is a logical broker
//!
//! Shard `k` is a broker of its own in the cluster: it listens on its own ports (see
//! [`crate::server`]) and registers with every NameServer as broker name
//! `<brokerName>-<k>` ([`crate::config::BrokerConfig::shard_broker_name`]), broker id `brokerId`, address
//! `brokerIP1:<its main port>`. Every shard hosts the **full queue set of every topic**: a
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
//! ([`topic_owner`]), persisted in `<storePathRootDir>/config/topics.json` (one file per
//! process, as the table is one per process); the subscription-group table likewise
//! ([`group_owner`], `subscriptionGroup.json`), both through [`owned_table`]. Registration with the NameServers is per
//! shard ([`register`]). A shard's own topic (its broker-name topic) is not shared.
//!
//! # Files
//!
//! - [`context`]: [`BrokerContext`], what every handler of a shard gets.
//! - [`topics`]: the table, names, system topics, auto-creation, `topics.json`.
//! - [`topic_owner`]: [`Topics`], the per-shard copy and the owner's changes.
//! - [`groups`]: subscription-group configs, auto-creation, `subscriptionGroup.json`;
//!   [`group_owner`]: [`group_owner::Groups`], the per-shard copy and the owner's changes.
//! - [`owned_table`], [`config_file`]: what both tables share: the owner shard, the
//!   replication, the atomic file write.
//! - [`lenient`]: fastjson's leniency for the JSON bodies shardmq reads.
//! - [`register`]: REGISTER_BROKER / UNREGISTER_BROKER with every NameServer.
//! - [`admin`]: UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, GET_ALL_TOPIC_CONFIG,
//!   GET_BROKER_RUNTIME_INFO, and the subscription-group requests 200, 201, 207.
//! - [`clients`]: producers and consumer groups from HEART_BEAT, NOTIFY_CONSUMER_IDS_CHANGED.
//! - [`offsets`]: committed consumer offsets and their `consumerOffset.json`.
//! - [`queue_offsets`]: GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP,
//!   GET_EARLIEST_MSG_STORETIME.
//! - [`query`]: VIEW_MESSAGE_BY_ID, a stored record by its CommitLog offset.
//! - [`queue_stats`]: GET_TOPIC_STATS_INFO, GET_CONSUME_STATS; [`mq_table`] their bodies'
//!   MessageQueue-keyed tables.
//! - [`stats`]: the messages a shard stores and hands out, and their rates.
//! - [`delay`], [`schedule`]: delay levels, parking in `SCHEDULE_TOPIC_XXXX`, and the
//!   per-shard service that delivers parked messages when due (`delayOffset.json`).
//! - [`queue_locks`]: LOCK_BATCH_MQ, UNLOCK_BATCH_MQ, orderly consumers' queue leases.
//! - [`send_back`]: CONSUMER_SEND_MSG_BACK into the group's retry or dead-letter topic.
//! - [`error`]: [`BrokerError`] and its response codes.
//!
//! # Messages between shards
//!
//! All shards of a process share one mesh message type, [`ShardMsg`], answered with
//! [`ShardReply`]; [`BrokerContext::serve_mesh`] routes them. Request families that
//! need the mesh add variants here.

pub mod admin;
pub mod clients;
pub mod config_file;
pub mod context;
pub mod data_error;
pub mod data_path;
#[cfg(test)]
mod data_test_support;
pub mod delay;
pub mod error;
pub mod group_owner;
pub mod groups;
pub mod heartbeat_body;
pub mod lenient;
pub mod long_poll;
pub mod mq_table;
pub mod offsets;
pub mod owned_table;
pub mod pull;
#[cfg(test)]
mod pull_tests;
pub mod query;
pub mod queue_locks;
pub mod queue_offsets;
pub mod queue_stats;
pub mod register;
pub mod schedule;
pub mod send;
pub mod send_back;
pub mod send_rules;
#[cfg(test)]
mod send_tests;
pub mod stats;
pub mod topic_owner;
pub mod topic_view;
pub mod topics;

pub use context::{BrokerContext, ShardIdentity};
pub use error::BrokerError;
pub use topic_owner::{Topics, TOPICS_OWNER};

use crate::namesrv::TopicConfig;
use groups::SubscriptionGroupConfig;

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
