//! A shard's store: the CommitLog, the ConsumeQueues built from it by reput, and the
//! checkpoint. This is what the broker calls: `put` a record into (topic, queue), `reput` to
//! index what was appended, `get_messages` for a pull, `checkpoint` periodically.
//!
//! Lives on one shard; the shard's tasks are its only users. Queue offsets are assigned at
//! put time in append order (the record carries its own), so reput only checks them: the
//! ConsumeQueue of a queue always holds dense offsets that agree with the log. Reput,
//! checkpoint and maintenance each run one at a time.

use std::cell::{Cell, OnceCell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use super::checkpoint::{Checkpoint, CheckpointFile};
use super::commit_log::{Appended, CommitLog, Durable};
use super::config::StoreConfig;
use super::consume_queue::{ConsumeQueue, CqEntry};
use super::error::{StoreError, StoreResult};
use super::filing::{Filing, Filings};
use super::index::Index;
use super::index::KeyHashes;
use super::io::{try_join_bounded, Disk};
use super::log_buffer::LogBytes;
use super::offsets::{PhysicalOffset, QueueId, QueueOffset};
use super::record::{
    self, consumable, filing_properties, scan_verified, tags_code, tags_code_of, FilingProperties,
    RecordFields, Scanned, SysFlag, MAGIC_BLANK, RECORD_SIZE_MIN,
};
use super::recovery::{recover_log, LogFiles};
use super::replicas::Replicas;
use crate::clock::Clock;

mod reput;

/// ConsumeQueues opened at once when the store opens. Opening one is a few small I/Os in a row
/// (open the file, find where its data ends, read the block holding its end); with many in
/// flight the ring and the device stay busy instead of waiting out each one in turn, so ten
/// thousand queues open in a fraction of a second (docs/storage.md, "Recovery").
const QUEUES_OPENING_AT_ONCE: usize = 64;

/// ConsumeQueues a checkpoint flushes at once (see [`Store::checkpoint`]).
const QUEUES_FLUSHING_AT_ONCE: usize = 64;

#[derive(Debug)]
pub(super) struct Queue {
    pub(super) cq: Rc<ConsumeQueue>,
    /// Queue offset the next put gets.
    pub(super) next: Cell<u64>,
    /// The topic and queue it is, for those told of its new entries.
    topic: Box<str>,
    id: QueueId,
}

/// Where a put went.
#[derive(Debug)]
pub struct PutResult {
    /// Where the (first) record starts.
    pub offset: PhysicalOffset,
    /// The (first) record's queue offset.
    pub queue_offset: QueueOffset,
    /// The bytes appended.
    pub size: u32,
    pub store_timestamp: i64,
    /// Resolves when the record is stored under the flush policy.
    pub durable: Durable,
}

/// A shard's store.
pub struct Store {
    config: StoreConfig,
    disk: Disk,
    /// Started by `open` once recovery has found the log's end (see [`Store::log`]).
    log: OnceCell<CommitLog>,
    /// Looked up twice per stored message (its put and its dispatch), so hashed with foldhash
    /// (seeded per process) as the meters' maps are: 190 instructions a send less than
    /// SipHash (scripts/count-instructions.sh).
    queues: RefCell<foldhash::HashMap<String, foldhash::HashMap<QueueId, Rc<Queue>>>>,
    /// The keys of every dispatched record, for queries by key.
    index: Index,
    /// What reput files the records appended since it last ran by ([`super::filing`]).
    filings: Filings,
    /// The log is dispatched into the ConsumeQueues below this offset.
    reput_from: Cell<u64>,
    /// Store time of the newest dispatched record.
    reput_timestamp: Cell<i64>,
    /// The last checkpoint on disk (or what recovery made equivalent to one).
    last_checkpoint: Cell<Checkpoint>,
    reputting: Cell<bool>,
    /// Set by a put; the maintenance task parks on `maintenance_waker` until then.
    reput_wanted: Cell<bool>,
    /// Set on a slave's store: its log only takes its master's records
    /// ([`Store::put_copied`]), so a local append can never make the two differ.
    copies_only: Cell<bool>,
    /// The slaves copying this log, on a master.
    replicas: Replicas,
    maintenance_waker: RefCell<Option<std::task::Waker>>,
    checkpointing: Cell<bool>,
    checkpoint: CheckpointFile,
    clock: Clock,
    /// Told of every entry reput files, once the entry is readable (parked pulls wait on it).
    dispatch_listener: RefCell<Option<DispatchListener>>,
    damage: Cell<Damage>,
    /// The log's end when the store opened: every byte below it came from the device, even
    /// the ones recovery loaded into the in-memory tail.
    opened_end: Cell<u64>,
    /// How many records recovery lost (those the damaged ranges it stepped over could have
    /// held, and those it left out), less the holes filed for them: a queue offset may skip
    /// ahead only by what was lost.
    lost_records: Cell<u64>,
    /// The last background checkpoint failed.
    checkpoint_failing: Cell<bool>,
    /// The log began past offset 0 ([`Store::start_log_at`], or retention had removed its
    /// first segment): a queue's first record here may carry any queue offset, the earlier
    /// ones being in no segment this store holds.
    log_starts_late: Cell<bool>,
}

/// Damaged data the store found and left out since it opened; each find is also logged at
/// ERROR with its position.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// Damaged log ranges recovery stepped over (valid records followed each).
    pub log_ranges: u64,
    /// Their bytes.
    pub log_bytes: u64,
    /// Records left out of their queue (a damaged queue offset field), or not served
    /// because what a ConsumeQueue entry pointed at did not verify.
    pub records: u64,
}

