//! The delay service over a store on the in-memory disk, with the store clock moved by hand.

use super::*;
use crate::broker::data::test_support::*;
use crate::config::parse_delay_levels;
use crate::storage::config::FlushPolicy;
use crate::storage::run_local;
use crate::wire::codes::response_code;
use crate::wire::headers::{pull_sys_flag, SendMessageResponseHeader};

const PROPS: &str = "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}0A0B0C0D00002A9F0000000000000001\u{2}";

/// A file's content holding `table` and no data version.
fn saved(table: &[(u32, u64)]) -> DelayOffsets {
    DelayOffsets {
        offset_table: table.iter().copied().collect(),
        ..DelayOffsets::default()
    }
}

fn levels() -> DelayLevels {
    DelayLevels::new(parse_delay_levels("1s 2s").expect("levels"))
}

async fn send_delayed(f: &Fixture, queue: i32, level: u32, body: &[u8]) {
    let props = format!("{PROPS}DELAY\u{1}{level}\u{2}");
    let request = send_request(310, &send_header("T", queue, &props), body);
    let response = f.send(&request).await;
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let header: SendMessageResponseHeader = response.decode_header().expect("header");
    // The producer is told the queue the message will reach.
    assert_eq!(header.queue_id, queue);
}

/// The records a pull of (`T`, `queue`) from offset 0 finds, once reput has filed them.
async fn delivered(f: &Fixture, queue: i32) -> Vec<Vec<u8>> {
    f.store.reput().await.expect("reput");
    let flags = pull_sys_flag::SUBSCRIPTION;
    let pull = f
        .pull(pull_request(&pull_header("T", queue, 0, flags)))
        .await;
    records(&pull.body_bytes())
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

fn body_of(record: &[u8]) -> &[u8] {
    RecordView::parse(record).expect("record").body()
}

fn pending(f: &Fixture, level: u32) -> u64 {
    let (_, max) = f
        .store
        .queue_range(SCHEDULE_TOPIC, QueueId(delay::queue_of(level)));
    max.0
}

#[test]
fn a_delayed_send_waits_in_its_level_then_reaches_its_queue() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let schedule = Schedule::new(f.store.clone(), levels(), &saved(&[]));
        send_delayed(&f, 1, 1, b"later").await;
        assert_eq!(f.store.queue_range("T", QueueId(1)).1 .0, 0);
        assert_eq!(pending(&f, 1), 1);

        let due = schedule.deliver_due().await.expect("a message waits");
        assert!(
            due > f.clock.wall_ms() && due <= f.clock.wall_ms() + 1_000,
            "due {due}"
        );
        assert_eq!(f.store.queue_range("T", QueueId(1)).1 .0, 0);

        f.clock.set_wall_ms(due);
        assert_eq!(schedule.deliver_due().await, None);
        let got = delivered(&f, 1).await;
        assert_eq!(got.len(), 1);
        let view = RecordView::parse(&got[0]).expect("record");
        assert_eq!(
            (view.topic(), view.queue_id(), view.body()),
            ("T", 1, &b"later"[..])
        );
        assert_eq!(view.uniq_key(), Some("0A0B0C0D00002A9F0000000000000001"));
        assert_eq!(view.property("DELAY"), None);
        assert_eq!(view.property("REAL_TOPIC"), Some("T"));
        assert_eq!(view.property("WAIT"), Some("false"));
        assert_eq!(view.born_timestamp_ms(), 1_600_000_000_000);
        assert_eq!(schedule.table(), DelayOffsetTable::from([(1, 1), (2, 0)]));
    });
}

#[test]
fn each_level_keeps_its_own_clock() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let schedule = Schedule::new(f.store.clone(), levels(), &saved(&[]));
        send_delayed(&f, 0, 2, b"two seconds").await;
        send_delayed(&f, 0, 1, b"one second").await;
        send_delayed(&f, 0, 1, b"one second too").await;
        f.clock.set_wall_ms(f.clock.wall_ms() + 1_100);
        let next = schedule.deliver_due().await.expect("level 2 still waits");
        assert_eq!(schedule.table(), DelayOffsetTable::from([(1, 2), (2, 0)]));
        f.clock.set_wall_ms(next);
        assert_eq!(schedule.deliver_due().await, None);
        f.store.reput().await.expect("reput");
        let (min, max) = f.store.queue_range("T", QueueId(0));
        assert_eq!((min.0, max.0), (0, 3));
        // Nothing is delivered twice when the service looks again.
        assert_eq!(schedule.deliver_due().await, None);
        assert_eq!(f.store.queue_range("T", QueueId(0)).1 .0, 3);
    });
}

