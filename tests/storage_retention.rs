//! Retention over the memory disk: expired segments go oldest first, the active ones stay,
//! ConsumeQueue min offsets follow the log, index files wholly below the new start go too,
//! reads below the new start answer OutOfRange, and a reopen keeps both the new start and
//! the next queue offset.

use std::path::PathBuf;

use shardmq::clock::ManualClock;
use shardmq::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use shardmq::storage::index::Geometry;
use shardmq::storage::io::{Disk, Faults, MemDisk};
use shardmq::storage::record::{encode, encode_with_properties};
use shardmq::storage::retention::{RetentionConfig, Sweep};
use shardmq::storage::store::Store;
use shardmq::storage::{QueueId, QueueOffset, StoreError};

fn config() -> StoreConfig {
    let log = LogConfig::small(FlushPolicy::Sync);
    StoreConfig {
        log,
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(PathBuf::from("/r"), 0)
    }
}

#[test]
fn expired_segments_go_and_queues_follow() {
    let ex = glommio::LocalExecutorBuilder::default().spawn(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        let now = ManualClock::new(0);
        let store = Store::open(disk.clone(), config(), now.clock()).await;
        let store = store.expect("open");
        // 400 records of ~1 KiB, one per simulated minute: about 7 segments of 64 KiB.
        for i in 0..400i64 {
            now.set_wall_ms(i * 60_000);
            let mut rec = encode("T", QueueId(0), &[7u8; 1000], None);
            store
                .put("T", QueueId(0), &mut rec)
                .expect("put")
                .durable
                .await
                .expect("stored");
        }
        store.reput().await.expect("reput");
        let cfg = RetentionConfig {
            file_reserved_hours: 3,
            ..RetentionConfig::default()
        };
        let now_ms = 400 * 60_000;
        // Nothing goes before a checkpoint covers it: recovery would restart below it.
        assert_eq!(
            store
                .retain(&cfg, Sweep::Forced, now_ms)
                .await
                .expect("pass"),
            0
        );
        store.checkpoint().await.expect("checkpoint");
        let before = store.log().segment_starts();
        assert_eq!(
            store
                .retain(&cfg, Sweep::Nothing, now_ms)
                .await
                .expect("pass"),
            0
        );
        let gone = store
            .retain(&cfg, Sweep::Expired, now_ms)
            .await
            .expect("pass");
        assert!(
            gone > 0 && gone < before.len() - 1,
            "deleted {gone} of {}",
            before.len()
        );
        let log_min = store.log().min_offset();
        assert_eq!(log_min.0, before[gone]);
        let (min, max) = store.queue_range("T", QueueId(0));
        assert_eq!(max, QueueOffset(400));
        let first = store
            .entry("T", QueueId(0), min)
            .await
            .expect("entry")
            .expect("present");
        assert!(first.physical_offset >= log_min);
        // Deleted segments hold only records older than the cut-off (minute 220).
        assert!(min.0 > 0 && min.0 <= 220, "min {min}");
        assert!(matches!(
            store.read(shardmq::storage::PhysicalOffset(0), 8).await,
            Err(StoreError::OutOfRange { .. })
        ));
        let pulled = store.get_messages("T", QueueId(0), QueueOffset(0), 4, 1 << 20, None);
        assert_eq!(
            pulled.await.expect("pull").next,
            min,
            "a pull below min is redirected"
        );
        store.close().await.expect("close");

        let store = Store::open(disk, config(), ManualClock::new(0).clock())
            .await
            .expect("reopen");
        assert_eq!(store.queue_range("T", QueueId(0)), (min, QueueOffset(400)));
        assert_eq!(store.log().min_offset(), log_min);
        // Forced sweeps go further but never touch the segment being written.
        store.retain(&cfg, Sweep::Forced, 0).await.expect("forced");
        assert!(store.log().segment_starts().len() >= 2);
        assert_eq!(store.queue_range("T", QueueId(0)).1, QueueOffset(400));
    });
    ex.expect("executor").join().expect("test body");
}

