//! UPDATE_AND_CREATE_TOPIC on any shard's port makes the topic routable through the
//! NameServer by the time the response arrives, on every shard, and listed by
//! GET_ALL_TOPIC_CONFIG on every shard.

mod common;

use common::{
    code_of, create_topic, json_body, request, wait_route, Broker, GET_ALL_TOPIC_CONFIG,
    GET_ROUTEINFO_BY_TOPIC,
};

#[test]
fn created_topic_is_routed_to_every_shard_when_the_create_returns() {
    let broker = Broker::start(2, &[]);
    wait_route(broker.namesrv_addr(), "TBW102", 2);

    let mut conn = broker.connect(1);
    let header = create_topic(&mut conn, "orders", 4);
    assert_eq!(code_of(&header), 0, "created: {header}");

    let mut ns = common::connect(broker.namesrv_addr());
    let (header, body) = request(
        &mut ns,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({"topic": "orders"}),
    );
    assert_eq!(code_of(&header), 0, "routed at once: {header}");
    let route = json_body(&body);
    let queues = route["queueDatas"].as_array().expect("queueDatas");
    assert_eq!(queues.len(), 2, "one queue set per shard: {route}");
    assert!(queues
        .iter()
        .all(|q| q["writeQueueNums"] == 4 && q["perm"] == 6));

    for shard in 0..2 {
        let mut conn = broker.connect(shard);
        let (header, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
        assert_eq!(code_of(&header), 0);
        let all = json_body(&body);
        assert_eq!(all["topicConfigTable"]["orders"]["readQueueNums"], 4);
        assert!(all["dataVersion"]["counter"].as_i64().unwrap() > 0);
    }
}

#[test]
fn invalid_and_system_topic_names_are_refused() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "bad name", 4)), 29);
    assert_eq!(
        code_of(&create_topic(&mut conn, "SCHEDULE_TOPIC_XXXX", 4)),
        29
    );
}
