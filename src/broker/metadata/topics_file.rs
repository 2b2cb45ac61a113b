//! `topics.json` (docs/storage.md "Layout"): Java's layout, plus the shard of each spread
//! topic's first queue, written whole at start and by compactions, and the changes between
//! as journal records ([`journal`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Name, Topic, TopicTable};
use crate::broker::metadata::config_file;
use crate::broker::metadata::journal::{self, Journaled, Record};
use crate::broker::metadata::placement::Placement;
use crate::wire::body::{self, DataVersion, TopicConfig, TopicConfigSerializeWrapper};

/// `topics.json` as shardmq writes it: Java's layout (so Java's tools read the configs),
/// plus the shard of each spread topic's first queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTopics {
    #[serde(flatten)]
    pub wrapper: TopicConfigSerializeWrapper,
    #[serde(default)]
    pub shard_of_first_queue: BTreeMap<String, usize>,
}

impl StoredTopics {
    /// Applies a journal record (see [`journal`]).
    fn apply(&mut self, record: Record<StoredTopic>) {
        let table = &mut self.wrapper.topic_config_table;
        for StoredTopic { config, first } in record.put {
            match first {
                Some(first) => self
                    .shard_of_first_queue
                    .insert(config.topic_name.clone(), first),
                None => self.shard_of_first_queue.remove(&config.topic_name),
            };
            table.insert(config.topic_name.clone(), config);
        }
        for name in &record.remove {
            table.remove(name);
            self.shard_of_first_queue.remove(name);
        }
        self.wrapper.data_version = record.data_version;
    }
}

/// A topic as a journal record holds it: its config and, for a spread topic, the shard of
/// its first queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTopic {
    pub config: TopicConfig,
    #[serde(
        rename = "shardOfFirstQueue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub first: Option<usize>,
}

impl StoredTopic {
    fn of(topic: &Topic) -> Self {
        StoredTopic {
            config: topic.config.clone(),
            first: match topic.placement {
                Placement::Spread { first } => Some(first),
                Placement::EveryShard => None,
            },
        }
    }
}

/// [`StoredTopics`] of a table, written from the table's own configs without copying them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredTopicsOf<'a> {
    data_version: &'a DataVersion,
    #[serde(serialize_with = "configs_of")]
    topic_config_table: &'a imbl::OrdMap<Name, Arc<Topic>>,
    topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
    #[serde(serialize_with = "first_shards_of")]
    shard_of_first_queue: &'a imbl::OrdMap<Name, Arc<Topic>>,
}

fn configs_of<S: serde::Serializer>(
    topics: &&imbl::OrdMap<Name, Arc<Topic>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(topics.iter().map(|(name, topic)| (&**name, &topic.config)))
}

fn first_shards_of<S: serde::Serializer>(
    topics: &&imbl::OrdMap<Name, Arc<Topic>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        topics
            .iter()
            .filter_map(|(name, topic)| match topic.placement {
                Placement::Spread { first } => Some((&**name, first)),
                Placement::EveryShard => None,
            }),
    )
}

impl Journaled for TopicTable {
    fn take_record(&mut self) -> Option<Vec<u8>> {
        let topics = &self.topics;
        journal::record_of(&self.data_version, &mut self.unsaved, |name| {
            topics.get(name).map(|topic| StoredTopic::of(topic))
        })
    }

    fn snapshot(&self) -> Vec<u8> {
        body::encode(&StoredTopicsOf {
            data_version: &self.data_version,
            topic_config_table: &self.topics,
            topic_queue_mapping_info_map: BTreeMap::new(),
            shard_of_first_queue: &self.topics,
        })
    }

    fn counter(&self) -> i64 {
        self.data_version.counter
    }
}

/// `<storePathRootDir>/config/topics.json`: process-wide, like the table.
pub fn topics_file(store_root: &Path) -> PathBuf {
    config_file::path(store_root, "topics.json")
}

/// Reads `path` and the changes journaled since it was written (see [`journal`]); a
/// missing file is an empty table. Blocking. Also reads Java's own `topics.json`
/// (unquoted numeric keys are accepted).
pub fn load(path: &Path) -> Result<StoredTopics, String> {
    let mut stored: StoredTopics = match config_file::read_optional(path)? {
        Some(bytes) => body::decode(&bytes, "topics.json")
            .map_err(|err| format!("{}: {err}", path.display()))?,
        None => StoredTopics::default(),
    };
    let since = stored.wrapper.data_version.counter;
    journal::replay(path, since, |record| stored.apply(record))?;
    Ok(stored)
}

/// Writes `table` whole to `path` atomically and drops its journal (see
/// [`journal::replace_all`]). Blocking.
pub fn save(path: &Path, table: &TopicTable) -> std::io::Result<()> {
    journal::replace_all(path, &table.snapshot())
}
