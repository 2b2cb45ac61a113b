//! Consumer offsets of one shard (docs/protocol.md §2.5.2–§2.5.3, §5.5): the next offset each
//! consumer group will consume, per (group, topic, queue), and their file.
//!
//! Each shard is its own logical broker and owns the offsets of the queues it hosts, so the
//! table lives on that shard alone, behind a `RefCell` that is never borrowed across an await.
//!
//! Persistence: [`ConsumerOffsets::run_persistence`] writes the table every
//! [`PERSIST_INTERVAL`] when it changed, and once more at shutdown, in Java 5.x's
//! `consumerOffset.json` shape (`{"dataVersion":{…},"offsetTable":{"topic@group":{"0":5}}}`,
//! standard JSON; fastjson's unquoted keys and 4.x files without a data version are read
//! too). The data version moves on when a changed table is written, and is the master's
//! after a slave takes its master's offsets ([`ConsumerOffsets::take_masters`]). The same
//! text answers GET_ALL_CONSUMER_OFFSET (docs/protocol.md §2.8.10). A write goes to `<file>.tmp`, is fsynced, the
//! current file is kept as `<file>.bak`, the temp file is renamed over the file and the
//! directory is fsynced, all on glommio's blocking pool, never on the reactor thread. The
//! file therefore always holds a complete table; a crash loses at most the last interval.
//!
//! A file that cannot be read at start-up stops the broker ([`OffsetFileError`]) instead of
//! silently starting every group from scratch. To recover: look at the file and at
//! `<file>.bak` (the previous good table); either copy the `.bak` over the file, or move the
//! file away to start with no stored offsets (consumers then follow their ConsumeFromWhere).
//!
//! Invariants: stored keys have a non-empty topic and group without `@` and a queue id ≥ 0,
//! so every table this module writes it can read back; the entry count stays within
//! [`limits::CONSUMER_OFFSET_ENTRIES_MAX`].

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::broker::handler::Handled;
use crate::broker::metadata::config_file::{sibling, write_atomic};
use crate::broker::BrokerError;
use crate::clock::Clock;
use crate::limits;
use crate::wire::body::{quote_bare_keys, DataVersion};
use crate::wire::headers::*;
use crate::wire::RemotingCommand;

/// How often a changed table is written (Java `flushConsumerOffsetInterval`).
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(5);

/// (topic, group): the file's `topic@group` key, split.
type GroupTopic = (String, String);

/// Queue id → next offset to consume.
pub type QueueOffsets = BTreeMap<i32, i64>;

/// Why the offsets file could not be read or written. Reading errors stop the broker.
#[derive(Debug)]
pub enum OffsetFileError {
    Io { path: PathBuf, source: io::Error },
    Corrupt { path: PathBuf, why: String },
}

impl fmt::Display for OffsetFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffsetFileError::Io { path, source } => {
                write!(f, "consumer offsets file {}: {source}", path.display())
            }
            OffsetFileError::Corrupt { path, why } => write!(
                f,
                "consumer offsets file {} is unreadable ({why}); refusing to start rather than \
                 lose the stored offsets. Copy {} over it to go back to the previous good \
                 table, or move it away to start with no stored offsets",
                path.display(),
                sibling(path, ".bak").display()
            ),
        }
    }
}

impl std::error::Error for OffsetFileError {}

/// The file's shape (Java `ConsumerOffsetManager`); other keys of a Java file are ignored.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetFile {
    /// 5.x; a 4.x file has none.
    #[serde(default)]
    data_version: DataVersion,
    #[serde(default)]
    offset_table: BTreeMap<String, QueueOffsets>,
}

/// The stored offsets of one shard.
#[derive(Debug, Default)]
pub struct ConsumerOffsets {
    table: RefCell<BTreeMap<GroupTopic, QueueOffsets>>,
    entries: Cell<usize>,
    /// Offsets set by an admin reset that the group's next pull must jump to; updates from
    /// consumers of those queues are ignored meanwhile (5.x server-side reset). Memory only.
    pending_resets: RefCell<BTreeMap<(GroupTopic, i32), i64>>,
    /// Bumped on every change; `persisted` is the version the file holds.
    version: Cell<u64>,
    persisted: Cell<u64>,
    /// The table's data version as the file and GET_ALL_CONSUMER_OFFSET show it; it moves
    /// on when the table is written after changes made here (`changed_here`).
    data_version: RefCell<DataVersion>,
    changed_here: Cell<bool>,
}

