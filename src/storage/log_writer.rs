//! The CommitLog's writer task: the only code that writes or syncs log segments. It keeps up
//! to `writes_in_flight_max` O_DIRECT writes in flight all the time, issuing the next one as
//! soon as one completes, so the device queue never drains while there are bytes to write.
//! A sync runs beside the writes and covers what was written, in log order without a gap,
//! when it started.
//!
//! Writes go out in log order. Two writes never cover the same block at once: the open
//! block's partial tail is rewritten by a later write, and two writes of one block could
//! land in either order. The partial tail goes out only when no write is in flight (an idle
//! log writes every acknowledged byte at once) or when a sync waits for it; under load, full
//! blocks keep the queue busy and the tail follows them.
//!
//! A failed write or sync stops the writer for good: the bytes after the last sync are of
//! unknown state until recovery reads them back.
//!
//! Group commit falls out of this: every SYNC append waiting when a sync starts and already
//! written is covered by that sync; the rest wait for the next, which starts as soon as this
//! one ends.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::commit_log::Shared;
use super::error::{StoreError, StoreResult};
use super::io::SegmentFile;
use super::offsets::segment_name;

type Io = Pin<Box<dyn Future<Output = StoreResult<()>>>>;

/// One write in flight.
struct Flight {
    /// The segment it writes into.
    seg: u64,
    /// The start of the block it writes into.
    block: u64,
    /// The log bytes up to here are written once it and every write before it completed.
    end: u64,
    /// `None` once it completed.
    io: Option<Io>,
}

/// A sync in flight.
struct Sync {
    /// The log bytes up to here are synced once it completes.
    target: u64,
    io: Io,
}

struct Writer {
    shared: Rc<Shared>,
    /// In log order.
    flights: VecDeque<Flight>,
    /// The end of the bytes handed to writes.
    issued: u64,
    sync: Option<Sync>,
    /// Segments with writes completed since the last sync began.
    dirty: BTreeSet<u64>,
}

pub(super) async fn run(shared: Rc<Shared>) {
    let issued = shared.state.borrow().buffer.written();
    let mut writer = Writer {
        shared: Rc::clone(&shared),
        flights: VecDeque::new(),
        issued,
        sync: None,
        dirty: BTreeSet::new(),
    };
    if let Err(e) = writer.run().await {
        let mut st = shared.state.borrow_mut();
        st.failed = Some(e);
        st.wake_all();
    }
}

impl Writer {
    async fn run(&mut self) -> StoreResult<()> {
        let interval = Duration::from_millis(self.shared.config.flush_interval_ms);
        loop {
            self.shared.work.set(false);
            // Ticks keep their own schedule: wake-ups from appends must not push the next one
            // back, or steady traffic would postpone the async sync forever.
            let now = Instant::now();
            let tick = now >= self.shared.next_tick.get();
            if tick {
                self.shared.next_tick.set(now + interval);
                self.async_sync_due();
            }
            if self.segment_missing(tick) {
                ensure_segments(&self.shared).await?;
            }
            self.issue_writes();
            self.start_sync();
            let until_tick = self.shared.next_tick.get().saturating_duration_since(now);
            let event = std::future::poll_fn(|cx| self.poll_event(cx));
            let timer = async {
                glommio::timer::sleep(until_tick).await;
                Ok(())
            };
            futures_lite::future::or(event, timer).await?;
            self.complete();
        }
    }

    /// On an interval tick under ASYNC_FLUSH: asks for a sync of everything appended when
    /// enough is unsynced, or when the last sync is long ago.
    fn async_sync_due(&self) {
        let config = &self.shared.config;
        let mut st = self.shared.state.borrow_mut();
        let end = st.buffer.end();
        if end > st.flushed {
            let enough = end - st.flushed >= config.flush_least_bytes;
            let thorough = Duration::from_millis(config.flush_thorough_interval_ms);
            if enough || st.last_sync.elapsed() >= thorough {
                st.sync_wanted = st.sync_wanted.max(end);
            }
        }
    }

    /// Whether the segment after the active one is still to be created. After "no space",
    /// creation is retried once per interval: retention may have freed some.
    fn segment_missing(&self, tick: bool) -> bool {
        let st = self.shared.state.borrow();
        let next = self.shared.segment_start(st.buffer.end()) + self.shared.config.segment_size;
        !st.segments.contains_key(&next) && (!st.disk_full || tick)
    }

