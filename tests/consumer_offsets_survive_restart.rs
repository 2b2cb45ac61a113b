//! A committed consumer offset is answered back, and is still there after SIGTERM and a
//! start on the same store: a restarted consumer resumes where it left off.

mod common;

use common::{code_of, request, Broker};
use serde_json::json;

const QUERY_CONSUMER_OFFSET: i32 = 14;
const UPDATE_CONSUMER_OFFSET: i32 = 15;
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
}
