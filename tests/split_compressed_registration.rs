//! A broker with `compressedRegister=true` and `enableSplitRegistration=true` registers a
//! table of thousands of topics in compressed parts of `splitRegistrationSize` topics with
//! its embedded NameServer: every topic is routable, a topic created later too, and a topic
//! deleted on the broker leaves the routes though each part lists only some topics
//! (docs/protocol.md §2.9.2).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{code_of, create_topic, json_body, request, wait_until, Broker, PATIENCE};

const TOPICS: usize = 5_000;
const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
const DELETE_TOPIC_IN_BROKER: i32 = 215;

fn topic(i: usize) -> String {
    format!("split-{i:05}")
}

/// A store whose `config/topics.json` already holds `TOPICS` one-queue topics, as a broker
/// restarted with them finds it: one registration round carries them all, where creating
/// each would re-register the growing table thousands of times.
fn store_with_topics() -> (std::sync::Arc<tempfile::TempDir>, std::path::PathBuf) {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("store"));
    let store = dir.path().to_owned();
    std::fs::create_dir_all(store.join("config")).expect("config dir");
    let table: serde_json::Map<String, serde_json::Value> = (0..TOPICS)
        .map(|i| {
            let config = serde_json::json!({
                "topicName": topic(i), "readQueueNums": 1, "writeQueueNums": 1, "perm": 6,
                "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false
            });
            (topic(i), config)
        })
        .collect();
    let topics = serde_json::json!({
        "dataVersion": {"counter": 1, "timestamp": 1_700_000_000_000i64},
        "topicConfigTable": table,
    });
    std::fs::write(store.join("config/topics.json"), topics.to_string()).expect("topics");
    (dir, store)
}

/// The topics the NameServer routes now.
fn routed(broker: &Broker) -> BTreeSet<String> {
    let mut ns = common::connect(broker.namesrv_addr());
    let (header, body) = request(
        &mut ns,
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        serde_json::json!({}),
    );
    assert_eq!(code_of(&header), 0, "{header}");
    json_body(&body)["topicList"]
        .as_array()
        .expect("topicList")
        .iter()
        .map(|t| t.as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn thousands_of_topics_register_in_compressed_parts_and_all_route() {
    let (dir, store) = store_with_topics();
    let broker = Broker::start_in(
        1,
        &[
            "-o",
            "compressedRegister=true",
            "-o",
            "enableSplitRegistration=true",
            "-o",
            "splitRegistrationSize=100",
        ],
        store,
        Some(dir),
    );
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "split-late", 2)), 0);

    let mut all: BTreeSet<String> = (0..TOPICS).map(topic).collect();
    all.insert("split-late".into());
    wait_until(PATIENCE, "every topic routed", || {
        routed(&broker).is_superset(&all)
    });
    // The route of a topic of the last part as much as of the first.
    let mut ns = common::connect(broker.namesrv_addr());
    ns.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    for (name, queues) in [
        (topic(0), 1),
        (topic(TOPICS / 2), 1),
        (topic(TOPICS - 1), 1),
        ("split-late".into(), 2),
    ] {
        let (header, body) = request(
            &mut ns,
            common::GET_ROUTEINFO_BY_TOPIC,
            serde_json::json!({ "topic": name }),
        );
        assert_eq!(code_of(&header), 0, "{name}: {header}");
        let route = json_body(&body);
        assert_eq!(route["queueDatas"][0]["writeQueueNums"], queues, "{route}");
    }

    // A deleted topic leaves the routes once a whole round no longer lists it; the others
    // stay.
    let doomed = topic(TOPICS / 2);
    let (header, _) = request(
        &mut conn,
        DELETE_TOPIC_IN_BROKER,
        serde_json::json!({ "topic": doomed }),
    );
    assert_eq!(code_of(&header), 0, "{header}");
    wait_until(PATIENCE, "the deleted topic unrouted", || {
        !routed(&broker).contains(&doomed)
    });
    let left = routed(&broker);
    assert_eq!(
        all.difference(&left).collect::<Vec<_>>(),
        [&doomed],
        "only the deleted topic left"
    );
}