    /// Issues writes for appended bytes while fewer than the most are in flight.
    fn issue_writes(&mut self) {
        let in_flight = self.flights.iter().filter(|f| f.io.is_some()).count();
        let room = self.shared.config.writes_in_flight_max - in_flight;
        if room == 0 {
            return;
        }
        let block_size = self.shared.config.block_size as u64;
        let st = self.shared.state.borrow();
        let partial = self.flights.is_empty() || st.sync_wanted > self.issued;
        for job in st.buffer.take_writes(self.issued, partial, room) {
            let block = job.pos - job.pos % block_size;
            let busy = self.flights.back();
            if busy.is_some_and(|f| f.io.is_some() && f.block == block) {
                break; // the block's earlier write is still in flight
            }
            let seg = self.shared.segment_start(job.pos);
            let file = st.segments.get(&seg).cloned();
            let file = file.expect("appends only target existing segments");
            let (buf, pos) = (job.buf, job.pos - seg);
            self.flights.push_back(Flight {
                seg,
                block,
                end: job.end,
                io: Some(Box::pin(async move { file.write_at(buf, pos).await })),
            });
            self.issued = job.end;
        }
    }

    /// Starts a sync of what is written if one is wanted and none is running.
    fn start_sync(&mut self) {
        let st = self.shared.state.borrow();
        let target = st.buffer.written();
        if self.sync.is_some() || st.sync_wanted <= st.flushed || target <= st.flushed {
            return;
        }
        // Every write below `target` completed before now and marked its segment dirty
        // then: this sync covers it, or an earlier one that began after it completed did.
        let files: Vec<SegmentFile> = std::mem::take(&mut self.dirty)
            .iter()
            .filter_map(|s| st.segments.get(s).cloned())
            .collect();
        let io = Box::pin(async move {
            for file in files {
                file.fdatasync().await?;
            }
            Ok(())
        });
        self.sync = Some(Sync { target, io });
    }

    /// Polls every write and the sync in flight. Ready when one of them completed (with the
    /// first failure, if any), or when appends brought work to an idle writer.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<StoreResult<()>> {
        let mut ready = false;
        for f in &mut self.flights {
            if let Some(io) = &mut f.io {
                if let Poll::Ready(result) = io.as_mut().poll(cx) {
                    result?;
                    f.io = None;
                    self.dirty.insert(f.seg);
                    ready = true;
                }
            }
        }
        if let Some(sync) = &mut self.sync {
            if let Poll::Ready(result) = sync.io.as_mut().poll(cx) {
                result?;
                let mut st = self.shared.state.borrow_mut();
                st.flushed = st.flushed.max(sync.target);
                st.last_sync = Instant::now();
                self.sync = None;
                ready = true;
            }
        }
        if ready {
            return Poll::Ready(Ok(()));
        }
        // With writes in flight, their completions drive the writer: waking it for every
        // append as well would cost more than the appends. An idle writer waits for appends.
        if self.flights.is_empty() {
            if self.shared.work.get() {
                return Poll::Ready(Ok(()));
            }
            *self.shared.writer_waker.borrow_mut() = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Moves `written` over the writes completed in log order and wakes whoever waits for
    /// the writer's progress.
    fn complete(&mut self) {
        let mut written = None;
        while self.flights.front().is_some_and(|f| f.io.is_none()) {
            written = self.flights.pop_front().map(|f| f.end);
        }
        let mut st = self.shared.state.borrow_mut();
        if let Some(end) = written {
            st.buffer.mark_written(end);
        }
        st.check_invariants();
        st.wake_all();
    }
}

/// Creates the segment the log end is in and the one after it, so a roll never waits for a
/// file. No space is not a writer failure: it makes appends that need the segment answer
/// DiskFull until space returns.
pub(super) async fn ensure_segments(shared: &Shared) -> StoreResult<()> {
    let active = shared.segment_start(shared.state.borrow().buffer.end());
    for start in [active, active + shared.config.segment_size] {
        if shared.state.borrow().segments.contains_key(&start) {
            continue;
        }
        let path = shared.dir.join(segment_name(start));
        let created = async {
            let file = shared.disk.open(&path, true).await?;
            file.pre_allocate(shared.config.segment_size).await?;
            Ok::<_, StoreError>(file)
        };
        match created.await {
            Ok(file) => {
                // A synced record in a segment whose name is lost would be lost with it.
                shared.disk.sync_dir(&shared.dir).await?;
                let end = shared.state.borrow().buffer.end();
                if start < shared.segment_start(end) {
                    // The log moved past it meanwhile (a copy that starts later,
                    // `CommitLog::start_at`): nothing will ever be written there.
                    shared.disk.remove(&path).await?;
                    continue;
                }
                let mut st = shared.state.borrow_mut();
                st.segments.insert(start, file);
                if std::mem::replace(&mut st.disk_full, false) {
                    tracing::info!(dir = %shared.dir.display(), "disk space is back: appends accepted again");
                }
            }
            Err(StoreError::DiskFull) => {
                // A half-created file would look like a segment at the next start; drop it.
                let _ = shared.disk.remove(&path).await;
                if !std::mem::replace(&mut shared.state.borrow_mut().disk_full, true) {
                    tracing::error!(
                        dir = %shared.dir.display(),
                        segment_bytes = shared.config.segment_size,
                        "disk full: no room for the next CommitLog segment; appends are refused \
                         until space returns, reads are still served"
                    );
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
