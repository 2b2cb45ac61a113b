//! The topic table and its rules (docs/protocol.md §5.1): names, system topics, the
//! auto-creation rule, and the `topics.json` file.
//!
//! Pure values and functions: no shard, no async. [`TopicTable`] is what the owner shard
//! changes and every shard holds a copy of (see [`crate::broker::metadata::topic_owner`]); the file
//! functions are blocking and run off the reactor. Invariant: every change bumps the table's
//! [`DataVersion`], which is how a NameServer knows a registration carries news.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::config::BrokerConfig;
use crate::limits;
use crate::wire::body::perm;
use crate::wire::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::wire::topics::{
    AUTO_CREATE_TOPIC_KEY_TOPIC, DLQ_TOPIC_PREFIX, OFFSET_MOVED_EVENT, RETRY_TOPIC_PREFIX,
    SCHEDULE_TOPIC, SELF_TEST_TOPIC, SYSTEM_TOPIC_PREFIX, TIMER_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC,
    TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};

use serde::Deserialize;

use crate::broker::metadata::layout::StoreLayout;
use crate::broker::metadata::placement::{self, Placement, Share};
use crate::broker::BrokerError;

#[path = "topics_file.rs"]
mod file;

pub use file::{load, save, topics_file, StoredTopic, StoredTopics};

/// Topics producers may not send to (NO_PERMISSION), docs/protocol.md §2.4.1 step 2.
const SEND_FORBIDDEN: &[&str] = &[
    SCHEDULE_TOPIC,
    TIMER_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

/// Longest retry or DLQ topic name: the group name makes them longer than ordinary topics.
const RETRY_TOPIC_NAME_MAX: usize = 255;

/// A topic name that breaks docs/protocol.md §5.1's rules. It displays as Java's remark
/// (`TopicValidator.validateTopic`), which the send path and UPDATE_AND_CREATE_TOPIC both
/// answer with INVALID_PARAMETER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidTopicName {
    Blank,
    IllegalCharacters(String),
    TooLong(String),
    RetryTooLong(String),
}

impl fmt::Display for InvalidTopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidTopicName::Blank => f.write_str("The specified topic is blank."),
            InvalidTopicName::IllegalCharacters(topic) => write!(
                f,
                "The specified topic: {topic}, contains illegal characters, \
                 allowing only ^[%|a-zA-Z0-9_-]+$"
            ),
            InvalidTopicName::TooLong(topic) => write!(
                f,
                "The specified topic: {topic}, is longer than topic max length: {}",
                limits::TOPIC_NAME_MAX
            ),
            InvalidTopicName::RetryTooLong(topic) => write!(
                f,
                "The specified topic is DLQ or Retry topic: {topic}, \
                 and it's longer than topic max length: {RETRY_TOPIC_NAME_MAX}"
            ),
        }
    }
}

/// Whether `name` uses only `[%|a-zA-Z0-9_-]` and fits the length its kind allows.
pub fn valid_topic_name(name: &str) -> bool {
    validate_topic(name).is_ok()
}

/// docs/protocol.md §5.1's name rules, checked in Java's order: not blank, only `[%|a-zA-Z0-9_-]`,
/// at most 127 bytes (255 for retry and DLQ topics). Sends and topic creation both ask this.
pub fn validate_topic(name: &str) -> Result<(), InvalidTopicName> {
    // The name goes into the remark. A request header may carry a name of many kilobytes,
    // which JSON escaping could grow past the response header's limit; 1024 characters show
    // any name a client could mean.
    let shown = || name.chars().take(1024).collect();
    if name.trim().is_empty() {
        return Err(InvalidTopicName::Blank);
    }
    if !name.chars().all(valid_name_char) {
        return Err(InvalidTopicName::IllegalCharacters(shown()));
    }
    if name.starts_with(RETRY_TOPIC_PREFIX) || name.starts_with(DLQ_TOPIC_PREFIX) {
        if name.len() > RETRY_TOPIC_NAME_MAX {
            return Err(InvalidTopicName::RetryTooLong(shown()));
        }
    } else if name.len() > limits::TOPIC_NAME_MAX {
        return Err(InvalidTopicName::TooLong(shown()));
    }
    Ok(())
}

