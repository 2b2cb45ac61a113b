//! T11, long polling: a consumer left idle long enough for its pulls to be parked at the
//! broker still receives a message sent afterwards, without re-subscribing. The delay is
//! printed, not asserted: timing belongs to benches, delivery belongs here.

mod common;
mod interop;

use std::io::Write;
use std::time::Instant;

use interop::cluster::{Consume, Produce};
use interop::{unique, Client, Cluster};

fn long_poll(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T11", client);
    cluster.create_topic(&topic, 4);

    let mut consumer = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg11", client)).until(1, 90),
    );
    consumer.wait_started();
    // Idle until every queue's pull is parked at the broker.
    cluster.wait_parked_pulls(4);

    let sent_at = Instant::now();
    let produce = Produce::new(&topic, &unique("pg11", client), 1);
    cluster.produce(client, &produce).assert_all_sent(1);
    let report = consumer.finish();
    report.assert_ok();
    assert_eq!(report.bodies(), ["body-0"]);
    let _ = writeln!(
        std::io::stderr(),
        "{}: delivered within {:?} of the send starting (producer start-up included)",
        report.label,
        sent_at.elapsed()
    );
}

#[test]
fn rust_client_long_poll_delivers() {
    long_poll(Client::Rust);
}

#[test]
fn node_client_long_poll_delivers() {
    long_poll(Client::Node);
}

#[test]
fn python_client_long_poll_delivers() {
    long_poll(Client::Python);
}
