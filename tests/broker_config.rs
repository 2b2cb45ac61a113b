//! GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25) over the raw protocol, as mqadmin's
//! `getBrokerConfig` and `updateBrokerConfig` send them: the configuration in force as
//! properties text, keys that may change live changing on every shard of the process at
//! once and surviving a restart, and every other key refused by its name with nothing
//! applied.

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;

use common::{
    code_of, create_topic, request, request_with_body, send_v2, wait_for, wait_route, Broker,
    INVALID_PARAMETER, PATIENCE, SUCCESS,
};
use serde_json::{json, Value};

const UPDATE_BROKER_CONFIG: i32 = 25;
const GET_BROKER_CONFIG: i32 = 26;
const MESSAGE_ILLEGAL: i64 = 13;
const NO_PERMISSION: i64 = 16;

/// The broker's configuration and its version's counter.
fn config(conn: &mut TcpStream) -> (BTreeMap<String, String>, i64) {
    let (header, body) = request(conn, GET_BROKER_CONFIG, json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let text = String::from_utf8(body).expect("UTF-8 body");
    let keys = text
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').expect("key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect();
    let version: Value =
        serde_json::from_str(header["extFields"]["version"].as_str().expect("version"))
            .expect("a DataVersion");
    (keys, version["counter"].as_i64().expect("counter"))
}

fn update(conn: &mut TcpStream, body: &str) -> Value {
    request_with_body(conn, UPDATE_BROKER_CONFIG, json!({}), body.as_bytes()).0
}

fn remark(header: &Value) -> &str {
    header["remark"].as_str().unwrap_or_default()
}

#[test]
fn live_keys_change_on_every_shard_and_survive_a_restart() {
    let broker = Broker::start(2, &[]);
    let (mut conn0, mut conn1) = (broker.connect(0), broker.connect(1));
    let (keys, counter) = config(&mut conn0);
    assert_eq!(counter, 0);
    assert_eq!(keys["brokerName"], "broker-a");
    assert_eq!(keys["shards"], "2", "the count running");
    assert_eq!(keys["maxMessageSize"], "4194304");
    assert_eq!(keys["mappedFileSizeCommitLog"], "4194304", "as set by -o");
    assert_eq!(keys["aclEnable"], "false");
    assert!(
        !keys.contains_key("sendMessageThreadPoolNums"),
        "no ignored keys"
    );
    assert_eq!(code_of(&create_topic(&mut conn0, "BC", 2)), SUCCESS);

    // Asked on shard 1, in force on both.
    assert_eq!(
        code_of(&update(&mut conn1, "maxMessageSize=1024\n")),
        SUCCESS
    );
    for conn in [&mut conn0, &mut conn1] {
        let header = send_v2(conn, "BC", 0, &[b'x'; 2000], "");
        assert_eq!(code_of(&header), MESSAGE_ILLEGAL, "{header}");
        assert_eq!(code_of(&send_v2(conn, "BC", 0, &[b'x'; 1000], "")), SUCCESS);
        let (keys, counter) = config(conn);
        assert_eq!((keys["maxMessageSize"].as_str(), counter), ("1024", 1));
    }

    // Refused by name, and nothing of a refused request applied.
    let refused = update(&mut conn0, "maxMessageSize=2048\nlistenPort=1\n");
    assert_eq!(code_of(&refused), NO_PERMISSION, "{refused}");
    assert!(remark(&refused).contains("listenPort"), "{refused}");
    assert!(remark(&refused).contains("restart"), "{refused}");
    let unknown = update(&mut conn0, "noSuchKey=1");
    assert_eq!(code_of(&unknown), NO_PERMISSION, "{unknown}");
    assert!(remark(&unknown).contains("noSuchKey"), "{unknown}");
    let invalid = update(&mut conn0, "maxMessageSize=lots");
    assert_eq!(code_of(&invalid), INVALID_PARAMETER, "{invalid}");
    assert!(remark(&invalid).contains("maxMessageSize"), "{invalid}");
    let (keys, counter) = config(&mut conn1);
    assert_eq!((keys["maxMessageSize"].as_str(), counter), ("1024", 1));

    // brokerPermission is registered at once: the route shows read-only queues, and sends
    // are refused until it is read-write again.
    assert_eq!(code_of(&update(&mut conn0, "brokerPermission=4")), SUCCESS);
    wait_for(PATIENCE, "read-only queues in the route", || {
        let route = wait_route(broker.namesrv_addr(), "BC", 2);
        let perms: Vec<i64> = route["queueDatas"]
            .as_array()?
            .iter()
            .filter_map(|q| q["perm"].as_i64())
            .collect();
        (perms == [4, 4]).then_some(())
    });
    let header = send_v2(&mut conn1, "BC", 0, b"refused", "");
    assert_eq!(code_of(&header), NO_PERMISSION, "{header}");
    assert_eq!(code_of(&update(&mut conn1, "brokerPermission=6")), SUCCESS);
    assert_eq!(
        code_of(&send_v2(&mut conn1, "BC", 0, b"taken", "")),
        SUCCESS
    );

    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    let broker = Broker::start_in(2, &[], store, dir);
    let mut conn = broker.connect(1);
    let (keys, _) = config(&mut conn);
    assert_eq!(keys["maxMessageSize"], "1024", "kept across the restart");
    assert_eq!(keys["brokerPermission"], "6");
    let header = send_v2(&mut conn, "BC", 0, &[b'x'; 2000], "");
    assert_eq!(code_of(&header), MESSAGE_ILLEGAL, "{header}");
}