/// Whether `c` may appear in a topic or group name (`[%|a-zA-Z0-9_-]`).
pub fn valid_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

/// Whether producers are refused sends to `topic` (NO_PERMISSION).
pub fn is_send_forbidden(topic: &str) -> bool {
    SEND_FORBIDDEN.contains(&topic)
}

/// Whether `topic` is the broker's own, which UPDATE_AND_CREATE_TOPIC may not overwrite
/// (5.x `validateSystemTopicWhenUpdateTopic`, on by default).
pub fn is_system_topic(topic: &str) -> bool {
    is_send_forbidden(topic)
        || topic == AUTO_CREATE_TOPIC_KEY_TOPIC
        || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// A topic config with Java's field order and `SINGLE_TAG` filter.
pub fn topic_config(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::default()
    }
}

/// A consumer group's retry or dead-letter topic as Java creates it on first use: one
/// read-write queue (`retryQueueNums`, `DLQ_NUMS_PER_GROUP`).
pub fn group_topic_config(name: &str) -> TopicConfig {
    topic_config(name, 1, perm::READ | perm::WRITE)
}

/// The config of `topic` auto-created from `template` (docs/protocol.md §2.4.1 step 3):
/// `min(requested, template write queues)` queues, the template's perm without INHERIT.
/// A template without the INHERIT bit cannot create anything.
pub fn derive_from_template(
    topic: &str,
    template: &TopicConfig,
    requested_queues: i32,
) -> Result<TopicConfig, BrokerError> {
    if template.perm & perm::INHERIT == 0 {
        return Err(BrokerError::TopicNotExist(topic.to_owned()));
    }
    // A client asking for 0 (or less) still needs one queue to send to.
    let queues = requested_queues.min(template.write_queue_nums).max(1);
    Ok(TopicConfig {
        topic_filter_type: template.topic_filter_type.clone(),
        ..topic_config(topic, queues, template.perm & !perm::INHERIT)
    })
}

/// The system topics, as Java's `TopicConfigManager` creates them at start; every shard
/// hosts each of them whole ([`Placement::EveryShard`]), as every Java broker does. `BenchmarkTest` (1024 queues, for Java's benchmark tool) is left out: every shard
/// would route it, and nothing else uses it. Per-shard topics (the broker-name topic) come
/// from [`shard_topics`].
pub fn system_topics(config: &BrokerConfig) -> Vec<TopicConfig> {
    let rw = perm::READ | perm::WRITE;
    let all = rw | perm::INHERIT;
    let cluster_perm = if config.cluster_topic_enable {
        all
    } else {
        perm::INHERIT
    };
    let mut topics = vec![
        topic_config(SELF_TEST_TOPIC, 1, rw),
        topic_config(OFFSET_MOVED_EVENT, 1, rw),
        topic_config(SCHEDULE_TOPIC, 18, rw),
        topic_config(TRANS_HALF_TOPIC, 1, rw),
        topic_config(TRANS_OP_HALF_TOPIC, 1, rw),
        // Java creates it at the first discarded transaction; here it is always there.
        topic_config(TRANS_CHECK_MAX_TIME_TOPIC, 1, rw),
        topic_config(&config.broker_cluster_name, 16, cluster_perm),
        topic_config(
            &format!("{}_REPLY_TOPIC", config.broker_cluster_name),
            1,
            rw,
        ),
    ];
    if config.trace_topic_enable {
        topics.push(topic_config(&config.msg_trace_topic_name, 1, rw));
    }
    if config.auto_create_topic_enable {
        let queues = config.default_topic_queue_nums;
        topics.push(topic_config(AUTO_CREATE_TOPIC_KEY_TOPIC, queues, all));
    }
    topics
}

/// Topics of shard `shard` alone: its broker-name topic, which lets a client address
/// exactly that logical broker.
pub fn shard_topics(config: &BrokerConfig, shard: usize) -> BTreeMap<String, TopicConfig> {
    let perm = if config.broker_topic_enable {
        perm::READ | perm::WRITE | perm::INHERIT
    } else {
        perm::INHERIT
    };
    let name = config.shard_broker_name(shard);
    if !valid_topic_name(&name) {
        return BTreeMap::new();
    }
    BTreeMap::from([(name.clone(), topic_config(&name, 1, perm))])
}

