//! T10, broadcasting: two consumers of one BROADCASTING group each receive every message.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::report::expected_bodies;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 20;

fn broadcasting(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T10", client);
    let group = unique("cg_bc", client);
    cluster.create_topic(&topic, 4);

    let settings = Consume::new(&topic, &group)
        .broadcasting()
        .until(MESSAGES, 90);
    let mut first = cluster.consume(client, &settings);
    let mut second = cluster.consume(client, &settings);
    first.wait_started();
    second.wait_started();
    // Each consumer must pull all four queues before the messages count as "seen by both":
    // a broadcasting consumer starting from the last offset reads from where the queue ends
    // when it first pulls it.
    cluster.wait_parked_pulls(2 * 4);

    let produce = Produce::new(&topic, &unique("pg10", client), MESSAGES);
    cluster.produce(client, &produce).assert_all_sent(MESSAGES);
    for consumer in [first, second] {
        let report = consumer.finish();
        report.assert_ok();
        assert_eq!(
            report.bodies(),
            expected_bodies("body-", 0..MESSAGES),
            "{}",
            report.label
        );
    }
}

#[test]
fn rust_client_broadcasting() {
    broadcasting(Client::Rust);
}

#[test]
fn node_client_broadcasting() {
    broadcasting(Client::Node);
}

#[test]
fn python_client_broadcasting() {
    broadcasting(Client::Python);
}
