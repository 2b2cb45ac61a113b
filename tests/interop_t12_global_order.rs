//! T12, global order on a 2-shard broker: a 1-queue topic is one queue on one shard (the
//! NameServer's route says so); an orderly producer sends 100 messages with one order id, each
//! acknowledged before the next, and an orderly consumer receives all 100 in exactly the order
//! they were sent, none twice, none missing. Two such topics, one on each shard.

mod common;
mod interop;

use std::io::Write;
use std::time::Instant;

use serde_json::Value;

use interop::cluster::{Consume, Produce};
use interop::{unique, Client, Cluster};

const SHARDS: u16 = 2;
const MESSAGES: usize = 100;

/// The one broker (shard) whose queue `topic` has, after checking that the route shows exactly
/// one read and one write queue in all.
fn the_one_queue(cluster: &Cluster, topic: &str) -> String {
    let route = cluster
        .route(topic)
        .unwrap_or_else(|response| panic!("no route of {topic}: {response}"));
    let queue_datas = route["queueDatas"].as_array().cloned().unwrap_or_default();
    let counts: Vec<(Option<&str>, &Value, &Value)> = queue_datas
        .iter()
        .map(|q| {
            let name = q["brokerName"].as_str();
            (name, &q["readQueueNums"], &q["writeQueueNums"])
        })
        .collect();
    assert_eq!(
        counts.len(),
        1,
        "one broker hosts {topic}'s queues: {route}"
    );
    let (broker, read, write) = counts[0];
    assert_eq!((read, write), (&Value::from(1), &Value::from(1)), "{route}");
    let brokers = route["brokerDatas"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = brokers
        .iter()
        .filter_map(|b| b["brokerName"].as_str())
        .collect();
    let broker = broker.expect("a broker name").to_string();
    assert_eq!(names, [broker.as_str()], "the route's brokers: {route}");
    broker
}

fn global_order(client: Client) {
    client.require();
    let started = Instant::now();
    let cluster = Cluster::start_with_shards(SHARDS);
    // One-queue topics take turns over the shards: two of them are one on each, and the
    // scenario runs on both, so it does not pass only on shard 0, whose port is the
    // configured one.
    let topics = [unique("T12", client), unique("T12", client)];
    let mut hosts = Vec::new();
    for topic in &topics {
        cluster.create_topic(topic, 1);
        hosts.push(the_one_queue(&cluster, topic));
    }
    assert_ne!(hosts[0], hosts[1], "two 1-queue topics on two shards");
    for (topic, broker) in topics.iter().zip(&hosts) {
        in_order(&cluster, client, topic, broker);
    }
    let _ = writeln!(
        std::io::stderr(),
        "{} client: {MESSAGES} messages in order from each of {hosts:?}, {:?} from the \
         broker's start",
        client.name(),
        started.elapsed()
    );
}

/// An orderly consumer of a new group, then an orderly producer of `MESSAGES` messages to
/// `topic`, whose one queue is on `broker`: the consumer receives them in the order sent.
fn in_order(cluster: &Cluster, client: Client, topic: &str, broker: &str) {
    let consume = Consume::new(topic, &unique("cg12", client))
        .orderly()
        .starting_at_first()
        .until(MESSAGES, 120);
    let mut consumer = cluster.consume(client, &consume);
    consumer.wait_started();
    // The consumer pulls the queue where it lives (an orderly consumer of the Rust or C++
    // client only once that shard granted it the queue's lock), and its pull is parked there.
    // A new group starts at offset 0 either way, so this only makes the consumer receive the
    // messages as they are sent rather than in one pull after.
    cluster.wait_parked_pulls_at(cluster.broker_port(topic, broker), 1);

    let produce = Produce::new(topic, &unique("pg12", client), MESSAGES).orderly();
    let sent = cluster.produce(client, &produce);
    sent.assert_all_sent(MESSAGES);
    for (i, result) in sent.sent().iter().enumerate() {
        // The C++ client's result has no queue id; every client reports the queue offset.
        assert_eq!(result.index, i as u64, "{result:?}");
        assert!(matches!(result.queue_id, None | Some(0)), "{result:?}");
        assert_eq!(result.queue_offset, Some(i as i64), "{result:?}");
    }

    let received = consumer.finish();
    received.assert_ok();
    let expected: Vec<String> = (0..MESSAGES).map(|i| format!("body-{i}")).collect();
    assert_eq!(
        received.bodies_in_order(),
        expected,
        "{}: every message once, in the order sent",
        received.label
    );
    for (i, message) in received.received().iter().enumerate() {
        assert_eq!(
            (message.queue_id, message.queue_offset),
            (Some(0), Some(i as i64)),
            "{message:?}"
        );
    }
}

#[test]
fn rust_client_global_order_on_two_shards() {
    global_order(Client::Rust);
}

#[test]
fn node_client_global_order_on_two_shards() {
    global_order(Client::Node);
}

#[test]
fn python_client_global_order_on_two_shards() {
    global_order(Client::Python);
}
