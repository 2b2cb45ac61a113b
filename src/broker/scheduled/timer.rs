//! The timer service of one shard (docs/protocol.md §5.6, docs/storage.md "Timer messages"):
//! delivers the 5.x timer messages parked in `rmq_sys_wheel_timer` queue 0 at their due time
//! (`TIMER_OUT_MS`), never before it.
//!
//! The timer queue fills in arrival order, not due order, so the service keeps an index by
//! due time ([`super::timer_slots`]): one file per minute. Its state is three things:
//!
//! - **enqueued**: the timer-queue offset below which every message is listed in its
//!   minute's file (or was delivered);
//! - **delivered until**: every listed message due before it has been delivered;
//! - **near**: in memory, the listed messages of the minutes loaded so far and not yet
//!   delivered. A minute is loaded when its time has come and everything before it is
//!   delivered, so memory holds about one minute of timers, however many wait further out.
//!
//! One task does everything in turn: list what reput filed since the last look (after a
//! CommitLog flush, so a file never names a record a crash could lose), deliver what is due
//! (re-store it in its real topic and queue, [`delay::timer_delivery`]), and about once a
//! second write `<shard dir>/timer/state.json` (`enqueued` and `deliveredUntil`) after a
//! CommitLog flush, then remove the files of minutes wholly delivered. It sleeps until the
//! next due time or a new arrival; it never polls.
//!
//! # The at-least-once window
//!
//! A graceful stop writes the state after the last delivery: nothing is lost or repeated. A
//! crash restarts from the last state written: deliveries made after it (about a second's)
//! are made again, and messages listed after it are listed again, which the files' queue
//! order lets the service skip. Nothing whose parked record survived is lost.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::broker::metadata::config_file::write_atomic;
use crate::broker::scheduled::delay::{self, TimerRules};
use crate::broker::scheduled::schedule::put_delivered;
use crate::broker::scheduled::timer_slots::{
    bucket_of, FileInfo, SlotFiles, TimerEntry, BUCKET_MS,
};
use crate::broker::BrokerError;
use crate::storage::record::is_record_of;
use crate::storage::store::Store;
use crate::storage::{QueueId, QueueOffset, StoreError};
use crate::wire::properties::keys;
use crate::wire::record::{PhysicalOffset, RecordView};
use crate::wire::topics::TIMER_TOPIC;

/// How often the state is written while it changes (Java's `timerFlushIntervalMs`).
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(1);

/// How long the service waits before trying a failed delivery again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Most timer-queue messages listed in one go.
const ENQUEUE_BATCH: usize = 4096;

/// The timer queue.
const QUEUE: QueueId = QueueId(0);

/// `timer/state.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerState {
    pub enqueued: u64,
    pub delivered_until: i64,
}

/// A shard's timer state and minute files as read at start-up, for [`Timers::new`].
#[derive(Debug)]
pub struct Opened {
    state: TimerState,
    files: SlotFiles,
    found: BTreeMap<i64, FileInfo>,
}

/// The state file and the minute files of one shard, read at start-up (blocking; the reactor
/// serves nothing yet). Files of minutes already delivered are removed, torn tails cut. An
/// unreadable state stops the broker, which would otherwise deliver every timer again.
pub fn open(dir: PathBuf) -> Result<Opened, String> {
    let path = dir.join("state.json");
    let state = match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text).map_err(|why| {
            format!(
                "{} is unreadable ({why}); its .bak is the previous state",
                path.display()
            )
        })?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => TimerState::default(),
        Err(err) => return Err(format!("{}: {err}", path.display())),
    };
    let files = SlotFiles::new(dir);
    let found = files
        .scan(state.delivered_until)
        .map_err(|e| format!("{}: {e}", files.dir().display()))?;
    Ok(Opened {
        state,
        files,
        found,
    })
}

#[derive(Debug)]
struct Wheel {
    enqueued: u64,
    delivered_until: i64,
    /// Files on disk, by minute.
    files: BTreeMap<i64, FileInfo>,
    /// Minutes before this one are loaded into `near` (or had nothing).
    loaded_through: i64,
    /// Listed messages of loaded minutes, and late ones, not yet delivered, by due time.
    near: BTreeSet<TimerEntry>,
    /// Timer-queue offsets of messages in `near` that were due before `delivered_until` when
    /// first seen, so never written to a file: the state must not claim them enqueued until
    /// they are delivered.
    unlisted: BTreeSet<u64>,
    /// Bumped on every change; `persisted` is the version the state file holds.
    version: u64,
    persisted: u64,
}

/// What [`Timers::progress`] reports (GET_BROKER_RUNTIME_INFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerProgress {
    /// Timers listed and not delivered yet.
    pub pending: u64,
    /// Timer-queue messages filed but not listed yet.
    pub offset_behind: u64,
    /// Every listed timer due before it has been delivered.
    pub delivered_until: i64,
}

