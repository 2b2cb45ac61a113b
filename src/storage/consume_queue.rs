//! A ConsumeQueue: the index of one (topic, queueId) into the CommitLog. Entry *n* is the
//! 20-byte `physical offset (i64) | size (i32) | tags code (i64)` of the queue's *n*-th record,
//! at byte `n × 20` of the queue's byte space, split into segment files named by their first
//! byte (docs/protocol.md §4.3). Entries per segment are a multiple of 1024 so every segment starts
//! on a page and O_DIRECT writes never straddle two files.
//!
//! Built only by reput from the log, so the log stays the single truth: entries are pushed in
//! memory (dense queue offsets, increasing physical offsets, asserted) and written and synced by
//! [`ConsumeQueue::flush_below`]; the unflushed tail stays in memory, starting at the page
//! that holds the first unflushed entry so that page is rewritten whole. Recovery cuts every entry that
//! points at or past the log offset reput restarts from.
//!
//! Lives on one shard. Methods take `&self` and never hold a borrow across an await, so a
//! reader and the flusher can interleave.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

use super::error::{StoreError, StoreResult};
use super::io::{align_down, align_up, alloc_block, Disk, ReadBuf, SegmentFile, IO_ALIGN};
use super::offsets::{parse_segment_name, segment_name, PhysicalOffset, QueueOffset};

/// Bytes per entry.
pub const CQ_ENTRY_SIZE: u64 = 20;

/// Bytes of entries read from disk at once, past those a pull asks for: 1,024 entries, the
/// next 30 or so pulls of a reader catching up, instead of one small read per pull.
const CQ_READ_AHEAD: u64 = 1024 * CQ_ENTRY_SIZE;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    pub physical_offset: PhysicalOffset,
    pub size: u32,
    pub tags_code: i64,
}

impl CqEntry {
    /// The size that marks a hole: the queue offset of a record recovery could not read
    /// (docs/storage.md). A hole points at the next record of its queue, so the entries'
    /// physical offsets stay ordered and a restart's search for the stored range counts it
    /// as written; readers skip it.
    pub const HOLE_SIZE: u32 = u32::MAX;

    /// Whether this entry stands for a lost record rather than a stored one.
    pub fn is_hole(&self) -> bool {
        self.size == Self::HOLE_SIZE
    }

    fn encode(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&self.physical_offset.0.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> CqEntry {
        CqEntry {
            physical_offset: PhysicalOffset(u64::from_be_bytes(b[..8].try_into().expect("8"))),
            size: u32::from_be_bytes(b[8..12].try_into().expect("4")),
            tags_code: i64::from_be_bytes(b[12..20].try_into().expect("8")),
        }
    }
}

/// Bytes of a queue read at once while it opens: one 1024-entry block, the unit segments are
/// made of (so a read never straddles two segments), holding every entry of a small queue.
const OPEN_READ: u64 = 1024 * CQ_ENTRY_SIZE;

/// What opening a queue has read: the search for its end probes entries far apart and then
/// close together, and reads each [`OPEN_READ`] block of them once.
#[derive(Default)]
struct OpenReads {
    /// By segment start: where the segment's data ends ([`SegmentFile::data_end`]).
    data_end: HashMap<u64, u64>,
    /// By (segment start, block start in the segment).
    blocks: HashMap<(u64, u64), ReadBuf>,
}

#[derive(Debug)]
struct CqState {
    segments: BTreeMap<u64, SegmentFile>,
    /// First entry still stored (retention moves it).
    min: u64,
    /// Next entry to push.
    max: u64,
    /// Entries below are written and synced.
    flushed: u64,
    /// Byte position of `tail[0]`: the page holding entry `flushed`.
    tail_at: u64,
    tail: Vec<u8>,
    /// Physical offset of the newest entry, for the ordering assertion.
    last_physical: Option<u64>,
    /// Physical offset of the entry at `min`, when known (the queue's open read it): a
    /// retention pass whose log start is at or below it has nothing to search for.
    min_physical: Option<u64>,
    /// The last entries read from disk and those after them ([`CQ_READ_AHEAD`]), by byte
    /// position: a catch-up reader's next pulls find their entries here.
    read_ahead: Option<(u64, ReadBuf)>,
}

/// One queue's index.
#[derive(Debug)]
pub struct ConsumeQueue {
    disk: Disk,
    dir: PathBuf,
    segment_bytes: u64,
    state: RefCell<CqState>,
}

impl ConsumeQueue {
    /// Opens the queue stored in `dir` (creating nothing yet), keeping only entries that point
    /// below `keep_below`: reput re-adds the rest from the log. `wipe` when the files may hold
    /// entries past that point (see `load`).
    pub async fn open(
        disk: Disk,
        dir: PathBuf,
        entries_per_segment: u64,
        keep_below: PhysicalOffset,
        wipe: bool,
    ) -> StoreResult<ConsumeQueue> {
        assert!(entries_per_segment > 0 && entries_per_segment % 1024 == 0);
        let segment_bytes = entries_per_segment * CQ_ENTRY_SIZE;
        let mut segments = BTreeMap::new();
        for name in disk.list_dir(&dir).await? {
            if let Some(start) = parse_segment_name(&name) {
                segments.insert(start, disk.open(&dir.join(&name), false).await?);
            }
        }
        let state = CqState {
            segments,
            min: 0,
            max: 0,
            flushed: 0,
            tail_at: 0,
            tail: Vec::new(),
            last_physical: None,
            min_physical: None,
            read_ahead: None,
        };
        let cq = ConsumeQueue {
            disk,
            dir,
            segment_bytes,
            state: RefCell::new(state),
        };
        cq.load(keep_below, wipe).await?;
        Ok(cq)
    }

