//! Micro benches of one shard's store on the real disk (O_DIRECT through io_uring), all in one
//! run so the figures share the disk's state:
//!
//! 1. the disk's own `fdatasync` latency: a 4 KiB write then `fdatasync`, 500 times (the floor
//!    under any SYNC_FLUSH acknowledgement);
//! 2. ASYNC_FLUSH: 1 KiB records through `Store::put` as fast as they go, over 8 queues, with
//!    reput and a final flush (records/s, MiB/s);
//! 3. recovery of that whole log with no checkpoint: scan, verify, re-dispatch (MiB/s), then
//!    the checkpoint that writes the recovered ConsumeQueues (MiB/s);
//! 4. SYNC_FLUSH: 64 appenders, each putting a record and waiting until it is durable before
//!    the next (records/s, acknowledgement latency p50/p99);
//! 5. memory: heap bytes per idle ConsumeQueue, and what a CommitLog segment holds;
//! 6. opening a store of many queues holding one message each (`Store::open` after a clean
//!    close: ConsumeQueues found, opened and their ends read; the log has nothing to scan),
//!    and once more as after a crash inside a checkpoint (every queue wiped past its end).
//!
//! `cargo bench --bench storage_append` (env: BENCH_RECORDS, ASYNC records, default
//! 2 000 000; BENCH_SYNC_RECORDS, default 100 000; BENCH_DIR, default the temp dir;
//! BENCH_BLOCK_KIB, default 1024; BENCH_IN_FLIGHT, writes in flight, default the store's;
//! BENCH_YIELD, appends between turns of the reactor, default 256; BENCH_OPEN_QUEUES, queues
//! of the store opened in 6, default 10 000; BENCH_ONLY, a comma-separated subset of `disk`,
//! `async`, `sync`, `memory`, `open`, default all).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use shardmq::clock::Clock;
use shardmq::storage::checkpoint::{Checkpoint, CheckpointFile};
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::io::{alloc_block, Disk};
use shardmq::storage::record::encode;
use shardmq::storage::store::Store;
use shardmq::storage::QueueId;

const TOPIC: &str = "BenchTopic";
const QUEUES: u32 = 8;
const SYNC_APPENDERS: usize = 64;

/// User and system CPU time of the whole process so far (the kernel's I/O workers included),
/// from /proc in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields are counted after the command name's closing parenthesis: utime, stime 12th, 13th.
    let after = stat.rfind(')').map_or("", |at| &stat[at + 2..]);
    let ticks: u64 = after
        .split(' ')
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(root: &Path, flush: FlushPolicy) -> StoreConfig {
    let mut log = LogConfig {
        flush,
        ..LogConfig::default()
    };
    log.block_size = env_u64("BENCH_BLOCK_KIB", 1024) as usize * 1024;
    let in_flight = env_u64("BENCH_IN_FLIGHT", log.writes_in_flight_max as u64);
    log.writes_in_flight_max = in_flight as usize;
    StoreConfig {
        log,
        ..StoreConfig::new(root.to_owned(), 0)
    }
}

/// A 1 KiB record (header, topic, TAGS and body) for queue `q`.
fn record(q: u32) -> Vec<u8> {
    encode(TOPIC, QueueId(q), &[0x5A; 1024 - 103], Some("TagA"))
}

fn micros(h: &Histogram<u64>, q: f64) -> u64 {
    h.value_at_quantile(q)
}

async fn fdatasync_latency(dir: &Path) {
    let disk = Disk::Dma;
    disk.create_dir_all(dir).await.expect("dir");
    let file = disk
        .open(&dir.join("sync-probe"), true)
        .await
        .expect("open");
    file.pre_allocate(4 << 20).await.expect("preallocate");
    let buf = Rc::new(alloc_block(4096));
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for i in 0..500u64 {
        let started = Instant::now();
        file.write_at(Rc::clone(&buf), i % 1024 * 4096)
            .await
            .expect("write");
        file.fdatasync().await.expect("fdatasync");
        h.record(started.elapsed().as_micros() as u64)
            .expect("record");
    }
    println!(
        "disk: 4 KiB write + fdatasync, 500 times: p50 {} µs, p99 {} µs",
        micros(&h, 0.5),
        micros(&h, 0.99)
    );
}

