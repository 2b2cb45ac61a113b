//! SIGKILL on the real disk: a child process appends SYNC_FLUSH records through O_DIRECT and
//! reports each acknowledgement on stdout; the parent kills it mid-stream with SIGKILL, then
//! recovers the store and checks every acknowledged record and its queue entry.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use shardmq::clock::Clock;
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::index::Geometry;
use shardmq::storage::io::Disk;
use shardmq::storage::record::encode;
use shardmq::storage::store::Store;
use shardmq::storage::{PhysicalOffset, QueueId, QueueOffset};

const DIR_VAR: &str = "STORAGE_KILL_DIR";

fn config(root: PathBuf) -> StoreConfig {
    let log = LogConfig {
        segment_size: 1 << 20,
        block_size: 64 * 1024,
        flush: FlushPolicy::Sync,
        ..LogConfig::default()
    };
    StoreConfig {
        log,
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(root, 0)
    }
}

fn body(queue_offset: u64) -> Vec<u8> {
    vec![(queue_offset % 251) as u8; 1500 + (queue_offset % 700) as usize]
}

/// The child: appends forever, 16 appends in flight, printing `ACK offset queue_offset`.
fn kill_child(dir: String) {
    let ex = glommio::LocalExecutorBuilder::default().spawn(move || async move {
        let store = Store::open(Disk::Dma, config(dir.into()), Clock::system())
            .await
            .expect("open");
        let mut next = 0u64;
        loop {
            let mut batch = Vec::new();
            for _ in 0..16 {
                let mut rec = encode("K", QueueId(0), &body(next), None);
                let p = store.put("K", QueueId(0), &mut rec).expect("put");
                batch.push(p);
                next += 1;
            }
            for p in batch {
                p.durable.await.expect("durable");
                println!("ACK {} {}", p.offset.0, p.queue_offset.0);
            }
            if next % 256 == 0 {
                store.reput().await.expect("reput");
                store.checkpoint().await.expect("checkpoint");
            }
        }
    });
    ex.expect("executor").join().expect("child");
}

/// The test binary runs this test twice: as the parent, and (with the store directory in
/// the environment) as the child the parent kills.
#[test]
fn sigkill_keeps_every_acknowledged_record() {
    if let Ok(dir) = std::env::var(DIR_VAR) {
        return kill_child(dir);
    }
    let root = std::env::temp_dir().join(format!("shardmq-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "sigkill_keeps_every_acknowledged_record",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, &root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        let mut f = line.split_whitespace();
        if f.next() != Some("ACK") {
            continue;
        }
        let offset: u64 = f.next().and_then(|s| s.parse().ok()).expect("offset");
        let queue_offset: u64 = f.next().and_then(|s| s.parse().ok()).expect("queue offset");
        acked.push((offset, queue_offset));
        if acked.len() == 3000 {
            child.kill().expect("SIGKILL");
        }
    }
    let _ = child.wait();
    assert!(
        acked.len() >= 3000,
        "child stopped early after {} acks",
        acked.len()
    );
    let r = root.clone();
    let ex = glommio::LocalExecutorBuilder::default().spawn(move || async move {
        let store = Store::open(Disk::Dma, config(r), Clock::system())
            .await
            .expect("recovery");
        let (_, max) = store.queue_range("K", QueueId(0));
        assert!(
            max.0 >= acked.len() as u64,
            "queue lost acknowledged entries"
        );
        for (offset, queue_offset) in acked {
            let expect = body(queue_offset);
            let e = store
                .entry("K", QueueId(0), QueueOffset(queue_offset))
                .await
                .expect("entry");
            let e = e.expect("acknowledged entry present");
            assert_eq!(e.physical_offset, PhysicalOffset(offset));
            let rec = store
                .read(PhysicalOffset(offset), e.size as usize)
                .await
                .expect("read");
            let body_at = rec.len() - 2 - 1 - 1 - expect.len(); // props len, topic, topic len
            assert_eq!(&rec[body_at..body_at + expect.len()], &expect[..]);
        }
    });
    ex.expect("executor").join().expect("verification");
    std::fs::remove_dir_all(root).expect("cleanup");
}
