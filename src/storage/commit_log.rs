//! The shard's CommitLog: every record of the shard, back to back in preallocated segment files
//! named by their 20-digit start offset, in RocketMQ's record format (so a pull answer is a
//! slice of it).
//!
//! Appends are synchronous and only touch memory: the record gets the next physical offset and
//! is copied into the [`LogBuffer`]; the writer task (`log_writer`) turns blocks into
//! O_DIRECT writes, creates segments ahead of need and syncs. The append returns a [`Durable`]
//! future that resolves when the record is stored under the [`FlushPolicy`].
//!
//! Lives on one shard; the shard's task is its only writer. Invariants, asserted:
//! `flushed <= written <= end`; a record never crosses a segment end (a blank filler ends the
//! segment instead); an append never targets a segment whose file does not exist yet.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use glommio::task::JoinHandle;

use super::config::{FlushPolicy, LogConfig};
use super::error::{StoreError, StoreResult};
use super::io::{Disk, SegmentFile};
use super::log_buffer::{LogBuffer, LogBytes};
use super::offsets::PhysicalOffset;
use super::read_cache::ReadCache;
use super::record::{blank_header, BLANK_HEADER};

#[path = "commit_log_copy.rs"]
mod copy;
#[path = "commit_log_read.rs"]
mod read;

pub use copy::Copied;

/// State shared by the CommitLog handle, its writer task and pending [`Durable`] futures.
#[derive(Debug)]
pub(super) struct Shared {
    pub config: LogConfig,
    pub disk: Disk,
    pub dir: PathBuf,
    pub state: RefCell<LogState>,
    /// Set when there is work for the writer; the writer parks on it.
    pub work: Cell<bool>,
    pub writer_waker: RefCell<Option<Waker>>,
    /// When the writer's next interval tick is due.
    pub next_tick: Cell<Instant>,
    /// Readers waiting for the log to grow ([`CommitLog::wait_end_past`]).
    pub growth_waiters: RefCell<Vec<Waker>>,
}

#[derive(Debug)]
pub(super) struct LogState {
    pub buffer: LogBuffer,
    pub segments: BTreeMap<u64, SegmentFile>,
    pub flushed: u64,
    /// The end some caller waits to see synced.
    pub sync_wanted: u64,
    pub failed: Option<StoreError>,
    /// The last attempt to create a segment found no space.
    pub disk_full: bool,
    pub last_sync: Instant,
    /// Durable futures and `writable` callers waiting for the writer's progress.
    pub waiters: Vec<Waker>,
    /// Where the filler of each segment this process closed starts, by segment start: the
    /// bytes after it were never appended, so a read of the segment stops there.
    pub fillers: BTreeMap<u64, u64>,
}

impl Shared {
    pub fn wake_writer(&self) {
        self.work.set(true);
        if let Some(w) = self.writer_waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Why an append that rolls into a segment not created yet is refused: no space for
    /// it, or not yet (the writer, woken, creates it).
    pub fn no_next_segment(&self, disk_full: bool) -> StoreError {
        self.wake_writer();
        if disk_full {
            StoreError::DiskFull
        } else {
            StoreError::Busy
        }
    }

    /// Wakes the readers waiting for the log to grow.
    pub fn grew(&self) {
        if !self.growth_waiters.borrow().is_empty() {
            for waker in self.growth_waiters.take() {
                waker.wake();
            }
        }
    }

    /// Ends an append of `size` bytes at `offset` whose bytes `st` holds: what it waits for
    /// under the flush policy, and the writer and readers told.
    pub fn appended(
        shared: &Rc<Shared>,
        mut st: std::cell::RefMut<'_, LogState>,
        offset: PhysicalOffset,
        size: u32,
    ) -> Appended {
        let durable = Durable::of_end(shared, &mut st);
        drop(st);
        // An idle writer writes every append at once; a busy one takes it with the next
        // completion (see `log_writer`).
        shared.wake_writer();
        shared.grew();
        Appended {
            offset,
            size,
            durable,
        }
    }

    pub fn segment_start(&self, offset: u64) -> u64 {
        offset - offset % self.config.segment_size
    }
}

impl LogState {
    /// Ends the segment starting at `seg` with the filler at `filler_at` (already in the
    /// buffer): the log goes on at `next`, and reads of the segment stop after the filler.
    pub fn close_segment(&mut self, seg: u64, filler_at: u64, next: u64) {
        self.buffer.skip_to(next);
        self.fillers.insert(seg, filler_at);
    }

    pub fn wake_all(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }

