//! A shard's store on the real disk (O_DIRECT through glommio) and on the memory disk:
//! pulls with tag filters and byte limits, search by time, clean reopen, and recovery cutting
//! the log at a corrupt byte in the middle of a segment.

use std::path::PathBuf;
use std::rc::Rc;

use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::io::{Disk, Faults, MemDisk};
use shardmq::storage::record::encode;
use shardmq::storage::store::{Clock, Store};
use shardmq::storage::{PhysicalOffset, QueueId, QueueOffset};
use shardmq::wire::properties::java_hash;

fn config(root: PathBuf, flush: FlushPolicy) -> StoreConfig {
    let mut log = LogConfig::small(flush);
    log.tail_cache_bytes = 16 * 1024;
    StoreConfig {
        root,
        shard: 1,
        log,
        cq_entries_per_segment: 1024,
    }
}

/// A clock that advances 10 ms per call, starting at 1 000 000.
fn ticking() -> Clock {
    let t = Rc::new(std::cell::Cell::new(1_000_000i64));
    Box::new(move || {
        t.set(t.get() + 10);
        t.get()
    })
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
fn corrupt_byte_mid_segment_cuts_the_log_there() {
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
        assert_eq!(
            store.log().end(),
            *victim,
            "log ends before the corrupt record"
        );
        assert_eq!(
            store.queue_range("Orders", QueueId(2)),
            (QueueOffset(0), QueueOffset(40))
        );
        let mut rec = encode("Orders", QueueId(2), b"new", None);
        let p = store.put("Orders", QueueId(2), &mut rec).expect("put");
        assert_eq!((p.offset, p.queue_offset), (*victim, QueueOffset(40)));
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
        // The put wakes the task; give a loaded machine up to a second to run it.
        let mut e = None;
        for _ in 0..200 {
            glommio::timer::sleep(std::time::Duration::from_millis(5)).await;
            e = store
                .entry("M", QueueId(0), QueueOffset(0))
                .await
                .expect("entry");
            if e.is_some() {
                break;
            }
        }
        assert_eq!(
            e.map(|e| e.physical_offset),
            Some(p.offset),
            "reput ran on the put"
        );
        for _ in 0..200 {
            glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            if store.log().flushed() == store.log().end() {
                break;
            }
        }
        assert_eq!(
            store.log().flushed(),
            store.log().end(),
            "checkpoint synced the log"
        );
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
