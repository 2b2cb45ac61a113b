//! One IndexFile (docs/protocol.md §4.4): RocketMQ's byte layout, and the in-memory state of a file
//! while it is being written.
//!
//! Layout, big-endian like Java's: a 40-byte header (`beginTimestamp`, `endTimestamp`,
//! `beginPhyOffset`, `endPhyOffset`, `hashSlotCount`, `indexCount`), `slots` 4-byte hash slots
//! (the newest entry of each chain, 0 for none), then `entries` 20-byte entries (`keyHash`,
//! `phyOffset`, `timeDiff` in seconds since `beginTimestamp`, `prevIndex`). Entry 0 is never
//! used, so `indexCount` starts at 1 and a file holds `entries − 1` keys.
//!
//! [`Writing`] keeps the *head* of a file being written in memory: the header and every slot,
//! up to the page where the entries begin. Every insert touches a random slot, so the slots are
//! the working set of an index (Java keeps them in the page cache through its mapping); they
//! are 4 bytes per slot, 20 MB at Java's 5 000 000. Entries are appended to a tail that holds
//! only what the last flush did not write, as the ConsumeQueue does. The owner
//! ([`super`]) writes both at checkpoints in the order its crash protocol needs: first
//! [`Writing::entry_writes`] (which leave the durable slot bytes of a page shared with entries
//! alone), then [`Writing::head_run`]s.

use glommio::io::DmaBuffer;

use crate::storage::error::{StoreError, StoreResult};
use crate::storage::io::{align_down, align_up, alloc_block, SegmentFile, IO_ALIGN};
use crate::wire::properties::{java_hash, java_hash_on};

/// Bytes of the header.
pub const HEADER_SIZE: u64 = 40;
/// Bytes of one hash slot.
pub const SLOT_SIZE: u64 = 4;
/// Bytes of one entry.
pub const ENTRY_SIZE: u64 = 20;

/// Largest single write a flush issues.
const WRITE_CHUNK_MAX: u64 = 1 << 20;

/// The shape of every index file of a store (`maxHashSlotNum`, `maxIndexNum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub slots: u32,
    pub entries: u32,
}

impl Geometry {
    /// Java's `maxHashSlotNum` and `maxIndexNum` defaults: 420 000 040-byte files.
    pub const JAVA: Geometry = Geometry {
        slots: 5_000_000,
        entries: 20_000_000,
    };

    /// A small shape for tests: files of one page that fill up after a few keys.
    pub const SMALL: Geometry = Geometry {
        slots: 16,
        entries: 64,
    };

    /// Panics on a shape Java's signed ints cannot describe or that holds no entry.
    pub fn validate(&self) {
        assert!(
            self.slots > 0 && self.slots <= i32::MAX as u32,
            "index hash slots"
        );
        assert!(
            self.entries > 1 && self.entries <= i32::MAX as u32,
            "index entries"
        );
    }

    pub fn slot_pos(&self, slot: u32) -> u64 {
        HEADER_SIZE + SLOT_SIZE * u64::from(slot)
    }

    pub fn entries_start(&self) -> u64 {
        self.slot_pos(self.slots)
    }

    pub fn entry_pos(&self, index: u32) -> u64 {
        self.entries_start() + ENTRY_SIZE * u64::from(index)
    }

    /// Java's file size; the file on disk is this rounded up to a page.
    pub fn file_size(&self) -> u64 {
        self.entry_pos(self.entries)
    }

    /// Bytes of a file kept in memory while it is written: every page holding header or slots.
    pub fn head_len(&self) -> u64 {
        align_up(self.entries_start())
    }

    /// The slot of a key hash (which is never negative).
    pub fn slot_of(&self, key_hash: i32) -> u32 {
        key_hash.unsigned_abs() % self.slots
    }
}

