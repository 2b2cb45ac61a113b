//! A message sent with SEND_MESSAGE_V2 to a topic that does not exist yet is stored (the
//! topic auto-created from TBW102 and routed), and a PULL_MESSAGE returns it; a pull parked
//! on an empty queue (the broker's runtime info counts it) is answered as soon as a message
//! arrives.

mod common;

use std::net::TcpStream;

use common::{
    code_of, json_frame, properties, read_frame, request, send_v2, wait_for, wait_max_offset,
    wait_parked_pulls, wait_route, write_all, Broker, PATIENCE,
};
use serde_json::json;

const PULL_MESSAGE: i32 = 11;
const PULL_FOUND: i64 = 0;
const SUSPEND_FLAG: i32 = 2;
const SUBSCRIPTION_FLAG: i32 = 4;

/// Sends one message the way a 5.x Java producer does (one-letter header names).
fn send(conn: &mut TcpStream, topic: &str, queue: i32, body: &[u8]) -> serde_json::Value {
    let props = properties(&[
        ("TAGS", "TagA"),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "0A000001000000000000000000000001"),
    ]);
    send_v2(conn, topic, queue, body, &props)
}

fn pull_fields(topic: &str, queue: i32, offset: u64, suspend_ms: u64) -> serde_json::Value {
    json!({
        "consumerGroup": "cg", "topic": topic, "queueId": queue, "queueOffset": offset,
        "maxMsgNums": 32, "sysFlag": SUBSCRIPTION_FLAG | if suspend_ms > 0 { SUSPEND_FLAG } else { 0 },
        "commitOffset": 0,
        "suspendTimeoutMillis": suspend_ms, "subscription": "*", "subVersion": 0,
        "expressionType": "TAG"
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_sent_message_is_pulled_back() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let sent = send(&mut conn, "fresh_topic", 2, b"hello shardmq");
    assert_eq!(code_of(&sent), 0, "{sent}");
    assert_eq!(sent["extFields"]["queueId"], "2");
    assert_eq!(sent["extFields"]["queueOffset"], "0");
    let second = send(&mut conn, "fresh_topic", 2, b"second message");
    assert_eq!(second["extFields"]["queueOffset"], "1");

    // The auto-created topic is routed through the embedded NameServer.
    let route = wait_route(broker.namesrv_addr(), "fresh_topic", 1);
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);

    let (header, body) = wait_for(PATIENCE, "the messages pullable", || {
        let (header, body) = request(&mut conn, PULL_MESSAGE, pull_fields("fresh_topic", 2, 0, 0));
        (code_of(&header) == PULL_FOUND).then_some((header, body))
    });
    assert_eq!(header["extFields"]["nextBeginOffset"], "2");
    assert!(contains(&body, b"hello shardmq") && contains(&body, b"second message"));
}

#[test]
fn a_parked_pull_is_answered_when_a_message_arrives() {
    let broker = Broker::start(1, &[]);
    let mut producer = broker.connect(0);
    assert_eq!(code_of(&send(&mut producer, "lp_topic", 0, b"first")), 0);
    // Filed, so the queue ends at 1: a pull from 1 then finds nothing and parks.
    wait_max_offset(&mut producer, "lp_topic", 0, 1);

    // Pull at offset 1, where nothing is yet: the broker parks it for up to 15 s.
    let mut consumer = broker.connect(0);
    let header = json!({
        "code": PULL_MESSAGE, "language": "JAVA", "version": 479, "opaque": 77, "flag": 0,
        "extFields": pull_fields("lp_topic", 0, 1, 15_000)
    });
    write_all(&mut consumer, &json_frame(&header.to_string(), b""));
    wait_parked_pulls(&mut producer, 1);
    assert_eq!(code_of(&send(&mut producer, "lp_topic", 0, b"wake up")), 0);

    let response = read_frame(&mut consumer).expect("the parked pull is answered");
    let json = response.json();
    assert_eq!(json["opaque"], 77);
    assert_eq!(code_of(&json), PULL_FOUND, "{json}");
    assert!(contains(&response.body, b"wake up"));
}
