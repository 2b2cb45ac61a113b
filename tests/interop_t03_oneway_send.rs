//! T3, oneway send: 100 oneway sends (no result comes back to the client) are all stored: a
//! consumer of a new group receives all 100. ali-ons has no oneway send.

mod common;
mod interop;

use interop::cluster::Produce;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 100;

fn oneway_send(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T3", client);
    cluster.create_topic(&topic, 4);

    let produce = Produce::new(&topic, &unique("pg3", client), MESSAGES).mode("oneway");
    let report = cluster.produce(client, &produce);
    report.assert_ok();
    assert_eq!(report.sent().len(), MESSAGES, "every oneway send accepted");
    assert!(
        report.sent().iter().all(|s| s.status.is_none()),
        "oneway sends have no result"
    );

    cluster.receive_all_from_first(client, &topic, &unique("cg3", client), MESSAGES, 60);
}

#[test]
fn rust_client_oneway_send() {
    oneway_send(Client::Rust);
}

#[test]
fn python_client_oneway_send() {
    oneway_send(Client::Python);
}
