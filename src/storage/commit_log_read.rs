//! Reads of several ranges at once ([`CommitLog::read_many`], a pull's records): planned
//! from the tail in memory, shared read-cache blocks and merged DMA reads, all in flight at
//! once.

use std::rc::Rc;

use super::{CommitLog, LogState};
use crate::storage::error::{StoreError, StoreResult};
use crate::storage::io::{join_all, ReadBuf, SegmentFile};
use crate::storage::log_buffer::LogBytes;
use crate::storage::offsets::PhysicalOffset;
use crate::storage::read_cache::Slot;

/// Largest span one merged disk read covers.
const MERGED_READ_MAX: u64 = 1 << 20;
/// Most bytes nobody asked for that a merged read takes in to save a read: the records of
/// other queues between two records of the queue being pulled.
const MERGE_GAP_MAX: u64 = 64 << 10;
/// Blocks read ahead of a block a pull had to read from disk: enough to keep the disk busy
/// (fio needs about four 1 MiB reads in flight here) while readers take the block they have.
const READ_AHEAD_BLOCKS: u64 = 4;

impl CommitLog {
    /// Reads several ranges, in increasing offset order (a queue's records). Ranges in memory
    /// come from the tail. On disk, a block that holds two or more of the ranges, or is
    /// already cached, is read whole into the read cache (with the next blocks read
    /// ahead), so readers of neighbouring queues share it; other ranges within
    /// `MERGE_GAP_MAX` of each other share one DMA read of at most `MERGED_READ_MAX`
    /// bytes. Every read is in flight at once. Fails as [`CommitLog::read`] fails for any of
    /// the ranges.
    pub async fn read_many(
        &self,
        ranges: &[(PhysicalOffset, usize)],
    ) -> StoreResult<Vec<LogBytes>> {
        let plan = self.plan_reads(ranges);
        let reads = self.run_reads(ranges, &plan).await;
        plan.assemble(ranges, reads)
    }

    /// Decides where each range of [`CommitLog::read_many`] comes from, in one look at the
    /// log's state, and starts the read-ahead after the last block a range needed from disk.
    fn plan_reads(&self, ranges: &[(PhysicalOffset, usize)]) -> ReadPlan {
        let mut plan = ReadPlan {
            sources: Vec::with_capacity(ranges.len()),
            spans: Vec::new(),
        };
        let st = self.shared.state.borrow();
        // Everything below this is on disk and nowhere else (see `read`).
        let disk_end = st.buffer.first_cached().min(st.buffer.written());
        let mut last_read: Option<u64> = None;
        for (i, &(offset, size)) in ranges.iter().enumerate() {
            let (start, end) = (offset.0, offset.0.saturating_add(size as u64));
            if let Some(bytes) = st.buffer.read(start, size) {
                plan.sources.push(Source::Memory(bytes));
                continue;
            }
            let seg = self.shared.segment_start(start);
            let file = st
                .segments
                .get(&seg)
                .filter(|_| end <= disk_end && end <= seg + self.shared.config.segment_size);
            let Some(file) = file else {
                plan.sources.push(Source::Alone);
                continue;
            };
            if let Some(hit) = self.shared_block(ranges, i, file, seg, disk_end) {
                plan.sources
                    .push(Source::Block(hit.slot, (start - hit.first) as usize));
                if hit.from_disk {
                    last_read = Some(hit.first);
                }
                continue;
            }
            plan.push_span(file, seg, start, end);
        }
        if let Some(first) = last_read {
            self.read_ahead(&st, first, disk_end);
        }
        plan
    }

    /// The sealed block holding all of `[start, end)`, if there is one.
    fn sealed_block(&self, start: u64, end: u64, disk_end: u64) -> Option<u64> {
        let block = self.shared.config.block_size as u64;
        let first = start - start % block;
        (end <= first + block && first + block <= disk_end).then_some(first)
    }

    /// The [`ReadCache`] slot for the block holding all of `ranges[i]`, when a whole-block
    /// read pays: the block is cached already, or a neighbouring range lies in it too.
    fn shared_block(
        &self,
        ranges: &[(PhysicalOffset, usize)],
        i: usize,
        file: &SegmentFile,
        seg: u64,
        disk_end: u64,
    ) -> Option<BlockHit> {
        let sealed = |(offset, size): &(PhysicalOffset, usize)| {
            self.sealed_block(offset.0, offset.0.saturating_add(*size as u64), disk_end)
        };
        let first = sealed(&ranges[i])?;
        let in_block = |range: &(PhysicalOffset, usize)| sealed(range) == Some(first);
        let neighbours =
            i > 0 && in_block(&ranges[i - 1]) || ranges.get(i + 1).is_some_and(in_block);
        let cached = self.read_cache.has(first);
        if !cached && !neighbours {
            return None;
        }
        let slot = self.read_cache.load(first, file, first - seg)?;
        Some(BlockHit {
            first,
            slot,
            from_disk: !cached,
        })
    }