    /// A queue with no entries and no files yet (files appear on the first flush).
    pub fn new_empty(disk: Disk, dir: PathBuf, entries_per_segment: u64) -> ConsumeQueue {
        assert!(entries_per_segment > 0 && entries_per_segment % 1024 == 0);
        let state = CqState {
            segments: BTreeMap::new(),
            min: 0,
            max: 0,
            flushed: 0,
            tail_at: 0,
            tail: Vec::new(),
            last_physical: None,
            min_physical: None,
            read_ahead: None,
        };
        let segment_bytes = entries_per_segment * CQ_ENTRY_SIZE;
        ConsumeQueue {
            disk,
            dir,
            segment_bytes,
            state: RefCell::new(state),
        }
    }

    /// Finds the stored range: `min` from the first segment, `max` by binary search for the
    /// first entry that is empty or points at or past `keep_below`. Entries below the cut were
    /// synced before the checkpoint that named `keep_below`, and everything written after it
    /// points at or past it, so the valid entries form a prefix and the search is sound, but
    /// for damage: an invalid entry followed by a valid one is a damaged entry, not the end,
    /// and the search goes on past it (the entry stays; pulls step over it). With
    /// `wipe` (the last checkpoint did not finish, or there is none), whatever lies past the
    /// cut is wiped from disk so no later crash can bring stale entries back; the cut page is
    /// kept in the tail either way, to be rewritten by the next flush.
    ///
    /// The search reads through [`OpenReads`]: whole blocks of entries, each once, and none
    /// past where a segment's data ends, so a queue of a few entries opens with one read.
    async fn load(&self, keep_below: PhysicalOffset, wipe: bool) -> StoreResult<()> {
        let mut reads = OpenReads::default();
        let starts: Vec<u64> = self.state.borrow().segments.keys().copied().collect();
        let Some(&first) = starts.first() else {
            return Ok(());
        };
        let eps = self.segment_bytes / CQ_ENTRY_SIZE;
        let valid = |e: CqEntry| e.size > 0 && e.physical_offset < keep_below;
        let begin = self.first_written(&mut reads, first).await?;
        let mut cut_seg = first;
        for &start in starts.iter().rev() {
            let at = start / CQ_ENTRY_SIZE;
            if start == first
                || valid(self.read_opening(&mut reads, at).await?)
                || valid(self.read_opening(&mut reads, at + 1).await?)
            {
                cut_seg = start;
                break;
            }
        }
        let base = cut_seg / CQ_ENTRY_SIZE;
        let mut lo = begin.saturating_sub(base);
        loop {
            let mut hi = eps;
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if valid(self.read_opening(&mut reads, base + mid).await?) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if lo + 1 < eps && valid(self.read_opening(&mut reads, base + lo + 1).await?) {
                lo += 1;
                continue;
            }
            break;
        }
        let max = base + lo;
        let dirty_past_cut = wipe;
        let tail_at = align_down(max * CQ_ENTRY_SIZE);
        // The page's bytes: the end of the entry it starts in, then whole entries.
        let tail_from = tail_at / CQ_ENTRY_SIZE;
        let mut entries = Vec::with_capacity(((max - tail_from) * CQ_ENTRY_SIZE) as usize);
        for i in tail_from..max {
            let entry = self.read_opening(&mut reads, i).await?;
            entries.extend_from_slice(&entry.encode());
        }
        let tail = entries.split_off((tail_at - tail_from * CQ_ENTRY_SIZE) as usize);
        for s in starts.iter().copied().filter(|&s| s > cut_seg) {
            let file = self.state.borrow_mut().segments.remove(&s).expect("listed");
            self.disk.remove(&file.path()).await?;
        }
        if dirty_past_cut {
            let file = self.state.borrow().segments[&cut_seg].clone();
            if !tail.is_empty() {
                let mut page = alloc_block(IO_ALIGN);
                page.as_bytes_mut()[..tail.len()].copy_from_slice(&tail);
                file.write_at(Rc::new(page), tail_at - cut_seg).await?;
            }
            let from = align_up(max * CQ_ENTRY_SIZE) - cut_seg;
            file.punch_hole(from, align_up(self.segment_bytes) - from)
                .await?;
            file.fdatasync().await?;
        }
        let mut min = begin;
        // A queue recreated after retention starts at its first non-blank entry.
        while min < max && self.read_opening(&mut reads, min).await?.size == u32::MAX {
            min += 1;
        }
        let (first, last) = if max > min {
            let first = self.read_opening(&mut reads, min).await?.physical_offset.0;
            let last = self
                .read_opening(&mut reads, max - 1)
                .await?
                .physical_offset
                .0;
            (Some(first), Some(last))
        } else {
            (None, None)
        };
        let mut st = self.state.borrow_mut();
        (
            st.min,
            st.max,
            st.flushed,
            st.tail_at,
            st.tail,
            st.min_physical,
            st.last_physical,
        ) = (min, max, max, tail_at, tail, first, last);
        Ok(())
    }