/// What the data path needs of a topic, without the allocations of a [`TopicConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicMeta {
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// `topicFilterType` is `MULTI_TAG`: sends OR the MULTI_TAGS bit into the sysflag.
    pub multi_tag: bool,
    /// The topic's queues are spread over several shards: the counts are this shard's
    /// share, and queue ids other shards' routes name mean nothing here.
    pub partial: bool,
}

impl TopicMeta {
    pub fn of(config: &TopicConfig) -> Self {
        TopicMeta {
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_sys_flag: config.topic_sys_flag,
            order: config.order,
            multi_tag: config.topic_filter_type == "MULTI_TAG",
            partial: false,
        }
    }

    pub fn readable(&self) -> bool {
        self.perm & perm::READ != 0
    }

    pub fn writable(&self) -> bool {
        self.perm & perm::WRITE != 0
    }

    /// Queue ids `0..max(read, write)` exist (docs/protocol.md §2.4.1 step 4).
    pub fn queue_count(&self) -> i32 {
        self.read_queue_nums.max(self.write_queue_nums)
    }
}

/// A topic of the table: its config (queue counts over all shards) and where its queues
/// live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub config: TopicConfig,
    pub placement: Placement,
}

/// Most recent topic changes [`TopicTable`] remembers for [`TopicTable::changes_since`].
const CHANGE_LOG_MAX: usize = 4096;

/// A topic name as the table's keys and logs hold it: copying it is a count increment.
type Name = Arc<str>;

/// The topic configs of a broker process, their placement over its shards, and their
/// version.
///
/// Its collections are persistent ([`imbl`]): every batch of changes copies the table and
/// every shard holds a copy, and each copy shares all but what changed.
#[derive(Debug, Clone)]
pub struct TopicTable {
    pub data_version: DataVersion,
    topics: imbl::OrdMap<Name, Arc<Topic>>,
    /// The process's shard count, which placements are made for.
    shards: usize,
    /// Queues of spread topics each shard hosts, kept as topics come and go, so placing a
    /// new topic costs O(shards), not a pass over the table.
    loads: Vec<u64>,
    /// The names of the last topics created or replaced, with the data version counter of
    /// each change, oldest first; at most [`CHANGE_LOG_MAX`].
    changes: imbl::Vector<(i64, Name)>,
    /// The counter of the newest change the log no longer holds, and of the last removal:
    /// changes since an older counter cannot be told from the log.
    forgotten_at: i64,
    /// Bumped when the table took another's version without moving its counter forward
    /// ([`TopicTable::adopt`]): counters of an older epoch say nothing about this one.
    epoch: u64,
    /// Topics put in or taken out since the last journal record ([`Journaled`](crate::broker::metadata::journal::Journaled)); empty in
    /// the copies the owner publishes.
    unsaved: BTreeSet<Name>,
}

/// Two tables are equal when they hold the same topics, placed alike, at the same version;
/// the change log is bookkeeping.
impl PartialEq for TopicTable {
    fn eq(&self, other: &Self) -> bool {
        self.data_version == other.data_version
            && self.topics == other.topics
            && self.shards == other.shards
    }
}

impl Eq for TopicTable {}

/// An empty table of one shard.
impl Default for TopicTable {
    fn default() -> Self {
        TopicTable::new(1)
    }
}

impl TopicTable {
    /// An empty table for `shards` shards.
    pub fn new(shards: usize) -> Self {
        TopicTable {
            data_version: DataVersion::default(),
            topics: imbl::OrdMap::new(),
            shards: shards.max(1),
            loads: vec![0; shards.max(1)],
            changes: imbl::Vector::new(),
            forgotten_at: 0,
            epoch: 0,
            unsaved: BTreeSet::new(),
        }
    }

