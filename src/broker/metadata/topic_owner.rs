//! Every shard's view of the topic table, and the owner shard's authority over it.
//!
//! Shard 0 ([`TOPICS_OWNER`]) owns the table: it alone changes it, writes `topics.json`, and
//! publishes each new version to every shard's copy ([`shards::Replicated`]). Reads are
//! local and never wait. A change asked on any shard travels to the owner over the mesh
//! ([`ShardMsg::Topic`]); the owner applies it with the changes that arrived beside it in one
//! batch (see [`OwnedTable::apply_on_owner`]), persists, publishes, and then asks every
//! shard to confirm it holds the new version and has registered the change with the
//! NameServers ([`ShardMsg::TopicsChanged`]). So when `create` returns, every shard serves
//! the topic and every reachable NameServer routes it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use glommio::sync::Semaphore;

use crate::broker::metadata::owned_table::{OwnedTable, TABLES_OWNER};
use crate::broker::metadata::placement::Placement;
use crate::broker::metadata::topics::{self, CopiedTopics, TopicMeta, TopicTable};
use crate::broker::{BrokerError, BrokerShard, ShardMsg, TopicChange};
use crate::wire::body::{TopicConfig, TopicConfigSerializeWrapper};

/// Index of the shard that owns the topic table.
pub const TOPICS_OWNER: usize = TABLES_OWNER;

/// This shard's copy of the topic table, plus its own topics.
#[derive(Debug)]
pub struct Topics {
    table: OwnedTable<TopicTable>,
    /// Topics of this shard alone (its broker-name topic); never replicated.
    own: BTreeMap<String, TopicConfig>,
    shard: BrokerShard,
    /// On the owner: the newest version every shard has confirmed, and one confirmation
    /// round at a time.
    confirmed: Cell<u64>,
    confirming: Semaphore,
}

impl Topics {
    /// Creates this shard's copy; every shard passes the same `initial` table (loaded before
    /// the shards start).
    pub fn new(
        shard: &BrokerShard,
        initial: TopicTable,
        own: BTreeMap<String, TopicConfig>,
        file: PathBuf,
    ) -> Result<Self, shards::ReplicaError> {
        Ok(Topics {
            table: OwnedTable::new(shard, "topics", initial, file)?,
            own,
            shard: shard.clone(),
            confirmed: Cell::new(0),
            confirming: Semaphore::new(1),
        })
    }

    /// What the data path needs of `topic` on this shard, with the queues this shard hosts
    /// (none when they all live on other shards); no allocation, never waits.
    pub fn meta(&self, topic: &str) -> Option<TopicMeta> {
        match self.own.get(topic) {
            Some(config) => Some(TopicMeta::of(config)),
            None => self.table.get().meta_on(topic, self.index()),
        }
    }

    /// The shard a send to `topic`'s queue `queue_id` must go to, when this shard hosts no
    /// write queue of the topic (see [`TopicTable::write_host`]).
    pub fn write_host(&self, topic: &str, queue_id: i32) -> Option<usize> {
        if self.own.contains_key(topic) {
            return None;
        }
        self.table.get().write_host(topic, queue_id, self.index())
    }

    fn index(&self) -> usize {
        self.shard.id().index()
    }