    /// The index of the first written entry of the queue's first segment, which starts at
    /// byte `first`: its first entry, unless the queue began later ([`ConsumeQueue::start_at`]),
    /// when its entries start at a block of [`OPEN_READ`], found where the file's data
    /// starts (or block by block, where the file system cannot tell).
    async fn first_written(&self, reads: &mut OpenReads, first: u64) -> StoreResult<u64> {
        let base = first / CQ_ENTRY_SIZE;
        let unwritten = |e: CqEntry| e == CqEntry::decode(&[0; 20]);
        if !unwritten(self.read_opening(reads, base).await?) {
            return Ok(base);
        }
        let file = self.state.borrow().segments[&first].clone();
        // Reading the first entry found it.
        let data_end = reads.data_end[&first];
        let mut at = file.data_start()?;
        at -= at % OPEN_READ;
        while at < data_end {
            let index = base + at / CQ_ENTRY_SIZE;
            if !unwritten(self.read_opening(reads, index).await?) {
                return Ok(index);
            }
            at += OPEN_READ;
        }
        Ok(base)
    }

    /// The entry at `index` while the queue opens, through `reads`.
    async fn read_opening(&self, reads: &mut OpenReads, index: u64) -> StoreResult<CqEntry> {
        let at = index * CQ_ENTRY_SIZE;
        let seg = at - at % self.segment_bytes;
        let file = self.state.borrow().segments.get(&seg).cloned();
        let file = file.ok_or(StoreError::OutOfRange {
            offset: index,
            size: 1,
        })?;
        let data_end = match reads.data_end.get(&seg) {
            Some(&end) => end,
            None => {
                let end = file.data_end().await?;
                reads.data_end.insert(seg, end);
                end
            }
        };
        let in_seg = at - seg;
        // Past the data (and past the end of a file cut short) every entry reads as zeros.
        if in_seg >= data_end {
            return Ok(CqEntry::decode(&[0; 20]));
        }
        let block = in_seg - in_seg % OPEN_READ;
        let key = (seg, block);
        let bytes = match reads.blocks.entry(key) {
            Entry::Occupied(read) => read.into_mut(),
            Entry::Vacant(unread) => {
                let len = OPEN_READ.min(data_end - block) as usize;
                unread.insert(file.read_at(block, len).await?)
            }
        };
        let from = (in_seg - block) as usize;
        Ok(match bytes.get(from..from + 20) {
            Some(bytes) => CqEntry::decode(bytes),
            None => {
                // The data ends inside this entry: the rest reads as zeros.
                let mut entry = [0; 20];
                let have = bytes.get(from..).unwrap_or_default();
                entry[..have.len()].copy_from_slice(have);
                CqEntry::decode(&entry)
            }
        })
    }

