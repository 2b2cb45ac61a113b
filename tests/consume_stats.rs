//! GET_CONSUME_STATS reports, per read queue, the broker's max offset against the group's
//! committed offset and the store time of the last message consumed, for the topics Java
//! would pick (the one asked, a `;` list, or every topic the group committed on, narrowed
//! to its live subscriptions).

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;

use common::*;
use serde_json::{json, Value};

const GET_CONSUME_STATS: i32 = 208;
const HEART_BEAT: i32 = 34;

/// (topic, queue id) → (brokerOffset, consumerOffset, lastTimestamp, pullOffset).
type Progress = BTreeMap<(String, i64), (i64, i64, i64, i64)>;

fn consume_stats(conn: &mut TcpStream, fields: Value) -> Progress {
    let (other, table) = stats_request(conn, GET_CONSUME_STATS, fields);
    assert_eq!(other["consumeTps"], json!(0.0));
    let entry = |(queue, offsets): &(Value, Value)| {
        assert_eq!(queue["brokerName"], "broker-a-0");
        let topic = queue["topic"].as_str().expect("topic").to_owned();
        let broker_offset = int(offsets, "brokerOffset");
        let consumer_offset = int(offsets, "consumerOffset");
        let last = int(offsets, "lastTimestamp");
        let pull = int(offsets, "pullOffset");
        let key = (topic, int(queue, "queueId"));
        (key, (broker_offset, consumer_offset, last, pull))
    };
    table.iter().map(entry).collect()
}

fn commit(conn: &mut TcpStream, topic: &str, queue: i32, offset: i64) {
    let fields = json!({"consumerGroup": "cg", "topic": topic, "queueId": queue,
                        "commitOffset": offset});
    let (header, _) = request(conn, UPDATE_CONSUMER_OFFSET, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
}

fn topics(progress: &Progress) -> Vec<&str> {
    let mut names: Vec<&str> = progress.keys().map(|(t, _)| t.as_str()).collect();
    names.dedup();
    names
}

#[test]
fn progress_matches_what_was_sent_and_committed() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "progress", 2)), SUCCESS);
    assert_eq!(code_of(&create_topic(&mut conn, "other", 1)), SUCCESS);
    create_group(&mut conn, "cg");
    let mut sent_at = Vec::new();
    for _ in 0..5 {
        let before = now_ms();
        assert_eq!(
            code_of(&send_v2(&mut conn, "progress", 0, b"m", "")),
            SUCCESS
        );
        sent_at.push((before, now_ms()));
    }
    for _ in 0..2 {
        assert_eq!(
            code_of(&send_v2(&mut conn, "progress", 1, b"m", "")),
            SUCCESS
        );
    }
    wait_max_offset(&mut conn, "progress", 1, 2);
    commit(&mut conn, "progress", 0, 3);
    commit(&mut conn, "other", 0, 0);

    let asked = json!({"consumerGroup": "cg", "topic": "progress"});
    let progress = consume_stats(&mut conn, asked);
    assert_eq!(topics(&progress), ["progress"]);
    let (broker_offset, consumer_offset, last, pull) = progress[&("progress".into(), 0)];
    assert_eq!((broker_offset, consumer_offset, pull), (5, 3, 3));
    let (before, after) = sent_at[2];
    assert!(
        before <= last && last <= after,
        "third message: {before} <= {last} <= {after}"
    );
    assert_eq!(
        progress[&("progress".into(), 1)],
        (2, 0, 0, 0),
        "nothing committed"
    );

    let every = consume_stats(&mut conn, json!({"consumerGroup": "cg"}));
    assert_eq!(
        topics(&every),
        ["other", "progress"],
        "every topic committed on"
    );
    assert_eq!(every[&("other".into(), 0)], (0, 0, 0, 0));
    let listed = json!({"consumerGroup": "cg", "topicList": "other;;progress;"});
    assert_eq!(consume_stats(&mut conn, listed), every);
    let listed_one = json!({"consumerGroup": "cg", "topic": "progress", "topicList": "other"});
    assert_eq!(topics(&consume_stats(&mut conn, listed_one)), ["other"]);

    // A live consumer of the group narrows "every topic" to what it subscribes to.
    let mut consumer = broker.connect(0);
    heartbeat(&mut consumer, "progress");
    let narrowed = consume_stats(&mut conn, json!({"consumerGroup": "cg"}));
    assert_eq!(topics(&narrowed), ["progress"]);
}

/// Registers a consumer of group `cg` subscribing to `topic` on this connection.
fn heartbeat(conn: &mut TcpStream, topic: &str) {
    let body = format!(
        r#"{{"clientID":"c1","consumerDataSet":[{{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{{"topic":"{topic}","subString":"*"}}]}}],"producerDataSet":[]}}"#
    );
    let header = json!({"code": HEART_BEAT, "language": "JAVA", "version": 479, "opaque": 1,
                        "flag": 0, "extFields": {}});
    write_all(conn, &json_frame(&header.to_string(), body.as_bytes()));
    // The broker may tell the group of its new member before it answers.
    loop {
        let frame = read_frame(conn).expect("a frame").json();
        if frame["flag"].as_i64().unwrap_or(0) & 1 == 1 {
            assert_eq!(code_of(&frame), SUCCESS, "{frame}");
            return;
        }
    }
}

#[test]
fn unknown_groups_and_topics_have_no_progress_and_bad_headers_are_refused() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert!(consume_stats(&mut conn, json!({"consumerGroup": "nobody"})).is_empty());
    let unknown = json!({"consumerGroup": "cg", "topic": "no_such_topic"});
    assert!(
        consume_stats(&mut conn, unknown).is_empty(),
        "skipped, as Java does"
    );
    let (header, _) = request(&mut conn, GET_CONSUME_STATS, json!({"topic": "t"}));
    assert_eq!(code_of(&header), SYSTEM_ERROR, "{header}");
    let remark = header["remark"].as_str().expect("remark");
    assert!(remark.contains("consumerGroup"), "{remark}");
    assert!(consume_stats(&mut conn, json!({"consumerGroup": "cg"})).is_empty());
}
