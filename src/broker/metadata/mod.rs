//! The control plane: the topic and subscription-group tables, which one owner shard
//! changes and persists while every shard reads its own copy, their JSON files, and the
//! registration of each shard's logical broker with the NameServers.
//!
//! - [`topics`]: the topic table's rules (names, system topics, auto-creation) and
//!   `topics.json`; [`placement`]: which shard hosts each queue of a topic;
//!   [`topic_owner`]: [`topic_owner::Topics`], the per-shard copy and the owner's changes.
//! - [`layout`]: the shard count a store belongs to (`shards.json`).
//! - [`groups`]: subscription-group configs and `subscriptionGroup.json`;
//!   [`group_owner`]: the per-shard copy and the owner's changes.
//! - [`owned_table`], [`journal`], [`config_file`]: what both tables share: the owner
//!   shard, the broadcast of changes, the snapshot and journal they are persisted as, the
//!   atomic file write (which the consumer offsets and the delay service's cursors use too).
//! - [`lenient`]: fastjson's leniency for the JSON bodies shardmq reads.
//! - [`register`]: REGISTER_BROKER and UNREGISTER_BROKER with every NameServer.

pub mod config_file;
pub mod group_owner;
pub mod groups;
pub mod journal;
pub mod layout;
pub mod lenient;
pub mod owned_table;
pub mod placement;
pub mod register;
pub mod topic_owner;
pub mod topics;
