//! The CommitLog's in-memory tail: aligned blocks that appends copy into, that the writer hands
//! to O_DIRECT writes, and that stay behind as a bounded cache of the newest bytes.
//!
//! Blocks are `block_size` bytes, aligned to `block_size` in the log (segments are a multiple
//! of it, so a block never crosses a segment). The deque holds blocks in log order; only the
//! last may still receive bytes. Invariants, asserted: `written <= end`; every byte at or past
//! `written` is in a block (unwritten bytes are never evicted). Blocks only grow
//! ([`TailBlock`]): readers keep windows on them while appends write past the windows, and a
//! write takes a block's buffer as it is only once the block is full.

use std::collections::VecDeque;
use std::ops::Deref;
use std::rc::Rc;

use glommio::io::DmaBuffer;

use super::io::{align_down, align_up, alloc_block, block_holding, ReadBuf, IO_ALIGN};
use super::tail_block::TailBlock;

#[derive(Debug)]
struct Block {
    start: u64,
    data: Rc<TailBlock>,
}

impl Block {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn end(&self) -> u64 {
        self.start + self.len() as u64
    }
}

/// One O_DIRECT write the writer should issue: `buf` at log offset `pos`, which makes the log
/// bytes up to `end` written once it completes.
#[derive(Debug)]
pub struct WriteJob {
    pub pos: u64,
    pub buf: Rc<DmaBuffer>,
    pub end: u64,
}

/// Bytes of the log handed to a reader: a window on a tail block (no copy), a copy when the
/// range spans blocks, or a DMA read buffer.
#[derive(Debug)]
pub enum LogBytes {
    Shared {
        block: Rc<TailBlock>,
        start: usize,
        len: usize,
    },
    Owned(Vec<u8>),
    Read(ReadBuf),
}

impl LogBytes {
    /// Whether these bytes may have come from the device: everything but a window on the
    /// in-memory tail, which holds what this process appended. (A copy across two tail
    /// blocks counts too: checking it costs a CRC, and keeps the rule one line.)
    pub fn came_from_device(&self) -> bool {
        !matches!(self, LogBytes::Shared { .. })
    }

    /// These bytes and `next`'s as one window, when `next` follows them in the same buffer:
    /// a run of records sent as one slice.
    pub fn joined(&self, next: &LogBytes) -> Option<LogBytes> {
        match (self, next) {
            (
                LogBytes::Shared { block, start, len },
                LogBytes::Shared {
                    block: next_block,
                    start: next_start,
                    len: next_len,
                },
            ) if Rc::ptr_eq(block, next_block) && start + len == *next_start => {
                Some(LogBytes::Shared {
                    block: Rc::clone(block),
                    start: *start,
                    len: len + next_len,
                })
            }
            (LogBytes::Read(read), LogBytes::Read(next)) => read.joined(next).map(LogBytes::Read),
            _ => None,
        }
    }

    /// The first `len` of these bytes, without copying them.
    pub fn prefix(self, len: usize) -> LogBytes {
        assert!(
            len <= self.len(),
            "a prefix of {len} of {} bytes",
            self.len()
        );
        match self {
            LogBytes::Shared { block, start, .. } => LogBytes::Shared { block, start, len },
            LogBytes::Owned(mut v) => {
                v.truncate(len);
                LogBytes::Owned(v)
            }
            LogBytes::Read(r) => LogBytes::Read(r.slice(0, len)),
        }
    }

    /// The memory that keeping these bytes (queued for a socket) keeps alive: all of the
    /// buffer they are a window on.
    pub fn held_bytes(&self) -> usize {
        match self {
            LogBytes::Shared { block, .. } => block.capacity(),
            LogBytes::Owned(v) => v.len(),
            LogBytes::Read(r) => r.held_bytes(),
        }
    }
}

impl Deref for LogBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            LogBytes::Shared { block, start, len } => block.bytes(*start, start + len),
            LogBytes::Owned(v) => v,
            LogBytes::Read(r) => r,
        }
    }
}

