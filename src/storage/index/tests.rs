//! Unit tests of the index: lookups, collisions, file roll, time ranges, reopening,
//! retention and cut flushes.

use std::path::Path;

use super::file::key_hash;
use super::*;
use crate::storage::io::mem::SeedGuard;
use crate::storage::io::{Faults, MemDisk, SimRng, IO_ALIGN};
use crate::storage::record::{encode_with_properties, patch, scan, Scanned};
use crate::storage::{run_local, test_dir, QueueId, QueueOffset};

const T0: i64 = 1_700_000_000_000;

fn geo(slots: u32, entries: u32) -> Geometry {
    Geometry { slots, entries }
}

/// A record of `topic` at log `offset`, stored at `ts`, with a unique key and keys.
fn record(topic: &str, offset: u64, ts: i64, uniq: &str, keys: &str) -> Vec<u8> {
    let props = format!("UNIQ_KEY\u{1}{uniq}\u{2}KEYS\u{1}{keys}\u{2}");
    let mut rec = encode_with_properties(topic, QueueId(0), b"body", &props);
    patch(&mut rec, QueueOffset(0), PhysicalOffset(offset), ts);
    rec
}

fn add(index: &Index, topic: &str, offset: u64, ts: i64, uniq: &str, keys: &str) {
    let rec = record(topic, offset, ts, uniq, keys);
    let Scanned::Record(meta) = scan(&rec) else {
        panic!("not a record")
    };
    let keys = KeyHashes::of(meta.topic, meta.uniq_key, meta.keys);
    index.add(offset, ts, &keys);
}

async fn found(index: &Index, topic: &str, key: &str, begin: i64, end: i64) -> Vec<u64> {
    let mut lookup = index.lookup(topic, key, begin, end);
    let mut out = Vec::new();
    while let Some(at) = lookup.next().await.expect("lookup") {
        out.push(at.0);
    }
    out
}

async fn all(index: &Index, topic: &str, key: &str) -> Vec<u64> {
    found(index, topic, key, 0, i64::MAX).await
}

async fn open(disk: &Disk, g: Geometry) -> Index {
    Index::open(disk.clone(), PathBuf::from("/s/index"), g)
        .await
        .expect("index opens")
}

fn mem() -> Disk {
    Disk::Mem(MemDisk::new(1, Faults::default()))
}

#[test]
fn key_hashes_keep_every_key_in_order_past_the_inline_ones() {
    let keys = "k1 k2  k3 k4 k5 k6";
    let hashes: Vec<i32> = KeyHashes::of("T", Some("U"), Some(keys)).iter().collect();
    let expected: Vec<i32> = ["U", "k1", "k2", "k3", "k4", "k5", "k6"]
        .iter()
        .map(|k| key_hash("T", k))
        .collect();
    assert_eq!(hashes, expected);
    assert_eq!(KeyHashes::of("T", None, Some(" ")).iter().count(), 0);
}

#[test]
fn keys_and_unique_keys_are_found_newest_first() {
    run_local(|| async {
        let index = open(&mem(), geo(64, 1000)).await;
        for i in 0..10u64 {
            let keys = if i % 2 == 0 { "even all" } else { "odd  all" };
            add(&index, "T", i * 100, T0 + i as i64, &format!("U{i}"), keys);
        }
        add(&index, "Other", 2000, T0, "U0", "even");
        assert_eq!(all(&index, "T", "U3").await, [300]);
        assert_eq!(all(&index, "T", "even").await, [800, 600, 400, 200, 0]);
        assert_eq!(all(&index, "T", "all").await.len(), 10);
        assert_eq!(all(&index, "T", "").await, Vec::<u64>::new());
        assert_eq!(all(&index, "Other", "even").await, [2000]);
        assert_eq!(all(&index, "T", "missing").await, Vec::<u64>::new());
        assert_eq!(index.last_update(), (T0, PhysicalOffset(2000)));
    });
}

#[test]
fn colliding_keys_share_chains_and_keep_their_hashes() {
    run_local(|| async {
        // One slot: every key shares a chain, and only entries with the key's own hash
        // are candidates.
        let index = open(&mem(), geo(1, 1000)).await;
        for i in 0..20u64 {
            add(
                &index,
                "T",
                i * 10,
                T0,
                &format!("U{i}"),
                &format!("k{}", i % 4),
            );
        }
        assert_eq!(all(&index, "T", "k1").await, [170, 130, 90, 50, 10]);
        assert_eq!(all(&index, "T", "U7").await, [70]);
        // "Aa" and "BB" have the same Java hash: the index cannot tell them apart, the
        // store's check of each record does.
        assert_eq!(key_hash("T", "Aa"), key_hash("T", "BB"));
        add(&index, "T", 500, T0, "X1", "Aa");
        add(&index, "T", 600, T0, "X2", "BB");
        assert_eq!(all(&index, "T", "Aa").await, [600, 500]);
    });
}

