//! A topic's queues are placed over the shards, each on one: a send that reaches a shard
//! hosting none of its topic's queues is stored where they are, a message handed back on one
//! shard lands in its group's retry queue on another, the store keeps the shard count it was
//! written with, and a store written when every shard hosted every queue reads as it was.

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::{
    code_of, create_topic, json_body, pull_until_found, request, request_with_body, send_v2,
    wait_route, Broker, GET_ALL_TOPIC_CONFIG, GET_ROUTEINFO_BY_TOPIC,
};
use serde_json::json;
use shardmq::wire::record::RecordView;

const SEND_MESSAGE_V2: i32 = 310;
const CONSUMER_SEND_MSG_BACK: i32 = 36;

/// The shards hosting `topic`'s queues, with their counts, as the NameServer routes it.
fn hosts(broker: &Broker, topic: &str) -> Vec<(u16, i64)> {
    let mut ns = common::connect(broker.namesrv_addr());
    let (header, body) = request(&mut ns, GET_ROUTEINFO_BY_TOPIC, json!({ "topic": topic }));
    assert_eq!(code_of(&header), 0, "{topic}: {header}");
    let route = json_body(&body);
    let mut hosts: Vec<(u16, i64)> = route["queueDatas"]
        .as_array()
        .expect("queueDatas")
        .iter()
        .map(|q| {
            let name = q["brokerName"].as_str().expect("brokerName");
            let shard = name.strip_prefix("broker-a-").expect("a shard's broker");
            (
                shard.parse().expect("index"),
                q["writeQueueNums"].as_i64().expect("count"),
            )
        })
        .collect();
    hosts.sort();
    hosts
}

/// A SEND_MESSAGE_V2 as a producer routing by TBW102 makes it: `default_queues` is the
/// queue count the client asks auto-creation for.
fn send_auto(
    conn: &mut TcpStream,
    topic: &str,
    queue: i32,
    default_queues: i32,
) -> serde_json::Value {
    let fields = json!({
        "a": "pg", "b": topic, "c": "TBW102", "d": default_queues.to_string(),
        "e": queue.to_string(), "f": "0", "g": "1700000000000", "h": "0", "i": "",
        "j": "0", "k": "false", "m": "false"
    });
    request_with_body(conn, SEND_MESSAGE_V2, fields, b"first").0
}

#[test]
fn a_send_to_a_shard_hosting_none_of_the_queues_is_stored_where_they_are() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "single", 1)), 0);
    let [(host, 1)] = hosts(&broker, "single")[..] else {
        panic!("one queue on one shard");
    };
    let other = 1 - host;
    // GET_ALL_TOPIC_CONFIG shows the shard's share, and where the topic starts; the shard
    // hosting none does not list it.
    for (shard, listed) in [(host, true), (other, false)] {
        let (header, body) = request(&mut broker.connect(shard), GET_ALL_TOPIC_CONFIG, json!({}));
        assert_eq!(code_of(&header), 0, "{header}");
        let all = json_body(&body);
        let config = &all["topicConfigTable"]["single"];
        assert_eq!(config.is_object(), listed, "shard {shard}: {all}");
        let first = all["shardOfFirstQueue"]["single"].as_u64();
        assert_eq!(first, listed.then_some(u64::from(host)), "{all}");
        assert!(
            all["shardOfFirstQueue"]["TBW102"].is_null(),
            "on every shard"
        );
    }
    let sent = send_v2(&mut broker.connect(other), "single", 0, b"misrouted", "");
    assert_eq!(code_of(&sent), 0, "{sent}");
    let body = pull_until_found(&mut broker.connect(host), "single", 0, 0);
    assert_eq!(
        RecordView::parse(&body).expect("record").body(),
        b"misrouted"
    );

    // Auto-creation: one queue in all, whichever shard took the first message.
    for shard in 0..2 {
        let topic = format!("auto{shard}");
        let sent = send_auto(&mut broker.connect(shard), &topic, 3, 1);
        assert_eq!(code_of(&sent), 0, "{sent}");
        let [(host, 1)] = hosts(&broker, &topic)[..] else {
            panic!("{topic}: one queue");
        };
        let body = pull_until_found(&mut broker.connect(host), &topic, 0, 0);
        assert_eq!(RecordView::parse(&body).expect("record").body(), b"first");
    }
    // Four queues over two shards, two each: a queue id of the template's route past a
    // shard's share is stored in one of its queues.
    let sent = send_auto(&mut broker.connect(1), "auto4", 3, 4);
    assert_eq!(code_of(&sent), 0, "{sent}");
    assert_eq!(hosts(&broker, "auto4"), [(0, 2), (1, 2)]);
    assert_eq!(sent["extFields"]["queueId"], "1", "3 mod 2: {sent}");
}

