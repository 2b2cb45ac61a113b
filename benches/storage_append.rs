//! Micro bench: 1 KiB records appended to one shard's store under ASYNC_FLUSH on the real
//! disk (O_DIRECT, 1 GiB segments), through `Store::put` with reput and a final flush.
//! Prints records/s and MiB/s, then times recovery of the whole log (no checkpoint).
//!
//! `cargo bench --bench storage_append` (env: BENCH_RECORDS, default 2 000 000; BENCH_DIR,
//! default the temp dir; BENCH_SYNC=1 for SYNC_FLUSH with 64 appenders in flight;
//! BENCH_BLOCK_KIB, default 1024; BENCH_IN_FLIGHT, default 4).

use std::path::PathBuf;
use std::time::Instant;

use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::io::Disk;
use shardmq::storage::record::encode;
use shardmq::storage::store::{system_clock, Store};
use shardmq::storage::{QueueId, StoreError};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(root: PathBuf, records: u64, sync: bool) {
    let flush = if sync {
        FlushPolicy::Sync
    } else {
        FlushPolicy::Async
    };
    let mut log = LogConfig {
        flush,
        ..LogConfig::default()
    };
    log.block_size = env_u64("BENCH_BLOCK_KIB", 1024) as usize * 1024;
    log.writes_in_flight_max = env_u64("BENCH_IN_FLIGHT", 4) as usize;
    let config = StoreConfig {
        log,
        ..StoreConfig::new(root, 0)
    };
    let store = Store::open(Disk::Dma, config.clone(), system_clock())
        .await
        .expect("open");
    let mut templates: Vec<Vec<u8>> = (0..8)
        .map(|q| encode("BenchTopic", QueueId(q), &[0x5A; 1024 - 103], Some("TagA")))
        .collect();
    let size = templates[0].len() as u64;
    let started = Instant::now();
    let mut in_flight = Vec::new();
    for i in 0..records {
        let queue = QueueId((i % 8) as u32);
        let rec = &mut templates[queue.0 as usize];
        loop {
            match store.put("BenchTopic", queue, rec) {
                Ok(p) => {
                    if sync {
                        in_flight.push(p.durable);
                    }
                    break;
                }
                Err(StoreError::Busy) => store.writable(size).await.expect("writable"),
                Err(e) => panic!("put failed: {e}"),
            }
        }
        if in_flight.len() == 64 {
            for d in in_flight.drain(..) {
                d.await.expect("durable");
            }
        }
        if i % 65_536 == 0 {
            store.reput().await.expect("reput");
        }
    }
    store.reput().await.expect("reput");
    store.log().flush().await.expect("flush");
    let secs = started.elapsed().as_secs_f64();
    let mib = (records * size) as f64 / (1 << 20) as f64;
    println!(
        "{} {} records of {size} B in {secs:.3} s: {:.0} records/s, {:.0} MiB/s",
        if sync { "SYNC(64 in flight)" } else { "ASYNC" },
        records,
        records as f64 / secs,
        mib / secs
    );
    // No checkpoint was written: reopening scans, verifies and re-dispatches the whole log.
    drop(store);
    let started = Instant::now();

    let store = Store::open(Disk::Dma, config, system_clock())
        .await
        .expect("recover");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "recovery without checkpoint: {mib:.0} MiB, {} records in {secs:.3} s: {:.0} MiB/s",
        records,
        mib / secs
    );
    assert_eq!(
        store.queue_range("BenchTopic", QueueId(0)).1 .0,
        records.div_ceil(8)
    );
    store.close().await.expect("close");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; this one only runs under `cargo bench`
    }
    let records = env_u64("BENCH_RECORDS", 2_000_000);
    let sync = env_u64("BENCH_SYNC", 0) == 1;
    let base = std::env::var("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let root = base.join(format!("shardmq-bench-{}", std::process::id()));
    let r = root.clone();
    let ex = glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(0))
        .spawn(move || async move { run(r, records, sync).await })
        .expect("executor");
    ex.join().expect("bench");
    let _ = std::fs::remove_dir_all(root);
}
