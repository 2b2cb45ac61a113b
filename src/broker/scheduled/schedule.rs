//! The delay service of one shard (docs/protocol.md §5.6): delivers the messages parked in
//! `SCHEDULE_TOPIC_XXXX` when they are due, and keeps how far each level got in
//! `<shard dir>/config/delayOffset.json`.
//!
//! Each level has one schedule queue, filled in store-time order with one delay, so its
//! messages fall due in queue order and one cursor per level (the queue offset of the next
//! undelivered message) is all the state there is. Delivering re-stores the message in its
//! real topic and queue ([`delay::delivery`]), then moves the cursor past it.
//!
//! The service parks until the earliest due time of any level's next message, or until
//! reput files a new schedule entry ([`Schedule::arrived`], called from the store's dispatch
//! listener): it never polls.
//!
//! # Persistence and the at-least-once window
//!
//! Cursors are written every `flushDelayOffsetInterval` (10 s) when they moved, and at
//! shutdown after the last delivery, in Java 5.x's file shape
//! (`{"dataVersion":{…},"offsetTable":{"1":5}}`; fastjson's unquoted keys and 4.x files
//! without a data version are read too; the same text answers GET_ALL_DELAY_OFFSET), atomically (temp file, fsync, rename, directory fsync; the
//! previous file stays as `.bak`) on glommio's blocking pool. Before a write the service flushes
//! the CommitLog, so the file never claims a delivery whose re-stored copy could still be lost. A
//! graceful stop therefore neither loses nor repeats a delivery; a crash repeats at most the
//! deliveries of the last interval (their cursors were not written yet) and loses none.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::broker::metadata::config_file::write_atomic;
use crate::broker::scheduled::delay::{self, DelayLevels};
use crate::broker::BrokerError;
use crate::storage::store::{PutResult, Store};
use crate::storage::{QueueId, QueueOffset, StoreError};
use crate::wire::body::{quote_bare_keys, DataVersion};
use crate::wire::record::{PhysicalOffset, RecordFields, RecordVersion, RecordView};
use crate::wire::topics::SCHEDULE_TOPIC;

/// Java's `flushDelayOffsetInterval`.
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(10);

/// How long the service waits before trying a failed delivery again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Level → next schedule-queue offset to deliver, as `delayOffset.json` keeps it.
pub type DelayOffsetTable = BTreeMap<u32, u64>;

/// What `delayOffset.json` holds (Java's `DelayOffsetSerializeWrapper`): the cursors and,
/// from 5.x on, their data version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsets {
    /// 5.x; a 4.x file has none.
    #[serde(default)]
    pub data_version: DataVersion,
    /// Each level's cursor.
    #[serde(default)]
    pub offset_table: DelayOffsetTable,
}