/// The timer service of one shard.
pub struct Timers {
    store: Rc<Store>,
    rules: TimerRules,
    files: SlotFiles,
    wheel: RefCell<Wheel>,
    arrived: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("rules", &self.rules)
            .field("wheel", &self.wheel)
            .finish_non_exhaustive()
    }
}

impl Timers {
    /// The service of `store`, from what [`open`] read.
    pub fn new(store: Rc<Store>, rules: TimerRules, opened: Opened) -> Timers {
        let Opened {
            state,
            files,
            found,
        } = opened;
        Timers {
            store,
            rules,
            files,
            wheel: RefCell::new(Wheel {
                enqueued: state.enqueued,
                delivered_until: state.delivered_until,
                files: found,
                loaded_through: bucket_of(state.delivered_until),
                near: BTreeSet::new(),
                unlisted: BTreeSet::new(),
                version: 0,
                persisted: 0,
            }),
            arrived: Cell::new(false),
            waker: RefCell::new(None),
        }
    }

    pub fn rules(&self) -> &TimerRules {
        &self.rules
    }

    /// The state as the file would hold it now.
    pub fn state(&self) -> TimerState {
        let wheel = self.wheel.borrow();
        let first_unlisted = wheel.unlisted.first().copied();
        TimerState {
            enqueued: first_unlisted.map_or(wheel.enqueued, |q| q.min(wheel.enqueued)),
            delivered_until: wheel.delivered_until,
        }
    }

    pub fn progress(&self) -> TimerProgress {
        let wheel = self.wheel.borrow();
        let unloaded: u64 = wheel
            .files
            .range(wheel.loaded_through..)
            .map(|(_, info)| info.entries)
            .sum();
        let end = self.store.queue_range(TIMER_TOPIC, QUEUE).1 .0;
        TimerProgress {
            pending: wheel.near.len() as u64 + unloaded,
            offset_behind: end.saturating_sub(wheel.enqueued),
            delivered_until: wheel.delivered_until,
        }
    }