/// The key hash Java indexes `"<topic>#<key>"` under: `|String.hashCode()|`, with
/// `Integer.MIN_VALUE` (whose absolute value is itself) as 0.
pub fn key_hash(topic: &str, key: &str) -> i32 {
    key_hash_after(topic_hash(topic), key)
}

/// The hash of `"<topic>#"`, which each of a record's keys continues ([`key_hash_after`]).
pub fn topic_hash(topic: &str) -> i32 {
    java_hash_on(java_hash(topic), "#")
}

/// [`key_hash`] of `key` under the topic whose [`topic_hash`] is `topic`.
pub fn key_hash_after(topic: i32, key: &str) -> i32 {
    java_hash_on(topic, key).checked_abs().unwrap_or(0)
}

/// An index file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Store time of the first entry (or, before it, the end of the previous file).
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_offset: u64,
    pub end_offset: u64,
    /// Slots in use (Java's `hashSlotCount`).
    pub slots_used: u32,
    /// The next entry's number (Java's `indexCount`); entries `1..count` are in use.
    pub count: u32,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_SIZE as usize] {
        let mut b = [0u8; HEADER_SIZE as usize];
        b[..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.begin_offset.to_be_bytes());
        b[24..32].copy_from_slice(&self.end_offset.to_be_bytes());
        b[32..36].copy_from_slice(&self.slots_used.to_be_bytes());
        b[36..40].copy_from_slice(&self.count.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Header {
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8"));
        let u32_at = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().expect("4"));
        Header {
            begin_timestamp: u64_at(0) as i64,
            end_timestamp: u64_at(8) as i64,
            begin_offset: u64_at(16),
            end_offset: u64_at(24),
            slots_used: u32_at(32),
            // Java counts from 1 even in a file that has never held an entry.
            count: u32_at(36).max(1),
        }
    }

    /// The header of a new file that follows one ending with `previous` (Java starts a file's
    /// time range where the previous one ended).
    pub fn after(previous: Option<&Header>) -> Header {
        let (ts, offset) = previous.map_or((0, 0), |h| (h.end_timestamp, h.end_offset));
        Header {
            begin_timestamp: ts,
            end_timestamp: ts,
            begin_offset: offset,
            end_offset: offset,
            slots_used: 0,
            count: 1,
        }
    }

    /// Whether `[begin, end]` overlaps the file's time range (Java's `isTimeMatched`).
    pub fn time_matches(&self, begin: i64, end: i64) -> bool {
        let (b, e) = (self.begin_timestamp, self.end_timestamp);
        (begin < b && end > e) || (b..=e).contains(&begin) || (b..=e).contains(&end)
    }

    /// Store time an entry's `timeDiff` stands for.
    pub fn time_of(&self, entry: &Entry) -> i64 {
        self.begin_timestamp + i64::from(entry.time_diff) * 1000
    }
}

/// One index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key_hash: i32,
    pub offset: u64,
    /// Seconds from the header's `begin_timestamp`.
    pub time_diff: i32,
    /// The entry before this one in its slot's chain, 0 at the end.
    pub prev: u32,
}

