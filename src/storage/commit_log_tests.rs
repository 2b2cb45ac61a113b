//! CommitLog behaviour over the in-memory and the real disk: offsets, segment roll with the
//! blank filler, reads from the tail and from disk, SYNC group commit, ASYNC flush, disk full.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::commit_log::{Appended, CommitLog};
use super::config::{FlushPolicy, LogConfig};
use super::io::{Disk, Faults, MemDisk, SimRng};
use super::offsets::{segment_name, PhysicalOffset, QueueId};
use super::record::{encode, patch, scan, Scanned, MAGIC_BLANK};
use super::{run_local, test_dir, QueueOffset, StoreError, StoreResult};

async fn fresh(disk: Disk, dir: PathBuf, config: LogConfig) -> CommitLog {
    disk.create_dir_all(&dir).await.unwrap();
    CommitLog::start(disk, dir, config, BTreeMap::new(), 0, &[])
        .await
        .unwrap()
}

fn record(rng: &mut SimRng, n: u64) -> Vec<u8> {
    let body = vec![(n % 251) as u8; rng.below(3000) as usize];
    encode("T", QueueId(0), &body, Some("tag"))
}

fn stamp(rec: &mut [u8], at: PhysicalOffset) {
    patch(rec, QueueOffset(0), at, 1);
}

/// Appends `rec`, stamped with its offset as it is stored, and leaves it stamped.
fn append_stamped(log: &CommitLog, rec: &mut [u8]) -> StoreResult<Appended> {
    log.append(std::iter::once(rec.len()), |_, out, at| {
        stamp(rec, at);
        out.copy_from_slice(rec);
    })
}

/// Appends 200 records over several 64 KiB segments, then reads every one back.
async fn append_roll_and_read(disk: Disk, dir: PathBuf, flush: FlushPolicy) {
    let log = fresh(disk, dir, LogConfig::small(flush)).await;
    let mut rng = SimRng::new(3);
    let mut stored = Vec::new();
    for n in 0..200 {
        let mut rec = record(&mut rng, n);
        let a = loop {
            match append_stamped(&log, &mut rec) {
                Err(StoreError::Busy) => log.writable(rec.len() as u64).await.unwrap(),
                other => break other.unwrap(),
            }
        };
        assert!(
            a.offset.0 % 65536 + rec.len() as u64 + 8 <= 65536,
            "no straddle"
        );
        a.durable.await.unwrap();
        stored.push((a.offset, rec));
    }
    log.flush().await.unwrap();
    assert!(
        log.segment_starts().len() >= 4,
        "rolled: {:?}",
        log.segment_starts()
    );
    for (offset, rec) in &stored {
        let (file, pos) = log
            .file_range(*offset, rec.len())
            .expect("flushed range is on disk");
        assert_eq!(&*file.read_at(pos, rec.len()).await.unwrap(), &rec[..]);
        let got = log.read(*offset, rec.len()).await.unwrap();
        assert_eq!(&*got, &rec[..], "record at {offset}");
        assert!(matches!(scan(&got), Scanned::Record(m) if m.physical_offset == *offset));
    }
    // Batched reads agree with single ones: every third record (one queue of three), merged
    // into shared reads where close, and every record in runs that cross segment ends.
    for (step, chunk) in [(3, 32), (1, 64)] {
        let picked: Vec<_> = stored.iter().step_by(step).collect();
        for run in picked.chunks(chunk) {
            let ranges: Vec<_> = run.iter().map(|(o, r)| (*o, r.len())).collect();
            let got = log.read_many(&ranges).await.unwrap();
            assert_eq!(got.len(), run.len());
            for ((offset, rec), bytes) in run.iter().zip(&got) {
                assert_eq!(&bytes[..], &rec[..], "batched read at {offset}");
            }
        }
    }
    let end = log.end();
    let past = log.read_many(&[(stored[0].0, 8), (end, 8)]).await;
    assert!(
        matches!(past, Err(StoreError::OutOfRange { .. })),
        "{past:?}"
    );
    // The first segment ends with a filler where the next record did not fit.
    let (last_off, last) = stored
        .iter()
        .take_while(|(o, _)| o.0 < 65536)
        .last()
        .unwrap();
    let filler_at = last_off.0 + last.len() as u64;
    let filler = log.read(PhysicalOffset(filler_at), 8).await.unwrap();
    assert_eq!(
        u32::from_be_bytes(filler[4..8].try_into().unwrap()),
        MAGIC_BLANK
    );
    log.close().await.unwrap();
}