    /// Reput filed a timer message: look again. Only notes it, so it is safe inside reput.
    pub fn arrived(&self) {
        self.arrived.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Lists up to 4096 of the messages reput filed in the timer queue since the
    /// last call; whether there may be more.
    pub async fn enqueue_batch(&self) -> Result<bool, BrokerError> {
        let (min, end) = self.store.queue_range(TIMER_TOPIC, QUEUE);
        let from = {
            let mut wheel = self.wheel.borrow_mut();
            // Retention may have deleted entries under the cursor; a state from another
            // store may point past the end.
            let clamped = wheel.enqueued.clamp(min.0, end.0.max(min.0));
            if clamped != wheel.enqueued {
                wheel.enqueued = clamped;
                wheel.version += 1;
            }
            clamped
        };
        let mut read = Vec::new();
        let mut next = from;
        while next < end.0 && read.len() < ENQUEUE_BATCH {
            let Some(entry) = self
                .store
                .entry(TIMER_TOPIC, QUEUE, QueueOffset(next))
                .await?
            else {
                break;
            };
            match self
                .read_entry(next, entry.physical_offset, entry.size)
                .await?
            {
                Ok(timer) => read.push(timer),
                Err(why) => {
                    tracing::error!(queue_offset = next, %why, "timer message cannot be scheduled; dropped");
                }
            }
            next += 1;
        }
        if next == from {
            return Ok(false);
        }
        // A file must never name a record that a crash could still take back.
        self.store.log().flush().await?;
        let (late, batch) = self.sort_out(read);
        if !batch.is_empty() {
            let files = self.files.clone();
            let appended = batch.clone();
            glommio::executor()
                .spawn_blocking(move || files.append(&appended))
                .await
                .map_err(|e| BrokerError::PutFailed(format!("timer index: {e}")))?;
        }
        let mut wheel = self.wheel.borrow_mut();
        for (bucket, entries) in batch {
            let Some(last) = entries.last() else { continue };
            let info = wheel.files.entry(bucket).or_insert(FileInfo {
                entries: 0,
                last_queue_offset: 0,
            });
            info.entries += entries.len() as u64;
            info.last_queue_offset = last.queue_offset;
            if bucket < wheel.loaded_through {
                wheel.near.extend(entries);
            }
        }
        for timer in late {
            wheel.unlisted.insert(timer.queue_offset);
            wheel.near.insert(timer);
        }
        wheel.enqueued = next;
        wheel.version += 1;
        Ok(next < end.0)
    }

    /// The timer at queue offset `queue_offset`, read from the log: `Err(why)` inside when it
    /// cannot be scheduled (not a timer message, damaged, deleted by retention).
    async fn read_entry(
        &self,
        queue_offset: u64,
        physical_offset: PhysicalOffset,
        size: u32,
    ) -> Result<Result<TimerEntry, String>, BrokerError> {
        let bytes = match self.store.read(physical_offset, size as usize).await {
            Ok(bytes) => bytes,
            Err(StoreError::OutOfRange { .. }) => return Ok(Err("its record was deleted".into())),
            Err(e) => return Err(e.into()),
        };
        let Ok(view) = RecordView::parse(&bytes) else {
            return Ok(Err("its record does not parse".into()));
        };
        let due = view
            .property(keys::TIMER_OUT_MS)
            .and_then(|v| v.parse::<i64>().ok());
        let Some(due_ms) = due else {
            return Ok(Err("it has no readable TIMER_OUT_MS".into()));
        };
        Ok(Ok(TimerEntry {
            due_ms,
            queue_offset,
            physical_offset: physical_offset.0,
            size,
        }))
    }

    /// Splits newly read timers into those already late (due before `delivered_until`,
    /// delivered from memory, never written) and, per minute, those to append: without what
    /// a file already holds (listed again after a crash).
    fn sort_out(&self, read: Vec<TimerEntry>) -> (Vec<TimerEntry>, Vec<(i64, Vec<TimerEntry>)>) {
        let wheel = self.wheel.borrow();
        let mut late = Vec::new();
        let mut batch: BTreeMap<i64, Vec<TimerEntry>> = BTreeMap::new();
        for timer in read {
            if timer.due_ms < wheel.delivered_until {
                late.push(timer);
                continue;
            }
            let bucket = bucket_of(timer.due_ms);
            let listed = wheel.files.get(&bucket).map(|info| info.last_queue_offset);
            if listed.is_some_and(|last| timer.queue_offset <= last) {
                continue;
            }
            batch.entry(bucket).or_default().push(timer);
        }
        (late, batch.into_iter().collect())
    }

    /// Delivers every timer due now; returns when the service should look again (`None`:
    /// nothing waits).
    pub async fn deliver_due(&self) -> Option<i64> {
        loop {
            let now = self.store.now_ms();
            let head = self.wheel.borrow().near.first().copied();
            let Some(timer) = head else {
                match self.load_next(now).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(error) => {
                        tracing::error!(%error, "timer index not loaded; retrying");
                        return Some(now + RETRY_AFTER.as_millis() as i64);
                    }
                }
            };
            if timer.due_ms > now {
                break;
            }
            match self.deliver(&timer, now).await {
                Ok(()) => {}
                // The message itself is at fault: trying again would hold every timer back.
                Err(e @ BrokerError::MessageIllegal { .. }) => {
                    let offset = timer.physical_offset;
                    tracing::error!(offset, why = %e, "timer message cannot be delivered; dropped");
                }
                Err(error) => {
                    tracing::error!(%error, "timer message not delivered; retrying");
                    return Some(now + RETRY_AFTER.as_millis() as i64);
                }
            }
            {
                let mut wheel = self.wheel.borrow_mut();
                wheel.near.remove(&timer);
                wheel.unlisted.remove(&timer.queue_offset);
                wheel.version += 1;
            }
            glommio::yield_if_needed().await;
        }
        let now = self.store.now_ms();
        let mut wheel = self.wheel.borrow_mut();
        let next_file = wheel
            .files
            .range(wheel.loaded_through..)
            .next()
            .map(|(b, _)| *b);
        let next_near = wheel.near.first().map(|t| t.due_ms);
        // Nothing listed is due before the earliest of these, so everything before is done.
        let done = [Some(now + 1), next_near, next_file]
            .into_iter()
            .flatten()
            .min();
        if let Some(done) = done.filter(|&d| d > wheel.delivered_until) {
            wheel.delivered_until = done;
            wheel.version += 1;
        }
        next_near.or(next_file)
    }

    /// Loads the next minute's file if its time has come; whether one was loaded.
    async fn load_next(&self, now: i64) -> Result<bool, String> {
        let (bucket, done) = {
            let wheel = self.wheel.borrow();
            let next = wheel.files.range(wheel.loaded_through..).next();
            match next {
                Some((&bucket, _)) if bucket <= now => (bucket, wheel.delivered_until),
                _ => return Ok(false),
            }
        };
        let files = self.files.clone();
        let (entries, damaged) = glommio::executor()
            .spawn_blocking(move || files.load(bucket))
            .await
            .map_err(|e| format!("timer index file of {bucket}: {e}"))?;
        if damaged > 0 {
            tracing::error!(
                bucket,
                damaged,
                "timer index entries damaged; their timers are lost"
            );
        }
        let mut wheel = self.wheel.borrow_mut();
        wheel
            .near
            .extend(entries.into_iter().filter(|t| t.due_ms >= done));
        wheel.loaded_through = bucket + BUCKET_MS;
        wheel.version += 1;
        Ok(true)
    }

