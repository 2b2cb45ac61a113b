use super::*;

use proptest::prelude::*;

use crate::broker::metadata::groups::{self, GroupTable, SubscriptionGroupConfig};
use crate::broker::metadata::layout::StoreLayout;
use crate::broker::metadata::topics::{self, topic_config, TopicTable};
use crate::config::BrokerConfig;

fn record(counter: i64, put: &[&str], remove: &[&str]) -> Record<String> {
    Record {
        data_version: DataVersion {
            counter,
            ..DataVersion::default()
        },
        put: put.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    }
}

fn line(record: &Record<String>) -> Vec<u8> {
    serde_json::to_vec(record).expect("encodes")
}

fn replayed(file: &Path, since: i64) -> Result<Vec<Record<String>>, String> {
    let mut seen = Vec::new();
    replay(file, since, |record| seen.push(record))?;
    Ok(seen)
}

/// The data version counters of the records replayed after `since`.
fn counters(file: &Path, since: i64) -> Vec<i64> {
    let records = replayed(file, since).expect("replays");
    records.iter().map(|r| r.data_version.counter).collect()
}

#[test]
fn records_newer_than_the_snapshot_come_back_in_order() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("t.json");
    let mut journal = Journal::open(&file).expect("opens");
    for counter in 1..=3 {
        journal
            .append(&line(&record(counter, &["a"], &[])))
            .expect("appends");
    }
    assert_eq!(counters(&file, 1), [2, 3]);
}

#[test]
fn a_torn_last_line_is_dropped_and_any_other_bad_line_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("t.json");
    let good = line(&record(1, &["a"], &["b"]));
    let torn = [&good[..], b"\n", &good[..good.len() / 2]].concat();
    fs::write(journal_path(&file), &torn).expect("writes");
    assert_eq!(replayed(&file, 0), Ok(vec![record(1, &["a"], &["b"])]));

    let middle = [&good[..good.len() / 2], b"\n", &good[..], b"\n"].concat();
    fs::write(journal_path(&file), middle).expect("writes");
    let err = replayed(&file, 0).expect_err("a bad line before good ones");
    assert!(err.contains("t.json.journal line 1"), "{err}");
}

#[test]
fn a_failed_append_leaves_no_half_line_behind() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("t.json");
    let mut journal = Journal::open(&file).expect("opens");
    journal.append(b"{}").expect("appends");
    // A journal whose file can no longer be written: the append fails and is cut back.
    journal.journal = File::open(journal_path(&file)).expect("read-only handle");
    journal.append(b"{\"x\":1}").expect_err("read-only");
    assert_eq!(fs::read(journal_path(&file)).expect("reads"), b"{}\n");
}

#[test]
fn a_compaction_moves_the_journal_aside_until_the_snapshot_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("t.json");
    let mut journal = Journal::open(&file).expect("opens");
    journal.append(&line(&record(1, &["a"], &[]))).expect("1");
    let compaction = journal.rotate().expect("rotates");
    journal
        .append(&line(&record(2, &["b"], &[])))
        .expect("appends");
    // Before the snapshot is written, both journals are read, the old one first.
    assert_eq!(counters(&file, 0), [1, 2]);
    // A compaction still under way leaves the next rotation nothing to move.
    journal.rotate().expect("keeps the journal");
    assert!(journal_path(&file).exists() && old_journal_path(&file).exists());

    assert_eq!(compaction.run(b"{}").expect("writes"), 2);
    assert!(!old_journal_path(&file).exists());
    assert_eq!(fs::read(&file).expect("snapshot"), b"{}");
    assert_eq!(replayed(&file, 0).expect("replays").len(), 1);
}

