//! Copies of a log (docs/storage.md "Copies of a log"): reading whole records for a
//! replica ([`CommitLog::read_copy`]) and taking another log's records at the same offsets
//! ([`CommitLog::append_copied`]).

use std::rc::Rc;
use std::task::Poll;

use super::{Appended, CommitLog, Shared};
use crate::storage::error::{StoreError, StoreResult};
use crate::storage::log_buffer::{LogBuffer, LogBytes};
use crate::storage::offsets::PhysicalOffset;
use crate::storage::record::{self, Scanned, BLANK_HEADER};

impl CommitLog {
    /// Appends `bytes` copied from another log (a master's), where they start at `offset`:
    /// the log must end exactly there, and the bytes must be whole records of one segment,
    /// each sound (structure and body CRC) and carrying its own position, possibly ended by
    /// the segment's filler, after which the log continues in the next segment as the
    /// other's does. So a copy is byte for byte the other log, at the same offsets.
    pub fn append_copied(&self, offset: PhysicalOffset, bytes: &[u8]) -> StoreResult<Appended> {
        let sh = &self.shared;
        let mut st = sh.state.borrow_mut();
        if let Some(e) = &st.failed {
            return Err(e.clone().min_failed());
        }
        let end = st.buffer.end();
        if offset.0 != end {
            return Err(StoreError::NotContiguous {
                offset: offset.0,
                end,
            });
        }
        let next = sh.segment_start(end) + sh.config.segment_size;
        let filler = check_copied(end, next, bytes)?;
        if filler && !st.segments.contains_key(&next) {
            let full = st.disk_full;
            drop(st);
            return Err(sh.no_next_segment(full));
        }
        let span = if filler {
            next - end
        } else {
            bytes.len() as u64
        };
        if st.buffer.unwritten() + span > sh.config.unwritten_bytes_max {
            drop(st);
            sh.wake_writer();
            return Err(StoreError::Busy);
        }
        st.buffer.append(bytes);
        if filler {
            let filler_at = st.buffer.end() - BLANK_HEADER as u64;
            st.close_segment(next - sh.config.segment_size, filler_at, next);
        }
        Ok(Shared::appended(sh, st, offset, bytes.len() as u32))
    }

    /// Moves a log that never held a record to begin at `start`, a segment's start: a copy
    /// of a log whose older segments are gone begins where the other's oldest does. The
    /// segment files below `start` (created ahead, empty) are deleted, and the one `start`
    /// opens and the next are created before this returns, as at a start: an append never
    /// targets a segment whose file does not exist, and the log's oldest offset is `start`
    /// from here on.
    pub async fn start_at(&self, start: PhysicalOffset) -> StoreResult<()> {
        let sh = &self.shared;
        let doomed: Vec<_> = {
            let mut st = sh.state.borrow_mut();
            let end = st.buffer.end();
            if end != 0 || start.0 % sh.config.segment_size != 0 {
                return Err(StoreError::NotContiguous {
                    offset: start.0,
                    end,
                });
            }
            let (block, tail) = (sh.config.block_size, sh.config.tail_cache_bytes);
            st.buffer = LogBuffer::new(block, tail, start.0, &[]);
            (st.flushed, st.sync_wanted) = (start.0, start.0);
            let below: Vec<u64> = st.segments.range(..start.0).map(|(&k, _)| k).collect();
            below.iter().filter_map(|k| st.segments.remove(k)).collect()
        };
        for file in doomed {
            sh.disk.remove(&file.path()).await?;
        }
        sh.disk.sync_dir(&sh.dir).await?;
        crate::storage::log_writer::ensure_segments(sh).await?;
        if !sh.state.borrow().segments.contains_key(&start.0) {
            return Err(StoreError::DiskFull);
        }
        Ok(())
    }