    /// The table of a store, from what [`load`] read: topics keep their stored placement,
    /// a store of the [`StoreLayout::Copied`] layout (every shard held a topic's queues in
    /// full) has each topic's queues counted over all shards, which is the same queues
    /// placed, and a topic with no placement yet (a hand-written file) is placed now.
    /// System topics are put in as [`TopicTable::with_system_topics`] does.
    pub fn open(
        stored: StoredTopics,
        layout: StoreLayout,
        config: &BrokerConfig,
        shards: usize,
        now_ms: i64,
    ) -> Result<Self, String> {
        let mut table = TopicTable::new(shards);
        table.data_version = stored.wrapper.data_version;
        let system: Vec<String> = system_topics(config)
            .into_iter()
            .map(|t| t.topic_name)
            .collect();
        let mut unplaced = Vec::new();
        for (name, mut config) in stored.wrapper.topic_config_table {
            let placement = if is_system_topic(&name) || system.contains(&name) {
                Placement::EveryShard
            } else if let Some(&first) = stored.shard_of_first_queue.get(&name) {
                if first >= table.shards {
                    return Err(format!(
                        "topics.json places topic {name} from shard {first}, but the store \
                         has {} shards",
                        table.shards
                    ));
                }
                Placement::Spread { first }
            } else if layout == StoreLayout::Copied {
                let shards = i32::try_from(table.shards).unwrap_or(i32::MAX);
                config.write_queue_nums = config.write_queue_nums.saturating_mul(shards);
                config.read_queue_nums = config.read_queue_nums.saturating_mul(shards);
                Placement::Spread { first: 0 }
            } else {
                unplaced.push(config);
                continue;
            };
            table.put(Topic { config, placement });
        }
        for config in unplaced {
            let placement = table.place(&config.topic_name);
            table.put(Topic { config, placement });
        }
        let mut table = table.with_system_topics(config, now_ms);
        // What a start opens, it writes whole (see `journal::replace_all`).
        table.unsaved.clear();
        Ok(table)
    }

    /// The process's shard count.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The config of `topic`, its queue counts over all shards.
    pub fn get(&self, topic: &str) -> Option<&TopicConfig> {
        self.topics.get(topic).map(|t| &t.config)
    }

    /// Where the queues of `topic` live.
    pub fn placement(&self, topic: &str) -> Option<Placement> {
        self.topics.get(topic).map(|t| t.placement)
    }

    /// What the data path of `shard` needs of `topic`: its perm and flags, and the queues
    /// that shard hosts (none for a topic whose queues all live elsewhere).
    pub fn meta_on(&self, topic: &str, shard: usize) -> Option<TopicMeta> {
        let topic = self.topics.get(topic)?;
        let share = topic.placement.share(&topic.config, shard, self.shards);
        Some(TopicMeta {
            read_queue_nums: share.read,
            write_queue_nums: share.write,
            partial: self.shards > 1 && topic.placement != Placement::EveryShard,
            ..TopicMeta::of(&topic.config)
        })
    }

