//! T4, auto-create via TBW102: a send to a topic nobody created succeeds (the client falls back
//! to TBW102's route and the broker creates the topic), the NameServer then serves a route for
//! it with 4 queues, and a consumer of a new group receives the message.
//! ali-ons has no TBW102 fallback: its users must create topics first, so it has no case here.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::{unique, Client, Cluster};

fn auto_create(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T_auto", client);
    assert!(
        cluster.route(&topic).is_err(),
        "the topic does not exist yet"
    );

    let report = cluster.produce(client, &Produce::new(&topic, &unique("pg4", client), 1));
    report.assert_all_sent(1);

    let route = cluster
        .route(&topic)
        .unwrap_or_else(|answer| panic!("no route for {topic} after the send: {answer}"));
    let queues = &route["queueDatas"][0];
    assert_eq!(queues["writeQueueNums"], 4, "route {route}");
    assert_eq!(queues["readQueueNums"], 4, "route {route}");
    assert_eq!(queues["perm"], 6, "route {route}");

    let consumer = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg4", client)).until(1, 60),
    );
    let received = consumer.finish();
    received.assert_ok();
    assert_eq!(received.bodies(), vec!["body-0".to_string()]);
}

#[test]
fn rust_client_auto_creates_topic() {
    auto_create(Client::Rust);
}

#[test]
fn python_client_auto_creates_topic() {
    auto_create(Client::Python);
}
