//! Seeded damage simulation of a shard's store over the memory disk: records put to a few
//! queues and synced, then a few bytes flipped at random offsets of the CommitLog and of the
//! ConsumeQueue files, with the checkpoint kept or lost, and the store reopened. Property:
//! every record whose bytes and whose ConsumeQueue entry were not hit is still served, byte
//! for byte, at its queue offset; nothing served differs from what was stored unless it was
//! hit; and every queue can be read to its end.
//!
//! Replay one seed with `STORAGE_SIM_SEED=<seed>`; run more with `STORAGE_SIM_SEEDS=<n>`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use shardmq::clock::ManualClock;
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::index::Geometry;
use shardmq::storage::io::mem::SeedGuard;
use shardmq::storage::io::{Disk, Faults, MemDisk, SimRng};
use shardmq::storage::record::encode;
use shardmq::storage::store::Store;
use shardmq::storage::QueueId;

const TOPIC: &str = "Damaged";
const QUEUES: u32 = 3;
const SEGMENT: u64 = 64 * 1024;

fn config() -> StoreConfig {
    StoreConfig {
        log: LogConfig::small(FlushPolicy::Sync),
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(PathBuf::from("/dmg"), 0)
    }
}

fn shard_dir() -> PathBuf {
    config().shard_dir()
}

/// One stored record: where it is and what it holds.
struct Stored {
    offset: u64,
    bytes: Vec<u8>,
    queue: u32,
    queue_offset: u64,
}

async fn simulate(seed: u64) {
    let _guard = SeedGuard(seed);
    let mut rng = SimRng::new(seed);
    let mem = MemDisk::new(seed, Faults::default());
    let clock = || ManualClock::new(1_000_000).clock();
    let store = Store::open(Disk::Mem(mem.clone()), config(), clock()).await;
    let store = store.expect("open");
    let mut stored = Vec::new();
    for _ in 0..(50 + rng.below(250)) {
        let queue = rng.below(u64::from(QUEUES)) as u32;
        let body: Vec<u8> = (0..rng.below(3000)).map(|_| rng.below(256) as u8).collect();
        let mut rec = encode(TOPIC, QueueId(queue), &body, Some("t"));
        let put = store.put_waiting(TOPIC, QueueId(queue), &mut rec).await;
        let put = put.expect("put");
        put.durable.await.expect("durable");
        stored.push(Stored {
            offset: put.offset.0,
            bytes: rec,
            queue,
            queue_offset: put.queue_offset.0,
        });
    }
    store.reput().await.expect("reput");
    let keep_checkpoint = rng.below(2) == 0;
    if keep_checkpoint {
        store.checkpoint().await.expect("checkpoint");
    }
    let end = store.log().end().0;
    drop(store);

    let dir = shard_dir();
    let mut hit: BTreeSet<(u32, u64)> = BTreeSet::new();
    for _ in 0..(1 + rng.below(4)) {
        let at = rng.below(end);
        let seg = at - at % SEGMENT;
        mem.corrupt(&dir.join("commitlog").join(format!("{seg:020}")), at - seg);
        for s in &stored {
            if (s.offset..s.offset + s.bytes.len() as u64).contains(&at) {
                hit.insert((s.queue, s.queue_offset));
            }
        }
    }
    // Queue files are written by the checkpoint (without one, recovery rebuilds them).
    if keep_checkpoint && rng.below(2) == 0 {
        let queue = rng.below(u64::from(QUEUES)) as u32;
        let count = stored.iter().filter(|s| s.queue == queue).count() as u64;
        if count > 0 {
            let at = rng.below(count * 20);
            let file = cq_file(&dir, queue);
            mem.corrupt(&file, at);
            hit.insert((queue, at / 20));
        }
    }
    if !keep_checkpoint {
        let _ = Disk::Mem(mem.clone()).remove(&dir.join("checkpoint")).await;
    }

    let store = Store::open(Disk::Mem(mem.clone()), config(), clock()).await;
    let store = store.unwrap_or_else(|e| panic!("seed {seed}: recovery failed: {e}"));
    for queue in 0..QUEUES {
        let want: BTreeMap<u64, &Stored> = stored
            .iter()
            .filter(|s| s.queue == queue)
            .map(|s| (s.queue_offset, s))
            .collect();
        let (min, max) = store.queue_range(TOPIC, QueueId(queue));
        let mut served = BTreeMap::new();
        let mut at = min;
        while at < max {
            let got = store.get_messages(TOPIC, QueueId(queue), at, 32, usize::MAX, None);
            let got = got
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: pull: {e}"));
            assert!(got.next > at, "seed {seed}: queue {queue} stuck at {at:?}");
            for rec in got.records {
                let offset = u64::from_be_bytes(rec[28..36].try_into().expect("8"));
                let s = stored.iter().find(|s| s.offset == offset);
                let s = s.unwrap_or_else(|| panic!("seed {seed}: served a record never stored"));
                if !hit.contains(&(s.queue, s.queue_offset)) {
                    assert_eq!(&rec[..], &s.bytes[..], "seed {seed}: record at {offset}");
                }
                served.insert(s.queue_offset, offset);
            }
            at = got.next;
        }
        for (queue_offset, s) in want {
            if !hit.contains(&(queue, queue_offset)) {
                assert_eq!(
                    served.get(&queue_offset),
                    Some(&s.offset),
                    "seed {seed} (checkpoint kept: {keep_checkpoint}): queue {queue} offset \
                     {queue_offset}, not hit, is served"
                );
            }
        }
    }
}

fn cq_file(dir: &Path, queue: u32) -> PathBuf {
    dir.join("consumequeue")
        .join(TOPIC)
        .join(queue.to_string())
        .join(format!("{:020}", 0))
}

#[test]
fn damage_costs_only_the_records_it_hits() {
    let ex = glommio::LocalExecutorBuilder::default().spawn(|| async {
        for seed in common::sim_seeds(100) {
            simulate(seed).await;
        }
    });
    ex.unwrap().join().unwrap();
}
