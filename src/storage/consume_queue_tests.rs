//! ConsumeQueue behaviour over the in-memory and the real disk: entries written, flushed
//! and read back, a reopen's search for the stored range, holes, retention, late starts.

use super::*;
use crate::storage::io::{Faults, MemDisk};
use crate::storage::{run_local, test_dir};

fn entry(i: u64) -> CqEntry {
    CqEntry {
        physical_offset: PhysicalOffset(i * 100),
        size: 90,
        tags_code: i as i64 - 5,
    }
}

async fn fill_flush_reopen(disk: Disk, dir: PathBuf) {
    let cq = ConsumeQueue::open(
        disk.clone(),
        dir.clone(),
        1024,
        PhysicalOffset(u64::MAX),
        false,
    )
    .await
    .unwrap();
    for i in 0..1500 {
        cq.push(QueueOffset(i), entry(i)).unwrap();
        if i % 700 == 0 {
            cq.flush().await.unwrap();
        }
    }
    assert_eq!(
        cq.entries(QueueOffset(1000), 100).await.unwrap()[5],
        entry(1005)
    );
    // Read from disk with the flushed entries after them (up to 1401), then from the
    // read-ahead buffer, which never holds an entry past what was flushed when it was read.
    assert_eq!(
        cq.entries(QueueOffset(1390), 20).await.unwrap(),
        (1390..1410).map(entry).collect::<Vec<_>>()
    );
    cq.flush().await.unwrap();
    assert_eq!(
        cq.entries(QueueOffset(1395), 20).await.unwrap(),
        (1395..1415).map(entry).collect::<Vec<_>>()
    );
    assert_eq!(
        cq.entry(QueueOffset(1499)).await.unwrap(),
        Some(entry(1499))
    );
    assert_eq!(cq.entry(QueueOffset(1500)).await.unwrap(), None);
    assert!(
        cq.heap_bytes() <= 4 * IO_ALIGN,
        "idle queue holds {} B",
        cq.heap_bytes()
    );
    let all = cq.entries(QueueOffset(0), 2000).await.unwrap();
    assert_eq!(all, (0..1500).map(entry).collect::<Vec<_>>());
    drop(cq);
    // Reopen as after an interrupted checkpoint, keeping only entries below 1200 * 100.
    let cq = ConsumeQueue::open(
        disk.clone(),
        dir.clone(),
        1024,
        PhysicalOffset(120_000),
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        (cq.min_offset(), cq.max_offset()),
        (QueueOffset(0), QueueOffset(1200))
    );
    assert_eq!(cq.entries(QueueOffset(1190), 100).await.unwrap().len(), 10);
    cq.push(
        QueueOffset(1200),
        CqEntry {
            physical_offset: PhysicalOffset(130_000),
            ..entry(0)
        },
    )
    .unwrap();
    cq.flush().await.unwrap();
    drop(cq);
    // Stale entries past the cut were wiped: nothing beyond 1201 comes back.
    let cq = ConsumeQueue::open(disk, dir, 1024, PhysicalOffset(u64::MAX), false)
        .await
        .unwrap();
    assert_eq!(cq.max_offset(), QueueOffset(1201));
    assert_eq!(
        cq.entry(QueueOffset(1200))
            .await
            .unwrap()
            .unwrap()
            .physical_offset
            .0,
        130_000
    );
}

#[test]
fn mem_queue_survives_reopen_and_cut() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        fill_flush_reopen(disk, PathBuf::from("/cq/T/0")).await;
    });
}

#[test]
fn lost_records_leave_holes_that_survive_a_reopen() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        let dir = PathBuf::from("/cq/T/1");
        let open = || {
            let (disk, dir) = (disk.clone(), dir.clone());
            ConsumeQueue::open(disk, dir, 1024, PhysicalOffset(u64::MAX), false)
        };
        let cq = open().await.unwrap();
        cq.push(QueueOffset(0), entry(0)).unwrap();
        // Records 1 and 2 were lost; 3 is where 2 would have been, so it is refused.
        assert!(cq.push(QueueOffset(3), entry(3)).is_err());
        cq.push_holes(QueueOffset(3), entry(3).physical_offset);
        cq.push(QueueOffset(3), entry(3)).unwrap();
        let hole = CqEntry {
            size: CqEntry::HOLE_SIZE,
            tags_code: 0,
            ..entry(3)
        };
        let want = vec![entry(0), hole, hole, entry(3)];
        assert_eq!(cq.entries(QueueOffset(0), 10).await.unwrap(), want);
        assert!(hole.is_hole() && !entry(3).is_hole());
        // Backwards: refused, nothing changes.
        assert!(cq.push(QueueOffset(3), entry(4)).is_err());
        assert_eq!(cq.max_offset(), QueueOffset(4));
        cq.flush().await.unwrap();
        drop(cq);
        let cq = open().await.unwrap();
        assert_eq!(cq.max_offset(), QueueOffset(4));
        assert_eq!(cq.entries(QueueOffset(0), 10).await.unwrap(), want);
    });
}