async fn async_appends_then_recovery(root: &Path, records: u64) {
    let config = config(root, FlushPolicy::Async);
    let store = Store::open(Disk::Dma, config.clone(), Clock::system())
        .await
        .expect("open");
    let mut templates: Vec<Vec<u8>> = (0..QUEUES).map(record).collect();
    let size = templates[0].len() as u64;
    let yield_every = env_u64("BENCH_YIELD", 256);
    let (started, cpu_before) = (Instant::now(), cpu_time());
    for i in 0..records {
        let queue = QueueId((i % u64::from(QUEUES)) as u32);
        store
            .put_waiting(TOPIC, queue, &mut templates[queue.0 as usize])
            .await
            .expect("put");
        // On a shard appends come from connection tasks, which wait for their sockets
        // between reads (256 appends are 256 KiB, a few socket reads' worth): the executor
        // then polls its rings, submitting the log's writes and taking their completions. A
        // bare yield would not: glommio polls I/O only when no task is runnable (or at its
        // 100 ms preemption), so wait for the reactor instead.
        if i % yield_every == 0 {
            glommio::timer::sleep(Duration::from_micros(1)).await;
        }
        if i % 65_536 == 0 {
            store.reput().await.expect("reput");
        }
    }
    store.reput().await.expect("reput");
    store.log().flush().await.expect("flush");
    let secs = started.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu_before).as_secs_f64();
    let mib = (records * size) as f64 / (1 << 20) as f64;
    println!(
        "ASYNC_FLUSH: {records} records of {size} B in {secs:.3} s: {:.0} records/s, {:.0} MiB/s; \
         CPU {cpu:.3} s ({:.0} % of the time, {:.2} µs per record)",
        records as f64 / secs,
        mib / secs,
        cpu / secs * 100.0,
        cpu / records as f64 * 1e6
    );
    // No checkpoint was written: reopening scans, verifies and re-dispatches the whole log.
    drop(store);
    let started = Instant::now();
    let store = Store::open(Disk::Dma, config, Clock::system())
        .await
        .expect("recover");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "recovery without checkpoint: {mib:.0} MiB, {records} records in {secs:.3} s: {:.0} MiB/s",
        mib / secs
    );
    assert_eq!(
        store.queue_range(TOPIC, QueueId(0)).1 .0,
        records.div_ceil(u64::from(QUEUES))
    );
    // The recovered entries are in memory only: the next checkpoint writes every queue's
    // files (sparse, so this is where their blocks are allocated).
    let started = Instant::now();
    store.checkpoint().await.expect("checkpoint");
    let secs = started.elapsed().as_secs_f64();
    let cq_mib = (records * 20) as f64 / (1 << 20) as f64;
    println!(
        "checkpoint writing {QUEUES} ConsumeQueues of {records} entries ({cq_mib:.1} MiB) in \
         {secs:.3} s: {:.0} MiB/s",
        cq_mib / secs
    );
    store.close().await.expect("close");
}

async fn sync_appenders(root: &Path, records: u64) {
    let store = Rc::new(
        Store::open(Disk::Dma, config(root, FlushPolicy::Sync), Clock::system())
            .await
            .expect("open"),
    );
    let left = Rc::new(Cell::new(records));
    let latency = Rc::new(RefCell::new(Histogram::<u64>::new(3).expect("histogram")));
    let started = Instant::now();
    let appenders: Vec<_> = (0..SYNC_APPENDERS)
        .map(|a| {
            let (store, left, latency) = (store.clone(), left.clone(), latency.clone());
            glommio::spawn_local(async move {
                let queue = QueueId(a as u32 % QUEUES);
                let mut rec = record(queue.0);
                while left.get() > 0 {
                    left.set(left.get() - 1);
                    let t = Instant::now();
                    store
                        .put_waiting(TOPIC, queue, &mut rec)
                        .await
                        .expect("put")
                        .durable
                        .await
                        .expect("durable");
                    let us = t.elapsed().as_micros() as u64;
                    latency.borrow_mut().record(us).expect("record");
                }
            })
        })
        .collect();
    for a in appenders {
        a.await;
    }
    let secs = started.elapsed().as_secs_f64();
    let h = latency.borrow().clone();
    println!(
        "SYNC_FLUSH, {SYNC_APPENDERS} appenders: {records} records in {secs:.3} s: {:.0} records/s, \
         acknowledged after p50 {} µs, p99 {} µs",
        records as f64 / secs,
        micros(&h, 0.5),
        micros(&h, 0.99)
    );
    store.shutdown().await.expect("shutdown");
}

