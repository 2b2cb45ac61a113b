//! UPDATE_AND_CREATE_TOPIC on any shard's port makes the topic routable through the
//! NameServer by the time the response arrives, with exactly the queues asked for, each on
//! one shard's broker, and GET_ALL_TOPIC_CONFIG on each shard lists that shard's share.

mod common;

use std::collections::BTreeMap;

use common::{
    code_of, create_topic, json_body, request, wait_route, Broker, GET_ALL_TOPIC_CONFIG,
    GET_ROUTEINFO_BY_TOPIC,
};

/// The write queues of `topic` per broker name, as the NameServer routes it now.
fn routed_queues(broker: &Broker, topic: &str) -> BTreeMap<String, i64> {
    let mut ns = common::connect(broker.namesrv_addr());
    let (header, body) = request(
        &mut ns,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({ "topic": topic }),
    );
    assert_eq!(code_of(&header), 0, "{topic} routed at once: {header}");
    let route = json_body(&body);
    let mut queues = BTreeMap::new();
    for data in route["queueDatas"].as_array().expect("queueDatas") {
        let name = data["brokerName"].as_str().expect("brokerName").to_owned();
        assert_eq!(data["readQueueNums"], data["writeQueueNums"], "{route}");
        assert_eq!(data["perm"], 6, "{route}");
        let count = data["writeQueueNums"].as_i64().expect("count");
        assert!(count > 0, "a broker hosting nothing is not listed: {route}");
        assert!(
            queues.insert(name, count).is_none(),
            "one entry per broker: {route}"
        );
    }
    queues
}

fn topics_queues(broker: &Broker, shard: u16, topic: &str) -> i64 {
    let mut conn = broker.connect(shard);
    let (header, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
    assert_eq!(code_of(&header), 0);
    let all = json_body(&body);
    assert!(all["dataVersion"]["counter"].as_i64().expect("counter") > 0);
    all["topicConfigTable"][topic]["writeQueueNums"]
        .as_i64()
        .unwrap_or(0)
}

#[test]
fn a_topic_has_the_queues_asked_for_whatever_the_shard_count() {
    for shards in [2u16, 4] {
        let broker = Broker::start(shards, &[]);
        wait_route(broker.namesrv_addr(), "TBW102", usize::from(shards));
        for queues in [1, 3, 8] {
            let topic = format!("orders{queues}");
            let mut conn = broker.connect(shards - 1);
            let header = create_topic(&mut conn, &topic, queues);
            assert_eq!(code_of(&header), 0, "created: {header}");
            let routed = routed_queues(&broker, &topic);
            let total: i64 = routed.values().sum();
            assert_eq!(total, i64::from(queues), "{shards} shards: {routed:?}");
            let used = usize::try_from(queues)
                .expect("count")
                .min(usize::from(shards));
            assert_eq!(routed.len(), used, "{shards} shards: {routed:?}");
            let (least, most) = (routed.values().min(), routed.values().max());
            assert!(
                most.expect("hosted") - least.expect("hosted") <= 1,
                "spread: {routed:?}"
            );
            for shard in 0..shards {
                let name = format!("broker-a-{shard}");
                let share = routed.get(&name).copied().unwrap_or(0);
                assert_eq!(topics_queues(&broker, shard, &topic), share, "{name}");
            }
            // mqadmin's `updateTopic -c` sends the same request to every broker of the
            // cluster: the topic keeps the count asked for.
            let mut conn = broker.connect(0);
            assert_eq!(code_of(&create_topic(&mut conn, &topic, queues)), 0);
            assert_eq!(routed_queues(&broker, &topic), routed, "nothing moved");
        }
        // One-queue topics do not all land on the same shard.
        let hosts: std::collections::BTreeSet<String> = (0..shards)
            .map(|k| {
                let topic = format!("single{k}");
                assert_eq!(code_of(&create_topic(&mut broker.connect(0), &topic, 1)), 0);
                routed_queues(&broker, &topic)
                    .into_keys()
                    .next()
                    .expect("hosted")
            })
            .collect();
        assert!(hosts.len() > 1, "{shards} shards: all on {hosts:?}");
        assert_eq!(broker.stop(), Some(0));
    }
}

#[test]
fn growing_a_topic_adds_queues_and_moves_none() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "grows", 1)), 0);
    let before = routed_queues(&broker, "grows");
    assert_eq!(code_of(&create_topic(&mut conn, "grows", 4)), 0);
    let after = routed_queues(&broker, "grows");
    assert_eq!(after.values().sum::<i64>(), 4, "{after:?}");
    let (host, _) = before.iter().next().expect("one host");
    assert_eq!(
        after[host], 2,
        "the first queue's shard keeps it and gains one"
    );
    assert_eq!(code_of(&create_topic(&mut conn, "grows", 1)), 0);
    assert_eq!(
        routed_queues(&broker, "grows"),
        before,
        "shrinking drops the last queues"
    );
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

#[test]
fn a_topic_list_is_created_whole_or_not_at_all() {
    const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
    let broker = Broker::start(2, &[]);
    let list = |names: &[String]| {
        let configs: Vec<_> = names
            .iter()
            .map(|name| {
                serde_json::json!({
                    "topicName": name, "readQueueNums": 2, "writeQueueNums": 2, "perm": 6
                })
            })
            .collect();
        serde_json::json!({ "topicConfigList": configs }).to_string()
    };
    let names: Vec<String> = (0..1000).map(|i| format!("listed{i}")).collect();
    let mut conn = broker.connect(1);
    let (header, _) = common::request_with_body(
        &mut conn,
        UPDATE_AND_CREATE_TOPIC_LIST,
        serde_json::json!({}),
        list(&names).as_bytes(),
    );
    assert_eq!(code_of(&header), 0, "{header}");
    for name in [&names[0], &names[499], &names[999]] {
        let routed = routed_queues(&broker, name);
        assert_eq!(routed.values().sum::<i64>(), 2, "{name}: {routed:?}");
    }
    for shard in 0..2 {
        let mut conn = broker.connect(shard);
        let (_, body) = request(&mut conn, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
        let all = json_body(&body);
        let listed = all["topicConfigTable"]
            .as_object()
            .expect("table")
            .keys()
            .filter(|name| name.starts_with("listed"))
            .count();
        assert_eq!(listed, 1000, "shard {shard} hosts a queue of each");
    }

    // One bad name refuses the whole list.
    let mut bad: Vec<String> = (0..10).map(|i| format!("refused{i}")).collect();
    bad.push("bad name".into());
    let (header, _) = common::request_with_body(
        &mut conn,
        UPDATE_AND_CREATE_TOPIC_LIST,
        serde_json::json!({}),
        list(&bad).as_bytes(),
    );
    assert_eq!(code_of(&header), 29, "{header}");
    let mut ns = common::connect(broker.namesrv_addr());
    let (header, _) = request(
        &mut ns,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({ "topic": "refused0" }),
    );
    assert_ne!(code_of(&header), 0, "nothing of it was created: {header}");
}
