//! The timer index's entries and minute files.

use super::*;
use proptest::prelude::*;

fn entry(due_ms: i64, queue_offset: u64) -> TimerEntry {
    TimerEntry {
        due_ms,
        queue_offset,
        physical_offset: queue_offset * 300,
        size: 300,
    }
}

fn files(name: &str) -> SlotFiles {
    let files = SlotFiles::new(crate::storage::test_dir(name));
    std::fs::create_dir_all(files.dir()).expect("dir");
    files
}

proptest! {
    #[test]
    fn an_entry_reads_back_and_any_flipped_bit_is_seen(
        due in any::<i64>(),
        queue_offset in any::<u64>(),
        physical_offset in any::<u64>(),
        size in any::<u32>(),
        bit in 0usize..ENTRY_LEN * 8,
    ) {
        let e = TimerEntry { due_ms: due, queue_offset, physical_offset, size };
        let mut bytes = e.encode();
        prop_assert_eq!(TimerEntry::decode(&bytes), Some(e));
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(TimerEntry::decode(&bytes), None);
    }

    #[test]
    fn a_due_time_is_listed_in_the_minute_it_falls_in(due in 0i64..4_000_000_000_000) {
        let bucket = bucket_of(due);
        prop_assert!(bucket <= due && due < bucket + BUCKET_MS);
        prop_assert_eq!(bucket % BUCKET_MS, 0);
    }
}

#[test]
fn entries_sort_by_due_time_first() {
    let mut entries = [entry(2_000, 1), entry(1_000, 9), entry(1_000, 3)];
    entries.sort();
    assert_eq!(entries, [entry(1_000, 3), entry(1_000, 9), entry(2_000, 1)]);
}

#[test]
fn files_keep_each_minute_apart_and_load_sorted() {
    let files = files("timer-slots");
    files
        .append(&[(0, vec![entry(50_000, 0), entry(10_000, 1)])])
        .expect("append");
    files
        .append(&[
            (0, vec![entry(20_000, 3)]),
            (60_000, vec![entry(61_000, 2)]),
        ])
        .expect("append");
    let found = files.scan(0).expect("scan");
    let infos: Vec<_> = found
        .iter()
        .map(|(b, i)| (*b, i.entries, i.last_queue_offset))
        .collect();
    assert_eq!(infos, [(0, 3, 3), (60_000, 1, 2)]);
    let (loaded, damaged) = files.load(0).expect("load");
    assert_eq!(damaged, 0);
    assert_eq!(
        loaded,
        [entry(10_000, 1), entry(20_000, 3), entry(50_000, 0)]
    );
    assert_eq!(files.load(120_000).expect("missing"), (Vec::new(), 0));
    // A minute wholly delivered is removed by the next scan.
    let found = files.scan(60_000).expect("scan");
    assert_eq!(found.keys().copied().collect::<Vec<_>>(), [60_000]);
    files.remove(&[60_000]).expect("remove");
    assert!(files.scan(0).expect("scan").is_empty());
    let _ = std::fs::remove_dir_all(files.dir());
}

#[test]
fn a_torn_tail_is_cut_and_damage_inside_is_counted() {
    let files = files("timer-slots-torn");
    files
        .append(&[(0, vec![entry(1_000, 0), entry(2_000, 1), entry(3_000, 2)])])
        .expect("append");
    let path = files.dir().join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&path).expect("read");
    // A whole entry of zeros (space allocated, data never written) and half an entry.
    bytes.extend_from_slice(&[0u8; ENTRY_LEN]);
    bytes.extend_from_slice(&entry(4_000, 3).encode()[..ENTRY_LEN / 2]);
    // Damage in the middle.
    bytes[ENTRY_LEN + 3] ^= 0xFF;
    std::fs::write(&path, &bytes).expect("write");
    let found = files.scan(0).expect("scan");
    assert_eq!(
        found[&0],
        FileInfo {
            entries: 3,
            last_queue_offset: 2
        }
    );
    assert_eq!(
        std::fs::metadata(&path).expect("file").len(),
        3 * ENTRY_LEN as u64
    );
    let (loaded, damaged) = files.load(0).expect("load");
    assert_eq!(
        (loaded, damaged),
        (vec![entry(1_000, 0), entry(3_000, 2)], 1)
    );
    // A file with nothing whole left goes.
    std::fs::write(&path, [7u8; 10]).expect("write");
    assert!(files.scan(0).expect("scan").is_empty());
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(files.dir());
}