#[test]
fn scheduled_pass_deletes_under_disk_pressure_at_any_hour() {
    let ex = glommio::LocalExecutorBuilder::default().spawn(|| async {
        let mem = MemDisk::new(2, Faults::default());
        let store = Store::open(
            Disk::Mem(mem.clone()),
            config(),
            ManualClock::new(0).clock(),
        )
        .await
        .expect("open");
        for _ in 0..400 {
            let mut rec = encode("T", QueueId(0), &[7u8; 1000], None);
            let put = store.put("T", QueueId(0), &mut rec).expect("put");
            put.durable.await.expect("stored");
        }
        store.reput().await.expect("reput");
        store.checkpoint().await.expect("checkpoint");
        // No hour is listed: only disk pressure can start a pass.
        let cfg = RetentionConfig {
            delete_when: String::new(),
            file_reserved_hours: 1_000,
            ..RetentionConfig::default()
        };
        let roomy = Faults {
            capacity_bytes: Some(mem.used_bytes() * 10),
            ..Faults::default()
        };
        mem.set_faults(roomy);
        assert_eq!(
            store.retention_pass(&cfg).await.expect("pass"),
            0,
            "10 % used"
        );

        let full = Faults {
            capacity_bytes: Some(mem.used_bytes() * 100 / 90),
            ..Faults::default()
        };
        mem.set_faults(full);
        let segments = store.log().segment_starts().len();
        let gone = store.retention_pass(&cfg).await.expect("pass");
        assert!(gone > 0, "90 % used forces deletion of unexpired segments");
        assert_eq!(store.log().segment_starts().len(), segments - gone);
        assert!(
            store.queue_range("T", QueueId(0)).0 > QueueOffset(0),
            "queues follow"
        );
    });
    ex.expect("executor").join().expect("test body");
}

#[test]
fn index_files_below_the_new_log_start_go_with_the_segments() {
    let ex = glommio::LocalExecutorBuilder::default().spawn(|| async {
        let disk = Disk::Mem(MemDisk::new(3, Faults::default()));
        let now = ManualClock::new(0);
        let store = Store::open(disk.clone(), config(), now.clock()).await;
        let store = store.expect("open");
        // 400 keyed records, one per simulated minute: 800 keys fill a dozen small files.
        for i in 0..400i64 {
            now.set_wall_ms(i * 60_000);
            let props = format!("UNIQ_KEY\u{1}U{i}\u{2}KEYS\u{1}shared\u{2}");
            let mut rec = encode_with_properties("T", QueueId(0), &[7u8; 1000], &props);
            let put = store.put("T", QueueId(0), &mut rec).expect("put");
            put.durable.await.expect("stored");
        }
        store.reput().await.expect("reput");
        store.checkpoint().await.expect("checkpoint");
        let files = store.index().file_names();
        let cfg = RetentionConfig {
            file_reserved_hours: 3,
            ..RetentionConfig::default()
        };
        let gone = store.retain(&cfg, Sweep::Expired, 400 * 60_000).await;
        assert!(gone.expect("pass") > 0);
        let left = store.index().file_names();
        assert!(
            left.len() < files.len(),
            "{} of {} left",
            left.len(),
            files.len()
        );
        assert_eq!(
            left[..],
            files[files.len() - left.len()..],
            "the oldest went"
        );
        let on_disk = disk.list_dir(&PathBuf::from("/r/shard-0/index")).await;
        assert_eq!(
            on_disk.expect("listed").len(),
            left.len() + 1,
            "and the state page"
        );
        let found = |key: &'static str| {
            let store = &store;
            async move {
                store
                    .query_by_key("T", key, 64, 0, i64::MAX)
                    .await
                    .expect("query")
            }
        };
        assert!(found("U0").await.records.is_empty());
        assert_eq!(found("U399").await.records.len(), 1);
        assert!(!found("shared").await.records.is_empty());
    });
    ex.expect("executor").join().expect("test body");
}
