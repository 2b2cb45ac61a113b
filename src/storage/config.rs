//! Store settings, named after RocketMQ's `broker.conf` keys where one exists, with RocketMQ's
//! defaults. Small segment sizes are for tests; production keeps the 1 GiB default.

use std::path::PathBuf;

use super::index::Geometry;
use super::io::IO_ALIGN;

/// When an append counts as stored (RocketMQ `flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Acknowledge once the record is in the shard's log buffer. The writer hands it to the
    /// disk at once (within one write round, well under a millisecond while the disk keeps
    /// up) and syncs on the flush schedule: a process crash loses only records whose write
    /// round had not finished, a power cut up to one flush interval.
    Async,
    /// Acknowledge after the bytes holding the record are written and synced; appends waiting
    /// at the same moment share one sync.
    Sync,
}

/// Blocks a log holds besides its caches: the open one, up to eight kept for reuse, the
/// copies its writes in flight send, and the blocks its readers read ahead.
const BLOCKS_BESIDE_CACHES: usize = 16;

/// CommitLog settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `mappedFileSizeCommitLog`: bytes per segment, a multiple of `block_size`.
    pub segment_size: u64,
    /// Bytes per in-memory block and per full-block write.
    pub block_size: usize,
    /// Appended bytes not yet written that the buffer accepts before answering Busy.
    pub unwritten_bytes_max: u64,
    /// Written blocks kept in memory for reads of the newest data.
    pub tail_cache_bytes: usize,
    /// Blocks read back from disk and kept for catch-up readers (see `read_cache`); 0 turns
    /// the cache off.
    pub read_cache_bytes: usize,
    /// O_DIRECT writes issued at once by the writer.
    pub writes_in_flight_max: usize,
    /// `flushDiskType`.
    pub flush: FlushPolicy,
    /// `flushIntervalCommitLog`: how often the async writer considers a sync.
    pub flush_interval_ms: u64,
    /// `flushCommitLogLeastPages` × 4 KiB: the least unsynced bytes worth an async sync.
    pub flush_least_bytes: u64,
    /// `flushCommitLogThoroughInterval`: sync at least this often whatever the amount.
    pub flush_thorough_interval_ms: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_size: 1 << 30,
            block_size: 1 << 20,
            unwritten_bytes_max: 64 << 20,
            tail_cache_bytes: 64 << 20,
            read_cache_bytes: 64 << 20,
            writes_in_flight_max: 4,
            flush: FlushPolicy::Async,
            flush_interval_ms: 500,
            flush_least_bytes: 4 * 4096,
            flush_thorough_interval_ms: 10_000,
        }
    }
}

impl LogConfig {
    /// Panics on settings that break the log's layout invariants.
    pub fn validate(&self) {
        assert!(
            self.block_size > 0 && self.block_size % IO_ALIGN == 0,
            "block_size"
        );
        assert!(
            self.segment_size % self.block_size as u64 == 0,
            "segment_size % block_size"
        );
        assert!(
            self.unwritten_bytes_max >= self.block_size as u64,
            "unwritten_bytes_max"
        );
        assert!(self.writes_in_flight_max > 0, "writes_in_flight_max");
    }

    /// The memory the log's blocks take in steady use: the tail cache, the read cache and
    /// `BLOCKS_BESIDE_CACHES` more. What a shard registers with io_uring unless told
    /// otherwise (`ioMemoryBytesPerShard`).
    pub fn buffer_bytes(&self) -> usize {
        self.tail_cache_bytes + self.read_cache_bytes + BLOCKS_BESIDE_CACHES * self.block_size
    }

    /// A small geometry for tests: 64 KiB segments of 8 KiB blocks.
    pub fn small(flush: FlushPolicy) -> Self {
        LogConfig {
            segment_size: 64 * 1024,
            block_size: 8192,
            unwritten_bytes_max: 256 * 1024,
            tail_cache_bytes: 32 * 1024,
            read_cache_bytes: 64 * 1024,
            flush,
            ..LogConfig::default()
        }
    }
}

/// Settings of a shard's whole store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`; the shard keeps its files under `shard-<k>/` inside it.
    pub root: PathBuf,
    pub shard: u32,
    pub log: LogConfig,
    /// `mappedFileSizeConsumeQueue` / 20: entries per ConsumeQueue segment.
    pub cq_entries_per_segment: u64,
    /// `maxHashSlotNum` and `maxIndexNum`: the shape of every IndexFile.
    pub index: Geometry,
    /// `messageIndexEnable`: file the keys of new records in the index. Off, queries still
    /// search the index files already written.
    pub message_index: bool,
}

impl StoreConfig {
    /// RocketMQ's defaults for shard `shard` under `root`.
    pub fn new(root: PathBuf, shard: u32) -> Self {
        StoreConfig {
            root,
            shard,
            log: LogConfig::default(),
            cq_entries_per_segment: 300_032,
            index: Geometry::JAVA,
            message_index: true,
        }
    }

    pub fn shard_dir(&self) -> PathBuf {
        self.root.join(format!("shard-{}", self.shard))
    }
}