#[test]
fn full_files_roll_and_lookups_span_them() {
    run_local(|| async {
        let disk = mem();
        let index = open(&disk, geo(4, 8)).await;
        // One unique key and one shared key per record: 7 entries per file.
        for i in 0..30u64 {
            add(
                &index,
                "T",
                i * 10,
                T0 + i as i64 * 1000,
                &format!("U{i}"),
                "k",
            );
        }
        let names = index.file_names();
        assert_eq!(names.len(), 9, "{names:?}");
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        let newest_first: Vec<u64> = (0..30).rev().map(|i| i * 10).collect();
        assert_eq!(all(&index, "T", "k").await, newest_first);
        assert_eq!(all(&index, "T", "U0").await, [0]);
        index.flush(PhysicalOffset(300)).await.unwrap();
        // Only the newest file keeps memory once everything is written.
        let one_file = Writing::new(geo(4, 8)).heap_bytes();
        assert!(index.heap_bytes() <= one_file + 3 * IO_ALIGN);
        assert_eq!(all(&index, "T", "k").await, newest_first);
        drop(index);
        let index = open(&disk, geo(4, 8)).await;
        assert_eq!(index.file_names(), names);
        assert_eq!(all(&index, "T", "k").await, newest_first);
        assert_eq!(all(&index, "T", "U29").await, [290]);
    });
}

#[test]
fn time_ranges_select_entries_and_files() {
    run_local(|| async {
        let index = open(&mem(), geo(8, 6)).await;
        // Stored a minute apart; 5 entries per file, so files span 5 minutes each.
        for i in 0..12u64 {
            add(
                &index,
                "T",
                i * 10,
                T0 + i as i64 * 60_000,
                &format!("U{i}"),
                "",
            );
            add(&index, "T", i * 10, T0 + i as i64 * 60_000, "", "k");
        }
        let minute = |m: i64| T0 + m * 60_000;
        assert_eq!(
            found(&index, "T", "k", minute(3), minute(5)).await,
            [50, 40, 30]
        );
        assert_eq!(found(&index, "T", "k", minute(11), i64::MAX).await, [110]);
        assert_eq!(found(&index, "T", "k", 0, minute(0)).await, [0]);
        assert!(found(&index, "T", "k", minute(12), i64::MAX)
            .await
            .is_empty());
        assert!(found(&index, "T", "k", 0, T0 - 1).await.is_empty());
        // Within a second of the range's end: the index keeps whole seconds.
        assert_eq!(found(&index, "T", "U4", minute(4), minute(4)).await, [40]);
    });
}

#[test]
fn a_reopened_index_skips_what_it_covers_and_goes_on() {
    run_local(|| async {
        let disk = mem();
        let index = open(&disk, geo(16, 1000)).await;
        for i in 0..5u64 {
            add(&index, "T", i * 10, T0, &format!("U{i}"), "k");
        }
        index.flush(PhysicalOffset(50)).await.unwrap();
        // Filed after the flush, lost with the process.
        add(&index, "T", 50, T0, "U5", "k");
        drop(index);
        let index = open(&disk, geo(16, 1000)).await;
        assert_eq!(all(&index, "T", "k").await, [40, 30, 20, 10, 0]);
        // Reput re-dispatches from an older checkpoint: covered records are not filed
        // twice, the rest is.
        for i in 3..6u64 {
            add(&index, "T", i * 10, T0, &format!("U{i}"), "k");
        }
        assert_eq!(all(&index, "T", "k").await, [50, 40, 30, 20, 10, 0]);
        assert_eq!(all(&index, "T", "U5").await, [50]);
        index.flush(PhysicalOffset(60)).await.unwrap();
        drop(index);
        // Had the log lost records the state covers, what is appended there is filed.
        let index = open(&disk, geo(16, 1000)).await;
        index.log_recovered(PhysicalOffset(40));
        add(&index, "T", 40, T0, "V4", "k");
        assert_eq!(all(&index, "T", "V4").await, [40]);
        drop(index);
        // A geometry change is refused, naming the settings.
        for other in [geo(32, 1000), geo(16, 1001)] {
            let reopened = Index::open(disk.clone(), PathBuf::from("/s/index"), other).await;
            let Err(err) = reopened else {
                panic!("{other:?} opened files of {:?}", geo(16, 1000))
            };
            assert!(err.to_string().contains("maxHashSlotNum"), "{err}");
        }
    });
}