    /// Where a send to `topic`'s queue `queue_id` that `shard` hosts no write queue of
    /// should go: the shard of the topic's write queue `queue_id mod write queues`. `None`
    /// when `shard` hosts a write queue of it (or the topic has none, or is unknown).
    pub fn write_host(&self, topic: &str, queue_id: i32, shard: usize) -> Option<usize> {
        let topic = self.topics.get(topic)?;
        let share = topic.placement.share(&topic.config, shard, self.shards);
        let writes = u32::try_from(topic.config.write_queue_nums).ok()?;
        if share.write > 0 || writes == 0 {
            return None;
        }
        let queue = u32::try_from(queue_id).unwrap_or(0) % writes;
        topic.placement.shard_of(queue, self.shards)
    }

    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topic names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(|name| &**name)
    }

    /// Creates or replaces `config`; `false` when the table already held exactly it. A
    /// new topic is placed (see [`placement`]); a replaced one keeps its placement, so
    /// growing a topic adds queues and shrinking drops its last ones, and no queue moves.
    pub fn upsert(&mut self, config: TopicConfig, now_ms: i64) -> Result<bool, BrokerError> {
        let placement = match self.topics.get(config.topic_name.as_str()) {
            Some(existing) if existing.config == config => return Ok(false),
            Some(existing) => existing.placement,
            None if self.len() >= limits::BROKER_TOPICS_MAX => {
                return Err(BrokerError::TooManyTopics)
            }
            None => self.place(&config.topic_name),
        };
        let name = self.put(Topic { config, placement });
        self.bump(now_ms);
        if self.changes.len() == CHANGE_LOG_MAX {
            if let Some((counter, _)) = self.changes.pop_front() {
                self.forgotten_at = counter;
            }
        }
        self.changes.push_back((self.data_version.counter, name));
        Ok(true)
    }

    /// The names of the topics created or replaced after the change that made the data
    /// version counter `counter` (a name may come more than once); `None` when the table
    /// cannot tell: a topic was removed since, or the changes go further back than it
    /// remembers.
    pub fn changes_since(&self, counter: i64) -> Option<impl Iterator<Item = &str>> {
        (self.forgotten_at <= counter).then(|| {
            // The log is in counter order: skip to the first change after `counter`.
            let first = self
                .changes
                .binary_search_by(|(at, _)| match *at <= counter {
                    true => std::cmp::Ordering::Less,
                    false => std::cmp::Ordering::Greater,
                })
                .unwrap_or_else(|first| first);
            self.changes.iter().skip(first).map(|(_, name)| &**name)
        })
    }

    /// The epoch of the data version counters [`TopicTable::changes_since`] takes: a
    /// counter read in another epoch cannot be compared with this one's.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Makes this table `master`'s (a slave's copy of its master's, docs/replication.md):
    /// the same topics with the same configs and placements, and its data version, even one
    /// that is not newer than this table's (then the change log starts a new epoch).
    /// `false`, changing nothing, when the table was already exactly that.
    /// TOO_MANY_TOPICS when `master` holds more than a table may.
    pub fn adopt(&mut self, master: &CopiedTopics) -> Result<bool, BrokerError> {
        if master.topics.len() > limits::BROKER_TOPICS_MAX {
            return Err(BrokerError::TooManyTopics);
        }
        let before = self.data_version.clone();
        let mut changed = Vec::new();
        for topic in &master.topics {
            let name = topic.config.topic_name.as_str();
            if self.topics.get(name).map(|held| &**held) != Some(topic) {
                changed.push(self.put(topic.clone()));
            }
        }
        let listed: BTreeSet<&str> = master
            .topics
            .iter()
            .map(|t| t.config.topic_name.as_str())
            .collect();
        let gone: Vec<Name> = self
            .topics
            .keys()
            .filter(|name| !listed.contains(&***name))
            .cloned()
            .collect();
        for name in &gone {
            self.take(name);
        }
        if changed.is_empty() && gone.is_empty() {
            if before == master.data_version {
                return Ok(false);
            }
            // Only the version changes: a topic written again as it is carries it to the
            // journal.
            if let Some(name) = self.topics.keys().next() {
                self.unsaved.insert(name.clone());
            }
        }
        self.data_version = master.data_version.clone();
        let counter = self.data_version.counter;
        if counter <= before.counter {
            self.epoch += 1;
            self.changes.clear();
            self.forgotten_at = counter;
        } else if !gone.is_empty() {
            self.forgotten_at = counter;
        } else {
            for name in changed {
                if self.changes.len() == CHANGE_LOG_MAX {
                    if let Some((at, _)) = self.changes.pop_front() {
                        self.forgotten_at = at;
                    }
                }
                self.changes.push_back((counter, name));
            }
        }
        Ok(true)
    }

    /// Creates or replaces every config of `configs` ([`TopicTable::upsert`]), all or
    /// none: TOO_MANY_TOPICS when the new ones do not fit. `false` when nothing changed.
    pub fn upsert_all(
        &mut self,
        configs: Vec<TopicConfig>,
        now_ms: i64,
    ) -> Result<bool, BrokerError> {
        let new: std::collections::BTreeSet<&str> = configs
            .iter()
            .map(|c| c.topic_name.as_str())
            .filter(|name| !self.topics.contains_key(*name))
            .collect();
        if self.len() + new.len() > limits::BROKER_TOPICS_MAX {
            return Err(BrokerError::TooManyTopics);
        }
        let mut changed = false;
        for config in configs {
            changed |= self.upsert(config, now_ms)?;
        }
        Ok(changed)
    }

    /// Removes `topic`; `false` when it was not there.
    pub fn remove(&mut self, topic: &str, now_ms: i64) -> bool {
        let removed = self.take(topic);
        if removed {
            self.bump(now_ms);
            self.forgotten_at = self.data_version.counter;
        }
        removed
    }

    /// Puts `topic` in, replacing one of its name, and keeps the loads; returns its name.
    fn put(&mut self, topic: Topic) -> Name {
        placement::add_load(&mut self.loads, topic.placement, &topic.config);
        let name: Name = topic.config.topic_name.as_str().into();
        if let Some(old) = self.topics.insert(name.clone(), Arc::new(topic)) {
            placement::remove_load(&mut self.loads, old.placement, &old.config);
        }
        self.unsaved.insert(name.clone());
        name
    }

    /// Takes `topic` out, keeping the loads; `false` when it was not there.
    fn take(&mut self, topic: &str) -> bool {
        let Some((name, old)) = self.topics.remove_with_key(topic) else {
            return false;
        };
        placement::remove_load(&mut self.loads, old.placement, &old.config);
        self.unsaved.insert(name);
        true
    }

    /// Where a new topic named `name` goes: every shard for a system topic, else spread
    /// from the shard hosting the fewest queues now.
    fn place(&self, name: &str) -> Placement {
        if is_system_topic(name) {
            return Placement::EveryShard;
        }
        Placement::Spread {
            first: placement::least_loaded(&self.loads),
        }
    }

    /// Puts the system topics in, each hosted by every shard (the file's version of a topic
    /// wins, except `TBW102`, whose queues follow `defaultTopicQueueNums` and which goes
    /// when auto-creation is off).
    pub fn with_system_topics(mut self, config: &BrokerConfig, now_ms: i64) -> Self {
        let before = self.topics.clone();
        if !config.auto_create_topic_enable {
            self.take(AUTO_CREATE_TOPIC_KEY_TOPIC);
        }
        for mut config in system_topics(config) {
            if config.topic_name != AUTO_CREATE_TOPIC_KEY_TOPIC {
                if let Some(kept) = self.get(&config.topic_name) {
                    config = kept.clone();
                }
            }
            self.put(Topic {
                config,
                placement: Placement::EveryShard,
            });
        }
        if self.topics != before {
            self.bump(now_ms);
        }
        self
    }

    /// What `shard` registers with the NameServers and shows admin tools as Java writes it
    /// (REGISTER_BROKER bodies, GET_ALL_TOPIC_CONFIG): each topic it hosts a queue of, with
    /// the counts it hosts, and `extra` (the shard's own topics).
    pub fn wrapper_on(
        &self,
        shard: usize,
        extra: &BTreeMap<String, TopicConfig>,
    ) -> TopicConfigSerializeWrapper {
        let mut topic_config_table: BTreeMap<String, TopicConfig> = self
            .topics
            .keys()
            .filter_map(|name| Some((name.to_string(), self.config_on(name, shard)?)))
            .collect();
        topic_config_table.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        TopicConfigSerializeWrapper {
            data_version: self.data_version.clone(),
            topic_config_table,
            topic_queue_mapping_info_map: BTreeMap::new(),
        }
    }

    /// `topic`'s config as `shard` registers it, with the queues it hosts; `None` when it
    /// hosts none (or the topic is unknown).
    pub fn config_on(&self, topic: &str, shard: usize) -> Option<TopicConfig> {
        let topic = self.topics.get(topic)?;
        let share = topic.placement.share(&topic.config, shard, self.shards);
        (share.write > 0 || share.read > 0).then(|| TopicConfig {
            write_queue_nums: share.write,
            read_queue_nums: share.read,
            ..topic.config.clone()
        })
    }

    fn bump(&mut self, now_ms: i64) {
        self.data_version.advance(now_ms);
    }
}

