//! A shard's store on the real disk (O_DIRECT through glommio) and on the memory disk:
//! pulls with tag filters and byte limits, search by time, lookups by the physical offset a
//! client names (any other offset finds nothing and never fails), clean reopen, and recovery
//! stepping over a corrupt byte in the middle of a segment.

mod common;

use std::path::PathBuf;
use std::rc::Rc;

use common::{wait_until_local, PATIENCE};
use shardmq::clock::{Clock, ManualClock};
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::index::Geometry;
use shardmq::storage::io::{Disk, Faults, MemDisk};
use shardmq::storage::record::{encode, fields_with_properties};
use shardmq::storage::retention::{RetentionConfig, Sweep};
use shardmq::storage::store::Store;
use shardmq::storage::{PhysicalOffset, QueueId, QueueOffset};
use shardmq::wire::properties::java_hash;
use shardmq::wire::record::{RecordFields, SysFlag};

fn config(root: PathBuf, flush: FlushPolicy) -> StoreConfig {
    let mut log = LogConfig::small(flush);
    log.tail_cache_bytes = 16 * 1024;
    StoreConfig {
        log,
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(root, 1)
    }
}

/// A clock that advances 10 ms per call, starting at 1 000 000.
fn ticking() -> Clock {
    ManualClock::ticking(1_000_010, 10).clock()
}

fn run<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let ex = glommio::LocalExecutorBuilder::default()
        .spawn(f)
        .expect("executor");
    ex.join().expect("test body");
}

/// Puts 300 records round-robin over two tags to one queue; returns their offsets.
async fn fill(store: &Store) -> Vec<(PhysicalOffset, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..300u32 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        let mut rec = encode("Orders", QueueId(2), &vec![i as u8; 500], Some(tag));
        let p = store
            .put_waiting("Orders", QueueId(2), &mut rec)
            .await
            .expect("put");
        assert_eq!(p.queue_offset, QueueOffset(u64::from(i)));
        p.durable.await.expect("durable");
        out.push((p.offset, rec));
    }
    store.reput().await.expect("reput");
    out
}

async fn pulls_search_and_reopen(disk: Disk, root: PathBuf) {
    let store = Store::open(
        disk.clone(),
        config(root.clone(), FlushPolicy::Sync),
        ticking(),
    );
    let store = store.await.expect("open");
    let stored = fill(&store).await;
    assert_eq!(
        store.queue_range("Orders", QueueId(2)),
        (QueueOffset(0), QueueOffset(300))
    );
    let even = [i64::from(java_hash("even"))];
    let got = store.get_messages(
        "Orders",
        QueueId(2),
        QueueOffset(10),
        5,
        1 << 20,
        Some(&even),
    );
    let got = got.await.expect("pull");
    assert_eq!(got.records.len(), 5);
    assert_eq!(&*got.records[1], &stored[12].1[..]);
    assert_eq!(got.next, QueueOffset(19));
    let got = store.get_messages("Orders", QueueId(2), QueueOffset(0), 32, 2000, None);
    assert_eq!(got.await.expect("pull").records.len(), 3, "byte limit");
    // Store times tick by 10 ms from 1 000 010.
    let at = store
        .offset_by_time("Orders", QueueId(2), 1_000_010 + 10 * 150 - 5)
        .await;
    assert_eq!(at.expect("search"), QueueOffset(150));
    store.close().await.expect("close");

    let store = Store::open(disk, config(root, FlushPolicy::Sync), ticking())
        .await
        .expect("reopen");
    assert_eq!(store.reput_offset(), store.log().end(), "all dispatched");
    assert_eq!(
        store.queue_range("Orders", QueueId(2)),
        (QueueOffset(0), QueueOffset(300))
    );
    for (offset, rec) in &stored {
        assert_eq!(
            &*store.read(*offset, rec.len()).await.expect("read"),
            &rec[..]
        );
    }
    let mut rec = encode("Orders", QueueId(2), b"after", None);
    let p = store
        .put("Orders", QueueId(2), &mut rec)
        .expect("put after reopen");
    assert_eq!(p.queue_offset, QueueOffset(300));
    store.close().await.expect("close");
}

