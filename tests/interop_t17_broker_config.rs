//! T17, a broker's configuration through the client's admin API, as `mqadmin getBrokerConfig`
//! and `mqadmin updateBrokerConfig` use it: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG
//! (25) sent to one broker address (`DefaultMQAdminExt`, `BrokerAdmin::get_broker_config` and
//! `update_broker_config`; the driver's `admin get-broker-config` and
//! `admin update-broker-config`, run by [`Cluster::get_broker_config`] and
//! [`Cluster::update_broker_config`]).
//!
//! What a user sees, on a 2-shard broker (two brokers in the route, `broker-a-0` and
//! `broker-a-1`, one process):
//! - `maxMessageSize=1024` sent to shard 1's address is accepted;
//! - `listenPort=1` is refused: the client reports the broker's NO_PERMISSION (16) with the
//!   broker's remark, which names the key (it can change only with a restart);
//! - the configuration read through shard 0's address then shows `maxMessageSize=1024`: the
//!   configuration is one per process, whichever shard an update reaches; `shards=2`; and
//!   `listenPort` as before;
//! - a producer's sync send of a 1024 B body (the limit) is SEND_OK and one of 1025 B is
//!   refused by the broker with MESSAGE_ILLEGAL (13), on each shard: two 1-queue topics, one
//!   on each (one-queue topics take turns over the shards), 1024 B then 1025 B to each. The
//!   client's own limit stays 4 MiB, so the refusal is the broker's;
//! - after a `kill -9` of the broker and a start on the same store, the configuration read
//!   shows `maxMessageSize=1024` still: the broker stores an update before it answers it.
//!
//! Only the Rust client has an admin API (tests/interop/README.md).

mod common;
mod interop;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use interop::cluster::Produce;
use interop::{unique, Client, Cluster};

const SHARDS: u16 = 2;
/// The limit the test sets: a body of this many bytes is taken, one byte more is not.
const LIMIT: usize = 1024;

/// The configuration read through shard `shard`'s address, key by key.
fn config_at(cluster: &Cluster, client: Client, shard: u16) -> BTreeMap<String, String> {
    let report = cluster.get_broker_config(client, shard);
    report.assert_ok();
    let config = report.broker_config();
    let config =
        config.unwrap_or_else(|| panic!("{}: a config line: {:#?}", report.label, report.events));
    assert_eq!(config.broker_addr, cluster.shard_addr(shard), "{config:?}");
    config.keys
}

/// The one broker (shard) the route of the 1-queue `topic` puts its queue on.
fn host_of(cluster: &Cluster, topic: &str) -> String {
    let route = cluster
        .route(topic)
        .unwrap_or_else(|response| panic!("no route of {topic}: {response}"));
    let name = route["queueDatas"][0]["brokerName"].as_str();
    name.unwrap_or_else(|| panic!("a broker name in {route}"))
        .to_string()
}

fn broker_config(client: Client) {
    client.require();
    let started = Instant::now();
    let mut cluster = Cluster::start_with_shards(SHARDS);

    // Through shard 1, in force in the whole process.
    let limit = LIMIT.to_string();
    let updated = cluster.update_broker_config(client, 1, &[("maxMessageSize", &limit)]);
    updated.assert_ok();
    let keys = updated.updated_config().map(|config| config.keys);
    let expected = [("maxMessageSize".to_string(), limit.clone())];
    assert_eq!(
        keys,
        Some(expected.into()),
        "{}: {:#?}",
        updated.label,
        updated.events
    );

    // Refused by name. The client makes the broker's answer an error of its own kind
    // (`core.argument.invalid … CODE: 16  DESC: <remark>`, no broker response code): the
    // code and the remark naming the key are in its text (tests/interop/README.md, quirks).
    let refused = cluster.update_broker_config(client, 0, &[("listenPort", "1")]);
    assert_eq!(refused.exit_code, Some(1), "{:#?}", refused.events);
    assert_eq!(refused.done().map(|d| &d["ok"]), Some(&Value::Bool(false)));
    assert_eq!(refused.updated_config(), None, "{:#?}", refused.events);
    let errors = refused.errors().join("\n");
    assert!(
        errors.contains("CODE: 16") && errors.contains("listenPort") && errors.contains("restart"),
        "{}: NO_PERMISSION naming the key: {errors}",
        refused.label
    );

    let keys = config_at(&cluster, client, 0);
    assert_eq!(keys.get("maxMessageSize"), Some(&limit));
    assert_eq!(keys.get("shards").map(String::as_str), Some("2"));
    let port = cluster.listen_port.to_string();
    assert_eq!(keys.get("listenPort"), Some(&port), "not changed");

    // Sends on each shard: the limit taken, one byte over refused by the broker.
    let topics = [unique("T17c", client), unique("T17c", client)];
    let mut hosts = Vec::new();
    for topic in &topics {
        cluster.create_topic(topic, 1);
        hosts.push(host_of(&cluster, topic));
    }
    let mut sorted = hosts.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["broker-a-0", "broker-a-1"],
        "a topic on each shard"
    );
    for (topic, host) in topics.iter().zip(&hosts) {
        let produce =
            Produce::new(topic, &unique("pg17c", client), 2).body_sizes(&[LIMIT, LIMIT + 1]);
        let report = cluster.produce(client, &produce);
        let sent = report.sent();
        assert_eq!(sent.len(), 1, "{}: {:#?}", report.label, report.events);
        assert_eq!(sent[0].index, 0, "{:?}", sent[0]);
        assert_eq!(sent[0].status.as_deref(), Some("SEND_OK"), "{:?}", sent[0]);
        assert_eq!(sent[0].broker_name.as_ref(), Some(host), "{:?}", sent[0]);
        let errors = report.errors();
        assert_eq!(errors.len(), 1, "{}: {errors:#?}", report.label);
        assert!(
            errors[0].starts_with("send #1:") && errors[0].contains("broker response code 13"),
            "{}: the {} B body refused as MESSAGE_ILLEGAL: {errors:#?}",
            report.label,
            LIMIT + 1
        );
        assert_eq!(report.exit_code, Some(1), "{}", report.log_tail());
    }

    // Kept in the store across a kill -9 and a restart.
    cluster.kill_and_restart();
    let keys = config_at(&cluster, client, 1);
    assert_eq!(
        keys.get("maxMessageSize"),
        Some(&limit),
        "kept across the restart"
    );
    println!("T17 broker config: {:?}", started.elapsed());
}

#[test]
fn rust_client_gets_and_updates_the_broker_config() {
    broker_config(Client::Rust);
}