#[test]
fn a_message_handed_back_reaches_its_groups_retry_queue_on_another_shard() {
    let broker = Broker::start(2, &["-o", "messageDelayLevel=1s 1s 1s"]);
    let mut conn = broker.connect(0);
    // The first one-queue topic goes to shard 0, the group's retry topic then to shard 1.
    assert_eq!(code_of(&create_topic(&mut conn, "orig", 1)), 0);
    assert_eq!(hosts(&broker, "orig"), [(0, 1)]);
    common::create_group(&mut conn, "g");
    let sent = send_v2(&mut conn, "orig", 0, b"failed once", "");
    assert_eq!(code_of(&sent), 0, "{sent}");
    let id = sent["extFields"]["msgId"]
        .as_str()
        .expect("msgId")
        .to_owned();
    let offset = i64::from_str_radix(&id[16..], 16).expect("offset");
    let fields = json!({
        "offset": offset.to_string(), "group": "g", "delayLevel": "1",
        "originMsgId": id, "originTopic": "orig", "maxReconsumeTimes": "16"
    });
    let (answer, _) = request(&mut conn, CONSUMER_SEND_MSG_BACK, fields);
    assert_eq!(code_of(&answer), 0, "{answer}");
    wait_route(broker.namesrv_addr(), "%RETRY%g", 1);
    assert_eq!(hosts(&broker, "%RETRY%g"), [(1, 1)], "one retry queue");
    let body = pull_until_found(&mut broker.connect(1), "%RETRY%g", 0, 0);
    let record = RecordView::parse(&body).expect("record");
    assert_eq!(record.body(), b"failed once");
    assert_eq!(record.reconsume_times(), 1);
    assert_eq!(record.property("ORIGIN_MESSAGE_ID"), Some(id.as_str()));
    assert_eq!(
        record.store_host(),
        broker.addr(1),
        "stored by the retry queue's shard"
    );
}

fn start_output(store: &std::path::Path, shards: u16) -> std::process::Output {
    let port = common::free_port_block(shards);
    Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["broker", "--listen-addr", "127.0.0.1"])
        .args(["--shards", &shards.to_string()])
        .args(["--listen-port", &port.to_string()])
        .args(["--namesrv-listen-port", &common::free_port().to_string()])
        .arg("--store-path")
        .arg(store)
        .output()
        .expect("run a broker")
}

#[test]
fn a_store_refuses_another_shard_count_and_keeps_its_data() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "kept", 2)), 0);
    for shard in 0..2 {
        let sent = send_v2(&mut broker.connect(shard), "kept", 0, b"kept", "");
        assert_eq!(code_of(&sent), 0, "{sent}");
    }
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));

    for shards in [1, 3] {
        let output = start_output(&store, shards);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{shards} shards must not start: {stderr}"
        );
        assert!(stderr.contains("written by 2 shards"), "{stderr}");
        assert!(stderr.contains("--shards 2"), "says what to pass: {stderr}");
    }
    let broker = Broker::start_in(2, &[], store, dir);
    for shard in 0..2 {
        let body = pull_until_found(&mut broker.connect(shard), "kept", 0, 0);
        assert_eq!(RecordView::parse(&body).expect("record").body(), b"kept");
    }
}

#[test]
fn a_store_from_before_placement_keeps_every_queue_it_had() {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("store"));
    let store = dir.path().to_owned();
    // Two shards, each hosting the topic's 3 queues, and no recorded shard count.
    std::fs::create_dir_all(store.join("config")).expect("config dir");
    for shard in 0..2 {
        std::fs::create_dir_all(store.join(format!("shard-{shard}"))).expect("shard dir");
    }
    let topics = json!({
        "dataVersion": {"counter": 3, "timestamp": 1_700_000_000_000i64},
        "topicConfigTable": {"old": {
            "topicName": "old", "readQueueNums": 3, "writeQueueNums": 3, "perm": 6,
            "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false
        }}
    });
    std::fs::write(store.join("config/topics.json"), topics.to_string()).expect("topics");

    let output = start_output(&store, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "one shard must not start: {stderr}"
    );
    assert!(stderr.contains("shard-0 to shard-1"), "{stderr}");

    let broker = Broker::start_in(2, &[], store.clone(), Some(dir));
    wait_route(broker.namesrv_addr(), "old", 2);
    assert_eq!(hosts(&broker, "old"), [(0, 3), (1, 3)]);
    let recorded = std::fs::read_to_string(store.join("config/shards.json")).expect("recorded");
    assert!(recorded.contains("\"shardCount\":2"), "{recorded}");
}