impl Entry {
    pub fn encode(&self) -> [u8; ENTRY_SIZE as usize] {
        let mut b = [0u8; ENTRY_SIZE as usize];
        b[..4].copy_from_slice(&self.key_hash.to_be_bytes());
        b[4..12].copy_from_slice(&self.offset.to_be_bytes());
        b[12..16].copy_from_slice(&self.time_diff.to_be_bytes());
        b[16..20].copy_from_slice(&self.prev.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Entry {
        Entry {
            key_hash: i32::from_be_bytes(b[..4].try_into().expect("4")),
            offset: u64::from_be_bytes(b[4..12].try_into().expect("8")),
            time_diff: i32::from_be_bytes(b[12..16].try_into().expect("4")),
            prev: u32::from_be_bytes(b[16..20].try_into().expect("4")),
        }
    }
}

/// Reads the entry `index` of a file on disk.
pub async fn read_entry(file: &SegmentFile, geo: Geometry, index: u32) -> StoreResult<Entry> {
    let b = file
        .read_at(geo.entry_pos(index), ENTRY_SIZE as usize)
        .await?;
    if b.len() < ENTRY_SIZE as usize {
        let detail = format!("entry {index} of {}", file.path().display());
        return Err(StoreError::Corrupt {
            what: "index file",
            detail,
        });
    }
    Ok(Entry::decode(&b))
}

/// Reads slot `slot` of a file on disk.
pub async fn read_slot(file: &SegmentFile, geo: Geometry, slot: u32) -> StoreResult<u32> {
    let b = file.read_at(geo.slot_pos(slot), SLOT_SIZE as usize).await?;
    let b: [u8; 4] = b[..].try_into().map_err(|_| StoreError::Corrupt {
        what: "index file",
        detail: format!("slot {slot} of {}", file.path().display()),
    })?;
    Ok(u32::from_be_bytes(b))
}

/// The part of a file being written that lives in memory.
#[derive(Debug)]
pub struct Writing {
    geo: Geometry,
    /// Bytes `[0, head_len)`: header, slots, and the first entries when they share the last
    /// page with the slots.
    head: Vec<u8>,
    /// Head pages whose header or slot bytes changed since the last flush.
    dirty: Vec<bool>,
    /// The header and slot bytes of the page where the entries begin, as the file holds them.
    shared_durable: Vec<u8>,
    /// Byte position of `tail[0]`: a page boundary at or after `head_len`.
    tail_at: u64,
    /// Entry bytes from `tail_at` to the end of the newest entry.
    tail: Vec<u8>,
    /// Entries below this number are written and synced.
    flushed: u32,
}

impl Writing {
    /// A new file: every byte zero, nothing flushed.
    pub fn new(geo: Geometry) -> Writing {
        let head_len = geo.head_len();
        Writing {
            geo,
            // Zeroed memory comes from the allocator as untouched pages: an idle shard's
            // slots cost no resident memory until keys arrive.
            head: vec![0; head_len as usize],
            dirty: vec![false; (head_len / IO_ALIGN as u64) as usize],
            shared_durable: vec![
                0;
                (geo.entries_start() - align_down(geo.entries_start())) as usize
            ],
            tail_at: head_len,
            // Entry 0 is never written, but its bytes may lie past the head.
            tail: vec![0; geo.entry_pos(1).saturating_sub(head_len) as usize],
            flushed: 1,
        }
    }

    /// Loads a stored file whose durable header is `header` (its first `header.count` entries
    /// are valid). The head is read whole; entry bytes past the count (left by an interrupted
    /// flush) stay in memory until the caller has used them (see [`Writing::forget_past`]).
    pub async fn load(geo: Geometry, file: &SegmentFile, header: &Header) -> StoreResult<Writing> {
        let mut w = Writing::new(geo);
        let head_len = w.head.len();
        let bytes = file.read_at(0, head_len).await?;
        if bytes.len() < head_len {
            let detail = format!("{} is shorter than its slots", file.path().display());
            return Err(StoreError::Corrupt {
                what: "index file",
                detail,
            });
        }
        w.head.copy_from_slice(&bytes);
        w.head[..HEADER_SIZE as usize].copy_from_slice(&header.encode());
        let end = geo.entry_pos(header.count);
        w.tail_at = align_down(end).max(geo.head_len());
        let tail = file.read_at(w.tail_at, end.saturating_sub(w.tail_at) as usize);
        w.tail = tail.await?.to_vec();
        w.flushed = header.count;
        w.remember_shared();
        Ok(w)
    }

    /// Zeroes, in memory, the head's entry bytes from entry `count` on: stale bytes a crash
    /// left there must not be written back as if they were entries.
    pub fn forget_past(&mut self, count: u32) {
        let from = self.geo.entry_pos(count).min(self.head.len() as u64) as usize;
        self.head[from..].fill(0);
    }

    pub fn slot(&self, slot: u32) -> u32 {
        let at = self.geo.slot_pos(slot) as usize;
        u32::from_be_bytes(self.head[at..at + 4].try_into().expect("4"))
    }

    pub fn set_slot(&mut self, slot: u32, value: u32) {
        let at = self.geo.slot_pos(slot);
        self.head[at as usize..at as usize + 4].copy_from_slice(&value.to_be_bytes());
        self.dirty[(at / IO_ALIGN as u64) as usize] = true;
    }

    pub fn set_header(&mut self, header: &Header) {
        self.head[..HEADER_SIZE as usize].copy_from_slice(&header.encode());
        self.dirty[0] = true;
    }

    /// Appends entry `index`, which must be the next one.
    pub fn push_entry(&mut self, index: u32, entry: &Entry) {
        let pos = self.geo.entry_pos(index);
        let bytes = entry.encode();
        let in_head = self.bytes_in_head(pos);
        let at = (pos as usize).min(self.head.len());
        self.head[at..at + in_head].copy_from_slice(&bytes[..in_head]);
        if in_head < bytes.len() {
            let split = pos + in_head as u64;
            assert_eq!(
                split - self.tail_at,
                self.tail.len() as u64,
                "entries append"
            );
            self.tail.extend_from_slice(&bytes[in_head..]);
        }
    }

    /// Entry `index` if all its bytes are in memory (every entry from the last flush on is).
    pub fn entry(&self, index: u32) -> Option<Entry> {
        let pos = self.geo.entry_pos(index);
        let mut b = [0u8; ENTRY_SIZE as usize];
        let in_head = self.bytes_in_head(pos);
        let at = (pos as usize).min(self.head.len());
        b[..in_head].copy_from_slice(&self.head[at..at + in_head]);
        if in_head < b.len() {
            let rel = (pos + in_head as u64).checked_sub(self.tail_at)? as usize;
            let rest = b.len() - in_head;
            b[in_head..].copy_from_slice(self.tail.get(rel..rel + rest)?);
        }
        Some(Entry::decode(&b))
    }

    /// How many bytes of the entry at `pos` lie in the head.
    fn bytes_in_head(&self, pos: u64) -> usize {
        (self.head.len() as u64).saturating_sub(pos).min(ENTRY_SIZE) as usize
    }

    /// Whether entries or head bytes changed since the last flush.
    pub fn changed(&self, count: u32) -> bool {
        count > self.flushed || self.dirty.iter().any(|&d| d)
    }

    /// First flush step: the writes that put the entries pushed since the last flush on disk,
    /// as (position, buffer). The page where the entries begin also holds slots; it goes out
    /// with its slot bytes as the file already holds them, so slot changes reach the disk only
    /// through [`Writing::head_run`].
    pub fn entry_writes(&self, count: u32) -> Vec<(u64, DmaBuffer)> {
        let mut writes = Vec::new();
        if count <= self.flushed {
            return writes;
        }
        let start = self.geo.entries_start();
        if self.geo.entry_pos(self.flushed) < self.head.len() as u64 {
            let mut buf = alloc_block(IO_ALIGN);
            let b = buf.as_bytes_mut();
            let durable = self.shared_durable.len();
            b[..durable].copy_from_slice(&self.shared_durable);
            b[durable..].copy_from_slice(&self.head[start as usize..]);
            writes.push((align_down(start), buf));
        }
        for (i, chunk) in self.tail.chunks(WRITE_CHUNK_MAX as usize).enumerate() {
            let mut buf = alloc_block(align_up(chunk.len() as u64) as usize);
            buf.as_bytes_mut()[..chunk.len()].copy_from_slice(chunk);
            writes.push((self.tail_at + i as u64 * WRITE_CHUNK_MAX, buf));
        }
        writes
    }

    /// Second flush step, one write at a time: the first run of head pages at or after page
    /// `from` whose header or slots changed, as (position, the page after the run, buffer).
    pub fn head_run(&self, from: usize) -> Option<(u64, usize, DmaBuffer)> {
        let page = IO_ALIGN;
        let run_max = WRITE_CHUNK_MAX as usize / page;
        let first = (from..self.dirty.len()).find(|&p| self.dirty[p])?;
        let mut end = first + 1;
        while end < self.dirty.len() && self.dirty[end] && end - first < run_max {
            end += 1;
        }
        let mut buf = alloc_block((end - first) * page);
        buf.as_bytes_mut()
            .copy_from_slice(&self.head[first * page..end * page]);
        Some(((first * page) as u64, end, buf))
    }

    /// Every run [`Writing::head_run`] gave is written and synced.
    pub fn head_written(&mut self) {
        self.dirty.fill(false);
        self.remember_shared();
    }

    /// Last flush step: everything below entry `count` is on disk, so the tail drops what lies
    /// before the page holding the next entry.
    pub fn flushed_to(&mut self, count: u32) {
        let end = self.geo.entry_pos(count);
        let new_at = align_down(end).max(self.head.len() as u64);
        if new_at > self.tail_at {
            self.tail.drain(..(new_at - self.tail_at) as usize);
            self.tail_at = new_at;
        }
        // A burst between flushes must not leave the file holding its peak tail.
        self.tail.shrink_to(2 * IO_ALIGN);
        self.flushed = count;
    }

    fn remember_shared(&mut self) {
        let start = self.geo.entries_start() as usize;
        let page = align_down(start as u64) as usize;
        self.shared_durable.copy_from_slice(&self.head[page..start]);
    }

    /// Heap bytes held: the head and the unflushed tail.
    pub fn heap_bytes(&self) -> usize {
        self.head.capacity() + self.tail.capacity() + self.dirty.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_entry_round_trip() {
        let h = Header {
            begin_timestamp: 1_700_000_000_000,
            end_timestamp: 1_700_000_123_456,
            begin_offset: 4096,
            end_offset: 1 << 40,
            slots_used: 7,
            count: 99,
        };
        assert_eq!(Header::decode(&h.encode()), h);
        let e = Entry {
            key_hash: 12345,
            offset: 1 << 33,
            time_diff: 17,
            prev: 3,
        };
        assert_eq!(Entry::decode(&e.encode()), e);
        assert_eq!(&e.encode()[..4], &12345i32.to_be_bytes());
    }

    #[test]
    fn java_geometry_gives_java_file_size() {
        let geo = Geometry {
            slots: 5_000_000,
            entries: 20_000_000,
        };
        assert_eq!(geo.file_size(), 420_000_040);
        assert_eq!(geo.entry_pos(1), 40 + 20_000_000 + 20);
    }

    #[test]
    fn key_hash_is_java_hash_of_topic_and_key() {
        assert_eq!(key_hash("T", "k"), java_hash("T#k").abs());
        // Some key hashes to i32::MIN: Java's Math.abs leaves it negative and the index
        // stores 0. Any hash is a valid slot input.
        let geo = Geometry {
            slots: 7,
            entries: 8,
        };
        assert!(geo.slot_of(i32::MIN) < 7);
    }

    #[test]
    fn entries_straddling_the_head_read_back_in_memory() {
        // 40 + 4 × 1014 = 4096: the entries start on a page. 1013 slots leave 4 bytes of
        // the last head page to entry 0, 1000 slots leave 56 (entry 1 straddles the page).
        for slots in [1013, 1014, 1000] {
            let geo = Geometry {
                slots,
                entries: 400,
            };
            let mut w = Writing::new(geo);
            for i in 1..300 {
                let e = Entry {
                    key_hash: i as i32,
                    offset: u64::from(i) * 100,
                    time_diff: 0,
                    prev: i - 1,
                };
                w.push_entry(i, &e);
                assert_eq!(w.entry(i), Some(e), "{slots} slots, entry {i}");
            }
        }
    }
}
