//! A created topic is persisted: after SIGTERM and a start on the same store path it is
//! still configured and routed.

mod common;

use common::{code_of, create_topic, json_body, request, wait_route, Broker, GET_ALL_TOPIC_CONFIG};

#[test]
fn topic_persists_across_a_restart() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "kept", 3)), 0);
    drop(conn);
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    assert!(store.join("config/topics.json").exists());

    let broker = Broker::start_in(2, &[], store, dir);
    let route = wait_route(broker.namesrv_addr(), "kept", 2);
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 3);
    let mut conn = broker.connect(1);
    let (_, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
    assert_eq!(
        json_body(&body)["topicConfigTable"]["kept"]["writeQueueNums"],
        3
    );
}