    /// The first queue offset still stored.
    pub fn min_offset(&self) -> QueueOffset {
        QueueOffset(self.state.borrow().min)
    }

    /// The queue offset the next entry gets (RocketMQ's maxOffset).
    pub fn max_offset(&self) -> QueueOffset {
        QueueOffset(self.state.borrow().max)
    }

    /// Fills the offsets up to `at` (exclusive) with holes pointing at `next`, the record
    /// that follows them: their records were lost in a damaged range of the log.
    pub fn push_holes(&self, at: QueueOffset, next: PhysicalOffset) {
        let mut st = self.state.borrow_mut();
        let hole = CqEntry {
            physical_offset: next,
            size: CqEntry::HOLE_SIZE,
            tags_code: 0,
        };
        while st.max < at.0 {
            st.tail.extend_from_slice(&hole.encode());
            st.max += 1;
        }
    }

    /// Makes a queue that never had an entry begin at `at`: its earlier records are in no log
    /// this store holds (a copy of a log whose oldest segments were gone). The entries from
    /// the start of `at`'s block of 1024 entries up to it are holes pointing at `first`, the
    /// queue's first record, so a restart finds where the queue begins (see `load`) from
    /// one block of the segment rather than the whole of it.
    pub fn start_at(&self, at: QueueOffset, first: PhysicalOffset) {
        let mut st = self.state.borrow_mut();
        assert!(
            st.max == 0 && st.tail.is_empty(),
            "a queue starts only once"
        );
        let from = at.0 - at.0 % (OPEN_READ / CQ_ENTRY_SIZE);
        let hole = CqEntry {
            physical_offset: first,
            size: CqEntry::HOLE_SIZE,
            tags_code: 0,
        };
        st.tail = (from..at.0).flat_map(|_| hole.encode()).collect();
        (st.min, st.max, st.flushed, st.tail_at) = (at.0, at.0, from, from * CQ_ENTRY_SIZE);
    }

    /// Appends the entry for queue offset `at`, which must be the next one, pointing past the
    /// previous entry. Reput feeds this from stored records, so a mismatch is corrupt data,
    /// not a bug.
    pub fn push(&self, at: QueueOffset, entry: CqEntry) -> StoreResult<()> {
        let mut st = self.state.borrow_mut();
        let ordered = st
            .last_physical
            .map_or(true, |p| p < entry.physical_offset.0);
        if at.0 != st.max || !ordered {
            let detail = format!(
                "entry {at} at {} after {} entries",
                entry.physical_offset, st.max
            );
            return Err(StoreError::Corrupt {
                what: "queue offset in the log",
                detail,
            });
        }
        st.tail.extend_from_slice(&entry.encode());
        st.max += 1;
        st.last_physical = Some(entry.physical_offset.0);
        Ok(())
    }