#[test]
fn cursors_resume_where_the_file_says() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_delayed(&f, 0, 1, b"delivered before the restart").await;
        send_delayed(&f, 0, 1, b"still to deliver").await;
        let schedule = Schedule::new(f.store.clone(), levels(), &saved(&[(1, 1)]));
        f.clock.set_wall_ms(f.clock.wall_ms() + 5_000);
        assert_eq!(schedule.deliver_due().await, None);
        let got = delivered(&f, 0).await;
        assert_eq!(got.len(), 1);
        assert_eq!(body_of(&got[0]), b"still to deliver");
        // A cursor past its queue's end (a file from another store) is pulled back.
        let ahead = Schedule::new(f.store.clone(), levels(), &saved(&[(1, 9)]));
        assert_eq!(ahead.deliver_due().await, None);
        assert_eq!(ahead.table()[&1], 2);
    });
}

#[test]
fn the_offset_file_has_java_shape_and_reads_fastjson() {
    let offsets = saved(&[(1, 5), (2, 0), (18, 12)]);
    let text = encode(&offsets);
    assert_eq!(
        text,
        br#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":0},"offsetTable":{"1":5,"2":0,"18":12}}"#
    );
    assert_eq!(decode(&text).expect("ours"), offsets);
    let java = br#"{"offsetTable":{1:5,2:0,18:12},"dataVersion":{"counter":3}}"#;
    let read = decode(java).expect("Java's");
    assert_eq!(read.offset_table, offsets.offset_table);
    assert_eq!(read.data_version.counter, 3);
    let four = decode(br#"{"offsetTable":{1:5}}"#).expect("Java 4.x's");
    assert_eq!(four.data_version, DataVersion::default());
    assert!(decode(b"{\"offsetTable\":{\"1\":-1}}").is_err());
    assert!(decode(b"not json").is_err());
}

#[test]
fn persisting_writes_a_file_that_loads_back() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("delay-offsets");
        let path = dir.join("config").join("delayOffset.json");
        assert_eq!(
            load(&path).expect("missing is empty"),
            DelayOffsets::default()
        );
        let schedule = Schedule::new(f.store.clone(), levels(), &saved(&[]));
        send_delayed(&f, 0, 2, b"x").await;
        f.clock.set_wall_ms(f.clock.wall_ms() + 2_000);
        schedule.deliver_due().await;
        let before = f.clock.wall_ms();
        schedule.persist(&path).await.expect("written");
        let loaded = load(&path).expect("readable");
        assert_eq!(
            loaded.offset_table,
            DelayOffsetTable::from([(1, 0), (2, 1)])
        );
        // The delivery moved the data version on, dated by the store's clock.
        assert_eq!(loaded.data_version.counter, 1);
        let stamp = loaded.data_version.timestamp;
        assert!((before..=f.clock.wall_ms()).contains(&stamp), "{stamp}");
        // A slave takes its master's cursors and version; a level the master does not list
        // stays, one the slave does not have is left out.
        let master = DelayOffsets {
            data_version: DataVersion {
                counter: 7,
                ..DataVersion::default()
            },
            offset_table: DelayOffsetTable::from([(2, 9), (99, 1)]),
        };
        assert!(schedule.take_masters(&master));
        assert!(!schedule.take_masters(&master), "nothing new");
        schedule.persist(&path).await.expect("written");
        let loaded = load(&path).expect("readable");
        assert_eq!(
            loaded.offset_table,
            DelayOffsetTable::from([(1, 0), (2, 9)])
        );
        assert_eq!(loaded.data_version, master.data_version);
        std::fs::write(&path, b"{broken").expect("corrupt it");
        let err = load(&path).expect_err("unreadable");
        assert!(err.contains("delayOffset.json"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_message_that_cannot_be_delivered_does_not_hold_up_its_level() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let schedule = Schedule::new(f.store.clone(), levels(), &saved(&[]));
        // Parked without REAL_TOPIC/REAL_QID: nothing says where it belongs.
        let mut lost = crate::storage::record::encode(SCHEDULE_TOPIC, QueueId(0), b"?", None);
        f.store
            .put(SCHEDULE_TOPIC, QueueId(0), &mut lost)
            .expect("put");
        send_delayed(&f, 0, 1, b"behind it").await;
        f.clock.set_wall_ms(f.clock.wall_ms() + 1_500);
        assert_eq!(schedule.deliver_due().await, None);
        let got = delivered(&f, 0).await;
        assert_eq!(got.len(), 1);
        assert_eq!(body_of(&got[0]), b"behind it");
        assert_eq!(schedule.table()[&1], 2);
    });
}
