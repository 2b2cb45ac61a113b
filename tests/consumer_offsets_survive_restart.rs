//! A committed consumer offset is answered back, and is still there after SIGTERM and a
//! start on the same store: a restarted consumer resumes where it left off, and
//! GET_ALL_CONSUMER_OFFSET / GET_ALL_DELAY_OFFSET answer the shard's files. Offsets are
//! kept only for groups and queues that exist, so the offset table cannot be grown with
//! made-up names.

mod common;

use common::{code_of, create_group, create_topic, request, Broker, SUCCESS};
use serde_json::json;

const QUERY_CONSUMER_OFFSET: i32 = 14;
const UPDATE_CONSUMER_OFFSET: i32 = 15;
const GET_ALL_CONSUMER_OFFSET: i32 = 43;
const GET_ALL_DELAY_OFFSET: i32 = 45;
const QUERY_NOT_FOUND: i64 = 22;

fn query(conn: &mut std::net::TcpStream, group: &str, queue: i32) -> serde_json::Value {
    let fields = json!({"consumerGroup": group, "topic": "orders", "queueId": queue,
                        "setZeroIfNotFound": "false"});
    request(conn, QUERY_CONSUMER_OFFSET, fields).0
}

#[test]
fn committed_offsets_are_kept_across_a_restart() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "orders", 4)), SUCCESS);
    create_group(&mut conn, "g1");
    assert_eq!(code_of(&query(&mut conn, "g1", 1)), QUERY_NOT_FOUND);

    // As ali-ons sends it: numbers, not strings.
    let update =
        json!({"consumerGroup": "g1", "topic": "orders", "queueId": 1, "commitOffset": 42});
    let (response, _) = request(&mut conn, UPDATE_CONSUMER_OFFSET, update);
    assert_eq!(code_of(&response), 0);
    let answer = query(&mut conn, "g1", 1);
    assert_eq!(code_of(&answer), 0);
    assert_eq!(answer["extFields"]["offset"], "42");
    drop(conn);

    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    let broker = Broker::start_in(1, &[], store, dir);
    let mut conn = broker.connect(0);
    let answer = query(&mut conn, "g1", 1);
    assert_eq!(code_of(&answer), 0, "{answer}");
    assert_eq!(answer["extFields"]["offset"], "42");
    assert_eq!(
        code_of(&query(&mut conn, "g2", 1)),
        QUERY_NOT_FOUND,
        "other groups unaffected"
    );

    // What a slave asks for: the shard's files as they stand, data version included.
    let (answer, body) = request(&mut conn, GET_ALL_CONSUMER_OFFSET, json!({}));
    assert_eq!(code_of(&answer), SUCCESS, "{answer}");
    let file = broker.store.join("shard-0/config/consumerOffset.json");
    assert_eq!(body, std::fs::read(&file).expect("the offsets file"));
    let table = common::json_body(&body);
    assert_eq!(table["offsetTable"]["orders@g1"]["1"], 42, "{table}");
    assert!(
        table["dataVersion"]["counter"].as_i64() >= Some(1),
        "{table}"
    );
    let (answer, body) = request(&mut conn, GET_ALL_DELAY_OFFSET, json!({}));
    assert_eq!(code_of(&answer), SUCCESS, "{answer}");
    let cursors = common::json_body(&body);
    assert_eq!(
        cursors["offsetTable"]["18"], 0,
        "one cursor per level: {cursors}"
    );
    assert!(cursors["dataVersion"].is_object(), "{cursors}");
}

fn commit(conn: &mut std::net::TcpStream, group: &str, topic: &str, queue: i32) -> i64 {
    let update = json!({"consumerGroup": group, "topic": topic, "queueId": queue,
                        "commitOffset": 7});
    code_of(&request(conn, UPDATE_CONSUMER_OFFSET, update).0)
}

#[test]
fn offsets_are_only_kept_for_groups_topics_and_queues_that_exist() {
    const TOPIC_NOT_EXIST: i64 = 17;
    const SUBSCRIPTION_GROUP_NOT_EXIST: i64 = 26;
    const INVALID_PARAMETER: i64 = 29;
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "orders", 2)), SUCCESS);
    create_group(&mut conn, "g1");

    // Made-up names, as long as a frame allows, change nothing.
    let long = "x".repeat(30_000);
    for n in 0..50 {
        let made_up = format!("{long}{n}");
        assert_eq!(commit(&mut conn, "g1", &made_up, 0), TOPIC_NOT_EXIST);
        assert_eq!(
            commit(&mut conn, &made_up, "orders", 0),
            SUBSCRIPTION_GROUP_NOT_EXIST
        );
    }
    assert_eq!(commit(&mut conn, "g1", "orders", 2), INVALID_PARAMETER);
    assert_eq!(commit(&mut conn, "g1", "orders", -1), INVALID_PARAMETER);
    assert_eq!(commit(&mut conn, "g1", "orders", 1), SUCCESS);

    // What the table holds is what a restart finds: only the real commit.
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    let file = store.join("shard-0/config/consumerOffset.json");
    let text = std::fs::read_to_string(&file).expect("consumerOffset.json");
    assert!(text.contains("orders@g1"), "{text}");
    assert!(text.len() < 1_000, "{} bytes: {text}", text.len());
    drop(dir);
}