/// The block deque with its written mark.
#[derive(Debug)]
pub struct LogBuffer {
    block_size: usize,
    cache_bytes_max: usize,
    blocks: VecDeque<Block>,
    written: u64,
    end: u64,
    /// Evicted blocks kept for reuse; their bytes are stale, never read past a block's `len`.
    spare: Vec<DmaBuffer>,
}

/// Evicted blocks kept for reuse.
const SPARE_BLOCKS_MAX: usize = 8;

impl LogBuffer {
    /// A buffer whose log ends at `end`, all of it already on disk; `tail` holds the log bytes
    /// from the start of `end`'s block up to `end`, so the first write can rewrite that block.
    pub fn new(block_size: usize, cache_bytes_max: usize, end: u64, tail: &[u8]) -> Self {
        assert!(block_size % IO_ALIGN == 0 && block_size > 0);
        let start = end - end % block_size as u64;
        assert_eq!(
            tail.len() as u64,
            end - start,
            "tail must cover its block up to the end"
        );
        let block = Block {
            start,
            data: Rc::new(TailBlock::new(alloc_block(block_size), tail)),
        };
        LogBuffer {
            block_size,
            cache_bytes_max,
            blocks: VecDeque::from([block]),
            written: end,
            end,
            spare: Vec::new(),
        }
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes appended but not yet written to disk.
    pub fn unwritten(&self) -> u64 {
        self.end - self.written
    }

    /// Moves the end to `pos` (a new segment) without bytes in between.
    pub fn skip_to(&mut self, pos: u64) {
        assert!(pos >= self.end);
        if self.written == self.end {
            self.written = pos;
        }
        self.end = pos;
    }

    /// Copies `bytes` to the end of the log.
    pub fn append(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            self.ensure_open_block();
            let block = self.open_block();
            let n = bytes.len().min(self.block_size - block.len());
            block
                .data
                .append_with(n, |room| room.copy_from_slice(&bytes[..n]));
            self.end += n as u64;
            bytes = &bytes[n..];
        }
    }

