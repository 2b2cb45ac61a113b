//! A message sent with a DELAY level waits in the schedule topic and reaches its own queue
//! after the level's delay, without DELAY and with its UNIQ_KEY and body; a broker stopped
//! while messages wait delivers each of them exactly once after it starts again, and one
//! killed while a message waits still delivers it.

mod common;

use common::{
    code_of, pull, pull_until_found, send_v2, wait_all_written, wait_delays_delivered, Broker,
    PULL_FOUND,
};
use shardmq::wire::record::RecordView;

const UNIQ_KEY: &str = "0A000001000000000000000000000042";

/// Short levels keep the tests fast.
const LEVELS: [&str; 2] = ["-o", "messageDelayLevel=1s 4s"];

fn send_delayed(conn: &mut std::net::TcpStream, topic: &str, level: u32, body: &[u8]) {
    let props = format!("TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}{UNIQ_KEY}\u{2}DELAY\u{1}{level}\u{2}");
    let sent = send_v2(conn, topic, 0, body, &props);
    assert_eq!(code_of(&sent), 0, "{sent}");
    assert_eq!(sent["extFields"]["queueId"], "0");
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

#[test]
fn a_delayed_message_arrives_after_its_level_without_delay() {
    let broker = Broker::start(1, &LEVELS);
    let mut conn = broker.connect(0);
    send_delayed(&mut conn, "delayed_topic", 1, b"see you later");
    let (header, _) = pull(&mut conn, "delayed_topic", 0, 0);
    assert_ne!(code_of(&header), PULL_FOUND, "delivered at once: {header}");

    let body = pull_until_found(&mut conn, "delayed_topic", 0, 0);
    let got = records(&body);
    assert_eq!(got.len(), 1);
    let record = got[0];
    assert_eq!((record.topic(), record.queue_id()), ("delayed_topic", 0));
    assert_eq!(record.body(), b"see you later");
    assert_eq!(record.uniq_key(), Some(UNIQ_KEY));
    assert_eq!(record.tags(), Some("TagA"));
    assert_eq!(record.property("DELAY"), None);
}

#[test]
fn a_restart_while_messages_wait_delivers_each_exactly_once() {
    let broker = Broker::start(1, &LEVELS);
    let mut conn = broker.connect(0);
    send_delayed(&mut conn, "restart_topic", 1, b"first");
    send_delayed(&mut conn, "restart_topic", 2, b"second");
    pull_until_found(&mut conn, "restart_topic", 0, 0);
    drop(conn);
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0), "graceful stop");

    let broker = Broker::start_in(1, &LEVELS, store, dir);
    let mut conn = broker.connect(0);
    pull_until_found(&mut conn, "restart_topic", 0, 1);
    // A wrong repeat of either message would be delivered and filed by then.
    wait_delays_delivered(&mut conn);
    let (header, body) = pull(&mut conn, "restart_topic", 0, 0);
    assert_eq!(code_of(&header), PULL_FOUND, "{header}");
    let bodies: Vec<&[u8]> = records(&body).iter().map(|r| r.body()).collect();
    assert_eq!(bodies, [&b"first"[..], b"second"]);
    assert_eq!(header["extFields"]["maxOffset"], "2");
}

#[test]
fn a_crash_while_a_message_waits_still_delivers_it() {
    let broker = Broker::start(1, &LEVELS);
    let mut conn = broker.connect(0);
    send_delayed(&mut conn, "crash_topic", 2, b"survivor");
    // The parked record reaches the disk on its own, without a sync.
    wait_all_written(&mut conn);
    drop(conn);
    let (store, dir) = broker.store_dir();
    broker.kill();

    let broker = Broker::start_in(1, &LEVELS, store, dir);
    let mut conn = broker.connect(0);
    let body = pull_until_found(&mut conn, "crash_topic", 0, 0);
    // At least once: a crash may repeat a delivery, never lose one.
    let got = records(&body);
    assert!(!got.is_empty() && got.iter().all(|r| r.body() == b"survivor"));
}