    /// A reader that needed the block at `first` from disk will want the next ones: starts
    /// loading them into the [`ReadCache`], up to the end of the segment or of the disk.
    fn read_ahead(&self, st: &LogState, first: u64, disk_end: u64) {
        let block = self.shared.config.block_size as u64;
        let seg = self.shared.segment_start(first);
        let seg_end = seg + self.shared.config.segment_size;
        let Some(file) = st.segments.get(&seg) else {
            return;
        };
        for k in 1..=READ_AHEAD_BLOCKS {
            let next = first + k * block;
            if next + block > seg_end.min(disk_end) {
                break;
            }
            self.read_cache.load(next, file, next - seg);
        }
    }

    /// Issues every read `plan` needs at once and waits for all of them.
    async fn run_reads(&self, ranges: &[(PhysicalOffset, usize)], plan: &ReadPlan) -> Reads {
        let span_reads = plan
            .spans
            .iter()
            .map(|s| s.file.read_at(s.start - s.seg, (s.end - s.start) as usize));
        let alone_reads = ranges
            .iter()
            .zip(&plan.sources)
            .filter(|(_, from)| matches!(from, Source::Alone))
            .map(|(&(offset, size), _)| self.read(offset, size));
        let block_reads = ranges
            .iter()
            .zip(&plan.sources)
            .filter_map(|(&(_, size), from)| match from {
                Source::Block(slot, at) => Some(slot.range(*at, size)),
                _ => None,
            });
        let ((spans, alone), blocks) = futures_lite::future::zip(
            futures_lite::future::zip(
                join_all(span_reads.collect()),
                join_all(alone_reads.collect()),
            ),
            join_all(block_reads.collect()),
        )
        .await;
        Reads {
            spans,
            alone,
            blocks,
        }
    }
}

/// Where one range of [`CommitLog::read_many`] comes from.
enum Source {
    /// The in-memory tail holds it.
    Memory(LogBytes),
    /// A block of the [`ReadCache`], from this position in it.
    Block(Rc<Slot>, usize),
    /// The merged disk read with this index in [`ReadPlan::spans`].
    Span(usize),
    /// A read of its own through [`CommitLog::read`], which also says why it fails.
    Alone,
}

/// One disk read covering neighbouring ranges of a segment.
struct Span {
    file: SegmentFile,
    seg: u64,
    start: u64,
    end: u64,
}

/// A range's block in the [`ReadCache`].
struct BlockHit {
    first: u64,
    slot: Rc<Slot>,
    /// The block was not cached, so this read started loading it.
    from_disk: bool,
}

/// What [`CommitLog::read_many`] reads from where, one source per range.
struct ReadPlan {
    sources: Vec<Source>,
    spans: Vec<Span>,
}

/// The outcomes of a plan's reads, in the order the plan lists them.
struct Reads {
    spans: Vec<StoreResult<ReadBuf>>,
    alone: Vec<StoreResult<LogBytes>>,
    blocks: Vec<StoreResult<ReadBuf>>,
}

impl ReadPlan {
    /// Reads `[start, end)` from disk, in the last span when it is close enough behind it
    /// in the same segment and the span stays within [`MERGED_READ_MAX`].
    fn push_span(&mut self, file: &SegmentFile, seg: u64, start: u64, end: u64) {
        match self.spans.last_mut() {
            Some(span)
                if span.seg == seg
                    && start >= span.end
                    && start - span.end <= MERGE_GAP_MAX
                    && end - span.start <= MERGED_READ_MAX =>
            {
                span.end = end;
            }
            _ => self.spans.push(Span {
                file: file.clone(),
                seg,
                start,
                end,
            }),
        }
        self.sources.push(Source::Span(self.spans.len() - 1));
    }

    /// Hands each range its bytes from what `reads` brought in; fails on the first failed
    /// or short read.
    fn assemble(
        self,
        ranges: &[(PhysicalOffset, usize)],
        reads: Reads,
    ) -> StoreResult<Vec<LogBytes>> {
        let ReadPlan { sources, spans } = self;
        let span_bufs: Vec<ReadBuf> = reads
            .spans
            .into_iter()
            .zip(&spans)
            .map(|(buf, span)| {
                let buf = buf?;
                let len = (span.end - span.start) as usize;
                if buf.len() < len {
                    return Err(StoreError::OutOfRange {
                        offset: span.start,
                        size: len,
                    });
                }
                Ok(buf)
            })
            .collect::<StoreResult<_>>()?;
        let (mut alone, mut blocks) = (reads.alone.into_iter(), reads.blocks.into_iter());
        ranges
            .iter()
            .zip(sources)
            .map(|(&(offset, size), from)| match from {
                Source::Memory(bytes) => Ok(bytes),
                Source::Block(..) => blocks
                    .next()
                    .expect("one block read per range read from a block")
                    .map(LogBytes::Read),
                Source::Span(i) => {
                    let at = (offset.0 - spans[i].start) as usize;
                    Ok(LogBytes::Read(span_bufs[i].slice(at, size)))
                }
                Source::Alone => alone.next().expect("one read per range read alone"),
            })
            .collect()
    }
}
