//! The per-shard store: the single writer of a shard's CommitLog, ConsumeQueues, IndexFiles,
//! checkpoint and recovery. Everything here lives on one shard (`Rc`/`RefCell`, no locks) and
//! reaches the device only through [`io`], so crash tests can swap the disk for a
//! fault-injecting one.
//!
//! | file | owns |
//! | --- | --- |
//! | [`store`] | the broker's entry point: open (recovery), put, reput, checkpoint, maintenance |
//! | `filing` | what reput files each appended record by, queued at the append |
//! | [`pull`] | reads by offset, pulls of a queue range, search by store time, query by key |
//! | [`commit_log`], [`log_buffer`], `log_writer` | segments, the aligned in-memory tail, O_DIRECT writes, flush policy |
//! | `read_cache` | whole blocks read back from disk for catch-up pulls, with read-ahead |
//! | [`consume_queue`] | per-queue 20-byte entries, min/max, lookups |
//! | [`index`] | the IndexFiles: hash index of keys and unique keys, their crash protocol, lookups |
//! | [`checkpoint`], [`recovery`] | the safe restart point; scanning, cutting and wiping the torn tail |
//! | [`lock`] | `storePathRootDir/lock`: one process per store |
//! | [`retention`] | deleting expired segments; queues following the log start |
//! | [`record`] | the store's only door to the record codec in [`crate::wire::record`] |
//! | [`io`] | [`io::Disk`] / [`io::SegmentFile`]: glommio DMA files or the fault-injecting memory disk |
//!
//! On disk, under `storePathRootDir/shard-<k>/`: `commitlog/<20-digit start offset>`,
//! `consumequeue/<topic>/<queueId>/<20-digit start byte>`, `index/<yyyyMMddHHmmssSSS>` and
//! `index/state`, `checkpoint`; and `storePathRootDir/lock` ([`lock`]).
//!
//! Calling rules: one [`store::Store`] per shard, opened once at start-up (it recovers);
//! appends never wait on the disk (they answer `Busy` when the buffer is full, and
//! [`store::Store::writable`] waits for room); the returned `Durable` future says when the
//! record is stored under the flush policy; the shard spawns and owns
//! [`store::Store::run_maintenance`] (reput, checkpoint) and calls
//! [`store::Store::retain`] on its retention schedule.

pub mod checkpoint;
pub mod commit_log;
#[cfg(test)]
mod commit_log_tests;
pub mod config;
pub mod consume_queue;
pub mod error;
mod filing;
pub mod index;
pub mod io;
pub mod lock;
pub mod log_buffer;
mod log_writer;
pub mod offsets;
pub mod pull;
mod read_cache;
pub mod record;
pub mod recovery;
pub mod replicas;
pub mod retention;
pub mod store;
pub mod tail_block;

pub use error::{StoreError, StoreResult};
pub use offsets::{PhysicalOffset, QueueId, QueueOffset};

/// A fresh, empty directory for a test that touches the real disk.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("shardmq-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `f` on a fresh glommio executor (the store needs its reactor and timers) and returns
/// its result.
#[cfg(test)]
pub(crate) fn run_local<F, Fut, T>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + 'static,
    T: Send + 'static,
{
    let ex = glommio::LocalExecutorBuilder::default()
        .spawn(f)
        .expect("executor starts");
    ex.join().expect("executor finishes")
}