impl ConsumerOffsets {
    pub fn new() -> Self {
        ConsumerOffsets::default()
    }

    /// Reads the table at start-up with blocking I/O (the reactor serves nothing yet). A
    /// missing file is an empty table; anything unreadable is an error naming the file.
    pub fn load(path: &Path) -> Result<ConsumerOffsets, OffsetFileError> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let bak = sibling(path, ".bak");
                if bak.exists() {
                    tracing::warn!(file = %path.display(), bak = %bak.display(),
                        "consumer offsets file missing but a backup exists; starting empty");
                }
                return Ok(ConsumerOffsets::new());
            }
            Err(source) => {
                let path = path.to_owned();
                return Err(OffsetFileError::Io { path, source });
            }
        };
        ConsumerOffsets::decode(&text).map_err(|why| OffsetFileError::Corrupt {
            path: path.to_owned(),
            why,
        })
    }

    /// Parses a file's content, standard JSON or fastjson's unquoted integer keys.
    pub fn decode(text: &[u8]) -> Result<ConsumerOffsets, String> {
        let file: OffsetFile =
            serde_json::from_slice(&quote_bare_keys(text)).map_err(|err| err.to_string())?;
        let offsets = ConsumerOffsets::new();
        for (key, queues) in file.offset_table {
            let Some((topic, group)) = key.split_once('@') else {
                return Err(format!("key {key:?} is not topic@group"));
            };
            for (queue_id, offset) in queues {
                offsets
                    .store(group, topic, queue_id, offset)
                    .map_err(|err| err.to_string())?;
            }
        }
        *offsets.data_version.borrow_mut() = file.data_version;
        offsets.changed_here.set(false);
        offsets.persisted.set(offsets.version.get());
        Ok(offsets)
    }

    /// The file's content, which GET_ALL_CONSUMER_OFFSET answers too: compact standard
    /// JSON, keys sorted.
    pub fn encode(&self) -> Vec<u8> {
        let table = self.table.borrow();
        let offset_table = table
            .iter()
            .map(|((topic, group), queues)| (format!("{topic}@{group}"), queues.clone()))
            .collect();
        let file = OffsetFile {
            data_version: self.data_version.borrow().clone(),
            offset_table,
        };
        // Only strings and integers: serialization cannot fail.
        serde_json::to_vec(&file).unwrap_or_else(|err| panic!("offsets encode: {err}"))
    }

    /// The table's data version.
    pub fn data_version(&self) -> DataVersion {
        self.data_version.borrow().clone()
    }

    /// A slave takes its master's offsets (GET_ALL_CONSUMER_OFFSET's answer, decoded), as
    /// Java's `SlaveSynchronize` does: each topic@group the master has replaces this
    /// table's, a topic@group only this table has stays, and the data version becomes the
    /// master's. `false` when that changed nothing. TOO_MANY_OFFSETS, changing nothing,
    /// when the result would hold more than [`limits::CONSUMER_OFFSET_ENTRIES_MAX`]
    /// entries.
    pub fn take_masters(&self, master: &ConsumerOffsets) -> Result<bool, BrokerError> {
        let theirs = master.table.borrow();
        let same = |table: &BTreeMap<GroupTopic, QueueOffsets>| {
            theirs
                .iter()
                .all(|(key, queues)| table.get(key) == Some(queues))
        };
        if same(&self.table.borrow()) && *self.data_version.borrow() == master.data_version() {
            return Ok(false);
        }
        {
            let mut table = self.table.borrow_mut();
            let mut entries = self.entries.get();
            for (key, queues) in theirs.iter() {
                let replaced = table.get(key).map_or(0, BTreeMap::len);
                entries = entries - replaced + queues.len();
            }
            if entries > limits::CONSUMER_OFFSET_ENTRIES_MAX {
                return Err(BrokerError::TooManyOffsets);
            }
            for (key, queues) in theirs.iter() {
                table.insert(key.clone(), queues.clone());
            }
            self.entries.set(entries);
        }
        *self.data_version.borrow_mut() = master.data_version();
        self.version.set(self.version.get() + 1);
        self.changed_here.set(false);
        Ok(true)
    }

    /// The stored offset of one queue.
    pub fn offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .borrow()
            .get(&group_topic(group, topic))?
            .get(&queue_id)
            .copied()
    }

    /// Stores a consumer's commit (UPDATE_CONSUMER_OFFSET, or a pull with the COMMIT_OFFSET
    /// flag). Like Java, a later commit simply replaces an earlier one; while an admin reset
    /// of the queue is pending, commits are ignored so they cannot undo it.
    pub fn commit(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), BrokerError> {
        let key = (group_topic(group, topic), queue_id);
        if self.pending_resets.borrow().contains_key(&key) {
            return Ok(());
        }
        self.store(group, topic, queue_id, offset)
    }

    /// Sets an offset on an admin's request (INVOKE_BROKER_TO_RESET_OFFSET) and remembers it
    /// for [`ConsumerOffsets::take_pending_reset`].
    pub fn reset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), BrokerError> {
        self.store(group, topic, queue_id, offset)?;
        let key = (group_topic(group, topic), queue_id);
        self.pending_resets.borrow_mut().insert(key, offset);
        Ok(())
    }

    /// The reset the group's next pull of the queue must answer with PULL_OFFSET_MOVED, once.
    pub fn take_pending_reset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let key = (group_topic(group, topic), queue_id);
        self.pending_resets.borrow_mut().remove(&key)
    }

    fn store(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), BrokerError> {
        let invalid = |name: &str| name.is_empty() || name.contains('@');
        if invalid(group) || invalid(topic) || queue_id < 0 {
            return Err(BrokerError::InvalidOffsetKey {
                topic: topic.to_owned(),
                group: group.to_owned(),
                queue_id,
            });
        }
        let mut table = self.table.borrow_mut();
        let key = group_topic(group, topic);
        let known = table.get(&key).is_some_and(|q| q.contains_key(&queue_id));
        if !known {
            if self.entries.get() >= limits::CONSUMER_OFFSET_ENTRIES_MAX {
                return Err(BrokerError::TooManyOffsets);
            }
            self.entries.set(self.entries.get() + 1);
        }
        table.entry(key).or_default().insert(queue_id, offset);
        self.version.set(self.version.get() + 1);
        self.changed_here.set(true);
        Ok(())
    }

    /// Every stored offset of a group, by topic (GET_CONSUME_STATS).
    pub fn group_offsets(&self, group: &str) -> BTreeMap<String, QueueOffsets> {
        let table = self.table.borrow();
        let of_group = table.iter().filter(|((_, g), _)| g == group);
        of_group
            .map(|((topic, _), queues)| (topic.clone(), queues.clone()))
            .collect()
    }

    /// Groups with stored offsets on a topic (QUERY_TOPIC_CONSUME_BY_WHO).
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let table = self.table.borrow();
        let of_topic = table.keys().filter(|(t, _)| t == topic);
        of_topic.map(|(_, group)| group.clone()).collect()
    }

    /// Forgets a deleted topic's offsets.
    pub fn delete_topic(&self, topic: &str) {
        self.remove_where(|(t, _)| t == topic);
    }

    /// Forgets a deleted group's offsets.
    pub fn delete_group(&self, group: &str) {
        self.remove_where(|(_, g)| g == group);
    }

    fn remove_where(&self, doomed: impl Fn(&GroupTopic) -> bool) {
        let mut removed = 0;
        self.table.borrow_mut().retain(|key, queues| {
            let gone = doomed(key);
            removed += if gone { queues.len() } else { 0 };
            !gone
        });
        self.pending_resets
            .borrow_mut()
            .retain(|(key, _), _| !doomed(key));
        if removed > 0 {
            self.entries.set(self.entries.get() - removed);
            self.version.set(self.version.get() + 1);
            self.changed_here.set(true);
        }
    }

    /// True when the table changed since the file was last written.
    pub fn is_dirty(&self) -> bool {
        self.version.get() != self.persisted.get()
    }

    /// QUERY_CONSUMER_OFFSET (14). Without a stored offset the answer is 0 when the queue
    /// still starts at 0 (docs/protocol.md §2.5.2's simplification of Java's "still in memory"
    /// rule, so a new group also gets what was sent just before it started), else
    /// QUERY_NOT_FOUND. `min_offset(topic, queue_id)` is the store's minimum offset of the
    /// queue, `None` for a queue it does not have.
    pub fn query_consumer_offset(
        &self,
        request: &RemotingCommand,
        min_offset: impl Fn(&str, i32) -> Option<u64>,
    ) -> Handled {
        let header: QueryConsumerOffsetRequestHeader = request.decode_header()?;
        let stored = self.offset(&header.consumer_group, &header.topic, header.queue_id);
        // 4.x clients do not send the flag; Java reads its absence as true.
        let zero_if_absent = header.set_zero_if_not_found != Some(false);
        let young = || min_offset(&header.topic, header.queue_id) == Some(0);
        let offset = match stored {
            Some(offset) => offset,
            None if zero_if_absent && young() => 0,
            None => return Err(BrokerError::OffsetNotFound),
        };
        let mut response = RemotingCommand::success(request);
        response.set_header(&OffsetResponseHeader { offset });
        Ok(response)
    }

    /// UPDATE_CONSUMER_OFFSET (15): stores the commit once `exists` has accepted its group,
    /// topic and queue id. Java 5 refuses a group or topic it does not know; the queue id is
    /// checked too, so every stored offset belongs to a queue that exists and the table
    /// cannot be grown with made-up names or numbers.
    pub fn update_consumer_offset(
        &self,
        request: &RemotingCommand,
        exists: impl FnOnce(&str, &str, i32) -> Result<(), BrokerError>,
    ) -> Handled {
        let h: UpdateConsumerOffsetRequestHeader = request.decode_header()?;
        exists(&h.consumer_group, &h.topic, h.queue_id)?;
        self.commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset)?;
        Ok(RemotingCommand::success(request))
    }

    /// Writes the table to `path` if it changed, on the blocking pool; changes made here
    /// since the last write move the data version on, to `now_ms`. One write at a time:
    /// only [`ConsumerOffsets::run_persistence`] should call it.
    pub async fn persist(&self, path: &Path, now_ms: i64) -> Result<(), OffsetFileError> {
        if !self.is_dirty() {
            return Ok(());
        }
        if self.changed_here.replace(false) {
            self.data_version.borrow_mut().advance(now_ms);
        }
        let version = self.version.get();
        let bytes = self.encode();
        let target = path.to_owned();
        let written = glommio::executor()
            .spawn_blocking(move || write_atomic(&target, &bytes))
            .await;
        written.map_err(|source| OffsetFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        // Changes made during the write keep the table dirty for the next round.
        self.persisted.set(version);
        Ok(())
    }

    /// Writes the table every [`PERSIST_INTERVAL`] while it changes, and a last time when
    /// `closing` completes; returns that last write's outcome. A failed periodic write is
    /// logged and retried at the next interval. `clock` dates the data versions.
    pub async fn run_persistence(
        self: Rc<Self>,
        path: PathBuf,
        clock: Clock,
        closing: impl Future<Output = ()>,
    ) -> Result<(), OffsetFileError> {
        self.run_persistence_every(PERSIST_INTERVAL, &path, &clock, closing)
            .await
    }

    /// [`ConsumerOffsets::run_persistence`] with another interval (`flushConsumerOffsetInterval`,
    /// tests).
    pub async fn run_persistence_every(
        &self,
        interval: Duration,
        path: &Path,
        clock: &Clock,
        closing: impl Future<Output = ()>,
    ) -> Result<(), OffsetFileError> {
        let mut ticker = shards::Ticker::new(interval, closing);
        while ticker.tick().await {
            if let Err(err) = self.persist(path, clock.wall_ms()).await {
                tracing::error!(error = %err, "consumer offsets not persisted; retrying");
            }
        }
        self.persist(path, clock.wall_ms()).await
    }
}

/// The table key of a group's offsets on a topic.
fn group_topic(group: &str, topic: &str) -> GroupTopic {
    (topic.to_owned(), group.to_owned())
}

#[cfg(test)]
#[path = "offsets_tests.rs"]
mod tests;
