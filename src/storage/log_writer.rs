//! The CommitLog's writer task: the only code that writes or syncs log segments. It runs in
//! rounds; each round creates missing segments, issues up to `writes_in_flight_max` O_DIRECT
//! writes at once, waits for all of them, then syncs if a caller or the async schedule wants
//! it. Rounds never overlap, so the partial last block, rewritten by the next round, is never
//! in flight twice. A failed write or sync stops the writer for good: the bytes after the last
//! sync are of unknown state until recovery reads them back.
//!
//! Group commit falls out of the rounds: every SYNC append waiting when a round starts is
//! covered by that round's single sync per dirty segment.

use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::commit_log::Shared;
use super::error::{StoreError, StoreResult};
use super::io::join_all;
use super::offsets::segment_name;

/// What one round does beyond writing every appended byte (the open block's tail included).
#[derive(Debug, Clone, Copy)]
struct Round {
    sync: bool,
}

pub(super) async fn run(shared: Rc<Shared>) {
    loop {
        let round = next_round(&shared).await;
        if let Err(e) = one_round(&shared, round).await {
            let mut st = shared.state.borrow_mut();
            st.failed = Some(e);
            st.wake_all();
            return;
        }
    }
}

/// Waits until there is something to do.
async fn next_round(shared: &Shared) -> Round {
    let interval = Duration::from_millis(shared.config.flush_interval_ms);
    loop {
        shared.work.set(false);
        // Ticks keep their own schedule: wake-ups from appends must not push the next one
        // back, or steady traffic would postpone the async sync forever.
        let now = Instant::now();
        if now >= shared.next_tick.get() {
            shared.next_tick.set(now + interval);
            if let Some(round) = due(shared, true) {
                return round;
            }
        }
        if let Some(round) = due(shared, false) {
            return round;
        }
        let woken = std::future::poll_fn(|cx| {
            if shared.work.get() {
                return Poll::Ready(());
            }
            *shared.writer_waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        });
        let until_tick = shared.next_tick.get().saturating_duration_since(now);
        futures_lite::future::or(woken, glommio::timer::sleep(until_tick)).await;
    }
}

/// The round to run now, if any; `tick` says the flush interval just passed.
fn due(shared: &Shared, tick: bool) -> Option<Round> {
    let st = shared.state.borrow();
    let end = st.buffer.end();
    if st.sync_wanted > st.flushed {
        return Some(Round { sync: true });
    }
    if tick && end > st.flushed {
        let enough = end - st.flushed >= shared.config.flush_least_bytes;
        let thorough = Duration::from_millis(shared.config.flush_thorough_interval_ms);
        if enough || st.last_sync.elapsed() >= thorough {
            return Some(Round { sync: true });
        }
    }
    let next = shared.segment_start(end) + shared.config.segment_size;
    // After "no space", creation is retried once per interval: retention may have freed some.
    let missing = !st.segments.contains_key(&next) && (!st.disk_full || tick);
    // Appended bytes go to the disk at once, the open block included: under ASYNC_FLUSH the
    // sync waits for the interval, but a process crash must not lose what was acknowledged.
    // Under load the rounds run back to back and each carries everything appended meanwhile.
    if st.buffer.unwritten() > 0 || missing {
        return Some(Round { sync: false });
    }
    None
}

async fn one_round(shared: &Shared, round: Round) -> StoreResult<()> {
    ensure_segments(shared).await?;
    let max = shared.config.writes_in_flight_max;
    let jobs = shared.state.borrow().buffer.take_writes(true, max);
    let mut writes = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let seg = shared.segment_start(job.pos);
        let file = shared.state.borrow().segments.get(&seg).cloned();
        let file = file.expect("appends only target existing segments");
        let pos = job.pos - seg;
        let buf = Rc::clone(&job.buf);
        writes.push(async move { file.write_at(buf, pos).await });
        shared.state.borrow_mut().dirty.insert(seg);
    }
    join_all(writes)
        .await
        .into_iter()
        .collect::<StoreResult<()>>()?;
    {
        let mut st = shared.state.borrow_mut();
        if let Some(last) = jobs.last() {
            st.buffer.mark_written(last.end);
        }
        st.check_invariants();
    }
    if round.sync {
        sync(shared).await?;
    }
    shared.state.borrow_mut().wake_all();
    Ok(())
}

/// Syncs every dirty segment, then moves `flushed` to what was written before the sync began.
async fn sync(shared: &Shared) -> StoreResult<()> {
    let (target, dirty) = {
        let mut st = shared.state.borrow_mut();
        let dirty = std::mem::take(&mut st.dirty);
        let files: Vec<_> = dirty
            .iter()
            .filter_map(|s| st.segments.get(s).cloned())
            .collect();
        (st.buffer.written(), files)
    };
    for file in dirty {
        file.fdatasync().await?;
    }
    let mut st = shared.state.borrow_mut();
    st.flushed = st.flushed.max(target);
    st.last_sync = Instant::now();
    st.check_invariants();
    Ok(())
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
                let mut st = shared.state.borrow_mut();
                st.segments.insert(start, file);
                st.disk_full = false;
            }
            Err(StoreError::DiskFull) => {
                // A half-created file would look like a segment at the next start; drop it.
                let _ = shared.disk.remove(&path).await;
                shared.state.borrow_mut().disk_full = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