#[test]
fn only_a_journal_larger_than_the_snapshot_and_the_floor_wants_compaction() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("t.json");
    let mut journal = Journal::open(&file).expect("opens");
    let big = vec![b'x'; COMPACT_MIN_BYTES as usize];
    journal.append(&big).expect("appends");
    assert!(journal.wants_compaction(), "past the floor, no snapshot");
    journal.compacted(2 * COMPACT_MIN_BYTES);
    assert!(!journal.wants_compaction(), "smaller than the snapshot");
}

/// One change of a table, from a small alphabet of names so that changes meet.
#[derive(Debug, Clone)]
enum Change {
    Put {
        name: u8,
        queues: i32,
    },
    Remove {
        name: u8,
    },
    /// End the batch (a journal record).
    Batch,
    /// End the batch and fold the journal into a snapshot.
    Compact,
}

fn changes() -> impl Strategy<Value = Vec<Change>> {
    let change = prop_oneof![
        4 => (0u8..12, 1i32..9).prop_map(|(name, queues)| Change::Put { name, queues }),
        2 => (0u8..12).prop_map(|name| Change::Remove { name }),
        2 => Just(Change::Batch),
        1 => Just(Change::Compact),
    ];
    prop::collection::vec(change, 0..60)
}

/// Journals `table` as the owner does at the end of a batch, compacting when asked.
fn end_batch<T: Journaled>(journal: &mut Journal, table: &mut T, compact: bool) {
    if let Some(record) = table.take_record() {
        journal.append(&record).expect("appends");
    }
    if compact {
        let compaction = journal.rotate().expect("rotates");
        let bytes = compaction.run(&table.snapshot()).expect("compacts");
        journal.compacted(bytes);
    }
}

proptest! {
    #[test]
    fn a_topic_table_comes_back_from_its_snapshot_and_journal(changes in changes()) {
        let dir = tempfile::tempdir().expect("dir");
        let file = topics::topics_file(dir.path());
        let config = BrokerConfig::default();
        let stored = topics::load(&file).expect("empty");
        let mut table =
            TopicTable::open(stored, StoreLayout::Placed, &config, 2, 1).expect("opens");
        topics::save(&file, &table).expect("saves");
        let mut journal = Journal::open(&file).expect("opens");
        for (at, change) in changes.into_iter().enumerate() {
            let now = at as i64 + 2;
            match change {
                Change::Put { name, queues } => {
                    table.upsert(topic_config(&format!("t{name}"), queues, 6), now).expect("room");
                }
                Change::Remove { name } => {
                    table.remove(&format!("t{name}"), now);
                }
                Change::Batch => end_batch(&mut journal, &mut table, false),
                Change::Compact => end_batch(&mut journal, &mut table, true),
            }
        }
        end_batch(&mut journal, &mut table, false);
        let back = TopicTable::open(topics::load(&file).expect("loads"), StoreLayout::Placed,
            &config, 2, 1).expect("reopens");
        prop_assert_eq!(back, table);
    }

    #[test]
    fn a_group_table_comes_back_from_its_snapshot_and_journal(changes in changes()) {
        let dir = tempfile::tempdir().expect("dir");
        let file = groups::groups_file(dir.path());
        let mut table = GroupTable::default().with_system_groups(1);
        groups::save(&file, &table).expect("saves");
        let mut journal = Journal::open(&file).expect("opens");
        for (at, change) in changes.into_iter().enumerate() {
            let now = at as i64 + 2;
            match change {
                Change::Put { name, queues } => {
                    let config = SubscriptionGroupConfig {
                        retry_max_times: queues,
                        ..SubscriptionGroupConfig::new(&format!("g{name}"))
                    };
                    table.upsert(config, now).expect("room");
                }
                Change::Remove { name } => {
                    table.remove(&format!("g{name}"), now);
                }
                Change::Batch => end_batch(&mut journal, &mut table, false),
                Change::Compact => end_batch(&mut journal, &mut table, true),
            }
        }
        end_batch(&mut journal, &mut table, false);
        prop_assert_eq!(groups::load(&file).expect("loads"), table);
    }
}