    /// The config of `topic`, its queue counts over all shards (a copy; the data path uses
    /// [`Topics::meta`]).
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.own
            .get(topic)
            .cloned()
            .or_else(|| self.table.get().get(topic).cloned())
    }

    /// The shared table as this shard holds it now.
    pub fn table(&self) -> Rc<TopicTable> {
        self.table.get()
    }

    /// What this shard registers and shows admin tools: the topics it hosts queues of, with
    /// the counts it hosts, and its own topics (see [`TopicTable::wrapper_on`]).
    pub fn wrapper(&self) -> TopicConfigSerializeWrapper {
        self.wrapper_of(&self.table.get())
    }

    /// [`Topics::wrapper`] of `table`, a copy of the table this shard held at some point.
    pub fn wrapper_of(&self, table: &TopicTable) -> TopicConfigSerializeWrapper {
        table.wrapper_on(self.index(), &self.own)
    }

    /// Where each spread topic of `wrapper` ([`Topics::wrapper_of`] `table`) starts: the
    /// shard of its first queue, as `topics.json` keeps it (`shardOfFirstQueue`). Topics on
    /// every shard and this shard's own topics have none.
    pub fn first_shards_of(
        &self,
        table: &TopicTable,
        wrapper: &TopicConfigSerializeWrapper,
    ) -> BTreeMap<String, usize> {
        let names = wrapper.topic_config_table.keys();
        let own = |name: &String| self.own.contains_key(name);
        names
            .filter(|name| !own(name))
            .filter_map(|name| match table.placement(name)? {
                Placement::Spread { first } => Some((name.clone(), first)),
                Placement::EveryShard => None,
            })
            .collect()
    }

    /// Version of the local copy (one per published change).
    pub fn version(&self) -> u64 {
        self.table.version()
    }

    /// Resolves once the local copy has reached `version`.
    pub async fn wait_version(&self, version: u64) {
        self.table.wait_version(version).await;
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC); returns when every shard has it.
    pub async fn create(&self, config: TopicConfig) -> Result<(), BrokerError> {
        topics::validate_topic(&config.topic_name)?;
        self.change(TopicChange::Create(config)).await
    }

    /// Creates or replaces every topic of `configs` in one change of the table
    /// (UPDATE_AND_CREATE_TOPIC_LIST); returns when every shard has them.
    pub async fn create_list(&self, configs: Vec<TopicConfig>) -> Result<(), BrokerError> {
        for config in &configs {
            topics::validate_topic(&config.topic_name)?;
        }
        self.change(TopicChange::CreateList(configs)).await
    }

    /// Deletes a topic; returns when no shard has it any more. Unknown topics are fine.
    pub async fn delete(&self, topic: &str) -> Result<(), BrokerError> {
        self.change(TopicChange::Delete(topic.to_owned())).await
    }

    /// Makes the table `master`'s, version included ([`TopicTable::adopt`]): a slave's
    /// copy of its master's. Returns when every shard has it and has re-registered.
    pub async fn adopt(&self, master: CopiedTopics) -> Result<(), BrokerError> {
        self.change(TopicChange::Adopt(Arc::new(master))).await
    }

    /// The meta of `topic`, creating it from `default_topic` when unknown (a send with
    /// `defaultTopic=TBW102`): `min(requested_queues, template write queues)` queues, the
    /// template's perm without INHERIT. TOPIC_NOT_EXIST when the template is missing or
    /// cannot be inherited from. A known topic costs one local lookup.
    pub async fn get_or_auto_create(
        &self,
        topic: &str,
        default_topic: &str,
        requested_queues: i32,
    ) -> Result<TopicMeta, BrokerError> {
        if let Some(meta) = self.meta(topic) {
            return Ok(meta);
        }
        topics::validate_topic(topic)?;
        let template = self
            .get(default_topic)
            .ok_or_else(|| BrokerError::TopicNotExist(topic.to_owned()))?;
        let config = topics::derive_from_template(topic, &template, requested_queues)?;
        let created = self.create_if_absent(config).await?;
        Ok(TopicMeta::of(&created))
    }

    /// Creates `config` unless its topic exists (a retry or DLQ topic on first use); returns
    /// the config in force.
    pub async fn create_if_absent(&self, config: TopicConfig) -> Result<TopicConfig, BrokerError> {
        let topic = config.topic_name.clone();
        topics::validate_topic(&topic)?;
        if let Some(existing) = self.get(&topic) {
            return Ok(existing);
        }
        self.change(TopicChange::CreateIfAbsent(config)).await?;
        self.get(&topic).ok_or(BrokerError::TopicNotExist(topic))
    }

    async fn change(&self, change: TopicChange) -> Result<(), BrokerError> {
        // The owner confirmed every shard, but a shard whose confirmation failed is logged,
        // not fatal; the asking shard holds the change before it answers.
        self.table
            .ask_owner(ShardMsg::Topic(change))
            .await
            .map(drop)
    }

    /// On the owner: applies `change` at `now` (ms since the epoch, the new data version's
    /// timestamp), persists, publishes; returns the version that holds it (the current one
    /// when nothing changed). Every shard has it on return.
    pub(in crate::broker) async fn apply_on_owner(
        &self,
        change: TopicChange,
        now: i64,
    ) -> Result<u64, BrokerError> {
        let apply = move |table: &mut TopicTable| match change {
            TopicChange::Create(config) => table.upsert(config, now),
            TopicChange::CreateList(configs) => table.upsert_all(configs, now),
            TopicChange::CreateIfAbsent(config) if table.get(&config.topic_name).is_none() => {
                table.upsert(config, now)
            }
            TopicChange::CreateIfAbsent(_) => Ok(false),
            TopicChange::Delete(topic) => Ok(table.remove(&topic, now)),
            TopicChange::Adopt(master) => table.adopt(&master),
        };
        let (version, _) = self.table.apply_on_owner(apply).await?;
        // Also when this change found nothing to do: the version holding what it asked for
        // may still be on its way to the shards and the NameServers.
        self.confirm_everywhere(version).await;
        Ok(version)
    }

    /// Waits until every shard holds `version` (or a later one) and has re-registered with
    /// the NameServers. One confirmation round at a time, for the newest version: changes
    /// that were applied meanwhile are confirmed together by the next round, so a burst of
    /// changes costs a few rounds, not one each.
    async fn confirm_everywhere(&self, version: u64) {
        if self.confirmed.get() >= version {
            return;
        }
        let Ok(_turn) = self.confirming.acquire_permit(1).await else {
            return;
        };
        if self.confirmed.get() >= version {
            return;
        }
        let newest = self.table.version();
        let msg = ShardMsg::TopicsChanged { version: newest };
        for (shard, reply) in self.shard.gather(msg).await {
            if let Err(err) = reply {
                tracing::warn!(%shard, %err, "shard did not confirm the topic table");
            }
        }
        self.confirmed.set(self.confirmed.get().max(newest));
    }
}

#[cfg(test)]
#[path = "topic_owner_tests.rs"]
mod tests;
