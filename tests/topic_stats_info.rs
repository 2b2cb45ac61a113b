//! GET_TOPIC_STATS_INFO lists every queue of the topic on the shard asked, under that
//! shard's broker name, with offsets and last store times that match what was sent, in
//! fastjson's MessageQueue-keyed form; an unknown topic is TOPIC_NOT_EXIST.

mod common;

use std::net::TcpStream;

use common::*;
use serde_json::{json, Value};

const GET_TOPIC_STATS_INFO: i32 = 202;

/// The stats of `topic` on a shard: queue id → (brokerName, minOffset, maxOffset,
/// lastUpdateTimestamp).
fn stats(conn: &mut TcpStream, topic: &str) -> Vec<(i64, String, i64, i64, i64)> {
    let fields = json!({ "topic": topic });
    let (other, table) = stats_request(conn, GET_TOPIC_STATS_INFO, fields);
    assert_eq!(other["topicPutTps"], json!(0.0));
    let row = |(queue, offsets): &(Value, Value)| {
        assert_eq!(queue["topic"], topic);
        let broker = queue["brokerName"].as_str().expect("brokerName").to_owned();
        let (min, max) = (int(offsets, "minOffset"), int(offsets, "maxOffset"));
        let last = int(offsets, "lastUpdateTimestamp");
        (int(queue, "queueId"), broker, min, max, last)
    };
    table.iter().map(row).collect()
}

/// Asks until the newest message of queue 0 is filed (reput runs just after the send).
fn stats_once_filed(conn: &mut TcpStream, topic: &str) -> Vec<(i64, String, i64, i64, i64)> {
    wait_for(
        PATIENCE,
        &format!("a store time in queue 0 of {topic}"),
        || Some(stats(conn, topic)).filter(|table| table[0].4 > 0),
    )
}

fn send_n(conn: &mut TcpStream, topic: &str, queue: i32, n: usize) {
    for _ in 0..n {
        assert_eq!(code_of(&send_v2(conn, topic, queue, b"m", "")), SUCCESS);
    }
}

#[test]
fn each_shard_lists_its_queues_with_what_was_sent() {
    let broker = Broker::start(2, &[]);
    let (mut shard0, mut shard1) = (broker.connect(0), broker.connect(1));
    // Eight queues on two shards: four on each, ids 0 to 3.
    assert_eq!(code_of(&create_topic(&mut shard0, "stats", 8)), SUCCESS);
    send_n(&mut shard0, "stats", 0, 2);
    let before_last = wait_clock_past(now_ms());
    send_n(&mut shard0, "stats", 0, 1);
    let after_last = now_ms();
    send_n(&mut shard0, "stats", 2, 1);
    send_n(&mut shard1, "stats", 0, 2);
    wait_max_offset(&mut shard0, "stats", 2, 1);

    let table = stats_once_filed(&mut shard0, "stats");
    let ids: Vec<i64> = table.iter().map(|row| row.0).collect();
    assert_eq!(ids, [0, 1, 2, 3], "one entry per queue");
    assert!(table.iter().all(|row| row.1 == "broker-a-0"), "{table:?}");
    let (min, max, last) = (table[0].2, table[0].3, table[0].4);
    assert_eq!((min, max), (0, 3));
    assert!(
        before_last <= last && last <= after_last,
        "{before_last} <= {last} <= {after_last}"
    );
    assert_eq!((table[1].3, table[1].4), (0, 0), "a queue never written");
    assert_eq!(table[2].3, 1);
    assert_eq!((table[3].3, table[3].4), (0, 0));

    let other = stats_once_filed(&mut shard1, "stats");
    assert!(other.iter().all(|row| row.1 == "broker-a-1"), "{other:?}");
    assert_eq!(other[0].3, 2, "shard 1 counts its own messages only");
    assert_eq!(other[2].3, 0);
}

#[test]
fn unknown_topics_and_bad_headers_are_refused() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let (header, body) = request(&mut conn, GET_TOPIC_STATS_INFO, json!({"topic": "nope"}));
    assert_eq!(code_of(&header), TOPIC_NOT_EXIST, "{header}");
    assert!(body.is_empty());
    let (header, _) = request(&mut conn, GET_TOPIC_STATS_INFO, json!({}));
    assert_eq!(code_of(&header), SYSTEM_ERROR, "{header}");
    assert!(header["remark"].as_str().expect("remark").contains("topic"));
    // An empty topic the broker has: every queue at zero, and the connection still serves.
    assert_eq!(code_of(&create_topic(&mut conn, "empty", 2)), SUCCESS);
    let table = stats(&mut conn, "empty");
    assert_eq!(table.len(), 2);
    assert!(table.iter().all(|row| (row.2, row.3, row.4) == (0, 0, 0)));
}
