//! The CommitLog's in-memory tail: aligned blocks that appends copy into, that the writer hands
//! to O_DIRECT writes, and that stay behind as a bounded cache of the newest bytes.
//!
//! Blocks are `block_size` bytes, aligned to `block_size` in the log (segments are a multiple
//! of it, so a block never crosses a segment). The deque holds blocks in log order; only the
//! last may still receive bytes. Invariants, asserted: `written <= end`; every byte at or past
//! `written` is in a block (unwritten bytes are never evicted); a block shared with a reader or
//! an in-flight write is never mutated (appending copies it first).

use std::collections::VecDeque;
use std::ops::Deref;
use std::rc::Rc;

use glommio::io::DmaBuffer;

use super::io::{align_down, align_up, alloc_block, block_holding, ReadBuf, IO_ALIGN};

#[derive(Debug)]
struct Block {
    start: u64,
    buf: Rc<DmaBuffer>,
    len: usize,
}

/// One O_DIRECT write the writer should issue: `buf` at log offset `pos`, which makes the log
/// bytes up to `end` written once it completes.
#[derive(Debug)]
pub struct WriteJob {
    pub pos: u64,
    pub buf: Rc<DmaBuffer>,
    pub end: u64,
}

/// Bytes of the log handed to a reader: a window on a cached block (no copy), a copy when the
/// range spans blocks, or a DMA read buffer.
#[derive(Debug)]
pub enum LogBytes {
    Shared {
        buf: Rc<DmaBuffer>,
        start: usize,
        len: usize,
        /// The block was full when the window was taken: nothing is appended to it again.
        sealed: bool,
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

    /// These bytes in a form that may be kept past this turn of the shard: as they are, or a
    /// copy of a window on the open block ([`LogBytes::held_bytes`]).
    pub fn keepable(self) -> LogBytes {
        match self.held_bytes() {
            Some(_) => self,
            None => LogBytes::Owned(self.to_vec()),
        }
    }

    /// These bytes and `next`'s as one window, when `next` follows them in the same buffer:
    /// a run of records sent as one slice.
    pub fn joined(&self, next: &LogBytes) -> Option<LogBytes> {
        match (self, next) {
            (
                LogBytes::Shared {
                    buf,
                    start,
                    len,
                    sealed,
                },
                LogBytes::Shared {
                    buf: next_buf,
                    start: next_start,
                    len: next_len,
                    sealed: next_sealed,
                },
            ) if Rc::ptr_eq(buf, next_buf) && start + len == *next_start => {
                Some(LogBytes::Shared {
                    buf: Rc::clone(buf),
                    start: *start,
                    len: len + next_len,
                    // Sealed when either window was taken: the block is full since.
                    sealed: *sealed || *next_sealed,
                })
            }
            (LogBytes::Read(read), LogBytes::Read(next)) => read.joined(next).map(LogBytes::Read),
            _ => None,
        }
    }

    /// The memory that keeping these bytes past this turn of the shard (queued for a socket)
    /// keeps alive: all of the buffer they are a window on. `None` for a window on the open
    /// block of the tail, which must not be kept: the next append into a block someone holds
    /// copies the whole block first.
    pub fn held_bytes(&self) -> Option<usize> {
        match self {
            LogBytes::Shared { buf, sealed, .. } => sealed.then(|| buf.len()),
            LogBytes::Owned(v) => Some(v.len()),
            LogBytes::Read(r) => Some(r.held_bytes()),
        }
    }
}

impl Deref for LogBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            LogBytes::Shared {
                buf, start, len, ..
            } => &buf.as_bytes()[*start..*start + *len],
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
        let mut buf = alloc_block(block_size);
        buf.as_bytes_mut()[..tail.len()].copy_from_slice(tail);
        let block = Block {
            start,
            buf: Rc::new(buf),
            len: tail.len(),
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
        let (mut end, block_size) = (self.end, self.block_size);
        while !bytes.is_empty() {
            let block = self.open_block();
            let at = (end - block.start) as usize;
            let n = bytes.len().min(block_size - at);
            let buf = writable(&mut block.buf, block.len);
            buf.as_bytes_mut()[at..at + n].copy_from_slice(&bytes[..n]);
            block.len = at + n;
            self.end += n as u64;
            end = self.end;
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
        let block = self.open_block();
        let buf = writable(&mut block.buf, block.len);
        fill(&mut buf.as_bytes_mut()[at..at + len]);
        block.len = at + len;
        self.end += len as u64;
    }

    /// The block that covers `end`, starting a new one if the last is full or elsewhere.
    fn open_block(&mut self) -> &mut Block {
        let start = self.end - self.end % self.block_size as u64;
        if !matches!(self.blocks.back(), Some(b) if b.start == start) {
            let block_size = self.block_size;
            let buf = Rc::new(self.spare.pop().unwrap_or_else(|| alloc_block(block_size)));
            self.blocks.push_back(Block { start, buf, len: 0 });
        }
        self.blocks.back_mut().expect("just ensured a block")
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
        let first = self
            .blocks
            .partition_point(|b| b.start + b.len as u64 <= from);
        for (i, b) in self.blocks.iter().enumerate().skip(first) {
            if b.len == 0 {
                continue;
            }
            if jobs.len() == max || (i == last && b.len < self.block_size && !partial) {
                break;
            }
            let at = align_down(from.max(b.start) - b.start) as usize;
            let to = (align_up(b.len as u64) as usize).min(self.block_size);
            // Bytes past `len` may be a recycled block's old data: only full blocks go out as
            // they are; a partial one is copied up to `len` into zeros.
            let buf = if b.len == self.block_size && at == 0 {
                Rc::clone(&b.buf)
            } else {
                Rc::new(block_holding(&b.buf.as_bytes()[at..b.len], to - at))
            };
            jobs.push(WriteJob {
                pos: b.start + at as u64,
                buf,
                end: b.start + b.len as u64,
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
        let next = self
            .blocks
            .iter()
            .find(|b| b.start + b.len as u64 > self.written);
        self.written = match next {
            Some(b) => self.written.max(b.start),
            None => self.end,
        };
        let mut cached: usize = self.blocks.len() * self.block_size;
        while cached > self.cache_bytes_max && self.blocks.len() > 1 {
            let first = &self.blocks[0];
            if first.start + first.len as u64 > self.written {
                break;
            }
            let evicted = self.blocks.pop_front().expect("checked non-empty");
            // Recycling saves the page faults and zeroing of a fresh allocation per block.
            if let Ok(buf) = Rc::try_unwrap(evicted.buf) {
                if self.spare.len() < SPARE_BLOCKS_MAX {
                    self.spare.push(buf);
                }
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
        let first = self
            .blocks
            .partition_point(|b| b.start + b.len as u64 <= pos);
        if !self.blocks.get(first).is_some_and(|b| b.start <= pos) {
            return None;
        }
        let b = &self.blocks[first];
        if end <= b.start + b.len as u64 {
            let start = (pos - b.start) as usize;
            return Some(LogBytes::Shared {
                buf: Rc::clone(&b.buf),
                start,
                len,
                sealed: b.len == self.block_size,
            });
        }
        let mut out = Vec::with_capacity(len);
        let mut at = pos;
        for b in self.blocks.iter().skip(first) {
            if b.start > at {
                return None; // a gap: the range crosses a segment end
            }
            let from = (at - b.start) as usize;
            let take = ((end - at) as usize).min(b.len - from);
            out.extend_from_slice(&b.buf.as_bytes()[from..from + take]);
            at += take as u64;
            if at == end {
                return Some(LogBytes::Owned(out));
            }
        }
        None
    }
}

/// The block's buffer for writing, copied first if a reader or a write still shares it.
fn writable(buf: &mut Rc<DmaBuffer>, len: usize) -> &mut DmaBuffer {
    if Rc::get_mut(buf).is_none() {
        *buf = Rc::new(block_holding(&buf.as_bytes()[..len], buf.len()));
    }
    Rc::get_mut(buf).expect("sole owner after copy")
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

    #[test]
    fn reads_share_blocks_and_appends_copy_on_write() {
        let mut lb = LogBuffer::new(4096, 1 << 20, 0, &[]);
        lb.append(b"abc");
        let r = lb.read(0, 3).unwrap();
        lb.append(b"def");
        assert_eq!(&*r, b"abc");
        assert_eq!(&*lb.read(0, 6).unwrap(), b"abcdef");
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

    /// A window on a full block may be kept (it keeps the block); one on the open block may
    /// not, since the next append would copy the block.
    #[test]
    fn only_windows_on_full_blocks_may_be_kept() {
        let mut lb = LogBuffer::new(4096, 1 << 20, 0, &[]);
        lb.append(&[1; 5000]);
        assert_eq!(lb.read(0, 100).unwrap().held_bytes(), Some(4096));
        assert_eq!(lb.read(4096, 100).unwrap().held_bytes(), None);
        assert_eq!(lb.read(4000, 200).unwrap().held_bytes(), Some(200));
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
