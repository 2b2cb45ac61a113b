//! Seeded crash simulation of queries by key over the fault-injecting memory disk: random
//! puts of records with unique keys and shared keys, reputs, checkpoints (some cut short) and
//! flushes, with failing writes and syncs and tiny index files that roll often, then a crash
//! and recovery, several times per seed. After every recovery: every acknowledged record is
//! found by its unique key and by each of its keys, and no query ever answers a record that
//! is not of the queried topic and key, twice, or outside the time range.
//!
//! Replay one seed with `STORAGE_SIM_SEED=<seed>`; run more with `STORAGE_SIM_SEEDS=<n>`.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::rc::Rc;

use shardmq::clock::ManualClock;
use shardmq::storage::commit_log::Durable;
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::index::Geometry;
use shardmq::storage::io::mem::SeedGuard;
use shardmq::storage::io::{Disk, Faults, MemDisk, SimRng};
use shardmq::storage::record::{encode_with_properties, scan, Scanned};
use shardmq::storage::store::Store;
use shardmq::storage::{PhysicalOffset, QueueId, StoreError};

const TOPICS: [&str; 2] = ["TopicA", "TopicB"];
/// Keys many records share. The last four have one Java hash: only reading the records
/// tells their entries apart.
const SHARED_KEYS: [&str; 12] = [
    "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "Aa", "BB", "AaBB", "BBAa",
];
const LIVES: usize = 5;
/// Store time of the first life; each life's clock stands 10 s after the previous one.
const T0: i64 = 1_700_000_000_000;

#[derive(Debug, Clone)]
struct Acked {
    offset: PhysicalOffset,
    bytes: Vec<u8>,
    topic: &'static str,
    uniq: String,
    keys: Vec<String>,
}

fn config(policy: FlushPolicy, index: Geometry) -> StoreConfig {
    let log = LogConfig {
        segment_size: 32 * 1024,
        block_size: 8192,
        unwritten_bytes_max: 64 * 1024,
        tail_cache_bytes: 16 * 1024,
        writes_in_flight_max: 3,
        flush: policy,
        flush_interval_ms: 3_600_000,
        ..LogConfig::default()
    };
    StoreConfig {
        log,
        cq_entries_per_segment: 1024,
        index,
        ..StoreConfig::new(PathBuf::from("/sim"), 0)
    }
}

/// Queries `key` of `topic` and checks what any answer must be: records of that topic with
/// that key, each once, stored within the range (the index keeps whole seconds). Returns
/// their offsets and bytes.
async fn query(store: &Store, topic: &str, key: &str, begin: i64, end: i64) -> Vec<(u64, Vec<u8>)> {
    let found = store.query_by_key(topic, key, 64, begin, end).await;
    let found = found.unwrap_or_else(|e| panic!("query {topic}#{key}: {e}"));
    let mut offsets = Vec::new();
    for rec in &found.records {
        let Scanned::Record(m) = scan(rec) else {
            panic!("{topic}#{key}: answered bytes that are not a record")
        };
        let keyed =
            m.uniq_key == Some(key) || m.keys.is_some_and(|k| k.split(' ').any(|k| k == key));
        assert!(keyed && m.topic == topic, "{topic}#{key}: answered {m:?}");
        let stored = m.store_timestamp_ms;
        assert!(
            begin <= stored && stored < end.saturating_add(1000),
            "{topic}#{key}: {stored}"
        );
        offsets.push((m.physical_offset.0, rec.to_vec()));
    }
    assert!(
        offsets.windows(2).all(|w| w[0].0 < w[1].0),
        "{topic}#{key}: log order, once each"
    );
    offsets
}

async fn verify(store: &Store, acked: &[Acked], rng: &mut SimRng) {
    for a in acked {
        let by_uniq = query(store, a.topic, &a.uniq, 0, i64::MAX).await;
        assert_eq!(
            by_uniq,
            [(a.offset.0, a.bytes.clone())],
            "{} of {}",
            a.uniq,
            a.topic
        );
    }
    for topic in TOPICS {
        for key in SHARED_KEYS.map(String::from) {
            let found = query(store, topic, &key, 0, i64::MAX).await;
            let found: BTreeSet<u64> = found.into_iter().map(|(at, _)| at).collect();
            if found.len() < 64 {
                let want = acked
                    .iter()
                    .filter(|a| a.topic == topic && a.keys.contains(&key));
                for a in want {
                    assert!(
                        found.contains(&a.offset.0),
                        "{topic}#{key}: {} missing",
                        a.offset
                    );
                }
            }
        }
        // A time range that holds one life's records, to the second.
        let life = rng.below(LIVES as u64) as i64;
        let at = T0 + life * 10_000;
        query(store, topic, shared_key(rng), at, at).await;
    }
    assert_eq!(
        store.reput_offset(),
        store.log().end(),
        "reput caught up at open"
    );
}

async fn settle(pending: &mut Vec<(Durable, Acked)>, acked: &mut Vec<Acked>) -> bool {
    let mut ok = true;
    for (d, a) in pending.drain(..) {
        match d.await {
            Ok(()) => acked.push(a),
            Err(_) => ok = false,
        }
    }
    ok
}