/// Heap bytes per idle ConsumeQueue (one entry each), from this thread's live heap bytes, and
/// what a CommitLog segment holds.
async fn memory(root: &Path) {
    let store = Store::open(
        Disk::Dma,
        config(&root.join("queues"), FlushPolicy::Async),
        Clock::system(),
    )
    .await
    .expect("open");
    // The first put allocates the log's first block; keep it out of the figure.
    store
        .put_waiting(TOPIC, QueueId(0), &mut record(0))
        .await
        .expect("put");
    let before = counting_alloc::live_bytes();
    const IDLE: u32 = 1000;
    for q in 0..IDLE {
        let mut rec = encode("Idle", QueueId(q), b"x", None);
        store.put("Idle", QueueId(q), &mut rec).expect("put");
    }
    store.reput().await.expect("reput");
    store.checkpoint().await.expect("checkpoint");
    let per_queue = (counting_alloc::live_bytes() - before) / i64::from(IDLE);
    store.close().await.expect("close");

    // A segment holds no buffers of its own (the log's blocks are shared by all): only its
    // open file.
    println!(
        "memory: {per_queue} heap bytes per idle ConsumeQueue (1000 queues of one entry); per \
         CommitLog segment no buffers, one open file (fd and DmaFile handle)"
    );
}

/// Opens a store of `queues` queues, one message each, in topics of 8 queues, as a broker
/// restarting on it does: the store was closed cleanly, so the log holds nothing to re-scan
/// and the time is that of finding, opening and reading the ConsumeQueues. Opened three times
/// (the first open after the store was written may still find its metadata in the kernel's
/// caches, as a restart does), then once more as after a crash inside a checkpoint.
async fn open_many_queues(root: &Path, queues: u32) {
    let config = config(root, FlushPolicy::Async);
    let store = Store::open(Disk::Dma, config.clone(), Clock::system())
        .await
        .expect("open");
    let started = Instant::now();
    for q in 0..queues {
        let topic = format!("Open{}", q / 8);
        let mut rec = encode(&topic, QueueId(q % 8), b"x", None);
        store
            .put_waiting(&topic, QueueId(q % 8), &mut rec)
            .await
            .expect("put");
    }
    store.close().await.expect("close");
    println!(
        "open: a store of {queues} queues x 1 message written and closed in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    for run in 1..=3 {
        let started = Instant::now();
        let store = Store::open(Disk::Dma, config.clone(), Clock::system())
            .await
            .expect("reopen");
        let secs = started.elapsed().as_secs_f64();
        println!(
            "open: a store of {queues} queues x 1 message opened in {secs:.3} s (run {run}): \
             {:.1} µs per queue",
            secs / f64::from(queues) * 1e6
        );
        let last = format!("Open{}", (queues - 1) / 8);
        assert_eq!(store.queue_range(&last, QueueId((queues - 1) % 8)).1 .0, 1);
        store.close().await.expect("close");
    }
    // A crash inside a checkpoint leaves `queuesDirty` set: the next open wipes every queue
    // past the cut (a page write, a hole punched and syncs per queue).
    let path = config.shard_dir().join("checkpoint");
    let (file, cp) = CheckpointFile::open(&Disk::Dma, path)
        .await
        .expect("checkpoint");
    let cp = cp.expect("a checkpoint");
    file.write(&Checkpoint {
        queues_dirty: true,
        ..cp
    })
    .await
    .expect("write checkpoint");
    drop(file);
    let started = Instant::now();
    let store = Store::open(Disk::Dma, config.clone(), Clock::system())
        .await
        .expect("reopen");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "open: the same store after a checkpoint that did not finish (every queue wiped past \
         its end) in {secs:.3} s: {:.1} µs per queue",
        secs / f64::from(queues) * 1e6
    );
    store.close().await.expect("close");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; this one only runs under `cargo bench`
    }
    let records = env_u64("BENCH_RECORDS", 2_000_000);
    let sync_records = env_u64("BENCH_SYNC_RECORDS", 100_000);
    let open_queues = env_u64("BENCH_OPEN_QUEUES", 10_000) as u32;
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = move |figure: &str| only.is_empty() || only.split(',').any(|f| f == figure);
    let base = std::env::var("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let root = base.join(format!("shardmq-bench-{}", std::process::id()));
    let r = root.clone();
    let ex = glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(0))
        .spawn(move || async move {
            if wanted("disk") {
                fdatasync_latency(&r.join("probe")).await;
            }
            if wanted("async") {
                async_appends_then_recovery(&r.join("async"), records).await;
                glommio::timer::sleep(Duration::from_millis(100)).await;
            }
            if wanted("sync") {
                sync_appenders(&r.join("sync"), sync_records).await;
            }
            if wanted("memory") {
                memory(&r.join("memory")).await;
            }
            if wanted("open") {
                open_many_queues(&r.join("open"), open_queues).await;
            }
        })
        .expect("executor");
    ex.join().expect("bench");
    let _ = std::fs::remove_dir_all(root);
}