#[test]
fn a_few_entries_in_a_full_size_sparse_segment_reopen_and_cut() {
    // The default segment (299,008 entries): the search for the end probes far past the
    // few blocks written, which read as zeros without a read.
    let dir = test_dir("cq-sparse");
    let d = dir.join("T").join("0");
    run_local(move || async move {
        let eps = 299_008;
        let open = |keep_below, wipe| {
            ConsumeQueue::open(Disk::Dma, d.clone(), eps, PhysicalOffset(keep_below), wipe)
        };
        let cq = open(u64::MAX, false).await.unwrap();
        for i in 0..3 {
            cq.push(QueueOffset(i), entry(i)).unwrap();
        }
        cq.flush().await.unwrap();
        drop(cq);
        let cq = open(u64::MAX, false).await.unwrap();
        assert_eq!((cq.min_offset().0, cq.max_offset().0), (0, 3));
        for i in 3..1500 {
            cq.push(QueueOffset(i), entry(i)).unwrap();
        }
        cq.flush().await.unwrap();
        drop(cq);
        // Cut at entry 1100 and wipe past it, as after an interrupted checkpoint.
        let cq = open(110_000, true).await.unwrap();
        assert_eq!(cq.max_offset().0, 1100);
        assert_eq!(
            cq.entries(QueueOffset(1095), 10).await.unwrap(),
            (1095..1100).map(entry).collect::<Vec<_>>()
        );
        drop(cq);
        let cq = open(u64::MAX, false).await.unwrap();
        assert_eq!(cq.max_offset().0, 1100);
        // Following the log's start: nothing below it, then past entries 500 and 600.
        for (log_min, min) in [(0, 0), (50_000, 500), (60_000, 600), (100, 600)] {
            cq.delete_before(PhysicalOffset(log_min)).await.unwrap();
            assert_eq!(cq.min_offset().0, min, "log starting at {log_min}");
        }
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dma_queue_survives_reopen_and_cut() {
    let dir = test_dir("cq");
    let d = dir.clone();
    run_local(move || async move { fill_flush_reopen(Disk::Dma, d.join("T").join("0")).await });
    std::fs::remove_dir_all(dir).unwrap();
}

async fn start_late_reopen(disk: Disk, dir: PathBuf) {
    let open = || {
        ConsumeQueue::open(
            disk.clone(),
            dir.clone(),
            4096,
            PhysicalOffset(u64::MAX),
            false,
        )
    };
    let cq = open().await.unwrap();
    // Past the first block of entries of its segment (4096..8192): the file's data starts
    // at 6144, where the holes before 7000 begin.
    cq.start_at(QueueOffset(7000), entry(7000).physical_offset);
    for i in 7000..7010 {
        cq.push(QueueOffset(i), entry(i)).unwrap();
    }
    let stored = (7000..7010).map(entry).collect::<Vec<_>>();
    assert_eq!(cq.entries(QueueOffset(7000), 20).await.unwrap(), stored);
    cq.flush().await.unwrap();
    drop(cq);
    let cq = open().await.unwrap();
    assert_eq!(
        (cq.min_offset(), cq.max_offset()),
        (QueueOffset(7000), QueueOffset(7010))
    );
    assert_eq!(cq.entries(QueueOffset(7000), 20).await.unwrap(), stored);
    assert!(cq.entries(QueueOffset(6999), 1).await.is_err());
    cq.push(QueueOffset(7010), entry(7010)).unwrap();
}

#[test]
fn mem_queue_starting_late_survives_reopen() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        start_late_reopen(disk, PathBuf::from("/cq/T/2")).await;
    });
}

#[test]
fn dma_queue_starting_late_survives_reopen() {
    let dir = test_dir("cq-late");
    let d = dir.clone();
    run_local(move || async move { start_late_reopen(Disk::Dma, d.join("T").join("0")).await });
    std::fs::remove_dir_all(dir).unwrap();
}