    pub fn check_invariants(&self) {
        let (written, end) = (self.buffer.written(), self.buffer.end());
        assert!(
            self.flushed <= written && written <= end,
            "{} <= {written} <= {end}",
            self.flushed
        );
    }
}

/// Where an appended record went, and when it is stored.
#[derive(Debug)]
pub struct Appended {
    pub offset: PhysicalOffset,
    pub size: u32,
    pub durable: Durable,
}

/// Resolves when the log bytes up to some end are stored under the flush policy, or with the
/// error that stopped the writer.
#[derive(Debug)]
#[must_use = "a record is only stored once its Durable resolves"]
pub struct Durable {
    shared: Option<Rc<Shared>>,
    end: u64,
}

impl Durable {
    /// What the bytes appended up to the buffer's end wait for under the flush policy.
    fn of_end(shared: &Rc<Shared>, st: &mut LogState) -> Self {
        match shared.config.flush {
            FlushPolicy::Async => Durable::ready(),
            FlushPolicy::Sync => {
                let end = st.buffer.end();
                st.sync_wanted = st.sync_wanted.max(end);
                Durable {
                    shared: Some(Rc::clone(shared)),
                    end,
                }
            }
        }
    }

    fn ready() -> Self {
        Durable {
            shared: None,
            end: 0,
        }
    }
}

impl Future for Durable {
    type Output = StoreResult<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<StoreResult<()>> {
        let Some(shared) = &self.shared else {
            return Poll::Ready(Ok(()));
        };
        let mut st = shared.state.borrow_mut();
        if st.flushed >= self.end {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = &st.failed {
            return Poll::Ready(Err(e.clone()));
        }
        st.waiters.push(cx.waker().clone());
        Poll::Pending
    }
}

/// The shard's CommitLog. Dropping it stops the writer; call [`CommitLog::close`] to store
/// everything first.
#[derive(Debug)]
pub struct CommitLog {
    shared: Rc<Shared>,
    writer: Option<JoinHandle<()>>,
    read_cache: ReadCache,
}

impl CommitLog {
    /// Starts a log whose valid bytes end at `end` (found by recovery) over the open
    /// `segments`; `tail` holds the bytes from the start of `end`'s block to `end`.
    pub async fn start(
        disk: Disk,
        dir: PathBuf,
        config: LogConfig,
        segments: BTreeMap<u64, SegmentFile>,
        end: u64,
        tail: &[u8],
    ) -> StoreResult<CommitLog> {
        config.validate();
        let buffer = LogBuffer::new(config.block_size, config.tail_cache_bytes, end, tail);
        let state = LogState {
            buffer,
            segments,
            flushed: end,
            sync_wanted: end,
            failed: None,
            disk_full: false,
            last_sync: Instant::now(),
            waiters: Vec::new(),
            fillers: BTreeMap::new(),
        };
        let shared = Rc::new(Shared {
            config,
            disk,
            dir,
            state: RefCell::new(state),
            work: Cell::new(false),
            writer_waker: RefCell::new(None),
            next_tick: Cell::new(Instant::now()),
            growth_waiters: RefCell::default(),
        });
        super::log_writer::ensure_segments(&shared).await?;
        // Without the active segment nothing can be appended; a missing next one only
        // refuses appends once the active one is full, and reads work either way.
        let active = shared.segment_start(end);
        if !shared.state.borrow().segments.contains_key(&active) {
            return Err(StoreError::DiskFull);
        }
        let writer = glommio::spawn_local(super::log_writer::run(Rc::clone(&shared))).detach();
        let read_cache = ReadCache::new(shared.config.block_size, shared.config.read_cache_bytes);
        Ok(CommitLog {
            shared,
            writer: Some(writer),
            read_cache,
        })
    }

    /// Appends records of `sizes` bytes (each one's first 4 bytes say so) back to back in one
    /// segment, all or none: `write` writes record `i` in place into the log buffer, given
    /// its physical offset (to patch in, with anything else decided at this point), and is
    /// called only once the log has taken them all. The result covers them all: the first
    /// record's offset, their total size. A batch is stored this way, as in Java's log.
    pub fn append(
        &self,
        sizes: impl Iterator<Item = usize> + Clone,
        mut write: impl FnMut(usize, &mut [u8], PhysicalOffset),
    ) -> StoreResult<Appended> {
        let sh = &self.shared;
        let len: usize = sizes.clone().sum();
        let size = len as u64;
        let mut st = sh.state.borrow_mut();
        if let Some(e) = &st.failed {
            return Err(e.clone().min_failed());
        }
        let max = sh.config.segment_size - BLANK_HEADER as u64;
        if size > max || sizes.clone().any(|s| s < 8) {
            return Err(StoreError::RecordTooLarge {
                size: len,
                max: max as usize,
            });
        }
        let mut pos = st.buffer.end();
        let seg = sh.segment_start(pos);
        let rolls = pos + size + BLANK_HEADER as u64 > seg + sh.config.segment_size;
        let next = seg + sh.config.segment_size;
        if rolls && !st.segments.contains_key(&next) {
            let full = st.disk_full;
            drop(st);
            return Err(sh.no_next_segment(full));
        }
        let gap = if rolls { next - pos } else { 0 };
        if st.buffer.unwritten() + gap + size > sh.config.unwritten_bytes_max {
            drop(st);
            sh.wake_writer();
            return Err(StoreError::Busy);
        }
        if rolls {
            st.buffer.append(&blank_header((next - pos) as u32));
            st.close_segment(seg, pos, next);
            pos = next;
        }
        let mut at = pos;
        for (i, len) in sizes.enumerate() {
            st.buffer
                .append_with(len, |record| write(i, record, PhysicalOffset(at)));
            at += len as u64;
        }
        Ok(Shared::appended(sh, st, PhysicalOffset(pos), len as u32))
    }

