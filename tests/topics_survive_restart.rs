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
    let per_broker = |route: &serde_json::Value| {
        let mut queues: Vec<(String, i64)> = route["queueDatas"]
            .as_array()
            .expect("queueDatas")
            .iter()
            .map(|q| {
                (
                    q["brokerName"].to_string(),
                    q["readQueueNums"].as_i64().expect("count"),
                )
            })
            .collect();
        queues.sort();
        queues
    };
    let queues = per_broker(&route);
    assert_eq!(queues.iter().map(|(_, n)| n).sum::<i64>(), 3, "{route}");
    let mut shown = 0;
    for shard in 0..2 {
        let mut conn = broker.connect(shard);
        let (_, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
        shown += json_body(&body)["topicConfigTable"]["kept"]["writeQueueNums"]
            .as_i64()
            .unwrap_or(0);
    }
    assert_eq!(shown, 3, "each shard shows its share");
}
