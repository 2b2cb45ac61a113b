//! T20, broker restart: every message acknowledged SEND_OK before a `kill -9` of the broker is
//! still there after it restarts on the same store: a consumer of a new group receives all of
//! them, with the same message ids.

mod common;
mod interop;

use interop::cluster::Produce;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 50;

fn nothing_lost(client: Client) {
    client.require();
    let mut cluster = Cluster::start_with_store(&unique("t20", client));
    let topic = unique("T20", client);
    cluster.create_topic(&topic, 4);
    let report = cluster.produce(
        client,
        &Produce::new(&topic, &unique("pg20", client), MESSAGES),
    );
    report.assert_all_sent(MESSAGES);
    let acknowledged = report.sent_ids();

    cluster.kill_and_restart();

    let received =
        cluster.receive_all_from_first(client, &topic, &unique("cg20", client), MESSAGES, 90);
    // Either id a client reported at send time is one the consumer sees.
    let ids = received.received_ids();
    assert!(
        acknowledged.is_subset(&ids),
        "ids after restart: {acknowledged:?} ⊄ {ids:?}"
    );
}

#[test]
fn rust_client_restart_loses_nothing() {
    nothing_lost(Client::Rust);
}

#[test]
fn node_client_restart_loses_nothing() {
    nothing_lost(Client::Node);
}

#[test]
fn python_client_restart_loses_nothing() {
    nothing_lost(Client::Python);
}