    /// Re-stores a due timer in its real topic and queue, if the log still holds it there.
    async fn deliver(&self, timer: &TimerEntry, now: i64) -> Result<(), BrokerError> {
        let offset = PhysicalOffset(timer.physical_offset);
        let bytes = match self.store.read(offset, timer.size as usize).await {
            Ok(bytes) => bytes,
            Err(StoreError::OutOfRange { .. }) => {
                let why = "its record was deleted by retention".to_owned();
                return Err(BrokerError::MessageIllegal(why));
            }
            Err(e) => return Err(e.into()),
        };
        let parked = match RecordView::parse(&bytes) {
            Ok(view) if is_record_of(&bytes, offset, TIMER_TOPIC, QUEUE) => view,
            _ => {
                return Err(BrokerError::MessageIllegal(
                    "its record does not verify".into(),
                ))
            }
        };
        let due = parked
            .property(keys::TIMER_OUT_MS)
            .and_then(|v| v.parse::<i64>().ok());
        if parked.queue_offset().0 != timer.queue_offset || due != Some(timer.due_ms) {
            let why = "the record there is another message".to_owned();
            return Err(BrokerError::MessageIllegal(why));
        }
        let delivery = delay::timer_delivery(parked.properties(), now);
        put_delivered(&self.store, &parked, delivery).await
    }

    /// Writes the state if it changed: first makes every delivery so far durable, so the file
    /// never runs ahead of the log; then removes the files of minutes it says are delivered.
    /// One write at a time: only [`Timers::run`] calls it.
    pub async fn persist(&self) -> Result<(), String> {
        let version = self.wheel.borrow().version;
        if version == self.wheel.borrow().persisted {
            return Ok(());
        }
        let state = self.state();
        let path = self.files.dir().join("state.json");
        self.store
            .log()
            .flush()
            .await
            .map_err(|e| format!("commit log flush before {}: {e}", path.display()))?;
        // Only numbers: serialization cannot fail.
        let bytes = serde_json::to_vec(&state).unwrap_or_default();
        let target = path.clone();
        glommio::executor()
            .spawn_blocking(move || write_atomic(&target, &bytes))
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let done: Vec<i64> = {
            let mut wheel = self.wheel.borrow_mut();
            wheel.persisted = version;
            let done = wheel
                .files
                .range(..bucket_of(state.delivered_until))
                .map(|(b, _)| *b)
                .collect();
            wheel
                .files
                .retain(|b, _| *b >= bucket_of(state.delivered_until));
            done
        };
        if !done.is_empty() {
            let files = self.files.clone();
            glommio::executor()
                .spawn_blocking(move || files.remove(&done))
                .await
                .map_err(|e| format!("{}: {e}", self.files.dir().display()))?;
        }
        Ok(())
    }

    /// One turn: list what reput filed since the last turn and deliver what is due, a batch
    /// at a time (so a backlog of late timers never sits in memory whole); when to look
    /// again.
    pub async fn turn(&self) -> Option<i64> {
        loop {
            let more = match self.enqueue_batch().await {
                Ok(more) => more,
                Err(error) => {
                    tracing::error!(%error, "timer messages not listed; retrying");
                    return Some(self.store.now_ms() + RETRY_AFTER.as_millis() as i64);
                }
            };
            let next = self.deliver_due().await;
            if !more {
                return next;
            }
            glommio::yield_if_needed().await;
        }
    }

    /// Delivers due timers until `closing` completes, writing the state every
    /// [`PERSIST_INTERVAL`] while it changes and a last time at the end; returns that last
    /// write's outcome.
    pub async fn run(self: Rc<Self>, closing: impl Future<Output = ()>) -> Result<(), String> {
        let mut closing = pin!(closing);
        let mut written = Instant::now();
        loop {
            self.arrived.set(false);
            let next_due = self.turn().await;
            if written.elapsed() >= PERSIST_INTERVAL {
                if let Err(error) = self.persist().await {
                    tracing::error!(%error, "timer state not persisted; retrying");
                }
                written = Instant::now();
            }
            let mut wait = PERSIST_INTERVAL.saturating_sub(written.elapsed());
            let idle = {
                let wheel = self.wheel.borrow();
                wheel.version == wheel.persisted
            };
            if idle {
                wait = Duration::from_secs(3600);
            }
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
        self.persist().await
    }

    /// Resolves once [`Timers::arrived`] has been called since the flag was cleared.
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
#[path = "timer_tests.rs"]
mod tests;
