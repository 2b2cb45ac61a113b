//! LOCK_BATCH_MQ and UNLOCK_BATCH_MQ as orderly consumers use them: a queue locked by one
//! client is refused to another until it is unlocked (here with a oneway request, as clients
//! send it on shutdown); a malformed body is an error and the connection stays usable.

mod common;

use std::net::TcpStream;

use common::{code_of, json_frame, request_with_body, write_all, Broker, SUCCESS};
use serde_json::json;

const LOCK_BATCH_MQ: i32 = 41;
const UNLOCK_BATCH_MQ: i32 = 42;
const ONEWAY_FLAG: i32 = 2;

fn body(client: &str, queues: &[i32]) -> Vec<u8> {
    let mq_set: Vec<_> = queues
        .iter()
        .map(|q| json!({"brokerName": "broker-a-0", "queueId": q, "topic": "orders"}))
        .collect();
    json!({"clientId": client, "consumerGroup": "cg_orderly", "mqSet": mq_set,
           "onlyThisBroker": false})
    .to_string()
    .into_bytes()
}

/// The queue ids a LOCK_BATCH_MQ for `client` got.
fn lock(conn: &mut TcpStream, client: &str, queues: &[i32]) -> Vec<i64> {
    let (header, reply) = request_with_body(conn, LOCK_BATCH_MQ, json!({}), &body(client, queues));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let reply: serde_json::Value = serde_json::from_slice(&reply).expect("JSON body");
    let set = reply["lockOKMQSet"].as_array().expect("lockOKMQSet");
    set.iter()
        .map(|mq| {
            assert_eq!(
                (mq["topic"].as_str(), mq["brokerName"].as_str()),
                (Some("orders"), Some("broker-a-0"))
            );
            mq["queueId"].as_i64().expect("queueId")
        })
        .collect()
}

#[test]
fn a_locked_queue_is_refused_to_another_client_until_unlocked() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(lock(&mut conn, "c1", &[0, 1]), [0, 1]);
    assert_eq!(lock(&mut conn, "c2", &[1, 2]), [2]);
    assert_eq!(lock(&mut conn, "c1", &[0, 1]), [0, 1], "a renewal");

    // Oneway unlock: no answer; the next response is the lock's.
    let header = json!({"code": UNLOCK_BATCH_MQ, "language": "JAVA", "version": 479,
                        "opaque": 9_999, "flag": ONEWAY_FLAG, "extFields": {}});
    write_all(
        &mut conn,
        &json_frame(&header.to_string(), &body("c1", &[1])),
    );
    assert_eq!(lock(&mut conn, "c2", &[1, 2]), [1, 2]);
    assert_eq!(lock(&mut conn, "c1", &[0, 1]), [0]);
}

#[test]
fn a_malformed_lock_body_is_an_error_and_the_connection_goes_on() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    for bad in [
        &b"not json"[..],
        b"{}",
        br#"{"clientId":"c","consumerGroup":"g","mqSet":[{"topic":1}]}"#,
    ] {
        let (header, _) = request_with_body(&mut conn, LOCK_BATCH_MQ, json!({}), bad);
        assert_ne!(code_of(&header), SUCCESS, "{header}");
        assert!(header["remark"]
            .as_str()
            .is_some_and(|r| r.contains("lock request body")));
    }
    assert_eq!(lock(&mut conn, "c1", &[3]), [3]);
}
