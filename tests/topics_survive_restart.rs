//! A created topic is persisted: after SIGTERM and a start on the same store path it is
//! still configured and routed; after SIGKILL in the middle of a burst of changes, every
//! acknowledged one is still there.

mod common;

use std::collections::BTreeSet;

use common::{code_of, create_topic, json_body, request, wait_route, Broker, GET_ALL_TOPIC_CONFIG};
use serde_json::json;

const DELETE_TOPIC_IN_BROKER: i32 = 215;
const UPDATE_GROUP: i32 = 200;
const ALL_GROUPS: i32 = 201;

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

/// The topics named `burst-*` some shard of `broker` lists.
fn burst_topics(broker: &Broker) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    for shard in 0..2 {
        let mut conn = broker.connect(shard);
        let (_, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
        let table = json_body(&body)["topicConfigTable"].clone();
        let names = table.as_object().expect("topicConfigTable").keys();
        listed.extend(names.filter(|name| name.starts_with("burst-")).cloned());
    }
    listed
}

#[test]
fn every_acknowledged_change_survives_a_kill() {
    let broker = Broker::start(2, &[]);
    // Four connections creating at once, so the changes reach the owner in batches, and
    // enough of them for the table's journal to be folded into a new topics.json.
    std::thread::scope(|scope| {
        for shard in 0..4u16 {
            let broker = &broker;
            scope.spawn(move || {
                let mut conn = broker.connect(shard % 2);
                for i in 0..100 {
                    let topic = format!("burst-{shard}-{i}");
                    assert_eq!(code_of(&create_topic(&mut conn, &topic, 4)), 0, "{topic}");
                }
            });
        }
    });
    let mut conn = broker.connect(1);
    for i in 0..10 {
        let header = json!({ "topic": format!("burst-0-{i}") });
        let (header, _) = request(&mut conn, DELETE_TOPIC_IN_BROKER, header);
        assert_eq!(code_of(&header), 0, "{header}");
    }
    let body = br#"{"groupName":"kept-group","retryMaxTimes":"5"}"#;
    let (header, _) = common::request_with_body(&mut conn, UPDATE_GROUP, json!({}), body);
    assert_eq!(code_of(&header), 0, "{header}");
    drop(conn);
    let expected: BTreeSet<String> = (0..4)
        .flat_map(|shard| (0..100).map(move |i| format!("burst-{shard}-{i}")))
        .filter(|name| !(0..10).any(|i| *name == format!("burst-0-{i}")))
        .collect();
    assert_eq!(burst_topics(&broker), expected, "before the kill");
    let (store, dir) = broker.store_dir();
    broker.kill();

    let broker = Broker::start_in(2, &[], store.clone(), dir);
    assert_eq!(burst_topics(&broker), expected, "after the kill");
    let mut conn = broker.connect(0);
    let (_, body) = request(&mut conn, ALL_GROUPS, json!({}));
    let group = &json_body(&body)["subscriptionGroupTable"]["kept-group"];
    assert_eq!(group["retryMaxTimes"], 5, "{group}");
    // The start wrote topics.json whole again, so Java's tools reading it see every topic.
    let file = std::fs::read(store.join("config/topics.json")).expect("topics.json");
    let stored: serde_json::Value = serde_json::from_slice(&file).expect("json");
    let table = stored["topicConfigTable"].as_object().expect("table");
    let in_file: BTreeSet<String> = table
        .keys()
        .filter(|name| name.starts_with("burst-"))
        .cloned()
        .collect();
    assert_eq!(in_file, expected, "topics.json after the start");
}