/// Reads the cursors at start-up (blocking; the reactor serves nothing yet). A missing file
/// means nothing was delivered yet; an unreadable one stops the broker, which would
/// otherwise deliver every parked message again.
pub fn load(path: &Path) -> Result<DelayOffsets, String> {
    match std::fs::read(path) {
        Ok(text) => decode(&text).map_err(|why| {
            format!(
                "{} is unreadable ({why}); move it away to deliver every parked message again",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(DelayOffsets::default()),
        Err(err) => Err(format!("{}: {err}", path.display())),
    }
}

/// Parses a `delayOffset.json` (or a GET_ALL_DELAY_OFFSET answer), ours or Java's.
pub fn decode(text: &[u8]) -> Result<DelayOffsets, String> {
    serde_json::from_slice(&quote_bare_keys(text)).map_err(|err| err.to_string())
}

/// The file's content: compact standard JSON.
pub fn encode(offsets: &DelayOffsets) -> Vec<u8> {
    // Only integers: serialization cannot fail.
    serde_json::to_vec(offsets).unwrap_or_else(|err| panic!("delay offsets encode: {err}"))
}

/// Encodes `fields` and appends the record, waiting for room in the log rather than
/// refusing: for messages the broker itself moves (deliveries, retries, dead letters).
pub async fn put_copy(store: &Store, fields: &RecordFields<'_>) -> Result<PutResult, BrokerError> {
    let illegal = |e: crate::wire::WireError| BrokerError::MessageIllegal(e.to_string());
    let mut record = fields.to_vec().map_err(illegal)?;
    let queue_id = QueueId(fields.queue_id);
    Ok(store
        .put_waiting(fields.topic, queue_id, &mut record)
        .await?)
}

/// Re-stores the parked message `parked` (of the schedule or the timer topic) as a new
/// record of its `delivery`: the real topic, queue and properties [`delay::delivery`] or
/// [`delay::timer_delivery`] read from it; MESSAGE_ILLEGAL when they could not.
pub async fn put_delivered(
    store: &Store,
    parked: &RecordView<'_>,
    delivery: Option<(&str, u32, String)>,
) -> Result<(), BrokerError> {
    let Some((topic, queue_id, properties)) = delivery else {
        let why = "no readable REAL_TOPIC and REAL_QID".to_owned();
        return Err(BrokerError::MessageIllegal(why));
    };
    let fields = RecordFields {
        version: RecordVersion::for_topic(topic),
        queue_id,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        store_timestamp_ms: 0,
        topic,
        properties: &properties,
        ..parked.fields()
    };
    put_copy(store, &fields).await.map(drop)
}

/// One level's next message, once read: the cursor it was read at and when it is due.
#[derive(Debug, Clone, Copy)]
struct Head {
    cursor: u64,
    due_ms: i64,
}

/// What a look at one level found.
enum Step {
    /// The message at the cursor was delivered (or skipped); look again.
    Moved,
    /// Nothing due: the next message is due then (`None`: the queue is empty).
    Wait(Option<i64>),
}

/// The delay service of one shard.
pub struct Schedule {
    store: Rc<Store>,
    levels: DelayLevels,
    /// Index `level − 1`.
    cursors: RefCell<Vec<u64>>,
    heads: RefCell<Vec<Option<Head>>>,
    arrived: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// Bumped when a cursor moves; `persisted` is the version the file holds.
    version: Cell<u64>,
    persisted: Cell<u64>,
    /// The cursors' data version as the file and GET_ALL_DELAY_OFFSET show it; it moves on
    /// when cursors moved here are written (`moved_here`).
    data_version: RefCell<DataVersion>,
    moved_here: Cell<bool>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("levels", &self.levels)
            .field("cursors", &self.cursors)
            .finish_non_exhaustive()
    }
}

impl Schedule {
    /// The service of `store` with the cursors of a loaded file (levels missing from it
    /// start at the beginning of their queue).
    pub fn new(store: Rc<Store>, levels: DelayLevels, saved: &DelayOffsets) -> Schedule {
        let count = levels.max_level() as usize;
        let table = &saved.offset_table;
        let cursors = (1..=levels.max_level())
            .map(|level| table.get(&level).copied().unwrap_or(0))
            .collect();
        Schedule {
            store,
            levels,
            cursors: RefCell::new(cursors),
            heads: RefCell::new(vec![None; count]),
            arrived: Cell::new(false),
            waker: RefCell::new(None),
            version: Cell::new(0),
            persisted: Cell::new(0),
            data_version: RefCell::new(saved.data_version.clone()),
            moved_here: Cell::new(false),
        }
    }

    pub fn levels(&self) -> &DelayLevels {
        &self.levels
    }

    /// The cursors as the file keeps them.
    pub fn table(&self) -> DelayOffsetTable {
        let cursors = self.cursors.borrow();
        (1..).zip(cursors.iter().copied()).collect()
    }

    /// The cursors and their data version: the file's content, which GET_ALL_DELAY_OFFSET
    /// answers too.
    pub fn offsets(&self) -> DelayOffsets {
        DelayOffsets {
            data_version: self.data_version.borrow().clone(),
            offset_table: self.table(),
        }
    }

    /// A slave takes its master's cursors (GET_ALL_DELAY_OFFSET's answer), as Java's
    /// `SlaveSynchronize` does: each level the master lists takes the master's cursor, a
    /// level it does not list (or this broker does not have) is left as it is, and the data
    /// version becomes the master's. The cursors are written at the next
    /// [`Schedule::persist`]. `false` when that changed nothing.
    pub fn take_masters(&self, master: &DelayOffsets) -> bool {
        let ours = self.offsets();
        let same = master
            .offset_table
            .iter()
            .all(|(level, cursor)| ours.offset_table.get(level).map_or(true, |c| c == cursor));
        if same && ours.data_version == master.data_version {
            return false;
        }
        {
            let mut cursors = self.cursors.borrow_mut();
            for (&level, &cursor) in &master.offset_table {
                let slot = usize::try_from(level)
                    .ok()
                    .and_then(|level| level.checked_sub(1))
                    .and_then(|index| cursors.get_mut(index));
                if let Some(slot) = slot {
                    *slot = cursor;
                }
            }
        }
        *self.data_version.borrow_mut() = master.data_version.clone();
        self.version.set(self.version.get() + 1);
        self.moved_here.set(false);
        true
    }

    /// Each level with its cursor and the end of its schedule queue: the two are equal once
    /// the level has delivered everything it holds.
    pub fn progress(&self) -> Vec<(u32, u64, u64)> {
        let levels = self.table().into_iter();
        let end = |level| {
            let queue = QueueId(delay::queue_of(level));
            self.store.queue_range(SCHEDULE_TOPIC, queue).1 .0
        };
        levels
            .map(|(level, cursor)| (level, cursor, end(level)))
            .collect()
    }

    /// Reput filed a schedule entry: look again. Only notes it, so it is safe inside reput.
    pub fn arrived(&self) {
        self.arrived.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Delivers every message that is due now; returns when the next one is due (`None`:
    /// nothing is parked). A level whose delivery fails is tried again after
    /// `RETRY_AFTER`; the others go on.
    pub async fn deliver_due(&self) -> Option<i64> {
        let mut next: Option<i64> = None;
        for level in 1..=self.levels.max_level() {
            let due = loop {
                match self.step(level).await {
                    Ok(Step::Moved) => glommio::yield_if_needed().await,
                    Ok(Step::Wait(due)) => break due,
                    Err(error) => {
                        tracing::error!(level, %error, "delayed message not delivered; retrying");
                        break Some(self.store.now_ms() + RETRY_AFTER.as_millis() as i64);
                    }
                }
            };
            next = match (next, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }

    /// Looks at `level`'s next message and delivers it if it is due.
    async fn step(&self, level: u32) -> Result<Step, BrokerError> {
        let index = (level - 1) as usize;
        let queue = QueueId(delay::queue_of(level));
        let cursor = self.cursor_in_range(index, queue);
        let cached = self.heads.borrow()[index].filter(|h| h.cursor == cursor);
        let now = self.store.now_ms();
        if let Some(head) = cached.filter(|h| h.due_ms > now) {
            return Ok(Step::Wait(Some(head.due_ms)));
        }
        let entry = self
            .store
            .entry(SCHEDULE_TOPIC, queue, QueueOffset(cursor))
            .await?;
        let Some(entry) = entry else {
            return Ok(Step::Wait(None));
        };
        let bytes = match self
            .store
            .read(entry.physical_offset, entry.size as usize)
            .await
        {
            Ok(bytes) => bytes,
            // Retention deleted the record under the entry: nothing left to deliver.
            Err(StoreError::OutOfRange { .. }) => return Ok(self.advance(index, cursor)),
            Err(e) => return Err(e.into()),
        };
        let offset = entry.physical_offset.0;
        let view = match RecordView::parse(&bytes) {
            Ok(view) => view,
            Err(e) => return Ok(self.drop_undeliverable(index, cursor, offset, &e)),
        };
        let delay = self.levels.delay(level).unwrap_or_default();
        let due_ms = delay::due_ms(view.store_timestamp_ms(), delay, now);
        if due_ms > now {
            self.heads.borrow_mut()[index] = Some(Head { cursor, due_ms });
            return Ok(Step::Wait(Some(due_ms)));
        }
        match self.deliver(&view).await {
            // The message itself is at fault: trying again would hold the level forever.
            Err(e @ BrokerError::MessageIllegal { .. }) => {
                Ok(self.drop_undeliverable(index, cursor, offset, &e))
            }
            other => other.map(|()| self.advance(index, cursor)),
        }
    }

    /// Skips a parked message that can never be delivered, as Java skips one it cannot
    /// read, so the messages behind it are not held up.
    fn drop_undeliverable(
        &self,
        index: usize,
        cursor: u64,
        offset: u64,
        why: &dyn std::fmt::Display,
    ) -> Step {
        tracing::error!(offset, %why, "delayed message cannot be delivered; dropped");
        self.advance(index, cursor)
    }

    /// The cursor of level `index`, moved into its queue's range (retention may have
    /// deleted entries under it; a file from another store may point past the end).
    fn cursor_in_range(&self, index: usize, queue: QueueId) -> u64 {
        let (min, max) = self.store.queue_range(SCHEDULE_TOPIC, queue);
        let mut cursors = self.cursors.borrow_mut();
        let cursor = cursors[index].clamp(min.0, max.0.max(min.0));
        if cursor != cursors[index] {
            cursors[index] = cursor;
            self.version.set(self.version.get() + 1);
            self.moved_here.set(true);
        }
        cursor
    }

    fn advance(&self, index: usize, cursor: u64) -> Step {
        self.cursors.borrow_mut()[index] = cursor + 1;
        self.version.set(self.version.get() + 1);
        self.moved_here.set(true);
        Step::Moved
    }

    /// Re-stores a due message in its real topic and queue.
    async fn deliver(&self, parked: &RecordView<'_>) -> Result<(), BrokerError> {
        put_delivered(&self.store, parked, delay::delivery(parked.properties())).await
    }

    /// Writes the cursors if they moved: first makes every delivery so far durable, so the
    /// file never runs ahead of the log. Cursors moved here since the last write move the
    /// data version on. One write at a time: [`Schedule::run`] calls it on a master, the
    /// slave's synchronization on a slave (where the service does not run).
    pub async fn persist(&self, path: &Path) -> Result<(), String> {
        if self.version.get() == self.persisted.get() {
            return Ok(());
        }
        if self.moved_here.replace(false) {
            self.data_version.borrow_mut().advance(self.store.now_ms());
        }
        let version = self.version.get();
        let bytes = encode(&self.offsets());
        self.store
            .log()
            .flush()
            .await
            .map_err(|e| format!("commit log flush before {}: {e}", path.display()))?;
        let target = path.to_owned();
        glommio::executor()
            .spawn_blocking(move || write_atomic(&target, &bytes))
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.persisted.set(version);
        Ok(())
    }

    /// Delivers due messages until `closing` completes, writing the cursors every
    /// `interval` and a last time at the end; returns that last write's outcome.
    pub async fn run(
        self: Rc<Self>,
        path: PathBuf,
        interval: Duration,
        closing: impl Future<Output = ()>,
    ) -> Result<(), String> {
        let mut closing = pin!(closing);
        let mut written = Instant::now();
        loop {
            self.arrived.set(false);
            let next_due = self.deliver_due().await;
            if written.elapsed() >= interval {
                if let Err(error) = self.persist(&path).await {
                    tracing::error!(%error, "delay offsets not persisted; retrying");
                }
                written = Instant::now();
            }
            let mut wait = interval.saturating_sub(written.elapsed());
            if let Some(due) = next_due {
                let until = due.saturating_sub(self.store.now_ms()).max(0) as u64;
                wait = wait.min(Duration::from_millis(until));
            }
            let woken = async {
                futures_lite::future::or(self.new_arrival(), glommio::timer::sleep(wait)).await;
                true
            };
            let stop = async {
                closing.as_mut().await;
                false
            };
            if !futures_lite::future::or(stop, woken).await {
                break;
            }
        }
        self.persist(&path).await
    }

    /// Resolves once [`Schedule::arrived`] has been called since the flag was cleared.
    fn new_arrival(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            if self.arrived.get() {
                return Poll::Ready(());
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
