//! GET_MAX_OFFSET, GET_MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP answer from what the shard
//! stored: a consumer starting from the last offset or from a time gets the right place.

mod common;

use common::{
    code_of, create_topic, json_frame, now_ms, offset_field, read_frame, request, wait_clock_past,
    wait_max_offset, write_all, Broker, GET_MAX_OFFSET,
};
use serde_json::json;
use std::net::TcpStream;

const SEND_MESSAGE: i32 = 10;
const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
const GET_MIN_OFFSET: i32 = 31;

/// A SEND_MESSAGE (long field names, as the C++ and Go clients send it) to queue 0.
fn send(conn: &mut TcpStream, topic: &str, opaque: i32) {
    let header = json!({
        "code": SEND_MESSAGE, "language": "CPP", "version": 63, "opaque": opaque, "flag": 0,
        "extFields": {"producerGroup": "pg", "topic": topic, "defaultTopic": "TBW102",
                      "defaultTopicQueueNums": 4, "queueId": 0, "sysFlag": 0,
                      "bornTimestamp": 1_700_000_000_000_i64, "flag": 0, "properties": "",
                      "reconsumeTimes": 0, "unitMode": false, "batch": false}
    });
    write_all(conn, &json_frame(&header.to_string(), b"payload"));
    let response = read_frame(conn).expect("send response").json();
    assert_eq!(code_of(&response), 0, "{response}");
}

fn offset(conn: &mut TcpStream, code: i32, fields: serde_json::Value) -> i64 {
    let (header, _) = request(conn, code, fields);
    assert_eq!(code_of(&header), 0, "{header}");
    offset_field(&header)
}

#[test]
fn offsets_follow_what_was_stored() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "lookups", 2)), 0);
    let queue0 = json!({"topic": "lookups", "queueId": 0});
    assert_eq!(
        offset(&mut conn, GET_MAX_OFFSET, queue0.clone()),
        0,
        "empty queue"
    );

    for i in 0..3 {
        send(&mut conn, "lookups", 10 + i);
    }
    let between = wait_clock_past(now_ms());
    wait_clock_past(between);
    for i in 0..2 {
        send(&mut conn, "lookups", 20 + i);
    }
    wait_max_offset(&mut conn, "lookups", 0, 5);
    assert_eq!(offset(&mut conn, GET_MIN_OFFSET, queue0), 0);
    let other_queue = json!({"topic": "lookups", "queueId": 1});
    assert_eq!(offset(&mut conn, GET_MAX_OFFSET, other_queue), 0);

    let search = json!({"topic": "lookups", "queueId": 0, "timestamp": between});
    assert_eq!(
        offset(&mut conn, SEARCH_OFFSET_BY_TIMESTAMP, search),
        3,
        "first message after the time"
    );
}