fn shared_key(rng: &mut SimRng) -> &'static str {
    SHARED_KEYS[rng.below(SHARED_KEYS.len() as u64) as usize]
}

/// A record of one of the topics with a unique key and one or two shared keys.
fn record(
    rng: &mut SimRng,
    serial: &mut u64,
) -> (&'static str, QueueId, Vec<u8>, String, Vec<String>) {
    let topic = TOPICS[rng.below(2) as usize];
    let queue = QueueId(rng.below(2) as u32);
    let uniq = format!("U{serial}");
    *serial += 1;
    let mut keys = vec![shared_key(rng).to_owned()];
    if rng.below(3) == 0 {
        keys.push(shared_key(rng).to_owned());
    }
    let props = format!("UNIQ_KEY\u{1}{uniq}\u{2}KEYS\u{1}{}\u{2}", keys.join(" "));
    let body = vec![rng.below(256) as u8; rng.below(600) as usize];
    let rec = encode_with_properties(topic, queue, &body, &props);
    (topic, queue, rec, uniq, keys)
}

/// One life: random work until the op budget runs out or the store fails.
async fn work(
    store: &Rc<Store>,
    rng: &mut SimRng,
    acked: &mut Vec<Acked>,
    policy: FlushPolicy,
    serial: &mut u64,
) {
    let mut pending: Vec<(Durable, Acked)> = Vec::new();
    for _ in 0..rng.below(250) {
        let ok = match rng.below(16) {
            0 if policy == FlushPolicy::Async => {
                let all: Vec<Acked> = pending.drain(..).map(|(_, a)| a).collect();
                let ok = store.log().flush().await.is_ok();
                if ok {
                    acked.extend(all);
                }
                ok
            }
            0 => settle(&mut pending, acked).await,
            1 => store.reput().await.is_ok(),
            2 | 3 => store.reput().await.is_ok() && store.checkpoint().await.is_ok(),
            4 if rng.below(4) == 0 => {
                // Crash in the middle of a checkpoint: run it for a few turns, then stop.
                let _ = store.reput().await;
                let s = Rc::clone(store);
                let task = glommio::spawn_local(async move { s.checkpoint().await.is_ok() });
                for _ in 0..rng.below(40) {
                    futures_lite::future::yield_now().await;
                }
                drop(task);
                return;
            }
            _ => {
                let (topic, queue, mut rec, uniq, keys) = record(rng, serial);
                match store.put(topic, queue, &mut rec) {
                    Ok(p) => {
                        let a = Acked {
                            offset: p.offset,
                            bytes: rec,
                            topic,
                            uniq,
                            keys,
                        };
                        pending.push((p.durable, a));
                        true
                    }
                    Err(StoreError::Busy) => store.writable(rec.len() as u64).await.is_ok(),
                    Err(_) => false,
                }
            }
        };
        if !ok {
            break;
        }
    }
    if policy == FlushPolicy::Sync {
        let keep = rng.below(pending.len() as u64 + 1) as usize;
        let mut first: Vec<_> = pending.drain(..keep).collect();
        settle(&mut first, acked).await;
    }
}

async fn simulate(seed: u64) -> usize {
    let _guard = SeedGuard(seed);
    let mut rng = SimRng::new(seed);
    let policy = if rng.below(2) == 0 {
        FlushPolicy::Sync
    } else {
        FlushPolicy::Async
    };
    let index = Geometry {
        slots: 1 + rng.below(40) as u32,
        entries: 8 + rng.below(300) as u32,
    };
    let faults = Faults {
        write_fail_per_mille: [0, 2, 10][rng.below(3) as usize],
        sync_fail_per_mille: [0, 5, 20][rng.below(3) as usize],
        capacity_bytes: None,
    };
    let mem = MemDisk::new(seed, Faults::default());
    let (mut acked, mut serial) = (Vec::new(), 0u64);
    for life in 0..LIVES {
        mem.set_faults(Faults::default());
        let now = T0 + life as i64 * 10_000;
        let store = Store::open(
            Disk::Mem(mem.clone()),
            config(policy, index),
            ManualClock::new(now).clock(),
        )
        .await;
        let store = Rc::new(store.unwrap_or_else(|e| panic!("recovery failed: {e}")));
        verify(&store, &acked, &mut rng).await;
        mem.set_faults(faults.clone());
        work(&store, &mut rng, &mut acked, policy, &mut serial).await;
        drop(store);
        mem.crash();
    }
    acked.len()
}

#[test]
fn queries_after_crashes_find_every_acknowledged_record_and_nothing_else() {
    let ex = glommio::LocalExecutorBuilder::default().spawn(|| async {
        let mut acked = 0;
        for seed in common::sim_seeds(40) {
            acked += simulate(seed).await;
        }
        assert!(acked > 0, "no record was ever acknowledged");
        eprintln!("acknowledged records checked across lives: {acked}");
    });
    ex.unwrap().join().unwrap();
}