    /// Whether appends totalling `size` bytes would be accepted now, with the error the
    /// first refused one would get. A caller that must store several records or none (a
    /// batch) asks first; the appends that follow without an await then all succeed as long
    /// as they fit in one segment roll.
    pub fn check_room(&self, size: u64) -> StoreResult<()> {
        let sh = &self.shared;
        let st = sh.state.borrow();
        if let Some(e) = &st.failed {
            return Err(e.clone().min_failed());
        }
        let pos = st.buffer.end();
        let next = sh.segment_start(pos) + sh.config.segment_size;
        let rolls = pos + size + BLANK_HEADER as u64 > next;
        let refused = if rolls && !st.segments.contains_key(&next) {
            Some(if st.disk_full {
                StoreError::DiskFull
            } else {
                StoreError::Busy
            })
        } else {
            let gap = if rolls { next - pos } else { 0 };
            let room = st.buffer.unwritten() + gap + size <= sh.config.unwritten_bytes_max;
            (!room).then_some(StoreError::Busy)
        };
        drop(st);
        match refused {
            Some(e) => {
                sh.wake_writer();
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Waits until an append of `size` bytes would not answer Busy (the writer caught up or
    /// created the next segment), or the log failed.
    pub async fn writable(&self, size: u64) -> StoreResult<()> {
        self.room(size, false).await
    }

    /// Waits for room for `size` bytes, and for the next segment when they roll into it
    /// (`roll`, or too large for what is left of this one).
    async fn room(&self, size: u64, roll: bool) -> StoreResult<()> {
        let sh = Rc::clone(&self.shared);
        if size > sh.config.unwritten_bytes_max {
            // It would never fit: waiting could only end in the caller's timeout.
            return Err(StoreError::Busy);
        }
        std::future::poll_fn(move |cx| {
            let mut st = sh.state.borrow_mut();
            if let Some(e) = &st.failed {
                return Poll::Ready(Err(e.clone().min_failed()));
            }
            let pos = st.buffer.end();
            let seg = sh.segment_start(pos);
            let next = seg + sh.config.segment_size;
            let rolls = roll || pos + size + BLANK_HEADER as u64 > next;
            if rolls && !st.segments.contains_key(&next) && st.disk_full {
                return Poll::Ready(Err(StoreError::DiskFull));
            }
            // Copied bytes that end with a filler are followed by the rest of their segment;
            // a record that rolls is preceded by it.
            let gap = match (rolls, roll) {
                (false, _) => 0,
                (true, false) => next - pos,
                (true, true) => (next - pos).saturating_sub(size),
            };
            let room = st.buffer.unwritten() + size + gap <= sh.config.unwritten_bytes_max;
            if room && (!rolls || st.segments.contains_key(&next)) {
                return Poll::Ready(Ok(()));
            }
            st.waiters.push(cx.waker().clone());
            drop(st);
            sh.wake_writer();
            Poll::Pending
        })
        .await
    }

    /// A future resolving once everything appended so far is written and synced, whatever
    /// the policy (shutdown, tests, an explicit flush request).
    pub fn flush(&self) -> Durable {
        let sh = &self.shared;
        let end = {
            let mut st = sh.state.borrow_mut();
            st.sync_wanted = st.buffer.end();
            st.sync_wanted
        };
        sh.wake_writer();
        Durable {
            shared: Some(Rc::clone(sh)),
            end,
        }
    }

    /// Reads `size` bytes at `offset`: from the in-memory tail if it still holds them, else
    /// with a DMA read of the segment (joined with the tail when the range runs into bytes not
    /// yet written). The range must lie inside one segment.
    pub async fn read(&self, offset: PhysicalOffset, size: usize) -> StoreResult<LogBytes> {
        let out = StoreError::OutOfRange {
            offset: offset.0,
            size,
        };
        let end = offset.0.saturating_add(size as u64);
        let (file, pos, memory) = {
            let st = self.shared.state.borrow();
            let first = st.segments.keys().next().copied().unwrap_or(0);
            let seg = self.shared.segment_start(offset.0);
            let in_seg = end <= seg + self.shared.config.segment_size;
            if offset.0 < first || end > st.buffer.end() || !in_seg {
                return Err(out);
            }
            if let Some(bytes) = st.buffer.read(offset.0, size) {
                return Ok(bytes);
            }
            // Unwritten bytes are never evicted, so everything from the first cached byte on
            // is in memory and everything before it is on disk; a range that is in neither
            // runs into the unwritten space after a segment's filler.
            let cached = st.buffer.first_cached().max(offset.0).min(end);
            if cached > st.buffer.written() {
                return Err(out);
            }
            let memory = if cached < end {
                Some(
                    st.buffer
                        .read(cached, (end - cached) as usize)
                        .ok_or(out.clone())?,
                )
            } else {
                None
            };
            let file = st.segments.get(&seg).ok_or(out.clone())?.clone();
            (file, offset.0 - seg, memory)
        };
        let disk_len = size - memory.as_ref().map_or(0, |m| m.len());
        let bytes = file.read_at(pos, disk_len).await?;
        if bytes.len() < disk_len {
            return Err(out);
        }
        Ok(match memory {
            None => LogBytes::Read(bytes),
            Some(m) => LogBytes::Owned([&bytes[..], &m[..]].concat()),
        })
    }

    /// The segment file and position holding `[offset, offset + size)` when those bytes are
    /// written to it, for a network layer that sends cold ranges straight from the file
    /// (sendfile) instead of reading them into memory; `None` for bytes still only in memory.
    pub fn file_range(&self, offset: PhysicalOffset, size: usize) -> Option<(SegmentFile, u64)> {
        let st = self.shared.state.borrow();
        let seg = self.shared.segment_start(offset.0);
        let end = offset.0.saturating_add(size as u64);
        if end > st.buffer.written() || end > seg + self.shared.config.segment_size {
            return None;
        }
        Some((st.segments.get(&seg)?.clone(), offset.0 - seg))
    }

    /// The offset the next record gets (or its segment's start, after a roll).
    pub fn end(&self) -> PhysicalOffset {
        PhysicalOffset(self.shared.state.borrow().buffer.end())
    }

    /// Everything below this offset is written (not necessarily synced).
    pub fn written(&self) -> PhysicalOffset {
        PhysicalOffset(self.shared.state.borrow().buffer.written())
    }

    /// Everything below this offset is synced.
    pub fn flushed(&self) -> PhysicalOffset {
        PhysicalOffset(self.shared.state.borrow().flushed)
    }

    /// The oldest offset still stored (the first segment's start).
    pub fn min_offset(&self) -> PhysicalOffset {
        let st = self.shared.state.borrow();
        PhysicalOffset(st.segments.keys().next().copied().unwrap_or(0))
    }

    /// The start offsets of the segment files, oldest first.
    pub fn segment_starts(&self) -> Vec<u64> {
        self.shared
            .state
            .borrow()
            .segments
            .keys()
            .copied()
            .collect()
    }

    /// Deletes the oldest segment file, which must lie wholly below the segment being written
    /// and the one after it. Readers still holding its descriptor finish their reads.
    pub async fn remove_oldest_segment(&self) -> StoreResult<u64> {
        let (start, file) = {
            let st = self.shared.state.borrow();
            let active = self.shared.segment_start(st.buffer.end());
            let (&start, file) = st
                .segments
                .iter()
                .next()
                .ok_or(StoreError::OutOfRange { offset: 0, size: 0 })?;
            assert!(start < active, "retention never deletes the active segment");
            assert!(start + self.shared.config.segment_size <= st.buffer.written());
            (start, file.clone())
        };
        self.shared.disk.remove(&file.path()).await?;
        // Otherwise a power cut could bring the deleted segment back, to be deleted again.
        self.shared.disk.sync_dir(&self.shared.dir).await?;
        let mut st = self.shared.state.borrow_mut();
        st.segments.remove(&start);
        st.fillers.remove(&start);
        drop(st);
        self.read_cache
            .forget(start, start + self.shared.config.segment_size);
        Ok(start)
    }

    /// Stores everything appended, then stops the writer.
    pub async fn close(mut self) -> StoreResult<()> {
        let result = self.flush().await;
        if let Some(w) = self.writer.take() {
            w.cancel();
        }
        result
    }
}

impl Drop for CommitLog {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            w.cancel();
        }
    }
}

impl StoreError {
    /// Appends after a write or sync failure all answer [`StoreError::Failed`]; the original
    /// error went to the callers waiting at the time.
    fn min_failed(self) -> StoreError {
        match self {
            StoreError::DiskFull => StoreError::DiskFull,
            _ => StoreError::Failed,
        }
    }
}