    /// Whole records from `offset` (a record's start, or a segment's), at most `max` bytes
    /// of them unless the first alone is larger, up to the segment's filler (included) or
    /// the log's end: what [`CommitLog::append_copied`] takes on another log. Empty at the
    /// end of the log. From the tail in memory, else from disk, as any read; the bytes may be
    /// kept while they are sent (a window on a tail block stays put as the log grows).
    pub async fn read_copy(&self, offset: PhysicalOffset, max: usize) -> StoreResult<Copied> {
        let (data_end, log_end) = {
            let st = self.shared.state.borrow();
            let seg = self.shared.segment_start(offset.0);
            let filler_end = st.fillers.get(&seg).map(|at| at + BLANK_HEADER as u64);
            let seg_end = filler_end.unwrap_or(seg + self.shared.config.segment_size);
            (seg_end.min(st.buffer.end()), st.buffer.end())
        };
        let available = data_end.saturating_sub(offset.0) as usize;
        if available == 0 {
            return Ok(Copied {
                bytes: LogBytes::Owned(Vec::new()),
                next: offset,
            });
        }
        // At least a header's worth, so that a record larger than `max` tells its size.
        let bytes = self
            .read(offset, available.min(max.max(BLANK_HEADER)))
            .await?;
        if data_end == log_end && bytes.len() == available {
            // Up to the log's end: appends leave it after a whole record (a replica that
            // keeps up reads here, so it costs no second look at each record).
            let next = PhysicalOffset(data_end);
            return Ok(Copied { bytes, next });
        }
        let (len, filler) = whole_records(&bytes);
        let bytes = match len {
            0 => {
                // One record larger than `max`: read it whole.
                let size = record::message_size(&bytes)
                    .filter(|&size| size <= available)
                    .ok_or(StoreError::Corrupt {
                        what: "commit log",
                        detail: format!("no record at offset {}", offset.0),
                    })?;
                self.read(offset, size).await?
            }
            len => bytes.prefix(len),
        };
        let next = match filler {
            true => self.shared.segment_start(offset.0) + self.shared.config.segment_size,
            false => offset.0 + bytes.len() as u64,
        };
        Ok(Copied {
            bytes,
            next: PhysicalOffset(next),
        })
    }

    /// Resolves once the log ends past `offset`.
    pub async fn wait_end_past(&self, offset: PhysicalOffset) {
        let shared = Rc::clone(&self.shared);
        std::future::poll_fn(move |cx| {
            if shared.state.borrow().buffer.end() > offset.0 {
                return Poll::Ready(());
            }
            shared.growth_waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Waits until [`CommitLog::append_copied`] of `bytes` would not answer Busy: room in
    /// the buffer and, when they end with a filler, the next segment.
    pub async fn copied_writable(&self, bytes: &[u8]) -> StoreResult<()> {
        let (end, next) = {
            let end = self.shared.state.borrow().buffer.end();
            (
                end,
                self.shared.segment_start(end) + self.shared.config.segment_size,
            )
        };
        // Bytes that do not fit here are refused without waiting; let the append say why.
        let filler = check_copied(end, next, bytes).unwrap_or(false);
        self.room(bytes.len() as u64, filler).await
    }
}

/// Checks `bytes`, copied to start at `start` of a segment ending at `next`: whole sound
/// records, each carrying its own position, and at most a filler after them that fills the
/// segment. Returns whether they end with that filler.
fn check_copied(start: u64, next: u64, bytes: &[u8]) -> StoreResult<bool> {
    let corrupt = |at: usize, detail: &str| StoreError::Corrupt {
        what: "copied records",
        detail: format!("at offset {}: {detail}", start + at as u64),
    };
    if start + bytes.len() as u64 > next {
        return Err(corrupt(0, "they run past the segment end"));
    }
    let mut at = 0;
    while at < bytes.len() {
        let pos = start + at as u64;
        match record::scan(&bytes[at..]) {
            Scanned::Record(meta) if meta.physical_offset.0 == pos => {
                at += meta.total_size as usize;
            }
            Scanned::Record(meta) => {
                let detail = format!("a record written at {}", meta.physical_offset.0);
                return Err(corrupt(at, &detail));
            }
            Scanned::Blank if at + BLANK_HEADER == bytes.len() => {
                let mut size = [0; 4];
                size.copy_from_slice(&bytes[at..at + 4]);
                let fills = u64::from(u32::from_be_bytes(size));
                return match fills == next - pos {
                    true => Ok(true),
                    false => Err(corrupt(at, "a filler that does not end the segment")),
                };
            }
            Scanned::Blank => return Err(corrupt(at, "bytes after the segment's filler")),
            Scanned::End | Scanned::Invalid => {
                return Err(corrupt(at, "not a whole, sound record"));
            }
        }
    }
    Ok(false)
}

/// Length of the whole records (and the filler that may end them) at the start of `bytes`,
/// log bytes already verified, and whether a filler ends them.
fn whole_records(bytes: &[u8]) -> (usize, bool) {
    let mut at = 0;
    while at < bytes.len() {
        match record::scan_verified(&bytes[at..]) {
            Scanned::Record(meta) => at += meta.total_size as usize,
            Scanned::Blank => return (at + BLANK_HEADER, true),
            Scanned::End | Scanned::Invalid => break,
        }
    }
    (at, false)
}

/// Records read for a copy ([`CommitLog::read_copy`]) and where the next ones start.
#[derive(Debug)]
pub struct Copied {
    pub bytes: LogBytes,
    /// Past these bytes, or the next segment's start after a filler.
    pub next: PhysicalOffset,
}
