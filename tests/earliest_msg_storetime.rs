//! GET_EARLIEST_MSG_STORETIME answers the store time of a queue's first message, -1 (as
//! Java) for a queue with none, and refuses a header it cannot read without dropping the
//! connection.

mod common;

use std::net::TcpStream;

use common::*;
use serde_json::json;

const GET_EARLIEST_MSG_STORETIME: i32 = 32;

fn earliest(conn: &mut TcpStream, fields: serde_json::Value) -> serde_json::Value {
    request(conn, GET_EARLIEST_MSG_STORETIME, fields).0
}

fn timestamp(header: &serde_json::Value) -> i64 {
    assert_eq!(code_of(header), SUCCESS, "{header}");
    let value = header["extFields"]["timestamp"]
        .as_str()
        .expect("timestamp");
    value.parse().expect("a number")
}

#[test]
fn the_first_message_of_the_queue_sets_the_time() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "early", 2)), SUCCESS);
    let queue0 = json!({"topic": "early", "queueId": 0});
    assert_eq!(timestamp(&earliest(&mut conn, queue0.clone())), -1, "empty");

    let before = now_ms();
    assert_eq!(
        code_of(&send_v2(&mut conn, "early", 0, b"one", "")),
        SUCCESS
    );
    let after = now_ms();
    wait_clock_past(after);
    for _ in 0..3 {
        assert_eq!(
            code_of(&send_v2(&mut conn, "early", 0, b"later", "")),
            SUCCESS
        );
    }
    wait_max_offset(&mut conn, "early", 0, 4);
    let first = timestamp(&earliest(&mut conn, queue0));
    assert!(
        before <= first && first <= after,
        "{before} <= {first} <= {after}"
    );

    // Numbers as strings or JSON numbers; other queues and topics hold nothing.
    let as_text = json!({"topic": "early", "queueId": "0"});
    assert_eq!(timestamp(&earliest(&mut conn, as_text)), first);
    for fields in [
        json!({"topic": "early", "queueId": 1}),
        json!({"topic": "early", "queueId": 7}),
        json!({"topic": "no_such_topic", "queueId": 0}),
    ] {
        assert_eq!(timestamp(&earliest(&mut conn, fields)), -1);
    }
}

#[test]
fn headers_it_cannot_read_are_refused() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let negative = earliest(&mut conn, json!({"topic": "t", "queueId": -1}));
    assert_eq!(code_of(&negative), INVALID_PARAMETER, "{negative}");
    for (fields, field) in [
        (json!({"topic": "t"}), "queueId"),
        (json!({"queueId": 0}), "topic"),
        (json!({"topic": "t", "queueId": "zero"}), "queueId"),
        (json!({"topic": "t", "queueId": "4294967296"}), "queueId"),
    ] {
        let refused = earliest(&mut conn, fields.clone());
        assert_eq!(code_of(&refused), SYSTEM_ERROR, "{fields}: {refused}");
        let remark = refused["remark"].as_str().expect("remark");
        assert!(remark.contains(field), "{remark}");
    }
    let still = earliest(&mut conn, json!({"topic": "t", "queueId": 0}));
    assert_eq!(timestamp(&still), -1, "the connection still serves");
}
