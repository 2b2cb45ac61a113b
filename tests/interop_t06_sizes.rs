//! T6, message sizes and compression. Bodies of 4095 B, 5 KiB and 4 MiB are all SEND_OK and a
//! consumer of a new group receives them exactly as they were sent. Every client compresses a
//! body of 4 KiB or more: the broker keeps the 4095 B body as it is and the two larger ones as
//! the client sent them, compressed (COMPRESSED sysflag, a shorter body), and the consumer
//! inflates them again.
//!
//! 4 MiB is the largest body the clients and the broker take: the Rust and C++ clients refuse
//! a body of 4 MiB + 1 B themselves, before sending anything. ali-ons has no limit of its own
//! (its `maxMessageSize` option is never read): it compresses the body and the broker, which
//! limits what it stores, takes the few KiB that arrive. The bodies are the drivers' padded
//! text, which compresses well; the broker's refusal of a body over 4 MiB is tested in
//! `src/broker/data/send_tests.rs`.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::report::padded_body;
use interop::{unique, Client, Cluster};

const SIZES: [usize; 3] = [4095, 5 * 1024, 4 * 1024 * 1024];
/// The clients' `compressMsgBodyOverHowmuch`: bodies this long or longer are compressed.
const COMPRESS_FROM: usize = 4096;
const OVER_LIMIT: usize = 4 * 1024 * 1024 + 1;

fn sizes(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T6", client);
    cluster.create_topic(&topic, 4);
    let produce = Produce::new(&topic, &unique("pg6", client), SIZES.len()).body_sizes(&SIZES);
    cluster
        .produce(client, &produce)
        .assert_all_sent(SIZES.len());

    let bodies = SIZES
        .iter()
        .enumerate()
        .map(|(i, &size)| padded_body(&format!("body-{i}"), size));
    assert_received(&cluster, client, &topic, bodies.collect());

    let stored = cluster.stored_records(&topic, 4);
    for (i, &size) in SIZES.iter().enumerate() {
        let key = format!("key-{i}");
        let record = stored
            .iter()
            .find(|r| r.keys.as_deref() == Some(key.as_str()))
            .unwrap_or_else(|| panic!("no stored record with key {key}: {stored:?}"));
        if size < COMPRESS_FROM {
            assert!(
                !record.compressed && record.body_len == size,
                "a {size} B body is stored as it is: {record:?}"
            );
        } else {
            assert!(
                record.compressed && record.body_len < size,
                "a {size} B body is stored compressed, as sent: {record:?}"
            );
        }
    }
}

fn over_limit(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T6_over", client);
    cluster.create_topic(&topic, 4);
    let produce = Produce::new(&topic, &unique("pg6b", client), 1).body_sizes(&[OVER_LIMIT]);
    let report = cluster.produce(client, &produce);
    if client == Client::Node {
        report.assert_all_sent(1);
        let body = padded_body("body-0", OVER_LIMIT);
        assert_received(&cluster, client, &topic, vec![body]);
        return;
    }
    assert_eq!(report.exit_code, Some(1), "{}", report.log_tail());
    assert!(report.sent().is_empty(), "nothing acknowledged");
    let errors = report.errors().join("\n");
    // Both clients word it as Java's does; the Rust one also gives MESSAGE_ILLEGAL's code.
    let refused = errors.contains("the message body size over max value")
        && (client != Client::Rust || errors.contains("CODE: 13"));
    assert!(
        refused,
        "refused by the client as MESSAGE_ILLEGAL: {errors}"
    );
    let stored = cluster.stored_records(&topic, 4);
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
}

/// A consumer of a new group receives exactly `bodies`; a failure names their lengths, not
/// megabytes of text.
fn assert_received(cluster: &Cluster, client: Client, topic: &str, mut bodies: Vec<String>) {
    let settings = Consume::new(topic, &unique("cg6", client))
        .starting_at_first()
        .until(bodies.len(), 60);
    let received = cluster.consume(client, &settings).finish();
    received.assert_ok();
    bodies.sort();
    let got = received.bodies();
    let lengths = |bodies: &[String]| bodies.iter().map(String::len).collect::<Vec<_>>();
    assert!(
        got == bodies,
        "{}: received bodies of {:?} B, sent {:?} B",
        received.label,
        lengths(&got),
        lengths(&bodies)
    );
}

#[test]
fn rust_client_sizes_and_compression() {
    sizes(Client::Rust);
}

#[test]
fn node_client_sizes_and_compression() {
    sizes(Client::Node);
}

#[test]
fn python_client_sizes_and_compression() {
    sizes(Client::Python);
}

#[test]
fn rust_client_refuses_a_body_over_4_mib() {
    over_limit(Client::Rust);
}

#[test]
fn node_client_sends_a_compressible_body_over_4_mib() {
    over_limit(Client::Node);
}

#[test]
fn python_client_refuses_a_body_over_4_mib() {
    over_limit(Client::Python);
}
