//! INVOKE_BROKER_TO_RESET_OFFSET (222) over the raw protocol, as mqadmin's
//! `resetOffsetByTime` sends it to a Java 5.x broker: the group's committed offsets move to
//! the first message stored at or after the timestamp (the end for -1, or one queue to an
//! offset), the answer lists them, and the group's next pull of a queue is answered
//! PULL_OFFSET_MOVED there without taking the old offset the pull commits.

mod common;

use std::net::TcpStream;

use common::{
    code_of, create_group, create_topic, now_ms, offset_field, request, send_v2, wait_clock_past,
    wait_max_offset, Broker, SUCCESS, SYSTEM_ERROR, TOPIC_NOT_EXIST,
};
use serde_json::{json, Value};

const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
const QUERY_CONSUMER_OFFSET: i32 = 14;
const UPDATE_CONSUMER_OFFSET: i32 = 15;
const PULL_MESSAGE: i32 = 11;
const PULL_OFFSET_MOVED: i64 = 21;
const SUBSCRIPTION_GROUP_NOT_EXIST: i64 = 26;

fn reset(
    conn: &mut TcpStream,
    topic: &str,
    timestamp: i64,
    one: Option<(i32, i64)>,
) -> (Value, String) {
    let mut fields = json!({
        "topic": topic, "group": "cg", "timestamp": timestamp.to_string(), "isForce": "false",
    });
    if let Some((queue_id, offset)) = one {
        fields["queueId"] = json!(queue_id.to_string());
        fields["offset"] = json!(offset.to_string());
    }
    let (header, body) = request(conn, INVOKE_BROKER_TO_RESET_OFFSET, fields);
    (header, String::from_utf8(body).expect("UTF-8 body"))
}

fn committed(conn: &mut TcpStream, topic: &str, queue_id: i32) -> i64 {
    let fields = json!({"consumerGroup": "cg", "topic": topic, "queueId": queue_id.to_string()});
    let (header, _) = request(conn, QUERY_CONSUMER_OFFSET, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    offset_field(&header)
}

fn commit(conn: &mut TcpStream, topic: &str, queue_id: i32, offset: i64) {
    let fields = json!({
        "consumerGroup": "cg", "topic": topic, "queueId": queue_id.to_string(),
        "commitOffset": offset.to_string(),
    });
    let (header, _) = request(conn, UPDATE_CONSUMER_OFFSET, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
}

/// A pull of queue 0 from `offset` that also commits `offset`, as a push consumer pulls.
fn pull_committing(conn: &mut TcpStream, topic: &str, offset: i64) -> Value {
    let fields = json!({
        "consumerGroup": "cg", "topic": topic, "queueId": "0", "queueOffset": offset.to_string(),
        "maxMsgNums": "32", "sysFlag": "5", "commitOffset": offset.to_string(),
        "suspendTimeoutMillis": "0", "subscription": "*", "subVersion": "0",
        "expressionType": "TAG",
    });
    request(conn, PULL_MESSAGE, fields).0
}

#[test]
fn offsets_move_to_a_time_and_the_next_pull_follows() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "R1", 2)), SUCCESS);
    create_group(&mut conn, "cg");
    for i in 0..5 {
        send_v2(&mut conn, "R1", 0, format!("early-{i}").as_bytes(), "");
    }
    // Everything sent from here on is stored after `middle`.
    let middle = wait_clock_past(now_ms());
    for i in 0..5 {
        send_v2(&mut conn, "R1", 0, format!("late-{i}").as_bytes(), "");
    }
    send_v2(&mut conn, "R1", 1, b"other queue", "");
    wait_max_offset(&mut conn, "R1", 0, 10);
    wait_max_offset(&mut conn, "R1", 1, 1);
    commit(&mut conn, "R1", 0, 10);
    commit(&mut conn, "R1", 1, 1);

    let (header, body) = reset(&mut conn, "R1", middle, None);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert!(
        body.contains(r#"{"brokerName":"broker-a-0","queueId":0,"topic":"R1"}:5"#),
        "{body}"
    );
    assert!(body.contains(r#""queueId":1,"topic":"R1"}:0"#), "{body}");
    assert_eq!(
        committed(&mut conn, "R1", 0),
        5,
        "the first message after the time"
    );
    assert_eq!(
        committed(&mut conn, "R1", 1),
        0,
        "its one message is after the time"
    );

    // A running consumer's next pull moves it, and its commit of the old offset is dropped.
    let moved = pull_committing(&mut conn, "R1", 10);
    assert_eq!(code_of(&moved), PULL_OFFSET_MOVED, "{moved}");
    assert_eq!(moved["extFields"]["nextBeginOffset"], "5", "{moved}");
    assert_eq!(committed(&mut conn, "R1", 0), 5);
    let after = pull_committing(&mut conn, "R1", 5);
    assert_eq!(code_of(&after), 0, "found from the reset offset: {after}");

    // -1: the end of each queue (skipAccumulatedMessage).
    let (header, _) = reset(&mut conn, "R1", -1, None);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(committed(&mut conn, "R1", 0), 10);
    // One queue to an offset; one outside the queue is refused and changes nothing.
    let (header, _) = reset(&mut conn, "R1", -1, Some((0, 3)));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(committed(&mut conn, "R1", 0), 3);
    let (header, _) = reset(&mut conn, "R1", -1, Some((0, 99)));
    assert_eq!(code_of(&header), SYSTEM_ERROR, "{header}");
    assert!(
        header["remark"].as_str().unwrap_or("").contains("[0-10]"),
        "{header}"
    );
    assert_eq!(committed(&mut conn, "R1", 0), 3);
}

#[test]
fn unknown_topics_and_groups_are_refused() {
    let broker = Broker::start(1, &["-o", "autoCreateSubscriptionGroup=false"]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "R2", 1)), SUCCESS);
    let (header, _) = reset(&mut conn, "nope", -1, None);
    assert_eq!(code_of(&header), TOPIC_NOT_EXIST, "{header}");
    let (header, _) = reset(&mut conn, "R2", -1, None);
    assert_eq!(code_of(&header), SUBSCRIPTION_GROUP_NOT_EXIST, "{header}");
}