/// One shard's GET_ALL_TOPIC_CONFIG answer, as a slave reads its master's
/// (docs/protocol.md §2.8.2): the shard's share of each topic it hosts, and where each spread
/// one starts. Other fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardTopicConfigs {
    /// The version of the table the answer was made from.
    #[serde(default)]
    pub data_version: DataVersion,
    /// Each topic the shard hosts queues of, with the counts it hosts.
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// The shard of each listed spread topic's first queue.
    #[serde(default)]
    pub shard_of_first_queue: BTreeMap<String, usize>,
}

/// A master's topic table as a slave rebuilt it from its shards' answers
/// ([`CopiedTopics::from_shards`]), for [`TopicTable::adopt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTopics {
    /// The master's table version, which the slave's takes.
    pub data_version: DataVersion,
    /// Every topic, its counts over all shards and its placement.
    pub topics: Vec<Topic>,
}

impl CopiedTopics {
    /// The table of a master of `answers.len()` shards from each shard's answer, in shard
    /// order: a spread topic's counts are the sum of the shards' shares, placed from the
    /// shard its `shardOfFirstQueue` names; a topic without one is hosted whole by every
    /// shard. Names in `own` (the shards' own broker-name topics, not part of the table)
    /// are left out. Refused, naming why, when the answers are of different table versions
    /// (the table changed while it was read) or do not add up to one placement (the master
    /// has another shard count).
    pub fn from_shards(
        answers: &[ShardTopicConfigs],
        own: &BTreeSet<String>,
    ) -> Result<CopiedTopics, String> {
        let shards = answers.len();
        let Some(first_answer) = answers.first() else {
            return Err("no shard answered".to_owned());
        };
        let data_version = first_answer.data_version.clone();
        if let Some(k) = answers.iter().position(|a| a.data_version != data_version) {
            return Err(format!(
                "master shards 0 and {k} answered versions {:?} and {:?} of the table: it                  changed while it was read",
                data_version, answers[k].data_version
            ));
        }
        // Name → (config with the counts summed so far, placement).
        let mut topics: BTreeMap<&str, (TopicConfig, Placement)> = BTreeMap::new();
        for (shard, answer) in answers.iter().enumerate() {
            for (name, config) in &answer.topic_config_table {
                if own.contains(name) {
                    continue;
                }
                let placement = match answer.shard_of_first_queue.get(name) {
                    Some(&first) if first < shards => Placement::Spread { first },
                    Some(&first) => {
                        return Err(format!(
                            "master shard {shard} places topic {name} from shard {first},                              but {shards} shards answered"
                        ))
                    }
                    None => Placement::EveryShard,
                };
                match topics.get_mut(name.as_str()) {
                    None => {
                        let config = TopicConfig {
                            topic_name: name.clone(),
                            ..config.clone()
                        };
                        topics.insert(name, (config, placement));
                    }
                    Some((_, held)) if *held != placement => {
                        return Err(format!(
                            "master shards place topic {name} differently ({held:?}, and                              {placement:?} on shard {shard})"
                        ))
                    }
                    Some((total, Placement::Spread { .. })) => {
                        let (write, read) = (config.write_queue_nums, config.read_queue_nums);
                        total.write_queue_nums = total.write_queue_nums.saturating_add(write);
                        total.read_queue_nums = total.read_queue_nums.saturating_add(read);
                    }
                    Some(_) => {}
                }
            }
        }
        let mut copied = Vec::with_capacity(topics.len());
        for (name, (config, placement)) in topics {
            for (shard, answer) in answers.iter().enumerate() {
                let answered = answer
                    .topic_config_table
                    .get(name)
                    .map_or(Share::default(), |c| Share {
                        write: c.write_queue_nums,
                        read: c.read_queue_nums,
                    });
                let placed = placement.share(&config, shard, shards);
                if placed != answered {
                    return Err(format!(
                        "topic {name}: master shard {shard} hosts {answered:?}, but its {}                          write and {} read queues placed {placement:?} over {shards} shards                          give it {placed:?}; do both processes have the same shard count?",
                        config.write_queue_nums, config.read_queue_nums
                    ));
                }
            }
            copied.push(Topic { config, placement });
        }
        Ok(CopiedTopics {
            data_version,
            topics: copied,
        })
    }
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