#[test]
fn retention_deletes_files_below_the_log_start() {
    run_local(|| async {
        let disk = mem();
        let index = open(&disk, geo(4, 4)).await;
        for i in 0..9u64 {
            add(&index, "T", i * 10, T0, &format!("U{i}"), "");
        }
        index.flush(PhysicalOffset(90)).await.unwrap();
        assert_eq!(index.file_names().len(), 3);
        assert_eq!(index.delete_before(PhysicalOffset(20)).await.unwrap(), 0);
        assert_eq!(index.delete_before(PhysicalOffset(21)).await.unwrap(), 1);
        assert!(all(&index, "T", "U0").await.is_empty());
        assert_eq!(all(&index, "T", "U3").await, [30]);
        // The newest file stays whatever its entries point at.
        assert_eq!(index.delete_before(PhysicalOffset(1000)).await.unwrap(), 1);
        assert_eq!(index.file_names().len(), 1);
        assert_eq!(disk.list_dir(Path::new("/s/index")).await.unwrap().len(), 2);
    });
}

/// Files up to 40 records numbered from `next`, each under `U<n>` and `k<n % 5>`.
fn add_some(index: &Index, rng: &mut SimRng, next: &mut u64, added: &mut Vec<u64>) {
    for _ in 0..rng.below(40) {
        let n = *next;
        let (u, k) = (format!("U{n}"), format!("k{}", n % 5));
        add(index, "T", n * 10, T0 + n as i64, &u, &k);
        added.push(n);
        *next += 1;
    }
}

/// Flushes cut at a random point, then a crash: every record a finished flush covered is
/// found again, and nothing is named but entries that were filed. (A cut flush may still
/// have reached the disk, so records get new offsets after a crash, as the log's synced
/// records keep theirs.)
#[test]
fn a_cut_flush_leaves_every_flushed_key_findable() {
    run_local(|| async {
        let seeds = std::env::var("INDEX_SEED")
            .ok()
            .and_then(|s| s.parse().ok());
        for seed in seeds.map_or(0..300, |s: u64| s..s + 1) {
            let _guard = SeedGuard(seed);
            let mut rng = SimRng::new(seed);
            let mem = MemDisk::new(seed, Faults::default());
            let disk = Disk::Mem(mem.clone());
            let g = geo(1 + rng.below(40) as u32, 2 + rng.below(60) as u32);
            let (mut durable, mut next) = (Vec::new(), 0u64);
            for _life in 0..4 {
                let index = Rc::new(open(&disk, g).await);
                for &i in &durable {
                    let got = all(&index, "T", &format!("U{i}")).await;
                    assert_eq!(got, [i * 10], "{g:?}: U{i}");
                    let shared = all(&index, "T", &format!("k{}", i % 5)).await;
                    assert!(shared.contains(&(i * 10)), "{g:?}: k of U{i}");
                    let filed = |o: &u64| o % 50 == i % 5 * 10 && o / 10 < next;
                    assert!(shared.iter().all(filed), "{g:?}: {shared:?} for U{i}");
                }
                let mut added = Vec::new();
                for _ in 0..rng.below(3) {
                    add_some(&index, &mut rng, &mut next, &mut added);
                    index.flush(PhysicalOffset(next * 10)).await.unwrap();
                    durable.append(&mut added);
                }
                add_some(&index, &mut rng, &mut next, &mut added);
                let cut = Rc::clone(&index);
                let covered = PhysicalOffset(next * 10);
                let done = Rc::new(Cell::new(false));
                let finished = Rc::clone(&done);
                let task = glommio::spawn_local(async move {
                    cut.flush(covered).await.unwrap();
                    finished.set(true);
                });
                for _ in 0..rng.below(30) {
                    futures_lite::future::yield_now().await;
                }
                drop(task);
                if done.get() {
                    durable.append(&mut added);
                }
                drop(index);
                mem.crash();
            }
        }
    });
}

#[test]
fn dma_index_survives_reopen() {
    let dir = test_dir("index");
    let d = dir.join("index");
    run_local(move || async move {
        let g = geo(1000, 3000);
        let index = Index::open(Disk::Dma, d.clone(), g).await.unwrap();
        for i in 0..5000u64 {
            let keys = format!("k{}", i % 7);
            add(&index, "T", i * 10, T0 + i as i64, &format!("U{i}"), &keys);
            if i % 1500 == 0 {
                index.flush(PhysicalOffset(i * 10 + 10)).await.unwrap();
            }
        }
        index.flush(PhysicalOffset(50_000)).await.unwrap();
        drop(index);
        let index = Index::open(Disk::Dma, d, g).await.unwrap();
        assert_eq!(index.file_names().len(), 4);
        for i in [0u64, 1499, 1500, 2999, 4999] {
            assert_eq!(all(&index, "T", &format!("U{i}")).await, [i * 10]);
        }
        let k3 = all(&index, "T", "k3").await;
        let want = (0..5000u64).rev().filter(|i| i % 7 == 3).map(|i| i * 10);
        assert_eq!(k3, want.collect::<Vec<_>>());
    });
    std::fs::remove_dir_all(dir).unwrap();
}