#[test]
fn real_disk_pulls_search_and_reopen() {
    let root = std::env::temp_dir().join(format!("shardmq-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let r = root.clone();
    run(move || async move { pulls_search_and_reopen(Disk::Dma, r).await });
    assert!(root.join("shard-1/commitlog/00000000000000000000").exists());
    assert!(root
        .join("shard-1/consumequeue/Orders/2/00000000000000000000")
        .exists());
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[test]
fn memory_disk_pulls_search_and_reopen() {
    run(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        pulls_search_and_reopen(disk, PathBuf::from("/m")).await;
    });
}

#[test]
fn corrupt_byte_mid_segment_costs_only_that_record() {
    run(|| async {
        let mem = MemDisk::new(1, Faults::default());
        let disk = Disk::Mem(mem.clone());
        let root = PathBuf::from("/c");
        let store = Store::open(
            disk.clone(),
            config(root.clone(), FlushPolicy::Sync),
            ticking(),
        );
        let store = store.await.expect("open");
        let stored = fill(&store).await;
        // Crash without a checkpoint, so recovery scans from the start.
        drop(store);
        mem.crash();
        let (victim, rec) = &stored[40];
        let seg = victim.0 - victim.0 % 65536;
        let path = root.join("shard-1/commitlog").join(format!("{seg:020}"));
        mem.corrupt(&path, victim.0 - seg + rec.len() as u64 - 600); // inside the body
        let store = Store::open(disk, config(root, FlushPolicy::Sync), ticking()).await;
        let store = store.expect("recovery");
        let (last, last_rec) = stored.last().expect("records");
        let end = PhysicalOffset(last.0 + last_rec.len() as u64);
        assert_eq!(store.log().end(), end, "the records after it are kept");
        assert_eq!(store.reput_offset(), end, "all dispatched");
        let damage = store.damage();
        assert_eq!((damage.log_ranges, damage.log_bytes), (1, rec.len() as u64));
        assert_eq!(
            store.queue_range("Orders", QueueId(2)),
            (QueueOffset(0), QueueOffset(300))
        );
        // Its queue offset is a hole that pulls step over; every other record is served.
        let got = store.get_messages("Orders", QueueId(2), QueueOffset(38), 4, usize::MAX, None);
        let got = got.await.expect("pull");
        let want: Vec<&[u8]> = [38, 39, 41, 42].iter().map(|&i| &stored[i].1[..]).collect();
        let got_bytes: Vec<&[u8]> = got.records.iter().map(|r| &r[..]).collect();
        assert_eq!(got_bytes, want);
        assert_eq!(got.next, QueueOffset(43));
        let mut rec = encode("Orders", QueueId(2), b"new", None);
        let p = store.put("Orders", QueueId(2), &mut rec).expect("put");
        assert_eq!((p.offset, p.queue_offset), (end, QueueOffset(300)));
    });
}

#[test]
fn maintenance_task_reputs_on_put_and_checkpoints() {
    run(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        let root = PathBuf::from("/mt");
        let store = Store::open(
            disk.clone(),
            config(root.clone(), FlushPolicy::Async),
            ticking(),
        );
        let store = Rc::new(store.await.expect("open"));
        let task = glommio::spawn_local(
            Rc::clone(&store)
                .run_maintenance(std::time::Duration::from_millis(30), std::future::pending()),
        );
        let mut rec = encode("M", QueueId(0), b"hello", None);
        let p = store.put("M", QueueId(0), &mut rec).expect("put");
        // The put wakes the task, which reputs it; the interval's checkpoint syncs the log.
        let entry = || store.entry("M", QueueId(0), QueueOffset(0));
        wait_until_local(PATIENCE, "reput on the put", || async {
            entry().await.expect("entry").is_some()
        })
        .await;
        let e = entry().await.expect("entry");
        assert_eq!(
            e.map(|e| e.physical_offset),
            Some(p.offset),
            "reput ran on the put"
        );
        wait_until_local(PATIENCE, "checkpoint synced the log", || async {
            store.log().flushed() == store.log().end()
        })
        .await;
        drop(task); // cancels; the executor drops the future on its next turn
        futures_lite::future::yield_now().await;
        let store = Rc::try_unwrap(store).expect("task released the store");
        store.close().await.expect("close");
    });
}

#[test]
fn full_disk_reopens_for_reads_and_refuses_appends() {
    run(|| async {
        let faults = Faults {
            capacity_bytes: Some(3 * 65536 + 64 * 1024),
            ..Faults::default()
        };
        let mem = MemDisk::new(1, faults);
        let disk = Disk::Mem(mem.clone());
        let root = PathBuf::from("/full");
        let store = Store::open(
            disk.clone(),
            config(root.clone(), FlushPolicy::Sync),
            ticking(),
        );
        let store = store.await.expect("open");
        let mut first = None;
        let err = loop {
            let mut rec = encode("F", QueueId(0), &[1u8; 3000], None);
            match store.put("F", QueueId(0), &mut rec) {
                Ok(p) => {
                    p.durable.await.expect("durable");
                    first.get_or_insert((p.offset, rec));
                }
                Err(shardmq::storage::StoreError::Busy) => {
                    store.writable(rec.len() as u64).await.expect("room");
                }
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, shardmq::storage::StoreError::DiskFull),
            "{err}"
        );
        drop(store);
        let store = Store::open(disk, config(root, FlushPolicy::Sync), ticking()).await;
        let store = store.expect("a full disk still opens");
        let (offset, rec) = first.expect("something was stored");
        assert_eq!(
            &*store.read(offset, rec.len()).await.expect("read"),
            &rec[..]
        );
        let mut rec = encode("F", QueueId(0), &[1u8; 3000], None);
        let refused = loop {
            match store.put("F", QueueId(0), &mut rec) {
                Ok(p) => p.durable.await.expect("durable"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(refused, shardmq::storage::StoreError::DiskFull),
            "{refused}"
        );
    });
}

/// A stored record: where, its bytes as stored, its store time.
struct Stored {
    offset: PhysicalOffset,
    bytes: Vec<u8>,
    store_ms: i64,
}

/// Puts records of growing size, one per simulated second, over several segments.
async fn fill_timed(store: &Store, clock: &ManualClock) -> Vec<Stored> {
    let mut stored = Vec::new();
    for i in 0..150usize {
        clock.set_wall_ms(1_000_000 + 1000 * i as i64);
        let mut rec = encode("Q", QueueId(0), &vec![i as u8; 100 + i * 7], Some("t"));
        let put = store.put_waiting("Q", QueueId(0), &mut rec).await;
        let put = put.expect("put");
        put.durable.await.expect("durable");
        stored.push(Stored {
            offset: put.offset,
            bytes: rec,
            store_ms: put.store_timestamp,
        });
    }
    store.reput().await.expect("reput");
    stored
}

async fn assert_every_record_is_found(store: &Store, stored: &[Stored]) {
    for (i, s) in stored.iter().enumerate() {
        let found = store.record_at(s.offset).await.expect("lookup");
        assert_eq!(found.as_deref(), Some(&s.bytes[..]), "record {i}");
        let time = store.store_time(s.offset).await.expect("store time");
        assert_eq!(time, Some(s.store_ms), "record {i}");
        let at = QueueOffset(i as u64);
        let time = store.store_time_at("Q", QueueId(0), at).await;
        assert_eq!(
            time.expect("store time"),
            Some(s.store_ms),
            "queue offset {i}"
        );
    }
}

async fn assert_nothing_at(store: &Store, offset: u64) {
    let offset = PhysicalOffset(offset);
    let found = store.record_at(offset).await.expect("lookup never fails");
    assert!(found.is_none(), "something at {offset:?}");
}

async fn lookups(disk: Disk, root: PathBuf) {
    let clock = ManualClock::new(0);
    let open = |disk: Disk| {
        let config = config(root.clone(), FlushPolicy::Sync);
        Store::open(disk, config, clock.clock())
    };
    let store = open(disk.clone()).await.expect("open");
    assert_nothing_at(&store, 0).await;
    assert_eq!(
        store.store_time(PhysicalOffset(0)).await.expect("time"),
        None
    );
    let none = store.store_time_at("Q", QueueId(0), QueueOffset(0)).await;
    assert_eq!(none.expect("time"), None, "no queue yet");

    let stored = fill_timed(&store, &clock).await;
    assert!(store.log().segment_starts().len() > 2, "spans segments");
    assert_every_record_is_found(&store, &stored).await;
    for s in stored.iter().step_by(7) {
        for inside in [1, 4, 8, 28, 60, 88, s.bytes.len() as u64 - 1] {
            assert_nothing_at(&store, s.offset.0 + inside).await;
        }
    }
    let end = store.log().end().0;
    for past in [
        end,
        end + 1,
        end + 65_536 * 5,
        i64::MAX as u64,
        u64::MAX - 7,
    ] {
        assert_nothing_at(&store, past).await;
    }
    // The filler that ends a segment, and the unwritten bytes after it.
    let first_roll = store.log().segment_starts()[1];
    let last_of_first = stored.iter().rfind(|s| s.offset.0 < first_roll);
    let filler = last_of_first.map(|s| s.offset.0 + s.bytes.len() as u64);
    let filler = filler.expect("a record in the first segment");
    for at in [filler, filler + 8, first_roll - 8] {
        assert_nothing_at(&store, at).await;
    }
    let past_queue = store.store_time_at("Q", QueueId(0), QueueOffset(150)).await;
    assert_eq!(past_queue.expect("time"), None);
    store.close().await.expect("close");

    let store = open(disk).await.expect("reopen");
    assert_every_record_is_found(&store, &stored).await;
    assert_nothing_at(&store, stored[3].offset.0 + 5).await;

    // Retention deletes the oldest segments: their records are gone, quietly.
    store.checkpoint().await.expect("checkpoint");
    let cfg = RetentionConfig::default();
    let gone = store.retain(&cfg, Sweep::Forced, 0).await.expect("retain");
    assert!(gone > 0);
    let log_min = store.log().min_offset();
    let deleted = stored.iter().filter(|s| s.offset < log_min);
    for s in deleted {
        assert_nothing_at(&store, s.offset.0).await;
        assert_eq!(store.store_time(s.offset).await.expect("time"), None);
    }
    let (min, _) = store.queue_range("Q", QueueId(0));
    let below = store
        .store_time_at("Q", QueueId(0), QueueOffset(min.0 - 1))
        .await;
    assert_eq!(below.expect("time"), None, "entry below the queue's min");
    let kept = store
        .store_time_at("Q", QueueId(0), min)
        .await
        .expect("time");
    assert_eq!(kept, Some(stored[min.0 as usize].store_ms));
    store.close().await.expect("close");
}

#[test]
fn memory_disk_lookups_by_offset() {
    run(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        lookups(disk, PathBuf::from("/lookup")).await;
    });
}

#[test]
fn real_disk_lookups_by_offset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_owned();
    run(move || async move { lookups(Disk::Dma, root).await });
}

/// What a replica does: copies its master's log from its own end, piece by piece.
async fn copy_log(master: &Store, replica: &Store, piece: usize) {
    loop {
        let offset = replica.log().end();
        let bytes = master
            .log()
            .read_copy(offset, piece)
            .await
            .expect("read")
            .bytes;
        if bytes.is_empty() {
            return;
        }
        loop {
            match replica.put_copied(offset, &bytes) {
                Err(shardmq::storage::StoreError::Busy) => {
                    replica.log().copied_writable(&bytes).await.expect("room");
                }
                other => break drop(other.expect("copied")),
            }
        }
    }
}

/// A store of its own on a memory disk, ASYNC_FLUSH.
async fn open_in_memory(disk_seed: u64, root: &str) -> Store {
    let disk = Disk::Mem(MemDisk::new(disk_seed, Faults::default()));
    let store = Store::open(disk, config(root.into(), FlushPolicy::Async), ticking());
    store.await.expect("open")
}

#[test]
fn a_replica_files_copied_records_where_its_master_did() {
    run(|| async {
        let master = open_in_memory(1, "/master").await;
        let replica_disk = Disk::Mem(MemDisk::new(2, Faults::default()));
        let replica_config = config("/replica".into(), FlushPolicy::Async);
        let replica = Store::open(replica_disk.clone(), replica_config.clone(), ticking());
        let replica = replica.await.expect("open replica");
        let stored = fill(&master).await;
        copy_log(&master, &replica, 10_000).await;
        let mut rec = encode("Other", QueueId(0), b"one", None);
        master
            .put_waiting("Other", QueueId(0), &mut rec)
            .await
            .expect("put");
        copy_log(&master, &replica, 10_000).await;
        replica.reput().await.expect("reput");

        assert_eq!(replica.log().end(), master.log().end());
        assert_eq!(
            replica.queue_range("Orders", QueueId(2)),
            (QueueOffset(0), QueueOffset(300))
        );
        let got = replica.get_messages("Orders", QueueId(2), QueueOffset(7), 3, 1 << 20, None);
        let got = got.await.expect("pull from the replica");
        assert_eq!(got.records.len(), 3);
        assert_eq!(&*got.records[0], &stored[7].1[..], "byte for byte");
        assert_eq!(
            replica.queue_range("Other", QueueId(0)),
            (QueueOffset(0), QueueOffset(1))
        );
        // The queues' next offsets follow the copied records, also after a restart.
        let mut rec = encode("Orders", QueueId(2), b"next", None);
        let p = replica
            .put("Orders", QueueId(2), &mut rec)
            .expect("put on the replica");
        assert_eq!(p.queue_offset, QueueOffset(300));
        replica.close().await.expect("close");
        let replica = Store::open(replica_disk, replica_config, ticking());
        let replica = replica.await.expect("reopen replica");
        assert_eq!(
            replica.queue_range("Orders", QueueId(2)),
            (QueueOffset(0), QueueOffset(301))
        );
        replica.close().await.expect("close");
        master.close().await.expect("close");
    });
}

/// A send's record with tags, keys and a unique key; every fifth a half (prepared) record,
/// which no queue holds.
fn keyed_fields<'a>(i: usize, props: &'a str, body: &'a [u8]) -> RecordFields<'a> {
    let mut fields = fields_with_properties("Keyed", QueueId((i % 2) as u32), body, props);
    if i % 5 == 4 {
        fields.sysflag = SysFlag(SysFlag::TRANSACTION_PREPARED);
    }
    fields
}

async fn records_keyed(store: &Store, key: &str) -> Vec<Vec<u8>> {
    let query = store.query_by_key("Keyed", key, 64, 0, i64::MAX).await;
    let records = query.expect("query").records;
    records.iter().map(|r| r.to_vec()).collect()
}

#[test]
fn a_record_is_filed_alike_from_its_append_and_from_its_bytes() {
    run(|| async {
        // The master files what each append left it; the replica parses the copied log.
        let master = open_in_memory(1, "/master").await;
        let replica = open_in_memory(2, "/replica").await;
        let props: Vec<String> = (0..40usize)
            .map(|i| {
                let tag = ["a", "b", "c"][i % 3];
                format!("TAGS\u{1}{tag}\u{2}KEYS\u{1}k{i} shared  k1 k2 k3 k4\u{2}UNIQ_KEY\u{1}U{i}\u{2}")
            })
            .collect();
        let bodies: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; 200]).collect();
        let records: Vec<_> = (0..40)
            .map(|i| {
                let fields = keyed_fields(i, &props[i], &bodies[i]);
                (fields, fields.encoded_len().expect("size"))
            })
            .collect();
        // Batches of several records, alternating between the two queues.
        for batch in records.chunks(7) {
            let size: usize = batch.iter().map(|(_, size)| size).sum();
            loop {
                match master.put_fields(batch) {
                    Err(shardmq::storage::StoreError::Busy) => {
                        master.writable(size as u64).await.expect("room")
                    }
                    other => break drop(other.expect("put")),
                }
            }
        }
        master.reput().await.expect("reput");
        copy_log(&master, &replica, 10_000).await;
        replica.reput().await.expect("reput");

        for queue in [QueueId(0), QueueId(1)] {
            let filed = master.entries("Keyed", queue, QueueOffset(0), 100).await;
            let filed = filed.expect("master's entries");
            // 20 records a queue, every fifth record a half one.
            assert_eq!(filed.len(), 16, "queue {queue:?}");
            let parsed = replica.entries("Keyed", queue, QueueOffset(0), 100).await;
            assert_eq!(filed, parsed.expect("replica's entries"), "queue {queue:?}");
            let tags: Vec<i64> = filed.iter().map(|e| e.tags_code).collect();
            assert!(tags.contains(&i64::from(java_hash("a"))), "{tags:?}");
        }
        for key in ["U3", "k7", "shared", "k4", "U4"] {
            let (filed, parsed) = (
                records_keyed(&master, key).await,
                records_keyed(&replica, key).await,
            );
            let expected = match key {
                "shared" | "k4" => 32,
                "U4" => 0, // a half record is in no queue and no index
                _ => 1,
            };
            assert_eq!(filed.len(), expected, "key {key}");
            assert_eq!(filed, parsed, "key {key}");
        }
        replica.close().await.expect("close");
        master.close().await.expect("close");
    });
}