    /// Appends `len` bytes that `fill` writes in place: straight into the open block when they
    /// fit in it (a record is encoded where it is stored), through a buffer of their own when
    /// they cross a block's end.
    pub fn append_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        let at = (self.end % self.block_size as u64) as usize;
        if at + len > self.block_size {
            let mut bytes = vec![0; len];
            fill(&mut bytes);
            self.append(&bytes);
            return;
        }
        self.ensure_open_block();
        self.open_block().data.append_with(len, fill);
        self.end += len as u64;
    }

    /// The block that covers `end`, starting a new one if the last is full or elsewhere.
    fn open_block(&self) -> &Block {
        self.blocks.back().expect("the open block")
    }

    /// Makes the last block the one that covers `end`, starting a new one if the last is full
    /// or elsewhere.
    fn ensure_open_block(&mut self) {
        let start = self.end - self.end % self.block_size as u64;
        if !matches!(self.blocks.back(), Some(b) if b.start == start) {
            let block_size = self.block_size;
            let buf = self.spare.pop().unwrap_or_else(|| alloc_block(block_size));
            let data = Rc::new(TailBlock::new(buf, &[]));
            self.blocks.push_back(Block { start, data });
        }
    }

    /// Writes for the bytes from `from` (at or past `written`; bytes before it are written or
    /// being written) to the end, at most `max` of them; the open block's partial tail only
    /// with `partial`. A full block none of which was written goes out as it is (no copy);
    /// any other starts at the page holding `from` and is copied, so of the bytes written
    /// before only that page is written again.
    pub fn take_writes(&self, from: u64, partial: bool, max: usize) -> Vec<WriteJob> {
        let from = from.max(self.written);
        let mut jobs = Vec::new();
        let last = self.blocks.len().saturating_sub(1);
        let first = self.blocks.partition_point(|b| b.end() <= from);
        for (i, b) in self.blocks.iter().enumerate().skip(first) {
            let len = b.len();
            if len == 0 {
                continue;
            }
            if jobs.len() == max || (i == last && len < self.block_size && !partial) {
                break;
            }
            let at = align_down(from.max(b.start) - b.start) as usize;
            let to = (align_up(len as u64) as usize).min(self.block_size);
            // Bytes past `len` may be a recycled block's old data, and an append may write
            // them while the write is in flight: only full blocks go out as they are; a
            // partial one is copied up to `len` into zeros.
            let whole = b.data.full_buffer().filter(|_| at == 0);
            let buf =
                whole.unwrap_or_else(|| Rc::new(block_holding(b.data.bytes(at, len), to - at)));
            jobs.push(WriteJob {
                pos: b.start + at as u64,
                buf,
                end: b.end(),
            });
        }
        jobs
    }

    /// Records that the writes up to `end` completed, then drops written blocks beyond the
    /// cache bound (never the open block).
    pub fn mark_written(&mut self, end: u64) {
        assert!(end <= self.end, "written {end} past end {}", self.end);
        self.written = self.written.max(end);
        // Past the filler of a finished segment there are no bytes to write: jump the gap.
        let next = self.blocks.iter().find(|b| b.end() > self.written);
        self.written = match next {
            Some(b) => self.written.max(b.start),
            None => self.end,
        };
        let mut cached: usize = self.blocks.len() * self.block_size;
        while cached > self.cache_bytes_max && self.blocks.len() > 1 {
            let first = &self.blocks[0];
            if first.end() > self.written {
                break;
            }
            let evicted = self.blocks.pop_front().expect("checked non-empty");
            // Recycling saves the page faults and zeroing of a fresh allocation per block.
            let free = Rc::try_unwrap(evicted.data)
                .ok()
                .and_then(TailBlock::into_buffer);
            if let Some(buf) = free.filter(|_| self.spare.len() < SPARE_BLOCKS_MAX) {
                self.spare.push(buf);
            }
            cached -= self.block_size;
        }
    }

    /// The first log offset the buffer still holds.
    pub fn first_cached(&self) -> u64 {
        self.blocks.front().map_or(self.end, |b| b.start)
    }

    /// The bytes `[pos, pos + len)` if the buffer still holds all of them.
    pub fn read(&self, pos: u64, len: usize) -> Option<LogBytes> {
        let end = pos + len as u64;
        let first = self.blocks.partition_point(|b| b.end() <= pos);
        if !self.blocks.get(first).is_some_and(|b| b.start <= pos) {
            return None;
        }
        let b = &self.blocks[first];
        if end <= b.end() {
            return Some(LogBytes::Shared {
                block: Rc::clone(&b.data),
                start: (pos - b.start) as usize,
                len,
            });
        }
        let mut out = Vec::with_capacity(len);
        let mut at = pos;
        for b in self.blocks.iter().skip(first) {
            if b.start > at {
                return None; // a gap: the range crosses a segment end
            }
            let from = (at - b.start) as usize;
            let take = ((end - at) as usize).min(b.len() - from);
            out.extend_from_slice(b.data.bytes(from, from + take));
            at += take as u64;
            if at == end {
                return Some(LogBytes::Owned(out));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_fill_blocks_and_writes_cover_them_once() {
        let mut lb = LogBuffer::new(8192, 1 << 20, 0, &[]);
        lb.append(&[1; 5000]);
        assert!(
            lb.take_writes(0, false, 8).is_empty(),
            "open partial block waits"
        );
        let jobs = lb.take_writes(0, true, 8);
        assert_eq!(
            (jobs.len(), jobs[0].pos, jobs[0].buf.len(), jobs[0].end),
            (1, 0, 8192, 5000)
        );
        lb.mark_written(5000);
        lb.append(&[2; 5000]);
        let jobs = lb.take_writes(0, false, 8);
        // The first block is full now; its first page was written, so only the rest goes out.
        assert_eq!(
            (jobs.len(), jobs[0].pos, jobs[0].buf.len(), jobs[0].end),
            (1, 4096, 4096, 8192)
        );
        assert_eq!(&jobs[0].buf.as_bytes()[5000 - 4096..5001 - 4096], &[2]);
        lb.mark_written(8192);
        let jobs = lb.take_writes(0, true, 8);
        assert_eq!((jobs.len(), jobs[0].pos, jobs[0].end), (1, 8192, 10000));
    }

    /// A window on the open block is shared, not copied, and stays put while appends write
    /// past it; a range across two blocks is copied.
    #[test]
    fn reads_share_blocks_that_appends_keep_growing() {
        let mut lb = LogBuffer::new(4096, 1 << 20, 0, &[]);
        lb.append(b"abc");
        let r = lb.read(0, 3).unwrap();
        lb.append(b"def");
        assert_eq!(&*r, b"abc");
        let both = lb.read(0, 6).unwrap();
        assert_eq!(&*both, b"abcdef");
        assert_eq!(both.as_ptr(), r.as_ptr(), "the same block, no copy");
        assert_eq!(r.held_bytes(), 4096);
        lb.append(&[7; 5000]);
        assert!(matches!(lb.read(4000, 200).unwrap(), LogBytes::Owned(_)));
        assert!(lb.read(0, 20000).is_none());
    }

    /// Bytes written in place land as appended ones do, in a block or across two.
    #[test]
    fn appends_in_place_match_copied_appends() {
        let (mut copied, mut in_place) = (
            LogBuffer::new(4096, 1 << 20, 0, &[]),
            LogBuffer::new(4096, 1 << 20, 0, &[]),
        );
        for (i, len) in [100usize, 3900, 200, 5000, 4096, 1].into_iter().enumerate() {
            let bytes: Vec<u8> = (0..len).map(|b| (b + i) as u8).collect();
            copied.append(&bytes);
            in_place.append_with(len, |out| out.copy_from_slice(&bytes));
        }
        assert_eq!(in_place.end(), copied.end());
        let end = copied.end() as usize;
        for (pos, len) in [(0, 100), (50, 4000), (4000, 300), (0, end)] {
            let (a, b) = (copied.read(pos, len), in_place.read(pos, len));
            assert_eq!(a.as_deref(), b.as_deref(), "[{pos}, +{len})");
        }
    }

    /// A block someone holds a window on is not reused when evicted, and the window reads
    /// the same bytes after.
    #[test]
    fn an_evicted_block_stays_with_its_reader() {
        let mut lb = LogBuffer::new(4096, 4096, 0, &[]);
        lb.append(&[1; 4096]);
        let kept = lb.read(100, 10).unwrap();
        lb.append(&[2; 4096 * 2]);
        lb.mark_written(4096 * 3);
        assert!(lb.read(100, 10).is_none(), "evicted");
        lb.append(&[3; 4096 * 2]);
        assert_eq!(&*kept, &[1; 10]);
    }

    #[test]
    fn eviction_keeps_unwritten_and_open_blocks() {
        let mut lb = LogBuffer::new(4096, 8192, 0, &[]);
        lb.append(&[1; 4096 * 4]);
        lb.mark_written(0);
        assert!(lb.read(0, 10).is_some(), "unwritten bytes stay");
        lb.mark_written(4096 * 3);
        assert!(lb.read(0, 10).is_none(), "written bytes past the bound go");
        assert!(lb.read(4096 * 3, 10).is_some());
    }

    #[test]
    fn written_jumps_the_gap_after_a_segment_filler() {
        let mut lb = LogBuffer::new(4096, 1 << 20, 0, &[]);
        lb.append(&[1; 100]);
        lb.skip_to(16384);
        lb.append(&[2; 100]);
        assert_eq!(lb.unwritten(), 16384 + 100);
        let jobs = lb.take_writes(0, true, 8);
        assert_eq!(
            jobs.iter().map(|j| (j.pos, j.end)).collect::<Vec<_>>(),
            [(0, 100), (16384, 16484)]
        );
        lb.mark_written(100);
        assert_eq!(lb.unwritten(), 100);
    }

    #[test]
    fn restarts_from_a_recovered_partial_block() {
        let mut lb = LogBuffer::new(8192, 1 << 20, 8192 + 100, &[9; 100]);
        lb.append(&[8; 10]);
        let jobs = lb.take_writes(0, true, 8);
        assert_eq!((jobs[0].pos, jobs[0].end), (8192, 8192 + 110));
        assert_eq!(&jobs[0].buf.as_bytes()[98..102], &[9, 9, 8, 8]);
    }
}
