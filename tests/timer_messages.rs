//! 5.x timer messages (docs/protocol.md §5.6): a message sent with `TIMER_DELAY_MS`,
//! `TIMER_DELAY_SEC` or `TIMER_DELIVER_MS` reaches its queue at its time, not before and not
//! at the nearest delay level; a timer hours away survives a kill -9 with its due time, still
//! pending; `timerMaxDelaySec` bounds how far a timer may ask.
//!
//! Lateness is checked loosely (a busy machine may pause the broker); earliness strictly.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use shardmq::wire::record::RecordView;

const MESSAGE_ILLEGAL: i64 = 13;
const VIEW_MESSAGE_BY_ID: i32 = 33;

/// Slack allowed past a timer's due time before a delivery counts as late: the 1 s precision
/// and a generous margin for a loaded machine.
const LATE_SLACK_MS: i64 = 15_000;

fn send_timer(
    conn: &mut std::net::TcpStream,
    topic: &str,
    key: &str,
    value: &str,
    body: &[u8],
) -> serde_json::Value {
    let props = properties(&[("TAGS", "T"), (key, value)]);
    let sent = send_v2(conn, topic, 0, body, &props);
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    assert_eq!(sent["extFields"]["queueId"], "0");
    sent
}

/// The records of a pull body, in order.
fn records(mut body: &[u8]) -> Vec<RecordView<'_>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let record = RecordView::parse(body).expect("a whole record");
        body = &body[record.total_size() as usize..];
        out.push(record);
    }
    out
}

fn number(record: &RecordView<'_>, key: &str) -> i64 {
    let value = record.property(key).unwrap_or_else(|| panic!("no {key}"));
    value.parse().unwrap_or_else(|_| panic!("{key}={value}"))
}

/// Checks a delivered timer asked for `asked_after` at the earliest: stored (delivered) no
/// earlier than that, with its due time, and not absurdly late.
fn assert_on_time(record: &RecordView<'_>, asked_after: i64, body: &[u8]) {
    assert_eq!(
        (record.topic(), record.queue_id(), record.body()),
        ("timed", 0, body)
    );
    let due = number(record, "TIMER_OUT_MS");
    assert!(
        due >= asked_after,
        "due {due} before the asked {asked_after}"
    );
    let delivered = record.store_timestamp_ms();
    assert!(
        delivered >= asked_after,
        "delivered at {delivered}, asked {asked_after}"
    );
    assert!(
        delivered >= due,
        "delivered at {delivered} before its due {due}"
    );
    assert!(
        delivered - due < LATE_SLACK_MS,
        "delivered at {delivered}, due {due}"
    );
    assert!(number(record, "TIMER_DEQUEUE_MS") >= due);
    let late = delivered - asked_after;
    eprintln!("timer due {due} delivered {delivered}: {late} ms after the earliest asked time");
    for gone in [
        "TIMER_DELAY_MS",
        "TIMER_DELAY_SEC",
        "TIMER_DELIVER_MS",
        "DELAY",
    ] {
        assert_eq!(record.property(gone), None, "{gone} kept");
    }
    assert_eq!(record.property("REAL_TOPIC"), Some("timed"));
}

#[test]
fn timers_arrive_at_their_time_and_not_before() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let before = now_ms();
    send_timer(
        &mut conn,
        "timed",
        "TIMER_DELAY_MS",
        "2500",
        b"two and a half seconds",
    );
    let before_minute = now_ms();
    send_timer(
        &mut conn,
        "timed",
        "TIMER_DELAY_SEC",
        "61",
        b"a minute and a second",
    );
    let first = pull_until_found(&mut conn, "timed", 0, 0);
    let got = records(&first);
    assert_eq!(got.len(), 1, "the 61 s timer came with the 2.5 s one");
    assert_on_time(&got[0], before + 2_500, b"two and a half seconds");

    let patience = PATIENCE + Duration::from_secs(61);
    let second = wait_for(patience, "the 61 s timer", || {
        let (header, body) = pull(&mut conn, "timed", 0, 1);
        (code_of(&header) == PULL_FOUND).then_some(body)
    });
    let got = records(&second);
    assert_eq!(got.len(), 1);
    assert_on_time(&got[0], before_minute + 61_000, b"a minute and a second");
    let table = runtime_info(&mut conn);
    assert_eq!(runtime_long(&table, "timerPending"), 0);
    assert_eq!(runtime_long(&table, "timerOffsetBehind"), 0);
}

#[test]
fn a_timer_hours_away_survives_a_kill_with_its_due_time() {
    let max = ["-o", "timerMaxDelaySec=86400"];
    let broker = Broker::start(1, &max);
    let mut conn = broker.connect(0);
    let refused = send_v2(
        &mut conn,
        "timed",
        0,
        b"x",
        &properties(&[("TIMER_DELAY_SEC", "86401")]),
    );
    assert_eq!(code_of(&refused), MESSAGE_ILLEGAL, "{refused}");

    let three_hours = 3 * 3_600_000;
    let before = now_ms();
    let sent = send_timer(
        &mut conn,
        "timed",
        "TIMER_DELIVER_MS",
        &(before + three_hours).to_string(),
        b"later",
    );
    let id = sent["extFields"]["msgId"]
        .as_str()
        .expect("msgId")
        .to_owned();
    // Listed by due time (the index entry is synced before it counts).
    wait_until(PATIENCE, "the timer listed", || {
        let table = runtime_info(&mut conn);
        runtime_long(&table, "timerOffsetBehind") == 0 && runtime_long(&table, "timerPending") == 1
    });
    drop(conn);
    let (store, dir) = broker.store_dir();
    broker.kill();

    let broker = Broker::start_in(1, &max, store, dir);
    let mut conn = broker.connect(0);
    wait_until(PATIENCE, "the timer listed again", || {
        runtime_long(&runtime_info(&mut conn), "timerOffsetBehind") == 0
    });
    let table = runtime_info(&mut conn);
    assert_eq!(runtime_long(&table, "timerPending"), 1, "{table}");
    // The parked message keeps its due time: three hours after it was asked, to the second.
    let (_, offset) = decode_offset_message_id(&id);
    let (header, body) = request(&mut conn, VIEW_MESSAGE_BY_ID, json!({ "offset": offset }));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let parked = RecordView::parse(&body).expect("the parked record");
    assert_eq!(parked.topic(), "rmq_sys_wheel_timer");
    let due = number(&parked, "TIMER_OUT_MS");
    assert!(
        due >= before + three_hours && due < before + three_hours + 1_000,
        "due {due}"
    );
    assert!(runtime_long(&table, "timerDeliveredUntil") < due);
    // Not delivered early: nothing in the real queue.
    let (header, _) = pull(&mut conn, "timed", 0, 0);
    assert_ne!(code_of(&header), PULL_FOUND, "delivered early: {header}");
}