#[test]
fn mem_sync_append_roll_read() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        append_roll_and_read(disk, PathBuf::from("/s/commitlog"), FlushPolicy::Sync).await;
    });
}

#[test]
fn mem_async_append_roll_read() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        append_roll_and_read(disk, PathBuf::from("/s/commitlog"), FlushPolicy::Async).await;
    });
}

#[test]
fn dma_sync_append_roll_read() {
    let dir = test_dir("commitlog");
    let root = dir.clone();
    run_local(move || async move {
        append_roll_and_read(Disk::Dma, dir.join("commitlog"), FlushPolicy::Sync).await;
    });
    let names: Vec<_> = std::fs::read_dir(root.join("commitlog")).unwrap().collect();
    assert!(names.len() >= 4);
    assert!(root.join("commitlog").join(segment_name(65536)).exists());
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn sync_appends_waiting_together_share_one_sync() {
    run_local(|| async {
        let mem = MemDisk::new(1, Faults::default());
        let log = fresh(
            Disk::Mem(mem.clone()),
            "/g".into(),
            LogConfig::small(FlushPolicy::Sync),
        )
        .await;
        let mut rng = SimRng::new(9);
        let mut pending = Vec::new();
        for n in 0..64 {
            let mut rec = record(&mut rng, n);
            rec.truncate(200);
            let mut rec = encode("T", QueueId(0), &rec, None);
            pending.push(append_stamped(&log, &mut rec).unwrap().durable);
        }
        let before = mem.syncs();
        for d in pending {
            d.await.unwrap();
        }
        assert!(
            mem.syncs() - before <= 2,
            "64 appenders took {} syncs",
            mem.syncs() - before
        );
        assert_eq!(log.flushed(), log.end());
    });
}

#[test]
fn disk_full_refuses_appends_and_keeps_reads() {
    run_local(|| async {
        let faults = Faults {
            capacity_bytes: Some(2 * 65536),
            ..Faults::default()
        };
        let mem = MemDisk::new(1, faults);
        let config = LogConfig {
            flush_interval_ms: 20,
            ..LogConfig::small(FlushPolicy::Sync)
        };
        let log = fresh(Disk::Mem(mem.clone()), "/f".into(), config).await;
        let mut rng = SimRng::new(5);
        let mut first = None;
        let err = loop {
            let mut rec = record(&mut rng, 1);
            match append_stamped(&log, &mut rec) {
                Ok(a) => {
                    a.durable.await.unwrap();
                    first.get_or_insert((a.offset, rec));
                }
                Err(StoreError::Busy) => log.writable(rec.len() as u64).await.unwrap_or(()),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, StoreError::DiskFull), "{err}");
        let (offset, rec) = first.unwrap();
        assert_eq!(&*log.read(offset, rec.len()).await.unwrap(), &rec[..]);
        // Space comes back (retention elsewhere): the writer retries on its next tick.
        mem.set_faults(Faults::default());
        let mut rec = record(&mut rng, 2);
        for _ in 0..100 {
            glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
            if let Ok(a) = append_stamped(&log, &mut rec) {
                return a.durable.await.unwrap();
            }
        }
        panic!("appends did not resume after space came back");
    });
}

#[test]
fn failed_sync_fails_waiters_and_later_appends() {
    run_local(|| async {
        let mem = MemDisk::new(1, Faults::default());
        let log = fresh(
            Disk::Mem(mem.clone()),
            "/e".into(),
            LogConfig::small(FlushPolicy::Sync),
        )
        .await;
        mem.set_faults(Faults {
            sync_fail_per_mille: 1000,
            ..Faults::default()
        });
        let mut rec = encode("T", QueueId(0), b"x", None);
        let a = append_stamped(&log, &mut rec).unwrap();
        assert!(matches!(a.durable.await, Err(StoreError::Io { .. })));
        assert!(matches!(
            append_stamped(&log, &mut rec),
            Err(StoreError::Failed)
        ));
        assert_eq!(&*log.read(a.offset, rec.len()).await.unwrap(), &rec[..]);
    });
}

#[test]
fn async_interval_sync_happens_under_steady_traffic() {
    run_local(|| async {
        let disk = Disk::Mem(MemDisk::new(1, Faults::default()));
        let config = LogConfig {
            flush_interval_ms: 20,
            ..LogConfig::small(FlushPolicy::Async)
        };
        let log = fresh(disk, "/a".into(), config).await;
        // Appends wake the writer every few milliseconds, faster than the interval.
        for n in 0..150 {
            let mut rec = encode("T", QueueId(0), &[n as u8; 1500], None);
            append_stamped(&log, &mut rec)
                .unwrap()
                .durable
                .await
                .unwrap(); // ASYNC: resolves at once
            glommio::timer::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert!(log.flushed().0 > 0, "no interval sync while traffic flowed");
    });
}

#[test]
fn the_writer_keeps_writes_in_flight_and_writes_an_idle_tail_at_once() {
    run_local(|| async {
        let mem = MemDisk::new(1, Faults::default());
        let config = LogConfig {
            writes_in_flight_max: 4,
            flush_interval_ms: 3_600_000,
            ..LogConfig::small(FlushPolicy::Async)
        };
        let log = fresh(Disk::Mem(mem.clone()), "/w".into(), config).await;
        // 24 KiB per pass, three blocks: the writer has full blocks to write all along.
        for n in 0..100 {
            for _ in 0..3 {
                let mut rec = encode("T", QueueId(0), &[n as u8; 7000], None);
                let a = loop {
                    match append_stamped(&log, &mut rec) {
                        Err(StoreError::Busy) => log.writable(rec.len() as u64).await.unwrap(),
                        other => break other.unwrap(),
                    }
                };
                a.durable.await.unwrap();
            }
            futures_lite::future::yield_now().await;
        }
        assert_eq!(mem.writes_in_flight_max(), 4, "writes in flight at once");
        // An idle log writes what was acknowledged without waiting for a sync, so a
        // process crash does not lose it.
        let mut rec = encode("T", QueueId(0), &[1; 100], None);
        append_stamped(&log, &mut rec)
            .unwrap()
            .durable
            .await
            .unwrap();
        glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(log.written(), log.end());
        assert!(log.flushed() < log.end(), "no sync was due");
    });
}

/// Copies `from` into `to` in pieces of at most `max` bytes (1 to `max`, by `rng`), as a
/// replica would, until `to` ends where `from` does.
async fn copy_all(from: &CommitLog, to: &CommitLog, rng: &mut SimRng, max: u64) {
    loop {
        let offset = to.end();
        let copied = from
            .read_copy(offset, 1 + rng.below(max) as usize)
            .await
            .unwrap();
        let piece = copied.bytes;
        if piece.is_empty() {
            assert_eq!(copied.next, offset);
            break;
        }
        loop {
            match to.append_copied(offset, &piece) {
                Err(StoreError::Busy) => to.copied_writable(&piece).await.unwrap(),
                other => break drop(other.unwrap()),
            };
        }
        assert_eq!(
            to.end(),
            copied.next,
            "the copy ends where the next piece starts"
        );
    }
    assert_eq!(to.end(), from.end());
}

/// Two empty logs on memory disks.
async fn master_and_replica() -> (CommitLog, CommitLog) {
    let config = LogConfig::small(FlushPolicy::Async);
    let log = |seed, dir: &str| {
        let disk = Disk::Mem(MemDisk::new(seed, Faults::default()));
        fresh(disk, dir.into(), config.clone())
    };
    (log(1, "/m").await, log(2, "/r").await)
}

#[test]
fn a_copy_holds_the_same_records_at_the_same_offsets() {
    run_local(|| async {
        let (master, replica) = master_and_replica().await;
        let mut rng = SimRng::new(17);
        let mut stored = Vec::new();
        for round in 0..6 {
            for n in 0..60 {
                let mut rec = record(&mut rng, round * 100 + n);
                let a = loop {
                    match append_stamped(&master, &mut rec) {
                        Err(StoreError::Busy) => master.writable(rec.len() as u64).await.unwrap(),
                        other => break other.unwrap(),
                    }
                };
                stored.push((a.offset, rec));
            }
            // Pieces from a few bytes (one record each) to several records.
            copy_all(&master, &replica, &mut rng, 12_000).await;
        }
        assert!(
            master.segment_starts().len() >= 4,
            "the copy crossed segment ends"
        );
        replica.flush().await.unwrap();
        for (offset, rec) in &stored {
            let copied = replica.read(*offset, rec.len()).await.unwrap();
            assert_eq!(&copied[..], &rec[..], "record at {offset:?}");
        }
    });
}

#[test]
fn a_copy_refuses_gaps_overlaps_and_unsound_records() {
    run_local(|| async {
        let (master, replica) = master_and_replica().await;
        let mut rng = SimRng::new(5);
        for n in 0..3 {
            let mut rec = record(&mut rng, n);
            rec.truncate(300);
            let mut rec = encode("T", QueueId(0), &rec, None);
            append_stamped(&master, &mut rec).unwrap();
        }
        let all = master
            .read_copy(PhysicalOffset(0), 1 << 20)
            .await
            .unwrap()
            .bytes;
        let first = master.read_copy(PhysicalOffset(0), 1).await.unwrap().bytes;
        let second_at = PhysicalOffset(first.len() as u64);

        let gap = replica.append_copied(second_at, &all[first.len()..]);
        assert!(
            matches!(gap, Err(StoreError::NotContiguous { offset, end: 0 }) if offset == second_at.0),
            "{gap:?}"
        );
        let torn = replica.append_copied(PhysicalOffset(0), &all[..all.len() - 1]);
        assert!(matches!(torn, Err(StoreError::Corrupt { .. })), "{torn:?}");
        let mut flipped = all.to_vec();
        flipped[all.len() - 2] ^= 1;
        let bad = replica.append_copied(PhysicalOffset(0), &flipped);
        assert!(matches!(bad, Err(StoreError::Corrupt { .. })), "{bad:?}");
        // The second record, offered as the first: it says it was written elsewhere.
        let misplaced = master.read_copy(second_at, 1).await.unwrap().bytes;
        let moved = replica.append_copied(PhysicalOffset(0), &misplaced);
        assert!(
            matches!(moved, Err(StoreError::Corrupt { .. })),
            "{moved:?}"
        );
        assert_eq!(replica.end(), PhysicalOffset(0), "nothing refused was kept");

        replica.append_copied(PhysicalOffset(0), &first).unwrap();
        let again = replica.append_copied(PhysicalOffset(0), &first);
        assert!(
            matches!(again, Err(StoreError::NotContiguous { .. })),
            "{again:?}"
        );
        replica
            .append_copied(second_at, &all[first.len()..])
            .unwrap();
        assert_eq!(replica.end(), master.end());
    });
}

#[test]
fn a_copy_of_a_log_whose_first_segments_are_gone_starts_at_its_oldest() {
    run_local(|| async {
        let (master, replica) = master_and_replica().await;
        let mut rng = SimRng::new(23);
        for n in 0..150 {
            let mut rec = record(&mut rng, n);
            loop {
                match append_stamped(&master, &mut rec) {
                    Err(StoreError::Busy) => master.writable(rec.len() as u64).await.unwrap(),
                    other => break drop(other.unwrap()),
                }
            }
        }
        master.flush().await.unwrap();
        while master.segment_starts().len() > 2 {
            master.remove_oldest_segment().await.unwrap();
        }
        let oldest = master.min_offset();
        assert!(oldest.0 > 0);
        replica.start_at(oldest).await.unwrap();
        assert_eq!((replica.min_offset(), replica.end()), (oldest, oldest));
        assert_eq!(replica.segment_starts()[0], oldest.0, "nothing below it");
        copy_all(&master, &replica, &mut rng, 12_000).await;
        replica.flush().await.unwrap();
        let all = (master.end().0 - oldest.0) as usize;
        let (left, right) = (
            master.read(oldest, all.min(4096)).await.unwrap(),
            replica.read(oldest, all.min(4096)).await.unwrap(),
        );
        assert_eq!(&left[..], &right[..]);
        // A log holding records is never moved.
        assert!(replica.start_at(master.end()).await.is_err());
    });
}