    /// Up to `max_count` entries from `from`, fewer at the end; empty past the end.
    pub async fn entries(&self, from: QueueOffset, max_count: usize) -> StoreResult<Vec<CqEntry>> {
        let (min, max, tail_at) = {
            let st = self.state.borrow();
            (st.min, st.max, st.tail_at)
        };
        if from.0 < min {
            return Err(StoreError::OutOfRange {
                offset: from.0,
                size: max_count,
            });
        }
        let end = max.min(from.0.saturating_add(max_count as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(from.0) as usize);
        let mut i = from.0;
        while i < end {
            let at = i * CQ_ENTRY_SIZE;
            if at >= tail_at {
                let st = self.state.borrow();
                let rel = (at - st.tail_at) as usize;
                out.extend(
                    st.tail[rel..]
                        .chunks_exact(20)
                        .take((end - i) as usize)
                        .map(CqEntry::decode),
                );
                break;
            }
            // From disk, one read up to the segment end or the first entry that starts in the
            // tail (every entry starting below `tail_at` is flushed).
            let seg = at - at % self.segment_bytes;
            let stop = end
                .min((seg + self.segment_bytes) / CQ_ENTRY_SIZE)
                .min(tail_at.div_ceil(CQ_ENTRY_SIZE));
            let file = self.state.borrow().segments.get(&seg).cloned();
            let file = file.ok_or(StoreError::OutOfRange {
                offset: i,
                size: max_count,
            })?;
            let len = ((stop - i) * CQ_ENTRY_SIZE) as usize;
            let flushed_end =
                (seg + self.segment_bytes).min(tail_at.div_ceil(CQ_ENTRY_SIZE) * CQ_ENTRY_SIZE);
            let bytes = self.read_flushed(&file, seg, at, len, flushed_end).await?;
            if bytes.len() < len {
                return Err(StoreError::Corrupt {
                    what: "consume queue",
                    detail: format!("{i}"),
                });
            }
            out.extend(bytes.chunks_exact(20).map(CqEntry::decode));
            i = stop;
        }
        Ok(out)
    }

    /// `len` bytes of flushed entries at byte `at` of the queue, in segment `seg` (`file`):
    /// from the read-ahead buffer, or read with up to [`CQ_READ_AHEAD`] bytes more, short
    /// of `flushed_end` (flushed entries never change, so the buffer never goes stale).
    async fn read_flushed(
        &self,
        file: &SegmentFile,
        seg: u64,
        at: u64,
        len: usize,
        flushed_end: u64,
    ) -> StoreResult<ReadBuf> {
        let end = at + len as u64;
        if let Some((start, buf)) = &self.state.borrow().read_ahead {
            if at >= *start && end <= start + buf.len() as u64 {
                return Ok(buf.slice((at - start) as usize, len));
            }
        }
        let ahead = end.max((at + CQ_READ_AHEAD).min(flushed_end));
        let bytes = file.read_at(at - seg, (ahead - at) as usize).await?;
        if bytes.len() < len {
            return Ok(bytes);
        }
        self.state.borrow_mut().read_ahead = Some((at, bytes.slice(0, bytes.len())));
        Ok(bytes.slice(0, len))
    }

    /// The entry at `at`, if stored.
    pub async fn entry(&self, at: QueueOffset) -> StoreResult<Option<CqEntry>> {
        if at.0 < self.min_offset().0 || at.0 >= self.max_offset().0 {
            return Ok(None);
        }
        Ok(self.entries(at, 1).await?.first().copied())
    }

    /// Writes and syncs every pushed entry. Tests only: the store flushes through the
    /// checkpoint, which must know that no entry at or past its reput offset is on disk.
    #[cfg(test)]
    async fn flush(&self) -> StoreResult<()> {
        self.flush_below(PhysicalOffset(u64::MAX)).await
    }

    /// Writes and syncs the pushed entries that point below `limit`, and nothing else (the
    /// checkpoint relies on the files holding no entry at or past its reput offset). Only
    /// one flush of a queue runs at a time: the checkpoint is the only caller.
    pub async fn flush_below(&self, limit: PhysicalOffset) -> StoreResult<()> {
        let (tail_at, bytes, upto) = {
            let st = self.state.borrow();
            let pending = (st.flushed..st.max).map(|i| {
                let at = (i * CQ_ENTRY_SIZE - st.tail_at) as usize;
                CqEntry::decode(&st.tail[at..at + 20])
            });
            let upto =
                st.flushed + pending.take_while(|e| e.physical_offset < limit).count() as u64;
            if upto == st.flushed {
                return Ok(());
            }
            let len = (upto * CQ_ENTRY_SIZE - st.tail_at) as usize;
            (st.tail_at, st.tail[..len].to_vec(), upto)
        };
        let mut at = tail_at;
        let end = tail_at + bytes.len() as u64;
        while at < end {
            let seg = at - at % self.segment_bytes;
            let stop = end.min(seg + self.segment_bytes);
            let file = self.segment(seg).await?;
            let mut buf = alloc_block(align_up(stop - at) as usize);
            let src = &bytes[(at - tail_at) as usize..(stop - tail_at) as usize];
            buf.as_bytes_mut()[..src.len()].copy_from_slice(src);
            file.write_at(Rc::new(buf), at - seg).await?;
            file.fdatasync().await?;
            at = stop;
        }
        let mut st = self.state.borrow_mut();
        let new_at = align_down(upto * CQ_ENTRY_SIZE);
        let done = (new_at - st.tail_at) as usize;
        st.tail.drain(..done);
        // A burst between flushes must not leave an idle queue holding its peak tail.
        st.tail.shrink_to(2 * IO_ALIGN);
        st.tail_at = new_at;
        st.flushed = upto;
        Ok(())
    }

    /// The segment file starting at byte `seg`, created if missing: a sparse file of the
    /// segment's size, which takes blocks only as entries are written, so a queue costs disk
    /// space in proportion to its entries (docs/storage.md), not a segment's 6 MB from its
    /// first message on.
    async fn segment(&self, seg: u64) -> StoreResult<SegmentFile> {
        if let Some(f) = self.state.borrow().segments.get(&seg) {
            return Ok(f.clone());
        }
        self.disk.create_dir_all(&self.dir).await?;
        let path = self.dir.join(segment_name(seg));
        let file = self.disk.open(&path, true).await?;
        if let Err(error) = file.truncate(align_up(self.segment_bytes)).await {
            // Leave no half-made file for the next start.
            let _ = self.disk.remove(&path).await;
            return Err(error);
        }
        // The queue's directories may be new too (`consumequeue/<topic>/<queueId>`): a queue
        // whose files vanish after the checkpoint counted them could not be rebuilt.
        for dir in self.dir.ancestors().take(3) {
            self.disk.sync_dir(dir).await?;
        }
        self.state.borrow_mut().segments.insert(seg, file.clone());
        Ok(file)
    }

    /// Drops the entries that point below `log_min` (the log's oldest stored offset after
    /// retention): `min` moves to the first entry at or past it, and segment files wholly
    /// below `min` are deleted. Entries are in log order, so a binary search finds the cut.
    pub async fn delete_before(&self, log_min: PhysicalOffset) -> StoreResult<()> {
        let (mut lo, mut hi) = (self.min_offset().0, self.max_offset().0);
        if matches!(self.state.borrow().min_physical, Some(first) if first >= log_min.0) {
            // The oldest entry is at or past the log's start, and so are all after it.
            hi = lo;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entries(QueueOffset(mid), 1).await?;
            match e.first() {
                Some(e) if e.physical_offset < log_min => lo = mid + 1,
                _ => hi = mid,
            }
        }
        // The segment holding the newest entry stays even if every entry expired: after a
        // restart it is what tells the queue's next offset.
        let newest_at = self.max_offset().0.saturating_sub(1) * CQ_ENTRY_SIZE;
        let keep_from = (lo * CQ_ENTRY_SIZE).min(newest_at);
        let seg_of_min = keep_from - keep_from % self.segment_bytes;
        let doomed: Vec<(u64, SegmentFile)> = {
            let mut st = self.state.borrow_mut();
            if lo > st.min {
                st.min = lo;
                st.min_physical = None;
            }
            let keys: Vec<u64> = st.segments.range(..seg_of_min).map(|(k, _)| *k).collect();
            keys.into_iter()
                .filter_map(|k| Some((k, st.segments.remove(&k)?)))
                .collect()
        };
        for (_, file) in doomed {
            self.disk.remove(&file.path()).await?;
        }
        Ok(())
    }

    /// Heap bytes this queue holds: the unflushed tail and its segment table (each segment
    /// also holds one open file descriptor).
    pub fn heap_bytes(&self) -> usize {
        let st = self.state.borrow();
        let read_ahead = st.read_ahead.as_ref().map_or(0, |(_, buf)| buf.len());
        st.tail.capacity()
            + st.segments.len() * std::mem::size_of::<(u64, SegmentFile)>()
            + read_ahead
    }
}

const _: () = assert!(IO_ALIGN as u64 % 4 == 0 && (1024 * CQ_ENTRY_SIZE) % IO_ALIGN as u64 == 0);

#[cfg(test)]
#[path = "consume_queue_tests.rs"]
mod tests;