/// Whether `topic` can be a directory name under `consumequeue/`: every name the broker
/// accepts can, and damaged bytes that read as a path (`..`, `a/b`) cannot.
fn names_a_directory(topic: &str) -> bool {
    !topic.is_empty() && topic != "." && topic != ".." && !topic.contains(['/', '\0'])
}

/// What an append knows that reput files a record by, besides its place.
#[derive(Debug, Clone, Copy)]
struct Marks<'a> {
    properties: FilingProperties<'a>,
    sysflag: SysFlag,
}

/// A record an append wrote: its topic and queue, and its marks when known.
struct Written<'a> {
    topic: &'a str,
    queue_id: QueueId,
    marks: Option<Marks<'a>>,
}

/// Called with (topic, queue, queue offset, tag code) of each ConsumeQueue entry as reput
/// files it. It runs inside reput, so it must only note the fact (wake a task), never call
/// back into the store.
pub type DispatchListener = Box<dyn Fn(&str, QueueId, QueueOffset, i64)>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.config.shard_dir())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the shard's store, recovering from whatever state the last run left: the log is
    /// scanned from the checkpoint, damaged ranges inside it stepped over, its torn tail cut,
    /// and the ConsumeQueues rebuilt from there ([`super::recovery`]).
    pub async fn open(disk: Disk, config: StoreConfig, clock: Clock) -> StoreResult<Store> {
        let dir = config.shard_dir();
        let log_dir = dir.join("commitlog");
        disk.create_dir_all(&log_dir).await?;
        disk.create_dir_all(&dir.join("consumequeue")).await?;
        for d in [
            log_dir.as_path(),
            &dir.join("consumequeue"),
            &dir,
            &config.root,
        ] {
            disk.sync_dir(d).await?;
        }
        let (checkpoint, cp) = CheckpointFile::open(&disk, dir.join("checkpoint")).await?;
        let from = cp.map_or(0, |cp| cp.reput.0);
        let lc = config.log.clone();
        let files = LogFiles::open(&disk, &log_dir, lc.segment_size, from).await?;
        let start = files.start;
        // Open before the scan, which files each record it verifies.
        let index = Index::open(disk.clone(), dir.join("index"), config.index).await?;
        let store = Store {
            config,
            disk: disk.clone(),
            log: OnceCell::new(),
            queues: RefCell::default(),
            index,
            filings: Filings::default(),
            reput_from: Cell::new(start),
            reput_timestamp: Cell::new(cp.map_or(0, |cp| cp.logics_msg_timestamp)),
            last_checkpoint: Cell::new(cp.unwrap_or_default()),
            reputting: Cell::new(false),
            reput_wanted: Cell::new(false),
            copies_only: Cell::new(false),
            replicas: Replicas::default(),
            maintenance_waker: RefCell::new(None),
            checkpointing: Cell::new(false),
            checkpoint,
            clock,
            dispatch_listener: RefCell::new(None),
            damage: Cell::new(Damage::default()),
            opened_end: Cell::new(0),
            lost_records: Cell::new(0),
            checkpoint_failing: Cell::new(false),
            log_starts_late: Cell::new(files.min_offset() > 0),
        };
        // Without a finished checkpoint the queue files may hold anything past the restart.
        let wipe = cp.map_or(true, |cp| cp.queues_dirty);
        store.open_queues(PhysicalOffset(start), wipe).await?;
        // Before anything is filed: a queue whose entries all expired keeps the file of its
        // newest one, which tells its next offset after a restart.
        store
            .queues_follow_log(PhysicalOffset(files.min_offset()))
            .await?;
        // The scan hands over each record it verifies, in log order: filing it then reads
        // the log once, and reput resumes where the scan ended.
        let dispatch = |pos, rec: &[u8]| store.dispatch(pos, rec);
        let damaged = |start, end| store.damaged_range(start, end);
        let (seg, block) = (lc.segment_size, lc.block_size);
        let rec = recover_log(&disk, files, seg, block, dispatch, damaged).await?;
        let end = rec.end;
        store.opened_end.set(end);
        let log = CommitLog::start(disk, log_dir, lc, rec.segments, end, &rec.tail).await?;
        store.log.set(log).expect("the log starts once");
        store.index.log_recovered(PhysicalOffset(end));
        // Recovery cut the queues below `start` and dispatched the rest, which is the state
        // a finished checkpoint at `start` describes.
        store.last_checkpoint.set(Checkpoint {
            reput: PhysicalOffset(start),
            log_flushed: PhysicalOffset(end),
            queues_dirty: false,
            ..cp.unwrap_or_default()
        });
        store.reput().await?;
        Ok(store)
    }

    fn queue_dir(&self, topic: &str, queue_id: QueueId) -> PathBuf {
        self.config
            .shard_dir()
            .join("consumequeue")
            .join(topic)
            .join(queue_id.0.to_string())
    }

    /// Opens every stored ConsumeQueue, keeping entries below `keep_below`, up to
    /// [`QUEUES_OPENING_AT_ONCE`] at a time.
    async fn open_queues(&self, keep_below: PhysicalOffset, wipe: bool) -> StoreResult<()> {
        let root = self.config.shard_dir().join("consumequeue");
        let mut found = Vec::new();
        for topic in self.disk.list_subdirs(&root).await? {
            for qid in self.disk.list_subdirs(&root.join(&topic)).await? {
                let Ok(id) = qid.parse::<u32>() else { continue };
                found.push((topic.clone(), QueueId(id)));
            }
        }
        let eps = self.config.cq_entries_per_segment;
        let opening = found.iter().map(|(topic, id)| {
            let dir = self.queue_dir(topic, *id);
            ConsumeQueue::open(self.disk.clone(), dir, eps, keep_below, wipe)
        });
        let opened = try_join_bounded(opening, QUEUES_OPENING_AT_ONCE).await?;
        let mut queues = self.queues.borrow_mut();
        for ((topic, id), cq) in found.into_iter().zip(opened) {
            let q = Queue {
                next: Cell::new(cq.max_offset().0),
                cq: Rc::new(cq),
                topic: topic.as_str().into(),
                id,
            };
            queues.entry(topic).or_default().insert(id, Rc::new(q));
        }
        Ok(())
    }

    /// Every queue, taken out of the map so the caller may await between them.
    fn all_queues(&self) -> Vec<Rc<Queue>> {
        let queues = self.queues.borrow();
        queues.values().flat_map(|m| m.values().cloned()).collect()
    }

    pub(super) fn queue(&self, topic: &str, queue_id: QueueId) -> Option<Rc<Queue>> {
        self.queues.borrow().get(topic)?.get(&queue_id).cloned()
    }

    fn queue_or_create(&self, topic: &str, queue_id: QueueId) -> Rc<Queue> {
        if let Some(q) = self.queue(topic, queue_id) {
            return q;
        }
        let dir = self.queue_dir(topic, queue_id);
        let cq =
            ConsumeQueue::new_empty(self.disk.clone(), dir, self.config.cq_entries_per_segment);
        let q = Rc::new(Queue {
            cq: Rc::new(cq),
            next: Cell::new(0),
            topic: topic.into(),
            id: queue_id,
        });
        let mut queues = self.queues.borrow_mut();
        queues
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, Rc::clone(&q));
        q
    }

    /// Appends an encoded record to (topic, queue): assigns its queue offset (0 to a half or
    /// rollback record, which no queue files), physical offset and store time, patching them
    /// into the record. `Busy` means the log buffer is full; wait with [`Store::writable`]
    /// and retry.
    pub fn put(&self, topic: &str, queue_id: QueueId, record: &mut [u8]) -> StoreResult<PutResult> {
        // What reput files it by, read while the caller's record is at hand; a record that
        // does not parse is left to reput, which reports it.
        let marks = match scan_verified(record) {
            Scanned::Record(meta) => Some(Marks {
                properties: meta.filing_properties(),
                sysflag: meta.sysflag,
            }),
            _ => None,
        };
        let put = self.append(std::iter::once(record.len()), |_, rec| {
            rec.copy_from_slice(record);
            Written {
                topic,
                queue_id,
                marks,
            }
        })?;
        record::patch(record, put.queue_offset, put.offset, put.store_timestamp);
        Ok(put)
    }

    /// [`Store::put`] of the records `fields` encode to, each of the size paired with it
    /// (its [`RecordFields::encoded_len`]), encoded where they are stored: back to back in one
    /// segment, all or none, with one store time. The result is the first record's place
    /// and their total size; each record after it starts where the one before ends, and the
    /// records of one queue have consecutive queue offsets.
    pub fn put_fields(&self, records: &[(RecordFields<'_>, usize)]) -> StoreResult<PutResult> {
        self.append(records.iter().map(|(_, size)| *size), |i, rec| {
            let fields = &records[i].0;
            fields.write_sized(rec);
            Written {
                topic: fields.topic,
                queue_id: QueueId(fields.queue_id),
                marks: Some(Marks {
                    properties: filing_properties(fields.properties),
                    sysflag: fields.sysflag,
                }),
            }
        })
    }

    /// Appends records of `sizes` bytes; `write` writes record `i` into its place in the log
    /// and says what it is. Leaves reput the filing of each record whose marks it knows.
    fn append<'r>(
        &self,
        sizes: impl Iterator<Item = usize> + Clone,
        mut write: impl FnMut(usize, &mut [u8]) -> Written<'r>,
    ) -> StoreResult<PutResult> {
        if self.copies_only.get() {
            return Err(StoreError::CopiesOnly);
        }
        let now = self.clock.wall_ms();
        let mut first_queue_offset = None;
        // The last record's queue: a batch's records all share one.
        let mut last: Option<(&str, QueueId, Rc<Queue>)> = None;
        let appended = self.log().append(sizes, |i, rec, at| {
            let Written {
                topic,
                queue_id,
                marks,
            } = write(i, rec);
            // Reput files the record under the topic and queue it carries; they must be these.
            debug_assert!(crate::wire::record::RecordView::parse(rec)
                .is_ok_and(|v| v.topic() == topic && v.queue_id() == queue_id.0));
            let q = match &last {
                Some((t, id, q)) if *t == topic && *id == queue_id => Rc::clone(q),
                _ => {
                    let q = self.queue_or_create(topic, queue_id);
                    last = Some((topic, queue_id, Rc::clone(&q)));
                    q
                }
            };
            // Half and rollback records take no queue offset, no queue filing them (Java
            // writes 0).
            let consumable = marks.as_ref().map_or(true, |m| consumable(m.sysflag));
            let queue_offset = QueueOffset(if consumable { q.next.get() } else { 0 });
            if consumable {
                q.next.set(queue_offset.0 + 1);
            }
            first_queue_offset.get_or_insert(queue_offset);
            record::patch(rec, queue_offset, at, now);
            if let Some(marks) = marks {
                let props = marks.properties;
                let queue = consumable.then_some(q);
                self.filings.push(Filing {
                    pos: at.0,
                    size: rec.len() as u32,
                    store_timestamp: now,
                    keys: self.key_hashes(queue.is_some(), topic, &props),
                    queue,
                    queue_offset,
                    tags_code: tags_code_of(props.tags),
                });
            }
        })?;
        if !self.reput_wanted.replace(true) {
            if let Some(w) = self.maintenance_waker.borrow_mut().take() {
                w.wake();
            }
        }
        Ok(PutResult {
            offset: appended.offset,
            queue_offset: first_queue_offset.unwrap_or(QueueOffset(0)),
            size: appended.size,
            store_timestamp: now,
            durable: appended.durable,
        })
    }

    /// What the index files a record of `topic` with `props` under: nothing when the record
    /// is not `filed` in a queue or the store keeps no index.
    fn key_hashes(&self, filed: bool, topic: &str, props: &FilingProperties<'_>) -> KeyHashes {
        if !filed || !self.config.message_index {
            return KeyHashes::default();
        }
        KeyHashes::of(topic, props.uniq_key, props.keys)
    }

    /// The slaves copying this log (on a master): their connections report to it, and
    /// SYNC_MASTER sends wait on it.
    pub fn replicas(&self) -> &Replicas {
        &self.replicas
    }

    /// Makes this a slave's store: [`Store::put`] is refused from now on, and only
    /// [`Store::put_copied`] appends.
    pub fn take_copies_only(&self) {
        self.copies_only.set(true);
    }

    /// Appends records copied from another store's log (a master's), where they start at
    /// `offset` (see [`CommitLog::append_copied`]): this log must end exactly there. Reput
    /// files them as it files any, and the queues' next offsets follow them then (nothing
    /// but reput's filing may assign one on a store that takes only copies).
    pub fn put_copied(&self, offset: PhysicalOffset, bytes: &[u8]) -> StoreResult<Appended> {
        let appended = self.log().append_copied(offset, bytes)?;
        if !self.reput_wanted.replace(true) {
            if let Some(w) = self.maintenance_waker.borrow_mut().take() {
                w.wake();
            }
        }
        Ok(appended)
    }

    /// Makes a store that never held a record begin its log at `start`, a segment's start:
    /// a slave's copy of a master whose oldest segments are gone begins at the master's
    /// oldest record. Refused once the store holds anything.
    pub async fn start_log_at(&self, start: PhysicalOffset) -> StoreResult<()> {
        let end = self.log().end().0;
        let filed = self.all_queues().iter().any(|q| q.cq.max_offset().0 > 0);
        if end != 0 || self.reput_from.get() != 0 || filed {
            return Err(StoreError::NotContiguous {
                offset: start.0,
                end,
            });
        }
        self.log().start_at(start).await?;
        self.reput_from.set(start.0);
        self.log_starts_late.set(true);
        Ok(())
    }

    /// [`Store::put`], waiting for room while the log buffer is full instead of answering
    /// Busy: for callers that would rather queue than refuse (retries, system topics).
    pub async fn put_waiting(
        &self,
        topic: &str,
        queue_id: QueueId,
        record: &mut [u8],
    ) -> StoreResult<PutResult> {
        loop {
            match self.put(topic, queue_id, record) {
                Err(StoreError::Busy) => self.writable(record.len() as u64).await?,
                other => return other,
            }
        }
    }

    /// Waits until a put of `size` bytes would not answer Busy.
    pub async fn writable(&self, size: u64) -> StoreResult<()> {
        self.log().writable(size).await
    }

    /// Whether the bytes at `offset`, as `bytes` holds them, were read from the device (and
    /// so may have rotted there) rather than appended by this process and kept in memory.
    pub(crate) fn came_from_device(&self, offset: PhysicalOffset, bytes: &LogBytes) -> bool {
        offset.0 < self.opened_end.get() || bytes.came_from_device()
    }

    /// What damaged data the store has found and left out.
    pub fn damage(&self) -> Damage {
        self.damage.get()
    }

    fn damaged_range(&self, start: u64, end: u64) {
        tracing::error!(
            dir = %self.config.shard_dir().display(),
            start,
            end,
            bytes = end - start,
            "commit log damaged: the bytes between start and end hold no valid record and were \
             stepped over; the valid records after them are kept"
        );
        let mut damage = self.damage.get();
        damage.log_ranges += 1;
        damage.log_bytes += end - start;
        self.damage.set(damage);
        let could_hold = (end - start).div_ceil(RECORD_SIZE_MIN as u64);
        self.lost_records.set(self.lost_records.get() + could_hold);
    }

    /// A record at `pos` that is not served or not filed, and why.
    pub(crate) fn damaged_record(&self, pos: u64, why: &dyn std::fmt::Display) {
        tracing::error!(
            dir = %self.config.shard_dir().display(),
            offset = pos,
            %why,
            "damaged record left out"
        );
        let mut damage = self.damage.get();
        damage.records += 1;
        self.damage.set(damage);
    }

    /// Makes everything dispatched so far recoverable without rescanning it: syncs the log up
    /// to the reput point, flushes every ConsumeQueue, then writes the checkpoint.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if self.checkpointing.replace(true) {
            return Ok(());
        }
        let result = self.checkpoint_inner().await;
        self.checkpointing.set(false);
        result
    }

    async fn checkpoint_inner(&self) -> StoreResult<()> {
        let reput = self.reput_from.get();
        let timestamp = self.reput_timestamp.get();
        self.log().flush().await?;
        // Say first that queue files are about to change: a crash before the final write
        // leaves entries past the previous checkpoint's reput, which recovery must wipe.
        let previous = self.last_checkpoint.get();
        self.checkpoint
            .write(&Checkpoint {
                queues_dirty: true,
                ..previous
            })
            .await?;
        // Each queue's flush is a write and a sync of its own file (a new file and three
        // directory syncs the first time): many at once keep the device busy, where one at a
        // time made the first checkpoint of 10,000 new queues take seconds.
        let queues = self.all_queues();
        let flushes = queues
            .iter()
            .map(|q| q.cq.flush_below(PhysicalOffset(reput)));
        try_join_bounded(flushes, QUEUES_FLUSHING_AT_ONCE).await?;
        self.index.flush(PhysicalOffset(reput)).await?;
        let cp = Checkpoint {
            physic_msg_timestamp: timestamp,
            logics_msg_timestamp: timestamp,
            index_msg_timestamp: timestamp,
            reput: PhysicalOffset(reput),
            log_flushed: self.log().flushed(),
            queues_dirty: false,
        };
        self.checkpoint.write(&cp).await?;
        self.last_checkpoint.set(cp);
        Ok(())
    }

    /// The reput offset of the last checkpoint written: recovery may restart there, so the
    /// log must keep every segment from it on.
    pub fn checkpointed_offset(&self) -> PhysicalOffset {
        self.last_checkpoint.get().reput
    }

    /// Runs reput whenever puts arrive and a checkpoint every `checkpoint_interval`, until
    /// `closing` completes (then `Ok`) or reput fails. Parks while nothing happens, so an idle
    /// shard costs no wake-ups beyond the checkpoint timer. The shard spawns this and owns its
    /// handle; after it returns, [`Store::shutdown`] makes everything durable.
    ///
    /// A failed checkpoint (no room for a new ConsumeQueue or index file on a full disk) does
    /// not stop reput: the last good checkpoint stays valid, the new entries stay in memory,
    /// and the checkpoint is tried again at the next interval.
    pub async fn run_maintenance(
        self: Rc<Self>,
        checkpoint_interval: Duration,
        closing: impl std::future::Future<Output = ()>,
    ) -> StoreResult<()> {
        let mut closing = std::pin::pin!(closing);
        let mut last = std::time::Instant::now();
        // A checkpoint syncs files and takes milliseconds: it runs as a task of its own so
        // reput goes on meanwhile and parked pulls keep being woken (ConsumeQueues and the
        // index take entries while they flush).
        let mut checkpoint: Option<glommio::Task<StoreResult<()>>> = None;
        loop {
            self.reput_wanted.set(false);
            self.reput().await?;
            if let Some(task) = checkpoint.as_mut() {
                if let Some(result) = futures_lite::future::poll_once(task).await {
                    checkpoint = None;
                    self.checkpointed(result);
                    // The interval counts from the end: a checkpoint of many queues can take
                    // longer than the interval, and must not follow on its own heels.
                    last = std::time::Instant::now();
                }
            }
            if checkpoint.is_none() && last.elapsed() >= checkpoint_interval {
                let store = Rc::clone(&self);
                checkpoint = Some(glommio::spawn_local(
                    async move { store.checkpoint().await },
                ));
            }
            let put = std::future::poll_fn(|cx| {
                if self.reput_wanted.get() {
                    return std::task::Poll::Ready(());
                }
                *self.maintenance_waker.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::Pending
            });
            // While a checkpoint runs, look at it again after the next put or an interval.
            let due = match checkpoint {
                Some(_) => checkpoint_interval,
                None => checkpoint_interval.saturating_sub(last.elapsed()),
            };
            let woken = async {
                futures_lite::future::or(put, glommio::timer::sleep(due)).await;
                true
            };
            let stop = async {
                closing.as_mut().await;
                false
            };
            if !futures_lite::future::or(stop, woken).await {
                return match checkpoint {
                    Some(task) => task.await,
                    None => Ok(()),
                };
            }
        }
    }

    /// Notes how a background checkpoint ended, logging once when checkpoints start failing
    /// and once when they succeed again.
    fn checkpointed(&self, result: StoreResult<()>) {
        let was_failing = self.checkpoint_failing.replace(result.is_err());
        match result {
            Err(error) if !was_failing => tracing::error!(
                dir = %self.config.shard_dir().display(),
                %error,
                "checkpoint failed; reput and reads go on, and it is retried every interval"
            ),
            Ok(()) if was_failing => tracing::info!(
                dir = %self.config.shard_dir().display(),
                "checkpoint written again"
            ),
            _ => {}
        }
    }

    /// The store clock's current time, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.wall_ms()
    }

    /// The clock the store was opened with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Where the store's files live.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// Sets what reput tells of each entry it files (replacing any earlier listener).
    pub fn set_dispatch_listener(&self, listener: DispatchListener) {
        *self.dispatch_listener.borrow_mut() = Some(listener);
    }

    /// The store's settings.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Moves every ConsumeQueue's min offset to `log_min`, the log's oldest stored record.
    /// Up to [`QUEUES_FLUSHING_AT_ONCE`] at a time: a queue whose oldest entries fell below
    /// the log's start searches its entries on disk for the new one.
    pub(super) async fn queues_follow_log(&self, log_min: PhysicalOffset) -> StoreResult<()> {
        let queues = self.all_queues();
        let follows = queues.iter().map(|q| q.cq.delete_before(log_min));
        try_join_bounded(follows, QUEUES_FLUSHING_AT_ONCE).await?;
        Ok(())
    }

    /// The index of message keys.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The CommitLog, for offsets and flush state.
    pub fn log(&self) -> &CommitLog {
        // Only `open` runs before the log starts, and it files records without it.
        self.log.get().expect("Store::open starts the log")
    }

    /// The log offset below which every record is dispatched.
    pub fn reput_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.reput_from.get())
    }

    /// Stores everything, dispatches it and writes a final checkpoint.
    pub async fn close(self) -> StoreResult<()> {
        self.shutdown().await?;
        let log = self.log.into_inner().expect("Store::open starts the log");
        log.close().await
    }

    /// Dispatches and checkpoints everything appended so far, for a clean stop of a store
    /// that is shared (`Rc`); puts after it are not covered.
    pub async fn shutdown(&self) -> StoreResult<()> {
        self.reput().await?;
        self.checkpoint().await
    }
}

#[cfg(test)]
mod tests {
    use super::names_a_directory;

    #[test]
    fn only_plain_names_become_queue_directories() {
        for name in ["TopicA", "%RETRY%g", "%DLQ%g", "a|b", "T-1_2"] {
            assert!(names_a_directory(name), "{name}");
        }
        for name in ["", ".", "..", "../x", "a/b", "a\0b"] {
            assert!(!names_a_directory(name), "{name:?}");
        }
    }
}
