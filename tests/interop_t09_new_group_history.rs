//! T9, a new group sees recent history: 10 messages are sent to a fresh topic before any
//! consumer exists; a consumer of a new group with the default CONSUME_FROM_LAST_OFFSET still
//! receives all 10, because a queue that still starts at offset 0 is read from its start.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::report::expected_bodies;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 10;

fn new_group_sees_history(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T9", client);
    cluster.create_topic(&topic, 4);
    let produce = Produce::new(&topic, &unique("pg9", client), MESSAGES);
    cluster.produce(client, &produce).assert_all_sent(MESSAGES);

    // `Consume::new` keeps the clients' default start: the last offset.
    let consumer = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg9", client)).until(MESSAGES, 60),
    );
    let received = consumer.finish();
    received.assert_ok();
    assert_eq!(received.bodies(), expected_bodies("body-", 0..MESSAGES));
}

#[test]
fn rust_client_new_group_sees_recent_history() {
    new_group_sees_history(Client::Rust);
}

#[test]
fn node_client_new_group_sees_recent_history() {
    new_group_sees_history(Client::Node);
}

#[test]
fn python_client_new_group_sees_recent_history() {
    new_group_sees_history(Client::Python);
}
